//! The 1.3 messages and the [`Message`] enum over every 1.3 message type.

use serde::{Deserialize, Serialize};

use super::action::Action;
use super::error_msg::{ErrorKind, ErrorMsg, OFPET_EXPERIMENTER};
use super::group::GroupMod;
use super::instruction::Instruction;
use super::meter::MeterMod;
use super::multipart::{MultipartReply, MultipartRequest};
use super::oxm::Match;
use super::port::{Port, PortMod, PortReason, PortStatus};
use crate::common::{Echo, QueueProperty, SwitchConfig};
use crate::error::DecodeError;
use crate::hello::Hello;
use crate::types::hex_bytes;
use crate::wire::{Reader, Writer};

/// `OFPT_*` message type values of 1.3.
pub mod msg_type {
    /// Hello.
    pub const HELLO: u8 = 0;
    /// Error.
    pub const ERROR: u8 = 1;
    /// Echo request.
    pub const ECHO_REQUEST: u8 = 2;
    /// Echo reply.
    pub const ECHO_REPLY: u8 = 3;
    /// Experimenter.
    pub const EXPERIMENTER: u8 = 4;
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
    /// Group mod.
    pub const GROUP_MOD: u8 = 15;
    /// Port mod.
    pub const PORT_MOD: u8 = 16;
    /// Table mod.
    pub const TABLE_MOD: u8 = 17;
    /// Multipart request.
    pub const MULTIPART_REQUEST: u8 = 18;
    /// Multipart reply.
    pub const MULTIPART_REPLY: u8 = 19;
    /// Barrier request.
    pub const BARRIER_REQUEST: u8 = 20;
    /// Barrier reply.
    pub const BARRIER_REPLY: u8 = 21;
    /// Queue get-config request.
    pub const QUEUE_GET_CONFIG_REQUEST: u8 = 22;
    /// Queue get-config reply.
    pub const QUEUE_GET_CONFIG_REPLY: u8 = 23;
    /// Role request.
    pub const ROLE_REQUEST: u8 = 24;
    /// Role reply.
    pub const ROLE_REPLY: u8 = 25;
    /// Get-async request.
    pub const GET_ASYNC_REQUEST: u8 = 26;
    /// Get-async reply.
    pub const GET_ASYNC_REPLY: u8 = 27;
    /// Set-async.
    pub const SET_ASYNC: u8 = 28;
    /// Meter mod.
    pub const METER_MOD: u8 = 29;
}

/// Every 1.3 message, by type.
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
    /// `OFPT_EXPERIMENTER`.
    Experimenter(Experimenter),
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
    /// `OFPT_GROUP_MOD`.
    GroupMod(GroupMod),
    /// `OFPT_PORT_MOD`.
    PortMod(PortMod),
    /// `OFPT_TABLE_MOD`.
    TableMod(TableMod),
    /// `OFPT_MULTIPART_REQUEST`.
    MultipartRequest(MultipartRequest),
    /// `OFPT_MULTIPART_REPLY`.
    MultipartReply(MultipartReply),
    /// `OFPT_BARRIER_REQUEST`.
    BarrierRequest,
    /// `OFPT_BARRIER_REPLY`.
    BarrierReply,
    /// `OFPT_QUEUE_GET_CONFIG_REQUEST`.
    QueueGetConfigRequest(QueueGetConfigRequest),
    /// `OFPT_QUEUE_GET_CONFIG_REPLY`.
    QueueGetConfigReply(QueueGetConfigReply),
    /// `OFPT_ROLE_REQUEST`.
    RoleRequest(Role),
    /// `OFPT_ROLE_REPLY`.
    RoleReply(Role),
    /// `OFPT_GET_ASYNC_REQUEST`.
    GetAsyncRequest,
    /// `OFPT_GET_ASYNC_REPLY`.
    GetAsyncReply(AsyncConfig),
    /// `OFPT_SET_ASYNC`.
    SetAsync(AsyncConfig),
    /// `OFPT_METER_MOD`.
    MeterMod(MeterMod),
    /// A message type 1.3 does not define, body kept raw.
    Unknown {
        /// Message type.
        #[cfg_attr(test, proptest(strategy = "30u8.."))]
        msg_type: u8,
        /// Body after the header.
        #[serde(with = "hex_bytes")]
        body: Vec<u8>,
    },
}

