//! 1.3 multipart requests and replies (`OFPT_MULTIPART_REQUEST` / `OFPT_MULTIPART_REPLY`).

use serde::{Deserialize, Serialize};

use super::group::{GroupDesc, GroupFeatures, GroupStats};
use super::instruction::Instruction;
use super::meter::{MeterConfig, MeterFeatures, MeterStats};
use super::oxm::Match;
use super::port::Port;
use super::table_features::TableFeatures;
use crate::common::DescStats;
use crate::error::DecodeError;
use crate::types::hex_bytes;
use crate::wire::{Reader, Writer};

/// `OFPMP_*` multipart types.
pub mod multipart_type {
    /// Switch description.
    pub const DESC: u16 = 0;
    /// Individual flows.
    pub const FLOW: u16 = 1;
    /// Aggregate of flows.
    pub const AGGREGATE: u16 = 2;
    /// Flow tables.
    pub const TABLE: u16 = 3;
    /// Port statistics.
    pub const PORT_STATS: u16 = 4;
    /// Queue statistics.
    pub const QUEUE: u16 = 5;
    /// Group statistics.
    pub const GROUP: u16 = 6;
    /// Group descriptions.
    pub const GROUP_DESC: u16 = 7;
    /// Group features.
    pub const GROUP_FEATURES: u16 = 8;
    /// Meter statistics.
    pub const METER: u16 = 9;
    /// Meter configuration.
    pub const METER_CONFIG: u16 = 10;
    /// Meter features.
    pub const METER_FEATURES: u16 = 11;
    /// Table features.
    pub const TABLE_FEATURES: u16 = 12;
    /// Port descriptions.
    pub const PORT_DESC: u16 = 13;
    /// Experimenter.
    pub const EXPERIMENTER: u16 = 0xffff;
}

/// `OFPMPF_REQ_MORE` / `OFPMPF_REPLY_MORE`: more parts follow.
pub const MULTIPART_MORE: u16 = 1;

/// `OFPT_MULTIPART_REQUEST`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct MultipartRequest {
    /// `OFPMPF_REQ_*` flags.
    pub flags: u16,
    /// Type and body.
    pub body: MultipartRequestBody,
}

/// Body of a multipart request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum MultipartRequestBody {
    /// `OFPMP_DESC` (no body).
    Desc,
    /// `OFPMP_FLOW`.
    Flow(FlowStatsRequest),
    /// `OFPMP_AGGREGATE`.
    Aggregate(FlowStatsRequest),
    /// `OFPMP_TABLE` (no body).
    Table,
    /// `OFPMP_PORT_STATS`.
    PortStats {
        /// Port, or `OFPP_ANY`.
        port_no: u32,
    },
    /// `OFPMP_QUEUE`.
    Queue {
        /// Port, or `OFPP_ANY`.
        port_no: u32,
        /// Queue, or `OFPQ_ALL`.
        queue_id: u32,
    },
    /// `OFPMP_GROUP`.
    Group {
        /// Group, or `OFPG_ALL`.
        group_id: u32,
    },
    /// `OFPMP_GROUP_DESC` (no body).
    GroupDesc,
    /// `OFPMP_GROUP_FEATURES` (no body).
    GroupFeatures,
    /// `OFPMP_METER`.
    Meter {
        /// Meter, or `OFPM_ALL`.
        meter_id: u32,
    },
    /// `OFPMP_METER_CONFIG`.
    MeterConfig {
        /// Meter, or `OFPM_ALL`.
        meter_id: u32,
    },
    /// `OFPMP_METER_FEATURES` (no body).
    MeterFeatures,
    /// `OFPMP_TABLE_FEATURES`: empty to query, or the tables to set.
    TableFeatures(Vec<TableFeatures>),
    /// `OFPMP_PORT_DESC` (no body).
    PortDesc,
    /// `OFPMP_EXPERIMENTER`.
    Experimenter {
        /// Experimenter id.
        experimenter: u32,
        /// Experimenter-defined type.
        exp_type: u32,
        /// Body.
        #[serde(with = "hex_bytes")]
        data: Vec<u8>,
    },
    /// A multipart type this crate does not know.
    Unknown {
        /// Multipart type.
        #[cfg_attr(test, proptest(strategy = "14u16..0xffff"))]
        multipart_type: u16,
        /// Raw body.
        #[serde(with = "hex_bytes")]
        data: Vec<u8>,
    },
}

