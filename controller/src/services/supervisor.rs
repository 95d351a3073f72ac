//! One supervised service process: started in its own process group, its stdout and stderr appended to its log
//! file (rotated past a size bound), its exit noticed at once, and the restart policy applied with a doubling
//! back-off (reset once a run lasted 10 s).

use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;
use tokio::sync::{mpsc, watch};
use utoipa::ToSchema;

use super::definition::{RestartPolicy, ServiceDef};
use crate::store::{ms_to_rfc3339, now_ms};

/// A run that lasted this long resets the back-off.
const STABLE_AFTER: Duration = Duration::from_secs(10);
/// Longest back-off.
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Grace between SIGTERM and SIGKILL on stop.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// What the service is doing now.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ServiceStatus {
    /// `stopped`, `running`, `backoff` (waiting to restart), `exited` (ended, not restarted) or `failed` (could
    /// not start, or ended with an error and is not restarted).
    pub state: String,
    /// Process id while running.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// When the current (or last) process started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// Restarts by policy since the service was started by hand.
    pub restarts: u64,
    /// How the last process ended (`exit code 1`, `signal 9`) or why it could not start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_exit: Option<String>,
}

impl Default for ServiceStatus {
    fn default() -> Self {
        ServiceStatus {
            state: "stopped".into(),
            pid: None,
            started_at: None,
            restarts: 0,
            last_exit: None,
        }
    }
}

/// A service under supervision: the wanted state goes in, the status comes out.
pub struct Supervised {
    want: watch::Sender<bool>,
    status: Arc<Mutex<ServiceStatus>>,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Supervised {
    /// A stopped service.
    pub fn new() -> Supervised {
        let (want, _) = watch::channel(false);
        Supervised {
            want,
            status: Arc::new(Mutex::new(ServiceStatus::default())),
            task: Mutex::new(None),
        }
    }

    /// The current status.
    pub fn status(&self) -> ServiceStatus {
        self.status.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Starts the service (no-op when it is already wanted running).
    pub fn start(&self, def: ServiceDef, root: PathBuf) {
        let mut task = self.task.lock().unwrap_or_else(|p| p.into_inner());
        if *self.want.borrow() && task.as_ref().is_some_and(|t| !t.is_finished()) {
            return;
        }
        self.want.send_replace(true);
        {
            let mut s = self.status.lock().unwrap_or_else(|p| p.into_inner());
            s.restarts = 0;
            s.last_exit = None;
        }
        let want = self.want.subscribe();
        let status = self.status.clone();
        *task = Some(tokio::spawn(supervise(def, root, want, status)));
    }

    /// Stops the service and waits until its process group is gone.
    pub async fn stop(&self) {
        self.want.send_replace(false);
        let task = self.task.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(t) = task {
            let _ = t.await;
        }
        let mut s = self.status.lock().unwrap_or_else(|p| p.into_inner());
        s.state = "stopped".into();
        s.pid = None;
    }
}

impl Default for Supervised {
    fn default() -> Self {
        Self::new()
    }
}

fn set(status: &Mutex<ServiceStatus>, f: impl FnOnce(&mut ServiceStatus)) {
    f(&mut status.lock().unwrap_or_else(|p| p.into_inner()));
}

/// Sends `sig` to the whole process group led by `pid`.
fn kill_group(pid: u32, sig: i32) {
    // SAFETY: kill(2) on the service's own process group, which we created with process_group(0).
    unsafe {
        libc::kill(-(pid as i32), sig);
    }
}

async fn supervise(
    def: ServiceDef,
    root: PathBuf,
    mut want: watch::Receiver<bool>,
    status: Arc<Mutex<ServiceStatus>>,
) {
    let mut backoff = Duration::from_millis(def.backoff_ms);
    let log_path = root.join(def.log_rel());
    let workdir = def
        .working_dir
        .as_deref()
        .and_then(super::definition::relative_path)
        .map(|p| root.join(p))
        .unwrap_or_else(|| root.clone());
    let (log_tx, log_rx) = mpsc::channel::<Vec<u8>>(256);
    let writer = tokio::spawn(write_log(log_path, def.max_log_bytes, log_rx));
    while *want.borrow() {
        let _ = std::fs::create_dir_all(&workdir);
        let mut cmd = Command::new(&def.command);
        cmd.args(&def.args)
            .envs(&def.env)
            .env("TWISTER_SERVICE", &def.name)
            .current_dir(&workdir)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        if let Some(cfg) = def
            .config_file
            .as_deref()
            .and_then(super::definition::relative_path)
        {
            cmd.env("TWISTER_SERVICE_CONFIG", root.join(cfg));
        }
        let started = Instant::now();
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                let why = format!("cannot start {}: {e}", def.command);
                tracing::warn!(service = %def.name, error = %why, "service failed to start");
                let _ = log_tx.send(format!("[twister] {why}\n").into_bytes()).await;
                set(&status, |s| {
                    s.state = "failed".into();
                    s.pid = None;
                    s.last_exit = Some(why);
                });
                break;
            }
        };
        let pid = child.id().unwrap_or(0);
        set(&status, |s| {
            s.state = "running".into();
            s.pid = Some(pid);
            s.started_at = Some(ms_to_rfc3339(now_ms()));
        });
        tracing::info!(service = %def.name, pid, "service started");
        let _ = log_tx
            .send(format!("[twister] started pid {pid}\n").into_bytes())
            .await;
        let mut pumps = Vec::new();
        if let Some(mut out) = child.stdout.take() {
            let tx = log_tx.clone();
            pumps.push(tokio::spawn(async move { pump(&mut out, tx).await }));
        }
        if let Some(mut err) = child.stderr.take() {
            let tx = log_tx.clone();
            pumps.push(tokio::spawn(async move { pump(&mut err, tx).await }));
        }
        let exit = tokio::select! {
            r = child.wait() => r,
            _ = until_stopped(&mut want) => {
                kill_group(pid, libc::SIGTERM);
                match tokio::time::timeout(STOP_GRACE, child.wait()).await {
                    Ok(r) => r,
                    Err(_) => {
                        kill_group(pid, libc::SIGKILL);
                        child.wait().await
                    }
                }
            }
        };
        // Whatever the leader left behind in its group goes with it.
        kill_group(pid, libc::SIGKILL);
        for p in pumps {
            let _ = tokio::time::timeout(Duration::from_secs(2), p).await;
        }
        let (how, failed) = match &exit {
            Ok(st) => match (st.code(), st.signal()) {
                (Some(c), _) => (format!("exit code {c}"), c != 0),
                (None, Some(sig)) => (format!("signal {sig}"), true),
                _ => ("ended".to_string(), true),
            },
            Err(e) => (format!("cannot wait for it: {e}"), true),
        };
        let _ = log_tx
            .send(format!("[twister] pid {pid} ended: {how}\n").into_bytes())
            .await;
        tracing::info!(service = %def.name, pid, how = %how, "service ended");
        if !*want.borrow() {
            set(&status, |s| {
                s.state = "stopped".into();
                s.pid = None;
                s.last_exit = Some(how);
            });
            break;
        }
        let restart = match def.restart {
            RestartPolicy::Never => false,
            RestartPolicy::OnFailure => failed,
            RestartPolicy::Always => true,
        };
        if !restart {
            set(&status, |s| {
                s.state = if failed { "failed" } else { "exited" }.into();
                s.pid = None;
                s.last_exit = Some(how);
            });
            break;
        }
        if started.elapsed() >= STABLE_AFTER {
            backoff = Duration::from_millis(def.backoff_ms);
        }
        set(&status, |s| {
            s.state = "backoff".into();
            s.pid = None;
            s.last_exit = Some(how);
        });
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = until_stopped(&mut want) => {}
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
        if *want.borrow() {
            set(&status, |s| s.restarts += 1);
        }
    }
    drop(log_tx);
    let _ = writer.await;
}

