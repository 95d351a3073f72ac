//! The link against a fake controller: resending after a cut, acknowledgements, commands executed once,
//! refusals, silent connections, shutdown.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::controller::{Conn, FakeController};
use common::*;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use twister_proto::link::{Command, Down, EpInfo, HostFacts, StationEvent, Stream, Up, PROTOCOL_VERSION};
use twister_proto::TestStatus;
use twister_station::config::{Config, LogFormat, Token};
use twister_station::link::LinkOptions;
use twister_station::outbox::Outbox;
use twister_station::station::Station;

const T: Duration = Duration::from_secs(10);
const QUIET: Duration = Duration::from_millis(400);

fn config(url: &str, dir: &Path) -> Config {
    Config {
        controller_url: url.to_string(),
        token: Token::new("station-secret"),
        name: "ws-test".into(),
        data_dir: dir.to_path_buf(),
        eps: vec![
            EpInfo {
                name: "EP-1".into(),
                enabled: true,
                tags: vec!["linux".into()],
            },
            EpInfo {
                name: "EP-off".into(),
                enabled: false,
                tags: vec![],
            },
        ],
        log_format: LogFormat::Text,
        trust: Default::default(),
        capture: None,
    }
}

fn options() -> LinkOptions {
    LinkOptions {
        backoff_min: Duration::from_millis(50),
        backoff_max: Duration::from_millis(300),
        ..LinkOptions::default()
    }
}

struct Running {
    outbox: Outbox,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl Running {
    async fn shutdown(self) {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(20), self.task)
            .await
            .unwrap()
            .unwrap();
    }
}

