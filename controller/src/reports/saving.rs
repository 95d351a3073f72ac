//! Saving a finished run: one `results` row per test instance (set-up and tear-down tests are not saved, as in
//! the original), then the configured insert statements for every saved test against the report database,
//! all in one transaction, every `$variable` and `@field@` bound as a parameter. The scripts of UserScript fields
//! the statements use run once per save, before that transaction.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use sqlx::{AnyConnection, MySqlConnection};
use twister_proto::link::{EpInfo, HostFacts};
use utoipa::ToSchema;

use super::config::{FieldKind, ReportConfig};
use super::query::TargetPool;
use super::scripts::UserScripts;
use super::template::{bind_all, BoundValue, Dialect, PlaceholderKind, Template};
use crate::api::error::ApiError;
use crate::execution::plan::Plan;
use crate::secrets::SecretBox;
use crate::store::results::ResultRow;
use crate::store::{self, now_ms, Store};

/// What a save did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SaveReport {
    /// Run.
    pub run: String,
    /// Results saved (tests without set-up and tear-down).
    pub saved: usize,
    /// Insert statements executed against the report database.
    pub inserts: usize,
    /// Time to store the results, ms.
    pub results_ms: u64,
    /// Time to run the insert statements (one transaction), ms.
    pub inserts_ms: u64,
}

/// A saved test with what the insert variables need beyond its row.
struct Saved {
    row: ResultRow,
    summary: String,
    facts: HostFacts,
    /// The suite's merged fields (`row.fields` is their JSON).
    fields: BTreeMap<String, String>,
}

