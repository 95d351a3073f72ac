//! OpenFlow 1.0 (wire version 0x01): messages, `ofp_match`, actions and statistics.

pub mod action;
pub mod error_msg;
pub mod match_;
pub mod message;
pub mod port;
pub mod stats;

pub use action::Action;
pub use error_msg::{ErrorKind, ErrorMsg};
pub use match_::Match;
pub use message::*;
pub use port::PhyPort;
pub use stats::{StatsReply, StatsReplyBody, StatsRequest, StatsRequestBody};

use crate::error::{DecodeError, EncodeError};
use crate::header::{Header, OFP10_VERSION};

impl Message {
    /// Decodes one complete 1.0 message (header included); `bytes` must be exactly the header's length.
    pub fn decode(bytes: &[u8]) -> Result<(Header, Message), DecodeError> {
        let (header, body) = crate::message::split_header(bytes)?;
        if header.version != OFP10_VERSION {
            return Err(DecodeError::Unsupported {
                what: "version for 1.0",
                value: header.version.into(),
            });
        }
        Ok((header, Message::decode_body(header.msg_type, body)?))
    }

    /// Encodes the message with transaction id `xid`.
    pub fn encode(&self, xid: u32) -> Result<Vec<u8>, EncodeError> {
        crate::message::encode_with(OFP10_VERSION, self.msg_type(), xid, |w| self.encode_body(w))
    }
}
