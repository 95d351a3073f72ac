//! The REST API under `/api/v1`: one router module per domain, the OpenAPI document, the error type, and the
//! middleware every request passes (metrics, tracing, body limits, JSON errors, panic safety).

pub mod audit;
pub mod auth;
pub mod capture;
pub mod error;
pub mod events;
pub mod extract;
pub mod globals;
pub mod health;
pub mod mail;
pub mod openapi;
pub mod panic_patterns;
pub mod projects;
pub mod reports;
pub mod reservations;
pub mod resources;
pub mod runs;
pub mod schedules;
pub mod services;
pub mod stations;
pub mod tokens;
pub mod users;
pub mod webhooks;

use std::time::Instant;

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;

use crate::app::AppState;
use crate::auth::{Caller, Permission};
use error::ApiError;

/// Default limit for request bodies.
pub const BODY_LIMIT: usize = 1024 * 1024;
/// Limit for inventory imports.
pub const IMPORT_LIMIT: usize = 32 * 1024 * 1024;

/// The whole HTTP surface: API, metrics and web UI.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .merge(health::routes())
        .merge(auth::routes())
        .merge(users::routes())
        .merge(tokens::routes())
        .merge(resources::routes())
        .merge(reservations::routes())
        .merge(audit::routes())
        .merge(stations::routes())
        .merge(projects::routes())
        .merge(runs::routes())
        .merge(globals::routes())
        .merge(panic_patterns::routes())
        .merge(reports::routes())
        .merge(events::routes())
        .merge(openapi::routes())
        .merge(capture::routes())
        .merge(mail::routes())
        .merge(services::routes())
        .merge(schedules::routes())
        .merge(webhooks::routes())
        .fallback(api_not_found)
        .layer(DefaultBodyLimit::max(BODY_LIMIT));
    Router::new()
        .nest("/api/v1", api)
        .route("/metrics", get(metrics))
        .merge(crate::web::routes())
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .layer(CatchPanicLayer::custom(panic_response))
        .with_state(state)
}

async fn api_not_found(req: Request) -> ApiError {
    ApiError::not_found(format!("no API route for {} {}", req.method(), req.uri().path()))
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "internal error; see the controller log",
    )
    .into_response()
}

/// Counts requests, and turns bodiless or non-JSON API error responses (wrong method, framework rejections)
/// into the JSON error shape.
async fn observe(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let is_api = req.uri().path().starts_with("/api/");
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| {
            if is_api {
                "unmatched".into()
            } else {
                "static".into()
            }
        });
    let mut resp = next.run(req).await;
    let status = resp.status();
    if is_api && (status.is_client_error() || status.is_server_error()) {
        let is_json = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if !is_json {
            let (code, message) = match status {
                StatusCode::METHOD_NOT_ALLOWED => {
                    ("method_not_allowed", format!("{method} is not allowed here"))
                }
                StatusCode::PAYLOAD_TOO_LARGE => ("too_large", "request body too large".to_string()),
                StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                    ("unsupported_media_type", "expected application/json".into())
                }
                s if s.is_server_error() => ("internal", "internal error; see the controller log".into()),
                s => (
                    "bad_request",
                    s.canonical_reason().unwrap_or("bad request").to_string(),
                ),
            };
            resp = ApiError::new(status, code, message).into_response();
        }
    }
    let route_label = if status == StatusCode::NOT_FOUND && route == "unmatched" {
        "unmatched".into()
    } else {
        route
    };
    state.metrics.http(
        method.as_str(),
        &route_label,
        status.as_u16(),
        start.elapsed().as_secs_f64(),
    );
    if status.is_server_error() {
        tracing::warn!(%method, route = %route_label, status = status.as_u16(), "request failed");
    } else {
        tracing::debug!(%method, route = %route_label, status = status.as_u16(), "request");
    }
    resp
}

/// `GET /metrics`: Prometheus text; needs a token with `view_metrics`.
async fn metrics(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    caller.require(Permission::ViewMetrics)?;
    let mut conn = state
        .store
        .pool()
        .acquire()
        .await
        .map_err(crate::store::StoreError::from)?;
    let nodes = crate::store::nodes::count(&mut conn).await? as f64;
    let live = crate::store::reservations::live(&mut conn).await?;
    drop(conn);
    let active = live.iter().filter(|(r, _)| r.state == "active").count() as f64;
    let waiting = live.iter().filter(|(r, _)| r.state == "waiting").count() as f64;
    let body = state.metrics.render(&[
        ("twister_inventory_nodes", "Nodes in the inventory.", nodes),
        (
            "twister_reservations_active",
            "Reservations currently held.",
            active,
        ),
        (
            "twister_reservations_waiting",
            "Reservation requests in the queue.",
            waiting,
        ),
        (
            "twister_event_subscribers",
            "Live WebSocket subscribers.",
            state.events.subscribers() as f64,
        ),
    ]);
    let mut resp = Response::new(Body::from(body));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Ok(resp)
}
