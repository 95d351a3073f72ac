//! Outgoing webhooks (`/webhooks`): URLs that receive run, test, panic-detect and reservation events, signed with
//! HMAC-SHA256; a test ping; the delivery log. Admins only (`change_users`).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ApiResult};
use crate::app::AppState;
use crate::auth::{Caller, Permission};
use crate::notify::webhook::{WebhookError, WebhookInput, WebhookView};
use crate::store::webhooks::DeliveryAttempt;

/// Routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/webhooks", get(list).post(create))
        .route("/webhooks/{id}", get(get_one).patch(update).delete(remove))
        .route("/webhooks/{id}/ping", post(ping))
        .route("/webhooks/{id}/deliveries", get(deliveries))
}

fn err(e: WebhookError) -> ApiError {
    match e {
        WebhookError::NotFound(_) => ApiError::not_found(e.to_string()),
        WebhookError::Invalid(_) => ApiError::invalid(e.to_string()),
        WebhookError::Secret => ApiError::conflict(e.to_string()),
        WebhookError::Store(s) => s.into(),
    }
}

/// Every webhook (no secrets).
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "notify", security(("bearer" = [])),
    responses((status = 200, body = [WebhookView])))]
pub async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<WebhookView>>> {
    caller.require(Permission::ChangeUsers)?;
    Ok(Json(state.webhooks.list().await.map_err(err)?))
}

/// Creates a webhook; the answer shows its secret once.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "notify", security(("bearer" = [])),
    request_body = WebhookInput, responses((status = 201, body = WebhookView)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<WebhookInput>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<(StatusCode, Json<WebhookView>)> {
    caller.require(Permission::ChangeUsers)?;
    let Json(input) = body?;
    let v = state
        .webhooks
        .create(input, &caller.username)
        .await
        .map_err(err)?;
    Ok((StatusCode::CREATED, Json(v)))
}

/// One webhook.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}", tag = "notify", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 200, body = WebhookView)))]
pub async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<WebhookView>> {
    caller.require(Permission::ChangeUsers)?;
    Ok(Json(state.webhooks.get(&id).await.map_err(err)?))
}

/// Changes a webhook (URL, events, enabled, secret).
#[utoipa::path(patch, path = "/api/v1/webhooks/{id}", tag = "notify", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = WebhookInput, responses((status = 200, body = WebhookView)))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Json<WebhookInput>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Json<WebhookView>> {
    caller.require(Permission::ChangeUsers)?;
    let Json(input) = body?;
    Ok(Json(
        state
            .webhooks
            .update(&id, input, &caller.username)
            .await
            .map_err(err)?,
    ))
}

/// Deletes a webhook and its delivery log.
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "notify", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 204)))]
pub async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    caller.require(Permission::ChangeUsers)?;
    state.webhooks.delete(&id, &caller.username).await.map_err(err)?;
    Ok(StatusCode::NO_CONTENT)
}

/// The delivery started by a ping.
#[derive(Debug, Serialize, ToSchema)]
pub struct PingResult {
    /// Delivery id (see the delivery log).
    pub delivery: String,
}

/// Sends a `ping` event (with the usual retries); the outcome shows in the delivery log.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/ping", tag = "notify", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 202, body = PingResult)))]
pub async fn ping(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<PingResult>)> {
    caller.require(Permission::ChangeUsers)?;
    let delivery = state.webhooks.ping(&id, &caller.username).await.map_err(err)?;
    Ok((StatusCode::ACCEPTED, Json(PingResult { delivery })))
}

/// How many attempts.
#[derive(Debug, Deserialize, IntoParams)]
pub struct DeliveriesQuery {
    /// Newest first, at most this many (default 100).
    pub limit: Option<i64>,
}

/// A webhook's delivery attempts, newest first.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "notify", security(("bearer" = [])),
    params(("id" = String, Path), DeliveriesQuery), responses((status = 200, body = [DeliveryAttempt])))]
pub async fn deliveries(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    query: Result<Query<DeliveriesQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Vec<DeliveryAttempt>>> {
    caller.require(Permission::ChangeUsers)?;
    let Query(q) = query?;
    Ok(Json(
        state
            .webhooks
            .deliveries(&id, q.limit.unwrap_or(100))
            .await
            .map_err(err)?,
    ))
}
