//! User rows.

use sqlx::{AnyConnection, Row};

use super::{now_ms, Store, StoreError};
use crate::auth::Role;

/// A stored user.
#[derive(Debug, Clone)]
pub struct UserRow {
    /// Stable id.
    pub id: String,
    /// Login name.
    pub username: String,
    /// Human name.
    pub display_name: String,
    /// E-mail address (for reports and notifications).
    pub email: String,
    /// Role.
    pub role: Role,
    /// Argon2 PHC string.
    pub password_hash: String,
    /// Whether logins and tokens are refused.
    pub disabled: bool,
    /// Creation time, Unix ms.
    pub created_at: i64,
    /// Last change, Unix ms.
    pub updated_at: i64,
}

const COLUMNS: &str =
    "id, username, display_name, email, role, password_hash, disabled, created_at, updated_at";

fn from_row(row: &sqlx::any::AnyRow) -> Result<UserRow, StoreError> {
    let role: String = row.try_get("role")?;
    Ok(UserRow {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        display_name: row.try_get("display_name")?,
        email: row.try_get("email")?,
        role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("unknown role {role:?}")))?,
        password_hash: row.try_get("password_hash")?,
        disabled: row.try_get::<i64, _>("disabled")? != 0,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// Number of users.
pub async fn count(store: &Store) -> Result<i64, StoreError> {
    let row: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users")
        .fetch_one(store.pool())
        .await?;
    Ok(row.0)
}

/// Finds a user by login name.
pub async fn by_username(store: &Store, username: &str) -> Result<Option<UserRow>, StoreError> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM users WHERE username = $1"))
        .bind(username)
        .fetch_optional(store.pool())
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Finds a user by id.
pub async fn by_id(store: &Store, id: &str) -> Result<Option<UserRow>, StoreError> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM users WHERE id = $1"))
        .bind(id)
        .fetch_optional(store.pool())
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Every user, by name.
pub async fn list(store: &Store) -> Result<Vec<UserRow>, StoreError> {
    let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM users ORDER BY username"))
        .fetch_all(store.pool())
        .await?;
    rows.iter().map(from_row).collect()
}

/// Inserts a user; fails with a unique violation if the name is taken.
pub async fn insert(conn: &mut AnyConnection, user: &UserRow) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT INTO users ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    ))
    .bind(&user.id)
    .bind(&user.username)
    .bind(&user.display_name)
    .bind(&user.email)
    .bind(user.role.as_str())
    .bind(&user.password_hash)
    .bind(user.disabled as i64)
    .bind(user.created_at)
    .bind(user.updated_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Writes every mutable field of a user back.
pub async fn update(conn: &mut AnyConnection, user: &UserRow) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE users SET display_name = $2, email = $3, role = $4, password_hash = $5, disabled = $6, \
         updated_at = $7 WHERE id = $1",
    )
    .bind(&user.id)
    .bind(&user.display_name)
    .bind(&user.email)
    .bind(user.role.as_str())
    .bind(&user.password_hash)
    .bind(user.disabled as i64)
    .bind(now_ms())
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes a user and (by cascade) their tokens.
pub async fn delete(conn: &mut AnyConnection, id: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM tokens WHERE user_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM users WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Number of enabled admins (to refuse removing the last one).
pub async fn enabled_admins(conn: &mut AnyConnection) -> Result<i64, StoreError> {
    let row: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = 0")
        .fetch_one(conn)
        .await?;
    Ok(row.0)
}
