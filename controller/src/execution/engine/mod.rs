//! The run engine: the one writer of run state. It expands a project into a plan, runs one task per EP lane,
//! dispatches tests to stations as numbered commands, applies the events stations send back, and persists every
//! transition before acknowledging it, so a restarted controller resumes each unfinished run from the store.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use serde::Serialize;
use serde_json::json;
use tokio::sync::{watch, Notify};
use twister_proto::link::{Command, Down, TestJob};
use twister_proto::TestStatus;
use utoipa::ToSchema;

mod writer;

use writer::{Start, WriteRequest};

use super::hub::{EpLocation, Hub};
use super::plan::{Plan, SuiteInstance, TestInstance};
use super::project::Project;
use super::sources::Sources;
use crate::api::error::ApiError;
use crate::auth::{generate_token, Caller, Permission, TokenKind, TokenScope};
use crate::config::Config;
use crate::events::{Event, EventBus};
use crate::inventory::reservations::{Reservations, ReserveRequest};
use crate::inventory::NodePath;
use crate::secrets::SecretBox;
use crate::store::reservations::ReservationFilter;
use crate::store::runs::{ItemRow, RunRow};
use crate::store::{self, audit, ms_to_rfc3339, new_id, now_ms, Store, StoreError};

/// What a user asked a run to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Go on.
    Run,
    /// Finish the current tests, start no new one.
    Pause,
    /// Kill running tests (aborted); the rest are not executed.
    Stop,
}

/// A live run's shared state.
pub struct RunCtl {
    /// Run id.
    pub id: String,
    /// Who started it.
    pub username: String,
    /// The plan.
    pub plan: Plan,
    control: watch::Sender<Control>,
    changed: Notify,
    halt: Mutex<Option<String>>,
    stopped_by: Mutex<Option<String>>,
    extra: Mutex<Extra>,
    /// Test instance -> wake-up for the lane waiting on it (so one result wakes one lane, not all of them).
    item_waiters: Mutex<HashMap<String, Arc<Notify>>>,
}

/// Tests queued into and de-queued from suites of a live run.
#[derive(Default)]
struct Extra {
    /// Suite instance -> tests queued at its end, not yet started.
    queued: HashMap<String, VecDeque<TestInstance>>,
    /// Test instances removed before they started.
    dequeued: HashSet<String>,
    /// Suite instances that take no more tests.
    closed: HashSet<String>,
}

impl RunCtl {
    fn item_notify(&self, id: &str) -> Arc<Notify> {
        self.item_waiters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(id.to_string())
            .or_default()
            .clone()
    }

    fn forget_item(&self, id: &str) {
        self.item_waiters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
    }

    fn wake_item(&self, id: &str) {
        let n = self
            .item_waiters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned();
        if let Some(n) = n {
            n.notify_waiters();
        }
    }

    fn extra(&self) -> std::sync::MutexGuard<'_, Extra> {
        self.extra.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn halt_reason(&self) -> Option<String> {
        self.halt.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
    fn set_halt(&self, why: String) {
        let mut h = self.halt.lock().unwrap_or_else(|p| p.into_inner());
        if h.is_none() {
            *h = Some(why);
        }
    }
    fn stop_reason(&self) -> String {
        match self.stopped_by.lock().unwrap_or_else(|p| p.into_inner()).clone() {
            Some(u) => format!("run stopped by {u}"),
            None => "run stopped".into(),
        }
    }
}

/// A run as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RunView {
    /// Id.
    pub id: String,
    /// Project.
    pub project: String,
    /// Who started it.
    pub user: String,
    /// `pending`, `running`, `paused`, `stopping`, `finished`.
    pub state: String,
    /// Rolled-up status.
    pub status: String,
    /// Counts per test status, plus `planned` and `executed`.
    pub counts: BTreeMap<String, usize>,
    /// Created.
    pub created_at: String,
    /// Started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// Ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<String>,
    /// Why it ended so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Suite and test instances (only in single-run answers).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<ItemView>,
}

/// A suite or test instance as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ItemView {
    /// Id within the run.
    pub id: String,
    /// Parent suite instance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// `suite` or `test`.
    pub kind: String,
    /// Name or title.
    pub name: String,
    /// EP.
    pub ep: String,
    /// Test file.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub file: String,
    /// Status.
    pub status: String,
    /// Why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Exit code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i64>,
    /// Started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// Ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<String>,
    /// Elapsed ms (so far, while running).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elapsed_ms: Option<i64>,
}

fn item_view(i: &ItemRow, now: i64) -> ItemView {
    ItemView {
        id: i.id.clone(),
        parent: i.parent.clone(),
        kind: i.kind.clone(),
        name: i.name.clone(),
        ep: i.ep.clone(),
        file: i.file.clone(),
        status: i.status.clone(),
        reason: i.reason.clone(),
        exit_code: i.exit_code,
        started_at: i.started_at.map(ms_to_rfc3339),
        ended_at: i.ended_at.map(ms_to_rfc3339),
        elapsed_ms: i.started_at.map(|s| i.ended_at.unwrap_or(now) - s),
    }
}

fn status_of(s: &str) -> TestStatus {
    s.parse().unwrap_or(TestStatus::Error)
}

/// The engine (cheap to clone).
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    /// Opens the report database URL when a run's results are saved.
    secrets: SecretBox,
    events: EventBus,
    reservations: Reservations,
    hub: Hub,
    sources: Sources,
    config: Arc<Config>,
    public_url: OnceLock<String>,
    runs: Mutex<HashMap<String, Arc<RunCtl>>>,
    writer: tokio::sync::mpsc::Sender<WriteRequest>,
}

/// Permissions a test's own token may carry (further narrowed by its user's role). `RevealSecrets` lets a test
/// log in to its devices (`twister device run`) with the inventory's credentials, as its user could.
const TEST_TOKEN_PERMISSIONS: [Permission; 6] = [
    Permission::ViewInventory,
    Permission::ChangeTestbed,
    Permission::Reserve,
    Permission::ChangeGlobals,
    Permission::ViewReports,
    Permission::RevealSecrets,
];

