//! Station rows: registration, what a station last told us about itself, and the link's sequence numbers, plus
//! the queue of commands a station has not acknowledged yet.

use sqlx::{AnyConnection, Row};

use super::{Store, StoreError};

/// A stored station.
#[derive(Debug, Clone)]
pub struct StationRow {
    /// Id.
    pub id: String,
    /// Unique name.
    pub name: String,
    /// Who registered it.
    pub created_by: String,
    /// When.
    pub created_at: i64,
    /// Its current token's id.
    pub token_id: Option<String>,
    /// Software version it reported.
    pub version: String,
    /// Host facts (JSON).
    pub facts: String,
    /// EPs (JSON list of `EpInfo`).
    pub eps: String,
    /// Last frame received.
    pub last_seen_at: Option<i64>,
    /// Whether a link is up now.
    pub connected: bool,
    /// Highest event stored.
    pub last_event_seq: i64,
    /// Next command number to use.
    pub next_command_seq: i64,
    /// Highest command acknowledged.
    pub acked_command_seq: i64,
}

const COLUMNS: &str =
    "id, name, created_by, created_at, token_id, version, facts, eps, last_seen_at, connected, \
                       last_event_seq, next_command_seq, acked_command_seq";

fn from_row(r: &sqlx::any::AnyRow) -> Result<StationRow, StoreError> {
    Ok(StationRow {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
        token_id: r.try_get("token_id")?,
        version: r.try_get("version")?,
        facts: r.try_get("facts")?,
        eps: r.try_get("eps")?,
        last_seen_at: r.try_get("last_seen_at")?,
        connected: r.try_get::<i64, _>("connected")? != 0,
        last_event_seq: r.try_get("last_event_seq")?,
        next_command_seq: r.try_get("next_command_seq")?,
        acked_command_seq: r.try_get("acked_command_seq")?,
    })
}

/// Registers a station.
pub async fn insert(conn: &mut AnyConnection, s: &StationRow) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT INTO stations ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
    ))
    .bind(&s.id)
    .bind(&s.name)
    .bind(&s.created_by)
    .bind(s.created_at)
    .bind(&s.token_id)
    .bind(&s.version)
    .bind(&s.facts)
    .bind(&s.eps)
    .bind(s.last_seen_at)
    .bind(s.connected as i64)
    .bind(s.last_event_seq)
    .bind(s.next_command_seq)
    .bind(s.acked_command_seq)
    .execute(conn)
    .await?;
    Ok(())
}

/// Every station, by name.
pub async fn list(store: &Store) -> Result<Vec<StationRow>, StoreError> {
    let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM stations ORDER BY name"))
        .fetch_all(store.pool())
        .await?;
    rows.iter().map(from_row).collect()
}

/// One station by name.
pub async fn by_name(conn: &mut AnyConnection, name: &str) -> Result<Option<StationRow>, StoreError> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM stations WHERE name = $1"))
        .bind(name)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// One station by id.
pub async fn by_id(conn: &mut AnyConnection, id: &str) -> Result<Option<StationRow>, StoreError> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM stations WHERE id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Records what a station said in its hello, and that it is connected.
pub async fn hello(
    conn: &mut AnyConnection,
    id: &str,
    version: &str,
    facts: &str,
    eps: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE stations SET version = $1, facts = $2, eps = $3, last_seen_at = $4, connected = 1 WHERE id = $5",
    )
    .bind(version)
    .bind(facts)
    .bind(eps)
    .bind(now)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Marks a station connected or not, with the time last seen.
pub async fn set_connected(conn: &mut AnyConnection, id: &str, up: bool, now: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE stations SET connected = $1, last_seen_at = $2 WHERE id = $3")
        .bind(up as i64)
        .bind(now)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Marks every station disconnected (at start: no link survives a restart).
pub async fn all_disconnected(conn: &mut AnyConnection) -> Result<(), StoreError> {
    sqlx::query("UPDATE stations SET connected = 0")
        .execute(conn)
        .await?;
    Ok(())
}

/// Records the highest stored event.
pub async fn set_last_event_seq(
    conn: &mut AnyConnection,
    id: &str,
    seq: i64,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE stations SET last_event_seq = $1, last_seen_at = $2 WHERE id = $3")
        .bind(seq)
        .bind(now)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Sets the station's token.
pub async fn set_token(conn: &mut AnyConnection, id: &str, token_id: &str) -> Result<(), StoreError> {
    sqlx::query("UPDATE stations SET token_id = $1 WHERE id = $2")
        .bind(token_id)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Deletes a station (its queued commands go with it).
pub async fn delete(conn: &mut AnyConnection, id: &str) -> Result<bool, StoreError> {
    sqlx::query("DELETE FROM station_commands WHERE station_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    let r = sqlx::query("DELETE FROM stations WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(r.rows_affected() > 0)
}

/// Queues a command; returns its number.
pub async fn enqueue_command(
    conn: &mut AnyConnection,
    station_id: &str,
    body: &str,
    now: i64,
) -> Result<i64, StoreError> {
    let (seq,): (i64,) = sqlx::query_as("SELECT next_command_seq FROM stations WHERE id = $1")
        .bind(station_id)
        .fetch_one(&mut *conn)
        .await?;
    sqlx::query("UPDATE stations SET next_command_seq = $1 WHERE id = $2")
        .bind(seq + 1)
        .bind(station_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("INSERT INTO station_commands (station_id, seq, body, created_at) VALUES ($1, $2, $3, $4)")
        .bind(station_id)
        .bind(seq)
        .bind(body)
        .bind(now)
        .execute(conn)
        .await?;
    Ok(seq)
}

/// Commands after `after`, in order.
pub async fn pending_commands(
    store: &Store,
    station_id: &str,
    after: i64,
) -> Result<Vec<(i64, String)>, StoreError> {
    let rows: Vec<(i64, String)> = sqlx::query_as(
        "SELECT seq, body FROM station_commands WHERE station_id = $1 AND seq > $2 ORDER BY seq",
    )
    .bind(station_id)
    .bind(after)
    .fetch_all(store.pool())
    .await?;
    Ok(rows)
}

/// Forgets commands up to `seq` (acknowledged).
pub async fn ack_commands(conn: &mut AnyConnection, station_id: &str, seq: i64) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM station_commands WHERE station_id = $1 AND seq <= $2")
        .bind(station_id)
        .bind(seq)
        .execute(&mut *conn)
        .await?;
    sqlx::query("UPDATE stations SET acked_command_seq = $1 WHERE id = $2 AND acked_command_seq < $3")
        .bind(seq)
        .bind(station_id)
        .bind(seq)
        .execute(conn)
        .await?;
    Ok(())
}
