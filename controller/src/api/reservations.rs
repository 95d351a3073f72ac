//! Reservations over REST: request (or queue), read, wait, renew, release, list and history.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::error::{ApiError, ApiResult};
use super::extract::{Json, Path, Query};
use crate::app::AppState;
use crate::auth::Caller;
use crate::inventory::reservations::{ReservationView, ReserveRequest};
use crate::inventory::{Address, NodeRef};
use crate::store::reservations::ReservationFilter;

/// Release options.
#[derive(Deserialize, Default)]
pub struct ReleaseParams {
    /// Release only if this user holds it (CI clean-up); otherwise 409 `not_holder` and nothing changes.
    #[serde(default)]
    pub only_if_holder: Option<String>,
    /// Release someone else's reservation (needs `force_release`).
    #[serde(default)]
    pub force: bool,
}

/// Renew body.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenewRequest {
    /// New lease from now, seconds (default: the original duration).
    #[serde(default)]
    pub duration_s: Option<u64>,
}

/// Wait options.
#[derive(Deserialize)]
pub struct WaitParams {
    /// Longest wait, seconds (1-300, default 30).
    #[serde(default)]
    pub timeout_s: Option<u64>,
}

/// Listing options.
#[derive(Deserialize, Default)]
pub struct ListParams {
    /// Comma-separated states (default: waiting,active).
    #[serde(default)]
    pub state: Option<String>,
    /// Only this holder (`me` for the caller).
    #[serde(default)]
    pub user: Option<String>,
    /// Only this node (path or ~id).
    #[serde(default)]
    pub path: Option<String>,
    /// Only those live at or after this time (RFC 3339).
    #[serde(default)]
    pub since: Option<String>,
    /// Only those requested before this time (RFC 3339).
    #[serde(default)]
    pub until: Option<String>,
    /// At most this many (default 100, max 10,000).
    #[serde(default)]
    pub limit: Option<i64>,
}

/// Routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/reservations", get(list).post(reserve))
        .route("/reservations/history", get(history))
        .route("/reservations/{id}", get(get_one).delete(release))
        .route("/reservations/{id}/renew", post(renew))
        .route("/reservations/{id}/wait", get(wait))
}

/// Reserves a node (with its subtree) or queues for it with `"wait": true`.
#[utoipa::path(post, path = "/api/v1/reservations", tag = "reservations", security(("bearer" = [])),
    request_body = ReserveRequest,
    responses((status = 201, description = "granted", body = ReservationView),
        (status = 202, description = "queued", body = ReservationView),
        (status = 409, description = "held by someone else", body = super::error::ErrorBody)))]
pub async fn reserve(
    State(state): State<AppState>,
    caller: Caller,
    Json(req): Json<ReserveRequest>,
) -> ApiResult<(StatusCode, axum::Json<ReservationView>)> {
    let v = state.reservations.reserve(&caller, req).await?;
    let status = if v.state == "active" {
        StatusCode::CREATED
    } else {
        StatusCode::ACCEPTED
    };
    Ok((status, axum::Json(v)))
}

/// One reservation.
#[utoipa::path(get, path = "/api/v1/reservations/{id}", tag = "reservations", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 200, body = ReservationView)))]
pub async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<ReservationView>> {
    Ok(axum::Json(state.reservations.get(&caller, &id).await?))
}

/// Waits (long poll) until a queued reservation is granted or ends, or the timeout passes.
#[utoipa::path(get, path = "/api/v1/reservations/{id}/wait", tag = "reservations", security(("bearer" = [])),
    params(("id" = String, Path), ("timeout_s" = Option<u64>, Query)), responses((status = 200, body = ReservationView)))]
pub async fn wait(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(p): Query<WaitParams>,
) -> ApiResult<axum::Json<ReservationView>> {
    let secs = p.timeout_s.unwrap_or(30).clamp(1, 300);
    Ok(axum::Json(
        state
            .reservations
            .wait_for_grant(&caller, &id, Duration::from_secs(secs))
            .await?,
    ))
}

