//! Generated families beyond the match, action and stats tables: match prerequisites (missing or with a
//! wrong value), values outside a field's range in a match or a set-field, set-field without its
//! prerequisite, packet-out with each action, and echo with payloads of several sizes.
//!
//! Each family is a table walked by [`cases`]; each case checks an answer on the wire (an error of the
//! type and code the specification names, an echo reply with the same payload) or a frame on the data
//! plane, so each can fail.

use super::actions::{ActionCase, OTHERS13, SET10};
use super::fields::{self, Field};
use super::steps::{apply, error_code, fail, flow13, unsupported};
use super::{Body, Case, CaseError, Context};
use crate::common::Echo;
use crate::v13::oxm::{OxmField, OFPVID_PRESENT};
use crate::{v10, v13, OfMessage, OFP13_VERSION};

const BAD_REQUEST: u16 = 1;
const BAD_ACTION: u16 = 2;
const BAD_INSTRUCTION: u16 = 3;
const BAD_MATCH: u16 = 4;
/// BAD_MATCH codes (1.3 §7.4.4).
const BAD_TYPE: u16 = 0;
const BAD_FIELD: u16 = 6;
const BAD_VALUE: u16 = 7;
const BAD_PREREQ: u16 = 9;
/// BAD_ACTION codes (1.3 §7.4.4).
const MATCH_INCONSISTENT: u16 = 10;
const BAD_SET_TYPE: u16 = 13;
const BAD_SET_ARGUMENT: u16 = 15;

/// Echo payload sizes: empty, one byte, a kilobyte, and the largest a message can carry.
const ECHO_SIZES: &[usize] = &[0, 1, 1024, 65535 - 8];

/// One generated case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    /// A flow matching `field` without its innermost prerequisite (`wrong`: with it at a value that
    /// does not satisfy it) gets BAD_MATCH/BAD_PREREQ (1.3 §7.2.3.6).
    Prereq { field: Field, wrong: bool },
    /// A value outside the field's range gets BAD_MATCH/BAD_VALUE in a match, BAD_ACTION/BAD_SET_ARGUMENT
    /// in a set-field (`set`).
    BadValue { field: Field, set: bool },
    /// A set-field whose prerequisite the flow's match does not establish gets BAD_ACTION/MATCH_INCONSISTENT.
    SetFieldPrereq(Field),
    /// A packet-out with the action (then an output) sends the expected frame.
    PacketOut(ActionCase),
    /// An echo request with this many payload bytes gets a reply with the same payload.
    Echo(usize),
    /// Table 0's features list this property with the content the specification requires of it.
    TableFeature(&'static str),
}

/// The table-feature properties every table lists (1.3 §7.3.5.5.2; the `_MISS` ones may be left out when
/// they equal these).
const TABLE_PROPERTIES: &[&str] = &[
    "instructions",
    "next_tables",
    "write_actions",
    "apply_actions",
    "match",
    "wildcards",
    "write_setfield",
    "apply_setfield",
];

/// The value that does not satisfy a prerequisite: another ethertype (ARP for IP and MPLS fields, IPv4 for
/// ARP ones), another IP protocol, an ICMPv6 type that is not the ND message, VLAN_VID NONE.
fn wrong_prereq(o: &OxmField, f: Field) -> Option<OxmField> {
    Some(match o {
        OxmField::EthType { value, .. } => OxmField::EthType {
            value: if *value == 0x0806 { 0x0800 } else { 0x0806 },
            mask: None,
        },
        OxmField::IpProto { value, .. } => OxmField::IpProto {
            value: if *value == 6 { 17 } else { 6 },
            mask: None,
        },
        OxmField::Icmpv6Type { .. } => OxmField::Icmpv6Type {
            value: match f {
                Field::Ipv6NdSll => 136,
                Field::Ipv6NdTll => 135,
                _ => 128,
            },
            mask: None,
        },
        OxmField::VlanVid { .. } => OxmField::VlanVid { value: 0, mask: None },
        _ => return None,
    })
}

/// The prerequisites of `f` in the order a match lists them, and `f` itself (none when `f` has none).
fn prereq_chain(f: Field) -> Option<(Vec<OxmField>, OxmField)> {
    let mut all = fields::oxm_with_prereqs(f, &f.base(), 1, false)?;
    let own = all.pop()?;
    (!all.is_empty()).then_some((all, own))
}

