//! The three outcomes a generated match or action case checks, as the Ryu switch tester crosses its
//! tests with them: the frame leaves the flow's output port, the flow sends it to the controller as a
//! packet-in, or a frame that differs misses the flow and the table-miss flow entry sends it to the
//! controller. A packet-in is positive evidence, so the table-miss outcome needs no "no frame" wait.

use std::time::Duration;

use super::probe::has_marker;
use super::steps::{apply, fail, flow10, flow13, COOKIE};
use super::{CaseError, Context};
use crate::dataplane::{packet, DataPlaneError};
use crate::v13::oxm::OxmField;
use crate::{v10, v13, OfMessage};

/// `OFPR_NO_MATCH`: no flow matched (1.0), or the table-miss flow entry sent it (1.3).
pub(crate) const REASON_NO_MATCH: u8 = 0;
/// `OFPR_ACTION`: an output action to the controller sent it.
pub(crate) const REASON_ACTION: u8 = 1;
/// Bytes of an unmatched frame a 1.0 switch sends by default (`OFP_DEFAULT_MISS_SEND_LEN`).
const DEFAULT_MISS_SEND_LEN: usize = 128;
/// The cookie of the table-miss flow entry, so that its packet-ins tell themselves apart from the case's
/// flow's (1.3 packet-ins carry the cookie of the flow that sent them).
pub(crate) const TABLE_MISS_COOKIE: u64 = 0x7717_0000_ffff;
/// How long the other ports are watched once the packet-in has come: the switch has decided by then,
/// and a copy it wrongly forwarded would already be on its way.
const AFTER_PACKET_IN: Duration = Duration::from_millis(20);

/// What a generated case expects of the frame it sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Outcome {
    /// The flow's output action sends it out of a data port.
    Output,
    /// The flow's output to CONTROLLER sends it as a packet-in (reason ACTION).
    PacketIn,
    /// A frame that differs in the field misses the flow: the table-miss flow entry (1.3) or the switch's
    /// own miss handling (1.0) sends it as a packet-in (reason NO_MATCH), and no data port sees it.
    TableMiss,
}

impl Outcome {
    /// The outcomes in catalogue order.
    pub(crate) const ALL: &'static [Outcome] = &[Outcome::Output, Outcome::PacketIn, Outcome::TableMiss];

    /// The suffix of the case id (none for the output outcome, whose ids came first).
    pub(crate) fn id_suffix(self) -> &'static str {
        match self {
            Outcome::Output => "",
            Outcome::PacketIn => ".packet_in",
            Outcome::TableMiss => ".table_miss",
        }
    }
}

/// A packet-in as both versions carry it.
struct PacketIn {
    reason: u8,
    in_port: Option<u32>,
    /// The sending flow's cookie (1.3 only).
    cookie: Option<u64>,
    data: Vec<u8>,
}

fn as_packet_in(m: &OfMessage) -> Option<PacketIn> {
    match m {
        OfMessage::V10(v10::Message::PacketIn(p)) => Some(PacketIn {
            reason: p.reason.into(),
            in_port: Some(u32::from(p.in_port)),
            cookie: None,
            data: p.data.clone(),
        }),
        OfMessage::V13(v13::Message::PacketIn(p)) => Some(PacketIn {
            reason: p.reason.into(),
            in_port: p.match_.fields.iter().find_map(|f| match f {
                OxmField::InPort { value, .. } => Some(*value),
                _ => None,
            }),
            cookie: Some(p.cookie),
            data: p.data.clone(),
        }),
        _ => None,
    }
}

/// True when `data` is `frame` (padding aside), or, where the switch may cut it (`cut`: a 1.0 miss, sent
/// with the default miss length), at least that much of its start.
fn carries(data: &[u8], frame: &[u8], cut: Option<usize>) -> bool {
    let data = trim_zero_tail(data, frame.len());
    !data.is_empty()
        && frame.starts_with(data)
        && data.len() >= cut.map_or(frame.len(), |c| frame.len().min(c))
}

/// `data` without the padding a switch may add after a short frame's end.
fn trim_zero_tail(data: &[u8], frame_len: usize) -> &[u8] {
    if data.len() > frame_len && data.len() <= packet::MIN_FRAME && data[frame_len..].iter().all(|b| *b == 0)
    {
        &data[..frame_len]
    } else {
        data
    }
}

