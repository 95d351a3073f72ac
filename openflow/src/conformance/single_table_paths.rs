//! More of the ONF single-table profile (TS-026) for 1.3, on the data plane and the flow table: a flow's
//! outputs to reserved ports and to several ports, actions in order, packet-out through the table from
//! CONTROLLER and with a bad in_port, durations and byte counters, delete with OFPTT_ALL, non-strict delete
//! of a more specific flow, modify ignoring out_port, and one flow matching every required field.

use std::time::Duration;

use super::catalogue::{Named, V13};
use super::codes::{request, BAD_REQUEST};
use super::fields::{self, Field};
use super::outcome::REASON_NO_MATCH;
use super::pipeline::{in_port, out};
use super::probe::Probe;
use super::steps::{apply, error_code, fail, flow13, unsupported};
use super::{CaseError, Context};
use crate::v13::oxm::OxmField;
use crate::v13::port::port_no;
use crate::{v13, MacAddr, OfMessage};

/// (name, group, title, 1.0 section, 1.3 section, required, versions, TS-026 number)
pub(super) const NAMED: &[Named] = &[
    ("output_in_port", "action", "A flow's output to IN_PORT sends the frame back out of its ingress port", "", "§4.5, §5.12", true, V13, None),
    ("output_flood", "action", "A flow's output to FLOOD sends the frame out of every other port, not the ingress", "", "§4.5", false, V13, None),
    ("output_all", "action", "A flow's output to ALL sends the frame out of every other port, not the ingress", "", "§4.5", true, V13, None),
    ("output_two_ports", "action", "A flow with outputs to two ports sends a copy out of each", "", "§5.12", true, V13, None),
    ("output_in_port_and_port", "action", "A flow with outputs to IN_PORT and a port sends a copy out of each", "", "§4.5, §5.12", true, V13, None),
    ("output_action_order", "action", "Apply-actions run in order: output, set eth_dst, output sends the original and the rewritten frame", "", "§5.12", false, V13, None),
    ("packet_out_table_from_controller", "packet", "A packet-out to TABLE with in_port CONTROLLER goes through a flow matching in_port CONTROLLER", "", "§7.3.7", true, V13, None),
    ("packet_out_bad_in_port", "errors", "A packet-out with an in_port that is no port gets BAD_REQUEST/BAD_PORT", "", "§7.3.7, §7.4.4", true, V13, None),
    ("flow_duration", "stats", "A flow's duration in the flow statistics grows with the seconds it has been installed", "", "§7.3.5.2", true, V13, None),
    ("port_byte_counters", "counters", "Port rx_bytes and tx_bytes grow by the bytes of the frames forwarded", "", "§7.3.5.6", true, V13, None),
    ("delete_table_all", "flow_mod", "Delete with table OFPTT_ALL removes every flow", "", "§7.3.4.1", true, V13, None),
    ("delete_more_specific", "flow_mod", "A non-strict delete removes the flows its match covers (more specific ones too) and no other", "", "§6.4", true, V13, None),
    ("modify_ignores_out_port", "flow_mod", "Modify ignores out_port: the flow's actions change though its output is another port", "", "§6.4, §7.3.4.1", true, V13, None),
    ("modify_strict_ignores_out_port", "flow_mod", "Modify-strict ignores out_port: the flow's actions change though its output is another port", "", "§6.4, §7.3.4.1", true, V13, None),
    ("match_all_required_ipv4", "match", "One flow matching every required field of an IPv4/UDP frame forwards it; a frame differing in one field misses", "", "§7.2.3.7", true, V13, None),
    ("match_all_required_ipv6", "match", "One flow matching every required field of an IPv6/TCP frame forwards it; a frame differing in one field misses", "", "§7.2.3.7", true, V13, None),
];

/// Whether this module runs the named case in this version.
pub(super) fn handles(name: &str, version: u8) -> bool {
    super::catalogue::declares(NAMED, name, version)
}

fn add(priority: u16, fields: Vec<OxmField>, actions: Vec<v13::Action>) -> OfMessage {
    OfMessage::V13(v13::Message::FlowMod(flow13(
        v13::FlowModCommand::Add,
        priority,
        fields,
        apply(actions),
    )))
}