/// A value just outside the field's range (the bits above its width set), for the fields narrower than
/// their OXM payload.
fn out_of_range(f: Field) -> Option<OxmField> {
    Some(match f {
        Field::VlanVid => OxmField::VlanVid {
            value: 0x2000 | OFPVID_PRESENT | 5,
            mask: None,
        },
        Field::VlanPcp => OxmField::VlanPcp { value: 8, mask: None },
        Field::IpDscp => OxmField::IpDscp {
            value: 64,
            mask: None,
        },
        Field::IpEcn => OxmField::IpEcn { value: 4, mask: None },
        Field::MplsLabel => OxmField::MplsLabel {
            value: 1 << 20,
            mask: None,
        },
        Field::MplsTc => OxmField::MplsTc { value: 8, mask: None },
        Field::MplsBos => OxmField::MplsBos { value: 2, mask: None },
        Field::Ipv6Flabel => OxmField::Ipv6Flabel {
            value: 1 << 20,
            mask: None,
        },
        Field::Ipv6Exthdr => OxmField::Ipv6Exthdr {
            value: 1 << 9,
            mask: None,
        },
        _ => return None,
    })
}

impl Family {
    fn id(self) -> String {
        match self {
            Family::Prereq { field, wrong } => format!(
                "errors.prereq_{}.{}",
                if wrong { "wrong" } else { "missing" },
                field.name()
            ),
            Family::BadValue { field, set } => format!(
                "errors.{}.{}",
                if set { "bad_set_value" } else { "bad_value" },
                field.name()
            ),
            Family::SetFieldPrereq(f) => format!("errors.set_field_prereq.{}", f.name()),
            Family::PacketOut(a) => format!("packet_out.{}", a.name()),
            Family::Echo(n) => format!("echo_payload_{n}"),
            Family::TableFeature(p) => format!("stats.table_features.{p}"),
        }
    }

    fn title(self) -> String {
        match self {
            Family::Prereq { field, wrong: false } => format!(
                "A match on {} without its prerequisite gets BAD_MATCH/BAD_PREREQ",
                field.name()
            ),
            Family::Prereq { field, wrong: true } => format!(
                "A match on {} with its prerequisite at another value gets BAD_MATCH/BAD_PREREQ",
                field.name()
            ),
            Family::BadValue { field, set: false } => format!(
                "A match on {} with a value outside its range gets BAD_MATCH/BAD_VALUE",
                field.name()
            ),
            Family::BadValue { field, set: true } => format!(
                "A set-field of {} with a value outside its range gets BAD_ACTION/BAD_SET_ARGUMENT",
                field.name()
            ),
            Family::SetFieldPrereq(f) => format!(
                "A set-field of {} in a flow whose match lacks its prerequisite gets BAD_ACTION/MATCH_INCONSISTENT",
                f.name()
            ),
            Family::PacketOut(a) => format!("Packet-out with action {} sends the expected frame", a.name()),
            Family::Echo(n) => format!("Echo request with {n} payload bytes is answered with the same payload"),
            Family::TableFeature(p) => format!("Table 0's features list the {p} property with its required content"),
        }
    }

    fn group(self) -> &'static str {
        match self {
            Family::Prereq { .. } | Family::BadValue { .. } | Family::SetFieldPrereq(_) => "errors",
            Family::PacketOut(_) => "packet",
            Family::Echo(_) => "basic",
            Family::TableFeature(_) => "stats",
        }
    }

    fn section(self, v13: bool) -> &'static str {
        match self {
            Family::Prereq { .. } => "§7.2.3.6, §7.4.4",
            Family::BadValue { .. } => "§7.2.3.7, §7.4.4",
            Family::SetFieldPrereq(_) => "§7.2.5, §7.4.4",
            Family::PacketOut(_) if v13 => "§7.3.7",
            Family::PacketOut(_) => "§5.3.6",
            Family::Echo(_) if v13 => "§7.5.2",
            Family::Echo(_) => "§5.5.2",
            Family::TableFeature(_) => "§7.3.5.5",
        }
    }

    /// Required when the field is (error families) or always (echo); packet-out actions are optional.
    fn required(self) -> bool {
        match self {
            Family::Prereq { field, .. } | Family::BadValue { field, set: false } => field.required(),
            Family::BadValue { set: true, .. }
            | Family::SetFieldPrereq(_)
            | Family::PacketOut(_)
            | Family::TableFeature(_) => false,
            Family::Echo(_) => true,
        }
    }
}

