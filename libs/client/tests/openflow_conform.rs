//! `twister openflow conform` end to end: the real binary against a private Open vSwitch.

#[allow(dead_code)]
#[path = "../../../openflow/tests/common/ovs.rs"]
mod ovs;

use std::net::TcpListener;
use std::process::{Command, Stdio};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

#[test]
fn conform_runs_against_ovs_and_writes_reports() {
    if !ovs::available("conform_runs_against_ovs_and_writes_reports") {
        return;
    }
    let sw = ovs::Ovs::start(3).expect("start OVS");
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let dir = tempfile::tempdir().expect("tempdir");
    let ports = (1..=3)
        .map(|i| format!("{i}@{}", sw.port(i).host_side))
        .collect::<Vec<_>>()
        .join(",");
    let child = Command::new(env!("CARGO_BIN_EXE_twister"))
        .args([
            "openflow", "conform", "--of", "1.3", "--listen", &addr, "--ports", &ports,
        ])
        .args(["--group", "basic", "--case", "of13.match.ipv4_src"])
        // A case that takes the channel down and carries on with the switch's next connection.
        .args([
            "--case",
            "of13.channel_flows_survive_reconnect",
            "--fail-mode",
            "secure",
        ])
        .arg("--report-dir")
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("twister runs");
    sw.set_controllers(&[addr.parse().expect("addr")])
        .expect("set-controller");
    let out = child.wait_with_output().expect("twister exits");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    // The cases of group basic plus the two named.
    let n = twister_openflow::conformance::catalogue(twister_openflow::OFP13_VERSION)
        .iter()
        .filter(|c| c.group == "basic")
        .count()
        + 2;
    assert!(n > 10, "group basic has {n} cases");
    assert!(stdout.contains(&format!("{n} cases: {n} pass")), "{stdout}");
    assert!(stderr.contains(&format!("[{n:>3}/{n}]")), "{stderr}");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("report.json")).expect("report.json"))
            .expect("json");
    let results = report["results"].as_array().expect("results");
    assert_eq!(results.len(), n);
    assert!(results.iter().all(|r| r["verdict"] == "pass"));
    let junit = std::fs::read_to_string(dir.path().join("junit.xml")).expect("junit.xml");
    assert!(junit.contains("name=\"of13.match.ipv4_src\""), "{junit}");
    assert!(dir.path().join("evidence/of13.handshake.pcapng").exists());

    // Bad flags are usage errors (exit 2) before anything listens.
    let bad = Command::new(env!("CARGO_BIN_EXE_twister"))
        .args([
            "openflow",
            "conform",
            "--of",
            "1.3",
            "--ports",
            "1@x",
            "--case",
            "of13.echo",
        ])
        .output()
        .expect("twister runs");
    assert_eq!(bad.status.code(), Some(2));
    let bad = Command::new(env!("CARGO_BIN_EXE_twister"))
        .args(["openflow", "conform", "--list", "--fail-mode", "open"])
        .output()
        .expect("twister runs");
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("secure or standalone"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    let list = Command::new(env!("CARGO_BIN_EXE_twister"))
        .args(["openflow", "conform", "--of", "1.0", "--list", "--group", "stats"])
        .output()
        .expect("twister runs");
    assert!(list.status.success());
    // 11 stats cases of both versions, flow and aggregate filtered by each of 18 fields, one by table.
    assert_eq!(String::from_utf8_lossy(&list.stdout).lines().count(), 48);
    // 1.3 cases carry their ONF TS-026 test number where one is known.
    let list = Command::new(env!("CARGO_BIN_EXE_twister"))
        .args([
            "openflow",
            "conform",
            "--of",
            "1.3",
            "--list",
            "--case",
            "of13.match.in_port",
        ])
        .output()
        .expect("twister runs");
    assert!(list.status.success());
    let text = String::from_utf8_lossy(&list.stdout);
    assert!(text.starts_with("of13.match.in_port\tmatch\t"), "{text}");
    assert_eq!(text.split('\t').nth(3), Some("60.20"), "{text}");
}
