//! Reports at scale: with 1,000,000 stored results (bulk-inserted), the time each built-in report takes over
//! HTTP against a real controller, and the end-of-run save of a 10,000-test run (results rows, then the
//! original db.xml insert statement for every test against a separate report database). On SQLite, and on
//! PostgreSQL when a server can be started. Reference: `GET /api/v1/auth/whoami` on the same server.
//!
//! Run: `cargo bench -p twister-tests --bench reports` (env `BENCH_RESULTS`, default 1000000; `BENCH_RUN_TESTS`,
//! default 10000; `BENCH_BACKENDS`, default `sqlite,postgres`). `--profile dev` builds much faster and still
//! runs SQLite's C code optimised (Cargo.toml), which is where these reports spend their time.

#![allow(clippy::unwrap_used, missing_docs)]

use std::time::{Duration, Instant};

use serde_json::json;
use twister_controller::execution::plan::Plan;
use twister_controller::execution::Project;
use twister_controller::store::results::ResultRow;
use twister_controller::store::runs::{ItemRow, RunRow};
use twister_controller::store::{self, Store};
use twister_tests::{Api, Backend, TestController};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// Deterministic pseudo-random numbers (no dependency on the rand version).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

async fn bulk_insert(store: &Store, n: usize) -> Duration {
    let t0 = Instant::now();
    let tests_per_run = 100;
    let mut rng = Lcg(7);
    let mut batch = Vec::with_capacity(10_000);
    let base = 1_700_000_000_000i64;
    for i in 0..n {
        let run = i / tests_per_run;
        let t = i % tests_per_run + (run % 3) * 100; // 300 distinct tests
        let build = format!("b{}", run / 40); // 40 runs per build
        let r = rng.next();
        let status = match r % 100 {
            0..=84 => "pass",
            85..=94 => "fail",
            95..=97 => "skipped",
            _ => "error",
        };
        let start = base + (run as i64) * 600_000 + (i % tests_per_run) as i64 * 5_000;
        let dur = (r % 4_000) as i64 + (t as i64 % 10) * 100;
        batch.push(ResultRow {
            run_id: format!("run{run:06}"),
            item_id: format!("s1.t{}", i % tests_per_run + 1),
            project: format!("proj{}", run % 5),
            suite: "regression".into(),
            test: format!("test-{t:03}.py"),
            file: format!("tests/test-{t:03}.py"),
            ep: format!("EP-{}", run % 8),
            station: format!("ws{}", run % 8),
            username: "bench".into(),
            status: status.into(),
            reason: (status != "pass").then(|| "device did not answer".to_string()),
            started_at: Some(start),
            ended_at: Some(start + dur),
            duration_ms: Some(dur),
            iteration: 1,
            release: "r1".into(),
            build: build.clone(),
            fields: format!("{{\"build\":\"{build}\",\"release\":\"r1\"}}"),
            log_url: format!("/api/v1/runs/run{run:06}/logs?item=s1.t{}", i % tests_per_run + 1),
            packets_url: None,
            saved_at: start,
        });
        if batch.len() == 10_000 || i + 1 == n {
            let mut tx = store.begin_write().await.unwrap();
            store::results::insert_many(tx.conn(), &batch).await.unwrap();
            tx.commit().await.unwrap();
            batch.clear();
        }
    }
    t0.elapsed()
}

