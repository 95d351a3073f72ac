//! 1.0 statistics requests and replies (`OFPT_STATS_REQUEST` / `OFPT_STATS_REPLY`).

use serde::{Deserialize, Serialize};

use super::action::Action;
use super::match_::Match;
use crate::common::DescStats;
use crate::error::DecodeError;
use crate::types::{hex_bytes, FixedStr};
use crate::wire::{Reader, Writer};

/// `OFPST_*` stats type values.
pub mod stats_type {
    /// Switch description.
    pub const DESC: u16 = 0;
    /// Individual flows.
    pub const FLOW: u16 = 1;
    /// Aggregate of flows.
    pub const AGGREGATE: u16 = 2;
    /// Flow tables.
    pub const TABLE: u16 = 3;
    /// Ports.
    pub const PORT: u16 = 4;
    /// Queues.
    pub const QUEUE: u16 = 5;
    /// Vendor extension.
    pub const VENDOR: u16 = 0xffff;
}

/// `OFPSF_REPLY_MORE`: more replies follow.
pub const STATS_REPLY_MORE: u16 = 1;

/// `OFPT_STATS_REQUEST` (1.0).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct StatsRequest {
    /// Flags (none defined for requests).
    pub flags: u16,
    /// Type and body.
    pub body: StatsRequestBody,
}

/// Body of a 1.0 stats request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum StatsRequestBody {
    /// `OFPST_DESC` (no body).
    Desc,
    /// `OFPST_FLOW`.
    Flow(FlowStatsRequest),
    /// `OFPST_AGGREGATE`.
    Aggregate(FlowStatsRequest),
    /// `OFPST_TABLE` (no body).
    Table,
    /// `OFPST_PORT`.
    Port(PortStatsRequest),
    /// `OFPST_QUEUE`.
    Queue(QueueStatsRequest),
    /// `OFPST_VENDOR`.
    Vendor {
        /// Vendor id.
        vendor: u32,
        /// Body after the vendor id.
        #[serde(with = "hex_bytes")]
        data: Vec<u8>,
    },
    /// A stats type this crate does not know.
    Unknown {
        /// Stats type.
        #[cfg_attr(test, proptest(strategy = "6u16..0xffff"))]
        stats_type: u16,
        /// Raw body.
        #[serde(with = "hex_bytes")]
        data: Vec<u8>,
    },
}

/// `ofp_flow_stats_request` (44 bytes), also the aggregate request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct FlowStatsRequest {
    /// Fields to match.
    pub match_: Match,
    /// Table to read, 0xff for all.
    pub table_id: u8,
    /// Require an output action to this port; `OFPP_NONE` for any.
    pub out_port: u16,
}

/// `ofp_port_stats_request` (8 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct PortStatsRequest {
    /// Port, or `OFPP_NONE` for all.
    pub port_no: u16,
}

/// `ofp_queue_stats_request` (8 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct QueueStatsRequest {
    /// Port, or `OFPP_ALL`.
    pub port_no: u16,
    /// Queue, or `OFPQ_ALL` (0xffffffff).
    pub queue_id: u32,
}

/// `OFPT_STATS_REPLY` (1.0).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct StatsReply {
    /// `OFPSF_REPLY_MORE` when more replies follow.
    pub flags: u16,
    /// Type and body.
    pub body: StatsReplyBody,
}

/// Body of a 1.0 stats reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum StatsReplyBody {
    /// `OFPST_DESC`.
    Desc(DescStats),
    /// `OFPST_FLOW`.
    Flow(Vec<FlowStats>),
    /// `OFPST_AGGREGATE`.
    Aggregate(AggregateStats),
    /// `OFPST_TABLE`.
    Table(Vec<TableStats>),
    /// `OFPST_PORT`.
    Port(Vec<PortStats>),
    /// `OFPST_QUEUE`.
    Queue(Vec<QueueStats>),
    /// `OFPST_VENDOR`.
    Vendor {
        /// Vendor id.
        vendor: u32,
        /// Body after the vendor id.
        #[serde(with = "hex_bytes")]
        data: Vec<u8>,
    },
    /// A stats type this crate does not know.
    Unknown {
        /// Stats type.
        #[cfg_attr(test, proptest(strategy = "6u16..0xffff"))]
        stats_type: u16,
        /// Raw body.
        #[serde(with = "hex_bytes")]
        data: Vec<u8>,
    },
}

