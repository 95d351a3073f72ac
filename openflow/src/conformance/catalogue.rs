//! The catalogue: hand-written cases from a table, and families generated from the field, action and stats
//! tables.

use super::actions::{ActionCase, OTHERS13, SET10};
use super::fields::{self, Carrier, Field};
use super::outcome::Outcome;
use super::probe::Probe;
use super::{
    channel_failure, channel_handshake, flow_options, flow_table, named10, pipeline, single_table,
    single_table_errors, single_table_info, single_table_paths, table_config, Body, Case,
};
use crate::{OFP10_VERSION, OFP13_VERSION};

pub(super) const V10: u8 = 1;
pub(super) const V13: u8 = 2;
pub(super) const BOTH: u8 = V10 | V13;

/// (name, group, title, 1.0 section, 1.3 section, required, versions, TS-026 number)
/// Whether `table` declares a case `name` for `version` (the modules' dispatch: a name may be declared
/// for 1.0 in one module and for 1.3 in another).
pub(super) fn declares(table: &[Named], name: &str, version: u8) -> bool {
    let bit = if version == OFP10_VERSION { V10 } else { V13 };
    table.iter().any(|n| n.0 == name && n.6 & bit != 0)
}

pub(super) type Named = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    bool,
    u8,
    Option<&'static str>,
);

