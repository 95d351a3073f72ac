//! ICMP, ICMPv6, TCP and UDP; TCP on the OpenFlow ports goes on to [`super::openflow`].

use std::fmt::Write as _;

use super::network::ip_proto_name;
use super::{openflow, Dissector, Field, Value};

/// TCP ports OpenFlow is decoded on (IANA 6653 and the older 6633).
pub const OPENFLOW_PORTS: [u16; 2] = [6653, 6633];

/// Decodes the IP payload of protocol `proto` between `off` and `end`.
pub(super) fn dispatch(d: &mut Dissector<'_>, proto: u8, off: usize, end: usize) {
    match proto {
        1 => icmp(d, off, end),
        58 => icmpv6(d, off, end),
        6 => tcp(d, off, end),
        17 => udp(d, off, end),
        p => {
            let name = ip_proto_name(p);
            if !name.is_empty() {
                d.protocol = name.into();
            }
            if d.info.is_empty() {
                d.info = format!("IP protocol {p}");
            }
            d.data_layer_until(off, end);
        }
    }
}

fn icmp_type_name(t: u8) -> &'static str {
    match t {
        0 => "Echo (ping) reply",
        3 => "Destination unreachable",
        5 => "Redirect",
        8 => "Echo (ping) request",
        11 => "Time-to-live exceeded",
        12 => "Parameter problem",
        13 => "Timestamp request",
        14 => "Timestamp reply",
        _ => "Unknown ICMP type",
    }
}

fn icmpv6_type_name(t: u8) -> &'static str {
    match t {
        1 => "Destination Unreachable",
        2 => "Packet Too Big",
        3 => "Time Exceeded",
        4 => "Parameter Problem",
        128 => "Echo (ping) request",
        129 => "Echo (ping) reply",
        133 => "Router Solicitation",
        134 => "Router Advertisement",
        135 => "Neighbor Solicitation",
        136 => "Neighbor Advertisement",
        137 => "Redirect",
        143 => "Multicast Listener Report Message v2",
        _ => "Unknown ICMPv6 type",
    }
}

