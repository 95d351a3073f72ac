//! IPv4 and IPv6 (with its extension headers skipped to reach the transport).

use super::{transport, Dissector, Value};

/// Name of an IP protocol number, for display.
pub(super) fn ip_proto_name(p: u8) -> &'static str {
    match p {
        1 => "ICMP",
        2 => "IGMP",
        6 => "TCP",
        17 => "UDP",
        41 => "IPv6",
        47 => "GRE",
        58 => "ICMPv6",
        89 => "OSPF",
        132 => "SCTP",
        _ => "",
    }
}

/// Decodes an IPv4 header at `off` and its payload.
pub(super) fn ipv4(d: &mut Dissector<'_>, off: usize) {
    let Some(vihl) = d.u8(off) else {
        d.malformed(off, "truncated IPv4 header");
        return;
    };
    let ihl = usize::from(vihl & 0x0f) * 4;
    if vihl >> 4 != 4 || ihl < 20 {
        d.malformed(off, "bad IPv4 version or header length");
        return;
    }
    let (
        Some(tos),
        Some(total),
        Some(id),
        Some(frag),
        Some(ttl),
        Some(proto),
        Some(csum),
        Some(src),
        Some(dst),
    ) = (
        d.u8(off + 1),
        d.be16(off + 2),
        d.be16(off + 4),
        d.be16(off + 6),
        d.u8(off + 8),
        d.u8(off + 9),
        d.be16(off + 10),
        d.ipv4(off + 12),
        d.ipv4(off + 16),
    )
    else {
        d.malformed(off, "truncated IPv4 header");
        return;
    };
    if d.remaining(off) < ihl {
        d.malformed(off, "truncated IPv4 options");
        return;
    }
    let total = usize::from(total);
    let flags = frag >> 13;
    let frag_off = frag & 0x1fff;
    let mut layer = d.layer(
        "ip",
        format_args!("Internet Protocol Version 4, Src: {src}, Dst: {dst}"),
        off,
        ihl,
    );
    let c = &mut layer.children;
    c.push(d.uint("ip.version", "Version", off, 1, 4));
    c.push(d.uint("ip.hdr_len", "Header Length", off, 1, ihl as u64));
    c.push(d.hex(
        "ip.dsfield",
        "Differentiated Services Field",
        off + 1,
        1,
        u64::from(tos),
        "",
    ));
    c.push(d.uint("ip.len", "Total Length", off + 2, 2, total as u64));
    c.push(d.hex("ip.id", "Identification", off + 4, 2, u64::from(id), ""));
    let flag_text = match flags {
        0b010 => "Don't fragment",
        0b001 => "More fragments",
        0 => "",
        _ => "several",
    };
    c.push(d.hex("ip.flags", "Flags", off + 6, 1, u64::from(flags), flag_text));
    c.push(d.uint(
        "ip.frag_offset",
        "Fragment Offset",
        off + 6,
        2,
        u64::from(frag_off) * 8,
    ));
    c.push(d.uint("ip.ttl", "Time to Live", off + 8, 1, u64::from(ttl)));
    c.push(d.field(
        "ip.proto",
        format_args!("Protocol: {} ({proto})", ip_proto_name(proto)),
        off + 9,
        1,
        Value::Uint(u64::from(proto)),
    ));
    c.push(d.hex("ip.checksum", "Header Checksum", off + 10, 2, u64::from(csum), ""));
    c.push(d.field(
        "ip.src",
        format_args!("Source Address: {src}"),
        off + 12,
        4,
        Value::Ipv4(src),
    ));
    c.push(d.field(
        "ip.dst",
        format_args!("Destination Address: {dst}"),
        off + 16,
        4,
        Value::Ipv4(dst),
    ));
    d.layers.push(layer);
    d.source = src.to_string();
    d.destination = dst.to_string();
    d.protocol = "IPv4".into();
    if total < ihl {
        d.malformed(off, "IPv4 total length shorter than its header");
        return;
    }
    // The payload ends at the total length (the rest is Ethernet padding) or at the capture's end.
    let payload_end = (off + total).min(d.data.len());
    if frag_off != 0 || flags & 0b001 != 0 {
        d.info = format!(
            "Fragmented IP protocol (proto={} {proto}, off={})",
            ip_proto_name(proto),
            frag_off * 8
        );
        d.data_layer_until(off + ihl, payload_end);
        d.padding(off + total);
        return;
    }
    transport::dispatch(d, proto, off + ihl, payload_end);
    d.padding(off + total);
}

