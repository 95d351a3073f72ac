//! Cases of the ONF basic single-table conformance profile for 1.3 (TS-026) that the other tables did not
//! cover (its errors are in `single_table_errors.rs`): xids, table and port listings; flow-table details (equal-priority overlap, cookie mask on add, flags in flow
//! statistics, aggregate by cookie, no flow-removed on replace); and a few data-plane checks (a flow
//! without instructions drops, max_len of an output to the controller, the packet-in's cookie, the
//! action set's order). Each has its TS-026 number in `ts026.rs` (as the Beijing Internet Institute's
//! implementation of that profile numbers it).

use std::time::Duration;

use super::cases::{flow, next_flow_removed};
use super::catalogue::{Named, V13};
use super::codes::{BAD_ACTION, BAD_INSTRUCTION};
use super::outcome::controller13;
use super::probe::{has_marker, Probe, MARKER};
use super::steps::{apply, fail, in_port_flow13, mp13};
use super::{CaseError, Context};
use crate::dataplane::packet;
use crate::v13::oxm::OxmField;
use crate::{v13, MacAddr, OfMessage};

/// `OFPFF_SEND_FLOW_REM`.
const SEND_FLOW_REM: u16 = 1;
/// (name, group, title, 1.0 section, 1.3 section, required, versions, TS-026 number)
pub(super) const NAMED: &[Named] = &[
    ("features_xid", "basic", "A features reply carries the request's xid", "", "§7.3.1, §6.3.1", true, V13, None),
    ("n_tables_table_stats", "basic", "The features reply's n_tables equals the number of tables in the table statistics", "", "§7.3.1, §7.3.5.4", true, V13, None),
    ("table_ids_ascending", "stats", "Table statistics list each table once, in increasing table id", "", "§7.3.5.4", true, V13, None),
    ("port_desc_unique", "stats", "The port description lists each port number once, and the data ports with distinct hardware addresses", "", "§7.3.5.7", true, V13, None),
    ("equal_priority_overlap", "flow_mod", "Two overlapping flows of equal priority without CHECK_OVERLAP are both installed", "", "§6.4", true, V13, None),
    ("add_with_cookie_mask", "flow_mod", "An add with a non-zero cookie mask installs the flow with its cookie", "", "§6.4, §7.3.4.1", true, V13, None),
    ("flow_stats_flags", "stats", "Flow statistics report the flags a flow was added with (SEND_FLOW_REM)", "", "§7.3.5.2", true, V13, None),
    ("aggregate_cookie", "stats", "Aggregate statistics filtered by cookie and mask count only the flows with that cookie", "", "§7.3.5.3", true, V13, None),
    ("replace_no_flow_removed", "flow_mod", "An identical add replacing a SEND_FLOW_REM flow sends no flow-removed", "", "§6.4", true, V13, None),
    ("no_instructions_drop", "instructions", "A flow without instructions drops the frame (no packet-in, no output)", "", "§5.9", true, V13, None),
    ("controller_max_len", "packet", "Output to CONTROLLER with max_len 100: a buffered frame comes with at most 100 bytes, an unbuffered one whole, with its full length", "", "§7.2.5, §7.4.1", true, V13, None),
    ("packet_in_cookie", "packet", "A packet-in sent by a flow carries the flow's cookie", "", "§7.4.1", true, V13, None),
    ("action_set_order", "instructions", "Write-actions [output, set-field]: the action set applies the set-field before the output", "", "§5.10", false, V13, None),
];

/// Whether this module runs the named case in this version.
pub(super) fn handles(name: &str, version: u8) -> bool {
    super::catalogue::declares(NAMED, name, version)
}

/// A UDP frame of `len` bytes carrying the probe marker.
fn long_frame(len: usize) -> Vec<u8> {
    let mut payload = MARKER.to_vec();
    payload.resize(len.saturating_sub(42), 0x5a);
    packet::udp_frame(
        super::probe::MAC_DST,
        super::probe::MAC_SRC,
        super::probe::IP_SRC,
        super::probe::IP_DST,
        40000,
        5000,
        &payload,
    )
}

