//! The execution engine end to end: a real controller, real station processes, real tests in Bash, Python,
//! Tcl and Expect. Statuses, set-up and tear-down, optional tests, stop on failure, dependencies, repeats,
//! timeouts, pause / resume / stop, testbed reservation and locking, and a station killed in the middle.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use twister_tests::cli::Cli;
use twister_tests::controller::ADMIN_PASSWORD;
use twister_tests::station::StationProcess;
use twister_tests::{Api, Backend, TestController};

fn sqlite() -> Backend {
    Backend {
        name: "sqlite",
        url: String::new(),
    }
}

fn write(dir: &Path, name: &str, body: &str) {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, body).unwrap();
}

/// The test files every scenario uses.
fn scripts(dir: &Path) {
    write(dir, "sh/pass.sh", "#!/bin/bash\n# Passes\necho \"hello from $TWISTER_EP suite=$TWISTER_SUITE iter=$TWISTER_ITERATION\"\nexit 0\n");
    write(dir, "sh/fail.sh", "echo 'about to fail' >&2\nexit 1\n");
    write(dir, "sh/skip.sh", "echo 'nothing to do here'\nexit 77\n");
    write(
        dir,
        "sh/args.sh",
        "[ \"$1\" = --count ] && [ \"$2\" = 3 ] && echo args-ok && exit 0\necho \"bad args: $*\"\nexit 1\n",
    );
    write(
        dir,
        "sh/result.sh",
        "echo 'fail the device check' > \"$TWISTER_RESULT_FILE\"\nexit 0\n",
    );
    write(dir, "sh/slow.sh", "echo slow-start\nsleep 30\necho never\n");
    write(dir, "sh/sleep1.sh", "sleep 1\necho slept\n");
    write(dir, "py/props.py", "import json, os, sys\np = json.loads(os.environ['TWISTER_PROPERTIES'])\nprint('python dut=' + p['dut'])\nsys.exit(0 if p['dut'] == 'sw1' else 1)\n");
    write(
        dir,
        "tcl/hello.tcl",
        "puts \"tcl ok [info patchlevel]\"\nexit 0\n",
    );
    write(dir, "exp/dialog.exp", "set timeout 10\nspawn bash -c {echo READY; read x; echo \"got $x\"}\nexpect \"READY\"\nsend \"go\\r\"\nexpect {\n  \"got go\" { puts \"expect ok\"; exit 0 }\n  timeout { exit 1 }\n}\n");
}

async fn controller(lost_after_s: u64) -> (TestController, Api, tempfile::TempDir) {
    controller_on(&sqlite(), lost_after_s).await
}

async fn controller_on(backend: &Backend, lost_after_s: u64) -> (TestController, Api, tempfile::TempDir) {
    let tests = tempfile::tempdir().unwrap();
    scripts(tests.path());
    let dir = tests.path().to_path_buf();
    let c = TestController::start_with(backend, move |cfg| {
        cfg.tests_dir = Some(dir);
        cfg.stations.heartbeat_s = 1;
        cfg.stations.lost_after_s = lost_after_s;
    })
    .await;
    let admin = c.admin().await;
    (c, admin, tests)
}

async fn put_project(api: &Api, doc: Value) {
    let name = doc["name"].as_str().unwrap().to_string();
    let (s, b) = api.put(&format!("/projects/{name}"), doc).await;
    assert!(s == 200 || s == 201, "{b}");
}

async fn start(api: &Api, project: &str) -> String {
    let (s, r) = api.post("/runs", json!({ "project": project })).await;
    assert_eq!(s, 201, "{r}");
    r["id"].as_str().unwrap().to_string()
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
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn wait_item(api: &Api, run: &str, item: &str, status: &str) {
    for _ in 0..300 {
        let (_, r) = api.get(&format!("/runs/{run}")).await;
        if statuses(&r).get(item).map(|(s, _)| s.as_str()) == Some(status) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{item} of {run} never became {status}");
}

/// Item id -> (status, reason).
fn statuses(run: &Value) -> HashMap<String, (String, String)> {
    run["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["id"].as_str().unwrap().to_string(),
                (
                    i["status"].as_str().unwrap().to_string(),
                    i["reason"].as_str().unwrap_or("").to_string(),
                ),
            )
        })
        .collect()
}

