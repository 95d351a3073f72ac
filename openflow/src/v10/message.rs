//! The 1.0 messages and the [`Message`] enum over every 1.0 message type.

use serde::{Deserialize, Serialize};

use super::action::Action;
use super::error_msg::{ErrorKind, ErrorMsg};
use super::match_::Match;
use super::port::PhyPort;
use super::stats::{StatsReply, StatsRequest};
use crate::common::{Echo, QueueProperty, SwitchConfig};
use crate::error::DecodeError;
use crate::hello::Hello;
use crate::types::{hex_bytes, MacAddr};
use crate::wire::{Reader, Writer};

/// `OFPT_*` message type values of 1.0.
pub mod msg_type {
    /// Hello.
    pub const HELLO: u8 = 0;
    /// Error.
    pub const ERROR: u8 = 1;
    /// Echo request.
    pub const ECHO_REQUEST: u8 = 2;
    /// Echo reply.
    pub const ECHO_REPLY: u8 = 3;
    /// Vendor.
    pub const VENDOR: u8 = 4;
    /// Features request.
    pub const FEATURES_REQUEST: u8 = 5;
    /// Features reply.
    pub const FEATURES_REPLY: u8 = 6;
    /// Get-config request.
    pub const GET_CONFIG_REQUEST: u8 = 7;
    /// Get-config reply.
    pub const GET_CONFIG_REPLY: u8 = 8;
    /// Set-config.
    pub const SET_CONFIG: u8 = 9;
    /// Packet-in.
    pub const PACKET_IN: u8 = 10;
    /// Flow removed.
    pub const FLOW_REMOVED: u8 = 11;
    /// Port status.
    pub const PORT_STATUS: u8 = 12;
    /// Packet-out.
    pub const PACKET_OUT: u8 = 13;
    /// Flow mod.
    pub const FLOW_MOD: u8 = 14;
    /// Port mod.
    pub const PORT_MOD: u8 = 15;
    /// Stats request.
    pub const STATS_REQUEST: u8 = 16;
    /// Stats reply.
    pub const STATS_REPLY: u8 = 17;
    /// Barrier request.
    pub const BARRIER_REQUEST: u8 = 18;
    /// Barrier reply.
    pub const BARRIER_REPLY: u8 = 19;
    /// Queue get-config request.
    pub const QUEUE_GET_CONFIG_REQUEST: u8 = 20;
    /// Queue get-config reply.
    pub const QUEUE_GET_CONFIG_REPLY: u8 = 21;
}

/// Every 1.0 message, by type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum Message {
    /// `OFPT_HELLO`.
    Hello(Hello),
    /// `OFPT_ERROR`.
    Error(ErrorMsg),
    /// `OFPT_ECHO_REQUEST`.
    EchoRequest(Echo),
    /// `OFPT_ECHO_REPLY`.
    EchoReply(Echo),
    /// `OFPT_VENDOR`.
    Vendor(Vendor),
    /// `OFPT_FEATURES_REQUEST`.
    FeaturesRequest,
    /// `OFPT_FEATURES_REPLY`.
    FeaturesReply(SwitchFeatures),
    /// `OFPT_GET_CONFIG_REQUEST`.
    GetConfigRequest,
    /// `OFPT_GET_CONFIG_REPLY`.
    GetConfigReply(SwitchConfig),
    /// `OFPT_SET_CONFIG`.
    SetConfig(SwitchConfig),
    /// `OFPT_PACKET_IN`.
    PacketIn(PacketIn),
    /// `OFPT_FLOW_REMOVED`.
    FlowRemoved(FlowRemoved),
    /// `OFPT_PORT_STATUS`.
    PortStatus(PortStatus),
    /// `OFPT_PACKET_OUT`.
    PacketOut(PacketOut),
    /// `OFPT_FLOW_MOD`.
    FlowMod(FlowMod),
    /// `OFPT_PORT_MOD`.
    PortMod(PortMod),
    /// `OFPT_STATS_REQUEST`.
    StatsRequest(StatsRequest),
    /// `OFPT_STATS_REPLY`.
    StatsReply(StatsReply),
    /// `OFPT_BARRIER_REQUEST`.
    BarrierRequest,
    /// `OFPT_BARRIER_REPLY`.
    BarrierReply,
    /// `OFPT_QUEUE_GET_CONFIG_REQUEST`.
    QueueGetConfigRequest(QueueGetConfigRequest),
    /// `OFPT_QUEUE_GET_CONFIG_REPLY`.
    QueueGetConfigReply(QueueGetConfigReply),
    /// A message type 1.0 does not define, body kept raw.
    Unknown {
        /// Message type.
        #[cfg_attr(test, proptest(strategy = "22u8.."))]
        msg_type: u8,
        /// Body after the header.
        #[serde(with = "hex_bytes")]
        body: Vec<u8>,
    },
}

