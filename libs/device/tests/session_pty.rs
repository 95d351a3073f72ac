//! Sessions against the simulated network OS on a local pseudo-terminal (no root needed).

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use twister_device::pty::PtyProcess;
use twister_device::{Credentials, Error, Mode, Profile, Session, SessionOptions};

const SIM: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/netos_sim.py");

fn creds() -> Credentials {
    Credentials {
        username: Some("admin".into()),
        password: Some("admin-pw".into()),
        enable: Some("enable-secret".into()),
    }
}

fn opts() -> SessionOptions {
    SessionOptions {
        timeout: Duration::from_secs(5),
        ..SessionOptions::default()
    }
}

async fn open(extra: &[&str], creds: Credentials) -> twister_device::Result<Session> {
    let mut args = vec![SIM, "--login"];
    args.extend_from_slice(extra);
    let p = PtyProcess::spawn("python3", &args, 200, 24).unwrap();
    Session::open(p, Profile::builtin("cisco-ios").unwrap(), creds, opts()).await
}

#[tokio::test]
async fn modes_commands_and_config() {
    let mut s = open(&[], creds()).await.unwrap();
    assert_eq!(s.mode(), Mode::User);
    assert_eq!(s.prompt(), "R1>");
    let out = s.run("show version").await.unwrap();
    assert!(out.starts_with("Twister IOS-like Software"), "{out:?}");
    assert!(!out.contains("R1>"));
    s.set_mode(Mode::Privileged).await.unwrap();
    assert_eq!(s.prompt(), "R1#");
    s.config(&["hostname LAB1", "interface Gi0/1", "description uplink"])
        .await
        .unwrap();
    assert_eq!((s.mode(), s.prompt()), (Mode::Privileged, "LAB1#"));
    let err = s.run("show bogus").await.unwrap_err();
    match err {
        Error::Command { message, .. } => assert_eq!(message, "% Invalid input detected at '^' marker."),
        other => panic!("{other}"),
    }
    let err = s.config(&["hostname X", "frobnicate"]).await.unwrap_err();
    assert!(matches!(err, Error::Command { .. }));
    assert_eq!(s.mode(), Mode::Privileged);
    let out = s.run_confirm("reload").await.unwrap();
    assert!(out.contains("Reload requested"), "{out:?}");
    s.set_mode(Mode::User).await.unwrap();
    s.close().await.unwrap();
}

#[tokio::test]
async fn paging_is_answered() {
    let mut s = open(&[], creds()).await.unwrap();
    // on_open disabled paging; turn it back on.
    s.run("terminal length 24").await.unwrap();
    let out = s.run("show big 100").await.unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 100, "{out}");
    assert!(lines
        .iter()
        .enumerate()
        .all(|(i, l)| l.starts_with(&format!("line {:05} ", i + 1))));
}

#[tokio::test]
async fn wrong_password_and_wrong_enable() {
    let bad = Credentials {
        password: Some("nope".into()),
        ..creds()
    };
    let err = open(&[], bad).await.unwrap_err();
    assert!(matches!(err, Error::Auth(_)), "{err}");
    let bad_enable = Credentials {
        enable: Some("nope".into()),
        ..creds()
    };
    let mut s = open(&[], bad_enable).await.unwrap();
    let err = s.set_mode(Mode::Privileged).await.unwrap_err();
    assert!(matches!(err, Error::Auth(_)), "{err}");
    assert_eq!(s.mode(), Mode::User);
}

#[tokio::test]
async fn silent_device_times_out_on_time() {
    let mut s = open(&[], creds()).await.unwrap();
    s.set_timeout(Duration::from_millis(500));
    let start = Instant::now();
    let err = s.run("hang").await.unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err}");
    assert!(
        start.elapsed() < Duration::from_millis(1500),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn disconnect_mid_command() {
    let mut s = open(&[], creds()).await.unwrap();
    let err = s.run("drop").await.unwrap_err();
    match err {
        Error::Eof { tail, .. } => assert!(tail.contains("partial output"), "{tail:?}"),
        other => panic!("{other}"),
    }
}
