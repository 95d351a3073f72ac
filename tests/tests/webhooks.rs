//! Outgoing webhooks end to end: a receiver on loopback (axum) gets run, test-status, panic-detect and
//! reservation events from a real controller running a real station, and checks every HMAC-SHA256 signature; a
//! receiver that fails gets retries with back-off, all logged; one that always fails is given up on.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use serde_json::{json, Value};
use twister_tests::station::StationProcess;
use twister_tests::webhook_receiver::{verify, Receiver};
use twister_tests::{Api, Backend, TestController};

async fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !ok() {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn write(dir: &Path, name: &str, body: &str) {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, body).unwrap();
}

async fn deliveries(api: &Api, id: &str) -> Vec<Value> {
    let (s, v) = api.get(&format!("/webhooks/{id}/deliveries")).await;
    assert_eq!(s, 200, "{v}");
    v.as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn webhooks_are_signed_retried_and_logged_on_every_backend() {
    for backend in twister_tests::backends().await {
        eprintln!("backend {}", backend.name);
        signed_retried_and_logged(&backend).await;
    }
}

async fn signed_retried_and_logged(backend: &Backend) {
    let tests = tempfile::tempdir().unwrap();
    write(tests.path(), "sh/pass.sh", "echo fine\nexit 0\n");
    write(
        tests.path(),
        "sh/panics.sh",
        "echo 'Kernel panic - not syncing: VFS'\nsleep 20\n",
    );
    let dir = tests.path().to_path_buf();
    let c = TestController::start_with(backend, move |cfg| {
        cfg.tests_dir = Some(dir);
        cfg.stations.heartbeat_s = 1;
        cfg.webhooks.max_attempts = 3;
        cfg.webhooks.backoff_ms = 100;
    })
    .await;
    let admin = c.admin().await;

    let (good, good_addr) = Receiver::start(0).await;
    let (flaky, flaky_addr) = Receiver::start(2).await;
    let (dead, dead_addr) = Receiver::start(usize::MAX).await;

    // Bad input is refused; engineers cannot manage webhooks.
    for body in [
        json!({"url": "ftp://x/"}),
        json!({"url": "http://127.0.0.1:1/", "events": ["nope.*"]}),
        json!({"url": "http://127.0.0.1:1/", "secret": "short"}),
        json!({"events": ["*"]}),
    ] {
        let (s, b) = admin.post("/webhooks", body).await;
        assert_eq!(s, 422, "{b}");
    }
    let eng = c.user("eng", "engineer").await;
    assert_eq!(eng.get("/webhooks").await.0, 403);

    let secret = "s3cret-signing-key-1";
    let (s, hook) = admin
        .post(
            "/webhooks",
            json!({"url": format!("http://{good_addr}/hook"), "secret": secret,
                "events": ["run.*", "test.status", "panic.detected", "reservation.*"]}),
        )
        .await;
    assert_eq!(s, 201, "{hook}");
    assert_eq!(hook["secret"], secret);
    let hook_id = hook["id"].as_str().unwrap().to_string();
    let (_, listed) = admin.get("/webhooks").await;
    assert!(!listed.to_string().contains(secret), "{listed}");

    // A generated secret is shown once.
    let (s, fl) = admin
        .post(
            "/webhooks",
            json!({"url": format!("http://{flaky_addr}/hook"), "events": ["run.started"]}),
        )
        .await;
    assert_eq!(s, 201, "{fl}");
    let flaky_secret = fl["secret"].as_str().unwrap().to_string();
    assert!(flaky_secret.len() >= 32);
    let flaky_id = fl["id"].as_str().unwrap().to_string();
    let (s, dd) = admin
        .post(
            "/webhooks",
            json!({"url": format!("http://{dead_addr}/hook"), "events": ["run.finished"],
            "secret": "another-secret-key-2"}),
        )
        .await;
    assert_eq!(s, 201);
    let dead_id = dd["id"].as_str().unwrap().to_string();

    // A run with a panic on a real station.
    let _ws = StationProcess::start(&admin, "ws1", &["EP-1"]).await;
    admin
        .post(
            "/panic-patterns",
            json!({"pattern": "Kernel panic - not syncing"}),
        )
        .await;
    let doc = json!({"name": "hooked", "suites": [{"name": "s", "eps": ["EP-1"], "panic_detect": true,
        "tests": [{"file": "sh/pass.sh"}, {"file": "sh/panics.sh"}]}]});
    let (s, b) = admin.put("/projects/hooked", doc).await;
    assert!(s == 200 || s == 201, "{b}");
    let (s, r) = admin.post("/runs", json!({"project": "hooked"})).await;
    assert_eq!(s, 201, "{r}");
    let run = r["id"].as_str().unwrap().to_string();

    // A reservation change.
    admin.put("/resources/tb1", json!({})).await;
    let (s, b) = admin.reserve("/tb1", 60, false).await;
    assert!(s == 200 || s == 201, "{b}");

    let has = |name: &str| {
        let name = name.to_string();
        let got = good.got.clone();
        move || {
            got.lock().unwrap().iter().any(|g| {
                g.headers.get("x-twister-event").and_then(|v| v.to_str().ok()) == Some(name.as_str())
            })
        }
    };
    for name in [
        "run.started",
        "test.status",
        "panic.detected",
        "run.finished",
        "reservation.granted",
    ] {
        wait_for(name, has(name)).await;
    }
    let bodies: Vec<Value> = good
        .got
        .lock()
        .unwrap()
        .iter()
        .map(|g| verify(g, secret))
        .collect();
    let started = bodies.iter().find(|b| b["event"] == "run.started").unwrap();
    assert_eq!(started["data"]["id"], run.as_str());
    assert_eq!(started["data"]["user"], "admin");
    let panic = bodies.iter().find(|b| b["event"] == "panic.detected").unwrap();
    assert!(
        panic["data"]["data"]["reason"]
            .as_str()
            .unwrap()
            .starts_with("panic detected"),
        "{panic}"
    );
    let finished = bodies.iter().find(|b| b["event"] == "run.finished").unwrap();
    assert_eq!(finished["data"]["id"], run.as_str());
    let reservation = bodies
        .iter()
        .find(|b| b["event"] == "reservation.granted")
        .unwrap();
    assert_eq!(reservation["data"]["path"], "/tb1");
    // A tampered body fails the check.
    let mut tampered = good.got.lock().unwrap()[0].clone();
    tampered.body = Bytes::from(tampered.body.iter().copied().rev().collect::<Vec<u8>>());
    assert!(std::panic::catch_unwind(|| verify(&tampered, secret)).is_err());

    // The flaky receiver got the same delivery three times: two 500s, then success.
    wait_for("flaky success", || flaky.got.lock().unwrap().len() >= 3).await;
    let got = flaky.got.lock().unwrap().clone();
    let ids: Vec<&str> = got
        .iter()
        .map(|g| g.headers.get("x-twister-delivery").unwrap().to_str().unwrap())
        .collect();
    assert!(ids.iter().all(|i| *i == ids[0]), "{ids:?}");
    for g in &got {
        verify(g, &flaky_secret);
    }
    let t0 = Instant::now();
    let log = loop {
        let log = deliveries(&admin, &flaky_id).await;
        if log.iter().any(|d| d["outcome"] == "ok") || t0.elapsed() > Duration::from_secs(10) {
            break log;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let outcomes: Vec<(i64, String, i64)> = log
        .iter()
        .rev()
        .map(|d| {
            (
                d["attempt"].as_i64().unwrap(),
                d["outcome"].as_str().unwrap().to_string(),
                d["status"].as_i64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        vec![
            (1, "retry".into(), 500),
            (2, "retry".into(), 500),
            (3, "ok".into(), 204)
        ],
        "{log:?}"
    );

    // The dead receiver is given up on after max_attempts.
    wait_for("dead log", || dead.got.lock().unwrap().len() >= 3).await;
    let t0 = Instant::now();
    loop {
        let log = deliveries(&admin, &dead_id).await;
        if log.iter().any(|d| d["outcome"] == "failed") {
            assert_eq!(log.len(), 3, "{log:?}");
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(10), "{log:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(dead.got.lock().unwrap().len(), 3);

    // Disabled hooks get nothing; ping reaches even a disabled one; deleting removes it.
    let (s, v) = admin
        .patch(&format!("/webhooks/{hook_id}"), json!({"enabled": false}))
        .await;
    assert_eq!(s, 200, "{v}");
    let before = good.got.lock().unwrap().len();
    let (s, r) = admin.post("/runs", json!({"project": "hooked"})).await;
    assert_eq!(s, 201, "{r}");
    let (s, p) = admin.post(&format!("/webhooks/{hook_id}/ping"), json!({})).await;
    assert_eq!(s, 202, "{p}");
    wait_for("ping", has("ping")).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after: Vec<String> = good.got.lock().unwrap()[before..]
        .iter()
        .map(|g| verify(g, secret)["event"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(after, vec!["ping"]);
    assert_eq!(admin.delete(&format!("/webhooks/{hook_id}")).await.0, 204);
    assert_eq!(admin.get(&format!("/webhooks/{hook_id}")).await.0, 404);
    c.stop().await;
}

/// `twister webhook`: add (secret from stdin), list with the newest delivery, ping (signed with that secret),
/// the delivery log, disable and remove, through the real binary.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn webhooks_from_the_cli() {
    const SECRET: &str = "cli-secret-0123456789abcdef0123456789";
    let c = TestController::start(&Backend {
        name: "sqlite",
        url: String::new(),
    })
    .await;
    let (rx, addr) = Receiver::start(0).await;
    let cli = twister_tests::cli::Cli::new(&c.url);
    cli.login("admin", twister_tests::controller::ADMIN_PASSWORD)
        .await;
    let url = format!("http://{addr}/hook");
    let out = cli
        .run_with_stdin(
            &[
                "--json",
                "webhook",
                "add",
                &url,
                "--event",
                "run.*",
                "--secret-stdin",
            ],
            Some(&format!("{SECRET}\n")),
        )
        .await;
    assert_eq!(out.code, 0, "{out:?}");
    let id = out.json()["id"].as_str().unwrap().to_string();
    // The secret is shown once, on creation; never again.
    assert_eq!(out.json()["secret"], SECRET);
    let out = cli.run(&["--json", "webhook", "ls"]).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(!out.stdout.contains(SECRET), "the secret is listed: {out:?}");

    let out = cli.run(&["webhook", "ls"]).await;
    assert_eq!(out.code, 0, "{out:?}");
    let line = out.stdout.lines().find(|l| l.contains(&id)).unwrap();
    assert!(
        line.contains(&url) && line.contains("run.*") && line.contains("never"),
        "{line}"
    );

    let out = cli.run(&["webhook", "ping", &id]).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.starts_with("Ping sent"), "{out:?}");
    wait_for("the ping", || !rx.requests().is_empty()).await;
    let body = verify(&rx.requests()[0], SECRET);
    assert_eq!(body["event"], "ping", "{body}");

    // The list shows the newest attempt (time, outcome, HTTP status), the log every attempt.
    let t0 = Instant::now();
    loop {
        let out = cli.run(&["webhook", "ls"]).await;
        let line = out.stdout.lines().find(|l| l.contains(&id)).unwrap().to_string();
        if line.contains("ok 204") {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "no delivery listed: {line}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let out = cli.run(&["webhook", "deliveries", &id]).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout
            .lines()
            .any(|l| l.contains("ping") && l.contains("204")),
        "{out:?}"
    );

    let out = cli.run(&["webhook", "disable", &id]).await;
    assert_eq!(out.code, 0, "{out:?}");
    let listed = cli.run(&["--json", "webhook", "ls"]).await.json();
    assert_eq!(listed[0]["enabled"], false, "{listed}");
    assert_eq!(listed[0]["last_delivery"]["outcome"], "ok", "{listed}");

    let out = cli.run(&["webhook", "rm", &id]).await;
    assert_eq!(out.code, 0, "{out:?}");
    let out = cli.run(&["webhook", "ls"]).await;
    assert_eq!(out.stdout.trim(), "No webhooks.", "{out:?}");
    // Engineers cannot manage webhooks: the CLI exits with the authorisation code.
    c.user("bob", "engineer").await;
    let bob = twister_tests::cli::Cli::new(&c.url);
    bob.login("bob", "bob-password").await;
    assert_eq!(bob.run(&["webhook", "ls"]).await.code, 5);
    c.stop().await;
}
