//! The inventory over REST: `/resources/{path}` (nodes and `:property` addresses), the tree listing, import and
//! export.

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{ApiError, ApiResult};
use super::extract::{etag, if_match, Json, Path, Query};
use crate::app::AppState;
use crate::auth::{Caller, Permission};
use crate::inventory::exchange::{self, Format, ImportReport};
use crate::inventory::tree::{NodeView, PropertyView, PutNode};
use crate::inventory::{Address, NodePath, NodeRef};

/// Read options.
#[derive(Deserialize, Default)]
pub struct ReadParams {
    /// Include secret values (needs `reveal_secrets`; audited).
    #[serde(default)]
    pub reveal: bool,
}

/// The root listing.
#[derive(Serialize, ToSchema)]
pub struct RootView {
    /// Always `/`.
    pub path: String,
    /// Top-level node names.
    pub children: Vec<String>,
}

/// Body for setting a single property through `/resources/{path}:{key}`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutProperty {
    /// New value.
    pub value: String,
    /// Store as secret.
    #[serde(default)]
    pub secret: bool,
}

/// Body of `POST /resources/{path}/rename`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenameRequest {
    /// New name in the same parent (for nodes and properties).
    #[serde(default)]
    pub name: Option<String>,
    /// New full path (moves the node).
    #[serde(default)]
    pub to: Option<String>,
}

/// Result of deleting a node.
#[derive(Serialize, ToSchema)]
pub struct Deleted {
    /// Deleted path.
    pub path: String,
    /// Number of nodes removed (the node and its subtree).
    pub nodes: usize,
}

/// Tree listing options.
#[derive(Deserialize)]
pub struct TreeParams {
    /// Subtree root (default `/`).
    #[serde(default)]
    pub root: Option<String>,
}

/// Export options.
#[derive(Deserialize)]
pub struct ExportParams {
    /// `native` (default), `twister-v3`, `twister-v2`.
    #[serde(default)]
    pub format: Option<Format>,
    /// Include secret values (needs `reveal_secrets`).
    #[serde(default)]
    pub reveal: bool,
}

/// Import options.
#[derive(Deserialize)]
pub struct ImportParams {
    /// `native` (default), `twister-v3`, `twister-v2`.
    #[serde(default)]
    pub format: Option<Format>,
    /// `merge` (default) keeps nodes the document does not name; `replace` deletes them.
    #[serde(default)]
    pub mode: Option<String>,
}

/// Routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/resources", get(get_root).delete(delete_root))
        .route("/resources/", get(get_root).delete(delete_root))
        .route(
            "/resources/{*path}",
            get(get_resource)
                .put(put_resource)
                .delete(delete_resource)
                .post(post_resource),
        )
        .route("/inventory/tree", get(tree))
        .route("/inventory/export", get(export))
        .route(
            "/inventory/import",
            post(import).layer(DefaultBodyLimit::max(super::IMPORT_LIMIT)),
        )
}

fn parse_address(raw: &str) -> ApiResult<Address> {
    Address::parse(raw).map_err(|e| ApiError::bad_request(e.to_string()))
}

fn node_path(addr: &Address) -> ApiResult<NodePath> {
    match &addr.node {
        NodeRef::Path(p) => Ok(p.clone()),
        NodeRef::Id(_) => Err(ApiError::bad_request(
            "use a path (not ~id) to create or change nodes",
        )),
    }
}

async fn path_of(state: &AppState, r: &NodeRef) -> ApiResult<NodePath> {
    match r {
        NodeRef::Path(p) => Ok(p.clone()),
        NodeRef::Id(id) => {
            let mut conn = state
                .store
                .pool()
                .acquire()
                .await
                .map_err(crate::store::StoreError::from)?;
            let n = crate::store::nodes::by_id(&mut conn, id)
                .await?
                .ok_or_else(|| ApiError::not_found(format!("no resource with id {id}")))?;
            NodePath::parse(&n.path).map_err(ApiError::internal)
        }
    }
}

fn with_etag<T: Serialize>(status: StatusCode, version: i64, body: T) -> Response {
    let mut resp = (status, axum::Json(body)).into_response();
    resp.headers_mut().insert(header::ETAG, etag(version));
    resp
}

