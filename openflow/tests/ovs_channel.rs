//! The controller channel against a real Open vSwitch: handshake in 1.0 and 1.3, features, port
//! descriptions, a flow added, a barrier, the flow read back from flow statistics.

mod common;

use std::time::Duration;

use common::ovs::{self, Ovs};
use twister_openflow::channel::{ChannelConfig, Controller, Switch};
use twister_openflow::v10::stats::FlowStatsRequest as FlowStatsRequest10;
use twister_openflow::v13::multipart::FlowStatsRequest as FlowStatsRequest13;
use twister_openflow::{v10, v13, OfMessage, OFP10_VERSION, OFP13_VERSION};

const CONNECT: Duration = Duration::from_secs(20);

async fn connect(ovs: &Ovs, c10: &Controller, c13: &Controller) -> (Switch, Switch) {
    ovs.set_controllers(&[c10.local_addr(), c13.local_addr()])
        .expect("set-controller");
    let s10 = c10.wait_for_switch(Some(ovs.datapath_id), CONNECT).await;
    let s13 = c13.wait_for_switch(Some(ovs.datapath_id), CONNECT).await;
    match (s10, s13) {
        (Ok(a), Ok(b)) => (a, b),
        (a, b) => panic!("switch did not connect: {a:?} {b:?}\n{}", ovs.log()),
    }
}

#[tokio::test]
async fn ovs_handshake_features_flows_in_10_and_13() {
    if !ovs::available("ovs_handshake_features_flows_in_10_and_13") {
        return;
    }
    let ovs = Ovs::start(2).unwrap();
    let c10 = Controller::bind("127.0.0.1:0", ChannelConfig::with_versions(&[OFP10_VERSION]))
        .await
        .expect("set-controller");
    let c13 = Controller::bind("127.0.0.1:0", ChannelConfig::with_versions(&[OFP13_VERSION]))
        .await
        .expect("set-controller");
    let (s10, s13) = connect(&ovs, &c10, &c13).await;
    assert_eq!(s10.version(), OFP10_VERSION);
    assert_eq!(s13.version(), OFP13_VERSION);
    s10.echo(b"hi").await.unwrap();
    s13.echo(b"hi").await.unwrap();

    // Ports: 1.0 in the features reply, 1.3 by port-description multipart.
    let twister_openflow::channel::Features::V10(f10) = s10.features().clone() else {
        panic!("1.0 features expected")
    };
    let mut ports10: Vec<(u16, String)> = f10
        .ports
        .iter()
        .map(|p| (p.port_no, p.name.to_string_lossy()))
        .collect();
    ports10.sort();
    assert!(
        ports10.contains(&(1, ovs.port(1).switch_side.clone())),
        "{ports10:?}"
    );
    assert!(
        ports10.contains(&(2, ovs.port(2).switch_side.clone())),
        "{ports10:?}"
    );
    let desc = OfMessage::V13(v13::Message::MultipartRequest(v13::MultipartRequest {
        flags: 0,
        body: v13::MultipartRequestBody::PortDesc,
    }));
    let mut ports13 = Vec::new();
    for part in s13.multipart(&desc).await.unwrap() {
        if let OfMessage::V13(v13::Message::MultipartReply(v13::MultipartReply {
            body: v13::MultipartReplyBody::PortDesc(ports),
            ..
        })) = part
        {
            ports13.extend(ports.into_iter().map(|p| (p.port_no, p.name.to_string_lossy())));
        }
    }
    assert!(
        ports13.contains(&(1, ovs.port(1).switch_side.clone())),
        "{ports13:?}"
    );
    assert!(
        ports13.contains(&(2, ovs.port(2).switch_side.clone())),
        "{ports13:?}"
    );

    // 1.0 flow: in_port=1 -> output:2.
    let m10 = v10::Match {
        wildcards: v10::match_::wildcards::ALL & !v10::match_::wildcards::IN_PORT,
        in_port: 1,
        ..Default::default()
    };
    let add10 = OfMessage::V10(v10::Message::FlowMod(v10::FlowMod {
        match_: m10.clone(),
        cookie: 0x10,
        command: v10::FlowModCommand::Add,
        idle_timeout: 0,
        hard_timeout: 0,
        priority: 100,
        buffer_id: u32::MAX,
        out_port: v10::port::port_no::NONE,
        flags: 0,
        actions: vec![v10::Action::Output { port: 2, max_len: 0 }],
    }));
    s10.send(&add10).await.unwrap();
    s10.barrier().await.unwrap();
    let stats10 = OfMessage::V10(v10::Message::StatsRequest(v10::StatsRequest {
        flags: 0,
        body: v10::StatsRequestBody::Flow(FlowStatsRequest10 {
            match_: v10::Match {
                wildcards: v10::match_::wildcards::ALL,
                ..Default::default()
            },
            table_id: 0xff,
            out_port: v10::port::port_no::NONE,
        }),
    }));
    let mut flows10 = Vec::new();
    for part in s10.multipart(&stats10).await.unwrap() {
        if let OfMessage::V10(v10::Message::StatsReply(v10::StatsReply {
            body: v10::StatsReplyBody::Flow(f),
            ..
        })) = part
        {
            flows10.extend(f);
        }
    }
    let f = flows10
        .iter()
        .find(|f| f.cookie == 0x10)
        .expect("1.0 flow in stats");
    assert_eq!(f.priority, 100);
    assert_eq!(f.match_.in_port, 1);
    assert_eq!(f.actions, vec![v10::Action::Output { port: 2, max_len: 0 }]);

    // 1.3 flow: in_port=2 -> output:1 (the 1.0 flow is visible too: same switch).
    let add13 = OfMessage::V13(v13::Message::FlowMod(v13::FlowMod {
        cookie: 0x13,
        cookie_mask: 0,
        table_id: 0,
        command: v13::FlowModCommand::Add,
        idle_timeout: 0,
        hard_timeout: 0,
        priority: 200,
        buffer_id: u32::MAX,
        out_port: v13::port::port_no::ANY,
        out_group: v13::group::group_id::ANY,
        flags: 0,
        match_: v13::Match::new(vec![v13::OxmField::InPort { value: 2, mask: None }]),
        instructions: vec![v13::Instruction::ApplyActions(vec![v13::Action::Output {
            port: 1,
            max_len: 0,
        }])],
    }));
    s13.send(&add13).await.unwrap();
    s13.barrier().await.unwrap();
    let stats13 = OfMessage::V13(v13::Message::MultipartRequest(v13::MultipartRequest {
        flags: 0,
        body: v13::MultipartRequestBody::Flow(FlowStatsRequest13::all()),
    }));
    let mut flows13 = Vec::new();
    for part in s13.multipart(&stats13).await.unwrap() {
        if let OfMessage::V13(v13::Message::MultipartReply(v13::MultipartReply {
            body: v13::MultipartReplyBody::Flow(f),
            ..
        })) = part
        {
            flows13.extend(f);
        }
    }
    let f = flows13
        .iter()
        .find(|f| f.cookie == 0x13)
        .expect("1.3 flow in stats");
    assert_eq!(f.priority, 200);
    assert_eq!(
        f.match_.fields,
        vec![v13::OxmField::InPort { value: 2, mask: None }]
    );
    assert!(
        flows13.iter().any(|f| f.cookie == 0x10),
        "1.0 flow seen from 1.3: {flows13:?}"
    );
}
