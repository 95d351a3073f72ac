//! Running report queries: read-only (SQLite `query_only`, PostgreSQL read-only transaction with a statement
//! timeout, MySQL/MariaDB read-only transaction with theirs: see [`super::mysql`]), with a time limit, bound
//! parameters, and rows decoded to JSON values whatever their SQL types.

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Column, Executor, MySqlPool, Row};
use utoipa::ToSchema;

use super::config::{ReportConfig, ReportDef, ReportKind};
use super::mysql::Flavor;
use super::template::{bind_all, BoundValue, Dialect, PlaceholderKind, Template};
use crate::api::error::ApiError;
use crate::store::{redact_url, Backend, Store, StoreError};

/// Most rows a report returns.
pub const MAX_ROWS: usize = 100_000;

/// Rows and their column names.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct Table {
    /// Column names.
    pub columns: Vec<String>,
    /// Rows of JSON values (numbers, text, null).
    #[schema(value_type = Vec<Vec<Object>>)]
    pub rows: Vec<Vec<serde_json::Value>>,
    /// More rows existed than were returned.
    pub truncated: bool,
}

/// A report's output.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReportOutput {
    /// Report id.
    pub id: String,
    /// How to show it.
    pub kind: ReportKind,
    /// Field values used.
    pub fields: BTreeMap<String, String>,
    /// The main query's rows.
    pub table: Table,
    /// SQLTotal's rows, when the report has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<Table>,
    /// The main values as percentages of the totals (matched on the first column).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub percent: Option<Table>,
    /// SQLCompare's rows, shown side by side.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compare: Option<Table>,
}

/// The engine of a report database. The controller's own database is SQLite or PostgreSQL; an external
/// report database may also be MySQL or MariaDB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportEngine {
    /// SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
    /// MySQL.
    MySql,
    /// MariaDB.
    MariaDb,
}

impl ReportEngine {
    /// How statements for this engine write their parameters.
    pub fn dialect(self) -> Dialect {
        match self {
            ReportEngine::Sqlite | ReportEngine::Postgres => Dialect::Numbered,
            ReportEngine::MySql | ReportEngine::MariaDb => Dialect::MySql,
        }
    }

    /// The engine a report database URL names, if it is one the reports support.
    pub fn of_url(url: &str) -> Option<ReportEngine> {
        let scheme = url.split(':').next().unwrap_or_default().to_ascii_lowercase();
        match scheme.as_str() {
            "sqlite" => Some(ReportEngine::Sqlite),
            "postgres" | "postgresql" => Some(ReportEngine::Postgres),
            "mysql" => Some(ReportEngine::MySql),
            "mariadb" => Some(ReportEngine::MariaDb),
            _ => None,
        }
    }
}

impl From<Backend> for ReportEngine {
    fn from(b: Backend) -> ReportEngine {
        match b {
            Backend::Sqlite => ReportEngine::Sqlite,
            Backend::Postgres => ReportEngine::Postgres,
        }
    }
}

/// The connections of a report database.
#[derive(Clone)]
pub enum TargetPool {
    /// SQLite or PostgreSQL, through sqlx's `Any` driver (as the controller's own store).
    Any(AnyPool, Backend),
    /// MySQL or MariaDB, native (see [`super::mysql`] for why).
    MySql(MySqlPool, Flavor),
}

/// A database a report runs against.
#[derive(Clone)]
pub struct Target {
    /// Connections.
    pub pool: TargetPool,
    /// Engine (MySQL or MariaDB as the server said, whatever the URL's scheme).
    pub engine: ReportEngine,
    /// The controller's own database (private tables are off limits).
    pub own: bool,
}

impl Target {
    /// The controller's own database.
    pub fn own(store: &Store) -> Target {
        Target {
            pool: TargetPool::Any(store.pool().clone(), store.backend()),
            engine: store.backend().into(),
            own: true,
        }
    }
}