/// `OFPT_VENDOR`: vendor id and opaque body.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Vendor {
    /// Vendor id.
    pub vendor: u32,
    /// Body after the vendor id.
    #[serde(with = "hex_bytes")]
    pub data: Vec<u8>,
}

/// `ofp_switch_features` (32 bytes plus ports).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct SwitchFeatures {
    /// Datapath id.
    pub datapath_id: u64,
    /// Packets the switch can buffer.
    pub n_buffers: u32,
    /// Number of tables.
    pub n_tables: u8,
    /// `OFPC_*` capability bits.
    pub capabilities: u32,
    /// Bitmap of supported `OFPAT_*` action types.
    pub actions: u32,
    /// Port descriptions.
    pub ports: Vec<PhyPort>,
}

wire_enum! {
    /// `OFPR_*` reason of a packet-in.
    pub enum PacketInReason: u8 {
        /// No matching flow.
        NoMatch = 0,
        /// Action explicitly output to the controller.
        Action = 1,
    }
}

/// `ofp_packet_in` (18 bytes plus data).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct PacketIn {
    /// Buffer id, or 0xffffffff when not buffered.
    pub buffer_id: u32,
    /// Full length of the frame.
    pub total_len: u16,
    /// Port the frame came in on.
    pub in_port: u16,
    /// Why it is sent.
    pub reason: PacketInReason,
    /// The frame (possibly truncated).
    #[serde(with = "hex_bytes")]
    pub data: Vec<u8>,
}

wire_enum! {
    /// `OFPRR_*` reason a flow was removed.
    pub enum FlowRemovedReason: u8 {
        /// Idle timeout.
        IdleTimeout = 0,
        /// Hard timeout.
        HardTimeout = 1,
        /// Deleted by a flow mod.
        Delete = 2,
    }
}

/// `ofp_flow_removed` (88 bytes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct FlowRemoved {
    /// The flow's match.
    pub match_: Match,
    /// Cookie.
    pub cookie: u64,
    /// Priority.
    pub priority: u16,
    /// Why removed.
    pub reason: FlowRemovedReason,
    /// Seconds alive.
    pub duration_sec: u32,
    /// Nanoseconds beyond `duration_sec`.
    pub duration_nsec: u32,
    /// Idle timeout from the flow mod.
    pub idle_timeout: u16,
    /// Packets.
    pub packet_count: u64,
    /// Bytes.
    pub byte_count: u64,
}

wire_enum! {
    /// `OFPPR_*` reason of a port status.
    pub enum PortReason: u8 {
        /// Port added.
        Add = 0,
        /// Port removed.
        Delete = 1,
        /// Port attribute changed.
        Modify = 2,
    }
}

/// `ofp_port_status` (64 bytes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct PortStatus {
    /// What changed.
    pub reason: PortReason,
    /// The port.
    pub desc: PhyPort,
}

/// `ofp_packet_out` (16 bytes plus actions and data).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct PacketOut {
    /// Buffer id, or 0xffffffff to send `data`.
    pub buffer_id: u32,
    /// Input port for the packet.
    pub in_port: u16,
    /// Actions.
    pub actions: Vec<Action>,
    /// Frame, when not buffered.
    #[serde(with = "hex_bytes")]
    pub data: Vec<u8>,
}

wire_enum! {
    /// `OFPFC_*` flow mod command.
    pub enum FlowModCommand: u16 {
        /// New flow.
        Add = 0,
        /// Modify all matching flows.
        Modify = 1,
        /// Modify the flow matching exactly.
        ModifyStrict = 2,
        /// Delete all matching flows.
        Delete = 3,
        /// Delete the flow matching exactly.
        DeleteStrict = 4,
    }
}

