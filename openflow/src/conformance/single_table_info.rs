//! What a 1.3 switch reports about itself, as the ONF single-table profile (TS-026) checks it: the
//! features reply (auxiliary id, required statistics capabilities), fragment handling read back, flow and
//! aggregate statistics by table, the table features' order and metadata masks, port durations and names,
//! the queue configuration; and details of errors: the xid, the data of a bad-action error, and the
//! experimenter errors for actions, instructions and multipart types.

use std::time::Duration;

use super::catalogue::{Named, V13};
use super::codes::{action, instruction, request, BAD_ACTION, BAD_INSTRUCTION, BAD_REQUEST};
use super::steps::{apply, error_code, fail, in_port_flow13, mp13, reply_bodies};
use super::{CaseError, Context};
use crate::channel::Features;
use crate::common::SwitchConfig;
use crate::{v13, OfMessage};

/// `OFPC_FLOW_STATS`.
const FLOW_STATS: u32 = 1;
/// `OFPC_TABLE_STATS`.
const TABLE_STATS: u32 = 2;
/// `OFPC_PORT_STATS`.
const PORT_STATS: u32 = 4;
/// `OFPC_GROUP_STATS`.
const GROUP_STATS: u32 = 8;
/// `OFPC_QUEUE_STATS`.
const QUEUE_STATS: u32 = 64;
/// `OFPC_FRAG_DROP`.
const FRAG_DROP: u16 = 1;
/// `OFPC_FRAG_MASK`: the fragment-handling bits.
const FRAG_MASK: u16 = 3;
/// `OFPIT_WRITE_METADATA`.
const WRITE_METADATA: u16 = 2;
/// The Nicira experimenter id, which Open vSwitch and others know, for an unknown experimenter type (a
/// switch that does not know it answers BAD_EXPERIMENTER: unsupported).
const NICIRA: u32 = 0x0000_2320;
/// An experimenter id nobody registered.
const NOBODY: u32 = 0x00ab_cdef;

/// (name, group, title, 1.0 section, 1.3 section, required, versions, TS-026 number)
pub(super) const NAMED: &[Named] = &[
    ("auxiliary_id", "basic", "The features reply on the main connection has auxiliary_id 0", "", "§7.3.1", true, V13, None),
    ("capabilities", "basic", "The features reply declares flow, table and port statistics, and each statistics kind it declares is answered", "", "§7.3.1", true, V13, None),
    ("config_frag_drop", "basic", "Set-config FRAG_DROP is read back by get-config, or refused with SWITCH_CONFIG_FAILED", "", "§7.3.2", false, V13, None),
    ("flow_stats_table", "stats", "Flow and aggregate statistics filtered by table 0 list the flow; by table 1 nothing; by all tables the flow", "", "§7.3.5.2, §7.3.5.3", true, V13, None),
    ("table_features_ids", "stats", "Table features list each table once, in increasing table id", "", "§7.3.5.5", true, V13, None),
    ("table_features_metadata", "stats", "Table features: metadata_write is non-zero exactly when the table offers write-metadata", "", "§7.3.5.5", true, V13, None),
    ("port_duration", "counters", "A port's duration in the port statistics grows with the seconds that pass", "", "§7.3.5.6", true, V13, None),
    ("port_desc_names", "stats", "The port description names every port", "", "§7.2.1, §7.3.5.7", true, V13, None),
    ("queue_config", "basic", "A queue configuration request for a data port is answered for that port", "", "§7.3.6", true, V13, None),
    ("error_xid", "errors", "An error carries the xid of the request it answers", "", "§6.3.1, §7.4.4", true, V13, None),
    ("error_data_bad_action", "errors", "A bad-action error carries at least the first 64 bytes of the flow-mod", "", "§7.4.4", true, V13, None),
    ("error_experimenter_action", "errors", "An action of an unknown experimenter gets BAD_ACTION/BAD_EXPERIMENTER", "", "§7.2.5, §7.4.4", true, V13, None),
    ("error_experimenter_instruction", "errors", "An instruction of an unknown experimenter gets BAD_INSTRUCTION/BAD_EXPERIMENTER", "", "§7.2.4, §7.4.4", true, V13, None),
    ("error_experimenter_type", "errors", "A multipart request of a known experimenter with an unknown type gets BAD_REQUEST/BAD_EXP_TYPE", "", "§7.3.5.15, §7.4.4", true, V13, None),
    ("error_port_stats_bad_port", "errors", "Port statistics for a port that does not exist get BAD_REQUEST/BAD_PORT", "", "§7.3.5.6, §7.4.4", true, V13, None),
];

