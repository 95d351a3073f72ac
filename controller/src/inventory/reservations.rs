//! Reservations: exclusive holds on a node's whole subtree, a waiting queue served by priority then age, leases
//! that expire on their own, and the history of who held what.
//!
//! Every transition (request, grant, renew, release, expiry) is one committed write transaction, taken under
//! the store's write lock; nothing lives only in memory, so a controller killed at any moment restarts with
//! exactly the reservations it had acknowledged. The [`LeaseSweeper`] expires leases and serves the queue.
//!
//! Queue rule: a waiting request is granted once no active reservation of another user overlaps it (same node,
//! ancestor or descendant) and no request of another user that is ahead of it in the queue (higher priority, or
//! same priority and older) overlaps it. A new request is refused (or queued, with `wait`) under the same rule,
//! so nobody jumps the queue.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::Notify;
use utoipa::ToSchema;

use super::path::{NodePath, NodeRef};
use super::queue;
use super::tree::Inventory;
use crate::api::error::ApiError;
use crate::auth::{Caller, Permission};
use crate::events::{Event, EventBus};
use crate::metrics::Metrics;
use crate::store::reservations::{self as res_store, ReservationFilter, ReservationRow};
use crate::store::{audit, ms_to_rfc3339, new_id, now_ms, Store};

/// Limits for reservations.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReservationConfig {
    /// Lease when the request gives none, seconds.
    pub default_duration_s: u64,
    /// Longest lease, seconds.
    pub max_duration_s: u64,
    /// How long a queued request waits at most before it is cancelled, seconds.
    pub max_wait_s: u64,
}

impl Default for ReservationConfig {
    fn default() -> Self {
        ReservationConfig {
            default_duration_s: 3600,
            max_duration_s: 7 * 86_400,
            max_wait_s: 86_400,
        }
    }
}

/// Body of `POST /reservations`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReserveRequest {
    /// Node to reserve: a path (`/tb1`) or `~id`.
    pub path: String,
    /// Lease length in seconds.
    #[serde(default)]
    pub duration_s: Option<u64>,
    /// Queue when the node is busy instead of failing with 409.
    #[serde(default)]
    pub wait: bool,
    /// Queue priority, higher first (-1000..=1000).
    #[serde(default)]
    pub priority: i64,
    /// How long to stay queued before giving up, seconds.
    #[serde(default)]
    pub wait_timeout_s: Option<u64>,
    /// Free text shown to others (why, which job).
    #[serde(default)]
    pub note: String,
}

/// A reservation as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReservationView {
    /// Id.
    pub id: String,
    /// Reserved node's path (current).
    pub path: String,
    /// Reserved node's id.
    pub node_id: String,
    /// Holder.
    pub user: String,
    /// `waiting`, `active`, `released`, `expired`, `cancelled`, `revoked`.
    pub state: String,
    /// Queue priority.
    pub priority: i64,
    /// Lease length, seconds.
    pub duration_s: i64,
    /// Requester's note.
    pub note: String,
    /// Run that locks it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locked_by: Option<String>,
    /// Request time.
    pub created_at: String,
    /// Grant time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub granted_at: Option<String>,
    /// Lease end (active) or queue deadline (waiting).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// End time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<String>,
    /// Why it ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_reason: Option<String>,
    /// Who ended it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended_by: Option<String>,
    /// Position in the queue (1 = next), for waiting requests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<usize>,
}

impl ReservationView {
    fn from_row(r: &ReservationRow, path: Option<&str>, position: Option<usize>) -> Self {
        ReservationView {
            id: r.id.clone(),
            path: path.unwrap_or(&r.path).to_string(),
            node_id: r.node_id.clone(),
            user: r.username.clone(),
            state: r.state.clone(),
            priority: r.priority,
            duration_s: r.duration_ms / 1000,
            note: r.note.clone(),
            locked_by: r.locked_by.clone(),
            created_at: ms_to_rfc3339(r.created_at),
            granted_at: r.granted_at.map(ms_to_rfc3339),
            expires_at: r.expires_at.map(ms_to_rfc3339),
            ended_at: r.ended_at.map(ms_to_rfc3339),
            end_reason: r.end_reason.clone(),
            ended_by: r.ended_by.clone(),
            position,
        }
    }
}

