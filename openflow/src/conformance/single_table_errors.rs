//! The errors the ONF single-table profile for 1.3 (TS-026) names for malformed flow-mods, matches,
//! actions, instructions and requests, with the messages built byte by byte where the codec would not
//! write them; and the data an error carries (at least the first 64 bytes of the request).

use super::cases::port_hw_addr;
use super::catalogue::{Named, V13};
use super::codes::{
    action, flow_mod, instruction, matching, port_mod, request, BAD_ACTION, BAD_INSTRUCTION, BAD_MATCH,
    BAD_REQUEST, FLOW_MOD_FAILED, PORT_MOD_FAILED, QUEUE_OP_FAILED, SWITCH_CONFIG_FAILED, TABLE_MOD_FAILED,
};
use super::steps::{apply, error_code, fail, in_port_flow13, mp13, COOKIE};
use super::{CaseError, Context};
use crate::{v13, OfMessage};

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
    (
        "error_data_prefix",
        "errors",
        "An error carries at least the first 64 bytes of the request it answers",
        "",
        "§7.4.4",
        true,
        V13,
        None,
    ),
    (
        "error_add_table_all",
        "errors",
        "A flow-mod add to table OFPTT_ALL gets FLOW_MOD_FAILED/BAD_TABLE_ID and adds nothing",
        "",
        "§7.3.4.1, §7.4.4",
        true,
        V13,
        None,
    ),
    (
        "error_flow_mod_bad_command",
        "errors",
        "A flow-mod with an unknown command gets FLOW_MOD_FAILED/BAD_COMMAND",
        "",
        "§7.3.4.1, §7.4.4",
        true,
        V13,
        None,
    ),
    (
        "error_flow_mod_bad_flags",
        "errors",
        "A flow-mod with an undefined flag bit gets FLOW_MOD_FAILED/BAD_FLAGS",
        "",
        "§7.3.4.1, §7.4.4",
        true,
        V13,
        None,
    ),
    (
        "error_unknown_instruction",
        "errors",
        "An unknown instruction type gets BAD_INSTRUCTION/UNKNOWN_INST",
        "",
        "§7.2.4, §7.4.4",
        true,
        V13,
        None,
    ),
    (
        "error_dup_field",
        "errors",
        "A match with one field twice gets BAD_MATCH/DUP_FIELD",
        "",
        "§7.2.3.6, §7.4.4",
        true,
        V13,
        None,
    ),
    (
        "error_unknown_field",
        "errors",
        "An OXM field the basic class does not define gets BAD_MATCH/BAD_FIELD",
        "",
        "§7.2.3.7, §7.4.4",
        true,
        V13,
        None,
    ),
    (
        "error_bad_mask",
        "errors",
        "A mask on a field that cannot be masked (eth_type) gets BAD_MATCH/BAD_MASK",
        "",
        "§7.2.3.7, §7.4.4",
        true,
        V13,
        None,
    ),
    (
        "error_bad_wildcards",
        "errors",
        "A masked match whose value has bits the mask clears gets BAD_MATCH/BAD_WILDCARDS",
        "",
        "§7.2.3.5, §7.4.4",
        true,
        V13,
        None,
    ),
    (
        "error_bad_match_type",
        "errors",
        "A match of an unknown type gets BAD_MATCH/BAD_TYPE",
        "",
        "§7.2.3.1, §7.4.4",
        true,
        V13,
        None,
    ),
    (
        "error_action_bad_len",
        "errors",
        "An output action with a length that is not its own gets BAD_ACTION/BAD_LEN",
        "",
        "§7.2.5, §7.4.4",
        true,
        V13,
        None,
    ),
    (
        "error_push_vlan_ethertype",
        "errors",
        "Push-VLAN with an ethertype other than 0x8100 or 0x88a8 gets BAD_ACTION/BAD_ARGUMENT",
        "",
        "§7.2.5, §7.4.4",
        true,
        V13,
        None,
    ),
    (
        "error_clear_actions_len",
        "errors",
        "A Clear-Actions instruction that carries an action gets BAD_INSTRUCTION/BAD_LEN",
        "",
        "§7.2.4, §7.4.4",
        true,
        V13,
        None,
    ),
    (
        "error_experimenter_multipart",
        "errors",
        "A multipart request of an unknown experimenter gets BAD_REQUEST/BAD_EXPERIMENTER",
        "",
        "§7.3.5.15, §7.4.4",
        true,
        V13,
        None,
    ),
    (
        "error_experimenter_message",
        "errors",
        "An experimenter message of an unknown experimenter gets BAD_REQUEST/BAD_EXPERIMENTER",
        "",
        "§7.5.4, §7.4.4",
        true,
        V13,
        None,
    ),
    (
        "error_queue_stats_bad_port",
        "errors",
        "Queue statistics for a port that does not exist get QUEUE_OP_FAILED/BAD_PORT",
        "",
        "§7.3.5.8, §7.4.4",
        true,
        V13,
        None,
    ),
    (
        "error_table_mod_bad_table",
        "errors",
        "A table-mod for the first table id the switch does not have gets TABLE_MOD_FAILED/BAD_TABLE",
        "",
        "§7.3.3, §7.4.4",
        true,
        V13,
        None,
    ),
    (
        "error_set_config_bad_flags",
        "errors",
        "Set-config with an undefined flag bit gets SWITCH_CONFIG_FAILED/BAD_FLAGS",
        "",
        "§7.3.2, §7.4.4",
        true,
        V13,
        None,
    ),
    (
        "error_port_mod_bad_config",
        "errors",
        "A port-mod with an undefined config bit gets PORT_MOD_FAILED/BAD_CONFIG",
        "",
        "§7.3.4.3, §7.4.4",
        true,
        V13,
        None,
    ),
    (
        "error_port_mod_bad_advertise",
        "errors",
        "A port-mod advertising undefined features gets PORT_MOD_FAILED/BAD_ADVERTISE",
        "",
        "§7.3.4.3, §7.4.4",
        true,
        V13,
        None,
    ),
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

