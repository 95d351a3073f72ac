//! Every catalogue case against Open vSwitch, in 1.0 and in 1.3.

mod common;

use std::time::Duration;

use common::ovs::{self, Ovs};
use twister_openflow::channel::{ChannelConfig, Controller};
use twister_openflow::conformance::{self, Context, CATALOGUE};
use twister_openflow::dataplane::DataPlane;
use twister_openflow::{OFP10_VERSION, OFP13_VERSION};

async fn run_version(version: u8) -> Vec<String> {
    let ovs = Ovs::start(2).expect("start OVS");
    let c = Controller::bind("127.0.0.1:0", ChannelConfig::with_versions(&[version]))
        .await
        .expect("bind");
    ovs.set_controllers(&[c.local_addr()]).expect("set-controller");
    let sw = c
        .wait_for_switch(Some(ovs.datapath_id), Duration::from_secs(20))
        .await
        .expect("switch connects");
    let dp = DataPlane::open([
        (1, ovs.port(1).host_side.as_str()),
        (2, ovs.port(2).host_side.as_str()),
    ])
    .expect("data plane");
    let ctx = Context {
        switch: &sw,
        dataplane: &dp,
        ports: [1, 2],
        timeout: Duration::from_secs(2),
    };
    let mut failures = Vec::new();
    for case in CATALOGUE.iter().filter(|c| c.version == version) {
        if let Err(e) = conformance::run(case.id, &ctx).await {
            failures.push(format!("{}: {e}", case.id));
        }
    }
    failures
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ovs_passes_the_catalogue() {
    if !ovs::available("ovs_passes_the_catalogue") {
        return;
    }
    let mut failures = run_version(OFP10_VERSION).await;
    failures.extend(run_version(OFP13_VERSION).await);
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn catalogue_ids_are_unique_and_versioned() {
    let mut ids: Vec<&str> = CATALOGUE.iter().map(|c| c.id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), CATALOGUE.len());
    for c in CATALOGUE {
        let prefix = if c.version == OFP10_VERSION {
            "of10."
        } else {
            "of13."
        };
        assert!(c.id.starts_with(prefix), "{}", c.id);
        assert!(!c.section.is_empty() && !c.title.is_empty());
    }
    assert!(conformance::find("of13.echo").is_some());
    assert!(conformance::find("nope").is_none());
}
