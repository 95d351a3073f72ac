//! Cases of the ONF basic single-table conformance profile for 1.3 (TS-026) that the other tables did not
//! cover: the errors it names for malformed flow-mods, matches, actions, instructions and requests; xids,
//! table and port listings; flow-table details (equal-priority overlap, cookie mask on add, flags in flow
//! statistics, aggregate by cookie, no flow-removed on replace); and a few data-plane checks (a flow
//! without instructions drops, max_len of an output to the controller, the packet-in's cookie, the
//! action set's order). Each has its TS-026 number in `ts026.rs` (as the Beijing Internet Institute's
//! implementation of that profile numbers it).

use std::time::Duration;

use super::cases::{flow, next_flow_removed, port_hw_addr};
use super::catalogue::{Named, V13};
use super::codes::{
    action, flow_mod, instruction, matching, port_mod, BAD_ACTION, BAD_INSTRUCTION, BAD_MATCH, BAD_REQUEST,
    FLOW_MOD_FAILED, PORT_MOD_FAILED, QUEUE_OP_FAILED, SWITCH_CONFIG_FAILED, TABLE_MOD_FAILED,
};
use super::outcome::controller13;
use super::probe::{has_marker, Probe, MARKER};
use super::steps::{apply, error_code, fail, in_port_flow13, mp13, COOKIE};
use super::{CaseError, Context};
use crate::dataplane::packet;
use crate::v13::oxm::OxmField;
use crate::{v13, MacAddr, OfMessage};

/// `OFPFF_SEND_FLOW_REM`.
const SEND_FLOW_REM: u16 = 1;
/// Offset of the table id in a 1.3 flow-mod.
const FM_TABLE: usize = 24;
/// Offset of the command.
const FM_COMMAND: usize = 25;
/// Offset of the flags.
const FM_FLAGS: usize = 44;
/// Offset of the match (type, length, then the OXM fields).
const FM_MATCH: usize = 48;