/// What differs between ICMP and ICMPv6 in their common header (type, code, checksum) and echo fields.
struct IcmpFlavour {
    /// Layer name (`icmp`, `icmpv6`).
    layer: &'static str,
    /// Field names of the type, code and checksum.
    type_code_checksum: [&'static str; 3],
    title: &'static str,
    protocol: &'static str,
    type_name: fn(u8) -> &'static str,
    /// The type line: ICMP shows the number first, ICMPv6 the name (as Wireshark does).
    number_first: bool,
    /// Types that carry an identifier and a sequence number.
    echo_types: &'static [u8],
    ident: (&'static str, &'static str),
    seq: (&'static str, &'static str),
}

const ICMP: IcmpFlavour = IcmpFlavour {
    layer: "icmp",
    type_code_checksum: ["icmp.type", "icmp.code", "icmp.checksum"],
    title: "Internet Control Message Protocol",
    protocol: "ICMP",
    type_name: icmp_type_name,
    number_first: true,
    echo_types: &[0, 8, 13, 14],
    ident: ("icmp.ident", "Identifier"),
    seq: ("icmp.seq", "Sequence Number"),
};

const ICMPV6: IcmpFlavour = IcmpFlavour {
    layer: "icmpv6",
    type_code_checksum: ["icmpv6.type", "icmpv6.code", "icmpv6.checksum"],
    title: "Internet Control Message Protocol v6",
    protocol: "ICMPv6",
    type_name: icmpv6_type_name,
    number_first: false,
    echo_types: &[128, 129],
    ident: ("icmpv6.echo.identifier", "Identifier"),
    seq: ("icmpv6.echo.sequence_number", "Sequence"),
};

/// The header both ICMPs share, and their echo identifier and sequence; returns the layer (not yet pushed), the
/// message type and the info text so far, or `None` when the header is truncated (marked malformed).
fn icmp_common(
    d: &mut Dissector<'_>,
    off: usize,
    end: usize,
    f: &IcmpFlavour,
) -> Option<(Field, u8, String)> {
    let (Some(t), Some(code), Some(csum)) = (d.u8(off), d.u8(off + 1), d.be16(off + 2)) else {
        d.malformed(off, &format!("truncated {} header", f.protocol));
        return None;
    };
    let name = (f.type_name)(t);
    let mut layer = d.layer(f.layer, format_args!("{}", f.title), off, end.saturating_sub(off));
    let c = &mut layer.children;
    let [type_field, code_field, checksum_field] = f.type_code_checksum;
    let value = Value::Uint(u64::from(t));
    c.push(if f.number_first {
        d.field(type_field, format_args!("Type: {t} ({name})"), off, 1, value)
    } else {
        d.field(type_field, format_args!("Type: {name} ({t})"), off, 1, value)
    });
    c.push(d.uint(code_field, "Code", off + 1, 1, u64::from(code)));
    c.push(d.hex(checksum_field, "Checksum", off + 2, 2, u64::from(csum), ""));
    let mut info = name.to_string();
    if f.echo_types.contains(&t) {
        if let (Some(id), Some(seq)) = (d.be16(off + 4), d.be16(off + 6)) {
            c.push(d.hex(f.ident.0, f.ident.1, off + 4, 2, u64::from(id), ""));
            c.push(d.uint(f.seq.0, f.seq.1, off + 6, 2, u64::from(seq)));
            let _ = write!(info, " id=0x{id:04x}, seq={seq}");
        }
    }
    Some((layer, t, info))
}

fn icmp(d: &mut Dissector<'_>, off: usize, end: usize) {
    let Some((layer, _, info)) = icmp_common(d, off, end, &ICMP) else {
        return;
    };
    d.layers.push(layer);
    d.protocol = ICMP.protocol.into();
    d.info = info;
}

fn icmpv6(d: &mut Dissector<'_>, off: usize, end: usize) {
    let Some((mut layer, t, mut info)) = icmp_common(d, off, end, &ICMPV6) else {
        return;
    };
    if matches!(t, 135 | 136) {
        if let Some(target) = d.ipv6(off + 8) {
            layer.children.push(d.field(
                "icmpv6.nd.target",
                format_args!("Target Address: {target}"),
                off + 8,
                16,
                Value::Ipv6(target),
            ));
            let _ = write!(info, " for {target}");
        }
    }
    d.layers.push(layer);
    d.protocol = ICMPV6.protocol.into();
    d.info = info;
}

fn tcp_flag_names(flags: u16) -> String {
    const NAMES: [(u16, &str); 9] = [
        (0x100, "NS"),
        (0x080, "CWR"),
        (0x040, "ECE"),
        (0x020, "URG"),
        (0x010, "ACK"),
        (0x008, "PSH"),
        (0x004, "RST"),
        (0x002, "SYN"),
        (0x001, "FIN"),
    ];
    let set: Vec<&str> = NAMES
        .iter()
        .filter(|(bit, _)| flags & bit != 0)
        .map(|(_, n)| *n)
        .collect();
    set.join(", ")
}

fn tcp(d: &mut Dissector<'_>, off: usize, end: usize) {
    let (Some(sport), Some(dport), Some(seq), Some(ack), Some(offflags), Some(win), Some(csum), Some(urg)) = (
        d.be16(off),
        d.be16(off + 2),
        d.be32(off + 4),
        d.be32(off + 8),
        d.be16(off + 12),
        d.be16(off + 14),
        d.be16(off + 16),
        d.be16(off + 18),
    ) else {
        d.malformed(off, "truncated TCP header");
        return;
    };
    let hdr = usize::from(offflags >> 12) * 4;
    if hdr < 20 || off + hdr > end {
        d.malformed(off, "bad TCP header length");
        return;
    }
    let flags = offflags & 0x01ff;
    let payload = end.saturating_sub(off + hdr);
    let flag_text = tcp_flag_names(flags);
    let mut layer = d.layer(
        "tcp",
        format_args!("Transmission Control Protocol, Src Port: {sport}, Dst Port: {dport}, Len: {payload}"),
        off,
        hdr,
    );
    let c = &mut layer.children;
    c.push(d.uint("tcp.srcport", "Source Port", off, 2, u64::from(sport)));
    c.push(d.uint("tcp.dstport", "Destination Port", off + 2, 2, u64::from(dport)));
    c.push(d.uint("tcp.seq", "Sequence Number", off + 4, 4, u64::from(seq)));
    c.push(d.uint("tcp.ack", "Acknowledgment Number", off + 8, 4, u64::from(ack)));
    c.push(d.uint("tcp.hdr_len", "Header Length", off + 12, 1, hdr as u64));
    c.push(d.hex("tcp.flags", "Flags", off + 12, 2, u64::from(flags), &flag_text));
    c.push(d.uint("tcp.window_size_value", "Window", off + 14, 2, u64::from(win)));
    c.push(d.hex("tcp.checksum", "Checksum", off + 16, 2, u64::from(csum), ""));
    c.push(d.uint(
        "tcp.urgent_pointer",
        "Urgent Pointer",
        off + 18,
        2,
        u64::from(urg),
    ));
    c.push(d.uint("tcp.len", "TCP Segment Len", off + 12, 0, payload as u64));
    d.layers.push(layer);
    d.protocol = "TCP".into();
    let mut info = format!("{sport} \u{2192} {dport} [{flag_text}] Seq={seq}");
    if flags & 0x010 != 0 {
        let _ = write!(info, " Ack={ack}");
    }
    let _ = write!(info, " Win={win} Len={payload}");
    d.info = info;
    let body = off + hdr;
    if payload > 0 && (OPENFLOW_PORTS.contains(&sport) || OPENFLOW_PORTS.contains(&dport)) {
        openflow::messages(d, body, end);
    } else {
        d.data_layer_until(body, end);
    }
}

fn udp(d: &mut Dissector<'_>, off: usize, end: usize) {
    let (Some(sport), Some(dport), Some(len), Some(csum)) =
        (d.be16(off), d.be16(off + 2), d.be16(off + 4), d.be16(off + 6))
    else {
        d.malformed(off, "truncated UDP header");
        return;
    };
    let mut layer = d.layer(
        "udp",
        format_args!("User Datagram Protocol, Src Port: {sport}, Dst Port: {dport}"),
        off,
        8,
    );
    let c = &mut layer.children;
    c.push(d.uint("udp.srcport", "Source Port", off, 2, u64::from(sport)));
    c.push(d.uint("udp.dstport", "Destination Port", off + 2, 2, u64::from(dport)));
    c.push(d.uint("udp.length", "Length", off + 4, 2, u64::from(len)));
    c.push(d.hex("udp.checksum", "Checksum", off + 6, 2, u64::from(csum), ""));
    d.layers.push(layer);
    d.protocol = "UDP".into();
    let payload = usize::from(len).saturating_sub(8);
    d.info = format!("{sport} \u{2192} {dport} Len={payload}");
    let body_end = (off + usize::from(len)).min(end);
    d.data_layer_until(off + 8, body_end);
}
