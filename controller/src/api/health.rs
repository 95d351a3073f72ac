//! `GET /api/v1/health`: liveness and database reachability, without a token.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Serialize;
use utoipa::ToSchema;

use crate::app::AppState;

/// Health report.
#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok`, or `degraded` when the database does not answer.
    pub status: String,
    /// Controller version.
    pub version: String,
    /// Database engine.
    pub database: String,
    /// Applied schema version.
    pub schema_version: i64,
}

/// Routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new().route("/health", get(health))
}

/// Liveness and database reachability.
#[utoipa::path(get, path = "/api/v1/health", tag = "system",
    responses((status = 200, body = Health), (status = 503, body = Health)))]
pub async fn health(State(state): State<AppState>) -> Response {
    let database = format!("{:?}", state.store.backend()).to_lowercase();
    match crate::store::migrations::current_version(&state.store).await {
        Ok(v) => axum::Json(Health {
            status: "ok".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            database,
            schema_version: v,
        })
        .into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "health check: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(Health {
                    status: "degraded".into(),
                    version: env!("CARGO_PKG_VERSION").into(),
                    database,
                    schema_version: 0,
                }),
            )
                .into_response()
        }
    }
}
