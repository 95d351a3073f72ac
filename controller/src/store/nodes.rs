//! Inventory node and property rows.

use std::collections::BTreeMap;

use sqlx::{AnyConnection, Row};

use super::StoreError;

/// A stored node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRow {
    /// Short stable id.
    pub id: String,
    /// Parent id; `None` for top-level nodes.
    pub parent_id: Option<String>,
    /// Name, unique under the parent.
    pub name: String,
    /// Full path.
    pub path: String,
    /// Incremented on every change of the node itself.
    pub version: i64,
    /// Creation time, Unix ms.
    pub created_at: i64,
    /// Last change, Unix ms.
    pub updated_at: i64,
}

/// A stored property: the value is sealed when `secret` is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyRow {
    /// Stored value (sealed text for secrets).
    pub value: String,
    /// Whether the value is secret.
    pub secret: bool,
}

const COLUMNS: &str = "id, parent_id, name, path, version, created_at, updated_at";

fn from_row(row: &sqlx::any::AnyRow) -> Result<NodeRow, StoreError> {
    Ok(NodeRow {
        id: row.try_get("id")?,
        parent_id: row.try_get("parent_id")?,
        name: row.try_get("name")?,
        path: row.try_get("path")?,
        version: row.try_get("version")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// Finds a node by path.
pub async fn by_path(conn: &mut AnyConnection, path: &str) -> Result<Option<NodeRow>, StoreError> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM nodes WHERE path = $1"))
        .bind(path)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Finds a node by id.
pub async fn by_id(conn: &mut AnyConnection, id: &str) -> Result<Option<NodeRow>, StoreError> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM nodes WHERE id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Whether an id is taken.
pub async fn id_exists(conn: &mut AnyConnection, id: &str) -> Result<bool, StoreError> {
    let row: Option<(String,)> = sqlx::query_as("SELECT id FROM nodes WHERE id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await?;
    Ok(row.is_some())
}

/// Names of the children of a node (`None`: top level), sorted.
pub async fn child_names(conn: &mut AnyConnection, parent: Option<&str>) -> Result<Vec<String>, StoreError> {
    let rows: Vec<(String,)> = match parent {
        Some(p) => {
            sqlx::query_as("SELECT name FROM nodes WHERE parent_id = $1 ORDER BY name")
                .bind(p)
                .fetch_all(conn)
                .await?
        }
        None => {
            sqlx::query_as("SELECT name FROM nodes WHERE parent_id IS NULL ORDER BY name")
                .fetch_all(conn)
                .await?
        }
    };
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// The node at `path` and every node below it, ordered by path.
pub async fn subtree(conn: &mut AnyConnection, path: &str) -> Result<Vec<NodeRow>, StoreError> {
    let rows = if path == "/" {
        sqlx::query(&format!("SELECT {COLUMNS} FROM nodes ORDER BY path"))
            .fetch_all(conn)
            .await?
    } else {
        let prefix = format!("{path}/");
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM nodes WHERE path = $1 OR substr(path, 1, CAST($2 AS INTEGER)) = $3 ORDER BY path"
        ))
        .bind(path)
        .bind(prefix.chars().count() as i64)
        .bind(&prefix)
        .fetch_all(conn)
        .await?
    };
    rows.iter().map(from_row).collect()
}

/// Properties of a node.
pub async fn properties(
    conn: &mut AnyConnection,
    node_id: &str,
) -> Result<BTreeMap<String, PropertyRow>, StoreError> {
    let rows = sqlx::query("SELECT key, value, secret FROM node_properties WHERE node_id = $1")
        .bind(node_id)
        .fetch_all(conn)
        .await?;
    let mut out = BTreeMap::new();
    for r in rows {
        out.insert(
            r.try_get::<String, _>("key")?,
            PropertyRow {
                value: r.try_get("value")?,
                secret: r.try_get::<i64, _>("secret")? != 0,
            },
        );
    }
    Ok(out)
}

/// Properties of every node, keyed by node id (for exports and tree views).
pub async fn all_properties(
    conn: &mut AnyConnection,
) -> Result<BTreeMap<String, BTreeMap<String, PropertyRow>>, StoreError> {
    let rows = sqlx::query("SELECT node_id, key, value, secret FROM node_properties")
        .fetch_all(conn)
        .await?;
    let mut out: BTreeMap<String, BTreeMap<String, PropertyRow>> = BTreeMap::new();
    for r in rows {
        out.entry(r.try_get("node_id")?).or_default().insert(
            r.try_get("key")?,
            PropertyRow {
                value: r.try_get("value")?,
                secret: r.try_get::<i64, _>("secret")? != 0,
            },
        );
    }
    Ok(out)
}

/// Inserts a node.
pub async fn insert(conn: &mut AnyConnection, n: &NodeRow) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT INTO nodes ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
    ))
    .bind(&n.id)
    .bind(&n.parent_id)
    .bind(&n.name)
    .bind(&n.path)
    .bind(n.version)
    .bind(n.created_at)
    .bind(n.updated_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Bumps a node's version if it still has `expected`; returns whether it did.
pub async fn bump_version(
    conn: &mut AnyConnection,
    id: &str,
    expected: i64,
    now: i64,
) -> Result<bool, StoreError> {
    let done =
        sqlx::query("UPDATE nodes SET version = version + 1, updated_at = $3 WHERE id = $1 AND version = $2")
            .bind(id)
            .bind(expected)
            .bind(now)
            .execute(conn)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// Moves a node (new parent, name and path); descendants are rewritten by [`rewrite_path`].
pub async fn relocate(
    conn: &mut AnyConnection,
    id: &str,
    parent_id: Option<&str>,
    name: &str,
    path: &str,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE nodes SET parent_id = $2, name = $3, path = $4 WHERE id = $1")
        .bind(id)
        .bind(parent_id)
        .bind(name)
        .bind(path)
        .execute(conn)
        .await?;
    Ok(())
}

/// Sets the stored path of one node.
pub async fn rewrite_path(conn: &mut AnyConnection, id: &str, path: &str) -> Result<(), StoreError> {
    sqlx::query("UPDATE nodes SET path = $2 WHERE id = $1")
        .bind(id)
        .bind(path)
        .execute(conn)
        .await?;
    Ok(())
}

/// Upserts one property.
pub async fn set_property(
    conn: &mut AnyConnection,
    node_id: &str,
    key: &str,
    value: &str,
    secret: bool,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO node_properties (node_id, key, value, secret) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (node_id, key) DO UPDATE SET value = excluded.value, secret = excluded.secret",
    )
    .bind(node_id)
    .bind(key)
    .bind(value)
    .bind(secret as i64)
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes one property; returns whether it existed.
pub async fn delete_property(conn: &mut AnyConnection, node_id: &str, key: &str) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM node_properties WHERE node_id = $1 AND key = $2")
        .bind(node_id)
        .bind(key)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Deletes nodes (children before parents) and their properties.
pub async fn delete_nodes(conn: &mut AnyConnection, ids_deepest_first: &[String]) -> Result<(), StoreError> {
    for id in ids_deepest_first {
        sqlx::query("DELETE FROM node_properties WHERE node_id = $1")
            .bind(id)
            .execute(&mut *conn)
            .await?;
        sqlx::query("DELETE FROM nodes WHERE id = $1")
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Number of nodes.
pub async fn count(conn: &mut AnyConnection) -> Result<i64, StoreError> {
    let row: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM nodes")
        .fetch_one(conn)
        .await?;
    Ok(row.0)
}
