//! The OpenFlow controller (`twister openflow controller`) as a service under the controller's service manager:
//! defined through the API, started, its REST API answering, killed with kill -9 and restarted by policy, stopped.
//! And the conformance suite as a project (`config/openflow`): one group run by a real station against a private
//! Open vSwitch, its verdict and summary in the run.

#![allow(clippy::unwrap_used)]

#[allow(dead_code)]
#[path = "../../openflow/tests/common/ovs.rs"]
mod ovs;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use twister_tests::station::StationProcess;
use twister_tests::{Api, Backend, TestController};

fn sqlite() -> Backend {
    Backend {
        name: "sqlite",
        url: String::new(),
    }
}

/// The repository's `config/openflow`.
fn shipped() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/openflow")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn wait_status(api: &Api, name: &str, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let t0 = Instant::now();
    loop {
        let (s, v) = api.get(&format!("/services/{name}")).await;
        assert_eq!(s, 200, "{v}");
        if ok(&v) {
            return v;
        }
        assert!(t0.elapsed() < Duration::from_secs(30), "{name} never {what}: {v}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the service's REST API lists its switches, and returns the list.
async fn switches(rest: &str, token: &str) -> Value {
    let http = reqwest::Client::new();
    let t0 = Instant::now();
    loop {
        if let Ok(r) = http
            .get(format!("{rest}/switches"))
            .bearer_auth(token)
            .send()
            .await
        {
            assert_eq!(r.status(), 200);
            return r.json().await.unwrap();
        }
        assert!(t0.elapsed() < Duration::from_secs(30), "{rest} never answered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn openflow_controller_runs_as_a_supervised_service() {
    let c = TestController::start_with(&sqlite(), |_| {}).await;
    let admin = c.admin().await;
    let (of_port, rest_port) = (free_port(), free_port());
    let rest = format!("http://127.0.0.1:{rest_port}");
    let token = "of-service-token";

    let def = json!({
        "name": "ofcontroller",
        "description": "OpenFlow learning switch and REST API",
        "command": twister_tests::binary("twister").to_string_lossy(),
        "args": ["openflow", "controller", "--listen", format!("127.0.0.1:{of_port}"),
                 "--rest", format!("127.0.0.1:{rest_port}")],
        "env": {"TWISTER_OF_TOKEN": token},
        "restart": "on-failure",
        "backoff_ms": 100
    });
    let (s, v) = admin.post("/services", def).await;
    assert_eq!(s, 201, "{v}");
    let (s, v) = admin.post("/services/ofcontroller/start", json!({})).await;
    assert_eq!(s, 200, "{v}");
    let first = wait_status(&admin, "ofcontroller", "ran", |v| {
        v["status"]["state"] == "running"
    })
    .await;
    let pid1 = first["status"]["pid"].as_u64().unwrap();

    // Its REST API answers: no switch has connected.
    assert_eq!(switches(&rest, token).await, json!([]));
    let r = reqwest::get(format!("{rest}/switches")).await.unwrap();
    assert_eq!(r.status(), 401, "the token the service was given is required");
    // Its OpenFlow port listens.
    tokio::net::TcpStream::connect(("127.0.0.1", of_port))
        .await
        .unwrap();

    // Killed from outside: restarted by policy, and serving again.
    // SAFETY: SIGKILL to the service process this test started through the controller.
    unsafe {
        libc::kill(pid1 as i32, libc::SIGKILL);
    }
    let second = wait_status(&admin, "ofcontroller", "restarted", |v| {
        v["status"]["state"] == "running" && v["status"]["pid"].as_u64().is_some_and(|p| p != pid1)
    })
    .await;
    assert!(second["status"]["restarts"].as_u64().unwrap() >= 1, "{second}");
    assert_eq!(switches(&rest, token).await, json!([]));
    let (_, logs) = admin.get("/services/ofcontroller/logs").await;
    let text = logs["text"].as_str().unwrap_or("");
    assert!(text.contains("signal 9"), "{text}");
    assert!(text.contains("REST API on http://127.0.0.1"), "{text}");
    assert!(!text.contains(token), "the token reached the log: {text}");

    // Stopped: the REST API is gone.
    let pid2 = second["status"]["pid"].as_u64().unwrap();
    let (s, v) = admin.post("/services/ofcontroller/stop", json!({})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"]["state"], "stopped");
    // SAFETY: signal 0 only checks that the process exists.
    assert!(unsafe { libc::kill(pid2 as i32, 0) } != 0, "{pid2} survived stop");
    assert!(reqwest::get(format!("{rest}/switches")).await.is_err());
    c.stop().await;
}

async fn wait_finished(api: &Api, run: &str, limit: Duration) -> Value {
    let t0 = Instant::now();
    loop {
        let (s, r) = api.get(&format!("/runs/{run}")).await;
        assert_eq!(s, 200, "{r}");
        if r["state"] == "finished" {
            return r;
        }
        assert!(
            t0.elapsed() < limit,
            "run {run} did not finish in {limit:?}: {r:#}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn run_log(api: &Api, run: &str) -> String {
    let (_, lines) = api.get(&format!("/runs/{run}/logs?limit=10000")).await;
    lines
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["line"].as_str().unwrap().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance_group_runs_as_a_project_on_a_station_against_ovs() {
    if !ovs::available("conformance_group_runs_as_a_project_on_a_station_against_ovs") {
        return;
    }
    let sw = ovs::Ovs::start(3).expect("start OVS");
    let listen = format!("127.0.0.1:{}", free_port());
    sw.set_controllers(&[listen.parse().unwrap()])
        .expect("set-controller");
    let ports = (1..=3)
        .map(|i| format!("{i}@{}", sw.port(i).host_side))
        .collect::<Vec<_>>()
        .join(",");

    let sources = tempfile::tempdir().unwrap();
    copy_dir(&shipped().join("tests"), sources.path());
    let dir = sources.path().to_path_buf();
    let c = TestController::start_with(&sqlite(), move |cfg| {
        cfg.tests_dir = Some(dir);
        cfg.stations.heartbeat_s = 1;
    })
    .await;
    let admin = c.admin().await;
    let _station = StationProcess::start(&admin, "ws-of", &["EP-of"]).await;

    // The data ports and the listen address come from the testbed; the program and report place from the test.
    let (s, b) = admin
        .put(
            "/resources/tb-of",
            json!({"properties": {"of_ports": ports, "of_listen": listen, "of_version": "1.3"}}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let reports = tempfile::tempdir().unwrap();
    let mut project: Value =
        serde_json::from_slice(&std::fs::read(shipped().join("project-openflow.json")).unwrap()).unwrap();
    let (s, b) = admin.put("/projects/openflow-conformance", project.clone()).await;
    assert!(s == 200 || s == 201, "the shipped project loads: {b}");
    assert_eq!(
        project["suites"].as_array().unwrap().len(),
        2,
        "a 1.3 and a 1.0 suite"
    );
    project["suites"] = json!([project["suites"][0].clone()]);
    let suite = &mut project["suites"][0];
    suite["eps"] = json!(["EP-of"]);
    suite["testbed"] = json!("/tb-of");
    let mut basic = suite["tests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["args"] == json!(["--group", "basic"]))
        .expect("a test for group basic")
        .clone();
    basic["properties"] = json!({
        "twister": twister_tests::binary("twister").to_string_lossy(),
        "of_report_dir": reports.path().to_string_lossy(),
    });
    suite["tests"] = json!([basic]);
    project["name"] = json!("of-basic");
    let (s, b) = admin.put("/projects/of-basic", project).await;
    assert!(s == 200 || s == 201, "{b}");

    // As many cases as the catalogue lists in group basic.
    let listed = std::process::Command::new(twister_tests::binary("twister"))
        .args(["openflow", "conform", "--of", "1.3", "--list", "--group", "basic"])
        .output()
        .expect("twister --list");
    let n = String::from_utf8_lossy(&listed.stdout).lines().count();
    assert!(n > 10, "group basic has {n} cases");
    let (s, r) = admin.post("/runs", json!({"project": "of-basic"})).await;
    assert_eq!(s, 201, "{r}");
    let run = r["id"].as_str().unwrap().to_string();
    let r = wait_finished(&admin, &run, Duration::from_secs(300)).await;
    let log = run_log(&admin, &run).await;
    assert_eq!(r["status"], "pass", "{r:#}\n{log}\n{}", sw.log());
    assert!(log.contains(&format!("summary: {n} pass")), "{log}");
    assert!(log.contains(&format!("{n} cases: {n} pass")), "{log}");
    let report = reports.path().join(&run).join("basic").join("report.json");
    let report: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(report["results"].as_array().unwrap().len(), n);
    // Saved for the reports (the project autosaves), one row for the group.
    let (s, rows) = admin.get(&format!("/runs/{run}/results")).await;
    assert_eq!(s, 200, "{rows}");
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert_eq!(rows[0]["file"], "openflow/conform.py");
    assert_eq!(rows[0]["suite"], "openflow13");
    assert_eq!(rows[0]["status"], "pass");

    drop(sw);
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance_test_without_data_ports_is_an_error() {
    let sources = tempfile::tempdir().unwrap();
    copy_dir(&shipped().join("tests"), sources.path());
    let dir = sources.path().to_path_buf();
    let c = TestController::start_with(&sqlite(), move |cfg| {
        cfg.tests_dir = Some(dir);
        cfg.stations.heartbeat_s = 1;
    })
    .await;
    let admin = c.admin().await;
    let _station = StationProcess::start(&admin, "ws-of", &["EP-of"]).await;
    let project = json!({"name": "of-misconfigured", "suites": [{"name": "of", "eps": ["EP-of"], "tests": [
        {"file": "openflow/conform.py", "id": "no-ports", "args": ["--group", "basic"]},
        {"file": "openflow/conform.py", "id": "no-group", "properties": {"of_ports": "1@a,2@b"}}
    ]}]});
    let (s, b) = admin.put("/projects/of-misconfigured", project).await;
    assert!(s == 200 || s == 201, "{b}");
    let (s, r) = admin.post("/runs", json!({"project": "of-misconfigured"})).await;
    assert_eq!(s, 201, "{r}");
    let run = r["id"].as_str().unwrap().to_string();
    let r = wait_finished(&admin, &run, Duration::from_secs(120)).await;
    let log = run_log(&admin, &run).await;
    let items = r["items"].as_array().unwrap();
    for id in ["s1.t1", "s1.t2"] {
        let item = items.iter().find(|i| i["id"] == id).unwrap();
        assert_eq!(
            item["status"], "error",
            "misconfigured tests are errors: {r:#}\n{log}"
        );
    }
    assert!(log.contains("no data ports: set the of_ports property"), "{log}");
    assert!(log.contains("give --group G (or --case ID)"), "{log}");
    c.stop().await;
}

/// The commented `[[services]]` example for the OpenFlow controller in config/controller.toml, uncommented, is a
/// valid configuration with a valid service definition.
#[test]
fn example_openflow_service_entry_is_valid() {
    let example =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/controller.toml"))
            .unwrap();
    let block = example
        .split("# The built-in OpenFlow controller")
        .nth(1)
        .expect("the OpenFlow service example is in config/controller.toml");
    let toml: String = block
        .lines()
        .skip_while(|l| !l.starts_with("# [[services]]"))
        .take_while(|l| l.starts_with("# "))
        .map(|l| format!("{}\n", &l[2..]))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("controller.toml");
    std::fs::write(&file, &toml).unwrap();
    let cfg = twister_controller::config::Config::from_file(&file)
        .unwrap_or_else(|e| panic!("{e}\n{toml}"))
        .validate()
        .unwrap();
    let def = cfg
        .services
        .iter()
        .find(|s| s.name == "openflow")
        .expect("the openflow service");
    def.validate().unwrap();
    assert_eq!(def.args[..2], ["openflow", "controller"]);
    assert!(def.env.contains_key("TWISTER_OF_TOKEN"));
}
