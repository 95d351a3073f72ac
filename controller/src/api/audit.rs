//! The audit log over REST.

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

use super::error::{ApiError, ApiResult};
use super::extract::Query;
use crate::app::AppState;
use crate::auth::{Caller, Permission};
use crate::store::audit::{self, AuditEntry, AuditFilter};

/// Query options.
#[derive(Deserialize, Default)]
pub struct AuditParams {
    /// Only this actor.
    #[serde(default)]
    pub actor: Option<String>,
    /// Only actions starting with this (`resource.`, `reservation.grant`).
    #[serde(default)]
    pub action: Option<String>,
    /// Only this target (path, reservation id, user).
    #[serde(default)]
    pub target: Option<String>,
    /// Include targets below `target`.
    #[serde(default)]
    pub recursive: bool,
    /// At or after (RFC 3339).
    #[serde(default)]
    pub since: Option<String>,
    /// Before (RFC 3339).
    #[serde(default)]
    pub until: Option<String>,
    /// Entries older than this id (paging).
    #[serde(default)]
    pub before_id: Option<i64>,
    /// At most (default 100).
    #[serde(default)]
    pub limit: Option<i64>,
}

/// Routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new().route("/audit", get(query))
}

/// Audit entries, newest first.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", security(("bearer" = [])),
    params(("actor" = Option<String>, Query), ("action" = Option<String>, Query), ("target" = Option<String>, Query),
        ("recursive" = Option<bool>, Query), ("since" = Option<String>, Query), ("until" = Option<String>, Query),
        ("before_id" = Option<i64>, Query), ("limit" = Option<i64>, Query)),
    responses((status = 200, body = [AuditEntry])))]
pub async fn query(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<AuditParams>,
) -> ApiResult<axum::Json<Vec<AuditEntry>>> {
    caller.require(Permission::ViewAudit)?;
    let time = |s: &Option<String>, name: &str| -> ApiResult<Option<i64>> {
        s.as_deref()
            .map(|t| {
                chrono::DateTime::parse_from_rfc3339(t)
                    .map(|d| d.timestamp_millis())
                    .map_err(|e| ApiError::bad_request(format!("{name}: not an RFC 3339 time: {e}")))
            })
            .transpose()
    };
    let f = AuditFilter {
        actor: p.actor,
        action_prefix: p.action,
        target: p.target,
        recursive: p.recursive,
        since: time(&p.since, "since")?,
        until: time(&p.until, "until")?,
        before_id: p.before_id,
        limit: p.limit.unwrap_or(100),
    };
    Ok(axum::Json(audit::query(&state.store, &f).await?))
}
