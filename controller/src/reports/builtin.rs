//! Built-in reports over the built-in `results` table: they work with no configuration. Each is an ordinary
//! report definition (SQL with `@Field@` placeholders), run like a configured one against the controller's
//! own database. `TS(column)` in their SQL becomes the backend's way of showing Unix milliseconds as UTC text.

use super::config::{ReportDef, ReportField, ReportFieldKind, ReportKind};
use super::query::ReportEngine;

const PASS: &str = "SUM(CASE WHEN status = 'pass' THEN 1 ELSE 0 END)";

fn def(id: &str, kind: ReportKind, description: &str, sql: String) -> ReportDef {
    ReportDef {
        id: id.into(),
        kind,
        sql_query: sql,
        sql_total: None,
        sql_compare: None,
        description: description.into(),
    }
}

/// The built-in reports.
pub fn reports() -> Vec<ReportDef> {
    let project = "('@Project@' = '' OR project = '@Project@')";
    vec![
        def(
            "run-summary",
            ReportKind::Table,
            "Saved runs, newest first: tests, passed, failed, other outcomes and pass rate.",
            format!(
                "SELECT run_id AS run, MAX(project) AS project, MAX(build) AS build, TS(MIN(started_at)) AS started, \
                 COUNT(*) AS tests, CAST({PASS} AS BIGINT) AS passed, \
                 CAST(SUM(CASE WHEN status = 'fail' THEN 1 ELSE 0 END) AS BIGINT) AS failed, \
                 CAST(SUM(CASE WHEN status NOT IN ('pass', 'fail') THEN 1 ELSE 0 END) AS BIGINT) AS other, \
                 CAST(100.0 * {PASS} / COUNT(*) AS DOUBLE PRECISION) AS pass_rate \
                 FROM results WHERE {project} AND ('@Run@' = '' OR run_id = '@Run@') \
                 GROUP BY run_id ORDER BY MAX(saved_at) DESC LIMIT 200"
            ),
        ),
        def(
            "status-breakdown",
            ReportKind::PieChart,
            "Outcomes of the saved tests (of one run, build or project when chosen).",
            format!(
                "SELECT status, COUNT(*) AS tests FROM results WHERE {project} \
                 AND ('@Run@' = '' OR run_id = '@Run@') AND ('@Build@' = '' OR build = '@Build@') \
                 GROUP BY status ORDER BY tests DESC"
            ),
        ),
        def(
            "pass-rate-per-build",
            ReportKind::BarChart,
            "Pass rate of every build (the suites' `build` field).",
            format!(
                "SELECT build, CAST(100.0 * {PASS} / COUNT(*) AS DOUBLE PRECISION) AS pass_rate, \
                 COUNT(*) AS tests, CAST({PASS} AS BIGINT) AS passed \
                 FROM results WHERE {project} GROUP BY build ORDER BY build"
            ),
        ),
        def(
            "test-history",
            ReportKind::LineChart,
            "One test across runs, newest first: duration, outcome, reason, and a link to its packets.",
            "SELECT TS(started_at) AS started, duration_ms, status, run_id AS run, build, ep, reason, \
             packets_url AS packets FROM results WHERE test = '@Test@' ORDER BY started_at DESC LIMIT 500"
                .to_string(),
        ),
        def(
            "slowest-tests",
            ReportKind::BarChart,
            "The tests with the longest average duration.",
            format!(
                "SELECT test, CAST(AVG(duration_ms) AS DOUBLE PRECISION) AS avg_ms, MAX(duration_ms) AS max_ms, \
                 COUNT(*) AS runs FROM results WHERE {project} \
                 GROUP BY test HAVING COUNT(duration_ms) > 0 ORDER BY avg_ms DESC LIMIT 20"
            ),
        ),
        def(
            "flaky-tests",
            ReportKind::Table,
            "Tests whose outcome changed between runs of the same build.",
            format!(
                "SELECT build, test, COUNT(*) AS runs, COUNT(DISTINCT status) AS outcomes, \
                 CAST({PASS} AS BIGINT) AS passed, \
                 CAST(SUM(CASE WHEN status <> 'pass' THEN 1 ELSE 0 END) AS BIGINT) AS not_passed \
                 FROM results WHERE build <> '' AND {project} AND ('@Build@' = '' OR build = '@Build@') \
                 GROUP BY build, test HAVING COUNT(DISTINCT status) > 1 \
                 ORDER BY outcomes DESC, runs DESC, build, test LIMIT 500"
            ),
        ),
    ]
}

/// The fields the built-in reports use; all optional except `Test`.
pub fn fields() -> Vec<ReportField> {
    let f = |id: &str, label: &str, sql: &str, default: Option<&str>| ReportField {
        id: id.into(),
        kind: ReportFieldKind::UserSelect,
        sql_query: sql.into(),
        label: label.into(),
        default: default.map(str::to_string),
    };
    vec![
        f(
            "Project",
            "Project",
            "SELECT DISTINCT project FROM results ORDER BY project",
            Some(""),
        ),
        f(
            "Build",
            "Build",
            "SELECT DISTINCT build FROM results ORDER BY build",
            Some(""),
        ),
        f(
            "Run",
            "Run",
            "SELECT run_id, MAX(project) FROM results GROUP BY run_id ORDER BY MAX(saved_at) DESC LIMIT 200",
            Some(""),
        ),
        f(
            "Test",
            "Test",
            "SELECT DISTINCT test FROM results ORDER BY test",
            None,
        ),
    ]
}

