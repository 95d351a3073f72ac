//! The writer: the one task that stores station events (with their command acknowledgements), test starts and
//! run item changes. It takes whatever requests have arrived, stores them in one transaction, commits once and
//! then answers each (group commit), so the number of commits per second stays small whatever the number of
//! stations, and nothing is acknowledged before it is durable.

use std::collections::HashMap;

use serde_json::json;
use twister_proto::link::StationEvent;
use twister_proto::TestStatus;

use super::{status_of, Engine};
use crate::api::error::ApiError;
use crate::events::Event;
use crate::store::{self, now_ms, StoreError};

/// Most requests stored in one transaction.
pub(super) const GROUP: usize = 2048;

/// How many times a group is tried before its requests get the error.
const WRITE_ATTEMPTS: u32 = 3;

/// One request to the writer and where its answer goes.
pub(super) struct WriteRequest {
    work: Work,
    reply: tokio::sync::oneshot::Sender<Result<Done, ApiError>>,
}

/// What to store.
enum Work {
    /// Events (and the highest command executed) from a station.
    Events {
        station_id: String,
        station_name: String,
        events: Vec<(u64, StationEvent)>,
        command_ack: Option<u64>,
    },
    /// A test's start: its token, the station command and the item's running state, stored together.
    Start(Box<Start>),
    /// A run item's status, with a log line saying why when it is final.
    Item {
        run: String,
        item: String,
        status: TestStatus,
        reason: Option<String>,
        started: Option<i64>,
        ended: Option<i64>,
    },
}

/// A test to start.
pub(super) struct Start {
    pub(super) station_id: String,
    pub(super) token: store::tokens::TokenRow,
    pub(super) body: String,
    pub(super) run: String,
    pub(super) item: String,
}

/// What the writer did.
enum Done {
    /// The highest event number now stored for the station.
    Stored(u64),
    /// The number of the stored command.
    Started(i64),
    /// Whether the item changed, and its status afterwards.
    Item(bool, Option<TestStatus>),
}

/// What a group of event batches changed, for after the commit.
#[derive(Default)]
pub(super) struct Applied {
    /// EP of each test instance seen in this group (one read per test, not per event).
    eps: HashMap<(String, String), String>,
    touched: Vec<String>,
    published: Vec<Event>,
    finished_items: Vec<(String, String)>,
}

impl Applied {
    async fn ep(&mut self, tx: &mut store::WriteTx, run: &str, test: &str) -> Result<String, ApiError> {
        let key = (run.to_string(), test.to_string());
        if let Some(ep) = self.eps.get(&key) {
            return Ok(ep.clone());
        }
        let ep = item_ep(tx.conn(), run, test).await?;
        self.eps.insert(key, ep.clone());
        Ok(ep)
    }
}

fn unexpected() -> ApiError {
    ApiError::internal("the writer answered something else")
}

impl Engine {
    async fn submit(&self, work: Work) -> Result<Done, ApiError> {
        let stopped = || ApiError::internal("the writer has stopped");
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.inner
            .writer
            .send(WriteRequest { work, reply })
            .await
            .map_err(|_| stopped())?;
        answer.await.unwrap_or_else(|_| Err(stopped()))
    }

    /// Applies numbered events from a station; returns the highest number now stored. `command_ack` (the
    /// highest command the station has executed) is stored in the same transaction.
    pub async fn apply_events(
        &self,
        station_id: &str,
        station_name: &str,
        events: Vec<(u64, StationEvent)>,
        command_ack: Option<u64>,
    ) -> Result<u64, ApiError> {
        let work = Work::Events {
            station_id: station_id.to_string(),
            station_name: station_name.to_string(),
            events,
            command_ack,
        };
        match self.submit(work).await? {
            Done::Stored(seq) => Ok(seq),
            _ => Err(unexpected()),
        }
    }

    /// Stores a test's start; returns its command number.
    pub(super) async fn store_start(&self, start: Start) -> Result<i64, ApiError> {
        match self.submit(Work::Start(Box::new(start))).await? {
            Done::Started(seq) => Ok(seq),
            _ => Err(unexpected()),
        }
    }

