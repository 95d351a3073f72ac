//! The table of match fields the catalogue generates cases from: for each field the probe that carries it,
//! how to read it as an OXM TLV or set it in a 1.0 match, how to change it (in bits a mask keeps or in bits
//! it wildcards) and which fields it depends on.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::probe::{Probe, L3, L4};
use crate::v10::match_::wildcards as w;
use crate::v13::oxm::{OxmField, OFPVID_PRESENT, U24};
use crate::{v10, MacAddr};

/// A match field (the OXM basic fields; 1.0 maps a subset onto `ofp_match`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub(crate) enum Field {
    InPort,
    InPhyPort,
    Metadata,
    EthDst,
    EthSrc,
    EthType,
    VlanVid,
    VlanPcp,
    IpDscp,
    IpEcn,
    IpProto,
    Ipv4Src,
    Ipv4Dst,
    TcpSrc,
    TcpDst,
    UdpSrc,
    UdpDst,
    SctpSrc,
    SctpDst,
    Icmpv4Type,
    Icmpv4Code,
    ArpOp,
    ArpSpa,
    ArpTpa,
    ArpSha,
    ArpTha,
    Ipv6Src,
    Ipv6Dst,
    Ipv6Flabel,
    Icmpv6Type,
    Icmpv6Code,
    Ipv6NdTarget,
    Ipv6NdSll,
    Ipv6NdTll,
    MplsLabel,
    MplsTc,
    MplsBos,
    PbbIsid,
    TunnelId,
    Ipv6Exthdr,
}

/// Every field, in OXM order.
pub(crate) const ALL: &[Field] = &[
    Field::InPort,
    Field::InPhyPort,
    Field::Metadata,
    Field::EthDst,
    Field::EthSrc,
    Field::EthType,
    Field::VlanVid,
    Field::VlanPcp,
    Field::IpDscp,
    Field::IpEcn,
    Field::IpProto,
    Field::Ipv4Src,
    Field::Ipv4Dst,
    Field::TcpSrc,
    Field::TcpDst,
    Field::UdpSrc,
    Field::UdpDst,
    Field::SctpSrc,
    Field::SctpDst,
    Field::Icmpv4Type,
    Field::Icmpv4Code,
    Field::ArpOp,
    Field::ArpSpa,
    Field::ArpTpa,
    Field::ArpSha,
    Field::ArpTha,
    Field::Ipv6Src,
    Field::Ipv6Dst,
    Field::Ipv6Flabel,
    Field::Icmpv6Type,
    Field::Icmpv6Code,
    Field::Ipv6NdTarget,
    Field::Ipv6NdSll,
    Field::Ipv6NdTll,
    Field::MplsLabel,
    Field::MplsTc,
    Field::MplsBos,
    Field::PbbIsid,
    Field::TunnelId,
    Field::Ipv6Exthdr,
];

