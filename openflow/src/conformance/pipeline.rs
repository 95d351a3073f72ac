//! The 1.3 pipeline beyond one table: goto-table chains, table-miss flows with each instruction, masked
//! write-metadata, the action set against apply-actions, priorities in a later table; group and meter
//! life cycles, statistics and errors.

use std::time::Duration;

use super::cases::{bucket, flow_to_group, group_mod, stats_request};
use super::catalogue::{Named, V13};
use super::steps::{apply, fail, flow13, unsupported};
use super::{CaseError, Context};
use crate::v13::oxm::OxmField;
use crate::{v13, MacAddr, OfMessage};

/// The cases of this module (1.3 only).
pub(super) const NAMED: &[Named] = &[
    (
        "goto_chain",
        "instructions",
        "A goto-table chain through tables 0, 1, 2 and 3 reaches the last table",
        "",
        "§5.1, §5.9",
        true,
        V13,
        None,
    ),
    (
        "table_miss_goto",
        "instructions",
        "A table-miss flow with goto-table continues in the next table",
        "",
        "§5.4",
        true,
        V13,
        None,
    ),
    (
        "table_miss_write_actions",
        "instructions",
        "A table-miss flow with write-actions forwards by its action set",
        "",
        "§5.4, §5.10",
        true,
        V13,
        None,
    ),
    (
        "table_miss_next_table",
        "instructions",
        "A frame sent by goto-table to a table where nothing matches is dropped",
        "",
        "§5.4",
        true,
        V13,
        None,
    ),
    (
        "write_metadata_masked",
        "instructions",
        "Write-metadata changes only the bits of its mask",
        "",
        "§5.9, §7.2.4",
        false,
        V13,
        None,
    ),
    (
        "metadata_accumulates",
        "instructions",
        "Write-metadata in two tables under disjoint masks combine",
        "",
        "§5.9",
        false,
        V13,
        None,
    ),
    (
        "action_set_one_output",
        "instructions",
        "A later write-actions output replaces the earlier one in the action set",
        "",
        "§5.10",
        true,
        V13,
        None,
    ),
    (
        "apply_actions_immediate",
        "instructions",
        "Apply-actions run at once: an output before a later table's set-field sends the frame unchanged",
        "",
        "§5.9, §5.10",
        true,
        V13,
        None,
    ),
    (
        "priority_next_table",
        "instructions",
        "Of two overlapping flows in table 1 the higher priority one is used",
        "",
        "§5.3",
        true,
        V13,
        None,
    ),
    (
        "group_modify",
        "groups",
        "Modifying a group's bucket changes where its flows forward",
        "",
        "§6.5",
        true,
        V13,
        None,
    ),
    (
        "group_bucket_set_field",
        "groups",
        "A bucket applies its set-field before its output",
        "",
        "§5.6.1",
        false,
        V13,
        None,
    ),
    (
        "group_stats",
        "groups",
        "Group statistics count the flow that uses the group and the frames it sent",
        "",
        "§7.3.5.9",
        true,
        V13,
        None,
    ),
    (
        "group_desc",
        "groups",
        "Group description lists the group with its type and bucket",
        "",
        "§7.3.5.10",
        true,
        V13,
        None,
    ),
    (
        "group_unknown_modify",
        "groups",
        "Modifying a group that does not exist gets GROUP_MOD_FAILED/UNKNOWN_GROUP",
        "",
        "§6.5, §7.4.4",
        true,
        V13,
        None,
    ),
    (
        "group_invalid_id",
        "groups",
        "Adding a group with the reserved id ALL gets GROUP_MOD_FAILED/INVALID_GROUP",
        "",
        "§6.5, §7.4.4",
        true,
        V13,
        None,
    ),
    (
        "meter_exists",
        "meters",
        "Adding a meter id twice gets METER_MOD_FAILED/METER_EXISTS",
        "",
        "§6.6, §7.4.4",
        false,
        V13,
        None,
    ),
    (
        "meter_unknown_modify",
        "meters",
        "Modifying a meter that does not exist gets METER_MOD_FAILED/UNKNOWN_METER",
        "",
        "§6.6, §7.4.4",
        false,
        V13,
        None,
    ),
    (
        "flow_unknown_meter",
        "meters",
        "A flow whose meter instruction names no meter gets METER_MOD_FAILED/INVALID_METER or UNKNOWN_METER",
        "",
        "§6.6, §7.4.4",
        false,
        V13,
        None,
    ),
    (
        "meter_stats",
        "meters",
        "Meter statistics count the flow that uses the meter and the frames it metered",
        "",
        "§7.3.5.12",
        false,
        V13,
        None,
    ),
    (
        "meter_delete_removes_flows",
        "meters",
        "Deleting a meter removes the flows that use it",
        "",
        "§6.6",
        false,
        V13,
        None,
    ),
];

