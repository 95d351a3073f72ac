//! User management: list, create, change role/details, disable, delete, change password.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, put};
use axum::Router;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::error::{ApiError, ApiResult};
use super::extract::{Json, Path};
use crate::app::AppState;
use crate::auth::password::{check_policy, hash_password, verify_password};
use crate::auth::{validate_username, Caller, Permission, Role};
use crate::store::users::UserRow;
use crate::store::{self, audit, ms_to_rfc3339, new_id, now_ms};

/// A user as the API shows it (never the password hash).
#[derive(Serialize, Deserialize, ToSchema)]
pub struct UserView {
    /// Login name.
    pub username: String,
    /// Human name.
    pub display_name: String,
    /// E-mail.
    pub email: String,
    /// Role.
    pub role: Role,
    /// Whether the account is disabled.
    pub disabled: bool,
    /// Creation time.
    pub created_at: String,
}

impl From<&UserRow> for UserView {
    fn from(u: &UserRow) -> Self {
        UserView {
            username: u.username.clone(),
            display_name: u.display_name.clone(),
            email: u.email.clone(),
            role: u.role,
            disabled: u.disabled,
            created_at: ms_to_rfc3339(u.created_at),
        }
    }
}

/// New user.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    /// Login name.
    pub username: String,
    /// Initial password (at least 8 characters).
    pub password: String,
    /// Role.
    pub role: Role,
    /// Human name.
    #[serde(default)]
    pub display_name: String,
    /// E-mail.
    #[serde(default)]
    pub email: String,
}

/// Changes to a user; absent fields stay.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    /// New role.
    pub role: Option<Role>,
    /// New human name.
    pub display_name: Option<String>,
    /// New e-mail.
    pub email: Option<String>,
    /// Disable or enable.
    pub disabled: Option<bool>,
}

/// Password change.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    /// Current password (required when changing one's own).
    #[serde(default)]
    pub current_password: Option<String>,
    /// New password.
    pub new_password: String,
}

/// Routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/users", get(list_users).post(create_user))
        .route(
            "/users/{username}",
            get(get_user).patch(update_user).delete(delete_user),
        )
        .route("/users/{username}/password", put(change_password))
}

fn check_text(field: &str, v: &str) -> ApiResult<()> {
    if v.len() > 256 || v.chars().any(|c| c.is_control()) {
        return Err(ApiError::invalid(format!(
            "{field}: at most 256 characters, no control characters"
        )));
    }
    Ok(())
}

async fn find(state: &AppState, name: &str) -> ApiResult<UserRow> {
    store::users::by_username(&state.store, name)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no user {name:?}")))
}

/// Every user.
#[utoipa::path(get, path = "/api/v1/users", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = [UserView])))]
pub async fn list_users(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<axum::Json<Vec<UserView>>> {
    caller.require(Permission::ViewInventory)?;
    let users = store::users::list(&state.store).await?;
    Ok(axum::Json(users.iter().map(UserView::from).collect()))
}

/// Creates a user (needs `change_users`).
#[utoipa::path(post, path = "/api/v1/users", tag = "users", security(("bearer" = [])), request_body = CreateUser,
    responses((status = 201, body = UserView), (status = 409, body = super::error::ErrorBody)))]
pub async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    Json(req): Json<CreateUser>,
) -> ApiResult<(StatusCode, axum::Json<UserView>)> {
    caller.require(Permission::ChangeUsers)?;
    validate_username(&req.username).map_err(ApiError::invalid)?;
    check_policy(&req.password).map_err(ApiError::invalid)?;
    check_text("display_name", &req.display_name)?;
    check_text("email", &req.email)?;
    let password = req.password.clone();
    let hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    let now = now_ms();
    let user = UserRow {
        id: new_id(),
        username: req.username.clone(),
        display_name: req.display_name,
        email: req.email,
        role: req.role,
        password_hash: hash,
        disabled: false,
        created_at: now,
        updated_at: now,
    };
    let mut tx = state.store.begin_write().await?;
    if store::users::by_username(&state.store, &user.username)
        .await?
        .is_some()
    {
        return Err(ApiError::conflict(format!(
            "user {:?} already exists",
            user.username
        )));
    }
    store::users::insert(tx.conn(), &user).await?;
    audit::record(
        tx.conn(),
        &caller.username,
        "user.create",
        &user.username,
        None,
        Some(&json!({"role": user.role})),
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, axum::Json(UserView::from(&user))))
}

/// One user (anyone may read their own; others need `view_inventory`).
#[utoipa::path(get, path = "/api/v1/users/{username}", tag = "users", security(("bearer" = [])),
    params(("username" = String, Path)), responses((status = 200, body = UserView), (status = 404, body = super::error::ErrorBody)))]