fn external_pools() -> &'static Mutex<HashMap<String, Target>> {
    static POOLS: OnceLock<Mutex<HashMap<String, Target>>> = OnceLock::new();
    POOLS.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The database configured for reports and inserts: the controller's own, or an external one by URL
/// (pools are kept per URL).
pub async fn target(store: &Store, config: &ReportConfig) -> Result<Target, ApiError> {
    let Some(url) = config.database_url.as_deref() else {
        return Ok(Target::own(store));
    };
    if let Some(t) = external_pools()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(url)
    {
        return Ok(t.clone());
    }
    let engine = ReportEngine::of_url(url).ok_or_else(|| {
        ApiError::invalid(format!(
            "report database {}: unsupported URL scheme",
            redact_url(url)
        ))
    })?;
    let unreachable = |e: sqlx::Error| {
        ApiError::new(
            axum::http::StatusCode::BAD_GATEWAY,
            "report_database",
            format!("report database {}: {e}", redact_url(url)),
        )
    };
    let t = match engine {
        ReportEngine::MySql | ReportEngine::MariaDb => {
            let (pool, flavor) = super::mysql::connect(url).await.map_err(unreachable)?;
            Target {
                pool: TargetPool::MySql(pool, flavor),
                engine: match flavor {
                    Flavor::MariaDb => ReportEngine::MariaDb,
                    Flavor::MySql => ReportEngine::MySql,
                },
                own: false,
            }
        }
        ReportEngine::Sqlite | ReportEngine::Postgres => {
            sqlx::any::install_default_drivers();
            let options = AnyConnectOptions::from_str(url).map_err(unreachable)?;
            let pool = AnyPoolOptions::new()
                .max_connections(4)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await
                .map_err(unreachable)?;
            let backend = if engine == ReportEngine::Sqlite {
                Backend::Sqlite
            } else {
                Backend::Postgres
            };
            Target {
                pool: TargetPool::Any(pool, backend),
                engine,
                own: false,
            }
        }
    };
    external_pools()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(url.to_string(), t.clone());
    Ok(t)
}

/// A JSON object's members in document order.
struct Ordered(Vec<(String, serde_json::Value)>);

impl<'de> Deserialize<'de> for Ordered {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Ordered;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Ordered, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = m.next_entry::<String, serde_json::Value>()? {
                    out.push((k, v));
                }
                Ok(Ordered(out))
            }
        }
        d.deserialize_map(V)
    }
}

fn sqlite_value(row: &sqlx::any::AnyRow, i: usize) -> serde_json::Value {
    if let Ok(v) = row.try_get::<Option<i64>, _>(i) {
        return v.map_or(serde_json::Value::Null, Into::into);
    }
    if let Ok(v) = row.try_get::<Option<f64>, _>(i) {
        return v
            .and_then(serde_json::Number::from_f64)
            .map_or(serde_json::Value::Null, serde_json::Value::Number);
    }
    if let Ok(v) = row.try_get::<Option<String>, _>(i) {
        return v.map_or(serde_json::Value::Null, Into::into);
    }
    if let Ok(v) = row.try_get::<Option<Vec<u8>>, _>(i) {
        return v.map_or(serde_json::Value::Null, |b| hex::encode(b).into());
    }
    serde_json::Value::Null
}

fn query_error(e: sqlx::Error) -> ApiError {
    // 57014: PostgreSQL cancelled the statement at its statement_timeout.
    if e.as_database_error().and_then(|d| d.code()).as_deref() == Some("57014")
        || super::mysql::is_timeout(&e)
    {
        return ApiError::new(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            "report_timeout",
            "report query ran longer than its time limit",
        );
    }
    ApiError::new(
        axum::http::StatusCode::UNPROCESSABLE_ENTITY,
        "report_query",
        format!("report query failed: {e}"),
    )
}

