//! Runs (`/runs`): start a project, watch it, pause / resume / stop it, queue and de-queue tests, read its logs
//! and append to them (tests write to their own segment).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::ToSchema;

use super::error::{ApiError, ApiResult};
use super::extract::Query;
use crate::app::AppState;
use crate::auth::{Caller, Permission, TokenKind};
use crate::events::Event;
use crate::execution::RunView;
use crate::store::runs::{LogFilter, LogLine};
use crate::store::{self, now_ms};

/// Body of a test's log line.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogMessage {
    /// Text (one or more lines).
    pub line: String,
    /// Test instance (test tokens: always their own).
    #[serde(default)]
    pub item: Option<String>,
    /// The original Twister log it belongs to: `test` (default), `running`, `debug` or `summary`; or `device`
    /// (transcripts of device sessions, secrets masked).
    #[serde(default)]
    pub kind: Option<String>,
}

/// Body of `POST /runs`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartRun {
    /// Project name.
    pub project: String,
}

/// Body of `POST /runs/{id}/queue`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QueueTest {
    /// Suite instance id (`s1`, …) to append the test to.
    pub suite: String,
    /// The test.
    pub test: crate::execution::project::TestCase,
}

/// Listing options.
#[derive(Debug, Deserialize, Default)]
pub struct ListParams {
    /// Only this user's runs (`me` for the caller).
    #[serde(default)]
    pub user: Option<String>,
    /// Only unfinished runs.
    #[serde(default)]
    pub live: bool,
    /// At most this many (default 50).
    #[serde(default)]
    pub limit: Option<i64>,
}

/// Log query options.
#[derive(Debug, Deserialize, Default)]
pub struct LogParams {
    /// Only lines after this id (for following).
    #[serde(default)]
    pub after: Option<i64>,
    /// Only this test instance.
    #[serde(default)]
    pub item: Option<String>,
    /// Only this EP.
    #[serde(default)]
    pub ep: Option<String>,
    /// Only lines containing this text.
    #[serde(default)]
    pub q: Option<String>,
    /// Only these streams, comma-separated (stdout, stderr, station, controller, running, debug, summary, test,
    /// device).
    #[serde(default)]
    pub stream: Option<String>,
    /// At most this many (default 1000).
    #[serde(default)]
    pub limit: Option<i64>,
    /// `json` (default) or `text` (a plain-text file to download).
    #[serde(default)]
    pub format: Option<String>,
}

/// Routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/runs", get(list).post(start))
        .route("/runs/{id}", get(get_one))
        .route("/runs/{id}/logs", get(logs))
        .route("/runs/{id}/queue", post(queue))
        .route("/runs/{id}/log", post(log_line))
        .route("/runs/{id}/items/{item}", axum::routing::delete(dequeue))
        .route("/runs/{id}/{action}", post(control))
}

/// Starts a run of a project.
#[utoipa::path(post, path = "/api/v1/runs", tag = "runs", security(("bearer" = [])),
    request_body = StartRun, responses((status = 201, body = RunView)))]
pub async fn start(
    State(state): State<AppState>,
    caller: Caller,
    Json(req): Json<StartRun>,
) -> ApiResult<(StatusCode, Json<RunView>)> {
    Ok((
        StatusCode::CREATED,
        Json(state.engine.start(&caller, &req.project).await?),
    ))
}

/// Runs, newest first.
#[utoipa::path(get, path = "/api/v1/runs", tag = "runs", security(("bearer" = [])),
    params(("user" = Option<String>, Query), ("live" = Option<bool>, Query), ("limit" = Option<i64>, Query)),
    responses((status = 200, body = [RunView])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<ListParams>,
) -> ApiResult<Json<Vec<RunView>>> {
    caller.require(Permission::ViewReports)?;
    let user = p
        .user
        .map(|u| if u == "me" { caller.username.clone() } else { u });
    Ok(Json(
        state
            .engine
            .list(user.as_deref(), p.live, p.limit.unwrap_or(50))
            .await?,
    ))
}

/// One run with every suite and test instance.
#[utoipa::path(get, path = "/api/v1/runs/{id}", tag = "runs", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 200, body = RunView)))]
pub async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<RunView>> {
    caller.require(Permission::ViewReports)?;
    Ok(Json(state.engine.view(&id, true).await?))
}

/// `pause` (after the running tests), `resume` or `stop` (kill running tests; the rest not executed).
#[utoipa::path(post, path = "/api/v1/runs/{id}/{action}", tag = "runs", security(("bearer" = [])),
    params(("id" = String, Path), ("action" = String, Path)), responses((status = 200, body = RunView)))]
pub async fn control(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, action)): Path<(String, String)>,
) -> ApiResult<Json<RunView>> {
    Ok(Json(state.engine.control(&caller, &id, &action).await?))
}

