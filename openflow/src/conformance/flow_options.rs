//! Flow options and message checks: an idle timeout kept alive by traffic and the counts and duration a
//! flow-removed reports (both versions); 1.3 flow-mod NO_PKT_COUNTS / NO_BYT_COUNTS, out_group filters of
//! flow delete and flow statistics, a DSCP-remark meter band, the bucket weights of a SELECT group, and
//! hand-built malformed table-mod and role-request messages.

use std::time::Duration;

use super::cases::{
    bucket, flow, flow_removed, flow_to_group, flow_to_group_at, group_mod, next_flow_removed, role,
    stats_request,
};
use super::catalogue::{Named, BOTH, V13};
use super::pipeline::{flow_to_meter, indirect};
use super::steps::{error_code, fail, flow13, now_micros, unsupported};
use super::{CaseError, Context};
use crate::{v13, OfMessage};

/// `OFPFF_SEND_FLOW_REM`.
const SEND_FLOW_REM: u16 = 1;
/// `OFPFF_NO_PKT_COUNTS` and `OFPFF_NO_BYT_COUNTS` (1.3).
const NO_PKT_COUNTS: u16 = 8;
const NO_BYT_COUNTS: u16 = 16;
const BAD_REQUEST: u16 = 1;
const BAD_INSTRUCTION: u16 = 3;
const GROUP_MOD_FAILED: u16 = 6;
const METER_MOD_FAILED: u16 = 12;
const ROLE_REQUEST_FAILED: u16 = 11;
/// 1.3 message types built by hand.
const OFPT_TABLE_MOD: u8 = 17;
const OFPT_ROLE_REQUEST: u8 = 24;

/// (name, group, title, 1.0 section, 1.3 section, required, versions, TS-026 number)
pub(super) const NAMED: &[Named] = &[
    ("idle_timeout_kept_alive", "flow_mod", "A flow with an idle timeout stays while traffic hits it, then expires (IDLE_TIMEOUT)", "§4.6, §5.4.2", "§5.5, §7.4.2", true, BOTH, None),
    ("flow_removed_counts", "flow_mod", "Flow-removed after a hard timeout reports its duration and the packets it counted", "§5.4.2", "§7.4.2", true, BOTH, None),
    ("no_pkt_counts", "flow_mod", "A flow with NO_PKT_COUNTS forwards and still counts bytes (packets counted or all ones)", "", "§7.3.4.1", true, V13, None),
    ("no_byt_counts", "flow_mod", "A flow with NO_BYT_COUNTS forwards and still counts packets (bytes counted or all ones)", "", "§7.3.4.1", true, V13, None),
    ("delete_out_group", "flow_mod", "Delete filtered by out_group removes only the flows that use that group", "", "§6.4, §7.3.4.1", true, V13, None),
    ("flow_stats_out_group", "stats", "Flow statistics filtered by out_group list only the flows that use that group", "", "§7.3.5.2", true, V13, None),
    ("meter_dscp_remark", "meters", "A meter with a DSCP-remark band is stored with its rate and precedence and passes traffic under the rate unchanged", "", "§5.7, §7.3.4.4", false, V13, None),
    ("group_select_weights", "groups", "A SELECT group keeps its bucket weights (group description) and sends a frame by exactly one bucket", "", "§5.6.1, §7.3.5.10", false, V13, None),
    ("error_table_mod_bad_len", "errors", "A table-mod shorter than its structure gets BAD_REQUEST/BAD_LEN", "", "§7.3.3, §7.4.4", true, V13, None),
    ("error_role_bad_len", "errors", "A role request shorter than its structure gets BAD_REQUEST/BAD_LEN", "", "§7.3.9, §7.4.4", true, V13, None),
    ("error_role_bad_role", "role", "A role request with an unknown role gets ROLE_REQUEST_FAILED/BAD_ROLE", "", "§7.3.9, §7.4.4", true, V13, None),
    ("role_stale_slave", "role", "A SLAVE role request with a stale generation id gets ROLE_REQUEST_FAILED/STALE", "", "§6.3.5", true, V13, None),
];

/// Whether this module runs the named case in this version.
pub(super) fn handles(name: &str, version: u8) -> bool {
    super::catalogue::declares(NAMED, name, version)
}

