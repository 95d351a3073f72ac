//! The meter family (1.3 §5.7): a drop band limits the frames a flow forwards, in packets or kilobits per
//! second, with and without a burst size, on IPv4, IPv6 and ARP frames, as the Ryu switch tester runs its
//! meter tests; and the meter's statistics count what came in and what the band dropped.
//!
//! Each case sends a train of frames far above the band's rate into a flow metered by it and counts the
//! frames that leave the flow's port: some must pass (the bucket lets the first ones through), far fewer
//! than were sent may (half; three quarters with a burst), and with a burst size at least half the burst must pass;
//! the meter statistics must count the whole train as input and the dropped frames in the band.

use std::time::Duration;

use super::codes::{BAD_INSTRUCTION, METER_MOD_FAILED};
use super::fields::Carrier;
use super::pipeline::flow_to_meter;
use super::steps::{fail, mp13, unsupported};
use super::{Body, Case, CaseError, Context};
use crate::dataplane::DataPlaneError;
use crate::{v13, OfMessage, OFP13_VERSION};

/// `OFPMF_KBPS`: the rate is in kilobits per second.
const KBPS: u16 = 1;
/// `OFPMF_PKTPS`: the rate is in packets per second.
const PKTPS: u16 = 2;
/// `OFPMF_BURST`: the band's burst size is used.
const BURST: u16 = 4;
/// `OFPMF_STATS`: the meter keeps statistics.
const STATS: u16 = 8;
/// The meter the cases install.
const METER_ID: u32 = 5;
/// Frames in the train.
const TRAIN: usize = 400;
/// Frames sent back to back before a short pause, so the switch's receive queue does not overflow (a
/// frame lost there would look like one the band dropped).
const BATCH: usize = 25;
const PAUSE: Duration = Duration::from_millis(1);
/// How long the egress port is read after the last frame.
const DRAIN: Duration = Duration::from_millis(150);

/// The unit of the band's rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unit {
    /// Kilobits per second (`OFPMF_KBPS`).
    Kbps,
    /// Packets per second (`OFPMF_PKTPS`).
    Pktps,
}

/// One meter case: a drop band in `unit`, with a burst size or not, on the frames of `carrier`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MeterCase {
    /// The unit of the band's rate.
    pub(crate) unit: Unit,
    /// Whether the meter has `OFPMF_BURST` and a burst size.
    pub(crate) burst: bool,
    /// The frames of the train.
    pub(crate) carrier: Carrier,
}

impl MeterCase {
    /// The band's rate: 10 packets/s, or 50 kbit/s (about 80 probes of 80 bytes a second).
    fn rate(self) -> u32 {
        match self.unit {
            Unit::Pktps => 10,
            Unit::Kbps => 50,
        }
    }

    /// The burst size with `OFPMF_BURST`: 100 packets, or 100 kilobits.
    fn burst_size(self) -> u32 {
        if self.burst {
            100
        } else {
            0
        }
    }

    fn name(self) -> String {
        let unit = match self.unit {
            Unit::Pktps => "pktps",
            Unit::Kbps => "kbps",
        };
        let burst = if self.burst { "_burst" } else { "" };
        format!("meter.drop_{unit}{burst}.{}", self.carrier.name())
    }

    fn title(self) -> String {
        let rate = match self.unit {
            Unit::Pktps => format!("{} packets/s", self.rate()),
            Unit::Kbps => format!("{} kbit/s", self.rate()),
        };
        let burst = if self.burst {
            match self.unit {
                Unit::Pktps => format!(" with a burst of {} packets", self.burst_size()),
                Unit::Kbps => format!(" with a burst of {} kbit", self.burst_size()),
            }
        } else {
            String::new()
        };
        format!(
            "A drop band of {rate}{burst} lets through only part of a train of {TRAIN} {} frames, and the \
             meter statistics count them",
            self.carrier.label()
        )
    }

    /// How many frames of the train may leave at most, and must at least.
    fn bounds(self, frame_len: usize) -> (usize, usize) {
        let at_least = if self.burst {
            let burst_frames = match self.unit {
                Unit::Pktps => self.burst_size() as usize,
                Unit::Kbps => self.burst_size() as usize * 1000 / (frame_len * 8),
            };
            (burst_frames / 2).max(1)
        } else {
            1
        };
        // Far fewer than the train: half of it, or three quarters with a burst (a switch may fill its
        // bucket with the burst and the rate, as some token buckets do: 100 + 50 kbit is about 240 probes).
        let at_most = if self.burst { TRAIN * 3 / 4 } else { TRAIN / 2 };
        (at_least, at_most)
    }
}

/// The carriers the meter cases run on: IPv4, IPv6 and ARP (the Ryu tester's three packet types).
const CARRIERS: &[Carrier] = &[Carrier::Udp, Carrier::Udp6, Carrier::Arp];

