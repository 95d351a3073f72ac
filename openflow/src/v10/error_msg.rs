//! The 1.0 error message: every error type and code, unknown values kept.

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
        /// Stats request type not supported.
        BadStat = 2,
        /// Vendor not supported.
        BadVendor = 3,
        /// Vendor subtype not supported.
        BadSubtype = 4,
        /// Permissions error.
        Eperm = 5,
        /// Wrong request length.
        BadLen = 6,
        /// Buffer already used.
        BufferEmpty = 7,
        /// Buffer does not exist.
        BufferUnknown = 8,
    }
}

wire_enum! {
    /// `OFPBAC_*` codes of `OFPET_BAD_ACTION`.
    pub enum BadActionCode: u16 {
        /// Unknown action type.
        BadType = 0,
        /// Length problem in actions.
        BadLen = 1,
        /// Unknown vendor id.
        BadVendor = 2,
        /// Unknown action type for the vendor.
        BadVendorType = 3,
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
    }
}

wire_enum! {
    /// `OFPFMFC_*` codes of `OFPET_FLOW_MOD_FAILED`.
    pub enum FlowModFailedCode: u16 {
        /// No space in any table.
        AllTablesFull = 0,
        /// Overlapping flow with `CHECK_OVERLAP` set.
        Overlap = 1,
        /// Permissions error.
        Eperm = 2,
        /// Emergency flow with non-zero timeouts.
        BadEmergTimeout = 3,
        /// Unknown command.
        BadCommand = 4,
        /// Unsupported action list order.
        Unsupported = 5,
    }
}

wire_enum! {
    /// `OFPPMFC_*` codes of `OFPET_PORT_MOD_FAILED`.
    pub enum PortModFailedCode: u16 {
        /// No such port.
        BadPort = 0,
        /// Wrong hardware address.
        BadHwAddr = 1,
    }
}

wire_enum! {
    /// `OFPQOFC_*` codes of `OFPET_QUEUE_OP_FAILED`.
    pub enum QueueOpFailedCode: u16 {
        /// Invalid port or port does not exist.
        BadPort = 0,
        /// Queue does not exist.
        BadQueue = 1,
        /// Permissions error.
        Eperm = 2,
    }
}

/// Error type and code of a 1.0 error message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ErrorKind {
    /// `OFPET_HELLO_FAILED` (0).
    HelloFailed(HelloFailedCode),
    /// `OFPET_BAD_REQUEST` (1).
    BadRequest(BadRequestCode),
    /// `OFPET_BAD_ACTION` (2).
    BadAction(BadActionCode),
    /// `OFPET_FLOW_MOD_FAILED` (3).
    FlowModFailed(FlowModFailedCode),
    /// `OFPET_PORT_MOD_FAILED` (4).
    PortModFailed(PortModFailedCode),
    /// `OFPET_QUEUE_OP_FAILED` (5).
    QueueOpFailed(QueueOpFailedCode),
    /// An error type this crate does not know.
    Unknown {
        /// Error type.
        error_type: u16,
        /// Error code.
        code: u16,
    },
}

impl ErrorKind {
    /// The kind for a wire type and code.
    pub fn from_wire(error_type: u16, code: u16) -> ErrorKind {
        match error_type {
            0 => ErrorKind::HelloFailed(code.into()),
            1 => ErrorKind::BadRequest(code.into()),
            2 => ErrorKind::BadAction(code.into()),
            3 => ErrorKind::FlowModFailed(code.into()),
            4 => ErrorKind::PortModFailed(code.into()),
            5 => ErrorKind::QueueOpFailed(code.into()),
            _ => ErrorKind::Unknown { error_type, code },
        }
    }

    /// The wire type and code.
    pub fn to_wire(self) -> (u16, u16) {
        match self {
            ErrorKind::HelloFailed(c) => (0, c.into()),
            ErrorKind::BadRequest(c) => (1, c.into()),
            ErrorKind::BadAction(c) => (2, c.into()),
            ErrorKind::FlowModFailed(c) => (3, c.into()),
            ErrorKind::PortModFailed(c) => (4, c.into()),
            ErrorKind::QueueOpFailed(c) => (5, c.into()),
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
        (
            prop_oneof![0u16..8, any::<u16>()],
            prop_oneof![0u16..12, any::<u16>()],
        )
            .prop_map(|(t, c)| ErrorKind::from_wire(t, c))
            .boxed()
    }
}

/// `OFPT_ERROR` (1.0).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct ErrorMsg {
    /// Type and code.
    pub kind: ErrorKind,
    /// Data: usually at least 64 bytes of the failed request.
    #[serde(with = "hex_bytes")]
    pub data: Vec<u8>,
}