fn role_bytes(role: u32, generation: u64, len: u16) -> Vec<u8> {
    let mut b = vec![4, OFPT_ROLE_REQUEST];
    b.extend_from_slice(&len.to_be_bytes());
    b.extend_from_slice(&[0; 4]);
    b.extend_from_slice(&role.to_be_bytes());
    b.extend_from_slice(&[0; 4]);
    b.extend_from_slice(&generation.to_be_bytes());
    b.truncate(usize::from(len));
    b
}

/// Priorities of the suite's flows, filtered by out_group (1.3).
async fn priorities_out_group(ctx: &Context<'_>, out_group: u32) -> Result<Vec<u16>, CaseError> {
    let req = OfMessage::V13(v13::Message::MultipartRequest(v13::MultipartRequest {
        flags: 0,
        body: v13::MultipartRequestBody::Flow(v13::multipart::FlowStatsRequest {
            out_group,
            ..v13::multipart::FlowStatsRequest::all()
        }),
    }));
    let mut out = Vec::new();
    for part in ctx.stats(&req, &[]).await? {
        if let OfMessage::V13(v13::Message::MultipartReply(v13::MultipartReply {
            body: v13::MultipartReplyBody::Flow(fs),
            ..
        })) = part
        {
            out.extend(fs.iter().map(|f| f.priority));
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// Sends frames into `p1` every `period` for `total`, each checked on `p2`.
async fn keep_sending(
    ctx: &Context<'_>,
    frame: &[u8],
    period: Duration,
    total: Duration,
) -> Result<(), CaseError> {
    let (p1, p2) = (ctx.port(0), ctx.port(1));
    let end = tokio::time::Instant::now() + total;
    while tokio::time::Instant::now() < end {
        ctx.expect_forward(p1, frame, p2, frame).await?;
        tokio::time::sleep(period).await;
    }
    Ok(())
}

/// Programs the messages (settle time included); an error in `absent` (the switch lacks an optional
/// feature, in a way the specification allows) makes the case unsupported, any other error fails it.
async fn program_or_absent(
    ctx: &Context<'_>,
    msgs: &[OfMessage],
    absent: &[(u16, u16)],
) -> Result<(), CaseError> {
    match ctx.program(msgs).await?.first().and_then(error_code) {
        None => Ok(()),
        Some(got) if absent.contains(&got) => Err(unsupported(format!(
            "switch rejected it with error type {} code {}",
            got.0, got.1
        ))),
        Some((t, c)) => Err(fail(format!("switch answered error type {t} code {c}"))),
    }
}

/// Runs one case of [`NAMED`].
#[allow(clippy::too_many_lines)]
pub(super) async fn run(name: &str, ctx: &Context<'_>) -> Result<(), CaseError> {
    let (p1, p2, p3) = (ctx.port(0), ctx.port(1), ctx.port(2));
    let probe = super::probe::Probe::udp().build();
    match name {
        "idle_timeout_kept_alive" => {
            let mut f = flow(100, Some(p1), vec![p2]);
            f.idle = 2;
            f.flags = SEND_FLOW_REM;
            ctx.program_ok(&[ctx.add(&f)], &[]).await?;
            let mut sub = ctx.switch().subscribe();
            // Twice the idle timeout, a frame every 400 ms.
            keep_sending(ctx, &probe, Duration::from_millis(400), Duration::from_secs(4)).await?;
            if let Some(r) = next_flow_removed(&mut sub, Duration::from_millis(10)).await {
                return Err(fail(format!(
                    "flow removed (reason {}) while traffic kept hitting it",
                    r.reason
                )));
            }
            if ctx.flow_counts().await?.is_empty() {
                return Err(fail("flow gone while traffic kept hitting it"));
            }
            match flow_removed(&mut sub, Duration::from_secs(6)).await? {
                0 => Ok(()),
                r => Err(fail(format!(
                    "flow-removed reason {r}, expected IDLE_TIMEOUT (0)"
                ))),
            }
        }
        "flow_removed_counts" => {
            let mut f = flow(100, Some(p1), vec![p2]);
            f.hard = 2;
            f.flags = SEND_FLOW_REM;
            let mut sub = ctx.switch().subscribe();
            ctx.program_ok(&[ctx.add(&f)], &[]).await?;
            let dp = ctx.dataplane;
            for _ in 0..3 {
                tokio::task::block_in_place(|| {
                    dp.drain();
                    dp.send(p1, &probe)?;
                    dp.expect_frame(p2, &probe, ctx.timeout)
                })?;
            }
            let r = next_flow_removed(&mut sub, Duration::from_secs(6))
                .await
                .ok_or_else(|| fail("no flow-removed message"))?;
            if r.reason != 1 {
                return Err(fail(format!(
                    "flow-removed reason {}, expected HARD_TIMEOUT (1)",
                    r.reason
                )));
            }
            if !(2..=3).contains(&r.duration_sec) || r.packets != 3 {
                return Err(fail(format!(
                    "flow-removed duration {} s and {} packets, expected 2-3 s and 3 packets",
                    r.duration_sec, r.packets
                )));
            }
            Ok(())
        }
        "no_pkt_counts" | "no_byt_counts" => {
            let mut f = flow(100, Some(p1), vec![p2]);
            f.flags = if name == "no_pkt_counts" {
                NO_PKT_COUNTS
            } else {
                NO_BYT_COUNTS
            };
            ctx.program_ok(&[ctx.add(&f)], &[]).await?;
            ctx.expect_forward(p1, &probe, p2, &probe).await?;
            let counted = |c: &[(u16, u64, u64)]| {
                c.first().is_some_and(|(_, pk, by)| {
                    if name == "no_pkt_counts" {
                        *by > 0 && *by != u64::MAX
                    } else {
                        *pk > 0 && *pk != u64::MAX
                    }
                })
            };
            let counts = ctx.poll_flow_counts(counted).await?;
            let Some((_, pk, by)) = counts.first().copied() else {
                return Err(fail("flow not listed"));
            };
            // The counter the flag names is either kept or reported as all ones (not available).
            let (kept, off) = if name == "no_pkt_counts" {
                (by, pk)
            } else {
                (pk, by)
            };
            if kept == 0 || kept == u64::MAX {
                return Err(fail(format!(
                    "the other counter is {kept}, expected the traffic counted"
                )));
            }
            if off == 0 {
                return Err(fail(
                    "the flagged counter is 0 after traffic: neither counted nor all ones (unavailable)",
                ));
            }
            Ok(())
        }
        "delete_out_group" | "flow_stats_out_group" => {
            ctx.program_ok(
                &[
                    indirect(1, p2, v13::GroupModCommand::Add),
                    indirect(2, p2, v13::GroupModCommand::Add),
                    flow_to_group(p1, 1),
                    flow_to_group_at(p2, 2, 90),
                    ctx.add(&flow(80, Some(p3), vec![p2])),
                ],
                &[],
            )
            .await?;
            let got = if name == "delete_out_group" {
                let mut del = flow13(v13::FlowModCommand::Delete, 0, Vec::new(), Vec::new());
                del.out_group = 1;
                ctx.program_ok(&[OfMessage::V13(v13::Message::FlowMod(del))], &[])
                    .await?;
                priorities_out_group(ctx, v13::group::group_id::ANY).await?
            } else {
                priorities_out_group(ctx, 2).await?
            };
            let want: &[u16] = if name == "delete_out_group" {
                &[80, 90]
            } else {
                &[90]
            };
            if got == want {
                Ok(())
            } else {
                Err(fail(format!("flows of priority {got:?}, expected {want:?}")))
            }
        }
        "meter_dscp_remark" => {
            let band = v13::MeterBand::DscpRemark {
                rate: 1_000_000,
                burst_size: 0,
                prec_level: 1,
            };
            let meter = OfMessage::V13(v13::Message::MeterMod(v13::MeterMod {
                command: v13::MeterModCommand::Add,
                flags: 0b1001, // KBPS | STATS
                meter_id: 1,
                bands: vec![band.clone()],
            }));
            // BAD_BAND (or no room for meters or bands): the switch lacks the band; BAD_INSTRUCTION: meters.
            let absent = [
                (METER_MOD_FAILED, 8),
                (METER_MOD_FAILED, 10),
                (METER_MOD_FAILED, 11),
                (BAD_INSTRUCTION, 0),
            ];
            program_or_absent(ctx, &[meter, flow_to_meter(p1, p2, 1)], &absent).await?;
            let req = stats_request(ctx, "meter_config").ok_or_else(|| fail("no request"))?;
            let mut stored = None;
            for part in ctx.stats(&req, &[]).await? {
                if let OfMessage::V13(v13::Message::MultipartReply(v13::MultipartReply {
                    body: v13::MultipartReplyBody::MeterConfig(c),
                    ..
                })) = part
                {
                    stored = stored.or(c.into_iter().find(|c| c.meter_id == 1));
                }
            }
            let stored = stored.ok_or_else(|| fail("meter 1 not in the meter configuration"))?;
            if stored.bands != [band] {
                return Err(fail(format!("meter 1 stored with bands {:?}", stored.bands)));
            }
            ctx.expect_forward(p1, &probe, p2, &probe).await
        }
        "group_select_weights" => {
            let (mut a, mut b) = (
                bucket(&[p2], v13::port::port_no::ANY),
                bucket(&[p3], v13::port::port_no::ANY),
            );
            a.weight = 3;
            b.weight = 1;
            // GROUP_MOD_FAILED/WEIGHT_UNSUPPORTED or BAD_TYPE: no weighted SELECT groups.
            program_or_absent(
                ctx,
                &[
                    group_mod(v13::GroupModCommand::Add, v13::GroupType::Select, 4, vec![a, b]),
                    flow_to_group(p1, 4),
                ],
                &[(GROUP_MOD_FAILED, 2), (GROUP_MOD_FAILED, 10)],
            )
            .await?;
            let req = stats_request(ctx, "group_desc").ok_or_else(|| fail("no request"))?;
            let mut weights = None;
            for part in ctx.stats(&req, &[]).await? {
                if let OfMessage::V13(v13::Message::MultipartReply(v13::MultipartReply {
                    body: v13::MultipartReplyBody::GroupDesc(d),
                    ..
                })) = part
                {
                    if let Some(g) = d.iter().find(|g| g.group_id == 4) {
                        weights = Some(g.buckets.iter().map(|b| b.weight).collect::<Vec<_>>());
                    }
                }
            }
            match weights {
                Some(w) if w == [3, 1] => {}
                other => return Err(fail(format!("group 4 bucket weights {other:?}, expected [3, 1]"))),
            }
            // The bucket is chosen per flow: the frame leaves by one of the two ports, not both.
            let dp = ctx.dataplane;
            let mut seen = Vec::new();
            for _ in 0..ctx.attempts.max(1) {
                tokio::task::block_in_place(|| {
                    dp.drain();
                    dp.send(p1, &probe)
                })?;
                for p in [p2, p3] {
                    if tokio::task::block_in_place(|| dp.expect_frame(p, &probe, ctx.step)).is_ok() {
                        seen.push(p);
                    }
                }
                if !seen.is_empty() {
                    break;
                }
            }
            if seen.len() == 1 {
                Ok(())
            } else {
                Err(fail(format!(
                    "the frame left by ports {seen:?}, expected exactly one of {p2}, {p3}"
                )))
            }
        }
        "error_table_mod_bad_len" => {
            // ofp_table_mod is 16 bytes; this one stops after the table id and padding.
            let bytes = [4, OFPT_TABLE_MOD, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0];
            ctx.expect_error(Some(&bytes), None, BAD_REQUEST, Some(6)).await
        }
        "error_role_bad_len" => {
            let bytes = role_bytes(1, 0, 20);
            ctx.expect_error(Some(&bytes), None, BAD_REQUEST, Some(6)).await
        }
        "error_role_bad_role" => {
            let bytes = role_bytes(7, now_micros(), 24);
            ctx.expect_error(Some(&bytes), None, ROLE_REQUEST_FAILED, Some(2))
                .await
        }
        "role_stale_slave" => {
            let gen = now_micros();
            match ctx
                .switch()
                .request(&role(v13::ControllerRole::Master, gen))
                .await?
            {
                OfMessage::V13(v13::Message::RoleReply(_)) => {}
                other => return Err(fail(format!("role reply {other:?}"))),
            }
            let stale = role_bytes(3, gen - 1_000_000_000, 24);
            let result = ctx
                .expect_error(Some(&stale), None, ROLE_REQUEST_FAILED, Some(0))
                .await;
            ctx.switch().request(&role(v13::ControllerRole::Equal, 0)).await?;
            result
        }
        other => Err(CaseError::Unknown(other.to_string())),
    }
}
