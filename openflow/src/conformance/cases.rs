//! The case bodies: the generated families (match, action, stats) and the hand-written cases.

use std::time::Duration;

use super::probe::Probe;
use super::steps::{apply, clear, fail, flow10, flow13, now_micros, unsupported, COOKIE};
use super::{Body, Case, CaseError, Context};
use crate::channel::{Features, Subscription};
use crate::common::SwitchConfig;
use crate::v10::match_::wildcards as w10;
use crate::v13::oxm::OxmField;
use crate::{v10, v13, OfMessage, OFP10_VERSION};

/// Error types (1.3 numbering; 1.0 uses the same for request, action and flow-mod errors) that mean
/// "not supported" for an optional feature.
pub(super) const BAD_REQUEST: u16 = 1;
pub(super) const BAD_ACTION: u16 = 2;
pub(super) const BAD_INSTRUCTION: u16 = 3;
pub(super) const BAD_MATCH: u16 = 4;
const FLOW_MOD_FAILED_13: u16 = 5;
const FLOW_MOD_FAILED_10: u16 = 3;
const GROUP_MOD_FAILED: u16 = 6;
const PORT_MOD_FAILED_13: u16 = 7;
const PORT_MOD_FAILED_10: u16 = 4;
const METER_MOD_FAILED: u16 = 12;
const ROLE_REQUEST_FAILED: u16 = 11;

/// A version-neutral flow: optional in_port and UDP destination port match, outputs (empty: drop).
#[derive(Debug, Clone, Default)]
pub(super) struct Flow {
    pub(super) priority: u16,
    pub(super) in_port: Option<u32>,
    pub(super) udp_dst: Option<u16>,
    pub(super) outputs: Vec<u32>,
    pub(super) idle: u16,
    pub(super) hard: u16,
    pub(super) flags: u16,
    pub(super) cookie: Option<u64>,
}

