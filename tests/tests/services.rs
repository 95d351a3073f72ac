//! The service manager end to end: services from the configuration (autostart) and the API, supervised real
//! processes killed from outside with kill -9 and restarted by policy, output captured, configuration files
//! edited within the services directory, `services.ini` import, the CLI, and admins only.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use twister_controller::services::definition::ServiceDef;
use twister_tests::cli::Cli;
use twister_tests::controller::ADMIN_PASSWORD;
use twister_tests::{Api, Backend, TestController};

fn alive(pid: u64) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    unsafe { libc::kill(pid as i32, 0) == 0 }
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

async fn wait_log(api: &Api, name: &str, needle: &str) -> String {
    let t0 = Instant::now();
    loop {
        let (_, v) = api.get(&format!("/services/{name}/logs")).await;
        let text = v["text"].as_str().unwrap_or("").to_string();
        if text.contains(needle) {
            return text;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "{name} log never had {needle:?}: {text}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn services_are_supervised_and_restarted_by_policy_on_every_backend() {
    for backend in twister_tests::backends().await {
        eprintln!("backend {}", backend.name);
        supervised_and_restarted_by_policy(&backend).await;
    }
}

async fn supervised_and_restarted_by_policy(backend: &Backend) {
    let c = TestController::start_with(backend, |cfg| {
        cfg.services = vec![ServiceDef {
            name: "auto".into(),
            description: "started with the controller".into(),
            command: "bash".into(),
            args: vec!["-c".into(), "echo auto-up; exec sleep 300".into()],
            autostart: true,
            ..Default::default()
        }];
    })
    .await;
    let admin = c.admin().await;

    // The configured service came up by itself.
    let auto = wait_status(&admin, "auto", "ran", |v| v["status"]["state"] == "running").await;
    let auto_pid = auto["status"]["pid"].as_u64().unwrap();
    wait_log(&admin, "auto", "auto-up").await;

    // A service from the API, with a configuration file it reads at start.
    let def = json!({
        "name": "ticker", "description": "prints its config, then waits",
        "command": "bash",
        "args": ["-c", "echo \"pid $$ config: $(cat \"$TWISTER_SERVICE_CONFIG\")\"; echo to-stderr >&2; sleep 300 & wait"],
        "config_file": "ticker/ticker.conf", "restart": "on-failure", "backoff_ms": 100
    });
    let (s, v) = admin.post("/services", def.clone()).await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["status"]["state"], "stopped");
    assert_eq!(admin.post("/services", def.clone()).await.0, 409);
    let (s, v) = admin
        .put("/services/ticker/config", json!({"text": "greeting=hello\n"}))
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        std::fs::read_to_string(c.dir.path().join("services/ticker/ticker.conf")).unwrap(),
        "greeting=hello\n"
    );
    let (_, v) = admin.get("/services/ticker/config").await;
    assert_eq!(v["text"], "greeting=hello\n");

    let (s, v) = admin.post("/services/ticker/start", json!({})).await;
    assert_eq!(s, 200, "{v}");
    let first = wait_status(&admin, "ticker", "ran", |v| v["status"]["state"] == "running").await;
    let pid1 = first["status"]["pid"].as_u64().unwrap();
    let log = wait_log(&admin, "ticker", "config: greeting=hello").await;
    assert!(log.contains(&format!("pid {pid1} config")), "{log}");
    wait_log(&admin, "ticker", "to-stderr").await;

    // Killed from outside: noticed, and restarted by policy as a new process.
    // SAFETY: SIGKILL to the service process this test started through the controller.
    unsafe {
        libc::kill(pid1 as i32, libc::SIGKILL);
    }
    let second = wait_status(&admin, "ticker", "restarted", |v| {
        v["status"]["state"] == "running" && v["status"]["pid"].as_u64() != Some(pid1)
    })
    .await;
    assert_eq!(second["status"]["restarts"], 1, "{second}");
    assert_eq!(second["status"]["last_exit"], "signal 9", "{second}");
    let pid2 = second["status"]["pid"].as_u64().unwrap();
    let log = wait_log(&admin, "ticker", &format!("pid {pid2} config")).await;
    assert!(log.contains(&format!("pid {pid1} ended: signal 9")), "{log}");

    // Stop ends the whole process group (the background sleep too).
    let (s, v) = admin.post("/services/ticker/stop", json!({})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"]["state"], "stopped");
    assert!(!alive(pid2), "service process {pid2} survived stop");

    // Restart policy never: an exit is left alone, and its code is shown.
    let (s, v) = admin
        .put(
            "/services/oneshot",
            json!({"command": "bash", "args": ["-c", "echo once; exit 3"], "restart": "never"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    admin.post("/services/oneshot/start", json!({})).await;
    let v = wait_status(&admin, "oneshot", "ended", |v| v["status"]["state"] == "failed").await;
    assert_eq!(v["status"]["last_exit"], "exit code 3");
    assert_eq!(v["status"]["restarts"], 0);
    // A command that does not exist fails to start and says why.
    admin
        .put("/services/missing", json!({"command": "/nonexistent/prog"}))
        .await;
    let (_, v) = admin.post("/services/missing/start", json!({})).await;
    let v = if v["status"]["state"] == "failed" {
        v
    } else {
        wait_status(&admin, "missing", "failed", |v| v["status"]["state"] == "failed").await
    };
    assert!(
        v["status"]["last_exit"]
            .as_str()
            .unwrap()
            .contains("cannot start"),
        "{v}"
    );

    // Files stay inside the services directory.
    for (field, bad) in [
        ("config_file", "../../etc/passwd"),
        ("log_file", "/tmp/x.log"),
        ("working_dir", ".."),
    ] {
        let mut d = json!({"command": "true"});
        d[field] = json!(bad);
        let (s, b) = admin.put("/services/escape", d).await;
        assert_eq!(s, 422, "{field}={bad}: {b}");
        assert!(b.to_string().contains(field), "{b}");
    }
    assert_eq!(admin.post("/services/ticker/explode", json!({})).await.0, 404);
    assert_eq!(admin.get("/services/nope").await.0, 404);
    assert_eq!(admin.get("/services/oneshot/config").await.0, 422);

    // The original services.ini.
    let ini =
        "[ofcontroller]\ncmdline = /usr/bin/python3 -u ofc.py --port 6653\nconfig = /opt/twister/ofc.ini\n\
               logfile = ofc.log\nautostart = 0\n";
    let resp = reqwest::Client::new()
        .put(format!("{}/api/v1/services.ini", c.url))
        .bearer_auth(admin.token.clone().unwrap())
        .body(ini)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let (_, v) = admin.get("/services/ofcontroller").await;
    assert_eq!(v["command"], "/usr/bin/python3");
    assert_eq!(v["config_file"], "ofc.ini");

    // The CLI.
    let cli = Cli::new(&c.url);
    cli.login("admin", ADMIN_PASSWORD).await;
    let out = cli.run(&["service", "ls"]).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains("ticker") && out.stdout.contains("auto"),
        "{out:?}"
    );
    let out = cli.run(&["service", "start", "ticker"]).await;
    assert_eq!(out.code, 0, "{out:?}");
    let out = cli.run(&["--json", "service", "status", "ticker"]).await;
    assert_eq!(out.json()["status"]["state"], "running", "{out:?}");
    let out = cli.run(&["service", "logs", "ticker"]).await;
    assert!(out.stdout.contains("config: greeting=hello"), "{out:?}");
    let out = cli.run(&["service", "config", "ticker"]).await;
    assert_eq!(out.stdout, "greeting=hello\n");
    let out = cli.run(&["service", "restart", "ticker"]).await;
    assert_eq!(out.code, 0, "{out:?}");
    let out = cli.run(&["service", "stop", "ticker"]).await;
    assert!(out.stdout.contains("stopped"), "{out:?}");
    let out = cli.run(&["service", "start", "nope"]).await;
    assert_ne!(out.code, 0);

    // Engineers cannot touch services.
    let eng = c.user("eng", "engineer").await;
    assert_eq!(eng.get("/services").await.0, 403);
    assert_eq!(eng.post("/services/ticker/start", json!({})).await.0, 403);

    // Shutting the controller down stops its services.
    assert!(alive(auto_pid));
    c.stop().await;
    assert!(
        !alive(auto_pid),
        "autostart service {auto_pid} survived the controller"
    );
}
