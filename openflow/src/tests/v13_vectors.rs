//! Hand-built 1.3 messages checked against the specification's struct layouts and sizes.

use std::net::Ipv4Addr;

use crate::common::{DescStats, Echo, QueueProperty, SwitchConfig};
use crate::hello::{Hello, HelloElement};
use crate::types::{FixedStr, MacAddr};
use crate::v13::error_msg::{BadMatchCode, FlowModFailedCode};
use crate::v13::group::{BucketCounter, GroupStats};
use crate::v13::meter::{MeterBandStats, MeterFeatures, MeterStats};
use crate::v13::multipart::*;
use crate::v13::*;

/// Decodes, checks the re-encoding is identical, returns the message.
fn rt(bytes: &[u8]) -> Message {
    let (h, m) = Message::decode(bytes).unwrap();
    assert_eq!(h.version, 4);
    assert_eq!(usize::from(h.length), bytes.len());
    assert_eq!(m.encode(h.xid).unwrap(), bytes, "{m:?}");
    m
}

/// Encodes, checks the length, decodes back, returns the bytes.
fn enc(m: &Message, len: usize) -> Vec<u8> {
    let b = m.encode(0x0a0b_0c0d).unwrap();
    assert_eq!(b.len(), len, "{m:?}");
    assert_eq!(&b[..2], &[4, m.msg_type()]);
    assert_eq!(&b[2..4], &(len as u16).to_be_bytes());
    assert_eq!(&b[4..8], &[0x0a, 0x0b, 0x0c, 0x0d]);
    assert_eq!(&rt(&b), m);
    b
}

fn msg(ty: u8, body: &[u8]) -> Vec<u8> {
    let mut b = vec![4, ty];
    b.extend_from_slice(&((body.len() + 8) as u16).to_be_bytes());
    b.extend_from_slice(&[0, 0, 0, 7]);
    b.extend_from_slice(body);
    b
}

fn in_port(p: u32) -> OxmField {
    OxmField::InPort { value: p, mask: None }
}

#[test]
fn hello_with_version_bitmap() {
    let b = msg(0, &[0, 1, 0, 8, 0, 0, 0, 0x12]);
    let Message::Hello(h) = rt(&b) else { panic!() };
    assert_eq!(h.versions(), Some(vec![1, 4]));
    assert_eq!(h.elements, vec![HelloElement::VersionBitmap(vec![0x12])]);
    assert_eq!(rt(&msg(0, &[])), Message::Hello(Hello::default()));
}

#[test]
fn header_only_messages() {
    for (ty, m) in [
        (5, Message::FeaturesRequest),
        (7, Message::GetConfigRequest),
        (20, Message::BarrierRequest),
        (21, Message::BarrierReply),
        (26, Message::GetAsyncRequest),
    ] {
        assert_eq!(rt(&msg(ty, &[])), m);
    }
}

#[test]
fn errors() {
    let b = msg(1, &[0, 4, 0, 10, 1, 2]);
    assert_eq!(
        rt(&b),
        Message::Error(ErrorMsg {
            kind: ErrorKind::BadMatch(BadMatchCode::DupField),
            data: vec![1, 2]
        })
    );
    let b = msg(1, &[0, 5, 0, 0]);
    assert_eq!(
        rt(&b),
        Message::Error(ErrorMsg {
            kind: ErrorKind::FlowModFailed(FlowModFailedCode::Unspecified),
            data: vec![]
        })
    );
    // ofp_error_experimenter_msg is 16 bytes: type, exp_type, experimenter
    let b = msg(1, &[0xff, 0xff, 0, 3, 0, 0, 0x23, 0x20, 9]);
    assert_eq!(b.len(), 16 + 1);
    assert_eq!(
        rt(&b),
        Message::Error(ErrorMsg {
            kind: ErrorKind::Experimenter {
                exp_type: 3,
                experimenter: 0x2320
            },
            data: vec![9]
        })
    );
    let b = msg(1, &[0, 14, 0, 1]);
    assert_eq!(
        rt(&b),
        Message::Error(ErrorMsg {
            kind: ErrorKind::Unknown {
                error_type: 14,
                code: 1
            },
            data: vec![]
        })
    );
}

