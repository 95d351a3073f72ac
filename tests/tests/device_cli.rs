//! `twister device` end to end: the real binary against a real controller whose inventory points at real sshd
//! and telnetd (on loopback) running the simulated network OS as the login shell; and a real station running a
//! test that calls `twister device run`, whose transcript must reach the run's logs with secrets masked.
//! Needs root (test users, sshd); skipped outside CI when root or a tool is missing.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use twister_device::testpeers::{self as peers, Flavour, Peer};
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

fn ssh_device(p: &Peer, f: Flavour) -> Value {
    json!({
        "protocol": "ssh", "host": "127.0.0.1", "port": p.port.to_string(), "user": f.user(),
        "password": peers::PASSWORD, "profile": f.profile(),
        "host_key_fingerprint": peers::host_key_fingerprint(p), "enable_secret": "enable-secret",
        "timeout": "15",
    })
}

async fn put(api: &Api, path: &str, props: Value) {
    let (s, b) = api
        .put(&format!("/resources{path}"), json!({ "properties": props }))
        .await;
    assert!(s == 200 || s == 201, "{path}: {s} {b}");
}

/// A lab: /tb1 with an SSH router and a Telnet switch (healthy), /tb2 with a wrong password, a dead port and
/// a device without a profile, /tb3 with a router behind a bastion (/lab/bastion).
struct Lab {
    c: TestController,
    admin: Cli,
    api: Api,
    _sshd: Peer,
    _bastion: Peer,
    _telnetd: Peer,
}

async fn lab() -> Option<Lab> {
    lab_with(None).await
}

