use proptest::prelude::*;

use super::*;

const MAC_A: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0a];
const MAC_B: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0b];

fn eth(etype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&MAC_B);
    f.extend_from_slice(&MAC_A);
    f.extend_from_slice(&etype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

fn ipv4(proto: u8, src: [u8; 4], dst: [u8; 4], payload: &[u8]) -> Vec<u8> {
    let total = (20 + payload.len()) as u16;
    let mut p = vec![0x45, 0];
    p.extend_from_slice(&total.to_be_bytes());
    p.extend_from_slice(&[0x12, 0x34, 0x40, 0, 64, proto, 0, 0]);
    p.extend_from_slice(&src);
    p.extend_from_slice(&dst);
    p.extend_from_slice(payload);
    p
}

fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut u = Vec::new();
    u.extend_from_slice(&sport.to_be_bytes());
    u.extend_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(payload);
    u
}

fn tcp(sport: u16, dport: u16, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut t = Vec::new();
    t.extend_from_slice(&sport.to_be_bytes());
    t.extend_from_slice(&dport.to_be_bytes());
    t.extend_from_slice(&100u32.to_be_bytes());
    t.extend_from_slice(&7u32.to_be_bytes());
    t.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    t.extend_from_slice(payload);
    t
}

fn field<'a>(d: &'a Dissection, name: &str) -> &'a Field {
    d.fields()
        .into_iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("no field {name} in {d:#?}"))
}

/// Every field lies inside the frame.
fn assert_in_bounds(d: &Dissection, len: usize) {
    for f in d.fields() {
        assert!(
            f.offset + f.len <= len,
            "{} at {}+{} past {len}",
            f.name,
            f.offset,
            f.len
        );
    }
}

#[test]
fn udp_over_ipv4_fields_and_summary() {
    let frame = eth(
        0x0800,
        &ipv4(17, [10, 0, 0, 1], [10, 0, 0, 2], &udp(4000, 5000, b"hello")),
    );
    let d = dissect(1, &frame, frame.len() as u32);
    let names: Vec<&str> = d.layers.iter().map(|l| l.name.as_ref()).collect();
    assert_eq!(names, ["frame", "eth", "ip", "udp", "data"]);
    assert_eq!(
        field(&d, "ip.src").value,
        Value::Ipv4("10.0.0.1".parse().unwrap())
    );
    assert_eq!(field(&d, "ip.src").offset, 26);
    assert_eq!(field(&d, "ip.src").len, 4);
    assert_eq!(field(&d, "udp.dstport").value, Value::Uint(5000));
    assert_eq!(field(&d, "udp.dstport").offset, 36);
    assert_eq!(field(&d, "eth.src").display, "Source: 02:00:00:00:00:0a");
    assert_eq!(d.summary.source, "10.0.0.1");
    assert_eq!(d.summary.destination, "10.0.0.2");
    assert_eq!(d.summary.protocol, "UDP");
    assert_eq!(d.summary.info, "4000 \u{2192} 5000 Len=5");
    assert_eq!(d.summary.length, frame.len() as u32);
    assert_in_bounds(&d, frame.len());
}

#[test]
fn qinq_vlans_then_arp_request() {
    let mut arp = vec![0, 1, 8, 0, 6, 4, 0, 1];
    arp.extend_from_slice(&MAC_A);
    arp.extend_from_slice(&[192, 168, 1, 1]);
    arp.extend_from_slice(&[0; 6]);
    arp.extend_from_slice(&[192, 168, 1, 2]);
    let mut inner = vec![0x00, 0x0a]; // C-tag: vid 10
    inner.extend_from_slice(&0x0806u16.to_be_bytes());
    inner.extend_from_slice(&arp);
    inner.extend_from_slice(&[0; 10]); // padding
    let mut outer = vec![0xa0, 0x64]; // S-tag: pcp 5, vid 100
    outer.extend_from_slice(&0x8100u16.to_be_bytes());
    outer.extend_from_slice(&inner);
    let frame = eth(0x88a8, &outer);
    let d = dissect(1, &frame, frame.len() as u32);
    let vids: Vec<&Value> = d
        .fields()
        .into_iter()
        .filter(|f| f.name == "vlan.id")
        .map(|f| &f.value)
        .collect();
    assert_eq!(vids, [&Value::Uint(100), &Value::Uint(10)]);
    assert_eq!(field(&d, "vlan.priority").value, Value::Uint(5));
    assert_eq!(d.summary.protocol, "ARP");
    assert_eq!(d.summary.info, "Who has 192.168.1.2? Tell 192.168.1.1");
    assert!(d.has_layer("eth.padding"));
    assert_in_bounds(&d, frame.len());
}

