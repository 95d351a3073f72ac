//! Sessions opened from inventory-style properties ([`SessionSpec`]) against REAL sshd/telnetd on loopback:
//! the Junos-like, EOS-like and Linux profiles, pinned host keys, and a jump host (two sshd instances). Needs
//! root; skipped outside CI when root or a tool is missing.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;

use common::peers::*;
use twister_device::{Error, Mode, SessionSpec};

fn props(list: &[(&str, String)]) -> BTreeMap<String, String> {
    list.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

fn ssh_props(p: &Peer, f: Flavour) -> BTreeMap<String, String> {
    props(&[
        ("protocol", "ssh".into()),
        ("host", "127.0.0.1".into()),
        ("port", p.port.to_string()),
        ("user", f.user().into()),
        ("password", PASSWORD.into()),
        ("profile", f.profile().into()),
        ("host_key_fingerprint", host_key_fingerprint(p)),
        ("enable_secret", "enable-secret".into()),
        ("timeout", "15".into()),
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn junos_like_operational_and_configuration_modes() {
    if !available() {
        return;
    }
    let p = start_sshd().await;
    let spec = SessionSpec::from_properties("/tb/junos", &ssh_props(&p, Flavour::Junos)).unwrap();
    let mut s = spec.open().await.unwrap();
    assert_eq!((s.mode(), s.prompt()), (Mode::User, "twdevjunos@r1>"));
    let out = s.run("show version").await.unwrap();
    assert!(out.contains("Junos: 21.4R3"), "{out:?}");
    // Paging off (on_open) means the whole output comes at once.
    let out = s.run("show big 100").await.unwrap();
    assert_eq!(out.lines().count(), 100, "{out:?}");
    let err = s.run("show nonsense").await.unwrap_err();
    assert!(
        matches!(err, Error::Command { ref message, .. } if message.contains("unknown command")),
        "{err}"
    );
    s.config(&["set system host-name r9", "commit"]).await.unwrap();
    assert_eq!(s.mode(), Mode::User);
    let err = s.config(&["frobnicate everything"]).await.unwrap_err();
    assert!(
        matches!(err, Error::Command { ref message, .. } if message.contains("syntax error")),
        "{err}"
    );
    assert_eq!(s.mode(), Mode::User, "config() returns to the mode it started in");
    // Paging on: ---(more)--- is answered.
    s.run("set cli screen-length 24").await.unwrap();
    let out = s.run("show big 200").await.unwrap();
    assert_eq!(
        out.lines().filter(|l| l.starts_with("line ")).count(),
        200,
        "{out:?}"
    );
    s.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eos_like_enable_without_password_and_its_errors() {
    if !available() {
        return;
    }
    let p = start_sshd().await;
    let spec = SessionSpec::from_properties("/tb/eos", &ssh_props(&p, Flavour::Eos)).unwrap();
    let mut s = spec.open().await.unwrap();
    assert_eq!((s.mode(), s.prompt()), (Mode::User, "sw1>"));
    s.set_mode(Mode::Privileged).await.unwrap();
    assert_eq!(s.prompt(), "sw1#");
    let out = s.run("show version").await.unwrap();
    assert!(out.contains("Arista-like"), "{out:?}");
    let err = s.run("show nonsense").await.unwrap_err();
    assert!(
        matches!(err, Error::Command { ref message, .. } if message.contains("% Invalid input")),
        "{err}"
    );
    s.config(&["hostname leaf1", "interface Ethernet1", "description uplink"])
        .await
        .unwrap();
    assert_eq!((s.mode(), s.prompt()), (Mode::Privileged, "leaf1#"));
    s.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn linux_shell_over_ssh_and_telnet() {
    if !available() {
        return;
    }
    let sshd = start_sshd().await;
    let spec = SessionSpec::from_properties("/tb/host", &ssh_props(&sshd, Flavour::Linux)).unwrap();
    let mut s = spec.open().await.unwrap();
    assert_eq!(s.mode(), Mode::User);
    let out = s.run("echo $((6*7)); id -un").await.unwrap();
    assert_eq!(
        out.trim().lines().collect::<Vec<_>>(),
        ["42", "twdevlinux"],
        "{out:?}"
    );
    let err = s.run("no-such-command-here").await.unwrap_err();
    assert!(matches!(err, Error::Command { .. }), "{err}");
    s.close().await.unwrap();

    let telnetd = start_telnetd().await;
    let mut tp = ssh_props(&sshd, Flavour::Linux);
    tp.insert("protocol".into(), "telnet".into());
    tp.insert("port".into(), telnetd.port.to_string());
    let mut s = SessionSpec::from_properties("/tb/host", &tp)
        .unwrap()
        .open()
        .await
        .unwrap();
    let out = s.run("echo telnet-$((1+1))").await.unwrap();
    assert_eq!(out.trim(), "telnet-2", "{out:?}");
    s.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pinned_host_key_that_differs_is_refused() {
    if !available() {
        return;
    }
    let p = start_sshd().await;
    let mut pr = ssh_props(&p, Flavour::Ios);
    pr.insert(
        "host_key_fingerprint".into(),
        "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into(),
    );
    let err = SessionSpec::from_properties("/tb/r1", &pr)
        .unwrap()
        .open()
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Auth(ref m) if m.contains("is not the pinned")),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_a_jump_host() {
    if !available() {
        return;
    }
    // The bastion's sshd lets only the Linux user in; the device's sshd is a second instance.
    let bastion = start_sshd().await;
    let device = start_sshd().await;
    let jump = SessionSpec::from_properties("/lab/bastion", &ssh_props(&bastion, Flavour::Linux)).unwrap();
    let mut pr = ssh_props(&device, Flavour::Ios);
    pr.insert("jump_host".into(), "/lab/bastion".into());
    let spec = SessionSpec::from_properties("/tb/r1", &pr).unwrap();
    assert_eq!(spec.jump_host.as_deref(), Some("/lab/bastion"));
    let mut s = spec.open_via(Some(&jump)).await.unwrap();
    let out = s.run("show version").await.unwrap();
    assert!(out.starts_with("Twister IOS-like"), "{out:?}");
    s.close().await.unwrap();

    // Telnet through the same bastion (a forwarded TCP connection).
    let telnetd = start_telnetd().await;
    let mut tp = ssh_props(&device, Flavour::Ios);
    tp.insert("protocol".into(), "telnet".into());
    tp.insert("port".into(), telnetd.port.to_string());
    let spec = SessionSpec::from_properties("/tb/r1", &tp).unwrap();
    let s = spec.open_via(Some(&jump)).await.unwrap();
    assert_eq!(s.prompt(), "R1>");
    s.close().await.unwrap();

    // A bastion that refuses to forward (a dead port behind it) gives a transport error, not a hang.
    let mut dead = ssh_props(&device, Flavour::Ios);
    dead.insert("port".into(), free_port().to_string());
    let err = SessionSpec::from_properties("/tb/r1", &dead)
        .unwrap()
        .open_via(Some(&jump))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Transport(ref m) if m.contains("would not forward")),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sftp_put_and_get_through_sshd_internal_sftp() {
    if !available() {
        return;
    }
    let p = start_sshd().await;
    let spec = SessionSpec::from_properties("/tb/r1", &ssh_props(&p, Flavour::Ios)).unwrap();
    let sftp = spec.sftp(None).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("image.bin");
    // 5 MB of varied bytes: streamed, not held whole.
    let data: Vec<u8> = (0..5_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&local, &data).unwrap();
    let remote = format!("/tmp/twister-sftp-{}.bin", std::process::id());
    assert_eq!(sftp.put(&local, &remote).await.unwrap(), data.len() as u64);
    assert_eq!(sftp.size(&remote).await.unwrap(), data.len() as u64);
    let back = dir.path().join("back.bin");
    assert_eq!(sftp.get(&remote, &back).await.unwrap(), data.len() as u64);
    assert!(std::fs::read(&back).unwrap() == data, "the copy differs");
    let err = sftp.get("/nonexistent/file", &back).await.unwrap_err();
    assert!(err.to_string().contains("/nonexistent/file"), "{err}");
    sftp.close().await.unwrap();
    std::fs::remove_file(&remote).unwrap();

    // Telnet devices have no SFTP.
    let mut tp = ssh_props(&p, Flavour::Ios);
    tp.insert("protocol".into(), "telnet".into());
    let err = SessionSpec::from_properties("/tb/r1", &tp)
        .unwrap()
        .sftp(None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("SFTP needs protocol ssh"), "{err}");
}
