//! A reactive learning switch on top of the controller channel: every connected switch (1.0 or 1.3) sends
//! unknown traffic to us; we learn which port each source MAC address lives on, flood frames for unknown or
//! multicast destinations, and for a known destination install a flow (match on the destination MAC, output to
//! its port, idle timeout) and send the frame on.
//!
//! ```no_run
//! # async fn f() -> Result<(), twister_openflow::channel::ChannelError> {
//! use twister_openflow::channel::{ChannelConfig, Controller};
//! use twister_openflow::learning::LearningSwitch;
//! let controller = Controller::bind("127.0.0.1:6653", ChannelConfig::default()).await?;
//! let learning = LearningSwitch::start(&controller);
//! # let _ = learning; Ok(()) }
//! ```

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::channel::{Controller, Switch, SwitchEvent};
use crate::common::SwitchConfig;
use crate::v13::oxm::OxmField;
use crate::{v10, v13, MacAddr, OfMessage, OFP10_VERSION};

/// Priority of the flows the learning switch installs.
pub const FLOW_PRIORITY: u16 = 10;
/// Idle timeout (seconds) of the flows it installs.
pub const FLOW_IDLE_TIMEOUT: u16 = 60;
/// Cookie of the flows it installs.
pub const FLOW_COOKIE: u64 = 0x1ea2_0000;

type Tables = Arc<Mutex<HashMap<u64, BTreeMap<MacAddr, u32>>>>;

/// The learning switch; dropping it stops learning (flows already installed stay until they expire).
#[derive(Debug)]
pub struct LearningSwitch {
    tables: Tables,
    task: tokio::task::JoinHandle<()>,
}

fn lock(t: &Tables) -> MutexGuard<'_, HashMap<u64, BTreeMap<MacAddr, u32>>> {
    t.lock().unwrap_or_else(|p| p.into_inner())
}

impl LearningSwitch {
    /// Starts serving every switch connected to `controller`, now and later.
    pub fn start(controller: &Controller) -> LearningSwitch {
        let tables: Tables = Arc::default();
        let mut events = controller.events();
        let existing: Vec<Switch> = controller
            .datapath_ids()
            .into_iter()
            .filter_map(|id| controller.switch(id))
            .collect();
        let directory = controller.directory();
        let t = tables.clone();
        let task = tokio::spawn(async move {
            for sw in existing {
                tokio::spawn(serve(sw, t.clone()));
            }
            loop {
                match events.recv().await {
                    Ok(SwitchEvent::Connected { datapath_id, .. }) => {
                        if let Some(sw) = directory.switch(datapath_id) {
                            tokio::spawn(serve(sw, t.clone()));
                        }
                    }
                    Ok(SwitchEvent::Disconnected { datapath_id }) => {
                        lock(&t).remove(&datapath_id);
                    }
                    Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                }
            }
        });
        LearningSwitch { tables, task }
    }

    /// The learned MAC addresses of one switch and their ports.
    pub fn mac_table(&self, datapath_id: u64) -> Vec<(MacAddr, u32)> {
        lock(&self.tables)
            .get(&datapath_id)
            .map(|t| t.iter().map(|(m, p)| (*m, *p)).collect())
            .unwrap_or_default()
    }
}

impl Drop for LearningSwitch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn macs(frame: &[u8]) -> Option<(MacAddr, MacAddr)> {
    let dst: [u8; 6] = frame.get(0..6)?.try_into().ok()?;
    let src: [u8; 6] = frame.get(6..12)?.try_into().ok()?;
    Some((MacAddr(dst), MacAddr(src)))
}

async fn serve(sw: Switch, tables: Tables) {
    let mut sub = sw.subscribe();
    let v10 = sw.version() == OFP10_VERSION;
    // Everything unknown comes to us: 1.3 needs a table-miss flow; 1.0 sends whole frames with a large
    // miss_send_len.
    let setup = if v10 {
        OfMessage::V10(v10::Message::SetConfig(SwitchConfig {
            flags: 0,
            miss_send_len: 0xffff,
        }))
    } else {
        OfMessage::V13(v13::Message::FlowMod(v13::FlowMod {
            cookie: FLOW_COOKIE,
            cookie_mask: 0,
            table_id: 0,
            command: v13::FlowModCommand::Add,
            idle_timeout: 0,
            hard_timeout: 0,
            priority: 0,
            buffer_id: v13::NO_BUFFER,
            out_port: v13::port::port_no::ANY,
            out_group: v13::group::group_id::ANY,
            flags: 0,
            match_: v13::Match::default(),
            instructions: vec![v13::Instruction::ApplyActions(vec![v13::Action::Output {
                port: v13::port::port_no::CONTROLLER,
                max_len: 0xffff,
            }])],
        }))
    };
    if sw.send(&setup).await.is_err() {
        return;
    }
    let dpid = sw.datapath_id();
    while let Some(m) = sub.recv().await {
        let (buffer_id, in_port, data) = match m.message {
            OfMessage::V10(v10::Message::PacketIn(p)) => (p.buffer_id, u32::from(p.in_port), p.data),
            OfMessage::V13(v13::Message::PacketIn(p)) => {
                let in_port = p.match_.fields.iter().find_map(|f| match f {
                    OxmField::InPort { value, .. } => Some(*value),
                    _ => None,
                });
                match in_port {
                    Some(port) => (p.buffer_id, port, p.data),
                    None => continue,
                }
            }
            _ => continue,
        };
        let Some((dst, src)) = macs(&data) else {
            continue;
        };
        let out = {
            let mut t = lock(&tables);
            let table = t.entry(dpid).or_default();
            if src.0[0] & 1 == 0 {
                table.insert(src, in_port);
            }
            if dst.0[0] & 1 == 0 {
                table.get(&dst).copied()
            } else {
                None
            }
        };
        let msgs = respond(v10, buffer_id, in_port, data, dst, out);
        for msg in msgs {
            // A switch that went away ends the subscription soon after.
            let _ = sw.send(&msg).await;
        }
    }
}