impl Engine {
    /// An engine over the controller's parts.
    pub fn new(
        store: Store,
        secrets: SecretBox,
        events: EventBus,
        reservations: Reservations,
        hub: Hub,
        sources: Sources,
        config: Arc<Config>,
    ) -> Engine {
        let (writer, mut queue) = tokio::sync::mpsc::channel::<WriteRequest>(16384);
        let engine = Engine {
            inner: Arc::new(Inner {
                store,
                secrets,
                events,
                reservations,
                hub,
                sources,
                config,
                public_url: OnceLock::new(),
                runs: Mutex::new(HashMap::new()),
                writer,
            }),
        };
        // The writer holds the engine weakly: it ends when the engine is dropped.
        let weak = Arc::downgrade(&engine.inner);
        tokio::spawn(async move {
            while let Some(first) = queue.recv().await {
                let mut group = vec![first];
                while group.len() < writer::GROUP {
                    match queue.try_recv() {
                        Ok(b) => group.push(b),
                        Err(_) => break,
                    }
                }
                let Some(inner) = weak.upgrade() else { break };
                Engine { inner }.write_group(group).await;
            }
        });
        engine
    }

    /// The station hub.
    pub fn hub(&self) -> &Hub {
        &self.inner.hub
    }

    /// The test sources.
    pub fn sources(&self) -> &Sources {
        &self.inner.sources
    }

    /// Sets the URL tests use to reach the controller (known once the listener is bound).
    pub fn set_public_url(&self, url: String) {
        let _ = self.inner.public_url.set(url);
    }

    fn ctl(&self, id: &str) -> Option<Arc<RunCtl>> {
        self.inner
            .runs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned()
    }