pub(super) fn flow(priority: u16, in_port: Option<u32>, outputs: Vec<u32>) -> Flow {
    Flow {
        priority,
        in_port,
        outputs,
        ..Flow::default()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cmd {
    Add,
    Modify,
    ModifyStrict,
    Delete,
    DeleteStrict,
}

impl Context<'_> {
    pub(super) fn v10(&self) -> bool {
        self.version() == OFP10_VERSION
    }

    pub(super) fn flow_msg(&self, cmd: Cmd, f: &Flow, out_port: Option<u32>) -> OfMessage {
        if self.v10() {
            let mut m = v10::Match::all();
            if let Some(p) = f.in_port {
                m.wildcards &= !w10::IN_PORT;
                m.in_port = u16::try_from(p).unwrap_or(0);
            }
            if let Some(d) = f.udp_dst {
                m.wildcards &= !(w10::DL_TYPE | w10::NW_PROTO | w10::TP_DST);
                m.dl_type = 0x0800;
                m.nw_proto = 17;
                m.tp_dst = d;
            }
            let command = match cmd {
                Cmd::Add => v10::FlowModCommand::Add,
                Cmd::Modify => v10::FlowModCommand::Modify,
                Cmd::ModifyStrict => v10::FlowModCommand::ModifyStrict,
                Cmd::Delete => v10::FlowModCommand::Delete,
                Cmd::DeleteStrict => v10::FlowModCommand::DeleteStrict,
            };
            let actions = f
                .outputs
                .iter()
                .map(|p| v10::Action::Output {
                    port: u16::try_from(*p).unwrap_or(v10::port::port_no::CONTROLLER),
                    max_len: 0xffff,
                })
                .collect();
            let mut fm = flow10(command, f.priority, m, actions);
            fm.idle_timeout = f.idle;
            fm.hard_timeout = f.hard;
            fm.flags = f.flags;
            fm.cookie = f.cookie.unwrap_or(COOKIE);
            if let Some(p) = out_port {
                fm.out_port = u16::try_from(p).unwrap_or(v10::port::port_no::NONE);
            }
            OfMessage::V10(v10::Message::FlowMod(fm))
        } else {
            let mut fields = Vec::new();
            if let Some(p) = f.in_port {
                fields.push(OxmField::InPort { value: p, mask: None });
            }
            if let Some(d) = f.udp_dst {
                fields.push(OxmField::EthType {
                    value: 0x0800,
                    mask: None,
                });
                fields.push(OxmField::IpProto {
                    value: 17,
                    mask: None,
                });
                fields.push(OxmField::UdpDst { value: d, mask: None });
            }
            let command = match cmd {
                Cmd::Add => v13::FlowModCommand::Add,
                Cmd::Modify => v13::FlowModCommand::Modify,
                Cmd::ModifyStrict => v13::FlowModCommand::ModifyStrict,
                Cmd::Delete => v13::FlowModCommand::Delete,
                Cmd::DeleteStrict => v13::FlowModCommand::DeleteStrict,
            };
            let actions = f
                .outputs
                .iter()
                .map(|p| v13::Action::Output {
                    port: if *p == u32::from(v10::port::port_no::CONTROLLER) {
                        v13::port::port_no::CONTROLLER
                    } else {
                        *p
                    },
                    max_len: 0xffff,
                })
                .collect();
            let mut fm = flow13(command, f.priority, fields, apply(actions));
            fm.idle_timeout = f.idle;
            fm.hard_timeout = f.hard;
            fm.flags = f.flags;
            fm.cookie = f.cookie.unwrap_or(COOKIE);
            if let Some(p) = out_port {
                fm.out_port = p;
            }
            OfMessage::V13(v13::Message::FlowMod(fm))
        }
    }

    pub(super) fn add(&self, f: &Flow) -> OfMessage {
        self.flow_msg(Cmd::Add, f, None)
    }

    pub(super) fn msg(&self, m10: v10::Message, m13: v13::Message) -> OfMessage {
        if self.v10() {
            OfMessage::V10(m10)
        } else {
            OfMessage::V13(m13)
        }
    }

    fn controller_port(&self) -> u32 {
        // Flows use the 1.0 number; flow_msg maps it for 1.3.
        u32::from(v10::port::port_no::CONTROLLER)
    }

    fn flow_mod_failed(&self) -> u16 {
        if self.v10() {
            FLOW_MOD_FAILED_10
        } else {
            FLOW_MOD_FAILED_13
        }
    }

    pub(super) async fn reset(&self) -> Result<(), CaseError> {
        self.program(&clear(self.version())).await?;
        Ok(())
    }

    async fn flows_with_priority(&self) -> Result<Vec<u16>, CaseError> {
        Ok(self.flow_counts().await?.iter().map(|c| c.0).collect())
    }
}

pub(super) async fn run(case: &Case, ctx: &Context<'_>) -> Result<(), CaseError> {
    let generated = matches!(case.body, Body::Match { .. } | Body::Action { .. });
    if generated {
        // The generated cases program their flows at once and wait the settle time after that.
        ctx.errors_before_barrier(&clear(ctx.version())).await?;
    } else {
        ctx.reset().await?;
    }
    let result = match &case.body {
        Body::Named(name) => {
            let v = ctx.version();
            if super::flow_table::handles(name, v) {
                super::flow_table::run(name, ctx).await
            } else if super::pipeline::handles(name, v) {
                super::pipeline::run(name, ctx).await
            } else if super::named10::handles(name, v) {
                super::named10::run(name, ctx).await
            } else if super::flow_options::handles(name, v) {
                super::flow_options::run(name, ctx).await
            } else if super::single_table::handles(name, v) {
                super::single_table::run(name, ctx).await
            } else if super::single_table_errors::handles(name, v) {
                super::single_table_errors::run(name, ctx).await
            } else if super::single_table_paths::handles(name, v) {
                super::single_table_paths::run(name, ctx).await
            } else if super::single_table_info::handles(name, v) {
                super::single_table_info::run(name, ctx).await
            } else if super::channel_failure::handles(name, v) {
                super::channel_failure::run(name, ctx).await
            } else if super::table_config::handles(name, v) {
                super::table_config::run(name, ctx).await
            } else if super::channel_handshake::handles(name, v) {
                super::channel_handshake::run(name, ctx).await
            } else {
                named(name, ctx).await
            }
        }
        Body::Match {
            field,
            masked,
            carrier,
            outcome,
        } => {
            let base = match carrier {
                Some(c) => c
                    .probe(*field, *masked, !ctx.v10())
                    .ok_or_else(|| CaseError::Unknown(format!("{} on {}", field.name(), c.name())))?,
                None => field.base(),
            };
            super::match_action::match_case(*field, *masked, &base, *outcome, case.required, ctx).await
        }
        Body::Action {
            action,
            carrier,
            outcome,
        } => {
            let input = match carrier {
                Some(c) => action
                    .input_on(*c, !ctx.v10())
                    .ok_or_else(|| CaseError::Unknown(format!("{} on {}", action.name(), c.name())))?,
                None => action.default_input(),
            };
            super::match_action::action_case(*action, input, *outcome, ctx).await
        }
        Body::Stats(kind) => stats_case(kind, case.required, ctx).await,
        Body::Family(f) => super::families::run(*f, case.required, ctx).await,
        Body::Family10(f) => super::families10::run(*f, ctx).await,
        Body::Meter(m) => super::meters::run(*m, ctx).await,
        Body::Group { name, carrier } => {
            let probe = carrier
                .plain()
                .ok_or_else(|| CaseError::Unknown(format!("{name} on {}", carrier.name())))?;
            group_case(name, &probe.build(), ctx).await
        }
    };
    // Leave the switch clean for the next case; a failure here does not change the verdict. No settle
    // time: the next case's own reset waits it.
    if !ctx.switch().is_closed() {
        let _ = ctx.errors_before_barrier(&clear(ctx.version())).await;
    }
    result
}

pub(super) fn stats_request(ctx: &Context<'_>, kind: &str) -> Option<OfMessage> {
    if ctx.v10() {
        let fsr = v10::stats::FlowStatsRequest {
            match_: v10::Match::all(),
            table_id: 0xff,
            out_port: v10::port::port_no::NONE,
        };
        let body = match kind {
            "desc" => v10::StatsRequestBody::Desc,
            "flow" => v10::StatsRequestBody::Flow(fsr),
            "aggregate" => v10::StatsRequestBody::Aggregate(fsr),
            "table" => v10::StatsRequestBody::Table,
            "port" => v10::StatsRequestBody::Port(v10::stats::PortStatsRequest {
                port_no: v10::port::port_no::NONE,
            }),
            "queue" => v10::StatsRequestBody::Queue(v10::stats::QueueStatsRequest {
                port_no: v10::port::port_no::ALL,
                queue_id: u32::MAX,
            }),
            _ => return None,
        };
        Some(OfMessage::V10(v10::Message::StatsRequest(v10::StatsRequest {
            flags: 0,
            body,
        })))
    } else {
        use v13::MultipartRequestBody as B;
        let fsr = v13::multipart::FlowStatsRequest::all();
        let body = match kind {
            "desc" => B::Desc,
            "flow" => B::Flow(fsr),
            "aggregate" => B::Aggregate(fsr),
            "table" => B::Table,
            "port" => B::PortStats {
                port_no: v13::port::port_no::ANY,
            },
            "queue" => B::Queue {
                port_no: v13::port::port_no::ANY,
                queue_id: u32::MAX,
            },
            "group" => B::Group {
                group_id: v13::group::group_id::ALL,
            },
            "group_desc" => B::GroupDesc,
            "group_features" => B::GroupFeatures,
            "meter" => B::Meter {
                meter_id: v13::meter::meter_id::ALL,
            },
            "meter_config" => B::MeterConfig {
                meter_id: v13::meter::meter_id::ALL,
            },
            "meter_features" => B::MeterFeatures,
            "table_features" => B::TableFeatures(Vec::new()),
            "port_desc" => B::PortDesc,
            _ => return None,
        };
        Some(OfMessage::V13(v13::Message::MultipartRequest(
            v13::MultipartRequest { flags: 0, body },
        )))
    }
}

fn reply_kind(m: &OfMessage) -> Option<&'static str> {
    Some(match m {
        OfMessage::V10(v10::Message::StatsReply(r)) => match &r.body {
            v10::StatsReplyBody::Desc(_) => "desc",
            v10::StatsReplyBody::Flow(_) => "flow",
            v10::StatsReplyBody::Aggregate(_) => "aggregate",
            v10::StatsReplyBody::Table(_) => "table",
            v10::StatsReplyBody::Port(_) => "port",
            v10::StatsReplyBody::Queue(_) => "queue",
            _ => return None,
        },
        OfMessage::V13(v13::Message::MultipartReply(r)) => match &r.body {
            v13::MultipartReplyBody::Desc(_) => "desc",
            v13::MultipartReplyBody::Flow(_) => "flow",
            v13::MultipartReplyBody::Aggregate(_) => "aggregate",
            v13::MultipartReplyBody::Table(_) => "table",
            v13::MultipartReplyBody::PortStats(_) => "port",
            v13::MultipartReplyBody::Queue(_) => "queue",
            v13::MultipartReplyBody::Group(_) => "group",
            v13::MultipartReplyBody::GroupDesc(_) => "group_desc",
            v13::MultipartReplyBody::GroupFeatures(_) => "group_features",
            v13::MultipartReplyBody::Meter(_) => "meter",
            v13::MultipartReplyBody::MeterConfig(_) => "meter_config",
            v13::MultipartReplyBody::MeterFeatures(_) => "meter_features",
            v13::MultipartReplyBody::TableFeatures(_) => "table_features",
            v13::MultipartReplyBody::PortDesc(_) => "port_desc",
            _ => return None,
        },
        _ => return None,
    })
}

async fn stats_case(kind: &str, required: bool, ctx: &Context<'_>) -> Result<(), CaseError> {
    let req = stats_request(ctx, kind).ok_or_else(|| CaseError::Unknown(kind.into()))?;
    let allowed: &[u16] = if required { &[] } else { &[BAD_REQUEST] };
    let parts = ctx.stats(&req, allowed).await?;
    if parts.is_empty() {
        return Err(fail("no reply"));
    }
    for p in &parts {
        if reply_kind(p) != Some(kind) {
            return Err(fail(format!("reply part of kind {:?}", reply_kind(p))));
        }
    }
    Ok(())
}

