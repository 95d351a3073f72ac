//! ONF TS-026 test numbers (Conformance Test Specification for OpenFlow Switch Specification v1.3.4, Basic
//! Single Table Conformance Test Profile) of the 1.3 cases that check the same behaviour as one of its tests.
//!
//! The specification itself was not readable here: the numbers come from the Beijing Internet Institute's
//! implementation of the ONF 1.3 conformance certification tests (an OFTest port whose test classes carry the
//! specification's numbers and quote its purpose and methodology). Only cases whose check clearly matches that
//! test are listed; the others keep no number rather than a guess (docs/openflow.md).

/// (case id, TS-026 test number).
const NUMBERS: &[(&str, &str)] = &[
    ("of13.action_set_order", "130.250"),
    ("of13.add_replaces", "140.30"),
    ("of13.add_with_cookie_mask", "260.100"),
    ("of13.aggregate_cookie", "310.280"),
    ("of13.aggregate_out_port", "310.260"),
    ("of13.async_config", "200.230"),
    ("of13.auxiliary_id", "40.40"),
    ("of13.barrier", "200.170"),
    ("of13.capabilities", "40.50"),
    ("of13.channel_echo_timeout", "10.100"),
    ("of13.channel_fail_secure", "10.110"),
    ("of13.channel_fail_standalone", "10.120"),
    ("of13.channel_flows_survive_reconnect", "10.130"),
    ("of13.channel_hello_bitmap", "10.90"),
    ("of13.channel_hello_version_0", "10.80"),
    ("of13.channel_hello_version_field", "10.70"),
    ("of13.controller_max_len", "230.30"),
    ("of13.cookie_delete", "260.50"),
    ("of13.delete_flow_removed", "420.50"),
    ("of13.delete_more_specific", "140.150"),
    ("of13.delete_no_match", "140.120"),
    ("of13.delete_table_all", "140.220"),
    ("of13.echo", "450.40"),
    ("of13.echo_payload_0", "200.30"),
    ("of13.equal_priority_overlap", "140.20"),
    ("of13.error_action_bad_len", "430.260"),
    ("of13.error_add_table_all", "150.20"),
    ("of13.error_bad_action", "150.145"),
    ("of13.error_bad_buffer", "430.170"),
    ("of13.error_bad_len", "430.150"),
    ("of13.error_bad_mask", "150.130"),
    ("of13.error_bad_match_type", "430.640"),
    ("of13.error_bad_out_port", "430.290"),
    ("of13.error_bad_prereq", "80.180"),
    ("of13.error_bad_stat", "430.110"),
    ("of13.error_bad_table", "150.10"),
    ("of13.error_bad_type", "430.100"),
    ("of13.error_bad_version", "430.90"),
    ("of13.error_bad_wildcards", "430.690"),
    ("of13.error_clear_actions_len", "150.260"),
    ("of13.error_data_bad_action", "430.530"),
    ("of13.error_data_prefix", "430.20"),
    ("of13.error_dup_field", "80.200"),
    ("of13.error_experimenter_action", "430.270"),
    ("of13.error_experimenter_instruction", "430.590"),
    ("of13.error_experimenter_message", "440.680"),
    ("of13.error_experimenter_multipart", "430.120"),
    ("of13.error_experimenter_type", "430.130"),
    ("of13.error_flow_mod_bad_command", "440.80"),
    ("of13.error_flow_mod_bad_flags", "440.90"),
    ("of13.error_port_mod_bad_advertise", "440.290"),
    ("of13.error_port_mod_bad_config", "440.280"),
    ("of13.error_port_stats_bad_port", "430.200"),
    ("of13.error_push_vlan_ethertype", "150.190"),
    ("of13.error_queue_stats_bad_port", "440.360"),
    ("of13.error_set_config_bad_flags", "440.400"),
    ("of13.error_table_mod_bad_table", "440.320"),
    ("of13.error_unknown_field", "150.80"),
    ("of13.error_unknown_group", "150.170"),
    ("of13.error_unknown_instruction", "150.40"),
    ("of13.error_xid", "430.30"),
    ("of13.errors.bad_set_value.vlan_vid", "150.180"),
    ("of13.errors.bad_value.vlan_vid", "150.140"),
    ("of13.features_xid", "240.10"),
    ("of13.flow_delete_out_port", "140.180"),
    ("of13.flow_delete_strict", "140.130"),
    ("of13.flow_duration", "310.140"),
    ("of13.flow_modify", "260.150"),
    ("of13.flow_modify_strict", "260.160"),
    ("of13.flow_removed_counts", "420.70"),
    ("of13.flow_removed_fields", "420.20"),
    ("of13.flow_stats_cookie", "310.110"),
    ("of13.flow_stats_fields", "310.160"),
    ("of13.flow_stats_flags", "310.190"),
    ("of13.flow_stats_out_port", "310.80"),
    ("of13.flow_stats_table", "310.70"),
    ("of13.flow_unknown_meter", "150.175"),
    ("of13.get_config", "250.10"),
    ("of13.handshake", "40.10"),
    ("of13.hard_timeout", "260.200"),
    ("of13.idle_timeout", "420.30"),
    ("of13.match.eth_dst", "60.30"),
    ("of13.match.eth_src", "60.40"),
    ("of13.match.eth_type", "60.50"),
    ("of13.match.in_port", "60.20"),
    ("of13.match.ip_proto", "60.60"),
    ("of13.match.ipv4_dst", "60.80"),
    ("of13.match.ipv4_dst_masked", "80.60"),
    ("of13.match.ipv4_src", "60.70"),
    ("of13.match.ipv4_src_masked", "80.50"),
    ("of13.match.ipv6_dst", "60.100"),
    ("of13.match.ipv6_dst_masked", "80.80"),
    ("of13.match.ipv6_src", "60.90"),
    ("of13.match.ipv6_src_masked", "80.70"),
    ("of13.match.tcp_dst", "60.120"),
    ("of13.match.tcp_src", "60.110"),
    ("of13.match.udp_dst", "60.140"),
    ("of13.match.udp_src", "60.130"),
    ("of13.match_all_required_ipv4", "90.60"),
    ("of13.modify_ignores_out_port", "140.200"),
    ("of13.modify_keeps_cookie", "260.80"),
    ("of13.modify_no_match", "140.90"),
    ("of13.modify_strict_ignores_out_port", "260.320"),
    ("of13.n_tables_table_stats", "40.30"),
    ("of13.no_byt_counts", "260.390"),
    ("of13.no_instructions_drop", "100.10"),
    ("of13.no_pkt_counts", "260.380"),
    ("of13.output_all", "100.50"),
    ("of13.output_two_ports", "100.30"),
    ("of13.overlap_check", "140.10"),
    ("of13.packet_in_action", "410.140"),
    ("of13.packet_in_cookie", "410.200"),
    ("of13.packet_in_table_miss", "50.20"),
    ("of13.packet_out", "200.110"),
    ("of13.packet_out_bad_in_port", "390.90"),
    ("of13.packet_out_table_from_controller", "100.80"),
    ("of13.port_byte_counters", "340.70"),
    ("of13.port_counters", "340.50"),
    ("of13.port_desc_names", "340.240"),
    ("of13.port_desc_unique", "340.200"),
    ("of13.port_duration", "340.170"),
    ("of13.port_mod_bad_hw_addr", "440.270"),
    ("of13.port_mod_bad_port", "440.260"),
    ("of13.port_mod_down", "200.140"),
    ("of13.port_stats_single", "340.40"),
    ("of13.priority", "260.250"),
    ("of13.replace_no_flow_removed", "140.60"),
    ("of13.reset_counts", "140.80"),
    ("of13.set_config", "200.100"),
    ("of13.stats.aggregate", "300.150"),
    ("of13.stats.desc", "300.130"),
    ("of13.stats.flow", "300.140"),
    ("of13.stats.group", "300.190"),
    ("of13.stats.group_desc", "300.200"),
    ("of13.stats.group_features", "300.210"),
    ("of13.stats.meter", "300.220"),
    ("of13.stats.meter_config", "300.230"),
    ("of13.stats.meter_features", "300.240"),
    ("of13.stats.port", "300.170"),
    ("of13.stats.port_desc", "300.260"),
    ("of13.stats.queue", "300.180"),
    ("of13.stats.table", "300.160"),
    ("of13.stats.table_features", "300.250"),
    ("of13.stats.table_features.instructions", "320.470"),
    ("of13.stats.table_features.match", "60.10"),
    ("of13.table_counters", "180.10"),
    ("of13.table_features_ids", "320.190"),
    ("of13.table_features_max_entries", "330.110"),
    ("of13.table_features_metadata", "320.220"),
    ("of13.table_features_set_name", "320.200"),
    ("of13.table_features_set_omit_miss", "320.160"),
    ("of13.table_features_set_without_match", "320.180"),
    ("of13.table_ids_ascending", "320.20"),
    ("of13.table_miss_drop", "50.10"),
    ("of13.write_actions", "130.220"),
];

/// The TS-026 test number of a 1.3 case, where one is known.
pub fn number(case_id: &str) -> Option<&'static str> {
    NUMBERS.iter().find(|(id, _)| *id == case_id).map(|(_, n)| *n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_number_names_a_case_and_is_well_formed() {
        let ids: Vec<String> = super::super::catalogue::catalogue(crate::OFP13_VERSION)
            .into_iter()
            .map(|c| c.id)
            .collect();
        for (id, n) in NUMBERS {
            assert!(ids.iter().any(|i| i == id), "{id} is not a 1.3 case");
            let (suite, case) = n.split_once('.').unwrap();
            assert!(
                suite.parse::<u32>().is_ok() && case.parse::<u32>().is_ok(),
                "{id}: {n}"
            );
        }
        let with: Vec<_> = super::super::catalogue::catalogue(crate::OFP13_VERSION)
            .into_iter()
            .filter(|c| c.ts026.is_some())
            .collect();
        assert_eq!(with.len(), NUMBERS.len());
    }
}