/// `OFPFF_*` flow mod flags (1.0).
pub mod flow_mod_flags {
    /// Send flow removed when the flow expires or is deleted.
    pub const SEND_FLOW_REM: u16 = 1;
    /// Check for overlapping entries first.
    pub const CHECK_OVERLAP: u16 = 2;
    /// Emergency flow cache entry.
    pub const EMERG: u16 = 4;
}

/// `ofp_flow_mod` (72 bytes plus actions).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct FlowMod {
    /// Fields to match.
    pub match_: Match,
    /// Opaque controller cookie.
    pub cookie: u64,
    /// Command.
    pub command: FlowModCommand,
    /// Idle timeout in seconds.
    pub idle_timeout: u16,
    /// Hard timeout in seconds.
    pub hard_timeout: u16,
    /// Priority.
    pub priority: u16,
    /// Buffered packet to apply to, or 0xffffffff.
    pub buffer_id: u32,
    /// For delete: require an output to this port; `OFPP_NONE` for any.
    pub out_port: u16,
    /// `OFPFF_*` flags.
    pub flags: u16,
    /// Actions.
    pub actions: Vec<Action>,
}

/// `ofp_port_mod` (32 bytes).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct PortMod {
    /// Port.
    pub port_no: u16,
    /// Its hardware address (a sanity check).
    pub hw_addr: MacAddr,
    /// `OFPPC_*` bits to set.
    pub config: u32,
    /// Which `config` bits to change.
    pub mask: u32,
    /// Features to advertise; 0 to leave unchanged.
    pub advertise: u32,
}

/// `ofp_queue_get_config_request` (12 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct QueueGetConfigRequest {
    /// Port to query.
    pub port: u16,
}

/// `ofp_queue_get_config_reply` (16 bytes plus queues).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct QueueGetConfigReply {
    /// Port queried.
    pub port: u16,
    /// Its queues.
    pub queues: Vec<PacketQueue>,
}

/// `ofp_packet_queue` (8 bytes plus properties).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct PacketQueue {
    /// Queue id.
    pub queue_id: u32,
    /// Properties.
    pub properties: Vec<QueueProperty>,
}

impl Message {
    /// The `OFPT_*` message type.
    pub fn msg_type(&self) -> u8 {
        use msg_type::*;
        match self {
            Message::Hello(_) => HELLO,
            Message::Error(_) => ERROR,
            Message::EchoRequest(_) => ECHO_REQUEST,
            Message::EchoReply(_) => ECHO_REPLY,
            Message::Vendor(_) => VENDOR,
            Message::FeaturesRequest => FEATURES_REQUEST,
            Message::FeaturesReply(_) => FEATURES_REPLY,
            Message::GetConfigRequest => GET_CONFIG_REQUEST,
            Message::GetConfigReply(_) => GET_CONFIG_REPLY,
            Message::SetConfig(_) => SET_CONFIG,
            Message::PacketIn(_) => PACKET_IN,
            Message::FlowRemoved(_) => FLOW_REMOVED,
            Message::PortStatus(_) => PORT_STATUS,
            Message::PacketOut(_) => PACKET_OUT,
            Message::FlowMod(_) => FLOW_MOD,
            Message::PortMod(_) => PORT_MOD,
            Message::StatsRequest(_) => STATS_REQUEST,
            Message::StatsReply(_) => STATS_REPLY,
            Message::BarrierRequest => BARRIER_REQUEST,
            Message::BarrierReply => BARRIER_REPLY,
            Message::QueueGetConfigRequest(_) => QUEUE_GET_CONFIG_REQUEST,
            Message::QueueGetConfigReply(_) => QUEUE_GET_CONFIG_REPLY,
            Message::Unknown { msg_type, .. } => *msg_type,
        }
    }

