//! Results and reports (`/reports`, `/runs/{id}/save`, `/runs/{id}/results`): save a run's results, list and
//! run the built-in and configured reports (JSON or CSV), and edit the reporting configuration (JSON, or an
//! imported db.xml).

use std::collections::HashMap;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Serialize;
use utoipa::ToSchema;

use super::error::{ApiError, ApiResult};
use super::extract::{Json, Path, Query};
use crate::app::AppState;
use crate::auth::{Caller, Permission};
use crate::reports::config::{self, Redirect, ReportDef, ReportField, ReportFieldKind, ReportKind};
use crate::reports::query::{self, ReportOutput, Target};
use crate::reports::saving::{self, SaveReport};
use crate::reports::scripts::UserScripts;
use crate::reports::{builtin, dbxml, ReportConfig};
use crate::store::results::ResultRow;
use crate::store::{self, audit, now_ms};

/// Routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/reports", get(list))
        .route("/reports/config", get(get_config).put(put_config))
        .route("/reports/config/dbxml", post(import_dbxml).put(import_dbxml))
        .route("/reports/{name}", get(describe))
        .route("/reports/{name}/data", get(data))
        .route("/runs/{id}/save", post(save))
        .route("/runs/{id}/results", get(results))
}

/// A report in the list.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportSummary {
    /// Id (name).
    pub id: String,
    /// How it is shown.
    pub kind: ReportKind,
    /// Built in (works on the `results` table) or configured.
    pub builtin: bool,
    /// What it shows.
    pub description: String,
    /// The fields it asks for.
    pub fields: Vec<String>,
}

/// Every report and redirect.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportList {
    /// Reports, built-in first.
    pub reports: Vec<ReportSummary>,
    /// Links to other pages.
    pub redirects: Vec<Redirect>,
}

/// A field with its choices.
#[derive(Debug, Serialize, ToSchema)]
pub struct FieldChoices {
    /// The field.
    #[serde(flatten)]
    pub field: ReportField,
    /// `[value, label]` pairs (UserSelect fields).
    pub options: Vec<(String, String)>,
    /// Why the choices could not be read, if they could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A report's definition and the fields to fill in.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportDescription {
    /// The definition.
    pub report: ReportDef,
    /// Built in.
    pub builtin: bool,
    /// Fields it asks for, with their choices.
    pub fields: Vec<FieldChoices>,
}

/// The stored configuration (the database password hidden) and its version.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConfigView {
    /// Version (0: never saved).
    pub version: i64,
    /// The configuration.
    pub config: ReportConfig,
    /// Notes from an import (what was not carried over).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

fn fields_of(def: &ReportDef) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for sql in def.queries() {
        if let Ok(t) = crate::reports::template::Template::parse(sql) {
            for f in t.fields() {
                if !out.contains(&f) {
                    out.push(f);
                }
            }
        }
    }
    out
}

/// A report by name: (definition, built in, its field definitions, where it runs).
async fn resolve(
    state: &AppState,
    name: &str,
) -> Result<(ReportDef, bool, Vec<ReportField>, Target, ReportConfig), ApiError> {
    let (config, _) = config::load(&state.store, &state.secrets).await?;
    if let Some(def) = builtin::find(name) {
        return Ok((def, true, builtin::fields(), Target::own(&state.store), config));
    }
    let def = config
        .reports
        .iter()
        .find(|r| r.id == name)
        .cloned()
        .ok_or_else(|| ApiError::not_found(format!("no report {name:?}")))?;
    let target = query::target(&state.store, &config).await?;
    let fields = config.report_fields.clone();
    Ok((def, false, fields, target, config))
}

/// Every report (built-in and configured) and redirect.
#[utoipa::path(get, path = "/api/v1/reports", tag = "reports", security(("bearer" = [])),
    responses((status = 200, body = ReportList)))]
