//! Saved test results: one row per test instance of a saved run, the table the built-in reports read.

use sqlx::{AnyConnection, Row};

use super::{Store, StoreError};

/// A saved test result.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct ResultRow {
    /// Run.
    pub run_id: String,
    /// Test instance within the run (`s1.t2`).
    pub item_id: String,
    /// Project name.
    pub project: String,
    /// Suite name.
    pub suite: String,
    /// Test title.
    pub test: String,
    /// Test file.
    pub file: String,
    /// EP.
    pub ep: String,
    /// Station that offered the EP (empty when unknown).
    pub station: String,
    /// Who started the run.
    pub username: String,
    /// Final status.
    pub status: String,
    /// Why.
    pub reason: Option<String>,
    /// Started, Unix ms.
    pub started_at: Option<i64>,
    /// Ended, Unix ms.
    pub ended_at: Option<i64>,
    /// Ended minus started, ms.
    pub duration_ms: Option<i64>,
    /// Iteration of the test (1-based).
    pub iteration: i64,
    /// The `release` user field (also in `fields`), for the built-in reports.
    pub release: String,
    /// The `build` user field (also in `fields`), for the built-in reports.
    pub build: String,
    /// User-defined project and suite fields, JSON object.
    pub fields: String,
    /// Link to the test's log (API path).
    pub log_url: String,
    /// Link to the test's packets (filled by the capture engine; none yet).
    pub packets_url: Option<String>,
    /// When it was saved, Unix ms.
    pub saved_at: i64,
}

const COLUMNS: &str = "run_id, item_id, project, suite, test, file, ep, station, username, status, reason, \
     started_at, ended_at, duration_ms, iteration, release, build, fields, log_url, packets_url, saved_at";
const NCOLS: usize = 21;
/// Rows per INSERT statement (keeps the bound parameters well under SQLite's limit).
const ROWS_PER_STATEMENT: usize = 200;

fn from_row(r: &sqlx::any::AnyRow) -> Result<ResultRow, StoreError> {
    Ok(ResultRow {
        run_id: r.try_get("run_id")?,
        item_id: r.try_get("item_id")?,
        project: r.try_get("project")?,
        suite: r.try_get("suite")?,
        test: r.try_get("test")?,
        file: r.try_get("file")?,
        ep: r.try_get("ep")?,
        station: r.try_get("station")?,
        username: r.try_get("username")?,
        status: r.try_get("status")?,
        reason: r.try_get("reason")?,
        started_at: r.try_get("started_at")?,
        ended_at: r.try_get("ended_at")?,
        duration_ms: r.try_get("duration_ms")?,
        iteration: r.try_get("iteration")?,
        release: r.try_get("release")?,
        build: r.try_get("build")?,
        fields: r.try_get("fields")?,
        log_url: r.try_get("log_url")?,
        packets_url: r.try_get("packets_url")?,
        saved_at: r.try_get("saved_at")?,
    })
}

/// Inserts rows, many per statement.
pub async fn insert_many(conn: &mut AnyConnection, rows: &[ResultRow]) -> Result<(), StoreError> {
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let mut sql = format!("INSERT INTO results ({COLUMNS}) VALUES ");
        for i in 0..chunk.len() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            for c in 0..NCOLS {
                if c > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&format!("${}", i * NCOLS + c + 1));
            }
            sql.push(')');
        }
        let mut q = sqlx::query(&sql);
        for r in chunk {
            q = q
                .bind(&r.run_id)
                .bind(&r.item_id)
                .bind(&r.project)
                .bind(&r.suite)
                .bind(&r.test)
                .bind(&r.file)
                .bind(&r.ep)
                .bind(&r.station)
                .bind(&r.username)
                .bind(&r.status)
                .bind(&r.reason)
                .bind(r.started_at)
                .bind(r.ended_at)
                .bind(r.duration_ms)
                .bind(r.iteration)
                .bind(&r.release)
                .bind(&r.build)
                .bind(&r.fields)
                .bind(&r.log_url)
                .bind(&r.packets_url)
                .bind(r.saved_at);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Deletes the saved results of a run (before saving it again); returns how many there were.
pub async fn delete_run(conn: &mut AnyConnection, run_id: &str) -> Result<u64, StoreError> {
    let r = sqlx::query("DELETE FROM results WHERE run_id = $1")
        .bind(run_id)
        .execute(conn)
        .await?;
    Ok(r.rows_affected())
}

/// The saved results of a run, in item order.
pub async fn of_run(store: &Store, run_id: &str) -> Result<Vec<ResultRow>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM results WHERE run_id = $1 ORDER BY id"
    ))
    .bind(run_id)
    .fetch_all(store.pool())
    .await?;
    rows.iter().map(from_row).collect()
}
