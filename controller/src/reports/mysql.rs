//! MySQL and MariaDB as the external report database (`mysql://` or `mariadb://` URLs).
//!
//! sqlx's `Any` driver cannot decode many MySQL column types (TINYINT, DECIMAL, DATE, DATETIME, …), which
//! report queries return all the time (`SUM`, `AVG`, date columns), so MySQL targets use a native
//! [`MySqlPool`] and decode each column by its type here.
//!
//! Every connection runs with `PIPES_AS_CONCAT` (templates join text with `||`), `NO_BACKSLASH_ESCAPES` (the
//! template tokenizer, like standard SQL, knows no backslash escapes in literals) and time zone UTC.
//!
//! Report queries run in `START TRANSACTION READ ONLY` with a time limit whose variable depends on the
//! server: MariaDB's `max_statement_time` (seconds, any statement; error 1969) or MySQL's
//! `max_execution_time` (milliseconds, SELECT only; error 3024). The server's `VERSION()` says which.

use std::str::FromStr;
use std::time::Duration;

use sqlx::mysql::{MySqlConnectOptions, MySqlConnection, MySqlPoolOptions, MySqlRow};
use sqlx::{Column, Executor, MySqlPool, Row, TypeInfo, ValueRef};

use super::query::{Table, MAX_ROWS};
use super::template::BoundValue;

/// Which server a MySQL URL reaches: they name their statement time limit differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// MariaDB: `max_statement_time`, seconds.
    MariaDb,
    /// MySQL: `max_execution_time`, milliseconds.
    MySql,
}

impl Flavor {
    /// The statement that limits each following statement of the session to `limit`.
    pub fn set_limit(self, limit: Duration) -> String {
        match self {
            Flavor::MariaDb => format!("SET SESSION max_statement_time = {:.3}", limit.as_secs_f64()),
            Flavor::MySql => format!("SET SESSION max_execution_time = {}", limit.as_millis().max(1)),
        }
    }

    /// The statement that removes the limit again.
    pub fn clear_limit(self) -> &'static str {
        match self {
            Flavor::MariaDb => "SET SESSION max_statement_time = DEFAULT",
            Flavor::MySql => "SET SESSION max_execution_time = DEFAULT",
        }
    }
}

/// Whether `e` is the server stopping a statement at its time limit (MariaDB 1969, MySQL 3024).
pub fn is_timeout(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .and_then(|d| d.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>())
        .is_some_and(|m| matches!(m.number(), 1969 | 3024))
}

/// Connects a small pool to `url` and finds out which server it is.
pub async fn connect(url: &str) -> Result<(MySqlPool, Flavor), sqlx::Error> {
    let options = MySqlConnectOptions::from_str(url)?
        .pipes_as_concat(true)
        .timezone(Some("+00:00".to_string()));
    let pool = MySqlPoolOptions::new()
        .max_connections(4)
        .acquire_timeout(Duration::from_secs(10))
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                conn.execute("SET SESSION sql_mode = CONCAT(@@sql_mode, ',NO_BACKSLASH_ESCAPES')")
                    .await?;
                Ok(())
            })
        })
        .connect_with(options)
        .await?;
    let version: String = sqlx::query_scalar("SELECT VERSION()").fetch_one(&pool).await?;
    let flavor = if version.to_ascii_lowercase().contains("mariadb") {
        Flavor::MariaDb
    } else {
        Flavor::MySql
    };
    Ok((pool, flavor))
}

/// A MySQL query with its parameters bound in order.
pub fn bind_all<'q>(
    mut q: sqlx::query::Query<'q, sqlx::MySql, sqlx::mysql::MySqlArguments>,
    values: &'q [BoundValue],
) -> sqlx::query::Query<'q, sqlx::MySql, sqlx::mysql::MySqlArguments> {
    for v in values {
        q = match v {
            BoundValue::Text(s) => q.bind(s.as_str()),
            BoundValue::Int(n) => q.bind(*n),
            BoundValue::Real(f) => q.bind(*f),
        };
    }
    q
}

