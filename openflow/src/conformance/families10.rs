//! OpenFlow 1.0 families generated from tables: per match field, an exact flow against one that wildcards
//! the field (priority, delete, delete-strict, modify, modify-strict, CHECK_OVERLAP, flow and aggregate
//! statistics filtered by the field); nw_src and nw_dst prefix lengths; set actions with several values
//! and combined. The hand-written 1.0 cases (reserved ports, port config bits, error codes, config) are in
//! [`super::named10`].
//!
//! Each case checks frames on the data plane or the switch's answers on the wire, so each can fail.

use std::net::Ipv4Addr;

use super::fields::{self, Field};
use super::probe::{Probe, L3, L4};
use super::steps::{error_code, fail, flow10};
use super::{Body, Case, CaseError, Context};
use crate::v10::match_::wildcards as w;
use crate::v10::port::port_no;
use crate::{v10, MacAddr, OfMessage};

/// `OFPFF_CHECK_OVERLAP` (1.0 §5.3.3).
const CHECK_OVERLAP: u16 = 2;
/// `OFPET_FLOW_MOD_FAILED` / `OFPFMFC_OVERLAP` in 1.0.
const OVERLAP: (u16, u16) = (3, 1);

/// What a per-field case does with an exact flow on the field and a flow that wildcards it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PerField {
    /// The exact flow (higher priority) takes the frame that has the value; the wildcard flow the other.
    Priority,
    /// Non-strict delete by the exact match removes only the exact flow; by the wildcard match, both.
    Delete,
    /// Delete-strict needs match and priority: the wrong priority removes nothing.
    DeleteStrict,
    /// Non-strict modify by the exact match changes only the exact flow; by the wildcard match, both.
    Modify,
    /// Modify-strict of the wildcard flow changes only it, and the frame it takes goes the new way.
    ModifyStrict,
    /// CHECK_OVERLAP: a flow with another value of the field is accepted, the wildcard flow refused.
    Overlap,
    /// Flow statistics filtered by the exact match list only the exact flow; by the wildcard, all.
    FlowStats,
    /// Aggregate statistics filtered by the exact match count one flow; by the wildcard, all.
    Aggregate,
}

const PER_FIELD: &[PerField] = &[
    PerField::Priority,
    PerField::Delete,
    PerField::DeleteStrict,
    PerField::Modify,
    PerField::ModifyStrict,
    PerField::Overlap,
    PerField::FlowStats,
    PerField::Aggregate,
];

/// nw_src / nw_dst prefix lengths checked (1.0 wildcards the low 32 - n bits).
const PREFIXES: &[u8] = &[1, 8, 16, 24, 30, 31];

/// The set-action cases with other values than the action table's, and combinations.
const SET_VALUES: &[&str] = &[
    "set_dl_src_02_11_22_33_44_55",
    "set_dl_src_00_00_5e_00_53_01",
    "set_dl_dst_broadcast",
    "set_dl_dst_02_aa_bb_cc_dd_ee",
    "set_vlan_vid_1",
    "set_vlan_vid_4094",
    "set_vlan_vid_untagged",
    "set_vlan_pcp_0",
    "set_vlan_pcp_7",
    "set_vlan_pcp_untagged",
    "strip_vlan",
    "strip_vlan_untagged",
    "set_nw_src_10_1_2_3",
    "set_nw_src_203_0_113_254",
    "set_nw_dst_10_9_8_7",
    "set_nw_dst_203_0_113_1",
    "set_nw_tos_0",
    "set_nw_tos_184",
    "set_nw_tos_252",
    "set_tp_src_udp_1",
    "set_tp_src_udp_65535",
    "set_tp_dst_udp_1",
    "set_tp_dst_udp_65535",
    "set_tp_src_tcp_1",
    "set_tp_src_tcp_65535",
    "set_tp_dst_tcp_1",
    "set_tp_dst_tcp_65535",
    "combined_dl_src_dl_dst",
    "combined_nw_src_nw_dst",
    "combined_tp_src_tp_dst_tcp",
    "combined_vlan_vid_pcp",
    "combined_l2_l3_l4",
];

