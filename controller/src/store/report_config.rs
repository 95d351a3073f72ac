//! The reporting configuration document (fields, insert statements, reports, redirects): one versioned row.

use sqlx::{AnyConnection, Row};

use super::StoreError;

/// The stored document and its version.
#[derive(Debug, Clone)]
pub struct StoredConfig {
    /// JSON document.
    pub doc: String,
    /// Version, bumped on every change.
    pub version: i64,
}

/// The stored configuration, if any was saved.
pub async fn get(conn: &mut AnyConnection) -> Result<Option<StoredConfig>, StoreError> {
    let row = sqlx::query("SELECT doc, version FROM report_config WHERE id = 'default'")
        .fetch_optional(conn)
        .await?;
    row.map(|r| {
        Ok(StoredConfig {
            doc: r.try_get("doc")?,
            version: r.try_get("version")?,
        })
    })
    .transpose()
}

/// Saves the document with the next version; returns that version.
pub async fn put(conn: &mut AnyConnection, doc: &str, user: &str, now: i64) -> Result<i64, StoreError> {
    let current = get(&mut *conn).await?.map(|c| c.version).unwrap_or(0);
    let next = current + 1;
    if current == 0 {
        sqlx::query(
            "INSERT INTO report_config (id, doc, version, updated_by, updated_at) VALUES ('default', $1, $2, $3, $4)",
        )
        .bind(doc)
        .bind(next)
        .bind(user)
        .bind(now)
        .execute(conn)
        .await?;
    } else {
        sqlx::query(
            "UPDATE report_config SET doc = $1, version = $2, updated_by = $3, updated_at = $4 WHERE id = 'default'",
        )
        .bind(doc)
        .bind(next)
        .bind(user)
        .bind(now)
        .execute(conn)
        .await?;
    }
    Ok(next)
}