#[test]
fn echo_and_experimenter() {
    assert_eq!(rt(&msg(2, &[1])), Message::EchoRequest(Echo { data: vec![1] }));
    assert_eq!(rt(&msg(3, &[])), Message::EchoReply(Echo::default()));
    let m = Message::Experimenter(Experimenter {
        experimenter: 0x2320,
        exp_type: 7,
        data: vec![1, 2, 3],
    });
    let b = enc(&m, 16 + 3);
    assert_eq!(&b[8..16], &[0, 0, 0x23, 0x20, 0, 0, 0, 7]);
}

#[test]
fn features_and_config() {
    let f = SwitchFeatures {
        datapath_id: 0x0000_0000_0000_00aa,
        n_buffers: 256,
        n_tables: 254,
        auxiliary_id: 1,
        capabilities: 0x4f,
        reserved: 0,
    };
    let b = enc(&Message::FeaturesReply(f), 32);
    assert_eq!(&b[16..24], &[0, 0, 1, 0, 254, 1, 0, 0]);
    enc(
        &Message::SetConfig(SwitchConfig {
            flags: 0,
            miss_send_len: 0xffe5,
        }),
        12,
    );
    enc(
        &Message::GetConfigReply(SwitchConfig {
            flags: 2,
            miss_send_len: 128,
        }),
        12,
    );
}

#[test]
fn packet_in_layout() {
    // buffer_id, total_len, reason, table_id, cookie, match(in_port=3) padded to 16, 2 pad, data
    let mut body = vec![0xff, 0xff, 0xff, 0xff, 0, 64, 1, 2, 0, 0, 0, 0, 0, 0, 0, 9];
    body.extend([0, 1, 0, 12, 0x80, 0, 0, 4, 0, 0, 0, 3, 0, 0, 0, 0]);
    body.extend([0, 0, 0xde, 0xad, 0xbe, 0xef]);
    let b = msg(10, &body);
    let Message::PacketIn(p) = rt(&b) else { panic!() };
    assert_eq!(p.buffer_id, NO_BUFFER);
    assert_eq!(p.total_len, 64);
    assert_eq!(p.reason, PacketInReason::Action);
    assert_eq!(p.table_id, 2);
    assert_eq!(p.cookie, 9);
    assert_eq!(p.match_.fields, vec![in_port(3)]);
    assert_eq!(p.data, [0xde, 0xad, 0xbe, 0xef]);
    // with an empty match the fixed part is 32 bytes (ofp_packet_in is 32 with its 8-byte match)
    let m = Message::PacketIn(PacketIn {
        buffer_id: 1,
        total_len: 0,
        reason: PacketInReason::NoMatch,
        table_id: 0,
        cookie: 0,
        match_: Match::default(),
        data: vec![],
    });
    enc(&m, 32 + 2);
}

#[test]
fn flow_mod_is_56_bytes_plus_match_and_instructions() {
    let fm = FlowMod {
        cookie: 1,
        cookie_mask: 0,
        table_id: 0,
        command: FlowModCommand::Add,
        idle_timeout: 0,
        hard_timeout: 0,
        priority: 100,
        buffer_id: NO_BUFFER,
        out_port: port::port_no::ANY,
        out_group: group::group_id::ANY,
        flags: flow_mod_flags::SEND_FLOW_REM,
        match_: Match::default(),
        instructions: vec![],
    };
    let b = enc(&Message::FlowMod(fm.clone()), 56);
    assert_eq!(b[25], 0); // command
    assert_eq!(&b[32..36], &[0xff; 4]); // buffer_id
    assert_eq!(&b[44..46], &[0, 1]); // flags
    assert_eq!(&b[48..56], &[0, 1, 0, 4, 0, 0, 0, 0]); // empty OXM match
    let full = FlowMod {
        match_: Match::new(vec![
            in_port(1),
            OxmField::EthType {
                value: 0x0800,
                mask: None,
            },
            OxmField::Ipv4Dst {
                value: Ipv4Addr::new(10, 0, 0, 0),
                mask: Some(Ipv4Addr::new(255, 255, 255, 0)),
            },
        ]),
        instructions: vec![
            Instruction::ApplyActions(vec![
                Action::SetField(OxmField::EthDst {
                    value: MacAddr([2, 0, 0, 0, 0, 1]),
                    mask: None,
                }),
                Action::Output { port: 2, max_len: 0 },
            ]),
            Instruction::GotoTable { table_id: 1 },
        ],
        ..fm
    };
    // match: 4 + 8 + 6 + 12 = 30 -> 32; apply: 8 + 16 + 16 = 40; goto: 8
    let b = enc(&Message::FlowMod(full), 48 + 32 + 40 + 8);
    assert_eq!(&b[48..52], &[0, 1, 0, 30]);
}