    /// Starts a run of `project` for `caller`.
    pub async fn start(&self, caller: &Caller, project: &str) -> Result<RunView, ApiError> {
        caller.require(Permission::RunTests)?;
        let mut conn = self
            .inner
            .store
            .pool()
            .acquire()
            .await
            .map_err(StoreError::from)?;
        let row = store::projects::by_name(&mut conn, project)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("no project {project}")))?;
        drop(conn);
        let project: Project =
            serde_json::from_str(&row.doc).map_err(|e| ApiError::internal(e.to_string()))?;
        project.validate()?;
        crate::reports::config::check_project(&self.inner.store, &project).await?;
        let plan = Plan::expand(&project)?;
        // Every file must exist now: a typo should fail the start, not the tenth test an hour later.
        for lane in &plan.lanes {
            for s in &lane.suites {
                for t in &s.tests {
                    self.inner.sources.resolve(&t.case.file).map_err(|_| {
                        ApiError::invalid(format!(
                            "suite {:?}: test file {} does not exist",
                            s.name, t.case.file
                        ))
                    })?;
                }
            }
        }
        let now = now_ms();
        let id = new_id();
        let run = RunRow {
            id: id.clone(),
            project: project.name.clone(),
            username: caller.username.clone(),
            state: "pending".into(),
            status: "pending".into(),
            plan: serde_json::to_string(&plan).map_err(|e| ApiError::internal(e.to_string()))?,
            created_at: now,
            started_at: None,
            ended_at: None,
            reason: None,
        };
        let mut tx = self.inner.store.begin_write().await?;
        store::runs::insert(tx.conn(), &run).await?;
        for (ord, it) in plan.items().into_iter().enumerate() {
            store::runs::insert_item(
                tx.conn(),
                &ItemRow {
                    run_id: id.clone(),
                    id: it.id,
                    parent: it.parent,
                    kind: it.kind.into(),
                    // Gaps leave room for tests queued into a suite while it runs.
                    ord: ord as i64 * 1000,
                    name: it.name,
                    ep: it.ep,
                    file: it.file,
                    status: "pending".into(),
                    reason: None,
                    exit_code: None,
                    started_at: None,
                    ended_at: None,
                },
            )
            .await?;
        }
        audit::record(
            tx.conn(),
            &caller.username,
            "run.start",
            &id,
            None,
            Some(&json!({"project": project.name})),
        )
        .await?;
        tx.commit().await?;
        self.launch(run.id.clone(), caller.username.clone(), plan, Control::Run);
        self.publish_run(&id, "run.started", &caller.username);
        self.view(&id, true).await
    }

    fn launch(&self, id: String, username: String, plan: Plan, control: Control) {
        let (tx, _) = watch::channel(control);
        let ctl = Arc::new(RunCtl {
            id: id.clone(),
            username,
            plan,
            control: tx,
            changed: Notify::new(),
            halt: Mutex::new(None),
            stopped_by: Mutex::new(None),
            extra: Mutex::new(Extra::default()),
            item_waiters: Mutex::new(HashMap::new()),
        });
        self.inner
            .runs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, ctl.clone());
        let engine = self.clone();
        tokio::spawn(async move { engine.drive(ctl).await });
    }

    /// Resumes every unfinished run after a restart.
    pub async fn resume_unfinished(&self) -> Result<usize, ApiError> {
        let runs = store::runs::unfinished(&self.inner.store).await?;
        let n = runs.len();
        for r in runs {
            let plan: Plan = match serde_json::from_str(&r.plan) {
                Ok(p) => p,
                Err(e) => {
                    tracing::error!(run = %r.id, error = %e, "cannot read a run's plan; ending it");
                    let mut tx = self.inner.store.begin_write().await?;
                    store::runs::set_state(
                        tx.conn(),
                        &r.id,
                        "finished",
                        "error",
                        None,
                        Some(now_ms()),
                        Some("plan unreadable"),
                    )
                    .await?;
                    tx.commit().await?;
                    continue;
                }
            };
            let control = match r.state.as_str() {
                "paused" => Control::Pause,
                "stopping" => Control::Stop,
                _ => Control::Run,
            };
            tracing::info!(run = %r.id, state = %r.state, "resuming run");
            self.launch(r.id.clone(), r.username.clone(), plan, control);
        }
        Ok(n)
    }

    /// Pauses, resumes or stops a run.
    pub async fn control(&self, caller: &Caller, id: &str, action: &str) -> Result<RunView, ApiError> {
        caller.require(Permission::RunTests)?;
        let run = store::runs::get(&self.inner.store, id)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("no run {id}")))?;
        if run.username != caller.username && !caller.has(Permission::ChangeUsers) {
            return Err(ApiError::forbidden(format!(
                "run {id} belongs to {}",
                run.username
            )));
        }
        let ctl = self
            .ctl(id)
            .ok_or_else(|| ApiError::conflict(format!("run {id} has finished")))?;
        let (control, state) = match action {
            "pause" => (Control::Pause, "paused"),
            "resume" => (Control::Run, "running"),
            "stop" => (Control::Stop, "stopping"),
            other => {
                return Err(ApiError::bad_request(format!(
                    "unknown action {other:?}: pause, resume or stop"
                )))
            }
        };
        if *ctl.control.borrow() == Control::Stop {
            return Err(ApiError::conflict(format!("run {id} is stopping")));
        }
        if control == Control::Stop {
            *ctl.stopped_by.lock().unwrap_or_else(|p| p.into_inner()) = Some(caller.username.clone());
        }
        let mut tx = self.inner.store.begin_write().await?;
        store::runs::set_state(tx.conn(), id, state, &run.status, None, None, None).await?;
        audit::record(
            tx.conn(),
            &caller.username,
            &format!("run.{action}"),
            id,
            None,
            None,
        )
        .await?;
        tx.commit().await?;
        ctl.control.send_replace(control);
        ctl.changed.notify_waiters();
        if control == Control::Stop {
            self.kill_running(&ctl, TestStatus::Aborted, &ctl.stop_reason())
                .await?;
        }
        self.publish_run(id, &format!("run.{state}"), &caller.username);
        self.view(id, false).await
    }

    /// Queues a test at the end of a suite instance of a live run.
    pub async fn queue(
        &self,
        caller: &Caller,
        run: &str,
        suite_id: &str,
        case: super::project::TestCase,
    ) -> Result<ItemView, ApiError> {
        caller.require(Permission::RunTests)?;
        let ctl = self.owned_live(caller, run).await?;
        super::project::check_relative_file("test file", &case.file)?;
        self.inner
            .sources
            .resolve(&case.file)
            .map_err(|_| ApiError::invalid(format!("test file {} does not exist", case.file)))?;
        if case.setup || case.teardown || case.depends_on.is_some() || case.repeat != 1 {
            return Err(ApiError::invalid(
                "a queued test is a plain test: no setup, teardown, dependency or repeat",
            ));
        }
        let (lane_ep, _suite) = ctl
            .plan
            .lanes
            .iter()
            .find_map(|l| {
                l.suites
                    .iter()
                    .find(|s| s.id == suite_id)
                    .map(|s| (l.ep.clone(), s.clone()))
            })
            .ok_or_else(|| ApiError::not_found(format!("run {run} has no suite {suite_id}")))?;
        let items = store::runs::items(&self.inner.store, run).await?;
        let in_suite: Vec<&ItemRow> = items
            .iter()
            .filter(|i| i.parent.as_deref() == Some(suite_id))
            .collect();
        let n = in_suite
            .iter()
            .filter(|i| i.id.starts_with(&format!("{suite_id}.q")))
            .count()
            + 1;
        let suite_ord = items
            .iter()
            .find(|i| i.id == suite_id)
            .map(|i| i.ord)
            .unwrap_or(0);
        let ord = in_suite.iter().map(|i| i.ord).max().unwrap_or(suite_ord) + 1;
        // Queued tests take the ord gap after the suite's last test (see `start`).
        if n > 999 {
            return Err(ApiError::conflict("too many tests queued into this suite"));
        }
        let inst = TestInstance {
            id: format!("{suite_id}.q{n}"),
            case,
            iteration: 1,
        };
        let row = ItemRow {
            run_id: run.to_string(),
            id: inst.id.clone(),
            parent: Some(suite_id.to_string()),
            kind: "test".into(),
            ord,
            name: inst.case.display_title(),
            ep: lane_ep,
            file: inst.case.file.clone(),
            status: "pending".into(),
            reason: None,
            exit_code: None,
            started_at: None,
            ended_at: None,
        };
        let suite_done = items
            .iter()
            .any(|i| i.id == suite_id && status_of(&i.status).is_final());
        if suite_done || ctl.extra().closed.contains(suite_id) {
            return Err(ApiError::conflict(format!(
                "suite {suite_id} has finished; queue into a later one"
            )));
        }
        let stored = self
            .edited_plan(run, |plan| {
                for s in plan.lanes.iter_mut().flat_map(|l| l.suites.iter_mut()) {
                    if s.id == suite_id {
                        s.tests.push(inst.clone());
                    }
                }
            })
            .await?;
        let mut tx = self.inner.store.begin_write().await?;
        store::runs::insert_item(tx.conn(), &row).await?;
        store::runs::set_plan(tx.conn(), run, &stored).await?;
        audit::record(
            tx.conn(),
            &caller.username,
            "run.queue",
            run,
            None,
            Some(&json!({"item": inst.id, "file": inst.case.file})),
        )
        .await?;
        tx.commit().await?;
        // The lane either takes it from the queue, or closed the suite meanwhile: then it never runs.
        let taken = {
            let mut extra = ctl.extra();
            if extra.closed.contains(suite_id) {
                false
            } else {
                extra
                    .queued
                    .entry(suite_id.to_string())
                    .or_default()
                    .push_back(inst.clone());
                true
            }
        };
        if !taken {
            self.finish_item(
                run,
                &inst.id,
                TestStatus::NotExecuted,
                Some("queued after its suite finished"),
                None,
            )
            .await?;
            return Err(ApiError::conflict(format!(
                "suite {suite_id} has finished; queue into a later one"
            )));
        }
        ctl.changed.notify_waiters();
        self.publish_run(run, "run.queued", &caller.username);
        Ok(item_view(&row, now_ms()))
    }

    /// Removes a test that has not started from a live run.
    pub async fn dequeue(&self, caller: &Caller, run: &str, item: &str) -> Result<(), ApiError> {
        caller.require(Permission::RunTests)?;
        let ctl = self.owned_live(caller, run).await?;
        {
            let mut conn = self
                .inner
                .store
                .pool()
                .acquire()
                .await
                .map_err(StoreError::from)?;
            let row = store::runs::item(&mut conn, run, item)
                .await?
                .ok_or_else(|| ApiError::not_found(format!("run {run} has no item {item}")))?;
            if row.kind != "test" || row.status != "pending" {
                return Err(ApiError::conflict(format!(
                    "{item} is a {} that is {}; only pending tests can be de-queued",
                    row.kind, row.status
                )));
            }
        }
        {
            let mut extra = ctl.extra();
            extra.dequeued.insert(item.to_string());
            for q in extra.queued.values_mut() {
                q.retain(|t| t.id != item);
            }
        }
        let stored = self
            .edited_plan(run, |plan| {
                for s in plan.lanes.iter_mut().flat_map(|l| l.suites.iter_mut()) {
                    s.tests.retain(|t| t.id != item);
                }
            })
            .await?;
        let mut tx = self.inner.store.begin_write().await?;
        if !store::runs::delete_pending_item(tx.conn(), run, item).await? {
            return Err(ApiError::conflict(format!("{item} has just started")));
        }
        store::runs::set_plan(tx.conn(), run, &stored).await?;
        audit::record(
            tx.conn(),
            &caller.username,
            "run.dequeue",
            run,
            None,
            Some(&json!({"item": item})),
        )
        .await?;
        tx.commit().await?;
        ctl.changed.notify_waiters();
        self.publish_run(run, "run.dequeued", &caller.username);
        Ok(())
    }

    /// A run's stored plan with `edit` applied, as JSON to store (queued and de-queued tests must survive a
    /// restart).
    async fn edited_plan(&self, run: &str, edit: impl FnOnce(&mut Plan)) -> Result<String, ApiError> {
        let stored = store::runs::get(&self.inner.store, run)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("no run {run}")))?;
        let mut plan: Plan = serde_json::from_str(&stored.plan).map_err(ApiError::internal)?;
        edit(&mut plan);
        serde_json::to_string(&plan).map_err(ApiError::internal)
    }

    async fn owned_live(&self, caller: &Caller, run: &str) -> Result<Arc<RunCtl>, ApiError> {
        let row = store::runs::get(&self.inner.store, run)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("no run {run}")))?;
        if row.username != caller.username && !caller.has(Permission::ChangeUsers) {
            return Err(ApiError::forbidden(format!(
                "run {run} belongs to {}",
                row.username
            )));
        }
        self.ctl(run)
            .ok_or_else(|| ApiError::conflict(format!("run {run} has finished")))
    }

    async fn kill_running(&self, ctl: &RunCtl, status: TestStatus, reason: &str) -> Result<(), ApiError> {
        for it in store::runs::items(&self.inner.store, &ctl.id).await? {
            if it.kind != "test" || it.status != "running" {
                continue;
            }
            match self.inner.hub.locate(&it.ep) {
                EpLocation::Online { station_id } => {
                    self.inner
                        .hub
                        .send(
                            &station_id,
                            Command::StopTest {
                                run: ctl.id.clone(),
                                test: it.id.clone(),
                                status,
                                reason: reason.to_string(),
                            },
                        )
                        .await?;
                }
                _ => {
                    self.finish_item(&ctl.id, &it.id, status, Some(reason), None)
                        .await?;
                }
            }
        }
        Ok(())
    }

    /// A run with counts (and its items with `items`).
    pub async fn view(&self, id: &str, with_items: bool) -> Result<RunView, ApiError> {
        let run = store::runs::get(&self.inner.store, id)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("no run {id}")))?;
        let items = store::runs::items(&self.inner.store, id).await?;
        Ok(run_view(&run, &items, with_items))
    }

    /// Recent runs with counts.
    pub async fn list(
        &self,
        user: Option<&str>,
        live_only: bool,
        limit: i64,
    ) -> Result<Vec<RunView>, ApiError> {
        let runs = store::runs::list(&self.inner.store, user, live_only, limit).await?;
        let mut out = Vec::with_capacity(runs.len());
        for r in runs {
            let items = store::runs::items(&self.inner.store, &r.id).await?;
            out.push(run_view(&r, &items, false));
        }
        Ok(out)
    }

    // ---------------------------------------------------------------- station events

    // ---------------------------------------------------------------- driving a run

    async fn drive(self, ctl: Arc<RunCtl>) {
        if let Err(e) = self.drive_inner(&ctl).await {
            tracing::error!(run = %ctl.id, error = %e.message, "run failed");
            let mut tx = match self.inner.store.begin_write().await {
                Ok(tx) => tx,
                Err(e) => {
                    tracing::error!(run = %ctl.id, error = %e, "cannot record the failure");
                    return;
                }
            };
            let _ = store::runs::set_state(
                tx.conn(),
                &ctl.id,
                "finished",
                "error",
                None,
                Some(now_ms()),
                Some(&format!("engine error: {}", e.message)),
            )
            .await;
            let _ = tx.commit().await;
        }
        self.inner
            .runs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&ctl.id);
        self.publish_run(&ctl.id, "run.finished", &ctl.username);
    }

    async fn drive_inner(&self, ctl: &Arc<RunCtl>) -> Result<(), ApiError> {
        {
            let state = match *ctl.control.borrow() {
                Control::Run => "running",
                Control::Pause => "paused",
                Control::Stop => "stopping",
            };
            let first_start = store::runs::get(&self.inner.store, &ctl.id)
                .await?
                .is_some_and(|r| r.started_at.is_none());
            let mut tx = self.inner.store.begin_write().await?;
            store::runs::set_state(tx.conn(), &ctl.id, state, "running", Some(now_ms()), None, None).await?;
            tx.commit().await?;
            if first_start {
                if let Some(pre) = ctl.plan.project.settings.pre_script.clone() {
                    if let Some(why) = self.script(ctl, "pre-run", &pre).await? {
                        if ctl.plan.project.settings.scripts_mandatory {
                            ctl.set_halt(format!("pre-run script {pre} failed ({why})"));
                            let halt = ctl.halt_reason().unwrap_or_default();
                            for it in store::runs::items(&self.inner.store, &ctl.id).await? {
                                self.finish_item(&ctl.id, &it.id, TestStatus::NotExecuted, Some(&halt), None)
                                    .await?;
                            }
                        }
                    }
                }
            }
        }
        let lanes = (0..ctl.plan.lanes.len()).map(|i| {
            let engine = self.clone();
            let ctl = ctl.clone();
            tokio::spawn(async move { engine.run_lane(&ctl, i).await })
        });
        let results = futures::future::join_all(lanes).await;
        for r in results {
            match r {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::error!(run = %ctl.id, error = %e.message, "lane failed"),
                Err(e) => tracing::error!(run = %ctl.id, error = %e, "lane task died"),
            }
        }
        // Whatever a failed lane left behind is not executed.
        let items = store::runs::items(&self.inner.store, &ctl.id).await?;
        for it in items.iter().filter(|i| !status_of(&i.status).is_final()) {
            self.finish_item(
                &ctl.id,
                &it.id,
                TestStatus::NotExecuted,
                Some("the run ended before it"),
                None,
            )
            .await?;
        }
        if let Some(post) = ctl.plan.project.settings.post_script.clone() {
            if let Some(why) = self.script(ctl, "post-run", &post).await? {
                if ctl.plan.project.settings.scripts_mandatory {
                    ctl.set_halt(format!("post-run script {post} failed ({why})"));
                }
            }
        }
        let items = store::runs::items(&self.inner.store, &ctl.id).await?;
        let status = TestStatus::roll_up(
            items
                .iter()
                .filter(|i| i.kind == "test")
                .map(|i| status_of(&i.status)),
        );
        let scripts = crate::reports::scripts::UserScripts::from_config(&self.inner.config);
        if let Some(why) = crate::reports::saving::autosave(
            &self.inner.store,
            &self.inner.secrets,
            &scripts,
            &ctl.id,
            &ctl.plan,
        )
        .await
        {
            self.run_log(&ctl.id, &why).await?;
        }
        let reason = if *ctl.control.borrow() == Control::Stop {
            Some(ctl.stop_reason())
        } else {
            ctl.halt_reason()
        };
        let mut tx = self.inner.store.begin_write().await?;
        store::runs::set_state(
            tx.conn(),
            &ctl.id,
            "finished",
            status.as_str(),
            None,
            Some(now_ms()),
            reason.as_deref(),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Runs a pre- or post-run script; returns why it failed, if it did. Its output goes to the run's log.
    async fn script(&self, ctl: &RunCtl, what: &str, rel: &str) -> Result<Option<String>, ApiError> {
        let path = match self.inner.sources.resolve(rel) {
            Ok(p) => p,
            Err(e) => {
                self.run_log(&ctl.id, &format!("{what} script {rel}: {}", e.message))
                    .await?;
                return Ok(Some(e.message));
            }
        };
        let mut env = BTreeMap::new();
        env.insert(
            "TWISTER_URL".to_string(),
            self.inner.public_url.get().cloned().unwrap_or_default(),
        );
        env.insert("TWISTER_RUN".to_string(), ctl.id.clone());
        env.insert("TWISTER_PROJECT".to_string(), ctl.plan.project.name.clone());
        env.insert("TWISTER_USER".to_string(), ctl.username.clone());
        env.insert("TWISTER_SCRIPT".to_string(), what.to_string());
        self.run_log(&ctl.id, &format!("{what} script {rel} starting"))
            .await?;
        let out = super::scripts::run(&path, self.inner.sources.root(), &env, Duration::from_secs(600)).await;
        for l in &out.lines {
            self.run_log(&ctl.id, l).await?;
        }
        let verdict = match &out.failure {
            None => format!("{what} script {rel} passed"),
            Some(f) => format!("{what} script {rel} failed: {f}"),
        };
        self.run_log(&ctl.id, &verdict).await?;
        Ok(out.failure)
    }

    async fn run_log(&self, run: &str, line: &str) -> Result<(), ApiError> {
        let mut tx = self.inner.store.begin_write().await?;
        store::runs::insert_log(tx.conn(), run, "", "", "controller", now_ms(), line).await?;
        tx.commit().await?;
        self.inner.events.publish(
            Event::new("logs", "log.lines")
                .id(run)
                .data(json!({"item": "", "ep": "", "stream": "controller", "lines": [line]})),
        );
        Ok(())
    }

    async fn items_map(&self, run: &str) -> Result<HashMap<String, ItemRow>, ApiError> {
        Ok(store::runs::items(&self.inner.store, run)
            .await?
            .into_iter()
            .map(|i| (i.id.clone(), i))
            .collect())
    }

    async fn run_lane(&self, ctl: &Arc<RunCtl>, lane_idx: usize) -> Result<(), ApiError> {
        let lane = &ctl.plan.lanes[lane_idx];
        let settings = &ctl.plan.project.settings;
        let mut lane_lost: Option<String> = None;
        let mut ran_one = false;
        for suite in &lane.suites {
            if self
                .item_opt(&ctl.id, &suite.id)
                .await?
                .is_some_and(|i| status_of(&i.status).is_final())
            {
                continue;
            }
            let mut block: Option<String> = lane_lost.clone();
            if block.is_none() {
                block = self.suite_dependency(ctl, &lane.ep, suite).await?;
            }
            let mut lock: Option<(String, bool)> = None;
            if block.is_none() {
                if let Some(tb) = &suite.testbed {
                    match self.acquire_testbed(ctl, suite, tb).await {
                        Ok(l) => lock = Some(l),
                        Err(why) => block = Some(why),
                    }
                }
            }
            self.set_item(&ctl.id, &suite.id, TestStatus::Running, None)
                .await?;
            let mut setup_failed: Option<String> = None;
            let mut next_planned = 0usize;
            loop {
                let test: TestInstance = match suite.tests.get(next_planned) {
                    Some(t) => {
                        next_planned += 1;
                        if ctl.extra().dequeued.contains(&t.id) {
                            continue;
                        }
                        t.clone()
                    }
                    None => {
                        let mut extra = ctl.extra();
                        match extra.queued.get_mut(&suite.id).and_then(VecDeque::pop_front) {
                            Some(t) => t,
                            None => {
                                extra.closed.insert(suite.id.clone());
                                break;
                            }
                        }
                    }
                };
                let test = &test;
                let Some(cur) = self.item_opt(&ctl.id, &test.id).await? else {
                    continue; // de-queued
                };
                let mut status = status_of(&cur.status);
                if status == TestStatus::Running {
                    // Resumed after a restart: the station still owns it.
                    status = self.wait_final(ctl, &lane.ep, &test.id, &mut lane_lost).await?;
                } else if !status.is_final() {
                    status = self
                        .decide_and_run(
                            ctl,
                            &lane.ep,
                            suite,
                            test,
                            &block,
                            &setup_failed,
                            &mut lane_lost,
                            &mut ran_one,
                        )
                        .await?;
                }
                if status == TestStatus::Aborted && lane_lost.is_none() {
                    let it = self.item(&ctl.id, &test.id).await?;
                    if let Some(why) = it.reason.filter(|r| r.starts_with("panic detected")) {
                        lane_lost = Some(format!(
                            "{} stopped: {why} in {}",
                            lane.ep,
                            test.case.display_title()
                        ));
                    }
                }
                if test.case.setup && status.is_failure() && setup_failed.is_none() {
                    setup_failed = Some(format!(
                        "set-up {} ended {}",
                        test.case.display_title(),
                        status.as_str()
                    ));
                }
                if status.is_failure() && !test.case.optional && settings.stop_on_fail {
                    ctl.set_halt(format!(
                        "stopped on failure of {} ({})",
                        test.case.display_title(),
                        status.as_str()
                    ));
                }
            }
            let members: Vec<TestStatus> = store::runs::children(&self.inner.store, &ctl.id, &suite.id)
                .await?
                .iter()
                .filter(|i| i.kind == "test")
                .map(|i| status_of(&i.status))
                .collect();
            let rolled = if members.is_empty() {
                TestStatus::Pass
            } else {
                TestStatus::roll_up(members)
            };
            self.finish_item(&ctl.id, &suite.id, rolled, block.as_deref(), None)
                .await?;
            if let Some((res_id, ours)) = lock {
                self.release_testbed(&res_id, ours, &ctl.username).await;
            }
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn decide_and_run(
        &self,
        ctl: &Arc<RunCtl>,
        ep: &str,
        suite: &SuiteInstance,
        test: &TestInstance,
        block: &Option<String>,
        setup_failed: &Option<String>,
        lane_lost: &mut Option<String>,
        ran_one: &mut bool,
    ) -> Result<TestStatus, ApiError> {
        let ne = TestStatus::NotExecuted;
        if let Some(b) = block.as_ref().or(lane_lost.as_ref()) {
            return self.finish_item(&ctl.id, &test.id, ne, Some(b), None).await;
        }
        if !self.wait_while_paused(ctl).await {
            return self
                .finish_item(&ctl.id, &test.id, ne, Some(&ctl.stop_reason()), None)
                .await;
        }
        if !test.case.teardown {
            if let Some(h) = ctl.halt_reason() {
                return self.finish_item(&ctl.id, &test.id, ne, Some(&h), None).await;
            }
            if let Some(s) = setup_failed {
                return self.finish_item(&ctl.id, &test.id, ne, Some(s), None).await;
            }
        }
        if !test.case.runnable {
            return self
                .finish_item(
                    &ctl.id,
                    &test.id,
                    TestStatus::Skipped,
                    Some("not runnable: delivered, not run"),
                    None,
                )
                .await;
        }
        if let Some(why) = self.test_dependency(ctl, ep, test).await? {
            return self
                .finish_item(&ctl.id, &test.id, TestStatus::Skipped, Some(&why), None)
                .await;
        }
        if *ran_one && ctl.plan.project.settings.delay_s > 0.0 {
            let mut rx = ctl.control.subscribe();
            let delay = tokio::time::sleep(Duration::from_secs_f64(ctl.plan.project.settings.delay_s));
            tokio::pin!(delay);
            loop {
                tokio::select! {
                    _ = &mut delay => break,
                    r = rx.changed() => if r.is_err() || *rx.borrow() == Control::Stop { break },
                }
            }
            if *ctl.control.borrow() == Control::Stop {
                return self
                    .finish_item(&ctl.id, &test.id, ne, Some(&ctl.stop_reason()), None)
                    .await;
            }
        }
        *ran_one = true;
        self.execute(ctl, ep, suite, test, lane_lost).await
    }

    /// Waits while the run is paused; false when it is being stopped.
    async fn wait_while_paused(&self, ctl: &RunCtl) -> bool {
        let mut rx = ctl.control.subscribe();
        loop {
            let c = *rx.borrow_and_update();
            match c {
                Control::Run => return true,
                Control::Stop => return false,
                Control::Pause => {
                    if rx.changed().await.is_err() {
                        return false;
                    }
                }
            }
        }
    }

    async fn suite_dependency(
        &self,
        ctl: &Arc<RunCtl>,
        ep: &str,
        suite: &SuiteInstance,
    ) -> Result<Option<String>, ApiError> {
        let Some(key) = &suite.depends_on else {
            return Ok(None);
        };
        let deps = ctl.plan.suites_with_key(key, ep);
        self.wait_for(
            ctl,
            ep,
            &suite.id,
            &deps,
            TestStatus::Pass,
            &format!("suite {key}"),
        )
        .await
    }

    async fn test_dependency(
        &self,
        ctl: &Arc<RunCtl>,
        ep: &str,
        test: &TestInstance,
    ) -> Result<Option<String>, ApiError> {
        let Some(key) = &test.case.depends_on else {
            return Ok(None);
        };
        let wanted = test
            .case
            .depends_status
            .as_deref()
            .and_then(|s| s.parse().ok())
            .unwrap_or(TestStatus::Pass);
        let deps = ctl.plan.tests_with_key(key, ep);
        self.wait_for(ctl, ep, &test.id, &deps, wanted, key).await
    }

    /// Waits until every item of `deps` is final; returns why `me` must not run, if so.
    async fn wait_for(
        &self,
        ctl: &Arc<RunCtl>,
        ep: &str,
        me: &str,
        deps: &[(String, String)],
        wanted: TestStatus,
        what: &str,
    ) -> Result<Option<String>, ApiError> {
        let mut marked = false;
        loop {
            let items = self.items_map(&ctl.id).await?;
            let mut pending = false;
            for (dep_ep, id) in deps {
                let Some(it) = items.get(id) else { continue };
                let st = status_of(&it.status);
                if st.is_final() {
                    if st != wanted {
                        return Ok(Some(format!(
                            "depends on {what}, which ended {} (needs {})",
                            st.as_str(),
                            wanted.as_str()
                        )));
                    }
                } else if dep_ep == ep {
                    // Same EP and not done yet: it comes later in this lane and can never finish first.
                    return Ok(Some(format!("depends on {what}, which runs later on {ep}")));
                } else {
                    pending = true;
                }
            }
            if !pending {
                return Ok(None);
            }
            if *ctl.control.borrow() == Control::Stop {
                return Ok(Some(ctl.stop_reason()));
            }
            if !marked {
                self.set_item(
                    &ctl.id,
                    me,
                    TestStatus::Waiting,
                    Some(&format!("waiting for {what}")),
                )
                .await?;
                marked = true;
            }
            let _ = tokio::time::timeout(Duration::from_secs(1), ctl.changed.notified()).await;
        }
    }

    async fn acquire_testbed(
        &self,
        ctl: &Arc<RunCtl>,
        suite: &SuiteInstance,
        tb: &str,
    ) -> Result<(String, bool), String> {
        let user = match store::users::by_username(&self.inner.store, &ctl.username).await {
            Ok(Some(u)) => u,
            _ => return Err(format!("user {} no longer exists", ctl.username)),
        };
        let caller = Caller::on_behalf_of(&user);
        let path = NodePath::parse(tb).map_err(|e| e.to_string())?;
        // A reservation the user already holds on the testbed (or above it) is used as it is.
        let mine = self
            .inner
            .reservations
            .list(
                &caller,
                ReservationFilter {
                    states: vec!["active".into()],
                    username: Some(caller.username.clone()),
                    node_id: None,
                    since: None,
                    until: None,
                    limit: 1000,
                },
            )
            .await
            .map_err(|e| e.message)?;
        let held = mine.iter().find(|r| {
            NodePath::parse(&r.path).is_ok_and(|p| p.is_ancestor_or_self_of(&path)) && r.locked_by.is_none()
        });
        let (id, ours) = match held {
            Some(r) => (r.id.clone(), false),
            None => {
                let r = self
                    .inner
                    .reservations
                    .reserve(
                        &caller,
                        ReserveRequest {
                            path: tb.to_string(),
                            duration_s: None,
                            wait: true,
                            priority: 0,
                            wait_timeout_s: None,
                            note: format!("test run {} ({})", ctl.id, ctl.plan.project.name),
                        },
                    )
                    .await
                    .map_err(|e| format!("cannot reserve testbed {tb}: {}", e.message))?;
                let mut view = r;
                if view.state == "waiting" {
                    let _ = self
                        .set_item(
                            &ctl.id,
                            &suite.id,
                            TestStatus::Waiting,
                            Some(&format!("waiting for testbed {tb}")),
                        )
                        .await;
                }
                while view.state == "waiting" {
                    if *ctl.control.borrow() == Control::Stop {
                        let _ = self
                            .inner
                            .reservations
                            .release(&caller, &view.id, None, false)
                            .await;
                        return Err(ctl.stop_reason());
                    }
                    view = self
                        .inner
                        .reservations
                        .wait_for_grant(&caller, &view.id, Duration::from_secs(1))
                        .await
                        .map_err(|e| e.message)?;
                }
                if view.state != "active" {
                    return Err(format!("testbed {tb} was not granted ({})", view.state));
                }
                (view.id, true)
            }
        };
        self.inner
            .reservations
            .set_lock(&id, Some(&ctl.id))
            .await
            .map_err(|e| format!("cannot lock testbed {tb}: {}", e.message))?;
        Ok((id, ours))
    }

    async fn release_testbed(&self, id: &str, ours: bool, username: &str) {
        if let Err(e) = self.inner.reservations.set_lock(id, None).await {
            tracing::warn!(reservation = id, error = %e.message, "cannot unlock a testbed");
        }
        if ours {
            if let Ok(Some(user)) = store::users::by_username(&self.inner.store, username).await {
                let caller = Caller::on_behalf_of(&user);
                if let Err(e) = self.inner.reservations.release(&caller, id, None, true).await {
                    tracing::warn!(reservation = id, error = %e.message, "cannot release a testbed");
                }
            }
        }
    }

    /// Dispatches one test to its EP's station and waits for its outcome.
    async fn execute(
        &self,
        ctl: &Arc<RunCtl>,
        ep: &str,
        suite: &SuiteInstance,
        test: &TestInstance,
        lane_lost: &mut Option<String>,
    ) -> Result<TestStatus, ApiError> {
        let lost_after = Duration::from_secs(self.inner.config.stations.lost_after_s);
        let mut marked = false;
        let waiting_since = std::time::Instant::now();
        let station_id = loop {
            match self.inner.hub.locate(ep) {
                EpLocation::Online { station_id } => break station_id,
                EpLocation::Offline { for_, .. } if for_ > lost_after => {
                    let why = format!("the station of {ep} is offline");
                    *lane_lost = Some(why.clone());
                    return self
                        .finish_item(&ctl.id, &test.id, TestStatus::Error, Some(&why), None)
                        .await;
                }
                EpLocation::Unknown if waiting_since.elapsed() > lost_after => {
                    let why = format!("no station offers {ep}");
                    *lane_lost = Some(why.clone());
                    return self
                        .finish_item(&ctl.id, &test.id, TestStatus::Error, Some(&why), None)
                        .await;
                }
                _ => {}
            }
            if *ctl.control.borrow() == Control::Stop {
                return self
                    .finish_item(
                        &ctl.id,
                        &test.id,
                        TestStatus::NotExecuted,
                        Some(&ctl.stop_reason()),
                        None,
                    )
                    .await;
            }
            if !marked {
                self.set_item(
                    &ctl.id,
                    &test.id,
                    TestStatus::Waiting,
                    Some(&format!("waiting for {ep}")),
                )
                .await?;
                marked = true;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        };
        let (job, token_row) = match self.job(ctl, ep, suite, test).await {
            Ok(j) => j,
            Err(e) => {
                return self
                    .finish_item(&ctl.id, &test.id, TestStatus::Error, Some(&e.message), None)
                    .await
            }
        };
        // The command and the running state are stored together: after a restart, a running item always has
        // its command on the way.
        let body = serde_json::to_string(&Command::StartTest(Box::new(job.clone())))
            .map_err(|e| ApiError::internal(e.to_string()))?;
        let seq = self
            .store_start(Start {
                station_id: station_id.clone(),
                token: token_row,
                body,
                run: ctl.id.clone(),
                item: test.id.clone(),
            })
            .await?;
        self.inner.events.publish(
            Event::new("runs", "item.running")
                .id(&ctl.id)
                .data(json!({"item": test.id})),
        );
        self.inner.hub.push(
            &station_id,
            Down::Command {
                seq: seq as u64,
                command: Command::StartTest(Box::new(job)),
            },
        );
        self.wait_final(ctl, ep, &test.id, lane_lost).await
    }

    /// Waits for a running test's outcome; a station away longer than `lost_after_s` loses it.
    async fn wait_final(
        &self,
        ctl: &Arc<RunCtl>,
        ep: &str,
        item: &str,
        lane_lost: &mut Option<String>,
    ) -> Result<TestStatus, ApiError> {
        let lost_after = Duration::from_secs(self.inner.config.stations.lost_after_s);
        let waker = ctl.item_notify(item);
        let mut read_store = true;
        let mut ticks = 0u32;
        let result = loop {
            let notified = waker.notified();
            if read_store {
                let st = status_of(&self.item(&ctl.id, item).await?.status);
                if st.is_final() {
                    break Ok(st);
                }
            }
            if let EpLocation::Offline { for_, .. } = self.inner.hub.locate(ep) {
                if for_ > lost_after {
                    let why = format!(
                        "station lost: the station of {ep} has been away {}s",
                        for_.as_secs()
                    );
                    *lane_lost = Some(why.clone());
                    break self
                        .finish_item(&ctl.id, item, TestStatus::Error, Some(&why), None)
                        .await;
                }
            }
            // Woken by this test's result; the timeout paces the lost-station check, and the store is read
            // again now and then in case a wake-up was missed.
            ticks += 1;
            read_store = tokio::time::timeout(Duration::from_secs(2), notified)
                .await
                .is_ok()
                || ticks % 15 == 0;
        };
        ctl.forget_item(item);
        result
    }

    async fn job(
        &self,
        ctl: &RunCtl,
        ep: &str,
        suite: &SuiteInstance,
        test: &TestInstance,
    ) -> Result<(TestJob, store::tokens::TokenRow), ApiError> {
        let sources = &self.inner.sources;
        let file = sources.publish(&test.case.file)?;
        // The helper libraries every test can use, in any language, then the project's own.
        let mut libraries = sources.builtin_libraries().to_vec();
        for l in &ctl.plan.project.settings.libraries {
            libraries.push(sources.publish(l)?);
        }
        let (token, token_row) = self.test_token(ctl, &test.id, test.case.timeout_s).await?;
        let mut env = BTreeMap::new();
        env.insert(
            "TWISTER_URL".into(),
            self.inner.public_url.get().cloned().unwrap_or_default(),
        );
        env.insert("TWISTER_TOKEN".into(), token);
        env.insert("TWISTER_RUN".into(), ctl.id.clone());
        env.insert("TWISTER_PROJECT".into(), ctl.plan.project.name.clone());
        env.insert("TWISTER_USER".into(), ctl.username.clone());
        env.insert("TWISTER_EP".into(), ep.to_string());
        env.insert("TWISTER_SUITE".into(), suite.name.clone());
        env.insert("TWISTER_SUITE_ID".into(), suite.id.clone());
        env.insert("TWISTER_TEST_ID".into(), test.id.clone());
        env.insert("TWISTER_TITLE".into(), test.case.display_title());
        env.insert("TWISTER_FILE".into(), test.case.file.clone());
        env.insert(
            "TWISTER_TESTBED".into(),
            suite.testbed.clone().unwrap_or_default(),
        );
        env.insert("TWISTER_ITERATION".into(), test.iteration.to_string());
        env.insert(
            "TWISTER_PROPERTIES".into(),
            serde_json::to_string(&test.case.properties).unwrap_or_else(|_| "{}".into()),
        );
        let job = TestJob {
            run: ctl.id.clone(),
            test: test.id.clone(),
            ep: ep.to_string(),
            suite: suite.name.clone(),
            suite_id: suite.id.clone(),
            file,
            libraries,
            args: test.case.args.clone(),
            env,
            timeout_s: test.case.timeout_s,
            panic_patterns: if suite.panic_detect {
                store::panic_patterns::patterns(&self.inner.store, &ctl.username)
                    .await?
                    .into_iter()
                    .filter(|p| p.enabled)
                    .map(|p| p.pattern)
                    .collect()
            } else {
                Vec::new()
            },
        };
        Ok((job, token_row))
    }

    /// A token for one test (stored with the test's start command, in the same transaction).
    async fn test_token(
        &self,
        ctl: &RunCtl,
        test: &str,
        timeout_s: u64,
    ) -> Result<(String, store::tokens::TokenRow), ApiError> {
        let user = store::users::by_username(&self.inner.store, &ctl.username)
            .await?
            .ok_or_else(|| ApiError::invalid(format!("user {} no longer exists", ctl.username)))?;
        let allowed: Vec<Permission> = TEST_TOKEN_PERMISSIONS
            .iter()
            .copied()
            .filter(|p| user.role.permissions().contains(*p))
            .collect();
        let token = generate_token();
        let now = now_ms();
        let lifetime_ms = if timeout_s > 0 {
            (timeout_s as i64 + 3600) * 1000
        } else {
            24 * 3600 * 1000
        };
        let row = store::tokens::TokenRow {
            id: new_id(),
            user_id: user.id.clone(),
            name: format!("test {}/{test}", ctl.id),
            kind: TokenKind::Test,
            token_hash: token.hash,
            scope: TokenScope {
                permissions: Some(allowed),
                paths: None,
                station: None,
                run: Some(ctl.id.clone()),
                test: Some(test.to_string()),
            },
            created_at: now,
            expires_at: Some(now + lifetime_ms),
            last_used_at: None,
            revoked_at: None,
        };
        Ok((token.secret, row))
    }

    // ---------------------------------------------------------------- item state

    async fn item_opt(&self, run: &str, id: &str) -> Result<Option<ItemRow>, ApiError> {
        let mut conn = self
            .inner
            .store
            .pool()
            .acquire()
            .await
            .map_err(StoreError::from)?;
        Ok(store::runs::item(&mut conn, run, id).await?)
    }

    async fn item(&self, run: &str, id: &str) -> Result<ItemRow, ApiError> {
        let mut conn = self
            .inner
            .store
            .pool()
            .acquire()
            .await
            .map_err(StoreError::from)?;
        store::runs::item(&mut conn, run, id)
            .await?
            .ok_or_else(|| ApiError::internal(format!("run {run} has no item {id}")))
    }

    async fn set_item(
        &self,
        run: &str,
        id: &str,
        status: TestStatus,
        reason: Option<&str>,
    ) -> Result<(), ApiError> {
        let started = (status == TestStatus::Running).then(now_ms);
        let (changed, _) = self.change_item(run, id, status, reason, started, None).await?;
        if changed {
            self.inner.events.publish(
                Event::new("runs", &format!("item.{}", status.as_str()))
                    .id(run)
                    .data(json!({"item": id, "status": status.as_str(), "reason": reason})),
            );
        }
        Ok(())
    }

    /// Sets a final status (unless the item already has one) and returns the item's final status.
    async fn finish_item(
        &self,
        run: &str,
        id: &str,
        status: TestStatus,
        reason: Option<&str>,
        _exit_code: Option<i64>,
    ) -> Result<TestStatus, ApiError> {
        let (changed, after) = self
            .change_item(run, id, status, reason, None, Some(now_ms()))
            .await?;
        if changed {
            self.inner.events.publish(
                Event::new("runs", "item.finished")
                    .id(run)
                    .data(json!({"item": id, "status": status.as_str(), "reason": reason})),
            );
            if let Some(ctl) = self.ctl(run) {
                ctl.wake_item(id);
                ctl.changed.notify_waiters();
            }
        }
        Ok(after.unwrap_or(status))
    }

    fn publish_run(&self, id: &str, kind: &str, user: &str) {
        self.inner
            .events
            .publish(Event::new("runs", kind).id(id).user(user));
    }
}

fn run_view(run: &RunRow, items: &[ItemRow], with_items: bool) -> RunView {
    let now = now_ms();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let tests: Vec<&ItemRow> = items.iter().filter(|i| i.kind == "test").collect();
    counts.insert("planned".into(), tests.len());
    counts.insert(
        "executed".into(),
        tests
            .iter()
            .filter(|i| {
                matches!(
                    status_of(&i.status),
                    TestStatus::Pass
                        | TestStatus::Fail
                        | TestStatus::Error
                        | TestStatus::Aborted
                        | TestStatus::Timeout
                )
            })
            .count(),
    );
    for t in &tests {
        *counts.entry(t.status.clone()).or_default() += 1;
    }
    RunView {
        id: run.id.clone(),
        project: run.project.clone(),
        user: run.username.clone(),
        state: run.state.clone(),
        status: run.status.clone(),
        counts,
        created_at: ms_to_rfc3339(run.created_at),
        started_at: run.started_at.map(ms_to_rfc3339),
        ended_at: run.ended_at.map(ms_to_rfc3339),
        reason: run.reason.clone(),
        items: if with_items {
            items.iter().map(|i| item_view(i, now)).collect()
        } else {
            Vec::new()
        },
    }
}
