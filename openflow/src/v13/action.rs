//! The 1.3 actions (`ofp_action_*`), including set-field with an OXM.

use serde::{Deserialize, Serialize};

use super::oxm::OxmField;
use crate::error::DecodeError;
use crate::types::hex_bytes;
use crate::wire::{pad8, Reader, Writer};

/// A 1.3 action. Each is a multiple of 8 bytes on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum Action {
    /// `OFPAT_OUTPUT` (16 bytes).
    Output {
        /// Output port.
        port: u32,
        /// Bytes to send to the controller (`OFPCML_NO_BUFFER` = 0xffff for the whole packet).
        max_len: u16,
    },
    /// `OFPAT_COPY_TTL_OUT`.
    CopyTtlOut,
    /// `OFPAT_COPY_TTL_IN`.
    CopyTtlIn,
    /// `OFPAT_SET_MPLS_TTL`.
    SetMplsTtl {
        /// New MPLS TTL.
        mpls_ttl: u8,
    },
    /// `OFPAT_DEC_MPLS_TTL`.
    DecMplsTtl,
    /// `OFPAT_PUSH_VLAN`.
    PushVlan {
        /// Ethertype of the new tag (0x8100 or 0x88a8).
        ethertype: u16,
    },
    /// `OFPAT_POP_VLAN`.
    PopVlan,
    /// `OFPAT_PUSH_MPLS`.
    PushMpls {
        /// Ethertype (0x8847 or 0x8848).
        ethertype: u16,
    },
    /// `OFPAT_POP_MPLS`.
    PopMpls {
        /// Ethertype of the payload.
        ethertype: u16,
    },
    /// `OFPAT_SET_QUEUE`.
    SetQueue {
        /// Queue id.
        queue_id: u32,
    },
    /// `OFPAT_GROUP`.
    Group {
        /// Group id.
        group_id: u32,
    },
    /// `OFPAT_SET_NW_TTL`.
    SetNwTtl {
        /// New IP TTL.
        nw_ttl: u8,
    },
    /// `OFPAT_DEC_NW_TTL`.
    DecNwTtl,
    /// `OFPAT_SET_FIELD`: one OXM TLV, padded to 8 bytes.
    SetField(OxmField),
    /// `OFPAT_PUSH_PBB`.
    PushPbb {
        /// Ethertype (0x88e7).
        ethertype: u16,
    },
    /// `OFPAT_POP_PBB`.
    PopPbb,
    /// `OFPAT_EXPERIMENTER`.
    Experimenter {
        /// Experimenter id.
        experimenter: u32,
        /// Body after the experimenter id.
        #[serde(with = "hex_bytes")]
        data: Vec<u8>,
    },
    /// An action type this crate does not know, kept raw.
    Unknown {
        /// Action type.
        #[cfg_attr(test, proptest(strategy = "crate::v13::action::tests::unknown_type()"))]
        action_type: u16,
        /// Body after type and length.
        #[serde(with = "hex_bytes")]
        data: Vec<u8>,
    },
}

/// `OFPAT_*` action types of 1.3.
pub mod action_type {
    /// Output.
    pub const OUTPUT: u16 = 0;
    /// Copy TTL outwards.
    pub const COPY_TTL_OUT: u16 = 11;
    /// Copy TTL inwards.
    pub const COPY_TTL_IN: u16 = 12;
    /// Set MPLS TTL.
    pub const SET_MPLS_TTL: u16 = 15;
    /// Decrement MPLS TTL.
    pub const DEC_MPLS_TTL: u16 = 16;
    /// Push VLAN tag.
    pub const PUSH_VLAN: u16 = 17;
    /// Pop VLAN tag.
    pub const POP_VLAN: u16 = 18;
    /// Push MPLS label.
    pub const PUSH_MPLS: u16 = 19;
    /// Pop MPLS label.
    pub const POP_MPLS: u16 = 20;
    /// Set queue.
    pub const SET_QUEUE: u16 = 21;
    /// Apply group.
    pub const GROUP: u16 = 22;
    /// Set IP TTL.
    pub const SET_NW_TTL: u16 = 23;
    /// Decrement IP TTL.
    pub const DEC_NW_TTL: u16 = 24;
    /// Set a header field.
    pub const SET_FIELD: u16 = 25;
    /// Push PBB service tag.
    pub const PUSH_PBB: u16 = 26;
    /// Pop PBB service tag.
    pub const POP_PBB: u16 = 27;
    /// Experimenter.
    pub const EXPERIMENTER: u16 = 0xffff;
    /// Every type this crate decodes.
    pub const KNOWN: [u16; 17] = [
        0, 11, 12, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 0xffff,
    ];
}