fn field_value(fields: &BTreeMap<String, String>, name: &str) -> String {
    fields
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

/// Builds the result rows of a finished run.
async fn rows(store: &Store, run_id: &str) -> Result<Vec<Saved>, ApiError> {
    let run = store::runs::get(store, run_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no run {run_id}")))?;
    let plan: Plan = serde_json::from_str(&run.plan).map_err(|e| ApiError::internal(e.to_string()))?;
    let items = store::runs::items(store, run_id).await?;
    // EP -> (station name, facts).
    let mut stations: HashMap<String, (String, HostFacts)> = HashMap::new();
    for s in store::stations::list(store).await? {
        let eps: Vec<EpInfo> = serde_json::from_str(&s.eps).unwrap_or_default();
        let facts: HostFacts = serde_json::from_str(&s.facts).unwrap_or_default();
        for ep in eps {
            stations.insert(ep.name, (s.name.clone(), facts.clone()));
        }
    }
    // Suite instance -> (name, merged fields); test instance -> (suite instance, case, iteration).
    let mut suites: HashMap<&str, (&str, BTreeMap<String, String>)> = HashMap::new();
    let mut tests = HashMap::new();
    for lane in &plan.lanes {
        for s in &lane.suites {
            let mut fields = s
                .parent
                .as_deref()
                .and_then(|p| suites.get(p))
                .map(|(_, f)| f.clone())
                .unwrap_or_else(|| plan.project.settings.fields.clone());
            fields.extend(s.fields.iter().map(|(k, v)| (k.clone(), v.clone())));
            suites.insert(s.id.as_str(), (s.name.as_str(), fields));
            for t in &s.tests {
                tests.insert(t.id.as_str(), (s.id.as_str(), &t.case, t.iteration));
            }
        }
    }
    let now = now_ms();
    let mut out = Vec::new();
    for it in items.iter().filter(|i| i.kind == "test") {
        let Some((suite_id, case, iteration)) = tests.get(it.id.as_str()) else {
            // Not in the stored plan (cannot happen: queued tests are added to it); nothing to save.
            continue;
        };
        if case.setup || case.teardown {
            continue;
        }
        let (suite_name, fields) = suites
            .get(suite_id)
            .cloned()
            .unwrap_or_else(|| ("", BTreeMap::new()));
        let (station, facts) = stations.get(&it.ep).cloned().unwrap_or_default();
        out.push(Saved {
            row: ResultRow {
                run_id: run_id.to_string(),
                item_id: it.id.clone(),
                project: run.project.clone(),
                suite: suite_name.to_string(),
                test: case.display_title(),
                file: case.file.clone(),
                ep: it.ep.clone(),
                station,
                username: run.username.clone(),
                status: it.status.clone(),
                reason: it.reason.clone(),
                started_at: it.started_at,
                ended_at: it.ended_at,
                duration_ms: it.started_at.zip(it.ended_at).map(|(s, e)| e - s),
                iteration: i64::from(*iteration),
                release: field_value(&fields, "release"),
                build: field_value(&fields, "build"),
                fields: serde_json::to_string(&fields).unwrap_or_else(|_| "{}".into()),
                log_url: format!("/api/v1/runs/{run_id}/logs?item={}", it.id),
                packets_url: Some(format!("/api/v1/capture/pcapng?run={run_id}&test={}", it.id)),
                saved_at: now,
            },
            summary: case.summary.clone(),
            facts,
            fields,
        });
    }
    Ok(out)
}

/// Saves a finished run's results (replacing an earlier save) and runs the configured inserts (`secrets` opens
/// the report database's sealed URL; `scripts`: where the UserScript fields' scripts are and how they run).
pub async fn save_run(
    store: &Store,
    secrets: &SecretBox,
    scripts: &UserScripts,
    run_id: &str,
) -> Result<SaveReport, ApiError> {
    let t0 = std::time::Instant::now();
    let saved = rows(store, run_id).await?;
    let all: Vec<ResultRow> = saved.iter().map(|s| s.row.clone()).collect();
    let mut tx = store.begin_write().await?;
    store::results::delete_run(tx.conn(), run_id).await?;
    store::results::insert_many(tx.conn(), &all).await?;
    tx.commit().await?;
    store.optimize().await?;
    let results_ms = t0.elapsed().as_millis() as u64;
    let t1 = std::time::Instant::now();
    let (config, _) = super::config::load(store, secrets).await?;
    let inserts = if config.inserts.is_empty() {
        0
    } else {
        run_inserts(store, &config, scripts, &saved).await?
    };
    tracing::info!(run = %run_id, saved = all.len(), inserts, "results saved");
    Ok(SaveReport {
        run: run_id.to_string(),
        saved: all.len(),
        inserts,
        results_ms,
        inserts_ms: t1.elapsed().as_millis() as u64,
    })
}

fn date(ms: Option<i64>) -> String {
    ms.and_then(chrono::DateTime::<chrono::Utc>::from_timestamp_millis)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

fn ce_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// The original `$twister_*` variables (and a few new ones) of one saved test (`ce_hostname`: read once per
/// save, not per test).
fn variables(s: &Saved, log: &str, ce_hostname: &str) -> HashMap<&'static str, String> {
    let r = &s.row;
    let crashed = matches!(r.status.as_str(), "error" | "aborted" | "timeout");
    let python = |f: &HostFacts| f.interpreters.get("python3").cloned().unwrap_or_default();
    HashMap::from([
        ("twister_ce_os", std::env::consts::OS.to_string()),
        ("twister_ep_os", s.facts.os.clone()),
        ("twister_ce_ip", "127.0.0.1".to_string()),
        ("twister_ce_hostname", ce_hostname.to_string()),
        (
            "twister_ep_ip",
            s.facts.addresses.first().cloned().unwrap_or_default(),
        ),
        ("twister_ep_hostname", s.facts.hostname.clone()),
        ("twister_ep_name", r.ep.clone()),
        ("twister_rf_fname", "/api/v1/resources".to_string()),
        ("twister_pf_fname", r.project.clone()),
        ("twister_ce_python_revision", String::new()),
        ("twister_ep_python_revision", python(&s.facts)),
        ("twister_suite_name", r.suite.clone()),
        (
            "twister_tc_name",
            r.file.rsplit('/').next().unwrap_or(&r.file).to_string(),
        ),
        ("twister_tc_full_path", r.file.clone()),
        ("twister_tc_title", r.test.clone()),
        ("twister_tc_description", s.summary.clone()),
        ("twister_tc_status", r.status.clone()),
        (
            "twister_tc_crash_detected",
            if crashed { "1" } else { "0" }.to_string(),
        ),
        (
            "twister_tc_time_elapsed",
            r.duration_ms
                .map(|d| format!("{:.3}", d as f64 / 1000.0))
                .unwrap_or_default(),
        ),
        ("twister_tc_date_started", date(r.started_at)),
        ("twister_tc_date_finished", date(r.ended_at)),
        ("twister_tc_log", log.to_string()),
        ("twister_tc_reason", r.reason.clone().unwrap_or_default()),
        ("twister_tc_iteration", r.iteration.to_string()),
        ("twister_run_id", r.run_id.clone()),
        ("twister_user", r.username.clone()),
        ("twister_station", r.station.clone()),
        ("twister_log_url", r.log_url.clone()),
        ("twister_packets_url", r.packets_url.clone().unwrap_or_default()),
    ])
}

/// Runs the script of every UserScript field that a statement names (`@id@` or `$id`), once; their values by
/// field id. A script that fails or runs too long fails the save with a 422 naming the field and the script.
async fn script_values(
    config: &ReportConfig,
    templates: &[Template],
    scripts: &UserScripts,
    saved: &[Saved],
) -> Result<HashMap<String, String>, ApiError> {
    let mut values = HashMap::new();
    let Some(first) = saved.first() else {
        return Ok(values);
    };
    for f in config.fields.iter().filter(|f| f.kind == FieldKind::UserScript) {
        let used = templates
            .iter()
            .any(|t| t.placeholders.iter().any(|p| p.name == f.id));
        if !used {
            continue;
        }
        let env = BTreeMap::from([
            ("TWISTER_RUN".to_string(), first.row.run_id.clone()),
            ("TWISTER_PROJECT".to_string(), first.row.project.clone()),
            ("TWISTER_USER".to_string(), first.row.username.clone()),
            ("TWISTER_FIELD".to_string(), f.id.clone()),
        ]);
        match scripts.value(&f.sql_query, &env).await {
            Ok(v) => {
                values.insert(f.id.clone(), v);
            }
            Err(why) => {
                let message = format!("field {}: script {}: {why}", f.id, f.sql_query.trim());
                tracing::warn!(run = %first.row.run_id, field = %f.id, error = %why, "UserScript field failed");
                return Err(ApiError::new(
                    axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                    "report_script",
                    message,
                ));
            }
        }
    }
    Ok(values)
}

/// Runs every insert statement for every saved test in one transaction; returns how many ran.
async fn run_inserts(
    store: &Store,
    config: &ReportConfig,
    scripts: &UserScripts,
    saved: &[Saved],
) -> Result<usize, ApiError> {
    let target = match config.database_url {
        None => None,
        Some(_) => Some(super::query::target(store, config).await?),
    };
    let dialect = target.as_ref().map_or(Dialect::Numbered, |t| t.engine.dialect());
    let parse = |sql: &str| Template::parse_for(sql, dialect);
    let templates: Vec<Template> = config
        .inserts
        .iter()
        .enumerate()
        .map(|(i, s)| parse(s).map_err(|e| ApiError::invalid(format!("insert {}: {e}", i + 1))))
        .collect::<Result<_, _>>()?;
    let db_selects: HashMap<&str, Template> = config
        .fields
        .iter()
        .filter(|f| f.kind == FieldKind::DbSelect)
        .map(|f| {
            parse(&f.sql_query)
                .map(|t| (f.id.as_str(), t))
                .map_err(|e| ApiError::invalid(format!("field {}: {e}", f.id)))
        })
        .collect::<Result<_, _>>()?;
    let needs_log = templates
        .iter()
        .any(|t| t.placeholders.iter().any(|p| p.name == "twister_tc_log"));
    // Scripts run before the transaction: a slow one never holds the database's writer.
    let script_values = script_values(config, &templates, scripts, saved).await?;
    let inserts = Inserts {
        templates: &templates,
        db_selects: &db_selects,
        scripts: &script_values,
        saved,
        needs_log,
    };
    let count = match target.map(|t| t.pool) {
        None => {
            let mut tx = store.begin_write().await?;
            let count = inserts.run(store, tx.conn()).await?;
            tx.commit().await?;
            count
        }
        Some(TargetPool::Any(pool, _)) => {
            let mut tx = pool.begin().await.map_err(report_db_error)?;
            let count = inserts.run(store, &mut *tx).await?;
            tx.commit().await.map_err(report_db_error)?;
            count
        }
        Some(TargetPool::MySql(pool, _)) => {
            let mut tx = pool.begin().await.map_err(report_db_error)?;
            let count = inserts.run(store, &mut *tx).await?;
            tx.commit().await.map_err(report_db_error)?;
            count
        }
    };
    Ok(count)
}

/// A connection the insert statements run on: the `Any` driver's, or MySQL's own.
trait InsertConn {
    /// The first column of the first row of `sql` as text (empty when there is none).
    async fn select_text(&mut self, sql: &str) -> Result<String, sqlx::Error>;
    /// Executes `sql` with `values` bound.
    async fn execute_bound(&mut self, sql: &str, values: &[BoundValue]) -> Result<(), sqlx::Error>;
}

impl InsertConn for AnyConnection {
    async fn select_text(&mut self, sql: &str) -> Result<String, sqlx::Error> {
        use sqlx::Row;
        let row = sqlx::query(sql).fetch_optional(&mut *self).await?;
        Ok(row
            .map(|r| {
                r.try_get::<Option<i64>, _>(0)
                    .map(|v| v.map(|x| x.to_string()))
                    .or_else(|_| r.try_get::<Option<f64>, _>(0).map(|v| v.map(|x| x.to_string())))
                    .or_else(|_| r.try_get::<Option<String>, _>(0))
                    .unwrap_or_default()
                    .unwrap_or_default()
            })
            .unwrap_or_default())
    }

    async fn execute_bound(&mut self, sql: &str, values: &[BoundValue]) -> Result<(), sqlx::Error> {
        bind_all(sqlx::query(sql), values).execute(&mut *self).await?;
        Ok(())
    }
}

impl InsertConn for MySqlConnection {
    async fn select_text(&mut self, sql: &str) -> Result<String, sqlx::Error> {
        let row = sqlx::query(sql).fetch_optional(&mut *self).await?;
        Ok(super::mysql::first_as_text(row.as_ref()))
    }

    async fn execute_bound(&mut self, sql: &str, values: &[BoundValue]) -> Result<(), sqlx::Error> {
        super::mysql::bind_all(sqlx::query(sql), values)
            .execute(&mut *self)
            .await?;
        Ok(())
    }
}

/// One save's insert statements, parsed for the report database, and the tests they run for.
struct Inserts<'a> {
    templates: &'a [Template],
    db_selects: &'a HashMap<&'a str, Template>,
    /// UserScript fields' values (their scripts ran once for the whole save).
    scripts: &'a HashMap<String, String>,
    saved: &'a [Saved],
    needs_log: bool,
}

fn report_db_error(e: sqlx::Error) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::BAD_GATEWAY,
        "report_database",
        format!("report database: {e}"),
    )
}

