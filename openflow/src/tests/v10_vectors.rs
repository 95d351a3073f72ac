//! Hand-built 1.0 messages checked against the specification's struct layouts and sizes.

use std::net::Ipv4Addr;

use crate::common::{DescStats, Echo, QueueProperty, SwitchConfig};
use crate::types::{FixedStr, MacAddr};
use crate::v10::error_msg::BadRequestCode;
use crate::v10::stats::*;
use crate::v10::*;

/// Decodes, checks the re-encoding is identical, returns the message.
fn rt(bytes: &[u8]) -> Message {
    let (h, m) = Message::decode(bytes).unwrap();
    assert_eq!(h.version, 1);
    assert_eq!(usize::from(h.length), bytes.len());
    assert_eq!(m.encode(h.xid).unwrap(), bytes, "{m:?}");
    m
}

fn msg(ty: u8, body: &[u8]) -> Vec<u8> {
    let mut b = vec![1, ty];
    b.extend_from_slice(&((body.len() + 8) as u16).to_be_bytes());
    b.extend_from_slice(&[0, 0, 0, 0x2a]);
    b.extend_from_slice(body);
    b
}

fn port_bytes(no: u16) -> Vec<u8> {
    let mut b = no.to_be_bytes().to_vec();
    b.extend_from_slice(&[0, 1, 2, 3, 4, 5]);
    b.extend_from_slice(b"eth1\0\0\0\0\0\0\0\0\0\0\0\0");
    for v in 1u32..=6 {
        b.extend_from_slice(&v.to_be_bytes());
    }
    assert_eq!(b.len(), 48);
    b
}

#[test]
fn header_only_messages() {
    assert_eq!(rt(&msg(5, &[])), Message::FeaturesRequest);
    assert_eq!(rt(&msg(7, &[])), Message::GetConfigRequest);
    assert_eq!(rt(&msg(18, &[])), Message::BarrierRequest);
    assert_eq!(rt(&msg(19, &[])), Message::BarrierReply);
    assert_eq!(rt(&msg(0, &[])), Message::Hello(Default::default()));
    assert!(Message::decode(&msg(18, &[0])).is_err());
}

#[test]
fn echo_error_vendor() {
    assert_eq!(
        rt(&msg(2, &[1, 2, 3])),
        Message::EchoRequest(Echo { data: vec![1, 2, 3] })
    );
    assert_eq!(rt(&msg(3, &[])), Message::EchoReply(Echo::default()));
    let m = rt(&msg(1, &[0, 1, 0, 6, 0xde, 0xad]));
    assert_eq!(
        m,
        Message::Error(ErrorMsg {
            kind: ErrorKind::BadRequest(BadRequestCode::BadLen),
            data: vec![0xde, 0xad]
        })
    );
    let m = rt(&msg(1, &[0, 9, 0, 77]));
    assert_eq!(
        m,
        Message::Error(ErrorMsg {
            kind: ErrorKind::Unknown {
                error_type: 9,
                code: 77
            },
            data: vec![]
        })
    );
    let m = rt(&msg(1, &[0, 1, 0, 99]));
    assert_eq!(
        m,
        Message::Error(ErrorMsg {
            kind: ErrorKind::BadRequest(BadRequestCode::Unknown(99)),
            data: vec![]
        })
    );
    assert_eq!(
        rt(&msg(4, &[0, 0, 0x23, 0x20, 9])),
        Message::Vendor(Vendor {
            vendor: 0x2320,
            data: vec![9]
        })
    );
}

