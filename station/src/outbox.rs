//! The outbox shared by the test runners and the link: the [`Spool`] of events and the [`StateFile`], behind
//! one lock, plus a signal that wakes the link when a new event is spooled.
//!
//! Keeping both behind one lock makes "spool a test's end, forget it is running" a single step with respect to
//! acknowledgements: a restart finds every test in `running` either ended in the unacknowledged spool or
//! still to be reported as interrupted.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use thiserror::Error;
use tokio::sync::watch;
use twister_proto::link::StationEvent;
use twister_proto::TestStatus;

use crate::spool::{Spool, SpoolError, Spooled};
use crate::state::{State, StateError, StateFile, TestKey};
use crate::time::now_ms;

/// Reason reported for tests that were running when the station stopped without ending them.
pub const RESTARTED_REASON: &str = "station restarted during the test";

/// An outbox failure.
#[derive(Debug, Error)]
pub enum OutboxError {
    /// The spool failed.
    #[error(transparent)]
    Spool(#[from] SpoolError),
    /// The state file failed.
    #[error(transparent)]
    State(#[from] StateError),
}

struct Store {
    spool: Spool,
    state: StateFile,
}

/// Shared handle to the spool and the state.
#[derive(Clone)]
pub struct Outbox {
    store: Arc<Mutex<Store>>,
    latest: Arc<watch::Sender<u64>>,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox").finish_non_exhaustive()
    }
}

impl Outbox {
    /// Opens `data_dir/spool/` and `data_dir/state.json`.
    pub fn open(data_dir: &Path) -> Result<Outbox, OutboxError> {
        let spool = Spool::open(&data_dir.join("spool"))?;
        let state = StateFile::open(data_dir)?;
        let latest = spool.next_seq().saturating_sub(1);
        Ok(Outbox {
            store: Arc::new(Mutex::new(Store { spool, state })),
            latest: Arc::new(watch::channel(latest).0),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Store> {
        // A panic while holding the lock leaves the store as consistent as the files are: keep going.
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Spools an event and wakes the link; returns its number.
    pub fn push(&self, event: StationEvent) -> Result<u64, OutboxError> {
        let seq = self.lock().spool.append(event)?;
        self.latest.send_replace(seq);
        Ok(seq)
    }

    /// Records that a test is starting (before its process is spawned).
    pub fn begin(&self, key: &TestKey) -> Result<(), OutboxError> {
        self.lock().state.update(|s| {
            s.running.insert(key.clone());
        })?;
        Ok(())
    }

    /// Spools a test's end (`TestFinished`) and forgets that it runs, in one step.
    pub fn finish(&self, key: &TestKey, event: StationEvent) -> Result<u64, OutboxError> {
        let seq = {
            let mut store = self.lock();
            let seq = store.spool.append(event)?;
            store.state.update(|s| {
                s.running.remove(key);
            })?;
            seq
        };
        self.latest.send_replace(seq);
        Ok(seq)
    }

    /// Spools `TestFinished` (error, [`RESTARTED_REASON`]) for every test the state says is running whose end
    /// is not already spooled, and clears the running set. Called once at start. Returns the tests reported.
    pub fn recover_interrupted(&self) -> Result<Vec<TestKey>, OutboxError> {
        let mut reported = Vec::new();
        let last = {
            let mut store = self.lock();
            let running: Vec<TestKey> = store.state.get().running.iter().cloned().collect();
            let mut last = None;
            for key in &running {
                let done = store.spool.any(|e| {
                    matches!(e, StationEvent::TestFinished { run, test, .. }
                        if *run == key.run && *test == key.test)
                });
                if !done {
                    last = Some(store.spool.append(StationEvent::TestFinished {
                        run: key.run.clone(),
                        test: key.test.clone(),
                        status: TestStatus::Error,
                        reason: Some(RESTARTED_REASON.into()),
                        exit_code: None,
                        at_ms: now_ms(),
                        duration_ms: 0,
                    })?);
                    reported.push(key.clone());
                }
            }
            store.state.update(|s| s.running.clear())?;
            last
        };
        if let Some(seq) = last {
            self.latest.send_replace(seq);
        }
        Ok(reported)
    }

    /// Records the controller's acknowledgement of every event up to `seq`.
    pub fn ack(&self, seq: u64) -> Result<(), OutboxError> {
        self.lock().spool.ack(seq)?;
        Ok(())
    }

    /// Unacknowledged events numbered above `seq`, oldest first.
    pub fn after(&self, seq: u64) -> Vec<Spooled> {
        self.lock().spool.after(seq)
    }

    /// Every unacknowledged event.
    pub fn unacked(&self) -> Vec<Spooled> {
        self.after(0)
    }

    /// The highest acknowledged event number.
    pub fn acked(&self) -> u64 {
        self.lock().spool.acked()
    }

    /// The number the next event will get.
    pub fn next_seq(&self) -> u64 {
        self.lock().spool.next_seq()
    }

    /// A receiver of the number of the latest spooled event (changes on every push).
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.latest.subscribe()
    }

    /// A copy of the persistent state.
    pub fn state(&self) -> State {
        self.lock().state.get().clone()
    }

    /// The highest command number executed.
    pub fn last_command_seq(&self) -> u64 {
        self.lock().state.get().last_command_seq
    }

    /// Persists the highest command number executed.
    pub fn set_last_command_seq(&self, seq: u64) -> Result<(), OutboxError> {
        self.lock().state.update(|s| {
            s.last_command_seq = s.last_command_seq.max(seq);
        })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finished(key: &TestKey) -> StationEvent {
        StationEvent::TestFinished {
            run: key.run.clone(),
            test: key.test.clone(),
            status: TestStatus::Pass,
            reason: None,
            exit_code: Some(0),
            at_ms: 1,
            duration_ms: 1,
        }
    }

    #[test]
    fn interrupted_tests_are_reported_once() {
        let dir = tempfile::tempdir().unwrap();
        let a = TestKey::new("r", "a");
        let b = TestKey::new("r", "b");
        let c = TestKey::new("r", "c");
        {
            let o = Outbox::open(dir.path()).unwrap();
            o.begin(&a).unwrap();
            o.begin(&b).unwrap();
            o.begin(&c).unwrap();
            o.finish(&a, finished(&a)).unwrap();
            // A crash between spooling b's end and forgetting it: simulated by spooling it plainly.
            o.push(finished(&b)).unwrap();
            o.set_last_command_seq(5).unwrap();
        }
        let o = Outbox::open(dir.path()).unwrap();
        assert_eq!(o.state().running.len(), 2);
        let mut rx = o.subscribe();
        assert_eq!(o.recover_interrupted().unwrap(), vec![c.clone()]);
        assert!(rx.has_changed().unwrap());
        assert_eq!(*rx.borrow_and_update(), 3);
        let last = o.unacked().pop().unwrap();
        assert!(
            matches!(last.event, StationEvent::TestFinished { status: TestStatus::Error, reason: Some(ref r), .. } if r == RESTARTED_REASON)
        );
        assert!(o.state().running.is_empty());
        assert_eq!(o.last_command_seq(), 5);
        assert!(o.recover_interrupted().unwrap().is_empty());
        o.ack(3).unwrap();
        assert!(o.unacked().is_empty());
        assert_eq!(o.acked(), 3);
    }
}
