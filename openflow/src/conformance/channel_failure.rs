//! The control channel's failure modes (1.3 §6.3.6; TS-026 suite 10): a switch notices a controller that
//! stopped answering, behaves as its failure mode says while no controller is there (fail-secure: flows
//! forward and expire, nothing reaches the controller; fail-standalone: an L2 learning switch), and keeps
//! its flows, with their timeouts running, across a reconnect.
//!
//! Each case takes the channel down itself ([`Context::drop_channel`], or a muted channel the switch has to
//! give up on) and refuses the switch while it checks the data plane; it lets the switch in again before it
//! ends, and the runner restores the channel after any case that did not.

use std::time::Duration;

use tokio::time::Instant;

use super::catalogue::{Named, V13};
use super::outage::FailMode;
use super::outcome::TABLE_MISS_COOKIE;
use super::pipeline::{in_port, out};
use super::probe::Probe;
use super::steps::{apply, fail, flow13, unsupported};
use super::{CaseError, Context};
use crate::channel::Subscription;
use crate::v13::flow_mod_flags::SEND_FLOW_REM;
use crate::{v13, MacAddr, OfMessage};

/// (name, group, title, 1.0 section, 1.3 section, required, versions, TS-026 number)
pub(super) const NAMED: &[Named] = &[
    ("channel_echo_timeout", "channel", "A switch whose controller stops answering sends echo requests, closes the channel and connects again; its flow forwards while the controller is gone", "", "§6.3.6, §7.5.2", true, V13, None),
    ("channel_fail_secure", "channel", "Fail-secure without a controller: the flow forwards, a table miss goes nowhere and reaches no controller, the flow expires on its hard timeout", "", "§6.3.6", false, V13, None),
    ("channel_fail_standalone", "channel", "Fail-standalone without a controller: a frame to an unknown address is flooded, the answer goes only to the learned port", "", "§6.3.6", false, V13, None),
    ("channel_standalone_keeps_flows", "channel", "Fail-standalone: the controller's flows are still there when it connects again after the switch failed over", "", "§6.3.6", true, V13, None),
    ("channel_flows_survive_reconnect", "channel", "A flow stays across a reconnect: it forwards, its duration counts from its addition, and it expires on its hard timeout as set", "", "§6.3.6", true, V13, None),
];

/// Whether this module runs the named case in this version.
pub(super) fn handles(name: &str, version: u8) -> bool {
    super::catalogue::declares(NAMED, name, version)
}

/// The cookie of the flows these cases add.
const FLOW_COOKIE: u64 = 0x7717_0000_c4a1;
/// The hard timeout of the flows that must expire while, or after, the controller is gone.
const HARD_TIMEOUT: u16 = 4;
/// How long the switch is refused in the reconnect case: long enough that a hard timeout restarted at the
/// reconnect would show.
const OUTAGE: Duration = Duration::from_secs(3);
/// The hard timeout of the flow that must outlive the outage and the reconnect (a switch backs off
/// between attempts: Open vSwitch up to 8 s by default) and then expire.
const SURVIVOR_TIMEOUT: u16 = 15;
/// The priority-10 flow from port `from` to port `to`.
fn forward(from: u32, to: u32, hard_timeout: u16, flags: u16) -> OfMessage {
    let mut fm = flow13(
        v13::FlowModCommand::Add,
        10,
        vec![in_port(from)],
        apply(vec![out(to)]),
    );
    fm.cookie = FLOW_COOKIE;
    fm.hard_timeout = hard_timeout;
    fm.flags = flags;
    OfMessage::V13(v13::Message::FlowMod(fm))
}

/// The first packet-in carrying the probe marker within `wait`, if any.
async fn probe_packet_in(sub: &mut Subscription, wait: Duration) -> Option<v13::PacketIn> {
    let got = sub
        .expect(wait, |m| match &m.message {
            OfMessage::V13(v13::Message::PacketIn(p)) => super::probe::has_marker(&p.data),
            _ => false,
        })
        .await
        .ok()?;
    match got.message {
        OfMessage::V13(v13::Message::PacketIn(p)) => Some(p),
        _ => None,
    }
}

