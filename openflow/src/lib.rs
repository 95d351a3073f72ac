//! OpenFlow 1.0 and 1.3 wire codec.
//!
//! Typed messages for both versions ([`v10::Message`], [`v13::Message`], or [`OfMessage`] for either),
//! decoded from and encoded to the exact bytes of the wire format. Decoding never panics on any input and
//! allocates no more than the input's length allows; decode followed by encode reproduces the input bytes for
//! every well-formed message (padding is written as zeros). [`framing`] splits a byte stream into messages.
//! Every type implements serde's `Serialize` and `Deserialize` (MAC and IP addresses as strings, opaque bytes
//! as hex) so tools can print and build messages as JSON.
//!
//! ```
//! use twister_openflow::{OfMessage, v13};
//! let bytes = OfMessage::V13(v13::Message::EchoRequest(Default::default())).encode(7).unwrap();
//! assert_eq!(bytes, [4, 2, 0, 8, 0, 0, 0, 7]);
//! let (header, msg) = OfMessage::decode(&bytes).unwrap();
//! assert_eq!(header.xid, 7);
//! assert!(matches!(msg, OfMessage::V13(v13::Message::EchoRequest(_))));
//! ```

#![deny(unsafe_code)]

#[macro_use]
mod macros;

pub mod channel;
pub mod common;
pub mod conformance;
pub mod dataplane;
pub mod error;
pub mod framing;
pub mod header;
pub mod hello;
pub mod learning;
pub mod message;
pub mod pcapng;
pub mod types;
pub mod v10;
pub mod v13;
mod wire;

#[cfg(test)]
mod tests;

pub use error::{DecodeError, EncodeError};
pub use header::{Header, HEADER_LEN, OFP10_VERSION, OFP13_VERSION};
pub use hello::{Hello, HelloElement};
pub use message::OfMessage;
pub use types::{FixedStr, MacAddr};