fn respond(
    v10: bool,
    buffer_id: u32,
    in_port: u32,
    data: Vec<u8>,
    dst: MacAddr,
    out: Option<u32>,
) -> Vec<OfMessage> {
    let mut msgs = Vec::new();
    let data = if buffer_id == u32::MAX { data } else { Vec::new() };
    if v10 {
        let port = out
            .and_then(|p| u16::try_from(p).ok())
            .unwrap_or(v10::port::port_no::FLOOD);
        if out.is_some() {
            let m = v10::Match {
                wildcards: v10::match_::wildcards::ALL & !v10::match_::wildcards::DL_DST,
                dl_dst: dst,
                ..v10::Match::default()
            };
            msgs.push(OfMessage::V10(v10::Message::FlowMod(v10::FlowMod {
                match_: m,
                cookie: FLOW_COOKIE,
                command: v10::FlowModCommand::Add,
                idle_timeout: FLOW_IDLE_TIMEOUT,
                hard_timeout: 0,
                priority: FLOW_PRIORITY,
                buffer_id: u32::MAX,
                out_port: v10::port::port_no::NONE,
                flags: 0,
                actions: vec![v10::Action::Output { port, max_len: 0 }],
            })));
        }
        msgs.push(OfMessage::V10(v10::Message::PacketOut(v10::PacketOut {
            buffer_id,
            in_port: u16::try_from(in_port).unwrap_or(v10::port::port_no::NONE),
            actions: vec![v10::Action::Output { port, max_len: 0 }],
            data,
        })));
    } else {
        let port = out.unwrap_or(v13::port::port_no::FLOOD);
        if out.is_some() {
            msgs.push(OfMessage::V13(v13::Message::FlowMod(v13::FlowMod {
                cookie: FLOW_COOKIE,
                cookie_mask: 0,
                table_id: 0,
                command: v13::FlowModCommand::Add,
                idle_timeout: FLOW_IDLE_TIMEOUT,
                hard_timeout: 0,
                priority: FLOW_PRIORITY,
                buffer_id: v13::NO_BUFFER,
                out_port: v13::port::port_no::ANY,
                out_group: v13::group::group_id::ANY,
                flags: 0,
                match_: v13::Match::new(vec![OxmField::EthDst {
                    value: dst,
                    mask: None,
                }]),
                instructions: vec![v13::Instruction::ApplyActions(vec![v13::Action::Output {
                    port,
                    max_len: 0,
                }])],
            })));
        }
        msgs.push(OfMessage::V13(v13::Message::PacketOut(v13::PacketOut {
            buffer_id,
            in_port,
            actions: vec![v13::Action::Output { port, max_len: 0 }],
            data,
        })));
    }
    msgs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floods_unknown_and_installs_known() {
        let dst = MacAddr([2, 0, 0, 0, 0, 9]);
        let flood = respond(false, u32::MAX, 1, vec![1, 2, 3], dst, None);
        assert_eq!(flood.len(), 1);
        assert!(matches!(
            &flood[0],
            OfMessage::V13(v13::Message::PacketOut(p))
                if p.actions == [v13::Action::Output { port: v13::port::port_no::FLOOD, max_len: 0 }]
                    && p.data == [1, 2, 3]
        ));
        let known = respond(true, 7, 1, vec![1, 2, 3], dst, Some(2));
        assert_eq!(known.len(), 2);
        assert!(matches!(&known[0], OfMessage::V10(v10::Message::FlowMod(f)) if f.match_.dl_dst == dst));
        assert!(
            matches!(&known[1], OfMessage::V10(v10::Message::PacketOut(p)) if p.buffer_id == 7 && p.data.is_empty())
        );
    }
}