/// One generated 1.0 case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family10 {
    /// A per-field case.
    Field(PerField, Field),
    /// A flow on nw_src (`dst`: nw_dst) with this prefix length.
    Prefix { dst: bool, len: u8 },
    /// A set action with the value the name says (index into the set-value table).
    SetValue(usize),
}

/// The fields 1.0 can match exactly and a frame can differ in.
fn per_field_fields() -> impl Iterator<Item = Field> {
    fields::ALL.iter().copied().filter(|f| {
        let base = f.base();
        fields::v10_match(*f, &base, 1, false).is_some() && fields::vary(*f, &base, true).is_some()
    })
}

impl PerField {
    fn name(self) -> &'static str {
        match self {
            PerField::Priority => "flow_mod.priority_wildcard",
            PerField::Delete => "flow_mod.delete",
            PerField::DeleteStrict => "flow_mod.delete_strict",
            PerField::Modify => "flow_mod.modify",
            PerField::ModifyStrict => "flow_mod.modify_strict",
            PerField::Overlap => "flow_mod.check_overlap",
            PerField::FlowStats => "stats.flow_filter",
            PerField::Aggregate => "stats.aggregate_filter",
        }
    }

    fn title(self, f: &str) -> String {
        match self {
            PerField::Priority => format!(
                "A flow exact on {f} wins over a lower-priority flow wildcarding it; a frame with another {f} takes the wildcard flow"
            ),
            PerField::Delete => format!(
                "Delete by a match exact on {f} removes only that flow; delete by the match wildcarding {f} removes both"
            ),
            PerField::DeleteStrict => format!(
                "Delete-strict of the flow exact on {f} at another priority removes nothing, at its priority only it"
            ),
            PerField::Modify => format!(
                "Modify by a match exact on {f} changes only that flow; modify by the match wildcarding {f} changes both"
            ),
            PerField::ModifyStrict => format!(
                "Modify-strict of the flow wildcarding {f} changes only it; a frame with another {f} goes the new way"
            ),
            PerField::Overlap => format!(
                "CHECK_OVERLAP: a flow with another {f} is accepted, a flow wildcarding {f} at the same priority gets OVERLAP"
            ),
            PerField::FlowStats => format!(
                "Flow statistics filtered by a match exact on {f} list only that flow; wildcarding {f}, every flow"
            ),
            PerField::Aggregate => format!(
                "Aggregate statistics filtered by a match exact on {f} count one flow; wildcarding {f}, every flow"
            ),
        }
    }

    fn group(self) -> &'static str {
        match self {
            PerField::FlowStats | PerField::Aggregate => "stats",
            _ => "flow_mod",
        }
    }

    fn section(self) -> &'static str {
        match self {
            PerField::Priority => "§3.4, §5.2.3",
            PerField::FlowStats | PerField::Aggregate => "§5.3.5",
            _ => "§4.6, §5.3.3",
        }
    }
}

impl Family10 {
    fn id(self) -> String {
        match self {
            Family10::Field(k, f) => format!("{}.{}", k.name(), f.name()),
            Family10::Prefix { dst, len } => {
                format!("match.nw_{}_prefix_{len}", if dst { "dst" } else { "src" })
            }
            Family10::SetValue(i) => format!("action.{}", SET_VALUES.get(i).copied().unwrap_or("?")),
        }
    }

    fn title(self) -> String {
        match self {
            Family10::Field(k, f) => k.title(f.name()),
            Family10::Prefix { dst, len } => format!(
                "A flow on nw_{} /{len} forwards a frame differing in a wildcarded bit and drops one differing in the last prefix bit",
                if dst { "dst" } else { "src" }
            ),
            Family10::SetValue(i) => format!(
                "Action {} gives the expected frame",
                SET_VALUES.get(i).copied().unwrap_or("?")
            ),
        }
    }
}