fn start(url: &str, dir: &Path) -> Running {
    let station = Station::open(config(url, dir), HostFacts::default())
        .unwrap()
        .with_link_options(options());
    let outbox = station.outbox().clone();
    let (stop, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(station.run(async move {
        let _ = rx.await;
    }));
    Running { outbox, stop, task }
}

fn out(i: u64) -> StationEvent {
    StationEvent::Output {
        run: "r".into(),
        test: "t".into(),
        stream: Stream::Stdout,
        at_ms: 0,
        text: format!("event {i}\n"),
    }
}

fn is_event(m: &Up, n: u64) -> bool {
    matches!(m, Up::Event { seq, .. } if *seq == n)
}

fn event_seqs(msgs: &[Up]) -> Vec<u64> {
    msgs.iter()
        .filter_map(|m| match m {
            Up::Event { seq, .. } => Some(*seq),
            _ => None,
        })
        .collect()
}

async fn connect(ctl: &FakeController, last_event_seq: u64) -> (Conn, twister_proto::link::Hello) {
    let mut c = ctl.accept(T).await;
    let hello = c.hello().await;
    c.welcome(last_event_seq, 30).await;
    (c, hello)
}

#[tokio::test]
async fn resends_exactly_the_unacked_events_after_a_cut() {
    let ctl = FakeController::start().await;
    let dir = tempfile::tempdir().unwrap();
    let st = start(&ctl.url, dir.path());
    for i in 1..=5 {
        st.outbox.push(out(i)).unwrap();
    }

    let mut c = ctl.accept(T).await;
    assert_eq!(c.path, "/api/v1/stations/link");
    assert_eq!(c.auth.as_deref(), Some("Bearer station-secret"));
    let hello = c.hello().await;
    assert_eq!(hello.protocol, PROTOCOL_VERSION);
    assert_eq!(hello.station, "ws-test");
    assert_eq!(hello.last_command_seq, 0);
    assert_eq!(hello.eps.len(), 2);
    c.welcome(0, 30).await;
    let got = c.until(QUIET, |m| is_event(m, 5)).await;
    assert_eq!(event_seqs(&got), [1, 2, 3, 4, 5]);
    assert!(matches!(&got[0], Up::Event { event, .. } if *event == out(1)));
    c.send(&Down::Ack { seq: 3 }).await;
    // Live events are sent as they are spooled.
    st.outbox.push(out(6)).unwrap();
    st.outbox.push(out(7)).unwrap();
    assert_eq!(event_seqs(&c.until(QUIET, |m| is_event(m, 7)).await), [6, 7]);
    assert_eq!(st.outbox.acked(), 3);
    c.cut();

    // The controller stored up to 3: exactly 4..7 come again, in order.
    let (mut c, _) = connect(&ctl, 3).await;
    let got = c.until(QUIET, |m| is_event(m, 7)).await;
    assert_eq!(event_seqs(&got), [4, 5, 6, 7]);
    assert!(matches!(&got[3], Up::Event { event, .. } if *event == out(7)));
    // The controller stored more than it acknowledged (5): only 6 and 7 again.
    c.cut();
    let (mut c, _) = connect(&ctl, 5).await;
    assert_eq!(event_seqs(&c.until(QUIET, |m| is_event(m, 7)).await), [6, 7]);
    c.send(&Down::Ack { seq: 7 }).await;
    tokio::time::sleep(QUIET).await;
    assert!(st.outbox.unacked().is_empty());
    st.outbox.push(out(8)).unwrap();
    assert_eq!(event_seqs(&c.until(QUIET, |m| is_event(m, 8)).await), [8]);
    c.cut();

    // Across a restart of the station too.
    st.shutdown().await;
    let st = start(&ctl.url, dir.path());
    let (mut c, _) = connect(&ctl, 7).await;
    assert_eq!(event_seqs(&c.until(QUIET, |m| is_event(m, 8)).await), [8]);
    c.send(&Down::Ack { seq: 8 }).await;
    tokio::time::sleep(QUIET).await;
    assert_eq!(st.outbox.push(out(9)).unwrap(), 9, "numbers are never reused");
    st.shutdown().await;
}

fn start_cmd(seq: u64, job: twister_proto::link::TestJob) -> Down {
    Down::Command {
        seq,
        command: Command::StartTest(Box::new(job)),
    }
}

fn count_started(msgs: &[Up], test: &str) -> usize {
    msgs.iter()
        .filter(
            |m| matches!(m, Up::Event { event: StationEvent::TestStarted { test: t, .. }, .. } if t == test),
        )
        .count()
}

fn acks(msgs: &[Up]) -> Vec<u64> {
    msgs.iter()
        .filter_map(|m| match m {
            Up::Ack { seq } => Some(*seq),
            _ => None,
        })
        .collect()
}

fn finished(msgs: &[Up], test: &str) -> Option<(TestStatus, Option<String>)> {
    msgs.iter().find_map(|m| match m {
        Up::Event {
            event:
                StationEvent::TestFinished {
                    test: t,
                    status,
                    reason,
                    ..
                },
            ..
        } if t == test => Some((*status, reason.clone())),
        _ => None,
    })
}

#[tokio::test]
async fn commands_with_a_repeated_number_run_once() {
    let ctl = FakeController::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = cache_file(dir.path(), "hello.sh", "echo hello\n");
    let st = start(&ctl.url, dir.path());

    let (mut c, _) = connect(&ctl, 0).await;
    let job1 = job("r1", "t1", file.clone());
    c.send(&start_cmd(1, job1.clone())).await;
    c.send(&start_cmd(1, job1.clone())).await;
    let got = c
        .until(QUIET, |m| finished(std::slice::from_ref(m), "t1").is_some())
        .await;
    assert_eq!(acks(&got), [1, 1]);
    assert_eq!(count_started(&got, "t1"), 1);
    assert_eq!(finished(&got, "t1").map(|f| f.0), Some(TestStatus::Pass));
    let text: String = got
        .iter()
        .filter_map(|m| match m {
            Up::Event {
                event:
                    StationEvent::Output {
                        stream: Stream::Stdout,
                        text,
                        ..
                    },
                ..
            } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(text, "hello\n");
    let last = event_seqs(&got).into_iter().max().unwrap();
    c.send(&Down::Ack { seq: last }).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    c.cut();

    // Reconnected, the station says it did command 1; a controller that missed the ack sends it again.
    let (mut c, hello) = connect(&ctl, last).await;
    assert_eq!(hello.last_command_seq, 1);
    c.send(&start_cmd(1, job1.clone())).await;
    // Unknown test: nothing to stop, but acknowledged. Wrong and disabled EPs: refused with an error.
    c.send(&Down::Command {
        seq: 2,
        command: Command::StopTest {
            run: "r1".into(),
            test: "nope".into(),
            status: TestStatus::Aborted,
            reason: "x".into(),
        },
    })
    .await;
    let mut other_ep = job("r1", "t2", file.clone());
    other_ep.ep = "EP-elsewhere".into();
    c.send(&start_cmd(3, other_ep)).await;
    let mut off = job("r1", "t3", file.clone());
    off.ep = "EP-off".into();
    c.send(&start_cmd(4, off)).await;
    let got = c.until(QUIET, |m| matches!(m, Up::Ack { seq: 4 })).await;
    assert_eq!(acks(&got), [1, 2, 3, 4]);
    assert_eq!(count_started(&got, "t1"), 0);
    assert_eq!(
        finished(&got, "t2"),
        Some((
            TestStatus::Error,
            Some("cannot start: EP \"EP-elsewhere\" is not on this station".into())
        ))
    );
    assert_eq!(
        finished(&got, "t3").unwrap().1.unwrap(),
        "cannot start: EP \"EP-off\" is disabled"
    );
    c.cut();
    st.shutdown().await;

    // After a restart the number survives.
    let st = start(&ctl.url, dir.path());
    let (mut c, hello) = connect(&ctl, 0).await;
    assert_eq!(hello.last_command_seq, 4);
    c.send(&start_cmd(3, job("r1", "t1", file))).await;
    let got = c.until(QUIET, |m| matches!(m, Up::Ack { .. })).await;
    assert_eq!(acks(&got), [3]);
    assert_eq!(count_started(&got, "t1"), 0);
    st.shutdown().await;
}

#[tokio::test]
async fn stop_command_kills_the_test() {
    let ctl = FakeController::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = cache_file(dir.path(), "long.sh", "echo started\nsleep 1000\n");
    let st = start(&ctl.url, dir.path());
    let (mut c, _) = connect(&ctl, 0).await;
    c.send(&start_cmd(1, job("r1", "long", file))).await;
    let got = c.until(QUIET, |m| matches!(m, Up::Ack { .. })).await;
    assert_eq!(acks(&got), [1]);
    assert_eq!(count_started(&got, "long"), 1);
    c.send(&Down::Command {
        seq: 2,
        command: Command::StopTest {
            run: "r1".into(),
            test: "long".into(),
            status: TestStatus::Aborted,
            reason: "stopped by alice".into(),
        },
    })
    .await;
    let got = c
        .until(QUIET, |m| finished(std::slice::from_ref(m), "long").is_some())
        .await;
    assert_eq!(acks(&got), [2]);
    assert_eq!(
        finished(&got, "long"),
        Some((TestStatus::Aborted, Some("stopped by alice".into())))
    );
    st.shutdown().await;
}

#[tokio::test]
async fn shutdown_aborts_running_tests_and_sends_their_end() {
    let ctl = FakeController::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = cache_file(dir.path(), "long.sh", "sleep 1000\n");
    let st = start(&ctl.url, dir.path());
    let (mut c, _) = connect(&ctl, 0).await;
    c.send(&start_cmd(1, job("r1", "long", file))).await;
    let got = c
        .until(QUIET, |m| count_started(std::slice::from_ref(m), "long") == 1)
        .await;
    assert_eq!(count_started(&got, "long"), 1);
    let stopping = tokio::spawn(st.shutdown());
    let mut got = Vec::new();
    while let Some(m) = c.recv(T).await {
        if let Up::Event { seq, .. } = &m {
            c.send(&Down::Ack { seq: *seq }).await;
        }
        got.push(m);
    }
    stopping.await.unwrap();
    assert_eq!(
        finished(&got, "long"),
        Some((TestStatus::Aborted, Some("station stopped".into())))
    );
    let outbox = Outbox::open(dir.path()).unwrap();
    assert!(outbox.unacked().is_empty(), "{:?}", outbox.unacked());
    assert!(outbox.state().running.is_empty());
}

#[tokio::test]
async fn a_refusal_is_retried_at_the_longest_delay() {
    let ctl = FakeController::start().await;
    let dir = tempfile::tempdir().unwrap();
    let st = start(&ctl.url, dir.path());
    let mut c = ctl.accept(T).await;
    c.hello().await;
    c.send(&Down::Refused {
        code: "duplicate_station".into(),
        message: "ws-test is already connected".into(),
    })
    .await;
    let refused_at = tokio::time::Instant::now();
    assert!(c.recv(T).await.is_none(), "the station closes after a refusal");
    let (mut c, hello) = connect(&ctl, 0).await;
    let waited = refused_at.elapsed();
    assert!(waited >= Duration::from_millis(250), "retried after {waited:?}");
    assert_eq!(hello.station, "ws-test");
    st.outbox.push(out(1)).unwrap();
    assert_eq!(event_seqs(&c.until(QUIET, |m| is_event(m, 1)).await), [1]);
    st.shutdown().await;
}

#[tokio::test]
async fn a_silent_connection_is_dropped_and_redialled() {
    let ctl = FakeController::start().await;
    let dir = tempfile::tempdir().unwrap();
    let st = start(&ctl.url, dir.path());
    let mut c = ctl.accept(T).await;
    c.hello().await;
    c.welcome(0, 1).await;
    let t0 = tokio::time::Instant::now();
    let mut heartbeats = 0;
    while let Some(m) = c.recv_any(T).await {
        assert!(matches!(m, Up::Heartbeat { at_ms } if at_ms > 0), "{m:?}");
        heartbeats += 1;
    }
    let dropped_after = t0.elapsed();
    assert!(heartbeats >= 2, "{heartbeats} heartbeats");
    assert!(
        dropped_after >= Duration::from_millis(2900) && dropped_after < Duration::from_secs(6),
        "{dropped_after:?}"
    );
    let (_c, _) = connect(&ctl, 0).await;
    st.shutdown().await;
}

#[tokio::test]
async fn reconnects_when_the_controller_is_down_at_first() {
    // Reserve a port, close it, start the station against it, then listen there.
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = probe.local_addr().unwrap();
    drop(probe);
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://{addr}");
    let st = start(&url, dir.path());
    st.outbox.push(out(1)).unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    let ctl = FakeController::from_listener(listener, url);
    let (mut c, _) = connect(&ctl, 0).await;
    assert_eq!(event_seqs(&c.until(QUIET, |m| is_event(m, 1)).await), [1]);
    st.shutdown().await;
}
