//! Results and reports end to end: a real controller and station run real tests; results are saved (autosave
//! and manual save, set-up and tear-down left out) on SQLite and PostgreSQL; the built-in reports answer over
//! the API and the CLI; a db.xml is imported, its mandatory fields enforced, its inserts run against an
//! external PostgreSQL (and MariaDB) and its reports read from there, the report database's password sealed at
//! rest and never shown; SQL-injection attempts through test reasons, field values and report parameters end
//! up as plain data; report queries cannot write and are time-limited; UserScript fields take their value
//! from a script confined to the report scripts directory.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use twister_tests::cli::Cli;
use twister_tests::controller::ADMIN_PASSWORD;
use twister_tests::station::StationProcess;
use twister_tests::{Api, Backend, TestController};

/// A reason that would break a statement built by pasting text.
const EVIL: &str = "it's broken'); DROP TABLE results; --";

fn write(dir: &Path, name: &str, body: &str) {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, body).unwrap();
}

fn scripts(dir: &Path) {
    write(dir, "sh/pass.sh", "echo passing\nexit 0\n");
    write(
        dir,
        "sh/evil.sh",
        &format!("cat > \"$TWISTER_RESULT_FILE\" <<'EOF'\nfail {EVIL}\nEOF\nexit 0\n"),
    );
    write(dir, "sh/setup.sh", "echo setting up\nexit 0\n");
    write(dir, "sh/teardown.sh", "echo tearing down\nexit 0\n");
    // Passes the first time, fails the next (the marker is the first argument).
    write(
        dir,
        "sh/flip.sh",
        "if [ -e \"$1\" ]; then rm -f \"$1\"; exit 1; else touch \"$1\"; exit 0; fi\n",
    );
}

async fn controller(backend: &Backend) -> (TestController, Api, tempfile::TempDir) {
    let tests = tempfile::tempdir().unwrap();
    scripts(tests.path());
    let dir = tests.path().to_path_buf();
    let c = TestController::start_with(backend, move |cfg| {
        cfg.tests_dir = Some(dir);
        cfg.stations.heartbeat_s = 1;
    })
    .await;
    let admin = c.admin().await;
    (c, admin, tests)
}

fn project(name: &str, autosave: bool, build: &str, marker: &Path) -> Value {
    json!({
        "name": name,
        "settings": {"db_autosave": autosave, "fields": {"release": "r1", "build": build}},
        "suites": [{
            "name": "smoke", "eps": ["EP-1"], "fields": {"station_id": "7"},
            "tests": [
                {"file": "sh/setup.sh", "setup": true},
                {"file": "sh/pass.sh", "title": "pass.sh", "repeat": 2},
                {"file": "sh/evil.sh"},
                {"file": "sh/flip.sh", "args": [marker.display().to_string()]},
                {"file": "sh/teardown.sh", "teardown": true}
            ]
        }]
    })
}

async fn put_project(api: &Api, doc: Value) -> (u16, Value) {
    let name = doc["name"].as_str().unwrap().to_string();
    api.put(&format!("/projects/{name}"), doc).await
}

