//! Projects (`/projects`): the native JSON document of settings, suites and tests, with versions so that two
//! editors never silently overwrite each other; and the test-source directory (`/sources`).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{ApiError, ApiResult};
use super::extract::{if_match, Query};
use crate::app::AppState;
use crate::auth::{Caller, Permission};
use crate::execution::sources::{SourceEntry, SourceFile};
use crate::execution::Project;
use crate::store::projects::ProjectRow;
use crate::store::{self, audit, ms_to_rfc3339, new_id, now_ms, StoreError};

/// A project in a listing.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectSummary {
    /// Name.
    pub name: String,
    /// Creator.
    pub owner: String,
    /// Version.
    pub version: i64,
    /// Top-level suites.
    pub suites: usize,
    /// Tests in all suites.
    pub tests: usize,
    /// Last change.
    pub updated_at: String,
}

/// A project with its version.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectDoc {
    /// The document.
    #[serde(flatten)]
    pub project: Project,
    /// Version (also the ETag).
    pub version: i64,
    /// Creator.
    pub owner: String,
    /// Last change.
    pub updated_at: String,
}

/// Source listing options.
#[derive(Debug, Deserialize, Default)]
pub struct SourceParams {
    /// Directory or file, relative to the test-source directory.
    #[serde(default)]
    pub path: Option<String>,
}

/// Routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/projects", get(list))
        .route(
            "/projects/{name}",
            get(get_one)
                .put(put)
                .delete(remove)
                .layer(axum::extract::DefaultBodyLimit::max(super::IMPORT_LIMIT)),
        )
        .route("/projects/{name}/suites", axum::routing::post(import_suite))
        .route(
            "/projects/{name}/xml",
            get(export_xml)
                .put(import_xml)
                .layer(axum::extract::DefaultBodyLimit::max(super::IMPORT_LIMIT)),
        )
        .route("/projects/{name}/suites/{*suite}", get(export_suite))
        .route("/sources", get(sources))
        .route("/sources/file", get(source_file))
}

fn count_tests(p: &Project) -> usize {
    fn walk(s: &[crate::execution::project::Suite]) -> usize {
        s.iter().map(|s| s.tests.len() + walk(&s.suites)).sum()
    }
    walk(&p.suites)
}

fn parse_doc(row: &ProjectRow) -> Result<Project, ApiError> {
    serde_json::from_str(&row.doc)
        .map_err(|e| ApiError::internal(format!("stored project {}: {e}", row.name)))
}

/// Every project.
#[utoipa::path(get, path = "/api/v1/projects", tag = "projects", security(("bearer" = [])),
    responses((status = 200, body = [ProjectSummary])))]
pub async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<ProjectSummary>>> {
    caller.require(Permission::ViewReports)?;
    let rows = store::projects::list(&state.store).await?;
    let mut out = Vec::new();
    for r in rows {
        let p = parse_doc(&r)?;
        out.push(ProjectSummary {
            name: r.name,
            owner: r.owner,
            version: r.version,
            suites: p.suites.len(),
            tests: count_tests(&p),
            updated_at: ms_to_rfc3339(r.updated_at),
        });
    }
    Ok(Json(out))
}

fn with_etag(status: StatusCode, doc: ProjectDoc) -> Response {
    let etag = format!("\"v{}\"", doc.version);
    let mut resp = (status, Json(doc)).into_response();
    if let Ok(v) = etag.parse() {
        resp.headers_mut().insert(header::ETAG, v);
    }
    resp
}

/// One project (its version in the ETag).
#[utoipa::path(get, path = "/api/v1/projects/{name}", tag = "projects", security(("bearer" = [])),
    params(("name" = String, Path)), responses((status = 200, body = ProjectDoc)))]
pub async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<Response> {
    caller.require(Permission::ViewReports)?;
    let mut conn = state.store.pool().acquire().await.map_err(StoreError::from)?;
    let row = store::projects::by_name(&mut conn, &name)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no project {name}")))?;
    let project = parse_doc(&row)?;
    Ok(with_etag(
        StatusCode::OK,
        ProjectDoc {
            project,
            version: row.version,
            owner: row.owner,
            updated_at: ms_to_rfc3339(row.updated_at),
        },
    ))
}

/// Creates or replaces a project. The document's `name` may differ from the path to rename it. `If-Match`
/// (or `"version"` in the body) guards against overwriting someone else's change.
#[utoipa::path(put, path = "/api/v1/projects/{name}", tag = "projects", security(("bearer" = [])),
    params(("name" = String, Path)), request_body = Project,
    responses((status = 200, body = ProjectDoc), (status = 201, body = ProjectDoc), (status = 412, body = super::error::ErrorBody)))]