/// Runs one statement read-only with a time limit and returns its rows.
pub async fn read_only(
    target: &Target,
    sql: &str,
    values: &[BoundValue],
    limit: Duration,
) -> Result<Table, ApiError> {
    match &target.pool {
        TargetPool::Any(pool, backend) => any_read_only(pool, *backend, sql, values, limit).await,
        TargetPool::MySql(pool, flavor) => {
            let mut conn = pool.acquire().await.map_err(|e| {
                ApiError::new(
                    axum::http::StatusCode::BAD_GATEWAY,
                    "report_database",
                    format!("report database: {e}"),
                )
            })?;
            let work = super::mysql::read_only(&mut conn, *flavor, sql, values, limit);
            match tokio::time::timeout(limit + Duration::from_millis(250), work).await {
                Ok(r) => r.map_err(query_error),
                Err(_) => {
                    // Mid-statement, maybe still read-only and limited: close it rather than reuse it.
                    drop(conn.detach());
                    Err(timed_out(limit))
                }
            }
        }
    }
}

fn timed_out(limit: Duration) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::UNPROCESSABLE_ENTITY,
        "report_timeout",
        format!("report query ran longer than {} s", limit.as_secs_f64()),
    )
}

/// [`read_only`] on SQLite or PostgreSQL.
async fn any_read_only(
    pool: &AnyPool,
    backend: Backend,
    sql: &str,
    values: &[BoundValue],
    limit: Duration,
) -> Result<Table, ApiError> {
    let mut conn = pool.acquire().await.map_err(StoreError::from)?;
    let ms = limit.as_millis().max(1);
    let work = async {
        match backend {
            Backend::Sqlite => {
                conn.execute("PRAGMA query_only = ON")
                    .await
                    .map_err(query_error)?;
                let rows = bind_all(sqlx::query(sql), values).fetch_all(&mut *conn).await;
                conn.execute("PRAGMA query_only = OFF")
                    .await
                    .map_err(StoreError::from)?;
                let rows = rows.map_err(query_error)?;
                let mut table = Table::default();
                if let Some(first) = rows.first() {
                    table.columns = first.columns().iter().map(|c| c.name().to_string()).collect();
                }
                for r in rows.iter().take(MAX_ROWS) {
                    table
                        .rows
                        .push((0..r.len()).map(|i| sqlite_value(r, i)).collect());
                }
                table.truncated = rows.len() > MAX_ROWS;
                Ok::<Table, ApiError>(table)
            }
            Backend::Postgres => {
                conn.execute("BEGIN READ ONLY").await.map_err(query_error)?;
                let result = async {
                    conn.execute(format!("SET LOCAL statement_timeout = {ms}").as_str())
                        .await
                        .map_err(query_error)?;
                    let body = sql.trim().trim_end_matches(';');
                    let wrapped = format!("SELECT row_to_json(q)::text AS j FROM ({body}\n) q");
                    let rows = bind_all(sqlx::query(&wrapped), values)
                        .fetch_all(&mut *conn)
                        .await
                        .map_err(query_error)?;
                    let mut table = Table::default();
                    for r in rows.iter().take(MAX_ROWS) {
                        let text: String = r.try_get(0).map_err(query_error)?;
                        let Ordered(members) = serde_json::from_str(&text)
                            .map_err(|e| ApiError::internal(format!("row_to_json output: {e}")))?;
                        if table.columns.is_empty() {
                            table.columns = members.iter().map(|(k, _)| k.clone()).collect();
                        }
                        table.rows.push(members.into_iter().map(|(_, v)| v).collect());
                    }
                    table.truncated = rows.len() > MAX_ROWS;
                    Ok::<Table, ApiError>(table)
                }
                .await;
                conn.execute("ROLLBACK").await.map_err(StoreError::from)?;
                result
            }
        }
    };
    match tokio::time::timeout(limit + Duration::from_millis(250), work).await {
        Ok(r) => r,
        Err(_) => {
            // The connection is mid-statement (and may still be read-only): close it rather than reuse it.
            drop(conn.detach());
            Err(timed_out(limit))
        }
    }
}

