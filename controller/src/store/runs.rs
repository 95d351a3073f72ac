//! Run rows, their items (suite and test instances) and their log lines.

use sqlx::{AnyConnection, Row};

use super::{Store, StoreError};

/// A stored run.
#[derive(Debug, Clone)]
pub struct RunRow {
    /// Id.
    pub id: String,
    /// Project name.
    pub project: String,
    /// Who started it.
    pub username: String,
    /// `pending`, `running`, `paused`, `stopping`, `finished`.
    pub state: String,
    /// Rolled-up status.
    pub status: String,
    /// The plan (JSON): the project snapshot and its expansion.
    pub plan: String,
    /// Created.
    pub created_at: i64,
    /// Started.
    pub started_at: Option<i64>,
    /// Ended.
    pub ended_at: Option<i64>,
    /// Why it ended the way it did.
    pub reason: Option<String>,
}

/// A stored suite or test instance.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemRow {
    /// Run.
    pub run_id: String,
    /// Id within the run.
    pub id: String,
    /// Parent suite instance.
    pub parent: Option<String>,
    /// `suite` or `test`.
    pub kind: String,
    /// Order within the run.
    pub ord: i64,
    /// Suite name or test title.
    pub name: String,
    /// EP.
    pub ep: String,
    /// Test file.
    pub file: String,
    /// Status.
    pub status: String,
    /// Why.
    pub reason: Option<String>,
    /// Exit code of the test process.
    pub exit_code: Option<i64>,
    /// Started.
    pub started_at: Option<i64>,
    /// Ended.
    pub ended_at: Option<i64>,
}

const RUN_COLUMNS: &str =
    "id, project, username, state, status, plan, created_at, started_at, ended_at, reason";
const ITEM_COLUMNS: &str =
    "run_id, id, parent, kind, ord, name, ep, file, status, reason, exit_code, started_at, ended_at";

fn run_from(r: &sqlx::any::AnyRow) -> Result<RunRow, StoreError> {
    Ok(RunRow {
        id: r.try_get("id")?,
        project: r.try_get("project")?,
        username: r.try_get("username")?,
        state: r.try_get("state")?,
        status: r.try_get("status")?,
        plan: r.try_get("plan")?,
        created_at: r.try_get("created_at")?,
        started_at: r.try_get("started_at")?,
        ended_at: r.try_get("ended_at")?,
        reason: r.try_get("reason")?,
    })
}

fn item_from(r: &sqlx::any::AnyRow) -> Result<ItemRow, StoreError> {
    Ok(ItemRow {
        run_id: r.try_get("run_id")?,
        id: r.try_get("id")?,
        parent: r.try_get("parent")?,
        kind: r.try_get("kind")?,
        ord: r.try_get("ord")?,
        name: r.try_get("name")?,
        ep: r.try_get("ep")?,
        file: r.try_get("file")?,
        status: r.try_get("status")?,
        reason: r.try_get("reason")?,
        exit_code: r.try_get("exit_code")?,
        started_at: r.try_get("started_at")?,
        ended_at: r.try_get("ended_at")?,
    })
}

/// Inserts a run.
pub async fn insert(conn: &mut AnyConnection, r: &RunRow) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT INTO runs ({RUN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    ))
    .bind(&r.id)
    .bind(&r.project)
    .bind(&r.username)
    .bind(&r.state)
    .bind(&r.status)
    .bind(&r.plan)
    .bind(r.created_at)
    .bind(r.started_at)
    .bind(r.ended_at)
    .bind(&r.reason)
    .execute(conn)
    .await?;
    Ok(())
}