/// Returns once the service is no longer wanted running.
async fn until_stopped(want: &mut watch::Receiver<bool>) {
    if want.wait_for(|w| !*w).await.is_err() {
        // The manager is gone: nobody wants the service any more.
    }
}

async fn pump(from: &mut (impl AsyncReadExt + Unpin), to: mpsc::Sender<Vec<u8>>) {
    let mut buf = vec![0u8; 8192];
    loop {
        match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.send(buf[..n].to_vec()).await.is_err() {
                    break;
                }
            }
        }
    }
}

/// Appends output to the log file; past `max` bytes the file becomes `<log>.1` (replacing the older one).
async fn write_log(path: PathBuf, max: u64, mut rx: mpsc::Receiver<Vec<u8>>) {
    if let Some(dir) = path.parent() {
        let _ = tokio::fs::create_dir_all(dir).await;
    }
    let open = |p: PathBuf| async move {
        tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&p)
            .await
    };
    let mut file = match open(path.clone()).await {
        Ok(f) => f,
        Err(e) => {
            tracing::warn!(log = %path.display(), error = %e, "cannot open a service log; output is dropped");
            while rx.recv().await.is_some() {}
            return;
        }
    };
    let mut size = file.metadata().await.map(|m| m.len()).unwrap_or(0);
    while let Some(chunk) = rx.recv().await {
        if size + chunk.len() as u64 > max && size > 0 {
            let _ = file.flush().await;
            let mut rotated = path.clone().into_os_string();
            rotated.push(".1");
            let _ = tokio::fs::rename(&path, PathBuf::from(rotated)).await;
            match open(path.clone()).await {
                Ok(f) => file = f,
                Err(_) => continue,
            }
            size = 0;
        }
        if file.write_all(&chunk).await.is_ok() {
            size += chunk.len() as u64;
        }
    }
    let _ = file.flush().await;
}
