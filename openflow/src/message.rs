//! [`OfMessage`]: a message of either supported version, with decode and encode entry points.

use serde::{Deserialize, Serialize};

use crate::error::{DecodeError, EncodeError};
use crate::header::{Header, HEADER_LEN, OFP10_VERSION, OFP13_VERSION};
use crate::types::hex_bytes;
use crate::wire::Writer;
use crate::{v10, v13};

/// A message of any version: 1.0 and 1.3 typed, others kept raw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum OfMessage {
    /// OpenFlow 1.0 (wire version 0x01).
    V10(v10::Message),
    /// OpenFlow 1.3 (wire version 0x04).
    V13(v13::Message),
    /// Another version (for example the hello of a 1.4 switch); decode a hello body with
    /// [`crate::hello::Hello::decode_body`].
    Other {
        /// Wire version.
        #[cfg_attr(test, proptest(strategy = "crate::tests::other_version()"))]
        version: u8,
        /// Message type.
        msg_type: u8,
        /// Body after the header.
        #[serde(with = "hex_bytes")]
        body: Vec<u8>,
    },
}

impl OfMessage {
    /// Decodes one complete message; `bytes` must be exactly as long as its header says (use
    /// [`crate::framing`] to split a stream).
    pub fn decode(bytes: &[u8]) -> Result<(Header, OfMessage), DecodeError> {
        let (header, body) = split_header(bytes)?;
        let m = match header.version {
            OFP10_VERSION => OfMessage::V10(v10::Message::decode_body(header.msg_type, body)?),
            OFP13_VERSION => OfMessage::V13(v13::Message::decode_body(header.msg_type, body)?),
            version => OfMessage::Other {
                version,
                msg_type: header.msg_type,
                body: body.to_vec(),
            },
        };
        Ok((header, m))
    }

    /// Encodes the message with transaction id `xid`.
    pub fn encode(&self, xid: u32) -> Result<Vec<u8>, EncodeError> {
        match self {
            OfMessage::V10(m) => m.encode(xid),
            OfMessage::V13(m) => m.encode(xid),
            OfMessage::Other {
                version,
                msg_type,
                body,
            } => encode_with(*version, *msg_type, xid, |w| w.bytes(body)),
        }
    }

    /// The wire version.
    pub fn version(&self) -> u8 {
        match self {
            OfMessage::V10(_) => OFP10_VERSION,
            OfMessage::V13(_) => OFP13_VERSION,
            OfMessage::Other { version, .. } => *version,
        }
    }

    /// The message type.
    pub fn msg_type(&self) -> u8 {
        match self {
            OfMessage::V10(m) => m.msg_type(),
            OfMessage::V13(m) => m.msg_type(),
            OfMessage::Other { msg_type, .. } => *msg_type,
        }
    }
}

/// Reads the header and checks that `bytes` is exactly one message long.
pub(crate) fn split_header(bytes: &[u8]) -> Result<(Header, &[u8]), DecodeError> {
    let header = Header::decode(bytes)?;
    if usize::from(header.length) != bytes.len() || bytes.len() < HEADER_LEN {
        return Err(DecodeError::LengthMismatch {
            header: header.length,
            actual: bytes.len(),
        });
    }
    Ok((header, bytes.get(HEADER_LEN..).unwrap_or_default()))
}

/// Writes a header, the body produced by `body`, and patches the length.
pub(crate) fn encode_with(
    version: u8,
    msg_type: u8,
    xid: u32,
    body: impl FnOnce(&mut Writer),
) -> Result<Vec<u8>, EncodeError> {
    let mut w = Writer::new();
    w.u8(version);
    w.u8(msg_type);
    let at = w.placeholder16();
    w.u32(xid);
    body(&mut w);
    w.patch_len16(at, 0, "message");
    w.into_result()
}
