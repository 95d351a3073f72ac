//! A private MariaDB server for the tests of one process: `mariadb-install-db` into a temporary directory,
//! `mariadbd` on a free loopback port and a private socket, stopped (and its files removed) by a watchdog when
//! the test process exits. Each call to [`database`] creates a fresh database and a user with a password that
//! may use only it.
//!
//! Set `TWISTER_TEST_MYSQL_URL` (`mysql://admin:password@host:port`, a user that may create databases and
//! users) to use an existing MySQL or MariaDB server instead.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use sqlx::mysql::MySqlConnectOptions;
use tokio::sync::OnceCell;

/// How the tests reach the server as its administrator, and the host:port users connect to.
struct Server {
    admin: MySqlConnectOptions,
    host_port: String,
}

static SERVER: OnceCell<Option<Server>> = OnceCell::const_new();
static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A database made for one test: its URL (with the user's password) and the password alone.
pub struct Database {
    /// `mysql://user:password@127.0.0.1:PORT/name`.
    pub url: String,
    /// The user's password, to look for where it must not be.
    pub password: String,
}

fn find(tool: &str) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    path.split(':')
        .map(PathBuf::from)
        .chain(["/usr/sbin".into(), "/usr/bin".into()])
        .map(|d| d.join(tool))
        .find(|p| p.exists())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(53306)
}

fn start_private() -> Option<(PathBuf, u16)> {
    let install = find("mariadb-install-db")?;
    let server = find("mariadbd")?;
    let dir = tempfile::Builder::new()
        .prefix("twister-mariadb-")
        .tempdir()
        .ok()?
        .keep();
    let data = dir.join("data");
    let sock = dir.join("sock");
    let is_root = unsafe { libc::geteuid() } == 0;
    // mariadbd refuses to run as root unless told to; the files stay root's, in a private temporary directory.
    let user: &[&str] = if is_root { &["--user=root"] } else { &[] };
    let out = Command::new(&install)
        .arg("--no-defaults")
        .arg(format!("--datadir={}", data.display()))
        .args(["--auth-root-authentication-method=normal", "--skip-test-db"])
        .args(user)
        .current_dir(&dir)
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!(
            "mariadb-install-db failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        return None;
    }
    let port = free_port();
    let log = std::fs::File::create(dir.join("server.log")).ok()?;
    let child = Command::new(&server)
        .arg("--no-defaults")
        .arg(format!("--datadir={}", data.display()))
        .arg(format!("--socket={}", sock.display()))
        .arg(format!("--pid-file={}", dir.join("pid").display()))
        .arg(format!("--port={port}"))
        .args([
            "--bind-address=127.0.0.1",
            "--skip-name-resolve",
            "--skip-log-bin",
            "--innodb-flush-log-at-trx-commit=0",
            "--innodb-buffer-pool-size=32M",
        ])
        .args(user)
        .stdin(Stdio::null())
        .stdout(log.try_clone().ok()?)
        .stderr(log)
        .spawn()
        .ok()?;
    // Stop the server and remove its files when this test process exits, however it exits.
    let stop = format!(
        "while kill -0 {me} 2>/dev/null; do sleep 0.5; done; kill {server} 2>/dev/null; \
         while kill -0 {server} 2>/dev/null; do sleep 0.2; done; rm -rf {dir}",
        me = std::process::id(),
        server = child.id(),
        dir = dir.display(),
    );
    let _ = Command::new("setsid")
        .args(["sh", "-c", &stop])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    Some((sock, port))
}

async fn start() -> Option<Server> {
    if let Ok(url) = std::env::var("TWISTER_TEST_MYSQL_URL") {
        let admin = MySqlConnectOptions::from_str(&url).ok()?;
        let host_port = url::Url::parse(&url).ok().map(|u| {
            format!(
                "{}:{}",
                u.host_str().unwrap_or("127.0.0.1"),
                u.port().unwrap_or(3306)
            )
        })?;
        return Some(Server { admin, host_port });
    }
    let (sock, port) = tokio::task::spawn_blocking(start_private).await.ok().flatten()?;
    let admin = MySqlConnectOptions::new().socket(&sock).username("root");
    wait_ready(&admin, &sock).await?;
    Some(Server {
        admin,
        host_port: format!("127.0.0.1:{port}"),
    })
}

async fn wait_ready(admin: &MySqlConnectOptions, sock: &Path) -> Option<()> {
    use sqlx::Connection;
    let t0 = Instant::now();
    loop {
        match sqlx::MySqlConnection::connect_with(admin).await {
            Ok(c) => {
                let _ = c.close().await;
                return Some(());
            }
            Err(e) if t0.elapsed() > Duration::from_secs(60) => {
                let log = sock.with_file_name("server.log");
                eprintln!(
                    "mariadbd did not start: {e}\n{}",
                    std::fs::read_to_string(log).unwrap_or_default()
                );
                return None;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

fn password() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    format!("Pw{:016x}x", h.finish())
}

/// A new, empty database with its own user and password, or `None` when no MariaDB server can be had.
pub async fn database() -> Option<Database> {
    use sqlx::{Connection, Executor};
    let server = SERVER.get_or_init(start).await.as_ref()?;
    let name = format!(
        "tw_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let password = password();
    let made = async {
        let mut conn = sqlx::MySqlConnection::connect_with(&server.admin).await?;
        // The name is made above from digits and underscores, the password from hex digits: nothing to quote.
        conn.execute(format!("CREATE DATABASE `{name}`").as_str()).await?;
        conn.execute(format!("CREATE USER '{name}'@'%' IDENTIFIED BY '{password}'").as_str())
            .await?;
        conn.execute(format!("GRANT ALL ON `{name}`.* TO '{name}'@'%'").as_str())
            .await?;
        conn.close().await
    }
    .await;
    if let Err(e) = made {
        eprintln!("cannot create the test database: {e}");
        return None;
    }
    Some(Database {
        url: format!("mysql://{name}:{password}@{}/{name}", server.host_port),
        password,
    })
}
