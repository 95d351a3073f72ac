//! Tree operations: read, create/update with properties, rename/move, delete, single properties.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::AnyConnection;
use utoipa::ToSchema;

use super::path::{validate_property, NodePath, NodeRef};
use crate::api::error::ApiError;
use crate::auth::{Caller, Permission};
use crate::events::{Event, EventBus};
use crate::secrets::{is_secret_name, SecretBox};
use crate::store::nodes::{self, NodeRow, PropertyRow};
use crate::store::reservations::{self as res_store, ReservationRow};
use crate::store::{audit, ms_to_rfc3339, new_id, now_ms, Store};

/// Largest accepted property value, in bytes.
pub const MAX_VALUE_LEN: usize = 64 * 1024;
/// Most properties on one node.
pub const MAX_PROPERTIES: usize = 1000;

/// Whether a node is free, held, or in use by a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NodeStatus {
    /// Nobody holds it or an ancestor.
    Free,
    /// Held by a reservation on it or an ancestor.
    Reserved,
    /// Held and in use by a running test run.
    Locked,
}

/// A node as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NodeView {
    /// Short stable id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Full path.
    pub path: String,
    /// Properties; secret ones only when revealed.
    pub properties: BTreeMap<String, String>,
    /// Names of secret properties.
    pub secrets: Vec<String>,
    /// Child names.
    pub children: Vec<String>,
    /// Free, reserved or locked.
    pub status: NodeStatus,
    /// Holder when reserved or locked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reserved_by: Option<String>,
    /// Id of the holding reservation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reservation_id: Option<String>,
    /// Path of the reserved node (this node or an ancestor).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reserved_at: Option<String>,
    /// End of the holding lease.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reserved_until: Option<String>,
    /// Whether something below this node is reserved.
    pub descendants_reserved: bool,
    /// Requests waiting in the queue for this node or an overlapping one.
    pub waiting: usize,
    /// Version for If-Match.
    pub version: i64,
    /// Creation time.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
}

/// Body of `PUT /resources/{path}`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutNode {
    /// Properties to set; `null` deletes one.
    #[serde(default)]
    pub properties: BTreeMap<String, Option<String>>,
    /// Extra property names to store as secret (names like `password` are secret anyway).
    #[serde(default)]
    pub secret_keys: Vec<String>,
    /// Replace the whole property set instead of merging (secret properties not named are kept).
    #[serde(default)]
    pub replace: bool,
    /// Expected version (alternative to If-Match).
    #[serde(default)]
    pub version: Option<i64>,
}

/// Reservation facts for computing node statuses.
pub struct LiveHolds {
    live: Vec<(ReservationRow, NodePath)>,
}

impl LiveHolds {
    /// Loads live reservations.
    pub async fn load(conn: &mut AnyConnection) -> Result<Self, ApiError> {
        let live = res_store::live(conn)
            .await?
            .into_iter()
            .filter_map(|(r, p)| NodePath::parse(&p).ok().map(|p| (r, p)))
            .collect();
        Ok(LiveHolds { live })
    }

    /// The active reservation holding `path` (on it or an ancestor), if any.
    pub fn holder(&self, path: &NodePath) -> Option<&(ReservationRow, NodePath)> {
        self.live
            .iter()
            .find(|(r, p)| r.state == "active" && p.is_ancestor_or_self_of(path))
    }

    /// Live reservations of users other than `username` that overlap `path`.
    pub fn others_overlapping<'a>(
        &'a self,
        path: &'a NodePath,
        username: &'a str,
    ) -> impl Iterator<Item = &'a (ReservationRow, NodePath)> + 'a {
        self.live
            .iter()
            .filter(move |(r, p)| r.username != username && p.overlaps(path))
    }

    /// Live reservations of anyone within the subtree at `path`.
    pub fn within<'a>(
        &'a self,
        path: &'a NodePath,
    ) -> impl Iterator<Item = &'a (ReservationRow, NodePath)> + 'a {
        self.live
            .iter()
            .filter(move |(_, p)| path.is_ancestor_or_self_of(p))
    }

    fn status(&self, path: &NodePath) -> (NodeStatus, Option<&(ReservationRow, NodePath)>, bool, usize) {
        let holder = self.holder(path);
        let status = match holder {
            Some((r, _)) if r.locked_by.is_some() => NodeStatus::Locked,
            Some(_) => NodeStatus::Reserved,
            None => NodeStatus::Free,
        };
        let below = self
            .live
            .iter()
            .any(|(r, p)| r.state == "active" && p != path && path.is_ancestor_or_self_of(p));
        let waiting = self
            .live
            .iter()
            .filter(|(r, p)| r.state == "waiting" && p.overlaps(path))
            .count();
        (status, holder, below, waiting)
    }
}