#[test]
fn flow_removed_is_56_bytes_with_empty_match() {
    let fr = FlowRemoved {
        cookie: 1,
        priority: 2,
        reason: FlowRemovedReason::GroupDelete,
        table_id: 3,
        duration_sec: 4,
        duration_nsec: 5,
        idle_timeout: 6,
        hard_timeout: 7,
        packet_count: 8,
        byte_count: 9,
        match_: Match::default(),
    };
    let b = enc(&Message::FlowRemoved(fr), 56);
    assert_eq!(&b[16..20], &[0, 2, 3, 3]);
}

#[test]
fn port_status_port_mod_and_port_desc() {
    let port = Port {
        port_no: 1,
        hw_addr: MacAddr([1, 2, 3, 4, 5, 6]),
        name: FixedStr::new("eth0"),
        curr_speed: 10_000_000,
        max_speed: 10_000_000,
        ..Port::default()
    };
    let b = enc(
        &Message::PortStatus(PortStatus {
            reason: PortReason::Add,
            desc: port.clone(),
        }),
        80,
    );
    assert_eq!(&b[16..20], &[0, 0, 0, 1]);
    assert_eq!(&b[24..30], &[1, 2, 3, 4, 5, 6]);
    assert_eq!(&b[32..36], b"eth0");
    let pm = PortMod {
        port_no: 1,
        hw_addr: MacAddr([1; 6]),
        config: 1,
        mask: 1,
        advertise: 0,
    };
    enc(&Message::PortMod(pm), 40);
    let reply = MultipartReply {
        flags: 0,
        body: MultipartReplyBody::PortDesc(vec![port.clone(), port]),
    };
    enc(&Message::MultipartReply(reply), 16 + 128);
}

#[test]
fn packet_out_is_24_bytes_plus_actions_and_data() {
    let po = PacketOut {
        buffer_id: NO_BUFFER,
        in_port: port::port_no::CONTROLLER,
        actions: vec![Action::Output {
            port: port::port_no::FLOOD,
            max_len: 0,
        }],
        data: vec![1, 2, 3],
    };
    let b = enc(&Message::PacketOut(po), 24 + 16 + 3);
    assert_eq!(&b[16..18], &[0, 16]);
}

#[test]
fn group_mod_and_buckets() {
    let gm = GroupMod {
        command: GroupModCommand::Add,
        group_type: GroupType::Select,
        group_id: 5,
        buckets: vec![
            Bucket {
                weight: 1,
                watch_port: port::port_no::ANY,
                watch_group: group::group_id::ANY,
                actions: vec![],
            },
            Bucket {
                weight: 2,
                watch_port: 3,
                watch_group: 4,
                actions: vec![Action::Output { port: 1, max_len: 0 }],
            },
        ],
    };
    let b = enc(&Message::GroupMod(gm), 16 + 16 + 32);
    assert_eq!(&b[8..16], &[0, 0, 1, 0, 0, 0, 0, 5]);
    assert_eq!(&b[16..18], &[0, 16]);
    assert_eq!(&b[32..34], &[0, 32]);
}

#[test]
fn meter_mod_and_bands() {
    let mm = MeterMod {
        command: MeterModCommand::Add,
        flags: meter::meter_flags::KBPS | meter::meter_flags::BURST,
        meter_id: 1,
        bands: vec![
            MeterBand::Drop {
                rate: 1000,
                burst_size: 100,
            },
            MeterBand::DscpRemark {
                rate: 500,
                burst_size: 50,
                prec_level: 1,
            },
            MeterBand::Experimenter {
                rate: 1,
                burst_size: 2,
                experimenter: 3,
                data: vec![],
            },
        ],
    };
    let b = enc(&Message::MeterMod(mm), 16 + 16 * 3);
    assert_eq!(&b[16..20], &[0, 1, 0, 16]);
    assert_eq!(&b[32..36], &[0, 2, 0, 16]);
    assert_eq!(b[44], 1);
}