/// (name, group, title, 1.0 section, 1.3 section, required, versions, TS-026 number)
pub(super) const NAMED: &[Named] = &[
    ("features_xid", "basic", "A features reply carries the request's xid", "", "§7.3.1, §6.3.1", true, V13, None),
    ("n_tables_table_stats", "basic", "The features reply's n_tables equals the number of tables in the table statistics", "", "§7.3.1, §7.3.5.4", true, V13, None),
    ("table_ids_ascending", "stats", "Table statistics list each table once, in increasing table id", "", "§7.3.5.4", true, V13, None),
    ("port_desc_unique", "stats", "The port description lists each port number once, and the data ports with distinct hardware addresses", "", "§7.3.5.7", true, V13, None),
    ("error_data_prefix", "errors", "An error carries at least the first 64 bytes of the request it answers", "", "§7.4.4", true, V13, None),
    ("error_add_table_all", "errors", "A flow-mod add to table OFPTT_ALL gets FLOW_MOD_FAILED/BAD_TABLE_ID and adds nothing", "", "§7.3.4.1, §7.4.4", true, V13, None),
    ("error_flow_mod_bad_command", "errors", "A flow-mod with an unknown command gets FLOW_MOD_FAILED/BAD_COMMAND", "", "§7.3.4.1, §7.4.4", true, V13, None),
    ("error_flow_mod_bad_flags", "errors", "A flow-mod with an undefined flag bit gets FLOW_MOD_FAILED/BAD_FLAGS", "", "§7.3.4.1, §7.4.4", true, V13, None),
    ("error_unknown_instruction", "errors", "An unknown instruction type gets BAD_INSTRUCTION/UNKNOWN_INST", "", "§7.2.4, §7.4.4", true, V13, None),
    ("error_dup_field", "errors", "A match with one field twice gets BAD_MATCH/DUP_FIELD", "", "§7.2.3.6, §7.4.4", true, V13, None),
    ("error_unknown_field", "errors", "An OXM field the basic class does not define gets BAD_MATCH/BAD_FIELD", "", "§7.2.3.7, §7.4.4", true, V13, None),
    ("error_bad_mask", "errors", "A mask on a field that cannot be masked (eth_type) gets BAD_MATCH/BAD_MASK", "", "§7.2.3.7, §7.4.4", true, V13, None),
    ("error_bad_wildcards", "errors", "A masked match whose value has bits the mask clears gets BAD_MATCH/BAD_WILDCARDS", "", "§7.2.3.5, §7.4.4", true, V13, None),
    ("error_bad_match_type", "errors", "A match of an unknown type gets BAD_MATCH/BAD_TYPE", "", "§7.2.3.1, §7.4.4", true, V13, None),
    ("error_action_bad_len", "errors", "An output action with a length that is not its own gets BAD_ACTION/BAD_LEN", "", "§7.2.5, §7.4.4", true, V13, None),
    ("error_push_vlan_ethertype", "errors", "Push-VLAN with an ethertype other than 0x8100 or 0x88a8 gets BAD_ACTION/BAD_ARGUMENT", "", "§7.2.5, §7.4.4", true, V13, None),
    ("error_clear_actions_len", "errors", "A Clear-Actions instruction that carries an action gets BAD_INSTRUCTION/BAD_LEN", "", "§7.2.4, §7.4.4", true, V13, None),
    ("error_experimenter_multipart", "errors", "A multipart request of an unknown experimenter gets BAD_REQUEST/BAD_EXPERIMENTER", "", "§7.3.5.15, §7.4.4", true, V13, None),
    ("error_experimenter_message", "errors", "An experimenter message of an unknown experimenter gets BAD_REQUEST/BAD_EXPERIMENTER", "", "§7.5.4, §7.4.4", true, V13, None),
    ("error_queue_stats_bad_port", "errors", "Queue statistics for a port that does not exist get QUEUE_OP_FAILED/BAD_PORT", "", "§7.3.5.8, §7.4.4", true, V13, None),
    ("error_table_mod_bad_table", "errors", "A table-mod for the first table id the switch does not have gets TABLE_MOD_FAILED/BAD_TABLE", "", "§7.3.3, §7.4.4", true, V13, None),
    ("error_set_config_bad_flags", "errors", "Set-config with an undefined flag bit gets SWITCH_CONFIG_FAILED/BAD_FLAGS", "", "§7.3.2, §7.4.4", true, V13, None),
    ("error_port_mod_bad_config", "errors", "A port-mod with an undefined config bit gets PORT_MOD_FAILED/BAD_CONFIG", "", "§7.3.4.3, §7.4.4", true, V13, None),
    ("error_port_mod_bad_advertise", "errors", "A port-mod advertising undefined features gets PORT_MOD_FAILED/BAD_ADVERTISE", "", "§7.3.4.3, §7.4.4", true, V13, None),
    ("equal_priority_overlap", "flow_mod", "Two overlapping flows of equal priority without CHECK_OVERLAP are both installed", "", "§6.4", true, V13, None),
    ("add_with_cookie_mask", "flow_mod", "An add with a non-zero cookie mask installs the flow with its cookie", "", "§6.4, §7.3.4.1", true, V13, None),
    ("flow_stats_flags", "stats", "Flow statistics report the flags a flow was added with (SEND_FLOW_REM)", "", "§7.3.5.2", true, V13, None),
    ("aggregate_cookie", "stats", "Aggregate statistics filtered by cookie and mask count only the flows with that cookie", "", "§7.3.5.3", true, V13, None),
    ("replace_no_flow_removed", "flow_mod", "An identical add replacing a SEND_FLOW_REM flow sends no flow-removed", "", "§6.4", true, V13, None),
    ("no_instructions_drop", "instructions", "A flow without instructions drops the frame (no packet-in, no output)", "", "§5.9", true, V13, None),
    ("controller_max_len", "packet", "Output to CONTROLLER with max_len 100: a buffered frame comes with at most 100 bytes, an unbuffered one whole, with its full length", "", "§7.2.5, §7.4.1", true, V13, None),
    ("packet_in_cookie", "packet", "A packet-in sent by a flow carries the flow's cookie", "", "§7.4.1", true, V13, None),
    ("action_set_order", "instructions", "Write-actions [output, set-field]: the action set applies the set-field before the output", "", "§5.10", false, V13, None),
];

