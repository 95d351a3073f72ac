//! The scheduler: schedules (a cron expression in a time zone) that start a project's run as a given user,
//! with a history of every slot handled.
//!
//! Each schedule remembers the last slot it handled. A tick every `tick_ms` looks at the slots since then: a slot
//! at most `grace_s` old fires now; older ones were missed while the controller was down (or stalled) and follow
//! the schedule's `missed` policy: `skip` records them as missed, `run_once` starts one catch-up run for all of
//! them. Slots while a schedule is disabled are neither fired nor missed.

pub mod cron_expr;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::execution::Engine;
use crate::store::schedules::ScheduleRow;
use crate::store::{self, audit, ms_to_rfc3339, new_id, now_ms, Store, StoreError};
use cron_expr::{CronError, CronSchedule};

/// Scheduler settings (`[scheduler]` in controller.toml).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SchedulerConfig {
    /// How often due slots are looked for, milliseconds.
    pub tick_ms: u64,
    /// A slot older than this when it is seen was missed, seconds.
    pub grace_s: u64,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig {
            tick_ms: 500,
            grace_s: 60,
        }
    }
}

/// What happens to slots missed while the controller was down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MissedPolicy {
    /// Record them as missed; start nothing.
    #[default]
    Skip,
    /// Start one run for all of them.
    RunOnce,
}

impl MissedPolicy {
    fn as_str(self) -> &'static str {
        match self {
            MissedPolicy::Skip => "skip",
            MissedPolicy::RunOnce => "run_once",
        }
    }
}

/// A new schedule.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSchedule {
    /// Unique name.
    pub name: String,
    /// Cron expression: 5 fields, or 6 with seconds first.
    pub cron: String,
    /// IANA time zone (default UTC).
    #[serde(default = "utc")]
    pub timezone: String,
    /// Project to run.
    pub project: String,
    /// User the run starts as (default: the caller).
    #[serde(default)]
    pub user: Option<String>,
    /// Fires (default true).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Missed-slot policy (default skip).
    #[serde(default)]
    pub missed: MissedPolicy,
}

fn utc() -> String {
    "UTC".into()
}

fn yes() -> bool {
    true
}

/// A schedule as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ScheduleView {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Cron expression.
    pub cron: String,
    /// Zone.
    pub timezone: String,
    /// Project.
    pub project: String,
    /// User the runs start as.
    pub user: String,
    /// Whether it fires.
    pub enabled: bool,
    /// Missed-slot policy.
    pub missed: String,
    /// Next slot (RFC 3339), when enabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    /// Who created it.
    pub created_by: String,
}

/// Scheduler failures.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    /// Bad expression or zone.
    #[error(transparent)]
    Cron(#[from] CronError),
    /// A field is invalid.
    #[error("{0}")]
    Invalid(String),
    /// No such schedule.
    #[error("no schedule {0}")]
    NotFound(String),
    /// Database.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn view(r: &ScheduleRow) -> ScheduleView {
    let next = if r.enabled {
        CronSchedule::parse(&r.cron, &r.timezone)
            .ok()
            .and_then(|c| c.next_after(r.last_slot.max(now_ms())))
            .map(ms_to_rfc3339)
    } else {
        None
    };
    ScheduleView {
        id: r.id.clone(),
        name: r.name.clone(),
        cron: r.cron.clone(),
        timezone: r.timezone.clone(),
        project: r.project.clone(),
        user: r.username.clone(),
        enabled: r.enabled,
        missed: r.missed.clone(),
        next,
        created_by: r.created_by.clone(),
    }
}

/// The scheduler (cheap to clone).
#[derive(Clone)]
pub struct Scheduler {
    store: Store,
    engine: Engine,
    config: SchedulerConfig,
}

impl Scheduler {
    /// A scheduler starting runs through `engine`.
    pub fn new(store: Store, engine: Engine, config: SchedulerConfig) -> Scheduler {
        Scheduler {
            store,
            engine,
            config,
        }
    }

    /// Every schedule.
    pub async fn list(&self) -> Result<Vec<ScheduleView>, ScheduleError> {
        Ok(store::schedules::list(&self.store)
            .await?
            .iter()
            .map(view)
            .collect())
    }

    /// One schedule by id or name.
    pub async fn get(&self, key: &str) -> Result<ScheduleView, ScheduleError> {
        Ok(view(&self.row(key).await?))
    }

    async fn row(&self, key: &str) -> Result<ScheduleRow, ScheduleError> {
        store::schedules::get(&self.store, key)
            .await?
            .ok_or_else(|| ScheduleError::NotFound(key.to_string()))
    }

