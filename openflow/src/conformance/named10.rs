//! Hand-written OpenFlow 1.0 cases: outputs to reserved ports and to several ports from flows and
//! packet-outs, the port config bits with their data-plane effect, the error types and codes 1.0 defines
//! for bad requests, the queue configuration of a port without queues, switch config (fragment flags,
//! miss_send_len honoured in packet-ins) and emergency flows.

use super::cases::{config, packet_in_full, port_hw_addr, port_mod};
use super::catalogue::{Named, V10};
use super::families10::{flows, fm, out};
use super::probe::Probe;
use super::steps::{error_code, fail, flow10, unsupported};
use super::{CaseError, Context};
use crate::common::SwitchConfig;
use crate::v10::match_::wildcards as w;
use crate::v10::port::port_no;
use crate::{v10, MacAddr, OfMessage};

const BAD_REQUEST: u16 = 1;
const BAD_ACTION: u16 = 2;
const FLOW_MOD_FAILED: u16 = 3;
const PORT_MOD_FAILED: u16 = 4;
const QUEUE_OP_FAILED: u16 = 5;
/// `OFPFF_EMERG`.
const EMERG: u16 = 4;
/// `OFPPC_*` bits of a 1.0 port's config.
const NO_RECV: u32 = 1 << 2;
const NO_FLOOD: u32 = 1 << 4;
const NO_PACKET_IN: u32 = 1 << 6;
/// A vendor id nobody has.
const BAD_VENDOR_ID: u32 = 0x00ba_dbad;

/// (name, group, title, 1.0 section, 1.3 section, required, versions, TS-026 number)
pub(super) const NAMED: &[Named] = &[
    ("output_in_port", "action", "A flow's output to IN_PORT sends the frame back out of its ingress port", "§5.2.1, §5.2.4", "", true, V10, None),
    ("output_flood", "action", "A flow's output to FLOOD sends the frame out of every other port", "§5.2.1", "", false, V10, None),
    ("output_all", "action", "A flow's output to ALL sends the frame out of every other port", "§5.2.1", "", true, V10, None),
    ("output_two_ports", "action", "A flow with two outputs sends a copy out of each", "§4.6, §5.2.4", "", true, V10, None),
    ("output_in_port_and_port", "action", "A flow with outputs to IN_PORT and a port sends a copy out of each", "§5.2.1, §5.2.4", "", true, V10, None),
    ("output_normal", "action", "A flow's output to NORMAL forwards the frame (an unknown destination is flooded)", "§5.2.1", "", false, V10, None),
    ("output_controller_max_len", "action", "A flow's output to CONTROLLER with max_len 40 gives a packet-in (ACTION) of at most 40 bytes unless unbuffered", "§5.2.4, §5.4.1", "", true, V10, None),
    ("output_action_order", "action", "Actions run in order: output, set dl_dst, output sends the original and the rewritten frame", "§4.6, §5.2.4", "", true, V10, None),
    ("packet_out_table", "packet", "Packet-out to TABLE runs the frame through the flow table", "§5.2.1, §5.3.6", "", true, V10, None),
    ("packet_out_two_ports", "packet", "Packet-out with two outputs sends a copy out of each", "§5.3.6", "", true, V10, None),
    ("packet_out_controller", "packet", "Packet-out to CONTROLLER comes back as a packet-in", "§5.3.6, §5.4.1", "", true, V10, None),
    ("port_mod_no_flood", "port", "Port-mod NO_FLOOD keeps flooded frames off the port; others still get them", "§5.2.1, §5.3.3", "", false, V10, None),
    ("port_mod_no_packet_in", "port", "Port-mod NO_PACKET_IN stops packet-ins for unmatched frames from the port", "§5.2.1, §5.3.3", "", false, V10, None),
    ("port_mod_no_recv", "port", "Port-mod NO_RECV drops every frame received on the port", "§5.2.1, §5.3.3", "", false, V10, None),
    ("port_mod_config_features", "port", "A port-mod config change shows in the port's config in a new features reply", "§5.3.1, §5.3.3", "", false, V10, None),
    ("error_bad_vendor", "errors", "A vendor message of an unknown vendor gets BAD_REQUEST/BAD_VENDOR", "§5.4.4, §5.5.4", "", true, V10, None),
    ("error_bad_vendor_stats", "errors", "A vendor stats request of an unknown vendor gets BAD_REQUEST/BAD_VENDOR", "§5.3.5, §5.4.4", "", true, V10, None),
    ("error_bad_action_len", "errors", "An action whose length is not a multiple of 8 gets BAD_ACTION/BAD_LEN", "§5.2.4, §5.4.4", "", true, V10, None),
    ("error_bad_action_vendor", "errors", "A vendor action of an unknown vendor gets BAD_ACTION/BAD_VENDOR", "§5.2.4, §5.4.4", "", true, V10, None),
    ("error_bad_vlan_vid", "errors", "Set VLAN id above 4095 gets BAD_ACTION/BAD_ARGUMENT", "§5.2.4, §5.4.4", "", true, V10, None),
    ("error_bad_vlan_pcp", "errors", "Set VLAN priority above 7 gets BAD_ACTION/BAD_ARGUMENT", "§5.2.4, §5.4.4", "", true, V10, None),
    ("error_bad_command", "errors", "A flow-mod with an unknown command gets FLOW_MOD_FAILED/BAD_COMMAND", "§5.3.3, §5.4.4", "", true, V10, None),
    ("error_emerg_timeout", "errors", "An emergency flow with a timeout gets FLOW_MOD_FAILED/BAD_EMERG_TIMEOUT", "§5.3.3, §5.4.4", "", false, V10, None),
    ("emergency_flow", "flow_mod", "An emergency flow without timeouts is accepted and is not in the normal flow table", "§5.3.3", "", false, V10, None),
    ("error_queue_bad_port", "errors", "Queue configuration of a port that does not exist gets QUEUE_OP_FAILED/BAD_PORT", "§5.3.4, §5.4.4", "", true, V10, None),
    ("queue_config_no_queues", "basic", "Queue configuration of a port without queues is a reply for that port with no queues", "§5.3.4", "", true, V10, None),
    ("config_frag_drop", "basic", "Set-config FRAG_DROP is read back by get-config", "§5.3.2", "", false, V10, None),
    ("miss_send_len", "basic", "A packet-in for an unmatched frame honours miss_send_len (or carries the whole unbuffered frame) and gives its total length", "§5.3.2, §5.4.1", "", true, V10, None),
    ("flow_stats_table", "stats", "Flow and aggregate statistics filtered by table 0 list the flow; by all tables too", "§5.3.5", "", true, V10, None),
];

