//! The 1.3 error message: every error type and code, unknown values kept, experimenter errors.

use serde::{Deserialize, Serialize};

use crate::types::hex_bytes;

wire_enum! {
    /// `OFPHFC_*` codes of `OFPET_HELLO_FAILED`.
    pub enum HelloFailedCode: u16 {
        /// No compatible version.
        Incompatible = 0,
        /// Permissions error.
        Eperm = 1,
    }
}

wire_enum! {
    /// `OFPBRC_*` codes of `OFPET_BAD_REQUEST`.
    pub enum BadRequestCode: u16 {
        /// Header version not supported.
        BadVersion = 0,
        /// Message type not supported.
        BadType = 1,
        /// Multipart request type not supported.
        BadMultipart = 2,
        /// Experimenter id not supported.
        BadExperimenter = 3,
        /// Experimenter type not supported.
        BadExpType = 4,
        /// Permissions error.
        Eperm = 5,
        /// Wrong request length.
        BadLen = 6,
        /// Buffer already used.
        BufferEmpty = 7,
        /// Buffer does not exist.
        BufferUnknown = 8,
        /// Table id invalid or missing.
        BadTableId = 9,
        /// Denied because the controller is slave.
        IsSlave = 10,
        /// Invalid port.
        BadPort = 11,
        /// Invalid packet in packet-out.
        BadPacket = 12,
        /// Multipart request overflowed the assigned buffer.
        MultipartBufferOverflow = 13,
    }
}

wire_enum! {
    /// `OFPBAC_*` codes of `OFPET_BAD_ACTION`.
    pub enum BadActionCode: u16 {
        /// Unknown action type.
        BadType = 0,
        /// Length problem in actions.
        BadLen = 1,
        /// Unknown experimenter id.
        BadExperimenter = 2,
        /// Unknown action for the experimenter id.
        BadExpType = 3,
        /// Problem validating the output port.
        BadOutPort = 4,
        /// Bad action argument.
        BadArgument = 5,
        /// Permissions error.
        Eperm = 6,
        /// Cannot handle this many actions.
        TooMany = 7,
        /// Problem validating the output queue.
        BadQueue = 8,
        /// Invalid group id in the forward action.
        BadOutGroup = 9,
        /// Action cannot apply to this match.
        MatchInconsistent = 10,
        /// Action order unsupported in the action list.
        UnsupportedOrder = 11,
        /// Action uses an unsupported tag or encapsulation.
        BadTag = 12,
        /// Unsupported set-field type.
        BadSetType = 13,
        /// Length problem in set-field.
        BadSetLen = 14,
        /// Bad set-field argument.
        BadSetArgument = 15,
    }
}

wire_enum! {
    /// `OFPBIC_*` codes of `OFPET_BAD_INSTRUCTION`.
    pub enum BadInstructionCode: u16 {
        /// Unknown instruction.
        UnknownInst = 0,
        /// Switch or table does not support the instruction.
        UnsupInst = 1,
        /// Invalid table id.
        BadTableId = 2,
        /// Metadata value unsupported.
        UnsupMetadata = 3,
        /// Metadata mask unsupported.
        UnsupMetadataMask = 4,
        /// Unknown experimenter id.
        BadExperimenter = 5,
        /// Unknown instruction for the experimenter id.
        BadExpType = 6,
        /// Length problem in instructions.
        BadLen = 7,
        /// Permissions error.
        Eperm = 8,
    }
}

wire_enum! {
    /// `OFPBMC_*` codes of `OFPET_BAD_MATCH`.
    pub enum BadMatchCode: u16 {
        /// Unsupported match type.
        BadType = 0,
        /// Length problem in match.
        BadLen = 1,
        /// Match uses an unsupported tag or encapsulation.
        BadTag = 2,
        /// Unsupported datalink address mask.
        BadDlAddrMask = 3,
        /// Unsupported network address mask.
        BadNwAddrMask = 4,
        /// Unsupported combination of wildcarded fields.
        BadWildcards = 5,
        /// Unsupported field type.
        BadField = 6,
        /// Unsupported value in a field.
        BadValue = 7,
        /// Unsupported mask.
        BadMask = 8,
        /// A prerequisite was not met.
        BadPrereq = 9,
        /// A field type was duplicated.
        DupField = 10,
        /// Permissions error.
        Eperm = 11,
    }
}

wire_enum! {
    /// `OFPFMFC_*` codes of `OFPET_FLOW_MOD_FAILED`.
    pub enum FlowModFailedCode: u16 {
        /// Unspecified error (`..._UNKNOWN` in the specification).
        Unspecified = 0,
        /// Table full.
        TableFull = 1,
        /// Table does not exist.
        BadTableId = 2,
        /// Overlapping flow with `CHECK_OVERLAP` set.
        Overlap = 3,
        /// Permissions error.
        Eperm = 4,
        /// Unsupported or unknown idle/hard timeout.
        BadTimeout = 5,
        /// Unsupported or unknown command.
        BadCommand = 6,
        /// Unsupported or unknown flags.
        BadFlags = 7,
    }
}