#[test]
fn icmp_echo_and_tcp_syn() {
    let icmp = [8, 0, 0, 0, 0x12, 0x34, 0, 3, 1, 2, 3, 4];
    let frame = eth(0x0800, &ipv4(1, [10, 0, 0, 1], [10, 0, 0, 2], &icmp));
    let d = dissect(1, &frame, frame.len() as u32);
    assert_eq!(d.summary.protocol, "ICMP");
    assert_eq!(d.summary.info, "Echo (ping) request id=0x1234, seq=3");

    let frame = eth(
        0x0800,
        &ipv4(6, [10, 0, 0, 1], [10, 0, 0, 2], &tcp(40000, 80, 0x12, &[])),
    );
    let d = dissect(1, &frame, frame.len() as u32);
    assert_eq!(d.summary.protocol, "TCP");
    assert_eq!(
        d.summary.info,
        "40000 \u{2192} 80 [ACK, SYN] Seq=100 Ack=7 Win=65535 Len=0"
    );
    assert_eq!(field(&d, "tcp.flags").value, Value::Uint(0x12));
}

#[test]
fn ipv6_icmpv6_echo_through_hop_by_hop() {
    let mut p = vec![0x60, 0, 0, 0];
    let icmp = [128u8, 0, 0, 0, 0, 1, 0, 9];
    let hop = [58u8, 0, 5, 2, 0, 0, 1, 0]; // next: ICMPv6, length 8, router alert
    p.extend_from_slice(&((hop.len() + icmp.len()) as u16).to_be_bytes());
    p.extend_from_slice(&[0, 1]);
    p.extend_from_slice(&"fe80::1".parse::<std::net::Ipv6Addr>().unwrap().octets());
    p.extend_from_slice(&"ff02::1".parse::<std::net::Ipv6Addr>().unwrap().octets());
    p.extend_from_slice(&hop);
    p.extend_from_slice(&icmp);
    let frame = eth(0x86dd, &p);
    let d = dissect(1, &frame, frame.len() as u32);
    assert_eq!(d.summary.protocol, "ICMPv6");
    assert_eq!(d.summary.source, "fe80::1");
    assert_eq!(d.summary.info, "Echo (ping) request id=0x0001, seq=9");
    assert_eq!(field(&d, "icmpv6.echo.sequence_number").offset, 14 + 40 + 8 + 6);
}

#[test]
fn icmp_type_lines_and_neighbour_solicitation_target() {
    let frame = eth(
        0x0800,
        &ipv4(1, [10, 0, 0, 1], [10, 0, 0, 2], &[3, 1, 0, 0, 0, 0, 0, 0]),
    );
    let d = dissect(1, &frame, frame.len() as u32);
    assert_eq!(
        field(&d, "icmp.type").display,
        "Type: 3 (Destination unreachable)"
    );
    assert_eq!(field(&d, "icmp.code").value, Value::Uint(1));
    let layer = d.layers.iter().find(|l| l.name == "icmp").unwrap();
    assert!(
        layer.children.iter().all(|f| f.name != "icmp.ident"),
        "no echo fields in an error message"
    );

    let target: std::net::Ipv6Addr = "fe80::2".parse().unwrap();
    let mut ns = vec![135u8, 0, 0, 0, 0, 0, 0, 0];
    ns.extend_from_slice(&target.octets());
    let mut p = vec![0x60, 0, 0, 0];
    p.extend_from_slice(&(ns.len() as u16).to_be_bytes());
    p.extend_from_slice(&[58, 255]);
    p.extend_from_slice(&"fe80::1".parse::<std::net::Ipv6Addr>().unwrap().octets());
    p.extend_from_slice(&"ff02::1:ff00:2".parse::<std::net::Ipv6Addr>().unwrap().octets());
    p.extend_from_slice(&ns);
    let frame = eth(0x86dd, &p);
    let d = dissect(1, &frame, frame.len() as u32);
    assert_eq!(
        field(&d, "icmpv6.type").display,
        "Type: Neighbor Solicitation (135)"
    );
    assert_eq!(field(&d, "icmpv6.nd.target").value, Value::Ipv6(target));
    assert_eq!(field(&d, "icmpv6.nd.target").offset, 14 + 40 + 8);
    assert_eq!(d.summary.info, "Neighbor Solicitation for fe80::2");
    assert_in_bounds(&d, frame.len());

    // A header cut short is marked malformed with the protocol's name.
    let frame = eth(0x0800, &ipv4(1, [10, 0, 0, 1], [10, 0, 0, 2], &[8, 0]));
    let d = dissect(1, &frame, frame.len() as u32);
    assert!(
        d.layers
            .iter()
            .any(|l| l.display.contains("truncated ICMP header")),
        "{:?}",
        d.layers
    );
}

