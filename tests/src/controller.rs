//! A real controller for tests: in-process (fast, shares the test's runtime) or as a separate process of the
//! built binary (for kill -9 and restart tests).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use twister_controller::config::Config;

use crate::{Api, Backend};

/// Password of the bootstrap admin in tests.
pub const ADMIN_PASSWORD: &str = "admin-password-1";

/// An in-process controller with its own data directory.
pub struct TestController {
    /// Base URL, `http://127.0.0.1:PORT` (`https://` when the configuration names a certificate).
    pub url: String,
    /// The running server.
    pub running: Option<twister_controller::Running>,
    /// Data directory (kept until drop).
    pub dir: tempfile::TempDir,
}

impl TestController {
    /// Starts a controller on `backend` with default settings.
    pub async fn start(backend: &Backend) -> TestController {
        Self::start_with(backend, |_| {}).await
    }

    /// Starts a controller on `backend`, letting the test adjust the configuration.
    pub async fn start_with(backend: &Backend, adjust: impl FnOnce(&mut Config)) -> TestController {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = Config {
            listen: "127.0.0.1:0".into(),
            data_dir: dir.path().to_path_buf(),
            database_url: backend.url.clone(),
            ..Default::default()
        };
        adjust(&mut config);
        let config = config.validate().expect("valid test config");
        let running = twister_controller::spawn(config, Some(ADMIN_PASSWORD.into()))
            .await
            .expect("controller starts");
        let url = running.url.clone();
        TestController {
            url,
            running: Some(running),
            dir,
        }
    }

    /// An API client logged in as admin.
    pub async fn admin(&self) -> Api {
        Api::login(&self.url, "admin", ADMIN_PASSWORD).await
    }

    /// Creates a user with `role` and returns a client logged in as them.
    pub async fn user(&self, name: &str, role: &str) -> Api {
        let admin = self.admin().await;
        let password = format!("{name}-password");
        let (status, body) = admin
            .post(
                "/users",
                serde_json::json!({"username": name, "password": password, "role": role}),
            )
            .await;
        assert!(
            status == 201 || status == 409,
            "create user {name}: {status} {body}"
        );
        Api::login(&self.url, name, &password).await
    }

    /// Stops the server cleanly.
    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown().await;
        }
    }
}

/// The controller binary as a child process, for crash tests.
pub struct ControllerProcess {
    /// Base URL.
    pub url: String,
    child: Option<Child>,
    data_dir: PathBuf,
    database_url: String,
    port: u16,
    host: String,
    extra_args: Vec<String>,
}

impl ControllerProcess {
    /// Starts `twister-controller` on a free port with `data_dir` and `database_url` (empty: SQLite).
    pub async fn start(data_dir: &Path, database_url: &str) -> ControllerProcess {
        Self::start_with(data_dir, database_url, "127.0.0.1", &[]).await
    }

    /// Starts `twister-controller` listening on `host` (an address of this machine) with extra flags.
    pub async fn start_with(
        data_dir: &Path,
        database_url: &str,
        host: &str,
        extra_args: &[&str],
    ) -> ControllerProcess {
        let port = std::net::TcpListener::bind(format!("{host}:0"))
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut p = ControllerProcess {
            url: format!("http://{host}:{port}"),
            child: None,
            data_dir: data_dir.to_path_buf(),
            database_url: database_url.to_string(),
            port,
            host: host.to_string(),
            extra_args: extra_args.iter().map(|a| a.to_string()).collect(),
        };
        p.spawn().await;
        p
    }

    async fn spawn(&mut self) {
        let mut cmd = Command::new(crate::binary("twister-controller"));
        cmd.arg("--listen")
            .arg(format!("{}:{}", self.host, self.port))
            .args(&self.extra_args)
            .arg("--data-dir")
            .arg(&self.data_dir)
            .env("TWISTER_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("TWISTER_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        if !self.database_url.is_empty() {
            cmd.arg("--database-url").arg(&self.database_url);
        }
        self.child = Some(cmd.spawn().expect("start twister-controller"));
        let client = reqwest::Client::new();
        for _ in 0..200 {
            if let Ok(r) = client.get(format!("{}/api/v1/health", self.url)).send().await {
                if r.status().is_success() {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("controller did not become healthy at {}", self.url);
    }

    /// Kills the process with SIGKILL (no chance to clean up) and waits for it.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            unsafe {
                libc::kill(c.id() as i32, libc::SIGKILL);
            }
            let _ = c.wait();
        }
    }

    /// Sends SIGTERM and waits for a clean exit; returns the exit status code.
    pub fn terminate(&mut self) -> Option<i32> {
        let mut c = self.child.take()?;
        unsafe {
            libc::kill(c.id() as i32, libc::SIGTERM);
        }
        c.wait().ok().and_then(|s| s.code())
    }

    /// Starts the process again on the same port, data and database.
    pub async fn restart(&mut self) {
        self.kill9();
        self.spawn().await;
    }

    /// An admin client.
    pub async fn admin(&self) -> Api {
        Api::login(&self.url, "admin", ADMIN_PASSWORD).await
    }

    /// The process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }
}

impl Drop for ControllerProcess {
    fn drop(&mut self) {
        self.kill9();
    }
}