impl Field {
    /// Lower-case OXM name (`ipv4_src`).
    pub fn name(self) -> &'static str {
        use Field::*;
        match self {
            InPort => "in_port",
            InPhyPort => "in_phy_port",
            Metadata => "metadata",
            EthDst => "eth_dst",
            EthSrc => "eth_src",
            EthType => "eth_type",
            VlanVid => "vlan_vid",
            VlanPcp => "vlan_pcp",
            IpDscp => "ip_dscp",
            IpEcn => "ip_ecn",
            IpProto => "ip_proto",
            Ipv4Src => "ipv4_src",
            Ipv4Dst => "ipv4_dst",
            TcpSrc => "tcp_src",
            TcpDst => "tcp_dst",
            UdpSrc => "udp_src",
            UdpDst => "udp_dst",
            SctpSrc => "sctp_src",
            SctpDst => "sctp_dst",
            Icmpv4Type => "icmpv4_type",
            Icmpv4Code => "icmpv4_code",
            ArpOp => "arp_op",
            ArpSpa => "arp_spa",
            ArpTpa => "arp_tpa",
            ArpSha => "arp_sha",
            ArpTha => "arp_tha",
            Ipv6Src => "ipv6_src",
            Ipv6Dst => "ipv6_dst",
            Ipv6Flabel => "ipv6_flabel",
            Icmpv6Type => "icmpv6_type",
            Icmpv6Code => "icmpv6_code",
            Ipv6NdTarget => "ipv6_nd_target",
            Ipv6NdSll => "ipv6_nd_sll",
            Ipv6NdTll => "ipv6_nd_tll",
            MplsLabel => "mpls_label",
            MplsTc => "mpls_tc",
            MplsBos => "mpls_bos",
            PbbIsid => "pbb_isid",
            TunnelId => "tunnel_id",
            Ipv6Exthdr => "ipv6_exthdr",
        }
    }

    /// 1.3 §7.2.3.7: the fields every switch must support.
    pub fn required(self) -> bool {
        use Field::*;
        matches!(
            self,
            InPort
                | EthDst
                | EthSrc
                | EthType
                | IpProto
                | Ipv4Src
                | Ipv4Dst
                | Ipv6Src
                | Ipv6Dst
                | TcpSrc
                | TcpDst
                | UdpSrc
                | UdpDst
        )
    }

    /// 1.3 Table 12: fields a mask may be given for, among those whose masked match the data plane shows.
    pub fn maskable(self) -> bool {
        use Field::*;
        matches!(
            self,
            EthDst
                | EthSrc
                | VlanVid
                | Ipv4Src
                | Ipv4Dst
                | ArpSpa
                | ArpTpa
                | ArpSha
                | ArpTha
                | Ipv6Src
                | Ipv6Dst
                | Ipv6Flabel
        )
    }

    /// Whether a frame that misses the field can be built (false: the case only checks the hit).
    pub fn can_miss(self) -> bool {
        !matches!(
            self,
            Field::InPhyPort | Field::Metadata | Field::TunnelId | Field::PbbIsid | Field::Ipv6Exthdr
        )
    }

    /// Whether the field can be rewritten with set-field (1.3 §7.2.5: every field but these).
    pub fn settable(self) -> bool {
        !matches!(
            self,
            Field::InPort
                | Field::InPhyPort
                | Field::Metadata
                | Field::EthType
                | Field::IpProto
                | Field::Ipv6Exthdr
                | Field::MplsBos
                | Field::PbbIsid
                | Field::TunnelId
                | Field::SctpSrc
                | Field::SctpDst
        )
    }

    /// The probe that carries the field.
    pub fn base(self) -> Probe {
        use Field::*;
        match self {
            VlanVid | VlanPcp => Probe::vlan(),
            TcpSrc | TcpDst => Probe::tcp(),
            SctpSrc | SctpDst => Probe::sctp(),
            Icmpv4Type | Icmpv4Code => Probe::icmp(),
            ArpOp | ArpSpa | ArpTpa | ArpSha | ArpTha => Probe::arp(),
            Ipv6Src | Ipv6Dst | Ipv6Flabel | Ipv6Exthdr => Probe::udp6(),
            Icmpv6Type | Icmpv6Code => Probe::icmp6(),
            Ipv6NdTarget | Ipv6NdSll => Probe::nd(135),
            Ipv6NdTll => Probe::nd(136),
            MplsLabel | MplsTc | MplsBos => Probe::mpls(),
            _ => Probe::udp(),
        }
    }
}

fn flip_mac(m: MacAddr, high: bool) -> MacAddr {
    let mut b = m.0;
    if high {
        b[1] ^= 0x40;
    } else {
        b[5] ^= 0x01;
    }
    MacAddr(b)
}

fn flip_v4(a: Ipv4Addr, high: bool) -> Ipv4Addr {
    let bit = if high { 1 << 16 } else { 1 };
    Ipv4Addr::from(u32::from(a) ^ bit)
}

fn flip_v6(a: Ipv6Addr, high: bool) -> Ipv6Addr {
    let bit: u128 = if high { 1 << 100 } else { 1 };
    Ipv6Addr::from(u128::from(a) ^ bit)
}

