//! The `twister` command-line tool end to end: the real binary against a real controller, checking output,
//! JSON mode, exit codes, the config file and the environment variables.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use serde_json::Value;
use twister_tests::cli::Cli;
use twister_tests::controller::ADMIN_PASSWORD;
use twister_tests::{Backend, TestController};

fn sqlite() -> Backend {
    Backend {
        name: "sqlite",
        url: String::new(),
    }
}

fn demo_inventory() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/demo/inventory.json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_saves_a_private_config_and_whoami_reads_it() {
    let c = TestController::start(&sqlite()).await;
    let admin = Cli::new(&c.url);
    // Nothing saved yet: not logged in (5).
    let out = admin.run(&["whoami"]).await;
    assert_eq!(out.code, 5, "{out:?}");
    assert!(out.stderr.contains("twister login"), "{out:?}");
    // Wrong password: 5, and nothing written.
    let out = admin
        .run_with_stdin(&["login", "--user", "admin", "--password-stdin"], Some("wrong\n"))
        .await;
    assert_eq!(out.code, 5, "{out:?}");
    assert!(!admin.config.exists());

    admin.login("admin", ADMIN_PASSWORD).await;
    let text = std::fs::read_to_string(&admin.config).unwrap();
    assert!(text.contains("token = ") && text.contains(&c.url), "{text}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&admin.config).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    // The config alone (no TWISTER_URL) is enough from now on.
    let from_file = Cli {
        url: None,
        ..Cli::new("http://unused")
    };
    std::fs::create_dir_all(from_file.config.parent().unwrap()).unwrap();
    std::fs::copy(&admin.config, &from_file.config).unwrap();
    let out = from_file.run(&["whoami", "--json"]).await;
    assert_eq!(out.code, 0, "{out:?}");
    let me = out.json();
    assert_eq!(me["username"], "admin");
    assert_eq!(me["role"], "admin");
    assert_eq!(me["token_kind"], "session");
    let out = admin.run(&["whoami"]).await;
    assert!(out.stdout.contains("user:        admin"), "{out:?}");

    // Logout revokes the session on the server and forgets it locally.
    let token = text
        .lines()
        .find_map(|l| l.strip_prefix("token = "))
        .unwrap()
        .trim_matches('"')
        .to_string();
    let out = admin.run(&["logout"]).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(!std::fs::read_to_string(&admin.config).unwrap().contains("token"));
    let stale = Cli {
        token: Some(token),
        ..Cli::new(&c.url)
    };
    assert_eq!(stale.run(&["whoami"]).await.code, 5);
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_codes_tell_what_went_wrong() {
    let c = TestController::start(&sqlite()).await;
    let admin = Cli::new(&c.url);
    admin.login("admin", ADMIN_PASSWORD).await;
    // Usage: 2.
    assert_eq!(admin.run(&["resource", "frobnicate"]).await.code, 2);
    assert_eq!(admin.run(&["reserve", "/x", "--for", "10 parsecs"]).await.code, 2);
    let out = admin.run(&["resource", "set", "/tb1", "noequals"]).await;
    assert_eq!(out.code, 2, "{out:?}");
    // Invalid input rejected by the server: 2 with its message.
    let out = admin.run(&["resource", "set", "/bad name?/x"]).await;
    assert!(out.code == 2 || out.code == 0, "{out:?}");
    // Not found: 3.
    let out = admin.run(&["resource", "get", "/nope"]).await;
    assert_eq!(out.code, 3, "{out:?}");
    assert!(out.stderr.contains("nope"), "{out:?}");
    // Unreachable: 6.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let gone = Cli {
        url: Some(format!("http://127.0.0.1:{port}")),
        token: Some("x".into()),
        ..Cli::new("http://unused")
    };
    let out = gone.run(&["whoami"]).await;
    assert_eq!(out.code, 6, "{out:?}");
    assert!(out.stderr.contains("cannot reach"), "{out:?}");
    // Not allowed: 5. A viewer cannot change the inventory.
    admin
        .run_with_stdin(
            &["users", "add", "vera", "--role", "viewer", "--password-stdin"],
            Some("vera-password\n"),
        )
        .await;
    let vera = Cli::new(&c.url);
    vera.login("vera", "vera-password").await;
    let out = vera.run(&["resource", "set", "/tb1", "a=b"]).await;
    assert_eq!(out.code, 5, "{out:?}");
    // Conflict: 4. A stale version.
    assert_eq!(admin.run(&["resource", "set", "/tb1", "a=1"]).await.code, 0);
    let v = admin.run(&["--json", "resource", "get", "/tb1"]).await.json()["version"]
        .as_i64()
        .unwrap();
    assert_eq!(
        admin
            .run(&["resource", "set", "/tb1", "a=2", "--if-version", &v.to_string()])
            .await
            .code,
        0
    );
    let out = admin
        .run(&["resource", "set", "/tb1", "a=3", "--if-version", &v.to_string()])
        .await;
    assert_eq!(out.code, 4, "{out:?}");
    let a = admin.run(&["resource", "get", "/tb1:a"]).await;
    assert_eq!(a.stdout.trim(), "2", "the stale write changed nothing: {a:?}");
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inventory_from_the_command_line() {
    let c = TestController::start(&sqlite()).await;
    let admin = Cli::new(&c.url);
    admin.login("admin", ADMIN_PASSWORD).await;
    // Import the demo lab (format guessed), then look around.
    let file = demo_inventory();
    let out = admin.run(&["resource", "import", file.to_str().unwrap()]).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains("(native)") && out.stdout.contains("12 created"),
        "{out:?}"
    );
    let out = admin.run(&["resource", "ls"]).await;
    assert_eq!(out.code, 0);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(lines[0].starts_with("PATH"), "{out:?}");
    assert_eq!(lines.len(), 4, "three testbeds: {out:?}");
    let out = admin.run(&["--json", "resource", "ls", "/tb-core", "-r"]).await;
    let nodes = out.json();
    let paths: Vec<&str> = nodes
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["path"].as_str().unwrap())
        .collect();
    assert!(
        paths.contains(&"/tb-core/sw1/port2") && !paths.contains(&"/tb-voice"),
        "{paths:?}"
    );

    // Properties: set, read one, secrets hidden unless revealed.
    let out = admin
        .run(&[
            "resource",
            "set",
            "/lab2/dev1",
            "ip=10.9.0.1",
            "url=http://x/?a=b",
            "--secret",
            "password=s3cret",
        ])
        .await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(!out.stdout.contains("s3cret"), "{out:?}");
    assert_eq!(
        admin.run(&["resource", "get", "/lab2/dev1:ip"]).await.stdout,
        "10.9.0.1\n"
    );
    assert_eq!(
        admin.run(&["resource", "get", "/lab2/dev1:url"]).await.stdout,
        "http://x/?a=b\n"
    );
    let hidden = admin.run(&["resource", "get", "/lab2/dev1:password"]).await;
    assert_eq!(hidden.code, 5, "{hidden:?}");
    assert!(!hidden.stdout.contains("s3cret"));
    let shown = admin
        .run(&["resource", "get", "/lab2/dev1:password", "--reveal"])
        .await;
    assert_eq!(shown.stdout, "s3cret\n");
    let node = admin
        .run(&["--json", "resource", "get", "/lab2/dev1"])
        .await
        .json();
    assert_eq!(node["secrets"], serde_json::json!(["password"]));
    assert!(node["properties"].get("password").is_none());
    let out = admin
        .run(&["resource", "set", "/lab2/dev1", "--unset", "url"])
        .await;
    assert_eq!(out.code, 0);
    assert_eq!(admin.run(&["resource", "get", "/lab2/dev1:url"]).await.code, 3);

    // By id, rename, move, delete.
    let id = node["id"].as_str().unwrap().to_string();
    let out = admin.run(&["resource", "get", &format!("~{id}")]).await;
    assert!(out.stdout.contains("/lab2/dev1"), "{out:?}");
    assert_eq!(admin.run(&["resource", "mv", "/lab2/dev1", "dev9"]).await.code, 0);
    assert_eq!(
        admin
            .run(&["resource", "mv", "/lab2/dev9", "/tb-core/dev9"])
            .await
            .code,
        0
    );
    let moved = admin
        .run(&["--json", "resource", "get", &format!("~{id}")])
        .await
        .json();
    assert_eq!(moved["path"], "/tb-core/dev9");
    let out = admin.run(&["resource", "rm", "/tb-core"]).await;
    assert!(out.stdout.contains("(7 nodes)"), "{out:?}");
    assert_eq!(admin.run(&["resource", "get", "/tb-core/dev9"]).await.code, 3);

    // Export native to a file and import it elsewhere: the same inventory.
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("inv.json");
    let out = admin
        .run(&["resource", "export", "--reveal", "-o", export.to_str().unwrap()])
        .await;
    assert_eq!(out.code, 0, "{out:?}");
    let exported: Value = serde_json::from_str(&std::fs::read_to_string(&export).unwrap()).unwrap();
    let c2 = TestController::start(&sqlite()).await;
    let admin2 = Cli::new(&c2.url);
    admin2.login("admin", ADMIN_PASSWORD).await;
    assert_eq!(
        admin2
            .run(&["resource", "import", export.to_str().unwrap()])
            .await
            .code,
        0
    );
    let again = admin2
        .run(&["--json", "resource", "export", "--reveal"])
        .await
        .json();
    assert_eq!(again, exported);
    // The original Twister shapes go out and come back too.
    for fmt in ["twister-v3", "twister-v2"] {
        let out = admin.run(&["resource", "export", "--format", fmt]).await;
        assert_eq!(out.code, 0, "{out:?}");
        let f = dir.path().join(format!("{fmt}.json"));
        std::fs::write(&f, &out.stdout).unwrap();
        let out = admin2
            .run(&["resource", "import", f.to_str().unwrap(), "--replace"])
            .await;
        assert!(out.code == 0 && out.stdout.contains(fmt), "{fmt}: {out:?}");
        let ls = admin2.run(&["--json", "resource", "ls", "-r"]).await.json();
        assert_eq!(ls.as_array().unwrap().len(), 7, "{fmt}: {ls}");
    }
    c2.stop().await;
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reservations_from_the_command_line() {
    let c = TestController::start(&sqlite()).await;
    let admin = Cli::new(&c.url);
    admin.login("admin", ADMIN_PASSWORD).await;
    assert_eq!(
        admin
            .run(&["resource", "import", demo_inventory().to_str().unwrap()])
            .await
            .code,
        0
    );
    for u in ["alice", "bob"] {
        let out = admin
            .run_with_stdin(
                &["users", "add", u, "--role", "engineer", "--password-stdin"],
                Some(&format!("{u}-password\n")),
            )
            .await;
        assert_eq!(out.code, 0, "{out:?}");
    }
    let alice = Cli::new(&c.url);
    alice.login("alice", "alice-password").await;
    let bob = Cli::new(&c.url);
    bob.login("bob", "bob-password").await;

    let out = alice
        .run(&[
            "--json", "reserve", "/tb-core", "--for", "30m", "--note", "nightly",
        ])
        .await;
    assert_eq!(out.code, 0, "{out:?}");
    let r = out.json();
    assert_eq!(r["state"], "active");
    assert_eq!(r["duration_s"], 1800);
    let rid = r["id"].as_str().unwrap().to_string();
    // Bob bumps into it on a device below: 4, naming Alice.
    let out = bob.run(&["reserve", "/tb-core/sw1"]).await;
    assert_eq!(out.code, 4, "{out:?}");
    assert!(out.stderr.contains("alice"), "{out:?}");
    // The tree shows who holds what.
    let ls = bob.run(&["resource", "ls"]).await;
    let line = ls.stdout.lines().find(|l| l.starts_with("/tb-core")).unwrap();
    assert!(line.contains("reserved") && line.contains("alice"), "{ls:?}");

    // Bob queues and waits; Alice renews, then releases by path; Bob gets it.
    let waiting = bob.spawn(&["reserve", "/tb-core/sw1", "--wait", "--for", "5m"], false);
    let mut queued = false;
    for _ in 0..100 {
        let l = alice.run(&["--json", "reservations"]).await.json();
        if l.as_array()
            .unwrap()
            .iter()
            .any(|r| r["state"] == "waiting" && r["user"] == "bob")
        {
            queued = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(queued, "bob's request joins the queue");
    let out = alice.run(&["renew", &rid, "--for", "1h"]).await;
    assert_eq!(out.code, 0, "{out:?}");
    let out = alice.run(&["release", "/tb-core"]).await;
    assert_eq!(out.code, 0, "{out:?}");
    let done = tokio::time::timeout(Duration::from_secs(30), waiting.wait_with_output())
        .await
        .expect("bob's wait ends")
        .unwrap();
    let stdout = String::from_utf8_lossy(&done.stdout);
    assert_eq!(
        done.status.code(),
        Some(0),
        "{stdout} {}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert!(stdout.contains("Reserved /tb-core/sw1"), "{stdout}");

    // Release only if held by someone else: refused, nothing changes; Bob's own release works.
    let out = admin
        .run(&["release", "/tb-core/sw1", "--only-if-holder", "alice"])
        .await;
    assert_eq!(out.code, 4, "{out:?}");
    let mine = bob.run(&["--json", "reservations", "--mine"]).await.json();
    assert_eq!(mine.as_array().unwrap().len(), 1, "{mine}");
    assert_eq!(mine[0]["state"], "active");
    assert_eq!(bob.run(&["release", "/tb-core/sw1"]).await.code, 0);
    assert_eq!(bob.run(&["release", "/tb-core/sw1"]).await.code, 3);

    // History names both holdings, with start and end.
    let h = admin
        .run(&["--json", "history", "--path", "/tb-core"])
        .await
        .json();
    let h = h.as_array().unwrap();
    assert_eq!(h.len(), 1, "{h:?}");
    assert_eq!(h[0]["user"], "alice");
    assert_eq!(h[0]["state"], "released");
    let table = admin.run(&["history"]).await;
    assert!(
        table.stdout.contains("alice") && table.stdout.contains("bob"),
        "{table:?}"
    );
    // And the audit log has the grants.
    let audit = admin
        .run(&["--json", "audit", "--action", "reservation."])
        .await
        .json();
    assert!(audit.as_array().unwrap().len() >= 4, "{audit}");
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_and_tokens_for_automation() {
    let c = TestController::start(&sqlite()).await;
    let admin = Cli::new(&c.url);
    admin.login("admin", ADMIN_PASSWORD).await;
    let out = admin
        .run_with_stdin(
            &[
                "users",
                "add",
                "ci-bot",
                "--role",
                "engineer",
                "--email",
                "ci@lab.example",
                "--password-stdin",
            ],
            Some("ci-bot-password\n"),
        )
        .await;
    assert_eq!(out.code, 0, "{out:?}");
    let out = admin.run(&["users", "ls"]).await;
    assert!(
        out.stdout.contains("ci-bot") && out.stdout.contains("ci@lab.example"),
        "{out:?}"
    );
    let out = admin
        .run(&["--json", "users", "set", "ci-bot", "--role", "viewer"])
        .await;
    assert_eq!(out.json()["role"], "viewer");
    assert_eq!(admin.run(&["users", "set", "ci-bot"]).await.code, 2);
    assert_eq!(
        admin
            .run(&["users", "set", "ci-bot", "--role", "engineer"])
            .await
            .code,
        0
    );

    // The bot gets a token limited to reserving; scripts use it through TWISTER_TOKEN.
    let bot = Cli::new(&c.url);
    bot.login("ci-bot", "ci-bot-password").await;
    let out = bot
        .run(&[
            "--json",
            "tokens",
            "create",
            "nightly",
            "--perm",
            "reserve",
            "--perm",
            "view_inventory",
            "--expires",
            "7d",
        ])
        .await;
    assert_eq!(out.code, 0, "{out:?}");
    let created = out.json();
    let secret = created["token"].as_str().unwrap().to_string();
    let token_id = created["id"].as_str().unwrap().to_string();
    let scripted = Cli {
        token: Some(secret.clone()),
        ..Cli::new(&c.url)
    };
    let me = scripted.run(&["--json", "whoami"]).await.json();
    assert_eq!(me["username"], "ci-bot");
    assert_eq!(me["token_kind"], "api");
    assert_eq!(admin.run(&["resource", "set", "/tb9"]).await.code, 0);
    assert_eq!(scripted.run(&["reserve", "/tb9"]).await.code, 0);
    // Outside its scope: 5.
    assert_eq!(scripted.run(&["resource", "set", "/tb9", "a=b"]).await.code, 5);
    let listed = bot.run(&["tokens", "ls"]).await;
    assert!(
        listed.stdout.contains("nightly") && !listed.stdout.contains(&secret),
        "{listed:?}"
    );
    // Revoked: 5 from then on.
    assert_eq!(bot.run(&["tokens", "revoke", &token_id]).await.code, 0);
    assert_eq!(scripted.run(&["whoami"]).await.code, 5);

    // Password change through stdin: old then new.
    let out = bot
        .run_with_stdin(
            &["users", "passwd", "--password-stdin"],
            Some("ci-bot-password\nnew-bot-password\n"),
        )
        .await;
    assert_eq!(out.code, 0, "{out:?}");
    let again = Cli::new(&c.url);
    again.login("ci-bot", "new-bot-password").await;
    assert_eq!(admin.run(&["users", "rm", "ci-bot"]).await.code, 0);
    assert_eq!(admin.run(&["users", "show", "ci-bot"]).await.code, 3);
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn original_twister_xml_comes_in_and_goes_out() {
    let c = TestController::start(&sqlite()).await;
    let admin = Cli::new(&c.url);
    admin.login("admin", ADMIN_PASSWORD).await;
    let fixtures =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../controller/tests/fixtures/legacy");
    let file = fixtures.join("v2_testsuites.xml");
    let out = admin
        .run(&[
            "project",
            "import-xml",
            file.to_str().unwrap(),
            "--name",
            "legacy",
        ])
        .await;
    assert_eq!(out.code, 0, "{out:?}");
    let p = admin.run(&["project", "get", "legacy"]).await.json();
    assert_eq!(p["suites"][0]["name"], "Router smoke");
    assert_eq!(p["suites"][0]["eps"][0], "EP-LAB-1");
    assert_eq!(p["settings"]["stop_on_fail"], true);
    assert_eq!(p["suites"][0]["tests"][0]["file"], "router/boot_check.py");
    // Out again in the original format, and back in: the same project.
    let dir = tempfile::tempdir().unwrap();
    let xml = dir.path().join("legacy.xml");
    assert_eq!(
        admin
            .run(&["project", "export-xml", "legacy", "-o", xml.to_str().unwrap()])
            .await
            .code,
        0
    );
    assert!(std::fs::read_to_string(&xml).unwrap().contains("<TestSuite>"));
    assert_eq!(
        admin
            .run(&["project", "import-xml", xml.to_str().unwrap(), "--name", "again"])
            .await
            .code,
        0
    );
    let again = admin.run(&["project", "get", "again"]).await.json();
    assert_eq!(again["suites"], p["suites"]);
    assert_eq!(again["settings"], p["settings"]);
    // Not a project: a clear 2.
    let junk = dir.path().join("junk.xml");
    std::fs::write(&junk, "<html><body>nope</body></html>").unwrap();
    let out = admin
        .run(&["project", "import-xml", junk.to_str().unwrap()])
        .await;
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("not an original Twister project"), "{out:?}");
    // globals.xml: in, listed, out.
    let out = admin
        .run(&["global", "import", fixtures.join("globals.xml").to_str().unwrap()])
        .await;
    assert_eq!(out.code, 0, "{out:?}");
    let all = admin.run(&["--json", "global", "ls"]).await.json();
    assert!(!all.as_array().unwrap().is_empty(), "{all}");
    let first = all[0]["path"].as_str().unwrap().to_string();
    let value = all[0]["value"].as_str().unwrap().to_string();
    assert_eq!(
        admin
            .run(&["global", "get", &first])
            .await
            .stdout
            .trim_end_matches('\n'),
        value
    );
    let exported = admin.run(&["global", "export"]).await;
    assert!(exported.stdout.contains("<"), "{exported:?}");
    c.stop().await;
}

/// A classic pcap with one Ethernet/IPv4/TCP frame from port 6653 carrying `payload`.
fn pcap_with(payload: &[u8]) -> Vec<u8> {
    let mut f = vec![
        0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0,
    ];
    let mut frame = vec![0u8; 12];
    frame.extend_from_slice(&[0x08, 0x00]);
    let mut ip = vec![0x45, 0, 0, 0, 0, 0, 0, 0, 64, 6, 0, 0, 127, 0, 0, 1, 127, 0, 0, 2];
    ip[2..4].copy_from_slice(&((40 + payload.len()) as u16).to_be_bytes());
    frame.extend_from_slice(&ip);
    let mut tcp = vec![0u8; 20];
    tcp[0..2].copy_from_slice(&6653u16.to_be_bytes());
    tcp[2..4].copy_from_slice(&41000u16.to_be_bytes());
    tcp[12] = 5 << 4;
    frame.extend_from_slice(&tcp);
    frame.extend_from_slice(payload);
    for v in [1u32, 0, frame.len() as u32, frame.len() as u32] {
        f.extend_from_slice(&v.to_le_bytes());
    }
    f.extend_from_slice(&frame);
    f
}

#[tokio::test]
async fn openflow_messages_decode_and_encode() {
    let cli = Cli::new("http://127.0.0.1:1");
    // A 1.3 hello with a version bitmap (1.0 and 1.3), then a 1.0 echo request with data.
    let hello = "04000010000000070001000800000012";
    let echo = "0102000a000000090102".to_string();
    let both = format!("{hello}{echo}");
    let out = cli.run(&["openflow", "decode", "--hex", &both]).await;
    assert_eq!(out.code, 0, "{out:?}");
    let msgs = out.json();
    assert_eq!(msgs.as_array().unwrap().len(), 2, "{msgs:#}");
    assert_eq!(msgs[0]["version"], 4);
    assert_eq!(msgs[1]["version"], 1);
    assert_eq!(msgs[1]["xid"], 9);
    // Each decoded message encodes back to the same bytes.
    let dir = tempfile::tempdir().unwrap();
    for (i, want) in [hello.to_string(), echo.clone()].iter().enumerate() {
        let f = dir.path().join(format!("m{i}.json"));
        std::fs::write(
            &f,
            serde_json::json!({"xid": msgs[i]["xid"], "message": msgs[i]["message"]}).to_string(),
        )
        .unwrap();
        let out = cli.run(&["openflow", "encode", f.to_str().unwrap()]).await;
        assert_eq!(out.code, 0, "{out:?}");
        assert_eq!(out.stdout.trim(), want, "message {i}");
    }
    // From a capture: the messages of the flow, in order.
    let pcap = dir.path().join("of.pcap");
    std::fs::write(&pcap, pcap_with(&hex_decode(&both))).unwrap();
    let out = cli
        .run(&["openflow", "decode", "--pcap", pcap.to_str().unwrap()])
        .await;
    assert_eq!(out.code, 0, "{out:?}");
    let flows = out.json();
    assert_eq!(flows[0]["src"], "127.0.0.1:6653");
    assert_eq!(flows[0]["messages"].as_array().unwrap().len(), 2);
    // Garbage is reported, not a crash.
    let out = cli.run(&["openflow", "decode", "--hex", "04ff0009000000"]).await;
    assert_eq!(out.code, 1, "{out:?}");
    let out = cli
        .run(&[
            "openflow",
            "decode",
            "--pcap",
            file_of(&dir, b"not a pcap").to_str().unwrap(),
        ])
        .await;
    assert_eq!(out.code, 2, "{out:?}");
}

fn hex_decode(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn file_of(dir: &tempfile::TempDir, bytes: &[u8]) -> std::path::PathBuf {
    let p = dir.path().join("junk");
    std::fs::write(&p, bytes).unwrap();
    p
}
