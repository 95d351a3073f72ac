//! The audit log: who changed what, when, with the state before and after (secrets masked).

use serde::Serialize;
use sqlx::{AnyConnection, Row};
use utoipa::ToSchema;

use super::{ms_to_rfc3339, now_ms, Store, StoreError};

/// One audit entry as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditEntry {
    /// Sequence number.
    pub id: i64,
    /// When (RFC 3339, UTC).
    pub at: String,
    /// Who (user name, or `system` for expiries).
    pub actor: String,
    /// What kind of change, e.g. `resource.update`, `reservation.grant`.
    pub action: String,
    /// The object: an inventory path, a reservation id, a user name.
    pub target: String,
    /// State before, when it applies.
    pub before: Option<serde_json::Value>,
    /// State after, when it applies.
    pub after: Option<serde_json::Value>,
}

/// Appends an entry inside the caller's transaction.
pub async fn record(
    conn: &mut AnyConnection,
    actor: &str,
    action: &str,
    target: &str,
    before: Option<&serde_json::Value>,
    after: Option<&serde_json::Value>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO audit (at, actor, action, target, before, after) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(now_ms())
    .bind(actor)
    .bind(action)
    .bind(target)
    .bind(before.map(|v| v.to_string()))
    .bind(after.map(|v| v.to_string()))
    .execute(conn)
    .await?;
    Ok(())
}

/// Filters for [`query`].
#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    /// Only this actor.
    pub actor: Option<String>,
    /// Only actions starting with this text (`resource.`, `reservation.grant`).
    pub action_prefix: Option<String>,
    /// Only this target, or (when `recursive`) targets below it.
    pub target: Option<String>,
    /// Include targets below `target`.
    pub recursive: bool,
    /// Entries at or after this time (Unix ms).
    pub since: Option<i64>,
    /// Entries before this time (Unix ms).
    pub until: Option<i64>,
    /// Entries with an id below this (paging backwards).
    pub before_id: Option<i64>,
    /// At most this many entries.
    pub limit: i64,
}

/// Newest entries first, per the filter.
pub async fn query(store: &Store, f: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
    let target_prefix = f.target.as_ref().map(|t| format!("{}/", t.trim_end_matches('/')));
    let rows = sqlx::query(
        "SELECT id, at, actor, action, target, before, after FROM audit WHERE \
         ($1 IS NULL OR actor = $1) AND \
         ($2 IS NULL OR substr(action, 1, CAST($3 AS INTEGER)) = $2) AND \
         ($4 IS NULL OR target = $4 OR ($5 = 1 AND substr(target, 1, CAST($6 AS INTEGER)) = $7)) AND \
         ($8 IS NULL OR at >= $8) AND ($9 IS NULL OR at < $9) AND ($10 IS NULL OR id < $10) \
         ORDER BY id DESC LIMIT $11",
    )
    .bind(f.actor.as_deref())
    .bind(f.action_prefix.as_deref())
    .bind(
        f.action_prefix
            .as_ref()
            .map(|a| a.chars().count() as i64)
            .unwrap_or(0),
    )
    .bind(f.target.as_deref())
    .bind(f.recursive as i64)
    .bind(
        target_prefix
            .as_ref()
            .map(|t| t.chars().count() as i64)
            .unwrap_or(0),
    )
    .bind(target_prefix.as_deref().unwrap_or(""))
    .bind(f.since)
    .bind(f.until)
    .bind(f.before_id)
    .bind(f.limit.clamp(1, 10_000))
    .fetch_all(store.pool())
    .await?;
    let parse = |s: Option<String>| s.and_then(|t| serde_json::from_str(&t).ok());
    rows.iter()
        .map(|r| {
            Ok(AuditEntry {
                id: r.try_get("id")?,
                at: ms_to_rfc3339(r.try_get("at")?),
                actor: r.try_get("actor")?,
                action: r.try_get("action")?,
                target: r.try_get("target")?,
                before: parse(r.try_get("before")?),
                after: parse(r.try_get("after")?),
            })
        })
        .collect()
}
