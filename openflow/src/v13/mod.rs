//! OpenFlow 1.3 (wire version 0x04): messages, OXM match, actions, instructions, groups, meters, multipart.

pub mod action;
pub mod error_msg;
pub mod group;
pub mod instruction;
pub mod message;
pub mod meter;
pub mod multipart;
pub mod oxm;
pub mod port;
pub mod table_features;

pub use action::{Action, ActionId};
pub use error_msg::{ErrorKind, ErrorMsg};
pub use group::{Bucket, GroupDesc, GroupFeatures, GroupMod, GroupModCommand, GroupStats, GroupType};
pub use instruction::{Instruction, InstructionId};
pub use message::*;
pub use meter::{MeterBand, MeterConfig, MeterFeatures, MeterMod, MeterModCommand, MeterStats};
pub use multipart::{MultipartReply, MultipartReplyBody, MultipartRequest, MultipartRequestBody};
pub use oxm::{Match, OxmField, OxmId, RawOxm, U24};
pub use port::{Port, PortMod, PortReason, PortStatus};
pub use table_features::{TableFeatureProp, TableFeatures};

use crate::error::{DecodeError, EncodeError};
use crate::header::{Header, OFP13_VERSION};

impl Message {
    /// Decodes one complete 1.3 message (header included); `bytes` must be exactly the header's length.
    pub fn decode(bytes: &[u8]) -> Result<(Header, Message), DecodeError> {
        let (header, body) = crate::message::split_header(bytes)?;
        if header.version != OFP13_VERSION {
            return Err(DecodeError::Unsupported {
                what: "version for 1.3",
                value: header.version.into(),
            });
        }
        Ok((header, Message::decode_body(header.msg_type, body)?))
    }

    /// Encodes the message with transaction id `xid`.
    pub fn encode(&self, xid: u32) -> Result<Vec<u8>, EncodeError> {
        crate::message::encode_with(OFP13_VERSION, self.msg_type(), xid, |w| self.encode_body(w))
    }
}
