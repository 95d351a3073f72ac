//! Decode and encode throughput of typical messages: a 1.3 flow mod, a 1.3 packet-in, and a 1.3 flow-stats
//! reply with 1,000 entries. Each group also times copying the same bytes (`to_vec`) as a reference, so the
//! ratio stays meaningful on a busy machine.
//!
//! `cargo bench -p twister-openflow --bench codec -- --quick`

use std::net::Ipv4Addr;

use criterion::{black_box, criterion_main, Criterion, Throughput};
use twister_openflow::v13::multipart::{FlowStats, MultipartReply, MultipartReplyBody};
use twister_openflow::v13::{
    Action, FlowMod, FlowModCommand, Instruction, Match, Message, OxmField, PacketIn, PacketInReason,
};
use twister_openflow::{MacAddr, OfMessage};

fn flow_mod() -> Message {
    Message::FlowMod(FlowMod {
        cookie: 0x1234,
        cookie_mask: 0,
        table_id: 0,
        command: FlowModCommand::Add,
        idle_timeout: 60,
        hard_timeout: 0,
        priority: 1000,
        buffer_id: 0xffff_ffff,
        out_port: 0xffff_ffff,
        out_group: 0xffff_ffff,
        flags: 1,
        match_: Match::new(vec![
            OxmField::InPort { value: 1, mask: None },
            OxmField::EthType {
                value: 0x0800,
                mask: None,
            },
            OxmField::IpProto { value: 6, mask: None },
            OxmField::Ipv4Dst {
                value: Ipv4Addr::new(10, 0, 0, 0),
                mask: Some(Ipv4Addr::new(255, 255, 255, 0)),
            },
            OxmField::TcpDst {
                value: 80,
                mask: None,
            },
        ]),
        instructions: vec![
            Instruction::ApplyActions(vec![
                Action::SetField(OxmField::EthDst {
                    value: MacAddr([2, 0, 0, 0, 0, 1]),
                    mask: None,
                }),
                Action::DecNwTtl,
                Action::Output { port: 2, max_len: 0 },
            ]),
            Instruction::GotoTable { table_id: 1 },
        ],
    })
}

fn packet_in() -> Message {
    Message::PacketIn(PacketIn {
        buffer_id: 0xffff_ffff,
        total_len: 128,
        reason: PacketInReason::NoMatch,
        table_id: 0,
        cookie: 0,
        match_: Match::new(vec![OxmField::InPort { value: 3, mask: None }]),
        data: (0..128u8).collect(),
    })
}

/// 1,000 entries of 64 bytes (fixed part and an in-port match; no instructions) so the reply fits in one
/// message (64,016 bytes; a larger table is split over several replies with `OFPMPF_REPLY_MORE`).
fn flow_stats_reply() -> Message {
    let entries = (0..1000u32)
        .map(|i| FlowStats {
            table_id: 0,
            duration_sec: i,
            duration_nsec: 0,
            priority: 100,
            idle_timeout: 0,
            hard_timeout: 0,
            flags: 0,
            cookie: u64::from(i),
            packet_count: u64::from(i) * 10,
            byte_count: u64::from(i) * 1000,
            match_: Match::new(vec![OxmField::InPort { value: i, mask: None }]),
            instructions: vec![],
        })
        .collect();
    Message::MultipartReply(MultipartReply {
        flags: 0,
        body: MultipartReplyBody::Flow(entries),
    })
}

fn bench_message(c: &mut Criterion, name: &str, msg: Message) {
    let msg = OfMessage::V13(msg);
    let bytes = msg.encode(1).expect("encodes");
    let mut g = c.benchmark_group(name);
    g.throughput(Throughput::Elements(1));
    g.bench_function("decode", |b| {
        b.iter(|| OfMessage::decode(black_box(&bytes)).expect("decodes"))
    });
    g.bench_function("encode", |b| {
        b.iter(|| black_box(&msg).encode(1).expect("encodes"))
    });
    g.bench_function("reference_copy", |b| b.iter(|| black_box(&bytes).to_vec()));
    g.finish();
    eprintln!("{name}: {} bytes", bytes.len());
}

fn codec(c: &mut Criterion) {
    bench_message(c, "flow_mod_13", flow_mod());
    bench_message(c, "packet_in_13", packet_in());
    bench_message(c, "flow_stats_reply_13_x1000", flow_stats_reply());
}

/// The criterion group (in a module so its generated function can be exempt from `missing_docs`).
mod group {
    #![allow(missing_docs)]
    criterion::criterion_group!(benches, super::codec);
}

criterion_main!(group::benches);
