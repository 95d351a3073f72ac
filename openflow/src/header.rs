//! The 8-byte header every OpenFlow message starts with.

use serde::{Deserialize, Serialize};

use crate::error::DecodeError;
use crate::wire::Reader;

/// Size of the header on the wire.
pub const HEADER_LEN: usize = 8;

/// Wire version of OpenFlow 1.0.
pub const OFP10_VERSION: u8 = 0x01;

/// Wire version of OpenFlow 1.3.
pub const OFP13_VERSION: u8 = 0x04;

/// `ofp_header`: version, type, total length and transaction id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Header {
    /// Protocol version (0x01 for 1.0, 0x04 for 1.3).
    pub version: u8,
    /// Message type (its meaning depends on the version).
    pub msg_type: u8,
    /// Length of the whole message including this header.
    pub length: u16,
    /// Transaction id.
    pub xid: u32,
}

impl Header {
    /// Reads a header from the first 8 bytes of `bytes`.
    pub fn decode(bytes: &[u8]) -> Result<Header, DecodeError> {
        let mut r = Reader::new(bytes, "ofp_header");
        Ok(Header {
            version: r.u8()?,
            msg_type: r.u8()?,
            length: r.u16()?,
            xid: r.u32()?,
        })
    }

    /// The 8 header bytes.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let [l0, l1] = self.length.to_be_bytes();
        let [x0, x1, x2, x3] = self.xid.to_be_bytes();
        [self.version, self.msg_type, l0, l1, x0, x1, x2, x3]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_layout() {
        let h = Header {
            version: 4,
            msg_type: 14,
            length: 0x0138,
            xid: 0x0102_0304,
        };
        let b = h.encode();
        assert_eq!(b, [4, 14, 0x01, 0x38, 1, 2, 3, 4]);
        assert_eq!(Header::decode(&b).unwrap(), h);
        assert!(Header::decode(&b[..7]).is_err());
    }
}