const NAMED: &[Named] = &[
    (
        "handshake",
        "basic",
        "Hello and features reply with a datapath id",
        "§5.3.1",
        "§7.3.1",
        true,
        BOTH,
        None,
    ),
    (
        "echo",
        "basic",
        "Echo request is answered with the same payload",
        "§5.5.2",
        "§7.5.2",
        true,
        BOTH,
        None,
    ),
    (
        "features",
        "basic",
        "The data ports are listed (features reply / port description)",
        "§5.3.1",
        "§7.3.5.6",
        true,
        BOTH,
        None,
    ),
    (
        "get_config",
        "basic",
        "Get-config is answered with a config reply",
        "§5.3.2",
        "§7.3.2",
        true,
        BOTH,
        None,
    ),
    (
        "set_config",
        "basic",
        "Set-config changes miss_send_len as get-config shows",
        "§5.3.2",
        "§7.3.2",
        true,
        BOTH,
        None,
    ),
    (
        "barrier",
        "basic",
        "Barrier request is answered after earlier messages",
        "§5.3.7",
        "§7.3.8",
        true,
        BOTH,
        None,
    ),
    (
        "flow_add_delete",
        "flow_mod",
        "Added flow is in the flow statistics; deleted flow is gone",
        "§4.6",
        "§6.4",
        true,
        BOTH,
        None,
    ),
    (
        "flow_modify",
        "flow_mod",
        "Modify changes the actions of every matching flow",
        "§4.6",
        "§6.4",
        true,
        BOTH,
        None,
    ),
    (
        "flow_modify_strict",
        "flow_mod",
        "Modify-strict changes only the flow with the same match and priority",
        "§4.6",
        "§6.4",
        true,
        BOTH,
        None,
    ),
    (
        "flow_delete_strict",
        "flow_mod",
        "Delete-strict removes only the flow with the same match and priority",
        "§4.6",
        "§6.4",
        true,
        BOTH,
        None,
    ),
    (
        "flow_delete_out_port",
        "flow_mod",
        "Delete filtered by out_port removes only flows that output there",
        "§4.6",
        "§6.4",
        true,
        BOTH,
        None,
    ),
    (
        "priority",
        "flow_mod",
        "Of two overlapping flows the higher priority one is used",
        "§3.4",
        "§5.3",
        true,
        BOTH,
        None,
    ),
    (
        "overlap_check",
        "flow_mod",
        "Add with CHECK_OVERLAP over an overlapping flow fails with OVERLAP",
        "§4.6",
        "§6.4",
        true,
        BOTH,
        None,
    ),
    (
        "add_replaces",
        "flow_mod",
        "Adding an identical flow replaces it (one flow left)",
        "§4.6",
        "§6.4",
        true,
        BOTH,
        None,
    ),
    (
        "idle_timeout",
        "flow_mod",
        "A flow with an idle timeout expires and sends flow-removed (IDLE_TIMEOUT)",
        "§4.6",
        "§6.5",
        true,
        BOTH,
        None,
    ),
    (
        "hard_timeout",
        "flow_mod",
        "A flow with a hard timeout expires and sends flow-removed (HARD_TIMEOUT)",
        "§4.6",
        "§6.5",
        true,
        BOTH,
        None,
    ),
    (
        "delete_flow_removed",
        "flow_mod",
        "Deleting a flow with SEND_FLOW_REM sends flow-removed (DELETE)",
        "§4.6",
        "§6.5",
        true,
        BOTH,
        None,
    ),
    (
        "cookie_delete",
        "flow_mod",
        "Delete with a cookie mask removes only flows with that cookie",
        "",
        "§6.4",
        true,
        V13,
        None,
    ),
    (
        "packet_out",
        "packet",
        "Packet-out with an output action leaves on that port",
        "§5.3.6",
        "§7.3.7",
        true,
        BOTH,
        None,
    ),
    (
        "packet_out_all",
        "packet",
        "Packet-out to ALL leaves on every port but the ingress",
        "§5.3.6",
        "§7.3.7",
        true,
        BOTH,
        None,
    ),
    (
        "packet_out_flood",
        "packet",
        "Packet-out to FLOOD leaves on every port but the ingress",
        "§5.3.6",
        "§7.3.7",
        false,
        BOTH,
        None,
    ),
    (
        "packet_out_in_port",
        "packet",
        "Packet-out to IN_PORT goes back out of the ingress port",
        "§5.3.6",
        "§7.3.7",
        true,
        BOTH,
        None,
    ),
    (
        "packet_in_no_match",
        "packet",
        "A frame no flow matches comes to the controller (1.0 default)",
        "§4.5, §5.4.1",
        "",
        true,
        V10,
        None,
    ),
    (
        "packet_in_table_miss",
        "packet",
        "A table-miss flow to the controller gives a packet-in",
        "",
        "§5.4, §7.4.1",
        true,
        V13,
        None,
    ),
    (
        "packet_in_action",
        "packet",
        "An output-to-controller action gives a packet-in with reason ACTION",
        "§5.4.1",
        "§7.4.1",
        true,
        BOTH,
        None,
    ),
    (
        "table_miss_drop",
        "packet",
        "Without a table-miss flow an unmatched frame is dropped, no packet-in",
        "",
        "§5.4",
        true,
        V13,
        None,
    ),
    (
        "flow_counters",
        "counters",
        "Flow packet and byte counters count the forwarded frames",
        "§5.3.5",
        "§7.3.5.2",
        true,
        BOTH,
        None,
    ),
    (
        "port_counters",
        "counters",
        "Port rx/tx packet counters grow with the traffic",
        "§5.3.5",
        "§7.3.5.6",
        true,
        BOTH,
        None,
    ),
    (
        "aggregate_counters",
        "counters",
        "Aggregate statistics add up the flows",
        "§5.3.5",
        "§7.3.5.3",
        true,
        BOTH,
        None,
    ),
    (
        "table_counters",
        "counters",
        "Table statistics count lookups, matches and active flows",
        "§5.3.5",
        "§7.3.5.4",
        true,
        BOTH,
        None,
    ),
    (
        "port_stats_single",
        "counters",
        "Port statistics for one port list only that port",
        "§5.3.5",
        "§7.3.5.6",
        true,
        BOTH,
        None,
    ),
    (
        "port_mod_down",
        "port",
        "Port-mod PORT_DOWN is shown by a port-status message, then restored",
        "§5.3.3, §5.4.3",
        "§7.3.4.3, §7.4.3",
        false,
        BOTH,
        None,
    ),
    (
        "port_mod_no_fwd",
        "port",
        "Port-mod NO_FWD stops output on the port",
        "§5.3.3",
        "§7.3.4.3",
        false,
        BOTH,
        None,
    ),
    (
        "error_bad_version",
        "errors",
        "A message of an unsupported version gets BAD_REQUEST/BAD_VERSION",
        "§5.4.4",
        "§7.4.4",
        true,
        BOTH,
        None,
    ),
    (
        "error_bad_type",
        "errors",
        "An unknown message type gets BAD_REQUEST/BAD_TYPE",
        "§5.4.4",
        "§7.4.4",
        true,
        BOTH,
        None,
    ),
    (
        "error_bad_stat",
        "errors",
        "An unknown stats/multipart type gets BAD_REQUEST/BAD_STAT (BAD_MULTIPART)",
        "§5.4.4",
        "§7.4.4",
        true,
        BOTH,
        None,
    ),
    (
        "error_bad_len",
        "errors",
        "A message with a wrong length gets BAD_REQUEST/BAD_LEN",
        "§5.4.4",
        "§7.4.4",
        true,
        BOTH,
        None,
    ),
    (
        "error_bad_action",
        "errors",
        "An unknown action type gets BAD_ACTION/BAD_TYPE",
        "§5.4.4",
        "§7.4.4",
        true,
        BOTH,
        None,
    ),
    (
        "error_bad_out_port",
        "errors",
        "Output to a port that does not exist gets BAD_ACTION/BAD_OUT_PORT",
        "§5.4.4",
        "§7.4.4",
        true,
        BOTH,
        None,
    ),
    (
        "error_bad_buffer",
        "errors",
        "Packet-out from a buffer that does not exist gets BAD_REQUEST/BUFFER_UNKNOWN",
        "§5.4.4",
        "§7.4.4",
        true,
        BOTH,
        None,
    ),
    (
        "error_bad_table",
        "errors",
        "A flow-mod to a table that does not exist gets BAD_TABLE_ID",
        "",
        "§7.4.4",
        true,
        V13,
        None,
    ),
    (
        "error_bad_goto",
        "errors",
        "Goto-table to an earlier table gets BAD_INSTRUCTION/BAD_TABLE_ID",
        "",
        "§7.4.4",
        true,
        V13,
        None,
    ),
    (
        "error_unknown_group",
        "errors",
        "A group action to an unknown group gets BAD_ACTION/BAD_OUT_GROUP",
        "",
        "§7.4.4",
        true,
        V13,
        None,
    ),
    (
        "error_bad_prereq",
        "errors",
        "A match without its prerequisite gets BAD_MATCH/BAD_PREREQ",
        "",
        "§7.4.4",
        true,
        V13,
        None,
    ),
    (
        "goto_table",
        "instructions",
        "Goto-table continues in the next table",
        "",
        "§5.9",
        true,
        V13,
        None,
    ),
    (
        "write_metadata",
        "instructions",
        "Write-metadata is matched in the next table",
        "",
        "§5.9",
        false,
        V13,
        None,
    ),
    (
        "write_actions",
        "instructions",
        "Write-actions runs the action set at the end of the pipeline",
        "",
        "§5.9, §5.10",
        true,
        V13,
        None,
    ),
    (
        "clear_actions",
        "instructions",
        "Clear-actions empties the action set",
        "",
        "§5.9",
        true,
        V13,
        None,
    ),
    (
        "group_all",
        "groups",
        "An ALL group copies the frame to every bucket",
        "",
        "§5.6.1",
        false,
        V13,
        None,
    ),
    (
        "group_select",
        "groups",
        "A SELECT group with one bucket forwards by it",
        "",
        "§5.6.1",
        false,
        V13,
        None,
    ),
    (
        "group_indirect",
        "groups",
        "An INDIRECT group forwards by its bucket",
        "",
        "§5.6.1",
        true,
        V13,
        None,
    ),
    (
        "group_fast_failover",
        "groups",
        "A FAST_FAILOVER group uses its first live bucket",
        "",
        "§5.6.1",
        false,
        V13,
        None,
    ),
    (
        "group_exists",
        "groups",
        "Adding a group id twice gets GROUP_MOD_FAILED/GROUP_EXISTS",
        "",
        "§6.5, §7.4.4",
        true,
        V13,
        None,
    ),
    (
        "group_delete",
        "groups",
        "Deleting a group deletes the flows that use it",
        "",
        "§6.5",
        true,
        V13,
        None,
    ),
    (
        "meter_drop",
        "meters",
        "A meter with a drop band is applied by the meter instruction and counted",
        "",
        "§5.7",
        false,
        V13,
        None,
    ),
    (
        "role_master_slave",
        "role",
        "Role requests are answered; as SLAVE a flow-mod gets IS_SLAVE",
        "",
        "§6.3.5, §7.3.9",
        true,
        V13,
        None,
    ),
    (
        "role_stale",
        "role",
        "A stale generation id gets ROLE_REQUEST_FAILED/STALE",
        "",
        "§6.3.5",
        true,
        V13,
        None,
    ),
    (
        "async_config",
        "async",
        "Set-async is read back by get-async",
        "",
        "§7.3.10",
        true,
        V13,
        None,
    ),
];