/// Whether this module runs the named case in this version.
pub(super) fn handles(name: &str, version: u8) -> bool {
    super::catalogue::declares(NAMED, name, version)
}

fn in_port(port: u16) -> v10::Match {
    v10::Match {
        wildcards: w::ALL & !w::IN_PORT,
        in_port: port,
        ..v10::Match::default()
    }
}

fn add(m: v10::Match, actions: Vec<v10::Action>) -> OfMessage {
    fm(v10::FlowModCommand::Add, 100, m, actions)
}

fn packet_out(in_port: u16, actions: Vec<v10::Action>, frame: &[u8]) -> OfMessage {
    OfMessage::V10(v10::Message::PacketOut(v10::PacketOut {
        buffer_id: u32::MAX,
        in_port,
        actions,
        data: frame.to_vec(),
    }))
}

/// Expects the frame on each port (the first wait re-sends under the settle-and-retry policy).
async fn expect_on(ctx: &Context<'_>, frame: &[u8], first: u32, rest: &[u32]) -> Result<(), CaseError> {
    ctx.expect_forward(ctx.port(0), frame, first, frame).await?;
    for p in rest {
        tokio::task::block_in_place(|| ctx.dataplane.expect_frame(*p, frame, ctx.timeout))?;
    }
    Ok(())
}

/// Sends a flow-mod (or other message) and expects exactly this error before the barrier; `absent` (an
/// optional feature the switch lacks) makes the case unsupported.
async fn refused(
    ctx: &Context<'_>,
    msg: OfMessage,
    want: (u16, u16),
    absent: Option<(u16, u16)>,
) -> Result<(), CaseError> {
    let errors = ctx.errors_before_barrier(&[msg]).await?;
    match errors.first().and_then(error_code) {
        Some(got) if got == want => Ok(()),
        Some(got) if Some(got) == absent => Err(unsupported(format!(
            "error type {} code {}: the switch does not have the feature",
            got.0, got.1
        ))),
        Some((t, c)) => Err(fail(format!(
            "error type {t} code {c}, expected type {} code {}",
            want.0, want.1
        ))),
        None => Err(fail(format!(
            "accepted; expected error type {} code {}",
            want.0, want.1
        ))),
    }
}