#[test]
fn features_reply_is_32_bytes_plus_48_per_port() {
    let mut body = vec![
        0, 0, 0, 0, 0, 0, 0, 0x11, 0, 0, 1, 0, 254, 0, 0, 0, 0, 0, 0, 0xc7, 0, 0, 0x0f, 0xff,
    ];
    body.extend(port_bytes(1));
    body.extend(port_bytes(2));
    let b = msg(6, &body);
    assert_eq!(b.len(), 32 + 96);
    let Message::FeaturesReply(f) = rt(&b) else {
        panic!()
    };
    assert_eq!(f.datapath_id, 0x11);
    assert_eq!(f.n_buffers, 256);
    assert_eq!(f.n_tables, 254);
    assert_eq!(f.capabilities, 0xc7);
    assert_eq!(f.actions, 0xfff);
    assert_eq!(f.ports.len(), 2);
    assert_eq!(f.ports[1].port_no, 2);
    assert_eq!(f.ports[0].name.to_string(), "eth1");
    assert_eq!(f.ports[0].hw_addr, MacAddr([0, 1, 2, 3, 4, 5]));
    assert_eq!(f.ports[0].peer, 6);
    // a partial port is rejected
    assert!(Message::decode(&msg(6, &body[..body.len() - 1])).is_err());
}

#[test]
fn config_messages_are_12_bytes() {
    let b = msg(9, &[0, 1, 0, 128]);
    assert_eq!(b.len(), 12);
    assert_eq!(
        rt(&b),
        Message::SetConfig(SwitchConfig {
            flags: 1,
            miss_send_len: 128
        })
    );
    assert_eq!(
        rt(&msg(8, &[0, 0, 0xff, 0xff])),
        Message::GetConfigReply(SwitchConfig {
            flags: 0,
            miss_send_len: 0xffff
        })
    );
}

#[test]
fn packet_in_data_starts_at_18() {
    let b = msg(10, &[0xff, 0xff, 0xff, 0xff, 0, 60, 0, 3, 0, 0, 0xaa, 0xbb]);
    let Message::PacketIn(p) = rt(&b) else { panic!() };
    assert_eq!(p.buffer_id, u32::MAX);
    assert_eq!(p.total_len, 60);
    assert_eq!(p.in_port, 3);
    assert_eq!(p.reason, PacketInReason::NoMatch);
    assert_eq!(p.data, [0xaa, 0xbb]);
}

#[test]
fn flow_mod_is_72_bytes_plus_actions() {
    let fm = FlowMod {
        match_: Match {
            wildcards: match_::wildcards::ALL & !match_::wildcards::IN_PORT,
            in_port: 1,
            ..Match::default()
        },
        cookie: 0x0102_0304_0506_0708,
        command: FlowModCommand::Add,
        idle_timeout: 10,
        hard_timeout: 20,
        priority: 0x8000,
        buffer_id: u32::MAX,
        out_port: port::port_no::NONE,
        flags: message::flow_mod_flags::SEND_FLOW_REM,
        actions: vec![Action::Output { port: 2, max_len: 0 }],
    };
    let b = Message::FlowMod(fm.clone()).encode(5).unwrap();
    assert_eq!(b.len(), 72 + 8);
    assert_eq!(&b[0..8], &[1, 14, 0, 80, 0, 0, 0, 5]);
    assert_eq!(&b[48..56], &[1, 2, 3, 4, 5, 6, 7, 8]);
    assert_eq!(&b[56..58], &[0, 0]); // command
    assert_eq!(&b[58..60], &[0, 10]);
    assert_eq!(&b[60..62], &[0, 20]);
    assert_eq!(&b[62..64], &[0x80, 0]);
    assert_eq!(&b[64..68], &[0xff; 4]);
    assert_eq!(&b[68..70], &[0xff, 0xff]);
    assert_eq!(&b[70..72], &[0, 1]);
    assert_eq!(&b[72..80], &[0, 0, 0, 8, 0, 2, 0, 0]);
    assert_eq!(rt(&b), Message::FlowMod(fm));
}

#[test]
fn flow_removed_is_88_bytes() {
    let fr = FlowRemoved {
        match_: Match::all(),
        cookie: 9,
        priority: 100,
        reason: FlowRemovedReason::HardTimeout,
        duration_sec: 5,
        duration_nsec: 6,
        idle_timeout: 7,
        packet_count: 8,
        byte_count: 9,
    };
    let b = Message::FlowRemoved(fr.clone()).encode(1).unwrap();
    assert_eq!(b.len(), 88);
    assert_eq!(b[58], 1); // reason after cookie and priority
    assert_eq!(rt(&b), Message::FlowRemoved(fr));
}