/// `ofp_flow_stats_request` (32 bytes plus match), also the aggregate request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct FlowStatsRequest {
    /// Table, or `OFPTT_ALL` (0xff).
    pub table_id: u8,
    /// Require an output to this port; `OFPP_ANY` for any.
    pub out_port: u32,
    /// Require an output to this group; `OFPG_ANY` for any.
    pub out_group: u32,
    /// Cookie to match.
    pub cookie: u64,
    /// Cookie bits that must match.
    pub cookie_mask: u64,
    /// Fields to match.
    pub match_: Match,
}

impl FlowStatsRequest {
    /// Every flow of every table: any output port and group, no cookie filter, an empty match.
    pub fn all() -> FlowStatsRequest {
        FlowStatsRequest {
            table_id: 0xff,
            out_port: crate::v13::port::port_no::ANY,
            out_group: crate::v13::group::group_id::ANY,
            cookie: 0,
            cookie_mask: 0,
            match_: Match::default(),
        }
    }
}

/// `OFPT_MULTIPART_REPLY`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct MultipartReply {
    /// `OFPMPF_REPLY_MORE` when more parts follow.
    pub flags: u16,
    /// Type and body.
    pub body: MultipartReplyBody,
}

/// Body of a multipart reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum MultipartReplyBody {
    /// `OFPMP_DESC`.
    Desc(DescStats),
    /// `OFPMP_FLOW`.
    Flow(Vec<FlowStats>),
    /// `OFPMP_AGGREGATE`.
    Aggregate(AggregateStats),
    /// `OFPMP_TABLE`.
    Table(Vec<TableStats>),
    /// `OFPMP_PORT_STATS`.
    PortStats(Vec<PortStats>),
    /// `OFPMP_QUEUE`.
    Queue(Vec<QueueStats>),
    /// `OFPMP_GROUP`.
    Group(Vec<GroupStats>),
    /// `OFPMP_GROUP_DESC`.
    GroupDesc(Vec<GroupDesc>),
    /// `OFPMP_GROUP_FEATURES`.
    GroupFeatures(GroupFeatures),
    /// `OFPMP_METER`.
    Meter(Vec<MeterStats>),
    /// `OFPMP_METER_CONFIG`.
    MeterConfig(Vec<MeterConfig>),
    /// `OFPMP_METER_FEATURES`.
    MeterFeatures(MeterFeatures),
    /// `OFPMP_TABLE_FEATURES`.
    TableFeatures(Vec<TableFeatures>),
    /// `OFPMP_PORT_DESC`.
    PortDesc(Vec<Port>),
    /// `OFPMP_EXPERIMENTER`.
    Experimenter {
        /// Experimenter id.
        experimenter: u32,
        /// Experimenter-defined type.
        exp_type: u32,
        /// Body.
        #[serde(with = "hex_bytes")]
        data: Vec<u8>,
    },
    /// A multipart type this crate does not know.
    Unknown {
        /// Multipart type.
        #[cfg_attr(test, proptest(strategy = "14u16..0xffff"))]
        multipart_type: u16,
        /// Raw body.
        #[serde(with = "hex_bytes")]
        data: Vec<u8>,
    },
}

/// `ofp_flow_stats` (48 bytes plus match and instructions).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct FlowStats {
    /// Table.
    pub table_id: u8,
    /// Seconds alive.
    pub duration_sec: u32,
    /// Nanoseconds beyond `duration_sec`.
    pub duration_nsec: u32,
    /// Priority.
    pub priority: u16,
    /// Idle timeout.
    pub idle_timeout: u16,
    /// Hard timeout.
    pub hard_timeout: u16,
    /// `OFPFF_*` flags.
    pub flags: u16,
    /// Cookie.
    pub cookie: u64,
    /// Packets.
    pub packet_count: u64,
    /// Bytes.
    pub byte_count: u64,
    /// Match.
    pub match_: Match,
    /// Instructions.
    pub instructions: Vec<Instruction>,
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

/// `ofp_table_stats` (24 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct TableStats {
    /// Table.
    pub table_id: u8,
    /// Active entries.
    pub active_count: u32,
    /// Packets looked up.
    pub lookup_count: u64,
    /// Packets that hit.
    pub matched_count: u64,
}

