//! The authenticated caller of a request, and the extractor that builds it from a bearer token.

use std::sync::atomic::Ordering;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};

use super::{hash_token, Permission, PermissionSet, Role, TokenKind};
use crate::api::error::ApiError;
use crate::app::AppState;
use crate::inventory::path::NodePath;
use crate::store::{self, now_ms};

/// Who is calling, with what rights.
#[derive(Debug, Clone)]
pub struct Caller {
    /// User id.
    pub user_id: String,
    /// Login name.
    pub username: String,
    /// The user's role.
    pub role: Role,
    /// The token's id.
    pub token_id: String,
    /// The token's kind.
    pub kind: TokenKind,
    /// Effective permissions: the role's, narrowed by the token's scope.
    pub permissions: PermissionSet,
    /// If set, inventory access is limited to these subtrees.
    pub paths: Option<Vec<NodePath>>,
    /// The station of a station token.
    pub station: Option<String>,
    /// The run (and test) of a test token.
    pub run: Option<(String, String)>,
}

impl Caller {
    /// The controller acting on behalf of a user (for work it does for them, such as reserving a run's
    /// testbeds): the user's own role and rights.
    pub fn on_behalf_of(user: &crate::store::users::UserRow) -> Caller {
        Caller {
            user_id: user.id.clone(),
            username: user.username.clone(),
            role: user.role,
            token_id: String::new(),
            kind: TokenKind::Session,
            permissions: user.role.permissions(),
            paths: None,
            station: None,
            run: None,
        }
    }

    /// Fails with 403 unless the caller holds `p`.
    pub fn require(&self, p: Permission) -> Result<(), ApiError> {
        if self.permissions.contains(p) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "permission '{}' required; {} ({} role, {} token) does not have it",
                p.name(),
                self.username,
                self.role.as_str(),
                self.kind.as_str()
            )))
        }
    }

    /// Whether the caller holds `p`.
    pub fn has(&self, p: Permission) -> bool {
        self.permissions.contains(p)
    }

    /// Fails with 403 unless `path` lies within the token's allowed subtrees.
    pub fn require_path(&self, path: &NodePath) -> Result<(), ApiError> {
        if self.may_see(path) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "this token is not allowed to access {path}"
            )))
        }
    }

    /// Whether `path` lies within the token's allowed subtrees (always, for unrestricted tokens).
    pub fn may_see(&self, path: &NodePath) -> bool {
        match &self.paths {
            None => true,
            Some(allowed) => allowed.iter().any(|a| a.is_ancestor_or_self_of(path)),
        }
    }

    /// Whether the caller may see `path` or something below it (so it must see `path`'s name to get there).
    pub fn may_traverse(&self, path: &NodePath) -> bool {
        match &self.paths {
            None => true,
            Some(allowed) => allowed
                .iter()
                .any(|a| a.is_ancestor_or_self_of(path) || path.is_ancestor_or_self_of(a)),
        }
    }
}

/// The bearer token of a request: `Authorization: Bearer …`, or for WebSockets opened from a browser, the
/// `Sec-WebSocket-Protocol` entry `bearer.<token>` (browsers cannot set headers on WebSockets, and a token in the
/// URL would end up in logs).
pub fn bearer_token(headers: &HeaderMap) -> Option<String> {
    if let Some(v) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let v = v.trim();
        if let Some(t) = v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")) {
            return Some(t.trim().to_string());
        }
    }
    if let Some(v) = headers
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
    {
        for p in v.split(',') {
            if let Some(t) = p.trim().strip_prefix("bearer.") {
                return Some(t.to_string());
            }
        }
    }
    None
}

/// Resolves a bearer token to a caller, checking expiry, revocation and the user's state.
pub async fn authenticate(state: &AppState, token: &str) -> Result<Caller, ApiError> {
    let invalid = || ApiError::unauthorized("invalid, expired or revoked token");
    if token.is_empty() || token.len() > 200 {
        return Err(invalid());
    }
    let row = store::tokens::by_hash(&state.store, &hash_token(token))
        .await?
        .ok_or_else(invalid)?;
    let now = now_ms();
    if row.revoked_at.is_some() || row.expires_at.is_some_and(|e| e <= now) {
        return Err(invalid());
    }
    let user = store::users::by_id(&state.store, &row.user_id)
        .await?
        .ok_or_else(invalid)?;
    if user.disabled {
        return Err(ApiError::unauthorized(format!(
            "user {} is disabled",
            user.username
        )));
    }
    let mut permissions = match row.kind {
        TokenKind::Station => PermissionSet::of(&[Permission::StationLink]),
        _ => user.role.permissions(),
    };
    if let Some(list) = &row.scope.permissions {
        permissions = permissions.intersect(PermissionSet::of(list));
    }
    let paths = match &row.scope.paths {
        None => None,
        Some(list) => Some(
            list.iter()
                .map(|p| NodePath::parse(p))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| ApiError::unauthorized("token scope is invalid"))?,
        ),
    };
    // Record use at most once a minute per token, off the request path.
    if row.last_used_at.is_none_or(|t| now - t > 60_000)
        && state.token_touches.fetch_add(1, Ordering::Relaxed) < 10_000
    {
        let st = state.clone();
        let id = row.id.clone();
        tokio::spawn(async move {
            if let Err(e) = store::tokens::touch(&st.store, &id, now).await {
                tracing::warn!(error = %e, "cannot record token use");
            }
            st.token_touches.fetch_sub(1, Ordering::Relaxed);
        });
    }
    Ok(Caller {
        user_id: user.id,
        username: user.username,
        role: user.role,
        token_id: row.id,
        kind: row.kind,
        permissions,
        paths,
        station: row.scope.station.clone(),
        run: row.scope.run.clone().zip(row.scope.test.clone()),
    })
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = bearer_token(&parts.headers)
            .ok_or_else(|| ApiError::unauthorized("missing token: send 'Authorization: Bearer <token>'"))?;
        authenticate(state, &token).await
    }
}