/// `ofp_flow_stats` (88 bytes plus actions).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct FlowStats {
    /// Table the flow is in.
    pub table_id: u8,
    /// The flow's match.
    pub match_: Match,
    /// Seconds alive.
    pub duration_sec: u32,
    /// Nanoseconds alive beyond `duration_sec`.
    pub duration_nsec: u32,
    /// Priority.
    pub priority: u16,
    /// Idle timeout.
    pub idle_timeout: u16,
    /// Hard timeout.
    pub hard_timeout: u16,
    /// Cookie.
    pub cookie: u64,
    /// Packets matched.
    pub packet_count: u64,
    /// Bytes matched.
    pub byte_count: u64,
    /// Actions.
    pub actions: Vec<Action>,
}

/// `ofp_aggregate_stats_reply` (24 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct AggregateStats {
    /// Packets.
    pub packet_count: u64,
    /// Bytes.
    pub byte_count: u64,
    /// Flows.
    pub flow_count: u32,
}

/// `ofp_table_stats` (64 bytes).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct TableStats {
    /// Table id.
    pub table_id: u8,
    /// Table name.
    pub name: FixedStr<32>,
    /// `OFPFW_*` wildcards the table supports.
    pub wildcards: u32,
    /// Maximum entries.
    pub max_entries: u32,
    /// Active entries.
    pub active_count: u32,
    /// Packets looked up.
    pub lookup_count: u64,
    /// Packets that hit.
    pub matched_count: u64,
}

/// `ofp_port_stats` (104 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct PortStats {
    /// Port.
    pub port_no: u16,
    /// Packets received.
    pub rx_packets: u64,
    /// Packets sent.
    pub tx_packets: u64,
    /// Bytes received.
    pub rx_bytes: u64,
    /// Bytes sent.
    pub tx_bytes: u64,
    /// Received packets dropped.
    pub rx_dropped: u64,
    /// Sent packets dropped.
    pub tx_dropped: u64,
    /// Receive errors.
    pub rx_errors: u64,
    /// Transmit errors.
    pub tx_errors: u64,
    /// Frame alignment errors.
    pub rx_frame_err: u64,
    /// Overrun errors.
    pub rx_over_err: u64,
    /// CRC errors.
    pub rx_crc_err: u64,
    /// Collisions.
    pub collisions: u64,
}

/// `ofp_queue_stats` (32 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct QueueStats {
    /// Port.
    pub port_no: u16,
    /// Queue.
    pub queue_id: u32,
    /// Bytes sent.
    pub tx_bytes: u64,
    /// Packets sent.
    pub tx_packets: u64,
    /// Packets dropped for overrun.
    pub tx_errors: u64,
}

fn decode_list<T>(
    r: &mut Reader<'_>,
    size: usize,
    what: &'static str,
    f: impl Fn(&mut Reader<'_>) -> Result<T, DecodeError>,
) -> Result<Vec<T>, DecodeError> {
    let mut out = Vec::new();
    while !r.is_empty() {
        let mut e = r.sub(size, what)?;
        out.push(f(&mut e)?);
        e.finish()?;
    }
    Ok(out)
}

impl FlowStatsRequest {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let match_ = Match::decode(r)?;
        let table_id = r.u8()?;
        r.skip(1)?;
        let out_port = r.u16()?;
        r.finish()?;
        Ok(FlowStatsRequest {
            match_,
            table_id,
            out_port,
        })
    }

    fn encode(&self, w: &mut Writer) {
        self.match_.encode(w);
        w.u8(self.table_id);
        w.zeros(1);
        w.u16(self.out_port);
    }
}