/// Top-level nodes.
#[utoipa::path(get, path = "/api/v1/resources", tag = "inventory", security(("bearer" = [])),
    responses((status = 200, body = RootView)))]
pub async fn get_root(State(state): State<AppState>, caller: Caller) -> ApiResult<axum::Json<RootView>> {
    caller.require(Permission::ViewInventory)?;
    let children = state
        .inventory
        .top_level()
        .await?
        .into_iter()
        .filter(|n| NodePath::root().child(n).is_ok_and(|p| caller.may_traverse(&p)))
        .collect();
    Ok(axum::Json(RootView {
        path: "/".into(),
        children,
    }))
}

async fn delete_root(_caller: Caller) -> ApiError {
    ApiError::bad_request("refusing to delete '/': delete top-level nodes one by one")
}

/// Reads a node (`/tb1/dev1`, `~id`) or one property (`/tb1/dev1:ip`). Sends the node version as ETag.
#[utoipa::path(get, path = "/api/v1/resources/{path}", tag = "inventory", security(("bearer" = [])),
    params(("path" = String, Path, description = "node path, ~id, or path:property"), ("reveal" = Option<bool>, Query)),
    responses((status = 200, body = NodeView), (status = 404, body = super::error::ErrorBody)))]
pub async fn get_resource(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    Query(p): Query<ReadParams>,
) -> ApiResult<Response> {
    let addr = parse_address(&raw)?;
    match &addr.property {
        Some(key) => {
            let v: PropertyView = state
                .inventory
                .get_property(&caller, &addr.node, key, p.reveal)
                .await?;
            Ok(with_etag(StatusCode::OK, v.version, v))
        }
        None => {
            let v = state.inventory.get(&caller, &addr.node, p.reveal).await?;
            Ok(with_etag(StatusCode::OK, v.version, v))
        }
    }
}

/// Creates (with missing parents) or updates a node's properties; or sets one property (`path:key`).
/// `If-Match` (or `version` in the body) guards against overwriting someone else's change.
#[utoipa::path(put, path = "/api/v1/resources/{path}", tag = "inventory", security(("bearer" = [])),
    params(("path" = String, Path)), request_body = PutNode,
    responses((status = 200, body = NodeView), (status = 201, body = NodeView), (status = 409, body = super::error::ErrorBody),
        (status = 412, body = super::error::ErrorBody)))]
pub async fn put_resource(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let addr = parse_address(&raw)?;
    let path = node_path(&addr)?;
    let expected = if_match(&headers)?;
    let (view, created) = match &addr.property {
        Some(key) => {
            let Json(req): Json<PutProperty> = parse_json(&headers, &body)?;
            state
                .inventory
                .set_property(&caller, &path, key, req.value, req.secret, expected)
                .await?
        }
        None => {
            let req: PutNode = if body.is_empty() {
                PutNode::default()
            } else {
                parse_json(&headers, &body)?.0
            };
            state.inventory.put(&caller, &path, req, expected).await?
        }
    };
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(with_etag(status, view.version, view))
}

fn parse_json<T: serde::de::DeserializeOwned>(headers: &HeaderMap, body: &[u8]) -> ApiResult<Json<T>> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct.starts_with("application/json") {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "expected a JSON body with Content-Type: application/json",
        ));
    }
    serde_json::from_slice(body)
        .map(Json)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))
}

/// Deletes a node with its whole subtree, or one property (`path:key`).
#[utoipa::path(delete, path = "/api/v1/resources/{path}", tag = "inventory", security(("bearer" = [])),
    params(("path" = String, Path)), responses((status = 200, body = Deleted), (status = 409, body = super::error::ErrorBody)))]
pub async fn delete_resource(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let addr = parse_address(&raw)?;
    let expected = if_match(&headers)?;
    match &addr.property {
        Some(key) => {
            let path = path_of(&state, &addr.node).await?;
            let view = state
                .inventory
                .delete_property(&caller, &path, key, expected)
                .await?;
            Ok(with_etag(StatusCode::OK, view.version, view))
        }
        None => {
            if matches!(&addr.node, NodeRef::Path(p) if p.is_root()) {
                return Err(ApiError::bad_request(
                    "refusing to delete '/': delete top-level nodes one by one",
                ));
            }
            let path = path_of(&state, &addr.node).await?;
            let n = state.inventory.delete(&caller, &addr.node, expected).await?;
            Ok(axum::Json(Deleted {
                path: path.to_string(),
                nodes: n,
            })
            .into_response())
        }
    }
}