/// Tables of the controller's own database a report may not read: credentials, sealed secrets, the
/// reporting configuration (with its database URL) and the catalogues that would list them.
const PRIVATE_TABLES: &[&str] = &[
    "users",
    "tokens",
    "node_properties",
    "stations",
    "station_commands",
    "report_config",
    "sqlite_master",
    "sqlite_schema",
    "sqlite_temp_master",
    "pg_authid",
    "pg_shadow",
    "pg_user",
    "pg_roles",
    "pg_read_file",
    "pg_ls_dir",
    "information_schema",
    "pg_catalog",
];

/// Refuses a report query on the controller's own database that names one of its private tables.
pub fn check_own_database(sql: &str) -> Result<(), ApiError> {
    let t = Template::parse(sql).map_err(|e| ApiError::invalid(e.to_string()))?;
    if let Some(w) = t.words.iter().find(|w| PRIVATE_TABLES.contains(&w.as_str())) {
        return Err(ApiError::forbidden(format!(
            "reports on the controller's database may not read {w}"
        )));
    }
    Ok(())
}

/// Parses a report SQL for `engine`: `TS()` expanded, one statement, only `@Field@` placeholders.
fn report_template(sql: &str, engine: ReportEngine) -> Result<Template, ApiError> {
    let t = Template::parse_for(&super::builtin::expand_timestamps(sql, engine), engine.dialect())
        .map_err(|e| ApiError::invalid(e.to_string()))?;
    if !t.single_statement {
        return Err(ApiError::invalid("a report query must be one statement"));
    }
    if let Some(p) = t
        .placeholders
        .iter()
        .find(|p| p.kind == PlaceholderKind::Variable)
    {
        return Err(ApiError::invalid(format!(
            "report queries use @Field@ placeholders; ${} is not one",
            p.name
        )));
    }
    Ok(t)
}

/// Runs a report with the user's field values (`params`; `cmp.Field` gives SQLCompare its own values).
pub async fn run_report(
    target: &Target,
    config: &ReportConfig,
    fields: &[super::config::ReportField],
    def: &ReportDef,
    params: &HashMap<String, String>,
) -> Result<ReportOutput, ApiError> {
    let limit = Duration::from_secs(config.query_timeout_s.unwrap_or(10));
    if target.own {
        for sql in def.queries() {
            check_own_database(sql)?;
        }
    }
    let mut used = BTreeMap::new();
    let value = |name: &str, prefix: &str| -> Result<String, ApiError> {
        if let Some(v) = params.get(&format!("{prefix}{name}")) {
            return Ok(v.clone());
        }
        if !prefix.is_empty() {
            if let Some(v) = params.get(name) {
                return Ok(v.clone());
            }
        }
        match fields
            .iter()
            .find(|f| f.id == name)
            .and_then(|f| f.default.clone())
        {
            Some(d) => Ok(d),
            None => Err(
                ApiError::invalid(format!("report {:?} needs a value for field {name:?}", def.id))
                    .with_details(serde_json::json!({"missing_field": name})),
            ),
        }
    };
    let main = report_template(&def.sql_query, target.engine)?;
    let values = main.bind_values(|p| {
        let v = value(&p.name, "")?;
        used.insert(p.name.clone(), v.clone());
        Ok::<_, ApiError>(v)
    })?;
    let table = read_only(target, &main.sql, &values, limit).await?;
    let mut out = ReportOutput {
        id: def.id.clone(),
        kind: def.kind,
        fields: used,
        table,
        total: None,
        percent: None,
        compare: None,
    };
    if let Some(total_sql) = &def.sql_total {
        let t = report_template(total_sql, target.engine)?;
        let values = t.bind_values(|p| value(&p.name, ""))?;
        let total = read_only(target, &t.sql, &values, limit).await?;
        out.percent = Some(percentages(&out.table, &total));
        out.total = Some(total);
    }
    if let Some(cmp_sql) = &def.sql_compare {
        let t = report_template(cmp_sql, target.engine)?;
        let values = t.bind_values(|p| value(&p.name, "cmp."))?;
        out.compare = Some(read_only(target, &t.sql, &values, limit).await?);
    }
    Ok(out)
}