/// The group names, in catalogue order.
pub fn groups() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for c in catalogue(OFP10_VERSION)
        .into_iter()
        .chain(catalogue(OFP13_VERSION))
    {
        if !out.contains(&c.group) {
            out.push(c.group);
        }
    }
    out
}

const STATS10: &[&str] = &["desc", "flow", "aggregate", "table", "port", "queue"];
const STATS13: &[&str] = &[
    "desc",
    "flow",
    "aggregate",
    "table",
    "port",
    "queue",
    "group",
    "group_desc",
    "group_features",
    "meter",
    "meter_config",
    "meter_features",
    "table_features",
    "port_desc",
];

/// Every case of one version (`OFP10_VERSION` or `OFP13_VERSION`); empty for other versions.
pub fn catalogue(version: u8) -> Vec<Case> {
    let (bit, prefix) = match version {
        OFP10_VERSION => (V10, "of10"),
        OFP13_VERSION => (V13, "of13"),
        _ => return Vec::new(),
    };
    let v13 = version == OFP13_VERSION;
    // The hand-written cases of these tables that this version has.
    let named = |tables: &[&'static [Named]]| -> Vec<Case> {
        tables
            .iter()
            .flat_map(|t| t.iter())
            .filter(|n| n.6 & bit != 0)
            .map(|(name, group, title, s10, s13, required, _, ts026)| Case {
                id: format!("{prefix}.{name}"),
                group,
                title: (*title).to_string(),
                section: if v13 { s13 } else { s10 },
                ts026: *ts026,
                required: *required,
                version,
                body: Body::Named(name),
            })
            .collect()
    };
    let mut out = named(&[
        NAMED,
        flow_table::NAMED,
        pipeline::NAMED,
        named10::NAMED,
        flow_options::NAMED,
        single_table::NAMED,
        single_table_errors::NAMED,
        single_table_paths::NAMED,
        single_table_info::NAMED,
    ]);
    // The group types again on IPv6 and ARP frames (the Ryu tester runs its group tests on IPv4, IPv6 and
    // ARP).
    let group_types: Vec<Case> = out
        .iter()
        .filter(|c| {
            matches!(
                c.body,
                Body::Named("group_all" | "group_select" | "group_indirect" | "group_fast_failover")
            )
        })
        .cloned()
        .collect();
    for c in group_types {
        let Body::Named(name) = c.body else { continue };
        for carrier in [Carrier::Udp6, Carrier::Arp] {
            out.push(Case {
                id: format!("{}.{}", c.id, carrier.name()),
                title: format!("{} (the {} frame)", c.title, carrier.label()),
                ts026: None,
                body: Body::Group { name, carrier },
                ..c.clone()
            });
        }
    }
    for kind in if v13 { STATS13 } else { STATS10 } {
        let required = !matches!(*kind, "queue" | "meter" | "meter_config" | "table_features");
        out.push(Case {
            id: format!("{prefix}.stats.{kind}"),
            group: "stats",
            title: format!("{kind} statistics request gets a {kind} reply"),
            section: if v13 { "§7.3.5" } else { "§5.3.5" },
            ts026: None,
            required,
            version,
            body: Body::Stats(kind),
        });
    }
    // One match case per field (and mask) on the field's own probe, then the same on other frames that
    // carry the field (IPv4/IPv6/ARP, other transports, a VLAN tag).
    // Each match case has three outcomes, as the Ryu tester runs them: the frame that has the value leaves
    // the flow's output port; a flow with output to CONTROLLER sends it as a packet-in; a frame that differs
    // misses the flow and goes to the controller through the table-miss flow entry (1.0: the switch's own
    // miss handling).
    let match_case = |f: Field, masked: bool, carrier: Option<Carrier>, outcome: Outcome| {
        let suffix = if masked { "_masked" } else { "" };
        let under = if masked { " under a mask" } else { "" };
        let (id_tail, frame) = match carrier {
            Some(c) => (format!(".{}", c.name()), format!("the {} frame", c.label())),
            None => (String::new(), "the frame".to_string()),
        };
        let name = f.name();
        let (title, section) = match outcome {
            Outcome::Output => (
                format!("A flow matching {name}{under} forwards {frame} that has it out of its output port"),
                if v13 { "§7.2.3.7" } else { "§5.2.3" },
            ),
            Outcome::PacketIn => (
                format!(
                    "A flow matching {name}{under} with output to CONTROLLER sends {frame} that has it as a \
                     packet-in (reason ACTION)"
                ),
                if v13 {
                    "§7.2.3.7, §7.4.1"
                } else {
                    "§5.2.3, §5.4.1"
                },
            ),
            Outcome::TableMiss if f == Field::InPort => (
                format!(
                    "{} from another port misses a flow matching in_port and reaches the controller as a \
                     no-match packet-in",
                    capitalised(&frame)
                ),
                if v13 { "§5.4, §7.4.1" } else { "§3.4, §5.4.1" },
            ),
            Outcome::TableMiss => (
                format!(
                    "{} with another {name} misses a flow matching it{under} and reaches the controller as a \
                     no-match packet-in{}",
                    capitalised(&frame),
                    if v13 { " through the table-miss flow entry" } else { "" }
                ),
                if v13 { "§5.4, §7.4.1" } else { "§3.4, §5.4.1" },
            ),
        };
        Case {
            id: format!("{prefix}.match.{name}{suffix}{id_tail}{}", outcome.id_suffix()),
            group: "match",
            title,
            section,
            ts026: None,
            required: if v13 { f.required() && !masked } else { true },
            version,
            body: Body::Match {
                field: f,
                masked,
                carrier,
                outcome,
            },
        }
    };
    // The table-miss outcome needs a frame that differs in the field (or, for in_port, another port).
    let can_miss = |f: Field, base: &Probe| {
        f == Field::InPort || (f.can_miss() && fields::vary(f, base, true).is_some())
    };
    let masks = |f: Field| [false, true].into_iter().filter(move |m| !m || f.maskable());
    let push_outcomes =
        |out: &mut Vec<Case>, f: Field, masked: bool, carrier: Option<Carrier>, base: &Probe| {
            for outcome in Outcome::ALL {
                if *outcome != Outcome::TableMiss || can_miss(f, base) {
                    out.push(match_case(f, masked, carrier, *outcome));
                }
            }
        };
    for f in fields::ALL {
        for masked in masks(*f) {
            if v13 || fields::v10_match(*f, &f.base(), 1, masked).is_some() {
                push_outcomes(&mut out, *f, masked, None, &f.base());
            }
        }
    }
    for f in fields::ALL {
        for masked in masks(*f) {
            for c in Carrier::ALL {
                if let Some(base) = c.probe(*f, masked, v13) {
                    push_outcomes(&mut out, *f, masked, Some(*c), &base);
                }
            }
        }
    }
    let mut action_cases: Vec<ActionCase> = Vec::new();
    if v13 {
        action_cases.extend(
            fields::ALL
                .iter()
                .filter(|f| f.settable())
                .map(|f| ActionCase::SetField(*f)),
        );
        action_cases.extend_from_slice(OTHERS13);
    } else {
        action_cases.extend(SET10.iter().map(|f| ActionCase::SetField(*f)));
    }
    // Each action on its default frame, out of a data port and to the controller (the packet-in carries
    // the frame as the actions left it); then on the other carriers it applies to, out of a data port.
    let action_case = |a: ActionCase, carrier: Option<Carrier>, outcome: Outcome| {
        let name = a.name();
        let on = carrier
            .map(|c| format!(" on the {} frame", c.label()))
            .unwrap_or_default();
        let (title, section) = match outcome {
            Outcome::PacketIn => (
                format!(
                    "Action {name}{on} then output to CONTROLLER: the packet-in carries the expected frame"
                ),
                if v13 {
                    "§5.12, §7.2.5, §7.4.1"
                } else {
                    "§5.2.4, §5.4.1"
                },
            ),
            _ => (
                format!("Action {name}{on} gives the expected frame"),
                if v13 { "§5.12, §7.2.5" } else { "§5.2.4" },
            ),
        };
        let id_tail = carrier.map(|c| format!(".{}", c.name())).unwrap_or_default();
        Case {
            id: format!("{prefix}.action.{name}{id_tail}{}", outcome.id_suffix()),
            group: "action",
            title,
            section,
            ts026: None,
            required: false,
            version,
            body: Body::Action {
                action: a,
                carrier,
                outcome,
            },
        }
    };
    let planned = |a: ActionCase, input: Probe| {
        if v13 {
            a.plan13_on(1, input).is_some()
        } else {
            a.plan10_on(input).is_some()
        }
    };
    for a in &action_cases {
        if planned(*a, a.default_input()) {
            out.push(action_case(*a, None, Outcome::Output));
            out.push(action_case(*a, None, Outcome::PacketIn));
        }
    }
    for a in &action_cases {
        for c in Carrier::ALL {
            if a.input_on(*c, v13).is_some_and(|input| planned(*a, input)) {
                out.push(action_case(*a, Some(*c), Outcome::Output));
            }
        }
    }
    out.extend(super::families::cases(version, prefix));
    out.extend(super::meters::cases(version, prefix));
    if !v13 {
        out.extend(super::families10::cases(version, prefix));
    }
    // Last: the cases that take the control channel down or reconfigure the switch's tables, so that
    // whatever they leave behind in the switch (reconnects, a revalidated fast path) cannot touch the
    // others.
    out.extend(named(&[
        channel_failure::NAMED,
        table_config::NAMED,
        channel_handshake::NAMED,
    ]));
    if v13 {
        for c in out.iter_mut().filter(|c| c.ts026.is_none()) {
            c.ts026 = super::ts026::number(&c.id);
        }
    }
    out
}

