//! Real peers for tests (feature `test-peers`): test users whose login shell is the simulated network OS
//! (`tests/netos_sim.py`, in one of its flavours), sshd (with the `sftp` subsystem) and telnetd (behind socat) on
//! loopback ports. Used by this crate's tests and bench and by the end-to-end tests in `tests/`. Each peer is
//! killed when dropped.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::ssh::{HostKeyPolicy, SshAuth, SshOptions, SshStream};
use crate::telnet::{TelnetOptions, TelnetStream};
use crate::testenv::{is_root, tool_missing};
use crate::{Credentials, Profile, Session, SessionOptions};

pub const USER: &str = "twdevsim";
pub const PASSWORD: &str = "Sim-pw-2024";
const SHELL: &str = "/usr/local/bin/twister-netos-sim";
/// The simulator itself, which the flavour shells run.
pub const SIM: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/netos_sim.py");

/// A flavour of the simulated command line, each the login shell of its own user (with [`PASSWORD`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavour {
    /// IOS-like (user [`USER`]).
    Ios,
    /// Junos-like.
    Junos,
    /// EOS-like.
    Eos,
    /// A Linux shell (bash).
    Linux,
}

impl Flavour {
    /// The user whose login shell is this flavour.
    pub fn user(self) -> &'static str {
        match self {
            Flavour::Ios => USER,
            Flavour::Junos => "twdevjunos",
            Flavour::Eos => "twdeveos",
            Flavour::Linux => "twdevlinux",
        }
    }

    /// The built-in profile for it.
    pub fn profile(self) -> &'static str {
        match self {
            Flavour::Ios => "cisco-ios",
            Flavour::Junos => "juniper-junos",
            Flavour::Eos => "arista-eos",
            Flavour::Linux => "linux-shell",
        }
    }
}

/// Root and the peer programs, or a printed reason to skip (a panic in CI).
pub fn available() -> bool {
    if !is_root() {
        return tool_missing("root (to add a test user and run sshd/telnetd)");
    }
    for tool in [
        "/usr/sbin/sshd",
        "/usr/sbin/telnetd",
        "/usr/bin/socat",
        "/usr/bin/ssh-keygen",
        "/usr/bin/python3",
    ] {
        if !Path::new(tool).exists() {
            return tool_missing(tool);
        }
    }
    setup_user();
    true
}

pub fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The simulator as a login shell and a user with a password (once per test binary).
pub fn setup_user() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        // Copied (not linked) so that a user's shell never depends on a checkout's permissions.
        install_shell(SHELL, &std::fs::read_to_string(SIM).unwrap());
        add_user(USER, SHELL);
        for (f, flavour) in [(Flavour::Junos, "junos"), (Flavour::Eos, "eos")] {
            let shell = format!("{SHELL}-{flavour}");
            install_shell(
                &shell,
                &format!("#!/bin/sh\nexec {SHELL} --flavour {flavour} \"$@\"\n"),
            );
            add_user(f.user(), &shell);
        }
        add_user(Flavour::Linux.user(), "/bin/bash");
        let mut child = Command::new("chpasswd").stdin(Stdio::piped()).spawn().unwrap();
        use std::io::Write;
        let mut lines = String::new();
        for f in [Flavour::Ios, Flavour::Junos, Flavour::Eos, Flavour::Linux] {
            lines.push_str(&format!("{}:{PASSWORD}\n", f.user()));
        }
        child.stdin.take().unwrap().write_all(lines.as_bytes()).unwrap();
        assert!(child.wait().unwrap().success());
    });
}

fn install_shell(path: &str, text: &str) {
    // Write a new file and rename it over the old one: a running login shell keeps its own copy.
    let tmp = format!("{path}.new.{}", std::process::id());
    std::fs::write(&tmp, text).unwrap();
    run(Command::new("chmod").args(["755", &tmp]));
    std::fs::rename(&tmp, path).unwrap();
}