/// The generated cases of one version, ids prefixed with `prefix` (`of10`, `of13`).
pub(crate) fn cases(version: u8, prefix: &str) -> Vec<Case> {
    let v13 = version == OFP13_VERSION;
    let mut families: Vec<Family> = ECHO_SIZES.iter().map(|n| Family::Echo(*n)).collect();
    if v13 {
        families.extend(TABLE_PROPERTIES.iter().map(|p| Family::TableFeature(p)));
        families.extend(
            fields::ALL
                .iter()
                .filter(|f| f.settable())
                .map(|f| ActionCase::SetField(*f))
                .chain(OTHERS13.iter().copied())
                .filter(|a| a.plan13(1).is_some())
                .map(Family::PacketOut),
        );
        for f in fields::ALL {
            if let Some((pre, _)) = prereq_chain(*f) {
                families.push(Family::Prereq {
                    field: *f,
                    wrong: false,
                });
                if pre.last().and_then(|o| wrong_prereq(o, *f)).is_some() {
                    families.push(Family::Prereq {
                        field: *f,
                        wrong: true,
                    });
                }
            }
        }
        for f in fields::ALL.iter().filter(|f| out_of_range(**f).is_some()) {
            families.push(Family::BadValue {
                field: *f,
                set: false,
            });
            if f.settable() {
                families.push(Family::BadValue { field: *f, set: true });
            }
        }
        families.extend(
            fields::ALL
                .iter()
                .filter(|f| f.settable() && prereq_chain(**f).is_some())
                .map(|f| Family::SetFieldPrereq(*f)),
        );
    } else {
        families.extend(
            SET10
                .iter()
                .map(|f| ActionCase::SetField(*f))
                .filter(|a| a.plan10().is_some())
                .map(Family::PacketOut),
        );
    }
    families
        .into_iter()
        .map(|f| Case {
            id: format!("{prefix}.{}", f.id()),
            group: f.group(),
            title: f.title(),
            section: f.section(v13),
            ts026: None,
            required: f.required(),
            version,
            body: Body::Family(f),
        })
        .collect()
}

/// Runs one generated case.
pub(super) async fn run(f: Family, required: bool, ctx: &Context<'_>) -> Result<(), CaseError> {
    match f {
        Family::Echo(n) => echo(n, ctx).await,
        Family::TableFeature(p) => table_feature(p, ctx).await,
        Family::PacketOut(a) => packet_out(a, ctx).await,
        Family::Prereq { field, wrong } => {
            let (mut pre, own) = prereq_chain(field).ok_or_else(|| CaseError::Unknown(f.id()))?;
            let inner = pre.pop().ok_or_else(|| CaseError::Unknown(f.id()))?;
            if wrong {
                pre.push(wrong_prereq(&inner, field).ok_or_else(|| CaseError::Unknown(f.id()))?);
            }
            pre.push(own);
            let fm = flow13(v13::FlowModCommand::Add, 100, pre, Vec::new());
            let want = (BAD_MATCH, BAD_PREREQ);
            expect_refusal(
                ctx,
                fm,
                want,
                required,
                &[(BAD_MATCH, BAD_FIELD), (BAD_MATCH, BAD_TYPE)],
            )
            .await
        }
        Family::BadValue { field, set } => {
            let bad = out_of_range(field).ok_or_else(|| CaseError::Unknown(f.id()))?;
            let mut with_pre = fields::oxm_with_prereqs(field, &field.base(), ctx.port(0), false)
                .ok_or_else(|| CaseError::Unknown(f.id()))?;
            with_pre.pop();
            if set {
                // The match establishes every prerequisite, so only the value is wrong.
                if matches!(field, Field::VlanVid) {
                    with_pre.push(OxmField::VlanVid {
                        value: OFPVID_PRESENT,
                        mask: Some(OFPVID_PRESENT),
                    });
                }
                let actions = vec![
                    v13::Action::SetField(bad),
                    v13::Action::Output {
                        port: ctx.port(1),
                        max_len: 0,
                    },
                ];
                let fm = flow13(v13::FlowModCommand::Add, 100, with_pre, apply(actions));
                let allowed = [(BAD_ACTION, BAD_SET_TYPE)];
                expect_refusal(ctx, fm, (BAD_ACTION, BAD_SET_ARGUMENT), required, &allowed).await
            } else {
                with_pre.push(bad);
                let fm = flow13(v13::FlowModCommand::Add, 100, with_pre, Vec::new());
                let allowed = [(BAD_MATCH, BAD_FIELD), (BAD_MATCH, BAD_TYPE)];
                expect_refusal(ctx, fm, (BAD_MATCH, BAD_VALUE), required, &allowed).await
            }
        }
        Family::SetFieldPrereq(field) => {
            let base = field.base();
            let target = fields::vary(field, &base, true).unwrap_or_else(|| base.clone());
            let set =
                fields::oxm(field, &target, ctx.port(0), false).ok_or_else(|| CaseError::Unknown(f.id()))?;
            let actions = vec![
                v13::Action::SetField(set),
                v13::Action::Output {
                    port: ctx.port(1),
                    max_len: 0,
                },
            ];
            let in_port = vec![OxmField::InPort {
                value: ctx.port(0),
                mask: None,
            }];
            let fm = flow13(v13::FlowModCommand::Add, 100, in_port, apply(actions));
            let allowed = [(BAD_ACTION, BAD_SET_TYPE)];
            expect_refusal(ctx, fm, (BAD_ACTION, MATCH_INCONSISTENT), required, &allowed).await
        }
    }
}