/// `ofp_port_stats` (112 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct PortStats {
    /// Port.
    pub port_no: u32,
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
    /// Seconds alive.
    pub duration_sec: u32,
    /// Nanoseconds beyond `duration_sec`.
    pub duration_nsec: u32,
}

/// `ofp_queue_stats` (40 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct QueueStats {
    /// Port.
    pub port_no: u32,
    /// Queue.
    pub queue_id: u32,
    /// Bytes sent.
    pub tx_bytes: u64,
    /// Packets sent.
    pub tx_packets: u64,
    /// Packets dropped for overrun.
    pub tx_errors: u64,
    /// Seconds alive.
    pub duration_sec: u32,
    /// Nanoseconds beyond `duration_sec`.
    pub duration_nsec: u32,
}

fn fixed_list<T>(
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
        let table_id = r.u8()?;
        r.skip(3)?;
        let out_port = r.u32()?;
        let out_group = r.u32()?;
        r.skip(4)?;
        Ok(FlowStatsRequest {
            table_id,
            out_port,
            out_group,
            cookie: r.u64()?,
            cookie_mask: r.u64()?,
            match_: Match::decode(r)?,
        })
    }

    fn encode(&self, w: &mut Writer) {
        w.u8(self.table_id);
        w.zeros(3);
        w.u32(self.out_port);
        w.u32(self.out_group);
        w.zeros(4);
        w.u64(self.cookie);
        w.u64(self.cookie_mask);
        self.match_.encode(w);
    }
}

impl MultipartRequest {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        use multipart_type::*;
        let ty = r.u16()?;
        let flags = r.u16()?;
        r.skip(4)?;
        let body = match ty {
            DESC => MultipartRequestBody::Desc,
            FLOW => MultipartRequestBody::Flow(FlowStatsRequest::decode(r)?),
            AGGREGATE => MultipartRequestBody::Aggregate(FlowStatsRequest::decode(r)?),
            TABLE => MultipartRequestBody::Table,
            PORT_STATS => {
                let port_no = r.u32()?;
                r.skip(4)?;
                MultipartRequestBody::PortStats { port_no }
            }
            QUEUE => MultipartRequestBody::Queue {
                port_no: r.u32()?,
                queue_id: r.u32()?,
            },
            GROUP => {
                let group_id = r.u32()?;
                r.skip(4)?;
                MultipartRequestBody::Group { group_id }
            }
            GROUP_DESC => MultipartRequestBody::GroupDesc,
            GROUP_FEATURES => MultipartRequestBody::GroupFeatures,
            METER | METER_CONFIG => {
                let meter_id = r.u32()?;
                r.skip(4)?;
                if ty == METER {
                    MultipartRequestBody::Meter { meter_id }
                } else {
                    MultipartRequestBody::MeterConfig { meter_id }
                }
            }
            METER_FEATURES => MultipartRequestBody::MeterFeatures,
            TABLE_FEATURES => MultipartRequestBody::TableFeatures(TableFeatures::decode_list(r)?),
            PORT_DESC => MultipartRequestBody::PortDesc,
            EXPERIMENTER => MultipartRequestBody::Experimenter {
                experimenter: r.u32()?,
                exp_type: r.u32()?,
                data: r.rest().to_vec(),
            },
            _ => MultipartRequestBody::Unknown {
                multipart_type: ty,
                data: r.rest().to_vec(),
            },
        };
        r.finish()?;
        Ok(MultipartRequest { flags, body })
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        use multipart_type::*;
        use MultipartRequestBody as B;
        let ty = match &self.body {
            B::Desc => DESC,
            B::Flow(_) => FLOW,
            B::Aggregate(_) => AGGREGATE,
            B::Table => TABLE,
            B::PortStats { .. } => PORT_STATS,
            B::Queue { .. } => QUEUE,
            B::Group { .. } => GROUP,
            B::GroupDesc => GROUP_DESC,
            B::GroupFeatures => GROUP_FEATURES,
            B::Meter { .. } => METER,
            B::MeterConfig { .. } => METER_CONFIG,
            B::MeterFeatures => METER_FEATURES,
            B::TableFeatures(_) => TABLE_FEATURES,
            B::PortDesc => PORT_DESC,
            B::Experimenter { .. } => EXPERIMENTER,
            B::Unknown { multipart_type, .. } => *multipart_type,
        };
        w.u16(ty);
        w.u16(self.flags);
        w.zeros(4);
        match &self.body {
            B::Desc | B::Table | B::GroupDesc | B::GroupFeatures | B::MeterFeatures | B::PortDesc => {}
            B::Flow(f) | B::Aggregate(f) => f.encode(w),
            B::PortStats { port_no: v } | B::Group { group_id: v } | B::Meter { meter_id: v } => {
                w.u32(*v);
                w.zeros(4);
            }
            B::MeterConfig { meter_id } => {
                w.u32(*meter_id);
                w.zeros(4);
            }
            B::Queue { port_no, queue_id } => {
                w.u32(*port_no);
                w.u32(*queue_id);
            }
            B::TableFeatures(t) => t.iter().for_each(|t| t.encode(w)),
            B::Experimenter {
                experimenter,
                exp_type,
                data,
            } => {
                w.u32(*experimenter);
                w.u32(*exp_type);
                w.bytes(data);
            }
            B::Unknown { data, .. } => w.bytes(data),
        }
    }
}