/// Runs one case of this module.
pub(super) async fn run(name: &str, ctx: &Context<'_>) -> Result<(), CaseError> {
    let (p1, p2) = (ctx.port(0), ctx.port(1));
    let sw = &ctx.switch();
    match name {
        "features_xid" => {
            let mut sub = sw.subscribe();
            let xid = 0x7a11_0001;
            sw.send_with_xid(&OfMessage::V13(v13::Message::FeaturesRequest), xid)
                .await?;
            sub.expect(ctx.timeout, |m| {
                matches!(m.message, OfMessage::V13(v13::Message::FeaturesReply(_)))
            })
            .await
            .map_err(|_| fail("no features reply"))
            .and_then(|m| {
                if m.xid == xid {
                    Ok(())
                } else {
                    Err(fail(format!("features reply xid {:#x}, request {xid:#x}", m.xid)))
                }
            })
        }
        "n_tables_table_stats" | "table_ids_ascending" => {
            let mut ids = Vec::new();
            for part in ctx.stats(&mp13(v13::MultipartRequestBody::Table), &[]).await? {
                if let OfMessage::V13(v13::Message::MultipartReply(v13::MultipartReply {
                    body: v13::MultipartReplyBody::Table(t),
                    ..
                })) = part
                {
                    ids.extend(t.iter().map(|t| t.table_id));
                }
            }
            if name == "table_ids_ascending" {
                return match ids.windows(2).find(|w| w[0] >= w[1]) {
                    Some(w) => Err(fail(format!("table {} listed after table {}", w[1], w[0]))),
                    None if ids.is_empty() => Err(fail("no table listed")),
                    None => Ok(()),
                };
            }
            let n_tables = match sw.features() {
                crate::channel::Features::V13(f) => usize::from(f.n_tables),
                crate::channel::Features::V10(f) => usize::from(f.n_tables),
            };
            if n_tables == 0 || n_tables != ids.len() {
                return Err(fail(format!(
                    "n_tables {n_tables}, table statistics list {} tables",
                    ids.len()
                )));
            }
            Ok(())
        }
        "port_desc_unique" => {
            let ports: Vec<(u32, MacAddr)> = ctx
                .port_desc13()
                .await?
                .iter()
                .map(|p| (p.port_no, p.hw_addr))
                .collect();
            let mut numbers: Vec<u32> = ports.iter().map(|p| p.0).collect();
            numbers.sort_unstable();
            let listed = numbers.len();
            numbers.dedup();
            if numbers.len() != listed {
                return Err(fail("a port number is listed twice"));
            }
            // The LOCAL port may share a data port's address (a bridge often takes one of its ports').
            let mut macs: Vec<MacAddr> = ports
                .iter()
                .filter(|p| p.0 <= v13::port::port_no::MAX)
                .map(|p| p.1)
                .collect();
            macs.sort_unstable_by_key(|m| m.0);
            let data_ports = macs.len();
            macs.dedup();
            if macs.len() != data_ports {
                return Err(fail("two data ports share a hardware address"));
            }
            if data_ports < ctx.ports.len() {
                return Err(fail(format!(
                    "{data_ports} data ports listed, the case uses {}",
                    ctx.ports.len()
                )));
            }
            Ok(())
        }
        "equal_priority_overlap" => {
            let a = flow(100, Some(p1), vec![p2]);
            let mut b = flow(100, None, vec![p2]);
            b.udp_dst = Some(5000);
            ctx.program_ok(&[ctx.add(&a), ctx.add(&b)], &[]).await?;
            let n = ctx
                .flow_stats13()
                .await?
                .iter()
                .filter(|f| f.priority == 100)
                .count();
            if n != 2 {
                return Err(fail(format!("{n} flows of priority 100 listed, expected 2")));
            }
            Ok(())
        }
        "add_with_cookie_mask" => {
            let mut fm = in_port_flow13(p1, apply(vec![v13::Action::Output { port: p2, max_len: 0 }]));
            fm.cookie = 0x1234;
            fm.cookie_mask = 0xffff;
            ctx.program_ok(&[OfMessage::V13(v13::Message::FlowMod(fm))], &[])
                .await?;
            let cookies: Vec<u64> = ctx.flow_stats13().await?.iter().map(|f| f.cookie).collect();
            if cookies != [0x1234] {
                return Err(fail(format!("flow cookies {cookies:x?}, expected [0x1234]")));
            }
            Ok(())
        }
        "flow_stats_flags" => {
            let mut f = flow(100, Some(p1), vec![p2]);
            f.flags = SEND_FLOW_REM;
            ctx.program_ok(&[ctx.add(&f)], &[]).await?;
            let flags: Vec<u16> = ctx.flow_stats13().await?.iter().map(|f| f.flags).collect();
            if flags.len() != 1 || flags[0] & SEND_FLOW_REM == 0 {
                return Err(fail(format!("flow flags {flags:?}, expected SEND_FLOW_REM (1)")));
            }
            Ok(())
        }
        "aggregate_cookie" => {
            let mut msgs = Vec::new();
            for (i, cookie) in [0x1_0001u64, 0x1_0002, 0x2_0001].iter().enumerate() {
                let mut f = flow(100 + i as u16, Some(p1), vec![p2]);
                f.cookie = Some(*cookie);
                msgs.push(ctx.add(&f));
            }
            ctx.program_ok(&msgs, &[]).await?;
            let req = mp13(v13::MultipartRequestBody::Aggregate(
                v13::multipart::FlowStatsRequest {
                    cookie: 0x1_0000,
                    cookie_mask: 0xffff_0000,
                    ..v13::multipart::FlowStatsRequest::all()
                },
            ));
            for part in ctx.stats(&req, &[]).await? {
                if let OfMessage::V13(v13::Message::MultipartReply(v13::MultipartReply {
                    body: v13::MultipartReplyBody::Aggregate(a),
                    ..
                })) = part
                {
                    return if a.flow_count == 2 {
                        Ok(())
                    } else {
                        Err(fail(format!("aggregate flow_count {}, expected 2", a.flow_count)))
                    };
                }
            }
            Err(fail("no aggregate reply"))
        }
        "replace_no_flow_removed" => {
            let mut f = flow(100, Some(p1), vec![p2]);
            f.flags = SEND_FLOW_REM;
            ctx.program_ok(&[ctx.add(&f)], &[]).await?;
            let mut sub = sw.subscribe();
            ctx.program_ok(&[ctx.add(&f)], &[]).await?;
            match next_flow_removed(&mut sub, ctx.quiet).await {
                Some(r) => Err(fail(format!(
                    "flow-removed with reason {} after a replace",
                    r.reason
                ))),
                None => Ok(()),
            }
        }
        "no_instructions_drop" => {
            // The table-miss flow would show a frame the flow did not match as a packet-in.
            let fm = in_port_flow13(p1, Vec::new());
            let mut msgs = vec![OfMessage::V13(v13::Message::FlowMod(fm))];
            msgs.extend(ctx.table_miss_flow());
            ctx.program_ok(&msgs, &[]).await?;
            let probe = Probe::udp().build();
            let mut sub = sw.subscribe();
            ctx.expect_dropped(p1, &probe, &[p2]).await?;
            let pin = sub
                .expect(Duration::from_millis(50), |m| match &m.message {
                    OfMessage::V13(v13::Message::PacketIn(p)) => has_marker(&p.data),
                    _ => false,
                })
                .await;
            match pin {
                Ok(_) => Err(fail("packet-in for a frame a flow without instructions matched")),
                Err(_) => Ok(()),
            }
        }
        "controller_max_len" => {
            let fm = in_port_flow13(
                p1,
                apply(vec![v13::Action::Output {
                    port: v13::port::port_no::CONTROLLER,
                    max_len: 100,
                }]),
            );
            ctx.program_ok(&[OfMessage::V13(v13::Message::FlowMod(fm))], &[])
                .await?;
            let frame = long_frame(200);
            let mut sub = sw.subscribe();
            tokio::task::block_in_place(|| ctx.dataplane.send(p1, &frame))?;
            let got = sub
                .expect(ctx.timeout, |m| match &m.message {
                    OfMessage::V13(v13::Message::PacketIn(p)) => {
                        !p.data.is_empty() && frame.starts_with(&p.data)
                    }
                    _ => false,
                })
                .await
                .map_err(|_| fail("no packet-in"))?;
            let OfMessage::V13(v13::Message::PacketIn(p)) = got.message else {
                return Err(fail("no packet-in"));
            };
            // A buffered frame comes with at most max_len bytes; one the switch does not buffer comes
            // whole (1.3 §A.4.1), with buffer_id NO_BUFFER.
            let whole = p.buffer_id == v13::NO_BUFFER;
            let data_ok = if whole {
                p.data == frame
            } else {
                p.data.len() <= 100
            };
            if !data_ok || usize::from(p.total_len) != frame.len() {
                return Err(fail(format!(
                    "packet-in with {} bytes of data, total_len {}, buffer_id {:#x} (frame of {} bytes, max_len 100)",
                    p.data.len(),
                    p.total_len,
                    p.buffer_id,
                    frame.len()
                )));
            }
            Ok(())
        }
        "packet_in_cookie" => {
            let mut fm = in_port_flow13(p1, apply(vec![controller13()]));
            fm.cookie = 0xc00c_1e00_0000_7717;
            ctx.program_ok(&[OfMessage::V13(v13::Message::FlowMod(fm))], &[])
                .await?;
            let probe = Probe::udp().build();
            let mut sub = sw.subscribe();
            tokio::task::block_in_place(|| ctx.dataplane.send(p1, &probe))?;
            let got = sub
                .expect(ctx.timeout, |m| match &m.message {
                    OfMessage::V13(v13::Message::PacketIn(p)) => has_marker(&p.data),
                    _ => false,
                })
                .await
                .map_err(|_| fail("no packet-in"))?;
            match got.message {
                OfMessage::V13(v13::Message::PacketIn(p)) if p.cookie == 0xc00c_1e00_0000_7717 => Ok(()),
                OfMessage::V13(v13::Message::PacketIn(p)) => Err(fail(format!(
                    "packet-in cookie {:#x}, the flow's is 0xc00c1e0000007717",
                    p.cookie
                ))),
                _ => Err(fail("no packet-in")),
            }
        }
        "action_set_order" => {
            let new_src = MacAddr([0x02, 0, 0, 0, 0x5e, 0x70]);
            let fm = in_port_flow13(
                p1,
                vec![v13::Instruction::WriteActions(vec![
                    v13::Action::Output { port: p2, max_len: 0 },
                    v13::Action::SetField(OxmField::EthSrc {
                        value: new_src,
                        mask: None,
                    }),
                ])],
            );
            ctx.program_ok(
                &[OfMessage::V13(v13::Message::FlowMod(fm))],
                &[BAD_ACTION, BAD_INSTRUCTION],
            )
            .await?;
            let input = Probe::udp();
            let mut out = input.clone();
            out.eth_src = new_src;
            ctx.expect_forward(p1, &input.build(), p2, &out.build()).await
        }
        other => Err(CaseError::Unknown(other.to_string())),
    }
}