/// Sends the flow-mod and expects the error `want` before the barrier reply. An error in `unsupported_as`
/// (the switch does not have the field or action) makes an optional case unsupported.
async fn expect_refusal(
    ctx: &Context<'_>,
    fm: v13::FlowMod,
    want: (u16, u16),
    required: bool,
    unsupported_as: &[(u16, u16)],
) -> Result<(), CaseError> {
    let errors = ctx
        .errors_before_barrier(&[OfMessage::V13(v13::Message::FlowMod(fm))])
        .await?;
    let Some(got) = errors.first().and_then(error_code) else {
        return Err(fail(format!(
            "flow-mod accepted; expected error type {} code {}",
            want.0, want.1
        )));
    };
    if got == want {
        Ok(())
    } else if !required && unsupported_as.contains(&got) {
        Err(unsupported(format!(
            "switch rejected the field or action with error type {} code {}",
            got.0, got.1
        )))
    } else {
        Err(fail(format!(
            "error type {} code {}, expected type {} code {}",
            got.0, got.1, want.0, want.1
        )))
    }
}

async fn echo(n: usize, ctx: &Context<'_>) -> Result<(), CaseError> {
    // A payload that is not all one byte, so a reply that is cut or shifted differs.
    let data: Vec<u8> = (0..n).map(|i| (i % 251) as u8).collect();
    let echo = Echo { data: data.clone() };
    let req = if ctx.version() == OFP13_VERSION {
        OfMessage::V13(v13::Message::EchoRequest(echo))
    } else {
        OfMessage::V10(v10::Message::EchoRequest(echo))
    };
    let got = match ctx.switch().request(&req).await? {
        OfMessage::V10(v10::Message::EchoReply(e)) | OfMessage::V13(v13::Message::EchoReply(e)) => e.data,
        other => return Err(fail(format!("reply of type {}", other.msg_type()))),
    };
    if got == data {
        Ok(())
    } else {
        Err(fail(format!(
            "echo reply carried {} bytes, {} sent{}",
            got.len(),
            n,
            if got.len() == n {
                " (different content)"
            } else {
                ""
            }
        )))
    }
}

async fn packet_out(a: ActionCase, ctx: &Context<'_>) -> Result<(), CaseError> {
    let (p1, p2) = (ctx.port(0), ctx.port(1));
    let (msg, expected) = if ctx.version() == OFP13_VERSION {
        let (input, mut actions, out) = a.plan13(p1).ok_or_else(|| CaseError::Unknown(a.name()))?;
        actions.push(v13::Action::Output { port: p2, max_len: 0 });
        let po = v13::PacketOut {
            buffer_id: v13::NO_BUFFER,
            in_port: v13::port::port_no::CONTROLLER,
            actions,
            data: input.build(),
        };
        (OfMessage::V13(v13::Message::PacketOut(po)), out)
    } else {
        let (input, mut actions, out) = a.plan10().ok_or_else(|| CaseError::Unknown(a.name()))?;
        actions.push(v10::Action::Output {
            port: ctx.port10(1),
            max_len: 0,
        });
        let po = v10::PacketOut {
            buffer_id: u32::MAX,
            in_port: v10::port::port_no::NONE,
            actions,
            data: input.build(),
        };
        (OfMessage::V10(v10::Message::PacketOut(po)), out)
    };
    let want = expected.build();
    let dp = ctx.dataplane;
    tokio::task::block_in_place(|| dp.drain());
    let errors = ctx.errors_before_barrier(&[msg]).await?;
    if let Some((t, c)) = errors.first().and_then(error_code) {
        let text = format!("switch rejected the packet-out with error type {t} code {c}");
        return Err(
            if [BAD_ACTION, BAD_MATCH, BAD_INSTRUCTION, BAD_REQUEST].contains(&t) {
                unsupported(text)
            } else {
                fail(text)
            },
        );
    }
    tokio::task::block_in_place(|| dp.expect_frame(p2, &want, ctx.timeout))?;
    Ok(())
}

