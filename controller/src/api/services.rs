//! The service manager (`/services`): definitions, start / stop / restart, status, logs, configuration files and
//! the original `services.ini` import. Admins only (`change_services`).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ApiResult};
use crate::app::AppState;
use crate::auth::{Caller, Permission};
use crate::services::definition::ServiceDef;
use crate::services::{ServiceError, ServiceView};

/// Routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/services", get(list).post(create))
        .route("/services.ini", put(import_ini))
        .route("/services/{name}", get(get_one).put(replace).delete(remove))
        .route("/services/{name}/{action}", post(control))
        .route("/services/{name}/logs", get(logs))
        .route("/services/{name}/config", get(get_config).put(put_config))
}

fn err(e: ServiceError) -> ApiError {
    match e {
        ServiceError::NotFound(_) => ApiError::not_found(e.to_string()),
        ServiceError::Invalid(_) | ServiceError::NoConfig(_) => ApiError::invalid(e.to_string()),
        ServiceError::File { .. } => ApiError::invalid(e.to_string()),
        ServiceError::Store(s) => s.into(),
    }
}

/// Every service with its status.
#[utoipa::path(get, path = "/api/v1/services", tag = "services", security(("bearer" = [])),
    responses((status = 200, body = [ServiceView])))]
pub async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<ServiceView>>> {
    caller.require(Permission::ChangeServices)?;
    Ok(Json(state.services.list().await.map_err(err)?))
}

/// Creates a service (409 when the name exists).
#[utoipa::path(post, path = "/api/v1/services", tag = "services", security(("bearer" = [])),
    request_body = ServiceDef, responses((status = 201, body = ServiceView)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<ServiceDef>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<(StatusCode, Json<ServiceView>)> {
    caller.require(Permission::ChangeServices)?;
    let Json(def) = body?;
    if state.services.def(&def.name).await.is_ok() {
        return Err(ApiError::conflict(format!("service {} exists", def.name)));
    }
    let v = state.services.save(def, &caller.username).await.map_err(err)?;
    Ok((StatusCode::CREATED, Json(v)))
}

/// One service with its status.
#[utoipa::path(get, path = "/api/v1/services/{name}", tag = "services", security(("bearer" = [])),
    params(("name" = String, Path)), responses((status = 200, body = ServiceView)))]
pub async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<Json<ServiceView>> {
    caller.require(Permission::ChangeServices)?;
    Ok(Json(state.services.view(&name).await.map_err(err)?))
}

/// Creates or replaces a service (the name in the path wins).
#[utoipa::path(put, path = "/api/v1/services/{name}", tag = "services", security(("bearer" = [])),
    params(("name" = String, Path)), request_body = ServiceDef, responses((status = 200, body = ServiceView)))]
pub async fn replace(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    body: Result<Json<ServiceDef>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Json<ServiceView>> {
    caller.require(Permission::ChangeServices)?;
    let Json(mut def) = body?;
    def.name = name;
    Ok(Json(
        state.services.save(def, &caller.username).await.map_err(err)?,
    ))
}

/// Stops and deletes a service.
#[utoipa::path(delete, path = "/api/v1/services/{name}", tag = "services", security(("bearer" = [])),
    params(("name" = String, Path)), responses((status = 204)))]
pub async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    caller.require(Permission::ChangeServices)?;
    state
        .services
        .delete(&name, &caller.username)
        .await
        .map_err(err)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `start`, `stop` or `restart` a service; answers its status after.
#[utoipa::path(post, path = "/api/v1/services/{name}/{action}", tag = "services", security(("bearer" = [])),
    params(("name" = String, Path), ("action" = String, Path, description = "start, stop or restart")),
    responses((status = 200, body = ServiceView)))]
pub async fn control(
    State(state): State<AppState>,
    caller: Caller,
    Path((name, action)): Path<(String, String)>,
) -> ApiResult<Json<ServiceView>> {
    caller.require(Permission::ChangeServices)?;
    let s = &state.services;
    let v = match action.as_str() {
        "start" => s.start(&name).await,
        "stop" => s.stop(&name).await,
        "restart" => s.restart(&name).await,
        other => {
            return Err(ApiError::not_found(format!(
                "no action {other:?}: start, stop or restart"
            )))
        }
    }
    .map_err(err)?;
    let mut tx = state.store.begin_write().await?;
    crate::store::audit::record(
        tx.conn(),
        &caller.username,
        &format!("service.{action}"),
        &name,
        None,
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(Json(v))
}

/// How much of the log to return.
#[derive(Debug, Deserialize, IntoParams)]
pub struct LogQuery {
    /// Bytes from the end (default 64 KiB, at most 1 MiB).
    pub bytes: Option<u64>,
}

/// A service's log.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceLog {
    /// The last part of the log file.
    pub text: String,
}

/// The end of a service's log (its captured stdout and stderr).
#[utoipa::path(get, path = "/api/v1/services/{name}/logs", tag = "services", security(("bearer" = [])),
    params(("name" = String, Path), LogQuery), responses((status = 200, body = ServiceLog)))]
pub async fn logs(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    query: Result<Query<LogQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<ServiceLog>> {
    caller.require(Permission::ChangeServices)?;
    let Query(q) = query?;
    let bytes = q.bytes.unwrap_or(64 * 1024).clamp(1, 1024 * 1024);
    Ok(Json(ServiceLog {
        text: state.services.logs(&name, bytes).await.map_err(err)?,
    }))
}

/// A service's configuration file.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceConfig {
    /// The file's text.
    pub text: String,
}

/// A service's configuration file (empty when it does not exist yet).
#[utoipa::path(get, path = "/api/v1/services/{name}/config", tag = "services", security(("bearer" = [])),
    params(("name" = String, Path)), responses((status = 200, body = ServiceConfig)))]
pub async fn get_config(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<Json<ServiceConfig>> {
    caller.require(Permission::ChangeServices)?;
    Ok(Json(ServiceConfig {
        text: state.services.config(&name).await.map_err(err)?,
    }))
}

/// Replaces a service's configuration file (restart the service to apply it).
#[utoipa::path(put, path = "/api/v1/services/{name}/config", tag = "services", security(("bearer" = [])),
    params(("name" = String, Path)), request_body = ServiceConfig, responses((status = 200, body = ServiceConfig)))]
pub async fn put_config(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    body: Result<Json<ServiceConfig>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Json<ServiceConfig>> {
    caller.require(Permission::ChangeServices)?;
    let Json(c) = body?;
    state
        .services
        .set_config(&name, &c.text, &caller.username)
        .await
        .map_err(err)?;
    Ok(Json(c))
}

/// Imports the original Twister `services.ini` (each section creates or replaces a service).
#[utoipa::path(put, path = "/api/v1/services.ini", tag = "services", security(("bearer" = [])),
    request_body(content = String, content_type = "text/plain"), responses((status = 200, body = [ServiceView])))]
pub async fn import_ini(
    State(state): State<AppState>,
    caller: Caller,
    body: axum::body::Bytes,
) -> ApiResult<Json<Vec<ServiceView>>> {
    caller.require(Permission::ChangeServices)?;
    let text = std::str::from_utf8(&body).map_err(|_| ApiError::bad_request("services.ini is not UTF-8"))?;
    Ok(Json(
        state
            .services
            .import_ini(text, &caller.username)
            .await
            .map_err(err)?,
    ))
}
