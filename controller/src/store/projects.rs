//! Project rows: each project is one JSON document with a version for optimistic concurrency.

use sqlx::{AnyConnection, Row};

use super::{Store, StoreError};

/// A stored project.
#[derive(Debug, Clone)]
pub struct ProjectRow {
    /// Id.
    pub id: String,
    /// Unique name.
    pub name: String,
    /// Creator.
    pub owner: String,
    /// The document (JSON).
    pub doc: String,
    /// Version, bumped on every change.
    pub version: i64,
    /// Created.
    pub created_at: i64,
    /// Last change.
    pub updated_at: i64,
}

const COLUMNS: &str = "id, name, owner, doc, version, created_at, updated_at";

fn from_row(r: &sqlx::any::AnyRow) -> Result<ProjectRow, StoreError> {
    Ok(ProjectRow {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        owner: r.try_get("owner")?,
        doc: r.try_get("doc")?,
        version: r.try_get("version")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// Every project, by name.
pub async fn list(store: &Store) -> Result<Vec<ProjectRow>, StoreError> {
    let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM projects ORDER BY name"))
        .fetch_all(store.pool())
        .await?;
    rows.iter().map(from_row).collect()
}

/// One project by name.
pub async fn by_name(conn: &mut AnyConnection, name: &str) -> Result<Option<ProjectRow>, StoreError> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM projects WHERE name = $1"))
        .bind(name)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Inserts a project.
pub async fn insert(conn: &mut AnyConnection, p: &ProjectRow) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT INTO projects ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
    ))
    .bind(&p.id)
    .bind(&p.name)
    .bind(&p.owner)
    .bind(&p.doc)
    .bind(p.version)
    .bind(p.created_at)
    .bind(p.updated_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Replaces a project's document and name, bumping its version.
pub async fn update(
    conn: &mut AnyConnection,
    id: &str,
    name: &str,
    doc: &str,
    version: i64,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE projects SET name = $1, doc = $2, version = $3, updated_at = $4 WHERE id = $5")
        .bind(name)
        .bind(doc)
        .bind(version)
        .bind(now)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Deletes a project.
pub async fn delete(conn: &mut AnyConnection, id: &str) -> Result<bool, StoreError> {
    let r = sqlx::query("DELETE FROM projects WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(r.rows_affected() > 0)
}
