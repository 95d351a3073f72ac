//! Global parameters: `/globals` (each user's defaults, also as the original `globals.xml`) and
//! `/runs/{id}/globals` (what a run's tests see and set).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{ApiError, ApiResult};
use crate::app::AppState;
use crate::auth::{Caller, Permission, TokenKind};
use crate::store::{self, audit, now_ms};

/// One global parameter.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct GlobalValue {
    /// Path, like `/Config/dut_ip`.
    pub path: String,
    /// Value.
    pub value: String,
}

/// Body for setting a global.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetGlobal {
    /// New value.
    pub value: String,
}

/// Routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/globals", get(list_defaults))
        .route("/globals.xml", get(export_xml).put(import_xml))
        .route(
            "/globals/{*path}",
            get(get_default).put(set_default).delete(delete_default),
        )
        .route("/runs/{id}/globals", get(run_globals))
        .route("/runs/{id}/globals/{*path}", get(run_global).put(set_run_global))
}

/// Checks and normalises a global's path: `/folder/name`.
pub fn global_path(raw: &str) -> Result<String, ApiError> {
    let segs: Vec<&str> = raw.split('/').filter(|s| !s.is_empty()).collect();
    if segs.is_empty()
        || raw.len() > 512
        || segs.len() > 16
        || segs
            .iter()
            .any(|s| s.chars().any(char::is_control) || s.len() > 128)
    {
        return Err(ApiError::invalid(format!(
            "{raw:?}: a global's path is /folder/name (at most 16 levels)"
        )));
    }
    Ok(format!("/{}", segs.join("/")))
}

fn check_value(v: &str) -> Result<(), ApiError> {
    if v.len() > 64 * 1024 {
        return Err(ApiError::invalid("a global's value is at most 64 KiB"));
    }
    Ok(())
}

/// The caller's default globals.
#[utoipa::path(get, path = "/api/v1/globals", tag = "runs", security(("bearer" = [])),
    responses((status = 200, body = [GlobalValue])))]
pub async fn list_defaults(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<GlobalValue>>> {
    caller.require(Permission::ViewReports)?;
    let rows = store::globals::defaults(&state.store, &caller.username).await?;
    Ok(Json(
        rows.into_iter()
            .map(|(path, value)| GlobalValue { path, value })
            .collect(),
    ))
}

/// The caller's defaults in the original Twister `globals.xml` format.
#[utoipa::path(get, path = "/api/v1/globals.xml", tag = "runs", security(("bearer" = [])),
    responses((status = 200, content_type = "application/xml")))]
pub async fn export_xml(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<axum::response::Response> {
    use axum::response::IntoResponse;
    caller.require(Permission::ViewReports)?;
    let rows = store::globals::defaults(&state.store, &caller.username).await?;
    let xml = crate::execution::legacy_xml::globals_to_xml(&rows);
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/xml; charset=utf-8")],
        xml,
    )
        .into_response())
}

/// Sets the caller's defaults from an original `globals.xml` (merged: values it does not name stay).
#[utoipa::path(put, path = "/api/v1/globals.xml", tag = "runs", security(("bearer" = [])),
    request_body(content = String, content_type = "application/xml"), responses((status = 200, body = [GlobalValue])))]
pub async fn import_xml(
    State(state): State<AppState>,
    caller: Caller,
    body: axum::body::Bytes,
) -> ApiResult<Json<Vec<GlobalValue>>> {
    caller.require(Permission::ChangeGlobals)?;
    if caller.kind == TokenKind::Test {
        return Err(ApiError::forbidden("tests cannot change defaults"));
    }
    let text = std::str::from_utf8(&body).map_err(|_| ApiError::bad_request("the XML is not UTF-8"))?;
    let entries = crate::execution::legacy_xml::globals_from_xml(text)
        .map_err(|e| ApiError::invalid(format!("not an original globals.xml: {e}")))?;
    let mut tx = state.store.begin_write().await?;
    let now = now_ms();
    for (p, v) in &entries {
        let path = global_path(p)?;
        check_value(v)?;
        store::globals::set_default(tx.conn(), &caller.username, &path, v, now).await?;
    }
    audit::record(
        tx.conn(),
        &caller.username,
        "global.import",
        "globals.xml",
        None,
        Some(&serde_json::json!({"values": entries.len()})),
    )
    .await?;
    tx.commit().await?;
    let rows = store::globals::defaults(&state.store, &caller.username).await?;
    Ok(Json(
        rows.into_iter()
            .map(|(path, value)| GlobalValue { path, value })
            .collect(),
    ))
}

/// One default global.
#[utoipa::path(get, path = "/api/v1/globals/{path}", tag = "runs", security(("bearer" = [])),
    params(("path" = String, Path)), responses((status = 200, body = GlobalValue)))]
