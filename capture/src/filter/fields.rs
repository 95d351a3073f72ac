//! The fields display filters know, and the kind of value each holds.

/// What a field holds, which decides the values it can be compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// A protocol layer: only its presence can be tested.
    Layer,
    /// A number (may also be compared with its symbolic name).
    Uint,
    /// An IPv4 address.
    Ipv4,
    /// An IPv6 address.
    Ipv6,
    /// A MAC address.
    Mac,
    /// A field with no comparable value (presence only).
    Opaque,
}

const FIELDS: &[(&str, FieldKind)] = {
    use FieldKind::*;
    &[
        ("frame", Layer),
        ("eth", Layer),
        ("vlan", Layer),
        ("arp", Layer),
        ("ip", Layer),
        ("ipv6", Layer),
        ("icmp", Layer),
        ("icmpv6", Layer),
        ("tcp", Layer),
        ("udp", Layer),
        ("openflow", Layer),
        ("data", Layer),
        ("malformed", Layer),
        ("frame.len", Uint),
        ("frame.cap_len", Uint),
        ("eth.dst", Mac),
        ("eth.src", Mac),
        ("eth.addr", Mac),
        ("eth.type", Uint),
        ("eth.padding", Opaque),
        ("vlan.priority", Uint),
        ("vlan.dei", Uint),
        ("vlan.id", Uint),
        ("vlan.etype", Uint),
        ("arp.hw.type", Uint),
        ("arp.proto.type", Uint),
        ("arp.hw.size", Uint),
        ("arp.proto.size", Uint),
        ("arp.opcode", Uint),
        ("arp.src.hw_mac", Mac),
        ("arp.src.proto_ipv4", Ipv4),
        ("arp.dst.hw_mac", Mac),
        ("arp.dst.proto_ipv4", Ipv4),
        ("ip.version", Uint),
        ("ip.hdr_len", Uint),
        ("ip.dsfield", Uint),
        ("ip.len", Uint),
        ("ip.id", Uint),
        ("ip.flags", Uint),
        ("ip.frag_offset", Uint),
        ("ip.ttl", Uint),
        ("ip.proto", Uint),
        ("ip.checksum", Uint),
        ("ip.src", Ipv4),
        ("ip.dst", Ipv4),
        ("ip.addr", Ipv4),
        ("ipv6.version", Uint),
        ("ipv6.tclass", Uint),
        ("ipv6.flow", Uint),
        ("ipv6.plen", Uint),
        ("ipv6.nxt", Uint),
        ("ipv6.hlim", Uint),
        ("ipv6.src", Ipv6),
        ("ipv6.dst", Ipv6),
        ("ipv6.addr", Ipv6),
        ("ipv6.ext", Uint),
        ("ipv6.fragment", Uint),
        ("icmp.type", Uint),
        ("icmp.code", Uint),
        ("icmp.checksum", Uint),
        ("icmp.ident", Uint),
        ("icmp.seq", Uint),
        ("icmpv6.type", Uint),
        ("icmpv6.code", Uint),
        ("icmpv6.checksum", Uint),
        ("icmpv6.echo.identifier", Uint),
        ("icmpv6.echo.sequence_number", Uint),
        ("icmpv6.nd.target", Ipv6),
        ("tcp.srcport", Uint),
        ("tcp.dstport", Uint),
        ("tcp.port", Uint),
        ("tcp.seq", Uint),
        ("tcp.ack", Uint),
        ("tcp.hdr_len", Uint),
        ("tcp.flags", Uint),
        ("tcp.window_size_value", Uint),
        ("tcp.checksum", Uint),
        ("tcp.urgent_pointer", Uint),
        ("tcp.len", Uint),
        ("udp.srcport", Uint),
        ("udp.dstport", Uint),
        ("udp.port", Uint),
        ("udp.length", Uint),
        ("udp.checksum", Uint),
        ("openflow.version", Uint),
        ("openflow.type", Uint),
        ("openflow.length", Uint),
        ("openflow.xid", Uint),
        ("openflow.body", Opaque),
        ("openflow.malformed", Opaque),
        ("data.len", Uint),
    ]
};

/// The kind of field `name`, or `None` when no decoder produces it.
pub fn field_kind(name: &str) -> Option<FieldKind> {
    FIELDS.iter().find(|(n, _)| *n == name).map(|(_, k)| *k)
}

/// The concrete fields a name stands for (`tcp.port` is either port), as `'static` names.
pub(super) fn expand(name: &str) -> Vec<&'static str> {
    match name {
        "ip.addr" => vec!["ip.src", "ip.dst"],
        "ipv6.addr" => vec!["ipv6.src", "ipv6.dst"],
        "eth.addr" => vec!["eth.src", "eth.dst"],
        "tcp.port" => vec!["tcp.srcport", "tcp.dstport"],
        "udp.port" => vec!["udp.srcport", "udp.dstport"],
        other => FIELDS
            .iter()
            .filter(|(n, _)| *n == other)
            .map(|(n, _)| *n)
            .collect(),
    }
}