#[test]
fn port_status_is_64_bytes_and_port_mod_32() {
    let mut body = vec![2, 0, 0, 0, 0, 0, 0, 0];
    body.extend(port_bytes(7));
    let b = msg(12, &body);
    assert_eq!(b.len(), 64);
    let Message::PortStatus(p) = rt(&b) else { panic!() };
    assert_eq!(p.reason, PortReason::Modify);
    let pm = PortMod {
        port_no: 3,
        hw_addr: MacAddr([1; 6]),
        config: 1,
        mask: 1,
        advertise: 0,
    };
    let b = Message::PortMod(pm.clone()).encode(0).unwrap();
    assert_eq!(b.len(), 32);
    assert_eq!(rt(&b), Message::PortMod(pm));
}

#[test]
fn packet_out_actions_len_then_data() {
    let b = msg(
        13,
        &[
            0xff, 0xff, 0xff, 0xff, 0, 1, 0, 8, 0, 0, 0, 8, 0xff, 0xfb, 0, 0, 0xde, 0xad,
        ],
    );
    assert_eq!(b.len(), 16 + 8 + 2);
    let Message::PacketOut(p) = rt(&b) else { panic!() };
    assert_eq!(p.in_port, 1);
    assert_eq!(
        p.actions,
        vec![Action::Output {
            port: port::port_no::FLOOD,
            max_len: 0
        }]
    );
    assert_eq!(p.data, [0xde, 0xad]);
    // actions_len past the end
    assert!(Message::decode(&msg(
        13,
        &[0xff, 0xff, 0xff, 0xff, 0, 1, 0, 16, 0, 0, 0, 8, 0, 1, 0, 0]
    ))
    .is_err());
}

#[test]
fn queue_get_config() {
    let b = msg(20, &[0, 5, 0, 0]);
    assert_eq!(b.len(), 12);
    assert_eq!(
        rt(&b),
        Message::QueueGetConfigRequest(QueueGetConfigRequest { port: 5 })
    );
    let body = [
        0, 5, 0, 0, 0, 0, 0, 0, // port, pad
        0, 0, 0, 1, 0, 24, 0, 0, // queue 1, len 24
        0, 1, 0, 16, 0, 0, 0, 0, 0x01, 0xf4, 0, 0, 0, 0, 0, 0, // min rate 500
    ];
    let Message::QueueGetConfigReply(q) = rt(&msg(21, &body)) else {
        panic!()
    };
    assert_eq!(q.port, 5);
    assert_eq!(q.queues[0].queue_id, 1);
    assert_eq!(q.queues[0].properties, vec![QueueProperty::MinRate { rate: 500 }]);
}

#[test]
fn stats_requests() {
    assert_eq!(
        rt(&msg(16, &[0, 0, 0, 0])),
        Message::StatsRequest(StatsRequest {
            flags: 0,
            body: StatsRequestBody::Desc
        })
    );
    let mut body = vec![0, 1, 0, 0];
    let mut w = crate::wire::Writer::new();
    Match::all().encode(&mut w);
    body.extend(w.buf);
    body.extend([0xff, 0, 0xff, 0xff]);
    let b = msg(16, &body);
    assert_eq!(b.len(), 12 + 44);
    let Message::StatsRequest(StatsRequest {
        body: StatsRequestBody::Flow(f),
        ..
    }) = rt(&b)
    else {
        panic!()
    };
    assert_eq!(f.table_id, 0xff);
    assert_eq!(f.out_port, 0xffff);
    let b = msg(16, &[0, 4, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0]);
    assert_eq!(
        rt(&b),
        Message::StatsRequest(StatsRequest {
            flags: 0,
            body: StatsRequestBody::Port(PortStatsRequest { port_no: 3 })
        })
    );
    let b = msg(16, &[0, 5, 0, 0, 0, 3, 0, 0, 0, 0, 0, 9]);
    assert_eq!(
        rt(&b),
        Message::StatsRequest(StatsRequest {
            flags: 0,
            body: StatsRequestBody::Queue(QueueStatsRequest {
                port_no: 3,
                queue_id: 9
            })
        })
    );
}

