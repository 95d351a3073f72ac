//! Panic-detect patterns: each user's regular expressions and whether they are enabled.

use sqlx::{AnyConnection, Row};

use super::{Store, StoreError};

/// A panic-detect pattern.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct PanicPattern {
    /// Id.
    pub id: i64,
    /// Regular expression.
    pub pattern: String,
    /// Whether it is checked.
    pub enabled: bool,
}

/// A user's patterns.
pub async fn patterns(store: &Store, username: &str) -> Result<Vec<PanicPattern>, StoreError> {
    let rows = sqlx::query("SELECT id, pattern, enabled FROM panic_patterns WHERE username = $1 ORDER BY id")
        .bind(username)
        .fetch_all(store.pool())
        .await?;
    rows.iter()
        .map(|r| {
            Ok(PanicPattern {
                id: r.try_get("id")?,
                pattern: r.try_get("pattern")?,
                enabled: r.try_get::<i64, _>("enabled")? != 0,
            })
        })
        .collect()
}

/// Adds a pattern.
pub async fn add_pattern(
    conn: &mut AnyConnection,
    username: &str,
    pattern: &str,
    enabled: bool,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO panic_patterns (username, pattern, enabled, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(username)
    .bind(pattern)
    .bind(enabled as i64)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Enables or disables a pattern; false when it is not the user's.
pub async fn set_pattern_enabled(
    conn: &mut AnyConnection,
    username: &str,
    id: i64,
    enabled: bool,
) -> Result<bool, StoreError> {
    let r = sqlx::query("UPDATE panic_patterns SET enabled = $1 WHERE id = $2 AND username = $3")
        .bind(enabled as i64)
        .bind(id)
        .bind(username)
        .execute(conn)
        .await?;
    Ok(r.rows_affected() > 0)
}

/// Deletes a pattern; false when it is not the user's.
pub async fn delete_pattern(conn: &mut AnyConnection, username: &str, id: i64) -> Result<bool, StoreError> {
    let r = sqlx::query("DELETE FROM panic_patterns WHERE id = $1 AND username = $2")
        .bind(id)
        .bind(username)
        .execute(conn)
        .await?;
    Ok(r.rows_affected() > 0)
}