/// The generated 1.0 cases, ids prefixed with `prefix`.
pub(crate) fn cases(version: u8, prefix: &str) -> Vec<Case> {
    let mut out = Vec::new();
    let mut push = |f: Family10, group: &'static str, section: &'static str, required: bool| {
        out.push(Case {
            id: format!("{prefix}.{}", f.id()),
            group,
            title: f.title(),
            section,
            ts026: None,
            required,
            version,
            body: Body::Family10(f),
        });
    };
    for k in PER_FIELD {
        for f in per_field_fields() {
            push(Family10::Field(*k, f), k.group(), k.section(), true);
        }
    }
    for dst in [false, true] {
        for len in PREFIXES {
            push(Family10::Prefix { dst, len: *len }, "match", "§5.2.3", true);
        }
    }
    for i in 0..SET_VALUES.len() {
        push(Family10::SetValue(i), "action", "§5.2.4", false);
    }
    out
}

/// The wildcard bits of the field itself (for the IP addresses: every bit of the address).
fn own_bits(f: Field) -> Option<(u32, u32)> {
    use Field::*;
    Some(match f {
        EthSrc => (w::DL_SRC, w::DL_SRC),
        EthDst => (w::DL_DST, w::DL_DST),
        VlanVid => (w::DL_VLAN, w::DL_VLAN),
        VlanPcp => (w::DL_VLAN_PCP, w::DL_VLAN_PCP),
        EthType => (w::DL_TYPE, w::DL_TYPE),
        IpDscp => (w::NW_TOS, w::NW_TOS),
        IpProto | ArpOp => (w::NW_PROTO, w::NW_PROTO),
        Ipv4Src | ArpSpa => (w::NW_SRC_MASK, w::NW_SRC_ALL),
        Ipv4Dst | ArpTpa => (w::NW_DST_MASK, w::NW_DST_ALL),
        TcpSrc | UdpSrc | Icmpv4Type => (w::TP_SRC, w::TP_SRC),
        TcpDst | UdpDst | Icmpv4Code => (w::TP_DST, w::TP_DST),
        _ => return None,
    })
}

/// The match exact on the field (with its prerequisites) and the one with only the prerequisites.
fn matches(f: Field, p: &Probe) -> Option<(v10::Match, v10::Match)> {
    let exact = fields::v10_match(f, p, 1, false)?;
    let (clear, set) = own_bits(f)?;
    let mut wild = exact.clone();
    wild.wildcards = (wild.wildcards & !clear) | set;
    Some((exact, wild))
}

pub(super) fn out(port: u16) -> v10::Action {
    v10::Action::Output { port, max_len: 0 }
}

pub(super) fn fm(
    command: v10::FlowModCommand,
    priority: u16,
    m: v10::Match,
    actions: Vec<v10::Action>,
) -> OfMessage {
    OfMessage::V10(v10::Message::FlowMod(flow10(command, priority, m, actions)))
}

fn stats_req(m: v10::Match, aggregate: bool) -> OfMessage {
    let req = v10::stats::FlowStatsRequest {
        match_: m,
        table_id: 0xff,
        out_port: port_no::NONE,
    };
    let body = if aggregate {
        v10::StatsRequestBody::Aggregate(req)
    } else {
        v10::StatsRequestBody::Flow(req)
    };
    OfMessage::V10(v10::Message::StatsRequest(v10::StatsRequest { flags: 0, body }))
}

/// (priority, output ports) of the flows the filter selects, by priority.
pub(super) async fn flows(ctx: &Context<'_>, m: v10::Match) -> Result<Vec<(u16, Vec<u16>)>, CaseError> {
    let mut got = Vec::new();
    for part in ctx.stats(&stats_req(m, false), &[]).await? {
        if let OfMessage::V10(v10::Message::StatsReply(v10::StatsReply {
            body: v10::StatsReplyBody::Flow(fs),
            ..
        })) = part
        {
            got.extend(fs.iter().map(|s| {
                let outs = s
                    .actions
                    .iter()
                    .filter_map(|a| match a {
                        v10::Action::Output { port, .. } => Some(*port),
                        _ => None,
                    })
                    .collect();
                (s.priority, outs)
            }));
        }
    }
    got.sort();
    Ok(got)
}

