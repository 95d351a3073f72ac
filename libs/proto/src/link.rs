//! The station link: the messages a station and the controller exchange over one WebSocket
//! (`/api/v1/stations/link`), one JSON object per text frame.
//!
//! Both directions are numbered and acknowledged, so that a dropped link or a restart on either side loses and
//! duplicates nothing:
//! - every [`StationEvent`] travels in an [`Up::Event`] with a sequence number; the station keeps it on disk until
//!   the controller acknowledges that number (acknowledgements are cumulative), and the controller ignores numbers
//!   it has already stored;
//! - every [`Command`] travels in a [`Down::Command`] with a sequence number; the controller keeps it until the
//!   station acknowledges it, and the station ignores numbers it has already executed.
//!
//! After connecting, the station sends [`Up::Hello`] with the last command it executed; the controller answers
//! [`Down::Welcome`] with the last event it stored; each side then resends what the other has not seen.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::TestStatus;

/// Version of this protocol; a controller refuses stations that speak another.
pub const PROTOCOL_VERSION: u32 = 1;

/// Largest frame either side accepts, in bytes.
pub const MAX_FRAME: usize = 4 * 1024 * 1024;

/// Messages from a station to the controller.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Up {
    /// First message after connecting.
    Hello(Hello),
    /// A numbered event.
    Event {
        /// Sequence number (1, 2, 3, … per station, never reused).
        seq: u64,
        /// The event.
        event: StationEvent,
    },
    /// Every command up to and including `seq` has been executed (or refused with an event).
    Ack {
        /// Highest command number done.
        seq: u64,
    },
    /// Liveness, every `heartbeat_s` seconds.
    Heartbeat {
        /// Station clock, Unix ms (to spot clock skew).
        at_ms: i64,
    },
    /// Captured packets and capture counters (not numbered: dropped, and counted, when the link lags).
    Packets(crate::capture::PacketBatch),
}

/// A station's introduction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hello {
    /// Protocol version ([`PROTOCOL_VERSION`]).
    pub protocol: u32,
    /// Station name (unique in the lab).
    pub station: String,
    /// Station software version.
    pub version: String,
    /// Facts about the host.
    pub facts: HostFacts,
    /// The execution processes (EPs) this station offers.
    pub eps: Vec<EpInfo>,
    /// Highest command number executed so far (0: none).
    pub last_command_seq: u64,
}

/// Facts about a station's host.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HostFacts {
    /// Host name.
    pub hostname: String,
    /// Operating system and version.
    pub os: String,
    /// Kernel release.
    pub kernel: String,
    /// CPU architecture.
    pub arch: String,
    /// Addresses of the host.
    pub addresses: Vec<String>,
    /// User the station runs as.
    pub user: String,
    /// Interpreters found, with their versions (`python3` → `3.11.2`).
    pub interpreters: BTreeMap<String, String>,
}

/// One execution process offered by a station.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpInfo {
    /// EP name, unique in the lab (original Twister: `EP-1001`).
    pub name: String,
    /// Whether it accepts work.
    pub enabled: bool,
    /// Free labels for matching suites to EPs.
    #[serde(default)]
    pub tags: Vec<String>,
}

/// Events a station reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StationEvent {
    /// A test process started.
    TestStarted {
        /// Run id.
        run: String,
        /// Test instance id within the run.
        test: String,
        /// Process id on the station.
        pid: u32,
        /// Start, Unix ms.
        at_ms: i64,
    },
    /// Output of a test process.
    Output {
        /// Run id.
        run: String,
        /// Test instance id.
        test: String,
        /// Which stream.
        stream: Stream,
        /// Time, Unix ms.
        at_ms: i64,
        /// Text (one or more complete lines, lossily decoded as UTF-8).
        text: String,
    },
    /// A line of the test's output matched a panic-detect pattern.
    PanicDetected {
        /// Run id.
        run: String,
        /// Test instance id.
        test: String,
        /// The pattern.
        pattern: String,
        /// The matching line.
        line: String,
    },
    /// A test process ended (or could not start).
    TestFinished {
        /// Run id.
        run: String,
        /// Test instance id.
        test: String,
        /// Outcome.
        status: TestStatus,
        /// Why, in words (exit code, signal, timeout, the test's own reason).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        /// Exit code, if it exited.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        exit_code: Option<i32>,
        /// End, Unix ms.
        at_ms: i64,
        /// Run time, ms.
        duration_ms: u64,
    },
}

/// Output streams of a test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
    /// Messages from the station about the test (start, kill, timeout).
    Station,
}