/// Checks one property of table 0's features: present, and for some the content the specification
/// requires (goto-table and write-actions among the instructions, output among the write actions, the next
/// table among the next tables, every required field among the match fields, wildcards a subset of them).
async fn table_feature(prop: &str, ctx: &Context<'_>) -> Result<(), CaseError> {
    use v13::TableFeatureProp as P;
    let req = OfMessage::V13(v13::Message::MultipartRequest(v13::MultipartRequest {
        flags: 0,
        body: v13::MultipartRequestBody::TableFeatures(Vec::new()),
    }));
    let parts = ctx.stats(&req, &[BAD_REQUEST]).await?;
    let table0 = parts
        .iter()
        .filter_map(|m| match m {
            OfMessage::V13(v13::Message::MultipartReply(v13::MultipartReply {
                body: v13::MultipartReplyBody::TableFeatures(t),
                ..
            })) => Some(t),
            _ => None,
        })
        .flatten()
        .find(|t| t.table_id == 0)
        .ok_or_else(|| fail("table 0 not in the table features"))?;
    let props = &table0.properties;
    let match_ids: Vec<u8> = props
        .iter()
        .filter_map(|p| match p {
            P::Match(ids) => Some(ids.iter().filter(|i| i.class == 0x8000).map(|i| i.field)),
            _ => None,
        })
        .flatten()
        .collect();
    let missing = |what: &str| fail(format!("table 0 has no {what} property"));
    let verdict: Result<(), String> = match prop {
        "instructions" => {
            let ids = props
                .iter()
                .find_map(|p| match p {
                    P::Instructions(ids) => Some(ids),
                    _ => None,
                })
                .ok_or_else(|| missing(prop))?;
            let has = |t: u16| ids.iter().any(|i| i.instruction_type == t);
            // GOTO_TABLE (1) is required only where there is a next table.
            let needs_goto = ctx.switch().features().n_tables() > 1;
            if has(3) && (has(1) || !needs_goto) {
                Ok(())
            } else {
                Err(format!("instructions {:?} lack WRITE_ACTIONS or GOTO_TABLE", ids))
            }
        }
        "next_tables" => {
            let ids = props
                .iter()
                .find_map(|p| match p {
                    P::NextTables(ids) => Some(ids),
                    _ => None,
                })
                .ok_or_else(|| missing(prop))?;
            if ctx.switch().features().n_tables() <= 1 || ids.contains(&1) {
                Ok(())
            } else {
                Err(format!("next tables {ids:?} of table 0 lack table 1"))
            }
        }
        "write_actions" => {
            let ids = props
                .iter()
                .find_map(|p| match p {
                    P::WriteActions(ids) => Some(ids),
                    _ => None,
                })
                .ok_or_else(|| missing(prop))?;
            if ids.iter().any(|a| a.action_type == 0) {
                Ok(())
            } else {
                Err("write actions lack OUTPUT".to_string())
            }
        }
        "match" => {
            let absent: Vec<&str> = fields::ALL
                .iter()
                .filter(|f| f.required())
                .filter(|f| {
                    fields::oxm(**f, &f.base(), 1, false).is_none_or(|o| !match_ids.contains(&o.field()))
                })
                .map(|f| f.name())
                .collect();
            if props.iter().any(|p| matches!(p, P::Match(_))) && absent.is_empty() {
                Ok(())
            } else {
                Err(format!("match property lacks required fields {absent:?}"))
            }
        }
        "wildcards" => {
            let ids = props
                .iter()
                .find_map(|p| match p {
                    P::Wildcards(ids) => Some(ids),
                    _ => None,
                })
                .ok_or_else(|| missing(prop))?;
            let outside: Vec<u8> = ids
                .iter()
                .filter(|i| i.class == 0x8000 && !match_ids.contains(&i.field))
                .map(|i| i.field)
                .collect();
            if outside.is_empty() {
                Ok(())
            } else {
                Err(format!("wildcard fields {outside:?} are not match fields"))
            }
        }
        "apply_actions" => props
            .iter()
            .any(|p| matches!(p, P::ApplyActions(_)))
            .then_some(())
            .ok_or_else(|| "no apply_actions property".to_string()),
        "write_setfield" => props
            .iter()
            .any(|p| matches!(p, P::WriteSetfield(_)))
            .then_some(())
            .ok_or_else(|| "no write_setfield property".to_string()),
        "apply_setfield" => props
            .iter()
            .any(|p| matches!(p, P::ApplySetfield(_)))
            .then_some(())
            .ok_or_else(|| "no apply_setfield property".to_string()),
        other => return Err(CaseError::Unknown(other.to_string())),
    };
    verdict.map_err(fail)
}
