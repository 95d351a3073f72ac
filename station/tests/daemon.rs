//! The `twister-station` binary as a lab runs it: configuration file, a crash (SIGKILL) in the middle of a
//! test and a restart, then a graceful stop (SIGTERM) in the middle of another.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::controller::{Conn, FakeController};
use common::*;
use twister_proto::link::{Command as Cmd, Down, StationEvent, Up};
use twister_proto::TestStatus;

const T: Duration = Duration::from_secs(15);
const TOKEN: &str = "very-secret-station-token";

fn spawn_station(config: &Path, log: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_twister-station"))
        .current_dir(config.parent().unwrap())
        .arg("--config")
        .arg(config)
        .env("TWISTER_LOG", "debug")
        .env_remove("TWISTER_STATION_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(log)
                .unwrap(),
        )
        .spawn()
        .unwrap()
}

fn signal(pid: i32, sig: i32) {
    // SAFETY: sends a signal; touches no memory.
    unsafe {
        libc::kill(pid, sig);
    }
}

/// Reads messages, acknowledging events, until `pred` holds for one; returns everything read.
async fn until(c: &mut Conn, mut pred: impl FnMut(&Up) -> bool) -> Vec<Up> {
    let mut got = Vec::new();
    loop {
        let m = c
            .recv(T)
            .await
            .unwrap_or_else(|| panic!("connection ended; got {got:#?}"));
        if let Up::Event { seq, .. } = &m {
            c.send(&Down::Ack { seq: *seq }).await;
        }
        let done = pred(&m);
        got.push(m);
        if done {
            return got;
        }
    }
}

fn started_pid(msgs: &[Up]) -> Option<u32> {
    msgs.iter().find_map(|m| match m {
        Up::Event {
            event: StationEvent::TestStarted { pid, .. },
            ..
        } => Some(*pid),
        _ => None,
    })
}

fn is_finished(m: &Up, test: &str) -> Option<(TestStatus, Option<String>)> {
    match m {
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
    }
}

fn last_seq(msgs: &[Up]) -> u64 {
    msgs.iter()
        .filter_map(|m| match m {
            Up::Event { seq, .. } => Some(*seq),
            _ => None,
        })
        .max()
        .unwrap_or(0)
}

#[tokio::test]
async fn crash_restart_and_graceful_stop() {
    let ctl = FakeController::start().await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let log = dir.path().join("station.log");
    std::fs::write(dir.path().join("token"), format!("{TOKEN}\n")).unwrap();
    let config = dir.path().join("station.toml");
    std::fs::write(
        &config,
        format!(
            "controller_url = \"{}\"\ntoken_file = \"token\"\nname = \"bench-1\"\ndata_dir = \"data\"\n\
             [[ep]]\nname = \"EP-1\"\n",
            ctl.url,
        ),
    )
    .unwrap();
    let file = cache_file(&data, "long.sh", "echo started\nsleep 1000\n");
    let quick = cache_file(
        &data,
        "quick.sh",
        "echo 'skipped no DUT' > \"$TWISTER_RESULT_FILE\"\n",
    );

    let mut station = spawn_station(&config, &log);
    let mut c = ctl.accept(T).await;
    assert_eq!(c.auth.as_deref(), Some(&*format!("Bearer {TOKEN}")));
    let hello = c.hello().await;
    assert_eq!(hello.station, "bench-1");
    assert_eq!(hello.eps[0].name, "EP-1");
    assert!(!hello.facts.hostname.is_empty());
    assert!(hello.facts.interpreters.contains_key("bash"));
    c.welcome(0, 30).await;
    c.send(&Down::Command {
        seq: 1,
        command: Cmd::StartTest(Box::new(job("r1", "crash", file.clone()))),
    })
    .await;
    let got = until(&mut c, |m| matches!(m, Up::Ack { seq: 1 })).await;
    let mut got2 = Vec::new();
    if started_pid(&got).is_none() {
        got2 = until(&mut c, |m| started_pid(std::slice::from_ref(m)).is_some()).await;
    }
    let pid = started_pid(&got).or(started_pid(&got2)).unwrap();
    let acked = last_seq(&got).max(last_seq(&got2));
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Crash: the station dies, its test lives on until the station comes back and kills it.
    station.kill().unwrap();
    station.wait().unwrap();
    assert!(alive(pid as i32));
    drop(c);

    let mut station = spawn_station(&config, &log);
    let mut c = ctl.accept(T).await;
    let hello = c.hello().await;
    assert_eq!(hello.last_command_seq, 1);
    c.welcome(acked, 30).await;
    let got = until(&mut c, |m| is_finished(m, "crash").is_some()).await;
    assert_eq!(
        got.iter().find_map(|m| is_finished(m, "crash")),
        Some((
            TestStatus::Error,
            Some("station restarted during the test".into())
        ))
    );
    assert!(
        wait_gone(pid as i32, Duration::from_secs(5)).await,
        "the orphaned test survived"
    );

    // The result file is found from the test's own working directory (the data directory is relative).
    c.send(&Down::Command {
        seq: 2,
        command: Cmd::StartTest(Box::new(job("r1", "quick", quick))),
    })
    .await;
    let got = until(&mut c, |m| is_finished(m, "quick").is_some()).await;
    assert_eq!(
        got.iter().find_map(|m| is_finished(m, "quick")),
        Some((TestStatus::Skipped, Some("no DUT".into())))
    );

    // Graceful stop while a test runs.
    c.send(&Down::Command {
        seq: 3,
        command: Cmd::StartTest(Box::new(job("r1", "graceful", file))),
    })
    .await;
    let got = until(&mut c, |m| started_pid(std::slice::from_ref(m)).is_some()).await;
    let pid = started_pid(&got).unwrap();
    signal(station.id() as i32, libc::SIGTERM);
    let got = until(&mut c, |m| is_finished(m, "graceful").is_some()).await;
    assert_eq!(
        got.iter().find_map(|m| is_finished(m, "graceful")),
        Some((TestStatus::Aborted, Some("station stopped".into())))
    );
    assert!(wait_gone(pid as i32, Duration::from_secs(5)).await);
    let deadline = std::time::Instant::now() + T;
    let status = loop {
        if let Some(s) = station.try_wait().unwrap() {
            break s;
        }
        assert!(std::time::Instant::now() < deadline, "station did not exit");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "{status:?}");

    let log_text = std::fs::read_to_string(&log).unwrap();
    assert!(log_text.contains("link up"), "{log_text}");
    assert!(!log_text.contains(TOKEN), "the token leaked into the log");
}

#[test]
fn bad_configuration_fails_with_a_message() {
    let out = Command::new(env!("CARGO_BIN_EXE_twister-station"))
        .args(["--config", "/nonexistent/station.toml"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("loading the configuration"), "{err}");
    let help = Command::new(env!("CARGO_BIN_EXE_twister-station"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for flag in [
        "--controller-url",
        "--name",
        "--data-dir",
        "--token-file",
        "--ep",
        "--epname-ini",
        "--log-format",
    ] {
        assert!(help.contains(flag), "{flag} missing from --help");
    }
}