fn number(v: &serde_json::Value) -> Option<f64> {
    match v {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Each main row's second column as a percentage of the total row with the same first column.
pub fn percentages(main: &Table, total: &Table) -> Table {
    let label = main.columns.first().cloned().unwrap_or_default();
    let what = main.columns.get(1).cloned().unwrap_or_default();
    let mut out = Table {
        columns: vec![label, format!("{what} (%)")],
        rows: Vec::new(),
        truncated: false,
    };
    for r in &main.rows {
        let (Some(key), Some(v)) = (r.first(), r.get(1).and_then(number)) else {
            continue;
        };
        let t = total
            .rows
            .iter()
            .find(|t| t.first() == Some(key))
            .and_then(|t| t.get(1))
            .and_then(number);
        let pct = match t {
            Some(t) if t != 0.0 => serde_json::Number::from_f64((v * 10000.0 / t).round() / 100.0)
                .map_or(serde_json::Value::Null, serde_json::Value::Number),
            _ => serde_json::Value::Null,
        };
        out.rows.push(vec![key.clone(), pct]);
    }
    out
}

/// A cell's value as text (null: empty; text unquoted).
fn text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The choices of a UserSelect field: `(value, label)` pairs from its query.
pub async fn field_options(target: &Target, sql: &str) -> Result<Vec<(String, String)>, ApiError> {
    if target.own {
        check_own_database(sql)?;
    }
    let t = report_template(sql, target.engine)?;
    if !t.placeholders.is_empty() {
        return Err(ApiError::invalid("a field's query takes no placeholders"));
    }
    let table = read_only(target, &t.sql, &[], Duration::from_secs(10)).await?;
    Ok(table
        .rows
        .iter()
        .take(5000)
        .filter_map(|r| {
            let v = text(r.first()?);
            let l = r.get(1).map(text).unwrap_or_else(|| v.clone());
            Some((v, l))
        })
        .collect())
}

/// A table as CSV (RFC 4180 quoting).
pub fn to_csv(t: &Table) -> String {
    fn cell(s: &str) -> String {
        // A leading formula character is quoted with an apostrophe so spreadsheets show it as text.
        let s = if s.starts_with(['=', '+', '-', '@']) && s.parse::<f64>().is_err() {
            format!("'{s}")
        } else {
            s.to_string()
        };
        if s.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s
        }
    }
    let mut out = String::new();
    out.push_str(&t.columns.iter().map(|c| cell(c)).collect::<Vec<_>>().join(","));
    out.push_str("\r\n");
    for r in &t.rows {
        let cells: Vec<String> = r.iter().map(|v| cell(&text(v))).collect();
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engines_by_url_and_their_parameters() {
        for (url, engine, dialect) in [
            ("sqlite:///tmp/r.db", ReportEngine::Sqlite, Dialect::Numbered),
            ("postgres://u@db/r", ReportEngine::Postgres, Dialect::Numbered),
            ("postgresql://u@db/r", ReportEngine::Postgres, Dialect::Numbered),
            ("mysql://u:p@db/r", ReportEngine::MySql, Dialect::MySql),
            ("MariaDB://u:p@db/r", ReportEngine::MariaDb, Dialect::MySql),
        ] {
            assert_eq!(ReportEngine::of_url(url), Some(engine), "{url}");
            assert_eq!(engine.dialect(), dialect);
        }
        assert_eq!(ReportEngine::of_url("oracle://db"), None);
        let t = report_template(
            "SELECT a FROM r WHERE b = '@B@' AND c > @C@",
            ReportEngine::MariaDb,
        )
        .unwrap();
        assert_eq!(t.sql, "SELECT a FROM r WHERE b = ? AND c > ?");
        assert!(report_template("SELECT $x", ReportEngine::MySql).is_err());
    }
}
