//! The scheduler end to end: a schedule fires a real run on a real station and the run shows in its history;
//! enable / disable; the CLI; and the missed-slot policy (skip, run once) across a controller killed and
//! restarted past a slot.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use twister_tests::cli::Cli;
use twister_tests::controller::ADMIN_PASSWORD;
use twister_tests::station::StationProcess;
use twister_tests::{Api, Backend, ControllerProcess, TestController};

fn write(dir: &Path, name: &str, body: &str) {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, body).unwrap();
}

async fn put_project(api: &Api, name: &str) {
    let doc =
        json!({"name": name, "suites": [{"name": "s", "eps": ["EP-1"], "tests": [{"file": "sh/pass.sh"}]}]});
    let (s, b) = api.put(&format!("/projects/{name}"), doc).await;
    assert!(s == 200 || s == 201, "{b}");
}

async fn wait_history(api: &Api, schedule: &str, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let t0 = Instant::now();
    loop {
        let (s, h) = api.get(&format!("/schedules/{schedule}/history")).await;
        assert_eq!(s, 200, "{h}");
        if let Some(e) = h.as_array().unwrap().iter().find(|e| ok(e)) {
            return e.clone();
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "{schedule}: no {what} in {h}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_schedule_fires_a_real_run() {
    for backend in twister_tests::backends().await {
        fires_on(&backend).await;
    }
}

async fn fires_on(backend: &Backend) {
    let tests = tempfile::tempdir().unwrap();
    write(tests.path(), "sh/pass.sh", "echo scheduled-ok\nexit 0\n");
    let dir = tests.path().to_path_buf();
    let c = TestController::start_with(backend, move |cfg| {
        cfg.tests_dir = Some(dir);
        cfg.stations.heartbeat_s = 1;
        cfg.scheduler.tick_ms = 100;
    })
    .await;
    let admin = c.admin().await;
    let _ws = StationProcess::start(&admin, "ws1", &["EP-1"]).await;
    put_project(&admin, "nightly").await;

    // Bad input is refused with the reason.
    for (body, needle) in [
        (
            json!({"name": "x", "cron": "* * *", "project": "nightly"}),
            "fields",
        ),
        (
            json!({"name": "x", "cron": "0 2 * * *", "timezone": "Mars/Base", "project": "nightly"}),
            "zone",
        ),
        (
            json!({"name": "x y", "cron": "0 2 * * *", "project": "nightly"}),
            "name",
        ),
        (
            json!({"name": "x", "cron": "0 2 * * *", "project": "nightly", "user": "ghost"}),
            "ghost",
        ),
    ] {
        let (s, b) = admin.post("/schedules", body).await;
        assert_eq!(s, 422, "{b}");
        assert!(b.to_string().contains(needle), "{b}");
    }

    // Every second, in a zone: fires a run as the admin.
    let (s, v) = admin
        .post(
            "/schedules",
            json!({"name": "nightly", "cron": "* * * * * *", "timezone": "Europe/Bucharest", "project": "nightly"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["user"], "admin");
    assert!(v["next"].is_string(), "{v}");
    let fired = wait_history(&admin, "nightly", "started run", |e| e["outcome"] == "started").await;
    let run = fired["run_id"].as_str().unwrap().to_string();
    let (s, v) = admin.post("/schedules/nightly/disable", json!({})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["enabled"], false);
    assert!(v.get("next").is_none(), "{v}");

    let t0 = Instant::now();
    let r = loop {
        let (_, r) = admin.get(&format!("/runs/{run}")).await;
        if r["state"] == "finished" {
            break r;
        }
        assert!(t0.elapsed() < Duration::from_secs(60), "{r}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(r["status"], "pass", "{r}");
    assert_eq!(r["user"], "admin");
    assert_eq!(r["project"], "nightly");
    // Disabled: nothing more fires.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_, h1) = admin.get("/schedules/nightly/history").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (_, h2) = admin.get("/schedules/nightly/history").await;
    assert_eq!(h1, h2);

    // A schedule whose project does not exist records the failure.
    admin
        .post(
            "/schedules",
            json!({"name": "broken", "cron": "* * * * * *", "project": "nope"}),
        )
        .await;
    let e = wait_history(&admin, "broken", "failure", |e| e["outcome"] == "failed").await;
    assert!(e["detail"].as_str().unwrap().contains("nope"), "{e}");
    admin.post("/schedules/broken/disable", json!({})).await;

    // Engineers schedule as themselves, not as others, and cannot touch others' schedules.
    let eng = c.user("eng", "engineer").await;
    let (s, _) = eng
        .post(
            "/schedules",
            json!({"name": "e1", "cron": "0 3 * * *", "project": "nightly", "user": "admin"}),
        )
        .await;
    assert_eq!(s, 403);
    let (s, v) = eng
        .post(
            "/schedules",
            json!({"name": "e1", "cron": "0 3 * * *", "project": "nightly"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(eng.post("/schedules/nightly/enable", json!({})).await.0, 403);
    assert_eq!(eng.delete("/schedules/nightly").await.0, 403);
    assert_eq!(eng.delete("/schedules/e1").await.0, 204);

    // The CLI.
    let cli = Cli::new(&c.url);
    cli.login("admin", ADMIN_PASSWORD).await;
    let out = cli
        .run(&[
            "schedule",
            "add",
            "weekly",
            "0 30 6 * * MON",
            "nightly",
            "--tz",
            "UTC",
            "--missed",
            "run_once",
        ])
        .await;
    assert_eq!(out.code, 0, "{out:?}");
    let out = cli.run(&["schedule", "ls"]).await;
    assert!(
        out.stdout.contains("weekly") && out.stdout.contains("run_once"),
        "{out:?}"
    );
    let out = cli.run(&["schedule", "history", "nightly"]).await;
    assert!(out.stdout.contains(&run), "{out:?}");
    assert_eq!(cli.run(&["schedule", "disable", "weekly"]).await.code, 0);
    assert_eq!(cli.run(&["schedule", "enable", "weekly"]).await.code, 0);
    assert_eq!(cli.run(&["schedule", "rm", "weekly"]).await.code, 0);
    assert_ne!(cli.run(&["schedule", "rm", "weekly"]).await.code, 0);
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missed_slots_across_a_restart() {
    let data = tempfile::tempdir().unwrap();
    let tests = tempfile::tempdir().unwrap();
    write(tests.path(), "sh/pass.sh", "exit 0\n");
    let config = data.path().join("controller.toml");
    std::fs::write(&config, "[scheduler]\ntick_ms = 100\ngrace_s = 1\n").unwrap();
    let mut ctl = ControllerProcess::start_with(
        &data.path().join("data"),
        "",
        "127.0.0.1",
        &[
            "--config",
            config.to_str().unwrap(),
            "--tests-dir",
            tests.path().to_str().unwrap(),
        ],
    )
    .await;
    let admin = ctl.admin().await;
    put_project(&admin, "p").await;
    // One slot a minute, a few seconds from now.
    let now = chrono_secs();
    let slot = now + 4;
    let cron = format!("{} * * * * *", slot % 60);
    for (name, missed) in [("skipper", "skip"), ("catcher", "run_once")] {
        let (s, v) = admin
            .post(
                "/schedules",
                json!({"name": name, "cron": cron, "project": "p", "missed": missed}),
            )
            .await;
        assert_eq!(s, 201, "{v}");
    }
    // Down across the slot, and for longer than the grace.
    ctl.kill9();
    while chrono_secs() < slot + 3 {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    ctl.restart().await;
    let admin = ctl.admin().await;
    let e = wait_history(&admin, "skipper", "missed", |e| e["outcome"] == "missed").await;
    assert!(e.get("run_id").is_none(), "{e}");
    assert!(e["detail"].as_str().unwrap().contains("skipped"), "{e}");
    let e = wait_history(&admin, "catcher", "catch-up", |e| e["outcome"] == "started").await;
    assert!(e["detail"].as_str().unwrap().contains("catch-up"), "{e}");
    let run = e["run_id"].as_str().unwrap();
    let (s, r) = admin.get(&format!("/runs/{run}")).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["project"], "p");
    // Each handled once.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for name in ["skipper", "catcher"] {
        let (_, h) = admin.get(&format!("/schedules/{name}/history")).await;
        assert_eq!(h.as_array().unwrap().len(), 1, "{h}");
    }
    ctl.terminate();
}

fn chrono_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}