/// The frame on the first port (settle and retry), then on each of `rest`; none on `quiet`.
async fn expect_on(
    ctx: &Context<'_>,
    frame: &[u8],
    first: u32,
    rest: &[u32],
    quiet: &[u32],
) -> Result<(), CaseError> {
    ctx.expect_forward(ctx.port(0), frame, first, frame).await?;
    tokio::task::block_in_place(|| {
        for p in rest {
            ctx.dataplane.expect_frame(*p, frame, ctx.timeout)?;
        }
        for p in quiet {
            ctx.dataplane.expect_none(*p, Duration::from_millis(30))?;
        }
        Ok::<(), crate::dataplane::DataPlaneError>(())
    })?;
    Ok(())
}

/// The fields of `p` every 1.3 switch must match (§7.2.3.7), ingress `port` included, as the match
/// cases write them; and the layer-4 source port field (the one the missing frame differs in).
fn required_fields(p: &Probe, port: u32) -> Option<(Vec<OxmField>, Field)> {
    use Field::*;
    let l3l4 = match (p.eth_type(), p.ip_proto()?) {
        (0x0800, 17) => [Ipv4Src, Ipv4Dst, UdpSrc, UdpDst],
        (0x0800, 6) => [Ipv4Src, Ipv4Dst, TcpSrc, TcpDst],
        (0x86dd, 17) => [Ipv6Src, Ipv6Dst, UdpSrc, UdpDst],
        (0x86dd, 6) => [Ipv6Src, Ipv6Dst, TcpSrc, TcpDst],
        _ => return None,
    };
    let oxms = [InPort, EthDst, EthSrc, EthType, IpProto]
        .into_iter()
        .chain(l3l4)
        .map(|f| fields::oxm(f, p, port, false))
        .collect::<Option<Vec<_>>>()?;
    Some((oxms, l3l4[2]))
}

