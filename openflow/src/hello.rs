//! The hello message and its elements (1.3 version bitmap), shared by every version.

use serde::{Deserialize, Serialize};

use crate::error::DecodeError;
use crate::types::hex_bytes;
use crate::wire::{pad8, Reader, Writer};

/// Hello element type of the version bitmap.
pub const HELLO_ELEM_VERSIONBITMAP: u16 = 1;

/// `OFPT_HELLO`: the list of hello elements (empty for a plain 1.0 hello).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Hello {
    /// Elements in wire order.
    pub elements: Vec<HelloElement>,
}

/// One hello element. Each is padded to a multiple of 8 bytes on the wire; its length field excludes padding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum HelloElement {
    /// `OFPHET_VERSIONBITMAP`: bit `v` of word `v / 32` set when wire version `v` is supported.
    VersionBitmap(Vec<u32>),
    /// Any other element type (or a bitmap whose length is not a whole number of words), kept raw.
    Unknown {
        /// Element type.
        #[cfg_attr(test, proptest(strategy = "2u16.."))]
        element_type: u16,
        /// Body after the 4-byte element header, without padding.
        #[serde(with = "hex_bytes")]
        data: Vec<u8>,
    },
}

impl Hello {
    /// A hello advertising exactly these wire versions in a version bitmap.
    pub fn with_versions(versions: &[u8]) -> Hello {
        let words = versions
            .iter()
            .map(|v| usize::from(*v) / 32 + 1)
            .max()
            .unwrap_or(1);
        let mut bitmap = vec![0u32; words];
        for v in versions {
            if let Some(word) = bitmap.get_mut(usize::from(*v) / 32) {
                *word |= 1 << (v % 32);
            }
        }
        Hello {
            elements: vec![HelloElement::VersionBitmap(bitmap)],
        }
    }

    /// The versions named by the first version bitmap element, if there is one.
    pub fn versions(&self) -> Option<Vec<u8>> {
        self.elements.iter().find_map(|e| match e {
            HelloElement::VersionBitmap(words) => Some(
                (0..words.len().saturating_mul(32).min(256))
                    .filter(|v| words.get(v / 32).is_some_and(|w| w & (1 << (v % 32)) != 0))
                    .filter_map(|v| u8::try_from(v).ok())
                    .collect(),
            ),
            HelloElement::Unknown { .. } => None,
        })
    }

    /// Decodes a hello body (everything after the header).
    pub fn decode_body(body: &[u8]) -> Result<Hello, DecodeError> {
        let mut r = Reader::new(body, "hello");
        Self::decode(&mut r)
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Hello, DecodeError> {
        let mut elements = Vec::new();
        while !r.is_empty() {
            let element_type = r.u16()?;
            let len = usize::from(r.u16()?);
            if len < 4 {
                return Err(DecodeError::BadLength {
                    what: "hello element",
                    length: len,
                });
            }
            let mut body = r.sub(len - 4, "hello element")?;
            r.skip(pad8(len))?;
            let element = if element_type == HELLO_ELEM_VERSIONBITMAP && body.remaining() % 4 == 0 {
                let mut words = Vec::new();
                while !body.is_empty() {
                    words.push(body.u32()?);
                }
                HelloElement::VersionBitmap(words)
            } else {
                HelloElement::Unknown {
                    element_type,
                    data: body.rest_vec(),
                }
            };
            elements.push(element);
        }
        Ok(Hello { elements })
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        for e in &self.elements {
            let start = w.len();
            match e {
                HelloElement::VersionBitmap(words) => {
                    w.u16(HELLO_ELEM_VERSIONBITMAP);
                    let at = w.placeholder16();
                    for word in words {
                        w.u32(*word);
                    }
                    w.patch_len16(at, start, "hello element");
                }
                HelloElement::Unknown { element_type, data } => {
                    w.u16(*element_type);
                    let at = w.placeholder16();
                    w.bytes(data);
                    w.patch_len16(at, start, "hello element");
                }
            }
            w.pad8_from(start);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_bitmap_layout() {
        let h = Hello::with_versions(&[1, 4]);
        let mut w = Writer::new();
        h.encode(&mut w);
        // type 1, length 8, bitmap 0b10010
        assert_eq!(w.buf, [0, 1, 0, 8, 0, 0, 0, 0x12]);
        assert_eq!(h.versions(), Some(vec![1, 4]));
        assert_eq!(Hello::decode_body(&w.buf).unwrap(), h);
    }

    #[test]
    fn unknown_element_is_padded() {
        let h = Hello {
            elements: vec![HelloElement::Unknown {
                element_type: 7,
                data: vec![1, 2, 3],
            }],
        };
        let mut w = Writer::new();
        h.encode(&mut w);
        assert_eq!(w.buf, [0, 7, 0, 7, 1, 2, 3, 0]);
        assert_eq!(Hello::decode_body(&w.buf).unwrap(), h);
        assert!(Hello::decode_body(&[0, 7, 0, 3]).is_err());
        assert!(Hello::decode_body(&[0, 7, 0, 7, 1, 2, 3]).is_err());
    }
}