wire_enum! {
    /// `OFPGMFC_*` codes of `OFPET_GROUP_MOD_FAILED`.
    pub enum GroupModFailedCode: u16 {
        /// Group already exists.
        GroupExists = 0,
        /// Group not added: invalid.
        InvalidGroup = 1,
        /// Weights unsupported.
        WeightUnsupported = 2,
        /// Group table full.
        OutOfGroups = 3,
        /// Too many buckets.
        OutOfBuckets = 4,
        /// Chaining unsupported.
        ChainingUnsupported = 5,
        /// Watch port or group unsupported.
        WatchUnsupported = 6,
        /// Group would create a loop.
        Loop = 7,
        /// Group not modified: it does not exist.
        UnknownGroup = 8,
        /// Group not deleted: another group forwards to it.
        ChainedGroup = 9,
        /// Unsupported or unknown group type.
        BadType = 10,
        /// Unsupported or unknown command.
        BadCommand = 11,
        /// Error in a bucket.
        BadBucket = 12,
        /// Error in a watch port or group.
        BadWatch = 13,
        /// Permissions error.
        Eperm = 14,
    }
}

wire_enum! {
    /// `OFPPMFC_*` codes of `OFPET_PORT_MOD_FAILED`.
    pub enum PortModFailedCode: u16 {
        /// No such port.
        BadPort = 0,
        /// Wrong hardware address.
        BadHwAddr = 1,
        /// Invalid config.
        BadConfig = 2,
        /// Invalid advertise.
        BadAdvertise = 3,
        /// Permissions error.
        Eperm = 4,
    }
}

wire_enum! {
    /// `OFPTMFC_*` codes of `OFPET_TABLE_MOD_FAILED`.
    pub enum TableModFailedCode: u16 {
        /// No such table.
        BadTable = 0,
        /// Invalid config.
        BadConfig = 1,
        /// Permissions error.
        Eperm = 2,
    }
}

wire_enum! {
    /// `OFPQOFC_*` codes of `OFPET_QUEUE_OP_FAILED`.
    pub enum QueueOpFailedCode: u16 {
        /// Invalid port.
        BadPort = 0,
        /// Queue does not exist.
        BadQueue = 1,
        /// Permissions error.
        Eperm = 2,
    }
}

wire_enum! {
    /// `OFPSCFC_*` codes of `OFPET_SWITCH_CONFIG_FAILED`.
    pub enum SwitchConfigFailedCode: u16 {
        /// Invalid flags.
        BadFlags = 0,
        /// Invalid miss send length.
        BadLen = 1,
        /// Permissions error.
        Eperm = 2,
    }
}

wire_enum! {
    /// `OFPRRFC_*` codes of `OFPET_ROLE_REQUEST_FAILED`.
    pub enum RoleRequestFailedCode: u16 {
        /// Stale message: old generation id.
        Stale = 0,
        /// Controller role change unsupported.
        Unsup = 1,
        /// Invalid role.
        BadRole = 2,
    }
}

wire_enum! {
    /// `OFPMMFC_*` codes of `OFPET_METER_MOD_FAILED`.
    pub enum MeterModFailedCode: u16 {
        /// Unspecified error (`..._UNKNOWN` in the specification).
        Unspecified = 0,
        /// Meter not added: it exists.
        MeterExists = 1,
        /// Meter not added: invalid meter.
        InvalidMeter = 2,
        /// Meter not modified: it does not exist.
        UnknownMeter = 3,
        /// Unsupported or unknown command.
        BadCommand = 4,
        /// Flag configuration unsupported.
        BadFlags = 5,
        /// Rate unsupported.
        BadRate = 6,
        /// Burst size unsupported.
        BadBurst = 7,
        /// Band unsupported.
        BadBand = 8,
        /// Band value unsupported.
        BadBandValue = 9,
        /// No more meters available.
        OutOfMeters = 10,
        /// Too many bands for the meter.
        OutOfBands = 11,
    }
}

wire_enum! {
    /// `OFPTFFC_*` codes of `OFPET_TABLE_FEATURES_FAILED`.
    pub enum TableFeaturesFailedCode: u16 {
        /// Specified table does not exist.
        BadTable = 0,
        /// Invalid metadata mask.
        BadMetadata = 1,
        /// Unknown property type.
        BadType = 2,
        /// Length problem in properties.
        BadLen = 3,
        /// Unsupported property value.
        BadArgument = 4,
        /// Permissions error.
        Eperm = 5,
    }
}

/// `OFPET_EXPERIMENTER`: the error type value.
pub const OFPET_EXPERIMENTER: u16 = 0xffff;