async fn median_ms(api: &Api, path: &str, times: usize) -> Result<f64, String> {
    let mut v = Vec::new();
    for _ in 0..times {
        let t0 = Instant::now();
        let (s, b) = api.get(path).await;
        if s != 200 {
            return Err(format!("{s} {}", b["error"]["code"]));
        }
        v.push(t0.elapsed().as_secs_f64() * 1000.0);
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    Ok(v[v.len() / 2])
}

/// A finished run of `n` tests stored as the engine stores one.
async fn synthetic_run(store: &Store, n: usize) -> String {
    let tests: Vec<serde_json::Value> = (0..n)
        .map(|i| json!({"file": format!("t/test-{i:05}.sh")}))
        .collect();
    let project: Project = serde_json::from_value(json!({
        "name": "big", "settings": {"fields": {"release": "r9", "build": "b9"}},
        "suites": [{"name": "all", "eps": ["EP-1"], "tests": tests}]
    }))
    .unwrap();
    let plan = Plan::expand(&project).unwrap();
    let id = store::new_id();
    let now = store::now_ms();
    let mut tx = store.begin_write().await.unwrap();
    store::runs::insert(
        tx.conn(),
        &RunRow {
            id: id.clone(),
            project: "big".into(),
            username: "admin".into(),
            state: "finished".into(),
            status: "fail".into(),
            plan: serde_json::to_string(&plan).unwrap(),
            created_at: now,
            started_at: Some(now),
            ended_at: Some(now + 1000),
            reason: None,
        },
    )
    .await
    .unwrap();
    for (ord, it) in plan.items().into_iter().enumerate() {
        store::runs::insert_item(
            tx.conn(),
            &ItemRow {
                run_id: id.clone(),
                id: it.id,
                parent: it.parent,
                kind: it.kind.into(),
                ord: ord as i64 * 1000,
                name: it.name,
                ep: it.ep,
                file: it.file,
                status: if ord % 10 == 0 { "fail" } else { "pass" }.into(),
                reason: (ord % 10 == 0).then(|| "it's broken".to_string()),
                exit_code: Some(0),
                started_at: Some(now),
                ended_at: Some(now + 5),
            },
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    id
}

const INSERT: &str =
    "INSERT INTO gg_regression (suite_name, test_name, status, date_start, date_end, build, machine) \
     VALUES ('$twister_suite_name', '$twister_tc_name', '$twister_tc_status', '$twister_tc_date_started', \
     '$twister_tc_date_finished', '$release.$build', '$twister_ep_name')";

async fn run(backend: Backend, report_db: String, n: usize, run_tests: usize) {
    let c = TestController::start(&backend).await;
    let admin = c.admin().await;
    let store = c.running.as_ref().unwrap().state.store.clone();
    let secrets = c.running.as_ref().unwrap().state.secrets.clone();
    let insert_time = bulk_insert(&store, n).await;
    // What saving a run does after writing its rows: the planner's statistics brought up to date.
    let t0 = Instant::now();
    store.optimize().await.unwrap();
    let optimize_time = t0.elapsed();
    println!(
        "{:9} bulk insert of {n} results: {:.1} s ({:.0} rows/s)",
        backend.name,
        insert_time.as_secs_f64(),
        n as f64 / insert_time.as_secs_f64()
    );
    println!(
        "{:9} planner statistics after the bulk insert: {:.2} s",
        backend.name,
        optimize_time.as_secs_f64()
    );
    let reference = median_ms(&admin, "/auth/whoami", 9).await.unwrap();
    println!("{:9} reference GET /auth/whoami: {reference:.2} ms", backend.name);
    for (name, query) in [
        ("run-summary", ""),
        ("run-summary", "Run=run005000"),
        ("status-breakdown", ""),
        ("status-breakdown", "Build=b100"),
        ("pass-rate-per-build", ""),
        ("test-history", "Test=test-042.py"),
        ("slowest-tests", ""),
        ("flaky-tests", ""),
        ("flaky-tests", "Build=b100"),
    ] {
        match median_ms(&admin, &format!("/reports/{name}/data?{query}"), 3).await {
            Ok(ms) => println!(
                "{:9} {name:20} {query:18} {ms:9.1} ms  ratio {:8.0}",
                backend.name,
                ms / reference
            ),
            Err(e) => println!("{:9} {name:20} {query:18} failed: {e}", backend.name),
        }
    }

    // End of run: 10,000 results rows, then the db.xml insert for each against a separate database.
    let id = synthetic_run(&store, run_tests).await;
    // The bench's configuration has no UserScript fields: no script runs.
    let scripts = twister_controller::reports::scripts::UserScripts::new(
        std::env::temp_dir(),
        std::time::Duration::from_secs(10),
        64 * 1024,
    );
    let saved = twister_controller::reports::saving::save_run(&store, &secrets, &scripts, &id)
        .await
        .unwrap();
    {
        use sqlx::{Connection, Executor};
        let mut conn = sqlx::AnyConnection::connect(&report_db).await.unwrap();
        conn.execute(
            "CREATE TABLE gg_regression (suite_name TEXT, test_name TEXT, status TEXT, date_start TEXT, \
             date_end TEXT, build TEXT, machine TEXT)",
        )
        .await
        .unwrap();
        conn.close().await.unwrap();
    }
    let (s, b) = admin
        .put(
            "/reports/config",
            json!({"database_url": report_db, "inserts": [INSERT]}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let again = twister_controller::reports::saving::save_run(&store, &secrets, &scripts, &id)
        .await
        .unwrap();
    assert_eq!(saved.saved, run_tests);
    assert_eq!(again.inserts, run_tests);
    println!(
        "{:9} end of run, {run_tests} tests: results saved in {:.2} s (again, replacing: {:.2} s); \
         db.xml insert per test: {:.2} s ({:.0}/s)",
        backend.name,
        saved.results_ms as f64 / 1000.0,
        again.results_ms as f64 / 1000.0,
        again.inserts_ms as f64 / 1000.0,
        run_tests as f64 / (again.inserts_ms.max(1) as f64 / 1000.0)
    );
    c.stop().await;
}

fn main() {
    let n = env("BENCH_RESULTS", 1_000_000);
    let run_tests = env("BENCH_RUN_TESTS", 10_000);
    let backends = std::env::var("BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let tmp = tempfile::tempdir().unwrap();
        let report_db = format!("sqlite://{}/report.db?mode=rwc", tmp.path().display());
        if backends.contains("sqlite") {
            run(
                Backend {
                    name: "sqlite",
                    url: String::new(),
                },
                report_db,
                n,
                run_tests,
            )
            .await;
        }
        if !backends.contains("postgres") {
            return;
        }
        match (
            twister_tests::pg::database().await,
            twister_tests::pg::database().await,
        ) {
            (Some(url), Some(report_db)) => {
                run(
                    Backend {
                        name: "postgres",
                        url,
                    },
                    report_db,
                    n,
                    run_tests,
                )
                .await
            }
            _ => println!("postgres  (no PostgreSQL server available: skipped)"),
        }
    });
}
