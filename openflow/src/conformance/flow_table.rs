//! Flow-table semantics beyond add/modify/delete: what modify keeps and resets, cookie masks, deletes
//! that match nothing, the fields of flow-removed, barrier ordering, the filters of flow and aggregate
//! statistics, a flow table larger than one reply, and port-mod errors. Both versions unless marked.

use std::time::Duration;

use super::cases::{flow, port_hw_addr, port_mod, Cmd, Flow};
use super::catalogue::{Named, BOTH, V13};
use super::steps::{fail, flow13, COOKIE};
use super::{CaseError, Context};
use crate::v13::oxm::OxmField;
use crate::{v10, v13, MacAddr, OfMessage};

/// The cases of this module: (name, group, title, 1.0 section, 1.3 section, required, versions, TS-026).
pub(super) const NAMED: &[Named] = &[
    (
        "modify_no_match",
        "flow_mod",
        "Modify that matches no flow adds it in 1.0 and adds nothing in 1.3",
        "§4.6",
        "§6.4",
        true,
        BOTH,
        None,
    ),
    (
        "modify_keeps_counters",
        "flow_mod",
        "Modify changes the actions and keeps the flow's counters",
        "§4.6",
        "§6.4",
        true,
        BOTH,
        None,
    ),
    (
        "reset_counts",
        "flow_mod",
        "Modify with RESET_COUNTS zeroes the flow's counters",
        "",
        "§6.4",
        true,
        V13,
        None,
    ),
    (
        "modify_keeps_cookie",
        "flow_mod",
        "Modify leaves the flow's cookie and timeouts unchanged",
        "",
        "§6.4",
        true,
        V13,
        None,
    ),
    (
        "modify_cookie_mask",
        "flow_mod",
        "Modify with a cookie mask changes only the flows with that cookie",
        "",
        "§6.4",
        true,
        V13,
        None,
    ),
    (
        "delete_no_match",
        "flow_mod",
        "Delete that matches no flow is not an error and removes nothing",
        "§4.6",
        "§6.4",
        true,
        BOTH,
        None,
    ),
    (
        "flow_removed_fields",
        "flow_mod",
        "Flow-removed carries the flow's cookie, priority and match",
        "§5.4.2",
        "§7.4.2",
        true,
        BOTH,
        None,
    ),
    (
        "no_flow_removed_without_flag",
        "flow_mod",
        "Deleting a flow without SEND_FLOW_REM sends no flow-removed",
        "§4.6",
        "§6.5",
        true,
        BOTH,
        None,
    ),
    (
        "barrier_order",
        "basic",
        "Messages before a barrier take effect in order (add, delete all, add: one flow left)",
        "§5.3.7",
        "§7.3.8",
        true,
        BOTH,
        None,
    ),
    (
        "flow_stats_fields",
        "stats",
        "Flow statistics report the priority, cookie and timeouts the flow was added with",
        "§5.3.5",
        "§7.3.5.2",
        true,
        BOTH,
        None,
    ),
    (
        "flow_stats_out_port",
        "stats",
        "Flow statistics filtered by out_port list only the flows that output there",
        "§5.3.5",
        "§7.3.5.2",
        true,
        BOTH,
        None,
    ),
    (
        "flow_stats_match",
        "stats",
        "Flow statistics filtered by a match list only the flows inside it",
        "§5.3.5",
        "§7.3.5.2",
        true,
        BOTH,
        None,
    ),
    (
        "flow_stats_cookie",
        "stats",
        "Flow statistics filtered by cookie and mask list only the flows with that cookie",
        "",
        "§7.3.5.2",
        true,
        V13,
        None,
    ),
    (
        "aggregate_out_port",
        "stats",
        "Aggregate statistics filtered by out_port count only the flows that output there",
        "§5.3.5",
        "§7.3.5.3",
        true,
        BOTH,
        None,
    ),
    (
        "large_flow_table",
        "stats",
        "Flow statistics of 1000 flows list every one (a reply in several parts)",
        "§5.3.5",
        "§7.3.5, §7.3.5.2",
        true,
        BOTH,
        None,
    ),
    (
        "port_mod_bad_port",
        "errors",
        "Port-mod of a port that does not exist gets PORT_MOD_FAILED/BAD_PORT",
        "§5.4.4",
        "§7.4.4",
        true,
        BOTH,
        None,
    ),
    (
        "port_mod_bad_hw_addr",
        "errors",
        "Port-mod with another hardware address than the port's gets PORT_MOD_FAILED/BAD_HW_ADDR",
        "§5.4.4",
        "§7.4.4",
        true,
        BOTH,
        None,
    ),
];