    /// Decodes the body (everything after the 8-byte header) of a message of type `ty`.
    pub fn decode_body(ty: u8, body: &[u8]) -> Result<Message, DecodeError> {
        use msg_type::*;
        let mut r = Reader::new(body, "1.0 message body");
        let r = &mut r;
        let m = match ty {
            HELLO => Message::Hello(Hello::decode(r)?),
            ERROR => {
                let t = r.u16()?;
                let c = r.u16()?;
                Message::Error(ErrorMsg {
                    kind: ErrorKind::from_wire(t, c),
                    data: r.rest_vec(),
                })
            }
            ECHO_REQUEST => Message::EchoRequest(Echo { data: r.rest_vec() }),
            ECHO_REPLY => Message::EchoReply(Echo { data: r.rest_vec() }),
            VENDOR => Message::Vendor(Vendor {
                vendor: r.u32()?,
                data: r.rest_vec(),
            }),
            FEATURES_REQUEST => Message::FeaturesRequest,
            FEATURES_REPLY => {
                let datapath_id = r.u64()?;
                let n_buffers = r.u32()?;
                let n_tables = r.u8()?;
                r.skip(3)?;
                let capabilities = r.u32()?;
                let actions = r.u32()?;
                let mut ports = Vec::new();
                while !r.is_empty() {
                    ports.push(PhyPort::decode(&mut r.sub(PhyPort::LEN, "phy port")?)?);
                }
                Message::FeaturesReply(SwitchFeatures {
                    datapath_id,
                    n_buffers,
                    n_tables,
                    capabilities,
                    actions,
                    ports,
                })
            }
            GET_CONFIG_REQUEST => Message::GetConfigRequest,
            GET_CONFIG_REPLY => Message::GetConfigReply(SwitchConfig::decode(r)?),
            SET_CONFIG => Message::SetConfig(SwitchConfig::decode(r)?),
            PACKET_IN => {
                let buffer_id = r.u32()?;
                let total_len = r.u16()?;
                let in_port = r.u16()?;
                let reason = PacketInReason::from_wire(r.u8()?);
                r.skip(1)?;
                Message::PacketIn(PacketIn {
                    buffer_id,
                    total_len,
                    in_port,
                    reason,
                    data: r.rest_vec(),
                })
            }
            FLOW_REMOVED => {
                let match_ = Match::decode(r)?;
                let cookie = r.u64()?;
                let priority = r.u16()?;
                let reason = FlowRemovedReason::from_wire(r.u8()?);
                r.skip(1)?;
                let duration_sec = r.u32()?;
                let duration_nsec = r.u32()?;
                let idle_timeout = r.u16()?;
                r.skip(2)?;
                Message::FlowRemoved(FlowRemoved {
                    match_,
                    cookie,
                    priority,
                    reason,
                    duration_sec,
                    duration_nsec,
                    idle_timeout,
                    packet_count: r.u64()?,
                    byte_count: r.u64()?,
                })
            }
            PORT_STATUS => {
                let reason = PortReason::from_wire(r.u8()?);
                r.skip(7)?;
                Message::PortStatus(PortStatus {
                    reason,
                    desc: PhyPort::decode(r)?,
                })
            }
            PACKET_OUT => {
                let buffer_id = r.u32()?;
                let in_port = r.u16()?;
                let actions_len = usize::from(r.u16()?);
                let actions = Action::decode_list(&mut r.sub(actions_len, "packet-out actions")?)?;
                Message::PacketOut(PacketOut {
                    buffer_id,
                    in_port,
                    actions,
                    data: r.rest_vec(),
                })
            }
            FLOW_MOD => {
                let match_ = Match::decode(r)?;
                Message::FlowMod(FlowMod {
                    match_,
                    cookie: r.u64()?,
                    command: FlowModCommand::from_wire(r.u16()?),
                    idle_timeout: r.u16()?,
                    hard_timeout: r.u16()?,
                    priority: r.u16()?,
                    buffer_id: r.u32()?,
                    out_port: r.u16()?,
                    flags: r.u16()?,
                    actions: Action::decode_list(r)?,
                })
            }
            PORT_MOD => {
                let pm = PortMod {
                    port_no: r.u16()?,
                    hw_addr: MacAddr::decode(r)?,
                    config: r.u32()?,
                    mask: r.u32()?,
                    advertise: r.u32()?,
                };
                r.skip(4)?;
                Message::PortMod(pm)
            }
            STATS_REQUEST => Message::StatsRequest(StatsRequest::decode(r)?),
            STATS_REPLY => Message::StatsReply(StatsReply::decode(r)?),
            BARRIER_REQUEST => Message::BarrierRequest,
            BARRIER_REPLY => Message::BarrierReply,
            QUEUE_GET_CONFIG_REQUEST => {
                let port = r.u16()?;
                r.skip(2)?;
                Message::QueueGetConfigRequest(QueueGetConfigRequest { port })
            }
            QUEUE_GET_CONFIG_REPLY => {
                let port = r.u16()?;
                r.skip(6)?;
                let mut queues = Vec::new();
                while !r.is_empty() {
                    let queue_id = r.u32()?;
                    let len = usize::from(r.u16()?);
                    if len < 8 {
                        return Err(DecodeError::BadLength {
                            what: "packet queue",
                            length: len,
                        });
                    }
                    r.skip(2)?;
                    let properties = QueueProperty::decode_list(&mut r.sub(len - 8, "packet queue")?)?;
                    queues.push(PacketQueue { queue_id, properties });
                }
                Message::QueueGetConfigReply(QueueGetConfigReply { port, queues })
            }
            _ => Message::Unknown {
                msg_type: ty,
                body: r.rest_vec(),
            },
        };
        r.finish()?;
        Ok(m)
    }

