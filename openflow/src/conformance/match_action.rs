//! The generated cases: a flow matching one field (on the field's own frame or another carrier), and an
//! action or set-field applied to a probe, each checked for its outcomes (out of a data port, to the
//! controller as a packet-in, and for a match the frame that differs missing the flow).

use super::actions::ActionCase;
use super::cases::{BAD_ACTION, BAD_INSTRUCTION, BAD_MATCH, BAD_REQUEST};
use super::fields::{self, Field};
use super::outcome::{add10, add13, controller10, controller13, Outcome, REASON_ACTION, REASON_NO_MATCH};
use super::probe::Probe;
use super::steps::{apply, flow10, flow13};
use super::{CaseError, Context};
use crate::v10::match_::wildcards as w10;
use crate::v13::oxm::OxmField;
use crate::{v10, v13, OfMessage};

/// A flow matching `f` (under its mask when `masked`) in the frame `base`, checked for one outcome.
pub(super) async fn match_case(
    f: Field,
    masked: bool,
    base: &Probe,
    outcome: Outcome,
    required: bool,
    ctx: &Context<'_>,
) -> Result<(), CaseError> {
    let (p1, p2) = (ctx.port(0), ctx.port(1));
    // Output and table-miss: the flow sends the frame out of port 2; packet-in: to the controller.
    let to_controller = outcome == Outcome::PacketIn;
    let add = if ctx.v10() {
        let m = fields::v10_match(f, base, ctx.port10(0), masked)
            .ok_or_else(|| CaseError::Unknown(f.name().into()))?;
        let out = if to_controller {
            controller10()
        } else {
            v10::Action::Output {
                port: ctx.port10(1),
                max_len: 0,
            }
        };
        add10(m, vec![out])
    } else {
        let fields = fields::oxm_with_prereqs(f, base, p1, masked)
            .ok_or_else(|| CaseError::Unknown(f.name().into()))?;
        let out = if to_controller {
            controller13()
        } else {
            v13::Action::Output { port: p2, max_len: 0 }
        };
        add13(fields, vec![out])
    };
    let mut msgs = vec![add];
    if outcome == Outcome::TableMiss {
        msgs.extend(ctx.table_miss_flow());
    }
    let unsupported_types: &[u16] = if required { &[] } else { &[BAD_MATCH, BAD_REQUEST] };
    ctx.program_ok(&msgs, unsupported_types).await?;
    if outcome == Outcome::TableMiss {
        // in_port: the same frame from the other port; any other field: a frame that differs in it.
        let (ingress, frame, other) = if f == Field::InPort {
            (p2, base.build(), p1)
        } else {
            let miss = fields::vary(f, base, true)
                .ok_or_else(|| CaseError::Unknown(format!("{} cannot miss", f.name())))?;
            (p1, miss.build(), p2)
        };
        return ctx
            .expect_packet_in(ingress, &frame, &frame, REASON_NO_MATCH, &[other])
            .await;
    }
    // The frame that has the value (under a mask: one that differs only in wildcarded bits, and the
    // exact value too).
    let mut frames = Vec::new();
    if masked {
        if let Some(hit) = fields::vary(f, base, false) {
            frames.push(hit.build());
        }
    }
    frames.push(base.build());
    for frame in &frames {
        if to_controller {
            ctx.expect_packet_in(p1, frame, frame, REASON_ACTION, &[p2])
                .await?;
        } else {
            ctx.expect_forward(p1, frame, p2, frame).await?;
        }
    }
    Ok(())
}

