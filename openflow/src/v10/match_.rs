//! The 1.0 `ofp_match`: a fixed 40-byte structure with a wildcard bitmap.

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use crate::error::DecodeError;
use crate::types::MacAddr;
use crate::wire::{Reader, Writer};

/// `ofp_match` (40 bytes). Fields whose wildcard bit is set are ignored by the switch but kept here as sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Match {
    /// `OFPFW_*` wildcard bits (see [`wildcards`]).
    pub wildcards: u32,
    /// Input switch port.
    pub in_port: u16,
    /// Ethernet source.
    pub dl_src: MacAddr,
    /// Ethernet destination.
    pub dl_dst: MacAddr,
    /// VLAN id.
    pub dl_vlan: u16,
    /// VLAN priority.
    pub dl_vlan_pcp: u8,
    /// Ethernet frame type.
    pub dl_type: u16,
    /// IP ToS (DSCP in the upper 6 bits).
    pub nw_tos: u8,
    /// IP protocol or the lower 8 bits of the ARP opcode.
    pub nw_proto: u8,
    /// IP source.
    #[cfg_attr(test, proptest(strategy = "crate::tests::ipv4()"))]
    pub nw_src: Ipv4Addr,
    /// IP destination.
    #[cfg_attr(test, proptest(strategy = "crate::tests::ipv4()"))]
    pub nw_dst: Ipv4Addr,
    /// TCP/UDP source port or ICMP type.
    pub tp_src: u16,
    /// TCP/UDP destination port or ICMP code.
    pub tp_dst: u16,
}

/// `OFPFW_*` wildcard bits of [`Match::wildcards`].
pub mod wildcards {
    /// Switch input port.
    pub const IN_PORT: u32 = 1 << 0;
    /// VLAN id.
    pub const DL_VLAN: u32 = 1 << 1;
    /// Ethernet source.
    pub const DL_SRC: u32 = 1 << 2;
    /// Ethernet destination.
    pub const DL_DST: u32 = 1 << 3;
    /// Ethernet frame type.
    pub const DL_TYPE: u32 = 1 << 4;
    /// IP protocol.
    pub const NW_PROTO: u32 = 1 << 5;
    /// TCP/UDP source port.
    pub const TP_SRC: u32 = 1 << 6;
    /// TCP/UDP destination port.
    pub const TP_DST: u32 = 1 << 7;
    /// Shift of the 6-bit count of wildcarded low bits of the IP source.
    pub const NW_SRC_SHIFT: u32 = 8;
    /// Mask of the IP source wildcard count.
    pub const NW_SRC_MASK: u32 = 0x3f << NW_SRC_SHIFT;
    /// The whole IP source wildcarded.
    pub const NW_SRC_ALL: u32 = 32 << NW_SRC_SHIFT;
    /// Shift of the 6-bit count of wildcarded low bits of the IP destination.
    pub const NW_DST_SHIFT: u32 = 14;
    /// Mask of the IP destination wildcard count.
    pub const NW_DST_MASK: u32 = 0x3f << NW_DST_SHIFT;
    /// The whole IP destination wildcarded.
    pub const NW_DST_ALL: u32 = 32 << NW_DST_SHIFT;
    /// VLAN priority.
    pub const DL_VLAN_PCP: u32 = 1 << 20;
    /// IP ToS.
    pub const NW_TOS: u32 = 1 << 21;
    /// Every field wildcarded.
    pub const ALL: u32 = (1 << 22) - 1;
}

impl Default for Match {
    fn default() -> Self {
        Match {
            wildcards: 0,
            in_port: 0,
            dl_src: MacAddr::default(),
            dl_dst: MacAddr::default(),
            dl_vlan: 0,
            dl_vlan_pcp: 0,
            dl_type: 0,
            nw_tos: 0,
            nw_proto: 0,
            nw_src: Ipv4Addr::UNSPECIFIED,
            nw_dst: Ipv4Addr::UNSPECIFIED,
            tp_src: 0,
            tp_dst: 0,
        }
    }
}

impl Match {
    /// Size on the wire.
    pub const LEN: usize = 40;

    /// A match that matches everything (all wildcard bits set, fields zero).
    pub fn all() -> Match {
        Match {
            wildcards: wildcards::ALL,
            ..Match::default()
        }
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Match, DecodeError> {
        let wildcards = r.u32()?;
        let in_port = r.u16()?;
        let dl_src = MacAddr::decode(r)?;
        let dl_dst = MacAddr::decode(r)?;
        let dl_vlan = r.u16()?;
        let dl_vlan_pcp = r.u8()?;
        r.skip(1)?;
        let dl_type = r.u16()?;
        let nw_tos = r.u8()?;
        let nw_proto = r.u8()?;
        r.skip(2)?;
        let nw_src = Ipv4Addr::from(r.u32()?);
        let nw_dst = Ipv4Addr::from(r.u32()?);
        let tp_src = r.u16()?;
        let tp_dst = r.u16()?;
        Ok(Match {
            wildcards,
            in_port,
            dl_src,
            dl_dst,
            dl_vlan,
            dl_vlan_pcp,
            dl_type,
            nw_tos,
            nw_proto,
            nw_src,
            nw_dst,
            tp_src,
            tp_dst,
        })
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.u32(self.wildcards);
        w.u16(self.in_port);
        self.dl_src.encode(w);
        self.dl_dst.encode(w);
        w.u16(self.dl_vlan);
        w.u8(self.dl_vlan_pcp);
        w.zeros(1);
        w.u16(self.dl_type);
        w.u8(self.nw_tos);
        w.u8(self.nw_proto);
        w.zeros(2);
        w.u32(self.nw_src.into());
        w.u32(self.nw_dst.into());
        w.u16(self.tp_src);
        w.u16(self.tp_dst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn match_is_40_bytes_with_fields_at_spec_offsets() {
        let m = Match {
            wildcards: 0x0010_0000,
            in_port: 3,
            dl_src: MacAddr([1, 2, 3, 4, 5, 6]),
            dl_dst: MacAddr([7, 8, 9, 10, 11, 12]),
            dl_vlan: 0x0123,
            dl_vlan_pcp: 5,
            dl_type: 0x0800,
            nw_tos: 0x10,
            nw_proto: 6,
            nw_src: Ipv4Addr::new(10, 0, 0, 1),
            nw_dst: Ipv4Addr::new(10, 0, 0, 2),
            tp_src: 80,
            tp_dst: 8080,
        };
        let mut w = Writer::new();
        m.encode(&mut w);
        let b = w.buf;
        assert_eq!(b.len(), Match::LEN);
        assert_eq!(&b[0..4], &[0, 0x10, 0, 0]);
        assert_eq!(&b[4..6], &[0, 3]);
        assert_eq!(&b[6..12], &[1, 2, 3, 4, 5, 6]);
        assert_eq!(&b[12..18], &[7, 8, 9, 10, 11, 12]);
        assert_eq!(&b[18..20], &[1, 0x23]);
        assert_eq!(b[20], 5);
        assert_eq!(&b[22..24], &[8, 0]);
        assert_eq!(b[24], 0x10);
        assert_eq!(b[25], 6);
        assert_eq!(&b[28..32], &[10, 0, 0, 1]);
        assert_eq!(&b[32..36], &[10, 0, 0, 2]);
        assert_eq!(&b[36..38], &[0, 80]);
        assert_eq!(&b[38..40], &[0x1f, 0x90]);
        assert_eq!(Match::decode(&mut Reader::new(&b, "m")).unwrap(), m);
        assert!(Match::decode(&mut Reader::new(&b[..39], "m")).is_err());
    }
}