/// The probe with the field changed: in bits the case's mask keeps (`high`) or in bits it wildcards.
/// For fields without a mask any change is `high`. `None` when the field cannot be changed in a frame.
pub(crate) fn vary(f: Field, p: &Probe, high: bool) -> Option<Probe> {
    use Field::*;
    let mut q = p.clone();
    match (f, &mut q.l3) {
        (EthDst, _) => q.eth_dst = flip_mac(q.eth_dst, high),
        (EthSrc, _) => q.eth_src = flip_mac(q.eth_src, high),
        // Another EtherType: ARP, or IPv4 when the probe is ARP.
        (EthType, L3::Arp { .. }) => return Some(Probe::udp()),
        (EthType, _) => return Some(Probe::arp()),
        (VlanVid, _) => {
            let (vid, pcp) = q.vlan?;
            q.vlan = Some((vid ^ if high { 0x100 } else { 1 }, pcp));
        }
        (VlanPcp, _) => {
            let (vid, pcp) = q.vlan?;
            q.vlan = Some((vid, pcp ^ 4));
        }
        (IpDscp, L3::Ipv4 { dscp, .. }) => *dscp ^= 0x20,
        (IpEcn, L3::Ipv4 { ecn, .. }) => *ecn ^= 2,
        // Another protocol: TCP, or UDP when the probe is TCP.
        (
            IpProto,
            L3::Ipv4 {
                l4: L4::Tcp { .. }, ..
            },
        ) => return Some(Probe::udp()),
        (IpProto, L3::Ipv4 { .. }) => return Some(Probe::tcp()),
        (Ipv4Src, L3::Ipv4 { src, .. }) => *src = flip_v4(*src, high),
        (Ipv4Dst, L3::Ipv4 { dst, .. }) => *dst = flip_v4(*dst, high),
        (ArpSpa, L3::Arp { spa, .. }) => *spa = flip_v4(*spa, high),
        (ArpTpa, L3::Arp { tpa, .. }) => *tpa = flip_v4(*tpa, high),
        (ArpSha, L3::Arp { sha, .. }) => *sha = flip_mac(*sha, high),
        (ArpTha, L3::Arp { tha, .. }) => *tha = flip_mac(*tha, high),
        (ArpOp, L3::Arp { op, .. }) => *op = 2,
        (Ipv6Src, L3::Ipv6 { src, .. }) => *src = flip_v6(*src, high),
        (Ipv6Dst, L3::Ipv6 { dst, .. }) => *dst = flip_v6(*dst, high),
        (Ipv6Flabel, L3::Ipv6 { flabel, .. }) => *flabel ^= if high { 0x1000 } else { 1 },
        (MplsLabel, _) => q.mpls.first_mut()?.label ^= 1,
        (MplsTc, _) => q.mpls.first_mut()?.tc ^= 4,
        (MplsBos, _) => {
            let inner = *q.mpls.first()?;
            q.mpls.insert(0, super::probe::Mpls { label: 2000, ..inner });
        }
        (_, L3::Ipv4 { l4, .. } | L3::Ipv6 { l4, .. }) => match (f, l4) {
            (TcpSrc, L4::Tcp { sport, .. })
            | (UdpSrc, L4::Udp { sport, .. })
            | (SctpSrc, L4::Sctp { sport, .. }) => *sport ^= 1,
            (TcpDst, L4::Tcp { dport, .. })
            | (UdpDst, L4::Udp { dport, .. })
            | (SctpDst, L4::Sctp { dport, .. }) => *dport ^= 1,
            (Icmpv4Type, L4::Icmp { typ, .. }) => *typ = 13,
            (Icmpv4Code, L4::Icmp { code, .. }) => *code = 1,
            (Icmpv6Type, L4::Icmpv6 { typ, .. }) => *typ = 129,
            (Icmpv6Code, L4::Icmpv6 { code, .. }) => *code = 1,
            (Ipv6NdTarget, L4::Icmpv6 { nd: Some((t, _)), .. }) => *t = flip_v6(*t, true),
            (
                Ipv6NdSll | Ipv6NdTll,
                L4::Icmpv6 {
                    nd: Some((_, ll)), ..
                },
            ) => *ll = flip_mac(*ll, true),
            _ => return None,
        },
        _ => return None,
    }
    Some(q)
}