    /// Creates a schedule (its clock starts now: earlier slots are not missed).
    pub async fn create(&self, new: NewSchedule, by: &str) -> Result<ScheduleView, ScheduleError> {
        if new.name.is_empty()
            || new.name.len() > 64
            || !new
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        {
            return Err(ScheduleError::Invalid(
                "name: 1-64 letters, digits, '_', '-' or '.'".into(),
            ));
        }
        CronSchedule::parse(&new.cron, &new.timezone)?;
        let user = new.user.clone().unwrap_or_else(|| by.to_string());
        if store::users::by_username(&self.store, &user).await?.is_none() {
            return Err(ScheduleError::Invalid(format!("user: no user {user}")));
        }
        if new.project.is_empty() || new.project.len() > 256 {
            return Err(ScheduleError::Invalid("project: required".into()));
        }
        let now = now_ms();
        let row = ScheduleRow {
            id: new_id(),
            name: new.name.clone(),
            cron: new.cron.trim().to_string(),
            timezone: new.timezone.clone(),
            project: new.project.clone(),
            username: user,
            enabled: new.enabled,
            missed: new.missed.as_str().into(),
            last_slot: now,
            created_by: by.to_string(),
            created_at: now,
        };
        let mut tx = self.store.begin_write().await?;
        store::schedules::insert(tx.conn(), &row).await?;
        audit::record(
            tx.conn(),
            by,
            "schedule.create",
            &row.name,
            None,
            Some(
                &serde_json::json!({"cron": row.cron, "timezone": row.timezone, "project": row.project,
                "user": row.username}),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(view(&row))
    }

    /// Enables or disables a schedule.
    pub async fn set_enabled(
        &self,
        key: &str,
        enabled: bool,
        by: &str,
    ) -> Result<ScheduleView, ScheduleError> {
        let row = self.row(key).await?;
        let mut tx = self.store.begin_write().await?;
        store::schedules::set_enabled(tx.conn(), &row.id, enabled, now_ms()).await?;
        let action = if enabled {
            "schedule.enable"
        } else {
            "schedule.disable"
        };
        audit::record(tx.conn(), by, action, &row.name, None, None).await?;
        tx.commit().await?;
        self.get(&row.id).await
    }

    /// Deletes a schedule and its history.
    pub async fn delete(&self, key: &str, by: &str) -> Result<(), ScheduleError> {
        let row = self.row(key).await?;
        let mut tx = self.store.begin_write().await?;
        store::schedules::delete(tx.conn(), &row.id).await?;
        audit::record(tx.conn(), by, "schedule.delete", &row.name, None, None).await?;
        tx.commit().await?;
        Ok(())
    }

    /// History of one schedule (by id or name) or of all, newest first.
    pub async fn history(
        &self,
        key: Option<&str>,
        limit: i64,
    ) -> Result<Vec<store::schedules::HistoryEntry>, ScheduleError> {
        let id = match key {
            Some(k) => Some(self.row(k).await?.id),
            None => None,
        };
        Ok(store::schedules::history(&self.store, id.as_deref(), limit).await?)
    }

    /// Handles the due slots of every enabled schedule once.
    pub async fn tick(&self) -> Result<(), ScheduleError> {
        let now = now_ms();
        for row in store::schedules::list(&self.store).await? {
            if !row.enabled {
                continue;
            }
            if let Err(e) = self.tick_one(&row, now).await {
                tracing::warn!(schedule = %row.name, error = %e, "schedule tick failed");
            }
        }
        Ok(())
    }

    async fn tick_one(&self, row: &ScheduleRow, now: i64) -> Result<(), ScheduleError> {
        let cron = CronSchedule::parse(&row.cron, &row.timezone)?;
        let (slots, more) = cron.slots_between(row.last_slot, now, 10_000);
        let Some(&latest) = slots.last() else {
            return Ok(());
        };
        let latest = if more {
            // Thousands of slots missed: the newest of them is the one that counts.
            let (tail, _) = cron.slots_between(now - self.config.grace_s as i64 * 1000 - 1, now, 1);
            tail.first().copied().unwrap_or(latest)
        } else {
            latest
        };
        let missed = slots.len() - 1 + usize::from(more);
        let on_time = now - latest <= self.config.grace_s as i64 * 1000;
        let mut tx = self.store.begin_write().await?;
        store::schedules::set_last_slot(tx.conn(), &row.id, now.max(latest)).await?;
        tx.commit().await?;
        if on_time {
            let detail = if missed > 0 {
                format!("{missed} earlier slot(s) missed")
            } else {
                String::new()
            };
            self.fire(row, latest, &detail).await
        } else if row.missed == MissedPolicy::RunOnce.as_str() {
            let detail = format!(
                "catch-up run for {} slot(s) missed while the controller was down",
                missed + 1
            );
            self.fire(row, latest, &detail).await
        } else {
            let detail = format!(
                "{} slot(s) missed while the controller was down; skipped",
                missed + 1
            );
            tracing::info!(schedule = %row.name, %detail, "missed slots skipped");
            let mut tx = self.store.begin_write().await?;
            store::schedules::add_history(tx.conn(), &row.id, latest, now_ms(), None, "missed", &detail)
                .await?;
            tx.commit().await?;
            Ok(())
        }
    }

    async fn fire(&self, row: &ScheduleRow, slot: i64, detail: &str) -> Result<(), ScheduleError> {
        let started = match store::users::by_username(&self.store, &row.username).await? {
            None => Err(format!("no user {}", row.username)),
            Some(user) if user.disabled => Err(format!("user {} is disabled", row.username)),
            Some(user) => {
                let caller = Caller::on_behalf_of(&user);
                self.engine
                    .start(&caller, &row.project)
                    .await
                    .map(|r| r.id)
                    .map_err(|e| e.message)
            }
        };
        let (run, outcome, detail) = match started {
            Ok(id) => {
                tracing::info!(schedule = %row.name, run = %id, "schedule started a run");
                (Some(id), "started", detail.to_string())
            }
            Err(why) => {
                tracing::warn!(schedule = %row.name, error = %why, "schedule could not start its run");
                let d = if detail.is_empty() {
                    why
                } else {
                    format!("{why} ({detail})")
                };
                (None, "failed", d)
            }
        };
        let mut tx = self.store.begin_write().await?;
        store::schedules::add_history(
            tx.conn(),
            &row.id,
            slot,
            now_ms(),
            run.as_deref(),
            outcome,
            &detail,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Ticks until shutdown.
    pub fn spawn(self, mut shutdown: tokio::sync::watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let period = std::time::Duration::from_millis(self.config.tick_ms.max(10));
            loop {
                if let Err(e) = self.tick().await {
                    tracing::warn!(error = %e, "scheduler tick failed");
                }
                tokio::select! {
                    _ = tokio::time::sleep(period) => {}
                    _ = shutdown.changed() => if *shutdown.borrow() { break },
                }
            }
        })
    }
}