impl Inserts<'_> {
    /// Runs every statement for every saved test on `conn`; returns how many ran.
    async fn run(&self, store: &Store, conn: &mut impl InsertConn) -> Result<usize, ApiError> {
        let Inserts {
            templates,
            db_selects,
            scripts,
            saved,
            needs_log,
        } = *self;
        let mut count = 0;
        let ce_hostname = ce_hostname();
        for s in saved {
            let log = if needs_log {
                let f = store::runs::LogFilter {
                    item: Some(s.row.item_id.clone()),
                    limit: 100_000,
                    ..Default::default()
                };
                store::runs::logs(store, &s.row.run_id, &f)
                    .await?
                    .into_iter()
                    .map(|l| l.line)
                    .collect::<Vec<_>>()
                    .join("\n")
            } else {
                String::new()
            };
            let vars = variables(s, &log, &ce_hostname);
            for (n, t) in templates.iter().enumerate() {
                // DbSelect fields are read now, inside the transaction (MAX(id)+1 sees the rows inserted so far).
                let mut selected: HashMap<String, String> = HashMap::new();
                for p in t.placeholders.iter().filter(|p| p.kind == PlaceholderKind::Field) {
                    if selected.contains_key(&p.name) {
                        continue;
                    }
                    if let Some(v) = scripts.get(&p.name) {
                        selected.insert(p.name.clone(), v.clone());
                        continue;
                    }
                    let q = db_selects.get(p.name.as_str()).ok_or_else(|| {
                        ApiError::invalid(format!(
                            "insert {}: @{}@ is not a DbSelect or UserScript field",
                            n + 1,
                            p.name
                        ))
                    })?;
                    let v = conn.select_text(&q.sql).await.map_err(report_db_error)?;
                    selected.insert(p.name.clone(), v);
                }
                let values = t.bind_values(|p| match p.kind {
                    PlaceholderKind::Field => Ok(selected.get(&p.name).cloned().unwrap_or_default()),
                    PlaceholderKind::Variable => vars
                        .get(p.name.as_str())
                        .cloned()
                        .or_else(|| scripts.get(&p.name).cloned())
                        .or_else(|| s.fields.get(&p.name).cloned())
                        .ok_or_else(|| {
                            ApiError::invalid(format!(
                                "insert {}: ${} is neither a $twister_ variable nor a field of suite {:?}",
                                n + 1,
                                p.name,
                                s.row.suite
                            ))
                        }),
                })?;
                conn.execute_bound(&t.sql, &values)
                    .await
                    .map_err(|e| ApiError::invalid(format!("insert {} failed: {e}", n + 1)))?;
                count += 1;
            }
        }
        Ok(count)
    }
}

/// Saves after a run ends when its project asks for it; a failure is logged, never fails the run.
pub async fn autosave(
    store: &Store,
    secrets: &SecretBox,
    scripts: &UserScripts,
    run_id: &str,
    plan: &Plan,
) -> Option<String> {
    if !plan.project.settings.db_autosave {
        return None;
    }
    match save_run(store, secrets, scripts, run_id).await {
        Ok(_) => None,
        Err(e) => {
            tracing::warn!(run = %run_id, error = %e.message, "saving results failed");
            Some(format!("saving results failed: {}", e.message))
        }
    }
}