/// The lab, its controller running the tests in `tests_dir` when given.
async fn lab_with(tests_dir: Option<std::path::PathBuf>) -> Option<Lab> {
    if !peers::available() {
        return None;
    }
    let sshd = peers::start_sshd().await;
    let bastion = peers::start_sshd().await;
    let telnetd = peers::start_telnetd().await;
    let c = TestController::start_with(&sqlite(), move |cfg| {
        cfg.tests_dir = tests_dir;
        cfg.stations.heartbeat_s = 1;
    })
    .await;
    let api = c.admin().await;
    put(&api, "/tb1/r1", ssh_device(&sshd, Flavour::Ios)).await;
    put(
        &api,
        "/tb1/sw1",
        json!({
            "protocol": "telnet", "host": "127.0.0.1", "port": telnetd.port.to_string(), "user": peers::USER,
            "password": peers::PASSWORD, "profile": "cisco-ios", "timeout": "15",
        }),
    )
    .await;
    let mut bad = ssh_device(&sshd, Flavour::Ios);
    bad["password"] = json!("not-the-password");
    put(&api, "/tb2/badpw", bad).await;
    let mut dead = ssh_device(&sshd, Flavour::Ios);
    dead["port"] = json!(peers::free_port().to_string());
    put(&api, "/tb2/dead", dead).await;
    let mut noprofile = ssh_device(&sshd, Flavour::Ios);
    noprofile.as_object_mut().unwrap().remove("profile");
    put(&api, "/tb2/noprofile", noprofile).await;
    put(&api, "/lab/bastion", ssh_device(&bastion, Flavour::Linux)).await;
    let mut behind = ssh_device(&sshd, Flavour::Ios);
    behind["jump_host"] = json!("/lab/bastion");
    put(&api, "/tb3/r2", behind).await;
    let admin = Cli::new(&c.url);
    admin.login("admin", ADMIN_PASSWORD).await;
    Some(Lab {
        c,
        admin,
        api,
        _sshd: sshd,
        _bastion: bastion,
        _telnetd: telnetd,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_config_console_and_copy_over_ssh_and_telnet() {
    let Some(lab) = lab().await else { return };
    let cli = &lab.admin;

    // run, over SSH and Telnet; a command the device rejects exits 1 with the device's message.
    for dev in ["/tb1/r1", "/tb1/sw1"] {
        let out = cli.run(&["device", "run", dev, "show", "version"]).await;
        assert_eq!(out.code, 0, "{out:?}");
        assert!(out.stdout.starts_with("Twister IOS-like Software"), "{out:?}");
    }
    let out = cli
        .run(&[
            "device",
            "run",
            "/tb1/r1",
            "show version",
            "--mode",
            "privileged",
            "--json",
        ])
        .await;
    assert_eq!(out.code, 0, "{out:?}");
    let doc = out.json();
    assert_eq!(
        (doc["ok"].clone(), doc["mode"].clone(), doc["prompt"].clone()),
        (json!(true), json!("privileged"), json!("R1#"))
    );
    let out = cli.run(&["device", "run", "/tb1/r1", "show nonsense"]).await;
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("% Invalid input"), "{out:?}");
    // A silent device: the timeout is honoured.
    let t0 = Instant::now();
    let out = cli
        .run(&["device", "run", "/tb1/sw1", "hang", "--timeout", "2"])
        .await;
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("timed out"), "{out:?}");
    assert!(t0.elapsed() < Duration::from_secs(30));

    // config from stdin; a rejected line exits 1 and names it.
    let out = cli
        .run_with_stdin(
            &["device", "config", "/tb1/r1"],
            Some("hostname EDGE\ninterface Gi0/1\n description uplink\n\n"),
        )
        .await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("applied 3 lines"), "{out:?}");
    let out = cli
        .run_with_stdin(
            &["device", "config", "/tb1/r1", "--json"],
            Some("hostname X\nfrobnicate\n"),
        )
        .await;
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.json()["failed_line"], "frobnicate");

    // console: keys typed go to the device; the escape key ends the session.
    let out = cli
        .run_with_stdin(&["device", "console", "/tb1/r1"], Some("show version\n\u{1d}"))
        .await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("R1>"), "{out:?}");
    let out = cli
        .run_with_stdin(
            &["device", "console", "/tb1/sw1", "--escape", "~"],
            Some("show version\n"),
        )
        .await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("Processor board ID"), "{out:?}");

    // SFTP put and get.
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("startup.cfg");
    std::fs::write(&local, "hostname EDGE\n".repeat(1000)).unwrap();
    let remote = format!("/tmp/twister-device-cli-{}.cfg", std::process::id());
    let out = cli
        .run(&[
            "device",
            "put",
            "/tb1/r1",
            local.to_str().unwrap(),
            &remote,
            "--json",
        ])
        .await;
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.json()["bytes"], 14000);
    let back = dir.path().join("back.cfg");
    let out = cli
        .run(&["device", "get", "/tb1/r1", back.to_str().unwrap(), &remote])
        .await;
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(std::fs::read(&back).unwrap(), std::fs::read(&local).unwrap());
    let _ = std::fs::remove_file(&remote);

    // Through the bastion.
    let out = cli.run(&["device", "run", "/tb3/r2", "show version"]).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.starts_with("Twister IOS-like"), "{out:?}");

    // Bad inventory data is a usage error naming the property; an unknown device is 3.
    let out = cli
        .run(&["device", "run", "/tb2/noprofile", "show version"])
        .await;
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("\"profile\" is missing"), "{out:?}");
    let out = cli.run(&["device", "run", "/tb9/none", "show version"]).await;
    assert_eq!(out.code, 3, "{out:?}");
    // A viewer may not read the secrets: 5.
    lab.c.user("vic", "viewer").await;
    let vic = Cli::new(&lab.c.url);
    vic.login("vic", "vic-password").await;
    let out = vic.run(&["device", "run", "/tb1/r1", "show version"]).await;
    assert_eq!(out.code, 5, "{out:?}");
    lab.c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_reports_each_device_and_fails_when_one_is_unhealthy() {
    let Some(lab) = lab().await else { return };
    let cli = &lab.admin;
    let out = cli.run(&["device", "check", "/tb1"]).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout.matches(" healthy ").count(), 2, "{out:?}");

    let out = cli
        .run(&["device", "check", "/tb2", "--json", "--timeout", "10"])
        .await;
    assert_eq!(out.code, 1, "{out:?}");
    let list = out.json();
    let by: std::collections::HashMap<String, Value> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["device"].as_str().unwrap().to_string(), h.clone()))
        .collect();
    assert_eq!(by.len(), 3, "{list:#}");
    assert!(by.values().all(|h| h["healthy"] == false), "{list:#}");
    let reason = |d: &str| by[d]["reason"].as_str().unwrap().to_string();
    assert!(reason("/tb2/badpw").contains("authentication failed"), "{list:#}");
    assert!(reason("/tb2/dead").contains("transport"), "{list:#}");
    assert!(
        reason("/tb2/noprofile").contains("\"profile\" is missing"),
        "{list:#}"
    );
    assert!(!out.stdout.contains("not-the-password"), "secrets never printed");

    let out = cli.run(&["device", "check", "/nothing-here"]).await;
    assert_eq!(out.code, 3, "{out:?}");
    lab.c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_test_on_a_station_logs_its_device_transcript_with_secrets_masked() {
    let tests = tempfile::tempdir().unwrap();
    let twister = twister_tests::binary("twister");
    let t = twister.display();
    std::fs::write(
        tests.path().join("dut.sh"),
        format!(
            "#!/bin/bash\nset -e\nexport TWISTER_DEVICE_AGENT_IDLE=5\n\
             {t} device run /tb1/r1 show version --mode privileged\n\
             {t} device run /tb1/sw1 show version\n"
        ),
    )
    .unwrap();
    // The second test finds the sessions of the first one open, and measures what that saves.
    std::fs::write(
        tests.path().join("again.sh"),
        format!(
            "#!/bin/bash\nset -e\nexport TWISTER_DEVICE_AGENT_IDLE=5\n\
             out=$({t} device run /tb1/r1 show version --json)\necho \"$out\"\n\
             echo \"$out\" | grep -q '\"reused\": true'\n\
             {t} device run /tb1/r1 show version | grep -q 'IOS-like'\n\
             ms() {{ echo $(( $(date +%s%N) / 1000000 )); }}\n\
             a=$(ms); for i in 1 2 3 4 5; do {t} device run /tb1/r1 show version >/dev/null; done; b=$(ms)\n\
             for i in 1 2 3 4 5; do TWISTER_DEVICE_AGENT=off {t} device run /tb1/r1 show version >/dev/null; done\n\
             c=$(ms)\necho \"timing: agent $(( (b-a)/5 )) ms per call, no agent $(( (c-b)/5 )) ms per call\"\n"
        ),
    )
    .unwrap();
    let Some(lab) = lab_with(Some(tests.path().to_path_buf())).await else {
        return;
    };
    let api = &lab.api;
    let _ws = StationProcess::start(api, "ws1", &["EP-1"]).await;
    let (s, b) = api
        .put(
            "/projects/devices",
            json!({"name": "devices", "suites": [{"name": "s", "eps": ["EP-1"], "testbed": "/tb1",
                "tests": [{"file": "dut.sh"}, {"file": "again.sh"}]}]}),
        )
        .await;
    assert!(s == 200 || s == 201, "{b}");
    let (s, r) = api.post("/runs", json!({"project": "devices"})).await;
    assert_eq!(s, 201, "{r}");
    let run = r["id"].as_str().unwrap().to_string();
    let t0 = Instant::now();
    let r = loop {
        let (_, r) = api.get(&format!("/runs/{run}")).await;
        if r["state"] == "finished" {
            break r;
        }
        assert!(t0.elapsed() < Duration::from_secs(90), "{r:#}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let (_, all) = api.get(&format!("/runs/{run}/logs?limit=10000")).await;
    let text = |stream: Option<&str>| {
        all.as_array()
            .unwrap()
            .iter()
            .filter(|l| stream.is_none_or(|s| l["stream"] == s))
            .map(|l| l["line"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(r["status"], "pass", "{r:#}\n{}", text(None));
    let device = text(Some("device"));
    assert!(device.contains("/tb1/r1 > show version"), "{device}");
    assert!(device.contains("/tb1/r1 < Twister IOS-like Software"), "{device}");
    assert!(device.contains("/tb1/r1 > enable"), "{device}");
    assert!(device.contains("login: twdevsim"), "{device}");
    // Both the login password (typed at the Telnet prompt) and the enable secret are masked.
    assert!(device.contains("/tb1/sw1 > ****"), "{device}");
    assert!(device.contains("/tb1/r1 > ****"), "{device}");
    // The second test reused the session: its transcript has no login, and a timing line says what it saved.
    let (_, again) = lab
        .api
        .get(&format!("/runs/{run}/logs?limit=10000&item=s1.t2&stream=device"))
        .await;
    let again: Vec<String> = again
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["line"].as_str().unwrap().to_string())
        .collect();
    assert!(again.iter().any(|l| l == "/tb1/r1 > show version"), "{again:?}");
    // Seven calls through the agent (no login), then five without it (TWISTER_DEVICE_AGENT=off, five logins).
    let first_login = again
        .iter()
        .position(|l| l.contains("terminal length 0"))
        .unwrap_or(again.len());
    let reused = again[..first_login]
        .iter()
        .filter(|l| *l == "/tb1/r1 > show version")
        .count();
    assert_eq!(reused, 7, "{again:?}");
    let logins = again.iter().filter(|l| l.contains("> terminal length 0")).count();
    assert_eq!(logins, 5, "{again:?}");
    let everything = text(None);
    if let Some(t) = everything.lines().find(|l| l.contains("timing: ")) {
        eprintln!("session reuse, twister device run /tb1/r1 'show version': {t}");
    }
    assert!(!everything.contains(peers::PASSWORD), "{everything}");
    assert!(!everything.contains("enable-secret"), "{everything}");
    lab.c.stop().await;
}