/// The inventory service.
#[derive(Clone)]
pub struct Inventory {
    store: Store,
    secrets: SecretBox,
    events: EventBus,
}

/// Masks secret values for audit records and unrevealed output.
fn masked(props: &BTreeMap<String, PropertyRow>) -> serde_json::Value {
    let map: serde_json::Map<String, serde_json::Value> = props
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                if v.secret {
                    json!("(secret)")
                } else {
                    json!(v.value)
                },
            )
        })
        .collect();
    serde_json::Value::Object(map)
}

impl Inventory {
    /// A service over the store.
    pub fn new(store: Store, secrets: SecretBox, events: EventBus) -> Self {
        Inventory {
            store,
            secrets,
            events,
        }
    }

    /// The secret box (for exports and imports).
    pub fn secrets(&self) -> &SecretBox {
        &self.secrets
    }

    /// The event bus.
    pub fn events_bus(&self) -> &EventBus {
        &self.events
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Resolves a reference to a node row.
    pub async fn resolve(&self, conn: &mut AnyConnection, r: &NodeRef) -> Result<Option<NodeRow>, ApiError> {
        Ok(match r {
            NodeRef::Path(p) => nodes::by_path(conn, p.as_str()).await?,
            NodeRef::Id(id) => nodes::by_id(conn, id).await?,
        })
    }

    /// Builds the API view of a node.
    pub async fn view(
        &self,
        conn: &mut AnyConnection,
        node: &NodeRow,
        reveal: bool,
        holds: &LiveHolds,
    ) -> Result<NodeView, ApiError> {
        let props = nodes::properties(conn, &node.id).await?;
        let children = nodes::child_names(conn, Some(&node.id)).await?;
        let path = NodePath::parse(&node.path).map_err(ApiError::internal)?;
        self.assemble(node, &props, children, reveal, holds, &path)
    }

    fn assemble(
        &self,
        node: &NodeRow,
        props: &BTreeMap<String, PropertyRow>,
        children: Vec<String>,
        reveal: bool,
        holds: &LiveHolds,
        path: &NodePath,
    ) -> Result<NodeView, ApiError> {
        let mut properties = BTreeMap::new();
        let mut secrets = Vec::new();
        for (k, v) in props {
            if v.secret {
                secrets.push(k.clone());
                if reveal {
                    properties.insert(
                        k.clone(),
                        self.secrets.open(&v.value).map_err(ApiError::internal)?,
                    );
                }
            } else {
                properties.insert(k.clone(), v.value.clone());
            }
        }
        let (status, holder, below, waiting) = holds.status(path);
        Ok(NodeView {
            id: node.id.clone(),
            name: node.name.clone(),
            path: node.path.clone(),
            properties,
            secrets,
            children,
            status,
            reserved_by: holder.map(|(r, _)| r.username.clone()),
            reservation_id: holder.map(|(r, _)| r.id.clone()),
            reserved_at: holder.map(|(_, p)| p.to_string()),
            reserved_until: holder.and_then(|(r, _)| r.expires_at).map(ms_to_rfc3339),
            descendants_reserved: below,
            waiting,
            version: node.version,
            created_at: ms_to_rfc3339(node.created_at),
            updated_at: ms_to_rfc3339(node.updated_at),
        })
    }

    /// Every node below `root` (inclusive), as views, ordered by path; nodes the caller may not see are left out.
    pub async fn list_subtree(&self, caller: &Caller, root: &NodePath) -> Result<Vec<NodeView>, ApiError> {
        let mut conn = self
            .store
            .pool()
            .acquire()
            .await
            .map_err(crate::store::StoreError::from)?;
        let rows = nodes::subtree(&mut conn, root.as_str()).await?;
        let mut props = nodes::all_properties(&mut conn).await?;
        let holds = LiveHolds::load(&mut conn).await?;
        let mut children: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for r in &rows {
            if let Some(p) = &r.parent_id {
                children.entry(p.clone()).or_default().push(r.name.clone());
            }
        }
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let path = NodePath::parse(&r.path).map_err(ApiError::internal)?;
            if !caller.may_traverse(&path) {
                continue;
            }
            let mut kids = children.remove(&r.id).unwrap_or_default();
            kids.sort();
            let p = props.remove(&r.id).unwrap_or_default();
            out.push(self.assemble(r, &p, kids, false, &holds, &path)?);
        }
        Ok(out)
    }

