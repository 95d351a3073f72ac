//! The 1.0 actions (`ofp_action_*`).

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use crate::error::DecodeError;
use crate::types::{hex_bytes, MacAddr};
use crate::wire::{Reader, Writer};

/// A 1.0 action. Each is a multiple of 8 bytes on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum Action {
    /// `OFPAT_OUTPUT`: send out a port.
    Output {
        /// Output port (`OFPP_*` for reserved ports).
        port: u16,
        /// Bytes to send to the controller when `port` is `OFPP_CONTROLLER`.
        max_len: u16,
    },
    /// `OFPAT_SET_VLAN_VID`.
    SetVlanVid {
        /// VLAN id.
        vlan_vid: u16,
    },
    /// `OFPAT_SET_VLAN_PCP`.
    SetVlanPcp {
        /// VLAN priority.
        vlan_pcp: u8,
    },
    /// `OFPAT_STRIP_VLAN`.
    StripVlan,
    /// `OFPAT_SET_DL_SRC`.
    SetDlSrc {
        /// New Ethernet source.
        dl_addr: MacAddr,
    },
    /// `OFPAT_SET_DL_DST`.
    SetDlDst {
        /// New Ethernet destination.
        dl_addr: MacAddr,
    },
    /// `OFPAT_SET_NW_SRC`.
    SetNwSrc {
        /// New IP source.
        #[cfg_attr(test, proptest(strategy = "crate::tests::ipv4()"))]
        nw_addr: Ipv4Addr,
    },
    /// `OFPAT_SET_NW_DST`.
    SetNwDst {
        /// New IP destination.
        #[cfg_attr(test, proptest(strategy = "crate::tests::ipv4()"))]
        nw_addr: Ipv4Addr,
    },
    /// `OFPAT_SET_NW_TOS`.
    SetNwTos {
        /// New IP ToS.
        nw_tos: u8,
    },
    /// `OFPAT_SET_TP_SRC`.
    SetTpSrc {
        /// New TCP/UDP source port.
        tp_port: u16,
    },
    /// `OFPAT_SET_TP_DST`.
    SetTpDst {
        /// New TCP/UDP destination port.
        tp_port: u16,
    },
    /// `OFPAT_ENQUEUE`: output to a queue of a port.
    Enqueue {
        /// Port the queue belongs to.
        port: u16,
        /// Queue id.
        queue_id: u32,
    },
    /// `OFPAT_VENDOR`: vendor id and opaque body.
    Vendor {
        /// Vendor id.
        vendor: u32,
        /// Body after the 8-byte header.
        #[serde(with = "hex_bytes")]
        data: Vec<u8>,
    },
    /// An action type this crate does not know, body kept raw.
    Unknown {
        /// Action type.
        #[cfg_attr(test, proptest(strategy = "12u16..0xffff"))]
        action_type: u16,
        /// Body after the 4-byte type and length.
        #[serde(with = "hex_bytes")]
        data: Vec<u8>,
    },
}

/// `OFPAT_*` action type values.
pub mod action_type {
    /// Output.
    pub const OUTPUT: u16 = 0;
    /// Set VLAN id.
    pub const SET_VLAN_VID: u16 = 1;
    /// Set VLAN priority.
    pub const SET_VLAN_PCP: u16 = 2;
    /// Strip VLAN header.
    pub const STRIP_VLAN: u16 = 3;
    /// Set Ethernet source.
    pub const SET_DL_SRC: u16 = 4;
    /// Set Ethernet destination.
    pub const SET_DL_DST: u16 = 5;
    /// Set IP source.
    pub const SET_NW_SRC: u16 = 6;
    /// Set IP destination.
    pub const SET_NW_DST: u16 = 7;
    /// Set IP ToS.
    pub const SET_NW_TOS: u16 = 8;
    /// Set TCP/UDP source port.
    pub const SET_TP_SRC: u16 = 9;
    /// Set TCP/UDP destination port.
    pub const SET_TP_DST: u16 = 10;
    /// Output to queue.
    pub const ENQUEUE: u16 = 11;
    /// Vendor.
    pub const VENDOR: u16 = 0xffff;
}

impl Action {
    /// The `OFPAT_*` type.
    pub fn action_type(&self) -> u16 {
        use action_type::*;
        match self {
            Action::Output { .. } => OUTPUT,
            Action::SetVlanVid { .. } => SET_VLAN_VID,
            Action::SetVlanPcp { .. } => SET_VLAN_PCP,
            Action::StripVlan => STRIP_VLAN,
            Action::SetDlSrc { .. } => SET_DL_SRC,
            Action::SetDlDst { .. } => SET_DL_DST,
            Action::SetNwSrc { .. } => SET_NW_SRC,
            Action::SetNwDst { .. } => SET_NW_DST,
            Action::SetNwTos { .. } => SET_NW_TOS,
            Action::SetTpSrc { .. } => SET_TP_SRC,
            Action::SetTpDst { .. } => SET_TP_DST,
            Action::Enqueue { .. } => ENQUEUE,
            Action::Vendor { .. } => VENDOR,
            Action::Unknown { action_type, .. } => *action_type,
        }
    }