impl FlowStats {
    fn decode_list(r: &mut Reader<'_>) -> Result<Vec<FlowStats>, DecodeError> {
        let mut out = Vec::new();
        while !r.is_empty() {
            let len = usize::from(r.u16()?);
            if len < 56 {
                return Err(DecodeError::BadLength {
                    what: "flow stats",
                    length: len,
                });
            }
            let mut b = r.sub(len - 2, "flow stats")?;
            let table_id = b.u8()?;
            b.skip(1)?;
            let duration_sec = b.u32()?;
            let duration_nsec = b.u32()?;
            let priority = b.u16()?;
            let idle_timeout = b.u16()?;
            let hard_timeout = b.u16()?;
            let flags = b.u16()?;
            b.skip(4)?;
            out.push(FlowStats {
                table_id,
                duration_sec,
                duration_nsec,
                priority,
                idle_timeout,
                hard_timeout,
                flags,
                cookie: b.u64()?,
                packet_count: b.u64()?,
                byte_count: b.u64()?,
                match_: Match::decode(&mut b)?,
                instructions: Instruction::decode_list(&mut b)?,
            });
        }
        Ok(out)
    }

    fn encode(&self, w: &mut Writer) {
        let start = w.len();
        let at = w.placeholder16();
        w.u8(self.table_id);
        w.zeros(1);
        w.u32(self.duration_sec);
        w.u32(self.duration_nsec);
        w.u16(self.priority);
        w.u16(self.idle_timeout);
        w.u16(self.hard_timeout);
        w.u16(self.flags);
        w.zeros(4);
        w.u64(self.cookie);
        w.u64(self.packet_count);
        w.u64(self.byte_count);
        self.match_.encode(w);
        Instruction::encode_list(&self.instructions, w);
        w.patch_len16(at, start, "flow stats");
    }
}

