//! Probe frames: a description of every header field a case matches on or rewrites, and the frame it
//! builds (checksums computed), so a case states "this frame in, that frame out" as two descriptions.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::dataplane::packet;
use crate::MacAddr;

/// Every probe carries this marker in its payload; the data-plane filter keeps frames that contain it.
pub(crate) const MARKER: &[u8] = b"TWSTR-of-conformance-probe-0123456789";

/// EtherType of an MPLS unicast label stack.
pub(crate) const ETH_TYPE_MPLS: u16 = 0x8847;
const IP_PROTO_SCTP: u8 = 132;
const IP_PROTO_ICMPV6: u8 = 58;

/// Layer 4 of a probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum L4 {
    Udp {
        sport: u16,
        dport: u16,
    },
    Tcp {
        sport: u16,
        dport: u16,
    },
    Sctp {
        sport: u16,
        dport: u16,
    },
    Icmp {
        typ: u8,
        code: u8,
    },
    /// ICMPv6; types 135 (neighbour solicitation) and 136 (advertisement) carry `nd`.
    Icmpv6 {
        typ: u8,
        code: u8,
        nd: Option<(Ipv6Addr, MacAddr)>,
    },
}

/// Layer 3 of a probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum L3 {
    Ipv4 {
        src: Ipv4Addr,
        dst: Ipv4Addr,
        dscp: u8,
        ecn: u8,
        ttl: u8,
        l4: L4,
    },
    Ipv6 {
        src: Ipv6Addr,
        dst: Ipv6Addr,
        flabel: u32,
        hlim: u8,
        l4: L4,
    },
    Arp {
        op: u16,
        sha: MacAddr,
        spa: Ipv4Addr,
        tha: MacAddr,
        tpa: Ipv4Addr,
    },
}

/// One MPLS label stack entry (bottom of stack is set on the last).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Mpls {
    pub label: u32,
    pub tc: u8,
    pub ttl: u8,
}

/// A test frame described field by field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Probe {
    pub eth_dst: MacAddr,
    pub eth_src: MacAddr,
    /// VLAN id and priority of one 802.1Q tag.
    pub vlan: Option<(u16, u8)>,
    /// MPLS label stack, outermost first (only before IPv4).
    pub mpls: Vec<Mpls>,
    pub l3: L3,
}

pub(crate) const MAC_DST: MacAddr = MacAddr([0x02, 0x00, 0x00, 0x00, 0xca, 0xfe]);
pub(crate) const MAC_SRC: MacAddr = MacAddr([0x02, 0x00, 0x00, 0x00, 0xbe, 0xef]);
pub(crate) const IP_SRC: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
pub(crate) const IP_DST: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 2);
pub(crate) const IP6_SRC: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 1);
pub(crate) const IP6_DST: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 2, 0, 0, 0, 0, 2);

impl Probe {
    fn with_l3(l3: L3) -> Probe {
        Probe {
            eth_dst: MAC_DST,
            eth_src: MAC_SRC,
            vlan: None,
            mpls: Vec::new(),
            l3,
        }
    }

    fn ipv4(l4: L4) -> Probe {
        Probe::with_l3(L3::Ipv4 {
            src: IP_SRC,
            dst: IP_DST,
            dscp: 10,
            ecn: 1,
            ttl: 64,
            l4,
        })
    }

    fn ipv6(l4: L4) -> Probe {
        Probe::with_l3(L3::Ipv6 {
            src: IP6_SRC,
            dst: IP6_DST,
            flabel: 0x12345,
            hlim: 64,
            l4,
        })
    }

    /// IPv4/UDP 40000 -> 5000.
    pub fn udp() -> Probe {
        Probe::ipv4(L4::Udp {
            sport: 40000,
            dport: 5000,
        })
    }

    /// IPv4/TCP 40001 -> 80.
    pub fn tcp() -> Probe {
        Probe::ipv4(L4::Tcp {
            sport: 40001,
            dport: 80,
        })
    }

