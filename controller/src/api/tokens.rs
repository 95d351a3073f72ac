//! Named API tokens for automation: create (shown once), list, revoke.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::Router;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::error::{ApiError, ApiResult};
use super::extract::{Json, Path, Query};
use crate::app::AppState;
use crate::auth::{generate_token, Caller, Permission, PermissionSet, TokenKind, TokenScope};
use crate::inventory::NodePath;
use crate::store::tokens::TokenRow;
use crate::store::{self, audit, ms_to_rfc3339, new_id, now_ms};

/// A token as listed (never the secret).
#[derive(Serialize, Deserialize, ToSchema)]
pub struct TokenView {
    /// Id, for revoking.
    pub id: String,
    /// Owner.
    pub user: String,
    /// Label.
    pub name: String,
    /// Kind.
    pub kind: TokenKind,
    /// Scope.
    pub scope: TokenScope,
    /// Creation time.
    pub created_at: String,
    /// Expiry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// Last use (to the minute).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<String>,
    /// Revocation time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
}

/// A new token.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// Label (what it is for).
    pub name: String,
    /// Limit to these permissions (must be within the creator's).
    #[serde(default)]
    pub permissions: Option<Vec<Permission>>,
    /// Limit inventory access to these subtrees.
    #[serde(default)]
    pub paths: Option<Vec<String>>,
    /// Lifetime in seconds; none means until revoked.
    #[serde(default)]
    pub expires_in_s: Option<u64>,
}

/// A created token: the secret is shown only here.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct CreatedToken {
    /// The bearer secret.
    pub token: String,
    /// The stored description.
    #[serde(flatten)]
    pub info: TokenView,
}

/// Listing options.
#[derive(Deserialize)]
pub struct ListParams {
    /// Everybody's tokens (needs `change_users`).
    #[serde(default)]
    pub all: bool,
    /// Include login sessions.
    #[serde(default)]
    pub sessions: bool,
}

/// Routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/tokens", get(list_tokens).post(create_token))
        .route("/tokens/{id}", delete(revoke_token))
}

async fn view(state: &AppState, t: &TokenRow) -> ApiResult<TokenView> {
    let user = store::users::by_id(&state.store, &t.user_id)
        .await?
        .map(|u| u.username)
        .unwrap_or_default();
    Ok(TokenView {
        id: t.id.clone(),
        user,
        name: t.name.clone(),
        kind: t.kind,
        scope: t.scope.clone(),
        created_at: ms_to_rfc3339(t.created_at),
        expires_at: t.expires_at.map(ms_to_rfc3339),
        last_used_at: t.last_used_at.map(ms_to_rfc3339),
        revoked_at: t.revoked_at.map(ms_to_rfc3339),
    })
}

/// The caller's tokens (or everybody's with `all=true` and `change_users`).
#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens", security(("bearer" = [])),
    params(("all" = Option<bool>, Query), ("sessions" = Option<bool>, Query)),
    responses((status = 200, body = [TokenView])))]
pub async fn list_tokens(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<ListParams>,
) -> ApiResult<axum::Json<Vec<TokenView>>> {
    if p.all {
        caller.require(Permission::ChangeUsers)?;
    }
    let rows = store::tokens::list(
        &state.store,
        if p.all { None } else { Some(&caller.user_id) },
        p.sessions,
    )
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        out.push(view(&state, r).await?);
    }
    Ok(axum::Json(out))
}

/// Creates a named API token for the caller, optionally narrowed.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", security(("bearer" = [])), request_body = CreateToken,
    responses((status = 201, body = CreatedToken)))]
pub async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    Json(req): Json<CreateToken>,
) -> ApiResult<(StatusCode, axum::Json<CreatedToken>)> {
    if caller.kind != TokenKind::Session && caller.kind != TokenKind::Api {
        return Err(ApiError::forbidden(
            "station and test tokens cannot create tokens",
        ));
    }
    if req.name.trim().is_empty() || req.name.len() > 128 || req.name.chars().any(char::is_control) {
        return Err(ApiError::invalid("name: 1-128 characters, no control characters"));
    }
    if let Some(list) = &req.permissions {
        let wanted = PermissionSet::of(list);
        if !wanted.is_subset_of(caller.permissions) {
            return Err(ApiError::forbidden(
                "a token cannot have permissions its creator lacks",
            ));
        }
    }
    let paths = match &req.paths {
        None => caller
            .paths
            .as_ref()
            .map(|p| p.iter().map(|p| p.to_string()).collect()),
        Some(list) => {
            let mut out = Vec::new();
            for p in list {
                let np = NodePath::parse(p).map_err(|e| ApiError::invalid(e.to_string()))?;
                caller.require_path(&np)?;
                out.push(np.to_string());
            }
            Some(out)
        }
    };
    let now = now_ms();
    let expires_at = match req.expires_in_s {
        Some(0) => return Err(ApiError::invalid("expires_in_s must be positive")),
        Some(s) if s > 10 * 365 * 86_400 => return Err(ApiError::invalid("expires_in_s: at most 10 years")),
        Some(s) => Some(now + s as i64 * 1000),
        None => None,
    };
    let token = generate_token();
    let row = TokenRow {
        id: new_id(),
        user_id: caller.user_id.clone(),
        name: req.name.trim().to_string(),
        kind: TokenKind::Api,
        token_hash: token.hash,
        scope: TokenScope {
            permissions: req.permissions,
            paths,
            ..Default::default()
        },
        created_at: now,
        expires_at,
        last_used_at: None,
        revoked_at: None,
    };
    let mut tx = state.store.begin_write().await?;
    store::tokens::insert(tx.conn(), &row).await?;
    audit::record(
        tx.conn(),
        &caller.username,
        "token.create",
        &row.id,
        None,
        Some(&json!({"name": row.name, "scope": row.scope})),
    )
    .await?;
    tx.commit().await?;
    let info = view(&state, &row).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(CreatedToken {
            token: token.secret,
            info,
        }),
    ))
}

/// Revokes a token (one's own, or anyone's with `change_users`).
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 204), (status = 404, body = super::error::ErrorBody)))]
pub async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let t = store::tokens::by_id(&state.store, &id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no token {id}")))?;
    if t.user_id != caller.user_id {
        caller
            .require(Permission::ChangeUsers)
            .map_err(|_| ApiError::not_found(format!("no token {id}")))?;
    }
    let mut tx = state.store.begin_write().await?;
    if !store::tokens::revoke(tx.conn(), &id, now_ms()).await? {
        return Err(ApiError::conflict(format!("token {id} is already revoked")));
    }
    audit::record(tx.conn(), &caller.username, "token.revoke", &id, None, None).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