pub async fn get_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<axum::Json<UserView>> {
    if name != caller.username {
        caller.require(Permission::ViewInventory)?;
    }
    Ok(axum::Json(UserView::from(&find(&state, &name).await?)))
}

/// Changes role, details or the disabled flag (needs `change_users`; anyone may change their own details).
#[utoipa::path(patch, path = "/api/v1/users/{username}", tag = "users", security(("bearer" = [])),
    params(("username" = String, Path)), request_body = UpdateUser, responses((status = 200, body = UserView)))]
pub async fn update_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Json(req): Json<UpdateUser>,
) -> ApiResult<axum::Json<UserView>> {
    let own = name == caller.username;
    if req.role.is_some() || req.disabled.is_some() || !own {
        caller.require(Permission::ChangeUsers)?;
    }
    if let Some(v) = &req.display_name {
        check_text("display_name", v)?;
    }
    if let Some(v) = &req.email {
        check_text("email", v)?;
    }
    let mut tx = state.store.begin_write().await?;
    let mut user = find(&state, &name).await?;
    let before = json!({"role": user.role, "disabled": user.disabled, "display_name": user.display_name, "email": user.email});
    if let Some(r) = req.role {
        user.role = r;
    }
    if let Some(d) = req.disabled {
        user.disabled = d;
    }
    if let Some(v) = req.display_name {
        user.display_name = v;
    }
    if let Some(v) = req.email {
        user.email = v;
    }
    store::users::update(tx.conn(), &user).await?;
    if store::users::enabled_admins(tx.conn()).await? == 0 {
        return Err(ApiError::conflict("this would leave no enabled admin"));
    }
    let after = json!({"role": user.role, "disabled": user.disabled, "display_name": user.display_name, "email": user.email});
    audit::record(
        tx.conn(),
        &caller.username,
        "user.update",
        &user.username,
        Some(&before),
        Some(&after),
    )
    .await?;
    tx.commit().await?;
    Ok(axum::Json(UserView::from(&user)))
}

/// Deletes a user and their tokens (needs `change_users`). Their reservation history stays.
#[utoipa::path(delete, path = "/api/v1/users/{username}", tag = "users", security(("bearer" = [])),
    params(("username" = String, Path)), responses((status = 204), (status = 409, body = super::error::ErrorBody)))]
pub async fn delete_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    caller.require(Permission::ChangeUsers)?;
    let mut tx = state.store.begin_write().await?;
    let user = find(&state, &name).await?;
    store::users::delete(tx.conn(), &user.id).await?;
    if store::users::enabled_admins(tx.conn()).await? == 0 {
        return Err(ApiError::conflict("cannot delete the last enabled admin"));
    }
    audit::record(
        tx.conn(),
        &caller.username,
        "user.delete",
        &user.username,
        Some(&json!({"role": user.role})),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Changes a password: one's own with the current password, anyone's with `change_users`.
#[utoipa::path(put, path = "/api/v1/users/{username}/password", tag = "users", security(("bearer" = [])),
    params(("username" = String, Path)), request_body = ChangePassword, responses((status = 204)))]
pub async fn change_password(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Json(req): Json<ChangePassword>,
) -> ApiResult<StatusCode> {
    let own = name == caller.username;
    let mut user = find(&state, &name).await?;
    if own && !caller.has(Permission::ChangeUsers) {
        let current = req.current_password.clone().unwrap_or_default();
        let hash = user.password_hash.clone();
        let ok = tokio::task::spawn_blocking(move || verify_password(&current, &hash))
            .await
            .unwrap_or(false);
        if !ok {
            return Err(ApiError::forbidden("current password is wrong"));
        }
    } else if !own {
        caller.require(Permission::ChangeUsers)?;
    }
    check_policy(&req.new_password).map_err(ApiError::invalid)?;
    let password = req.new_password.clone();
    user.password_hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    let mut tx = state.store.begin_write().await?;
    store::users::update(tx.conn(), &user).await?;
    // Other sessions of the user end with the old password.
    sqlx::query("UPDATE tokens SET revoked_at = $2 WHERE user_id = $1 AND kind = 'session' AND id <> $3 AND revoked_at IS NULL")
        .bind(&user.id)
        .bind(now_ms())
        .bind(&caller.token_id)
        .execute(tx.conn())
        .await
        .map_err(crate::store::StoreError::from)?;
    audit::record(
        tx.conn(),
        &caller.username,
        "user.password",
        &user.username,
        None,
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
