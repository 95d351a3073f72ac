//! Token rows (only digests of the secrets are stored).

use sqlx::{AnyConnection, Row};

use super::{Store, StoreError};
use crate::auth::{TokenKind, TokenScope};

/// A stored token.
#[derive(Debug, Clone)]
pub struct TokenRow {
    /// Stable id (used to list and revoke).
    pub id: String,
    /// Owner.
    pub user_id: String,
    /// Human label.
    pub name: String,
    /// Kind.
    pub kind: TokenKind,
    /// SHA-256 of the secret.
    pub token_hash: String,
    /// Narrowing scope.
    pub scope: TokenScope,
    /// Creation time, Unix ms.
    pub created_at: i64,
    /// Expiry, Unix ms.
    pub expires_at: Option<i64>,
    /// Last use, Unix ms.
    pub last_used_at: Option<i64>,
    /// Revocation time, Unix ms.
    pub revoked_at: Option<i64>,
}

const COLUMNS: &str =
    "id, user_id, name, kind, token_hash, scope, created_at, expires_at, last_used_at, revoked_at";

fn from_row(row: &sqlx::any::AnyRow) -> Result<TokenRow, StoreError> {
    let kind: String = row.try_get("kind")?;
    let scope: String = row.try_get("scope")?;
    Ok(TokenRow {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        name: row.try_get("name")?,
        kind: TokenKind::parse(&kind).ok_or_else(|| StoreError::Corrupt(format!("token kind {kind:?}")))?,
        token_hash: row.try_get("token_hash")?,
        scope: serde_json::from_str(&scope).map_err(|e| StoreError::Corrupt(format!("token scope: {e}")))?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        last_used_at: row.try_get("last_used_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

/// Inserts a token.
pub async fn insert(conn: &mut AnyConnection, t: &TokenRow) -> Result<(), StoreError> {
    let scope = serde_json::to_string(&t.scope).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    sqlx::query(&format!(
        "INSERT INTO tokens ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    ))
    .bind(&t.id)
    .bind(&t.user_id)
    .bind(&t.name)
    .bind(t.kind.as_str())
    .bind(&t.token_hash)
    .bind(scope)
    .bind(t.created_at)
    .bind(t.expires_at)
    .bind(t.last_used_at)
    .bind(t.revoked_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Finds a token by the digest of its secret.
pub async fn by_hash(store: &Store, hash: &str) -> Result<Option<TokenRow>, StoreError> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM tokens WHERE token_hash = $1"))
        .bind(hash)
        .fetch_optional(store.pool())
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Finds a token by id.
pub async fn by_id(store: &Store, id: &str) -> Result<Option<TokenRow>, StoreError> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM tokens WHERE id = $1"))
        .bind(id)
        .fetch_optional(store.pool())
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Tokens of one user (or of everybody), newest first; session tokens only if asked.
pub async fn list(
    store: &Store,
    user_id: Option<&str>,
    include_sessions: bool,
) -> Result<Vec<TokenRow>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM tokens WHERE ($1 IS NULL OR user_id = $1) AND ($2 = 1 OR kind <> 'session') \
         ORDER BY created_at DESC, id"
    ))
    .bind(user_id)
    .bind(include_sessions as i64)
    .fetch_all(store.pool())
    .await?;
    rows.iter().map(from_row).collect()
}

/// Marks a token revoked.
pub async fn revoke(conn: &mut AnyConnection, id: &str, at: i64) -> Result<bool, StoreError> {
    let done = sqlx::query("UPDATE tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
        .bind(id)
        .bind(at)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Records a use of the token (callers throttle this).
pub async fn touch(store: &Store, id: &str, at: i64) -> Result<(), StoreError> {
    let mut tx = store.begin_write().await?;
    sqlx::query("UPDATE tokens SET last_used_at = $2 WHERE id = $1")
        .bind(id)
        .bind(at)
        .execute(tx.conn())
        .await?;
    tx.commit().await
}

/// Deletes session tokens that expired more than a day ago.
pub async fn purge_expired_sessions(conn: &mut AnyConnection, now: i64) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM tokens WHERE kind = 'session' AND expires_at < $1")
        .bind(now - 86_400_000)
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}