/// Inserts an item.
pub async fn insert_item(conn: &mut AnyConnection, i: &ItemRow) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT INTO run_items ({ITEM_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
    ))
    .bind(&i.run_id)
    .bind(&i.id)
    .bind(&i.parent)
    .bind(&i.kind)
    .bind(i.ord)
    .bind(&i.name)
    .bind(&i.ep)
    .bind(&i.file)
    .bind(&i.status)
    .bind(&i.reason)
    .bind(i.exit_code)
    .bind(i.started_at)
    .bind(i.ended_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// One run.
pub async fn get(store: &Store, id: &str) -> Result<Option<RunRow>, StoreError> {
    let row = sqlx::query(&format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = $1"))
        .bind(id)
        .fetch_optional(store.pool())
        .await?;
    row.as_ref().map(run_from).transpose()
}

/// Runs, newest first, optionally of one user or in some states.
pub async fn list(
    store: &Store,
    user: Option<&str>,
    live_only: bool,
    limit: i64,
) -> Result<Vec<RunRow>, StoreError> {
    let mut sql = format!("SELECT {RUN_COLUMNS} FROM runs WHERE 1 = 1");
    if user.is_some() {
        sql.push_str(" AND username = $1");
    }
    if live_only {
        sql.push_str(" AND state <> 'finished'");
    }
    sql.push_str(" ORDER BY created_at DESC, id DESC LIMIT ");
    sql.push_str(&limit.clamp(1, 10_000).to_string());
    let mut q = sqlx::query(&sql);
    if let Some(u) = user {
        q = q.bind(u);
    }
    let rows = q.fetch_all(store.pool()).await?;
    rows.iter().map(run_from).collect()
}

/// Runs that have not finished (to resume after a restart).
pub async fn unfinished(store: &Store) -> Result<Vec<RunRow>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {RUN_COLUMNS} FROM runs WHERE state <> 'finished' ORDER BY created_at"
    ))
    .fetch_all(store.pool())
    .await?;
    rows.iter().map(run_from).collect()
}

/// Sets a run's state, status and times (a `None` time keeps the stored one).
pub async fn set_state(
    conn: &mut AnyConnection,
    id: &str,
    state: &str,
    status: &str,
    started_at: Option<i64>,
    ended_at: Option<i64>,
    reason: Option<&str>,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE runs SET state = $1, status = $2, started_at = COALESCE(started_at, $3), \
         ended_at = COALESCE($4, ended_at), reason = COALESCE($5, reason) WHERE id = $6",
    )
    .bind(state)
    .bind(status)
    .bind(started_at)
    .bind(ended_at)
    .bind(reason)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Every item of a run, in order.
pub async fn items(store: &Store, run_id: &str) -> Result<Vec<ItemRow>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {ITEM_COLUMNS} FROM run_items WHERE run_id = $1 ORDER BY ord"
    ))
    .bind(run_id)
    .fetch_all(store.pool())
    .await?;
    rows.iter().map(item_from).collect()
}

/// The items directly under a suite instance, in order.
pub async fn children(store: &Store, run_id: &str, parent: &str) -> Result<Vec<ItemRow>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {ITEM_COLUMNS} FROM run_items WHERE run_id = $1 AND parent = $2 ORDER BY ord"
    ))
    .bind(run_id)
    .bind(parent)
    .fetch_all(store.pool())
    .await?;
    rows.iter().map(item_from).collect()
}

/// One item.
pub async fn item(conn: &mut AnyConnection, run_id: &str, id: &str) -> Result<Option<ItemRow>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {ITEM_COLUMNS} FROM run_items WHERE run_id = $1 AND id = $2"
    ))
    .bind(run_id)
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(item_from).transpose()
}

/// Changes an item's status unless it already has a final one; returns whether it changed.
#[allow(clippy::too_many_arguments)]
pub async fn set_item_status(
    conn: &mut AnyConnection,
    run_id: &str,
    id: &str,
    status: &str,
    reason: Option<&str>,
    exit_code: Option<i64>,
    started_at: Option<i64>,
    ended_at: Option<i64>,
) -> Result<bool, StoreError> {
    let r = sqlx::query(
        "UPDATE run_items SET status = $1, reason = $2, exit_code = COALESCE($3, exit_code), \
         started_at = COALESCE(started_at, $4), ended_at = COALESCE($5, ended_at) \
         WHERE run_id = $6 AND id = $7 AND status IN ('pending', 'waiting', 'running')",
    )
    .bind(status)
    .bind(reason)
    .bind(exit_code)
    .bind(started_at)
    .bind(ended_at)
    .bind(run_id)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(r.rows_affected() > 0)
}