async fn aggregate_count(ctx: &Context<'_>, m: v10::Match) -> Result<u32, CaseError> {
    for part in ctx.stats(&stats_req(m, true), &[]).await? {
        if let OfMessage::V10(v10::Message::StatsReply(v10::StatsReply {
            body: v10::StatsReplyBody::Aggregate(a),
            ..
        })) = part
        {
            return Ok(a.flow_count);
        }
    }
    Err(fail("no aggregate statistics in the reply"))
}

/// Sends the messages and a barrier; any error fails the case. No settle time: for steps the data plane
/// does not check.
async fn apply_ok(ctx: &Context<'_>, msgs: &[OfMessage]) -> Result<(), CaseError> {
    match ctx
        .errors_before_barrier(msgs)
        .await?
        .first()
        .and_then(error_code)
    {
        None => Ok(()),
        Some((t, c)) => Err(fail(format!("switch answered error type {t} code {c}"))),
    }
}

fn expect_flows(got: &[(u16, Vec<u16>)], want: &[(u16, Vec<u16>)], what: &str) -> Result<(), CaseError> {
    if got == want {
        Ok(())
    } else {
        Err(fail(format!(
            "{what}: flows (priority, outputs) {got:?}, expected {want:?}"
        )))
    }
}

/// Runs one generated 1.0 case.
pub(super) async fn run(f: Family10, ctx: &Context<'_>) -> Result<(), CaseError> {
    match f {
        Family10::Field(k, field) => per_field(k, field, ctx).await,
        Family10::Prefix { dst, len } => prefix(dst, len, ctx).await,
        Family10::SetValue(i) => {
            let name = SET_VALUES.get(i).copied().unwrap_or_default();
            let (input, mut actions, expected) =
                set_plan(name).ok_or_else(|| CaseError::Unknown(name.to_string()))?;
            actions.push(out(ctx.port10(1)));
            let m = v10::Match {
                wildcards: w::ALL & !w::IN_PORT,
                in_port: ctx.port10(0),
                ..v10::Match::default()
            };
            // BAD_ACTION: the switch does not have the action (every 1.0 set action is optional).
            ctx.program_ok(&[fm(v10::FlowModCommand::Add, 200, m, actions)], &[2])
                .await?;
            ctx.expect_forward(ctx.port(0), &input.build(), ctx.port(1), &expected.build())
                .await
        }
    }
}

