//! Persistence: one sqlx pool over SQLite or PostgreSQL, the migration runner, and one repository module per
//! domain.
//!
//! Both databases run the same SQL through sqlx's `Any` driver; queries use `$N` placeholders, which both
//! accept, and store times as Unix milliseconds and booleans as integers so that the two behave alike.
//! Writes go through [`Store::begin_write`], which serialises write transactions inside the process: a
//! controller owns its database, and one writer at a time keeps SQLite free of busy errors and makes
//! read-check-write sequences (reservations, versioned edits) atomic on both databases.

pub mod audit;
pub mod globals;
pub mod migrations;
pub mod nodes;
pub mod panic_patterns;
pub mod projects;
pub mod report_config;
pub mod reservations;
pub mod results;
pub mod runs;
pub mod schedules;
pub mod services;
pub mod settings;
pub mod stations;
pub mod tokens;
pub mod users;
pub mod webhooks;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyPool, Transaction};
use tokio::sync::{Mutex, OwnedMutexGuard};

/// Errors from the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL names a scheme other than `sqlite:` or `postgres:`.
    #[error("unsupported database URL scheme in {0:?}: use sqlite://PATH or postgres://...")]
    UnsupportedUrl(String),
    /// The database could not be reached or a statement failed.
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
    /// A migration failed to apply.
    #[error("migration {version} ({name}) failed: {source}")]
    Migration {
        /// Migration number.
        version: i64,
        /// Migration name.
        name: &'static str,
        /// Underlying error.
        source: sqlx::Error,
    },
    /// Stored data could not be decoded (corrupt JSON column, unknown enum value).
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
}

/// Which database engine the store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite file.
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

/// The shared database handle.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    write_lock: Arc<Mutex<()>>,
}

/// A write transaction holding the process-wide write lock until it commits or drops.
pub struct WriteTx {
    tx: Transaction<'static, Any>,
    _guard: OwnedMutexGuard<()>,
}

impl WriteTx {
    /// The transaction, for executing statements.
    pub fn conn(&mut self) -> &mut sqlx::AnyConnection {
        &mut self.tx
    }

    /// Commits the transaction and releases the write lock.
    pub async fn commit(self) -> Result<(), StoreError> {
        self.tx.commit().await?;
        Ok(())
    }
}

impl Store {
    /// Connects to `url` (`sqlite://file.db` or `postgres://user@host/db`) and applies pending migrations.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl(redact_url(url)));
        };
        let options = AnyConnectOptions::from_str(url)?;
        let pool = match backend {
            Backend::Sqlite => {
                AnyPoolOptions::new()
                    .max_connections(8)
                    .acquire_timeout(Duration::from_secs(30))
                    .after_connect(|conn, _meta| {
                        Box::pin(async move {
                            use sqlx::Executor;
                            // A 16 MiB page cache per connection (SQLite's default is 2 MiB): saving a run
                            // updates several indexes of a table of a million results, and reports scan them.
                            conn.execute(
                                "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; \
                                 PRAGMA busy_timeout=15000; PRAGMA foreign_keys=ON; \
                                 PRAGMA cache_size=-16384;",
                            )
                            .await?;
                            Ok(())
                        })
                    })
                    .connect_with(options)
                    .await?
            }
            Backend::Postgres => {
                AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect_with(options)
                    .await?
            }
        };
        let store = Store {
            pool,
            backend,
            write_lock: Arc::new(Mutex::new(())),
        };
        migrations::apply(&store).await?;
        store.optimize().await?;
        Ok(store)
    }

    /// Keeps the query planner's statistics current. SQLite does not gather them by itself: without them it may
    /// read a narrow, non-covering index plus every wide row instead of a covering index (seconds instead of
    /// milliseconds for a report over a million results). `PRAGMA optimize=0x10002` checks every table and runs
    /// a size-limited ANALYZE only where the row count changed a lot since the last one, so it is cheap to call
    /// at start and after each bulk write (a run's results saved). PostgreSQL's autovacuum does this itself.
    pub async fn optimize(&self) -> Result<(), StoreError> {
        if self.backend == Backend::Sqlite {
            let mut tx = self.begin_write().await?;
            sqlx::query("PRAGMA optimize=0x10002").execute(tx.conn()).await?;
            tx.commit().await?;
        }
        Ok(())
    }

    /// The pool, for reads.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The engine behind this store.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Starts a write transaction; waits for any other writer of this process to finish first.
    pub async fn begin_write(&self) -> Result<WriteTx, StoreError> {
        let guard = self.write_lock.clone().lock_owned().await;
        let tx = self.pool.begin().await?;
        Ok(WriteTx { tx, _guard: guard })
    }

    /// Closes every connection of the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The URL with any password replaced, for messages and logs.
pub fn redact_url(url: &str) -> String {
    let url = match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme_end + 3],
                    &userinfo[..colon],
                    &url[at..]
                ),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    };
    // Passwords given as query parameters (`?password=…`, `sslpassword`, …).
    let Some((base, query)) = url.split_once('?') else {
        return url;
    };
    let params: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, _)) if SECRET_PARAMS.contains(&k.to_ascii_lowercase().as_str()) => format!("{k}=***"),
            _ => pair.to_string(),
        })
        .collect();
    format!("{base}?{}", params.join("&"))
}

/// Query parameters of a database URL whose values are secret.
const SECRET_PARAMS: [&str; 6] = ["password", "pass", "passwd", "pwd", "sslpassword", "token"];

/// Current time in Unix milliseconds.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Formats Unix milliseconds as RFC 3339 UTC text for API output.
pub fn ms_to_rfc3339(ms: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// A short random id: 10 lowercase hex digits, the shape the original Twister used for resources.
pub fn new_id() -> String {
    use rand::Rng;
    let bytes: [u8; 5] = rand::thread_rng().gen();
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_password_in_url() {
        assert_eq!(
            redact_url("postgres://bob:hunter2@db:5432/tw"),
            "postgres://bob:***@db:5432/tw"
        );
        assert_eq!(redact_url("postgres://bob@db/tw"), "postgres://bob@db/tw");
        assert_eq!(
            redact_url("mysql://db/tw?user=bob&Password=s3cret&ssl-mode=required"),
            "mysql://db/tw?user=bob&Password=***&ssl-mode=required"
        );
        assert_eq!(
            redact_url("postgres://bob:pw@db/tw?sslpassword=k&application_name=x"),
            "postgres://bob:***@db/tw?sslpassword=***&application_name=x"
        );
        assert_eq!(redact_url("sqlite:///tmp/x.db"), "sqlite:///tmp/x.db");
    }

    #[test]
    fn ids_are_ten_hex_digits() {
        let id = new_id();
        assert_eq!(id.len(), 10);
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
    }
}
