//! Errors of the codec: what can go wrong when decoding bytes or encoding a typed message.

use thiserror::Error;

/// Why some bytes could not be decoded as an OpenFlow message.
///
/// Decoding never panics; every malformed input ends in one of these.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// Fewer bytes than a structure needs.
    #[error("truncated {what}: needs {needed} bytes, {available} available")]
    Truncated {
        /// The structure being read.
        what: &'static str,
        /// Bytes it needs.
        needed: usize,
        /// Bytes left.
        available: usize,
    },
    /// A length field is impossible (too small for its structure, or past the end of its container).
    #[error("bad length {length} in {what}")]
    BadLength {
        /// The structure whose length field is wrong.
        what: &'static str,
        /// The length read.
        length: usize,
    },
    /// Bytes left over after a structure of fixed size.
    #[error("{count} unexpected trailing bytes after {what}")]
    TrailingBytes {
        /// The structure.
        what: &'static str,
        /// How many bytes are left.
        count: usize,
    },
    /// The header's length field does not match the bytes handed to the decoder.
    #[error("header says {header} bytes but {actual} were given")]
    LengthMismatch {
        /// Length in the header.
        header: u16,
        /// Bytes given.
        actual: usize,
    },
    /// A value the codec cannot represent (for example a 1.3 match that is not of type OXM).
    #[error("unsupported {what} {value}")]
    Unsupported {
        /// What kind of value.
        what: &'static str,
        /// The value seen.
        value: u32,
    },
}

/// Why a typed message could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EncodeError {
    /// Something is longer than its length field can express (a message over 65,535 bytes, an OXM value over
    /// 255 bytes, a fixed-size string that does not fit).
    #[error("{what} is {length} bytes, more than the {max} its length field allows")]
    TooLong {
        /// What overflowed.
        what: &'static str,
        /// Its length.
        length: usize,
        /// The largest length allowed.
        max: usize,
    },
}