pub async fn put(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    caller.require(Permission::ChangeProjects)?;
    let mut value: serde_json::Value =
        serde_json::from_slice(&body).map_err(|e| ApiError::bad_request(format!("body is not JSON: {e}")))?;
    let mut expected = if_match(&headers)?;
    if let Some(obj) = value.as_object_mut() {
        // Fields of a GET answer that are not part of the document.
        if let Some(v) = obj.remove("version") {
            expected = expected.or(v.as_i64());
        }
        obj.remove("owner");
        obj.remove("updated_at");
        if !obj.contains_key("name") {
            obj.insert("name".into(), serde_json::Value::String(name.clone()));
        }
    }
    let project: Project = serde_json::from_value(value)
        .map_err(|e| ApiError::invalid(format!("not a project document: {e}")))?;
    project.validate()?;
    crate::reports::config::check_project(&state.store, &project).await?;
    let doc = serde_json::to_string(&project).map_err(ApiError::internal)?;
    let now = now_ms();
    let mut tx = state.store.begin_write().await?;
    let existing = store::projects::by_name(tx.conn(), &name).await?;
    if project.name != name
        && store::projects::by_name(tx.conn(), &project.name)
            .await?
            .is_some()
    {
        return Err(ApiError::conflict(format!(
            "a project named {} exists",
            project.name
        )));
    }
    let (status, row) = match existing {
        Some(mut row) => {
            if let Some(v) = expected {
                if v != row.version {
                    return Err(ApiError::new(
                        StatusCode::PRECONDITION_FAILED,
                        "version_mismatch",
                        format!(
                            "project {name} is at version {}, not {v}: someone changed it; reload",
                            row.version
                        ),
                    ));
                }
            }
            let before = parse_doc(&row)?;
            row.version += 1;
            store::projects::update(tx.conn(), &row.id, &project.name, &doc, row.version, now).await?;
            audit::record(
                tx.conn(),
                &caller.username,
                "project.update",
                &project.name,
                Some(&serde_json::to_value(&before).unwrap_or_default()),
                Some(&serde_json::to_value(&project).unwrap_or_default()),
            )
            .await?;
            row.name = project.name.clone();
            row.updated_at = now;
            (StatusCode::OK, row)
        }
        None => {
            if expected.is_some_and(|v| v != 0) {
                return Err(ApiError::new(
                    StatusCode::PRECONDITION_FAILED,
                    "version_mismatch",
                    format!("project {name} does not exist"),
                ));
            }
            let row = ProjectRow {
                id: new_id(),
                name: project.name.clone(),
                owner: caller.username.clone(),
                doc: doc.clone(),
                version: 1,
                created_at: now,
                updated_at: now,
            };
            store::projects::insert(tx.conn(), &row).await?;
            audit::record(
                tx.conn(),
                &caller.username,
                "project.create",
                &project.name,
                None,
                Some(&serde_json::to_value(&project).unwrap_or_default()),
            )
            .await?;
            (StatusCode::CREATED, row)
        }
    };
    tx.commit().await?;
    Ok(with_etag(
        status,
        ProjectDoc {
            project,
            version: row.version,
            owner: row.owner,
            updated_at: ms_to_rfc3339(row.updated_at),
        },
    ))
}

/// Deletes a project (its runs stay).
#[utoipa::path(delete, path = "/api/v1/projects/{name}", tag = "projects", security(("bearer" = [])),
    params(("name" = String, Path)), responses((status = 204)))]
pub async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    caller.require(Permission::ChangeProjects)?;
    let mut tx = state.store.begin_write().await?;
    let row = store::projects::by_name(tx.conn(), &name)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no project {name}")))?;
    store::projects::delete(tx.conn(), &row.id).await?;
    audit::record(tx.conn(), &caller.username, "project.delete", &name, None, None).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

fn find_suite<'a>(
    suites: &'a [crate::execution::project::Suite],
    path: &[&str],
) -> Option<&'a crate::execution::project::Suite> {
    let (first, rest) = path.split_first()?;
    let s = suites.iter().find(|s| s.name == *first)?;
    if rest.is_empty() {
        Some(s)
    } else {
        find_suite(&s.suites, rest)
    }
}

/// A suite of a project (`outer/inner` for a nested one), to save as a predefined suite.
#[utoipa::path(get, path = "/api/v1/projects/{name}/suites/{suite}", tag = "projects", security(("bearer" = [])),
    params(("name" = String, Path), ("suite" = String, Path)),
    responses((status = 200, body = crate::execution::project::Suite)))]