    /// IPv4/SCTP 40002 -> 2905.
    pub fn sctp() -> Probe {
        Probe::ipv4(L4::Sctp {
            sport: 40002,
            dport: 2905,
        })
    }

    /// IPv4/ICMP echo request.
    pub fn icmp() -> Probe {
        Probe::ipv4(L4::Icmp { typ: 8, code: 0 })
    }

    /// An ARP request.
    pub fn arp() -> Probe {
        Probe::with_l3(L3::Arp {
            op: 1,
            sha: MAC_SRC,
            spa: IP_SRC,
            tha: MacAddr([0x02, 0, 0, 0, 0, 0x11]),
            tpa: IP_DST,
        })
    }

    /// IPv6/UDP.
    pub fn udp6() -> Probe {
        Probe::ipv6(L4::Udp {
            sport: 40003,
            dport: 5001,
        })
    }

    /// IPv6/TCP.
    pub fn tcp6() -> Probe {
        Probe::ipv6(L4::Tcp {
            sport: 40004,
            dport: 443,
        })
    }

    /// ICMPv6 echo request.
    pub fn icmp6() -> Probe {
        Probe::ipv6(L4::Icmpv6 {
            typ: 128,
            code: 0,
            nd: None,
        })
    }

    /// ICMPv6 neighbour solicitation (135) or advertisement (136) for a target, with a link-layer option.
    pub fn nd(typ: u8) -> Probe {
        let target = Ipv6Addr::new(0x2001, 0xdb8, 2, 0, 0, 0, 0, 0x99);
        Probe::ipv6(L4::Icmpv6 {
            typ,
            code: 0,
            nd: Some((target, MacAddr([0x02, 0, 0, 0, 0, 0x22]))),
        })
    }

    /// IPv4/UDP under one MPLS label.
    pub fn mpls() -> Probe {
        let mut p = Probe::udp();
        p.mpls = vec![Mpls {
            label: 1000,
            tc: 3,
            ttl: 32,
        }];
        p
    }

    /// IPv4/UDP in VLAN 100, priority 3.
    pub fn vlan() -> Probe {
        let mut p = Probe::udp();
        p.vlan = Some((100, 3));
        p
    }

    /// EtherType after VLAN and MPLS (of the layer-3 payload when there is no MPLS).
    pub fn eth_type(&self) -> u16 {
        if !self.mpls.is_empty() {
            return ETH_TYPE_MPLS;
        }
        match self.l3 {
            L3::Ipv4 { .. } => packet::ETH_TYPE_IPV4,
            L3::Ipv6 { .. } => packet::ETH_TYPE_IPV6,
            L3::Arp { .. } => packet::ETH_TYPE_ARP,
        }
    }

    /// IP protocol number, when there is an IP header.
    pub fn ip_proto(&self) -> Option<u8> {
        let l4 = match &self.l3 {
            L3::Ipv4 { l4, .. } | L3::Ipv6 { l4, .. } => l4,
            L3::Arp { .. } => return None,
        };
        Some(match l4 {
            L4::Udp { .. } => packet::IP_PROTO_UDP,
            L4::Tcp { .. } => packet::IP_PROTO_TCP,
            L4::Sctp { .. } => IP_PROTO_SCTP,
            L4::Icmp { .. } => packet::IP_PROTO_ICMP,
            L4::Icmpv6 { .. } => IP_PROTO_ICMPV6,
        })
    }

    /// The frame.
    pub fn build(&self) -> Vec<u8> {
        let l3 = self.l3_bytes();
        let mut payload = Vec::new();
        for (i, m) in self.mpls.iter().enumerate() {
            let bos = u32::from(i + 1 == self.mpls.len());
            let word = (m.label & 0xf_ffff) << 12 | u32::from(m.tc & 7) << 9 | bos << 8 | u32::from(m.ttl);
            payload.extend_from_slice(&word.to_be_bytes());
        }
        payload.extend_from_slice(&l3);
        let ethertype = self.eth_type();
        match self.vlan {
            Some((vid, pcp)) => {
                packet::ethernet_vlan(self.eth_dst, self.eth_src, vid, pcp, ethertype, &payload)
            }
            None => packet::ethernet(self.eth_dst, self.eth_src, ethertype, &payload),
        }
    }