/// Runs one case of this module.
pub(super) async fn run(name: &str, ctx: &Context<'_>) -> Result<(), CaseError> {
    let (p1, p2) = (ctx.port(0), ctx.port(1));
    let sw = &ctx.switch();
    match name {
        "error_data_prefix" => {
            // An unknown message type with a 100-byte body.
            let mut bytes = vec![4, 0x60, 0, 0, 0, 0, 0, 0];
            bytes.extend((0..100u8).map(|i| i.wrapping_mul(7)));
            set_len(&mut bytes);
            let xid: u32 = 0x7a11_0002;
            put(&mut bytes, 4, &xid.to_be_bytes());
            let got = ctx
                .answered_before_barrier(&bytes, |m| m.xid == xid && error_code(&m.message).is_some())
                .await?
                .ok_or_else(|| fail("no error message came back (the barrier reply came first)"))?;
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
        "error_experimenter_multipart" | "error_experimenter_message" => {
            // An experimenter id nobody registered, in a multipart request or an experimenter message.
            let (experimenter, exp_type) = (0x00ab_cdef, 1);
            let m = if name == "error_experimenter_multipart" {
                mp13(v13::MultipartRequestBody::Experimenter {
                    experimenter,
                    exp_type,
                    data: Vec::new(),
                })
            } else {
                OfMessage::V13(v13::Message::Experimenter(v13::Experimenter {
                    experimenter,
                    exp_type,
                    data: vec![1, 2, 3, 4],
                }))
            };
            ctx.expect_error(None, Some(&m), BAD_REQUEST, Some(request::BAD_EXPERIMENTER))
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
        other => Err(CaseError::Unknown(other.to_string())),
    }
}