    /// Names of top-level nodes.
    pub async fn top_level(&self) -> Result<Vec<String>, ApiError> {
        let mut conn = self
            .store
            .pool()
            .acquire()
            .await
            .map_err(crate::store::StoreError::from)?;
        Ok(nodes::child_names(&mut conn, None).await?)
    }

    /// Reads one node.
    pub async fn get(&self, caller: &Caller, r: &NodeRef, reveal: bool) -> Result<NodeView, ApiError> {
        caller.require(Permission::ViewInventory)?;
        if reveal {
            caller.require(Permission::RevealSecrets)?;
        }
        let mut conn = self
            .store
            .pool()
            .acquire()
            .await
            .map_err(crate::store::StoreError::from)?;
        let node = self.resolve(&mut conn, r).await?.ok_or_else(|| not_found(r))?;
        let path = NodePath::parse(&node.path).map_err(ApiError::internal)?;
        caller.require_path(&path)?;
        let holds = LiveHolds::load(&mut conn).await?;
        let view = self.view(&mut conn, &node, reveal, &holds).await?;
        drop(conn);
        if reveal && !view.secrets.is_empty() {
            let mut tx = self.store.begin_write().await?;
            audit::record(
                tx.conn(),
                &caller.username,
                "secret.reveal",
                &node.path,
                None,
                Some(&json!(view.secrets)),
            )
            .await?;
            tx.commit().await?;
        }
        Ok(view)
    }

    /// Refuses when someone else holds the node or an ancestor (or, with `subtree`, anything below), unless
    /// the caller may force-release.
    fn check_not_held(
        caller: &Caller,
        holds: &LiveHolds,
        path: &NodePath,
        subtree: bool,
    ) -> Result<Vec<ReservationRow>, ApiError> {
        let mut own = Vec::new();
        for (r, p) in holds.live.iter() {
            let touches = p.is_ancestor_or_self_of(path) || (subtree && path.is_ancestor_or_self_of(p));
            if !touches {
                continue;
            }
            if r.username == caller.username {
                if path.is_ancestor_or_self_of(p) {
                    own.push(r.clone());
                }
                continue;
            }
            if r.state == "active" && !caller.has(Permission::ForceRelease) {
                return Err(ApiError::conflict(format!(
                    "{p} is reserved by {} until {}",
                    r.username,
                    r.expires_at.map(ms_to_rfc3339).unwrap_or_default()
                ))
                .with_details(json!({"holder": r.username, "reservation": r.id, "path": p.to_string()})));
            }
            if subtree && path.is_ancestor_or_self_of(p) {
                own.push(r.clone());
            }
        }
        Ok(own)
    }

    /// Creates missing ancestors of `path` and returns the parent's id.
    async fn ensure_parents(
        conn: &mut AnyConnection,
        actor: &str,
        path: &NodePath,
        now: i64,
        created: &mut Vec<String>,
    ) -> Result<Option<String>, ApiError> {
        let mut parent_id: Option<String> = None;
        for anc in path.ancestors().into_iter().filter(|a| !a.is_root()) {
            match nodes::by_path(conn, anc.as_str()).await? {
                Some(n) => parent_id = Some(n.id),
                None => {
                    let id = unique_id(conn).await?;
                    let row = NodeRow {
                        id: id.clone(),
                        parent_id: parent_id.clone(),
                        name: anc.name().to_string(),
                        path: anc.to_string(),
                        version: 1,
                        created_at: now,
                        updated_at: now,
                    };
                    nodes::insert(conn, &row).await?;
                    audit::record(
                        conn,
                        actor,
                        "resource.create",
                        anc.as_str(),
                        None,
                        Some(&json!({})),
                    )
                    .await?;
                    created.push(anc.to_string());
                    parent_id = Some(id);
                }
            }
        }
        Ok(parent_id)
    }