impl Context<'_> {
    /// The 1.3 table-miss flow entry (priority 0, every frame, output to CONTROLLER, whole frame); none
    /// for 1.0, where an unmatched frame goes to the controller without one.
    pub(crate) fn table_miss_flow(&self) -> Option<OfMessage> {
        (!self.v10()).then(|| {
            let mut fm = flow13(
                v13::FlowModCommand::Add,
                0,
                Vec::new(),
                apply(vec![controller13()]),
            );
            fm.cookie = TABLE_MISS_COOKIE;
            OfMessage::V13(v13::Message::FlowMod(fm))
        })
    }

    /// Settle and retry: sends `frame` into `ingress` and waits for the packet-in carrying `expected`
    /// (the frame as the flow's actions left it), with this reason and in_port; then no data port in
    /// `quiet` may see the frame. The frame is re-sent (up to the configured attempts) when no packet-in
    /// comes or it left a data port instead (a flow reaches the fast path only a little after the barrier
    /// reply).
    pub(crate) async fn expect_packet_in(
        &self,
        ingress: u32,
        frame: &[u8],
        expected: &[u8],
        reason: u8,
        quiet: &[u32],
    ) -> Result<(), CaseError> {
        self.settled().await;
        let dp = self.dataplane;
        // 1.3 names the flow that sent it: the case's own, or the table-miss flow entry.
        let cookie = (!self.v10()).then_some(if reason == REASON_ACTION {
            COOKIE
        } else {
            TABLE_MISS_COOKIE
        });
        let cut = (self.v10() && reason == REASON_NO_MATCH).then_some(DEFAULT_MISS_SEND_LEN);
        let mut last = fail("no packet-in carrying the frame");
        for _ in 0..self.attempts.max(1) {
            let mut sub = self.switch().subscribe();
            tokio::task::block_in_place(|| {
                dp.drain();
                dp.send(ingress, frame)
            })?;
            // The packet-in carrying the expected frame with this reason and in_port. Any other packet-in of
            // the suite's probes (another frame, reason or in_port: a flow not yet in the fast path, or a late
            // packet-in of an earlier case) is remembered for the message, and the attempt goes on.
            let mut other: Option<String> = None;
            let got = sub
                .expect(self.step, |m| match as_packet_in(&m.message) {
                    Some(p) if carries(&p.data, expected, cut) => {
                        if p.reason == reason && p.in_port == Some(ingress) && (cookie.is_none() || p.cookie == cookie) {
                            true
                        } else {
                            other = Some(format!(
                                "packet-in reason {}, in_port {:?}, cookie {:x?}; expected reason {reason}, in_port {ingress}, cookie {cookie:x?}",
                                p.reason, p.in_port, p.cookie
                            ));
                            false
                        }
                    }
                    Some(p) if has_marker(&p.data) => {
                        let at = p.data.iter().zip(expected).position(|(a, b)| a != b);
                        other = Some(format!(
                            "the packet-in carries another frame ({} bytes, expected {}; first difference at byte {})",
                            p.data.len(),
                            expected.len(),
                            at.map_or_else(|| "-".to_string(), |i| i.to_string())
                        ));
                        false
                    }
                    _ => false,
                })
                .await;
            if got.is_err() {
                // Where did it go? A frame on a data port says the switch forwarded it instead.
                let seen = tokio::task::block_in_place(|| {
                    quiet
                        .iter()
                        .find(|p| dp.expect_none(**p, Duration::ZERO).is_err())
                });
                last = match (other, seen) {
                    (Some(text), _) => fail(text),
                    (None, Some(p)) => fail(format!("no packet-in; the frame left port {p} instead")),
                    (None, None) => fail("no packet-in carrying the frame"),
                };
                continue;
            }
            tokio::task::block_in_place(|| {
                for port in quiet {
                    dp.expect_none(*port, AFTER_PACKET_IN)?;
                }
                Ok::<(), DataPlaneError>(())
            })?;
            return Ok(());
        }
        Err(last)
    }
}

/// Output to the controller, whole frame (1.3).
pub(crate) fn controller13() -> v13::Action {
    v13::Action::Output {
        port: v13::port::port_no::CONTROLLER,
        max_len: 0xffff,
    }
}

/// Output to the controller, whole frame (1.0).
pub(crate) fn controller10() -> v10::Action {
    v10::Action::Output {
        port: v10::port::port_no::CONTROLLER,
        max_len: 0xffff,
    }
}

/// A 1.0 flow-mod adding `m` with `actions` at priority 200 (the generated cases' priority).
pub(crate) fn add10(m: v10::Match, actions: Vec<v10::Action>) -> OfMessage {
    OfMessage::V10(v10::Message::FlowMod(flow10(
        v10::FlowModCommand::Add,
        200,
        m,
        actions,
    )))
}

/// A 1.3 flow-mod adding `fields` with apply-actions `actions` at priority 200.
pub(crate) fn add13(fields: Vec<OxmField>, actions: Vec<v13::Action>) -> OfMessage {
    OfMessage::V13(v13::Message::FlowMod(flow13(
        v13::FlowModCommand::Add,
        200,
        fields,
        apply(actions),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packet_in_data_is_the_frame_or_its_default_miss_length() {
        let frame: Vec<u8> = (0..200u8).collect();
        let miss = Some(DEFAULT_MISS_SEND_LEN);
        assert!(carries(&frame, &frame, None));
        assert!(carries(&frame[..128], &frame, miss));
        assert!(
            !carries(&frame[..128], &frame, None),
            "cut where the whole frame is due"
        );
        assert!(
            !carries(&frame[..100], &frame, miss),
            "cut shorter than the miss length"
        );
        assert!(!carries(&[], &frame, miss));
        let mut other = frame.clone();
        other[20] ^= 1;
        assert!(!carries(&other, &frame, None));
        let short: Vec<u8> = (1..=50u8).collect();
        let mut padded = short.clone();
        padded.resize(60, 0);
        assert!(carries(&padded, &short, None), "padding after a short frame");
        assert!(carries(&short, &short, None));
    }
}
