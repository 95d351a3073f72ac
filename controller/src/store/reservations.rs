//! Reservation rows: live ones (waiting, active) and history (released, expired, cancelled, revoked).

use sqlx::{AnyConnection, Row};

use super::{Store, StoreError};

/// A stored reservation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReservationRow {
    /// Id.
    pub id: String,
    /// Monotonic request number (queue order among equal priorities).
    pub seq: i64,
    /// Reserved node.
    pub node_id: String,
    /// The node's path when requested (the current path comes from the node).
    pub path: String,
    /// Holder's user id.
    pub user_id: String,
    /// Holder's name.
    pub username: String,
    /// `waiting`, `active`, `released`, `expired`, `cancelled`, `revoked`.
    pub state: String,
    /// Queue priority, higher first.
    pub priority: i64,
    /// Lease length, ms.
    pub duration_ms: i64,
    /// Free text from the requester.
    pub note: String,
    /// The run that locks it, if any.
    pub locked_by: Option<String>,
    /// Request time.
    pub created_at: i64,
    /// Grant time.
    pub granted_at: Option<i64>,
    /// Lease end (active) or wait deadline (waiting).
    pub expires_at: Option<i64>,
    /// End time.
    pub ended_at: Option<i64>,
    /// Why it ended.
    pub end_reason: Option<String>,
    /// Who ended it.
    pub ended_by: Option<String>,
}

const COLUMNS: &str =
    "id, seq, node_id, path, user_id, username, state, priority, duration_ms, note, locked_by, \
                       created_at, granted_at, expires_at, ended_at, end_reason, ended_by";

fn from_row(r: &sqlx::any::AnyRow) -> Result<ReservationRow, StoreError> {
    Ok(ReservationRow {
        id: r.try_get("id")?,
        seq: r.try_get("seq")?,
        node_id: r.try_get("node_id")?,
        path: r.try_get("path")?,
        user_id: r.try_get("user_id")?,
        username: r.try_get("username")?,
        state: r.try_get("state")?,
        priority: r.try_get("priority")?,
        duration_ms: r.try_get("duration_ms")?,
        note: r.try_get("note")?,
        locked_by: r.try_get("locked_by")?,
        created_at: r.try_get("created_at")?,
        granted_at: r.try_get("granted_at")?,
        expires_at: r.try_get("expires_at")?,
        ended_at: r.try_get("ended_at")?,
        end_reason: r.try_get("end_reason")?,
        ended_by: r.try_get("ended_by")?,
    })
}

/// Live reservations (waiting and active) with the current path of their node.
pub async fn live(conn: &mut AnyConnection) -> Result<Vec<(ReservationRow, String)>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {}, n.path AS node_path FROM reservations r JOIN nodes n ON n.id = r.node_id \
         WHERE r.state IN ('waiting', 'active') ORDER BY r.priority DESC, r.seq",
        COLUMNS
            .split(", ")
            .map(|c| format!("r.{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    ))
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| Ok((from_row(r)?, r.try_get("node_path")?)))
        .collect()
}

/// One reservation by id.
pub async fn by_id(conn: &mut AnyConnection, id: &str) -> Result<Option<ReservationRow>, StoreError> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM reservations WHERE id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// The next request number.
pub async fn next_seq(conn: &mut AnyConnection) -> Result<i64, StoreError> {
    let row: (Option<i64>,) = sqlx::query_as("SELECT MAX(seq) FROM reservations")
        .fetch_one(conn)
        .await?;
    Ok(row.0.unwrap_or(0) + 1)
}

/// Inserts a reservation.
pub async fn insert(conn: &mut AnyConnection, r: &ReservationRow) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT INTO reservations ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, \
         $15, $16, $17)"
    ))
    .bind(&r.id)
    .bind(r.seq)
    .bind(&r.node_id)
    .bind(&r.path)
    .bind(&r.user_id)
    .bind(&r.username)
    .bind(&r.state)
    .bind(r.priority)
    .bind(r.duration_ms)
    .bind(&r.note)
    .bind(&r.locked_by)
    .bind(r.created_at)
    .bind(r.granted_at)
    .bind(r.expires_at)
    .bind(r.ended_at)
    .bind(&r.end_reason)
    .bind(&r.ended_by)
    .execute(conn)
    .await?;
    Ok(())
}

/// Writes the mutable fields of a reservation back.
pub async fn update(conn: &mut AnyConnection, r: &ReservationRow) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE reservations SET state = $2, locked_by = $3, granted_at = $4, expires_at = $5, ended_at = $6, \
         end_reason = $7, ended_by = $8, duration_ms = $9 WHERE id = $1",
    )
    .bind(&r.id)
    .bind(&r.state)
    .bind(&r.locked_by)
    .bind(r.granted_at)
    .bind(r.expires_at)
    .bind(r.ended_at)
    .bind(&r.end_reason)
    .bind(&r.ended_by)
    .bind(r.duration_ms)
    .execute(conn)
    .await?;
    Ok(())
}

/// Filters for [`list`].
#[derive(Debug, Default, Clone)]
pub struct ReservationFilter {
    /// Only these states.
    pub states: Vec<String>,
    /// Only this holder.
    pub username: Option<String>,
    /// Only this node.
    pub node_id: Option<String>,
    /// Overlapping this time window (Unix ms): started before `until`...
    pub until: Option<i64>,
    /// ...and ended (or still live) after `since`.
    pub since: Option<i64>,
    /// At most this many rows.
    pub limit: i64,
}

/// Reservations per the filter, newest first.
pub async fn list(store: &Store, f: &ReservationFilter) -> Result<Vec<ReservationRow>, StoreError> {
    // States become one placeholder each after the five fixed ones ($1..$5).
    let state_clause = if f.states.is_empty() {
        String::new()
    } else {
        let marks: Vec<String> = (0..f.states.len()).map(|i| format!("${}", i + 6)).collect();
        format!(" AND state IN ({})", marks.join(", "))
    };
    let sql = format!(
        "SELECT {COLUMNS} FROM reservations WHERE \
         ($1 IS NULL OR username = $1) AND ($2 IS NULL OR node_id = $2) AND \
         ($3 IS NULL OR created_at < $3) AND ($4 IS NULL OR ended_at IS NULL OR ended_at >= $4){state_clause} \
         ORDER BY seq DESC LIMIT $5"
    );
    let mut q = sqlx::query(&sql)
        .bind(f.username.as_deref())
        .bind(f.node_id.as_deref())
        .bind(f.until)
        .bind(f.since)
        .bind(f.limit.clamp(1, 10_000));
    for st in &f.states {
        q = q.bind(st.as_str());
    }
    let rows = q.fetch_all(store.pool()).await?;
    rows.iter().map(from_row).collect()
}