async fn log_text(api: &Api, run: &str, item: Option<&str>) -> String {
    let q = item.map(|i| format!("&item={i}")).unwrap_or_default();
    let (_, lines) = api.get(&format!("/runs/{run}/logs?limit=10000{q}")).await;
    lines
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["line"].as_str().unwrap().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_semantic_on_two_stations() {
    for backend in twister_tests::backends().await {
        every_semantic_on(&backend).await;
    }
}

async fn every_semantic_on(backend: &Backend) {
    let (c, admin, _tests) = controller_on(backend, 30).await;
    let _ws1 = StationProcess::start(&admin, "ws1", &["EP-1"]).await;
    let _ws2 = StationProcess::start(&admin, "ws2", &["EP-2"]).await;
    put_project(&admin, json!({
        "name": "semantics",
        "suites": [
            {"name": "main", "eps": ["EP-1"], "tests": [
                {"file": "sh/pass.sh", "setup": true},
                {"file": "py/props.py", "properties": {"dut": "sw1"}},
                {"file": "tcl/hello.tcl"},
                {"file": "exp/dialog.exp"},
                {"file": "sh/args.sh", "args": ["--count", "3"]},
                {"file": "sh/fail.sh", "optional": true},
                {"file": "sh/skip.sh"},
                {"file": "sh/result.sh"},
                {"file": "sh/slow.sh", "timeout_s": 1},
                {"file": "sh/sleep1.sh", "runnable": false},
                {"file": "sh/args.sh", "id": "needs-fail", "depends_on": "sh/fail.sh"},
                {"file": "sh/pass.sh", "id": "after-fail", "depends_on": "sh/fail.sh", "depends_status": "fail"},
                {"file": "sh/pass.sh", "id": "rep", "repeat": 2},
                {"file": "sh/pass.sh", "id": "bye", "teardown": true}
            ]},
            {"name": "broken-setup", "eps": ["EP-2"], "tests": [
                {"file": "sh/fail.sh", "id": "setup-fails", "setup": true},
                {"file": "sh/pass.sh", "id": "never"},
                {"file": "sh/pass.sh", "id": "cleanup", "teardown": true}
            ]},
            {"name": "waits-for-main", "eps": ["EP-2"], "depends_on": "main", "tests": [
                {"file": "sh/pass.sh", "id": "late"}
            ]}
        ]
    })).await;
    let run = start(&admin, "semantics").await;
    let r = wait_finished(&admin, &run, Duration::from_secs(90)).await;
    let st = statuses(&r);
    let expect = [
        ("s1.t1", "pass"),
        ("s1.t2", "pass"),
        ("s1.t3", "pass"),
        ("s1.t4", "pass"),
        ("s1.t5", "pass"),
        ("s1.t6", "fail"),
        ("s1.t7", "skipped"),
        ("s1.t8", "fail"),
        ("s1.t9", "timeout"),
        ("s1.t10", "skipped"),
        ("s1.t11", "skipped"),
        ("s1.t12", "pass"),
        ("s1.t13", "pass"),
        ("s1.t14", "pass"),
        ("s1.t15", "pass"),
        ("s2.t1", "fail"),
        ("s2.t2", "not_executed"),
        ("s2.t3", "pass"),
    ];
    for (id, want) in expect {
        assert_eq!(st[id].0, want, "{id}: {:?}\n{r:#}", st[id]);
    }
    // Reasons say why.
    assert!(st["s1.t8"].1.contains("device check"), "{:?}", st["s1.t8"]);
    assert!(st["s1.t9"].1.contains("timed out"), "{:?}", st["s1.t9"]);
    assert!(st["s1.t10"].1.contains("not runnable"), "{:?}", st["s1.t10"]);
    assert!(
        st["s1.t11"].1.contains("depends on sh/fail.sh"),
        "{:?}",
        st["s1.t11"]
    );
    assert!(st["s2.t2"].1.contains("set-up"), "{:?}", st["s2.t2"]);
    // The suite that depends on "main" ran after it (main did not pass: it has failures, so it is skipped).
    assert_eq!(st["s3.t1"].0, "not_executed", "{:?}", st["s3.t1"]);
    assert!(st["s3"].1.contains("depends on suite main"), "{:?}", st["s3"]);
    // Roll-ups: the worst status wins.
    assert_eq!(st["s1"].0, "timeout");
    assert_eq!(r["status"], "timeout");
    assert_eq!(r["counts"]["planned"], 19);
    // Logs: each language spoke, in its test's segment, with the environment it was given.
    let all = log_text(&admin, &run, None).await;
    for needle in [
        "hello from EP-1 suite=main iter=1",
        "python dut=sw1",
        "tcl ok",
        "expect ok",
        "args-ok",
        "about to fail",
        "slow-start",
    ] {
        assert!(all.contains(needle), "missing {needle:?} in the run log:\n{all}");
    }
    assert!(
        !all.contains("never"),
        "the timed-out test was killed before printing more"
    );
    let one = log_text(&admin, &run, Some("s1.t2")).await;
    assert!(one.contains("python dut=sw1") && !one.contains("tcl ok"), "{one}");
    let (_, found) = admin.get(&format!("/runs/{run}/logs?q=tcl%20ok")).await;
    assert_eq!(found.as_array().unwrap().len(), 1, "{found}");
    // The repeat ran twice with its iteration number.
    assert!(log_text(&admin, &run, Some("s1.t14")).await.contains("iter=2"));
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stop_on_fail_pause_resume_and_stop() {
    let (c, admin, _tests) = controller(30).await;
    let _ws = StationProcess::start(&admin, "ws1", &["EP-1"]).await;
    // Stop on failure halts the run; tear-downs still run; optional failures never halt.
    put_project(
        &admin,
        json!({
            "name": "halting", "settings": {"stop_on_fail": true},
            "suites": [{"name": "s", "eps": ["EP-1"], "tests": [
                {"file": "sh/fail.sh", "optional": true},
                {"file": "sh/pass.sh"},
                {"file": "sh/fail.sh", "id": "hard"},
                {"file": "sh/pass.sh", "id": "skipped-by-halt"},
                {"file": "sh/pass.sh", "id": "td", "teardown": true}
            ]}]
        }),
    )
    .await;
    let run = start(&admin, "halting").await;
    let r = wait_finished(&admin, &run, Duration::from_secs(60)).await;
    let st = statuses(&r);
    assert_eq!(st["s1.t1"].0, "fail");
    assert_eq!(st["s1.t2"].0, "pass", "an optional failure does not halt");
    assert_eq!(st["s1.t3"].0, "fail");
    assert_eq!(st["s1.t4"].0, "not_executed");
    assert!(st["s1.t4"].1.contains("stopped on failure"), "{:?}", st["s1.t4"]);
    assert_eq!(st["s1.t5"].0, "pass", "tear-downs run after a halt");
    assert!(
        r["reason"].as_str().unwrap().contains("stopped on failure"),
        "{r}"
    );

    // Pause after the running test, resume, and everything runs; with a delay between tests.
    put_project(&admin, json!({
        "name": "pausing", "settings": {"delay_s": 0.2},
        "suites": [{"name": "s", "eps": ["EP-1"], "tests": [
            {"file": "sh/sleep1.sh", "id": "a"}, {"file": "sh/sleep1.sh", "id": "b"}, {"file": "sh/pass.sh"}
        ]}]
    })).await;
    let run = start(&admin, "pausing").await;
    wait_item(&admin, &run, "s1.t1", "running").await;
    let (s, r) = admin.post(&format!("/runs/{run}/pause"), json!({})).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["state"], "paused");
    wait_item(&admin, &run, "s1.t1", "pass").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (_, r) = admin.get(&format!("/runs/{run}")).await;
    assert_eq!(
        statuses(&r)["s1.t2"].0,
        "pending",
        "a paused run starts nothing new"
    );
    assert_eq!(admin.post(&format!("/runs/{run}/resume"), json!({})).await.0, 200);
    let r = wait_finished(&admin, &run, Duration::from_secs(30)).await;
    assert_eq!(r["status"], "pass", "{r:#}");

    // Stop kills the running test (aborted) and the rest is not executed.
    put_project(&admin, json!({
        "name": "stopping",
        "suites": [{"name": "s", "eps": ["EP-1"], "tests": [{"file": "sh/slow.sh"}, {"file": "sh/pass.sh"}]}]
    })).await;
    let run = start(&admin, "stopping").await;
    wait_item(&admin, &run, "s1.t1", "running").await;
    let t0 = Instant::now();
    assert_eq!(admin.post(&format!("/runs/{run}/stop"), json!({})).await.0, 200);
    let r = wait_finished(&admin, &run, Duration::from_secs(20)).await;
    assert!(
        t0.elapsed() < Duration::from_secs(10),
        "stop took {:?}",
        t0.elapsed()
    );
    let st = statuses(&r);
    assert_eq!(st["s1.t1"].0, "aborted", "{:?}", st["s1.t1"]);
    assert!(st["s1.t1"].1.contains("stopped by admin"), "{:?}", st["s1.t1"]);
    assert_eq!(st["s1.t2"].0, "not_executed");
    assert_eq!(r["status"], "aborted");
    // A finished run cannot be controlled any more.
    assert_eq!(admin.post(&format!("/runs/{run}/resume"), json!({})).await.0, 409);
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn testbeds_are_reserved_locked_and_released() {
    let (c, admin, _tests) = controller(30).await;
    let _ws = StationProcess::start(&admin, "ws1", &["EP-1"]).await;
    assert_eq!(admin.put("/resources/tb1/dev1", json!({})).await.0, 201);
    let bob = c.user("bob", "engineer").await;
    // Bob holds the testbed: the suite waits for it.
    let (s, held) = bob.reserve("/tb1", 600, false).await;
    assert_eq!(s, 201, "{held}");
    put_project(&admin, json!({
        "name": "bench",
        "suites": [{"name": "s", "eps": ["EP-1"], "testbed": "/tb1", "tests": [{"file": "sh/sleep1.sh"}, {"file": "sh/pass.sh"}]}]
    })).await;
    let run = start(&admin, "bench").await;
    wait_item(&admin, &run, "s1", "waiting").await;
    let (_, r) = admin.get(&format!("/runs/{run}")).await;
    assert!(statuses(&r)["s1"].1.contains("waiting for testbed /tb1"), "{r:#}");
    assert_eq!(
        bob.delete(&format!("/reservations/{}", held["id"].as_str().unwrap()))
            .await
            .0,
        200
    );
    // Granted and locked while the suite runs; bob cannot take it back meanwhile.
    wait_item(&admin, &run, "s1.t1", "running").await;
    let (_, node) = admin.get("/resources/tb1/dev1").await;
    assert_eq!(node["status"], "locked", "{node}");
    assert_eq!(bob.reserve("/tb1/dev1", 60, false).await.0, 409);
    let r = wait_finished(&admin, &run, Duration::from_secs(60)).await;
    assert_eq!(r["status"], "pass", "{r:#}");
    // Released at the end, and the history says who had it.
    let (_, node) = admin.get("/resources/tb1").await;
    assert_eq!(node["status"], "free", "{node}");
    let (_, hist) = admin.get("/reservations/history?path=/tb1").await;
    let hist = hist.as_array().unwrap();
    assert!(
        hist.iter()
            .any(|h| h["user"] == "admin" && h["state"] == "released"),
        "{hist:?}"
    );
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_station_killed_mid_test_is_lost_and_the_run_completes() {
    let (c, admin, _tests) = controller(3).await;
    let mut ws = StationProcess::start(&admin, "ws1", &["EP-1"]).await;
    assert_eq!(admin.put("/resources/tb1", json!({})).await.0, 201);
    put_project(&admin, json!({
        "name": "fragile",
        "suites": [
            {"name": "s", "eps": ["EP-1"], "testbed": "/tb1", "tests": [{"file": "sh/slow.sh"}, {"file": "sh/pass.sh"}]},
            {"name": "next", "eps": ["EP-1"], "tests": [{"file": "sh/pass.sh"}]}
        ]
    })).await;
    let run = start(&admin, "fragile").await;
    wait_item(&admin, &run, "s1.t1", "running").await;
    ws.kill9();
    let r = wait_finished(&admin, &run, Duration::from_secs(30)).await;
    let st = statuses(&r);
    assert_eq!(st["s1.t1"].0, "error", "{:?}", st["s1.t1"]);
    assert!(st["s1.t1"].1.contains("station lost"), "{:?}", st["s1.t1"]);
    assert_eq!(st["s1.t2"].0, "not_executed");
    assert_eq!(st["s2.t1"].0, "not_executed", "the rest of the station's suites");
    assert_eq!(admin.get("/resources/tb1").await.1["status"], "free");
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_cli_runs_a_project_and_writes_junit() {
    let (c, admin, tests) = controller(30).await;
    let _ws = StationProcess::start(&admin, "ws1", &["EP-1"]).await;
    let cli = Cli::new(&c.url);
    cli.login("admin", ADMIN_PASSWORD).await;
    let project = tests.path().join("p.json");
    std::fs::write(
        &project,
        json!({"name": "cli", "suites": [{"name": "smoke", "eps": ["EP-1"], "tests": [
        {"file": "sh/pass.sh"}, {"file": "sh/fail.sh", "optional": true}]}]})
        .to_string(),
    )
    .unwrap();
    assert_eq!(
        cli.run(&["project", "put", project.to_str().unwrap()]).await.code,
        0
    );
    let out = cli.run(&["eps"]).await;
    assert!(
        out.stdout.contains("EP-1") && out.stdout.contains("online"),
        "{out:?}"
    );
    let out = cli.run(&["run", "start", "--project", "cli", "--wait"]).await;
    assert_eq!(out.code, 7, "a failing run exits 7: {out:?}");
    assert!(out.stdout.contains("fail"), "{out:?}");
    let runs = cli.run(&["--json", "run", "ls"]).await.json();
    let id = runs[0]["id"].as_str().unwrap().to_string();
    let status = cli.run(&["run", "status"]).await;
    assert!(
        status.stdout.contains("1/2 executed") || status.stdout.contains("2/2 executed"),
        "{status:?}"
    );
    let details = cli
        .run(&["run", "details", &id, "--status-details", "finished"])
        .await;
    assert!(
        details.stdout.contains("pass.sh") && details.stdout.contains("fail.sh"),
        "{details:?}"
    );
    let logs = cli.run(&["run", "logs", &id, "--grep", "hello from"]).await;
    assert!(logs.stdout.contains("hello from EP-1"), "{logs:?}");
    // A suite saved as a predefined suite goes into another project.
    let saved = tests.path().join("smoke.json");
    assert_eq!(
        cli.run(&[
            "project",
            "suite-export",
            "cli",
            "smoke",
            "-o",
            saved.to_str().unwrap()
        ])
        .await
        .code,
        0
    );
    std::fs::write(
        tests.path().join("q.json"),
        json!({"name": "other", "suites": []}).to_string(),
    )
    .unwrap();
    assert_eq!(
        cli.run(&["project", "put", tests.path().join("q.json").to_str().unwrap()])
            .await
            .code,
        0
    );
    assert_eq!(
        cli.run(&["project", "suite-import", "other", saved.to_str().unwrap()])
            .await
            .code,
        0
    );
    assert_eq!(
        cli.run(&["project", "suite-import", "other", saved.to_str().unwrap()])
            .await
            .code,
        4
    );
    let other = cli.run(&["project", "get", "other"]).await.json();
    assert_eq!(other["suites"][0]["tests"][1]["file"], "sh/fail.sh");
    let text = reqwest::Client::new()
        .get(format!("{}/api/v1/runs/{id}/logs?format=text", c.url))
        .bearer_auth(admin.token.clone().unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("[stdout] hello from EP-1"), "{text}");
    let junit = tests.path().join("junit.xml");
    assert_eq!(
        cli.run(&["run", "junit", &id, "-o", junit.to_str().unwrap()])
            .await
            .code,
        0
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("tests=\"2\" failures=\"1\""), "{xml}");
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn helpers_globals_and_panic_detect() {
    let (c, admin, tests) = controller(30).await;
    let _ws = StationProcess::start(&admin, "ws1", &["EP-1"]).await;
    let _ws2 = StationProcess::start(&admin, "ws2", &["EP-2"]).await;
    let dir = tests.path();
    write(
        dir,
        "h/original.py",
        "from twister import *\n\
logMsg('logRunning', 'from python')\n\
assert getGlobal('/Config/speed') == '10G', getGlobal('/Config/speed')\n\
setGlobal('/Config/speed', '40G')\n\
assert getResource('/tb1/dev1:ip') == '10.0.0.1'\n\
assert getResourceStatus('/tb1') == 1\n\
setResource('dev2', '/tb1', {'ip': '10.0.0.2'})\n\
setResult('fail', 'python decided')\n",
    );
    write(dir, "h/reads.sh", "v=$(twister global get /Config/speed) || exit 1\ntwister log --kind summary \"speed is $v\"\n[ \"$v\" = 40G ] || exit 1\ntwister result skipped because I said so\n");
    write(dir, "h/reads.tcl", "source twister.tcl\nset v [getGlobal /Config/speed]\nlogMsg \"tcl sees $v\"\nif {$v ne \"40G\"} { exit 1 }\nexit 0\n");
    write(
        dir,
        "h/panics.sh",
        "echo booting\necho 'Kernel panic - not syncing: VFS'\nsleep 20\necho unreachable\n",
    );
    write(
        dir,
        "h/quiet.sh",
        "echo 'Kernel panic here is harmless: detection is off'\nexit 0\n",
    );
    assert_eq!(
        admin
            .put("/resources/tb1/dev1", json!({"properties": {"ip": "10.0.0.1"}}))
            .await
            .0,
        201
    );
    assert_eq!(
        admin
            .put("/globals/Config/speed", json!({"value": "10G"}))
            .await
            .0,
        200
    );
    let (s, b) = admin
        .post(
            "/panic-patterns",
            json!({"pattern": "Kernel panic - not syncing"}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(
        admin
            .post("/panic-patterns", json!({"pattern": "(unclosed"}))
            .await
            .0,
        422
    );
    put_project(&admin, json!({
        "name": "helpers",
        "suites": [
            {"name": "helpers", "eps": ["EP-1"], "tests": [
                {"file": "h/original.py"}, {"file": "h/reads.sh"}, {"file": "h/reads.tcl"}]},
            {"name": "panic", "eps": ["EP-2"], "panic_detect": true, "tests": [{"file": "h/panics.sh"}, {"file": "sh/pass.sh"}]},
            {"name": "after-panic", "eps": ["EP-2"], "tests": [{"file": "sh/pass.sh"}]},
            {"name": "no-detect", "eps": ["EP-1"], "tests": [{"file": "h/quiet.sh"}]}
        ]
    })).await;
    let run = start(&admin, "helpers").await;
    let r = wait_finished(&admin, &run, Duration::from_secs(60)).await;
    let st = statuses(&r);
    assert_eq!(
        st["s1.t1"],
        ("fail".to_string(), "python decided".to_string()),
        "{r:#}"
    );
    assert_eq!(st["s1.t2"].0, "skipped", "{:?}", st["s1.t2"]);
    assert_eq!(st["s1.t2"].1, "because I said so");
    assert_eq!(st["s1.t3"].0, "pass", "{:?}", st["s1.t3"]);
    assert_eq!(st["s2.t1"].0, "aborted", "{:?}", st["s2.t1"]);
    assert!(st["s2.t1"].1.contains("panic detected"), "{:?}", st["s2.t1"]);
    assert_eq!(st["s2.t2"].0, "not_executed");
    assert_eq!(st["s3.t1"].0, "not_executed", "panic detect stops the EP");
    assert_eq!(
        st["s4.t1"].0, "pass",
        "patterns only apply where panic detect is on"
    );
    let logs = log_text(&admin, &run, None).await;
    for needle in [
        "from python",
        "speed is 40G",
        "tcl sees 40G",
        "Kernel panic - not syncing",
    ] {
        assert!(logs.contains(needle), "missing {needle:?}:\n{logs}");
    }
    assert!(!logs.contains("unreachable"));
    // The original log kinds are kept apart: logMsg('logRunning', …) went to the running log.
    let (_, running) = admin.get(&format!("/runs/{run}/logs?stream=running")).await;
    let running: Vec<&str> = running
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["line"].as_str().unwrap())
        .collect();
    assert_eq!(running, ["from python"]);
    let (_, summary) = admin.get(&format!("/runs/{run}/logs?stream=summary,debug")).await;
    assert_eq!(summary.as_array().unwrap().len(), 1, "{summary}");
    assert_eq!(
        admin
            .post(&format!("/runs/{run}/log"), json!({"line": "x", "kind": "bogus"}))
            .await
            .0,
        422
    );
    // The python test created a resource through its scoped token.
    assert_eq!(admin.get("/resources/tb1/dev2:ip").await.1["value"], "10.0.0.2");
    // A run's values never change the defaults, and the next run starts from the defaults again.
    assert_eq!(admin.get("/globals/Config/speed").await.1["value"], "10G");
    assert_eq!(
        admin.get(&format!("/runs/{run}/globals/Config/speed")).await.1["value"],
        "40G"
    );
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn queue_and_dequeue_into_a_running_suite() {
    let (c, admin, _tests) = controller(30).await;
    let _ws = StationProcess::start(&admin, "ws1", &["EP-1"]).await;
    let cli = Cli::new(&c.url);
    cli.login("admin", ADMIN_PASSWORD).await;
    put_project(&admin, json!({
        "name": "queueing",
        "suites": [
            {"name": "smoke", "eps": ["EP-1"], "tests": [{"file": "sh/sleep1.sh"}, {"file": "sh/sleep1.sh", "id": "second"}, {"file": "sh/pass.sh", "id": "drop-me"}]},
            {"name": "later", "eps": ["EP-1"], "tests": [{"file": "sh/pass.sh", "id": "last"}]}
        ]
    })).await;
    let run = start(&admin, "queueing").await;
    wait_item(&admin, &run, "s1.t1", "running").await;
    // Queue by suite name, with arguments after `--`; de-queue a planned test that has not started.
    let out = cli
        .run(&[
            "run",
            "queue",
            "smoke:sh/args.sh",
            "--run",
            &run,
            "--",
            "--count",
            "3",
        ])
        .await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("s1.q1"), "{out:?}");
    let out = cli.run(&["run", "dequeue", "s1.t3", "--run", &run]).await;
    assert_eq!(out.code, 0, "{out:?}");
    // A running test cannot be de-queued; an unknown suite is 3.
    assert_eq!(cli.run(&["run", "dequeue", "s1.t1", "--run", &run]).await.code, 4);
    assert_eq!(
        cli.run(&["run", "queue", "nope:sh/pass.sh", "--run", &run])
            .await
            .code,
        3
    );
    assert_eq!(
        cli.run(&["run", "queue", "smoke:sh/missing.sh", "--run", &run])
            .await
            .code,
        2
    );
    let r = wait_finished(&admin, &run, Duration::from_secs(60)).await;
    let st = statuses(&r);
    assert_eq!(
        st["s1.q1"].0, "pass",
        "the queued test ran with its arguments: {r:#}"
    );
    assert!(!st.contains_key("s1.t3"), "the de-queued test is gone");
    assert_eq!(st["s2.t1"].0, "pass");
    // It ran inside its suite: after the planned tests, before the next suite.
    let order: Vec<&str> = r["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(order, ["s1", "s1.t1", "s1.t2", "s1.q1", "s2", "s2.t1"]);
    let q = log_text(&admin, &run, Some("s1.q1")).await;
    assert!(q.contains("args-ok"), "{q}");
    // Queueing into a finished run is refused.
    assert_eq!(
        cli.run(&["run", "queue", "s1:sh/pass.sh", "--run", &run])
            .await
            .code,
        3
    );
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pre_and_post_scripts() {
    let (c, admin, tests) = controller(30).await;
    let _ws = StationProcess::start(&admin, "ws1", &["EP-1"]).await;
    let dir = tests.path();
    write(
        dir,
        "scripts/pre.sh",
        "echo \"preparing the lab for $TWISTER_PROJECT\"\n",
    );
    write(dir, "scripts/post.py", "print('collecting crash dumps')\n");
    write(
        dir,
        "scripts/broken.sh",
        "echo 'power strip unreachable' >&2\nexit 2\n",
    );
    put_project(&admin, json!({
        "name": "scripted", "settings": {"pre_script": "scripts/pre.sh", "post_script": "scripts/post.py"},
        "suites": [{"name": "s", "eps": ["EP-1"], "tests": [{"file": "sh/pass.sh"}]}]
    })).await;
    let run = start(&admin, "scripted").await;
    let r = wait_finished(&admin, &run, Duration::from_secs(60)).await;
    assert_eq!(r["status"], "pass", "{r:#}");
    let log = log_text(&admin, &run, None).await;
    let pre = log
        .find("preparing the lab for scripted")
        .expect("pre-script output");
    let test = log.find("hello from EP-1").expect("test output");
    let post = log.find("collecting crash dumps").expect("post-script output");
    assert!(pre < test && test < post, "pre, test, post in order:\n{log}");
    // A mandatory pre-script that fails: nothing runs, and the run says why.
    put_project(
        &admin,
        json!({
            "name": "blocked", "settings": {"pre_script": "scripts/broken.sh", "scripts_mandatory": true},
            "suites": [{"name": "s", "eps": ["EP-1"], "tests": [{"file": "sh/pass.sh"}]}]
        }),
    )
    .await;
    let run = start(&admin, "blocked").await;
    let r = wait_finished(&admin, &run, Duration::from_secs(60)).await;
    assert_eq!(statuses(&r)["s1.t1"].0, "not_executed", "{r:#}");
    assert!(
        r["reason"]
            .as_str()
            .unwrap()
            .contains("pre-run script scripts/broken.sh failed (exit code 2)"),
        "{r}"
    );
    assert!(log_text(&admin, &run, None)
        .await
        .contains("power strip unreachable"));
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_idle_station_stays_linked() {
    // Heartbeats every second: a link the station hears nothing on for three periods is dropped, so an idle
    // station must keep hearing from the controller.
    let (c, admin, _tests) = controller(30).await;
    let _ws = StationProcess::start(&admin, "idle", &["EP-1"]).await;
    let (_, before) = admin.get("/stations/idle").await;
    let since = before["online_since"].as_str().unwrap().to_string();
    tokio::time::sleep(Duration::from_secs(6)).await;
    let (_, after) = admin.get("/stations/idle").await;
    assert_eq!(after["online"], true);
    assert_eq!(
        after["online_since"].as_str().unwrap(),
        since,
        "the link never dropped: {after}"
    );
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn original_test_variables_and_properties() {
    // The original inserted USER, EP, SUITE_NAME, FILE_NAME and currentTB in every test and read properties
    // with PROXY.getFileVariable(USER, EP, FILE_ID, name): the helpers offer the same names.
    let (c, admin, tests) = controller(30).await;
    let _ws = StationProcess::start(&admin, "ws1", &["EP-1"]).await;
    write(
        tests.path(),
        "o/vars.py",
        "from twister import *\n\
assert (USER, EP, SUITE_NAME, FILE_NAME, currentTB) == ('admin', 'EP-1', 'vars', 'o/vars.py', ''), \
(USER, EP, SUITE_NAME, FILE_NAME, currentTB)\n\
assert getFileVariable('var1') == 'v1', PROPERTIES\n\
assert getFileVariable(USER, EP, 'o/vars.py', 'var1') == 'v1'\n\
assert getFileVariable('missing') is None\n\
assert getGlobal('/Lab') == {'dut': {'ip': '10.0.0.1'}, 'speed': '10G'}, getGlobal('/Lab')\n\
assert getGlobal('/Lab/nothing') is False\n\
print('python variables ok')\n",
    );
    write(
        tests.path(),
        "o/vars.tcl",
        "source twister.tcl\n\
if {$USER ne \"admin\" || $EP ne \"EP-1\" || $SUITE_NAME ne \"vars\" || $FILE_NAME ne \"o/vars.tcl\"} {\n\
  puts \"bad: $USER $EP $SUITE_NAME $FILE_NAME\"; exit 1\n}\n\
puts \"tcl variables ok\"\nexit 0\n",
    );
    for (path, value) in [("/globals/Lab/dut/ip", "10.0.0.1"), ("/globals/Lab/speed", "10G")] {
        let (s, b) = admin.put(path, json!({ "value": value })).await;
        assert_eq!(s, 200, "{b}");
    }
    put_project(
        &admin,
        json!({"name": "vars", "suites": [{"name": "vars", "eps": ["EP-1"], "tests": [
            {"file": "o/vars.py", "properties": {"var1": "v1"}}, {"file": "o/vars.tcl"}]}]}),
    )
    .await;
    let run = start(&admin, "vars").await;
    let r = wait_finished(&admin, &run, Duration::from_secs(60)).await;
    let log = log_text(&admin, &run, None).await;
    assert_eq!(r["status"], "pass", "{r:#}\n{log}");
    assert!(
        log.contains("python variables ok") && log.contains("tcl variables ok"),
        "{log}"
    );
    c.stop().await;
}