impl StatsRequest {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        use stats_type::*;
        let ty = r.u16()?;
        let flags = r.u16()?;
        let body = match ty {
            DESC => StatsRequestBody::Desc,
            FLOW => StatsRequestBody::Flow(FlowStatsRequest::decode(r)?),
            AGGREGATE => StatsRequestBody::Aggregate(FlowStatsRequest::decode(r)?),
            TABLE => StatsRequestBody::Table,
            PORT => {
                let port_no = r.u16()?;
                r.skip(6)?;
                StatsRequestBody::Port(PortStatsRequest { port_no })
            }
            QUEUE => {
                let port_no = r.u16()?;
                r.skip(2)?;
                StatsRequestBody::Queue(QueueStatsRequest {
                    port_no,
                    queue_id: r.u32()?,
                })
            }
            VENDOR => StatsRequestBody::Vendor {
                vendor: r.u32()?,
                data: r.rest_vec(),
            },
            _ => StatsRequestBody::Unknown {
                stats_type: ty,
                data: r.rest_vec(),
            },
        };
        r.finish()?;
        Ok(StatsRequest { flags, body })
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        use stats_type::*;
        let ty = match &self.body {
            StatsRequestBody::Desc => DESC,
            StatsRequestBody::Flow(_) => FLOW,
            StatsRequestBody::Aggregate(_) => AGGREGATE,
            StatsRequestBody::Table => TABLE,
            StatsRequestBody::Port(_) => PORT,
            StatsRequestBody::Queue(_) => QUEUE,
            StatsRequestBody::Vendor { .. } => VENDOR,
            StatsRequestBody::Unknown { stats_type, .. } => *stats_type,
        };
        w.u16(ty);
        w.u16(self.flags);
        match &self.body {
            StatsRequestBody::Desc | StatsRequestBody::Table => {}
            StatsRequestBody::Flow(f) | StatsRequestBody::Aggregate(f) => f.encode(w),
            StatsRequestBody::Port(p) => {
                w.u16(p.port_no);
                w.zeros(6);
            }
            StatsRequestBody::Queue(q) => {
                w.u16(q.port_no);
                w.zeros(2);
                w.u32(q.queue_id);
            }
            StatsRequestBody::Vendor { vendor, data } => {
                w.u32(*vendor);
                w.bytes(data);
            }
            StatsRequestBody::Unknown { data, .. } => w.bytes(data),
        }
    }
}

impl FlowStats {
    /// Size without actions.
    pub const FIXED_LEN: usize = 88;

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let len = usize::from(r.u16()?);
        if len < Self::FIXED_LEN {
            return Err(DecodeError::BadLength {
                what: "flow stats",
                length: len,
            });
        }
        let mut b = r.sub(len - 2, "flow stats")?;
        let table_id = b.u8()?;
        b.skip(1)?;
        let match_ = Match::decode(&mut b)?;
        let duration_sec = b.u32()?;
        let duration_nsec = b.u32()?;
        let priority = b.u16()?;
        let idle_timeout = b.u16()?;
        let hard_timeout = b.u16()?;
        b.skip(6)?;
        let cookie = b.u64()?;
        let packet_count = b.u64()?;
        let byte_count = b.u64()?;
        let actions = Action::decode_list(&mut b)?;
        Ok(FlowStats {
            table_id,
            match_,
            duration_sec,
            duration_nsec,
            priority,
            idle_timeout,
            hard_timeout,
            cookie,
            packet_count,
            byte_count,
            actions,
        })
    }

    fn encode(&self, w: &mut Writer) {
        let start = w.len();
        let at = w.placeholder16();
        w.u8(self.table_id);
        w.zeros(1);
        self.match_.encode(w);
        w.u32(self.duration_sec);
        w.u32(self.duration_nsec);
        w.u16(self.priority);
        w.u16(self.idle_timeout);
        w.u16(self.hard_timeout);
        w.zeros(6);
        w.u64(self.cookie);
        w.u64(self.packet_count);
        w.u64(self.byte_count);
        Action::encode_list(&self.actions, w);
        w.patch_len16(at, start, "flow stats");
    }
}