fn set_config(c: SwitchConfig) -> OfMessage {
    OfMessage::V10(v10::Message::SetConfig(c))
}

/// Sets a port's config bit, runs `check`, and restores the bit whatever the outcome.
async fn with_port_config<F, Fut>(ctx: &Context<'_>, port: u32, bit: u32, check: F) -> Result<(), CaseError>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<(), CaseError>>,
{
    let hw = port_hw_addr(ctx, port).await?;
    let set = ctx
        .program_ok(&[port_mod(ctx, port, hw, bit, bit)], &[PORT_MOD_FAILED])
        .await;
    let result = match set {
        Ok(()) => check().await,
        Err(e) => Err(e),
    };
    ctx.program(&[port_mod(ctx, port, hw, 0, bit)]).await?;
    result
}

/// Runs one case of [`NAMED`].
#[allow(clippy::too_many_lines)]
pub(super) async fn run(name: &str, ctx: &Context<'_>) -> Result<(), CaseError> {
    let (p1, p2, p3) = (ctx.port(0), ctx.port(1), ctx.port(2));
    let (q1, q2, q3) = (ctx.port10(0), ctx.port10(1), ctx.port10(2));
    let probe = Probe::udp().build();
    match name {
        "output_in_port" | "output_flood" | "output_all" | "output_two_ports" | "output_in_port_and_port" => {
            let (actions, first, rest): (Vec<u16>, u32, Vec<u32>) = match name {
                "output_in_port" => (vec![port_no::IN_PORT], p1, vec![]),
                "output_flood" => (vec![port_no::FLOOD], p2, vec![p3]),
                "output_all" => (vec![port_no::ALL], p2, vec![p3]),
                "output_two_ports" => (vec![q2, q3], p2, vec![p3]),
                _ => (vec![port_no::IN_PORT, q2], p2, vec![p1]),
            };
            ctx.program_ok(&[add(in_port(q1), actions.into_iter().map(out).collect())], &[])
                .await?;
            expect_on(ctx, &probe, first, &rest).await
        }
        "output_normal" => {
            ctx.program_ok(&[add(in_port(q1), vec![out(port_no::NORMAL)])], &[BAD_ACTION])
                .await?;
            expect_on(ctx, &probe, p2, &[]).await
        }
        "output_controller_max_len" => {
            let act = v10::Action::Output {
                port: port_no::CONTROLLER,
                max_len: 40,
            };
            ctx.program_ok(&[add(in_port(q1), vec![act])], &[]).await?;
            let mut sub = ctx.switch().subscribe();
            tokio::task::block_in_place(|| ctx.dataplane.send(p1, &probe))?;
            let pi = packet_in_full(&mut sub, ctx, &probe).await?;
            check_packet_in(&pi, 1, q1, &probe, 40)
        }
        "output_action_order" => {
            let new_dst = MacAddr([0x02, 0, 0, 0, 0, 0x77]);
            let mut rewritten = Probe::udp();
            rewritten.eth_dst = new_dst;
            let rewritten = rewritten.build();
            let actions = vec![out(q2), v10::Action::SetDlDst { dl_addr: new_dst }, out(q3)];
            ctx.program_ok(&[add(in_port(q1), actions)], &[]).await?;
            ctx.expect_forward(p1, &probe, p2, &probe).await?;
            tokio::task::block_in_place(|| ctx.dataplane.expect_frame(p3, &rewritten, ctx.timeout))?;
            Ok(())
        }
        "packet_out_table" | "packet_out_two_ports" => {
            let actions = if name == "packet_out_table" {
                ctx.program_ok(&[add(in_port(q1), vec![out(q2)])], &[]).await?;
                vec![out(port_no::TABLE)]
            } else {
                vec![out(q2), out(q3)]
            };
            let dp = ctx.dataplane;
            tokio::task::block_in_place(|| dp.drain());
            let errors = ctx
                .errors_before_barrier(&[packet_out(q1, actions, &probe)])
                .await?;
            if let Some((t, c)) = errors.first().and_then(error_code) {
                return Err(fail(format!("packet-out refused with error type {t} code {c}")));
            }
            tokio::task::block_in_place(|| dp.expect_frame(p2, &probe, ctx.timeout))?;
            if name == "packet_out_two_ports" {
                tokio::task::block_in_place(|| dp.expect_frame(p3, &probe, ctx.timeout))?;
            }
            Ok(())
        }
        "packet_out_controller" => {
            let mut sub = ctx.switch().subscribe();
            let act = v10::Action::Output {
                port: port_no::CONTROLLER,
                max_len: 0xffff,
            };
            ctx.switch().send(&packet_out(q1, vec![act], &probe)).await?;
            let pi = packet_in_full(&mut sub, ctx, &probe).await?;
            if pi.data == probe {
                Ok(())
            } else {
                Err(fail(format!(
                    "packet-in carried {} bytes of the {}-byte frame",
                    pi.data.len(),
                    probe.len()
                )))
            }
        }
        "port_mod_no_flood" => {
            ctx.program_ok(&[add(in_port(q1), vec![out(port_no::FLOOD)])], &[])
                .await?;
            with_port_config(ctx, p3, NO_FLOOD, || async {
                ctx.expect_forward(p1, &probe, p2, &probe).await?;
                tokio::task::block_in_place(|| ctx.dataplane.expect_none(p3, ctx.quiet))?;
                Ok(())
            })
            .await
        }
        "port_mod_no_packet_in" => {
            with_port_config(ctx, p1, NO_PACKET_IN, || async {
                // The datapath may still hold the miss path of an earlier identical frame for a moment.
                tokio::time::sleep(ctx.quiet).await;
                let mut sub = ctx.switch().subscribe();
                tokio::task::block_in_place(|| ctx.dataplane.send(p1, &probe))?;
                match sub
                    .expect(ctx.quiet + ctx.settle, |m| {
                        matches!(&m.message, OfMessage::V10(v10::Message::PacketIn(p)) if probe.starts_with(&p.data) && !p.data.is_empty())
                    })
                    .await
                {
                    Ok(_) => {
                        let config = match ctx
                            .switch()
                            .request(&OfMessage::V10(v10::Message::FeaturesRequest))
                            .await?
                        {
                            OfMessage::V10(v10::Message::FeaturesReply(f)) => f
                                .ports
                                .iter()
                                .find(|p| u32::from(p.port_no) == p1)
                                .map_or(0, |p| p.config),
                            _ => 0,
                        };
                        Err(fail(format!(
                            "packet-in for an unmatched frame from port {p1}, whose config is {config:#x} (NO_PACKET_IN is {NO_PACKET_IN:#x})"
                        )))
                    }
                    Err(_) => Ok(()),
                }
            })
            .await
        }
        "port_mod_no_recv" => {
            ctx.program_ok(&[add(in_port(q1), vec![out(q2)])], &[]).await?;
            ctx.expect_forward(p1, &probe, p2, &probe).await?;
            with_port_config(ctx, p1, NO_RECV, || async {
                ctx.expect_dropped(p1, &probe, &[p2]).await
            })
            .await
        }
        "port_mod_config_features" => {
            with_port_config(ctx, p3, NO_FLOOD, || async {
                match ctx
                    .switch()
                    .request(&OfMessage::V10(v10::Message::FeaturesRequest))
                    .await?
                {
                    OfMessage::V10(v10::Message::FeaturesReply(f)) => {
                        match f.ports.iter().find(|p| u32::from(p.port_no) == p3) {
                            Some(p) if p.config & NO_FLOOD != 0 => Ok(()),
                            Some(p) => Err(fail(format!("port {p3} config {:#x} lacks NO_FLOOD", p.config))),
                            None => Err(fail(format!("port {p3} not in the features reply"))),
                        }
                    }
                    other => Err(fail(format!("reply of type {}", other.msg_type()))),
                }
            })
            .await
        }
        "error_bad_vendor" => {
            let msg = OfMessage::V10(v10::Message::Vendor(v10::Vendor {
                vendor: BAD_VENDOR_ID,
                data: vec![0; 8],
            }));
            ctx.expect_error(None, Some(&msg), BAD_REQUEST, Some(3)).await
        }
        "error_bad_vendor_stats" => {
            // Stats request (16) of type VENDOR (0xffff), flags 0, vendor id.
            let mut bytes = vec![1, 16, 0, 16, 0, 0, 0, 0, 0xff, 0xff, 0, 0];
            bytes.extend_from_slice(&BAD_VENDOR_ID.to_be_bytes());
            ctx.expect_error(Some(&bytes), None, BAD_REQUEST, Some(3)).await
        }
        "error_bad_action_len" => {
            let msg = add(in_port(q1), vec![out(q2), out(q3)]);
            let mut bytes = msg.encode(0).map_err(|e| fail(format!("encode: {e}")))?;
            // The first action's length (after the 8-byte header, 40-byte match and 24 bytes of flow-mod).
            if let Some(len) = bytes.get_mut(74..76) {
                len.copy_from_slice(&12u16.to_be_bytes());
            }
            ctx.expect_error(Some(&bytes), None, BAD_ACTION, Some(1)).await
        }
        "error_bad_action_vendor" => {
            let act = v10::Action::Vendor {
                vendor: BAD_VENDOR_ID,
                data: Vec::new(),
            };
            ctx.expect_error(
                None,
                Some(&add(in_port(q1), vec![act, out(q2)])),
                BAD_ACTION,
                Some(2),
            )
            .await
        }
        "error_bad_vlan_vid" | "error_bad_vlan_pcp" => {
            let act = if name == "error_bad_vlan_vid" {
                v10::Action::SetVlanVid { vlan_vid: 0x1000 }
            } else {
                v10::Action::SetVlanPcp { vlan_pcp: 8 }
            };
            ctx.expect_error(
                None,
                Some(&add(in_port(q1), vec![act, out(q2)])),
                BAD_ACTION,
                Some(5),
            )
            .await
        }
        "error_bad_command" => {
            let mut bytes = add(in_port(q1), vec![out(q2)])
                .encode(0)
                .map_err(|e| fail(format!("encode: {e}")))?;
            // The command follows the header, the match and the cookie.
            if let Some(cmd) = bytes.get_mut(56..58) {
                cmd.copy_from_slice(&9u16.to_be_bytes());
            }
            ctx.expect_error(Some(&bytes), None, FLOW_MOD_FAILED, Some(4))
                .await
        }
        "error_emerg_timeout" | "emergency_flow" => {
            let mut fm = flow10(v10::FlowModCommand::Add, 100, in_port(q1), vec![out(q2)]);
            fm.flags = EMERG;
            let table_full = Some((FLOW_MOD_FAILED, 0));
            if name == "error_emerg_timeout" {
                fm.hard_timeout = 10;
                return refused(
                    ctx,
                    OfMessage::V10(v10::Message::FlowMod(fm)),
                    (FLOW_MOD_FAILED, 3),
                    table_full,
                )
                .await;
            }
            let errors = ctx
                .errors_before_barrier(&[OfMessage::V10(v10::Message::FlowMod(fm))])
                .await?;
            match errors.first().and_then(error_code) {
                None => {}
                Some(got) if Some(got) == table_full => {
                    return Err(unsupported(
                        "FLOW_MOD_FAILED/ALL_TABLES_FULL: the switch has no emergency flow cache",
                    ))
                }
                Some((t, c)) => return Err(fail(format!("error type {t} code {c}"))),
            }
            let listed = flows(ctx, v10::Match::all()).await?;
            if listed.is_empty() {
                Ok(())
            } else {
                Err(fail(format!(
                    "emergency flow listed among the normal flows: {listed:?}"
                )))
            }
        }
        "error_queue_bad_port" => {
            let msg = OfMessage::V10(v10::Message::QueueGetConfigRequest(v10::QueueGetConfigRequest {
                port: 0xee,
            }));
            ctx.expect_error(None, Some(&msg), QUEUE_OP_FAILED, Some(0)).await
        }
        "queue_config_no_queues" => {
            let msg = OfMessage::V10(v10::Message::QueueGetConfigRequest(v10::QueueGetConfigRequest {
                port: q1,
            }));
            match ctx.switch().request(&msg).await? {
                OfMessage::V10(v10::Message::QueueGetConfigReply(r))
                    if r.port == q1 && r.queues.is_empty() =>
                {
                    Ok(())
                }
                other => Err(fail(format!(
                    "reply {other:?}, expected port {q1} with no queues"
                ))),
            }
        }
        "config_frag_drop" => {
            let before = config(ctx).await?;
            let want = SwitchConfig {
                flags: crate::common::config_flags::FRAG_DROP,
                miss_send_len: before.miss_send_len,
            };
            ctx.program_ok(&[set_config(want)], &[]).await?;
            let after = config(ctx).await?;
            ctx.program(&[set_config(before)]).await?;
            if after.flags & 3 == want.flags {
                Ok(())
            } else {
                Err(fail(format!(
                    "get-config flags {:#x} after set FRAG_DROP",
                    after.flags
                )))
            }
        }
        "miss_send_len" => {
            let before = config(ctx).await?;
            let want = SwitchConfig {
                flags: before.flags,
                miss_send_len: 64,
            };
            ctx.program_ok(&[set_config(want)], &[]).await?;
            let mut sub = ctx.switch().subscribe();
            let sent = tokio::task::block_in_place(|| ctx.dataplane.send(p1, &probe));
            let pi = packet_in_full(&mut sub, ctx, &probe).await;
            ctx.program(&[set_config(before)]).await?;
            sent?;
            check_packet_in(&pi?, 0, q1, &probe, 64)
        }
        "flow_stats_table" => {
            ctx.program_ok(&[add(in_port(q1), vec![out(q2)])], &[]).await?;
            let mut counts = Vec::new();
            for table_id in [0u8, 0xff] {
                let req = v10::stats::FlowStatsRequest {
                    match_: v10::Match::all(),
                    table_id,
                    out_port: port_no::NONE,
                };
                let mut n = 0;
                for body in [
                    v10::StatsRequestBody::Flow(req.clone()),
                    v10::StatsRequestBody::Aggregate(req),
                ] {
                    let msg =
                        OfMessage::V10(v10::Message::StatsRequest(v10::StatsRequest { flags: 0, body }));
                    for part in ctx.stats(&msg, &[]).await? {
                        match part {
                            OfMessage::V10(v10::Message::StatsReply(v10::StatsReply {
                                body: v10::StatsReplyBody::Flow(fs),
                                ..
                            })) => n += fs.iter().filter(|f| f.table_id == 0).count() as u32,
                            OfMessage::V10(v10::Message::StatsReply(v10::StatsReply {
                                body: v10::StatsReplyBody::Aggregate(a),
                                ..
                            })) => n += a.flow_count,
                            _ => {}
                        }
                    }
                }
                counts.push(n);
            }
            if counts == [2, 2] {
                Ok(())
            } else {
                Err(fail(format!(
                    "flow + aggregate counts {counts:?} for table 0 and all tables, expected [2, 2]"
                )))
            }
        }
        other => Err(CaseError::Unknown(other.to_string())),
    }
}

/// Checks a packet-in: reason, ingress port, total length, and data truncated to `max` bytes unless the
/// switch did not buffer the frame (then it must carry all of it).
fn check_packet_in(
    pi: &v10::PacketIn,
    reason: u8,
    in_port: u16,
    frame: &[u8],
    max: usize,
) -> Result<(), CaseError> {
    let r: u8 = pi.reason.into();
    if r != reason || pi.in_port != in_port {
        return Err(fail(format!(
            "packet-in reason {r}, in_port {}; expected {reason}, {in_port}",
            pi.in_port
        )));
    }
    if usize::from(pi.total_len) != frame.len() {
        return Err(fail(format!(
            "packet-in total_len {}, frame {} bytes",
            pi.total_len,
            frame.len()
        )));
    }
    let whole_unbuffered = pi.buffer_id == u32::MAX && pi.data == frame;
    if whole_unbuffered || (pi.data.len() <= max && frame.starts_with(&pi.data)) {
        Ok(())
    } else {
        Err(fail(format!(
            "packet-in carried {} bytes (buffer {:#x}), at most {max} expected",
            pi.data.len(),
            pi.buffer_id
        )))
    }
}