impl Action {
    /// The `OFPAT_*` type.
    pub fn action_type(&self) -> u16 {
        use action_type::*;
        match self {
            Action::Output { .. } => OUTPUT,
            Action::CopyTtlOut => COPY_TTL_OUT,
            Action::CopyTtlIn => COPY_TTL_IN,
            Action::SetMplsTtl { .. } => SET_MPLS_TTL,
            Action::DecMplsTtl => DEC_MPLS_TTL,
            Action::PushVlan { .. } => PUSH_VLAN,
            Action::PopVlan => POP_VLAN,
            Action::PushMpls { .. } => PUSH_MPLS,
            Action::PopMpls { .. } => POP_MPLS,
            Action::SetQueue { .. } => SET_QUEUE,
            Action::Group { .. } => GROUP,
            Action::SetNwTtl { .. } => SET_NW_TTL,
            Action::DecNwTtl => DEC_NW_TTL,
            Action::SetField(_) => SET_FIELD,
            Action::PushPbb { .. } => PUSH_PBB,
            Action::PopPbb => POP_PBB,
            Action::Experimenter { .. } => EXPERIMENTER,
            Action::Unknown { action_type, .. } => *action_type,
        }
    }

    /// Decodes actions filling all of `r`.
    pub(crate) fn decode_list(r: &mut Reader<'_>) -> Result<Vec<Action>, DecodeError> {
        let mut out = Vec::new();
        while !r.is_empty() {
            out.push(Action::decode(r)?);
        }
        Ok(out)
    }

    pub(crate) fn encode_list(actions: &[Action], w: &mut Writer) {
        for a in actions {
            a.encode(w);
        }
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Action, DecodeError> {
        use action_type::*;
        let ty = r.u16()?;
        let len = usize::from(r.u16()?);
        if len < 4 {
            return Err(DecodeError::BadLength {
                what: "action",
                length: len,
            });
        }
        let mut b = r.sub(len - 4, "action")?;
        let b = &mut b;
        let fixed = |expected: usize| {
            if len == expected {
                Ok(())
            } else {
                Err(DecodeError::BadLength {
                    what: "action",
                    length: len,
                })
            }
        };
        let a = match ty {
            OUTPUT => {
                fixed(16)?;
                let port = b.u32()?;
                Action::Output {
                    port,
                    max_len: b.u16()?,
                }
            }
            COPY_TTL_OUT | COPY_TTL_IN | DEC_MPLS_TTL | POP_VLAN | DEC_NW_TTL | POP_PBB => {
                fixed(8)?;
                match ty {
                    COPY_TTL_OUT => Action::CopyTtlOut,
                    COPY_TTL_IN => Action::CopyTtlIn,
                    DEC_MPLS_TTL => Action::DecMplsTtl,
                    POP_VLAN => Action::PopVlan,
                    DEC_NW_TTL => Action::DecNwTtl,
                    _ => Action::PopPbb,
                }
            }
            SET_MPLS_TTL => {
                fixed(8)?;
                Action::SetMplsTtl { mpls_ttl: b.u8()? }
            }
            SET_NW_TTL => {
                fixed(8)?;
                Action::SetNwTtl { nw_ttl: b.u8()? }
            }
            PUSH_VLAN | PUSH_MPLS | POP_MPLS | PUSH_PBB => {
                fixed(8)?;
                let ethertype = b.u16()?;
                match ty {
                    PUSH_VLAN => Action::PushVlan { ethertype },
                    PUSH_MPLS => Action::PushMpls { ethertype },
                    POP_MPLS => Action::PopMpls { ethertype },
                    _ => Action::PushPbb { ethertype },
                }
            }
            SET_QUEUE => {
                fixed(8)?;
                Action::SetQueue { queue_id: b.u32()? }
            }
            GROUP => {
                fixed(8)?;
                Action::Group { group_id: b.u32()? }
            }
            SET_FIELD => {
                let field = OxmField::decode(b)?;
                let oxm_len = len - 4 - b.remaining();
                if b.remaining() != pad8(4 + oxm_len) {
                    return Err(DecodeError::BadLength {
                        what: "set-field action",
                        length: len,
                    });
                }
                Action::SetField(field)
            }
            EXPERIMENTER => {
                let experimenter = b.u32()?;
                Action::Experimenter {
                    experimenter,
                    data: b.rest().to_vec(),
                }
            }
            _ => Action::Unknown {
                action_type: ty,
                data: b.rest().to_vec(),
            },
        };
        Ok(a)
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        let start = w.len();
        w.u16(self.action_type());
        let at = w.placeholder16();
        match self {
            Action::Output { port, max_len } => {
                w.u32(*port);
                w.u16(*max_len);
                w.zeros(6);
            }
            Action::CopyTtlOut
            | Action::CopyTtlIn
            | Action::DecMplsTtl
            | Action::PopVlan
            | Action::DecNwTtl
            | Action::PopPbb => w.zeros(4),
            Action::SetMplsTtl { mpls_ttl: v } | Action::SetNwTtl { nw_ttl: v } => {
                w.u8(*v);
                w.zeros(3);
            }
            Action::PushVlan { ethertype }
            | Action::PushMpls { ethertype }
            | Action::PopMpls { ethertype }
            | Action::PushPbb { ethertype } => {
                w.u16(*ethertype);
                w.zeros(2);
            }
            Action::SetQueue { queue_id: v } | Action::Group { group_id: v } => w.u32(*v),
            Action::SetField(f) => {
                f.encode(w);
                w.pad8_from(start);
            }
            Action::Experimenter { experimenter, data } => {
                w.u32(*experimenter);
                w.bytes(data);
            }
            Action::Unknown { data, .. } => w.bytes(data),
        }
        w.patch_len16(at, start, "action");
    }
}

/// An action type in a table-features property (4 bytes, or more for experimenter actions).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct ActionId {
    /// `OFPAT_*` type.
    pub action_type: u16,
    /// Bytes after type and length (the experimenter id for experimenter actions).
    #[serde(default, skip_serializing_if = "Vec::is_empty", with = "hex_bytes")]
    pub data: Vec<u8>,
}

