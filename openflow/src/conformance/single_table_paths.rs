//! More of the ONF single-table profile (TS-026) for 1.3, on the data plane and the flow table: a flow's
//! outputs to reserved ports and to several ports, actions in order, packet-out through the table from
//! CONTROLLER and with a bad in_port, durations and byte counters, delete with OFPTT_ALL, non-strict delete
//! of a more specific flow, modify ignoring out_port, and one flow matching every required field.

use std::time::Duration;

use super::catalogue::{Named, V13};
use super::codes::{request, BAD_REQUEST};
use super::outcome::REASON_NO_MATCH;
use super::probe::{Probe, L3, L4};
use super::steps::{apply, error_code, fail, flow13, mp13, unsupported};
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

fn in_port(p: u32) -> OxmField {
    OxmField::InPort { value: p, mask: None }
}

fn out(port: u32) -> v13::Action {
    v13::Action::Output { port, max_len: 0 }
}

fn add(priority: u16, fields: Vec<OxmField>, actions: Vec<v13::Action>) -> OfMessage {
    OfMessage::V13(v13::Message::FlowMod(flow13(
        v13::FlowModCommand::Add,
        priority,
        fields,
        apply(actions),
    )))
}

/// (rx_bytes, tx_bytes) of a port.
async fn port_bytes(ctx: &Context<'_>, port: u32) -> Result<(u64, u64), CaseError> {
    let req = mp13(v13::MultipartRequestBody::PortStats { port_no: port });
    for part in ctx.stats(&req, &[]).await? {
        if let OfMessage::V13(v13::Message::MultipartReply(v13::MultipartReply {
            body: v13::MultipartReplyBody::PortStats(s),
            ..
        })) = part
        {
            if let Some(s) = s.iter().find(|s| s.port_no == port) {
                return Ok((s.rx_bytes, s.tx_bytes));
            }
        }
    }
    Err(fail(format!("port {port} not in the port statistics")))
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

/// The fields of `p` every 1.3 switch must match (§7.2.3.7), ingress `port` included.
fn required_fields(p: &Probe, port: u32) -> Option<Vec<OxmField>> {
    let mut f = vec![
        in_port(port),
        OxmField::EthDst {
            value: p.eth_dst,
            mask: None,
        },
        OxmField::EthSrc {
            value: p.eth_src,
            mask: None,
        },
        OxmField::EthType {
            value: p.eth_type(),
            mask: None,
        },
        OxmField::IpProto {
            value: p.ip_proto()?,
            mask: None,
        },
    ];
    let l4 = match &p.l3 {
        L3::Ipv4 { src, dst, l4, .. } => {
            f.push(OxmField::Ipv4Src {
                value: *src,
                mask: None,
            });
            f.push(OxmField::Ipv4Dst {
                value: *dst,
                mask: None,
            });
            l4
        }
        L3::Ipv6 { src, dst, l4, .. } => {
            f.push(OxmField::Ipv6Src {
                value: *src,
                mask: None,
            });
            f.push(OxmField::Ipv6Dst {
                value: *dst,
                mask: None,
            });
            l4
        }
        L3::Arp { .. } => return None,
    };
    match l4 {
        L4::Udp { sport, dport } => {
            f.push(OxmField::UdpSrc {
                value: *sport,
                mask: None,
            });
            f.push(OxmField::UdpDst {
                value: *dport,
                mask: None,
            });
        }
        L4::Tcp { sport, dport } => {
            f.push(OxmField::TcpSrc {
                value: *sport,
                mask: None,
            });
            f.push(OxmField::TcpDst {
                value: *dport,
                mask: None,
            });
        }
        _ => return None,
    }
    Some(f)
}

/// The probe with its layer-4 source port changed.
fn other_sport(p: &Probe) -> Probe {
    let mut q = p.clone();
    if let L3::Ipv4 { l4, .. } | L3::Ipv6 { l4, .. } = &mut q.l3 {
        if let L4::Udp { sport, .. } | L4::Tcp { sport, .. } = l4 {
            *sport ^= 1;
        }
    }
    q
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
            let (rx0, _) = port_bytes(ctx, p1).await?;
            let (_, tx0) = port_bytes(ctx, p2).await?;
            let n = 5u64;
            let len = probe.len() as u64;
            ctx.expect_forward(p1, &probe, p2, &probe).await?;
            for _ in 1..n {
                tokio::task::block_in_place(|| ctx.dataplane.send(p1, &probe))?;
            }
            let deadline = tokio::time::Instant::now() + ctx.timeout;
            loop {
                let (rx, _) = port_bytes(ctx, p1).await?;
                let (_, tx) = port_bytes(ctx, p2).await?;
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
                matches!(ctx.switch.features(), crate::channel::Features::V13(f) if f.n_tables > 1);
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
            let fields = required_fields(&base, p1).ok_or_else(|| CaseError::Unknown(name.into()))?;
            let mut msgs = vec![add(200, fields, vec![out(p2)])];
            msgs.extend(ctx.table_miss_flow());
            ctx.program_ok(&msgs, &[]).await?;
            let frame = base.build();
            ctx.expect_forward(p1, &frame, p2, &frame).await?;
            let miss = other_sport(&base).build();
            ctx.expect_packet_in(p1, &miss, &miss, REASON_NO_MATCH, &[p2])
                .await
        }
        other => Err(CaseError::Unknown(other.to_string())),
    }
}
