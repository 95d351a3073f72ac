//! Import and export of the inventory: the native format (exact round trip, ids and secrecy kept), and the
//! original Twister `resources.json` shapes (the v3 tree with `meta`/`children`/`id`, and the older flat v2).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use utoipa::ToSchema;

use super::path::NodePath;
use super::tree::{Inventory, LiveHolds};
use crate::api::error::ApiError;
use crate::auth::{Caller, Permission};
use crate::events::Event;
use crate::secrets::is_secret_name;
use crate::store::nodes::{self, NodeRow};
use crate::store::{audit, new_id, now_ms};

/// Exchange formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// Twister's own format: exact round trip.
    Native,
    /// Original Twister tree (`meta`/`children`/`id`/`path`).
    TwisterV3,
    /// Original Twister flat map of ids with numeric status.
    TwisterV2,
}

/// One node of the native format.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NativeNode {
    /// Node id.
    pub id: String,
    /// Full path.
    pub path: String,
    /// Plain properties.
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
    /// Secret properties: value when revealed, `null` otherwise (import keeps the stored value).
    #[serde(default)]
    pub secrets: BTreeMap<String, Option<String>>,
}

/// The native document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NativeDoc {
    /// Always `twister-inventory`.
    pub format: String,
    /// Format version, 1.
    pub version: u32,
    /// Nodes in path order.
    pub nodes: Vec<NativeNode>,
}

/// A node to import, whatever the source format.
#[derive(Debug, Clone)]
pub struct ImportNode {
    /// Path.
    pub path: NodePath,
    /// Id to keep when free.
    pub id: Option<String>,
    /// Properties; `None` values are secrets whose value is unknown (keep the stored one).
    pub properties: BTreeMap<String, Option<String>>,
    /// Names to store as secret.
    pub secret_keys: BTreeSet<String>,
}

/// Import result.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportReport {
    /// Nodes created.
    pub created: usize,
    /// Nodes updated.
    pub updated: usize,
    /// Nodes deleted (replace mode).
    pub deleted: usize,
    /// Ids that were taken and replaced by new ones.
    pub reassigned_ids: usize,
}

fn value_to_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Parses a document in `format` into import nodes.
pub fn parse(format: Format, doc: &Value) -> Result<Vec<ImportNode>, ApiError> {
    match format {
        Format::Native => {
            let d: NativeDoc = serde_json::from_value(doc.clone())
                .map_err(|e| ApiError::bad_request(format!("not a native inventory document: {e}")))?;
            if d.format != "twister-inventory" || d.version != 1 {
                return Err(ApiError::bad_request(
                    "expected format \"twister-inventory\" version 1",
                ));
            }
            d.nodes
                .into_iter()
                .map(|n| {
                    let path = NodePath::parse(&n.path).map_err(|e| ApiError::bad_request(e.to_string()))?;
                    let mut properties: BTreeMap<String, Option<String>> =
                        n.properties.into_iter().map(|(k, v)| (k, Some(v))).collect();
                    let secret_keys: BTreeSet<String> = n.secrets.keys().cloned().collect();
                    properties.extend(n.secrets);
                    Ok(ImportNode {
                        path,
                        id: Some(n.id),
                        properties,
                        secret_keys,
                    })
                })
                .collect()
        }
        Format::TwisterV3 => {
            let mut out = Vec::new();
            let children = doc.get("children").and_then(Value::as_object).ok_or_else(|| {
                ApiError::bad_request("not a Twister v3 resources document: no \"children\" object")
            })?;
            walk_v3(&NodePath::root(), children, &mut out, 0)?;
            Ok(out)
        }
        Format::TwisterV2 => parse_v2(doc),
    }
}

/// Our extension to the original shapes: `"secret_keys": [...]` names properties stored as secret (the original
/// loader ignores unknown keys).
fn secret_keys_of(obj: &Map<String, Value>) -> BTreeSet<String> {
    obj.get("secret_keys")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default()
}

fn walk_v3(
    parent: &NodePath,
    children: &Map<String, Value>,
    out: &mut Vec<ImportNode>,
    depth: usize,
) -> Result<(), ApiError> {
    if depth > super::path::MAX_DEPTH {
        return Err(ApiError::bad_request("resources document nests too deep"));
    }
    for (name, node) in children {
        let path = parent
            .child(name)
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
        let obj = node
            .as_object()
            .ok_or_else(|| ApiError::bad_request(format!("{path}: node is not an object")))?;
        let properties = obj
            .get("meta")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), Some(value_to_string(v))))
                    .collect()
            })
            .unwrap_or_default();
        let id = obj.get("id").map(value_to_string).filter(|s| !s.is_empty());
        out.push(ImportNode {
            path: path.clone(),
            id,
            properties,
            secret_keys: secret_keys_of(obj),
        });
        if let Some(kids) = obj.get("children").and_then(Value::as_object) {
            walk_v3(&path, kids, out, depth + 1)?;
        }
    }
    Ok(())
}