    /// Creates (with missing parents) or updates a node. Returns the view and whether it was created.
    pub async fn put(
        &self,
        caller: &Caller,
        path: &NodePath,
        req: PutNode,
        if_match: Option<i64>,
    ) -> Result<(NodeView, bool), ApiError> {
        caller.require(Permission::ChangeTestbed)?;
        caller.require_path(path)?;
        if path.is_root() {
            return Err(ApiError::bad_request(
                "the root '/' has no properties; create nodes below it",
            ));
        }
        validate_props(&req)?;
        let expected = match (if_match, req.version) {
            (Some(a), Some(b)) if a != b => {
                return Err(ApiError::bad_request("If-Match and body version disagree"));
            }
            (a, b) => a.or(b),
        };
        let now = now_ms();
        let mut tx = self.store.begin_write().await?;
        let holds = LiveHolds::load(tx.conn()).await?;
        Self::check_not_held(caller, &holds, path, false)?;
        let existing = nodes::by_path(tx.conn(), path.as_str()).await?;
        let mut created_paths = Vec::new();
        let (node, created) = match existing {
            Some(n) => {
                if let Some(v) = expected {
                    if v != n.version {
                        return Err(version_mismatch(path, v, n.version));
                    }
                }
                if !nodes::bump_version(tx.conn(), &n.id, n.version, now).await? {
                    return Err(version_mismatch(path, n.version, n.version + 1));
                }
                (n, false)
            }
            None => {
                if let Some(v) = expected {
                    return Err(ApiError::precondition_failed(format!(
                        "{path} does not exist, but version {v} was expected"
                    )));
                }
                let parent_id =
                    Self::ensure_parents(tx.conn(), &caller.username, path, now, &mut created_paths).await?;
                let row = NodeRow {
                    id: unique_id(tx.conn()).await?,
                    parent_id,
                    name: path.name().to_string(),
                    path: path.to_string(),
                    version: 1,
                    created_at: now,
                    updated_at: now,
                };
                nodes::insert(tx.conn(), &row).await?;
                (row, true)
            }
        };
        let before = nodes::properties(tx.conn(), &node.id).await?;
        let extra_secret: BTreeSet<&str> = req.secret_keys.iter().map(String::as_str).collect();
        if req.replace {
            for (k, v) in &before {
                if !req.properties.contains_key(k) && !v.secret {
                    nodes::delete_property(tx.conn(), &node.id, k).await?;
                }
            }
        }
        for (k, v) in &req.properties {
            match v {
                None => {
                    nodes::delete_property(tx.conn(), &node.id, k).await?;
                }
                Some(value) => {
                    let secret = is_secret_name(k)
                        || extra_secret.contains(k.as_str())
                        || before.get(k).is_some_and(|p| p.secret);
                    let stored = if secret {
                        self.secrets.seal(value)
                    } else {
                        value.clone()
                    };
                    nodes::set_property(tx.conn(), &node.id, k, &stored, secret).await?;
                }
            }
        }
        for k in &extra_secret {
            if !req.properties.contains_key(*k) {
                if let Some(p) = before.get(*k).filter(|p| !p.secret) {
                    nodes::set_property(tx.conn(), &node.id, k, &self.secrets.seal(&p.value), true).await?;
                }
            }
        }
        let after = nodes::properties(tx.conn(), &node.id).await?;
        let too_many = after.len() > MAX_PROPERTIES;
        if too_many {
            return Err(ApiError::invalid(format!(
                "a node holds at most {MAX_PROPERTIES} properties"
            )));
        }
        let action = if created {
            "resource.create"
        } else {
            "resource.update"
        };
        let before_json = if created { None } else { Some(masked(&before)) };
        audit::record(
            tx.conn(),
            &caller.username,
            action,
            path.as_str(),
            before_json.as_ref(),
            Some(&masked(&after)),
        )
        .await?;
        let fresh = nodes::by_id(tx.conn(), &node.id)
            .await?
            .ok_or_else(|| ApiError::internal("node vanished"))?;
        let view = self.view(tx.conn(), &fresh, false, &holds).await?;
        tx.commit().await?;
        for p in created_paths {
            self.events.publish(
                Event::new("inventory", "resource.created")
                    .path(p)
                    .user(&caller.username),
            );
        }
        let kind = if created {
            "resource.created"
        } else {
            "resource.updated"
        };
        self.events.publish(
            Event::new("inventory", kind)
                .path(path.as_str())
                .id(&view.id)
                .user(&caller.username),
        );
        Ok((view, created))
    }