/// Error type and code of a 1.3 error message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ErrorKind {
    /// `OFPET_HELLO_FAILED` (0).
    HelloFailed(HelloFailedCode),
    /// `OFPET_BAD_REQUEST` (1).
    BadRequest(BadRequestCode),
    /// `OFPET_BAD_ACTION` (2).
    BadAction(BadActionCode),
    /// `OFPET_BAD_INSTRUCTION` (3).
    BadInstruction(BadInstructionCode),
    /// `OFPET_BAD_MATCH` (4).
    BadMatch(BadMatchCode),
    /// `OFPET_FLOW_MOD_FAILED` (5).
    FlowModFailed(FlowModFailedCode),
    /// `OFPET_GROUP_MOD_FAILED` (6).
    GroupModFailed(GroupModFailedCode),
    /// `OFPET_PORT_MOD_FAILED` (7).
    PortModFailed(PortModFailedCode),
    /// `OFPET_TABLE_MOD_FAILED` (8).
    TableModFailed(TableModFailedCode),
    /// `OFPET_QUEUE_OP_FAILED` (9).
    QueueOpFailed(QueueOpFailedCode),
    /// `OFPET_SWITCH_CONFIG_FAILED` (10).
    SwitchConfigFailed(SwitchConfigFailedCode),
    /// `OFPET_ROLE_REQUEST_FAILED` (11).
    RoleRequestFailed(RoleRequestFailedCode),
    /// `OFPET_METER_MOD_FAILED` (12).
    MeterModFailed(MeterModFailedCode),
    /// `OFPET_TABLE_FEATURES_FAILED` (13).
    TableFeaturesFailed(TableFeaturesFailedCode),
    /// `OFPET_EXPERIMENTER` (0xffff): experimenter-defined type and experimenter id.
    Experimenter {
        /// Experimenter-defined type.
        exp_type: u16,
        /// Experimenter id.
        experimenter: u32,
    },
    /// An error type this crate does not know.
    Unknown {
        /// Error type.
        error_type: u16,
        /// Error code.
        code: u16,
    },
}

impl ErrorKind {
    /// The kind for a wire type and code (not for `OFPET_EXPERIMENTER`, which carries an experimenter id).
    pub fn from_wire(error_type: u16, code: u16) -> ErrorKind {
        match error_type {
            0 => ErrorKind::HelloFailed(code.into()),
            1 => ErrorKind::BadRequest(code.into()),
            2 => ErrorKind::BadAction(code.into()),
            3 => ErrorKind::BadInstruction(code.into()),
            4 => ErrorKind::BadMatch(code.into()),
            5 => ErrorKind::FlowModFailed(code.into()),
            6 => ErrorKind::GroupModFailed(code.into()),
            7 => ErrorKind::PortModFailed(code.into()),
            8 => ErrorKind::TableModFailed(code.into()),
            9 => ErrorKind::QueueOpFailed(code.into()),
            10 => ErrorKind::SwitchConfigFailed(code.into()),
            11 => ErrorKind::RoleRequestFailed(code.into()),
            12 => ErrorKind::MeterModFailed(code.into()),
            13 => ErrorKind::TableFeaturesFailed(code.into()),
            _ => ErrorKind::Unknown { error_type, code },
        }
    }

    /// The wire type and code (for experimenter errors, the code field holds `exp_type`).
    pub fn to_wire(self) -> (u16, u16) {
        match self {
            ErrorKind::HelloFailed(c) => (0, c.into()),
            ErrorKind::BadRequest(c) => (1, c.into()),
            ErrorKind::BadAction(c) => (2, c.into()),
            ErrorKind::BadInstruction(c) => (3, c.into()),
            ErrorKind::BadMatch(c) => (4, c.into()),
            ErrorKind::FlowModFailed(c) => (5, c.into()),
            ErrorKind::GroupModFailed(c) => (6, c.into()),
            ErrorKind::PortModFailed(c) => (7, c.into()),
            ErrorKind::TableModFailed(c) => (8, c.into()),
            ErrorKind::QueueOpFailed(c) => (9, c.into()),
            ErrorKind::SwitchConfigFailed(c) => (10, c.into()),
            ErrorKind::RoleRequestFailed(c) => (11, c.into()),
            ErrorKind::MeterModFailed(c) => (12, c.into()),
            ErrorKind::TableFeaturesFailed(c) => (13, c.into()),
            ErrorKind::Experimenter { exp_type, .. } => (OFPET_EXPERIMENTER, exp_type),
            ErrorKind::Unknown { error_type, code } => (error_type, code),
        }
    }
}

#[cfg(test)]
impl proptest::arbitrary::Arbitrary for ErrorKind {
    type Parameters = ();
    type Strategy = proptest::strategy::BoxedStrategy<Self>;
    fn arbitrary_with(_: ()) -> Self::Strategy {
        use proptest::prelude::*;
        prop_oneof![
            4 => (prop_oneof![0u16..16, 14u16..0xffff], prop_oneof![0u16..17, any::<u16>()])
                .prop_map(|(t, c)| ErrorKind::from_wire(t, c)),
            1 => any::<(u16, u32)>()
                .prop_map(|(exp_type, experimenter)| ErrorKind::Experimenter { exp_type, experimenter }),
        ]
        .boxed()
    }
}

/// `OFPT_ERROR` (1.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct ErrorMsg {
    /// Type and code.
    pub kind: ErrorKind,
    /// Data: usually at least 64 bytes of the failed request.
    #[serde(with = "hex_bytes")]
    pub data: Vec<u8>,
}