/// The field's value in the probe as an OXM TLV, with the case's mask when `masked` (which keeps the
/// `high` bits of [`vary`] and wildcards the low ones). `in_port` is the ingress port of the probe.
pub(crate) fn oxm(f: Field, p: &Probe, in_port: u32, masked: bool) -> Option<OxmField> {
    use Field::*;
    let mac_mask = masked.then_some(MacAddr([0xff, 0xff, 0xff, 0xff, 0xff, 0x00]));
    let v4_mask = masked.then_some(Ipv4Addr::new(255, 255, 255, 0));
    let v6_mask = masked.then_some(Ipv6Addr::new(0xffff, 0xffff, 0xffff, 0xffff, 0, 0, 0, 0));
    // A masked value is zero where its mask is (1.3 §7.2.3.5): keep only the bits the mask keeps.
    let mac = |m: MacAddr| match mac_mask {
        Some(k) => MacAddr(std::array::from_fn(|i| m.0[i] & k.0[i])),
        None => m,
    };
    let v4 = |a: Ipv4Addr| v4_mask.map_or(a, |k| Ipv4Addr::from(u32::from(a) & u32::from(k)));
    let v6 = |a: Ipv6Addr| v6_mask.map_or(a, |k| Ipv6Addr::from(u128::from(a) & u128::from(k)));
    let field = match (f, &p.l3) {
        (InPort, _) => OxmField::InPort {
            value: in_port,
            mask: None,
        },
        (InPhyPort, _) => OxmField::InPhyPort {
            value: in_port,
            mask: None,
        },
        (Metadata, _) => OxmField::Metadata { value: 0, mask: None },
        (TunnelId, _) => OxmField::TunnelId { value: 0, mask: None },
        (PbbIsid, _) => OxmField::PbbIsid {
            value: U24(0x1234),
            mask: None,
        },
        (Ipv6Exthdr, _) => OxmField::Ipv6Exthdr { value: 1, mask: None },
        (EthDst, _) => OxmField::EthDst {
            value: mac(p.eth_dst),
            mask: mac_mask,
        },
        (EthSrc, _) => OxmField::EthSrc {
            value: mac(p.eth_src),
            mask: mac_mask,
        },
        (EthType, _) => OxmField::EthType {
            value: p.eth_type(),
            mask: None,
        },
        (VlanVid, _) => OxmField::VlanVid {
            value: (p.vlan?.0 | OFPVID_PRESENT) & if masked { 0x1ff0 } else { 0xffff },
            mask: masked.then_some(0x1ff0),
        },
        (VlanPcp, _) => OxmField::VlanPcp {
            value: p.vlan?.1,
            mask: None,
        },
        (IpDscp, L3::Ipv4 { dscp, .. }) => OxmField::IpDscp {
            value: *dscp,
            mask: None,
        },
        (IpEcn, L3::Ipv4 { ecn, .. }) => OxmField::IpEcn {
            value: *ecn,
            mask: None,
        },
        (IpProto, _) => OxmField::IpProto {
            value: p.ip_proto()?,
            mask: None,
        },
        (Ipv4Src, L3::Ipv4 { src, .. }) => OxmField::Ipv4Src {
            value: v4(*src),
            mask: v4_mask,
        },
        (Ipv4Dst, L3::Ipv4 { dst, .. }) => OxmField::Ipv4Dst {
            value: v4(*dst),
            mask: v4_mask,
        },
        (ArpOp, L3::Arp { op, .. }) => OxmField::ArpOp {
            value: *op,
            mask: None,
        },
        (ArpSpa, L3::Arp { spa, .. }) => OxmField::ArpSpa {
            value: v4(*spa),
            mask: v4_mask,
        },
        (ArpTpa, L3::Arp { tpa, .. }) => OxmField::ArpTpa {
            value: v4(*tpa),
            mask: v4_mask,
        },
        (ArpSha, L3::Arp { sha, .. }) => OxmField::ArpSha {
            value: mac(*sha),
            mask: mac_mask,
        },
        (ArpTha, L3::Arp { tha, .. }) => OxmField::ArpTha {
            value: mac(*tha),
            mask: mac_mask,
        },
        (Ipv6Src, L3::Ipv6 { src, .. }) => OxmField::Ipv6Src {
            value: v6(*src),
            mask: v6_mask,
        },
        (Ipv6Dst, L3::Ipv6 { dst, .. }) => OxmField::Ipv6Dst {
            value: v6(*dst),
            mask: v6_mask,
        },
        (Ipv6Flabel, L3::Ipv6 { flabel, .. }) => OxmField::Ipv6Flabel {
            value: *flabel & if masked { 0xf_f000 } else { 0xf_ffff },
            mask: masked.then_some(0xf_f000),
        },
        (MplsLabel, _) => OxmField::MplsLabel {
            value: p.mpls.first()?.label,
            mask: None,
        },
        (MplsTc, _) => OxmField::MplsTc {
            value: p.mpls.first()?.tc,
            mask: None,
        },
        (MplsBos, _) => OxmField::MplsBos {
            value: u8::from(p.mpls.len() == 1),
            mask: None,
        },
        (_, L3::Ipv4 { l4, .. } | L3::Ipv6 { l4, .. }) => match (f, l4) {
            (TcpSrc, L4::Tcp { sport, .. }) => OxmField::TcpSrc {
                value: *sport,
                mask: None,
            },
            (TcpDst, L4::Tcp { dport, .. }) => OxmField::TcpDst {
                value: *dport,
                mask: None,
            },
            (UdpSrc, L4::Udp { sport, .. }) => OxmField::UdpSrc {
                value: *sport,
                mask: None,
            },
            (UdpDst, L4::Udp { dport, .. }) => OxmField::UdpDst {
                value: *dport,
                mask: None,
            },
            (SctpSrc, L4::Sctp { sport, .. }) => OxmField::SctpSrc {
                value: *sport,
                mask: None,
            },
            (SctpDst, L4::Sctp { dport, .. }) => OxmField::SctpDst {
                value: *dport,
                mask: None,
            },
            (Icmpv4Type, L4::Icmp { typ, .. }) => OxmField::Icmpv4Type {
                value: *typ,
                mask: None,
            },
            (Icmpv4Code, L4::Icmp { code, .. }) => OxmField::Icmpv4Code {
                value: *code,
                mask: None,
            },
            (Icmpv6Type, L4::Icmpv6 { typ, .. }) => OxmField::Icmpv6Type {
                value: *typ,
                mask: None,
            },
            (Icmpv6Code, L4::Icmpv6 { code, .. }) => OxmField::Icmpv6Code {
                value: *code,
                mask: None,
            },
            (Ipv6NdTarget, L4::Icmpv6 { nd: Some((t, _)), .. }) => OxmField::Ipv6NdTarget {
                value: *t,
                mask: None,
            },
            (
                Ipv6NdSll,
                L4::Icmpv6 {
                    nd: Some((_, ll)), ..
                },
            ) => OxmField::Ipv6NdSll {
                value: *ll,
                mask: None,
            },
            (
                Ipv6NdTll,
                L4::Icmpv6 {
                    nd: Some((_, ll)), ..
                },
            ) => OxmField::Ipv6NdTll {
                value: *ll,
                mask: None,
            },
            _ => return None,
        },
        _ => return None,
    };
    Some(field)
}

