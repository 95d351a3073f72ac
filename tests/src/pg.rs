//! A private PostgreSQL server for the tests of one process: `initdb` into a temporary directory as the
//! unprivileged `postgres` user, started on a free loopback port, stopped by a watchdog when the test process
//! exits. Each call to [`database`] creates a fresh database on it.
//!
//! Set `TWISTER_TEST_PG_URL` (a URL to a server where the user may create databases) to use an existing server.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::OnceCell;

struct Server {
    /// Admin URL without the database name: `postgres://postgres@127.0.0.1:PORT`.
    base: String,
}

static SERVER: OnceCell<Option<Server>> = OnceCell::const_new();
static COUNTER: AtomicUsize = AtomicUsize::new(0);

fn pg_bin() -> Option<PathBuf> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(55432)
}

fn as_postgres(bin: &Path, tool: &str, args: &[&str]) -> std::io::Result<std::process::Output> {
    let is_root = unsafe { libc::geteuid() } == 0;
    let mut cmd = if is_root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin.join(tool));
        c
    } else {
        Command::new(bin.join(tool))
    };
    cmd.args(args).current_dir("/tmp").output()
}

fn start() -> Option<Server> {
    if let Ok(url) = std::env::var("TWISTER_TEST_PG_URL") {
        return Some(Server {
            base: url.trim_end_matches('/').to_string(),
        });
    }
    let bin = pg_bin()?;
    let dir = tempfile::Builder::new()
        .prefix("twister-pg-")
        .tempdir()
        .ok()?
        .keep();
    let data = dir.join("data");
    let sock = dir.join("sock");
    std::fs::create_dir_all(&sock).ok()?;
    if unsafe { libc::geteuid() } == 0 {
        let ok = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(&dir)
            .status()
            .ok()?
            .success();
        if !ok {
            return None;
        }
    }
    let data_s = data.to_string_lossy().to_string();
    let init = as_postgres(
        &bin,
        "initdb",
        &[
            "-D",
            &data_s,
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-sync",
        ],
    )
    .ok()?;
    if !init.status.success() {
        eprintln!("initdb failed: {}", String::from_utf8_lossy(&init.stderr));
        return None;
    }
    let port = free_port();
    let opts = format!(
        "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300",
        sock.display()
    );
    let log = dir.join("log").to_string_lossy().to_string();
    let started = as_postgres(
        &bin,
        "pg_ctl",
        &["-D", &data_s, "-o", &opts, "-l", &log, "-w", "-t", "60", "start"],
    )
    .ok()?;
    if !started.status.success() {
        eprintln!(
            "pg_ctl start failed: {}",
            String::from_utf8_lossy(&started.stderr)
        );
        return None;
    }
    // Stop the server and remove its files when this test process exits, however it exits.
    let pid = std::process::id();
    let stop = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; {runas}{pgctl} -D {data} stop -m immediate >/dev/null 2>&1; rm -rf {dir}",
        runas = if unsafe { libc::geteuid() } == 0 { "runuser -u postgres -- " } else { "" },
        pgctl = bin.join("pg_ctl").display(),
        data = data.display(),
        dir = dir.display(),
    );
    let _ = Command::new("setsid")
        .args(["sh", "-c", &stop])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    Some(Server {
        base: format!("postgres://postgres@127.0.0.1:{port}"),
    })
}

/// A URL to a new, empty database, or `None` when no PostgreSQL server can be had.
pub async fn database() -> Option<String> {
    let server = SERVER
        .get_or_init(|| async { tokio::task::spawn_blocking(start).await.ok().flatten() })
        .await
        .as_ref()?;
    let name = format!(
        "tw_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let admin = format!("{}/postgres", server.base);
    let (client_ok, err) = create_db(&admin, &name).await;
    if !client_ok {
        eprintln!("cannot create test database: {err}");
        return None;
    }
    Some(format!("{}/{name}", server.base))
}

async fn create_db(admin_url: &str, name: &str) -> (bool, String) {
    use sqlx::{Connection, Executor};
    sqlx::any::install_default_drivers();
    let result = async {
        let mut conn = sqlx::AnyConnection::connect(admin_url).await?;
        // The name is generated above from digits and underscores only.
        conn.execute(format!("CREATE DATABASE \"{name}\"").as_str())
            .await?;
        conn.close().await
    }
    .await;
    match result {
        Ok(()) => (true, String::new()),
        Err(e) => (false, e.to_string()),
    }
}