/// Runs one case of this module.
pub(super) async fn run(name: &str, ctx: &Context<'_>) -> Result<(), CaseError> {
    let (p1, p2, p3) = (ctx.port(0), ctx.port(1), ctx.port(2));
    let probe = Probe::udp().build();
    match name {
        "output_in_port" | "output_flood" | "output_all" | "output_two_ports" | "output_in_port_and_port" => {
            if p3 == 0 && name != "output_in_port" {
                return Err(unsupported("needs a third data port"));
            }
            let (outs, first, rest, quiet): (Vec<u32>, u32, Vec<u32>, Vec<u32>) = match name {
                "output_in_port" => (vec![port_no::IN_PORT], p1, vec![], vec![p2]),
                "output_flood" => (vec![port_no::FLOOD], p2, vec![p3], vec![p1]),
                "output_all" => (vec![port_no::ALL], p2, vec![p3], vec![p1]),
                "output_two_ports" => (vec![p2, p3], p2, vec![p3], vec![p1]),
                _ => (vec![port_no::IN_PORT, p2], p2, vec![p1], vec![p3]),
            };
            let allowed: &[u16] = if name == "output_flood" { &[2] } else { &[] };
            ctx.program_ok(
                &[add(100, vec![in_port(p1)], outs.into_iter().map(out).collect())],
                allowed,
            )
            .await?;
            expect_on(ctx, &probe, first, &rest, &quiet).await
        }
        "output_action_order" => {
            if p3 == 0 {
                return Err(unsupported("needs a third data port"));
            }
            let new_dst = MacAddr([0x02, 0, 0, 0, 0, 0x78]);
            let mut rewritten = Probe::udp();
            rewritten.eth_dst = new_dst;
            let rewritten = rewritten.build();
            let actions = vec![
                out(p2),
                v13::Action::SetField(OxmField::EthDst {
                    value: new_dst,
                    mask: None,
                }),
                out(p3),
            ];
            ctx.program_ok(&[add(100, vec![in_port(p1)], actions)], &[2])
                .await?;
            ctx.expect_forward(p1, &probe, p2, &probe).await?;
            tokio::task::block_in_place(|| ctx.dataplane.expect_frame(p3, &rewritten, ctx.timeout))?;
            Ok(())
        }
        "packet_out_table_from_controller" => {
            ctx.program_ok(
                &[add(100, vec![in_port(port_no::CONTROLLER)], vec![out(p2)])],
                &[],
            )
            .await?;
            let po = OfMessage::V13(v13::Message::PacketOut(v13::PacketOut {
                buffer_id: v13::NO_BUFFER,
                in_port: port_no::CONTROLLER,
                actions: vec![out(port_no::TABLE)],
                data: probe.clone(),
            }));
            tokio::task::block_in_place(|| ctx.dataplane.drain());
            let errors = ctx.errors_before_barrier(&[po]).await?;
            if let Some((t, c)) = errors.first().and_then(error_code) {
                return Err(fail(format!("packet-out refused with error type {t} code {c}")));
            }
            tokio::task::block_in_place(|| ctx.dataplane.expect_frame(p2, &probe, ctx.timeout))?;
            Ok(())
        }
        "packet_out_bad_in_port" => {
            let po = OfMessage::V13(v13::Message::PacketOut(v13::PacketOut {
                buffer_id: v13::NO_BUFFER,
                in_port: port_no::MAX + 1,
                actions: vec![out(p2)],
                data: probe.clone(),
            }));
            ctx.expect_error(None, Some(&po), BAD_REQUEST, Some(request::BAD_PORT))
                .await
        }
        "flow_duration" => {
            ctx.program_ok(&[add(100, vec![in_port(p1)], vec![out(p2)])], &[])
                .await?;
            let first = ctx
                .flow_stats13()
                .await?
                .first()
                .map(|f| f.duration_sec)
                .unwrap_or(0);
            tokio::time::sleep(Duration::from_millis(2100)).await;
            let later = ctx
                .flow_stats13()
                .await?
                .first()
                .map(|f| f.duration_sec)
                .ok_or_else(|| fail("the flow is not listed"))?;
            if later < first + 2 || later > first + 4 {
                return Err(fail(format!("duration {first} s, then {later} s 2.1 s later")));
            }
            Ok(())
        }
        "port_byte_counters" => {
            ctx.program_ok(&[add(100, vec![in_port(p1)], vec![out(p2)])], &[])
                .await?;
            let rx0 = ctx.port_stats13(p1).await?.rx_bytes;
            let tx0 = ctx.port_stats13(p2).await?.tx_bytes;
            let n = 5u64;
            let len = probe.len() as u64;
            ctx.expect_forward(p1, &probe, p2, &probe).await?;
            for _ in 1..n {
                tokio::task::block_in_place(|| ctx.dataplane.send(p1, &probe))?;
            }
            let deadline = tokio::time::Instant::now() + ctx.timeout;
            loop {
                let rx = ctx.port_stats13(p1).await?.rx_bytes;
                let tx = ctx.port_stats13(p2).await?.tx_bytes;
                if rx >= rx0 + n * len && tx >= tx0 + n * len {
                    return Ok(());
                }
                if tokio::time::Instant::now() >= deadline {
                    return Err(fail(format!(
                        "after {n} frames of {len} bytes: port {p1} rx_bytes +{}, port {p2} tx_bytes +{}",
                        rx.saturating_sub(rx0),
                        tx.saturating_sub(tx0)
                    )));
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        "delete_table_all" => {
            let mut msgs: Vec<OfMessage> = (0..3u16)
                .map(|i| add(100 + i, vec![in_port(p1)], vec![out(p2)]))
                .collect();
            // One flow in table 1 too, where the switch has it: "all tables" must reach it.
            let two_tables =
                matches!(ctx.switch().features(), crate::channel::Features::V13(f) if f.n_tables > 1);
            if two_tables {
                let mut fm = flow13(
                    v13::FlowModCommand::Add,
                    100,
                    vec![in_port(p1)],
                    apply(vec![out(p2)]),
                );
                fm.table_id = 1;
                msgs.push(OfMessage::V13(v13::Message::FlowMod(fm)));
            }
            ctx.program_ok(&msgs, &[]).await?;
            let added = ctx.flow_stats13().await?;
            if added.len() != msgs.len() || (two_tables && !added.iter().any(|f| f.table_id == 1)) {
                return Err(fail(format!(
                    "{} of the {} flows were added",
                    added.len(),
                    msgs.len()
                )));
            }
            let mut del = flow13(v13::FlowModCommand::Delete, 0, Vec::new(), Vec::new());
            del.table_id = 0xff;
            del.cookie_mask = 0;
            ctx.program_ok(&[OfMessage::V13(v13::Message::FlowMod(del))], &[])
                .await?;
            let left = ctx.flow_stats13().await?.len();
            if left != 0 {
                return Err(fail(format!("{left} flows left after delete with OFPTT_ALL")));
            }
            Ok(())
        }
        "delete_more_specific" => {
            let tcp = |src: Option<u16>, dst: Option<u16>| {
                let mut f = vec![
                    OxmField::EthType {
                        value: 0x0800,
                        mask: None,
                    },
                    OxmField::IpProto { value: 6, mask: None },
                ];
                if let Some(v) = src {
                    f.push(OxmField::TcpSrc { value: v, mask: None });
                }
                if let Some(v) = dst {
                    f.push(OxmField::TcpDst { value: v, mask: None });
                }
                f
            };
            ctx.program_ok(
                &[
                    add(100, tcp(Some(50), Some(80)), vec![out(p2)]),
                    add(100, tcp(Some(80), None), vec![out(p2)]),
                ],
                &[],
            )
            .await?;
            let del = flow13(v13::FlowModCommand::Delete, 0, tcp(None, Some(80)), Vec::new());
            ctx.program_ok(&[OfMessage::V13(v13::Message::FlowMod(del))], &[])
                .await?;
            let left = ctx.flow_stats13().await?;
            let has = |port: u16| {
                left.iter().any(|f| {
                    f.match_
                        .fields
                        .iter()
                        .any(|o| matches!(o, OxmField::TcpSrc { value, .. } if *value == port))
                })
            };
            match (has(50), has(80), left.len()) {
                (false, true, 1) => Ok(()),
                _ => Err(fail(format!(
                    "after deleting tcp_dst=80: {} flows left (tcp_src 50 kept: {}, tcp_src 80 kept: {})",
                    left.len(),
                    has(50),
                    has(80)
                ))),
            }
        }
        "modify_ignores_out_port" | "modify_strict_ignores_out_port" => {
            if p3 == 0 {
                return Err(unsupported("needs a third data port"));
            }
            ctx.program_ok(&[add(100, vec![in_port(p1)], vec![out(p2)])], &[])
                .await?;
            let command = if name == "modify_ignores_out_port" {
                v13::FlowModCommand::Modify
            } else {
                v13::FlowModCommand::ModifyStrict
            };
            let mut m = flow13(command, 100, vec![in_port(p1)], apply(vec![out(p3)]));
            // A port the flow does not output to: a filter would leave the flow alone.
            m.out_port = p3;
            ctx.program_ok(&[OfMessage::V13(v13::Message::FlowMod(m))], &[])
                .await?;
            ctx.expect_forward(p1, &probe, p3, &probe).await?;
            tokio::task::block_in_place(|| ctx.dataplane.expect_none(p2, Duration::from_millis(30)))?;
            Ok(())
        }
        "match_all_required_ipv4" | "match_all_required_ipv6" => {
            let base = if name == "match_all_required_ipv4" {
                Probe::udp()
            } else {
                Probe::tcp6()
            };
            let (fields, sport) =
                required_fields(&base, p1).ok_or_else(|| CaseError::Unknown(name.into()))?;
            let mut msgs = vec![add(200, fields, vec![out(p2)])];
            msgs.extend(ctx.table_miss_flow());
            ctx.program_ok(&msgs, &[]).await?;
            let frame = base.build();
            ctx.expect_forward(p1, &frame, p2, &frame).await?;
            let miss = fields::vary(sport, &base, true)
                .ok_or_else(|| CaseError::Unknown(name.into()))?
                .build();
            ctx.expect_packet_in(p1, &miss, &miss, REASON_NO_MATCH, &[p2])
                .await
        }
        other => Err(CaseError::Unknown(other.to_string())),
    }
}
