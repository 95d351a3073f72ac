//! Global parameters: each user's defaults and the values tests set during a run.

use sqlx::AnyConnection;

use super::{Store, StoreError};

/// A user's default globals, by path.
pub async fn defaults(store: &Store, username: &str) -> Result<Vec<(String, String)>, StoreError> {
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT path, value FROM globals WHERE username = $1 ORDER BY path")
            .bind(username)
            .fetch_all(store.pool())
            .await?;
    Ok(rows)
}

/// Sets a user's default.
pub async fn set_default(
    conn: &mut AnyConnection,
    username: &str,
    path: &str,
    value: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM globals WHERE username = $1 AND path = $2")
        .bind(username)
        .bind(path)
        .execute(&mut *conn)
        .await?;
    sqlx::query("INSERT INTO globals (username, path, value, updated_at) VALUES ($1, $2, $3, $4)")
        .bind(username)
        .bind(path)
        .bind(value)
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}

/// Deletes a default, or a whole folder of them (`path` and everything below it); returns how many.
pub async fn delete_default(conn: &mut AnyConnection, username: &str, path: &str) -> Result<u64, StoreError> {
    let escaped = path
        .trim_end_matches('/')
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    let below = format!("{escaped}/%");
    let r =
        sqlx::query("DELETE FROM globals WHERE username = $1 AND (path = $2 OR path LIKE $3 ESCAPE '\\')")
            .bind(username)
            .bind(path)
            .bind(below)
            .execute(conn)
            .await?;
    Ok(r.rows_affected())
}

/// A run's value for `path`, else the run user's default.
pub async fn effective(
    store: &Store,
    run_id: &str,
    username: &str,
    path: &str,
) -> Result<Option<String>, StoreError> {
    let run: Option<(String,)> =
        sqlx::query_as("SELECT value FROM run_globals WHERE run_id = $1 AND path = $2")
            .bind(run_id)
            .bind(path)
            .fetch_optional(store.pool())
            .await?;
    if let Some((v,)) = run {
        return Ok(Some(v));
    }
    let def: Option<(String,)> =
        sqlx::query_as("SELECT value FROM globals WHERE username = $1 AND path = $2")
            .bind(username)
            .bind(path)
            .fetch_optional(store.pool())
            .await?;
    Ok(def.map(|(v,)| v))
}

/// Every value a run sees: defaults overlaid with what its tests set.
pub async fn effective_all(
    store: &Store,
    run_id: &str,
    username: &str,
) -> Result<Vec<(String, String)>, StoreError> {
    let mut map: std::collections::BTreeMap<String, String> =
        defaults(store, username).await?.into_iter().collect();
    let rows: Vec<(String, String)> = sqlx::query_as("SELECT path, value FROM run_globals WHERE run_id = $1")
        .bind(run_id)
        .fetch_all(store.pool())
        .await?;
    map.extend(rows);
    Ok(map.into_iter().collect())
}

/// Sets a value for the rest of a run.
pub async fn set_run(
    conn: &mut AnyConnection,
    run_id: &str,
    path: &str,
    value: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM run_globals WHERE run_id = $1 AND path = $2")
        .bind(run_id)
        .bind(path)
        .execute(&mut *conn)
        .await?;
    sqlx::query("INSERT INTO run_globals (run_id, path, value, updated_at) VALUES ($1, $2, $3, $4)")
        .bind(run_id)
        .bind(path)
        .bind(value)
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}
