//! Outgoing webhooks (URL, sealed secret, event patterns) and their delivery log.

use sqlx::{AnyConnection, Row};

use super::{ms_to_rfc3339, Store, StoreError};

/// A stored webhook (the secret still sealed).
#[derive(Debug, Clone)]
pub struct WebhookRow {
    /// Id.
    pub id: String,
    /// Where to POST.
    pub url: String,
    /// The sealed signing secret.
    pub secret: String,
    /// Event patterns (JSON list).
    pub events: String,
    /// Whether it is sent.
    pub enabled: bool,
    /// Who created it.
    pub created_by: String,
    /// When.
    pub created_at: i64,
}

const COLUMNS: &str = "id, url, secret, events, enabled, created_by, created_at";

fn from_row(r: &sqlx::any::AnyRow) -> Result<WebhookRow, StoreError> {
    Ok(WebhookRow {
        id: r.try_get("id")?,
        url: r.try_get("url")?,
        secret: r.try_get("secret")?,
        events: r.try_get("events")?,
        enabled: r.try_get::<i64, _>("enabled")? != 0,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
    })
}

/// Every webhook, oldest first.
pub async fn list(store: &Store) -> Result<Vec<WebhookRow>, StoreError> {
    let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM webhooks ORDER BY created_at, id"))
        .fetch_all(store.pool())
        .await?;
    rows.iter().map(from_row).collect()
}

/// Inserts a webhook.
pub async fn insert(conn: &mut AnyConnection, w: &WebhookRow) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT INTO webhooks ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
    ))
    .bind(&w.id)
    .bind(&w.url)
    .bind(&w.secret)
    .bind(&w.events)
    .bind(i64::from(w.enabled))
    .bind(&w.created_by)
    .bind(w.created_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Replaces a webhook's URL, patterns and enabled flag (and the secret when given).
pub async fn update(conn: &mut AnyConnection, w: &WebhookRow) -> Result<bool, StoreError> {
    let r = sqlx::query("UPDATE webhooks SET url = $1, secret = $2, events = $3, enabled = $4 WHERE id = $5")
        .bind(&w.url)
        .bind(&w.secret)
        .bind(&w.events)
        .bind(i64::from(w.enabled))
        .bind(&w.id)
        .execute(conn)
        .await?;
    Ok(r.rows_affected() > 0)
}

/// Deletes a webhook and its log; whether it existed.
pub async fn delete(conn: &mut AnyConnection, id: &str) -> Result<bool, StoreError> {
    sqlx::query("DELETE FROM webhook_deliveries WHERE webhook_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    let r = sqlx::query("DELETE FROM webhooks WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(r.rows_affected() > 0)
}

/// One delivery attempt.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct DeliveryAttempt {
    /// Sequence number.
    pub id: i64,
    /// Webhook.
    pub webhook_id: String,
    /// Delivery id (the same for every attempt of one event; the `X-Twister-Delivery` header).
    pub delivery: String,
    /// Event name.
    pub event: String,
    /// Attempt number, from 1.
    pub attempt: i64,
    /// HTTP status, when an answer came.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<i64>,
    /// `ok`, `retry` (another attempt follows) or `failed` (gave up).
    pub outcome: String,
    /// Error or answer excerpt.
    pub detail: String,
    /// When (RFC 3339).
    pub at: String,
}

/// Logs an attempt.
#[allow(clippy::too_many_arguments)]
pub async fn log_attempt(
    conn: &mut AnyConnection,
    webhook_id: &str,
    delivery: &str,
    event: &str,
    attempt: i64,
    status: Option<i64>,
    outcome: &str,
    detail: &str,
    at: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO webhook_deliveries (webhook_id, delivery, event, attempt, status, outcome, detail, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(webhook_id)
    .bind(delivery)
    .bind(event)
    .bind(attempt)
    .bind(status)
    .bind(outcome)
    .bind(detail)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Each webhook's newest attempt, by webhook id.
pub async fn latest_attempts(
    store: &Store,
) -> Result<std::collections::HashMap<String, DeliveryAttempt>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {ATTEMPT_COLUMNS} FROM webhook_deliveries \
         WHERE id IN (SELECT MAX(id) FROM webhook_deliveries GROUP BY webhook_id)"
    ))
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|r| attempt_from_row(r).map(|a| (a.webhook_id.clone(), a)))
        .collect()
}

const ATTEMPT_COLUMNS: &str = "id, webhook_id, delivery, event, attempt, status, outcome, detail, at";

fn attempt_from_row(r: &sqlx::any::AnyRow) -> Result<DeliveryAttempt, StoreError> {
    Ok(DeliveryAttempt {
        id: r.try_get("id")?,
        webhook_id: r.try_get("webhook_id")?,
        delivery: r.try_get("delivery")?,
        event: r.try_get("event")?,
        attempt: r.try_get("attempt")?,
        status: r.try_get("status")?,
        outcome: r.try_get("outcome")?,
        detail: r.try_get("detail")?,
        at: ms_to_rfc3339(r.try_get("at")?),
    })
}

/// A webhook's attempts, newest first.
pub async fn attempts(
    store: &Store,
    webhook_id: &str,
    limit: i64,
) -> Result<Vec<DeliveryAttempt>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {ATTEMPT_COLUMNS} FROM webhook_deliveries WHERE webhook_id = $1 ORDER BY id DESC LIMIT {}",
        limit.clamp(1, 10_000)
    ))
    .bind(webhook_id)
    .fetch_all(store.pool())
    .await?;
    rows.iter().map(attempt_from_row).collect()
}
