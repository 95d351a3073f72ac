//! The durable outbox of station events: an append-only file of JSON lines `{"seq":N,"event":…}` under
//! `data_dir/spool/`, written and fsynced before an event is sent, and dropped once the controller acknowledges
//! it.
//!
//! Files:
//! - `events.jsonl`: the spooled events, oldest first. A torn last line (a crash in the middle of a write) is
//!   ignored and cut off on open.
//! - `meta.json`: `{"acked":N,"next_seq":M}`, replaced atomically on every acknowledgement. Sequence numbers are
//!   never reused: the next one is past both the acknowledged watermark and every number in the file.
//!
//! When everything is acknowledged the file is truncated; when the acknowledged part at its head grows past
//! [`COMPACT_BYTES`] (and is more than half of it) the unacknowledged rest is rewritten to a new file.

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;
use twister_proto::link::StationEvent;

use crate::fsutil::{sync_dir, write_atomic};

/// Acknowledged bytes at the head of the file past which the file is rewritten.
pub const COMPACT_BYTES: u64 = 1024 * 1024;

const EVENTS: &str = "events.jsonl";
const META: &str = "meta.json";

/// A spool failure.
#[derive(Debug, Error)]
pub enum SpoolError {
    /// A file operation failed.
    #[error("spool {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// `meta.json` is not what the spool writes.
    #[error("spool {path}: {message}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// One spooled event with its number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Spooled {
    /// Sequence number.
    pub seq: u64,
    /// The event.
    pub event: StationEvent,
}

#[derive(Serialize)]
struct LineRef<'a> {
    seq: u64,
    event: &'a StationEvent,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Meta {
    #[serde(default)]
    acked: u64,
    #[serde(default)]
    next_seq: u64,
}

struct Entry {
    spooled: Spooled,
    len: u64,
}

/// The durable outbox. Not thread-safe by itself: the station keeps it behind a mutex.
pub struct Spool {
    dir: PathBuf,
    file: File,
    entries: VecDeque<Entry>,
    acked: u64,
    next_seq: u64,
    file_len: u64,
    dead_bytes: u64,
}