    fn l3_bytes(&self) -> Vec<u8> {
        match &self.l3 {
            L3::Arp {
                op,
                sha,
                spa,
                tha,
                tpa,
            } => {
                let mut a = packet::arp(*op, *sha, *spa, *tha, *tpa);
                a.extend_from_slice(MARKER);
                a
            }
            L3::Ipv4 {
                src,
                dst,
                dscp,
                ecn,
                ttl,
                l4,
            } => {
                let seg = l4_bytes(l4, &Pseudo::V4(*src, *dst));
                let proto = self.ip_proto().unwrap_or(0);
                packet::ipv4(*src, *dst, proto, *ttl, (dscp << 2) | (ecn & 3), &seg)
            }
            L3::Ipv6 {
                src,
                dst,
                flabel,
                hlim,
                l4,
            } => {
                let seg = l4_bytes(l4, &Pseudo::V6(*src, *dst));
                let mut h = Vec::with_capacity(40 + seg.len());
                let word = 6u32 << 28 | (flabel & 0xf_ffff);
                h.extend_from_slice(&word.to_be_bytes());
                h.extend_from_slice(&u16::try_from(seg.len()).unwrap_or(u16::MAX).to_be_bytes());
                h.push(self.ip_proto().unwrap_or(59));
                h.push(*hlim);
                h.extend_from_slice(&src.octets());
                h.extend_from_slice(&dst.octets());
                h.extend_from_slice(&seg);
                h
            }
        }
    }
}

enum Pseudo {
    V4(Ipv4Addr, Ipv4Addr),
    V6(Ipv6Addr, Ipv6Addr),
}

impl Pseudo {
    fn checksum(&self, proto: u8, seg: &[u8]) -> u16 {
        let mut p = Vec::with_capacity(40 + seg.len());
        let len = u32::try_from(seg.len()).unwrap_or(0);
        match self {
            Pseudo::V4(s, d) => {
                p.extend_from_slice(&s.octets());
                p.extend_from_slice(&d.octets());
                p.extend_from_slice(&[0, proto]);
                p.extend_from_slice(&(len as u16).to_be_bytes());
            }
            Pseudo::V6(s, d) => {
                p.extend_from_slice(&s.octets());
                p.extend_from_slice(&d.octets());
                p.extend_from_slice(&len.to_be_bytes());
                p.extend_from_slice(&[0, 0, 0, proto]);
            }
        }
        p.extend_from_slice(seg);
        packet::checksum(&p)
    }
}