impl StatsReply {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        use stats_type::*;
        let ty = r.u16()?;
        let flags = r.u16()?;
        let body = match ty {
            DESC => StatsReplyBody::Desc(DescStats::decode(r)?),
            FLOW => {
                let mut v = Vec::new();
                while !r.is_empty() {
                    v.push(FlowStats::decode(r)?);
                }
                StatsReplyBody::Flow(v)
            }
            AGGREGATE => {
                let a = AggregateStats {
                    packet_count: r.u64()?,
                    byte_count: r.u64()?,
                    flow_count: r.u32()?,
                };
                r.skip(4)?;
                StatsReplyBody::Aggregate(a)
            }
            TABLE => StatsReplyBody::Table(decode_list(r, 64, "table stats", |b| {
                let table_id = b.u8()?;
                b.skip(3)?;
                Ok(TableStats {
                    table_id,
                    name: FixedStr::decode(b)?,
                    wildcards: b.u32()?,
                    max_entries: b.u32()?,
                    active_count: b.u32()?,
                    lookup_count: b.u64()?,
                    matched_count: b.u64()?,
                })
            })?),
            PORT => StatsReplyBody::Port(decode_list(r, 104, "port stats", |b| {
                let port_no = b.u16()?;
                b.skip(6)?;
                Ok(PortStats {
                    port_no,
                    rx_packets: b.u64()?,
                    tx_packets: b.u64()?,
                    rx_bytes: b.u64()?,
                    tx_bytes: b.u64()?,
                    rx_dropped: b.u64()?,
                    tx_dropped: b.u64()?,
                    rx_errors: b.u64()?,
                    tx_errors: b.u64()?,
                    rx_frame_err: b.u64()?,
                    rx_over_err: b.u64()?,
                    rx_crc_err: b.u64()?,
                    collisions: b.u64()?,
                })
            })?),
            QUEUE => StatsReplyBody::Queue(decode_list(r, 32, "queue stats", |b| {
                let port_no = b.u16()?;
                b.skip(2)?;
                Ok(QueueStats {
                    port_no,
                    queue_id: b.u32()?,
                    tx_bytes: b.u64()?,
                    tx_packets: b.u64()?,
                    tx_errors: b.u64()?,
                })
            })?),
            VENDOR => StatsReplyBody::Vendor {
                vendor: r.u32()?,
                data: r.rest_vec(),
            },
            _ => StatsReplyBody::Unknown {
                stats_type: ty,
                data: r.rest_vec(),
            },
        };
        r.finish()?;
        Ok(StatsReply { flags, body })
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        use stats_type::*;
        let ty = match &self.body {
            StatsReplyBody::Desc(_) => DESC,
            StatsReplyBody::Flow(_) => FLOW,
            StatsReplyBody::Aggregate(_) => AGGREGATE,
            StatsReplyBody::Table(_) => TABLE,
            StatsReplyBody::Port(_) => PORT,
            StatsReplyBody::Queue(_) => QUEUE,
            StatsReplyBody::Vendor { .. } => VENDOR,
            StatsReplyBody::Unknown { stats_type, .. } => *stats_type,
        };
        w.u16(ty);
        w.u16(self.flags);
        match &self.body {
            StatsReplyBody::Desc(d) => d.encode(w),
            StatsReplyBody::Flow(v) => v.iter().for_each(|f| f.encode(w)),
            StatsReplyBody::Aggregate(a) => {
                w.u64(a.packet_count);
                w.u64(a.byte_count);
                w.u32(a.flow_count);
                w.zeros(4);
            }
            StatsReplyBody::Table(v) => {
                for t in v {
                    w.u8(t.table_id);
                    w.zeros(3);
                    t.name.encode(w);
                    w.u32(t.wildcards);
                    w.u32(t.max_entries);
                    w.u32(t.active_count);
                    w.u64(t.lookup_count);
                    w.u64(t.matched_count);
                }
            }
            StatsReplyBody::Port(v) => {
                for p in v {
                    w.u16(p.port_no);
                    w.zeros(6);
                    for c in [
                        p.rx_packets,
                        p.tx_packets,
                        p.rx_bytes,
                        p.tx_bytes,
                        p.rx_dropped,
                        p.tx_dropped,
                        p.rx_errors,
                        p.tx_errors,
                        p.rx_frame_err,
                        p.rx_over_err,
                        p.rx_crc_err,
                        p.collisions,
                    ] {
                        w.u64(c);
                    }
                }
            }
            StatsReplyBody::Queue(v) => {
                for q in v {
                    w.u16(q.port_no);
                    w.zeros(2);
                    w.u32(q.queue_id);
                    w.u64(q.tx_bytes);
                    w.u64(q.tx_packets);
                    w.u64(q.tx_errors);
                }
            }
            StatsReplyBody::Vendor { vendor, data } => {
                w.u32(*vendor);
                w.bytes(data);
            }
            StatsReplyBody::Unknown { data, .. } => w.bytes(data),
        }
    }
}