/// The queue rule's view of a live reservation.
fn entry(r: &ReservationRow, path: &str) -> Option<queue::Entry> {
    Some(queue::Entry {
        id: r.id.clone(),
        user: r.username.clone(),
        path: NodePath::parse(path).ok()?,
        active: r.state == "active",
        priority: r.priority,
        seq: r.seq,
    })
}

fn entries(live: &[(ReservationRow, String)]) -> Vec<queue::Entry> {
    live.iter().filter_map(|(r, p)| entry(r, p)).collect()
}

/// The reservation engine.
#[derive(Clone)]
pub struct Reservations {
    store: Store,
    inventory: Inventory,
    events: EventBus,
    metrics: Arc<Metrics>,
    config: ReservationConfig,
    kick: Arc<Notify>,
}

/// Outcome of a grant pass over the queue.
struct PassOutcome {
    events: Vec<Event>,
    next_deadline: Option<i64>,
}

impl Reservations {
    /// The engine over a store.
    pub fn new(
        store: Store,
        inventory: Inventory,
        events: EventBus,
        metrics: Arc<Metrics>,
        config: ReservationConfig,
    ) -> Self {
        Reservations {
            store,
            inventory,
            events,
            metrics,
            config,
            kick: Arc::new(Notify::new()),
        }
    }

    fn duration_ms(&self, requested: Option<u64>) -> Result<i64, ApiError> {
        let s = requested.unwrap_or(self.config.default_duration_s);
        if s == 0 || s > self.config.max_duration_s {
            return Err(ApiError::invalid(format!(
                "duration_s must be between 1 and {} seconds",
                self.config.max_duration_s
            )));
        }
        Ok(s as i64 * 1000)
    }