#[allow(clippy::too_many_lines)]
async fn per_field(k: PerField, f: Field, ctx: &Context<'_>) -> Result<(), CaseError> {
    use v10::FlowModCommand as C;
    let (p1, p2, p3) = (ctx.port(0), ctx.port(1), ctx.port(2));
    let (q2, q3) = (ctx.port10(1), ctx.port10(2));
    let base = f.base();
    let other = fields::vary(f, &base, true).ok_or_else(|| CaseError::Unknown(f.name().into()))?;
    let (exact, wild) = matches(f, &base).ok_or_else(|| CaseError::Unknown(f.name().into()))?;
    let exact_flow = fm(C::Add, 200, exact.clone(), vec![out(q2)]);
    let wild_flow = fm(C::Add, 100, wild.clone(), vec![out(port_no::IN_PORT)]);
    let both = [exact_flow.clone(), wild_flow.clone()];
    let start = [(100, vec![port_no::IN_PORT]), (200, vec![q2])];
    match k {
        PerField::Priority => {
            ctx.program_ok(&both, &[]).await?;
            let (hit, miss) = (base.build(), other.build());
            ctx.expect_forward(p1, &hit, p2, &hit).await?;
            ctx.expect_forward(p1, &miss, p1, &miss).await
        }
        PerField::Delete => {
            apply_ok(ctx, &both).await?;
            apply_ok(ctx, &[fm(C::Delete, 0, exact.clone(), vec![])]).await?;
            expect_flows(
                &flows(ctx, v10::Match::all()).await?,
                &start[..1],
                "after a delete by the exact match",
            )?;
            apply_ok(ctx, &[exact_flow, fm(C::Delete, 0, wild.clone(), vec![])]).await?;
            expect_flows(
                &flows(ctx, v10::Match::all()).await?,
                &[],
                "after a delete by the wildcard match",
            )
        }
        PerField::DeleteStrict => {
            apply_ok(ctx, &both).await?;
            apply_ok(ctx, &[fm(C::DeleteStrict, 150, exact.clone(), vec![])]).await?;
            expect_flows(
                &flows(ctx, v10::Match::all()).await?,
                &start,
                "after delete-strict at another priority",
            )?;
            ctx.program_ok(&[fm(C::DeleteStrict, 200, exact.clone(), vec![])], &[])
                .await?;
            expect_flows(
                &flows(ctx, v10::Match::all()).await?,
                &start[..1],
                "after delete-strict of the exact flow",
            )?;
            // The frame with the value now takes the wildcard flow, back to its ingress.
            let hit = base.build();
            ctx.expect_forward(p1, &hit, p1, &hit).await
        }
        PerField::Modify => {
            apply_ok(ctx, &both).await?;
            apply_ok(ctx, &[fm(C::Modify, 0, exact.clone(), vec![out(q3)])]).await?;
            expect_flows(
                &flows(ctx, v10::Match::all()).await?,
                &[(100, vec![port_no::IN_PORT]), (200, vec![q3])],
                "after a modify by the exact match",
            )?;
            apply_ok(ctx, &[fm(C::Modify, 0, wild.clone(), vec![out(q2)])]).await?;
            expect_flows(
                &flows(ctx, v10::Match::all()).await?,
                &[(100, vec![q2]), (200, vec![q2])],
                "after a modify by the wildcard match",
            )
        }
        PerField::ModifyStrict => {
            apply_ok(ctx, &both).await?;
            ctx.program_ok(&[fm(C::ModifyStrict, 100, wild.clone(), vec![out(q3)])], &[])
                .await?;
            expect_flows(
                &flows(ctx, v10::Match::all()).await?,
                &[(100, vec![q3]), (200, vec![q2])],
                "after modify-strict of the wildcard flow",
            )?;
            let miss = other.build();
            ctx.expect_forward(p1, &miss, p3, &miss).await
        }
        PerField::Overlap => {
            let (other_exact, _) = matches(f, &other).ok_or_else(|| CaseError::Unknown(f.name().into()))?;
            let checked = |m: v10::Match| {
                let mut x = flow10(C::Add, 100, m, vec![out(q2)]);
                x.flags = CHECK_OVERLAP;
                OfMessage::V10(v10::Message::FlowMod(x))
            };
            apply_ok(ctx, &[fm(C::Add, 100, exact.clone(), vec![out(q2)])]).await?;
            apply_ok(ctx, &[checked(other_exact)])
                .await
                .map_err(|e| fail(format!("a flow with another {}: {e}", f.name())))?;
            let errors = ctx.errors_before_barrier(&[checked(wild.clone())]).await?;
            match errors.first().and_then(error_code) {
                Some(OVERLAP) => {}
                Some((t, c)) => {
                    return Err(fail(format!(
                        "overlapping flow got error type {t} code {c}, expected FLOW_MOD_FAILED/OVERLAP"
                    )))
                }
                None => return Err(fail("an overlapping flow with CHECK_OVERLAP was accepted")),
            }
            let n = flows(ctx, v10::Match::all()).await?.len();
            if n == 2 {
                Ok(())
            } else {
                Err(fail(format!("{n} flows after the refused add, expected 2")))
            }
        }
        PerField::FlowStats | PerField::Aggregate => {
            let (other_exact, _) = matches(f, &other).ok_or_else(|| CaseError::Unknown(f.name().into()))?;
            apply_ok(
                ctx,
                &[exact_flow, wild_flow, fm(C::Add, 201, other_exact, vec![out(q2)])],
            )
            .await?;
            if k == PerField::FlowStats {
                expect_flows(
                    &flows(ctx, exact.clone()).await?,
                    &start[1..],
                    "filter exact on the field",
                )?;
                let all: Vec<u16> = flows(ctx, wild.clone()).await?.iter().map(|e| e.0).collect();
                if all == [100, 200, 201] {
                    Ok(())
                } else {
                    Err(fail(format!(
                        "filter wildcarding the field: priorities {all:?}, expected [100, 200, 201]"
                    )))
                }
            } else {
                let (one, three) = (
                    aggregate_count(ctx, exact.clone()).await?,
                    aggregate_count(ctx, wild.clone()).await?,
                );
                if (one, three) == (1, 3) {
                    Ok(())
                } else {
                    Err(fail(format!(
                        "aggregate flow_count {one} (exact) and {three} (wildcard), expected 1 and 3"
                    )))
                }
            }
        }
    }
}