/// The prerequisite fields (1.3 Table 12) for matching `f` on this probe, then `f` itself.
pub(crate) fn oxm_with_prereqs(f: Field, p: &Probe, in_port: u32, masked: bool) -> Option<Vec<OxmField>> {
    use Field::*;
    let mut out = Vec::new();
    let needs_eth_type = !matches!(
        f,
        InPort | InPhyPort | Metadata | EthDst | EthSrc | EthType | VlanVid | VlanPcp | TunnelId | PbbIsid
    );
    if f == VlanPcp {
        out.push(OxmField::VlanVid {
            value: OFPVID_PRESENT,
            mask: Some(OFPVID_PRESENT),
        });
    }
    if f == InPhyPort {
        out.push(oxm(InPort, p, in_port, false)?);
    }
    if needs_eth_type {
        out.push(oxm(EthType, p, in_port, false)?);
    }
    let needs_proto = matches!(
        f,
        TcpSrc
            | TcpDst
            | UdpSrc
            | UdpDst
            | SctpSrc
            | SctpDst
            | Icmpv4Type
            | Icmpv4Code
            | Icmpv6Type
            | Icmpv6Code
            | Ipv6NdTarget
            | Ipv6NdSll
            | Ipv6NdTll
    );
    if needs_proto {
        out.push(oxm(IpProto, p, in_port, false)?);
    }
    if matches!(f, Ipv6NdTarget | Ipv6NdSll | Ipv6NdTll) {
        out.push(oxm(Icmpv6Type, p, in_port, false)?);
    }
    out.push(oxm(f, p, in_port, masked)?);
    Some(out)
}