async fn run_to_end(api: &Api, project: &str) -> String {
    let (s, r) = api.post("/runs", json!({ "project": project })).await;
    assert_eq!(s, 201, "{r}");
    let id = r["id"].as_str().unwrap().to_string();
    let t0 = Instant::now();
    loop {
        let (s, r) = api.get(&format!("/runs/{id}")).await;
        assert_eq!(s, 200, "{r}");
        if r["state"] == "finished" {
            return id;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "run did not finish: {r:#}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn report(api: &Api, name: &str, query: &str) -> Value {
    let (s, r) = api.get(&format!("/reports/{name}/data?{query}")).await;
    assert_eq!(s, 200, "{name}?{query}: {r}");
    r
}

fn column(t: &Value, name: &str) -> usize {
    t["columns"]
        .as_array()
        .unwrap()
        .iter()
        .position(|c| c == name)
        .unwrap_or_else(|| panic!("no column {name} in {t}"))
}

async fn results_and_builtin_reports(backend: &Backend) {
    let (c, admin, tests) = controller(backend).await;
    let _ws = StationProcess::start(&admin, "ws1", &["EP-1"]).await;
    let marker = tests.path().join("flip.marker");

    // Autosave: three tests and a repeat saved; set-up and tear-down not.
    assert_eq!(
        put_project(&admin, project("auto", true, "b1", &marker)).await.0,
        201
    );
    let run1 = run_to_end(&admin, "auto").await;
    let (s, rows) = admin.get(&format!("/runs/{run1}/results")).await;
    assert_eq!(s, 200, "{rows}");
    let rows = rows.as_array().unwrap().clone();
    let files: Vec<&str> = rows.iter().map(|r| r["file"].as_str().unwrap()).collect();
    assert_eq!(
        files,
        ["sh/pass.sh", "sh/pass.sh", "sh/evil.sh", "sh/flip.sh"],
        "{rows:#?}"
    );
    assert_eq!(rows[1]["iteration"], 2);
    let evil = &rows[2];
    assert_eq!(evil["status"], "fail");
    assert!(evil["reason"].as_str().unwrap().contains(EVIL), "{evil}");
    assert_eq!(evil["build"], "b1");
    assert_eq!(evil["release"], "r1");
    assert_eq!(evil["station"], "ws1");
    assert_eq!(evil["suite"], "smoke");
    let fields: Value = serde_json::from_str(evil["fields"].as_str().unwrap()).unwrap();
    assert_eq!(fields["station_id"], "7");
    assert!(evil["log_url"]
        .as_str()
        .unwrap()
        .starts_with(&format!("/api/v1/runs/{run1}/logs?item=")));
    // The test's packets: its station's capture between its start and end, as pcapng (this station has no
    // sniffer, so the file holds only its header blocks).
    let packets = evil["packets_url"].as_str().unwrap();
    assert_eq!(
        packets,
        format!(
            "/api/v1/capture/pcapng?run={run1}&test={}",
            evil["item_id"].as_str().unwrap()
        )
    );
    let (s, kind, pcapng) = admin.get_bytes(packets.trim_start_matches("/api/v1")).await;
    assert_eq!((s, kind.as_str()), (200, "application/x-pcapng"));
    assert_eq!(pcapng[..4], [0x0a, 0x0d, 0x0d, 0x0a], "a pcapng section header");
    assert!(evil["duration_ms"].as_i64().unwrap() >= 0);
    let (s, log) = admin
        .get(evil["log_url"].as_str().unwrap().trim_start_matches("/api/v1"))
        .await;
    assert_eq!(s, 200, "{log}");

    // No autosave: nothing until saved by hand (API), then again by CLI (replaces, no duplicates).
    assert_eq!(
        put_project(&admin, project("manual", false, "b1", &marker))
            .await
            .0,
        201
    );
    let run2 = run_to_end(&admin, "manual").await;
    let (_, none) = admin.get(&format!("/runs/{run2}/results")).await;
    assert_eq!(none, json!([]));
    let (s, saved) = admin.post(&format!("/runs/{run2}/save"), json!({})).await;
    assert_eq!(s, 200, "{saved}");
    assert_eq!(saved["saved"], 4);
    let cli = Cli::new(&c.url);
    cli.login("admin", ADMIN_PASSWORD).await;
    let out = cli.run(&["run", "save", &run2]).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("Saved 4 results"), "{out:?}");
    let (_, again) = admin.get(&format!("/runs/{run2}/results")).await;
    assert_eq!(again.as_array().unwrap().len(), 4);
    // A viewer may read reports but not save runs.
    let viewer = c.user("vera", "viewer").await;
    assert_eq!(viewer.post(&format!("/runs/{run2}/save"), json!({})).await.0, 403);
    assert_eq!(viewer.get("/reports").await.0, 200);

    // Built-in reports.
    let (s, list) = admin.get("/reports").await;
    assert_eq!(s, 200, "{list}");
    let ids: Vec<&str> = list["reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    for id in [
        "run-summary",
        "status-breakdown",
        "pass-rate-per-build",
        "test-history",
        "slowest-tests",
        "flaky-tests",
    ] {
        assert!(ids.contains(&id), "{ids:?}");
    }
    let summary = report(&admin, "run-summary", "").await;
    assert_eq!(summary["table"]["rows"].as_array().unwrap().len(), 2, "{summary}");
    let one = report(&admin, "run-summary", &format!("Run={run1}")).await;
    let t = &one["table"];
    let row = &t["rows"][0];
    assert_eq!(row[column(t, "tests")], 4, "{t}");
    assert_eq!(row[column(t, "passed")], 3, "{t}");
    assert_eq!(row[column(t, "failed")], 1, "{t}");
    assert!(row[column(t, "started")].as_str().unwrap().ends_with('Z'), "{t}");

    let rate = report(&admin, "pass-rate-per-build", "").await;
    let t = &rate["table"];
    assert_eq!(t["rows"][0][0], "b1");
    // Run 1: pass pass fail pass; run 2: pass pass fail fail -> 5 of 8.
    assert_eq!(
        t["rows"][0][column(t, "pass_rate")].as_f64().unwrap(),
        62.5,
        "{t}"
    );

    let history = report(&admin, "test-history", "Test=flip.sh").await;
    let t = &history["table"];
    let statuses: Vec<&str> = t["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[column(t, "status")].as_str().unwrap())
        .collect();
    assert_eq!(statuses.len(), 2, "{t}");
    assert!(
        statuses.contains(&"pass") && statuses.contains(&"fail"),
        "{statuses:?}"
    );
    // A required field left out is a 422 naming it.
    let (s, e) = admin.get("/reports/test-history/data").await;
    assert_eq!(s, 422, "{e}");
    assert!(e["error"]["message"].as_str().unwrap().contains("Test"), "{e}");

    let flaky = report(&admin, "flaky-tests", "Build=b1").await;
    let t = &flaky["table"];
    let flaky_tests: Vec<&str> = t["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[column(t, "test")].as_str().unwrap())
        .collect();
    assert_eq!(flaky_tests, ["flip.sh"], "{t}");

    let slow = report(&admin, "slowest-tests", "").await;
    assert_eq!(slow["table"]["rows"].as_array().unwrap().len(), 3, "{slow}");
    let pie = report(&admin, "status-breakdown", &format!("Run={run2}")).await;
    assert_eq!(pie["kind"], "PieChart");
    assert_eq!(pie["table"]["rows"].as_array().unwrap().len(), 2, "{pie}");

    // Report parameters are data: quotes and statements match nothing and change nothing.
    for evil_param in ["x' OR '1'='1", "'; DROP TABLE results; --", EVIL] {
        let q = format!("Test={}", urlencode(evil_param));
        let r = report(&admin, "test-history", &q).await;
        assert_eq!(r["table"]["rows"], json!([]), "{evil_param}: {r}");
        assert_eq!(r["fields"]["Test"], evil_param);
    }
    let by_reason = report(&admin, "run-summary", "").await;
    assert_eq!(by_reason["table"]["rows"].as_array().unwrap().len(), 2);

    // CSV export, over the API and the CLI.
    let (s, h, csv) = admin
        .send(
            reqwest::Method::GET,
            "/reports/pass-rate-per-build/data?format=csv",
            None,
            &[],
        )
        .await;
    assert_eq!(s, 200);
    assert!(h["content-type"].to_str().unwrap().starts_with("text/csv"));
    assert!(
        csv.as_str()
            .unwrap()
            .starts_with("build,pass_rate,tests,passed\r\nb1,62.5,8,5"),
        "{csv}"
    );
    let out = cli
        .run(&[
            "report",
            "show",
            "test-history",
            "--field",
            "Test=flip.sh",
            "--csv",
        ])
        .await;
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout.lines().count(), 3, "{out:?}");
    let out = cli.run(&["report", "ls"]).await;
    assert!(out.stdout.contains("flaky-tests"), "{out:?}");
    let out = cli.run(&["--json", "report", "show", "flaky-tests"]).await;
    assert_eq!(out.json()["table"]["rows"][0][1], "flip.sh", "{out:?}");

    // A configured report on the controller's own database cannot write.
    let (s, cfg) = admin
        .put(
            "/reports/config",
            json!({"reports": [
                {"id": "wipe", "kind": "Table", "sql_query": "DELETE FROM results"},
                {"id": "two", "kind": "Table", "sql_query": "SELECT 1; DELETE FROM results"},
                {"id": "hashes", "kind": "Table", "sql_query": "SELECT * FROM \"USERS\""}
            ]}),
        )
        .await;
    assert_eq!(s, 200, "{cfg}");
    let (s, e) = admin.get("/reports/wipe/data").await;
    assert_eq!(s, 422, "{e}");
    let (s, e) = admin.get("/reports/two/data").await;
    assert_eq!(s, 422, "{e}");
    // ... nor read the controller's credentials.
    let (s, e) = admin.get("/reports/hashes/data").await;
    assert_eq!(s, 403, "{e}");
    let (_, still) = admin.get(&format!("/runs/{run1}/results")).await;
    assert_eq!(still.as_array().unwrap().len(), 4);
    // ... and the connection it used is writable again for the controller.
    let run3 = run_to_end(&admin, "auto").await;
    let (_, r3) = admin.get(&format!("/runs/{run3}/results")).await;
    assert_eq!(r3.as_array().unwrap().len(), 4);
    c.stop().await;
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn results_saved_and_builtin_reports_on_every_backend() {
    for backend in twister_tests::backends().await {
        eprintln!("backend {}", backend.name);
        results_and_builtin_reports(&backend).await;
    }
}

const DB_XML: &str = r#"<?xml version="1.0"?>
<root>
  <db_config><server>127.0.0.1</server><database>tsc</database><user>u</user><password>p</password></db_config>
  <field_section>
    <field ID="res_id" Type="DbSelect" SQLQuery="SELECT COALESCE(MAX(id), 0) + 1 FROM gg_regression"
           Label="-" GUIDefined="false" Mandatory="true" />
    <field ID="release" Type="UserSelect" SQLQuery="SELECT DISTINCT rel FROM releases" Label="Release:"
           GUIDefined="true" Mandatory="true" />
    <field ID="build" Type="UserText" SQLQuery="" Label="Build:" GUIDefined="true" Mandatory="true" />
    <field ID="comments" Type="UserText" SQLQuery="" Label="Comments:" GUIDefined="true" Mandatory="false" />
  </field_section>
  <insert_section>
    <sql_statement>
INSERT INTO gg_regression (id, suite_name, test_name, status, date_start, build, machine, reason, elapsed)
VALUES ( @res_id@, '$twister_suite_name', '$twister_tc_name', '$twister_tc_status', '$twister_tc_date_started',
 '$release.$build', '$twister_ep_name', '$twister_tc_reason', $twister_tc_time_elapsed )
    </sql_statement>
  </insert_section>
  <reports_section>
    <field ID="Build" Type="UserSelect" Label="Select build:" SQLQuery="SELECT DISTINCT build FROM gg_regression ORDER BY build" />
    <field ID="Release" Type="UserText" Label="Release:" SQLQuery="" />
    <report ID="Details" Type="Table" SQLQuery="SELECT * FROM gg_regression WHERE build = '@Build@' ORDER BY id" />
    <report ID="Summary" Type="PieChart"
            SQLQuery="SELECT status AS &quot;Status&quot;, COUNT(status) AS &quot;Count&quot; FROM gg_regression WHERE build = '@Build@' GROUP BY status ORDER BY status" />
    <report ID="Pass Rate" Type="LineChart"
            SQLQuery="SELECT build, COUNT(status) AS rate FROM gg_regression WHERE build LIKE '@Release@%' AND status = 'pass' GROUP BY build"
            SQLTotal="SELECT build, COUNT(status) AS rate FROM gg_regression WHERE build LIKE '@Release@%' GROUP BY build" />
    <report ID="Builds" Type="BarChart"
            SQLQuery="SELECT status, COUNT(*) AS n FROM gg_regression WHERE build = '@Build@' GROUP BY status ORDER BY status"
            SQLCompare="SELECT status, COUNT(*) AS n FROM gg_regression WHERE build = '@Build@' GROUP BY status ORDER BY status" />
    <report ID="Slow" Type="Table" SQLQuery="SELECT pg_sleep(3)::text AS slept" />
    <redirect ID="goto Docs" Path="http://example.invalid/docs" />
  </reports_section>
</root>
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dbxml_inserts_and_reports_on_an_external_postgresql() {
    let Some(external) = twister_tests::pg::database().await else {
        twister_tests::tool_missing("PostgreSQL");
        return;
    };
    {
        use sqlx::{Connection, Executor};
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&external).await.unwrap();
        conn.execute(
            "CREATE TABLE gg_regression (id BIGINT PRIMARY KEY, suite_name TEXT, test_name TEXT, status TEXT, \
             date_start TEXT, build TEXT, machine TEXT, reason TEXT, elapsed DOUBLE PRECISION)",
        )
        .await
        .unwrap();
        conn.close().await.unwrap();
    }
    let sqlite = Backend {
        name: "sqlite",
        url: String::new(),
    };
    let (c, admin, tests) = controller(&sqlite).await;
    let _ws = StationProcess::start(&admin, "ws1", &["EP-1"]).await;
    let marker = tests.path().join("flip.marker");

    let (s, cfg) = admin
        .put(
            "/reports/config",
            json!({"database_url": external, "query_timeout_s": 1}),
        )
        .await;
    assert_eq!(s, 200, "{cfg}");
    assert!(!cfg["config"]["database_url"].as_str().unwrap().is_empty());
    let (status, imported) = admin.put_xml("/reports/config/dbxml", DB_XML).await;
    assert_eq!(status, 200, "{imported}");
    let cfg = &imported["config"];
    assert_eq!(cfg["fields"].as_array().unwrap().len(), 4);
    assert_eq!(cfg["inserts"].as_array().unwrap().len(), 1);
    assert_eq!(cfg["reports"].as_array().unwrap().len(), 5);
    assert_eq!(cfg["redirects"][0]["path"], "http://example.invalid/docs");
    assert_eq!(cfg["query_timeout_s"], 1);
    assert!(
        imported["notes"][0].as_str().unwrap().contains("db_config"),
        "{imported}"
    );

    // Mandatory fields: a project without them is refused, on save and (if saved before) on start.
    let mut doc = project("ext", true, "b9", &marker);
    doc["settings"]["fields"] = json!({});
    let (s, e) = put_project(&admin, doc.clone()).await;
    assert_eq!(s, 422, "{e}");
    assert!(e["error"]["message"].as_str().unwrap().contains("release"), "{e}");
    doc["settings"]["fields"] = json!({"release": "r2", "build": EVIL});
    assert_eq!(put_project(&admin, doc).await.0, 201);

    let run = run_to_end(&admin, "ext").await;
    let (_, run_view) = admin.get(&format!("/runs/{run}/logs?stream=controller")).await;
    // The inserts ran in the external database, one row per saved test, ids from the DbSelect field.
    let rows: Vec<(i64, String, String, String, String)> = {
        use sqlx::Connection;
        let mut conn = sqlx::AnyConnection::connect(&external).await.unwrap();
        sqlx::query_as("SELECT id, test_name, status, build, reason FROM gg_regression ORDER BY id")
            .fetch_all(&mut conn)
            .await
            .unwrap()
    };
    assert_eq!(rows.len(), 4, "{rows:?} {run_view}");
    assert_eq!(rows.iter().map(|r| r.0).collect::<Vec<_>>(), [1, 2, 3, 4]);
    assert_eq!(rows[2].1, "evil.sh");
    assert_eq!(rows[2].2, "fail");
    assert_eq!(rows[2].3, format!("r2.{EVIL}"));
    assert!(rows[2].4.contains(EVIL), "{rows:?}");

    // Reports read from the external database, field values bound.
    let build = format!("r2.{EVIL}");
    let (s, desc) = admin.get("/reports/Summary").await;
    assert_eq!(s, 200, "{desc}");
    assert_eq!(desc["fields"][0]["options"][0][0], build, "{desc}");
    let pie = report(&admin, "Summary", &format!("Build={}", urlencode(&build))).await;
    assert_eq!(pie["table"]["columns"], json!(["Status", "Count"]));
    assert_eq!(pie["table"]["rows"], json!([["fail", 1], ["pass", 3]]));
    let none = report(&admin, "Summary", &format!("Build={}", urlencode("x' OR '1'='1"))).await;
    assert_eq!(none["table"]["rows"], json!([]));
    let rate = report(&admin, "Pass Rate", "Release=r2").await;
    assert_eq!(rate["percent"]["rows"], json!([[build.clone(), 75.0]]), "{rate}");
    let cmp = report(
        &admin,
        "Builds",
        &format!("Build={}&cmp.Build=nothing", urlencode(&build)),
    )
    .await;
    assert_eq!(cmp["table"]["rows"].as_array().unwrap().len(), 2);
    assert_eq!(cmp["compare"]["rows"], json!([]));
    // The time limit holds.
    let (s, e) = admin.get("/reports/Slow/data").await;
    assert_eq!(s, 422, "{e}");
    assert_eq!(e["error"]["code"], "report_timeout", "{e}");
    // The password never comes back; a configuration read and saved again keeps working.
    let (_, got) = admin.get("/reports/config").await;
    let mut back = got["config"].clone();
    back["reports"]
        .as_array_mut()
        .unwrap()
        .retain(|r| r["id"] != "Slow");
    let (s, saved) = admin.put("/reports/config", back).await;
    assert_eq!(s, 200, "{saved}");
    let again = report(&admin, "Details", &format!("Build={}", urlencode(&build))).await;
    assert_eq!(again["table"]["rows"].as_array().unwrap().len(), 4);

    // The inserts of a save are one transaction: a failing statement leaves none of them behind.
    let mut broken = saved["config"].clone();
    broken["inserts"]
        .as_array_mut()
        .unwrap()
        .push(json!("INSERT INTO gg_regression (id) VALUES (@res_id@ - 1)"));
    let (s, b) = admin.put("/reports/config", broken).await;
    assert_eq!(s, 200, "{b}");
    let (s, e) = admin.post(&format!("/runs/{run}/save"), json!({})).await;
    assert_eq!(s, 422, "{e}");
    assert!(
        e["error"]["message"].as_str().unwrap().contains("insert 2"),
        "{e}"
    );
    let again = report(&admin, "Details", &format!("Build={}", urlencode(&build))).await;
    assert_eq!(again["table"]["rows"].as_array().unwrap().len(), 4);
    c.stop().await;
}

/// Rows of the `builds` table in the SQLite report database at `url`.
async fn build_rows(url: &str) -> Vec<(String, String, String)> {
    use sqlx::Connection;
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    sqlx::query_as("SELECT test_name, build_at, build_var FROM builds ORDER BY test_name")
        .fetch_all(&mut conn)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn user_script_fields_run_their_script_when_results_are_saved() {
    let tests = tempfile::tempdir().unwrap();
    scripts(tests.path());
    let root = tests.path().join("report-scripts");
    write(&root, "build.sh", "echo \"  b4711-$TWISTER_PROJECT  \"\n");
    write(&root, "slow.sh", "echo partial\nsleep 30\n");
    write(tests.path(), "escape.sh", "echo escaped\n");
    let report_db = format!("sqlite://{}/report.db?mode=rwc", tests.path().display());
    {
        use sqlx::{Connection, Executor};
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&report_db).await.unwrap();
        conn.execute("CREATE TABLE builds (test_name TEXT, build_at TEXT, build_var TEXT)")
            .await
            .unwrap();
        conn.close().await.unwrap();
    }
    let (dir, scripts_dir) = (tests.path().to_path_buf(), root.clone());
    let c = TestController::start_with(
        &Backend {
            name: "sqlite",
            url: String::new(),
        },
        move |cfg| {
            cfg.tests_dir = Some(dir);
            cfg.stations.heartbeat_s = 1;
            cfg.reports.scripts_dir = Some(scripts_dir);
            cfg.reports.script_timeout_s = 1;
        },
    )
    .await;
    let admin = c.admin().await;
    let _ws = StationProcess::start(&admin, "ws1", &["EP-1"]).await;
    let config = |script: &str| {
        json!({
            "database_url": report_db,
            "fields": [{"id": "build_no", "kind": "UserScript", "sql_query": script, "label": "Build",
                "mandatory": true}],
            "inserts": ["INSERT INTO builds (test_name, build_at, build_var) \
                VALUES ('$twister_tc_name', '@build_no@', '$build_no')"]
        })
    };

    // A script outside the scripts directory is refused, whichever way it is named; engineers cannot
    // configure scripts at all.
    for bad in ["../escape.sh", "sub/../../escape.sh", "/bin/echo", ""] {
        let (s, e) = admin.put("/reports/config", config(bad)).await;
        assert_eq!(s, 422, "{bad:?}: {e}");
        assert!(
            e["error"]["message"].as_str().unwrap().contains("build_no"),
            "{e}"
        );
    }
    let eng = c.user("eng", "engineer").await;
    assert_eq!(eng.put("/reports/config", config("build.sh")).await.0, 403);

    // An absolute path inside the directory is the same script as its relative path.
    let absolute = root.join("build.sh").display().to_string();
    let (s, b) = admin.put("/reports/config", config(&absolute)).await;
    assert_eq!(s, 200, "{b}");
    // An original db.xml names its scripts by absolute path on the old server: imported as the file name in
    // the scripts directory, with a note saying where to copy it.
    let old_xml = r#"<?xml version="1.0"?>
<root>
  <field_section>
    <field ID="build_no" Type="UserScript" SQLQuery="/opt/twister/scripts/build.sh" Label="Build"
           GUIDefined="false" Mandatory="true" />
  </field_section>
  <insert_section><sql_statement>INSERT INTO builds (build_at) VALUES ('@build_no@')</sql_statement></insert_section>
</root>"#;
    let (status, imported) = admin.put_xml("/reports/config/dbxml", old_xml).await;
    assert_eq!(status, 200, "{imported}");
    assert_eq!(
        imported["config"]["fields"][0]["sql_query"], "build.sh",
        "{imported}"
    );
    let notes = imported["notes"].to_string();
    assert!(
        notes.contains("/opt/twister/scripts/build.sh") && notes.contains(&root.display().to_string()),
        "{notes}"
    );

    let (s, b) = admin.put("/reports/config", config("build.sh")).await;
    assert_eq!(s, 200, "{b}");

    // A mandatory UserScript field needs no value in the project: its script gives it.
    let marker = tests.path().join("flip.marker");
    let (s, b) = put_project(&admin, project("scripted", true, "ignored", &marker)).await;
    assert_eq!(s, 201, "{b}");
    let run = run_to_end(&admin, "scripted").await;
    let rows = build_rows(&report_db).await;
    assert_eq!(rows.len(), 4, "{rows:?}");
    for (test, at, var) in &rows {
        assert_eq!(at, "b4711-scripted", "{test}");
        assert_eq!(var, "b4711-scripted", "{test}");
    }

    // A script that runs too long fails the save with a clear error; the results rows are still saved and the
    // report database keeps what it had.
    let (s, b) = admin.put("/reports/config", config("slow.sh")).await;
    assert_eq!(s, 200, "{b}");
    let t0 = Instant::now();
    let (s, e) = admin.post(&format!("/runs/{run}/save"), json!({})).await;
    assert_eq!(s, 422, "{e}");
    assert_eq!(e["error"]["code"], "report_script", "{e}");
    let message = e["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("build_no") && message.contains("slow.sh") && message.contains("timed out after 1s"),
        "{message}"
    );
    assert!(
        t0.elapsed() < Duration::from_secs(10),
        "the script was not stopped"
    );
    let (_, results) = admin.get(&format!("/runs/{run}/results")).await;
    assert_eq!(results.as_array().unwrap().len(), 4, "{results}");
    assert_eq!(build_rows(&report_db).await.len(), 4);

    // At the end of a run the same failure lands in the run's log, and the run itself is unaffected.
    let run2 = run_to_end(&admin, "scripted").await;
    let (_, logs) = admin.get(&format!("/runs/{run2}/logs?stream=controller")).await;
    assert!(
        logs.to_string()
            .contains("saving results failed: field build_no: script slow.sh: timed out after 1s"),
        "{logs}"
    );
    let (_, results) = admin.get(&format!("/runs/{run2}/results")).await;
    assert_eq!(results.as_array().unwrap().len(), 4, "{results}");
    c.stop().await;
}

/// A db.xml for MySQL and MariaDB: typed columns (INT, TINYINT, DATETIME, DECIMAL, TEXT) filled by the
/// inserts, backquoted aliases, `'$release.$build'` (a concatenation), a write and a slow query.
const MYSQL_DB_XML: &str = r#"<?xml version="1.0"?>
<root>
  <field_section>
    <field ID="res_id" Type="DbSelect" SQLQuery="SELECT COALESCE(MAX(id), 0) + 1 FROM gg_regression"
           Label="-" GUIDefined="false" Mandatory="true" />
    <field ID="release" Type="UserText" SQLQuery="" Label="Release:" GUIDefined="true" Mandatory="true" />
    <field ID="build" Type="UserText" SQLQuery="" Label="Build:" GUIDefined="true" Mandatory="true" />
  </field_section>
  <insert_section>
    <sql_statement>
INSERT INTO gg_regression (id, test_name, status, date_start, build, reason, elapsed, crashed)
VALUES ( @res_id@, '$twister_tc_name', '$twister_tc_status', '$twister_tc_date_started', '$release.$build',
 '$twister_tc_reason', $twister_tc_time_elapsed, $twister_tc_crash_detected ) # a MySQL comment: $not_a_variable
    </sql_statement>
  </insert_section>
  <reports_section>
    <field ID="Build" Type="UserSelect" Label="Select build:" SQLQuery="SELECT DISTINCT build FROM gg_regression ORDER BY build" />
    <field ID="Release" Type="UserText" Label="Release:" SQLQuery="" />
    <report ID="Details" Type="Table"
            SQLQuery="SELECT id, test_name, status, date_start, elapsed, crashed, reason, NULL AS nothing FROM gg_regression WHERE build = '@Build@' ORDER BY id" />
    <report ID="Summary" Type="PieChart"
            SQLQuery="SELECT status AS `Status`, COUNT(status) AS `Count` FROM gg_regression WHERE build = '@Build@' GROUP BY status ORDER BY status" />
    <report ID="Pass Rate" Type="LineChart"
            SQLQuery="SELECT build, COUNT(status) AS rate FROM gg_regression WHERE build LIKE '@Release@%' AND status = 'pass' GROUP BY build"
            SQLTotal="SELECT build, COUNT(status) AS rate FROM gg_regression WHERE build LIKE '@Release@%' GROUP BY build" />
    <report ID="Totals" Type="Table"
            SQLQuery="SELECT COUNT(*) AS n, SUM(elapsed) AS total, AVG(crashed) AS crashes, MIN(date_start) AS first, TS(1700000000000) AS ts, 'C:\new' AS path FROM gg_regression" />
    <report ID="Write" Type="Table" SQLQuery="DELETE FROM gg_regression" />
    <report ID="Slow" Type="Table" SQLQuery="SELECT SLEEP(3) AS slept" />
  </reports_section>
</root>
"#;

async fn mysql_rows(url: &str, sql: &str) -> Vec<sqlx::mysql::MySqlRow> {
    use sqlx::Connection;
    let mut conn = sqlx::MySqlConnection::connect(url).await.unwrap();
    let rows = sqlx::query(sql).fetch_all(&mut conn).await.unwrap();
    conn.close().await.unwrap();
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dbxml_inserts_and_reports_on_an_external_mariadb() {
    use sqlx::Row;
    let Some(external) = twister_tests::mysql::database().await else {
        twister_tests::tool_missing("MariaDB (mariadb-server)");
        return;
    };
    {
        use sqlx::{Connection, Executor};
        let mut conn = sqlx::MySqlConnection::connect(&external.url).await.unwrap();
        conn.execute(
            "CREATE TABLE gg_regression (id INT PRIMARY KEY, test_name VARCHAR(200), status VARCHAR(20), \
             date_start DATETIME, build VARCHAR(200), reason TEXT, elapsed DECIMAL(10,3), crashed TINYINT)",
        )
        .await
        .unwrap();
        conn.close().await.unwrap();
    }
    let sqlite = Backend {
        name: "sqlite",
        url: String::new(),
    };
    let (c, admin, tests) = controller(&sqlite).await;
    let _ws = StationProcess::start(&admin, "ws1", &["EP-1"]).await;
    let marker = tests.path().join("flip.marker");

    let (s, cfg) = admin
        .put(
            "/reports/config",
            json!({"database_url": external.url, "query_timeout_s": 1}),
        )
        .await;
    assert_eq!(s, 200, "{cfg}");
    // The URL's password is sealed at rest and never shown.
    assert!(!cfg.to_string().contains(&external.password), "{cfg}");
    assert!(
        cfg["config"]["database_url"].as_str().unwrap().contains(":***@"),
        "{cfg}"
    );
    let at_rest = |what: &str| {
        let db = std::fs::read(c.dir.path().join("twister.db")).unwrap();
        let wal = std::fs::read(c.dir.path().join("twister.db-wal")).unwrap_or_default();
        for bytes in [&db, &wal] {
            assert!(
                !bytes
                    .windows(external.password.len())
                    .any(|w| w == external.password.as_bytes()),
                "the report database password is in the controller's database ({what})"
            );
        }
    };
    at_rest("after PUT /reports/config");
    let (status, imported) = admin.put_xml("/reports/config/dbxml", MYSQL_DB_XML).await;
    assert_eq!(status, 200, "{imported}");
    assert_eq!(imported["config"]["reports"].as_array().unwrap().len(), 6);

    let mut doc = project("my", true, "b9", &marker);
    doc["settings"]["fields"] = json!({"release": "r2", "build": EVIL});
    assert_eq!(put_project(&admin, doc).await.0, 201);
    let run = run_to_end(&admin, "my").await;

    // The inserts ran in MariaDB, one row per saved test, ids from the DbSelect field, the evil text as data.
    let rows = mysql_rows(
        &external.url,
        "SELECT id, test_name, status, build, reason FROM gg_regression ORDER BY id",
    )
    .await;
    let (_, run_log) = admin.get(&format!("/runs/{run}/logs?stream=controller")).await;
    assert_eq!(rows.len(), 4, "{run_log}");
    let ids: Vec<i32> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(ids, [1, 2, 3, 4]);
    let evil = &rows[2];
    assert_eq!(evil.get::<String, _>(1), "evil.sh");
    assert_eq!(evil.get::<String, _>(2), "fail");
    assert_eq!(evil.get::<String, _>(3), format!("r2.{EVIL}"));
    assert!(evil.get::<String, _>(4).contains(EVIL));

    // Reports read from MariaDB with the field bound; MySQL types come back as JSON numbers, text and null.
    let build = format!("r2.{EVIL}");
    let (s, desc) = admin.get("/reports/Summary").await;
    assert_eq!(s, 200, "{desc}");
    assert_eq!(desc["fields"][0]["options"][0][0], build, "{desc}");
    let pie = report(&admin, "Summary", &format!("Build={}", urlencode(&build))).await;
    assert_eq!(pie["table"]["columns"], json!(["Status", "Count"]));
    assert_eq!(pie["table"]["rows"], json!([["fail", 1], ["pass", 3]]));
    let none = report(&admin, "Summary", &format!("Build={}", urlencode("x' OR '1'='1"))).await;
    assert_eq!(none["table"]["rows"], json!([]));
    let rate = report(&admin, "Pass Rate", "Release=r2").await;
    assert_eq!(rate["percent"]["rows"], json!([[build.clone(), 75.0]]), "{rate}");
    let details = report(&admin, "Details", &format!("Build={}", urlencode(&build))).await;
    let t = &details["table"];
    let row = &t["rows"][2];
    assert_eq!(row[column(t, "id")], 3, "{t}");
    assert_eq!(row[column(t, "crashed")], 0, "{t}");
    assert!(
        row[column(t, "elapsed")].is_f64() || row[column(t, "elapsed")].is_i64(),
        "{t}"
    );
    let started = row[column(t, "date_start")].as_str().unwrap();
    assert!(
        started.len() == 19 && &started[4..5] == "-" && &started[10..11] == "T",
        "{started}"
    );
    assert!(row[column(t, "reason")].as_str().unwrap().contains(EVIL));
    assert_eq!(row[column(t, "nothing")], Value::Null);
    let totals = report(&admin, "Totals", "").await;
    let t = &totals["table"];
    assert_eq!(t["rows"][0][column(t, "n")], 4, "{t}");
    assert!(t["rows"][0][column(t, "total")].is_number(), "{t}");
    assert_eq!(t["rows"][0][column(t, "crashes")], 0.0, "{t}");
    assert_eq!(t["rows"][0][column(t, "ts")], "2023-11-14T22:13:20Z", "{t}");
    // A backslash in a literal is a backslash (NO_BACKSLASH_ESCAPES), as the template tokenizer read it.
    assert_eq!(t["rows"][0][column(t, "path")], "C:\\new", "{t}");

    // Report queries cannot write, and the time limit holds.
    let (s, e) = admin.get("/reports/Write/data").await;
    assert_eq!(s, 422, "{e}");
    assert_eq!(e["error"]["code"], "report_query", "{e}");
    assert!(
        e["error"]["message"].as_str().unwrap().contains("READ ONLY"),
        "{e}"
    );
    let left = mysql_rows(&external.url, "SELECT COUNT(*) FROM gg_regression").await;
    assert_eq!(left[0].get::<i64, _>(0), 4);
    let t0 = Instant::now();
    let (s, e) = admin.get("/reports/Slow/data").await;
    assert_eq!(s, 422, "{e}");
    assert_eq!(e["error"]["code"], "report_timeout", "{e}");
    assert!(t0.elapsed() < Duration::from_millis(2900), "{:?}", t0.elapsed());
    // The connection is usable again after the limit (its session limit and transaction were reset).
    let again = report(&admin, "Details", &format!("Build={}", urlencode(&build))).await;
    assert_eq!(again["table"]["rows"].as_array().unwrap().len(), 4);

    // A configuration read back (password hidden) and saved again still reaches MariaDB.
    let (_, got) = admin.get("/reports/config").await;
    let shown = got["config"]["database_url"].as_str().unwrap();
    assert!(
        shown.contains(":***@") && !shown.contains(&external.password),
        "{shown}"
    );
    let (s, saved) = admin.put("/reports/config", got["config"].clone()).await;
    assert_eq!(s, 200, "{saved}");
    let (s, r) = admin.post(&format!("/runs/{run}/save"), json!({})).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["inserts"], 4, "{r}");
    let rows = mysql_rows(&external.url, "SELECT COUNT(*) FROM gg_regression").await;
    assert_eq!(rows[0].get::<i64, _>(0), 8);
    at_rest("after the dbxml import, a run and saving the configuration back");
    assert!(!run_log.to_string().contains(&external.password));

    // A report database that refuses the login is a 502 that names the URL without its password.
    let server = url::Url::parse(&external.url).unwrap();
    let host_port = format!("{}:{}", server.host_str().unwrap(), server.port().unwrap());
    let mut wrong = saved["config"].clone();
    wrong["database_url"] = json!(format!("mysql://someone:Unreachable-Secret-42@{host_port}/db"));
    let (s, b) = admin.put("/reports/config", wrong).await;
    assert_eq!(s, 200, "{b}");
    let (s, e) = admin.get("/reports/Totals/data").await;
    assert_eq!(s, 502, "{e}");
    let msg = e["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains(&format!("someone:***@{host_port}")) && !msg.contains("Unreachable-Secret-42"),
        "{msg}"
    );
    c.stop().await;
}