    /// Changes an item's status (unless it already has a final one): whether it changed, and its status now.
    pub(super) async fn change_item(
        &self,
        run: &str,
        id: &str,
        status: TestStatus,
        reason: Option<&str>,
        started: Option<i64>,
        ended: Option<i64>,
    ) -> Result<(bool, Option<TestStatus>), ApiError> {
        let work = Work::Item {
            run: run.to_string(),
            item: id.to_string(),
            status,
            reason: reason.map(str::to_string),
            started,
            ended,
        };
        match self.submit(work).await? {
            Done::Item(changed, now) => Ok((changed, now)),
            _ => Err(unexpected()),
        }
    }

    /// Stores a group of requests in one transaction, then answers each.
    pub(super) async fn write_group(&self, group: Vec<WriteRequest>) {
        let mut acc = Applied::default();
        let mut answers = Vec::with_capacity(group.len());
        let mut outcome: Result<(), ApiError> = Ok(());
        // A failed transaction rolled everything back, so the whole group can be stored again; a transient
        // failure (the database busy) then costs a retry instead of failing every request in the group.
        for attempt in 1..=WRITE_ATTEMPTS {
            acc = Applied::default();
            answers.clear();
            outcome = async {
                let mut tx = self.inner.store.begin_write().await?;
                for r in &group {
                    answers.push(self.perform(&mut tx, &r.work, &mut acc).await);
                }
                tx.commit().await?;
                Ok(())
            }
            .await;
            match &outcome {
                Ok(()) => break,
                Err(e) if attempt < WRITE_ATTEMPTS => {
                    tracing::warn!(error = %e.message, attempt, "group commit failed; storing it again");
                    tokio::time::sleep(std::time::Duration::from_millis(20 * attempt as u64)).await;
                }
                Err(_) => {}
            }
        }
        for (r, answer) in group.into_iter().zip(answers) {
            let _ = r.reply.send(match &outcome {
                Ok(()) => answer,
                Err(e) => Err(e.clone()),
            });
        }
        if outcome.is_ok() {
            self.after_events(acc);
        }
    }

    async fn perform(
        &self,
        tx: &mut store::WriteTx,
        work: &Work,
        acc: &mut Applied,
    ) -> Result<Done, ApiError> {
        let now = now_ms();
        match work {
            Work::Events {
                station_id,
                station_name,
                events,
                command_ack,
            } => {
                if let Some(seq) = command_ack {
                    store::stations::ack_commands(tx.conn(), station_id, *seq as i64).await?;
                }
                let last = self
                    .apply_in(tx, station_id, station_name, events.clone(), acc)
                    .await?;
                Ok(Done::Stored(last))
            }
            Work::Start(s) => {
                store::tokens::insert(tx.conn(), &s.token).await?;
                let seq = store::stations::enqueue_command(tx.conn(), &s.station_id, &s.body, now).await?;
                store::runs::set_item_status(
                    tx.conn(),
                    &s.run,
                    &s.item,
                    "running",
                    None,
                    None,
                    Some(now),
                    None,
                )
                .await?;
                Ok(Done::Started(seq))
            }
            Work::Item {
                run,
                item,
                status,
                reason,
                started,
                ended,
            } => {
                let changed = store::runs::set_item_status(
                    tx.conn(),
                    run,
                    item,
                    status.as_str(),
                    reason.as_deref(),
                    None,
                    *started,
                    *ended,
                )
                .await?;
                let row = store::runs::item(tx.conn(), run, item).await?;
                if let (true, true, Some(r), Some(row)) = (changed, status.is_final(), reason, &row) {
                    let line = format!("{}: {r}", status.as_str());
                    store::runs::insert_log(tx.conn(), run, item, &row.ep, "controller", now, &line).await?;
                }
                Ok(Done::Item(changed, row.map(|r| status_of(&r.status))))
            }
        }
    }

    fn after_events(&self, acc: Applied) {
        for e in acc.published {
            self.inner.events.publish(e);
        }
        for (run, test) in &acc.finished_items {
            if let Some(ctl) = self.ctl(run) {
                ctl.wake_item(test);
            }
        }
        let mut touched = acc.touched;
        touched.sort();
        touched.dedup();
        for run in touched {
            // Dependency waits and the like: only when something ended.
            if acc.finished_items.iter().any(|(r, _)| *r == run) {
                if let Some(ctl) = self.ctl(&run) {
                    ctl.changed.notify_waiters();
                }
            }
        }
    }