pub async fn get_default(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> ApiResult<Json<GlobalValue>> {
    caller.require(Permission::ViewReports)?;
    let path = global_path(&raw)?;
    let rows = store::globals::defaults(&state.store, &caller.username).await?;
    rows.into_iter()
        .find(|(p, _)| *p == path)
        .map(|(path, value)| Json(GlobalValue { path, value }))
        .ok_or_else(|| ApiError::not_found(format!("no global {path}")))
}

/// Sets a default global (folders are created by their paths).
#[utoipa::path(put, path = "/api/v1/globals/{path}", tag = "runs", security(("bearer" = [])),
    params(("path" = String, Path)), request_body = SetGlobal, responses((status = 200, body = GlobalValue)))]
pub async fn set_default(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    Json(req): Json<SetGlobal>,
) -> ApiResult<Json<GlobalValue>> {
    caller.require(Permission::ChangeGlobals)?;
    if caller.kind == TokenKind::Test {
        return Err(ApiError::forbidden(
            "tests set run values: PUT /runs/{run}/globals/{path}",
        ));
    }
    let path = global_path(&raw)?;
    check_value(&req.value)?;
    let mut tx = state.store.begin_write().await?;
    store::globals::set_default(tx.conn(), &caller.username, &path, &req.value, now_ms()).await?;
    audit::record(
        tx.conn(),
        &caller.username,
        "global.set",
        &path,
        None,
        Some(&serde_json::json!({"value": req.value})),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(GlobalValue {
        path,
        value: req.value,
    }))
}

/// Deletes a default global or a folder of them.
#[utoipa::path(delete, path = "/api/v1/globals/{path}", tag = "runs", security(("bearer" = [])),
    params(("path" = String, Path)), responses((status = 204)))]
pub async fn delete_default(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> ApiResult<StatusCode> {
    caller.require(Permission::ChangeGlobals)?;
    if caller.kind == TokenKind::Test {
        return Err(ApiError::forbidden("tests cannot delete defaults"));
    }
    let path = global_path(&raw)?;
    let mut tx = state.store.begin_write().await?;
    let n = store::globals::delete_default(tx.conn(), &caller.username, &path).await?;
    if n == 0 {
        return Err(ApiError::not_found(format!("no global {path}")));
    }
    audit::record(tx.conn(), &caller.username, "global.delete", &path, None, None).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The run's owner, after checking that the caller may touch this run (a test token only its own run).
pub(super) async fn run_owner(state: &AppState, caller: &Caller, id: &str) -> Result<String, ApiError> {
    if caller.kind == TokenKind::Test && caller.run.as_ref().map(|(r, _)| r.as_str()) != Some(id) {
        return Err(ApiError::forbidden("a test token may only use its own run"));
    }
    let run = store::runs::get(&state.store, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no run {id}")))?;
    Ok(run.username)
}

/// Every global a run sees (its user's defaults, overlaid with what its tests set).
#[utoipa::path(get, path = "/api/v1/runs/{id}/globals", tag = "runs", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 200, body = [GlobalValue])))]
pub async fn run_globals(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<GlobalValue>>> {
    caller.require(Permission::ViewReports)?;
    let owner = run_owner(&state, &caller, &id).await?;
    let rows = store::globals::effective_all(&state.store, &id, &owner).await?;
    Ok(Json(
        rows.into_iter()
            .map(|(path, value)| GlobalValue { path, value })
            .collect(),
    ))
}

/// One global as a run sees it.
#[utoipa::path(get, path = "/api/v1/runs/{id}/globals/{path}", tag = "runs", security(("bearer" = [])),
    params(("id" = String, Path), ("path" = String, Path)), responses((status = 200, body = GlobalValue)))]
pub async fn run_global(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, raw)): Path<(String, String)>,
) -> ApiResult<Json<GlobalValue>> {
    caller.require(Permission::ViewReports)?;
    let owner = run_owner(&state, &caller, &id).await?;
    let path = global_path(&raw)?;
    let value = store::globals::effective(&state.store, &id, &owner, &path)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no global {path}")))?;
    Ok(Json(GlobalValue { path, value }))
}

/// Sets a global for the rest of a run (the user's default is left as it is).
#[utoipa::path(put, path = "/api/v1/runs/{id}/globals/{path}", tag = "runs", security(("bearer" = [])),
    params(("id" = String, Path), ("path" = String, Path)), request_body = SetGlobal,
    responses((status = 200, body = GlobalValue)))]
pub async fn set_run_global(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, raw)): Path<(String, String)>,
    Json(req): Json<SetGlobal>,
) -> ApiResult<Json<GlobalValue>> {
    caller.require(Permission::ChangeGlobals)?;
    let owner = run_owner(&state, &caller, &id).await?;
    if caller.kind != TokenKind::Test && owner != caller.username {
        return Err(ApiError::forbidden(format!("run {id} belongs to {owner}")));
    }
    let path = global_path(&raw)?;
    check_value(&req.value)?;
    let mut tx = state.store.begin_write().await?;
    store::globals::set_run(tx.conn(), &id, &path, &req.value, now_ms()).await?;
    tx.commit().await?;
    Ok(Json(GlobalValue {
        path,
        value: req.value,
    }))
}