/// The v2 shapes: the 2013 Resource Allocator's tree (`{"name":"/","meta","children":{name:{"id","meta",
/// "children","status"}}}`, status 1 free / 2 busy / 3 reserved), or a flat map from id to
/// `{"name", "parent" (id, or "1"/"" for the root), "meta", "status"}` (a `"resources"` wrapper and
/// `"properties"` instead of `"meta"` are accepted too). Statuses are not imported: reservations are live state.
fn parse_v2(doc: &Value) -> Result<Vec<ImportNode>, ApiError> {
    // The file the 2013 Resource Allocator wrote: the same nesting as v3 without path arrays.
    if let Some(children) = doc.get("children").and_then(Value::as_object) {
        let mut out = Vec::new();
        walk_v3(&NodePath::root(), children, &mut out, 0)?;
        return Ok(out);
    }
    let map = doc
        .get("resources")
        .and_then(Value::as_object)
        .or_else(|| doc.as_object())
        .ok_or_else(|| {
            ApiError::bad_request("not a Twister v2 resources document: expected an object of ids")
        })?;
    struct Flat {
        name: String,
        parent: Option<String>,
        props: BTreeMap<String, Option<String>>,
        secret_keys: BTreeSet<String>,
    }
    let mut flat: BTreeMap<String, Flat> = BTreeMap::new();
    for (id, v) in map {
        let Some(obj) = v.as_object() else { continue };
        let Some(name) = obj.get("name").map(value_to_string) else {
            continue;
        };
        if name.is_empty() || name == "/" {
            continue;
        }
        let parent = obj
            .get("parent")
            .map(value_to_string)
            .filter(|p| !p.is_empty() && p != "1" && p != "/");
        let props = obj
            .get("meta")
            .or_else(|| obj.get("properties"))
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), Some(value_to_string(v))))
                    .collect()
            })
            .unwrap_or_default();
        flat.insert(
            id.clone(),
            Flat {
                name,
                parent,
                props,
                secret_keys: secret_keys_of(obj),
            },
        );
    }
    let mut out = Vec::new();
    for (id, f) in &flat {
        let mut segs = vec![f.name.clone()];
        let mut cur = f.parent.clone();
        let mut guard = 0;
        while let Some(pid) = cur {
            guard += 1;
            if guard > super::path::MAX_DEPTH {
                return Err(ApiError::bad_request(format!(
                    "resource {id}: parent chain loops or is too deep"
                )));
            }
            let p = flat
                .get(&pid)
                .ok_or_else(|| ApiError::bad_request(format!("resource {id}: unknown parent {pid}")))?;
            segs.push(p.name.clone());
            cur = p.parent.clone();
        }
        segs.reverse();
        let path = NodePath::parse(&format!("/{}", segs.join("/")))
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
        out.push(ImportNode {
            path,
            id: Some(id.clone()),
            properties: f.props.clone(),
            secret_keys: f.secret_keys.clone(),
        });
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

impl Inventory {
    /// Exports the whole inventory in `format`; secret values only with `reveal` (and the right).
    pub async fn export(&self, caller: &Caller, format: Format, reveal: bool) -> Result<Value, ApiError> {
        caller.require(Permission::ViewInventory)?;
        if reveal {
            caller.require(Permission::RevealSecrets)?;
        }
        if caller.paths.is_some() {
            return Err(ApiError::forbidden(
                "tokens limited to some paths cannot export the whole inventory",
            ));
        }
        let mut conn = self
            .store()
            .pool()
            .acquire()
            .await
            .map_err(crate::store::StoreError::from)?;
        let rows = nodes::subtree(&mut conn, "/").await?;
        let mut props = nodes::all_properties(&mut conn).await?;
        let holds = LiveHolds::load(&mut conn).await?;
        drop(conn);
        let mut natives = Vec::with_capacity(rows.len());
        for r in &rows {
            let mut n = NativeNode {
                id: r.id.clone(),
                path: r.path.clone(),
                properties: BTreeMap::new(),
                secrets: BTreeMap::new(),
            };
            for (k, p) in props.remove(&r.id).unwrap_or_default() {
                if p.secret {
                    let v = if reveal {
                        Some(self.secrets().open(&p.value).map_err(ApiError::internal)?)
                    } else {
                        None
                    };
                    n.secrets.insert(k, v);
                } else {
                    n.properties.insert(k, p.value);
                }
            }
            natives.push(n);
        }
        if reveal {
            let mut tx = self.store().begin_write().await?;
            audit::record(
                tx.conn(),
                &caller.username,
                "secret.reveal",
                "/",
                None,
                Some(&json!("export")),
            )
            .await?;
            tx.commit().await?;
        }
        Ok(match format {
            Format::Native => serde_json::to_value(NativeDoc {
                format: "twister-inventory".into(),
                version: 1,
                nodes: natives,
            })
            .map_err(ApiError::internal)?,
            Format::TwisterV3 => export_v3(&natives),
            Format::TwisterV2 => export_v2(&natives, &holds),
        })
    }

    /// Imports nodes; `replace` deletes every node the document does not name. All or nothing.
    pub async fn import(
        &self,
        caller: &Caller,
        items: Vec<ImportNode>,
        replace: bool,
    ) -> Result<ImportReport, ApiError> {
        caller.require(Permission::ChangeTestbed)?;
        if caller.paths.is_some() {
            return Err(ApiError::forbidden("tokens limited to some paths cannot import"));
        }
        if items.len() > 100_000 {
            return Err(ApiError::invalid("at most 100,000 nodes per import"));
        }
        let mut seen = BTreeSet::new();
        for it in &items {
            if !seen.insert(it.path.clone()) {
                return Err(ApiError::bad_request(format!(
                    "{} appears twice in the document",
                    it.path
                )));
            }
            for (k, v) in &it.properties {
                super::path::validate_property(k)
                    .map_err(|e| ApiError::bad_request(format!("{}: {e}", it.path)))?;
                if v.as_ref().is_some_and(|v| v.len() > super::tree::MAX_VALUE_LEN) {
                    return Err(ApiError::invalid(format!(
                        "{}: value of {k:?} is too long",
                        it.path
                    )));
                }
            }
        }
        let now = now_ms();
        let mut report = ImportReport {
            created: 0,
            updated: 0,
            deleted: 0,
            reassigned_ids: 0,
        };
        let mut tx = self.store().begin_write().await?;
        let holds = LiveHolds::load(tx.conn()).await?;
        if replace {
            let existing = nodes::subtree(tx.conn(), "/").await?;
            let mut doomed: Vec<NodeRow> = existing
                .into_iter()
                .filter(|n| NodePath::parse(&n.path).is_ok_and(|p| !seen.contains(&p)))
                .collect();
            for n in &doomed {
                let p = NodePath::parse(&n.path).map_err(ApiError::internal)?;
                let holder = holds.within(&p).next().map(|(r, _)| r.username.clone());
                if let Some(holder) = holder {
                    return Err(ApiError::conflict(format!(
                        "{p} would be deleted but {holder} holds a reservation on it"
                    )));
                }
            }
            doomed.sort_by_key(|n| std::cmp::Reverse(n.path.matches('/').count()));
            let ids: Vec<String> = doomed.iter().map(|n| n.id.clone()).collect();
            nodes::delete_nodes(tx.conn(), &ids).await?;
            report.deleted = ids.len();
        }
        let mut sorted = items;
        sorted.sort_by(|a, b| a.path.cmp(&b.path));
        for it in sorted {
            let parent_id = match it.path.parent() {
                Some(pp) if !pp.is_root() => Some(
                    nodes::by_path(tx.conn(), pp.as_str())
                        .await?
                        .ok_or_else(|| {
                            ApiError::bad_request(format!(
                                "{}: parent {pp} is missing from the document",
                                it.path
                            ))
                        })?
                        .id,
                ),
                _ => None,
            };
            let node = match nodes::by_path(tx.conn(), it.path.as_str()).await? {
                Some(n) => {
                    nodes::bump_version(tx.conn(), &n.id, n.version, now).await?;
                    report.updated += 1;
                    n
                }
                None => {
                    let wanted = it.id.clone().filter(|i| {
                        !i.is_empty()
                            && i.len() <= 64
                            && i.chars()
                                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                    });
                    let id = match wanted {
                        Some(i) if !nodes::id_exists(tx.conn(), &i).await? => i,
                        Some(_) => {
                            report.reassigned_ids += 1;
                            new_id()
                        }
                        None => new_id(),
                    };
                    let row = NodeRow {
                        id,
                        parent_id,
                        name: it.path.name().to_string(),
                        path: it.path.to_string(),
                        version: 1,
                        created_at: now,
                        updated_at: now,
                    };
                    nodes::insert(tx.conn(), &row).await?;
                    report.created += 1;
                    row
                }
            };
            let before = nodes::properties(tx.conn(), &node.id).await?;
            for (k, v) in &it.properties {
                let secret = it.secret_keys.contains(k)
                    || is_secret_name(k)
                    || before.get(k).is_some_and(|p| p.secret);
                match v {
                    Some(v) => {
                        let stored = if secret { self.secrets().seal(v) } else { v.clone() };
                        nodes::set_property(tx.conn(), &node.id, k, &stored, secret).await?;
                    }
                    None => {
                        if !before.contains_key(k) {
                            // A secret without a value and nothing stored: keep the name with an empty value.
                            nodes::set_property(tx.conn(), &node.id, k, &self.secrets().seal(""), true)
                                .await?;
                        }
                    }
                }
            }
            if replace {
                for k in before.keys().filter(|k| !it.properties.contains_key(*k)) {
                    nodes::delete_property(tx.conn(), &node.id, k).await?;
                }
            }
        }
        audit::record(
            tx.conn(),
            &caller.username,
            "inventory.import",
            "/",
            None,
            Some(&serde_json::to_value(&report).map_err(ApiError::internal)?),
        )
        .await?;
        tx.commit().await?;
        self.events_bus().publish(
            Event::new("inventory", "inventory.imported")
                .path("/")
                .user(&caller.username),
        );
        Ok(report)
    }
}

fn export_v3(natives: &[NativeNode]) -> Value {
    fn insert(tree: &mut Map<String, Value>, segs: &[&str], node: &NativeNode) {
        let Some((first, rest)) = segs.split_first() else {
            return;
        };
        let entry = tree
            .entry(first.to_string())
            .or_insert_with(|| json!({"children": {}}));
        let Some(obj) = entry.as_object_mut() else { return };
        if rest.is_empty() {
            let mut meta: Map<String, Value> = node
                .properties
                .iter()
                .map(|(k, v)| (k.clone(), json!(v)))
                .collect();
            for (k, v) in &node.secrets {
                if let Some(v) = v {
                    meta.insert(k.clone(), json!(v));
                }
            }
            let path: Vec<Value> = node
                .path
                .trim_start_matches('/')
                .split('/')
                .map(|s| json!(s))
                .collect();
            if !node.secrets.is_empty() {
                obj.insert(
                    "secret_keys".into(),
                    json!(node.secrets.keys().collect::<Vec<_>>()),
                );
            }
            obj.insert("meta".into(), Value::Object(meta));
            obj.insert("id".into(), json!(node.id));
            obj.insert("path".into(), Value::Array(path));
        } else if let Some(kids) = obj.get_mut("children").and_then(Value::as_object_mut) {
            insert(kids, rest, node);
        }
    }
    let mut children = Map::new();
    for n in natives {
        let segs: Vec<&str> = n.path.trim_start_matches('/').split('/').collect();
        insert(&mut children, &segs, n);
    }
    json!({"name": "/", "path": [], "meta": {}, "id": "1", "version": 3, "children": children})
}

fn export_v2(natives: &[NativeNode], holds: &LiveHolds) -> Value {
    // The 2013 Resource Allocator's file: a tree keyed by name, each node `{"id","meta","children","status"}`
    // with the original status codes 1 free, 2 busy (locked by a run), 3 reserved.
    fn insert(tree: &mut Map<String, Value>, segs: &[&str], entry: Value) {
        let Some((first, rest)) = segs.split_first() else {
            return;
        };
        let slot = tree
            .entry(first.to_string())
            .or_insert_with(|| json!({"children": {}}));
        if rest.is_empty() {
            let kids = slot.get("children").cloned().unwrap_or_else(|| json!({}));
            *slot = entry;
            slot["children"] = kids;
            return;
        }
        if let Some(kids) = slot.get_mut("children").and_then(Value::as_object_mut) {
            insert(kids, rest, entry);
        }
    }
    let mut children = Map::new();
    for n in natives {
        let path = NodePath::parse(&n.path).unwrap_or_else(|_| NodePath::root());
        let status = match holds.holder(&path) {
            Some((r, _)) if r.locked_by.is_some() => 2,
            Some(_) => 3,
            None => 1,
        };
        let mut meta: Map<String, Value> = n.properties.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
        for (k, v) in &n.secrets {
            if let Some(v) = v {
                meta.insert(k.clone(), json!(v));
            }
        }
        let mut entry = json!({"id": n.id, "meta": meta, "status": status, "children": {}});
        if !n.secrets.is_empty() {
            entry["secret_keys"] = json!(n.secrets.keys().collect::<Vec<_>>());
        }
        let segs: Vec<&str> = n.path.trim_start_matches('/').split('/').collect();
        insert(&mut children, &segs, entry);
    }
    json!({"name": "/", "meta": {}, "children": children})
}
