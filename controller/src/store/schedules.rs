//! Schedules (cron expression, zone, project, user) and the history of what each slot did.

use sqlx::{AnyConnection, Row};

use super::{ms_to_rfc3339, Store, StoreError};

/// A stored schedule.
#[derive(Debug, Clone)]
pub struct ScheduleRow {
    /// Id.
    pub id: String,
    /// Unique name.
    pub name: String,
    /// Cron expression.
    pub cron: String,
    /// IANA zone.
    pub timezone: String,
    /// Project to run.
    pub project: String,
    /// User the run starts as.
    pub username: String,
    /// Whether it fires.
    pub enabled: bool,
    /// `skip` or `run_once`: what a slot missed while the controller was down does.
    pub missed: String,
    /// The last slot handled (fired or skipped), Unix ms.
    pub last_slot: i64,
    /// Who created it.
    pub created_by: String,
    /// When.
    pub created_at: i64,
}

const COLUMNS: &str =
    "id, name, cron, timezone, project, username, enabled, missed, last_slot, created_by, created_at";

fn from_row(r: &sqlx::any::AnyRow) -> Result<ScheduleRow, StoreError> {
    Ok(ScheduleRow {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        cron: r.try_get("cron")?,
        timezone: r.try_get("timezone")?,
        project: r.try_get("project")?,
        username: r.try_get("username")?,
        enabled: r.try_get::<i64, _>("enabled")? != 0,
        missed: r.try_get("missed")?,
        last_slot: r.try_get("last_slot")?,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
    })
}

/// Every schedule, by name.
pub async fn list(store: &Store) -> Result<Vec<ScheduleRow>, StoreError> {
    let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM schedules ORDER BY name"))
        .fetch_all(store.pool())
        .await?;
    rows.iter().map(from_row).collect()
}

/// One schedule by id or name.
pub async fn get(store: &Store, key: &str) -> Result<Option<ScheduleRow>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM schedules WHERE id = $1 OR name = $1"
    ))
    .bind(key)
    .fetch_optional(store.pool())
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Inserts a schedule.
pub async fn insert(conn: &mut AnyConnection, s: &ScheduleRow) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT INTO schedules ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    ))
    .bind(&s.id)
    .bind(&s.name)
    .bind(&s.cron)
    .bind(&s.timezone)
    .bind(&s.project)
    .bind(&s.username)
    .bind(i64::from(s.enabled))
    .bind(&s.missed)
    .bind(s.last_slot)
    .bind(&s.created_by)
    .bind(s.created_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Enables or disables a schedule; enabling restarts its clock at `now` (slots while disabled are not missed).
pub async fn set_enabled(
    conn: &mut AnyConnection,
    id: &str,
    enabled: bool,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE schedules SET enabled = $1, last_slot = CASE WHEN $2 = 1 THEN $3 ELSE last_slot END WHERE id = $4",
    )
    .bind(i64::from(enabled))
    .bind(i64::from(enabled))
    .bind(now)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Records the last slot handled.
pub async fn set_last_slot(conn: &mut AnyConnection, id: &str, slot: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE schedules SET last_slot = $1 WHERE id = $2")
        .bind(slot)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Deletes a schedule and its history; whether it existed.
pub async fn delete(conn: &mut AnyConnection, id: &str) -> Result<bool, StoreError> {
    sqlx::query("DELETE FROM schedule_history WHERE schedule_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    let r = sqlx::query("DELETE FROM schedules WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(r.rows_affected() > 0)
}

/// One entry of a schedule's history.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct HistoryEntry {
    /// Sequence number.
    pub id: i64,
    /// Schedule id.
    pub schedule_id: String,
    /// The slot (RFC 3339).
    pub slot: String,
    /// When it was handled.
    pub fired_at: String,
    /// The run started, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// `started`, `failed` (the run could not start) or `missed` (skipped by the missed-slot policy).
    pub outcome: String,
    /// Details.
    pub detail: String,
}

/// Appends a history entry.
pub async fn add_history(
    conn: &mut AnyConnection,
    schedule_id: &str,
    slot: i64,
    fired_at: i64,
    run_id: Option<&str>,
    outcome: &str,
    detail: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO schedule_history (schedule_id, slot, fired_at, run_id, outcome, detail) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(schedule_id)
    .bind(slot)
    .bind(fired_at)
    .bind(run_id)
    .bind(outcome)
    .bind(detail)
    .execute(conn)
    .await?;
    Ok(())
}

/// History, newest first, of one schedule or all.
pub async fn history(
    store: &Store,
    schedule_id: Option<&str>,
    limit: i64,
) -> Result<Vec<HistoryEntry>, StoreError> {
    let mut sql =
        String::from("SELECT id, schedule_id, slot, fired_at, run_id, outcome, detail FROM schedule_history");
    if schedule_id.is_some() {
        sql.push_str(" WHERE schedule_id = $1");
    }
    sql.push_str(" ORDER BY id DESC LIMIT ");
    sql.push_str(&limit.clamp(1, 10_000).to_string());
    let mut q = sqlx::query(&sql);
    if let Some(s) = schedule_id {
        q = q.bind(s);
    }
    let rows = q.fetch_all(store.pool()).await?;
    rows.iter()
        .map(|r| {
            Ok(HistoryEntry {
                id: r.try_get("id")?,
                schedule_id: r.try_get("schedule_id")?,
                slot: ms_to_rfc3339(r.try_get("slot")?),
                fired_at: ms_to_rfc3339(r.try_get("fired_at")?),
                run_id: r.try_get("run_id")?,
                outcome: r.try_get("outcome")?,
                detail: r.try_get("detail")?,
            })
        })
        .collect()
}
