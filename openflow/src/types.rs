//! Small value types shared by both versions: MAC addresses, fixed-size NUL-padded strings, hex byte strings.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{DecodeError, EncodeError};
use crate::wire::{Reader, Writer};

/// An Ethernet MAC address; serialised as `"aa:bb:cc:dd:ee:ff"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(MacAddr(r.array()?))
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.bytes(&self.0);
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

/// A MAC address string that is not six colon-separated hex bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid MAC address {0:?}")]
pub struct MacParseError(pub String);

impl FromStr for MacAddr {
    type Err = MacParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut out = [0u8; 6];
        let mut parts = s.split([':', '-']);
        for b in out.iter_mut() {
            let p = parts.next().ok_or_else(|| MacParseError(s.to_string()))?;
            if p.is_empty() || p.len() > 2 {
                return Err(MacParseError(s.to_string()));
            }
            *b = u8::from_str_radix(p, 16).map_err(|_| MacParseError(s.to_string()))?;
        }
        if parts.next().is_some() {
            return Err(MacParseError(s.to_string()));
        }
        Ok(MacAddr(out))
    }
}

impl Serialize for MacAddr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for MacAddr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A NUL-padded string field of `N` bytes (port names, table names, description strings).
///
/// Holds the field's bytes up to its last non-zero byte, so any field decodes and re-encodes byte-exactly.
/// Serialised as a string (non-UTF-8 bytes are replaced when printing).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct FixedStr<const N: usize>(Vec<u8>);

impl<const N: usize> FixedStr<N> {
    /// A field holding `s`. Longer than `N` bytes fails when encoding.
    pub fn new(s: &str) -> Self {
        Self::from_bytes(s.as_bytes())
    }

    /// A field holding these bytes (trailing NULs dropped).
    pub fn from_bytes(b: &[u8]) -> Self {
        let end = b.iter().rposition(|&c| c != 0).map_or(0, |i| i + 1);
        FixedStr(b.get(..end).unwrap_or_default().to_vec())
    }

    /// The raw bytes, without trailing NULs.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The text up to the first NUL, lossily decoded.
    pub fn to_string_lossy(&self) -> String {
        let end = self.0.iter().position(|&c| c == 0).unwrap_or(self.0.len());
        String::from_utf8_lossy(self.0.get(..end).unwrap_or_default()).into_owned()
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self::from_bytes(r.bytes(N)?))
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        if self.0.len() > N {
            w.fail(EncodeError::TooLong {
                what: "fixed-size string",
                length: self.0.len(),
                max: N,
            });
        }
        let n = self.0.len().min(N);
        w.bytes(self.0.get(..n).unwrap_or_default());
        w.zeros(N - n);
    }
}

impl<const N: usize> From<&str> for FixedStr<N> {
    fn from(s: &str) -> Self {
        Self::new(s)
    }
}

impl<const N: usize> fmt::Display for FixedStr<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_string_lossy())
    }
}

impl<const N: usize> Serialize for FixedStr<N> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&String::from_utf8_lossy(&self.0))
    }
}

impl<'de, const N: usize> Deserialize<'de> for FixedStr<N> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(Self::new(&s))
    }
}

#[cfg(test)]
impl<const N: usize> proptest::arbitrary::Arbitrary for FixedStr<N> {
    type Parameters = ();
    type Strategy = proptest::strategy::BoxedStrategy<Self>;
    fn arbitrary_with(_: ()) -> Self::Strategy {
        use proptest::strategy::Strategy;
        proptest::collection::vec(0x20u8..0x7f, 0..N)
            .prop_map(|v| Self::from_bytes(&v))
            .boxed()
    }
}

/// Serde helper: `Vec<u8>` as a lowercase hex string.
pub mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes bytes as hex.
    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        let mut out = String::with_capacity(v.len() * 2);
        for b in v {
            out.push_str(&format!("{b:02x}"));
        }
        s.serialize_str(&out)
    }

    /// Reads bytes from hex.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        let s = s.as_bytes();
        if s.len() % 2 != 0 {
            return Err(serde::de::Error::custom("hex string of odd length"));
        }
        s.chunks(2)
            .map(|c| {
                std::str::from_utf8(c)
                    .ok()
                    .and_then(|t| u8::from_str_radix(t, 16).ok())
                    .ok_or_else(|| serde::de::Error::custom("invalid hex digit"))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_text() {
        let m: MacAddr = "00:1b:21:3c:4d:5e".parse().unwrap();
        assert_eq!(m.0, [0, 0x1b, 0x21, 0x3c, 0x4d, 0x5e]);
        assert_eq!(m.to_string(), "00:1b:21:3c:4d:5e");
        assert!("00:1b:21:3c:4d".parse::<MacAddr>().is_err());
        assert!("00:1b:21:3c:4d:5e:7".parse::<MacAddr>().is_err());
        assert_eq!(serde_json::to_string(&m).unwrap(), "\"00:1b:21:3c:4d:5e\"");
    }

    #[test]
    fn fixed_str_keeps_bytes() {
        let mut r = Reader::new(b"eth0\0junk\0\0\0\0\0\0\0", "t");
        let s = FixedStr::<16>::decode(&mut r).unwrap();
        assert_eq!(s.to_string(), "eth0");
        let mut w = Writer::new();
        s.encode(&mut w);
        assert_eq!(w.buf, b"eth0\0junk\0\0\0\0\0\0\0");
        let mut w = Writer::new();
        FixedStr::<4>::new("toolong").encode(&mut w);
        assert!(w.into_result().is_err());
    }
}