/// `OFPFF_SEND_FLOW_REM`.
const SEND_FLOW_REM: u16 = 1;
/// `OFPFF_RESET_COUNTS` (1.3).
const RESET_COUNTS: u16 = 4;

/// Whether this module runs the named case in this version.
pub(super) fn handles(name: &str, version: u8) -> bool {
    super::catalogue::declares(NAMED, name, version)
}

/// One flow of the flow statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    priority: u16,
    cookie: u64,
    idle: u16,
    hard: u16,
    packets: u64,
}

/// A filter of flow and aggregate statistics.
#[derive(Debug, Clone, Copy, Default)]
struct Filter {
    out_port: Option<u32>,
    in_port: Option<u32>,
    cookie: Option<(u64, u64)>,
}

fn stats_body(ctx: &Context<'_>, f: Filter, aggregate: bool) -> OfMessage {
    if ctx.v10() {
        let mut m = v10::Match::all();
        if let Some(p) = f.in_port {
            m.wildcards &= !v10::match_::wildcards::IN_PORT;
            m.in_port = u16::try_from(p).unwrap_or(0);
        }
        let req = v10::stats::FlowStatsRequest {
            match_: m,
            table_id: 0xff,
            out_port: f
                .out_port
                .and_then(|p| u16::try_from(p).ok())
                .unwrap_or(v10::port::port_no::NONE),
        };
        let body = if aggregate {
            v10::StatsRequestBody::Aggregate(req)
        } else {
            v10::StatsRequestBody::Flow(req)
        };
        OfMessage::V10(v10::Message::StatsRequest(v10::StatsRequest { flags: 0, body }))
    } else {
        let (cookie, cookie_mask) = f.cookie.unwrap_or((0, 0));
        let req = v13::multipart::FlowStatsRequest {
            table_id: 0xff,
            out_port: f.out_port.unwrap_or(v13::port::port_no::ANY),
            out_group: v13::group::group_id::ANY,
            cookie,
            cookie_mask,
            match_: v13::Match::new(
                f.in_port
                    .map(|p| OxmField::InPort { value: p, mask: None })
                    .into_iter()
                    .collect(),
            ),
        };
        let body = if aggregate {
            v13::MultipartRequestBody::Aggregate(req)
        } else {
            v13::MultipartRequestBody::Flow(req)
        };
        OfMessage::V13(v13::Message::MultipartRequest(v13::MultipartRequest {
            flags: 0,
            body,
        }))
    }
}

async fn entries(ctx: &Context<'_>, f: Filter) -> Result<Vec<Entry>, CaseError> {
    let mut out = Vec::new();
    for part in ctx.stats(&stats_body(ctx, f, false), &[]).await? {
        match part {
            OfMessage::V10(v10::Message::StatsReply(v10::StatsReply {
                body: v10::StatsReplyBody::Flow(fs),
                ..
            })) => out.extend(fs.iter().map(|s| Entry {
                priority: s.priority,
                cookie: s.cookie,
                idle: s.idle_timeout,
                hard: s.hard_timeout,
                packets: s.packet_count,
            })),
            OfMessage::V13(v13::Message::MultipartReply(v13::MultipartReply {
                body: v13::MultipartReplyBody::Flow(fs),
                ..
            })) => out.extend(fs.iter().map(|s| Entry {
                priority: s.priority,
                cookie: s.cookie,
                idle: s.idle_timeout,
                hard: s.hard_timeout,
                packets: s.packet_count,
            })),
            _ => {}
        }
    }
    Ok(out)
}

