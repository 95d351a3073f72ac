//! A private Open vSwitch with three veth ports, connected to a controller channel in one OpenFlow
//! version, with raw sockets on its data ports: what the conformance tests run against.

use std::time::Duration;

use twister_openflow::channel::{ChannelConfig, Controller, Switch};
use twister_openflow::conformance::{self, Context};
use twister_openflow::dataplane::DataPlane;

use super::ovs::Ovs;

/// The switch, its channel and its data plane. Dropping it stops Open vSwitch.
pub struct Rig {
    /// The data plane (filtered to the suite's probes and non-background frames).
    pub dataplane: DataPlane,
    /// The connected switch.
    pub switch: Switch,
    /// Kept so the listener lives as long as the switch.
    controller: Controller,
    /// The Open vSwitch instance.
    pub ovs: Ovs,
}

impl Rig {
    /// Starts Open vSwitch with three ports and waits for it to connect in `version`.
    pub async fn connect(version: u8) -> Rig {
        let ovs = Ovs::start(3).expect("start OVS");
        let controller = Controller::bind("127.0.0.1:0", ChannelConfig::with_versions(&[version]))
            .await
            .expect("bind");
        ovs.set_controllers(&[controller.local_addr()])
            .expect("set-controller");
        let switch = controller
            .wait_for_switch(Some(ovs.datapath_id), Duration::from_secs(20))
            .await
            .expect("switch connects");
        let mut dataplane =
            DataPlane::open((1..=3).map(|i| (i, ovs.port(i).host_side.as_str()))).expect("data plane");
        dataplane.set_filter(conformance::keep_frame);
        Rig {
            dataplane,
            switch,
            controller,
            ovs,
        }
    }

    /// A conformance context on ports 1, 2 and 3, able to take the channel down (the bridge is
    /// fail-secure unless a test sets it otherwise).
    pub fn context(&self) -> Context<'_> {
        let mut ctx = Context::new(&self.switch, &self.dataplane, vec![1, 2, 3]);
        ctx.directory = Some(self.controller.directory());
        ctx
    }
}