/// Whether this module runs the named case in this version.
pub(super) fn handles(name: &str, version: u8) -> bool {
    super::catalogue::declares(NAMED, name, version)
}

/// A flow-mod adding a flow on in_port `p1` that outputs to `p2`, encoded, for the malformed variants.
fn flow_mod_bytes(p1: u32, p2: u32) -> Result<Vec<u8>, CaseError> {
    let fm = in_port_flow13(p1, apply(vec![v13::Action::Output { port: p2, max_len: 0 }]));
    OfMessage::V13(v13::Message::FlowMod(fm))
        .encode(0)
        .map_err(|e| CaseError::Unknown(format!("flow-mod not encoded: {e}")))
}

/// A flow-mod add with this match body (OXM TLVs, unpadded) and one apply-actions output to `p2`, built
/// by hand so that the match can be malformed; `match_type` 1 is OXM.
fn flow_mod_with_match(match_type: u16, oxms: &[u8], p2: u32) -> Vec<u8> {
    let mut b = vec![4, 14, 0, 0, 0, 0, 0, 0];
    b.extend_from_slice(&COOKIE.to_be_bytes());
    b.extend_from_slice(&[0; 8]); // cookie mask
    b.extend_from_slice(&[0, 0]); // table 0, ADD
    b.extend_from_slice(&[0; 4]); // timeouts
    b.extend_from_slice(&100u16.to_be_bytes());
    b.extend_from_slice(&v13::NO_BUFFER.to_be_bytes());
    b.extend_from_slice(&v13::port::port_no::ANY.to_be_bytes());
    b.extend_from_slice(&v13::group::group_id::ANY.to_be_bytes());
    b.extend_from_slice(&[0; 4]); // flags, pad
    let match_len = 4 + oxms.len();
    b.extend_from_slice(&match_type.to_be_bytes());
    b.extend_from_slice(&u16::try_from(match_len).unwrap_or(0).to_be_bytes());
    b.extend_from_slice(oxms);
    b.resize(FM_MATCH + match_len.div_ceil(8) * 8, 0);
    b.extend_from_slice(&instruction_apply_output(p2));
    set_len(&mut b);
    b
}

/// An instruction of type `ty` (4: apply-actions, 5: clear-actions) holding these actions.
fn instruction(ty: u16, actions: &[u8]) -> Vec<u8> {
    let mut i = ty.to_be_bytes().to_vec();
    i.extend_from_slice(&u16::try_from(8 + actions.len()).unwrap_or(u16::MAX).to_be_bytes());
    i.extend_from_slice(&[0; 4]);
    i.extend_from_slice(actions);
    i
}

/// An apply-actions instruction with one output to `port`.
fn instruction_apply_output(port: u32) -> Vec<u8> {
    instruction(4, &output_action(port, 16))
}

/// An output action to `port` whose length field says `len` (16 is its real length).
fn output_action(port: u32, len: u16) -> Vec<u8> {
    let mut a = vec![0, 0];
    a.extend_from_slice(&len.to_be_bytes());
    a.extend_from_slice(&port.to_be_bytes());
    a.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0]);
    a
}

/// One OXM TLV of the basic class.
fn oxm(field: u8, has_mask: bool, body: &[u8]) -> Vec<u8> {
    let mut t = vec![0x80, 0x00, field << 1 | u8::from(has_mask)];
    t.push(u8::try_from(body.len()).unwrap_or(0));
    t.extend_from_slice(body);
    t
}

/// Overwrites the bytes at `at` (nothing when the message is shorter).
fn put(b: &mut [u8], at: usize, bytes: &[u8]) {
    if let Some(dst) = b.get_mut(at..at + bytes.len()) {
        dst.copy_from_slice(bytes);
    }
}

/// Writes the message's length into its header.
fn set_len(b: &mut [u8]) {
    let len = u16::try_from(b.len()).unwrap_or(u16::MAX).to_be_bytes();
    if let Some(h) = b.get_mut(2..4) {
        h.copy_from_slice(&len);
    }
}

