use super::*;
use crate::decode::dissect;

fn udp_frame(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16) -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, 0x0b, 0x02, 0, 0, 0, 0, 0x0a, 0x08, 0x00];
    f.extend_from_slice(&[0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0]);
    f.extend_from_slice(&src);
    f.extend_from_slice(&dst);
    f.extend_from_slice(&sport.to_be_bytes());
    f.extend_from_slice(&dport.to_be_bytes());
    f.extend_from_slice(&[0, 8, 0, 0]);
    f
}

fn check(filter: &str, frame: &[u8]) -> bool {
    let d = dissect(1, frame, frame.len() as u32);
    DisplayFilter::parse(filter)
        .unwrap_or_else(|e| panic!("{filter}: {e}"))
        .matches(&d)
}

#[test]
fn comparisons_and_logic() {
    let f = udp_frame([10, 1, 2, 3], [192, 168, 0, 9], 4000, 53);
    for yes in [
        "",
        "udp",
        "ip",
        "eth",
        "ip.src == 10.1.2.3",
        "ip.src == 10.0.0.0/8",
        "ip.addr == 192.168.0.0/16",
        "ip.dst != 10.0.0.0/8",
        "udp.port == 53",
        "udp.dstport eq 53 && udp.srcport > 1024",
        "frame.len >= 42 and frame.len <= 42",
        "eth.addr == 02:00:00:00:00:0a",
        "eth.src == 02-00-00-00-00-0A",
        "eth.type == 0x0800",
        "ip.proto == udp",
        "ip.proto == 17",
        "not tcp",
        "!arp && (udp.port == 1 || udp.port == 53)",
        "not (tcp or arp)",
        "ip.ttl < 65",
    ] {
        assert!(check(yes, &f), "{yes:?} should match");
    }
    for no in [
        "tcp",
        "arp",
        "ip.src == 10.1.2.4",
        "ip.addr != 10.1.2.3",
        "ip.src == 11.0.0.0/8",
        "udp.port == 54",
        "tcp.port == 53",
        "tcp.port != 53",
        "frame.len > 42",
        "vlan.id == 10",
        "ipv6.addr == ::1",
        "ip.proto == tcp",
        "udp and not ip",
    ] {
        assert!(!check(no, &f), "{no:?} should not match");
    }
}

#[test]
fn openflow_type_by_name_or_number() {
    use twister_openflow::{v10, OfMessage};
    let msg = OfMessage::V10(v10::Message::FeaturesRequest).encode(9).unwrap();
    let mut f = vec![0u8; 12];
    f.extend_from_slice(&[0x08, 0x00, 0x45, 0, 0]);
    f.push((40 + msg.len()) as u8);
    f.extend_from_slice(&[0, 0, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
    f.extend_from_slice(&6633u16.to_be_bytes());
    f.extend_from_slice(&[0x9c, 0x40, 0, 0, 0, 1, 0, 0, 0, 1, 0x50, 0x18, 1, 0, 0, 0, 0, 0]);
    f.extend_from_slice(&msg);
    assert!(check("openflow", &f));
    assert!(check("openflow.type == 5", &f));
    assert!(check("openflow.type == OFPT_FEATURES_REQUEST", &f));
    assert!(check("openflow.type == features_request", &f));
    assert!(check("openflow.version == 1 and tcp.port == 6633", &f));
    assert!(!check("openflow.type == FLOW_MOD", &f));
}

#[test]
fn parse_errors_say_where_and_what() {
    let cases: [(&str, usize, &str); 12] = [
        ("ip.src ==", 9, "expected a value"),
        ("ip.src = 1.2.3.4", 7, "'=' is not an operator"),
        ("ip.sorce == 1.2.3.4", 0, "unknown field"),
        ("ip.src == 1.2.3", 10, "not an IPv4 address"),
        ("ip.src == 1.2.3.4/33", 10, "not an IPv4 address"),
        ("(udp", 4, "expected ')'"),
        ("udp)", 3, "unbalanced ')'"),
        ("udp udp", 4, "expected 'and', 'or'"),
        ("udp and", 7, "expected a field name"),
        ("arp == 1", 4, "no value to compare"),
        ("ip.src > 1.2.3.4", 7, "only be compared with == or !="),
        ("eth.addr == zz:00:00:00:00:00", 12, "not a MAC address"),
    ];
    for (text, pos, msg) in cases {
        let e = DisplayFilter::parse(text).expect_err(text);
        assert_eq!(e.position, pos, "{text:?}: {e}");
        assert!(e.message.contains(msg), "{text:?}: {e}");
    }
    assert_eq!(
        DisplayFilter::parse("udp $").unwrap_err().to_string(),
        "unexpected character '$' (at character 4)"
    );
    let deep = format!("{}udp{}", "(".repeat(500), ")".repeat(500));
    assert!(DisplayFilter::parse(&deep)
        .unwrap_err()
        .message
        .contains("nested too deeply"));
}

proptest::proptest! {
    #[test]
    fn parse_never_panics(text in "[ -~]{0,60}") {
        let _ = DisplayFilter::parse(&text);
    }

    #[test]
    fn parse_of_filter_like_text_never_panics(
        parts in proptest::collection::vec(
            proptest::sample::select(vec![
                "ip.src", "tcp.port", "==", "!=", "<", "and", "or", "not", "(", ")", "10.0.0.0/8", "::1",
                "53", "0x", "arp", "\"x", "vlan.id", "!", "&&", "eth.addr", "aa:bb:cc:dd:ee:ff",
            ]),
            0..12,
        )
    ) {
        let _ = DisplayFilter::parse(&parts.join(" "));
    }
}