/// The meter cases of `version` (none for 1.0, which has no meters).
pub(super) fn cases(version: u8, prefix: &str) -> Vec<Case> {
    if version != OFP13_VERSION {
        return Vec::new();
    }
    let mut out = Vec::new();
    for unit in [Unit::Pktps, Unit::Kbps] {
        for burst in [false, true] {
            for carrier in CARRIERS {
                let m = MeterCase {
                    unit,
                    burst,
                    carrier: *carrier,
                };
                out.push(Case {
                    id: format!("{prefix}.{}", m.name()),
                    group: "meters",
                    title: m.title(),
                    section: "§5.7, §7.3.4.4, §7.3.5.12",
                    ts026: None,
                    required: false,
                    version,
                    body: Body::Meter(m),
                });
            }
        }
    }
    out
}

/// Runs one meter case.
pub(super) async fn run(m: MeterCase, ctx: &Context<'_>) -> Result<(), CaseError> {
    let (p1, p2) = (ctx.port(0), ctx.port(1));
    let flags = match m.unit {
        Unit::Kbps => KBPS,
        Unit::Pktps => PKTPS,
    } | if m.burst { BURST } else { 0 }
        | STATS;
    let meter = OfMessage::V13(v13::Message::MeterMod(v13::MeterMod {
        command: v13::MeterModCommand::Add,
        flags,
        meter_id: METER_ID,
        bands: vec![v13::MeterBand::Drop {
            rate: m.rate(),
            burst_size: m.burst_size(),
        }],
    }));
    ctx.program_ok(
        &[meter, flow_to_meter(p1, p2, METER_ID)],
        &[METER_MOD_FAILED, BAD_INSTRUCTION],
    )
    .await?;
    let probe = m
        .carrier
        .plain()
        .ok_or_else(|| CaseError::Unknown(format!("meter case on {}", m.carrier.name())))?
        .build();
    let dp = ctx.dataplane;
    let passed = tokio::task::block_in_place(|| {
        dp.drain();
        let is_probe = |f: &[u8]| f.starts_with(&probe) || probe.starts_with(f);
        let mut passed = 0;
        // The egress port is read after each batch, so its socket buffer never holds the whole train.
        for chunk in 0..TRAIN.div_ceil(BATCH) {
            for _ in 0..BATCH.min(TRAIN - chunk * BATCH) {
                dp.send(p1, &probe)?;
            }
            std::thread::sleep(PAUSE);
            while let Some(f) = dp.recv(p2, Duration::ZERO)? {
                passed += usize::from(is_probe(&f));
            }
        }
        while let Some(f) = dp.recv(p2, DRAIN)? {
            passed += usize::from(is_probe(&f));
        }
        Ok::<usize, DataPlaneError>(passed)
    })?;
    let (at_least, at_most) = m.bounds(probe.len());
    if passed < at_least {
        return Err(fail(format!(
            "{passed} of {TRAIN} frames left port {p2}, expected at least {at_least}"
        )));
    }
    if passed > at_most {
        return Err(fail(format!(
            "{passed} of {TRAIN} frames left port {p2}: the band dropped too few (at most {at_most} expected)"
        )));
    }
    meter_counts(ctx, passed).await
}

/// The meter statistics: every frame of the train counted as input, and the dropped ones in the band.
async fn meter_counts(ctx: &Context<'_>, passed: usize) -> Result<(), CaseError> {
    let req = mp13(v13::MultipartRequestBody::Meter { meter_id: METER_ID });
    let dropped = (TRAIN - passed) as u64;
    let deadline = tokio::time::Instant::now() + ctx.timeout;
    loop {
        let mut seen = None;
        for part in ctx.stats(&req, &[]).await? {
            if let OfMessage::V13(v13::Message::MultipartReply(v13::MultipartReply {
                body: v13::MultipartReplyBody::Meter(stats),
                ..
            })) = part
            {
                if let Some(s) = stats.iter().find(|s| s.meter_id == METER_ID) {
                    let band: u64 = s.band_stats.iter().map(|b| b.packet_band_count).sum();
                    seen = Some((s.packet_in_count, band));
                }
            }
        }
        let Some((input, band)) = seen else {
            return Err(unsupported("the meter statistics do not list the meter"));
        };
        // Counters may lag the data path. Other frames the flow takes (background traffic from the host
        // side of the port) count too; a frame may also pass the band and be lost later, so the band may
        // hold fewer than the harness saw missing, never more.
        let extra = input.saturating_sub(TRAIN as u64);
        if input >= TRAIN as u64 && band > 0 && band <= dropped + extra {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(fail(format!(
                "meter statistics: {input} packets in (sent {TRAIN}), {band} in the drop band (the harness saw \
                 {dropped} dropped)"
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