/// Queues a test at the end of a suite of a live run.
#[utoipa::path(post, path = "/api/v1/runs/{id}/queue", tag = "runs", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = QueueTest,
    responses((status = 201, body = crate::execution::engine::ItemView)))]
pub async fn queue(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(req): Json<QueueTest>,
) -> ApiResult<(StatusCode, Json<crate::execution::engine::ItemView>)> {
    Ok((
        StatusCode::CREATED,
        Json(state.engine.queue(&caller, &id, &req.suite, req.test).await?),
    ))
}

/// Removes a test that has not started from a live run.
#[utoipa::path(delete, path = "/api/v1/runs/{id}/items/{item}", tag = "runs", security(("bearer" = [])),
    params(("id" = String, Path), ("item" = String, Path)), responses((status = 204)))]
pub async fn dequeue(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, item)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    state.engine.dequeue(&caller, &id, &item).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Log lines of a run, in order; follow with `after` = the last id seen.
#[utoipa::path(get, path = "/api/v1/runs/{id}/logs", tag = "runs", security(("bearer" = [])),
    params(("id" = String, Path), ("after" = Option<i64>, Query), ("item" = Option<String>, Query),
        ("ep" = Option<String>, Query), ("q" = Option<String>, Query), ("stream" = Option<String>, Query),
        ("limit" = Option<i64>, Query),
        ("format" = Option<String>, Query)),
    responses((status = 200, body = [LogLine])))]
pub async fn logs(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(p): Query<LogParams>,
) -> ApiResult<axum::response::Response> {
    use axum::response::IntoResponse;
    caller.require(Permission::ViewReports)?;
    if crate::store::runs::get(&state.store, &id).await?.is_none() {
        return Err(ApiError::not_found(format!("no run {id}")));
    }
    let f = LogFilter {
        after: p.after.unwrap_or(0),
        item: p.item,
        ep: p.ep,
        contains: p.q.filter(|q| !q.is_empty()),
        streams: p
            .stream
            .map(|s| {
                s.split(',')
                    .map(|x| x.trim().to_string())
                    .filter(|x| !x.is_empty())
                    .collect()
            })
            .unwrap_or_default(),
        limit: p.limit.unwrap_or(1000),
    };
    let lines = crate::store::runs::logs(&state.store, &id, &f).await?;
    match p.format.as_deref() {
        None | Some("json") => Ok(Json(lines).into_response()),
        Some("text") => {
            let mut text = String::new();
            for l in &lines {
                text.push_str(&format!(
                    "{} {} {} [{}] {}\n",
                    l.at, l.ep, l.item, l.stream, l.line
                ));
            }
            Ok((
                [
                    (
                        axum::http::header::CONTENT_TYPE,
                        "text/plain; charset=utf-8".to_string(),
                    ),
                    (
                        axum::http::header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"run-{id}.log\""),
                    ),
                ],
                text,
            )
                .into_response())
        }
        Some(other) => Err(ApiError::bad_request(format!("format {other:?}: json or text"))),
    }
}

/// Appends a line to a run's log (tests: to their own segment).
#[utoipa::path(post, path = "/api/v1/runs/{id}/log", tag = "runs", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = LogMessage, responses((status = 204)))]
pub async fn log_line(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(req): Json<LogMessage>,
) -> ApiResult<StatusCode> {
    let owner = super::globals::run_owner(&state, &caller, &id).await?;
    let item = match (&caller.kind, &caller.run) {
        (TokenKind::Test, Some((_, test))) => test.clone(),
        _ => {
            caller.require(Permission::RunTests)?;
            if owner != caller.username {
                return Err(ApiError::forbidden(format!("run {id} belongs to {owner}")));
            }
            req.item.clone().unwrap_or_default()
        }
    };
    let kind = req.kind.clone().unwrap_or_else(|| "test".into());
    if !matches!(kind.as_str(), "test" | "running" | "debug" | "summary" | "device") {
        return Err(ApiError::invalid("kind: test, running, debug, summary or device"));
    }
    if req.line.len() > 64 * 1024 {
        return Err(ApiError::invalid("at most 64 KiB per call"));
    }
    let now = now_ms();
    let mut tx = state.store.begin_write().await?;
    let ep = store::runs::item(tx.conn(), &id, &item)
        .await?
        .map(|i| i.ep)
        .unwrap_or_default();
    let lines: Vec<String> = req.line.lines().map(str::to_string).collect();
    for l in &lines {
        store::runs::insert_log(tx.conn(), &id, &item, &ep, &kind, now, l).await?;
    }
    tx.commit().await?;
    state.events.publish(
        Event::new("logs", "log.lines")
            .id(&id)
            .data(serde_json::json!({"item": item, "ep": ep, "stream": kind, "lines": lines})),
    );
    Ok(StatusCode::NO_CONTENT)
}