/// Sets the field (and what it depends on) in a 1.0 match; false when 1.0 cannot express it. `masked`
/// wildcards the low 8 bits of an IP address.
pub(crate) fn v10_match(f: Field, p: &Probe, in_port: u16, masked: bool) -> Option<v10::Match> {
    use Field::*;
    let mut m = v10::Match::all();
    let set = |bit: u32, m: &mut v10::Match| m.wildcards &= !bit;
    let eth_type = |m: &mut v10::Match| {
        m.wildcards &= !w::DL_TYPE;
        m.dl_type = p.eth_type();
    };
    let proto = |m: &mut v10::Match, value: u8| {
        m.wildcards &= !w::NW_PROTO;
        m.nw_proto = value;
    };
    let prefix = |m: &mut v10::Match, shift: u32, mask: u32| {
        let bits = if masked { 8 } else { 0 };
        m.wildcards = (m.wildcards & !mask) | (bits << shift);
    };
    if !p.mpls.is_empty() {
        return None;
    }
    match (f, &p.l3) {
        (InPort, _) => {
            set(w::IN_PORT, &mut m);
            m.in_port = in_port;
        }
        (EthSrc, _) if !masked => {
            set(w::DL_SRC, &mut m);
            m.dl_src = p.eth_src;
        }
        (EthDst, _) if !masked => {
            set(w::DL_DST, &mut m);
            m.dl_dst = p.eth_dst;
        }
        (VlanVid, _) if !masked => {
            set(w::DL_VLAN, &mut m);
            m.dl_vlan = p.vlan?.0;
        }
        (VlanPcp, _) => {
            set(w::DL_VLAN_PCP, &mut m);
            m.dl_vlan_pcp = p.vlan?.1;
        }
        (EthType, _) => eth_type(&mut m),
        (IpDscp, L3::Ipv4 { dscp, .. }) => {
            eth_type(&mut m);
            set(w::NW_TOS, &mut m);
            m.nw_tos = dscp << 2;
        }
        (IpProto, _) if matches!(p.l3, L3::Ipv4 { .. }) => {
            eth_type(&mut m);
            proto(&mut m, p.ip_proto()?);
        }
        (Ipv4Src, L3::Ipv4 { src, .. }) | (ArpSpa, L3::Arp { spa: src, .. }) => {
            eth_type(&mut m);
            prefix(&mut m, w::NW_SRC_SHIFT, w::NW_SRC_MASK);
            m.nw_src = *src;
        }
        (Ipv4Dst, L3::Ipv4 { dst, .. }) | (ArpTpa, L3::Arp { tpa: dst, .. }) => {
            eth_type(&mut m);
            prefix(&mut m, w::NW_DST_SHIFT, w::NW_DST_MASK);
            m.nw_dst = *dst;
        }
        (ArpOp, L3::Arp { op, .. }) if !masked => {
            eth_type(&mut m);
            proto(&mut m, u8::try_from(*op).ok()?);
        }
        (_, L3::Ipv4 { l4, .. }) if !masked => {
            eth_type(&mut m);
            proto(&mut m, p.ip_proto()?);
            match (f, l4) {
                (TcpSrc, L4::Tcp { sport: v, .. }) | (UdpSrc, L4::Udp { sport: v, .. }) => {
                    set(w::TP_SRC, &mut m);
                    m.tp_src = *v;
                }
                (TcpDst, L4::Tcp { dport: v, .. }) | (UdpDst, L4::Udp { dport: v, .. }) => {
                    set(w::TP_DST, &mut m);
                    m.tp_dst = *v;
                }
                (Icmpv4Type, L4::Icmp { typ, .. }) => {
                    set(w::TP_SRC, &mut m);
                    m.tp_src = u16::from(*typ);
                }
                (Icmpv4Code, L4::Icmp { code, .. }) => {
                    set(w::TP_DST, &mut m);
                    m.tp_dst = u16::from(*code);
                }
                _ => return None,
            }
        }
        _ => return None,
    }
    Some(m)
}

