//! Fixtures shared by the peer tests and the bench: a test user whose login shell is the simulated network OS,
//! sshd and telnetd (behind socat) on loopback ports.

#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use twister_device::ssh::{HostKeyPolicy, SshAuth, SshOptions, SshStream};
use twister_device::telnet::{TelnetOptions, TelnetStream};
use twister_device::testenv::{is_root, tool_missing};
use twister_device::{Credentials, Profile, Session, SessionOptions};

pub const USER: &str = "twdevsim";
pub const PASSWORD: &str = "Sim-pw-2024";
const SHELL: &str = "/usr/local/bin/twister-netos-sim";

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
        let sim = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/netos_sim.py");
        std::fs::copy(sim, SHELL).unwrap();
        run(Command::new("chmod").args(["755", SHELL]));
        let exists = Command::new("id")
            .arg(USER)
            .stdout(Stdio::null())
            .status()
            .unwrap()
            .success();
        if !exists {
            run(Command::new("useradd").args(["-M", "-d", "/tmp", "-s", SHELL, USER]));
        } else {
            run(Command::new("usermod").args(["-s", SHELL, USER]));
        }
        let mut child = Command::new("chpasswd").stdin(Stdio::piped()).spawn().unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{USER}:{PASSWORD}\n").as_bytes())
            .unwrap();
        assert!(child.wait().unwrap().success());
    });
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
         PermitRootLogin no\nAllowUsers {USER}\nPrintMotd no\nPrintLastLog no\nBanner none\nUseDNS no\n\
         MaxStartups 100\nLoginGraceTime 30\n",
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

pub async fn open(kind: Kind, peer: &Peer, password: &str) -> twister_device::Result<Session> {
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