#[test]
fn table_mod_role_async_queue_config() {
    enc(
        &Message::TableMod(TableMod {
            table_id: 0xff,
            config: 3,
        }),
        16,
    );
    let b = enc(
        &Message::RoleRequest(Role {
            role: ControllerRole::Master,
            generation_id: 42,
        }),
        24,
    );
    assert_eq!(&b[8..12], &[0, 0, 0, 2]);
    enc(
        &Message::RoleReply(Role {
            role: ControllerRole::Unknown(9),
            generation_id: 0,
        }),
        24,
    );
    let a = AsyncConfig {
        packet_in_mask: [3, 1],
        port_status_mask: [7, 7],
        flow_removed_mask: [15, 0],
    };
    enc(&Message::SetAsync(a), 32);
    enc(&Message::GetAsyncReply(a), 32);
    enc(
        &Message::QueueGetConfigRequest(QueueGetConfigRequest { port: 1 }),
        16,
    );
    let reply = QueueGetConfigReply {
        port: 1,
        queues: vec![PacketQueue {
            queue_id: 2,
            port: 1,
            properties: vec![
                QueueProperty::MinRate { rate: 100 },
                QueueProperty::MaxRate { rate: 900 },
                QueueProperty::Experimenter {
                    experimenter: 5,
                    data: vec![1, 2, 3, 4, 5, 6, 7, 8],
                },
            ],
        }],
    };
    let b = enc(&Message::QueueGetConfigReply(reply), 16 + 16 + 16 + 16 + 24);
    assert_eq!(&b[16..24], &[0, 0, 0, 2, 0, 0, 0, 1]);
    assert_eq!(&b[24..26], &[0, 72]);
}

#[test]
fn multipart_requests() {
    let req = |body| Message::MultipartRequest(MultipartRequest { flags: 0, body });
    for body in [
        MultipartRequestBody::Desc,
        MultipartRequestBody::Table,
        MultipartRequestBody::GroupDesc,
        MultipartRequestBody::GroupFeatures,
        MultipartRequestBody::MeterFeatures,
        MultipartRequestBody::PortDesc,
        MultipartRequestBody::TableFeatures(vec![]),
    ] {
        enc(&req(body), 16);
    }
    let fsr = FlowStatsRequest {
        table_id: 0xff,
        out_port: port::port_no::ANY,
        out_group: group::group_id::ANY,
        cookie: 0,
        cookie_mask: 0,
        match_: Match::default(),
    };
    enc(&req(MultipartRequestBody::Flow(fsr.clone())), 16 + 40);
    enc(&req(MultipartRequestBody::Aggregate(fsr)), 16 + 40);
    enc(&req(MultipartRequestBody::PortStats { port_no: 1 }), 24);
    enc(
        &req(MultipartRequestBody::Queue {
            port_no: 1,
            queue_id: 2,
        }),
        24,
    );
    enc(&req(MultipartRequestBody::Group { group_id: 1 }), 24);
    enc(&req(MultipartRequestBody::Meter { meter_id: 1 }), 24);
    enc(&req(MultipartRequestBody::MeterConfig { meter_id: 1 }), 24);
    enc(
        &req(MultipartRequestBody::Experimenter {
            experimenter: 1,
            exp_type: 2,
            data: vec![3],
        }),
        25,
    );
    // a body on a request that takes none is rejected
    assert!(Message::decode(&msg(18, &[0, 0, 0, 0, 0, 0, 0, 0, 1])).is_err());
}