/// Another frame that carries a field, beside the field's own probe ([`Field::base`]): the match cases run
/// again on each, as switches parse frames differently by what they carry (the Ryu switch tester crosses its
/// match tests with IPv4, IPv6 and ARP frames the same way).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Carrier {
    /// IPv4/TCP.
    Tcp,
    /// IPv4/UDP.
    Udp,
    /// IPv4/SCTP.
    Sctp,
    /// IPv4/ICMP.
    Icmp,
    /// ARP.
    Arp,
    /// IPv6/TCP.
    Tcp6,
    /// IPv6/UDP.
    Udp6,
    /// ICMPv6 echo.
    Icmp6,
    /// The field's own probe inside an 802.1Q tag.
    Vlan,
}

impl Carrier {
    /// Every carrier, in catalogue order.
    pub(crate) const ALL: &'static [Carrier] = &[
        Carrier::Tcp,
        Carrier::Udp,
        Carrier::Sctp,
        Carrier::Icmp,
        Carrier::Arp,
        Carrier::Tcp6,
        Carrier::Udp6,
        Carrier::Icmp6,
        Carrier::Vlan,
    ];

    /// Short name, the last part of a case id.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Carrier::Tcp => "tcp",
            Carrier::Udp => "udp",
            Carrier::Sctp => "sctp",
            Carrier::Icmp => "icmp",
            Carrier::Arp => "arp",
            Carrier::Tcp6 => "tcp6",
            Carrier::Udp6 => "udp6",
            Carrier::Icmp6 => "icmp6",
            Carrier::Vlan => "vlan",
        }
    }

    /// What the frame is, for titles.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Carrier::Tcp => "IPv4/TCP",
            Carrier::Udp => "IPv4/UDP",
            Carrier::Sctp => "IPv4/SCTP",
            Carrier::Icmp => "IPv4/ICMP",
            Carrier::Arp => "ARP",
            Carrier::Tcp6 => "IPv6/TCP",
            Carrier::Udp6 => "IPv6/UDP",
            Carrier::Icmp6 => "ICMPv6",
            Carrier::Vlan => "802.1Q-tagged",
        }
    }

    /// The carrier's own frame, untagged (`None` for the VLAN carrier, which is a tag around another frame).
    pub(crate) fn plain(self) -> Option<Probe> {
        Some(match self {
            Carrier::Tcp => Probe::tcp(),
            Carrier::Udp => Probe::udp(),
            Carrier::Sctp => Probe::sctp(),
            Carrier::Icmp => Probe::icmp(),
            Carrier::Arp => Probe::arp(),
            Carrier::Tcp6 => Probe::tcp6(),
            Carrier::Udp6 => Probe::udp6(),
            Carrier::Icmp6 => Probe::icmp6(),
            Carrier::Vlan => return None,
        })
    }

    /// The frame carrying `f` on this carrier, when it is another frame than the field's own probe and the
    /// field can be matched in it (and changed in it, for the frame that must miss). `v13` picks the match
    /// language that must express it.
    pub(crate) fn probe(self, f: Field, masked: bool, v13: bool) -> Option<Probe> {
        use Field::*;
        if !f.can_miss() || f == InPhyPort {
            return None;
        }
        let vlan_field = matches!(f, VlanVid | VlanPcp);
        let p = match self {
            Carrier::Vlan => {
                let mut p = f.base();
                if vlan_field || p.vlan.is_some() || !p.mpls.is_empty() {
                    return None;
                }
                p.vlan = Some((100, 3));
                p
            }
            other => {
                let mut p = other.plain()?;
                if vlan_field {
                    p.vlan = Some((100, 3));
                }
                p
            }
        };
        if p == f.base() {
            return None;
        }
        let expressible = if v13 {
            oxm_with_prereqs(f, &p, 1, masked).is_some()
        } else {
            v10_match(f, &p, 1, masked).is_some()
        };
        (expressible && (f == InPort || vary(f, &p, true).is_some())).then_some(p)
    }
}
