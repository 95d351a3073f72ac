//! Helpers shared by the station's integration tests.
#![allow(dead_code, missing_docs, clippy::unwrap_used)]

pub mod controller;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use twister_proto::link::{FileRef, StationEvent, Stream, TestJob};
use twister_proto::TestStatus;
use twister_station::files::sha256_hex;
use twister_station::outbox::Outbox;

/// Puts `body` into the station's file cache as if fetched, and returns its reference under `path`.
pub fn cache_file(data_dir: &Path, path: &str, body: &str) -> FileRef {
    let sha = sha256_hex(body.as_bytes());
    let dir = data_dir.join("cache");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(&sha), body).unwrap();
    FileRef {
        path: path.into(),
        sha256: sha,
        size: body.len() as u64,
    }
}

pub fn job(run: &str, test: &str, file: FileRef) -> TestJob {
    TestJob {
        run: run.into(),
        test: test.into(),
        ep: "EP-1".into(),
        suite: "suite".into(),
        suite_id: "s1".into(),
        file,
        libraries: vec![],
        args: vec![],
        env: BTreeMap::new(),
        timeout_s: 0,
        panic_patterns: vec![],
    }
}

/// The end of a test as reported.
#[derive(Debug, Clone, PartialEq)]
pub struct Finished {
    pub status: TestStatus,
    pub reason: Option<String>,
    pub exit_code: Option<i32>,
    pub duration_ms: u64,
}

pub fn events_for(outbox: &Outbox, run: &str, test: &str) -> Vec<StationEvent> {
    outbox
        .unacked()
        .into_iter()
        .map(|s| s.event)
        .filter(|e| match e {
            StationEvent::TestStarted { run: r, test: t, .. }
            | StationEvent::Output { run: r, test: t, .. }
            | StationEvent::PanicDetected { run: r, test: t, .. }
            | StationEvent::TestFinished { run: r, test: t, .. } => r == run && t == test,
        })
        .collect()
}

pub fn finished_of(events: &[StationEvent]) -> Option<Finished> {
    events.iter().find_map(|e| match e {
        StationEvent::TestFinished {
            status,
            reason,
            exit_code,
            duration_ms,
            ..
        } => Some(Finished {
            status: *status,
            reason: reason.clone(),
            exit_code: *exit_code,
            duration_ms: *duration_ms,
        }),
        _ => None,
    })
}

/// Waits (at most `limit`) for the test's `TestFinished`.
pub async fn wait_finished(outbox: &Outbox, run: &str, test: &str, limit: Duration) -> Finished {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(f) = finished_of(&events_for(outbox, run, test)) {
            return f;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{run}/{test} did not finish within {limit:?}; events: {:#?}",
            events_for(outbox, run, test)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The text a test wrote to `stream`, in order.
pub fn text_of(events: &[StationEvent], which: Stream) -> String {
    events
        .iter()
        .filter_map(|e| match e {
            StationEvent::Output { stream, text, .. } if *stream == which => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

/// Whether a process exists and is not a zombie.
pub fn alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    if unsafe { libc::kill(pid, 0) } != 0 {
        return false;
    }
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat.rsplit(')').next().and_then(|s| s.split_whitespace().next());
            state != Some("Z") && state != Some("X")
        }
        Err(_) => false,
    }
}

/// Waits (at most `limit`) until `pid` is gone.
pub async fn wait_gone(pid: i32, limit: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < deadline {
        if !alive(pid) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    !alive(pid)
}