    /// Renames or moves a node (with its subtree) to `to`.
    pub async fn rename(
        &self,
        caller: &Caller,
        r: &NodeRef,
        to: &NodePath,
        if_match: Option<i64>,
    ) -> Result<NodeView, ApiError> {
        caller.require(Permission::ChangeTestbed)?;
        caller.require_path(to)?;
        if to.is_root() {
            return Err(ApiError::bad_request("cannot rename to '/'"));
        }
        let now = now_ms();
        let mut tx = self.store.begin_write().await?;
        let node = self.resolve(tx.conn(), r).await?.ok_or_else(|| not_found(r))?;
        let from = NodePath::parse(&node.path).map_err(ApiError::internal)?;
        caller.require_path(&from)?;
        if let Some(v) = if_match {
            if v != node.version {
                return Err(version_mismatch(&from, v, node.version));
            }
        }
        if from == *to {
            return Err(ApiError::bad_request(format!("{from} already has that name")));
        }
        if from.is_ancestor_or_self_of(to) {
            return Err(ApiError::bad_request(format!(
                "cannot move {from} into its own subtree ({to})"
            )));
        }
        if nodes::by_path(tx.conn(), to.as_str()).await?.is_some() {
            return Err(ApiError::conflict(format!("{to} already exists")));
        }
        let holds = LiveHolds::load(tx.conn()).await?;
        Self::check_not_held(caller, &holds, &from, true)?;
        Self::check_not_held(caller, &holds, to, false)?;
        let mut created_paths = Vec::new();
        let parent_id =
            Self::ensure_parents(tx.conn(), &caller.username, to, now, &mut created_paths).await?;
        let subtree = nodes::subtree(tx.conn(), from.as_str()).await?;
        // Move the subtree out of the way first so that unique paths never collide mid-way.
        for n in subtree.iter().filter(|n| n.id != node.id) {
            nodes::rewrite_path(tx.conn(), &n.id, &format!("\u{1}{}", n.id)).await?;
        }
        nodes::relocate(tx.conn(), &node.id, parent_id.as_deref(), to.name(), to.as_str()).await?;
        for n in subtree.iter().filter(|n| n.id != node.id) {
            let old = NodePath::parse(&n.path).map_err(ApiError::internal)?;
            let new = from
                .rebase(&old, to)
                .ok_or_else(|| ApiError::internal("subtree path outside its root"))?;
            nodes::rewrite_path(tx.conn(), &n.id, new.as_str()).await?;
        }
        if !nodes::bump_version(tx.conn(), &node.id, node.version, now).await? {
            return Err(version_mismatch(&from, node.version, node.version + 1));
        }
        audit::record(
            tx.conn(),
            &caller.username,
            "resource.rename",
            to.as_str(),
            Some(&json!({"path": from.as_str()})),
            Some(&json!({"path": to.as_str()})),
        )
        .await?;
        let fresh = nodes::by_id(tx.conn(), &node.id)
            .await?
            .ok_or_else(|| ApiError::internal("node vanished"))?;
        let view = self.view(tx.conn(), &fresh, false, &holds).await?;
        tx.commit().await?;
        for p in created_paths {
            self.events.publish(
                Event::new("inventory", "resource.created")
                    .path(p)
                    .user(&caller.username),
            );
        }
        self.events.publish(
            Event::new("inventory", "resource.renamed")
                .path(to.as_str())
                .id(&view.id)
                .user(&caller.username),
        );
        Ok(view)
    }