impl MultipartReply {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        use multipart_type::*;
        use MultipartReplyBody as B;
        let ty = r.u16()?;
        let flags = r.u16()?;
        r.skip(4)?;
        let body = match ty {
            DESC => B::Desc(DescStats::decode(r)?),
            FLOW => B::Flow(FlowStats::decode_list(r)?),
            AGGREGATE => {
                let a = AggregateStats {
                    packet_count: r.u64()?,
                    byte_count: r.u64()?,
                    flow_count: r.u32()?,
                };
                r.skip(4)?;
                B::Aggregate(a)
            }
            TABLE => B::Table(fixed_list(r, 24, "table stats", |b| {
                let table_id = b.u8()?;
                b.skip(3)?;
                Ok(TableStats {
                    table_id,
                    active_count: b.u32()?,
                    lookup_count: b.u64()?,
                    matched_count: b.u64()?,
                })
            })?),
            PORT_STATS => B::PortStats(fixed_list(r, 112, "port stats", |b| {
                let port_no = b.u32()?;
                b.skip(4)?;
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
                    duration_sec: b.u32()?,
                    duration_nsec: b.u32()?,
                })
            })?),
            QUEUE => B::Queue(fixed_list(r, 40, "queue stats", |b| {
                Ok(QueueStats {
                    port_no: b.u32()?,
                    queue_id: b.u32()?,
                    tx_bytes: b.u64()?,
                    tx_packets: b.u64()?,
                    tx_errors: b.u64()?,
                    duration_sec: b.u32()?,
                    duration_nsec: b.u32()?,
                })
            })?),
            GROUP => B::Group(GroupStats::decode_list(r)?),
            GROUP_DESC => B::GroupDesc(GroupDesc::decode_list(r)?),
            GROUP_FEATURES => B::GroupFeatures(GroupFeatures::decode(r)?),
            METER => B::Meter(MeterStats::decode_list(r)?),
            METER_CONFIG => B::MeterConfig(MeterConfig::decode_list(r)?),
            METER_FEATURES => B::MeterFeatures(MeterFeatures::decode(r)?),
            TABLE_FEATURES => B::TableFeatures(TableFeatures::decode_list(r)?),
            PORT_DESC => B::PortDesc(Port::decode_list(r)?),
            EXPERIMENTER => B::Experimenter {
                experimenter: r.u32()?,
                exp_type: r.u32()?,
                data: r.rest().to_vec(),
            },
            _ => B::Unknown {
                multipart_type: ty,
                data: r.rest().to_vec(),
            },
        };
        r.finish()?;
        Ok(MultipartReply { flags, body })
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        use multipart_type::*;
        use MultipartReplyBody as B;
        let ty = match &self.body {
            B::Desc(_) => DESC,
            B::Flow(_) => FLOW,
            B::Aggregate(_) => AGGREGATE,
            B::Table(_) => TABLE,
            B::PortStats(_) => PORT_STATS,
            B::Queue(_) => QUEUE,
            B::Group(_) => GROUP,
            B::GroupDesc(_) => GROUP_DESC,
            B::GroupFeatures(_) => GROUP_FEATURES,
            B::Meter(_) => METER,
            B::MeterConfig(_) => METER_CONFIG,
            B::MeterFeatures(_) => METER_FEATURES,
            B::TableFeatures(_) => TABLE_FEATURES,
            B::PortDesc(_) => PORT_DESC,
            B::Experimenter { .. } => EXPERIMENTER,
            B::Unknown { multipart_type, .. } => *multipart_type,
        };
        w.u16(ty);
        w.u16(self.flags);
        w.zeros(4);
        match &self.body {
            B::Desc(d) => d.encode(w),
            B::Flow(v) => v.iter().for_each(|f| f.encode(w)),
            B::Aggregate(a) => {
                w.u64(a.packet_count);
                w.u64(a.byte_count);
                w.u32(a.flow_count);
                w.zeros(4);
            }
            B::Table(v) => {
                for t in v {
                    w.u8(t.table_id);
                    w.zeros(3);
                    w.u32(t.active_count);
                    w.u64(t.lookup_count);
                    w.u64(t.matched_count);
                }
            }
            B::PortStats(v) => {
                for p in v {
                    w.u32(p.port_no);
                    w.zeros(4);
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
                    w.u32(p.duration_sec);
                    w.u32(p.duration_nsec);
                }
            }
            B::Queue(v) => {
                for q in v {
                    w.u32(q.port_no);
                    w.u32(q.queue_id);
                    w.u64(q.tx_bytes);
                    w.u64(q.tx_packets);
                    w.u64(q.tx_errors);
                    w.u32(q.duration_sec);
                    w.u32(q.duration_nsec);
                }
            }
            B::Group(v) => v.iter().for_each(|g| g.encode(w)),
            B::GroupDesc(v) => v.iter().for_each(|g| g.encode(w)),
            B::GroupFeatures(f) => f.encode(w),
            B::Meter(v) => v.iter().for_each(|m| m.encode(w)),
            B::MeterConfig(v) => v.iter().for_each(|m| m.encode(w)),
            B::MeterFeatures(f) => f.encode(w),
            B::TableFeatures(v) => v.iter().for_each(|t| t.encode(w)),
            B::PortDesc(v) => v.iter().for_each(|p| p.encode(w)),
            B::Experimenter {
                experimenter,
                exp_type,
                data,
            } => {
                w.u32(*experimenter);
                w.u32(*exp_type);
                w.bytes(data);
            }
            B::Unknown { data, .. } => w.bytes(data),
        }
    }
}