    /// Decodes a list of actions filling all of `r`.
    pub(crate) fn decode_list(r: &mut Reader<'_>) -> Result<Vec<Action>, DecodeError> {
        let mut out = Vec::new();
        while !r.is_empty() {
            out.push(Action::decode(r)?);
        }
        Ok(out)
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
        let fixed = |expected: usize| -> Result<(), DecodeError> {
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
                fixed(8)?;
                Action::Output {
                    port: b.u16()?,
                    max_len: b.u16()?,
                }
            }
            SET_VLAN_VID => {
                fixed(8)?;
                let vlan_vid = b.u16()?;
                Action::SetVlanVid { vlan_vid }
            }
            SET_VLAN_PCP => {
                fixed(8)?;
                Action::SetVlanPcp { vlan_pcp: b.u8()? }
            }
            STRIP_VLAN => {
                fixed(8)?;
                Action::StripVlan
            }
            SET_DL_SRC | SET_DL_DST => {
                fixed(16)?;
                let dl_addr = MacAddr::decode(&mut b)?;
                if ty == SET_DL_SRC {
                    Action::SetDlSrc { dl_addr }
                } else {
                    Action::SetDlDst { dl_addr }
                }
            }
            SET_NW_SRC | SET_NW_DST => {
                fixed(8)?;
                let nw_addr = Ipv4Addr::from(b.u32()?);
                if ty == SET_NW_SRC {
                    Action::SetNwSrc { nw_addr }
                } else {
                    Action::SetNwDst { nw_addr }
                }
            }
            SET_NW_TOS => {
                fixed(8)?;
                Action::SetNwTos { nw_tos: b.u8()? }
            }
            SET_TP_SRC | SET_TP_DST => {
                fixed(8)?;
                let tp_port = b.u16()?;
                if ty == SET_TP_SRC {
                    Action::SetTpSrc { tp_port }
                } else {
                    Action::SetTpDst { tp_port }
                }
            }
            ENQUEUE => {
                fixed(16)?;
                let port = b.u16()?;
                b.skip(6)?;
                Action::Enqueue {
                    port,
                    queue_id: b.u32()?,
                }
            }
            VENDOR => {
                let vendor = b.u32()?;
                Action::Vendor {
                    vendor,
                    data: b.rest_vec(),
                }
            }
            _ => Action::Unknown {
                action_type: ty,
                data: b.rest_vec(),
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
                w.u16(*port);
                w.u16(*max_len);
            }
            Action::SetVlanVid { vlan_vid } => {
                w.u16(*vlan_vid);
                w.zeros(2);
            }
            Action::SetVlanPcp { vlan_pcp } => {
                w.u8(*vlan_pcp);
                w.zeros(3);
            }
            Action::StripVlan => w.zeros(4),
            Action::SetDlSrc { dl_addr } | Action::SetDlDst { dl_addr } => {
                dl_addr.encode(w);
                w.zeros(6);
            }
            Action::SetNwSrc { nw_addr } | Action::SetNwDst { nw_addr } => w.u32((*nw_addr).into()),
            Action::SetNwTos { nw_tos } => {
                w.u8(*nw_tos);
                w.zeros(3);
            }
            Action::SetTpSrc { tp_port } | Action::SetTpDst { tp_port } => {
                w.u16(*tp_port);
                w.zeros(2);
            }
            Action::Enqueue { port, queue_id } => {
                w.u16(*port);
                w.zeros(6);
                w.u32(*queue_id);
            }
            Action::Vendor { vendor, data } => {
                w.u32(*vendor);
                w.bytes(data);
            }
            Action::Unknown { data, .. } => w.bytes(data),
        }
        w.patch_len16(at, start, "action");
    }

    pub(crate) fn encode_list(actions: &[Action], w: &mut Writer) {
        for a in actions {
            a.encode(w);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(a: &Action) -> Vec<u8> {
        let mut w = Writer::new();
        a.encode(&mut w);
        w.buf
    }

    #[test]
    fn action_layouts() {
        assert_eq!(
            enc(&Action::Output {
                port: 2,
                max_len: 0xffff
            }),
            [0, 0, 0, 8, 0, 2, 0xff, 0xff]
        );
        assert_eq!(enc(&Action::SetVlanVid { vlan_vid: 5 }), [0, 1, 0, 8, 0, 5, 0, 0]);
        assert_eq!(enc(&Action::StripVlan), [0, 3, 0, 8, 0, 0, 0, 0]);
        assert_eq!(
            enc(&Action::SetDlDst {
                dl_addr: MacAddr([1, 2, 3, 4, 5, 6])
            }),
            [0, 5, 0, 16, 1, 2, 3, 4, 5, 6, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(
            enc(&Action::Enqueue { port: 1, queue_id: 7 }),
            [0, 11, 0, 16, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7]
        );
        assert_eq!(
            enc(&Action::Vendor {
                vendor: 0x2320,
                data: vec![0, 1, 2, 3, 4, 5, 6, 7]
            }),
            [0xff, 0xff, 0, 16, 0, 0, 0x23, 0x20, 0, 1, 2, 3, 4, 5, 6, 7]
        );
    }

    #[test]
    fn bad_lengths_rejected() {
        // output with length 16
        let b = [0, 0, 0, 16, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        assert!(Action::decode_list(&mut Reader::new(&b, "a")).is_err());
        // length past the end
        assert!(Action::decode_list(&mut Reader::new(&[0, 0, 0, 8, 0, 2], "a")).is_err());
        // length 0 must not loop forever
        assert!(Action::decode_list(&mut Reader::new(&[0, 0, 0, 0], "a")).is_err());
    }
}