fn add_user(user: &str, shell: &str) {
    let exists = Command::new("id")
        .arg(user)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success();
    if !exists {
        // Parallel test binaries may race to add the same user: a failure is fine when the user now exists.
        let out = Command::new("useradd")
            .args(["-M", "-d", "/tmp", "-s", shell, user])
            .output()
            .unwrap();
        let now = Command::new("id")
            .arg(user)
            .stdout(Stdio::null())
            .status()
            .unwrap()
            .success();
        assert!(now, "useradd {user}: {}", String::from_utf8_lossy(&out.stderr));
    } else {
        run(Command::new("usermod").args(["-s", shell, user]));
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub async fn wait_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        assert!(Instant::now() < deadline, "nothing listens on {port}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A peer process, killed when dropped.
pub struct Peer {
    child: Child,
    /// Port the peer listens on.
    pub port: u16,
    /// Its private directory (keys, config).
    pub dir: tempfile::TempDir,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Peer {
    pub fn host_key_pub(&self) -> PathBuf {
        self.dir.path().join("host_key.pub")
    }
}

pub async fn start_sshd() -> Peer {
    start_sshd_with("").await
}

/// The SHA-256 fingerprint of the peer's host key (`SHA256:...`).
pub fn host_key_fingerprint(peer: &Peer) -> String {
    let out = Command::new("ssh-keygen")
        .arg("-lf")
        .arg(peer.host_key_pub())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    text.split_whitespace()
        .nth(1)
        .expect("ssh-keygen -lf prints a fingerprint")
        .to_string()
}

/// sshd with extra configuration lines.
pub async fn start_sshd_with(extra: &str) -> Peer {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run(Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(d.join("host_key")));
    run(Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(d.join("user_key")));
    std::fs::copy(d.join("user_key.pub"), d.join("authorized_keys")).unwrap();
    // The user reads authorized_keys as itself: the directory and file must be readable.
    run(Command::new("chmod").arg("755").arg(d));
    let port = free_port();
    let config = format!(
        "Port {port}\nListenAddress 127.0.0.1\nHostKey {hk}\nPidFile {pid}\nUsePAM yes\nPasswordAuthentication yes\n\
         KbdInteractiveAuthentication yes\nPubkeyAuthentication yes\nAuthorizedKeysFile {ak}\nStrictModes no\n\
         PermitRootLogin no\nAllowUsers {USER} twdevjunos twdeveos twdevlinux\nPrintMotd no\nPrintLastLog no\nBanner none\nUseDNS no\n\
         MaxStartups 100\nLoginGraceTime 30\nSubsystem sftp internal-sftp\nAllowTcpForwarding yes\n{extra}",
        hk = d.join("host_key").display(),
        pid = d.join("sshd.pid").display(),
        ak = d.join("authorized_keys").display(),
    );
    std::fs::write(d.join("sshd_config"), config).unwrap();
    std::fs::create_dir_all("/run/sshd").unwrap();
    let child = Command::new("/usr/sbin/sshd")
        .args(["-D", "-e", "-f"])
        .arg(d.join("sshd_config"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_port(port).await;
    Peer { child, port, dir }
}

pub async fn start_telnetd() -> Peer {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let child = Command::new("/usr/bin/socat")
        .arg(format!("TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork,nodelay"))
        .arg("EXEC:/usr/sbin/telnetd,nofork")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_port(port).await;
    Peer { child, port, dir }
}

pub fn ssh_opts(peer: &Peer, auth: SshAuth) -> SshOptions {
    SshOptions {
        host: "127.0.0.1".into(),
        port: peer.port,
        username: USER.into(),
        auth,
        host_key: HostKeyPolicy::AcceptAny,
        timeout: Duration::from_secs(20),
        cols: 511,
        rows: 24,
    }
}

pub fn creds(password: &str) -> Credentials {
    Credentials {
        username: Some(USER.into()),
        password: Some(password.into()),
        enable: Some("enable-secret".into()),
    }
}

pub fn session_opts() -> SessionOptions {
    SessionOptions {
        timeout: Duration::from_secs(15),
        ..SessionOptions::default()
    }
}

pub fn ios() -> Profile {
    Profile::builtin("cisco-ios").unwrap()
}

#[derive(Clone, Copy, Debug)]
pub enum Kind {
    Ssh,
    Telnet,
}

pub async fn peer(kind: Kind) -> Peer {
    match kind {
        Kind::Ssh => start_sshd().await,
        Kind::Telnet => start_telnetd().await,
    }
}

pub async fn open(kind: Kind, peer: &Peer, password: &str) -> crate::Result<Session> {
    match kind {
        Kind::Ssh => {
            let s = SshStream::connect(&ssh_opts(peer, SshAuth::Password(password.into()))).await?;
            Session::open(s, ios(), creds(password), session_opts()).await
        }
        Kind::Telnet => {
            let t =
                TelnetStream::connect(&format!("127.0.0.1:{}", peer.port), TelnetOptions::default()).await?;
            Session::open(t, ios(), creds(password), session_opts()).await
        }
    }
}
