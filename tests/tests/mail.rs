//! Run mails end to end: a real controller, a real station, a real SMTP server (aiosmtpd) in plain, STARTTLS and
//! TLS modes with authentication; templates, the HTML and text parts, the test-mail action, the original
//! `email.xml`, only-on-failure, and a mail failure that is shown but does not change the run.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use twister_tests::smtp::{SmtpMode, SmtpServer, SMTP_PASSWORD, SMTP_USER};
use twister_tests::station::StationProcess;
use twister_tests::{Api, Backend, TestController};

fn write(dir: &Path, name: &str, body: &str) {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, body).unwrap();
}

async fn controller() -> (TestController, Api, tempfile::TempDir) {
    controller_on(&Backend {
        name: "sqlite",
        url: String::new(),
    })
    .await
}

async fn controller_on(backend: &Backend) -> (TestController, Api, tempfile::TempDir) {
    let tests = tempfile::tempdir().unwrap();
    write(tests.path(), "sh/pass.sh", "echo ok\nexit 0\n");
    write(tests.path(), "sh/fail.sh", "echo 'no <good>' >&2\nexit 1\n");
    let dir = tests.path().to_path_buf();
    let c = TestController::start_with(backend, move |cfg| {
        cfg.tests_dir = Some(dir);
        cfg.stations.heartbeat_s = 1;
    })
    .await;
    let admin = c.admin().await;
    (c, admin, tests)
}

async fn run_project(admin: &Api, name: &str, files: &[&str]) -> String {
    let tests: Vec<Value> = files.iter().map(|f| json!({"file": f})).collect();
    let doc = json!({"name": name, "settings": {"fields": {"release_id": "2", "build_id": "15"}},
        "suites": [{"name": "Branch Test1", "eps": ["EP-1"], "tests": tests}]});
    let (s, b) = admin.put(&format!("/projects/{name}"), doc).await;
    assert!(s == 200 || s == 201, "{b}");
    let (s, r) = admin.post("/runs", json!({ "project": name })).await;
    assert_eq!(s, 201, "{r}");
    r["id"].as_str().unwrap().to_string()
}