async fn priorities(ctx: &Context<'_>, f: Filter) -> Result<Vec<u16>, CaseError> {
    let mut p: Vec<u16> = entries(ctx, f).await?.iter().map(|e| e.priority).collect();
    p.sort_unstable();
    Ok(p)
}

fn expect_priorities(got: &[u16], want: &[u16], what: &str) -> Result<(), CaseError> {
    if got == want {
        Ok(())
    } else {
        Err(fail(format!(
            "{what}: flows of priority {got:?}, expected {want:?}"
        )))
    }
}

/// Packets counted by the single flow, polled until it is at least `min` or the timeout passes.
async fn packets_at_least(ctx: &Context<'_>, min: u64) -> Result<u64, CaseError> {
    let deadline = tokio::time::Instant::now() + ctx.timeout;
    loop {
        let n = entries(ctx, Filter::default())
            .await?
            .first()
            .map_or(0, |e| e.packets);
        if n >= min || tokio::time::Instant::now() >= deadline {
            return Ok(n);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Flow-removed for the next removal: (cookie, priority, in_port of its match).
async fn removed(sub: &mut crate::channel::Subscription, wait: Duration) -> Option<(u64, u16, Option<u32>)> {
    super::cases::next_flow_removed(sub, wait)
        .await
        .map(|r| (r.cookie, r.priority, r.in_port))
}

/// Runs one case of [`NAMED`].
#[allow(clippy::too_many_lines)]
pub(super) async fn run(name: &str, ctx: &Context<'_>) -> Result<(), CaseError> {
    let (p1, p2) = (ctx.port(0), ctx.port(1));
    let probe = super::probe::Probe::udp().build();
    let fwd = flow(100, Some(p1), vec![p2]);
    match name {
        "modify_no_match" => {
            ctx.program_ok(&[ctx.flow_msg(Cmd::Modify, &fwd, None)], &[])
                .await?;
            let want: &[u16] = if ctx.v10() { &[100] } else { &[] };
            expect_priorities(&priorities(ctx, Filter::default()).await?, want, "after modify")
        }
        "modify_keeps_counters" | "reset_counts" => {
            ctx.program_ok(&[ctx.add(&fwd)], &[]).await?;
            ctx.expect_forward(p1, &probe, p2, &probe).await?;
            let before = packets_at_least(ctx, 1).await?;
            if before == 0 {
                return Err(fail("the forwarded frame was not counted"));
            }
            // Counters from the fast path reach the flow with a delay: let them settle first.
            tokio::time::sleep(Duration::from_millis(300)).await;
            let before = packets_at_least(ctx, before).await?;
            let mut drop = flow(100, Some(p1), vec![]);
            if name == "reset_counts" {
                drop.flags = RESET_COUNTS;
            }
            ctx.program_ok(&[ctx.flow_msg(Cmd::ModifyStrict, &drop, None)], &[])
                .await?;
            ctx.expect_dropped(p1, &probe, &[p2]).await?;
            let after = entries(ctx, Filter::default())
                .await?
                .first()
                .map_or(0, |e| e.packets);
            if name == "reset_counts" {
                // The dropped frame may have been counted already: at most one.
                if after > 1 {
                    return Err(fail(format!("{after} packets after RESET_COUNTS (was {before})")));
                }
            } else if after < before {
                return Err(fail(format!(
                    "packet count went from {before} to {after} on modify"
                )));
            }
            Ok(())
        }
        "modify_keeps_cookie" => {
            let mut f = fwd.clone();
            f.idle = 200;
            f.hard = 300;
            ctx.program_ok(&[ctx.add(&f)], &[]).await?;
            let mut m = flow13(v13::FlowModCommand::ModifyStrict, 100, Vec::new(), Vec::new());
            m.match_ = v13::Match::new(vec![OxmField::InPort {
                value: p1,
                mask: None,
            }]);
            m.table_id = 0;
            m.cookie = COOKIE | 0x5;
            ctx.program_ok(&[OfMessage::V13(v13::Message::FlowMod(m))], &[])
                .await?;
            ctx.expect_dropped(p1, &probe, &[p2]).await?;
            let e = entries(ctx, Filter::default()).await?;
            match e.as_slice() {
                [e] if e.cookie == COOKIE && e.idle == 200 && e.hard == 300 => Ok(()),
                other => Err(fail(format!(
                    "after modify: {other:?}, expected cookie {COOKIE:#x}, idle 200, hard 300"
                ))),
            }
        }
        "modify_cookie_mask" => {
            let mut b = flow(90, Some(p2), vec![p1]);
            b.cookie = Some(COOKIE | 0x1_0000);
            ctx.program_ok(&[ctx.add(&fwd), ctx.add(&b)], &[]).await?;
            let mut m = flow13(v13::FlowModCommand::Modify, 0, Vec::new(), Vec::new());
            m.table_id = 0;
            m.cookie = COOKIE | 0x1_0000;
            m.cookie_mask = u64::MAX;
            ctx.program_ok(&[OfMessage::V13(v13::Message::FlowMod(m))], &[])
                .await?;
            ctx.expect_forward(p1, &probe, p2, &probe).await?;
            ctx.expect_dropped(p2, &probe, &[p1]).await
        }
        "delete_no_match" => {
            ctx.program_ok(&[ctx.add(&fwd)], &[]).await?;
            let other = flow(7, Some(p2), vec![]);
            ctx.program_ok(&[ctx.flow_msg(Cmd::DeleteStrict, &other, None)], &[])
                .await?;
            expect_priorities(&priorities(ctx, Filter::default()).await?, &[100], "after delete")
        }
        "flow_removed_fields" | "no_flow_removed_without_flag" => {
            let mut f = flow(123, Some(p1), vec![p2]);
            f.cookie = Some(COOKIE | 0x42);
            if name == "flow_removed_fields" {
                f.flags = SEND_FLOW_REM;
            }
            ctx.program_ok(&[ctx.add(&f)], &[]).await?;
            let mut sub = ctx.switch().subscribe();
            ctx.reset().await?;
            if name == "no_flow_removed_without_flag" {
                return match removed(&mut sub, ctx.quiet).await {
                    Some(r) => Err(fail(format!(
                        "flow-removed {r:?} for a flow without SEND_FLOW_REM"
                    ))),
                    None => Ok(()),
                };
            }
            match removed(&mut sub, ctx.timeout).await {
                Some((c, 123, Some(p))) if c == COOKIE | 0x42 && p == p1 => Ok(()),
                Some(r) => Err(fail(format!(
                    "flow-removed (cookie, priority, in_port) {r:?}, expected ({:#x}, 123, {p1})",
                    COOKIE | 0x42
                ))),
                None => Err(fail("no flow-removed message")),
            }
        }
        "barrier_order" => {
            let sw = &ctx.switch();
            sw.send(&ctx.add(&fwd)).await?;
            sw.send(&ctx.flow_msg(Cmd::Delete, &flow(0, None, vec![]), None))
                .await?;
            sw.send(&ctx.add(&flow(50, Some(p2), vec![p1]))).await?;
            sw.barrier().await?;
            expect_priorities(
                &priorities(ctx, Filter::default()).await?,
                &[50],
                "after the barrier",
            )
        }
        "flow_stats_fields" => {
            let mut f = flow(321, Some(p1), vec![p2]);
            f.cookie = Some(COOKIE | 0x99);
            f.idle = 600;
            f.hard = 700;
            ctx.program_ok(&[ctx.add(&f)], &[]).await?;
            let e = entries(ctx, Filter::default()).await?;
            match e.as_slice() {
                [e] if e.priority == 321 && e.cookie == COOKIE | 0x99 && e.idle == 600 && e.hard == 700 => {
                    Ok(())
                }
                other => Err(fail(format!(
                    "flow statistics {other:?}, expected priority 321, cookie {:#x}, idle 600, hard 700",
                    COOKIE | 0x99
                ))),
            }
        }
        "flow_stats_out_port" | "aggregate_out_port" => {
            ctx.program_ok(&[ctx.add(&fwd), ctx.add(&flow(90, Some(p2), vec![p1]))], &[])
                .await?;
            let filter = Filter {
                out_port: Some(p2),
                ..Filter::default()
            };
            if name == "flow_stats_out_port" {
                return expect_priorities(&priorities(ctx, filter).await?, &[100], "out_port filter");
            }
            let mut counted = None;
            for part in ctx.stats(&stats_body(ctx, filter, true), &[]).await? {
                match part {
                    OfMessage::V10(v10::Message::StatsReply(v10::StatsReply {
                        body: v10::StatsReplyBody::Aggregate(a),
                        ..
                    })) => counted = Some(a.flow_count),
                    OfMessage::V13(v13::Message::MultipartReply(v13::MultipartReply {
                        body: v13::MultipartReplyBody::Aggregate(a),
                        ..
                    })) => counted = Some(a.flow_count),
                    _ => {}
                }
            }
            match counted {
                Some(1) => Ok(()),
                other => Err(fail(format!(
                    "aggregate flow_count {other:?} with out_port, expected 1"
                ))),
            }
        }
        "flow_stats_match" => {
            let mut udp = flow(80, Some(p1), vec![p2]);
            udp.udp_dst = Some(4242);
            ctx.program_ok(
                &[
                    ctx.add(&fwd),
                    ctx.add(&flow(90, Some(p2), vec![p1])),
                    ctx.add(&udp),
                ],
                &[],
            )
            .await?;
            let filter = Filter {
                in_port: Some(p1),
                ..Filter::default()
            };
            expect_priorities(&priorities(ctx, filter).await?, &[80, 100], "in_port filter")
        }
        "flow_stats_cookie" => {
            let mut b = flow(90, Some(p2), vec![p1]);
            b.cookie = Some(COOKIE | 0x1_0000);
            ctx.program_ok(&[ctx.add(&fwd), ctx.add(&b)], &[]).await?;
            let filter = Filter {
                cookie: Some((COOKIE | 0x1_0000, u64::MAX)),
                ..Filter::default()
            };
            expect_priorities(&priorities(ctx, filter).await?, &[90], "cookie filter")
        }
        "large_flow_table" => {
            let flows: Vec<OfMessage> = (1..=1000u16)
                .map(|d| {
                    let f = Flow {
                        udp_dst: Some(d),
                        ..flow(100, Some(p1), vec![p2])
                    };
                    ctx.add(&f)
                })
                .collect();
            ctx.program_ok(&flows, &[]).await?;
            let n = entries(ctx, Filter::default()).await?.len();
            if n == 1000 {
                Ok(())
            } else {
                Err(fail(format!("flow statistics listed {n} of 1000 flows")))
            }
        }
        "port_mod_bad_port" | "port_mod_bad_hw_addr" => {
            let hw = port_hw_addr(ctx, p2).await?;
            let (port, hw, code) = if name == "port_mod_bad_port" {
                // A port number below the reserved range that no port of the suite uses.
                (0xee, hw, 0)
            } else {
                let mut other = hw.0;
                other[5] ^= 0x01;
                (p2, MacAddr(other), 1)
            };
            let failed = if ctx.v10() { 4 } else { 7 };
            ctx.expect_error(None, Some(&port_mod(ctx, port, hw, 0, 0)), failed, Some(code))
                .await
        }
        other => Err(CaseError::Unknown(other.to_string())),
    }
}