/// The built-in report with this id.
pub fn find(id: &str) -> Option<ReportDef> {
    reports().into_iter().find(|r| r.id == id)
}

/// `sql` with every `TS(expr)` written for `engine` (RFC 3339 UTC text from Unix milliseconds).
pub fn expand_timestamps(sql: &str, engine: ReportEngine) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(pos) = rest.find("TS(") {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 3..];
        // Find the matching parenthesis.
        let mut depth = 1;
        let mut end = None;
        for (i, c) in after.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        end = Some(i);
                        break;
                    }
                }
                _ => {}
            }
        }
        let Some(end) = end else {
            out.push_str(&rest[pos..]);
            return out;
        };
        let expr = &after[..end];
        out.push_str(&match engine {
            ReportEngine::Sqlite => format!("strftime('%Y-%m-%dT%H:%M:%SZ', ({expr}) / 1000, 'unixepoch')"),
            ReportEngine::Postgres => format!(
                "to_char(to_timestamp(({expr}) / 1000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
            ),
            // The session's time zone is UTC (reports::mysql connects with time_zone '+00:00').
            ReportEngine::MySql | ReportEngine::MariaDb => {
                format!("DATE_FORMAT(FROM_UNIXTIME(({expr}) / 1000), '%Y-%m-%dT%H:%i:%sZ')")
            }
        });
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_parses_and_names_known_fields() {
        let known: Vec<String> = fields().into_iter().map(|f| f.id).collect();
        for r in reports() {
            for e in [
                ReportEngine::Sqlite,
                ReportEngine::Postgres,
                ReportEngine::MariaDb,
            ] {
                let t = super::super::template::Template::parse_for(
                    &expand_timestamps(&r.sql_query, e),
                    e.dialect(),
                )
                .unwrap();
                for f in t.fields() {
                    assert!(known.contains(&f), "{} uses {f}", r.id);
                }
            }
        }
        assert!(expand_timestamps("SELECT TS(MIN(a)) x", ReportEngine::Sqlite).contains("(MIN(a)) / 1000"));
    }

    /// On SQLite every built-in report, unfiltered (the slowest case: every saved result), reads an index
    /// rather than the wide result rows (migration 0006): a regression here costs seconds at a million rows.
    #[tokio::test]
    async fn every_builtin_reads_an_index_on_sqlite() {
        use sqlx::Row;
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/plans.db?mode=rwc", dir.path().display());
        let store = crate::store::Store::open(&url).await.unwrap();
        sqlx::raw_sql(
            "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 4999) \
             INSERT INTO results (run_id, item_id, project, suite, test, file, ep, username, status, reason, \
             started_at, ended_at, duration_ms, iteration, build, log_url, saved_at) \
             SELECT 'run' || (i / 100), 't' || (i % 100), 'p' || (i % 3), 's', 'test-' || (i % 300) || '.py', 'f', \
             'EP', 'u', CASE WHEN i % 7 = 0 THEN 'fail' ELSE 'pass' END, 'a longer reason text', i, i + 5, 5, 1, \
             'b' || (i / 1000), '/api/v1/runs/x/logs?item=y', i FROM n",
        )
        .execute(store.pool())
        .await
        .unwrap();
        // What saving a run does after writing its results: the planner's statistics brought up to date.
        store.optimize().await.unwrap();
        for r in reports() {
            let t = super::super::template::Template::parse_for(
                &expand_timestamps(&r.sql_query, ReportEngine::Sqlite),
                ReportEngine::Sqlite.dialect(),
            )
            .unwrap();
            let values = t
                .bind_values(|p| {
                    Ok::<_, ()>(if p.name == "Test" {
                        "test-001.py".into()
                    } else {
                        String::new()
                    })
                })
                .unwrap();
            let sql = format!("EXPLAIN QUERY PLAN {}", t.sql);
            let rows = super::super::template::bind_all(sqlx::query(&sql), &values)
                .fetch_all(store.pool())
                .await
                .unwrap();
            let plan: Vec<String> = rows.iter().map(|row| row.get::<String, _>(3)).collect();
            let reads: Vec<&String> = plan.iter().filter(|d| d.contains(" results")).collect();
            assert!(!reads.is_empty(), "{}: no read of results in {plan:?}", r.id);
            for d in reads {
                assert!(
                    d.contains("INDEX"),
                    "{}: reads the table rows ({d}); plan {plan:?}",
                    r.id
                );
                if r.id != "test-history" {
                    assert!(d.contains("COVERING INDEX"), "{}: not covered ({d})", r.id);
                }
            }
        }
    }
}