async fn prefix(dst: bool, len: u8, ctx: &Context<'_>) -> Result<(), CaseError> {
    let (p1, p2) = (ctx.port(0), ctx.port(1));
    let base = Probe::udp();
    let host_bits = 32 - u32::from(len);
    let (shift, mask) = if dst {
        (w::NW_DST_SHIFT, w::NW_DST_MASK)
    } else {
        (w::NW_SRC_SHIFT, w::NW_SRC_MASK)
    };
    let mut m = v10::Match::all();
    m.wildcards = (m.wildcards & !(w::DL_TYPE | mask)) | (host_bits << shift);
    m.dl_type = 0x0800;
    let flip = |bit: u32| {
        let mut p = base.clone();
        if let L3::Ipv4 { src, dst: d, .. } = &mut p.l3 {
            let a = if dst { d } else { src };
            *a = Ipv4Addr::from(u32::from(*a) ^ (1 << bit));
        }
        p
    };
    if let L3::Ipv4 { src, dst: d, .. } = &base.l3 {
        if dst {
            m.nw_dst = *d;
        } else {
            m.nw_src = *src;
        }
    }
    ctx.program_ok(
        &[fm(v10::FlowModCommand::Add, 200, m, vec![out(ctx.port10(1))])],
        &[],
    )
    .await?;
    let inside = flip(host_bits - 1).build();
    ctx.expect_forward(p1, &inside, p2, &inside).await?;
    let outside = flip(host_bits).build();
    ctx.expect_dropped(p1, &outside, &[p2]).await
}