/// Releases a reservation, or withdraws a queued request.
#[utoipa::path(delete, path = "/api/v1/reservations/{id}", tag = "reservations", security(("bearer" = [])),
    params(("id" = String, Path), ("only_if_holder" = Option<String>, Query), ("force" = Option<bool>, Query)),
    responses((status = 200, body = ReservationView), (status = 409, body = super::error::ErrorBody)))]
pub async fn release(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(p): Query<ReleaseParams>,
) -> ApiResult<axum::Json<ReservationView>> {
    Ok(axum::Json(
        state
            .reservations
            .release(&caller, &id, p.only_if_holder.as_deref(), p.force)
            .await?,
    ))
}

/// Extends the lease to now + duration.
#[utoipa::path(post, path = "/api/v1/reservations/{id}/renew", tag = "reservations", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = RenewRequest, responses((status = 200, body = ReservationView)))]
pub async fn renew(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<axum::Json<ReservationView>> {
    let req: RenewRequest = if body.iter().all(u8::is_ascii_whitespace) {
        RenewRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))?
    };
    Ok(axum::Json(
        state.reservations.renew(&caller, &id, req.duration_s).await?,
    ))
}

async fn filter_from(
    state: &AppState,
    caller: &Caller,
    p: ListParams,
    default_states: &[&str],
) -> ApiResult<ReservationFilter> {
    let states: Vec<String> = match &p.state {
        Some(s) if s == "all" => Vec::new(),
        Some(s) => s
            .split(',')
            .map(|x| x.trim().to_string())
            .filter(|x| !x.is_empty())
            .collect(),
        None => default_states.iter().map(|s| s.to_string()).collect(),
    };
    const KNOWN: &[&str] = &["waiting", "active", "released", "expired", "cancelled", "revoked"];
    if let Some(bad) = states.iter().find(|s| !KNOWN.contains(&s.as_str())) {
        return Err(ApiError::bad_request(format!(
            "unknown state {bad:?}; use {}",
            KNOWN.join(", ")
        )));
    }
    let node_id = match &p.path {
        Some(raw) => {
            let addr = Address::parse(raw).map_err(|e| ApiError::bad_request(e.to_string()))?;
            let r: NodeRef = addr.node;
            Some(state.reservations.node_id_of(&r).await?)
        }
        None => None,
    };
    let time = |s: &Option<String>, name: &str| -> ApiResult<Option<i64>> {
        s.as_deref()
            .map(|t| {
                chrono::DateTime::parse_from_rfc3339(t)
                    .map(|d| d.timestamp_millis())
                    .map_err(|e| ApiError::bad_request(format!("{name}: not an RFC 3339 time: {e}")))
            })
            .transpose()
    };
    Ok(ReservationFilter {
        states,
        username: p
            .user
            .map(|u| if u == "me" { caller.username.clone() } else { u }),
        node_id,
        since: time(&p.since, "since")?,
        until: time(&p.until, "until")?,
        limit: p.limit.unwrap_or(100),
    })
}

/// Reservations, newest first (default: the live ones).
#[utoipa::path(get, path = "/api/v1/reservations", tag = "reservations", security(("bearer" = [])),
    params(("state" = Option<String>, Query), ("user" = Option<String>, Query), ("path" = Option<String>, Query),
        ("since" = Option<String>, Query), ("until" = Option<String>, Query), ("limit" = Option<i64>, Query)),
    responses((status = 200, body = [ReservationView])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<ListParams>,
) -> ApiResult<axum::Json<Vec<ReservationView>>> {
    let f = filter_from(&state, &caller, p, &["waiting", "active"]).await?;
    Ok(axum::Json(state.reservations.list(&caller, f).await?))
}

/// Reservation history: who held what, from when to when (default: every state).
#[utoipa::path(get, path = "/api/v1/reservations/history", tag = "reservations", security(("bearer" = [])),
    params(("state" = Option<String>, Query), ("user" = Option<String>, Query), ("path" = Option<String>, Query),
        ("since" = Option<String>, Query), ("until" = Option<String>, Query), ("limit" = Option<i64>, Query)),
    responses((status = 200, body = [ReservationView])))]
pub async fn history(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<ListParams>,
) -> ApiResult<axum::Json<Vec<ReservationView>>> {
    let f = filter_from(&state, &caller, p, &[]).await?;
    Ok(axum::Json(state.reservations.list(&caller, f).await?))
}