/// `OFPT_EXPERIMENTER`: experimenter id, type and opaque body.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Experimenter {
    /// Experimenter id.
    pub experimenter: u32,
    /// Experimenter-defined type.
    pub exp_type: u32,
    /// Body.
    #[serde(with = "hex_bytes")]
    pub data: Vec<u8>,
}

/// `ofp_switch_features` (32 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct SwitchFeatures {
    /// Datapath id.
    pub datapath_id: u64,
    /// Packets the switch can buffer.
    pub n_buffers: u32,
    /// Number of tables.
    pub n_tables: u8,
    /// Auxiliary connection id (0 for the main connection).
    pub auxiliary_id: u8,
    /// `OFPC_*` capability bits.
    pub capabilities: u32,
    /// Reserved.
    pub reserved: u32,
}

wire_enum! {
    /// `OFPR_*` reason of a packet-in.
    pub enum PacketInReason: u8 {
        /// No matching flow (table-miss flow entry).
        NoMatch = 0,
        /// Output to controller in an action.
        Action = 1,
        /// Packet has an invalid TTL.
        InvalidTtl = 2,
    }
}

/// `ofp_packet_in` (32 bytes with an empty match, plus data).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct PacketIn {
    /// Buffer id, or `OFP_NO_BUFFER`.
    pub buffer_id: u32,
    /// Full length of the frame.
    pub total_len: u16,
    /// Why it is sent.
    pub reason: PacketInReason,
    /// Table that was looked up.
    pub table_id: u8,
    /// Cookie of the flow entry.
    pub cookie: u64,
    /// Packet metadata (in port and so on).
    pub match_: Match,
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
        /// Group was removed.
        GroupDelete = 3,
    }
}

/// `ofp_flow_removed` (56 bytes with an empty match).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct FlowRemoved {
    /// Cookie.
    pub cookie: u64,
    /// Priority.
    pub priority: u16,
    /// Why removed.
    pub reason: FlowRemovedReason,
    /// Table.
    pub table_id: u8,
    /// Seconds alive.
    pub duration_sec: u32,
    /// Nanoseconds beyond `duration_sec`.
    pub duration_nsec: u32,
    /// Idle timeout.
    pub idle_timeout: u16,
    /// Hard timeout.
    pub hard_timeout: u16,
    /// Packets.
    pub packet_count: u64,
    /// Bytes.
    pub byte_count: u64,
    /// Match.
    pub match_: Match,
}

/// `ofp_packet_out` (24 bytes plus actions and data).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct PacketOut {
    /// Buffer id, or `OFP_NO_BUFFER` to send `data`.
    pub buffer_id: u32,
    /// Input port.
    pub in_port: u32,
    /// Actions.
    pub actions: Vec<Action>,
    /// Frame, when not buffered.
    #[serde(with = "hex_bytes")]
    pub data: Vec<u8>,
}

