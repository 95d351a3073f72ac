//! OpenFlow 1.3 (wire version 0x04).

use serde::{Deserialize, Serialize};

use crate::error::{DecodeError, EncodeError};
use crate::header::{Header, OFP13_VERSION};
use crate::types::hex_bytes;
use crate::wire::{Reader, Writer};

/// Every 1.3 message, by type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum Message {
    /// Echo request.
    EchoRequest(crate::common::Echo),
    /// A message type kept raw.
    Unknown {
        /// Message type.
        #[cfg_attr(test, proptest(strategy = "30u8.."))]
        msg_type: u8,
        /// Body after the header.
        #[serde(with = "hex_bytes")]
        body: Vec<u8>,
    },
}

impl Message {
    /// The message type.
    pub fn msg_type(&self) -> u8 {
        match self {
            Message::EchoRequest(_) => 2,
            Message::Unknown { msg_type, .. } => *msg_type,
        }
    }

    /// Decodes a body.
    pub fn decode_body(ty: u8, body: &[u8]) -> Result<Message, DecodeError> {
        let mut r = Reader::new(body, "1.3 message body");
        Ok(match ty {
            2 => Message::EchoRequest(crate::common::Echo { data: r.rest_vec() }),
            _ => Message::Unknown {
                msg_type: ty,
                body: r.rest_vec(),
            },
        })
    }

    pub(crate) fn encode_body(&self, w: &mut Writer) {
        match self {
            Message::EchoRequest(e) => w.bytes(&e.data),
            Message::Unknown { body, .. } => w.bytes(body),
        }
    }

    /// Decodes one complete 1.3 message.
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

    /// Encodes with transaction id `xid`.
    pub fn encode(&self, xid: u32) -> Result<Vec<u8>, EncodeError> {
        crate::message::encode_with(OFP13_VERSION, self.msg_type(), xid, |w| self.encode_body(w))
    }
}