/// Replaces the instructions of an encoded flow-mod (everything after its padded match).
fn with_instructions(mut fm: Vec<u8>, instructions: &[u8]) -> Vec<u8> {
    let match_len = fm
        .get(FM_MATCH + 2..FM_MATCH + 4)
        .map_or(0, |l| usize::from(u16::from_be_bytes([l[0], l[1]])));
    fm.truncate(FM_MATCH + match_len.div_ceil(8) * 8);
    fm.extend_from_slice(instructions);
    set_len(&mut fm);
    fm
}

/// A UDP frame of `len` bytes carrying the probe marker.
fn long_frame(len: usize) -> Vec<u8> {
    let mut payload = MARKER.to_vec();
    payload.resize(len.saturating_sub(42), 0x5a);
    packet::udp_frame(
        super::probe::MAC_DST,
        super::probe::MAC_SRC,
        super::probe::IP_SRC,
        super::probe::IP_DST,
        40000,
        5000,
        &payload,
    )
}

/// Runs one case of this module.
pub(super) async fn run(name: &str, ctx: &Context<'_>) -> Result<(), CaseError> {
    let (p1, p2) = (ctx.port(0), ctx.port(1));
    let sw = ctx.switch;
    match name {
        "features_xid" => {
            let mut sub = sw.subscribe();
            let xid = 0x7a11_0001;
            sw.send_with_xid(&OfMessage::V13(v13::Message::FeaturesRequest), xid)
                .await?;
            sub.expect(ctx.timeout, |m| {
                matches!(m.message, OfMessage::V13(v13::Message::FeaturesReply(_)))
            })
            .await
            .map_err(|_| fail("no features reply"))
            .and_then(|m| {
                if m.xid == xid {
                    Ok(())
                } else {
                    Err(fail(format!("features reply xid {:#x}, request {xid:#x}", m.xid)))
                }
            })
        }
        "n_tables_table_stats" | "table_ids_ascending" => {
            let mut ids = Vec::new();
            for part in ctx.stats(&mp13(v13::MultipartRequestBody::Table), &[]).await? {
                if let OfMessage::V13(v13::Message::MultipartReply(v13::MultipartReply {
                    body: v13::MultipartReplyBody::Table(t),
                    ..
                })) = part
                {
                    ids.extend(t.iter().map(|t| t.table_id));
                }
            }
            if name == "table_ids_ascending" {
                return match ids.windows(2).find(|w| w[0] >= w[1]) {
                    Some(w) => Err(fail(format!("table {} listed after table {}", w[1], w[0]))),
                    None if ids.is_empty() => Err(fail("no table listed")),
                    None => Ok(()),
                };
            }
            let n_tables = match sw.features() {
                crate::channel::Features::V13(f) => usize::from(f.n_tables),
                crate::channel::Features::V10(f) => usize::from(f.n_tables),
            };
            if n_tables == 0 || n_tables != ids.len() {
                return Err(fail(format!(
                    "n_tables {n_tables}, table statistics list {} tables",
                    ids.len()
                )));
            }
            Ok(())
        }
        "port_desc_unique" => {
            let ports: Vec<(u32, MacAddr)> = ctx
                .port_desc13()
                .await?
                .iter()
                .map(|p| (p.port_no, p.hw_addr))
                .collect();
            let mut numbers: Vec<u32> = ports.iter().map(|p| p.0).collect();
            numbers.sort_unstable();
            let listed = numbers.len();
            numbers.dedup();
            if numbers.len() != listed {
                return Err(fail("a port number is listed twice"));
            }
            // The LOCAL port may share a data port's address (a bridge often takes one of its ports').
            let mut macs: Vec<MacAddr> = ports
                .iter()
                .filter(|p| p.0 <= v13::port::port_no::MAX)
                .map(|p| p.1)
                .collect();
            macs.sort_unstable_by_key(|m| m.0);
            let data_ports = macs.len();
            macs.dedup();
            if macs.len() != data_ports {
                return Err(fail("two data ports share a hardware address"));
            }
            if data_ports < ctx.ports.len() {
                return Err(fail(format!(
                    "{data_ports} data ports listed, the case uses {}",
                    ctx.ports.len()
                )));
            }
            Ok(())
        }
        "error_data_prefix" => {
            // An unknown message type with a 100-byte body.
            let mut bytes = vec![4, 0x60, 0, 0, 0, 0, 0, 0];
            bytes.extend((0..100u8).map(|i| i.wrapping_mul(7)));
            set_len(&mut bytes);
            let mut sub = sw.subscribe();
            let xid: u32 = 0x7a11_0002;
            put(&mut bytes, 4, &xid.to_be_bytes());
            sw.send_raw(&bytes).await?;
            let got = sub
                .expect(ctx.timeout, |m| m.xid == xid && error_code(&m.message).is_some())
                .await
                .map_err(|_| fail("no error message came back"))?;
            let OfMessage::V13(v13::Message::Error(e)) = got.message else {
                return Err(fail("not a 1.3 error"));
            };
            if e.data.len() < 64 {
                return Err(fail(format!(
                    "error data of {} bytes, at least 64 expected",
                    e.data.len()
                )));
            }
            if !bytes.starts_with(&e.data) {
                return Err(fail("the error data is not the start of the request"));
            }
            Ok(())
        }
        "error_add_table_all" => {
            let mut b = flow_mod_bytes(p1, p2)?;
            put(&mut b, FM_TABLE, &[0xff]);
            ctx.expect_error(Some(&b), None, FLOW_MOD_FAILED, Some(flow_mod::BAD_TABLE_ID))
                .await?;
            sw.barrier().await?;
            if !ctx.flow_stats13().await?.is_empty() {
                return Err(fail("a flow was added"));
            }
            Ok(())
        }
        "error_flow_mod_bad_command" => {
            let mut b = flow_mod_bytes(p1, p2)?;
            put(&mut b, FM_COMMAND, &[9]);
            ctx.expect_error(Some(&b), None, FLOW_MOD_FAILED, Some(flow_mod::BAD_COMMAND))
                .await
        }
        "error_flow_mod_bad_flags" => {
            let mut b = flow_mod_bytes(p1, p2)?;
            put(&mut b, FM_FLAGS, &0x0080u16.to_be_bytes());
            ctx.expect_error(Some(&b), None, FLOW_MOD_FAILED, Some(flow_mod::BAD_FLAGS))
                .await
        }
        "error_unknown_instruction" => {
            let b = with_instructions(flow_mod_bytes(p1, p2)?, &[0xf0, 0x00, 0, 8, 0, 0, 0, 0]);
            ctx.expect_error(Some(&b), None, BAD_INSTRUCTION, Some(instruction::UNKNOWN_INST))
                .await
        }
        "error_dup_field" => {
            let mut oxms = oxm(5, false, &0x0800u16.to_be_bytes()); // eth_type IPv4
            oxms.extend(oxm(10, false, &[17])); // ip_proto UDP
            oxms.extend(oxm(10, false, &[17]));
            let b = flow_mod_with_match(1, &oxms, p2);
            ctx.expect_error(Some(&b), None, BAD_MATCH, Some(matching::DUP_FIELD))
                .await
        }
        "error_unknown_field" => {
            let b = flow_mod_with_match(1, &oxm(60, false, &[0, 0, 0, 1]), p2);
            ctx.expect_error(Some(&b), None, BAD_MATCH, Some(matching::BAD_FIELD))
                .await
        }
        "error_bad_mask" => {
            let b = flow_mod_with_match(1, &oxm(5, true, &[0x08, 0x00, 0xff, 0x00]), p2);
            ctx.expect_error(Some(&b), None, BAD_MATCH, Some(matching::BAD_MASK))
                .await
        }
        "error_bad_wildcards" => {
            let mut oxms = oxm(5, false, &0x0800u16.to_be_bytes());
            // ipv4_src 192.168.0.0/0.0.255.255: the value has bits the mask clears.
            oxms.extend(oxm(11, true, &[192, 168, 0, 0, 0, 0, 255, 255]));
            let b = flow_mod_with_match(1, &oxms, p2);
            ctx.expect_error(Some(&b), None, BAD_MATCH, Some(matching::BAD_WILDCARDS))
                .await
        }
        "error_bad_match_type" => {
            let b = flow_mod_with_match(40, &[], p2);
            ctx.expect_error(Some(&b), None, BAD_MATCH, Some(matching::BAD_TYPE))
                .await
        }
        "error_action_bad_len" => {
            let b = with_instructions(flow_mod_bytes(p1, p2)?, &instruction(4, &output_action(p2, 14)));
            ctx.expect_error(Some(&b), None, BAD_ACTION, Some(action::BAD_LEN))
                .await
        }
        "error_push_vlan_ethertype" => {
            let fm = in_port_flow13(
                p1,
                apply(vec![
                    v13::Action::PushVlan { ethertype: 0x0801 },
                    v13::Action::Output { port: p2, max_len: 0 },
                ]),
            );
            let m = OfMessage::V13(v13::Message::FlowMod(fm));
            ctx.expect_error(None, Some(&m), BAD_ACTION, Some(action::BAD_ARGUMENT))
                .await
        }
        "error_clear_actions_len" => {
            let b = with_instructions(flow_mod_bytes(p1, p2)?, &instruction(5, &output_action(p2, 16)));
            ctx.expect_error(Some(&b), None, BAD_INSTRUCTION, Some(instruction::BAD_LEN))
                .await
        }
        "error_experimenter_multipart" => {
            let m = mp13(v13::MultipartRequestBody::Experimenter {
                experimenter: 0x00ab_cdef,
                exp_type: 1,
                data: Vec::new(),
            });
            ctx.expect_error(
                None,
                Some(&m),
                BAD_REQUEST,
                Some(super::codes::request::BAD_EXPERIMENTER),
            )
            .await
        }
        "error_experimenter_message" => {
            let m = OfMessage::V13(v13::Message::Experimenter(v13::Experimenter {
                experimenter: 0x00ab_cdef,
                exp_type: 1,
                data: vec![1, 2, 3, 4],
            }));
            ctx.expect_error(
                None,
                Some(&m),
                BAD_REQUEST,
                Some(super::codes::request::BAD_EXPERIMENTER),
            )
            .await
        }
        "error_queue_stats_bad_port" => {
            let m = mp13(v13::MultipartRequestBody::Queue {
                port_no: v13::port::port_no::MAX,
                queue_id: 0xffff_ffff,
            });
            ctx.expect_error(None, Some(&m), QUEUE_OP_FAILED, Some(0)).await
        }
        "error_table_mod_bad_table" => {
            // The first table id the switch does not have (0xfe, OFPTT_MAX, on a switch with all of them).
            let n_tables = match sw.features() {
                crate::channel::Features::V13(f) => f.n_tables,
                crate::channel::Features::V10(f) => f.n_tables,
            };
            if n_tables == 0xff {
                return Err(super::steps::unsupported("the switch has every table id"));
            }
            let m = OfMessage::V13(v13::Message::TableMod(v13::TableMod {
                table_id: n_tables.min(0xfe),
                config: 0,
            }));
            ctx.expect_error(None, Some(&m), TABLE_MOD_FAILED, Some(0)).await
        }
        "error_set_config_bad_flags" => {
            let m = OfMessage::V13(v13::Message::SetConfig(crate::common::SwitchConfig {
                flags: 16,
                miss_send_len: 128,
            }));
            ctx.expect_error(None, Some(&m), SWITCH_CONFIG_FAILED, Some(0))
                .await
        }
        "error_port_mod_bad_config" | "error_port_mod_bad_advertise" => {
            let hw = port_hw_addr(ctx, p2).await?;
            let bad_config = name == "error_port_mod_bad_config";
            let m = OfMessage::V13(v13::Message::PortMod(v13::PortMod {
                port_no: p2,
                hw_addr: hw,
                config: if bad_config { 0x100 } else { 0 },
                mask: if bad_config { 0x100 } else { 0 },
                advertise: if bad_config { 0 } else { 0xffff_0000 },
            }));
            let code = if bad_config {
                port_mod::BAD_CONFIG
            } else {
                port_mod::BAD_ADVERTISE
            };
            ctx.expect_error(None, Some(&m), PORT_MOD_FAILED, Some(code))
                .await
        }
        "equal_priority_overlap" => {
            let a = flow(100, Some(p1), vec![p2]);
            let mut b = flow(100, None, vec![p2]);
            b.udp_dst = Some(5000);
            ctx.program_ok(&[ctx.add(&a), ctx.add(&b)], &[]).await?;
            let n = ctx
                .flow_stats13()
                .await?
                .iter()
                .filter(|f| f.priority == 100)
                .count();
            if n != 2 {
                return Err(fail(format!("{n} flows of priority 100 listed, expected 2")));
            }
            Ok(())
        }
        "add_with_cookie_mask" => {
            let mut fm = in_port_flow13(p1, apply(vec![v13::Action::Output { port: p2, max_len: 0 }]));
            fm.cookie = 0x1234;
            fm.cookie_mask = 0xffff;
            ctx.program_ok(&[OfMessage::V13(v13::Message::FlowMod(fm))], &[])
                .await?;
            let cookies: Vec<u64> = ctx.flow_stats13().await?.iter().map(|f| f.cookie).collect();
            if cookies != [0x1234] {
                return Err(fail(format!("flow cookies {cookies:x?}, expected [0x1234]")));
            }
            Ok(())
        }
        "flow_stats_flags" => {
            let mut f = flow(100, Some(p1), vec![p2]);
            f.flags = SEND_FLOW_REM;
            ctx.program_ok(&[ctx.add(&f)], &[]).await?;
            let flags: Vec<u16> = ctx.flow_stats13().await?.iter().map(|f| f.flags).collect();
            if flags.len() != 1 || flags[0] & SEND_FLOW_REM == 0 {
                return Err(fail(format!("flow flags {flags:?}, expected SEND_FLOW_REM (1)")));
            }
            Ok(())
        }
        "aggregate_cookie" => {
            let mut msgs = Vec::new();
            for (i, cookie) in [0x1_0001u64, 0x1_0002, 0x2_0001].iter().enumerate() {
                let mut f = flow(100 + i as u16, Some(p1), vec![p2]);
                f.cookie = Some(*cookie);
                msgs.push(ctx.add(&f));
            }
            ctx.program_ok(&msgs, &[]).await?;
            let req = mp13(v13::MultipartRequestBody::Aggregate(
                v13::multipart::FlowStatsRequest {
                    cookie: 0x1_0000,
                    cookie_mask: 0xffff_0000,
                    ..v13::multipart::FlowStatsRequest::all()
                },
            ));
            for part in ctx.stats(&req, &[]).await? {
                if let OfMessage::V13(v13::Message::MultipartReply(v13::MultipartReply {
                    body: v13::MultipartReplyBody::Aggregate(a),
                    ..
                })) = part
                {
                    return if a.flow_count == 2 {
                        Ok(())
                    } else {
                        Err(fail(format!("aggregate flow_count {}, expected 2", a.flow_count)))
                    };
                }
            }
            Err(fail("no aggregate reply"))
        }
        "replace_no_flow_removed" => {
            let mut f = flow(100, Some(p1), vec![p2]);
            f.flags = SEND_FLOW_REM;
            ctx.program_ok(&[ctx.add(&f)], &[]).await?;
            let mut sub = sw.subscribe();
            ctx.program_ok(&[ctx.add(&f)], &[]).await?;
            match next_flow_removed(&mut sub, ctx.quiet).await {
                Some(r) => Err(fail(format!(
                    "flow-removed with reason {} after a replace",
                    r.reason
                ))),
                None => Ok(()),
            }
        }
        "no_instructions_drop" => {
            // The table-miss flow would show a frame the flow did not match as a packet-in.
            let fm = in_port_flow13(p1, Vec::new());
            let mut msgs = vec![OfMessage::V13(v13::Message::FlowMod(fm))];
            msgs.extend(ctx.table_miss_flow());
            ctx.program_ok(&msgs, &[]).await?;
            let probe = Probe::udp().build();
            let mut sub = sw.subscribe();
            ctx.expect_dropped(p1, &probe, &[p2]).await?;
            let pin = sub
                .expect(Duration::from_millis(50), |m| match &m.message {
                    OfMessage::V13(v13::Message::PacketIn(p)) => has_marker(&p.data),
                    _ => false,
                })
                .await;
            match pin {
                Ok(_) => Err(fail("packet-in for a frame a flow without instructions matched")),
                Err(_) => Ok(()),
            }
        }
        "controller_max_len" => {
            let fm = in_port_flow13(
                p1,
                apply(vec![v13::Action::Output {
                    port: v13::port::port_no::CONTROLLER,
                    max_len: 100,
                }]),
            );
            ctx.program_ok(&[OfMessage::V13(v13::Message::FlowMod(fm))], &[])
                .await?;
            let frame = long_frame(200);
            let mut sub = sw.subscribe();
            tokio::task::block_in_place(|| ctx.dataplane.send(p1, &frame))?;
            let got = sub
                .expect(ctx.timeout, |m| match &m.message {
                    OfMessage::V13(v13::Message::PacketIn(p)) => {
                        !p.data.is_empty() && frame.starts_with(&p.data)
                    }
                    _ => false,
                })
                .await
                .map_err(|_| fail("no packet-in"))?;
            let OfMessage::V13(v13::Message::PacketIn(p)) = got.message else {
                return Err(fail("no packet-in"));
            };
            // A buffered frame comes with at most max_len bytes; one the switch does not buffer comes
            // whole (1.3 §A.4.1), with buffer_id NO_BUFFER.
            let whole = p.buffer_id == v13::NO_BUFFER;
            let data_ok = if whole {
                p.data == frame
            } else {
                p.data.len() <= 100
            };
            if !data_ok || usize::from(p.total_len) != frame.len() {
                return Err(fail(format!(
                    "packet-in with {} bytes of data, total_len {}, buffer_id {:#x} (frame of {} bytes, max_len 100)",
                    p.data.len(),
                    p.total_len,
                    p.buffer_id,
                    frame.len()
                )));
            }
            Ok(())
        }
        "packet_in_cookie" => {
            let mut fm = in_port_flow13(p1, apply(vec![controller13()]));
            fm.cookie = 0xc00c_1e00_0000_7717;
            ctx.program_ok(&[OfMessage::V13(v13::Message::FlowMod(fm))], &[])
                .await?;
            let probe = Probe::udp().build();
            let mut sub = sw.subscribe();
            tokio::task::block_in_place(|| ctx.dataplane.send(p1, &probe))?;
            let got = sub
                .expect(ctx.timeout, |m| match &m.message {
                    OfMessage::V13(v13::Message::PacketIn(p)) => has_marker(&p.data),
                    _ => false,
                })
                .await
                .map_err(|_| fail("no packet-in"))?;
            match got.message {
                OfMessage::V13(v13::Message::PacketIn(p)) if p.cookie == 0xc00c_1e00_0000_7717 => Ok(()),
                OfMessage::V13(v13::Message::PacketIn(p)) => Err(fail(format!(
                    "packet-in cookie {:#x}, the flow's is 0xc00c1e0000007717",
                    p.cookie
                ))),
                _ => Err(fail("no packet-in")),
            }
        }
        "action_set_order" => {
            let new_src = MacAddr([0x02, 0, 0, 0, 0x5e, 0x70]);
            let fm = in_port_flow13(
                p1,
                vec![v13::Instruction::WriteActions(vec![
                    v13::Action::Output { port: p2, max_len: 0 },
                    v13::Action::SetField(OxmField::EthSrc {
                        value: new_src,
                        mask: None,
                    }),
                ])],
            );
            ctx.program_ok(
                &[OfMessage::V13(v13::Message::FlowMod(fm))],
                &[BAD_ACTION, BAD_INSTRUCTION],
            )
            .await?;
            let input = Probe::udp();
            let mut out = input.clone();
            out.eth_src = new_src;
            ctx.expect_forward(p1, &input.build(), p2, &out.build()).await
        }
        other => Err(CaseError::Unknown(other.to_string())),
    }
}
