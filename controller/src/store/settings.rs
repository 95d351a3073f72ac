//! Controller-wide settings kept as named JSON documents (the mail server now), and each run's mail outcome.

use sqlx::{AnyConnection, Row};

use super::{ms_to_rfc3339, Store, StoreError};

/// A named settings document, if stored.
pub async fn get(store: &Store, name: &str) -> Result<Option<String>, StoreError> {
    let row: Option<(String,)> = sqlx::query_as("SELECT value FROM settings WHERE name = $1")
        .bind(name)
        .fetch_optional(store.pool())
        .await?;
    Ok(row.map(|(v,)| v))
}

/// Stores a named settings document.
pub async fn put(
    conn: &mut AnyConnection,
    name: &str,
    value: &str,
    by: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM settings WHERE name = $1")
        .bind(name)
        .execute(&mut *conn)
        .await?;
    sqlx::query("INSERT INTO settings (name, value, updated_by, updated_at) VALUES ($1, $2, $3, $4)")
        .bind(name)
        .bind(value)
        .bind(by)
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}

/// What happened to a run's mail.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct RunMail {
    /// Run.
    pub run_id: String,
    /// `sent`, `failed` or `not_sent` (disabled, or the run passed and only failures are mailed).
    pub state: String,
    /// Recipients, the error, or why it was not sent.
    pub detail: String,
    /// When (RFC 3339).
    pub at: String,
}

/// Records a run's mail outcome (replacing an earlier one).
pub async fn set_run_mail(
    conn: &mut AnyConnection,
    run_id: &str,
    state: &str,
    detail: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM run_mail WHERE run_id = $1")
        .bind(run_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("INSERT INTO run_mail (run_id, state, detail, at) VALUES ($1, $2, $3, $4)")
        .bind(run_id)
        .bind(state)
        .bind(detail)
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}

/// A run's mail outcome, if there is one yet.
pub async fn run_mail(store: &Store, run_id: &str) -> Result<Option<RunMail>, StoreError> {
    let row = sqlx::query("SELECT run_id, state, detail, at FROM run_mail WHERE run_id = $1")
        .bind(run_id)
        .fetch_optional(store.pool())
        .await?;
    row.map(|r| {
        Ok(RunMail {
            run_id: r.try_get("run_id")?,
            state: r.try_get("state")?,
            detail: r.try_get("detail")?,
            at: ms_to_rfc3339(r.try_get("at")?),
        })
    })
    .transpose()
}

/// The latest mail failures, newest first (for the settings page).
pub async fn recent_mail_failures(store: &Store, limit: i64) -> Result<Vec<RunMail>, StoreError> {
    let rows = sqlx::query(
        "SELECT run_id, state, detail, at FROM run_mail WHERE state = 'failed' ORDER BY at DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(RunMail {
                run_id: r.try_get("run_id")?,
                state: r.try_get("state")?,
                detail: r.try_get("detail")?,
                at: ms_to_rfc3339(r.try_get("at")?),
            })
        })
        .collect()
}