/// The flows of table 0 with the cases' cookie.
async fn our_flows(ctx: &Context<'_>) -> Result<Vec<v13::multipart::FlowStats>, CaseError> {
    Ok(ctx
        .flow_stats13()
        .await?
        .into_iter()
        .filter(|f| f.cookie == FLOW_COOKIE)
        .collect())
}

/// Sends `frame` into `ingress` again (after a 200 ms pause) until nothing comes out of `egress`, by `deadline`.
async fn until_not_forwarded(
    ctx: &Context<'_>,
    ingress: u32,
    frame: &[u8],
    egress: u32,
    deadline: Instant,
) -> Result<(), CaseError> {
    loop {
        match ctx.expect_dropped(ingress, frame, &[egress]).await {
            Ok(()) => return Ok(()),
            Err(CaseError::DataPlane(_)) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Fail-standalone cases: adds the table-miss flow and a flow of the cases' cookie that matches nothing the
/// data plane sends, takes the channel down and sends a frame from A to the unknown B into the first
/// port until the switch floods it out of the second and third (it has failed over). Returns the third
/// port, that frame and the answer from B to A.
async fn fail_over(ctx: &Context<'_>) -> Result<(u32, Vec<u8>, Vec<u8>), CaseError> {
    ctx.needs_fail_mode(FailMode::Standalone)?;
    let (p1, p2) = (ctx.port(0), ctx.port(1));
    let p3 = ctx.ports.get(2).copied().ok_or_else(|| {
        unsupported("the fail-standalone cases need three data ports (give a third with --ports)")
    })?;
    let mut kept = flow13(
        v13::FlowModCommand::Add,
        10,
        vec![
            in_port(p1),
            v13::OxmField::EthType {
                value: 0x88b5,
                mask: None,
            },
        ],
        apply(vec![out(p2)]),
    );
    kept.cookie = FLOW_COOKIE;
    ctx.program_ok(
        &[table_miss(ctx)?, OfMessage::V13(v13::Message::FlowMod(kept))],
        &[],
    )
    .await?;
    ctx.drop_channel().await?;
    // Fresh addresses each time: a learning switch remembers the last run's.
    let [.., x, y, z] = super::steps::now_micros().to_be_bytes();
    let a = MacAddr([0x02, 0x0a, 0x00, x, y, z]);
    let b = MacAddr([0x02, 0x0b, 0x00, x, y, z]);
    let mut to_b = Probe::udp();
    to_b.eth_src = a;
    to_b.eth_dst = b;
    let mut to_a = Probe::udp();
    to_a.eth_src = b;
    to_a.eth_dst = a;
    let (to_b, to_a) = (to_b.build(), to_a.build());
    let deadline = Instant::now() + ctx.failover;
    let dp = ctx.dataplane;
    loop {
        let flooded = tokio::task::block_in_place(|| {
            dp.drain();
            dp.send(p1, &to_b)?;
            Ok::<bool, crate::dataplane::DataPlaneError>(
                dp.expect_frame(p2, &to_b, ctx.step).is_ok() && dp.expect_frame(p3, &to_b, ctx.step).is_ok(),
            )
        })?;
        if flooded {
            return Ok((p3, to_b, to_a));
        }
        if Instant::now() >= deadline {
            return Err(fail(format!(
                "no controller for {:?}, and a frame to an unknown address is still not flooded",
                ctx.failover
            )));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The table-miss flow (everything else to the controller), as the match cases install it.
fn table_miss(ctx: &Context<'_>) -> Result<OfMessage, CaseError> {
    ctx.table_miss_flow()
        .ok_or_else(|| CaseError::Unknown("the control-channel cases are for 1.3".into()))
}

/// Runs the named case.
pub(super) async fn run(name: &str, ctx: &Context<'_>) -> Result<(), CaseError> {
    let (p1, p2) = (ctx.port(0), ctx.port(1));
    let frame = Probe::udp().build();
    match name {
        "channel_echo_timeout" => {
            ctx.program_ok(&[forward(p1, p2, 0, 0)], &[]).await?;
            let sw = ctx.switch();
            let mut sub = sw.subscribe();
            ctx.refuse_switch()?;
            sw.mute();
            let started = Instant::now();
            let probed = sub.expect(ctx.failover, |m| {
                matches!(m.message, OfMessage::V13(v13::Message::EchoRequest(_)))
            });
            tokio::select! {
                got = probed => {
                    got.map_err(|_| {
                        fail(format!(
                            "the switch sent no echo request in {:?} of silence from its controller",
                            ctx.failover
                        ))
                    })?;
                }
                () = sw.closed() => {
                    return Err(fail(
                        "the switch closed the channel without probing its silent controller with an echo request",
                    ));
                }
            }
            let left = ctx.failover.saturating_sub(started.elapsed());
            tokio::time::timeout(left, sw.closed()).await.map_err(|_| {
                fail(format!(
                    "the switch kept the channel open {:?} after its controller went silent",
                    ctx.failover
                ))
            })?;
            // No controller now: the flow still forwards (fail-secure by the flow; fail-standalone by the
            // flow or by flooding, either way out of the flow's port).
            ctx.expect_forward(p1, &frame, p2, &frame).await?;
            let back = ctx.reconnect().await?;
            back.echo(b"back").await?;
            Ok(())
        }
        "channel_fail_secure" => {
            ctx.needs_fail_mode(FailMode::Secure)?;
            ctx.program_ok(&[table_miss(ctx)?, forward(p1, p2, HARD_TIMEOUT, 0)], &[])
                .await?;
            let added = Instant::now();
            ctx.drop_channel().await?;
            ctx.expect_forward(p1, &frame, p2, &frame).await?;
            // A table miss would go to the controller: without one it goes nowhere.
            let others: Vec<u32> = ctx.ports.iter().copied().filter(|p| *p != p2).collect();
            ctx.expect_dropped(p2, &frame, &others).await?;
            // The flow still expires on its hard timeout (1.3 §6.3.6: flows "continue to expire").
            let expiry = added + Duration::from_secs(u64::from(HARD_TIMEOUT));
            tokio::time::sleep_until(expiry).await;
            until_not_forwarded(ctx, p1, &frame, p2, expiry + Duration::from_secs(4))
                .await
                .map_err(|_| {
                    fail(
                        "the flow still forwards 4 s after its hard timeout while no controller is connected",
                    )
                })?;
            let back = ctx.reconnect().await?;
            // From the connection's first message: a switch that queued the miss flushes it right away.
            let mut sub = back.subscribe_from_start();
            if let Some(p) = probe_packet_in(&mut sub, ctx.quiet).await {
                return Err(fail(format!(
                    "a packet-in (reason {}) for a frame sent while no controller was connected reached the controller afterwards",
                    u8::from(p.reason)
                )));
            }
            if !our_flows(ctx).await?.is_empty() {
                return Err(fail("the expired flow is still listed after the reconnect"));
            }
            let kept = ctx
                .flow_stats13()
                .await?
                .iter()
                .any(|f| f.cookie == TABLE_MISS_COOKIE);
            if !kept {
                return Err(fail("the table-miss flow did not survive the reconnect"));
            }
            Ok(())
        }
        "channel_fail_standalone" => {
            let (p3, to_b, to_a) = fail_over(ctx).await?;
            // B answers A: the switch learned A on the first port, so the answer goes there only. A
            // switch may learn a moment after it forwards (Open vSwitch learns in its slow path, and a
            // cached datapath flow may carry the first frames): the answer is re-sent until it is not
            // flooded, for a few seconds.
            let dp = ctx.dataplane;
            let learned_by = Instant::now() + Duration::from_secs(5);
            loop {
                let alone = tokio::task::block_in_place(|| {
                    // A again (its address stays fresh), then B's answer once A's frame is through.
                    dp.drain();
                    dp.send(p1, &to_b)?;
                    std::thread::sleep(Duration::from_millis(50));
                    dp.drain();
                    dp.send(p2, &to_a)?;
                    dp.expect_frame(p1, &to_a, ctx.timeout)?;
                    Ok::<bool, crate::dataplane::DataPlaneError>(
                        dp.expect_frame(p3, &to_a, ctx.quiet).is_err(),
                    )
                })?;
                if alone {
                    break;
                }
                if Instant::now() >= learned_by {
                    return Err(fail(format!(
                        "the answer from B to A still comes out of port {p3} too after 5 s: the switch did not learn A on port {p1}"
                    )));
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            ctx.reconnect().await?;
            Ok(())
        }
        "channel_standalone_keeps_flows" => {
            fail_over(ctx).await?;
            ctx.reconnect().await?;
            if our_flows(ctx).await?.is_empty() {
                return Err(fail(
                    "the controller's flow is gone after the switch failed over to standalone and connected again",
                ));
            }
            Ok(())
        }
        "channel_flows_survive_reconnect" => {
            ctx.program_ok(&[forward(p1, p2, SURVIVOR_TIMEOUT, SEND_FLOW_REM)], &[])
                .await?;
            let added = Instant::now();
            ctx.drop_channel().await?;
            tokio::time::sleep(OUTAGE).await;
            let back = ctx.reconnect().await?;
            let mut sub = back.subscribe_from_start();
            let back_after = added.elapsed();
            if back_after + Duration::from_secs(3) > Duration::from_secs(u64::from(SURVIVOR_TIMEOUT)) {
                return Err(CaseError::Harness(format!(
                    "inconclusive: the switch took {back_after:?} to connect again, too close to the flow's {SURVIVOR_TIMEOUT} s hard timeout (lower its reconnect back-off)"
                )));
            }
            let flows = our_flows(ctx).await?;
            let Some(flow) = flows.first() else {
                return Err(fail("the flow is gone after the reconnect"));
            };
            let lived = added.elapsed().as_secs();
            if u64::from(flow.duration_sec) + 1 < lived {
                return Err(fail(format!(
                    "the flow's duration is {} s though it was added {lived} s ago (was it added again?)",
                    flow.duration_sec
                )));
            }
            if flow.hard_timeout != SURVIVOR_TIMEOUT {
                return Err(fail(format!(
                    "the flow's hard timeout is {} after the reconnect, not {SURVIVOR_TIMEOUT}",
                    flow.hard_timeout
                )));
            }
            ctx.expect_forward(p1, &frame, p2, &frame).await?;
            // It expires as set, counted from its addition: not restarted by the reconnect.
            let expiry = added + Duration::from_secs(u64::from(SURVIVOR_TIMEOUT));
            let late = expiry + Duration::from_secs(2);
            let removed = super::cases::next_flow_removed(&mut sub, late.saturating_duration_since(Instant::now()))
                .await
                .ok_or_else(|| {
                    fail(format!(
                        "no flow-removed {} s after the flow was added with hard timeout {SURVIVOR_TIMEOUT} s (outage {} s)",
                        added.elapsed().as_secs(),
                        OUTAGE.as_secs()
                    ))
                })?;
            if removed.reason != u8::from(v13::FlowRemovedReason::HardTimeout) {
                return Err(fail(format!(
                    "flow-removed reason {}, expected HARD_TIMEOUT",
                    removed.reason
                )));
            }
            if Instant::now() + Duration::from_millis(500) < expiry {
                return Err(fail("the flow was removed before its hard timeout"));
            }
            until_not_forwarded(ctx, p1, &frame, p2, Instant::now() + Duration::from_secs(2))
                .await
                .map_err(|_| fail("the flow still forwards after its flow-removed"))?;
            Ok(())
        }
        other => Err(CaseError::Unknown(other.to_string())),
    }
}