/// Actions on a node or property: `…/rename` with `{"name": "new"}` or `{"to": "/new/path"}`.
#[utoipa::path(post, path = "/api/v1/resources/{path}/rename", tag = "inventory", security(("bearer" = [])),
    params(("path" = String, Path)), request_body = RenameRequest, responses((status = 200, body = NodeView)))]
pub async fn post_resource(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    headers: HeaderMap,
    Json(req): Json<RenameRequest>,
) -> ApiResult<Response> {
    let Some(target) = raw.strip_suffix("/rename") else {
        return Err(ApiError::not_found("unknown action: POST supports …/rename"));
    };
    let addr = parse_address(target)?;
    let expected = if_match(&headers)?;
    if let Some(key) = &addr.property {
        let new_key = req
            .name
            .ok_or_else(|| ApiError::bad_request("renaming a property needs \"name\""))?;
        let path = path_of(&state, &addr.node).await?;
        let view = state
            .inventory
            .rename_property(&caller, &path, key, &new_key, expected)
            .await?;
        return Ok(with_etag(StatusCode::OK, view.version, view));
    }
    let from = path_of(&state, &addr.node).await?;
    let to = match (req.name, req.to) {
        (Some(_), Some(_)) => return Err(ApiError::bad_request("give either \"name\" or \"to\", not both")),
        (Some(name), None) => from
            .parent()
            .ok_or_else(|| ApiError::bad_request("cannot rename '/'"))?
            .child(&name)
            .map_err(|e| ApiError::bad_request(e.to_string()))?,
        (None, Some(to)) => NodePath::parse(&to).map_err(|e| ApiError::bad_request(e.to_string()))?,
        (None, None) => return Err(ApiError::bad_request("rename needs \"name\" or \"to\"")),
    };
    let view = state.inventory.rename(&caller, &addr.node, &to, expected).await?;
    Ok(with_etag(StatusCode::OK, view.version, view))
}

/// Every node of a subtree with its status, in path order (for tree views).
#[utoipa::path(get, path = "/api/v1/inventory/tree", tag = "inventory", security(("bearer" = [])),
    params(("root" = Option<String>, Query)), responses((status = 200, body = [NodeView])))]
pub async fn tree(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<TreeParams>,
) -> ApiResult<axum::Json<Vec<NodeView>>> {
    caller.require(Permission::ViewInventory)?;
    let root = NodePath::parse(p.root.as_deref().unwrap_or("/"))
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    Ok(axum::Json(state.inventory.list_subtree(&caller, &root).await?))
}

/// Exports the inventory (`native` round-trips exactly; `twister-v3` and `twister-v2` are the original shapes).
#[utoipa::path(get, path = "/api/v1/inventory/export", tag = "inventory", security(("bearer" = [])),
    params(("format" = Option<String>, Query), ("reveal" = Option<bool>, Query)), responses((status = 200)))]
pub async fn export(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<ExportParams>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    Ok(axum::Json(
        state
            .inventory
            .export(&caller, p.format.unwrap_or(Format::Native), p.reveal)
            .await?,
    ))
}

/// Imports a document (all or nothing).
#[utoipa::path(post, path = "/api/v1/inventory/import", tag = "inventory", security(("bearer" = [])),
    params(("format" = Option<String>, Query), ("mode" = Option<String>, Query)),
    responses((status = 200, body = ImportReport)))]
pub async fn import(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<ImportParams>,
    Json(doc): Json<serde_json::Value>,
) -> ApiResult<axum::Json<ImportReport>> {
    caller.require(Permission::ChangeTestbed)?;
    let replace = match p.mode.as_deref() {
        None | Some("merge") => false,
        Some("replace") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "mode {other:?}: use merge or replace"
            )))
        }
    };
    let items = exchange::parse(p.format.unwrap_or(Format::Native), &doc)?;
    Ok(axum::Json(state.inventory.import(&caller, items, replace).await?))
}
