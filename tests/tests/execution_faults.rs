//! Faults during a run: the controller killed with SIGKILL and restarted mid-run, and a station's network link
//! cut and restored (a station in its own network namespace behind a veth pair). Nothing may be lost or doubled:
//! every output line arrives once, in order, and every result is recorded once.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use twister_tests::station::StationProcess;
use twister_tests::{in_ci, tool_missing, Api, ControllerProcess};

fn config_file(dir: &Path, tests: &Path) -> std::path::PathBuf {
    let p = dir.join("controller.toml");
    std::fs::write(
        &p,
        format!(
            "tests_dir = {:?}\n[stations]\nheartbeat_s = 1\nlost_after_s = 30\n",
            tests.display().to_string()
        ),
    )
    .unwrap();
    p
}

fn counting_script(tests: &Path) {
    // 40 numbered lines over about 4 seconds.
    std::fs::write(
        tests.join("count.sh"),
        "for i in $(seq 1 40); do echo \"line-$i\"; sleep 0.1; done\necho counted\n",
    )
    .unwrap();
    std::fs::write(tests.join("pass.sh"), "echo ok\n").unwrap();
}

async fn wait_finished(api: &Api, run: &str, limit: Duration) -> Value {
    let t0 = Instant::now();
    loop {
        if let Ok(Ok((200, _, r))) = tokio::time::timeout(
            Duration::from_secs(5),
            api.try_send(reqwest::Method::GET, &format!("/runs/{run}"), None, &[]),
        )
        .await
        {
            if r["state"] == "finished" {
                return r;
            }
        }
        assert!(t0.elapsed() < limit, "run {run} did not finish in {limit:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn wait_running(api: &Api, run: &str, item: &str) {
    for _ in 0..200 {
        let (_, r) = api.get(&format!("/runs/{run}")).await;
        if r["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["id"] == item && i["status"] == "running")
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{item} never ran");
}

/// The numbered lines of `item`, and how often the station reported it finished.
async fn lines_of(api: &Api, run: &str, item: &str) -> (Vec<String>, usize) {
    let (_, lines) = api
        .get(&format!("/runs/{run}/logs?item={item}&limit=10000"))
        .await;
    let all: Vec<String> = lines
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["line"].as_str().unwrap().to_string())
        .collect();
    let numbered = all.iter().filter(|l| l.starts_with("line-")).cloned().collect();
    let finished = all.iter().filter(|l| l.starts_with("finished:")).count();
    (numbered, finished)
}

fn expected_lines() -> Vec<String> {
    (1..=40).map(|i| format!("line-{i}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn controller_killed_mid_run_resumes_and_loses_nothing() {
    for backend in twister_tests::backends().await {
        controller_killed_on(&backend.url).await;
    }
}

async fn controller_killed_on(database_url: &str) {
    let dir = tempfile::tempdir().unwrap();
    let tests = dir.path().join("tests");
    std::fs::create_dir_all(&tests).unwrap();
    counting_script(&tests);
    let cfg = config_file(dir.path(), &tests);
    let data = dir.path().join("data");
    let mut ctl = ControllerProcess::start_with(
        &data,
        database_url,
        "127.0.0.1",
        &["--config", cfg.to_str().unwrap()],
    )
    .await;
    let admin = ctl.admin().await;
    let _ws = StationProcess::start(&admin, "ws1", &["EP-1"]).await;
    let (s, b) = admin
        .put(
            "/projects/restart",
            json!({"name": "restart", "suites": [{"name": "s", "eps": ["EP-1"], "tests": [
            {"file": "count.sh"}, {"file": "count.sh", "id": "second"}, {"file": "pass.sh"}]}]}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let (_, r) = admin.post("/runs", json!({"project": "restart"})).await;
    let run = r["id"].as_str().unwrap().to_string();
    wait_running(&admin, &run, "s1.t1").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    ctl.kill9();
    // The test goes on on the station meanwhile; its output waits in the station's spool.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    ctl.restart().await;
    let admin = ctl.admin().await;
    let r = wait_finished(&admin, &run, Duration::from_secs(60)).await;
    assert_eq!(r["status"], "pass", "{r:#}");
    for item in ["s1.t1", "s1.t2"] {
        let (lines, finished) = lines_of(&admin, &run, item).await;
        assert_eq!(lines, expected_lines(), "{item}: every line once, in order");
        assert_eq!(finished, 1, "{item}: one result");
    }
}

fn ip(args: &[&str]) -> bool {
    Command::new("ip")
        .args(args)
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// A network namespace with a veth pair to the root namespace; removed on drop.
struct Netns {
    name: String,
    host_if: String,
}

impl Drop for Netns {
    fn drop(&mut self) {
        ip(&["link", "del", &self.host_if]);
        ip(&["netns", "del", &self.name]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cut_station_link_loses_and_doubles_nothing() {
    let is_root = unsafe { libc::geteuid() } == 0;
    if !is_root || !ip(&["netns", "list"]) {
        if in_ci() {
            panic!("this test needs root and iproute2 in CI");
        }
        tool_missing("root and network namespaces");
        return;
    }
    // Addresses and names unique to this process, so parallel runs do not collide.
    let n = std::process::id() % 200 + 20;
    let ns = Netns {
        name: format!("twst{n}"),
        host_if: format!("twh{n}"),
    };
    let peer = format!("twp{n}");
    let host_ip = format!("10.231.{n}.1");
    let station_ip = format!("10.231.{n}.2");
    ip(&["netns", "del", &ns.name]);
    assert!(ip(&["netns", "add", &ns.name]));
    assert!(ip(&[
        "link",
        "add",
        &ns.host_if,
        "type",
        "veth",
        "peer",
        "name",
        &peer
    ]));
    assert!(ip(&["link", "set", &peer, "netns", &ns.name]));
    assert!(ip(&["addr", "add", &format!("{host_ip}/24"), "dev", &ns.host_if]));
    assert!(ip(&["link", "set", &ns.host_if, "up"]));
    assert!(ip(&[
        "-n",
        &ns.name,
        "addr",
        "add",
        &format!("{station_ip}/24"),
        "dev",
        &peer
    ]));
    assert!(ip(&["-n", &ns.name, "link", "set", &peer, "up"]));
    assert!(ip(&["-n", &ns.name, "link", "set", "lo", "up"]));

    let dir = tempfile::tempdir().unwrap();
    let tests = dir.path().join("tests");
    std::fs::create_dir_all(&tests).unwrap();
    counting_script(&tests);
    let cfg = config_file(dir.path(), &tests);
    let ctl = ControllerProcess::start_with(
        &dir.path().join("data"),
        "",
        &host_ip,
        &["--config", cfg.to_str().unwrap()],
    )
    .await;
    let admin = ctl.admin().await;
    let ws = StationProcess::start_in_netns(&admin, "ws1", &["EP-1"], &ns.name).await;
    let (s, b) = admin
        .put(
            "/projects/cut",
            json!({"name": "cut", "suites": [{"name": "s", "eps": ["EP-1"], "tests": [
            {"file": "count.sh"}, {"file": "pass.sh"}]}]}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let (_, r) = admin.post("/runs", json!({"project": "cut"})).await;
    let run = r["id"].as_str().unwrap().to_string();
    wait_running(&admin, &run, "s1.t1").await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    // Cut the wire for 5 s: longer than the station's dead-link detection (3 heartbeats), shorter than lost_after.
    assert!(ip(&["link", "set", &ns.host_if, "down"]));
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(ip(&["link", "set", &ns.host_if, "up"]));
    let r = wait_finished(&admin, &run, Duration::from_secs(60)).await;
    assert_eq!(r["status"], "pass", "{r:#}");
    let (lines, finished) = lines_of(&admin, &run, "s1.t1").await;
    assert_eq!(lines, expected_lines(), "every line once, in order");
    assert_eq!(finished, 1);
    drop(ws);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn station_killed_mid_test_and_restarted_reports_once() {
    let dir = tempfile::tempdir().unwrap();
    let tests = dir.path().join("tests");
    std::fs::create_dir_all(&tests).unwrap();
    counting_script(&tests);
    let cfg = config_file(dir.path(), &tests);
    let ctl = ControllerProcess::start_with(
        &dir.path().join("data"),
        "",
        "127.0.0.1",
        &["--config", cfg.to_str().unwrap()],
    )
    .await;
    let admin = ctl.admin().await;
    let mut ws = StationProcess::start(&admin, "ws1", &["EP-1"]).await;
    let (s, b) = admin
        .put(
            "/projects/crashy",
            json!({"name": "crashy", "suites": [{"name": "s", "eps": ["EP-1"], "tests": [
            {"file": "count.sh"}, {"file": "pass.sh"}]}]}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let (_, r) = admin.post("/runs", json!({"project": "crashy"})).await;
    let run = r["id"].as_str().unwrap().to_string();
    wait_running(&admin, &run, "s1.t1").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    ws.kill9();
    ws.spawn();
    let r = wait_finished(&admin, &run, Duration::from_secs(60)).await;
    let items = r["items"].as_array().unwrap();
    let t1 = items.iter().find(|i| i["id"] == "s1.t1").unwrap();
    assert_eq!(t1["status"], "error", "{t1}");
    assert!(
        t1["reason"].as_str().unwrap().contains("station restarted"),
        "{t1}"
    );
    let t2 = items.iter().find(|i| i["id"] == "s1.t2").unwrap();
    assert_eq!(
        t2["status"], "pass",
        "the station works on after its restart: {t2}"
    );
    // What the test printed before the kill arrived once each, in order: a prefix of the full count.
    let (lines, finished) = lines_of(&admin, &run, "s1.t1").await;
    assert!(!lines.is_empty() && lines.len() < 40, "{lines:?}");
    assert_eq!(lines, expected_lines()[..lines.len()].to_vec());
    assert!(finished <= 1);
}
