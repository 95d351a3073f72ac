//! Schedules (`/schedules`): cron expressions in a time zone that start a project's run as a user; enable,
//! disable, delete, and the history of fired slots. Creating needs `run_tests`; a schedule that runs as someone
//! else, and changing others' schedules, need `change_users` (admins).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::IntoParams;

use super::error::{ApiError, ApiResult};
use crate::app::AppState;
use crate::auth::{Caller, Permission};
use crate::schedule::{NewSchedule, ScheduleError, ScheduleView};
use crate::store::schedules::HistoryEntry;

/// Routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/schedules", get(list).post(create))
        .route("/schedules/history", get(all_history))
        .route("/schedules/{id}", get(get_one).delete(remove))
        .route("/schedules/{id}/history", get(history))
        .route("/schedules/{id}/{action}", post(toggle))
}

fn err(e: ScheduleError) -> ApiError {
    match e {
        ScheduleError::NotFound(_) => ApiError::not_found(e.to_string()),
        ScheduleError::Cron(_) | ScheduleError::Invalid(_) => ApiError::invalid(e.to_string()),
        ScheduleError::Store(s) => s.into(),
    }
}

async fn may_change(state: &AppState, caller: &Caller, id: &str) -> Result<(), ApiError> {
    caller.require(Permission::RunTests)?;
    let s = state.scheduler.get(id).await.map_err(err)?;
    if s.created_by != caller.username && s.user != caller.username && !caller.has(Permission::ChangeUsers) {
        return Err(ApiError::forbidden(format!(
            "schedule {} belongs to {}",
            s.name, s.created_by
        )));
    }
    Ok(())
}

/// Every schedule.
#[utoipa::path(get, path = "/api/v1/schedules", tag = "schedules", security(("bearer" = [])),
    responses((status = 200, body = [ScheduleView])))]
pub async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<ScheduleView>>> {
    caller.require(Permission::ViewReports)?;
    Ok(Json(state.scheduler.list().await.map_err(err)?))
}

/// Creates a schedule.
#[utoipa::path(post, path = "/api/v1/schedules", tag = "schedules", security(("bearer" = [])),
    request_body = NewSchedule, responses((status = 201, body = ScheduleView)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<NewSchedule>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<(StatusCode, Json<ScheduleView>)> {
    caller.require(Permission::RunTests)?;
    let Json(new) = body?;
    if new.user.as_deref().is_some_and(|u| u != caller.username) {
        caller.require(Permission::ChangeUsers)?;
    }
    let v = state.scheduler.create(new, &caller.username).await.map_err(err)?;
    Ok((StatusCode::CREATED, Json(v)))
}

/// One schedule (by id or name) with its next slot.
#[utoipa::path(get, path = "/api/v1/schedules/{id}", tag = "schedules", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 200, body = ScheduleView)))]
pub async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<ScheduleView>> {
    caller.require(Permission::ViewReports)?;
    Ok(Json(state.scheduler.get(&id).await.map_err(err)?))
}

/// Deletes a schedule and its history.
#[utoipa::path(delete, path = "/api/v1/schedules/{id}", tag = "schedules", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 204)))]
pub async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    may_change(&state, &caller, &id).await?;
    state.scheduler.delete(&id, &caller.username).await.map_err(err)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `enable` or `disable` a schedule.
#[utoipa::path(post, path = "/api/v1/schedules/{id}/{action}", tag = "schedules", security(("bearer" = [])),
    params(("id" = String, Path), ("action" = String, Path, description = "enable or disable")),
    responses((status = 200, body = ScheduleView)))]
pub async fn toggle(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, action)): Path<(String, String)>,
) -> ApiResult<Json<ScheduleView>> {
    let enabled = match action.as_str() {
        "enable" => true,
        "disable" => false,
        other => {
            return Err(ApiError::not_found(format!(
                "no action {other:?}: enable or disable"
            )))
        }
    };
    may_change(&state, &caller, &id).await?;
    Ok(Json(
        state
            .scheduler
            .set_enabled(&id, enabled, &caller.username)
            .await
            .map_err(err)?,
    ))
}

/// How many history entries.
#[derive(Debug, Deserialize, IntoParams)]
pub struct HistoryQuery {
    /// Newest first, at most this many (default 100).
    pub limit: Option<i64>,
}

/// A schedule's history, newest first.
#[utoipa::path(get, path = "/api/v1/schedules/{id}/history", tag = "schedules", security(("bearer" = [])),
    params(("id" = String, Path), HistoryQuery), responses((status = 200, body = [HistoryEntry])))]
pub async fn history(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    query: Result<Query<HistoryQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Vec<HistoryEntry>>> {
    caller.require(Permission::ViewReports)?;
    let Query(q) = query?;
    Ok(Json(
        state
            .scheduler
            .history(Some(&id), q.limit.unwrap_or(100))
            .await
            .map_err(err)?,
    ))
}

/// Every schedule's history, newest first.
#[utoipa::path(get, path = "/api/v1/schedules/history", tag = "schedules", security(("bearer" = [])),
    params(HistoryQuery), responses((status = 200, body = [HistoryEntry])))]
pub async fn all_history(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<HistoryQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Vec<HistoryEntry>>> {
    caller.require(Permission::ViewReports)?;
    let Query(q) = query?;
    Ok(Json(
        state
            .scheduler
            .history(None, q.limit.unwrap_or(100))
            .await
            .map_err(err)?,
    ))
}