    /// Deletes a node and its whole subtree; the caller's own reservations inside it end.
    pub async fn delete(
        &self,
        caller: &Caller,
        r: &NodeRef,
        if_match: Option<i64>,
    ) -> Result<usize, ApiError> {
        caller.require(Permission::ChangeTestbed)?;
        let now = now_ms();
        let mut tx = self.store.begin_write().await?;
        let node = self.resolve(tx.conn(), r).await?.ok_or_else(|| not_found(r))?;
        let path = NodePath::parse(&node.path).map_err(ApiError::internal)?;
        caller.require_path(&path)?;
        if let Some(v) = if_match {
            if v != node.version {
                return Err(version_mismatch(&path, v, node.version));
            }
        }
        let holds = LiveHolds::load(tx.conn()).await?;
        let ending = Self::check_not_held(caller, &holds, &path, true)?;
        for mut res in ending {
            res.state = if res.state == "waiting" {
                "cancelled".into()
            } else {
                "released".into()
            };
            res.ended_at = Some(now);
            res.end_reason = Some("node deleted".into());
            res.ended_by = Some(caller.username.clone());
            res_store::update(tx.conn(), &res).await?;
            audit::record(
                tx.conn(),
                &caller.username,
                "reservation.end",
                &res.id,
                None,
                Some(&json!({"reason": "node deleted"})),
            )
            .await?;
        }
        let mut subtree = nodes::subtree(tx.conn(), path.as_str()).await?;
        let mut summary = serde_json::Map::new();
        for n in &subtree {
            let props = nodes::properties(tx.conn(), &n.id).await?;
            summary.insert(n.path.clone(), masked(&props));
        }
        subtree.sort_by_key(|n| std::cmp::Reverse(n.path.matches('/').count()));
        let ids: Vec<String> = subtree.iter().map(|n| n.id.clone()).collect();
        nodes::delete_nodes(tx.conn(), &ids).await?;
        audit::record(
            tx.conn(),
            &caller.username,
            "resource.delete",
            path.as_str(),
            Some(&serde_json::Value::Object(summary)),
            None,
        )
        .await?;
        tx.commit().await?;
        self.events.publish(
            Event::new("inventory", "resource.deleted")
                .path(path.as_str())
                .user(&caller.username),
        );
        Ok(ids.len())
    }

    /// Reads one property; a secret one only when revealed (with the right).
    pub async fn get_property(
        &self,
        caller: &Caller,
        r: &NodeRef,
        key: &str,
        reveal: bool,
    ) -> Result<PropertyView, ApiError> {
        caller.require(Permission::ViewInventory)?;
        let mut conn = self
            .store
            .pool()
            .acquire()
            .await
            .map_err(crate::store::StoreError::from)?;
        let node = self.resolve(&mut conn, r).await?.ok_or_else(|| not_found(r))?;
        caller.require_path(&NodePath::parse(&node.path).map_err(ApiError::internal)?)?;
        let props = nodes::properties(&mut conn, &node.id).await?;
        drop(conn);
        let p = props
            .get(key)
            .ok_or_else(|| ApiError::not_found(format!("{} has no property {key:?}", node.path)))?;
        let value = if p.secret {
            if reveal {
                caller.require(Permission::RevealSecrets)?;
                let mut tx = self.store.begin_write().await?;
                audit::record(
                    tx.conn(),
                    &caller.username,
                    "secret.reveal",
                    &node.path,
                    None,
                    Some(&json!([key])),
                )
                .await?;
                tx.commit().await?;
                Some(self.secrets.open(&p.value).map_err(ApiError::internal)?)
            } else {
                None
            }
        } else {
            Some(p.value.clone())
        };
        Ok(PropertyView {
            path: node.path,
            key: key.to_string(),
            value,
            secret: p.secret,
            version: node.version,
        })
    }

    /// Sets one property (merge of a single key).
    pub async fn set_property(
        &self,
        caller: &Caller,
        path: &NodePath,
        key: &str,
        value: String,
        secret: bool,
        if_match: Option<i64>,
    ) -> Result<(NodeView, bool), ApiError> {
        let mut req = PutNode::default();
        req.properties.insert(key.to_string(), Some(value));
        if secret {
            req.secret_keys.push(key.to_string());
        }
        self.put(caller, path, req, if_match).await
    }