impl ActionId {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<ActionId, DecodeError> {
        let action_type = r.u16()?;
        let len = usize::from(r.u16()?);
        if len < 4 {
            return Err(DecodeError::BadLength {
                what: "action id",
                length: len,
            });
        }
        Ok(ActionId {
            action_type,
            data: r.bytes(len - 4)?.to_vec(),
        })
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        let start = w.len();
        w.u16(self.action_type);
        let at = w.placeholder16();
        w.bytes(&self.data);
        w.patch_len16(at, start, "action id");
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::net::Ipv4Addr;

    pub(crate) fn unknown_type() -> impl Strategy<Value = u16> {
        any::<u16>().prop_filter("known", |t| !action_type::KNOWN.contains(t))
    }

    fn enc(a: &Action) -> Vec<u8> {
        let mut w = Writer::new();
        a.encode(&mut w);
        w.into_result().unwrap()
    }

    #[test]
    fn action_layouts() {
        assert_eq!(
            enc(&Action::Output {
                port: 0xfffffffd,
                max_len: 0xffff
            }),
            [0, 0, 0, 16, 0xff, 0xff, 0xff, 0xfd, 0xff, 0xff, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(
            enc(&Action::PushVlan { ethertype: 0x8100 }),
            [0, 17, 0, 8, 0x81, 0, 0, 0]
        );
        assert_eq!(enc(&Action::Group { group_id: 3 }), [0, 22, 0, 8, 0, 0, 0, 3]);
        assert_eq!(enc(&Action::DecNwTtl), [0, 24, 0, 8, 0, 0, 0, 0]);
        // set-field ipv4_dst: 4 + 8 = 12 -> padded to 16
        let a = Action::SetField(OxmField::Ipv4Dst {
            value: Ipv4Addr::new(1, 2, 3, 4),
            mask: None,
        });
        let b = enc(&a);
        assert_eq!(b, [0, 25, 0, 16, 0x80, 0, 0x18, 4, 1, 2, 3, 4, 0, 0, 0, 0]);
        let mut r = Reader::new(&b, "t");
        assert_eq!(Action::decode(&mut r).unwrap(), a);
        // set-field with eth_src: 4 + 10 = 14 -> 16
        let b = enc(&Action::SetField(OxmField::EthSrc {
            value: crate::MacAddr([1; 6]),
            mask: None,
        }));
        assert_eq!(b.len(), 16);
        // set-field whose length leaves the wrong padding
        let bad = [
            0, 25, 0, 24, 0x80, 0, 0x18, 4, 1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        assert!(Action::decode(&mut Reader::new(&bad, "t")).is_err());
    }
}