/// `text` with its first letter in upper case.
fn capitalised(text: &str) -> String {
    let mut c = text.chars();
    c.next()
        .map(|first| first.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_named_case_has_exactly_one_module_in_its_version() {
        let tables: [(&str, &[Named]); 12] = [
            ("catalogue", NAMED),
            ("flow_table", flow_table::NAMED),
            ("pipeline", pipeline::NAMED),
            ("named10", named10::NAMED),
            ("flow_options", flow_options::NAMED),
            ("single_table", single_table::NAMED),
            ("single_table_errors", single_table_errors::NAMED),
            ("single_table_paths", single_table_paths::NAMED),
            ("single_table_info", single_table_info::NAMED),
            ("channel_failure", channel_failure::NAMED),
            ("table_config", table_config::NAMED),
            ("channel_handshake", channel_handshake::NAMED),
        ];
        for version in [OFP10_VERSION, OFP13_VERSION] {
            for case in catalogue(version) {
                let Body::Named(name) = case.body else { continue };
                let owners: Vec<&str> = tables
                    .iter()
                    .filter(|(_, t)| declares(t, name, version))
                    .map(|(m, _)| *m)
                    .collect();
                assert_eq!(owners.len(), 1, "{}: declared by {owners:?}", case.id);
            }
        }
    }
}