    /// Stores one station's events inside the writer's transaction; returns the highest number stored.
    async fn apply_in(
        &self,
        tx: &mut store::WriteTx,
        station_id: &str,
        station_name: &str,
        events: Vec<(u64, StationEvent)>,
        acc: &mut Applied,
    ) -> Result<u64, ApiError> {
        let st = store::stations::by_id(tx.conn(), station_id)
            .await?
            .ok_or_else(|| ApiError::not_found("station deleted"))?;
        let mut last = st.last_event_seq.max(0) as u64;
        let now = now_ms();
        for (seq, ev) in events {
            if seq <= last {
                continue; // already stored: a resend after a reconnect
            }
            last = seq;
            match ev {
                StationEvent::TestStarted {
                    run,
                    test,
                    pid,
                    at_ms,
                } => {
                    if store::runs::set_item_status(
                        tx.conn(),
                        &run,
                        &test,
                        "running",
                        None,
                        None,
                        Some(at_ms),
                        None,
                    )
                    .await?
                    {
                        let ep = acc.ep(tx, &run, &test).await?;
                        store::runs::insert_log(
                            tx.conn(),
                            &run,
                            &test,
                            &ep,
                            "station",
                            at_ms,
                            &format!("started on {station_name} (pid {pid})"),
                        )
                        .await?;
                        acc.published.push(
                            Event::new("runs", "item.running")
                                .id(&run)
                                .data(json!({"item": test})),
                        );
                    }
                    acc.touched.push(run);
                }
                StationEvent::Output {
                    run,
                    test,
                    stream,
                    at_ms,
                    text,
                } => {
                    let ep = acc.ep(tx, &run, &test).await?;
                    let stream = serde_json::to_value(stream)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_else(|| "stdout".into());
                    let mut lines = Vec::new();
                    for line in text.lines() {
                        store::runs::insert_log(tx.conn(), &run, &test, &ep, &stream, at_ms, line).await?;
                        lines.push(line.to_string());
                    }
                    acc.published.push(
                        Event::new("logs", "log.lines")
                            .id(&run)
                            .data(json!({"item": test, "ep": ep, "stream": stream, "lines": lines})),
                    );
                }
                StationEvent::PanicDetected {
                    run,
                    test,
                    pattern,
                    line,
                } => {
                    let ep = acc.ep(tx, &run, &test).await?;
                    store::runs::insert_log(
                        tx.conn(),
                        &run,
                        &test,
                        &ep,
                        "controller",
                        now,
                        &format!("PANIC DETECT: {line:?} matched {pattern:?}; stopping this EP"),
                    )
                    .await?;
                    acc.touched.push(run);
                }
                StationEvent::TestFinished {
                    run,
                    test,
                    status,
                    reason,
                    exit_code,
                    at_ms,
                    duration_ms,
                } => {
                    let status = if status.is_final() {
                        status
                    } else {
                        TestStatus::Error
                    };
                    if store::runs::set_item_status(
                        tx.conn(),
                        &run,
                        &test,
                        status.as_str(),
                        reason.as_deref(),
                        exit_code.map(i64::from),
                        Some(at_ms - duration_ms as i64),
                        Some(at_ms),
                    )
                    .await?
                    {
                        acc.published.push(
                            Event::new("runs", "item.finished")
                                .id(&run)
                                .data(json!({"item": test, "status": status.as_str(), "reason": reason})),
                        );
                    }
                    acc.finished_items.push((run.clone(), test.clone()));
                    sqlx::query(
                        "UPDATE tokens SET revoked_at = $1 WHERE kind = 'test' AND name = $2 AND revoked_at IS NULL",
                    )
                    .bind(now)
                    .bind(format!("test {run}/{test}"))
                    .execute(tx.conn())
                    .await
                    .map_err(StoreError::from)?;
                    acc.touched.push(run);
                }
            }
        }
        store::stations::set_last_event_seq(tx.conn(), station_id, last as i64, now).await?;
        Ok(last)
    }
}

async fn item_ep(conn: &mut sqlx::AnyConnection, run: &str, id: &str) -> Result<String, ApiError> {
    Ok(store::runs::item(conn, run, id)
        .await?
        .map(|i| i.ep)
        .unwrap_or_default())
}
