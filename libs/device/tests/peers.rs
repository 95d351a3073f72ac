//! Sessions against REAL peers on loopback: OpenSSH's sshd and inetutils telnetd (behind socat), with the
//! simulated network OS (tests/netos_sim.py) as the test user's login shell. Needs root; skipped outside CI
//! when root or a tool is missing.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use twister_device::ssh::{HostKeyPolicy, SshAuth, SshOptions, SshStream};
use twister_device::telnet::{TelnetOptions, TelnetStream};
use twister_device::testenv::{is_root, tool_missing};
use twister_device::{Credentials, Error, Mode, Profile, Session, SessionOptions};

const USER: &str = "twdevsim";
const PASSWORD: &str = "Sim-pw-2024";
const SHELL: &str = "/usr/local/bin/twister-netos-sim";

/// Root and the peer programs, or a printed reason to skip (a panic in CI).
fn available() -> bool {
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

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The simulator as a login shell and a user with a password (once per test binary).
fn setup_user() {
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

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn wait_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        assert!(Instant::now() < deadline, "nothing listens on {port}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A peer process, killed when dropped.
struct Peer {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Peer {
    fn host_key_pub(&self) -> PathBuf {
        self.dir.path().join("host_key.pub")
    }
}

async fn start_sshd() -> Peer {
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

async fn start_telnetd() -> Peer {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let child = Command::new("/usr/bin/socat")
        .arg(format!("TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork"))
        .arg("EXEC:/usr/sbin/telnetd,nofork")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_port(port).await;
    Peer { child, port, dir }
}

fn ssh_opts(peer: &Peer, auth: SshAuth) -> SshOptions {
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

fn creds(password: &str) -> Credentials {
    Credentials {
        username: Some(USER.into()),
        password: Some(password.into()),
        enable: Some("enable-secret".into()),
    }
}

fn session_opts() -> SessionOptions {
    SessionOptions {
        timeout: Duration::from_secs(15),
        ..SessionOptions::default()
    }
}

fn ios() -> Profile {
    Profile::builtin("cisco-ios").unwrap()
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    Ssh,
    Telnet,
}

async fn peer(kind: Kind) -> Peer {
    match kind {
        Kind::Ssh => start_sshd().await,
        Kind::Telnet => start_telnetd().await,
    }
}

async fn open(kind: Kind, peer: &Peer, password: &str) -> twister_device::Result<Session> {
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
