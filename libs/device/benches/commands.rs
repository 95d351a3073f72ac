//! Commands per second over one session: twister-device over SSH and Telnet, and the OpenSSH `ssh` client on a
//! pseudo-terminal driven by the same expect engine, against the simulated network OS on loopback.
//! Needs root (it adds a test user and runs sshd/telnetd). Run: `cargo bench -p twister-device`.

#![allow(clippy::unwrap_used, missing_docs)]

#[path = "../tests/common/peers.rs"]
mod peers;

use std::time::{Duration, Instant};

use peers::*;
use twister_device::pty::PtyProcess;
use twister_device::{Credentials, Profile, Session, SessionOptions};

const N: usize = 300;

async fn measure(name: &str, s: &mut Session, cmd: &str) {
    s.run(cmd).await.unwrap();
    let start = Instant::now();
    let mut bytes = 0;
    for _ in 0..N {
        bytes += s.run(cmd).await.unwrap().len();
    }
    let t = start.elapsed();
    println!(
        "{name:<28} {cmd:<16} {:>8.0} commands/s  ({:.2} ms each, {} bytes of output each)",
        N as f64 / t.as_secs_f64(),
        t.as_secs_f64() * 1000.0 / N as f64,
        bytes / N
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        if !twister_device::testenv::is_root() {
            println!("SKIPPED: the bench needs root (test user, sshd, telnetd)");
            return;
        }
        assert!(std::path::Path::new("/usr/sbin/sshd").exists(), "sshd is missing");
        setup_user();
        let opts = SessionOptions {
            timeout: Duration::from_secs(20),
            ..SessionOptions::default()
        };
        let profile = Profile::builtin("cisco-ios").unwrap();
        let sshd = start_sshd().await;
        let telnetd = start_telnetd().await;
        let ssh_client = |sshd: &Peer| {
            let key = sshd.dir.path().join("user_key");
            let port = sshd.port.to_string();
            let target = format!("{USER}@127.0.0.1");
            let args: Vec<String> = [
                "-tt",
                "-q",
                "-i",
                key.to_str().unwrap(),
                "-p",
                &port,
                "-o",
                "StrictHostKeyChecking=no",
                "-o",
                "UserKnownHostsFile=/dev/null",
                "-o",
                "BatchMode=yes",
                &target,
            ]
            .iter()
            .map(|s| s.to_string())
            .collect();
            args
        };
        // Set-up: connect, log in, reach the prompt, run the profile's on-open commands.
        const SETUPS: u32 = 20;
        for name in [
            "twister-device over SSH",
            "twister-device over Telnet",
            "ssh client on a pty",
        ] {
            let start = Instant::now();
            for _ in 0..SETUPS {
                let s = match name {
                    "twister-device over SSH" => open(Kind::Ssh, &sshd, PASSWORD).await.unwrap(),
                    "twister-device over Telnet" => open(Kind::Telnet, &telnetd, PASSWORD).await.unwrap(),
                    _ => {
                        let args = ssh_client(&sshd);
                        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
                        let p = PtyProcess::spawn("ssh", &refs, 511, 24).unwrap();
                        Session::open(p, profile.clone(), Credentials::default(), opts.clone())
                            .await
                            .unwrap()
                    }
                };
                s.close().await.unwrap();
            }
            println!(
                "{name:<28} {:<16} {:>8.1} ms per session set-up ({SETUPS} set-ups)",
                "set-up",
                start.elapsed().as_secs_f64() * 1000.0 / f64::from(SETUPS)
            );
        }
        for cmd in ["show version", "show big 200"] {
            let mut s = open(Kind::Ssh, &sshd, PASSWORD).await.unwrap();
            measure("twister-device over SSH", &mut s, cmd).await;
            let mut s = open(Kind::Telnet, &telnetd, PASSWORD).await.unwrap();
            measure("twister-device over Telnet", &mut s, cmd).await;
            // The OpenSSH client on a pseudo-terminal (public key), driven by the same session code.
            let key = sshd.dir.path().join("user_key");
            let port = sshd.port.to_string();
            let target = format!("{USER}@127.0.0.1");
            let args = [
                "-tt",
                "-q",
                "-i",
                key.to_str().unwrap(),
                "-p",
                &port,
                "-o",
                "StrictHostKeyChecking=no",
                "-o",
                "UserKnownHostsFile=/dev/null",
                "-o",
                "BatchMode=yes",
                &target,
            ];
            let p = PtyProcess::spawn("ssh", &args, 511, 24).unwrap();
            let mut s = Session::open(p, profile.clone(), Credentials::default(), opts.clone())
                .await
                .unwrap();
            measure("ssh client on a pty", &mut s, cmd).await;
        }
    });
}