async fn packet_in(
    sub: &mut Subscription,
    ctx: &Context<'_>,
    frame: &[u8],
) -> Result<(u8, Option<u32>), CaseError> {
    let got = sub
        .expect(ctx.timeout, |m| match &m.message {
            OfMessage::V10(v10::Message::PacketIn(p)) => !p.data.is_empty() && frame.starts_with(&p.data),
            OfMessage::V13(v13::Message::PacketIn(p)) => !p.data.is_empty() && frame.starts_with(&p.data),
            _ => false,
        })
        .await
        .map_err(|_| fail("no packet-in"))?;
    Ok(match got.message {
        OfMessage::V10(v10::Message::PacketIn(p)) => (p.reason.into(), Some(u32::from(p.in_port))),
        OfMessage::V13(v13::Message::PacketIn(p)) => (
            p.reason.into(),
            p.match_.fields.iter().find_map(|f| match f {
                OxmField::InPort { value, .. } => Some(*value),
                _ => None,
            }),
        ),
        _ => (0xff, None),
    })
}

/// The next 1.0 packet-in whose data is a non-empty prefix of `frame`.
pub(super) async fn packet_in_full(
    sub: &mut Subscription,
    ctx: &Context<'_>,
    frame: &[u8],
) -> Result<v10::PacketIn, CaseError> {
    let got = sub
        .expect(ctx.timeout, |m| {
            matches!(&m.message, OfMessage::V10(v10::Message::PacketIn(p)) if !p.data.is_empty() && frame.starts_with(&p.data))
        })
        .await
        .map_err(|_| fail("no packet-in"))?;
    match got.message {
        OfMessage::V10(v10::Message::PacketIn(p)) => Ok(p),
        _ => Err(fail("no packet-in")),
    }
}

/// What a flow-removed message says, in both versions.
pub(super) struct Removed {
    /// `ofp_flow_removed_reason`.
    pub reason: u8,
    pub cookie: u64,
    pub priority: u16,
    /// The in_port of the removed flow's match, when it has one.
    pub in_port: Option<u32>,
    /// How long the flow lived, in seconds.
    pub duration_sec: u32,
    /// Packets the flow counted.
    pub packets: u64,
}

/// The next flow-removed message within `wait`.
pub(super) async fn next_flow_removed(sub: &mut Subscription, wait: Duration) -> Option<Removed> {
    let got = sub
        .expect(wait, |m| {
            matches!(
                m.message,
                OfMessage::V10(v10::Message::FlowRemoved(_)) | OfMessage::V13(v13::Message::FlowRemoved(_))
            )
        })
        .await
        .ok()?;
    match got.message {
        OfMessage::V10(v10::Message::FlowRemoved(r)) => Some(Removed {
            reason: r.reason.into(),
            cookie: r.cookie,
            priority: r.priority,
            in_port: (r.match_.wildcards & v10::match_::wildcards::IN_PORT == 0)
                .then_some(u32::from(r.match_.in_port)),
            duration_sec: r.duration_sec,
            packets: r.packet_count,
        }),
        OfMessage::V13(v13::Message::FlowRemoved(r)) => Some(Removed {
            reason: r.reason.into(),
            cookie: r.cookie,
            priority: r.priority,
            in_port: r.match_.fields.iter().find_map(|f| match f {
                OxmField::InPort { value, .. } => Some(*value),
                _ => None,
            }),
            duration_sec: r.duration_sec,
            packets: r.packet_count,
        }),
        _ => None,
    }
}

/// The reason of the next flow-removed message; a failure when none comes within `wait`.
pub(super) async fn flow_removed(sub: &mut Subscription, wait: Duration) -> Result<u8, CaseError> {
    next_flow_removed(sub, wait)
        .await
        .map(|r| r.reason)
        .ok_or_else(|| fail("no flow-removed message"))
}

pub(super) async fn config(ctx: &Context<'_>) -> Result<SwitchConfig, CaseError> {
    let req = ctx.msg(v10::Message::GetConfigRequest, v13::Message::GetConfigRequest);
    match ctx.switch().request(&req).await? {
        OfMessage::V10(v10::Message::GetConfigReply(c)) | OfMessage::V13(v13::Message::GetConfigReply(c)) => {
            Ok(c)
        }
        other => Err(fail(format!("reply of type {}", other.msg_type()))),
    }
}

async fn port_ids(ctx: &Context<'_>) -> Result<Vec<u32>, CaseError> {
    Ok(match ctx.switch().features() {
        Features::V10(f) => f.ports.iter().map(|p| u32::from(p.port_no)).collect(),
        Features::V13(_) => ctx.port_desc13().await?.iter().map(|p| p.port_no).collect(),
    })
}

pub(super) fn port_mod(
    ctx: &Context<'_>,
    port: u32,
    hw: crate::MacAddr,
    config: u32,
    mask: u32,
) -> OfMessage {
    ctx.msg(
        v10::Message::PortMod(v10::PortMod {
            port_no: u16::try_from(port).unwrap_or(0),
            hw_addr: hw,
            config,
            mask,
            advertise: 0,
        }),
        v13::Message::PortMod(v13::PortMod {
            port_no: port,
            hw_addr: hw,
            config,
            mask,
            advertise: 0,
        }),
    )
}

pub(super) async fn port_hw_addr(ctx: &Context<'_>, port: u32) -> Result<crate::MacAddr, CaseError> {
    match ctx.switch().features() {
        Features::V10(f) => f
            .ports
            .iter()
            .find(|p| u32::from(p.port_no) == port)
            .map(|p| p.hw_addr)
            .ok_or_else(|| fail("port not in features")),
        Features::V13(_) => ctx
            .port_desc13()
            .await?
            .iter()
            .find(|p| p.port_no == port)
            .map(|p| p.hw_addr)
            .ok_or_else(|| fail("port not in port description")),
    }
}

async fn port_packets(ctx: &Context<'_>, port: u32) -> Result<(u64, u64), CaseError> {
    let req = stats_request(ctx, "port").ok_or_else(|| fail("no request"))?;
    for part in ctx.stats(&req, &[]).await? {
        match part {
            OfMessage::V10(v10::Message::StatsReply(v10::StatsReply {
                body: v10::StatsReplyBody::Port(ps),
                ..
            })) => {
                if let Some(s) = ps.iter().find(|s| u32::from(s.port_no) == port) {
                    return Ok((s.rx_packets, s.tx_packets));
                }
            }
            OfMessage::V13(v13::Message::MultipartReply(v13::MultipartReply {
                body: v13::MultipartReplyBody::PortStats(ps),
                ..
            })) => {
                if let Some(s) = ps.iter().find(|s| s.port_no == port) {
                    return Ok((s.rx_packets, s.tx_packets));
                }
            }
            _ => {}
        }
    }
    Err(fail(format!("port {port} not in port statistics")))
}

pub(super) fn group_mod(
    command: v13::GroupModCommand,
    kind: v13::GroupType,
    id: u32,
    buckets: Vec<v13::Bucket>,
) -> OfMessage {
    OfMessage::V13(v13::Message::GroupMod(v13::GroupMod {
        command,
        group_type: kind,
        group_id: id,
        buckets,
    }))
}

pub(super) fn bucket(ports: &[u32], watch_port: u32) -> v13::Bucket {
    v13::Bucket {
        weight: 1,
        watch_port,
        watch_group: v13::group::group_id::ANY,
        actions: ports
            .iter()
            .map(|p| v13::Action::Output { port: *p, max_len: 0 })
            .collect(),
    }
}