/// CRC-32C (Castagnoli), the SCTP checksum.
fn crc32c(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for b in bytes {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0x82f6_3b78
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn l4_bytes(l4: &L4, pseudo: &Pseudo) -> Vec<u8> {
    let put_sum = |seg: &mut Vec<u8>, at: usize, proto: u8| {
        let c = pseudo.checksum(proto, seg);
        let c = if c == 0 && proto == packet::IP_PROTO_UDP {
            0xffff
        } else {
            c
        };
        if let Some(s) = seg.get_mut(at..at + 2) {
            s.copy_from_slice(&c.to_be_bytes());
        }
    };
    match l4 {
        L4::Udp { sport, dport } => {
            let mut u = Vec::new();
            u.extend_from_slice(&sport.to_be_bytes());
            u.extend_from_slice(&dport.to_be_bytes());
            let len = u16::try_from(8 + MARKER.len()).unwrap_or(0);
            u.extend_from_slice(&len.to_be_bytes());
            u.extend_from_slice(&[0, 0]);
            u.extend_from_slice(MARKER);
            put_sum(&mut u, 6, packet::IP_PROTO_UDP);
            u
        }
        L4::Tcp { sport, dport } => {
            let mut t = Vec::new();
            t.extend_from_slice(&sport.to_be_bytes());
            t.extend_from_slice(&dport.to_be_bytes());
            t.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0x20, 0, 0, 0, 0, 0]);
            t.extend_from_slice(MARKER);
            put_sum(&mut t, 16, packet::IP_PROTO_TCP);
            t
        }
        L4::Sctp { sport, dport } => {
            let mut s = Vec::new();
            s.extend_from_slice(&sport.to_be_bytes());
            s.extend_from_slice(&dport.to_be_bytes());
            s.extend_from_slice(&[0, 0, 0, 7, 0, 0, 0, 0]);
            // One DATA chunk carrying the marker.
            let chunk_len = u16::try_from(16 + MARKER.len()).unwrap_or(0);
            s.extend_from_slice(&[0, 3]);
            s.extend_from_slice(&chunk_len.to_be_bytes());
            s.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
            s.extend_from_slice(MARKER);
            while s.len() % 4 != 0 {
                s.push(0);
            }
            let c = crc32c(&s);
            if let Some(sum) = s.get_mut(8..12) {
                sum.copy_from_slice(&c.to_le_bytes());
            }
            s
        }
        L4::Icmp { typ, code } => {
            let mut m = vec![*typ, *code, 0, 0, 0, 1, 0, 1];
            m.extend_from_slice(MARKER);
            let c = packet::checksum(&m);
            if let Some(s) = m.get_mut(2..4) {
                s.copy_from_slice(&c.to_be_bytes());
            }
            m
        }
        L4::Icmpv6 { typ, code, nd } => {
            let mut m = vec![*typ, *code, 0, 0];
            match nd {
                Some((target, ll)) => {
                    let flags = if *typ == 136 { 0x60 } else { 0 };
                    m.extend_from_slice(&[flags, 0, 0, 0]);
                    m.extend_from_slice(&target.octets());
                    // Source (1) or target (2) link-layer address option, 8 bytes.
                    m.push(if *typ == 136 { 2 } else { 1 });
                    m.push(1);
                    m.extend_from_slice(&ll.0);
                }
                None => m.extend_from_slice(&[0, 1, 0, 1]),
            }
            m.extend_from_slice(MARKER);
            put_sum(&mut m, 2, IP_PROTO_ICMPV6);
            m
        }
    }
}

/// True when the frame carries the probe marker.
pub(crate) fn has_marker(frame: &[u8]) -> bool {
    frame.windows(MARKER.len()).any(|w| w == MARKER)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_build_with_valid_checksums() {
        let f = Probe::udp().build();
        assert!(f.len() > packet::MIN_FRAME);
        assert!(has_marker(&f));
        assert_eq!(packet::checksum(&f[14..34]), 0);
        let t = Probe::tcp().build();
        assert_eq!(packet::l4_checksum(IP_SRC, IP_DST, 6, &t[34..]), 0);
        let v = Probe::vlan().build();
        assert_eq!(&v[12..14], &[0x81, 0x00]);
        let m = Probe::mpls().build();
        assert_eq!(&m[12..14], &[0x88, 0x47]);
        assert_eq!(m[16] & 1, 1, "bottom of stack");
        let six = Probe::icmp6().build();
        assert_eq!(&six[12..14], &[0x86, 0xdd]);
        let seg = &six[54..];
        assert_eq!(Pseudo::V6(IP6_SRC, IP6_DST).checksum(58, seg), 0);
        let ns = Probe::nd(135).build();
        assert_eq!(ns[54], 135);
        assert!(has_marker(&Probe::arp().build()));
        assert!(has_marker(&Probe::sctp().build()));
        assert_eq!(crc32c(b"123456789"), 0xe306_9283);
    }
}
