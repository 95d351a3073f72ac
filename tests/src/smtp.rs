//! A real SMTP server (aiosmtpd from PyPI) for mail tests: plain, STARTTLS or implicit TLS with a self-signed
//! certificate made by `openssl`, AUTH when TLS is on. Each message it accepts lands in a directory the test
//! reads. The process is killed when the fixture drops.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Python source of the server.
const SERVER: &str = include_str!("smtp_server.py");

/// How the server protects the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpMode {
    /// No TLS, no AUTH.
    Plain,
    /// STARTTLS and AUTH required.
    Starttls,
    /// TLS from the first byte, AUTH required.
    Tls,
}

/// User and password the TLS modes accept.
pub const SMTP_USER: &str = "mailer";
/// Password the TLS modes accept.
pub const SMTP_PASSWORD: &str = "mail-secret-1";

/// A running SMTP server.
pub struct SmtpServer {
    /// Port on 127.0.0.1.
    pub port: u16,
    child: Child,
    dir: tempfile::TempDir,
}

/// One received message.
#[derive(Debug, Clone)]
pub struct Received {
    /// The raw message (headers and body).
    pub raw: String,
    /// Envelope and session facts (`from`, `to`, `authenticated`, `tls`) and the decoded `subject`,
    /// `content_type`, `plain` and `html` parts.
    pub meta: serde_json::Value,
}

/// Whether aiosmtpd can be imported (scripts/install-deps.sh installs it).
pub fn available() -> bool {
    Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl SmtpServer {
    /// Starts a server; `None` (after `tool_missing`) when aiosmtpd is not installed outside CI.
    pub async fn start(mode: SmtpMode) -> Option<SmtpServer> {
        if !available() {
            crate::tool_missing("python3 with aiosmtpd");
            return None;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let script = dir.path().join("smtp_server.py");
        std::fs::write(&script, SERVER).expect("write server");
        let out = dir.path().join("mail");
        std::fs::create_dir_all(&out).expect("mail dir");
        let port = free_port();
        let mut cmd = Command::new("python3");
        cmd.arg(&script).arg(port.to_string()).arg(&out);
        match mode {
            SmtpMode::Plain => {
                cmd.arg("plain");
            }
            SmtpMode::Starttls | SmtpMode::Tls => {
                let (cert, key) = self_signed(dir.path());
                cmd.arg(if mode == SmtpMode::Tls { "tls" } else { "starttls" })
                    .arg(cert)
                    .arg(key)
                    .arg(SMTP_USER)
                    .arg(SMTP_PASSWORD);
            }
        }
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start python3");
        let server = SmtpServer { port, child, dir };
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return Some(server);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the SMTP server did not start on port {port}");
    }

    fn mail_dir(&self) -> PathBuf {
        self.dir.path().join("mail")
    }

    /// Messages received so far, in order.
    pub fn received(&self) -> Vec<Received> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(self.mail_dir())
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        names.retain(|p| p.extension().is_some_and(|e| e == "eml"));
        names.sort();
        names
            .iter()
            .map(|p| Received {
                raw: std::fs::read_to_string(p).unwrap_or_default(),
                meta: std::fs::read_to_string(p.with_extension("json"))
                    .ok()
                    .and_then(|t| serde_json::from_str(&t).ok())
                    .unwrap_or_default(),
            })
            .collect()
    }

    /// Waits until at least `n` messages have arrived and returns them all.
    pub async fn wait_for(&self, n: usize, limit: Duration) -> Vec<Received> {
        let t0 = std::time::Instant::now();
        loop {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            assert!(
                t0.elapsed() < limit,
                "{} of {n} mails arrived in {limit:?}",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A self-signed certificate for `localhost` and 127.0.0.1.
fn self_signed(dir: &Path) -> (PathBuf, PathBuf) {
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    let status = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
        ])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run openssl");
    assert!(status.success(), "openssl could not make a test certificate");
    (cert, key)
}