    /// Requests a reservation. Returns the reservation (active, or waiting with `wait`).
    pub async fn reserve(&self, caller: &Caller, req: ReserveRequest) -> Result<ReservationView, ApiError> {
        caller.require(Permission::Reserve)?;
        let duration_ms = self.duration_ms(req.duration_s)?;
        if !(-1000..=1000).contains(&req.priority) {
            return Err(ApiError::invalid("priority must be between -1000 and 1000"));
        }
        if req.note.len() > 1024 {
            return Err(ApiError::invalid("note is longer than 1024 bytes"));
        }
        let wait_ms = req
            .wait_timeout_s
            .unwrap_or(self.config.max_wait_s)
            .min(self.config.max_wait_s) as i64
            * 1000;
        let addr =
            super::path::Address::parse(&req.path).map_err(|e| ApiError::bad_request(e.to_string()))?;
        if addr.property.is_some() {
            return Err(ApiError::bad_request("reserve a node, not a property"));
        }
        let now = now_ms();
        let mut tx = self.store.begin_write().await?;
        let node = self
            .inventory
            .resolve(tx.conn(), &addr.node)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("no resource at {}", req.path)))?;
        let path = NodePath::parse(&node.path).map_err(ApiError::internal)?;
        caller.require_path(&path)?;
        let live = res_store::live(tx.conn()).await?;
        if let Some((dup, _)) = live
            .iter()
            .find(|(r, _)| r.username == caller.username && r.node_id == node.id)
        {
            return Err(ApiError::conflict(format!(
                "you already have a {} reservation of {path} ({})",
                dup.state, dup.id
            ))
            .with_details(json!({"reservation": dup.id, "state": dup.state})));
        }
        let mut row = ReservationRow {
            id: new_id(),
            seq: res_store::next_seq(tx.conn()).await?,
            node_id: node.id.clone(),
            path: path.to_string(),
            user_id: caller.user_id.clone(),
            username: caller.username.clone(),
            state: "waiting".into(),
            priority: req.priority,
            duration_ms,
            note: req.note.clone(),
            locked_by: None,
            created_at: now,
            granted_at: None,
            expires_at: Some(now + wait_ms),
            ended_at: None,
            end_reason: None,
            ended_by: None,
        };
        let live_entries = entries(&live);
        let me = entry(&row, path.as_str()).ok_or_else(|| ApiError::internal("invalid path"))?;
        let blocking: Vec<String> = queue::blockers(&live_entries, &me)
            .map(|e| e.id.clone())
            .collect();
        let blockers: Vec<&(ReservationRow, String)> =
            live.iter().filter(|(r, _)| blocking.contains(&r.id)).collect();
        let position;
        if blockers.is_empty() {
            row.state = "active".into();
            row.granted_at = Some(now);
            row.expires_at = Some(now + duration_ms);
            position = None;
        } else if !req.wait {
            let holder = blockers
                .iter()
                .find(|(r, _)| r.state == "active")
                .or(blockers.first());
            let (h, hp) = holder
                .map(|(r, p)| (r.clone(), p.clone()))
                .ok_or_else(|| ApiError::internal("no blocker"))?;
            let queued = live.iter().filter(|(r, _)| r.state == "waiting").count();
            let msg = if h.state == "active" {
                format!(
                    "{path} is not available: {hp} is reserved by {} until {}",
                    h.username,
                    h.expires_at.map(ms_to_rfc3339).unwrap_or_default()
                )
            } else {
                format!(
                    "{path} is not available: {} is queued ahead of you for {hp}",
                    h.username
                )
            };
            self.metrics.reservation("refused");
            return Err(ApiError::conflict(msg).with_details(json!({
                "holder": h.username,
                "path": hp,
                "reservation": h.id,
                "state": h.state,
                "expires_at": h.expires_at.map(ms_to_rfc3339),
                "queued": queued,
            })));
        } else {
            position = Some(queue::position(&live_entries, &me));
        }
        res_store::insert(tx.conn(), &row).await?;
        let action = if row.state == "active" {
            "reservation.grant"
        } else {
            "reservation.queue"
        };
        audit::record(tx.conn(), &caller.username, action, path.as_str(), None, Some(&json!({"id": row.id, "state": row.state, "priority": row.priority, "expires_at": row.expires_at.map(ms_to_rfc3339)})))
            .await?;
        tx.commit().await?;
        let kind = if row.state == "active" {
            "reservation.granted"
        } else {
            "reservation.queued"
        };
        self.metrics.reservation(if row.state == "active" {
            "granted"
        } else {
            "queued"
        });
        self.publish_all(vec![Event::new("reservations", kind)
            .path(path.as_str())
            .id(&row.id)
            .user(&caller.username)]);
        if row.state == "waiting" {
            self.kick.notify_one();
        }
        Ok(ReservationView::from_row(&row, Some(path.as_str()), position))
    }

    /// Reads one reservation (with its queue position when waiting).
    pub async fn get(&self, caller: &Caller, id: &str) -> Result<ReservationView, ApiError> {
        caller.require(Permission::ViewInventory)?;
        let mut conn = self
            .store
            .pool()
            .acquire()
            .await
            .map_err(crate::store::StoreError::from)?;
        let row = res_store::by_id(&mut conn, id)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("no reservation {id}")))?;
        let live = res_store::live(&mut conn).await?;
        let current = live.iter().find(|(r, _)| r.id == row.id).map(|(_, p)| p.clone());
        let position = match (&current, row.state.as_str()) {
            (Some(p), "waiting") => entry(&row, p).map(|me| queue::position(&entries(&live), &me)),
            _ => None,
        };
        Ok(ReservationView::from_row(&row, current.as_deref(), position))
    }

    /// Waits until the reservation leaves `waiting` (or `timeout` passes), then returns it.
    pub async fn wait_for_grant(
        &self,
        caller: &Caller,
        id: &str,
        timeout: Duration,
    ) -> Result<ReservationView, ApiError> {
        let mut rx = self.events.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let view = self.get(caller, id).await?;
            if view.state != "waiting" {
                return Ok(view);
            }
            loop {
                match tokio::time::timeout_at(deadline, rx.recv()).await {
                    Err(_) => return self.get(caller, id).await,
                    Ok(Ok(e)) if e.topic == "reservations" && e.id.as_deref() == Some(id) => break,
                    Ok(Ok(_)) => continue,
                    Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => break,
                    Ok(Err(tokio::sync::broadcast::error::RecvError::Closed)) => {
                        return Err(ApiError::new(
                            axum::http::StatusCode::SERVICE_UNAVAILABLE,
                            "shutting_down",
                            "controller is shutting down",
                        ))
                    }
                }
            }
        }
    }

    /// Releases (or withdraws from the queue) a reservation.
    ///
    /// The holder may always release; `only_if_holder` makes it a no-op error unless that user holds it (for CI
    /// clean-up); others need `force` and the `force_release` permission.
    pub async fn release(
        &self,
        caller: &Caller,
        id: &str,
        only_if_holder: Option<&str>,
        force: bool,
    ) -> Result<ReservationView, ApiError> {
        caller
            .require(Permission::Reserve)
            .or_else(|e| if force { Ok(()) } else { Err(e) })?;
        let now = now_ms();
        let mut tx = self.store.begin_write().await?;
        let mut row = res_store::by_id(tx.conn(), id)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("no reservation {id}")))?;
        if let Some(expected) = only_if_holder {
            if row.username != expected {
                return Err(ApiError::new(
                    axum::http::StatusCode::CONFLICT,
                    "not_holder",
                    format!(
                        "reservation {id} is held by {}, not {expected}; left as it is",
                        row.username
                    ),
                ));
            }
        }
        if row.state != "active" && row.state != "waiting" {
            return Err(ApiError::new(
                axum::http::StatusCode::CONFLICT,
                "already_ended",
                format!("reservation {id} has already ended ({})", row.state),
            ));
        }
        let own = row.username == caller.username;
        if !own {
            if !force {
                return Err(ApiError::forbidden(format!(
                    "reservation {id} is held by {}; only an admin can force-release it (force=true)",
                    row.username
                )));
            }
            caller.require(Permission::ForceRelease)?;
        }
        if row.locked_by.is_some() && !force {
            return Err(ApiError::conflict(format!(
                "reservation {id} is locked by run {}; stop the run first or force-release",
                row.locked_by.clone().unwrap_or_default()
            )));
        }
        let before = row.state.clone();
        row.state = match (before.as_str(), own) {
            ("waiting", _) => "cancelled".into(),
            (_, true) => "released".into(),
            (_, false) => "revoked".into(),
        };
        row.ended_at = Some(now);
        row.end_reason = Some(if own {
            "released by holder".into()
        } else {
            format!("force-released by {}", caller.username)
        });
        row.ended_by = Some(caller.username.clone());
        res_store::update(tx.conn(), &row).await?;
        audit::record(
            tx.conn(),
            &caller.username,
            &format!("reservation.{}", row.state),
            &row.path,
            Some(&json!({"id": row.id, "state": before, "user": row.username})),
            Some(&json!({"id": row.id, "state": row.state})),
        )
        .await?;
        let outcome = self.grant_pass(&mut tx, now).await?;
        tx.commit().await?;
        self.metrics.reservation(&row.state);
        let mut events = vec![Event::new("reservations", &format!("reservation.{}", row.state))
            .path(&row.path)
            .id(&row.id)
            .user(&row.username)];
        events.extend(outcome.events);
        self.publish_all(events);
        Ok(ReservationView::from_row(&row, None, None))
    }

    /// Extends an active lease (or a queued request's deadline) to now + `duration_s`.
    pub async fn renew(
        &self,
        caller: &Caller,
        id: &str,
        duration_s: Option<u64>,
    ) -> Result<ReservationView, ApiError> {
        caller.require(Permission::Reserve)?;
        let now = now_ms();
        let mut tx = self.store.begin_write().await?;
        let mut row = res_store::by_id(tx.conn(), id)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("no reservation {id}")))?;
        if row.username != caller.username {
            return Err(ApiError::forbidden(format!(
                "reservation {id} is held by {}",
                row.username
            )));
        }
        let ms = match duration_s {
            Some(s) => self.duration_ms(Some(s))?,
            None => row.duration_ms,
        };
        match row.state.as_str() {
            "active" => {
                row.expires_at = Some(now + ms);
                row.duration_ms = ms;
            }
            "waiting" => {
                row.expires_at = Some(now + (self.config.max_wait_s as i64 * 1000).min(ms.max(60_000)));
                row.duration_ms = ms;
            }
            other => {
                return Err(ApiError::new(
                    axum::http::StatusCode::CONFLICT,
                    "already_ended",
                    format!("reservation {id} has already ended ({other}); make a new one"),
                ))
            }
        }
        res_store::update(tx.conn(), &row).await?;
        audit::record(
            tx.conn(),
            &caller.username,
            "reservation.renew",
            &row.path,
            None,
            Some(&json!({"id": row.id, "expires_at": row.expires_at.map(ms_to_rfc3339)})),
        )
        .await?;
        tx.commit().await?;
        self.publish_all(vec![Event::new("reservations", "reservation.renewed")
            .path(&row.path)
            .id(&row.id)
            .user(&row.username)]);
        Ok(ReservationView::from_row(&row, None, None))
    }

    /// Lists reservations (live and past).
    pub async fn list(
        &self,
        caller: &Caller,
        filter: ReservationFilter,
    ) -> Result<Vec<ReservationView>, ApiError> {
        caller.require(Permission::ViewInventory)?;
        let rows = res_store::list(&self.store, &filter).await?;
        let mut conn = self
            .store
            .pool()
            .acquire()
            .await
            .map_err(crate::store::StoreError::from)?;
        let live = res_store::live(&mut conn).await?;
        Ok(rows
            .iter()
            .filter(|r| NodePath::parse(&r.path).is_ok_and(|p| caller.may_see(&p)))
            .map(|r| {
                let current = live.iter().find(|(l, _)| l.id == r.id).map(|(_, p)| p.as_str());
                ReservationView::from_row(r, current, None)
            })
            .collect())
    }

    /// Resolves a node reference to its id (for filtering history by node).
    pub async fn node_id_of(&self, r: &NodeRef) -> Result<String, ApiError> {
        let mut conn = self
            .store
            .pool()
            .acquire()
            .await
            .map_err(crate::store::StoreError::from)?;
        Ok(self
            .inventory
            .resolve(&mut conn, r)
            .await?
            .ok_or_else(|| ApiError::not_found("no such resource"))?
            .id)
    }

    /// Locks an active reservation for a test run (node status `locked`), or unlocks it with `None`.
    pub async fn set_lock(&self, id: &str, run: Option<&str>) -> Result<(), ApiError> {
        let mut tx = self.store.begin_write().await?;
        let mut row = res_store::by_id(tx.conn(), id)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("no reservation {id}")))?;
        if row.state != "active" {
            return Err(ApiError::conflict(format!("reservation {id} is {}", row.state)));
        }
        row.locked_by = run.map(str::to_string);
        res_store::update(tx.conn(), &row).await?;
        let path = row.path.clone();
        tx.commit().await?;
        let kind = if run.is_some() {
            "reservation.locked"
        } else {
            "reservation.unlocked"
        };
        self.publish_all(vec![Event::new("reservations", kind)
            .path(path)
            .id(id)
            .user(&row.username)]);
        self.kick();
        Ok(())
    }

    /// Expires due leases and queue deadlines, then serves the queue. Returns the next deadline (Unix ms).
    pub async fn sweep(&self) -> Result<Option<i64>, ApiError> {
        let now = now_ms();
        let mut tx = self.store.begin_write().await?;
        let live = res_store::live(tx.conn()).await?;
        let mut events = Vec::new();
        for (mut r, p) in live
            .into_iter()
            // A lease locked by a running test run does not run out under it.
            .filter(|(r, _)| {
                r.expires_at.is_some_and(|e| e <= now) && !(r.state == "active" && r.locked_by.is_some())
            })
        {
            let (state, reason) = if r.state == "active" {
                ("expired", "lease expired")
            } else {
                ("cancelled", "waited too long in the queue")
            };
            r.state = state.into();
            r.ended_at = Some(now);
            r.end_reason = Some(reason.into());
            r.ended_by = Some("system".into());
            res_store::update(tx.conn(), &r).await?;
            audit::record(
                tx.conn(),
                "system",
                &format!("reservation.{state}"),
                &p,
                None,
                Some(&json!({"id": r.id, "user": r.username})),
            )
            .await?;
            self.metrics.reservation(state);
            events.push(
                Event::new("reservations", &format!("reservation.{state}"))
                    .path(p)
                    .id(&r.id)
                    .user(&r.username),
            );
        }
        let outcome = self.grant_pass(&mut tx, now).await?;
        tx.commit().await?;
        self.publish_all(events);
        self.publish_all(outcome.events);
        Ok(outcome.next_deadline)
    }

    /// Grants every waiting request that the queue rule allows, inside the caller's transaction.
    async fn grant_pass(&self, tx: &mut crate::store::WriteTx, now: i64) -> Result<PassOutcome, ApiError> {
        let live = res_store::live(tx.conn()).await?;
        let to_grant = queue::grants(&entries(&live));
        let mut events = Vec::new();
        for id in &to_grant {
            let Some((r, p)) = live.iter().find(|(r, _)| &r.id == id) else {
                continue;
            };
            let mut g = r.clone();
            g.state = "active".into();
            g.granted_at = Some(now);
            g.expires_at = Some(now + g.duration_ms);
            res_store::update(tx.conn(), &g).await?;
            let after =
                json!({"id": g.id, "user": g.username, "expires_at": g.expires_at.map(ms_to_rfc3339)});
            audit::record(tx.conn(), "system", "reservation.grant", p, None, Some(&after)).await?;
            self.metrics.reservation("granted");
            events.push(
                Event::new("reservations", "reservation.granted")
                    .path(p.as_str())
                    .id(&g.id)
                    .user(&g.username),
            );
        }
        let next_deadline = live
            .iter()
            .filter_map(|(r, _)| {
                if to_grant.contains(&r.id) {
                    Some(now + r.duration_ms)
                } else {
                    r.expires_at
                }
            })
            .min();
        Ok(PassOutcome {
            events,
            next_deadline,
        })
    }

    fn publish_all(&self, events: Vec<Event>) {
        for e in events {
            // Inventory subscribers care about status changes too.
            if let Some(p) = &e.path {
                self.events
                    .publish(Event::new("inventory", "resource.status").path(p.clone()));
            }
            self.events.publish(e);
        }
    }

    /// Wakes the sweeper (after a change that may free nodes).
    pub fn kick(&self) {
        self.kick.notify_one();
    }
}

/// The background task that expires leases and serves the queue.
pub struct LeaseSweeper;

impl LeaseSweeper {
    /// Runs until `shutdown` resolves: sweeps at start (leases that expired while the controller was down end
    /// now), then at every deadline, every change notification, and at least once a second.
    pub fn spawn(
        engine: Reservations,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            loop {
                let next = match engine.sweep().await {
                    Ok(n) => n,
                    Err(e) => {
                        tracing::warn!(error = %e, "reservation sweep failed; retrying");
                        None
                    }
                };
                let wait_ms = next.map(|d| (d - now_ms()).clamp(5, 1000)).unwrap_or(1000);
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(wait_ms as u64)) => {}
                    _ = engine.kick.notified() => {}
                    _ = shutdown.changed() => break,
                }
                if *shutdown.borrow() {
                    break;
                }
            }
        })
    }
}