pub(super) fn flow_to_group(in_port: u32, group: u32) -> OfMessage {
    flow_to_group_at(in_port, group, 100)
}

/// A group of this kind (`group_all`, `group_select`, `group_indirect`, `group_fast_failover`) with a flow
/// sending `probe` to it: the frame leaves by the group's buckets.
pub(super) async fn group_case(name: &str, probe: &[u8], ctx: &Context<'_>) -> Result<(), CaseError> {
    let (p1, p2) = (ctx.port(0), ctx.port(1));
    let p3 = ctx.ports.get(2).copied();
    let (kind, buckets, outs) = match name {
        "group_all" => {
            let p3 = p3.ok_or_else(|| unsupported("needs a third data port"))?;
            (
                v13::GroupType::All,
                vec![bucket(&[p2], 0), bucket(&[p3], 0)],
                vec![p2, p3],
            )
        }
        "group_select" => (v13::GroupType::Select, vec![bucket(&[p2], 0)], vec![p2]),
        "group_indirect" => (v13::GroupType::Indirect, vec![bucket(&[p2], 0)], vec![p2]),
        _ => {
            // First bucket watches a port that does not exist (never live), the second p2.
            (
                v13::GroupType::FastFailover,
                vec![bucket(&[p1], 50), bucket(&[p2], p2)],
                vec![p2],
            )
        }
    };
    let buckets = if kind == v13::GroupType::All || kind == v13::GroupType::FastFailover {
        buckets
    } else {
        buckets
            .into_iter()
            .map(|mut b| {
                b.watch_port = v13::port::port_no::ANY;
                if kind == v13::GroupType::Indirect {
                    b.weight = 0;
                }
                b
            })
            .collect()
    };
    let buckets = buckets
        .into_iter()
        .map(|mut b| {
            if b.watch_port == 0 {
                b.watch_port = v13::port::port_no::ANY;
            }
            if kind != v13::GroupType::Select {
                b.weight = 0;
            }
            b
        })
        .collect();
    let allowed = if name == "group_indirect" {
        vec![]
    } else {
        vec![GROUP_MOD_FAILED]
    };
    ctx.program_ok(
        &[
            group_mod(v13::GroupModCommand::Add, kind, 1, buckets),
            flow_to_group(p1, 1),
        ],
        &allowed,
    )
    .await?;
    let (first, rest) = outs.split_first().ok_or_else(|| fail("no output port"))?;
    ctx.expect_forward(p1, probe, *first, probe).await?;
    for o in rest {
        tokio::task::block_in_place(|| ctx.dataplane.send(p1, probe))?;
        tokio::task::block_in_place(|| ctx.dataplane.expect_frame(*o, probe, ctx.timeout))?;
    }
    Ok(())
}

/// A flow from `in_port` to `group` at `priority`.
pub(super) fn flow_to_group_at(in_port: u32, group: u32, priority: u16) -> OfMessage {
    OfMessage::V13(v13::Message::FlowMod(flow13(
        v13::FlowModCommand::Add,
        priority,
        vec![OxmField::InPort {
            value: in_port,
            mask: None,
        }],
        apply(vec![v13::Action::Group { group_id: group }]),
    )))
}

pub(super) fn role(role: v13::ControllerRole, generation_id: u64) -> OfMessage {
    OfMessage::V13(v13::Message::RoleRequest(v13::Role { role, generation_id }))
}