wire_enum! {
    /// `OFPFC_*` flow mod command.
    pub enum FlowModCommand: u8 {
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

/// `OFPFF_*` flow mod flags (1.3).
pub mod flow_mod_flags {
    /// Send flow removed when the flow expires or is deleted.
    pub const SEND_FLOW_REM: u16 = 1;
    /// Check for overlapping entries first.
    pub const CHECK_OVERLAP: u16 = 2;
    /// Reset flow packet and byte counts.
    pub const RESET_COUNTS: u16 = 4;
    /// Do not keep track of packet count.
    pub const NO_PKT_COUNTS: u16 = 8;
    /// Do not keep track of byte count.
    pub const NO_BYT_COUNTS: u16 = 16;
}

/// `OFP_NO_BUFFER`: the packet is not buffered.
pub const NO_BUFFER: u32 = 0xffff_ffff;

/// `ofp_flow_mod` (56 bytes with an empty match, plus instructions).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct FlowMod {
    /// Opaque controller cookie.
    pub cookie: u64,
    /// Cookie bits that must match (modify/delete).
    pub cookie_mask: u64,
    /// Table.
    pub table_id: u8,
    /// Command.
    pub command: FlowModCommand,
    /// Idle timeout in seconds.
    pub idle_timeout: u16,
    /// Hard timeout in seconds.
    pub hard_timeout: u16,
    /// Priority.
    pub priority: u16,
    /// Buffered packet to apply to, or `OFP_NO_BUFFER`.
    pub buffer_id: u32,
    /// For delete: require an output to this port; `OFPP_ANY` for any.
    pub out_port: u32,
    /// For delete: require an output to this group; `OFPG_ANY` for any.
    pub out_group: u32,
    /// `OFPFF_*` flags.
    pub flags: u16,
    /// Fields to match.
    pub match_: Match,
    /// Instructions.
    pub instructions: Vec<Instruction>,
}

/// `ofp_table_mod` (16 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct TableMod {
    /// Table, or `OFPTT_ALL`.
    pub table_id: u8,
    /// `OFPTC_*` config bits.
    pub config: u32,
}

/// `ofp_queue_get_config_request` (16 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct QueueGetConfigRequest {
    /// Port, or `OFPP_ANY` for all.
    pub port: u32,
}

/// `ofp_queue_get_config_reply` (16 bytes plus queues).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct QueueGetConfigReply {
    /// Port queried.
    pub port: u32,
    /// Queues.
    pub queues: Vec<PacketQueue>,
}

/// `ofp_packet_queue` (16 bytes plus properties).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct PacketQueue {
    /// Queue id.
    pub queue_id: u32,
    /// Port the queue is attached to.
    pub port: u32,
    /// Properties.
    pub properties: Vec<QueueProperty>,
}

wire_enum! {
    /// `OFPCR_ROLE_*` controller role.
    pub enum ControllerRole: u32 {
        /// Do not change the role.
        NoChange = 0,
        /// Default role, full access.
        Equal = 1,
        /// Full access, at most one master.
        Master = 2,
        /// Read-only access.
        Slave = 3,
    }
}

/// `ofp_role_request` body (24 bytes), used by role request and reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Role {
    /// Role.
    pub role: ControllerRole,
    /// Master election generation id.
    pub generation_id: u64,
}

/// `ofp_async_config` body (32 bytes): element 0 for master/equal, 1 for slave.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct AsyncConfig {
    /// Bitmasks of `OFPR_*` packet-in reasons.
    pub packet_in_mask: [u32; 2],
    /// Bitmasks of `OFPPR_*` port status reasons.
    pub port_status_mask: [u32; 2],
    /// Bitmasks of `OFPRR_*` flow removed reasons.
    pub flow_removed_mask: [u32; 2],
}

impl AsyncConfig {
    fn decode(r: &mut Reader<'_>) -> Result<AsyncConfig, DecodeError> {
        Ok(AsyncConfig {
            packet_in_mask: [r.u32()?, r.u32()?],
            port_status_mask: [r.u32()?, r.u32()?],
            flow_removed_mask: [r.u32()?, r.u32()?],
        })
    }

