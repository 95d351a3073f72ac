//! Ethernet II, 802.1Q VLAN tags (QinQ: 802.1ad outer tags, stacked) and ARP.

use super::{format_mac, network, Dissector, Mac, Value};

const ETH_HEADER: usize = 14;
const VLAN_TAG: usize = 4;

/// Name of an EtherType, for display.
fn ethertype_name(t: u16) -> &'static str {
    match t {
        0x0800 => "IPv4",
        0x0806 => "ARP",
        0x86dd => "IPv6",
        0x8100 => "802.1Q Virtual LAN",
        0x88a8 => "802.1ad Provider Bridge (Q-in-Q)",
        0x9100 => "802.1Q-in-Q",
        0x88cc => "LLDP",
        0x8847 => "MPLS unicast",
        _ => "",
    }
}

fn is_vlan_tpid(t: u16) -> bool {
    matches!(t, 0x8100 | 0x88a8 | 0x9100)
}

/// Decodes an Ethernet II header at `off` and what it carries.
pub(super) fn ethernet(d: &mut Dissector<'_>, off: usize) {
    let (Some(dst), Some(src), Some(etype)) = (d.mac(off), d.mac(off + 6), d.be16(off + 12)) else {
        d.malformed(off, "truncated Ethernet header");
        return;
    };
    let mut layer = d.layer(
        "eth",
        format_args!("Ethernet II, Src: {}, Dst: {}", Mac(&src), Mac(&dst)),
        off,
        ETH_HEADER,
    );
    layer.children.push(d.field(
        "eth.dst",
        format_args!("Destination: {}", Mac(&dst)),
        off,
        6,
        Value::Mac(dst),
    ));
    layer.children.push(d.field(
        "eth.src",
        format_args!("Source: {}", Mac(&src)),
        off + 6,
        6,
        Value::Mac(src),
    ));
    layer.children.push(d.hex(
        "eth.type",
        "Type",
        off + 12,
        2,
        u64::from(etype),
        ethertype_name(etype),
    ));
    d.layers.push(layer);
    d.source = format_mac(&src);
    d.destination = format_mac(&dst);
    d.protocol = "Ethernet".into();
    if etype < 0x0600 {
        // An 802.3 length field (LLC follows); shown as data.
        d.data_layer(off + ETH_HEADER);
        return;
    }
    ethertype(d, etype, off + ETH_HEADER);
}

/// Decodes what an EtherType says follows at `off`.
pub(super) fn ethertype(d: &mut Dissector<'_>, etype: u16, off: usize) {
    match etype {
        0x0800 => network::ipv4(d, off),
        0x86dd => network::ipv6(d, off),
        0x0806 => arp(d, off),
        t if is_vlan_tpid(t) => vlan(d, t, off),
        _ => {
            let name = ethertype_name(etype);
            if !name.is_empty() {
                d.protocol = name.into();
            }
            d.data_layer(off)
        }
    }
}

/// Decodes one VLAN tag (its TPID has been read already) at `off`.
fn vlan(d: &mut Dissector<'_>, tpid: u16, off: usize) {
    let (Some(tci), Some(etype)) = (d.be16(off), d.be16(off + 2)) else {
        d.malformed(off, "truncated VLAN tag");
        return;
    };
    // Stacked tags are limited by the frame length; each tag consumes 4 bytes so recursion is bounded.
    let pcp = tci >> 13;
    let dei = (tci >> 12) & 1;
    let id = tci & 0x0fff;
    let kind = if tpid == 0x8100 {
        "802.1Q Virtual LAN"
    } else {
        "802.1ad Service VLAN"
    };
    let mut layer = d.layer(
        "vlan",
        format_args!("{kind}, PRI: {pcp}, DEI: {dei}, ID: {id}"),
        off,
        VLAN_TAG,
    );
    layer
        .children
        .push(d.uint("vlan.priority", "Priority", off, 2, u64::from(pcp)));
    layer
        .children
        .push(d.uint("vlan.dei", "DEI", off, 2, u64::from(dei)));
    layer
        .children
        .push(d.uint("vlan.id", "ID", off, 2, u64::from(id)));
    layer.children.push(d.hex(
        "vlan.etype",
        "Type",
        off + 2,
        2,
        u64::from(etype),
        ethertype_name(etype),
    ));
    d.layers.push(layer);
    d.protocol = "VLAN".into();
    ethertype(d, etype, off + VLAN_TAG);
}