pub async fn export_suite(
    State(state): State<AppState>,
    caller: Caller,
    Path((name, suite)): Path<(String, String)>,
) -> ApiResult<Json<crate::execution::project::Suite>> {
    caller.require(Permission::ViewReports)?;
    let mut conn = state.store.pool().acquire().await.map_err(StoreError::from)?;
    let row = store::projects::by_name(&mut conn, &name)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no project {name}")))?;
    let project = parse_doc(&row)?;
    let path: Vec<&str> = suite.split('/').filter(|s| !s.is_empty()).collect();
    find_suite(&project.suites, &path)
        .cloned()
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("project {name} has no suite {suite}")))
}

/// Adds a (predefined) suite at the end of a project's top-level suites.
#[utoipa::path(post, path = "/api/v1/projects/{name}/suites", tag = "projects", security(("bearer" = [])),
    params(("name" = String, Path)), request_body = crate::execution::project::Suite,
    responses((status = 201, body = ProjectDoc)))]
pub async fn import_suite(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Json(suite): Json<crate::execution::project::Suite>,
) -> ApiResult<Response> {
    caller.require(Permission::ChangeProjects)?;
    let mut tx = state.store.begin_write().await?;
    let mut row = store::projects::by_name(tx.conn(), &name)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no project {name}")))?;
    let mut project = parse_doc(&row)?;
    if project.suites.iter().any(|s| s.name == suite.name) {
        return Err(ApiError::conflict(format!(
            "project {name} already has a suite named {}",
            suite.name
        )));
    }
    project.suites.push(suite.clone());
    project.validate()?;
    crate::reports::config::check_project(&state.store, &project).await?;
    let doc = serde_json::to_string(&project).map_err(ApiError::internal)?;
    row.version += 1;
    let now = now_ms();
    store::projects::update(tx.conn(), &row.id, &project.name, &doc, row.version, now).await?;
    audit::record(
        tx.conn(),
        &caller.username,
        "project.suite_import",
        &name,
        None,
        Some(&serde_json::json!({"suite": suite.name})),
    )
    .await?;
    tx.commit().await?;
    Ok(with_etag(
        StatusCode::CREATED,
        ProjectDoc {
            project,
            version: row.version,
            owner: row.owner,
            updated_at: ms_to_rfc3339(now),
        },
    ))
}

/// A project in the original Twister XML format (for the original tools).
#[utoipa::path(get, path = "/api/v1/projects/{name}/xml", tag = "projects", security(("bearer" = [])),
    params(("name" = String, Path)), responses((status = 200, content_type = "application/xml")))]
pub async fn export_xml(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<Response> {
    caller.require(Permission::ViewReports)?;
    let mut conn = state.store.pool().acquire().await.map_err(StoreError::from)?;
    let row = store::projects::by_name(&mut conn, &name)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no project {name}")))?;
    let xml = crate::execution::legacy_xml::project_to_xml(&parse_doc(&row)?);
    Ok(([(header::CONTENT_TYPE, "application/xml; charset=utf-8")], xml).into_response())
}

/// Creates or replaces a project from an original Twister project file or `testsuites.xml` (the body).
#[utoipa::path(put, path = "/api/v1/projects/{name}/xml", tag = "projects", security(("bearer" = [])),
    params(("name" = String, Path)), request_body(content = String, content_type = "application/xml"),
    responses((status = 200, body = ProjectDoc), (status = 201, body = ProjectDoc)))]
pub async fn import_xml(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    caller.require(Permission::ChangeProjects)?;
    let text = std::str::from_utf8(&body).map_err(|_| ApiError::bad_request("the XML is not UTF-8"))?;
    let project = crate::execution::legacy_xml::project_from_xml(text, &name)
        .map_err(|e| ApiError::invalid(format!("not an original Twister project: {e}")))?;
    let json = serde_json::to_vec(&project).map_err(ApiError::internal)?;
    put(State(state), caller, Path(name), headers, Bytes::from(json)).await
}

/// Lists a directory of the test-source directory.
#[utoipa::path(get, path = "/api/v1/sources", tag = "projects", security(("bearer" = [])),
    params(("path" = Option<String>, Query)), responses((status = 200, body = [SourceEntry])))]
pub async fn sources(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<SourceParams>,
) -> ApiResult<Json<Vec<SourceEntry>>> {
    caller.require(Permission::ViewReports)?;
    Ok(Json(
        state.engine.sources().list(p.path.as_deref().unwrap_or(""))?,
    ))
}

/// Reads a test file with its title and description.
#[utoipa::path(get, path = "/api/v1/sources/file", tag = "projects", security(("bearer" = [])),
    params(("path" = String, Query)), responses((status = 200, body = SourceFile)))]
pub async fn source_file(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<SourceParams>,
) -> ApiResult<Json<SourceFile>> {
    caller.require(Permission::ViewReports)?;
    let path = p.path.ok_or_else(|| ApiError::bad_request("give ?path="))?;
    Ok(Json(state.engine.sources().read(&path)?))
}