/// Whether this module runs the named case in this version.
pub(super) fn handles(name: &str, version: u8) -> bool {
    super::catalogue::declares(NAMED, name, version)
}

/// (flows listed, aggregate flow_count) of the suite's flows in `table`.
async fn listed_in(ctx: &Context<'_>, table: u8) -> Result<(usize, u32), CaseError> {
    let fsr = v13::multipart::FlowStatsRequest {
        table_id: table,
        ..v13::multipart::FlowStatsRequest::all()
    };
    let flows = reply_bodies(
        ctx.stats(&mp13(v13::MultipartRequestBody::Flow(fsr.clone())), &[])
            .await?,
    )
    .filter_map(|b| match b {
        v13::MultipartReplyBody::Flow(f) => Some(f.len()),
        _ => None,
    })
    .sum();
    let aggregate = reply_bodies(
        ctx.stats(&mp13(v13::MultipartRequestBody::Aggregate(fsr)), &[])
            .await?,
    )
    .find_map(|b| match b {
        v13::MultipartReplyBody::Aggregate(a) => Some(a.flow_count),
        _ => None,
    })
    .ok_or_else(|| fail("no aggregate reply"))?;
    Ok((flows, aggregate))
}

/// Runs one case of this module.
pub(super) async fn run(name: &str, ctx: &Context<'_>) -> Result<(), CaseError> {
    let (p1, p2) = (ctx.port(0), ctx.port(1));
    let sw = &ctx.switch();
    let features = match sw.features() {
        Features::V13(f) => *f,
        Features::V10(_) => return Err(fail("not a 1.3 connection")),
    };
    match name {
        "auxiliary_id" => match features.auxiliary_id {
            0 => Ok(()),
            a => Err(fail(format!("auxiliary_id {a} on the main connection"))),
        },
        "capabilities" => {
            let caps = features.capabilities;
            let required = FLOW_STATS | TABLE_STATS | PORT_STATS;
            if caps & required != required {
                return Err(fail(format!(
                    "capabilities {caps:#x} lack flow, table or port statistics ({required:#x})"
                )));
            }
            let mut kinds = vec!["flow", "table", "port"];
            if caps & GROUP_STATS != 0 {
                kinds.push("group");
            }
            if caps & QUEUE_STATS != 0 {
                kinds.push("queue");
            }
            for kind in kinds {
                let req = super::cases::stats_request(ctx, kind).ok_or_else(|| fail("no request"))?;
                ctx.stats(&req, &[])
                    .await
                    .map_err(|e| fail(format!("{kind} statistics declared but not answered: {e}")))?;
            }
            Ok(())
        }
        "config_frag_drop" => {
            let get = || OfMessage::V13(v13::Message::GetConfigRequest);
            let before = match sw.request(&get()).await? {
                OfMessage::V13(v13::Message::GetConfigReply(c)) => c,
                _ => return Err(fail("no get-config reply")),
            };
            let set = |flags: u16| {
                OfMessage::V13(v13::Message::SetConfig(SwitchConfig {
                    flags,
                    miss_send_len: before.miss_send_len,
                }))
            };
            let errors = ctx
                .errors_before_barrier(&[set((before.flags & !FRAG_MASK) | FRAG_DROP)])
                .await;
            let now = sw.request(&get()).await;
            // Put the switch back as it was, whatever the verdict (later cases send whole frames).
            let _ = ctx.errors_before_barrier(&[set(before.flags)]).await;
            let errors = errors?;
            let now = match now? {
                OfMessage::V13(v13::Message::GetConfigReply(c)) => c,
                _ => return Err(fail("no get-config reply")),
            };
            match errors.first().and_then(error_code) {
                Some((10, _)) => Err(super::steps::unsupported(
                    "set-config FRAG_DROP refused with SWITCH_CONFIG_FAILED",
                )),
                Some((t, c)) => Err(fail(format!("set-config answered error type {t} code {c}"))),
                None if now.flags & FRAG_MASK == FRAG_DROP => Ok(()),
                None => Err(fail(format!(
                    "get-config flags {:#x} after setting FRAG_DROP",
                    now.flags
                ))),
            }
        }
        "flow_stats_table" => {
            ctx.program_ok(
                &[OfMessage::V13(v13::Message::FlowMod(in_port_flow13(
                    p1,
                    apply(vec![v13::Action::Output { port: p2, max_len: 0 }]),
                )))],
                &[],
            )
            .await?;
            let t0 = listed_in(ctx, 0).await?;
            // A single-table switch has no table 1 to ask about.
            let t1 = if features.n_tables > 1 {
                listed_in(ctx, 1).await?
            } else {
                (0, 0)
            };
            let all = listed_in(ctx, 0xff).await?;
            if t0 == (1, 1) && t1 == (0, 0) && all == (1, 1) {
                Ok(())
            } else {
                Err(fail(format!(
                    "(flows, aggregate count) by table 0: {t0:?}, table 1: {t1:?}, all: {all:?}; expected (1, 1), (0, 0), (1, 1)"
                )))
            }
        }
        "table_features_ids" => {
            let ids: Vec<u8> = ctx.table_features13().await?.iter().map(|t| t.table_id).collect();
            match ids.windows(2).find(|w| w[0] >= w[1]) {
                Some(w) => Err(fail(format!("table {} listed after table {}", w[1], w[0]))),
                None if ids.is_empty() => Err(fail("no table listed")),
                None => Ok(()),
            }
        }
        "table_features_metadata" => {
            for t in ctx.table_features13().await? {
                let offers = t.properties.iter().any(|p| {
                    matches!(p, v13::TableFeatureProp::Instructions(ids)
                        if ids.iter().any(|i| i.instruction_type == WRITE_METADATA))
                });
                if offers != (t.metadata_write != 0) {
                    return Err(fail(format!(
                        "table {}: metadata_write {:#x}, write-metadata instruction offered: {offers}",
                        t.table_id, t.metadata_write
                    )));
                }
            }
            Ok(())
        }
        "port_duration" => {
            let first = ctx.port_stats13(p1).await?.duration_sec;
            tokio::time::sleep(Duration::from_millis(2100)).await;
            let later = ctx.port_stats13(p1).await?.duration_sec;
            if later < first + 2 || later > first + 4 {
                return Err(fail(format!(
                    "port duration {first} s, then {later} s 2.1 s later"
                )));
            }
            Ok(())
        }
        "port_desc_names" => {
            let ports = ctx.port_desc13().await?;
            if ports.is_empty() {
                return Err(fail("no port described"));
            }
            match ports.iter().find(|p| p.name.to_string_lossy().is_empty()) {
                Some(p) => Err(fail(format!("port {} has no name", p.port_no))),
                None => Ok(()),
            }
        }
        "queue_config" => {
            let req = OfMessage::V13(v13::Message::QueueGetConfigRequest(v13::QueueGetConfigRequest {
                port: p1,
            }));
            match sw.request(&req).await? {
                OfMessage::V13(v13::Message::QueueGetConfigReply(r)) if r.port == p1 => Ok(()),
                OfMessage::V13(v13::Message::QueueGetConfigReply(r)) => Err(fail(format!(
                    "queue configuration for port {}, asked for {p1}",
                    r.port
                ))),
                other => Err(fail(format!("answered with {other:?}"))),
            }
        }
        "error_xid" => {
            let xid: u32 = 0x7a11_00e1;
            let got = ctx
                .answered_before_barrier(&[4, 0x61, 0, 8, 0x7a, 0x11, 0x00, 0xe1], |m| {
                    error_code(&m.message).is_some()
                })
                .await?
                .ok_or_else(|| fail("no error message came back (the barrier reply came first)"))?;
            if got.xid == xid {
                Ok(())
            } else {
                Err(fail(format!("error xid {:#x}, request {xid:#x}", got.xid)))
            }
        }
        "error_data_bad_action" => {
            let fm = OfMessage::V13(v13::Message::FlowMod(in_port_flow13(
                p1,
                apply(vec![v13::Action::Output {
                    port: 0x00ff_0000,
                    max_len: 0,
                }]),
            )));
            let xid: u32 = 0x7a11_00e2;
            let bytes = fm
                .encode(xid)
                .map_err(|e| CaseError::Unknown(format!("flow-mod not encoded: {e}")))?;
            let got = ctx
                .answered_before_barrier(&bytes, |m| m.xid == xid && error_code(&m.message).is_some())
                .await?
                .ok_or_else(|| fail("no error for a flow-mod to a port that does not exist (the barrier reply came first)"))?;
            let OfMessage::V13(v13::Message::Error(e)) = got.message else {
                return Err(fail("not a 1.3 error"));
            };
            let (t, _) = e.kind.to_wire();
            if t != BAD_ACTION {
                return Err(fail(format!(
                    "error type {t}, expected BAD_ACTION ({BAD_ACTION})"
                )));
            }
            if e.data.len() < 64.min(bytes.len()) || !bytes.starts_with(&e.data) {
                return Err(fail(format!(
                    "error data of {} bytes is not the start of the {}-byte flow-mod (at least 64)",
                    e.data.len(),
                    bytes.len()
                )));
            }
            Ok(())
        }
        "error_experimenter_action" => {
            let fm = OfMessage::V13(v13::Message::FlowMod(in_port_flow13(
                p1,
                apply(
                    // Type, length, experimenter and 8 bytes: 16, a multiple of 8 as actions must be.
                    vec![v13::Action::Experimenter {
                        experimenter: NOBODY,
                        data: vec![0; 8],
                    }],
                ),
            )));
            ctx.expect_error(None, Some(&fm), BAD_ACTION, Some(action::BAD_EXPERIMENTER))
                .await
        }
        "error_experimenter_instruction" => {
            let mut fm = in_port_flow13(p1, Vec::new());
            // Type, length and experimenter: 8 bytes, as instructions must be a multiple of 8.
            fm.instructions = vec![v13::Instruction::Experimenter {
                experimenter: NOBODY,
                data: Vec::new(),
            }];
            let m = OfMessage::V13(v13::Message::FlowMod(fm));
            ctx.expect_error(
                None,
                Some(&m),
                BAD_INSTRUCTION,
                Some(instruction::BAD_EXPERIMENTER),
            )
            .await
        }
        "error_experimenter_type" => {
            let m = mp13(v13::MultipartRequestBody::Experimenter {
                experimenter: NICIRA,
                exp_type: 0x7a11,
                data: Vec::new(),
            });
            match ctx.error_answer(None, Some(&m)).await? {
                (BAD_REQUEST, request::BAD_EXP_TYPE) => Ok(()),
                // A switch without the Nicira extensions does not know the experimenter at all.
                (BAD_REQUEST, request::BAD_EXPERIMENTER) => Err(super::steps::unsupported(
                    "the switch does not know the Nicira experimenter (BAD_EXPERIMENTER)",
                )),
                (t, c) => Err(fail(format!(
                    "error type {t} code {c}, expected BAD_REQUEST/BAD_EXP_TYPE"
                ))),
            }
        }
        "error_port_stats_bad_port" => {
            // A port number above every port the switch describes.
            let highest = ctx
                .port_desc13()
                .await?
                .into_iter()
                .map(|p| p.port_no)
                .filter(|n| *n < v13::port::port_no::MAX)
                .max()
                .unwrap_or(0);
            let m = mp13(v13::MultipartRequestBody::PortStats {
                port_no: (highest + 1000).min(v13::port::port_no::MAX - 1),
            });
            ctx.expect_error(None, Some(&m), BAD_REQUEST, Some(request::BAD_PORT))
                .await
        }
        other => Err(CaseError::Unknown(other.to_string())),
    }
}