#[test]
fn multipart_replies() {
    let rep = |body| {
        Message::MultipartReply(MultipartReply {
            flags: MULTIPART_MORE,
            body,
        })
    };
    enc(
        &rep(MultipartReplyBody::Desc(DescStats {
            sw_desc: FixedStr::new("ovs"),
            ..Default::default()
        })),
        16 + 1056,
    );
    let fs = FlowStats {
        table_id: 1,
        priority: 5,
        match_: Match::new(vec![in_port(1)]),
        instructions: vec![Instruction::Meter { meter_id: 1 }],
        ..FlowStats::default()
    };
    let b = enc(
        &rep(MultipartReplyBody::Flow(vec![fs.clone(), fs])),
        16 + 2 * (48 + 16 + 8),
    );
    assert_eq!(&b[16..18], &[0, 72]);
    enc(
        &rep(MultipartReplyBody::Aggregate(AggregateStats {
            packet_count: 1,
            byte_count: 2,
            flow_count: 3,
        })),
        40,
    );
    enc(
        &rep(MultipartReplyBody::Table(vec![TableStats::default(); 3])),
        16 + 72,
    );
    enc(
        &rep(MultipartReplyBody::PortStats(vec![PortStats::default()])),
        16 + 112,
    );
    enc(
        &rep(MultipartReplyBody::Queue(vec![QueueStats::default()])),
        16 + 40,
    );
    let gs = GroupStats {
        group_id: 1,
        ref_count: 2,
        bucket_stats: vec![BucketCounter {
            packet_count: 1,
            byte_count: 2,
        }],
        ..GroupStats::default()
    };
    enc(&rep(MultipartReplyBody::Group(vec![gs])), 16 + 40 + 16);
    let gd = GroupDesc {
        group_type: GroupType::All,
        group_id: 1,
        buckets: vec![Bucket::default()],
    };
    enc(&rep(MultipartReplyBody::GroupDesc(vec![gd])), 16 + 8 + 16);
    enc(
        &rep(MultipartReplyBody::GroupFeatures(GroupFeatures::default())),
        16 + 40,
    );
    let ms = MeterStats {
        meter_id: 1,
        band_stats: vec![MeterBandStats::default()],
        ..MeterStats::default()
    };
    let b = enc(&rep(MultipartReplyBody::Meter(vec![ms])), 16 + 40 + 16);
    assert_eq!(&b[20..22], &[0, 56]);
    let mc = MeterConfig {
        flags: 1,
        meter_id: 1,
        bands: vec![MeterBand::Drop {
            rate: 1,
            burst_size: 0,
        }],
    };
    enc(&rep(MultipartReplyBody::MeterConfig(vec![mc])), 16 + 8 + 16);
    enc(
        &rep(MultipartReplyBody::MeterFeatures(MeterFeatures::default())),
        16 + 16,
    );
    let tf = TableFeatures {
        table_id: 0,
        name: FixedStr::new("t0"),
        ..TableFeatures::default()
    };
    enc(&rep(MultipartReplyBody::TableFeatures(vec![tf])), 16 + 64);
    enc(
        &rep(MultipartReplyBody::Experimenter {
            experimenter: 1,
            exp_type: 2,
            data: vec![],
        }),
        24,
    );
    // group stats whose length does not cover whole bucket counters
    let mut bad = vec![0, 6, 0, 0, 0, 0, 0, 0, 0, 41];
    bad.extend([0; 39]);
    assert!(Message::decode(&msg(19, &bad)).is_err());
}

#[test]
fn all_table_feature_properties_roundtrip() {
    use table_features::TableFeatureProp as P;
    let ids = vec![InstructionId {
        instruction_type: 1,
        data: vec![],
    }];
    let acts = vec![
        ActionId {
            action_type: 0,
            data: vec![],
        },
        ActionId {
            action_type: 0xffff,
            data: vec![0, 0, 0, 1],
        },
    ];
    let oxms = vec![
        OxmId::basic(oxm::oxm_field::InPort, 4),
        OxmId {
            class: 0xffff,
            field: 1,
            hasmask: true,
            length: 8,
            experimenter: Some(0x2320),
        },
    ];
    let props = vec![
        P::Instructions(ids.clone()),
        P::InstructionsMiss(ids),
        P::NextTables(vec![1, 2]),
        P::NextTablesMiss(vec![]),
        P::WriteActions(acts.clone()),
        P::WriteActionsMiss(acts.clone()),
        P::ApplyActions(acts.clone()),
        P::ApplyActionsMiss(acts),
        P::Match(oxms.clone()),
        P::Wildcards(oxms.clone()),
        P::WriteSetfield(oxms.clone()),
        P::WriteSetfieldMiss(oxms.clone()),
        P::ApplySetfield(oxms.clone()),
        P::ApplySetfieldMiss(oxms),
        P::Experimenter {
            experimenter: 1,
            exp_type: 2,
            data: vec![3],
        },
        P::ExperimenterMiss {
            experimenter: 1,
            exp_type: 2,
            data: vec![],
        },
        P::Unknown {
            prop_type: 9,
            data: vec![1, 2, 3, 4, 5],
        },
    ];
    let tf = TableFeatures {
        properties: props,
        ..TableFeatures::default()
    };
    let m = Message::MultipartReply(MultipartReply {
        flags: 0,
        body: MultipartReplyBody::TableFeatures(vec![tf]),
    });
    let b = m.encode(1).unwrap();
    assert_eq!(b.len() % 8, 0);
    assert_eq!(rt(&b), m);
}

#[test]
fn unknown_message_type_kept() {
    assert_eq!(
        rt(&msg(77, &[1, 2])),
        Message::Unknown {
            msg_type: 77,
            body: vec![1, 2]
        }
    );
}