impl std::fmt::Debug for Spool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spool")
            .field("dir", &self.dir)
            .field("unacked", &self.entries.len())
            .field("acked", &self.acked)
            .field("next_seq", &self.next_seq)
            .finish()
    }
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> SpoolError + '_ {
    move |source| SpoolError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl Spool {
    /// Opens (or creates) the spool in `dir`, recovering the unacknowledged events in order.
    pub fn open(dir: &Path) -> Result<Spool, SpoolError> {
        fs::create_dir_all(dir).map_err(io_err(dir))?;
        let meta_path = dir.join(META);
        let meta: Meta = match fs::read(&meta_path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| SpoolError::Corrupt {
                path: meta_path.clone(),
                message: e.to_string(),
            })?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Meta::default(),
            Err(e) => return Err(io_err(&meta_path)(e)),
        };
        // A rewrite that crashed before its rename leaves a stale temporary file.
        let _ = fs::remove_file(dir.join(format!("{EVENTS}.tmp")));

        let events_path = dir.join(EVENTS);
        let bytes = match fs::read(&events_path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(io_err(&events_path)(e)),
        };
        let mut entries = VecDeque::new();
        let mut good_len = 0u64;
        let mut dead_bytes = 0u64;
        let mut last_seq = 0u64;
        let mut rest = &bytes[..];
        while let Some(nl) = rest.iter().position(|&b| b == b'\n') {
            let line = &rest[..nl];
            let len = nl as u64 + 1;
            rest = &rest[nl + 1..];
            good_len += len;
            match serde_json::from_slice::<Spooled>(line) {
                Ok(s) if s.seq > last_seq => {
                    last_seq = s.seq;
                    if s.seq > meta.acked {
                        entries.push_back(Entry { spooled: s, len });
                    } else {
                        dead_bytes += len;
                    }
                }
                Ok(s) => {
                    tracing::warn!(seq = s.seq, "spool: out-of-order entry skipped");
                    dead_bytes += len;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "spool: unreadable entry skipped");
                    dead_bytes += len;
                }
            }
        }
        if !rest.is_empty() {
            tracing::warn!(bytes = rest.len(), "spool: torn last entry ignored");
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&events_path)
            .map_err(io_err(&events_path))?;
        let mut spool = Spool {
            dir: dir.to_path_buf(),
            file,
            entries,
            acked: meta.acked,
            next_seq: meta.next_seq.max(meta.acked + 1).max(last_seq + 1),
            file_len: good_len,
            dead_bytes,
        };
        if !rest.is_empty() {
            spool.truncate_to(good_len)?;
        }
        if spool.entries.is_empty() && spool.file_len > 0 {
            spool.truncate_to(0)?;
        }
        Ok(spool)
    }

    fn events_path(&self) -> PathBuf {
        self.dir.join(EVENTS)
    }

    fn truncate_to(&mut self, len: u64) -> Result<(), SpoolError> {
        let path = self.events_path();
        self.file.set_len(len).map_err(io_err(&path))?;
        self.file.sync_all().map_err(io_err(&path))?;
        self.file_len = len;
        if len == 0 {
            self.dead_bytes = 0;
        }
        Ok(())
    }

    /// Appends an event durably (written and fsynced) and returns its sequence number.
    pub fn append(&mut self, event: StationEvent) -> Result<u64, SpoolError> {
        let seq = self.next_seq;
        let mut line =
            serde_json::to_vec(&LineRef { seq, event: &event }).map_err(|e| SpoolError::Corrupt {
                path: self.events_path(),
                message: format!("cannot encode event: {e}"),
            })?;
        line.push(b'\n');
        let path = self.events_path();
        let written = self.file.write_all(&line).and_then(|()| self.file.sync_data());
        if let Err(e) = written {
            // Cut off whatever part of the line made it, so the next append starts on a clean line.
            let _ = self.file.set_len(self.file_len);
            return Err(io_err(&path)(e));
        }
        self.next_seq += 1;
        self.file_len += line.len() as u64;
        self.entries.push_back(Entry {
            spooled: Spooled { seq, event },
            len: line.len() as u64,
        });
        Ok(seq)
    }

    /// Records that the controller stored every event up to `seq`, drops those events, and compacts the file.
    /// A `seq` beyond the last number given out (the controller knows numbers this spool forgot, e.g. after
    /// its data directory was wiped) moves the next number past it, so none is reused.
    pub fn ack(&mut self, seq: u64) -> Result<(), SpoolError> {
        if seq <= self.acked {
            return Ok(());
        }
        self.acked = seq;
        self.next_seq = self.next_seq.max(seq + 1);
        let meta = serde_json::to_vec(&Meta {
            acked: self.acked,
            next_seq: self.next_seq,
        })
        .unwrap_or_default();
        let meta_path = self.dir.join(META);
        write_atomic(&meta_path, &meta).map_err(io_err(&meta_path))?;
        while self.entries.front().is_some_and(|e| e.spooled.seq <= seq) {
            if let Some(e) = self.entries.pop_front() {
                self.dead_bytes += e.len;
            }
        }
        if self.entries.is_empty() {
            self.truncate_to(0)?;
        } else if self.dead_bytes > COMPACT_BYTES && self.dead_bytes * 2 > self.file_len {
            self.rewrite()?;
        }
        Ok(())
    }

    fn rewrite(&mut self) -> Result<(), SpoolError> {
        let path = self.events_path();
        let tmp = self.dir.join(format!("{EVENTS}.tmp"));
        let mut buf = Vec::new();
        for e in &self.entries {
            serde_json::to_writer(
                &mut buf,
                &LineRef {
                    seq: e.spooled.seq,
                    event: &e.spooled.event,
                },
            )
            .map_err(|e| SpoolError::Corrupt {
                path: path.clone(),
                message: e.to_string(),
            })?;
            buf.push(b'\n');
        }
        {
            let mut f = File::create(&tmp).map_err(io_err(&tmp))?;
            f.write_all(&buf)
                .and_then(|()| f.sync_all())
                .map_err(io_err(&tmp))?;
        }
        fs::rename(&tmp, &path).map_err(io_err(&path))?;
        sync_dir(&self.dir).map_err(io_err(&self.dir))?;
        self.file = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(io_err(&path))?;
        self.file_len = buf.len() as u64;
        self.dead_bytes = 0;
        Ok(())
    }

    /// Unacknowledged events with a number above `seq`, oldest first.
    pub fn after(&self, seq: u64) -> Vec<Spooled> {
        // Entries are in increasing order: skip the ones already sent without walking them.
        let start = self.entries.partition_point(|e| e.spooled.seq <= seq);
        self.entries.range(start..).map(|e| e.spooled.clone()).collect()
    }

    /// Every unacknowledged event, oldest first.
    pub fn unacked(&self) -> Vec<Spooled> {
        self.after(0)
    }

    /// Whether an unacknowledged event satisfies `pred`.
    pub fn any(&self, mut pred: impl FnMut(&StationEvent) -> bool) -> bool {
        self.entries.iter().any(|e| pred(&e.spooled.event))
    }

    /// The highest acknowledged number.
    pub fn acked(&self) -> u64 {
        self.acked
    }

    /// The number the next event will get.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Size of the events file, bytes.
    pub fn file_len(&self) -> u64 {
        self.file_len
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use twister_proto::link::Stream;

    fn ev(i: u64) -> StationEvent {
        StationEvent::Output {
            run: "r".into(),
            test: "t".into(),
            stream: Stream::Stdout,
            at_ms: i as i64,
            text: format!("line {i}\n"),
        }
    }

    fn seqs(s: &Spool) -> Vec<u64> {
        s.unacked().iter().map(|e| e.seq).collect()
    }

    #[test]
    fn append_ack_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Spool::open(dir.path()).unwrap();
        for i in 0..5 {
            assert_eq!(s.append(ev(i)).unwrap(), i + 1);
        }
        s.ack(2).unwrap();
        assert_eq!(seqs(&s), [3, 4, 5]);
        drop(s);
        let mut s = Spool::open(dir.path()).unwrap();
        assert_eq!(seqs(&s), [3, 4, 5]);
        assert_eq!(s.unacked()[0].event, ev(2));
        s.ack(5).unwrap();
        assert_eq!(s.file_len(), 0, "compacted when everything is acked");
        drop(s);
        let mut s = Spool::open(dir.path()).unwrap();
        assert!(s.unacked().is_empty());
        assert_eq!(s.append(ev(9)).unwrap(), 6, "numbers are never reused");
        assert_eq!(s.after(5).len(), 1);
        assert!(s.after(6).is_empty());
    }

    #[test]
    fn torn_last_line_is_ignored_and_cut() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Spool::open(dir.path()).unwrap();
        s.append(ev(1)).unwrap();
        s.append(ev(2)).unwrap();
        drop(s);
        let path = dir.path().join(EVENTS);
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(br#"{"seq":3,"event":{"kind":"outp"#).unwrap();
        drop(f);
        let mut s = Spool::open(dir.path()).unwrap();
        assert_eq!(seqs(&s), [1, 2]);
        assert_eq!(s.append(ev(3)).unwrap(), 3);
        drop(s);
        let s = Spool::open(dir.path()).unwrap();
        assert_eq!(seqs(&s), [1, 2, 3]);
        assert_eq!(s.unacked()[2].event, ev(3));
    }

    #[test]
    fn over_ack_moves_numbers_past_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Spool::open(dir.path()).unwrap();
        s.append(ev(1)).unwrap();
        s.ack(40).unwrap();
        assert!(s.unacked().is_empty());
        drop(s);
        let mut s = Spool::open(dir.path()).unwrap();
        assert_eq!(s.append(ev(2)).unwrap(), 41);
    }

    #[test]
    fn large_acked_head_is_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Spool::open(dir.path()).unwrap();
        let big = "x".repeat(64 * 1024);
        let mk = |i: i64| StationEvent::Output {
            run: "r".into(),
            test: "t".into(),
            stream: Stream::Stdout,
            at_ms: i,
            text: big.clone(),
        };
        for i in 0..40 {
            s.append(mk(i)).unwrap();
        }
        let before = s.file_len();
        s.ack(30).unwrap();
        assert!(s.file_len() < before / 2, "{} vs {before}", s.file_len());
        assert_eq!(seqs(&s), (31..=40).collect::<Vec<_>>());
        s.append(mk(99)).unwrap();
        drop(s);
        let s = Spool::open(dir.path()).unwrap();
        assert_eq!(seqs(&s), (31..=41).collect::<Vec<_>>());
    }

    #[derive(Debug, Clone)]
    enum Op {
        Append(u8),
        Ack(u8),
        Reopen,
        TornReopen,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (1u8..4).prop_map(Op::Append),
            2 => any::<u8>().prop_map(Op::Ack),
            1 => Just(Op::Reopen),
            1 => Just(Op::TornReopen),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        #[test]
        fn never_loses_or_duplicates(ops in prop::collection::vec(op(), 1..40)) {
            let dir = tempfile::tempdir().unwrap();
            let mut s = Spool::open(dir.path()).unwrap();
            // Model: every appended (seq, event) not yet acked.
            let mut model: Vec<(u64, StationEvent)> = Vec::new();
            let mut given: Vec<u64> = Vec::new();
            let mut counter = 0u64;
            for op in ops {
                match op {
                    Op::Append(n) => for _ in 0..n {
                        counter += 1;
                        let seq = s.append(ev(counter)).unwrap();
                        prop_assert!(given.last().is_none_or(|&l| seq > l), "seq {seq} after {given:?}");
                        given.push(seq);
                        model.push((seq, ev(counter)));
                    },
                    Op::Ack(k) => {
                        // Ack somewhere in the range handed out so far (sometimes nothing new).
                        let last = given.last().copied().unwrap_or(0);
                        let upto = if last == 0 { 0 } else { u64::from(k) % (last + 1) };
                        s.ack(upto).unwrap();
                        let watermark = s.acked();
                        model.retain(|(q, _)| *q > watermark);
                    }
                    Op::Reopen => {
                        drop(s);
                        s = Spool::open(dir.path()).unwrap();
                    }
                    Op::TornReopen => {
                        drop(s);
                        let mut f = OpenOptions::new().append(true).create(true)
                            .open(dir.path().join(EVENTS)).unwrap();
                        f.write_all(br#"{"seq":99999,"ev"#).unwrap();
                        drop(f);
                        s = Spool::open(dir.path()).unwrap();
                    }
                }
                let got: Vec<(u64, StationEvent)> = s.unacked().into_iter().map(|e| (e.seq, e.event)).collect();
                prop_assert_eq!(&got, &model);
            }
        }
    }
}
