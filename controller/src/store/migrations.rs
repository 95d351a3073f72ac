//! The migration runner: numbered SQL files per backend, embedded in the binary, applied in order at start.
//!
//! Each migration runs in its own transaction together with the row that records it, so a crash in the
//! middle leaves the database at the previous version.

use super::{now_ms, Backend, Store, StoreError};

/// One schema step, with its SQL for each backend.
struct Migration {
    version: i64,
    name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "foundation",
        sqlite: include_str!("../../migrations/sqlite/0001_foundation.sql"),
        postgres: include_str!("../../migrations/postgres/0001_foundation.sql"),
    },
    Migration {
        version: 2,
        name: "execution",
        sqlite: include_str!("../../migrations/sqlite/0002_execution.sql"),
        postgres: include_str!("../../migrations/postgres/0002_execution.sql"),
    },
    Migration {
        version: 3,
        name: "globals_panic",
        sqlite: include_str!("../../migrations/sqlite/0003_globals_panic.sql"),
        postgres: include_str!("../../migrations/postgres/0003_globals_panic.sql"),
    },
    Migration {
        version: 4,
        name: "results_reports",
        sqlite: include_str!("../../migrations/sqlite/0004_results_reports.sql"),
        postgres: include_str!("../../migrations/postgres/0004_results_reports.sql"),
    },
    Migration {
        version: 5,
        name: "ops",
        sqlite: include_str!("../../migrations/sqlite/0005_ops.sql"),
        postgres: include_str!("../../migrations/postgres/0005_ops.sql"),
    },
    Migration {
        version: 6,
        name: "report_indexes",
        sqlite: include_str!("../../migrations/sqlite/0006_report_indexes.sql"),
        postgres: include_str!("../../migrations/postgres/0006_report_indexes.sql"),
    },
];

/// Applies every migration the database has not seen yet.
pub async fn apply(store: &Store) -> Result<(), StoreError> {
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, \
         applied_at BIGINT NOT NULL)",
    )
    .execute(store.pool())
    .await?;
    for m in MIGRATIONS {
        let mut tx = store.begin_write().await?;
        let done: Option<(i64,)> = sqlx::query_as("SELECT version FROM schema_migrations WHERE version = $1")
            .bind(m.version)
            .fetch_optional(tx.conn())
            .await?;
        if done.is_some() {
            continue;
        }
        let sql = match store.backend() {
            Backend::Sqlite => m.sqlite,
            Backend::Postgres => m.postgres,
        };
        sqlx::raw_sql(sql)
            .execute(tx.conn())
            .await
            .map_err(|source| StoreError::Migration {
                version: m.version,
                name: m.name,
                source,
            })?;
        sqlx::query("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)")
            .bind(m.version)
            .bind(m.name)
            .bind(now_ms())
            .execute(tx.conn())
            .await?;
        tx.commit().await?;
        tracing::info!(version = m.version, name = m.name, "applied migration");
    }
    Ok(())
}

/// The highest applied migration number.
pub async fn current_version(store: &Store) -> Result<i64, StoreError> {
    let row: (Option<i64>,) = sqlx::query_as("SELECT MAX(version) FROM schema_migrations")
        .fetch_one(store.pool())
        .await?;
    Ok(row.0.unwrap_or(0))
}