pub async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<axum::Json<ReportList>> {
    caller.require(Permission::ViewReports)?;
    let (config, _) = config::load(&state.store, &state.secrets).await?;
    let mut reports: Vec<ReportSummary> = builtin::reports()
        .into_iter()
        .map(|r| ReportSummary {
            fields: fields_of(&r),
            id: r.id,
            kind: r.kind,
            builtin: true,
            description: r.description,
        })
        .collect();
    reports.extend(config.reports.iter().map(|r| ReportSummary {
        fields: fields_of(r),
        id: r.id.clone(),
        kind: r.kind,
        builtin: false,
        description: r.description.clone(),
    }));
    Ok(axum::Json(ReportList {
        reports,
        redirects: config.redirects,
    }))
}

/// A report's definition and its fields with their choices.
#[utoipa::path(get, path = "/api/v1/reports/{name}", tag = "reports", security(("bearer" = [])),
    params(("name" = String, Path)), responses((status = 200, body = ReportDescription)))]
pub async fn describe(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<axum::Json<ReportDescription>> {
    caller.require(Permission::ViewReports)?;
    let (def, is_builtin, fields, target, _) = resolve(&state, &name).await?;
    let mut out = Vec::new();
    for id in fields_of(&def) {
        let field = fields
            .iter()
            .find(|f| f.id == id)
            .cloned()
            .unwrap_or(ReportField {
                id: id.clone(),
                kind: ReportFieldKind::UserText,
                sql_query: String::new(),
                label: id.clone(),
                default: None,
            });
        let (options, error) = if field.kind == ReportFieldKind::UserSelect && !field.sql_query.is_empty() {
            match query::field_options(&target, &field.sql_query).await {
                Ok(o) => (o, None),
                Err(e) => (Vec::new(), Some(e.message)),
            }
        } else {
            (Vec::new(), None)
        };
        out.push(FieldChoices {
            field,
            options,
            error,
        });
    }
    Ok(axum::Json(ReportDescription {
        report: def,
        builtin: is_builtin,
        fields: out,
    }))
}

/// Runs a report: each field's value as a query parameter of the same name (`cmp.Field` for SQLCompare),
/// `format=json` (default) or `csv`.
#[utoipa::path(get, path = "/api/v1/reports/{name}/data", tag = "reports", security(("bearer" = [])),
    params(("name" = String, Path), ("format" = Option<String>, Query)),
    responses((status = 200, body = ReportOutput)))]
pub async fn data(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Query(mut params): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    caller.require(Permission::ViewReports)?;
    let format = params.remove("format");
    let (def, _, fields, target, config) = resolve(&state, &name).await?;
    let out = query::run_report(&target, &config, &fields, &def, &params).await?;
    match format.as_deref() {
        None | Some("json") => Ok(axum::Json(out).into_response()),
        Some("csv") => {
            let safe: String = name
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            Ok((
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"{safe}.csv\""),
                    ),
                ],
                query::to_csv(&out.table),
            )
                .into_response())
        }
        Some(other) => Err(ApiError::bad_request(format!("format {other:?}: json or csv"))),
    }
}

/// The reporting configuration (database password hidden).
#[utoipa::path(get, path = "/api/v1/reports/config", tag = "reports", security(("bearer" = [])),
    responses((status = 200, body = ConfigView)))]
pub async fn get_config(State(state): State<AppState>, caller: Caller) -> ApiResult<axum::Json<ConfigView>> {
    caller.require(Permission::ViewReports)?;
    let (c, version) = config::load(&state.store, &state.secrets).await?;
    Ok(axum::Json(ConfigView {
        version,
        config: c.redacted(),
        notes: Vec::new(),
    }))
}

async fn store_config(
    state: &AppState,
    caller: &Caller,
    mut new: ReportConfig,
    notes: Vec<String>,
) -> ApiResult<axum::Json<ConfigView>> {
    caller.require(Permission::ChangeReports)?;
    let (old, _) = config::load(&state.store, &state.secrets).await?;
    // A configuration read back (password hidden) and saved again keeps the stored password.
    if let (Some(new_url), Some(old_url)) = (&new.database_url, &old.database_url) {
        if new_url.contains("***") && store::redact_url(old_url) == *new_url {
            new.database_url = Some(old_url.clone());
        }
    }
    new.validate()?;
    new.check_scripts(&UserScripts::from_config(&state.config))?;
    let doc = serde_json::to_string(&new.sealed(&state.secrets)).map_err(ApiError::internal)?;
    let mut tx = state.store.begin_write().await?;
    let version = store::report_config::put(tx.conn(), &doc, &caller.username, now_ms()).await?;
    audit::record(
        tx.conn(),
        &caller.username,
        "reports.config",
        "default",
        None,
        Some(&serde_json::json!({"version": version, "reports": new.reports.len(), "fields": new.fields.len()})),
    )
    .await?;
    tx.commit().await?;
    Ok(axum::Json(ConfigView {
        version,
        config: new.redacted(),
        notes,
    }))
}

