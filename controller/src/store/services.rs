//! Service definitions, kept as JSON documents by name.

use sqlx::AnyConnection;

use super::{Store, StoreError};

/// Every stored definition (JSON), by name.
pub async fn list(store: &Store) -> Result<Vec<(String, String)>, StoreError> {
    Ok(sqlx::query_as("SELECT name, doc FROM services ORDER BY name")
        .fetch_all(store.pool())
        .await?)
}

/// Stores (or replaces) a definition.
pub async fn put(
    conn: &mut AnyConnection,
    name: &str,
    doc: &str,
    by: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM services WHERE name = $1")
        .bind(name)
        .execute(&mut *conn)
        .await?;
    sqlx::query("INSERT INTO services (name, doc, updated_by, updated_at) VALUES ($1, $2, $3, $4)")
        .bind(name)
        .bind(doc)
        .bind(by)
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}

/// Deletes a definition; whether it existed.
pub async fn delete(conn: &mut AnyConnection, name: &str) -> Result<bool, StoreError> {
    let r = sqlx::query("DELETE FROM services WHERE name = $1")
        .bind(name)
        .execute(conn)
        .await?;
    Ok(r.rows_affected() > 0)
}