/// An action (or set-field) applied to `input` gives the expected frame, out of port 2 or in a packet-in.
pub(super) async fn action_case(
    a: ActionCase,
    input: Probe,
    outcome: Outcome,
    ctx: &Context<'_>,
) -> Result<(), CaseError> {
    let (p1, p2) = (ctx.port(0), ctx.port(1));
    let to_controller = outcome == Outcome::PacketIn;
    let (input, add, expected) = if ctx.v10() {
        let (input, mut actions, out) = a.plan10_on(input).ok_or_else(|| CaseError::Unknown(a.name()))?;
        actions.push(if to_controller {
            controller10()
        } else {
            v10::Action::Output {
                port: ctx.port10(1),
                max_len: 0,
            }
        });
        let m = v10::Match {
            wildcards: w10::ALL & !w10::IN_PORT,
            in_port: ctx.port10(0),
            ..v10::Match::default()
        };
        let fm = flow10(v10::FlowModCommand::Add, 200, m, actions);
        (input, OfMessage::V10(v10::Message::FlowMod(fm)), out)
    } else {
        let (input, mut actions, out) = a
            .plan13_on(p1, input)
            .ok_or_else(|| CaseError::Unknown(a.name()))?;
        actions.push(if to_controller {
            controller13()
        } else {
            v13::Action::Output { port: p2, max_len: 0 }
        });
        let mut fields = vec![OxmField::InPort {
            value: p1,
            mask: None,
        }];
        // Set-field needs the field's prerequisites in the match (1.3 §7.2.5).
        if let ActionCase::SetField(f) = a {
            if let Some(pre) = fields::oxm_with_prereqs(f, &input, p1, false) {
                fields.extend(pre.into_iter().filter(|o| {
                    matches!(
                        o,
                        OxmField::EthType { .. } | OxmField::IpProto { .. } | OxmField::Icmpv6Type { .. }
                    ) || (matches!(o, OxmField::VlanVid { .. }) && f == Field::VlanPcp)
                }));
            }
            if matches!(f, Field::VlanVid | Field::VlanPcp) {
                fields.push(OxmField::VlanVid {
                    value: v13::oxm::OFPVID_PRESENT,
                    mask: Some(v13::oxm::OFPVID_PRESENT),
                });
            }
        }
        if matches!(a, ActionCase::PopVlan) {
            fields.push(OxmField::VlanVid {
                value: v13::oxm::OFPVID_PRESENT,
                mask: Some(v13::oxm::OFPVID_PRESENT),
            });
        }
        if matches!(
            a,
            ActionCase::PopMpls
                | ActionCase::SetMplsTtl
                | ActionCase::DecMplsTtl
                | ActionCase::CopyTtlOut
                | ActionCase::CopyTtlIn
        ) {
            fields.push(OxmField::EthType {
                value: super::probe::ETH_TYPE_MPLS,
                mask: None,
            });
        }
        if matches!(
            a,
            ActionCase::SetNwTtl | ActionCase::DecNwTtl | ActionCase::PushMpls
        ) {
            fields.push(OxmField::EthType {
                value: input.eth_type(),
                mask: None,
            });
        }
        dedup(&mut fields);
        let fm = flow13(v13::FlowModCommand::Add, 200, fields, apply(actions));
        (input, OfMessage::V13(v13::Message::FlowMod(fm)), out)
    };
    // The errors that mean "this action is not supported": 1.0 numbers its types differently (3 and 4
    // are FLOW_MOD_FAILED and PORT_MOD_FAILED there, and it has no BAD_MATCH or BAD_INSTRUCTION).
    let unsupported: &[u16] = if ctx.v10() {
        &[BAD_ACTION, BAD_REQUEST]
    } else {
        &[BAD_ACTION, BAD_MATCH, BAD_INSTRUCTION, BAD_REQUEST]
    };
    ctx.program_ok(&[add], unsupported).await?;
    let (input, expected) = (input.build(), expected.build());
    if to_controller {
        ctx.expect_packet_in(p1, &input, &expected, REASON_ACTION, &[p2])
            .await
    } else {
        ctx.expect_forward(p1, &input, p2, &expected).await
    }
}

fn dedup(fields: &mut Vec<OxmField>) {
    let mut seen = Vec::new();
    fields.retain(|f| {
        let k = f.field();
        if seen.contains(&k) {
            false
        } else {
            seen.push(k);
            true
        }
    });
}