#[test]
fn stats_replies_sizes() {
    let d = DescStats {
        mfr_desc: FixedStr::new("Acme"),
        dp_desc: FixedStr::new("sw1"),
        ..Default::default()
    };
    let b = Message::StatsReply(StatsReply {
        flags: 0,
        body: StatsReplyBody::Desc(d),
    })
    .encode(0)
    .unwrap();
    assert_eq!(b.len(), 12 + 1056);
    rt(&b);
    let fs = FlowStats {
        table_id: 0,
        match_: Match::all(),
        duration_sec: 1,
        duration_nsec: 2,
        priority: 3,
        idle_timeout: 4,
        hard_timeout: 5,
        cookie: 6,
        packet_count: 7,
        byte_count: 8,
        actions: vec![Action::SetNwSrc {
            nw_addr: Ipv4Addr::new(1, 2, 3, 4),
        }],
    };
    let b = Message::StatsReply(StatsReply {
        flags: 1,
        body: StatsReplyBody::Flow(vec![fs.clone(), fs]),
    })
    .encode(0)
    .unwrap();
    assert_eq!(b.len(), 12 + 2 * (88 + 8));
    assert_eq!(&b[12..14], &[0, 96]);
    rt(&b);
    let agg = StatsReplyBody::Aggregate(AggregateStats {
        packet_count: 1,
        byte_count: 2,
        flow_count: 3,
    });
    let b = Message::StatsReply(StatsReply { flags: 0, body: agg })
        .encode(0)
        .unwrap();
    assert_eq!(b.len(), 12 + 24);
    rt(&b);
    for (body, size) in [
        (StatsReplyBody::Table(vec![TableStats::default()]), 64),
        (StatsReplyBody::Port(vec![PortStats::default()]), 104),
        (StatsReplyBody::Queue(vec![QueueStats::default()]), 32),
    ] {
        let b = Message::StatsReply(StatsReply { flags: 0, body })
            .encode(0)
            .unwrap();
        assert_eq!(b.len(), 12 + size);
        rt(&b);
    }
    let b = msg(17, &[0xff, 0xff, 0, 0, 0, 0, 0x23, 0x20, 1, 2]);
    assert_eq!(
        rt(&b),
        Message::StatsReply(StatsReply {
            flags: 0,
            body: StatsReplyBody::Vendor {
                vendor: 0x2320,
                data: vec![1, 2]
            }
        })
    );
    // flow stats entry with a length below 88
    assert!(Message::decode(&msg(17, &[0, 1, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0])).is_err());
}

#[test]
fn unknown_message_type_kept() {
    let b = msg(99, &[1, 2, 3]);
    assert_eq!(
        rt(&b),
        Message::Unknown {
            msg_type: 99,
            body: vec![1, 2, 3]
        }
    );
}

#[test]
fn json_is_readable() {
    let m = Message::PacketOut(PacketOut {
        buffer_id: 1,
        in_port: 2,
        actions: vec![Action::SetDlSrc {
            dl_addr: MacAddr([0xaa, 0, 0, 0, 0, 1]),
        }],
        data: vec![0xde, 0xad],
    });
    let j = serde_json::to_string(&m).unwrap();
    assert!(j.contains("\"aa:00:00:00:00:01\""), "{j}");
    assert!(j.contains("\"dead\""), "{j}");
    let back: Message = serde_json::from_str(&j).unwrap();
    assert_eq!(back, m);
}

#[test]
fn every_error_type_and_code_maps_both_ways() {
    // (type, number of codes) from the 1.0 specification
    for (t, codes) in [(0u16, 2u16), (1, 9), (2, 9), (3, 6), (4, 2), (5, 3)] {
        for c in 0..codes + 2 {
            let k = ErrorKind::from_wire(t, c);
            assert!(!matches!(k, ErrorKind::Unknown { .. }), "type {t}");
            assert_eq!(k.to_wire(), (t, c));
            let named = !format!("{k:?}").contains("(Unknown(");
            assert_eq!(named, c < codes, "type {t} code {c}: {k:?}");
        }
    }
    assert_eq!(
        ErrorKind::from_wire(6, 0),
        ErrorKind::Unknown {
            error_type: 6,
            code: 0
        }
    );
}
