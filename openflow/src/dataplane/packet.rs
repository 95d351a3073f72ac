//! Builders of test frames: Ethernet, 802.1Q VLAN, ARP, IPv4, ICMP echo, UDP, TCP, and a few readers.

use std::net::Ipv4Addr;

use crate::MacAddr;

/// EtherType of IPv4.
pub const ETH_TYPE_IPV4: u16 = 0x0800;
/// EtherType of ARP.
pub const ETH_TYPE_ARP: u16 = 0x0806;
/// EtherType of an 802.1Q tag.
pub const ETH_TYPE_VLAN: u16 = 0x8100;
/// EtherType of IPv6.
pub const ETH_TYPE_IPV6: u16 = 0x86dd;
/// EtherType of LLDP.
pub const ETH_TYPE_LLDP: u16 = 0x88cc;
/// IP protocol number of ICMP.
pub const IP_PROTO_ICMP: u8 = 1;
/// IP protocol number of TCP.
pub const IP_PROTO_TCP: u8 = 6;
/// IP protocol number of UDP.
pub const IP_PROTO_UDP: u8 = 17;
/// Shortest Ethernet frame without FCS; builders pad to it.
pub const MIN_FRAME: usize = 60;

/// The Internet checksum (RFC 1071) of these bytes.
pub fn checksum(bytes: &[u8]) -> u16 {
    // 64 bits: no overflow however long the input (a u32 overflows past about 128 KiB of 0xff bytes).
    let mut sum: u64 = 0;
    for pair in bytes.chunks(2) {
        let word = match pair {
            [a, b] => u16::from_be_bytes([*a, *b]),
            [a] => u16::from_be_bytes([*a, 0]),
            _ => 0,
        };
        sum += u64::from(word);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn pad(mut frame: Vec<u8>) -> Vec<u8> {
    if frame.len() < MIN_FRAME {
        frame.resize(MIN_FRAME, 0);
    }
    frame
}

/// An Ethernet II frame, padded to 60 bytes.
pub fn ethernet(dst: MacAddr, src: MacAddr, ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(14 + payload.len());
    f.extend_from_slice(&dst.0);
    f.extend_from_slice(&src.0);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    pad(f)
}

/// An Ethernet frame with one 802.1Q tag (VLAN id and priority), padded to 60 bytes.
pub fn ethernet_vlan(
    dst: MacAddr,
    src: MacAddr,
    vid: u16,
    pcp: u8,
    ethertype: u16,
    payload: &[u8],
) -> Vec<u8> {
    let tci = (u16::from(pcp & 7) << 13) | (vid & 0x0fff);
    let mut inner = tci.to_be_bytes().to_vec();
    inner.extend_from_slice(&ethertype.to_be_bytes());
    inner.extend_from_slice(payload);
    ethernet(dst, src, ETH_TYPE_VLAN, &inner)
}

/// An ARP body (Ethernet/IPv4): `op` 1 request, 2 reply.
pub fn arp(
    op: u16,
    sender_mac: MacAddr,
    sender_ip: Ipv4Addr,
    target_mac: MacAddr,
    target_ip: Ipv4Addr,
) -> Vec<u8> {
    let mut a = vec![0, 1, 8, 0, 6, 4];
    a.extend_from_slice(&op.to_be_bytes());
    a.extend_from_slice(&sender_mac.0);
    a.extend_from_slice(&sender_ip.octets());
    a.extend_from_slice(&target_mac.0);
    a.extend_from_slice(&target_ip.octets());
    a
}

/// A broadcast ARP request frame.
pub fn arp_request(src: MacAddr, src_ip: Ipv4Addr, target_ip: Ipv4Addr) -> Vec<u8> {
    let body = arp(1, src, src_ip, MacAddr::default(), target_ip);
    ethernet(MacAddr([0xff; 6]), src, ETH_TYPE_ARP, &body)
}

/// An IPv4 header (20 bytes, no options, checksum filled in) followed by `payload`.
pub fn ipv4(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, ttl: u8, tos: u8, payload: &[u8]) -> Vec<u8> {
    let total = u16::try_from(20 + payload.len()).unwrap_or(u16::MAX);
    let mut h = vec![0x45, tos];
    h.extend_from_slice(&total.to_be_bytes());
    h.extend_from_slice(&[0, 1, 0x40, 0, ttl, proto, 0, 0]);
    h.extend_from_slice(&src.octets());
    h.extend_from_slice(&dst.octets());
    let c = checksum(&h);
    h[10..12].copy_from_slice(&c.to_be_bytes());
    h.extend_from_slice(payload);
    h
}

/// An ICMP echo request (type 8) with checksum.
pub fn icmp_echo_request(id: u16, seq: u16, data: &[u8]) -> Vec<u8> {
    let mut m = vec![8, 0, 0, 0];
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(data);
    let c = checksum(&m);
    m[2..4].copy_from_slice(&c.to_be_bytes());
    m
}

/// The TCP/UDP checksum of `segment` (checksum field zeroed or included) with the IPv4 pseudo-header.
pub fn l4_checksum(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, segment: &[u8]) -> u16 {
    let mut pseudo = Vec::with_capacity(12 + segment.len());
    pseudo.extend_from_slice(&src.octets());
    pseudo.extend_from_slice(&dst.octets());
    pseudo.extend_from_slice(&[0, proto]);
    pseudo.extend_from_slice(&u16::try_from(segment.len()).unwrap_or(u16::MAX).to_be_bytes());
    pseudo.extend_from_slice(segment);
    checksum(&pseudo)
}

/// A UDP datagram with checksum (addresses for the pseudo-header).
pub fn udp(src: Ipv4Addr, dst: Ipv4Addr, sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let len = u16::try_from(8 + payload.len()).unwrap_or(u16::MAX);
    let mut u = Vec::with_capacity(8 + payload.len());
    u.extend_from_slice(&sport.to_be_bytes());
    u.extend_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(&len.to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(payload);
    let c = match l4_checksum(src, dst, IP_PROTO_UDP, &u) {
        0 => 0xffff,
        c => c,
    };
    u[6..8].copy_from_slice(&c.to_be_bytes());
    u
}

/// A TCP segment (20-byte header, window 8192) with checksum; `flags` are the low 8 flag bits (SYN = 0x02).
pub fn tcp(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    sport: u16,
    dport: u16,
    seq: u32,
    flags: u8,
    payload: &[u8],
) -> Vec<u8> {
    let mut t = Vec::with_capacity(20 + payload.len());
    t.extend_from_slice(&sport.to_be_bytes());
    t.extend_from_slice(&dport.to_be_bytes());
    t.extend_from_slice(&seq.to_be_bytes());
    t.extend_from_slice(&[0, 0, 0, 0, 0x50, flags, 0x20, 0, 0, 0, 0, 0]);
    t.extend_from_slice(payload);
    let c = l4_checksum(src, dst, IP_PROTO_TCP, &t);
    t[16..18].copy_from_slice(&c.to_be_bytes());
    t
}

/// A complete Ethernet/IPv4/UDP frame.
pub fn udp_frame(
    dst: MacAddr,
    src: MacAddr,
    ip_src: Ipv4Addr,
    ip_dst: Ipv4Addr,
    sport: u16,
    dport: u16,
    payload: &[u8],
) -> Vec<u8> {
    let l4 = udp(ip_src, ip_dst, sport, dport, payload);
    ethernet(
        dst,
        src,
        ETH_TYPE_IPV4,
        &ipv4(ip_src, ip_dst, IP_PROTO_UDP, 64, 0, &l4),
    )
}

/// The EtherType after any VLAN tags, and the VLAN ids met on the way (outermost first).
pub fn ethertype_and_vlans(frame: &[u8]) -> Option<(u16, Vec<u16>)> {
    let mut at = 12;
    let mut vlans = Vec::new();
    loop {
        let t = u16::from_be_bytes([*frame.get(at)?, *frame.get(at + 1)?]);
        if t == ETH_TYPE_VLAN || t == 0x88a8 {
            let tci = u16::from_be_bytes([*frame.get(at + 2)?, *frame.get(at + 3)?]);
            vlans.push(tci & 0x0fff);
            at += 4;
        } else {
            return Some((t, vlans));
        }
    }
}

/// True for frames a test did not send and should not see: IPv6 (neighbour discovery, MLD), LLDP, and the
/// link-local control multicasts 01:80:c2:00:00:0x (STP, LACP, ...).
pub fn is_background(frame: &[u8]) -> bool {
    if frame.get(..5) == Some(&[0x01, 0x80, 0xc2, 0x00, 0x00]) {
        return true;
    }
    matches!(
        ethertype_and_vlans(frame),
        Some((ETH_TYPE_IPV6 | ETH_TYPE_LLDP, _))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_and_layout() {
        let ip = ipv4(
            Ipv4Addr::new(10, 0, 0, 1),
            Ipv4Addr::new(10, 0, 0, 2),
            IP_PROTO_UDP,
            64,
            0,
            &[],
        );
        assert_eq!(checksum(&ip), 0, "a header with its checksum sums to zero");
        // Ones everywhere sum to 0xffff in ones' complement whatever the length (past 64 KiB too).
        assert_eq!(checksum(&vec![0xff; 1 << 20]), 0);
        let src = Ipv4Addr::new(192, 168, 0, 1);
        let dst = Ipv4Addr::new(192, 168, 0, 2);
        let u = udp(src, dst, 1000, 2000, b"abc");
        assert_eq!(u.len(), 11);
        assert_eq!(l4_checksum(src, dst, IP_PROTO_UDP, &u), 0);
        let t = tcp(src, dst, 1, 2, 7, 0x02, &[]);
        assert_eq!(l4_checksum(src, dst, IP_PROTO_TCP, &t), 0);
        assert_eq!(checksum(&icmp_echo_request(1, 2, b"xy")), 0);
        let f = udp_frame(MacAddr([2; 6]), MacAddr([4; 6]), src, dst, 1, 2, b"x");
        assert_eq!(f.len(), 60);
        assert_eq!(ethertype_and_vlans(&f), Some((ETH_TYPE_IPV4, vec![])));
    }

    #[test]
    fn vlan_arp_and_background() {
        let v = ethernet_vlan(MacAddr([2; 6]), MacAddr([4; 6]), 100, 5, ETH_TYPE_IPV4, &[]);
        assert_eq!(&v[12..16], &[0x81, 0x00, 0xa0, 100]);
        assert_eq!(ethertype_and_vlans(&v), Some((ETH_TYPE_IPV4, vec![100])));
        let a = arp_request(
            MacAddr([4; 6]),
            Ipv4Addr::new(1, 1, 1, 1),
            Ipv4Addr::new(1, 1, 1, 2),
        );
        assert_eq!(&a[..6], &[0xff; 6]);
        assert_eq!(&a[12..14], &[8, 6]);
        assert_eq!(a.len(), 60);
        assert!(!is_background(&a));
        assert!(is_background(&ethernet(
            MacAddr([0x33; 6]),
            MacAddr([4; 6]),
            ETH_TYPE_IPV6,
            &[]
        )));
        let stp = ethernet(MacAddr([0x01, 0x80, 0xc2, 0, 0, 0]), MacAddr([4; 6]), 0x26, &[]);
        assert!(is_background(&stp));
    }
}