#[allow(clippy::too_many_lines)]
async fn named(name: &str, ctx: &Context<'_>) -> Result<(), CaseError> {
    let sw = &ctx.switch();
    let (p1, p2) = (ctx.port(0), ctx.port(1));
    let probe = Probe::udp().build();
    let v10 = ctx.v10();
    match name {
        "handshake" => {
            if sw.datapath_id() == 0 {
                return Err(fail("datapath id is zero"));
            }
            if sw.features().n_tables() == 0 {
                return Err(fail("features reply has no tables"));
            }
            Ok(())
        }
        "echo" => {
            sw.echo(b"twister-echo-payload").await?;
            Ok(())
        }
        "features" => {
            let ports = port_ids(ctx).await?;
            if ctx.ports.iter().all(|p| ports.contains(p)) {
                Ok(())
            } else {
                Err(fail(format!("ports {:?} not all listed: {ports:?}", ctx.ports)))
            }
        }
        "get_config" => config(ctx).await.map(|_| ()),
        "set_config" => {
            let before = config(ctx).await?;
            let want = SwitchConfig {
                flags: before.flags,
                miss_send_len: if before.miss_send_len == 200 { 256 } else { 200 },
            };
            ctx.program_ok(
                &[ctx.msg(v10::Message::SetConfig(want), v13::Message::SetConfig(want))],
                &[],
            )
            .await?;
            let after = config(ctx).await?;
            let restore = ctx.msg(v10::Message::SetConfig(before), v13::Message::SetConfig(before));
            ctx.program(&[restore]).await?;
            if after.miss_send_len == want.miss_send_len {
                Ok(())
            } else {
                Err(fail(format!(
                    "miss_send_len {} after setting {}",
                    after.miss_send_len, want.miss_send_len
                )))
            }
        }
        "barrier" => {
            let add = ctx.add(&flow(100, Some(p1), vec![p2]));
            sw.send(&add).await?;
            sw.barrier().await?;
            // Once the barrier is answered the flow must be in the flow table.
            if ctx.flow_counts().await?.is_empty() {
                return Err(fail("flow added before the barrier missing after its reply"));
            }
            Ok(())
        }
        "flow_add_delete" => {
            ctx.program_ok(&[ctx.add(&flow(100, Some(p1), vec![p2]))], &[])
                .await?;
            if ctx.flow_counts().await?.is_empty() {
                return Err(fail("added flow missing from flow statistics"));
            }
            ctx.expect_forward(p1, &probe, p2, &probe).await?;
            ctx.reset().await?;
            if !ctx.flow_counts().await?.is_empty() {
                return Err(fail("flow still present after delete"));
            }
            ctx.expect_dropped(p1, &probe, &[p2]).await
        }
        "flow_modify" => {
            ctx.program_ok(&[ctx.add(&flow(100, Some(p1), vec![p2]))], &[])
                .await?;
            ctx.expect_forward(p1, &probe, p2, &probe).await?;
            // Modify (non-strict, any match) to drop.
            ctx.program_ok(&[ctx.flow_msg(Cmd::Modify, &flow(0, None, vec![]), None)], &[])
                .await?;
            ctx.expect_dropped(p1, &probe, &[p2]).await
        }
        "flow_modify_strict" => {
            ctx.program_ok(
                &[
                    ctx.add(&flow(100, Some(p1), vec![p2])),
                    ctx.add(&flow(50, None, vec![p2])),
                ],
                &[],
            )
            .await?;
            // Strict modify of the priority-50 wildcard flow leaves the priority-100 flow alone.
            ctx.program_ok(
                &[ctx.flow_msg(Cmd::ModifyStrict, &flow(50, None, vec![]), None)],
                &[],
            )
            .await?;
            ctx.expect_forward(p1, &probe, p2, &probe).await?;
            // Strict modify of the priority-100 flow makes it drop.
            ctx.program_ok(
                &[ctx.flow_msg(Cmd::ModifyStrict, &flow(100, Some(p1), vec![]), None)],
                &[],
            )
            .await?;
            ctx.expect_dropped(p1, &probe, &[p2]).await
        }
        "flow_delete_strict" => {
            ctx.program_ok(
                &[
                    ctx.add(&flow(100, Some(p1), vec![p2])),
                    ctx.add(&flow(50, Some(p1), vec![p2])),
                ],
                &[],
            )
            .await?;
            ctx.program_ok(
                &[ctx.flow_msg(Cmd::DeleteStrict, &flow(100, Some(p1), vec![]), None)],
                &[],
            )
            .await?;
            let left = ctx.flows_with_priority().await?;
            if left != [50] {
                return Err(fail(format!("flows left by priority: {left:?}, expected [50]")));
            }
            Ok(())
        }
        "flow_delete_out_port" => {
            ctx.program_ok(
                &[
                    ctx.add(&flow(100, Some(p1), vec![p2])),
                    ctx.add(&flow(90, Some(p2), vec![p1])),
                ],
                &[],
            )
            .await?;
            ctx.program_ok(
                &[ctx.flow_msg(Cmd::Delete, &flow(0, None, vec![]), Some(p2))],
                &[],
            )
            .await?;
            let left = ctx.flows_with_priority().await?;
            if left != [90] {
                return Err(fail(format!("flows left by priority: {left:?}, expected [90]")));
            }
            Ok(())
        }
        "priority" => {
            ctx.program_ok(
                &[
                    ctx.add(&flow(200, Some(p1), vec![p2])),
                    ctx.add(&flow(100, Some(p1), vec![])),
                ],
                &[],
            )
            .await?;
            ctx.expect_forward(p1, &probe, p2, &probe).await?;
            ctx.reset().await?;
            ctx.program_ok(
                &[
                    ctx.add(&flow(100, Some(p1), vec![p2])),
                    ctx.add(&flow(200, Some(p1), vec![])),
                ],
                &[],
            )
            .await?;
            ctx.expect_dropped(p1, &probe, &[p2]).await
        }
        "overlap_check" => {
            ctx.program_ok(&[ctx.add(&flow(100, Some(p1), vec![p2]))], &[])
                .await?;
            let mut f = flow(100, None, vec![p2]);
            f.flags = 2;
            ctx.expect_error(
                None,
                Some(&ctx.add(&f)),
                ctx.flow_mod_failed(),
                Some(if v10 { 1 } else { 3 }),
            )
            .await
        }
        "add_replaces" => {
            let mut f = flow(100, Some(p1), vec![p2]);
            ctx.program_ok(&[ctx.add(&f)], &[]).await?;
            f.outputs = vec![];
            ctx.program_ok(&[ctx.add(&f)], &[]).await?;
            let n = ctx.flow_counts().await?.len();
            if n != 1 {
                return Err(fail(format!("{n} flows after adding an identical one")));
            }
            ctx.expect_dropped(p1, &probe, &[p2]).await
        }
        "idle_timeout" | "hard_timeout" | "delete_flow_removed" => {
            let mut sub = sw.subscribe();
            let mut f = flow(100, Some(p1), vec![p2]);
            f.flags = 1;
            let (want, wait) = match name {
                "idle_timeout" => {
                    f.idle = 1;
                    (0u8, Duration::from_secs(5))
                }
                "hard_timeout" => {
                    f.hard = 1;
                    (1, Duration::from_secs(5))
                }
                _ => (2, ctx.timeout),
            };
            ctx.program_ok(&[ctx.add(&f)], &[]).await?;
            if name == "delete_flow_removed" {
                ctx.program(&clear(sw.version())).await?;
            }
            let reason = flow_removed(&mut sub, wait).await?;
            if reason != want {
                return Err(fail(format!("flow-removed reason {reason}, expected {want}")));
            }
            if !ctx.flow_counts().await?.is_empty() {
                return Err(fail("flow still listed after flow-removed"));
            }
            Ok(())
        }
        "cookie_delete" => {
            let mut a = flow(100, Some(p1), vec![p2]);
            a.cookie = Some(COOKIE);
            let mut b = flow(90, Some(p2), vec![p1]);
            b.cookie = Some(COOKIE | 0x1_0000);
            ctx.program_ok(&[ctx.add(&a), ctx.add(&b)], &[]).await?;
            let mut del = flow13(v13::FlowModCommand::Delete, 0, vec![], vec![]);
            del.cookie = COOKIE | 0x1_0000;
            del.cookie_mask = u64::MAX;
            ctx.program_ok(&[OfMessage::V13(v13::Message::FlowMod(del))], &[])
                .await?;
            let left = ctx.flows_with_priority().await?;
            if left != [100] {
                return Err(fail(format!("flows left by priority: {left:?}, expected [100]")));
            }
            Ok(())
        }
        "packet_out" | "packet_out_all" | "packet_out_flood" | "packet_out_in_port" => {
            // (ingress given to the switch, 1.0 and 1.3 output port, ports that must see it, that must not)
            let rest: Vec<u32> = ctx.ports[1..].to_vec();
            let (in_port, out10, out13, want, quiet): (Option<u32>, u16, u32, Vec<u32>, Vec<u32>) = match name
            {
                "packet_out" => (None, ctx.port10(1), p2, vec![p2], vec![]),
                "packet_out_all" => (
                    Some(p1),
                    v10::port::port_no::ALL,
                    v13::port::port_no::ALL,
                    rest,
                    vec![p1],
                ),
                "packet_out_flood" => (
                    Some(p1),
                    v10::port::port_no::FLOOD,
                    v13::port::port_no::FLOOD,
                    rest,
                    vec![p1],
                ),
                _ => (
                    Some(p1),
                    v10::port::port_no::IN_PORT,
                    v13::port::port_no::IN_PORT,
                    vec![p1],
                    vec![p2],
                ),
            };
            let msg = if v10 {
                OfMessage::V10(v10::Message::PacketOut(v10::PacketOut {
                    buffer_id: u32::MAX,
                    in_port: in_port
                        .and_then(|p| u16::try_from(p).ok())
                        .unwrap_or(v10::port::port_no::NONE),
                    actions: vec![v10::Action::Output {
                        port: out10,
                        max_len: 0,
                    }],
                    data: probe.clone(),
                }))
            } else {
                OfMessage::V13(v13::Message::PacketOut(v13::PacketOut {
                    buffer_id: u32::MAX,
                    in_port: in_port.unwrap_or(v13::port::port_no::CONTROLLER),
                    actions: vec![v13::Action::Output {
                        port: out13,
                        max_len: 0,
                    }],
                    data: probe.clone(),
                }))
            };
            tokio::task::block_in_place(|| ctx.dataplane.drain());
            sw.send(&msg).await?;
            let dp = ctx.dataplane;
            tokio::task::block_in_place(|| {
                for p in &want {
                    dp.expect_frame(*p, &probe, ctx.timeout)?;
                }
                for p in &quiet {
                    dp.expect_none(*p, ctx.quiet)?;
                }
                Ok::<(), crate::dataplane::DataPlaneError>(())
            })?;
            Ok(())
        }
        "packet_in_no_match" | "packet_in_table_miss" | "packet_in_action" => {
            let msgs = match name {
                "packet_in_no_match" => vec![],
                "packet_in_table_miss" => vec![ctx.add(&flow(0, None, vec![ctx.controller_port()]))],
                _ => vec![ctx.add(&flow(100, Some(p1), vec![ctx.controller_port()]))],
            };
            ctx.program_ok(&msgs, &[]).await?;
            let mut sub = sw.subscribe();
            tokio::task::block_in_place(|| ctx.dataplane.send(p1, &probe))?;
            let (reason, in_port) = packet_in(&mut sub, ctx, &probe).await?;
            // 1.0: NO_MATCH 0, ACTION 1; 1.3: table-miss flows report NO_MATCH (0) too.
            let want = if name == "packet_in_action" { 1 } else { 0 };
            if reason != want {
                return Err(fail(format!("packet-in reason {reason}, expected {want}")));
            }
            if in_port != Some(p1) {
                return Err(fail(format!("packet-in in_port {in_port:?}, expected {p1}")));
            }
            Ok(())
        }
        "table_miss_drop" => {
            let mut sub = sw.subscribe();
            ctx.expect_dropped(p1, &probe, &ctx.ports[1..]).await?;
            match packet_in(&mut sub, ctx, &probe).await {
                Ok(_) => Err(fail("packet-in without a table-miss flow")),
                Err(_) => Ok(()),
            }
        }
        "flow_counters" => {
            ctx.program_ok(&[ctx.add(&flow(100, Some(p1), vec![p2]))], &[])
                .await?;
            ctx.expect_forward(p1, &probe, p2, &probe).await?;
            let before = ctx
                .poll_flow_counts(|c| c.first().is_some_and(|c| c.1 > 0))
                .await?;
            let (n0, b0) = before.first().map(|c| (c.1, c.2)).unwrap_or_default();
            for _ in 0..5 {
                tokio::task::block_in_place(|| ctx.dataplane.send(p1, &probe))?;
            }
            let len = probe.len() as u64;
            let after = ctx
                .poll_flow_counts(|c| c.first().is_some_and(|c| c.1 >= n0 + 5))
                .await?;
            let (n1, b1) = after.first().map(|c| (c.1, c.2)).unwrap_or_default();
            if n1 != n0 + 5 || b1 != b0 + 5 * len {
                return Err(fail(format!(
                    "counters went from {n0}/{b0} to {n1}/{b1}, expected +5 packets, +{} bytes",
                    5 * len
                )));
            }
            Ok(())
        }
        "port_counters" => {
            ctx.program_ok(&[ctx.add(&flow(100, Some(p1), vec![p2]))], &[])
                .await?;
            ctx.expect_forward(p1, &probe, p2, &probe).await?;
            let (rx0, _) = port_packets(ctx, p1).await?;
            let (_, tx0) = port_packets(ctx, p2).await?;
            for _ in 0..5 {
                tokio::task::block_in_place(|| ctx.dataplane.send(p1, &probe))?;
            }
            let deadline = tokio::time::Instant::now() + ctx.timeout;
            loop {
                let (rx1, _) = port_packets(ctx, p1).await?;
                let (_, tx1) = port_packets(ctx, p2).await?;
                if rx1 >= rx0 + 5 && tx1 >= tx0 + 5 {
                    return Ok(());
                }
                if tokio::time::Instant::now() >= deadline {
                    return Err(fail(format!(
                        "rx {rx0}->{rx1} on {p1}, tx {tx0}->{tx1} on {p2}, expected +5"
                    )));
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        "aggregate_counters" => {
            ctx.program_ok(
                &[
                    ctx.add(&flow(100, Some(p1), vec![p2])),
                    ctx.add(&flow(90, Some(p2), vec![p1])),
                ],
                &[],
            )
            .await?;
            ctx.expect_forward(p1, &probe, p2, &probe).await?;
            let req = stats_request(ctx, "aggregate").ok_or_else(|| fail("no request"))?;
            let flows = ctx
                .poll_flow_counts(|c| c.iter().map(|c| c.1).sum::<u64>() > 0)
                .await?;
            let (fc, pc): (u32, u64) = (flows.len() as u32, flows.iter().map(|c| c.1).sum());
            for part in ctx.stats(&req, &[]).await? {
                let (flow_count, packets) = match part {
                    OfMessage::V10(v10::Message::StatsReply(v10::StatsReply {
                        body: v10::StatsReplyBody::Aggregate(a),
                        ..
                    })) => (a.flow_count, a.packet_count),
                    OfMessage::V13(v13::Message::MultipartReply(v13::MultipartReply {
                        body: v13::MultipartReplyBody::Aggregate(a),
                        ..
                    })) => (a.flow_count, a.packet_count),
                    _ => continue,
                };
                if flow_count != fc || packets != pc {
                    return Err(fail(format!(
                        "aggregate {flow_count} flows / {packets} packets, flow stats say {fc} / {pc}"
                    )));
                }
                return Ok(());
            }
            Err(fail("no aggregate reply"))
        }
        "table_counters" => {
            ctx.program_ok(&[ctx.add(&flow(100, Some(p1), vec![p2]))], &[])
                .await?;
            ctx.expect_forward(p1, &probe, p2, &probe).await?;
            let req = stats_request(ctx, "table").ok_or_else(|| fail("no request"))?;
            let deadline = tokio::time::Instant::now() + ctx.timeout;
            loop {
                let mut seen = None;
                for part in ctx.stats(&req, &[]).await? {
                    match part {
                        OfMessage::V10(v10::Message::StatsReply(v10::StatsReply {
                            body: v10::StatsReplyBody::Table(t),
                            ..
                        })) => {
                            if let Some(t) = t.iter().find(|t| t.table_id == 0) {
                                seen = Some((t.active_count, t.lookup_count, t.matched_count));
                            }
                        }
                        OfMessage::V13(v13::Message::MultipartReply(v13::MultipartReply {
                            body: v13::MultipartReplyBody::Table(t),
                            ..
                        })) => {
                            if let Some(t) = t.iter().find(|t| t.table_id == 0) {
                                seen = Some((t.active_count, t.lookup_count, t.matched_count));
                            }
                        }
                        _ => {}
                    }
                }
                let (active, lookup, matched) =
                    seen.ok_or_else(|| fail("table 0 not in table statistics"))?;
                if active == 1 && lookup >= 1 && matched >= 1 {
                    return Ok(());
                }
                if tokio::time::Instant::now() >= deadline {
                    return Err(fail(format!(
                        "table 0: active {active}, lookups {lookup}, matched {matched}; expected 1, >=1, >=1"
                    )));
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        "port_mod_down" | "port_mod_no_fwd" => {
            let hw = port_hw_addr(ctx, p2).await?;
            // OFPPC_PORT_DOWN, or OFPPC_NO_FWD (bit 5 in both versions).
            let bit = if name == "port_mod_down" { 1u32 } else { 1 << 5 };
            let mut sub = sw.subscribe();
            let unsupported_types = if v10 {
                [PORT_MOD_FAILED_10]
            } else {
                [PORT_MOD_FAILED_13]
            };
            let set = ctx
                .program_ok(&[port_mod(ctx, p2, hw, bit, bit)], &unsupported_types)
                .await;
            let restore = port_mod(ctx, p2, hw, 0, bit);
            let result = async {
                set?;
                if name == "port_mod_down" {
                    let got = sub
                        .expect(ctx.timeout, |m| match &m.message {
                            OfMessage::V10(v10::Message::PortStatus(s)) => {
                                u32::from(s.desc.port_no) == p2 && s.desc.config & 1 != 0
                            }
                            OfMessage::V13(v13::Message::PortStatus(s)) => {
                                s.desc.port_no == p2 && s.desc.config & 1 != 0
                            }
                            _ => false,
                        })
                        .await;
                    got.map(|_| ()).map_err(|_| fail("no port-status with PORT_DOWN"))
                } else {
                    ctx.program_ok(&[ctx.add(&flow(100, Some(p1), vec![p2]))], &[])
                        .await?;
                    ctx.expect_dropped(p1, &probe, &[p2]).await
                }
            }
            .await;
            ctx.program(&[restore]).await?;
            if name == "port_mod_down" {
                // The link comes back up; let it settle before the next case.
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            result
        }
        "error_bad_version" => {
            // A features request in a version nobody speaks (an echo would be answered in any version).
            let bytes = [0x0f, 5, 0, 8, 0, 0, 0, 0];
            ctx.expect_error(Some(&bytes), None, BAD_REQUEST, Some(0)).await
        }
        "error_bad_type" => {
            let version = sw.version();
            let bytes = [version, 0xee, 0, 8, 0, 0, 0, 0];
            ctx.expect_error(Some(&bytes), None, BAD_REQUEST, Some(1)).await
        }
        "error_bad_stat" => {
            let version = sw.version();
            // Stats/multipart request (16 / 18) of type 0x7ff0 with no body.
            let t = if v10 { 16 } else { 18 };
            let mut bytes = vec![version, t, 0, 16, 0, 0, 0, 0, 0x7f, 0xf0, 0, 0];
            if !v10 {
                bytes.extend_from_slice(&[0, 0, 0, 0]);
            } else {
                bytes.truncate(12);
                bytes[3] = 12;
            }
            ctx.expect_error(Some(&bytes), None, BAD_REQUEST, Some(2)).await
        }
        "error_bad_len" => {
            let version = sw.version();
            // A features request whose length says 12 with 12 bytes sent: a body where none is allowed.
            let bytes = [version, 5, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0];
            ctx.expect_error(Some(&bytes), None, BAD_REQUEST, Some(6)).await
        }
        "error_bad_action" => {
            let msg = if v10 {
                let fm = flow10(
                    v10::FlowModCommand::Add,
                    100,
                    v10::Match::all(),
                    vec![v10::Action::Unknown {
                        action_type: 0x7777,
                        data: vec![0; 4],
                    }],
                );
                OfMessage::V10(v10::Message::FlowMod(fm))
            } else {
                let fm = flow13(
                    v13::FlowModCommand::Add,
                    100,
                    vec![],
                    apply(vec![v13::Action::Unknown {
                        action_type: 0x7777,
                        data: vec![0; 4],
                    }]),
                );
                OfMessage::V13(v13::Message::FlowMod(fm))
            };
            ctx.expect_error(None, Some(&msg), BAD_ACTION, Some(0)).await
        }
        "error_bad_out_port" => {
            // A port number in the reserved range that names no reserved port.
            let bad = if v10 { 0xff80 } else { 0xffff_ff80 };
            let mut f = flow(100, Some(p1), vec![]);
            f.outputs = vec![bad];
            let mut msg = ctx.add(&f);
            if let OfMessage::V10(v10::Message::FlowMod(fm)) = &mut msg {
                fm.actions = vec![v10::Action::Output {
                    port: 0xff80,
                    max_len: 0,
                }];
            }
            ctx.expect_error(None, Some(&msg), BAD_ACTION, Some(4)).await
        }
        "error_bad_buffer" => {
            let msg = if v10 {
                OfMessage::V10(v10::Message::PacketOut(v10::PacketOut {
                    buffer_id: 0x0bad_0bad,
                    in_port: ctx.port10(0),
                    actions: vec![v10::Action::Output {
                        port: ctx.port10(1),
                        max_len: 0,
                    }],
                    data: Vec::new(),
                }))
            } else {
                OfMessage::V13(v13::Message::PacketOut(v13::PacketOut {
                    buffer_id: 0x0bad_0bad,
                    in_port: p1,
                    actions: vec![v13::Action::Output { port: p2, max_len: 0 }],
                    data: Vec::new(),
                }))
            };
            // BAD_REQUEST / BUFFER_UNKNOWN (8) or BUFFER_EMPTY (7): both say the buffer is not there.
            match ctx.expect_error(None, Some(&msg), BAD_REQUEST, Some(8)).await {
                Err(CaseError::Failed(m)) if m.contains("code 7,") => Ok(()),
                other => other,
            }
        }
        "port_stats_single" => {
            let req = if v10 {
                OfMessage::V10(v10::Message::StatsRequest(v10::StatsRequest {
                    flags: 0,
                    body: v10::StatsRequestBody::Port(v10::stats::PortStatsRequest {
                        port_no: ctx.port10(1),
                    }),
                }))
            } else {
                OfMessage::V13(v13::Message::MultipartRequest(v13::MultipartRequest {
                    flags: 0,
                    body: v13::MultipartRequestBody::PortStats { port_no: p2 },
                }))
            };
            let mut ports = Vec::new();
            for part in ctx.stats(&req, &[]).await? {
                match part {
                    OfMessage::V10(v10::Message::StatsReply(v10::StatsReply {
                        body: v10::StatsReplyBody::Port(ps),
                        ..
                    })) => ports.extend(ps.iter().map(|s| u32::from(s.port_no))),
                    OfMessage::V13(v13::Message::MultipartReply(v13::MultipartReply {
                        body: v13::MultipartReplyBody::PortStats(ps),
                        ..
                    })) => ports.extend(ps.iter().map(|s| s.port_no)),
                    _ => {}
                }
            }
            if ports == [p2] {
                Ok(())
            } else {
                Err(fail(format!(
                    "port statistics for port {p2} listed ports {ports:?}"
                )))
            }
        }
        "error_bad_table" => {
            let mut fm = flow13(v13::FlowModCommand::Add, 100, vec![], vec![]);
            fm.table_id = 0xfe;
            ctx.expect_error(
                None,
                Some(&OfMessage::V13(v13::Message::FlowMod(fm))),
                FLOW_MOD_FAILED_13,
                Some(2),
            )
            .await
        }
        "error_bad_goto" => {
            let mut fm = flow13(
                v13::FlowModCommand::Add,
                100,
                vec![],
                vec![v13::Instruction::GotoTable { table_id: 0 }],
            );
            fm.table_id = 1;
            ctx.expect_error(
                None,
                Some(&OfMessage::V13(v13::Message::FlowMod(fm))),
                BAD_INSTRUCTION,
                Some(2),
            )
            .await
        }
        "error_unknown_group" => {
            ctx.expect_error(None, Some(&flow_to_group(p1, 0x4242)), BAD_ACTION, Some(9))
                .await
        }
        "error_bad_prereq" => {
            let fm = flow13(
                v13::FlowModCommand::Add,
                100,
                vec![OxmField::Ipv4Src {
                    value: std::net::Ipv4Addr::new(192, 0, 2, 1),
                    mask: None,
                }],
                vec![],
            );
            ctx.expect_error(
                None,
                Some(&OfMessage::V13(v13::Message::FlowMod(fm))),
                BAD_MATCH,
                Some(9),
            )
            .await
        }
        "goto_table" | "write_metadata" | "write_actions" | "clear_actions" => {
            let out = v13::Action::Output { port: p2, max_len: 0 };
            let in_p1 = vec![OxmField::InPort {
                value: p1,
                mask: None,
            }];
            let (t0, mut t1_fields, t1) = match name {
                "goto_table" => (
                    vec![v13::Instruction::GotoTable { table_id: 1 }],
                    vec![],
                    apply(vec![out]),
                ),
                "write_metadata" => (
                    vec![
                        v13::Instruction::WriteMetadata {
                            metadata: 0xabcd,
                            metadata_mask: u64::MAX,
                        },
                        v13::Instruction::GotoTable { table_id: 1 },
                    ],
                    vec![OxmField::Metadata {
                        value: 0xabcd,
                        mask: None,
                    }],
                    apply(vec![out]),
                ),
                "write_actions" => (vec![v13::Instruction::WriteActions(vec![out])], vec![], vec![]),
                _ => (
                    vec![
                        v13::Instruction::WriteActions(vec![out]),
                        v13::Instruction::GotoTable { table_id: 1 },
                    ],
                    vec![],
                    vec![v13::Instruction::ClearActions],
                ),
            };
            let mut a = flow13(v13::FlowModCommand::Add, 100, in_p1, t0);
            a.table_id = 0;
            t1_fields.insert(
                0,
                OxmField::InPort {
                    value: p1,
                    mask: None,
                },
            );
            let mut b = flow13(v13::FlowModCommand::Add, 100, t1_fields, t1);
            b.table_id = 1;
            let mut msgs = vec![OfMessage::V13(v13::Message::FlowMod(a))];
            if name != "write_actions" {
                msgs.push(OfMessage::V13(v13::Message::FlowMod(b)));
            }
            ctx.program_ok(&msgs, &[BAD_INSTRUCTION, BAD_MATCH]).await?;
            if name == "clear_actions" {
                ctx.expect_dropped(p1, &probe, &[p2]).await
            } else {
                ctx.expect_forward(p1, &probe, p2, &probe).await
            }
        }
        "group_all" | "group_select" | "group_indirect" | "group_fast_failover" => {
            group_case(name, &probe, ctx).await
        }
        "group_exists" => {
            let g = || {
                group_mod(
                    v13::GroupModCommand::Add,
                    v13::GroupType::Indirect,
                    7,
                    vec![{
                        let mut b = bucket(&[p2], v13::port::port_no::ANY);
                        b.weight = 0;
                        b
                    }],
                )
            };
            ctx.program_ok(&[g()], &[]).await?;
            ctx.expect_error(None, Some(&g()), GROUP_MOD_FAILED, Some(0))
                .await
        }
        "group_delete" => {
            let mut b = bucket(&[p2], v13::port::port_no::ANY);
            b.weight = 0;
            ctx.program_ok(
                &[
                    group_mod(v13::GroupModCommand::Add, v13::GroupType::Indirect, 3, vec![b]),
                    flow_to_group(p1, 3),
                ],
                &[],
            )
            .await?;
            if ctx.flow_counts().await?.is_empty() {
                return Err(fail("flow to the group not added"));
            }
            ctx.program_ok(
                &[group_mod(
                    v13::GroupModCommand::Delete,
                    v13::GroupType::Indirect,
                    3,
                    vec![],
                )],
                &[],
            )
            .await?;
            if !ctx.flow_counts().await?.is_empty() {
                return Err(fail("flow to a deleted group still listed"));
            }
            Ok(())
        }
        "meter_drop" => {
            let meter = OfMessage::V13(v13::Message::MeterMod(v13::MeterMod {
                command: v13::MeterModCommand::Add,
                flags: 0b0101, // KBPS | STATS
                meter_id: 1,
                bands: vec![v13::MeterBand::Drop {
                    rate: 1_000_000,
                    burst_size: 0,
                }],
            }));
            let fm = flow13(
                v13::FlowModCommand::Add,
                100,
                vec![OxmField::InPort {
                    value: p1,
                    mask: None,
                }],
                vec![
                    v13::Instruction::Meter { meter_id: 1 },
                    v13::Instruction::ApplyActions(vec![v13::Action::Output { port: p2, max_len: 0 }]),
                ],
            );
            ctx.program_ok(
                &[meter, OfMessage::V13(v13::Message::FlowMod(fm))],
                &[METER_MOD_FAILED, BAD_INSTRUCTION],
            )
            .await?;
            // Far under the rate: the frame passes.
            ctx.expect_forward(p1, &probe, p2, &probe).await?;
            let req = stats_request(ctx, "meter_config").ok_or_else(|| fail("no request"))?;
            for part in ctx.stats(&req, &[]).await? {
                if let OfMessage::V13(v13::Message::MultipartReply(v13::MultipartReply {
                    body: v13::MultipartReplyBody::MeterConfig(c),
                    ..
                })) = part
                {
                    if c.iter().any(|c| c.meter_id == 1) {
                        return Ok(());
                    }
                }
            }
            Err(fail("meter 1 not in the meter configuration"))
        }
        "role_master_slave" | "role_stale" => {
            // Generation ids only grow on a connection: take the clock's.
            let gen = now_micros();
            let reply = sw.request(&role(v13::ControllerRole::Master, gen)).await?;
            match reply {
                OfMessage::V13(v13::Message::RoleReply(r)) if r.role == v13::ControllerRole::Master => {}
                other => return Err(fail(format!("role reply {other:?}"))),
            }
            let result = if name == "role_stale" {
                ctx.expect_error(
                    None,
                    Some(&role(v13::ControllerRole::Master, gen - 1_000_000_000)),
                    ROLE_REQUEST_FAILED,
                    Some(0),
                )
                .await
            } else {
                sw.request(&role(v13::ControllerRole::Slave, gen + 1)).await?;
                let r = ctx
                    .expect_error(
                        None,
                        Some(&ctx.add(&flow(100, Some(p1), vec![p2]))),
                        BAD_REQUEST,
                        Some(10),
                    )
                    .await;
                let back = sw.request(&role(v13::ControllerRole::Master, gen + 2)).await;
                r.and(back.map(|_| ()).map_err(CaseError::from))
            };
            // Equal is the default role; go back to it for the cases that follow.
            sw.request(&role(v13::ControllerRole::Equal, 0)).await?;
            result
        }
        "async_config" => {
            let req = OfMessage::V13(v13::Message::GetAsyncRequest);
            let before = match sw.request(&req).await? {
                OfMessage::V13(v13::Message::GetAsyncReply(c)) => c,
                other => return Err(fail(format!("reply of type {}", other.msg_type()))),
            };
            let mut want = before;
            want.packet_in_mask[0] ^= 0b10;
            want.flow_removed_mask[0] ^= 0b1;
            ctx.program_ok(&[OfMessage::V13(v13::Message::SetAsync(want))], &[])
                .await?;
            let after = match sw.request(&req).await? {
                OfMessage::V13(v13::Message::GetAsyncReply(c)) => c,
                other => return Err(fail(format!("reply of type {}", other.msg_type()))),
            };
            ctx.program(&[OfMessage::V13(v13::Message::SetAsync(before))])
                .await?;
            if after == want {
                Ok(())
            } else {
                Err(fail(format!("get-async {after:?} after set-async {want:?}")))
            }
        }
        other => Err(CaseError::Unknown(other.to_string())),
    }
}