/// Runs `sql` in a read-only transaction under the server's statement time limit.
pub async fn read_only(
    conn: &mut MySqlConnection,
    flavor: Flavor,
    sql: &str,
    values: &[BoundValue],
    limit: Duration,
) -> Result<Table, sqlx::Error> {
    conn.execute(flavor.set_limit(limit).as_str()).await?;
    conn.execute("START TRANSACTION READ ONLY").await?;
    let rows = bind_all(sqlx::query(sql), values).fetch_all(&mut *conn).await;
    let rollback = conn.execute("ROLLBACK").await;
    let clear = conn.execute(flavor.clear_limit()).await;
    // The query's own error says most; then whether the connection could be reset.
    let rows = rows?;
    rollback?;
    clear?;
    let mut table = Table::default();
    if let Some(first) = rows.first() {
        table.columns = first.columns().iter().map(|c| c.name().to_string()).collect();
    }
    for r in rows.iter().take(MAX_ROWS) {
        table.rows.push((0..r.len()).map(|i| value(r, i)).collect());
    }
    table.truncated = rows.len() > MAX_ROWS;
    Ok(table)
}

/// The first column of the first row as text (empty when there is none or it is NULL).
pub fn first_as_text(row: Option<&MySqlRow>) -> String {
    match row.map(|r| value(r, 0)) {
        None | Some(serde_json::Value::Null) => String::new(),
        Some(serde_json::Value::String(s)) => s,
        Some(v) => v.to_string(),
    }
}

fn text_or_hex(bytes: Vec<u8>) -> serde_json::Value {
    match String::from_utf8(bytes) {
        Ok(s) => s.into(),
        Err(e) => hex::encode(e.into_bytes()).into(),
    }
}

fn float(f: f64) -> serde_json::Value {
    serde_json::Number::from_f64(f).map_or(serde_json::Value::Null, serde_json::Value::Number)
}

/// One cell as JSON: integers and floats as numbers, DECIMAL as a number (text when it does not fit an
/// f64 exactly enough to parse), dates and times as ISO 8601 text (TIMESTAMP with `Z`), text as text,
/// binary data as text when it is UTF-8 and hex otherwise.
fn value(row: &MySqlRow, i: usize) -> serde_json::Value {
    use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
    use serde_json::Value;
    if row.try_get_raw(i).map_or(true, |v| v.is_null()) {
        return Value::Null;
    }
    let kind = row.column(i).type_info().name().to_string();
    let decoded = match kind.as_str() {
        "BOOLEAN" | "TINYINT" | "SMALLINT" | "MEDIUMINT" | "INT" | "BIGINT" | "YEAR" => {
            row.try_get::<i64, _>(i).ok().map(Value::from)
        }
        k if k.ends_with(" UNSIGNED") => row.try_get::<u64, _>(i).ok().map(Value::from),
        "FLOAT" => row.try_get::<f32, _>(i).ok().map(|f| float(f64::from(f))),
        "DOUBLE" => row.try_get::<f64, _>(i).ok().map(float),
        // The binary protocol sends DECIMAL as its exact text.
        "DECIMAL" => row.try_get_unchecked::<String, _>(i).ok().map(|s| {
            s.parse::<i64>()
                .map(Value::from)
                .or_else(|_| s.parse::<f64>().map(float))
                .unwrap_or(Value::String(s))
        }),
        "DATETIME" => row
            .try_get::<NaiveDateTime, _>(i)
            .ok()
            .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.f").to_string().into()),
        "TIMESTAMP" => row
            .try_get::<DateTime<Utc>, _>(i)
            .ok()
            .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.fZ").to_string().into()),
        "DATE" => row
            .try_get::<NaiveDate, _>(i)
            .ok()
            .map(|d| d.format("%Y-%m-%d").to_string().into()),
        "TIME" => row
            .try_get::<sqlx::mysql::types::MySqlTime, _>(i)
            .ok()
            .map(|t| t.to_string().into()),
        _ => None,
    };
    decoded
        .or_else(|| row.try_get::<String, _>(i).ok().map(Value::from))
        .or_else(|| row.try_get_unchecked::<Vec<u8>, _>(i).ok().map(text_or_hex))
        .unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_limits_in_each_servers_unit() {
        let d = Duration::from_millis(1500);
        assert_eq!(
            Flavor::MariaDb.set_limit(d),
            "SET SESSION max_statement_time = 1.500"
        );
        assert_eq!(
            Flavor::MySql.set_limit(d),
            "SET SESSION max_execution_time = 1500"
        );
        assert!(Flavor::MariaDb.clear_limit().contains("max_statement_time"));
        assert!(Flavor::MySql.clear_limit().contains("max_execution_time"));
    }

    #[test]
    fn both_url_schemes_parse() {
        for url in ["mysql://u:p@db:3307/r", "mariadb://u:p@db:3307/r"] {
            let o = MySqlConnectOptions::from_str(url).expect(url);
            assert_eq!((o.get_host(), o.get_port(), o.get_username()), ("db", 3307, "u"));
            assert_eq!(o.get_database(), Some("r"));
        }
    }
}