/// Messages from the controller to a station.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Down {
    /// Answer to [`Up::Hello`].
    Welcome {
        /// Session id (for logs).
        session: String,
        /// Heartbeat period the controller expects, seconds.
        heartbeat_s: u32,
        /// Highest event number stored so far; the station resends later ones.
        last_event_seq: u64,
    },
    /// A numbered command.
    Command {
        /// Sequence number (per station, never reused).
        seq: u64,
        /// The command.
        command: Command,
    },
    /// Every event up to and including `seq` is stored.
    Ack {
        /// Highest event number stored.
        seq: u64,
    },
    /// Change the running sniffer (not numbered: the latest settings win, and a station that was offline
    /// gets them again when it links).
    Capture(crate::capture::CaptureSettings),
    /// The controller refuses the link (wrong protocol, token, duplicate station); it closes after this.
    Refused {
        /// Stable code.
        code: String,
        /// Explanation.
        message: String,
    },
}

/// Work for a station.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Command {
    /// Run one test.
    StartTest(Box<TestJob>),
    /// Kill a running test (its whole process group) and report it with `status`.
    StopTest {
        /// Run id.
        run: String,
        /// Test instance id.
        test: String,
        /// Status to report (aborted, timeout, error).
        status: TestStatus,
        /// Why.
        reason: String,
    },
}

/// Everything a station needs to run one test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestJob {
    /// Run id.
    pub run: String,
    /// Test instance id within the run.
    pub test: String,
    /// EP to run on.
    pub ep: String,
    /// Suite name and id.
    pub suite: String,
    /// Suite id within the run.
    pub suite_id: String,
    /// Test file, relative to the test-source directory.
    pub file: FileRef,
    /// Library files the test may import (copied beside it).
    #[serde(default)]
    pub libraries: Vec<FileRef>,
    /// Arguments.
    #[serde(default)]
    pub args: Vec<String>,
    /// Extra environment (controller URL, scoped token, user, EP, suite, test, testbed, iteration, properties).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Time limit, seconds (0: none).
    #[serde(default)]
    pub timeout_s: u64,
    /// Panic-detect patterns (regular expressions) to watch the output for; empty when off.
    #[serde(default)]
    pub panic_patterns: Vec<String>,
}

/// A file the station fetches by content hash (and caches).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRef {
    /// Path relative to the test-source (or library) root.
    pub path: String,
    /// SHA-256 of the content, hex.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job() -> TestJob {
        TestJob {
            run: "r1".into(),
            test: "t1".into(),
            ep: "EP-1001".into(),
            suite: "smoke".into(),
            suite_id: "s1".into(),
            file: FileRef {
                path: "demo/ping.py".into(),
                sha256: "ab".repeat(32),
                size: 120,
            },
            libraries: vec![],
            args: vec!["--count".into(), "3".into()],
            env: BTreeMap::from([("TWISTER_TESTBED".into(), "/lab1".into())]),
            timeout_s: 60,
            panic_patterns: vec!["Kernel panic".into()],
        }
    }

    #[test]
    fn shapes_are_tagged_and_round_trip() {
        let msgs = vec![
            Up::Hello(Hello {
                protocol: PROTOCOL_VERSION,
                station: "ws1".into(),
                version: "0.1.0".into(),
                facts: HostFacts::default(),
                eps: vec![EpInfo {
                    name: "EP-1001".into(),
                    enabled: true,
                    tags: vec![],
                }],
                last_command_seq: 7,
            }),
            Up::Event {
                seq: 3,
                event: StationEvent::TestFinished {
                    run: "r1".into(),
                    test: "t1".into(),
                    status: TestStatus::Fail,
                    reason: Some("exit code 1".into()),
                    exit_code: Some(1),
                    at_ms: 5,
                    duration_ms: 10,
                },
            },
            Up::Ack { seq: 9 },
            Up::Heartbeat { at_ms: 1 },
        ];
        for m in msgs {
            let text = serde_json::to_string(&m).expect("json");
            assert_eq!(serde_json::from_str::<Up>(&text).expect("parse"), m);
        }
        let down = Down::Command {
            seq: 4,
            command: Command::StartTest(Box::new(job())),
        };
        let text = serde_json::to_string(&down).expect("json");
        assert!(
            text.starts_with(r#"{"type":"command","seq":4,"command":{"kind":"start_test""#),
            "{text}"
        );
        assert_eq!(serde_json::from_str::<Down>(&text).expect("parse"), down);
    }

    #[test]
    fn unknown_messages_are_errors_not_panics() {
        for bad in [
            "{}",
            r#"{"type":"nope"}"#,
            r#"{"type":"event","seq":-1}"#,
            "[1,2]",
            "\u{0}",
        ] {
            assert!(serde_json::from_str::<Up>(bad).is_err(), "{bad}");
            assert!(serde_json::from_str::<Down>(bad).is_err(), "{bad}");
        }
    }
}