/// Input probe, 1.0 actions and the expected probe of a set-value case.
fn set_plan(name: &str) -> Option<(Probe, Vec<v10::Action>, Probe)> {
    use v10::Action as A;
    let udp = Probe::udp();
    let tcp = Probe::tcp();
    let vlan = Probe::vlan();
    let mac = |b: [u8; 6]| MacAddr(b);
    let with = |p: &Probe, change: &dyn Fn(&mut Probe)| {
        let mut q = p.clone();
        change(&mut q);
        q
    };
    let set_ip = |p: &mut Probe, s: Option<Ipv4Addr>, d: Option<Ipv4Addr>| {
        if let L3::Ipv4 { src, dst, .. } = &mut p.l3 {
            *src = s.unwrap_or(*src);
            *dst = d.unwrap_or(*dst);
        }
    };
    let set_tos = |p: &mut Probe, tos: u8| {
        if let L3::Ipv4 { dscp, .. } = &mut p.l3 {
            *dscp = tos >> 2;
        }
    };
    let set_tp = |p: &mut Probe, s: Option<u16>, d: Option<u16>| {
        if let L3::Ipv4 {
            l4: L4::Udp { sport, dport } | L4::Tcp { sport, dport },
            ..
        } = &mut p.l3
        {
            *sport = s.unwrap_or(*sport);
            *dport = d.unwrap_or(*dport);
        }
    };
    let ip = Ipv4Addr::new;
    let tp = |p: &Probe, src: bool, v: u16| {
        let a = if src {
            A::SetTpSrc { tp_port: v }
        } else {
            A::SetTpDst { tp_port: v }
        };
        let q = with(p, &|q| {
            if src {
                set_tp(q, Some(v), None);
            } else {
                set_tp(q, None, Some(v));
            }
        });
        (p.clone(), vec![a], q)
    };
    let dl_src = |b: [u8; 6]| {
        (
            udp.clone(),
            vec![A::SetDlSrc { dl_addr: mac(b) }],
            with(&udp, &|q| q.eth_src = mac(b)),
        )
    };
    let dl_dst = |b: [u8; 6]| {
        (
            udp.clone(),
            vec![A::SetDlDst { dl_addr: mac(b) }],
            with(&udp, &|q| q.eth_dst = mac(b)),
        )
    };
    let (vlan_id, pcp) = vlan.vlan?;
    let vid = |vid: u16| {
        (
            vlan.clone(),
            vec![A::SetVlanVid { vlan_vid: vid }],
            with(&vlan, &|q| q.vlan = Some((vid, pcp))),
        )
    };
    let vpcp = |p: u8| {
        (
            vlan.clone(),
            vec![A::SetVlanPcp { vlan_pcp: p }],
            with(&vlan, &|q| q.vlan = Some((vlan_id, p))),
        )
    };
    let nw_src = |a: Ipv4Addr| {
        (
            udp.clone(),
            vec![A::SetNwSrc { nw_addr: a }],
            with(&udp, &|q| set_ip(q, Some(a), None)),
        )
    };
    let nw_dst = |a: Ipv4Addr| {
        (
            udp.clone(),
            vec![A::SetNwDst { nw_addr: a }],
            with(&udp, &|q| set_ip(q, None, Some(a))),
        )
    };
    let nw_tos = |tos: u8| {
        (
            udp.clone(),
            vec![A::SetNwTos { nw_tos: tos }],
            with(&udp, &|q| set_tos(q, tos)),
        )
    };
    Some(match name {
        "set_dl_src_02_11_22_33_44_55" => dl_src([2, 0x11, 0x22, 0x33, 0x44, 0x55]),
        "set_dl_src_00_00_5e_00_53_01" => dl_src([0, 0, 0x5e, 0, 0x53, 1]),
        "set_dl_dst_broadcast" => dl_dst([0xff; 6]),
        "set_dl_dst_02_aa_bb_cc_dd_ee" => dl_dst([2, 0xaa, 0xbb, 0xcc, 0xdd, 0xee]),
        "set_vlan_vid_1" => vid(1),
        "set_vlan_vid_4094" => vid(4094),
        // 1.0 §5.2.4: on a frame without a tag, a tag is added (priority 0 / VLAN id 0).
        "set_vlan_vid_untagged" => (
            udp.clone(),
            vec![A::SetVlanVid { vlan_vid: 300 }],
            with(&udp, &|q| q.vlan = Some((300, 0))),
        ),
        "set_vlan_pcp_0" => vpcp(0),
        "set_vlan_pcp_7" => vpcp(7),
        "set_vlan_pcp_untagged" => (
            udp.clone(),
            vec![A::SetVlanPcp { vlan_pcp: 5 }],
            with(&udp, &|q| q.vlan = Some((0, 5))),
        ),
        "strip_vlan" => (vlan.clone(), vec![A::StripVlan], udp.clone()),
        "strip_vlan_untagged" => (udp.clone(), vec![A::StripVlan], udp.clone()),
        "set_nw_src_10_1_2_3" => nw_src(ip(10, 1, 2, 3)),
        "set_nw_src_203_0_113_254" => nw_src(ip(203, 0, 113, 254)),
        "set_nw_dst_10_9_8_7" => nw_dst(ip(10, 9, 8, 7)),
        "set_nw_dst_203_0_113_1" => nw_dst(ip(203, 0, 113, 1)),
        "set_nw_tos_0" => nw_tos(0),
        "set_nw_tos_184" => nw_tos(184),
        "set_nw_tos_252" => nw_tos(252),
        "set_tp_src_udp_1" => tp(&udp, true, 1),
        "set_tp_src_udp_65535" => tp(&udp, true, 65535),
        "set_tp_dst_udp_1" => tp(&udp, false, 1),
        "set_tp_dst_udp_65535" => tp(&udp, false, 65535),
        "set_tp_src_tcp_1" => tp(&tcp, true, 1),
        "set_tp_src_tcp_65535" => tp(&tcp, true, 65535),
        "set_tp_dst_tcp_1" => tp(&tcp, false, 1),
        "set_tp_dst_tcp_65535" => tp(&tcp, false, 65535),
        "combined_dl_src_dl_dst" => {
            let (s, d) = (mac([2, 1, 1, 1, 1, 1]), mac([2, 2, 2, 2, 2, 2]));
            (
                udp.clone(),
                vec![A::SetDlSrc { dl_addr: s }, A::SetDlDst { dl_addr: d }],
                with(&udp, &|q| {
                    q.eth_src = s;
                    q.eth_dst = d;
                }),
            )
        }
        "combined_nw_src_nw_dst" => {
            let (s, d) = (ip(10, 0, 0, 1), ip(10, 0, 0, 2));
            (
                udp.clone(),
                vec![A::SetNwSrc { nw_addr: s }, A::SetNwDst { nw_addr: d }],
                with(&udp, &|q| set_ip(q, Some(s), Some(d))),
            )
        }
        "combined_tp_src_tp_dst_tcp" => (
            tcp.clone(),
            vec![A::SetTpSrc { tp_port: 1111 }, A::SetTpDst { tp_port: 2222 }],
            with(&tcp, &|q| set_tp(q, Some(1111), Some(2222))),
        ),
        "combined_vlan_vid_pcp" => (
            vlan.clone(),
            vec![A::SetVlanVid { vlan_vid: 42 }, A::SetVlanPcp { vlan_pcp: 6 }],
            with(&vlan, &|q| q.vlan = Some((42, 6))),
        ),
        "combined_l2_l3_l4" => {
            let (s, d) = (ip(10, 3, 3, 3), ip(10, 4, 4, 4));
            let (ms, md) = (mac([2, 3, 3, 3, 3, 3]), mac([2, 4, 4, 4, 4, 4]));
            (
                udp.clone(),
                vec![
                    A::SetDlSrc { dl_addr: ms },
                    A::SetDlDst { dl_addr: md },
                    A::SetNwSrc { nw_addr: s },
                    A::SetNwDst { nw_addr: d },
                    A::SetNwTos { nw_tos: 0x80 },
                    A::SetTpSrc { tp_port: 3333 },
                    A::SetTpDst { tp_port: 4444 },
                ],
                with(&udp, &|q| {
                    q.eth_src = ms;
                    q.eth_dst = md;
                    set_ip(q, Some(s), Some(d));
                    set_tos(q, 0x80);
                    set_tp(q, Some(3333), Some(4444));
                }),
            )
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_set_value_has_a_plan_that_changes_the_frame() {
        for name in SET_VALUES {
            let (input, actions, out) = set_plan(name).unwrap_or_else(|| panic!("{name}"));
            assert!(!actions.is_empty(), "{name}");
            if *name != "strip_vlan_untagged" {
                assert_ne!(input.build(), out.build(), "{name}");
            }
        }
    }

    #[test]
    fn per_field_matches_differ_only_in_the_field() {
        let n = per_field_fields().count();
        assert!(n >= 17, "{n} fields");
        for f in per_field_fields() {
            let (exact, wild) = matches(f, &f.base()).unwrap_or_else(|| panic!("{}", f.name()));
            assert_ne!(exact.wildcards, wild.wildcards, "{}", f.name());
        }
    }
}