#[test]
fn of_message_dispatches_on_version() {
    use crate::OfMessage;
    let (_, m) = OfMessage::decode(&msg(20, &[])).unwrap();
    assert_eq!(m, OfMessage::V13(Message::BarrierRequest));
    let (_, m) = OfMessage::decode(&[1, 18, 0, 8, 0, 0, 0, 0]).unwrap();
    assert_eq!(m, OfMessage::V10(crate::v10::Message::BarrierRequest));
    let b = [6, 0, 0, 16, 0, 0, 0, 0, 0, 1, 0, 8, 0, 0, 0, 0x50];
    let (_, m) = OfMessage::decode(&b).unwrap();
    let OfMessage::Other {
        version: 6,
        msg_type: 0,
        body,
    } = &m
    else {
        panic!()
    };
    assert_eq!(Hello::decode_body(body).unwrap().versions(), Some(vec![4, 6]));
    assert_eq!(m.encode(0).unwrap(), b);
    // the header length must match the slice
    assert!(OfMessage::decode(&b[..15]).is_err());
    assert!(Message::decode(&[1, 18, 0, 8, 0, 0, 0, 0]).is_err());
}

#[test]
fn json_is_readable() {
    let m = Message::FlowMod(FlowMod {
        cookie: 0,
        cookie_mask: 0,
        table_id: 0,
        command: FlowModCommand::Add,
        idle_timeout: 0,
        hard_timeout: 0,
        priority: 1,
        buffer_id: NO_BUFFER,
        out_port: 0,
        out_group: 0,
        flags: 0,
        match_: Match::new(vec![OxmField::Ipv4Src {
            value: Ipv4Addr::new(10, 1, 2, 3),
            mask: None,
        }]),
        instructions: vec![],
    });
    let j = serde_json::to_string(&m).unwrap();
    assert!(j.contains(r#"{"Ipv4Src":{"value":"10.1.2.3"}}"#), "{j}");
    assert!(j.contains(r#""command":"Add""#), "{j}");
    assert_eq!(serde_json::from_str::<Message>(&j).unwrap(), m);
}

#[test]
fn every_error_type_and_code_maps_both_ways() {
    // (type, number of codes) from the 1.3 specification
    let table = [
        (0u16, 2u16),
        (1, 14),
        (2, 16),
        (3, 9),
        (4, 12),
        (5, 8),
        (6, 15),
        (7, 5),
        (8, 3),
        (9, 3),
        (10, 3),
        (11, 3),
        (12, 12),
        (13, 6),
    ];
    for (t, codes) in table {
        for c in 0..codes + 2 {
            let k = ErrorKind::from_wire(t, c);
            assert_eq!(k.to_wire(), (t, c));
            let named = !format!("{k:?}").contains("(Unknown(");
            assert_eq!(named, c < codes, "type {t} code {c}: {k:?}");
        }
    }
    assert_eq!(
        ErrorKind::from_wire(14, 0),
        ErrorKind::Unknown {
            error_type: 14,
            code: 0
        }
    );
    let j = serde_json::to_string(&ErrorKind::from_wire(5, 1)).unwrap();
    assert_eq!(j, r#"{"FlowModFailed":"TableFull"}"#);
    let j = serde_json::to_string(&ErrorKind::from_wire(5, 99)).unwrap();
    assert_eq!(j, r#"{"FlowModFailed":{"Unknown":99}}"#);
}

#[test]
fn stream_of_mixed_messages_is_framed_and_decoded() {
    use crate::framing::MessageBuffer;
    let msgs = [
        Message::Hello(Hello::with_versions(&[4])),
        Message::FeaturesRequest,
        Message::EchoRequest(Echo { data: vec![1, 2, 3] }),
        Message::PacketOut(PacketOut {
            buffer_id: NO_BUFFER,
            in_port: 1,
            actions: vec![],
            data: vec![0; 60],
        }),
    ];
    let stream: Vec<u8> = msgs
        .iter()
        .enumerate()
        .flat_map(|(i, m)| m.encode(i as u32).unwrap())
        .collect();
    let mut buf = MessageBuffer::new();
    let mut out = vec![];
    for chunk in stream.chunks(7) {
        buf.push(chunk);
        while let Some(frame) = buf.next_message().unwrap() {
            out.push(Message::decode(&frame).unwrap());
        }
    }
    assert_eq!(out.len(), msgs.len());
    for (i, ((h, m), expected)) in out.iter().zip(&msgs).enumerate() {
        assert_eq!(h.xid, i as u32);
        assert_eq!(m, expected);
    }
    assert_eq!(buf.pending(), 0);
}