    fn encode(&self, w: &mut Writer) {
        for v in self
            .packet_in_mask
            .iter()
            .chain(&self.port_status_mask)
            .chain(&self.flow_removed_mask)
        {
            w.u32(*v);
        }
    }
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
            Message::Experimenter(_) => EXPERIMENTER,
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
            Message::GroupMod(_) => GROUP_MOD,
            Message::PortMod(_) => PORT_MOD,
            Message::TableMod(_) => TABLE_MOD,
            Message::MultipartRequest(_) => MULTIPART_REQUEST,
            Message::MultipartReply(_) => MULTIPART_REPLY,
            Message::BarrierRequest => BARRIER_REQUEST,
            Message::BarrierReply => BARRIER_REPLY,
            Message::QueueGetConfigRequest(_) => QUEUE_GET_CONFIG_REQUEST,
            Message::QueueGetConfigReply(_) => QUEUE_GET_CONFIG_REPLY,
            Message::RoleRequest(_) => ROLE_REQUEST,
            Message::RoleReply(_) => ROLE_REPLY,
            Message::GetAsyncRequest => GET_ASYNC_REQUEST,
            Message::GetAsyncReply(_) => GET_ASYNC_REPLY,
            Message::SetAsync(_) => SET_ASYNC,
            Message::MeterMod(_) => METER_MOD,
            Message::Unknown { msg_type, .. } => *msg_type,
        }
    }

    /// Decodes the body (everything after the 8-byte header) of a message of type `ty`.
    pub fn decode_body(ty: u8, body: &[u8]) -> Result<Message, DecodeError> {
        use msg_type::*;
        let mut r = Reader::new(body, "1.3 message body");
        let r = &mut r;
        let m = match ty {
            HELLO => Message::Hello(Hello::decode(r)?),
            ERROR => {
                let t = r.u16()?;
                let c = r.u16()?;
                let kind = if t == OFPET_EXPERIMENTER {
                    ErrorKind::Experimenter {
                        exp_type: c,
                        experimenter: r.u32()?,
                    }
                } else {
                    ErrorKind::from_wire(t, c)
                };
                Message::Error(ErrorMsg {
                    kind,
                    data: r.rest().to_vec(),
                })
            }
            ECHO_REQUEST => Message::EchoRequest(Echo {
                data: r.rest().to_vec(),
            }),
            ECHO_REPLY => Message::EchoReply(Echo {
                data: r.rest().to_vec(),
            }),
            EXPERIMENTER => Message::Experimenter(Experimenter {
                experimenter: r.u32()?,
                exp_type: r.u32()?,
                data: r.rest().to_vec(),
            }),
            FEATURES_REQUEST => Message::FeaturesRequest,
            FEATURES_REPLY => {
                let datapath_id = r.u64()?;
                let n_buffers = r.u32()?;
                let n_tables = r.u8()?;
                let auxiliary_id = r.u8()?;
                r.skip(2)?;
                Message::FeaturesReply(SwitchFeatures {
                    datapath_id,
                    n_buffers,
                    n_tables,
                    auxiliary_id,
                    capabilities: r.u32()?,
                    reserved: r.u32()?,
                })
            }
            GET_CONFIG_REQUEST => Message::GetConfigRequest,
            GET_CONFIG_REPLY => Message::GetConfigReply(SwitchConfig::decode(r)?),
            SET_CONFIG => Message::SetConfig(SwitchConfig::decode(r)?),
            PACKET_IN => {
                let buffer_id = r.u32()?;
                let total_len = r.u16()?;
                let reason = PacketInReason::from_wire(r.u8()?);
                let table_id = r.u8()?;
                let cookie = r.u64()?;
                let match_ = Match::decode(r)?;
                r.skip(2)?;
                Message::PacketIn(PacketIn {
                    buffer_id,
                    total_len,
                    reason,
                    table_id,
                    cookie,
                    match_,
                    data: r.rest().to_vec(),
                })
            }
            FLOW_REMOVED => Message::FlowRemoved(FlowRemoved {
                cookie: r.u64()?,
                priority: r.u16()?,
                reason: FlowRemovedReason::from_wire(r.u8()?),
                table_id: r.u8()?,
                duration_sec: r.u32()?,
                duration_nsec: r.u32()?,
                idle_timeout: r.u16()?,
                hard_timeout: r.u16()?,
                packet_count: r.u64()?,
                byte_count: r.u64()?,
                match_: Match::decode(r)?,
            }),
            PORT_STATUS => {
                let reason = PortReason::from_wire(r.u8()?);
                r.skip(7)?;
                Message::PortStatus(PortStatus {
                    reason,
                    desc: Port::decode(r)?,
                })
            }
            PACKET_OUT => {
                let buffer_id = r.u32()?;
                let in_port = r.u32()?;
                let actions_len = usize::from(r.u16()?);
                r.skip(6)?;
                let actions = Action::decode_list(&mut r.sub(actions_len, "packet-out actions")?)?;
                Message::PacketOut(PacketOut {
                    buffer_id,
                    in_port,
                    actions,
                    data: r.rest().to_vec(),
                })
            }
            FLOW_MOD => {
                let cookie = r.u64()?;
                let cookie_mask = r.u64()?;
                let table_id = r.u8()?;
                let command = FlowModCommand::from_wire(r.u8()?);
                let idle_timeout = r.u16()?;
                let hard_timeout = r.u16()?;
                let priority = r.u16()?;
                let buffer_id = r.u32()?;
                let out_port = r.u32()?;
                let out_group = r.u32()?;
                let flags = r.u16()?;
                r.skip(2)?;
                Message::FlowMod(FlowMod {
                    cookie,
                    cookie_mask,
                    table_id,
                    command,
                    idle_timeout,
                    hard_timeout,
                    priority,
                    buffer_id,
                    out_port,
                    out_group,
                    flags,
                    match_: Match::decode(r)?,
                    instructions: Instruction::decode_list(r)?,
                })
            }
            GROUP_MOD => Message::GroupMod(GroupMod::decode(r)?),
            PORT_MOD => Message::PortMod(PortMod::decode(r)?),
            TABLE_MOD => {
                let table_id = r.u8()?;
                r.skip(3)?;
                Message::TableMod(TableMod {
                    table_id,
                    config: r.u32()?,
                })
            }
            MULTIPART_REQUEST => Message::MultipartRequest(MultipartRequest::decode(r)?),
            MULTIPART_REPLY => Message::MultipartReply(MultipartReply::decode(r)?),
            BARRIER_REQUEST => Message::BarrierRequest,
            BARRIER_REPLY => Message::BarrierReply,
            QUEUE_GET_CONFIG_REQUEST => {
                let port = r.u32()?;
                r.skip(4)?;
                Message::QueueGetConfigRequest(QueueGetConfigRequest { port })
            }
            QUEUE_GET_CONFIG_REPLY => {
                let port = r.u32()?;
                r.skip(4)?;
                let mut queues = Vec::new();
                while !r.is_empty() {
                    let queue_id = r.u32()?;
                    let qport = r.u32()?;
                    let len = usize::from(r.u16()?);
                    if len < 16 {
                        return Err(DecodeError::BadLength {
                            what: "packet queue",
                            length: len,
                        });
                    }
                    r.skip(6)?;
                    let properties = QueueProperty::decode_list(&mut r.sub(len - 16, "packet queue")?)?;
                    queues.push(PacketQueue {
                        queue_id,
                        port: qport,
                        properties,
                    });
                }
                Message::QueueGetConfigReply(QueueGetConfigReply { port, queues })
            }
            ROLE_REQUEST | ROLE_REPLY => {
                let role = ControllerRole::from_wire(r.u32()?);
                r.skip(4)?;
                let role = Role {
                    role,
                    generation_id: r.u64()?,
                };
                if ty == ROLE_REQUEST {
                    Message::RoleRequest(role)
                } else {
                    Message::RoleReply(role)
                }
            }
            GET_ASYNC_REQUEST => Message::GetAsyncRequest,
            GET_ASYNC_REPLY => Message::GetAsyncReply(AsyncConfig::decode(r)?),
            SET_ASYNC => Message::SetAsync(AsyncConfig::decode(r)?),
            METER_MOD => Message::MeterMod(MeterMod::decode(r)?),
            _ => Message::Unknown {
                msg_type: ty,
                body: r.rest().to_vec(),
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
                if let ErrorKind::Experimenter { experimenter, .. } = e.kind {
                    w.u32(experimenter);
                }
                w.bytes(&e.data);
            }
            Message::EchoRequest(e) | Message::EchoReply(e) => w.bytes(&e.data),
            Message::Experimenter(x) => {
                w.u32(x.experimenter);
                w.u32(x.exp_type);
                w.bytes(&x.data);
            }
            Message::FeaturesRequest
            | Message::GetConfigRequest
            | Message::BarrierRequest
            | Message::BarrierReply
            | Message::GetAsyncRequest => {}
            Message::FeaturesReply(f) => {
                w.u64(f.datapath_id);
                w.u32(f.n_buffers);
                w.u8(f.n_tables);
                w.u8(f.auxiliary_id);
                w.zeros(2);
                w.u32(f.capabilities);
                w.u32(f.reserved);
            }
            Message::GetConfigReply(c) | Message::SetConfig(c) => c.encode(w),
            Message::PacketIn(p) => {
                w.u32(p.buffer_id);
                w.u16(p.total_len);
                w.u8(p.reason.to_wire());
                w.u8(p.table_id);
                w.u64(p.cookie);
                p.match_.encode(w);
                w.zeros(2);
                w.bytes(&p.data);
            }
            Message::FlowRemoved(f) => {
                w.u64(f.cookie);
                w.u16(f.priority);
                w.u8(f.reason.to_wire());
                w.u8(f.table_id);
                w.u32(f.duration_sec);
                w.u32(f.duration_nsec);
                w.u16(f.idle_timeout);
                w.u16(f.hard_timeout);
                w.u64(f.packet_count);
                w.u64(f.byte_count);
                f.match_.encode(w);
            }
            Message::PortStatus(p) => {
                w.u8(p.reason.to_wire());
                w.zeros(7);
                p.desc.encode(w);
            }
            Message::PacketOut(p) => {
                w.u32(p.buffer_id);
                w.u32(p.in_port);
                let at = w.placeholder16();
                w.zeros(6);
                let start = w.len();
                Action::encode_list(&p.actions, w);
                w.patch_len16(at, start, "packet-out actions");
                w.bytes(&p.data);
            }
            Message::FlowMod(f) => {
                w.u64(f.cookie);
                w.u64(f.cookie_mask);
                w.u8(f.table_id);
                w.u8(f.command.to_wire());
                w.u16(f.idle_timeout);
                w.u16(f.hard_timeout);
                w.u16(f.priority);
                w.u32(f.buffer_id);
                w.u32(f.out_port);
                w.u32(f.out_group);
                w.u16(f.flags);
                w.zeros(2);
                f.match_.encode(w);
                Instruction::encode_list(&f.instructions, w);
            }
            Message::GroupMod(g) => g.encode(w),
            Message::PortMod(p) => p.encode(w),
            Message::TableMod(t) => {
                w.u8(t.table_id);
                w.zeros(3);
                w.u32(t.config);
            }
            Message::MultipartRequest(m) => m.encode(w),
            Message::MultipartReply(m) => m.encode(w),
            Message::QueueGetConfigRequest(q) => {
                w.u32(q.port);
                w.zeros(4);
            }
            Message::QueueGetConfigReply(q) => {
                w.u32(q.port);
                w.zeros(4);
                for queue in &q.queues {
                    let start = w.len();
                    w.u32(queue.queue_id);
                    w.u32(queue.port);
                    let at = w.placeholder16();
                    w.zeros(6);
                    queue.properties.iter().for_each(|p| p.encode(w));
                    w.patch_len16(at, start, "packet queue");
                }
            }
            Message::RoleRequest(r) | Message::RoleReply(r) => {
                w.u32(r.role.to_wire());
                w.zeros(4);
                w.u64(r.generation_id);
            }
            Message::GetAsyncReply(a) | Message::SetAsync(a) => a.encode(w),
            Message::MeterMod(m) => m.encode(w),
            Message::Unknown { body, .. } => w.bytes(body),
        }
    }
}