/// Waits for the run to finish and its mail outcome to be recorded.
async fn mail_outcome(admin: &Api, run: &str) -> (Value, Value) {
    let t0 = Instant::now();
    loop {
        let (_, r) = admin.get(&format!("/runs/{run}")).await;
        if r["state"] == "finished" {
            let (s, m) = admin.get(&format!("/runs/{run}/mail")).await;
            if s == 200 {
                return (r, m);
            }
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "no mail outcome for {run}: {r}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn settings(port: u16) -> Value {
    json!({
        "enabled": true, "host": "127.0.0.1", "port": port, "from": "twister@lab.example",
        "to": ["qa@lab.example", "lead@lab.example"],
        "subject": "Report for $release_id $build_id [{date}] {project}: {status}",
        "message": "Hello from {user} & co."
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn run_mail_plain_smtp_and_failures() {
    for backend in twister_tests::backends().await {
        run_mail_on(&backend).await;
    }
}

async fn run_mail_on(backend: &Backend) {
    let Some(smtp) = SmtpServer::start(SmtpMode::Plain).await else {
        return;
    };
    let (c, admin, _tests) = controller_on(backend).await;
    let _ws = StationProcess::start(&admin, "ws1", &["EP-1"]).await;
    let (s, b) = admin.put("/settings/mail", settings(smtp.port)).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["password_set"], false);

    // A failing run: mailed, with subject from the template, an HTML table and a text part.
    let run = run_project(&admin, "mailed", &["sh/pass.sh", "sh/fail.sh"]).await;
    let (r, m) = mail_outcome(&admin, &run).await;
    assert_eq!(r["status"], "fail");
    assert_eq!(m["state"], "sent", "{m}");
    let got = smtp.wait_for(1, Duration::from_secs(10)).await;
    let meta = &got[0].meta;
    assert_eq!(meta["to"], json!(["qa@lab.example", "lead@lab.example"]));
    assert_eq!(meta["from"], "twister@lab.example");
    let subject = meta["subject"].as_str().unwrap();
    assert!(subject.starts_with("Report for 2 15 ["), "{subject}");
    assert!(subject.ends_with("] mailed: fail"), "{subject}");
    assert_eq!(meta["content_type"], "multipart/alternative");
    let html = meta["html"].as_str().unwrap();
    let text = meta["plain"].as_str().unwrap();
    assert!(html.contains("Hello from admin &amp; co."), "{html}");
    assert!(html.contains("Pass rate: <strong>50.0%</strong>"), "{html}");
    assert!(
        html.contains("<td>pass.sh</td>") || html.contains("pass.sh"),
        "{html}"
    );
    assert!(html.contains(&format!("{}/#/runs/{run}", c.url)), "{html}");
    assert!(html.contains(&format!("#/reports?run={run}")), "{html}");
    assert!(text.contains("pass rate 50.0%"), "{text}");
    assert!(text.contains("Branch Test1 / fail.sh"), "{text}");

    // Only on failure: a passing run is not mailed, and says so.
    let mut only_failures = settings(smtp.port);
    only_failures["when"] = json!("on_failure");
    let (s, b) = admin.put("/settings/mail", only_failures).await;
    assert_eq!(s, 200, "{b}");
    let run = run_project(&admin, "quiet", &["sh/pass.sh"]).await;
    let (r, m) = mail_outcome(&admin, &run).await;
    assert_eq!(r["status"], "pass");
    assert_eq!(m["state"], "not_sent", "{m}");
    assert_eq!(smtp.received().len(), 1);

    // A server that is not there: the run is untouched, the failure is shown on the run and in its log.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_port = dead.local_addr().unwrap().port();
    drop(dead);
    let (s, b) = admin.put("/settings/mail", settings(dead_port)).await;
    assert_eq!(s, 200, "{b}");
    let run = run_project(&admin, "unmailed", &["sh/pass.sh", "sh/fail.sh"]).await;
    let (r, m) = mail_outcome(&admin, &run).await;
    assert_eq!(r["status"], "fail");
    assert_eq!(r["state"], "finished");
    assert_eq!(m["state"], "failed", "{m}");
    assert!(
        m["detail"]
            .as_str()
            .unwrap()
            .contains(&format!("127.0.0.1:{dead_port}")),
        "{m}"
    );
    let (_, logs) = admin.get(&format!("/runs/{run}/logs")).await;
    assert!(logs.to_string().contains("mail failed"), "{logs}");
    let (s, f) = admin.get("/settings/mail/failures").await;
    assert_eq!(s, 200);
    assert_eq!(f[0]["run_id"], run.as_str());
    // The test mail reports the failure as a JSON error.
    let (s, b) = admin.post("/settings/mail/test", json!({})).await;
    assert_eq!(s, 502, "{b}");
    assert_eq!(b["error"]["code"], "mail_failed", "{b}");

    // Bad settings are refused with the key named; non-admins cannot read or change them.
    let mut bad = settings(smtp.port);
    bad["to"] = json!(["not an address"]);
    let (s, b) = admin.put("/settings/mail", bad).await;
    assert_eq!(s, 422, "{b}");
    assert!(b.to_string().contains("to"), "{b}");
    let eng = c.user("eng", "engineer").await;
    assert_eq!(eng.get("/settings/mail").await.0, 403);
    assert_eq!(eng.put("/settings/mail", settings(smtp.port)).await.0, 403);
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn test_mail_over_starttls_and_tls_with_auth() {
    let Some(starttls) = SmtpServer::start(SmtpMode::Starttls).await else {
        return;
    };
    let Some(tls) = SmtpServer::start(SmtpMode::Tls).await else {
        return;
    };
    let (c, admin, _tests) = controller().await;

    let mut s1 = settings(starttls.port);
    s1["security"] = json!("starttls");
    s1["accept_invalid_certs"] = json!(true);
    s1["username"] = json!(SMTP_USER);
    s1["password"] = json!(SMTP_PASSWORD);
    let (s, b) = admin.put("/settings/mail", s1.clone()).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["password_set"], true);
    assert!(!b.to_string().contains(SMTP_PASSWORD), "{b}");
    let (_, b) = admin.get("/settings/mail").await;
    assert!(b.get("password").is_none(), "{b}");
    // Never in clear text at rest.
    let db = std::fs::read(c.dir.path().join("twister.db")).unwrap_or_default();
    let wal = std::fs::read(c.dir.path().join("twister.db-wal")).unwrap_or_default();
    for bytes in [&db, &wal] {
        assert!(!bytes
            .windows(SMTP_PASSWORD.len())
            .any(|w| w == SMTP_PASSWORD.as_bytes()));
    }

    let (s, b) = admin.post("/settings/mail/test", json!({})).await;
    assert_eq!(s, 200, "{b}");
    let got = starttls.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(got[0].meta["authenticated"], true, "{:?}", got[0].meta);
    assert_eq!(got[0].meta["tls"], true, "{:?}", got[0].meta);

    // Without accepting the self-signed certificate, STARTTLS fails and says so.
    let mut strict = s1.clone();
    strict["accept_invalid_certs"] = json!(false);
    strict.as_object_mut().unwrap().remove("password");
    let (s, _) = admin.put("/settings/mail", strict).await;
    assert_eq!(s, 200);
    let (s, b) = admin.post("/settings/mail/test", json!({})).await;
    assert_eq!(s, 502, "{b}");

    // Implicit TLS, with the stored password kept (no password in the update).
    let mut s2 = s1.clone();
    s2["port"] = json!(tls.port);
    s2["security"] = json!("tls");
    s2.as_object_mut().unwrap().remove("password");
    let (s, b) = admin.put("/settings/mail", s2).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["password_set"], true);
    let (s, b) = admin.post("/settings/mail/test", json!({})).await;
    assert_eq!(s, 200, "{b}");
    let got = tls.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(got[0].meta["authenticated"], true);
    assert_eq!(got[0].meta["authenticated"], true, "{:?}", got[0].meta);

    // A wrong password is refused by the server.
    let mut wrong = s1.clone();
    wrong["password"] = json!("not-it");
    admin.put("/settings/mail", wrong).await;
    let (s, _) = admin.post("/settings/mail/test", json!({})).await;
    assert_eq!(s, 502);
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imports_the_original_email_xml() {
    let (c, admin, _tests) = controller().await;
    let xml = "<Root><Enabled>1</Enabled><SMTPPath>smtp.lab.example:25</SMTPPath><SMTPUser>MyUser</SMTPUser>\
               <SMTPPwd>old-pass</SMTPPwd><From>MyUser@lab.example</From><To>xxx@lab.example</To>\
               <Subject>Report for $release_id $build_id [$date]</Subject><Message>Nightly</Message></Root>";
    let resp = reqwest::Client::new()
        .put(format!("{}/api/v1/settings/mail/email.xml", c.url))
        .bearer_auth(admin.token.clone().unwrap())
        .header("content-type", "application/xml")
        .body(xml)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let (_, b) = admin.get("/settings/mail").await;
    assert_eq!(b["enabled"], true);
    assert_eq!(b["host"], "smtp.lab.example");
    assert_eq!(b["port"], 25);
    assert_eq!(b["username"], "MyUser");
    assert_eq!(b["password_set"], true);
    assert_eq!(b["to"], json!(["xxx@lab.example"]));
    assert_eq!(b["subject"], "Report for $release_id $build_id [$date]");
    let resp = reqwest::Client::new()
        .put(format!("{}/api/v1/settings/mail/email.xml", c.url))
        .bearer_auth(admin.token.clone().unwrap())
        .body("<Root><SMTPPath>h:notaport</SMTPPath></Root>")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    c.stop().await;
}