/// Decodes an IPv6 header at `off`, skips its extension headers and decodes the transport.
pub(super) fn ipv6(d: &mut Dissector<'_>, off: usize) {
    let (Some(vtf), Some(plen), Some(next), Some(hlim), Some(src), Some(dst)) = (
        d.be32(off),
        d.be16(off + 4),
        d.u8(off + 6),
        d.u8(off + 7),
        d.ipv6(off + 8),
        d.ipv6(off + 24),
    ) else {
        d.malformed(off, "truncated IPv6 header");
        return;
    };
    if vtf >> 28 != 6 {
        d.malformed(off, "bad IPv6 version");
        return;
    }
    let tclass = (vtf >> 20) & 0xff;
    let flow = vtf & 0x000f_ffff;
    let mut layer = d.layer(
        "ipv6",
        format_args!("Internet Protocol Version 6, Src: {src}, Dst: {dst}"),
        off,
        40,
    );
    let c = &mut layer.children;
    c.push(d.uint("ipv6.version", "Version", off, 1, 6));
    c.push(d.hex("ipv6.tclass", "Traffic Class", off, 2, u64::from(tclass), ""));
    c.push(d.hex("ipv6.flow", "Flow Label", off + 1, 3, u64::from(flow), ""));
    c.push(d.uint("ipv6.plen", "Payload Length", off + 4, 2, u64::from(plen)));
    c.push(d.field(
        "ipv6.nxt",
        format_args!("Next Header: {} ({next})", ip_proto_name(next)),
        off + 6,
        1,
        Value::Uint(u64::from(next)),
    ));
    c.push(d.uint("ipv6.hlim", "Hop Limit", off + 7, 1, u64::from(hlim)));
    c.push(d.field(
        "ipv6.src",
        format_args!("Source Address: {src}"),
        off + 8,
        16,
        Value::Ipv6(src),
    ));
    c.push(d.field(
        "ipv6.dst",
        format_args!("Destination Address: {dst}"),
        off + 24,
        16,
        Value::Ipv6(dst),
    ));
    d.layers.push(layer);
    d.source = src.to_string();
    d.destination = dst.to_string();
    d.protocol = "IPv6".into();
    let end = (off + 40 + usize::from(plen)).min(d.data.len());
    let mut next = next;
    let mut pos = off + 40;
    // Extension headers: hop-by-hop, routing, fragment, destination options. Each moves `pos` forward by at
    // least 8 bytes, so the loop ends.
    loop {
        match next {
            0 | 43 | 60 => {
                let (Some(nh), Some(len)) = (d.u8(pos), d.u8(pos + 1)) else {
                    d.malformed(pos, "truncated IPv6 extension header");
                    return;
                };
                let hdr_len = (usize::from(len) + 1) * 8;
                d.layers.push(d.field(
                    "ipv6.ext",
                    format_args!("IPv6 extension header {next} ({hdr_len} bytes)"),
                    pos,
                    hdr_len.min(d.remaining(pos)),
                    Value::Uint(u64::from(next)),
                ));
                next = nh;
                pos += hdr_len;
            }
            44 => {
                let (Some(nh), Some(fo)) = (d.u8(pos), d.be16(pos + 2)) else {
                    d.malformed(pos, "truncated IPv6 fragment header");
                    return;
                };
                d.layers.push(d.field(
                    "ipv6.fragment",
                    format_args!("Fragment header, offset {}", (fo >> 3) * 8),
                    pos,
                    8.min(d.remaining(pos)),
                    Value::Uint(u64::from(fo >> 3) * 8),
                ));
                pos += 8;
                if fo >> 3 != 0 || fo & 1 != 0 {
                    d.info = format!("IPv6 fragment (nxt={} {nh})", ip_proto_name(nh));
                    d.data_layer_until(pos, end);
                    return;
                }
                next = nh;
            }
            _ => break,
        }
        if pos > end {
            d.malformed(end, "IPv6 extension headers past the payload");
            return;
        }
    }
    transport::dispatch(d, next, pos, end);
    d.padding(off + 40 + usize::from(plen));
}