const GROUP_MOD_FAILED: u16 = 6;
const METER_MOD_FAILED: u16 = 12;
const BAD_INSTRUCTION: u16 = 3;

/// Whether this module runs the named case in this version.
pub(super) fn handles(name: &str, version: u8) -> bool {
    super::catalogue::declares(NAMED, name, version)
}

pub(super) fn in_port(p: u32) -> OxmField {
    OxmField::InPort { value: p, mask: None }
}

/// Output to port `p`.
pub(super) fn out(p: u32) -> v13::Action {
    v13::Action::Output { port: p, max_len: 0 }
}

/// A flow in `table` matching `fields`.
fn flow_in(
    table: u8,
    priority: u16,
    fields: Vec<OxmField>,
    instructions: Vec<v13::Instruction>,
) -> OfMessage {
    let mut fm = flow13(v13::FlowModCommand::Add, priority, fields, instructions);
    fm.table_id = table;
    OfMessage::V13(v13::Message::FlowMod(fm))
}

fn goto(table: u8) -> v13::Instruction {
    v13::Instruction::GotoTable { table_id: table }
}

fn write_metadata(metadata: u64, mask: u64) -> v13::Instruction {
    v13::Instruction::WriteMetadata {
        metadata,
        metadata_mask: mask,
    }
}

fn metadata_is(value: u64) -> OxmField {
    OxmField::Metadata { value, mask: None }
}

pub(super) fn indirect(id: u32, port: u32, command: v13::GroupModCommand) -> OfMessage {
    let mut b = bucket(&[port], v13::port::port_no::ANY);
    b.weight = 0;
    group_mod(command, v13::GroupType::Indirect, id, vec![b])
}

fn meter(command: v13::MeterModCommand, id: u32) -> OfMessage {
    OfMessage::V13(v13::Message::MeterMod(v13::MeterMod {
        command,
        flags: 0b0101, // KBPS | STATS
        meter_id: id,
        bands: vec![v13::MeterBand::Drop {
            rate: 1_000_000,
            burst_size: 0,
        }],
    }))
}

pub(super) fn flow_to_meter(p1: u32, p2: u32, id: u32) -> OfMessage {
    flow_in(
        0,
        100,
        vec![in_port(p1)],
        vec![
            v13::Instruction::Meter { meter_id: id },
            v13::Instruction::ApplyActions(vec![out(p2)]),
        ],
    )
}

/// The frame with another destination MAC address.
fn with_eth_dst(frame: &[u8], mac: MacAddr) -> Vec<u8> {
    let mut f = frame.to_vec();
    if let Some(d) = f.get_mut(0..6) {
        d.copy_from_slice(&mac.0);
    }
    f
}

const NEW_DST: MacAddr = MacAddr([0x02, 0x00, 0x00, 0x00, 0x77, 0x17]);

fn set_eth_dst() -> v13::Action {
    v13::Action::SetField(OxmField::EthDst {
        value: NEW_DST,
        mask: None,
    })
}

