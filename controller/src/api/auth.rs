//! Login, logout and whoami.

use axum::extract::State;
use axum::routing::{get, post};
use axum::Router;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{ApiError, ApiResult};
use super::extract::Json;
use crate::app::AppState;
use crate::auth::password::verify_password;
use crate::auth::{generate_token, Caller, Permission, Role, TokenKind, TokenScope};
use crate::store::tokens::TokenRow;
use crate::store::{self, ms_to_rfc3339, new_id, now_ms};

/// Login request.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// User name.
    pub username: String,
    /// Password.
    pub password: String,
}

/// Login answer.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct LoginResponse {
    /// Bearer token for `Authorization: Bearer …`.
    pub token: String,
    /// When the token expires.
    pub expires_at: String,
    /// Who logged in.
    pub user: WhoAmI,
}

/// The caller's identity and rights.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct WhoAmI {
    /// User name.
    pub username: String,
    /// Role.
    pub role: Role,
    /// Kind of token used.
    pub token_kind: TokenKind,
    /// Effective permissions.
    pub permissions: Vec<Permission>,
    /// Subtrees the token is limited to, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paths: Option<Vec<String>>,
}

impl WhoAmI {
    /// From a caller.
    pub fn of(c: &Caller) -> Self {
        WhoAmI {
            username: c.username.clone(),
            role: c.role,
            token_kind: c.kind,
            permissions: c.permissions.to_vec(),
            paths: c
                .paths
                .as_ref()
                .map(|p| p.iter().map(|p| p.to_string()).collect()),
        }
    }
}

/// Routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/auth/login", post(login))
        .route("/auth/logout", post(logout))
        .route("/auth/whoami", get(whoami))
}

/// Exchanges a user name and password for a session token.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = super::error::ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    Json(req): Json<LoginRequest>,
) -> ApiResult<axum::Json<LoginResponse>> {
    let refused = || ApiError::unauthorized("wrong user name or password");
    if req.username.len() > 64 || req.password.len() > 1024 {
        return Err(refused());
    }
    let user = store::users::by_username(&state.store, &req.username).await?;
    let Some(user) = user else {
        // Spend the same time as a real check so that names cannot be probed by timing.
        let _ = verify_password(&req.password, DUMMY_HASH);
        return Err(refused());
    };
    let hash = user.password_hash.clone();
    let password = req.password.clone();
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .unwrap_or(false);
    if !ok {
        tracing::info!(user = %user.username, "login refused");
        return Err(refused());
    }
    if user.disabled {
        return Err(ApiError::unauthorized(format!(
            "user {} is disabled",
            user.username
        )));
    }
    let now = now_ms();
    let expires = now + state.config.auth.session_ttl_s as i64 * 1000;
    let token = generate_token();
    let row = TokenRow {
        id: new_id(),
        user_id: user.id.clone(),
        name: "login".into(),
        kind: TokenKind::Session,
        token_hash: token.hash,
        scope: TokenScope::default(),
        created_at: now,
        expires_at: Some(expires),
        last_used_at: Some(now),
        revoked_at: None,
    };
    let mut tx = state.store.begin_write().await?;
    store::tokens::insert(tx.conn(), &row).await?;
    store::tokens::purge_expired_sessions(tx.conn(), now).await?;
    tx.commit().await?;
    tracing::info!(user = %user.username, "login");
    let caller = Caller {
        token_id: row.id,
        ..Caller::on_behalf_of(&user)
    };
    Ok(axum::Json(LoginResponse {
        token: token.secret,
        expires_at: ms_to_rfc3339(expires),
        user: WhoAmI::of(&caller),
    }))
}

/// A valid Argon2 hash of a random string, used to equalise timing for unknown users.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$3N0wh7rEdrV0Ifcs1uXyZ9BSX3BMXsMk4o6VuXqkNZs";

/// Revokes the token used for this request.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", security(("bearer" = [])),
    responses((status = 204)))]
pub async fn logout(State(state): State<AppState>, caller: Caller) -> ApiResult<axum::http::StatusCode> {
    let mut tx = state.store.begin_write().await?;
    store::tokens::revoke(tx.conn(), &caller.token_id, now_ms()).await?;
    tx.commit().await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// Who the token belongs to and what it may do.
#[utoipa::path(get, path = "/api/v1/auth/whoami", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = WhoAmI)))]
pub async fn whoami(caller: Caller) -> axum::Json<WhoAmI> {
    axum::Json(WhoAmI::of(&caller))
}
