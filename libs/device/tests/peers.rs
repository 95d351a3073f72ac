//! Sessions against REAL peers on loopback: OpenSSH's sshd and inetutils telnetd (behind socat), with the
//! simulated network OS (tests/netos_sim.py) as the test user's login shell. Needs root; skipped outside CI
//! when root or a tool is missing.

#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::peers::*;
use twister_device::ssh::{HostKeyPolicy, SshAuth, SshStream};
use twister_device::{Error, Mode, Session};

async fn modes_paging_failures(kind: Kind) {
    if !available() {
        return;
    }
    let p = peer(kind).await;
    let mut s = open(kind, &p, PASSWORD).await.unwrap();
    assert_eq!((s.mode(), s.prompt()), (Mode::User, "R1>"), "{kind:?}");
    let out = s.run("show version").await.unwrap();
    assert!(out.starts_with("Twister IOS-like Software"), "{kind:?}: {out:?}");
    s.set_mode(Mode::Privileged).await.unwrap();
    s.config(&["hostname EDGE", "interface Gi0/2", "description to core"])
        .await
        .unwrap();
    assert_eq!((s.mode(), s.prompt()), (Mode::Privileged, "EDGE#"));
    let err = s.run("show nonsense").await.unwrap_err();
    assert!(matches!(err, Error::Command { .. }), "{kind:?}: {err}");
    s.run("terminal length 24").await.unwrap();
    let out = s.run("show big 500").await.unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 500, "{kind:?}");
    assert!(lines
        .iter()
        .enumerate()
        .all(|(i, l)| l.starts_with(&format!("line {:05} ", i + 1))));
    s.run("terminal length 0").await.unwrap();
    let out = s.run("show big 20000").await.unwrap();
    assert_eq!(out.lines().count(), 20000, "{kind:?}");
    s.close().await.unwrap();
}

async fn wrong_password(kind: Kind) {
    if !available() {
        return;
    }
    let p = peer(kind).await;
    let err = open(kind, &p, "wrong-password").await.unwrap_err();
    assert!(matches!(err, Error::Auth(_)), "{kind:?}: {err}");
}

async fn silent_and_disconnect(kind: Kind) {
    if !available() {
        return;
    }
    let p = peer(kind).await;
    let mut s = open(kind, &p, PASSWORD).await.unwrap();
    s.set_timeout(Duration::from_millis(800));
    let start = Instant::now();
    let err = s.run("hang").await.unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{kind:?}: {err}");
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(800) && took < Duration::from_millis(2000),
        "{took:?}"
    );
    drop(s);
    let mut s = open(kind, &p, PASSWORD).await.unwrap();
    let err = s.run("drop").await.unwrap_err();
    assert!(matches!(err, Error::Eof { .. }), "{kind:?}: {err}");
}

#[tokio::test]
async fn ssh_modes_paging_failures() {
    modes_paging_failures(Kind::Ssh).await;
}

#[tokio::test]
async fn telnet_modes_paging_failures() {
    modes_paging_failures(Kind::Telnet).await;
}

#[tokio::test]
async fn ssh_wrong_password() {
    wrong_password(Kind::Ssh).await;
}

#[tokio::test]
async fn telnet_wrong_password() {
    wrong_password(Kind::Telnet).await;
}

#[tokio::test]
async fn ssh_silent_device_and_disconnect() {
    silent_and_disconnect(Kind::Ssh).await;
}

#[tokio::test]
async fn telnet_silent_device_and_disconnect() {
    silent_and_disconnect(Kind::Telnet).await;
}

#[tokio::test]
async fn ssh_public_key_keyboard_interactive_and_host_keys() {
    if !available() {
        return;
    }
    let p = start_sshd().await;
    let key = SshAuth::KeyFile {
        path: p.dir.path().join("user_key"),
        passphrase: None,
    };
    // Public key, pinned fingerprint.
    let out = Command::new("ssh-keygen")
        .arg("-lf")
        .arg(p.host_key_pub())
        .output()
        .unwrap();
    let fp = String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_string();
    let mut o = ssh_opts(&p, key.clone());
    o.host_key = HostKeyPolicy::Fingerprint(fp);
    let s = SshStream::connect(&o).await.unwrap();
    let mut s = Session::open(s, ios(), creds(""), session_opts()).await.unwrap();
    assert!(s.run("show version").await.unwrap().contains("Twister"));
    // Wrong pin.
    o.host_key = HostKeyPolicy::Fingerprint("SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into());
    let err = SshStream::connect(&o).await.unwrap_err();
    assert!(matches!(err, Error::Auth(ref m) if m.contains("pinned")), "{err}");
    // known_hosts: unknown host refused; accept-new learns it; then known_hosts accepts it.
    let kh = p.dir.path().join("known_hosts");
    std::fs::write(&kh, "").unwrap();
    o.host_key = HostKeyPolicy::KnownHosts(kh.clone());
    assert!(matches!(
        SshStream::connect(&o).await.unwrap_err(),
        Error::Auth(_)
    ));
    o.host_key = HostKeyPolicy::AcceptNew(kh.clone());
    SshStream::connect(&o).await.unwrap();
    o.host_key = HostKeyPolicy::KnownHosts(kh.clone());
    SshStream::connect(&o).await.unwrap();
    // Keyboard-interactive (PAM).
    let o = ssh_opts(&p, SshAuth::KeyboardInteractive(PASSWORD.into()));
    let s = SshStream::connect(&o).await.unwrap();
    let mut s = Session::open(s, ios(), creds(PASSWORD), session_opts())
        .await
        .unwrap();
    s.set_mode(Mode::Privileged).await.unwrap();
    let o = ssh_opts(&p, SshAuth::KeyboardInteractive("nope".into()));
    assert!(matches!(
        SshStream::connect(&o).await.unwrap_err(),
        Error::Auth(_)
    ));
}