/// Every part of a multipart reply of one kind.
async fn multipart(ctx: &Context<'_>, kind: &str) -> Result<Vec<v13::MultipartReplyBody>, CaseError> {
    let req = stats_request(ctx, kind).ok_or_else(|| fail("no request"))?;
    Ok(ctx
        .stats(&req, &[])
        .await?
        .into_iter()
        .filter_map(|m| match m {
            OfMessage::V13(v13::Message::MultipartReply(r)) => Some(r.body),
            _ => None,
        })
        .collect())
}

/// Runs one case of [`NAMED`].
#[allow(clippy::too_many_lines)]
pub(super) async fn run(name: &str, ctx: &Context<'_>) -> Result<(), CaseError> {
    let (p1, p2) = (ctx.port(0), ctx.port(1));
    let probe = super::probe::Probe::udp().build();
    let optional = [BAD_INSTRUCTION, 4]; // BAD_INSTRUCTION, BAD_MATCH
    match name {
        "goto_chain" => {
            ctx.program_ok(
                &[
                    flow_in(0, 100, vec![in_port(p1)], vec![goto(1)]),
                    flow_in(1, 100, vec![in_port(p1)], vec![goto(2)]),
                    flow_in(2, 100, vec![in_port(p1)], vec![goto(3)]),
                    flow_in(3, 100, vec![in_port(p1)], apply(vec![out(p2)])),
                ],
                &[],
            )
            .await?;
            ctx.expect_forward(p1, &probe, p2, &probe).await
        }
        "table_miss_goto" | "table_miss_write_actions" | "table_miss_next_table" => {
            let msgs = match name {
                "table_miss_goto" => vec![
                    flow_in(0, 0, vec![], vec![goto(1)]),
                    flow_in(1, 100, vec![in_port(p1)], apply(vec![out(p2)])),
                ],
                "table_miss_write_actions" => {
                    vec![flow_in(
                        0,
                        0,
                        vec![],
                        vec![v13::Instruction::WriteActions(vec![out(p2)])],
                    )]
                }
                _ => vec![
                    flow_in(0, 100, vec![in_port(p1)], vec![goto(1)]),
                    flow_in(1, 100, vec![in_port(p2)], apply(vec![out(p1)])),
                ],
            };
            ctx.program_ok(&msgs, &[]).await?;
            if name == "table_miss_next_table" {
                ctx.expect_dropped(p1, &probe, &ctx.ports[1..]).await
            } else {
                ctx.expect_forward(p1, &probe, p2, &probe).await
            }
        }
        "write_metadata_masked" | "metadata_accumulates" => {
            let msgs = if name == "write_metadata_masked" {
                // All ones under a mask of 0xf0: only 0xf0 may be written.
                vec![
                    flow_in(
                        0,
                        100,
                        vec![in_port(p1)],
                        vec![write_metadata(u64::MAX, 0xf0), goto(1)],
                    ),
                    flow_in(1, 100, vec![in_port(p1), metadata_is(0xf0)], apply(vec![out(p2)])),
                ]
            } else {
                vec![
                    flow_in(
                        0,
                        100,
                        vec![in_port(p1)],
                        vec![write_metadata(0xf0, 0xf0), goto(1)],
                    ),
                    flow_in(
                        1,
                        100,
                        vec![in_port(p1)],
                        vec![write_metadata(0x0f, 0x0f), goto(2)],
                    ),
                    flow_in(2, 100, vec![in_port(p1), metadata_is(0xff)], apply(vec![out(p2)])),
                ]
            };
            ctx.program_ok(&msgs, &optional).await?;
            ctx.expect_forward(p1, &probe, p2, &probe).await
        }
        "action_set_one_output" | "apply_actions_immediate" => {
            let p3 = ctx
                .ports
                .get(2)
                .copied()
                .ok_or_else(|| unsupported("needs a third data port"))?;
            let changed = with_eth_dst(&probe, NEW_DST);
            if name == "action_set_one_output" {
                ctx.program_ok(
                    &[
                        flow_in(
                            0,
                            100,
                            vec![in_port(p1)],
                            vec![v13::Instruction::WriteActions(vec![out(p2)]), goto(1)],
                        ),
                        flow_in(
                            1,
                            100,
                            vec![in_port(p1)],
                            vec![v13::Instruction::WriteActions(vec![out(p3)])],
                        ),
                    ],
                    &[],
                )
                .await?;
                ctx.expect_forward(p1, &probe, p3, &probe).await?;
                // The first output was replaced: nothing on p2 (the frame is sent again for this check).
                ctx.expect_dropped(p1, &probe, &[p2]).await
            } else {
                ctx.program_ok(
                    &[
                        flow_in(
                            0,
                            100,
                            vec![in_port(p1)],
                            vec![v13::Instruction::ApplyActions(vec![out(p2)]), goto(1)],
                        ),
                        flow_in(1, 100, vec![in_port(p1)], apply(vec![set_eth_dst(), out(p3)])),
                    ],
                    &[2], // BAD_ACTION: set-field is optional
                )
                .await?;
                ctx.expect_forward(p1, &probe, p3, &changed).await?;
                tokio::task::block_in_place(|| {
                    ctx.dataplane.drain();
                    ctx.dataplane.send(p1, &probe)?;
                    ctx.dataplane.expect_frame(p2, &probe, ctx.timeout)
                })?;
                Ok(())
            }
        }
        "priority_next_table" => {
            ctx.program_ok(
                &[
                    flow_in(0, 100, vec![in_port(p1)], vec![goto(1)]),
                    flow_in(1, 200, vec![in_port(p1)], apply(vec![out(p2)])),
                    flow_in(1, 100, vec![in_port(p1)], vec![]),
                ],
                &[],
            )
            .await?;
            ctx.expect_forward(p1, &probe, p2, &probe).await
        }
        "group_modify" => {
            let p3 = ctx
                .ports
                .get(2)
                .copied()
                .ok_or_else(|| unsupported("needs a third data port"))?;
            ctx.program_ok(
                &[indirect(4, p2, v13::GroupModCommand::Add), flow_to_group(p1, 4)],
                &[],
            )
            .await?;
            ctx.expect_forward(p1, &probe, p2, &probe).await?;
            ctx.program_ok(&[indirect(4, p3, v13::GroupModCommand::Modify)], &[])
                .await?;
            ctx.expect_forward(p1, &probe, p3, &probe).await?;
            ctx.expect_dropped(p1, &probe, &[p2]).await
        }
        "group_bucket_set_field" => {
            let mut b = bucket(&[p2], v13::port::port_no::ANY);
            b.weight = 0;
            b.actions.insert(0, set_eth_dst());
            ctx.program_ok(
                &[
                    group_mod(v13::GroupModCommand::Add, v13::GroupType::Indirect, 6, vec![b]),
                    flow_to_group(p1, 6),
                ],
                &[GROUP_MOD_FAILED, 2],
            )
            .await?;
            ctx.expect_forward(p1, &probe, p2, &with_eth_dst(&probe, NEW_DST))
                .await
        }
        "group_stats" | "group_desc" => {
            ctx.program_ok(
                &[indirect(5, p2, v13::GroupModCommand::Add), flow_to_group(p1, 5)],
                &[],
            )
            .await?;
            if name == "group_desc" {
                for body in multipart(ctx, "group_desc").await? {
                    if let v13::MultipartReplyBody::GroupDesc(d) = body {
                        if let Some(g) = d.iter().find(|g| g.group_id == 5) {
                            let outs: Vec<&v13::Action> = g.buckets.iter().flat_map(|b| &b.actions).collect();
                            return if g.group_type == v13::GroupType::Indirect
                                && g.buckets.len() == 1
                                && outs == [&out(p2)]
                            {
                                Ok(())
                            } else {
                                Err(fail(format!("group 5 described as {g:?}")))
                            };
                        }
                    }
                }
                return Err(fail("group 5 not in the group description"));
            }
            ctx.expect_forward(p1, &probe, p2, &probe).await?;
            let deadline = tokio::time::Instant::now() + ctx.timeout;
            loop {
                let mut seen = None;
                for body in multipart(ctx, "group").await? {
                    if let v13::MultipartReplyBody::Group(g) = body {
                        if let Some(g) = g.iter().find(|g| g.group_id == 5) {
                            seen = Some((g.ref_count, g.packet_count));
                        }
                    }
                }
                let (refs, packets) = seen.ok_or_else(|| fail("group 5 not in the group statistics"))?;
                if refs == 1 && packets >= 1 {
                    return Ok(());
                }
                if tokio::time::Instant::now() >= deadline {
                    return Err(fail(format!(
                        "group 5: ref_count {refs}, packet_count {packets}; expected 1, >= 1"
                    )));
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        "group_unknown_modify" => {
            ctx.expect_error(
                None,
                Some(&indirect(99, p2, v13::GroupModCommand::Modify)),
                GROUP_MOD_FAILED,
                Some(8),
            )
            .await
        }
        "group_invalid_id" => {
            ctx.expect_error(
                None,
                Some(&indirect(
                    v13::group::group_id::ALL,
                    p2,
                    v13::GroupModCommand::Add,
                )),
                GROUP_MOD_FAILED,
                Some(1),
            )
            .await
        }
        "flow_unknown_meter" => {
            // The 1.3 header allows both: INVALID_METER ("or invalid meter in meter action") and
            // UNKNOWN_METER ("or bad meter in meter action").
            let (t, c) = ctx.error_answer(None, Some(&flow_to_meter(p1, p2, 77))).await?;
            if t == METER_MOD_FAILED && (c == 2 || c == 3) {
                Ok(())
            } else {
                Err(fail(format!(
                    "error type {t} code {c}, expected type {METER_MOD_FAILED} code 2 or 3"
                )))
            }
        }
        "meter_exists" | "meter_unknown_modify" => {
            let (msg, code) = match name {
                "meter_exists" => {
                    ctx.program_ok(&[meter(v13::MeterModCommand::Add, 2)], &[METER_MOD_FAILED])
                        .await?;
                    (meter(v13::MeterModCommand::Add, 2), 1)
                }
                _ => (meter(v13::MeterModCommand::Modify, 77), 3),
            };
            ctx.expect_error(None, Some(&msg), METER_MOD_FAILED, Some(code))
                .await
        }
        "meter_stats" | "meter_delete_removes_flows" => {
            ctx.program_ok(
                &[meter(v13::MeterModCommand::Add, 1), flow_to_meter(p1, p2, 1)],
                &[METER_MOD_FAILED, BAD_INSTRUCTION],
            )
            .await?;
            ctx.expect_forward(p1, &probe, p2, &probe).await?;
            if name == "meter_delete_removes_flows" {
                ctx.program_ok(&[meter(v13::MeterModCommand::Delete, 1)], &[])
                    .await?;
                let left = ctx.flow_counts().await?.len();
                return if left == 0 {
                    Ok(())
                } else {
                    Err(fail(format!("{left} flows left after their meter was deleted")))
                };
            }
            let deadline = tokio::time::Instant::now() + ctx.timeout;
            loop {
                let mut seen = None;
                for body in multipart(ctx, "meter").await? {
                    if let v13::MultipartReplyBody::Meter(m) = body {
                        if let Some(m) = m.iter().find(|m| m.meter_id == 1) {
                            seen = Some((m.flow_count, m.packet_in_count));
                        }
                    }
                }
                let (flows, packets) = seen.ok_or_else(|| fail("meter 1 not in the meter statistics"))?;
                if flows == 1 && packets >= 1 {
                    return Ok(());
                }
                if tokio::time::Instant::now() >= deadline {
                    return Err(fail(format!(
                        "meter 1: flow_count {flows}, packet_in_count {packets}; expected 1, >= 1"
                    )));
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        other => Err(CaseError::Unknown(other.to_string())),
    }
}