/// Replaces a run's stored plan.
pub async fn set_plan(conn: &mut AnyConnection, id: &str, plan: &str) -> Result<(), StoreError> {
    sqlx::query("UPDATE runs SET plan = $1 WHERE id = $2")
        .bind(plan)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Deletes an item that has not started; false when it has.
pub async fn delete_pending_item(
    conn: &mut AnyConnection,
    run_id: &str,
    id: &str,
) -> Result<bool, StoreError> {
    let r = sqlx::query("DELETE FROM run_items WHERE run_id = $1 AND id = $2 AND status = 'pending'")
        .bind(run_id)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(r.rows_affected() > 0)
}

/// Appends a log line.
pub async fn insert_log(
    conn: &mut AnyConnection,
    run_id: &str,
    item_id: &str,
    ep: &str,
    stream: &str,
    at: i64,
    line: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO run_logs (run_id, item_id, ep, stream, at, line) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(run_id)
    .bind(item_id)
    .bind(ep)
    .bind(stream)
    .bind(at)
    .bind(line)
    .execute(conn)
    .await?;
    Ok(())
}

/// A stored log line.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct LogLine {
    /// Position (for paging and following).
    pub id: i64,
    /// Test instance (empty for run-level lines).
    pub item: String,
    /// EP.
    pub ep: String,
    /// `stdout`, `stderr`, `station`, `controller`.
    pub stream: String,
    /// Time (RFC 3339).
    pub at: String,
    /// Text.
    pub line: String,
}

/// Filters for log queries.
#[derive(Debug, Clone, Default)]
pub struct LogFilter {
    /// Only lines after this id.
    pub after: i64,
    /// Only this item.
    pub item: Option<String>,
    /// Only this EP.
    pub ep: Option<String>,
    /// Only these streams (comma-separated in the API): `stdout`, `stderr`, `station`, `controller`, and the
    /// original log kinds tests write with `twister log --kind`: `running`, `debug`, `summary`, `test`.
    pub streams: Vec<String>,
    /// Only lines containing this text.
    pub contains: Option<String>,
    /// At most this many.
    pub limit: i64,
}

/// Log lines of a run in order.
pub async fn logs(store: &Store, run_id: &str, f: &LogFilter) -> Result<Vec<LogLine>, StoreError> {
    let mut sql =
        String::from("SELECT id, item_id, ep, stream, at, line FROM run_logs WHERE run_id = $1 AND id > $2");
    let mut n = 2;
    let mut binds: Vec<String> = Vec::new();
    if let Some(i) = &f.item {
        n += 1;
        sql.push_str(&format!(" AND item_id = ${n}"));
        binds.push(i.clone());
    }
    if let Some(e) = &f.ep {
        n += 1;
        sql.push_str(&format!(" AND ep = ${n}"));
        binds.push(e.clone());
    }
    if !f.streams.is_empty() {
        let mut marks = Vec::new();
        for st in &f.streams {
            n += 1;
            marks.push(format!("${n}"));
            binds.push(st.clone());
        }
        sql.push_str(&format!(" AND stream IN ({})", marks.join(", ")));
    }
    if let Some(c) = &f.contains {
        n += 1;
        sql.push_str(&format!(" AND line LIKE ${n} ESCAPE '\\'"));
        let escaped = c.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        binds.push(format!("%{escaped}%"));
    }
    sql.push_str(&format!(" ORDER BY id LIMIT {}", f.limit.clamp(1, 100_000)));
    let mut q = sqlx::query(&sql).bind(run_id).bind(f.after);
    for b in &binds {
        q = q.bind(b);
    }
    let rows = q.fetch_all(store.pool()).await?;
    rows.iter()
        .map(|r| {
            Ok(LogLine {
                id: r.try_get("id")?,
                item: r.try_get("item_id")?,
                ep: r.try_get("ep")?,
                stream: r.try_get("stream")?,
                at: super::ms_to_rfc3339(r.try_get("at")?),
                line: r.try_get("line")?,
            })
        })
        .collect()
}
