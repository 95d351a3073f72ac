//! A real `twister-station` process for end-to-end tests: registered through the API, with its own data
//! directory, killable with SIGKILL and restartable on the same spool.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::Api;

/// A station process.
pub struct StationProcess {
    /// Station name.
    pub name: String,
    /// EPs it offers.
    pub eps: Vec<String>,
    /// Controller URL it dials.
    pub url: String,
    /// Data directory (spool, cache, work dirs).
    pub data_dir: PathBuf,
    token_file: PathBuf,
    netns: Option<String>,
    extra_args: Vec<String>,
    child: Option<Child>,
    _dir: tempfile::TempDir,
}

impl StationProcess {
    /// Registers `name` with `admin` and starts the station with `eps`; waits until it is online.
    pub async fn start(admin: &Api, name: &str, eps: &[&str]) -> StationProcess {
        Self::start_inner(admin, name, eps, None, &[]).await
    }

    /// Like [`StationProcess::start`], with extra command-line flags (e.g. `--ca-file`).
    pub async fn start_with_args(admin: &Api, name: &str, eps: &[&str], args: &[&str]) -> StationProcess {
        Self::start_inner(admin, name, eps, None, args).await
    }

    /// Like [`StationProcess::start`], with `station_toml` as its configuration file (for `[capture]`); the
    /// file stays in a temporary directory so that a restart reads it again.
    pub async fn start_with_config(
        admin: &Api,
        name: &str,
        eps: &[&str],
        station_toml: &str,
    ) -> StationProcess {
        let dir = tempfile::tempdir().expect("temp dir").keep();
        let path = dir.join("station.toml");
        std::fs::write(&path, station_toml).expect("write station.toml");
        let path = path.to_string_lossy().into_owned();
        Self::start_inner(admin, name, eps, None, &["--config", &path]).await
    }

    /// Like [`StationProcess::start`], with the process inside network namespace `netns` (needs root).
    pub async fn start_in_netns(admin: &Api, name: &str, eps: &[&str], netns: &str) -> StationProcess {
        Self::start_inner(admin, name, eps, Some(netns.to_string()), &[]).await
    }

    async fn start_inner(
        admin: &Api,
        name: &str,
        eps: &[&str],
        netns: Option<String>,
        args: &[&str],
    ) -> StationProcess {
        let (s, body) = admin.post("/stations", serde_json::json!({ "name": name })).await;
        assert_eq!(s, 201, "register station {name}: {body}");
        let dir = tempfile::tempdir().expect("temp dir");
        let token_file = dir.path().join("station.token");
        std::fs::write(&token_file, body["token"].as_str().expect("token")).expect("write token");
        let mut st = StationProcess {
            name: name.to_string(),
            eps: eps.iter().map(|e| e.to_string()).collect(),
            url: admin.url.clone(),
            data_dir: dir.path().join("data"),
            token_file,
            netns,
            extra_args: args.iter().map(|a| a.to_string()).collect(),
            child: None,
            _dir: dir,
        };
        st.spawn();
        st.wait_online(admin, true).await;
        st
    }

    /// Starts (again) the process on the same data directory.
    pub fn spawn(&mut self) {
        let mut cmd = match &self.netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns])
                    .arg(crate::binary("twister-station"));
                c
            }
            None => Command::new(crate::binary("twister-station")),
        };
        cmd.arg("--controller-url")
            .arg(&self.url)
            .arg("--name")
            .arg(&self.name)
            .arg("--data-dir")
            .arg(&self.data_dir)
            .arg("--token-file")
            .arg(&self.token_file)
            .env(
                "TWISTER_LOG",
                std::env::var("TWISTER_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .env_remove("TWISTER_STATION_CONFIG")
            // Tests call the `twister` tool (helpers for logs, globals, results) from the workspace build.
            .env(
                "PATH",
                format!(
                    "{}:{}",
                    crate::bin_dir().display(),
                    std::env::var("PATH").unwrap_or_default()
                ),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        for ep in &self.eps {
            cmd.arg("--ep").arg(ep);
        }
        cmd.args(&self.extra_args);
        self.child = Some(cmd.spawn().expect("start twister-station"));
    }

    /// Waits until the controller sees the station online (or offline with `false`).
    pub async fn wait_online(&self, admin: &Api, online: bool) {
        for _ in 0..300 {
            let (s, v) = admin.get(&format!("/stations/{}", self.name)).await;
            if s == 200 && v["online"].as_bool() == Some(online) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "station {} did not become {}",
            self.name,
            if online { "online" } else { "offline" }
        );
    }

    /// The process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// SIGKILL, no clean-up.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM and wait; returns the exit code.
    pub fn terminate(&mut self) -> Option<i32> {
        let mut c = self.child.take()?;
        // SAFETY: plain kill(2) on our own child's pid.
        unsafe {
            libc::kill(c.id() as i32, libc::SIGTERM);
        }
        for _ in 0..100 {
            if let Ok(Some(st)) = c.try_wait() {
                return st.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = c.kill();
        c.wait().ok().and_then(|s| s.code())
    }
}

impl Drop for StationProcess {
    fn drop(&mut self) {
        self.kill9();
    }
}