    /// Deletes one property.
    pub async fn delete_property(
        &self,
        caller: &Caller,
        path: &NodePath,
        key: &str,
        if_match: Option<i64>,
    ) -> Result<NodeView, ApiError> {
        {
            let mut conn = self
                .store
                .pool()
                .acquire()
                .await
                .map_err(crate::store::StoreError::from)?;
            let node = nodes::by_path(&mut conn, path.as_str())
                .await?
                .ok_or_else(|| ApiError::not_found(format!("no resource at {path}")))?;
            if !nodes::properties(&mut conn, &node.id).await?.contains_key(key) {
                return Err(ApiError::not_found(format!("{path} has no property {key:?}")));
            }
        }
        let mut req = PutNode::default();
        req.properties.insert(key.to_string(), None);
        Ok(self.put(caller, path, req, if_match).await?.0)
    }

    /// Renames one property, keeping its value and secrecy.
    pub async fn rename_property(
        &self,
        caller: &Caller,
        path: &NodePath,
        key: &str,
        new_key: &str,
        if_match: Option<i64>,
    ) -> Result<NodeView, ApiError> {
        validate_property(new_key).map_err(|e| ApiError::bad_request(e.to_string()))?;
        caller.require(Permission::ChangeTestbed)?;
        let (value, secret) = {
            let mut conn = self
                .store
                .pool()
                .acquire()
                .await
                .map_err(crate::store::StoreError::from)?;
            let node = nodes::by_path(&mut conn, path.as_str())
                .await?
                .ok_or_else(|| ApiError::not_found(format!("no resource at {path}")))?;
            let props = nodes::properties(&mut conn, &node.id).await?;
            let p = props
                .get(key)
                .ok_or_else(|| ApiError::not_found(format!("{path} has no property {key:?}")))?;
            if props.contains_key(new_key) {
                return Err(ApiError::conflict(format!(
                    "{path} already has a property {new_key:?}"
                )));
            }
            let value = if p.secret {
                self.secrets.open(&p.value).map_err(ApiError::internal)?
            } else {
                p.value.clone()
            };
            (value, p.secret)
        };
        let mut req = PutNode::default();
        req.properties.insert(key.to_string(), None);
        req.properties.insert(new_key.to_string(), Some(value));
        if secret {
            req.secret_keys.push(new_key.to_string());
        }
        Ok(self.put(caller, path, req, if_match).await?.0)
    }
}

/// One property as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PropertyView {
    /// Node path.
    pub path: String,
    /// Property name.
    pub key: String,
    /// Value; `null` for an unrevealed secret.
    pub value: Option<String>,
    /// Whether the property is secret.
    pub secret: bool,
    /// Node version.
    pub version: i64,
}

fn validate_props(req: &PutNode) -> Result<(), ApiError> {
    if req.properties.len() > MAX_PROPERTIES {
        return Err(ApiError::invalid(format!(
            "at most {MAX_PROPERTIES} properties per request"
        )));
    }
    for (k, v) in &req.properties {
        validate_property(k).map_err(|e| ApiError::invalid(e.to_string()))?;
        if let Some(v) = v {
            if v.len() > MAX_VALUE_LEN {
                return Err(ApiError::invalid(format!(
                    "value of {k:?} exceeds {MAX_VALUE_LEN} bytes"
                )));
            }
        }
    }
    for k in &req.secret_keys {
        validate_property(k).map_err(|e| ApiError::invalid(e.to_string()))?;
    }
    Ok(())
}

async fn unique_id(conn: &mut AnyConnection) -> Result<String, ApiError> {
    for _ in 0..16 {
        let id = new_id();
        if !nodes::id_exists(conn, &id).await? {
            return Ok(id);
        }
    }
    Err(ApiError::internal("cannot find a free node id"))
}

fn not_found(r: &NodeRef) -> ApiError {
    match r {
        NodeRef::Path(p) => ApiError::not_found(format!("no resource at {p}")),
        NodeRef::Id(id) => ApiError::not_found(format!("no resource with id {id}")),
    }
}

fn version_mismatch(path: &NodePath, expected: i64, actual: i64) -> ApiError {
    ApiError::precondition_failed(format!(
        "{path} changed since you read it: you sent version {expected}, it is now at version {actual}; reload and retry"
    ))
    .with_details(json!({"expected": expected, "current": actual}))
}
