//! The data plane against a real Open vSwitch: a forwarding flow carries frames (plain and VLAN-tagged)
//! from port 1 to port 2; a drop flow carries nothing.

mod common;

use std::net::Ipv4Addr;
use std::time::Duration;

use common::ovs::{self, Ovs};
use twister_openflow::channel::{ChannelConfig, Controller, Switch};
use twister_openflow::dataplane::{packet, DataPlane};
use twister_openflow::{v13, MacAddr, OfMessage, OFP13_VERSION};

fn flow_mod(
    command: v13::FlowModCommand,
    in_port: Option<u32>,
    actions: Option<Vec<v13::Action>>,
) -> OfMessage {
    let fields = in_port
        .map(|p| vec![v13::OxmField::InPort { value: p, mask: None }])
        .unwrap_or_default();
    OfMessage::V13(v13::Message::FlowMod(v13::FlowMod {
        cookie: 0,
        cookie_mask: 0,
        table_id: if command == v13::FlowModCommand::Delete {
            0xff
        } else {
            0
        },
        command,
        idle_timeout: 0,
        hard_timeout: 0,
        priority: 100,
        buffer_id: u32::MAX,
        out_port: v13::port::port_no::ANY,
        out_group: v13::group::group_id::ANY,
        flags: 0,
        match_: v13::Match::new(fields),
        instructions: actions
            .map(|a| vec![v13::Instruction::ApplyActions(a)])
            .unwrap_or_default(),
    }))
}

async fn program(sw: &Switch, msgs: &[OfMessage]) {
    for m in msgs {
        sw.send(m).await.expect("send flow-mod");
    }
    sw.barrier().await.expect("barrier");
    // OVS installs the flow in its datapath slightly after the barrier reply.
    tokio::time::sleep(Duration::from_millis(300)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ovs_forwards_and_drops() {
    if !ovs::available("ovs_forwards_and_drops") {
        return;
    }
    let ovs = Ovs::start(2).unwrap();
    let c = Controller::bind("127.0.0.1:0", ChannelConfig::with_versions(&[OFP13_VERSION]))
        .await
        .unwrap();
    ovs.set_controllers(&[c.local_addr()]).unwrap();
    let sw = c
        .wait_for_switch(Some(ovs.datapath_id), Duration::from_secs(20))
        .await
        .unwrap();
    let dp = DataPlane::open([
        (1, ovs.port(1).host_side.as_str()),
        (2, ovs.port(2).host_side.as_str()),
    ])
    .unwrap();

    let output2 = vec![v13::Action::Output { port: 2, max_len: 0 }];
    program(&sw, &[flow_mod(v13::FlowModCommand::Add, Some(1), Some(output2))]).await;
    dp.drain();

    let (a, b) = (MacAddr([0x02, 0, 0, 0, 0, 1]), MacAddr([0x02, 0, 0, 0, 0, 2]));
    let (ip_a, ip_b) = (Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2));
    let frame = packet::udp_frame(b, a, ip_a, ip_b, 1234, 5678, b"twister forward");
    dp.send(1, &frame).unwrap();
    dp.expect_frame(2, &frame, Duration::from_secs(2)).unwrap();
    dp.expect_none(1, Duration::from_millis(200)).unwrap();

    // A VLAN tag survives (the kernel strips it; the socket puts it back).
    let ip = packet::ipv4(
        ip_a,
        ip_b,
        packet::IP_PROTO_ICMP,
        64,
        0,
        &packet::icmp_echo_request(1, 1, b"v"),
    );
    let tagged = packet::ethernet_vlan(b, a, 100, 3, packet::ETH_TYPE_IPV4, &ip);
    dp.send(1, &tagged).unwrap();
    let got = dp
        .expect(2, Duration::from_secs(2), |f| f.get(..6) == Some(&b.0[..]))
        .unwrap();
    assert_eq!(
        packet::ethertype_and_vlans(&got),
        Some((packet::ETH_TYPE_IPV4, vec![100]))
    );
    assert_eq!(&got[..18], &tagged[..18]);

    // Replace with a drop flow: nothing arrives.
    program(
        &sw,
        &[
            flow_mod(v13::FlowModCommand::Delete, None, None),
            flow_mod(v13::FlowModCommand::Add, Some(1), None),
        ],
    )
    .await;
    dp.drain();
    let arp = packet::arp_request(a, ip_a, ip_b);
    dp.send(1, &arp).unwrap();
    dp.send(1, &frame).unwrap();
    dp.expect_none(2, Duration::from_millis(700)).unwrap();
}