/// Replaces the reporting configuration.
#[utoipa::path(put, path = "/api/v1/reports/config", tag = "reports", security(("bearer" = [])),
    request_body = ReportConfig, responses((status = 200, body = ConfigView)))]
pub async fn put_config(
    State(state): State<AppState>,
    caller: Caller,
    Json(new): Json<ReportConfig>,
) -> ApiResult<axum::Json<ConfigView>> {
    store_config(&state, &caller, new, Vec::new()).await
}

/// Replaces the reporting configuration with an imported original db.xml (the request body); the current
/// `database_url` is kept.
#[utoipa::path(post, path = "/api/v1/reports/config/dbxml", tag = "reports", security(("bearer" = [])),
    request_body(content = String, content_type = "application/xml"), responses((status = 200, body = ConfigView)))]
pub async fn import_dbxml(
    State(state): State<AppState>,
    caller: Caller,
    body: axum::body::Bytes,
) -> ApiResult<axum::Json<ConfigView>> {
    caller.require(Permission::ChangeReports)?;
    let text = std::str::from_utf8(&body).map_err(|_| ApiError::bad_request("db.xml must be UTF-8"))?;
    let (mut new, mut notes) = dbxml::parse(text).map_err(|e| ApiError::invalid(e.to_string()))?;
    // The original named UserScript scripts by absolute path anywhere on its server; here they live in the
    // report scripts directory. Such a path becomes its file name there, with a note saying where to copy it.
    let scripts = UserScripts::from_config(&state.config);
    for f in new
        .fields
        .iter_mut()
        .filter(|f| f.kind == config::FieldKind::UserScript)
    {
        if scripts.relative(&f.sql_query).is_ok() {
            continue;
        }
        let original = f.sql_query.trim().to_string();
        if let Some(name) = std::path::Path::new(&original)
            .file_name()
            .and_then(|n| n.to_str())
        {
            notes.push(format!(
                "field {}: script {original} runs as {name} from the report scripts directory {}: copy it there",
                f.id,
                scripts.root().display()
            ));
            f.sql_query = name.to_string();
        }
    }
    let (old, _) = config::load(&state.store, &state.secrets).await?;
    new.database_url = old.database_url;
    new.query_timeout_s = old.query_timeout_s;
    store_config(&state, &caller, new, notes).await
}

/// Saves a finished run's results (again, replacing an earlier save) and runs the configured inserts.
#[utoipa::path(post, path = "/api/v1/runs/{id}/save", tag = "reports", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 200, body = SaveReport)))]
pub async fn save(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<SaveReport>> {
    caller.require(Permission::RunTests)?;
    let run = store::runs::get(&state.store, &id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no run {id}")))?;
    if run.username != caller.username && !caller.has(Permission::ChangeUsers) {
        return Err(ApiError::forbidden(format!(
            "run {id} belongs to {}",
            run.username
        )));
    }
    if run.state != "finished" {
        return Err(ApiError::conflict(format!("run {id} has not finished")));
    }
    let scripts = UserScripts::from_config(&state.config);
    Ok(axum::Json(
        saving::save_run(&state.store, &state.secrets, &scripts, &id).await?,
    ))
}

/// The saved results of a run.
#[utoipa::path(get, path = "/api/v1/runs/{id}/results", tag = "reports", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 200, body = [ResultRow])))]
pub async fn results(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Vec<ResultRow>>> {
    caller.require(Permission::ViewReports)?;
    if store::runs::get(&state.store, &id).await?.is_none() {
        return Err(ApiError::not_found(format!("no run {id}")));
    }
    Ok(axum::Json(store::results::of_run(&state.store, &id).await?))
}