#[test]
fn openflow_messages_in_one_segment() {
    use twister_openflow::{v13, OfMessage};
    let mut payload = OfMessage::V13(v13::Message::Hello(Default::default()))
        .encode(1)
        .unwrap();
    payload.extend(OfMessage::V13(v13::Message::FeaturesRequest).encode(2).unwrap());
    payload.extend_from_slice(&[4, 0, 0, 16, 0, 0, 0, 3, 1, 2]); // a third message cut by the segment end
    let frame = eth(
        0x0800,
        &ipv4(6, [10, 0, 0, 1], [10, 0, 0, 2], &tcp(6653, 50000, 0x18, &payload)),
    );
    let d = dissect(1, &frame, frame.len() as u32);
    assert_eq!(d.summary.protocol, "OpenFlow");
    assert_eq!(d.summary.info, "OFPT_HELLO, OFPT_FEATURES_REQUEST, OFPT_HELLO");
    let types: Vec<&Value> = d
        .fields()
        .into_iter()
        .filter(|f| f.name == "openflow.type")
        .map(|f| &f.value)
        .collect();
    assert_eq!(types, [&Value::Uint(0), &Value::Uint(5), &Value::Uint(0)]);
    assert!(field(&d, "openflow.body").display.starts_with("Body: V13("));
    assert_eq!(field(&d, "openflow.xid").offset, 14 + 20 + 20 + 4);
    assert_in_bounds(&d, frame.len());
}

#[test]
fn truncated_headers_are_malformed_not_panics() {
    let frame = eth(0x0800, &[0x45, 0, 0, 40, 0]);
    let d = dissect(1, &frame, 100);
    assert!(d.has_layer("malformed"));
    assert!(d.summary.info.contains("Malformed"));
    let d = dissect(1, &[1, 2, 3], 3);
    assert!(d.has_layer("malformed"));
    let d = dissect(999, &[1, 2, 3], 3);
    assert!(d.has_layer("data"));
}

#[test]
fn raw_ip_linktype() {
    let pkt = ipv4(17, [1, 1, 1, 1], [2, 2, 2, 2], &udp(53, 53, &[]));
    let d = dissect(crate::LINKTYPE_RAW, &pkt, pkt.len() as u32);
    assert_eq!(d.summary.protocol, "UDP");
}

/// A values-only dissection is the full one with its display texts left empty: same layers, names, offsets,
/// values and summary, so filters and packet-list rows cannot tell them apart.
fn assert_values_match_full(linktype: u32, data: &[u8], original_len: u32) {
    let full = dissect(linktype, data, original_len);
    let values = dissect_with(linktype, data, original_len, Detail::Values);
    assert_eq!(values.summary, full.summary);
    fn blank(f: &Field) -> Field {
        Field {
            display: String::new(),
            children: f.children.iter().map(blank).collect(),
            ..f.clone()
        }
    }
    let blanked: Vec<Field> = full.layers.iter().map(blank).collect();
    assert_eq!(values.layers, blanked);
    assert!(full.fields().iter().all(|f| !f.display.is_empty()), "{full:?}");
}

#[test]
fn values_only_dissections_match_the_full_ones() {
    let frames = [
        eth(
            0x0800,
            &ipv4(17, [10, 0, 0, 1], [10, 0, 0, 2], &udp(40000, 53, b"q")),
        ),
        eth(
            0x0800,
            &ipv4(
                6,
                [10, 0, 0, 1],
                [10, 0, 0, 2],
                &tcp(6653, 40000, 0x18, &[4, 0, 0, 8, 0, 0, 0, 1]),
            ),
        ),
        eth(
            0x0806,
            &[
                0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 10, 0, 0, 2,
            ],
        ),
        eth(0x8100, &[0x20, 0x0a, 0x08, 0x00, 0x45]),
    ];
    for f in &frames {
        assert_values_match_full(1, f, f.len() as u32);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn never_panics_and_stays_in_bounds(data in proptest::collection::vec(any::<u8>(), 0..200), lt in 0u32..3) {
        let linktype = [1, 101, 7][lt as usize];
        let d = dissect(linktype, &data, data.len() as u32);
        assert_in_bounds(&d, data.len());
        let values = dissect_with(linktype, &data, data.len() as u32, Detail::Values);
        prop_assert_eq!(&values.summary, &d.summary);
        prop_assert_eq!(values.fields().len(), d.fields().len());
    }

    #[test]
    fn structured_frames_never_panic(
        etype in prop::sample::select(vec![0x0800u16, 0x86dd, 0x0806, 0x8100, 0x88a8]),
        proto in prop::sample::select(vec![1u8, 6, 17, 58, 0, 44]),
        port in prop::sample::select(vec![6653u16, 6633, 80]),
        tail in proptest::collection::vec(any::<u8>(), 0..120),
    ) {
        let mut inner = tail.clone();
        if proto == 6 {
            inner = tcp(port, 1234, 0x18, &tail);
        }
        let frame = eth(etype, &ipv4(proto, [1, 2, 3, 4], [5, 6, 7, 8], &inner));
        let d = dissect(1, &frame, frame.len() as u32);
        assert_in_bounds(&d, frame.len());
        assert_values_match_full(1, &frame, frame.len() as u32);
        let cut = &frame[..frame.len() / 2];
        let d = dissect(1, cut, frame.len() as u32);
        assert_in_bounds(&d, cut.len());
    }
}
