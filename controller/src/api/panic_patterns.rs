//! Panic-detect patterns (`/panic-patterns`): each user's regular expressions, checked against the output of
//! tests in suites with panic detect on.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, patch};
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::ToSchema;

use super::error::{ApiError, ApiResult};
use crate::app::AppState;
use crate::auth::{Caller, Permission};
use crate::store::panic_patterns::PanicPattern;
use crate::store::{self, now_ms};

/// Body of a new panic pattern.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPattern {
    /// Regular expression matched against each output line.
    pub pattern: String,
    /// Checked or not (default true).
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

/// Body of a pattern change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatternChange {
    /// Checked or not.
    pub enabled: bool,
}

/// Routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/panic-patterns", get(list_patterns).post(add_pattern))
        .route(
            "/panic-patterns/{id}",
            patch(change_pattern).delete(delete_pattern),
        )
}

/// The caller's panic-detect patterns.
#[utoipa::path(get, path = "/api/v1/panic-patterns", tag = "runs", security(("bearer" = [])),
    responses((status = 200, body = [PanicPattern])))]
pub async fn list_patterns(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<PanicPattern>>> {
    caller.require(Permission::RunTests)?;
    Ok(Json(
        store::panic_patterns::patterns(&state.store, &caller.username).await?,
    ))
}

/// Adds a pattern (a regular expression; checked now).
#[utoipa::path(post, path = "/api/v1/panic-patterns", tag = "runs", security(("bearer" = [])),
    request_body = NewPattern, responses((status = 201, body = [PanicPattern])))]
pub async fn add_pattern(
    State(state): State<AppState>,
    caller: Caller,
    Json(req): Json<NewPattern>,
) -> ApiResult<(StatusCode, Json<Vec<PanicPattern>>)> {
    caller.require(Permission::RunTests)?;
    if req.pattern.is_empty() || req.pattern.len() > 1024 {
        return Err(ApiError::invalid("pattern: 1-1024 characters"));
    }
    regex::RegexBuilder::new(&req.pattern)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| ApiError::invalid(format!("not a valid regular expression: {e}")))?;
    let mut tx = state.store.begin_write().await?;
    store::panic_patterns::add_pattern(tx.conn(), &caller.username, &req.pattern, req.enabled, now_ms())
        .await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(store::panic_patterns::patterns(&state.store, &caller.username).await?),
    ))
}

/// Enables or disables a pattern.
#[utoipa::path(patch, path = "/api/v1/panic-patterns/{id}", tag = "runs", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = PatternChange, responses((status = 200, body = [PanicPattern])))]
pub async fn change_pattern(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(req): Json<PatternChange>,
) -> ApiResult<Json<Vec<PanicPattern>>> {
    caller.require(Permission::RunTests)?;
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::bad_request("pattern ids are numbers"))?;
    let mut tx = state.store.begin_write().await?;
    if !store::panic_patterns::set_pattern_enabled(tx.conn(), &caller.username, id, req.enabled).await? {
        return Err(ApiError::not_found(format!("no pattern {id}")));
    }
    tx.commit().await?;
    Ok(Json(
        store::panic_patterns::patterns(&state.store, &caller.username).await?,
    ))
}

/// Deletes a pattern.
#[utoipa::path(delete, path = "/api/v1/panic-patterns/{id}", tag = "runs", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 204)))]
pub async fn delete_pattern(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    caller.require(Permission::RunTests)?;
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::bad_request("pattern ids are numbers"))?;
    let mut tx = state.store.begin_write().await?;
    if !store::panic_patterns::delete_pattern(tx.conn(), &caller.username, id).await? {
        return Err(ApiError::not_found(format!("no pattern {id}")));
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