    /// Appends the body (everything after the header).
    pub(crate) fn encode_body(&self, w: &mut Writer) {
        match self {
            Message::Hello(h) => h.encode(w),
            Message::Error(e) => {
                let (t, c) = e.kind.to_wire();
                w.u16(t);
                w.u16(c);
                w.bytes(&e.data);
            }
            Message::EchoRequest(e) | Message::EchoReply(e) => w.bytes(&e.data),
            Message::Vendor(v) => {
                w.u32(v.vendor);
                w.bytes(&v.data);
            }
            Message::FeaturesRequest
            | Message::GetConfigRequest
            | Message::BarrierRequest
            | Message::BarrierReply => {}
            Message::FeaturesReply(f) => {
                w.u64(f.datapath_id);
                w.u32(f.n_buffers);
                w.u8(f.n_tables);
                w.zeros(3);
                w.u32(f.capabilities);
                w.u32(f.actions);
                f.ports.iter().for_each(|p| p.encode(w));
            }
            Message::GetConfigReply(c) | Message::SetConfig(c) => c.encode(w),
            Message::PacketIn(p) => {
                w.u32(p.buffer_id);
                w.u16(p.total_len);
                w.u16(p.in_port);
                w.u8(p.reason.to_wire());
                w.zeros(1);
                w.bytes(&p.data);
            }
            Message::FlowRemoved(f) => {
                f.match_.encode(w);
                w.u64(f.cookie);
                w.u16(f.priority);
                w.u8(f.reason.to_wire());
                w.zeros(1);
                w.u32(f.duration_sec);
                w.u32(f.duration_nsec);
                w.u16(f.idle_timeout);
                w.zeros(2);
                w.u64(f.packet_count);
                w.u64(f.byte_count);
            }
            Message::PortStatus(p) => {
                w.u8(p.reason.to_wire());
                w.zeros(7);
                p.desc.encode(w);
            }
            Message::PacketOut(p) => {
                w.u32(p.buffer_id);
                w.u16(p.in_port);
                let at = w.placeholder16();
                let start = w.len();
                Action::encode_list(&p.actions, w);
                w.patch_len16(at, start, "packet-out actions");
                w.bytes(&p.data);
            }
            Message::FlowMod(f) => {
                f.match_.encode(w);
                w.u64(f.cookie);
                w.u16(f.command.to_wire());
                w.u16(f.idle_timeout);
                w.u16(f.hard_timeout);
                w.u16(f.priority);
                w.u32(f.buffer_id);
                w.u16(f.out_port);
                w.u16(f.flags);
                Action::encode_list(&f.actions, w);
            }
            Message::PortMod(p) => {
                w.u16(p.port_no);
                p.hw_addr.encode(w);
                w.u32(p.config);
                w.u32(p.mask);
                w.u32(p.advertise);
                w.zeros(4);
            }
            Message::StatsRequest(s) => s.encode(w),
            Message::StatsReply(s) => s.encode(w),
            Message::QueueGetConfigRequest(q) => {
                w.u16(q.port);
                w.zeros(2);
            }
            Message::QueueGetConfigReply(q) => {
                w.u16(q.port);
                w.zeros(6);
                for queue in &q.queues {
                    let start = w.len();
                    w.u32(queue.queue_id);
                    let at = w.placeholder16();
                    w.zeros(2);
                    queue.properties.iter().for_each(|p| p.encode(w));
                    w.patch_len16(at, start, "packet queue");
                }
            }
            Message::Unknown { body, .. } => w.bytes(body),
        }
    }
}