/// Decodes an ARP packet at `off` (Ethernet/IPv4 addresses decoded; others kept as bytes).
fn arp(d: &mut Dissector<'_>, off: usize) {
    let (Some(htype), Some(ptype), Some(hlen), Some(plen), Some(op)) = (
        d.be16(off),
        d.be16(off + 2),
        d.u8(off + 4),
        d.u8(off + 5),
        d.be16(off + 6),
    ) else {
        d.malformed(off, "truncated ARP header");
        return;
    };
    let (hl, pl) = (usize::from(hlen), usize::from(plen));
    let total = 8 + 2 * hl + 2 * pl;
    if d.remaining(off) < total {
        d.malformed(off, "truncated ARP addresses");
        return;
    }
    let op_name = match op {
        1 => "request",
        2 => "reply",
        3 => "reverse request",
        4 => "reverse reply",
        _ => "unknown",
    };
    let mut layer = d.layer(
        "arp",
        format_args!("Address Resolution Protocol ({op_name})"),
        off,
        total,
    );
    layer
        .children
        .push(d.uint("arp.hw.type", "Hardware type", off, 2, u64::from(htype)));
    layer.children.push(d.hex(
        "arp.proto.type",
        "Protocol type",
        off + 2,
        2,
        u64::from(ptype),
        "",
    ));
    layer
        .children
        .push(d.uint("arp.hw.size", "Hardware size", off + 4, 1, u64::from(hlen)));
    layer
        .children
        .push(d.uint("arp.proto.size", "Protocol size", off + 5, 1, u64::from(plen)));
    layer.children.push(d.field(
        "arp.opcode",
        format_args!("Opcode: {op_name} ({op})"),
        off + 6,
        2,
        Value::Uint(u64::from(op)),
    ));
    let sha = off + 8;
    let spa = sha + hl;
    let tha = spa + pl;
    let tpa = tha + hl;
    let ether_ip = hl == 6 && pl == 4 && ptype == 0x0800;
    let mut sender_ip = String::new();
    let mut target_ip = String::new();
    let mut sender_mac = String::new();
    if ether_ip {
        if let (Some(sm), Some(si), Some(tm), Some(ti)) = (d.mac(sha), d.ipv4(spa), d.mac(tha), d.ipv4(tpa)) {
            sender_mac = format_mac(&sm);
            sender_ip = si.to_string();
            target_ip = ti.to_string();
            layer.children.push(d.field(
                "arp.src.hw_mac",
                format_args!("Sender MAC address: {sender_mac}"),
                sha,
                6,
                Value::Mac(sm),
            ));
            layer.children.push(d.field(
                "arp.src.proto_ipv4",
                format_args!("Sender IP address: {si}"),
                spa,
                4,
                Value::Ipv4(si),
            ));
            layer.children.push(d.field(
                "arp.dst.hw_mac",
                format_args!("Target MAC address: {}", Mac(&tm)),
                tha,
                6,
                Value::Mac(tm),
            ));
            layer.children.push(d.field(
                "arp.dst.proto_ipv4",
                format_args!("Target IP address: {ti}"),
                tpa,
                4,
                Value::Ipv4(ti),
            ));
        }
    }
    d.layers.push(layer);
    d.protocol = "ARP".into();
    d.info = match (ether_ip, op) {
        (true, 1) => format!("Who has {target_ip}? Tell {sender_ip}"),
        (true, 2) => format!("{sender_ip} is at {sender_mac}"),
        _ => format!("ARP {op_name}"),
    };
    d.padding(off + total);
}
