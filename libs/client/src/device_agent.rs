//! The per-run device session agent: keeps sessions open between the tests of one run so that a device is
//! logged in to once per run, not once per `twister device run`.
//!
//! Inside a test on a station (`TWISTER_RUN` and `TWISTER_RESULT_FILE` set), `twister device run|config` asks
//! the agent of the run, listening on `<station data>/work/<run>/.device-agent/sock` (directory mode 0700, so
//! only the station's user can connect), and starts it when there is none (`twister device agent`, in its own
//! process group and without the test's token or result file, so that the end of the test does not end it). The
//! agent keeps one session per device (keyed by path and by its properties, so an inventory change opens a new
//! one), answers one JSON request per connection, and exits after an idle time (`TWISTER_DEVICE_AGENT_IDLE`
//! seconds, default 300) or when the run's directory disappears. Transcript lines are handed back with each
//! answer: the CLI posts them with the calling test's own token. `TWISTER_DEVICE_AGENT=off` disables it.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::Mutex;
use twister_device::transcript::{Direction, Masker, Transcript};
use twister_device::{Mode, Session, SessionSpec};

/// What a test asks the agent.
#[derive(Debug, Serialize, Deserialize)]
pub struct AgentRequest {
    /// Device path.
    pub device: String,
    /// Its properties (secrets revealed).
    pub props: BTreeMap<String, String>,
    /// Its bastion's properties, when it has one.
    pub jump_props: Option<BTreeMap<String, String>>,
    /// A command to run, or
    pub command: Option<String>,
    /// configuration lines to apply.
    pub config: Option<Vec<String>>,
    /// Mode to run the command in (default: the mode after login).
    pub mode: Option<String>,
    /// Seconds for each command (default: the device's).
    pub timeout_s: Option<f64>,
}

/// The agent's answer.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct AgentResponse {
    /// Whether it worked.
    pub ok: bool,
    /// Whether an open session was reused (no login).
    pub reused: bool,
    /// Command output.
    pub output: String,
    /// Mode after the command.
    pub mode: String,
    /// Prompt after the command.
    pub prompt: String,
    /// `command` (the device rejected it), `spec` (bad properties), `session` (connect, login, timeout...).
    pub error_kind: Option<String>,
    /// What went wrong.
    pub error: Option<String>,
    /// The configuration line rejected.
    pub failed_line: Option<String>,
    /// Transcript lines (masked) since the last answer for this device.
    pub transcript: Vec<String>,
}

/// The socket of the current run's agent, when running inside a test on a station (and not disabled).
pub fn socket_for_current_test() -> Option<PathBuf> {
    if std::env::var("TWISTER_DEVICE_AGENT").is_ok_and(|v| v == "off" || v == "0") {
        return None;
    }
    std::env::var("TWISTER_RUN").ok().filter(|r| !r.is_empty())?;
    let result = PathBuf::from(std::env::var_os("TWISTER_RESULT_FILE")?);
    // <data>/work/<run>/<test>/result -> <data>/work/<run>
    let run_dir = result.parent()?.parent()?;
    let sock = run_dir.join(".device-agent").join("sock");
    // sockaddr_un holds 108 bytes: a longer path cannot be bound.
    (sock.as_os_str().len() < 100).then_some(sock)
}

/// Asks the agent at `socket`, starting it (as `twister device agent`) when none answers.
pub async fn ask(socket: &Path, req: &AgentRequest) -> Result<AgentResponse, String> {
    let stream = match UnixStream::connect(socket).await {
        Ok(s) => s,
        Err(_) => {
            start(socket)?;
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                match UnixStream::connect(socket).await {
                    Ok(s) => break s,
                    Err(e) if Instant::now() > deadline => {
                        return Err(format!(
                            "the device agent did not start ({}): {e}",
                            socket.display()
                        ))
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
                }
            }
        }
    };
    let (r, mut w) = stream.into_split();
    let mut line = serde_json::to_string(req).map_err(|e| e.to_string())?;
    line.push('\n');
    w.write_all(line.as_bytes())
        .await
        .map_err(|e| format!("device agent: {e}"))?;
    let mut answer = String::new();
    BufReader::new(r)
        .read_line(&mut answer)
        .await
        .map_err(|e| format!("device agent: {e}"))?;
    serde_json::from_str(&answer).map_err(|e| format!("device agent answered {answer:?}: {e}"))
}

fn start(socket: &Path) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find the twister binary: {e}"))?;
    let mut cmd = std::process::Command::new(exe);
    cmd.args(["device", "agent", "--socket"])
        .arg(socket)
        .env_remove("TWISTER_TOKEN")
        .env_remove("TWISTER_RESULT_FILE")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    use std::os::unix::process::CommandExt;
    // Its own process group: the station kills the test's group when the test ends.
    cmd.process_group(0);
    cmd.spawn()
        .map(|_| ())
        .map_err(|e| format!("cannot start the device agent: {e}"))
}

struct Entry {
    key: String,
    session: Session,
    home: Mode,
    transcript: Transcript,
    rx: tokio::sync::mpsc::UnboundedReceiver<(Direction, Vec<u8>)>,
}

impl Entry {
    fn lines(&mut self, device: &str) -> Vec<String> {
        let mut out = Vec::new();
        while let Ok((dir, bytes)) = self.rx.try_recv() {
            out.extend(self.transcript.push(dir, &bytes));
        }
        out.extend(self.transcript.flush());
        out.into_iter().map(|l| format!("{device} {l}")).collect()
    }
}

type Sessions = Arc<Mutex<HashMap<String, Arc<Mutex<Option<Entry>>>>>>;

/// Runs the agent on `socket` until idle for `idle` or until the run's directory is gone.
pub async fn serve(socket: &Path, idle: Duration) -> Result<(), String> {
    let dir = socket
        .parent()
        .ok_or_else(|| format!("bad socket path {}", socket.display()))?;
    std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| format!("chmod {}: {e}", dir.display()))?;
    // A socket file nobody answers on is left from a previous agent.
    if socket.exists() && UnixStream::connect(socket).await.is_err() {
        let _ = std::fs::remove_file(socket);
    }
    let listener = UnixListener::bind(socket).map_err(|e| format!("binding {}: {e}", socket.display()))?;
    let run_dir = dir.parent().map(Path::to_path_buf);
    let sessions: Sessions = Arc::default();
    let last = Arc::new(std::sync::Mutex::new(Instant::now()));
    loop {
        tokio::select! {
            conn = listener.accept() => {
                let Ok((stream, _)) = conn else { continue };
                if let Ok(mut l) = last.lock() {
                    *l = Instant::now();
                }
                let sessions = sessions.clone();
                let last = last.clone();
                tokio::spawn(async move {
                    let _ = handle(stream, sessions).await;
                    if let Ok(mut l) = last.lock() {
                        *l = Instant::now();
                    }
                });
            }
            _ = tokio::time::sleep(Duration::from_secs(1)) => {
                let quiet = last.lock().map(|l| l.elapsed()).unwrap_or_default();
                let gone = run_dir.as_ref().is_some_and(|d| !d.exists());
                if quiet > idle || gone {
                    break;
                }
            }
        }
    }
    let _ = std::fs::remove_file(socket);
    let all: Vec<_> = sessions.lock().await.drain().map(|(_, e)| e).collect();
    for e in all {
        if let Some(entry) = e.lock().await.take() {
            let _ = entry.session.close().await;
        }
    }
    Ok(())
}

async fn handle(stream: UnixStream, sessions: Sessions) -> Result<(), std::io::Error> {
    let (r, mut w) = stream.into_split();
    let mut line = String::new();
    BufReader::new(r).read_line(&mut line).await?;
    let resp = match serde_json::from_str::<AgentRequest>(&line) {
        Ok(req) => answer(req, &sessions).await,
        Err(e) => AgentResponse {
            error_kind: Some("session".into()),
            error: Some(format!("bad request: {e}")),
            ..AgentResponse::default()
        },
    };
    let mut out = serde_json::to_string(&resp).unwrap_or_else(|_| "{}".into());
    out.push('\n');
    w.write_all(out.as_bytes()).await
}

fn mode_of(s: &str) -> Option<Mode> {
    match s {
        "user" => Some(Mode::User),
        "privileged" => Some(Mode::Privileged),
        "config" => Some(Mode::Config),
        _ => None,
    }
}

/// The mode's name as the CLI prints it.
pub fn mode_name(m: Mode) -> &'static str {
    match m {
        Mode::User => "user",
        Mode::Privileged => "privileged",
        Mode::Config => "config",
    }
}

async fn answer(req: AgentRequest, sessions: &Sessions) -> AgentResponse {
    let fail = |kind: &str, e: String| AgentResponse {
        error_kind: Some(kind.into()),
        error: Some(e),
        ..AgentResponse::default()
    };
    let mut spec = match SessionSpec::from_properties(&req.device, &req.props) {
        Ok(s) => s,
        Err(e) => return fail("spec", e.to_string()),
    };
    let jump = match &req.jump_props {
        Some(p) => match SessionSpec::from_properties(spec.jump_host.as_deref().unwrap_or("jump"), p) {
            Ok(s) => Some(s),
            Err(e) => return fail("spec", e.to_string()),
        },
        None => None,
    };
    if let Some(t) = req.timeout_s.filter(|t| *t > 0.0 && *t < 86_400.0) {
        spec.timeout = Duration::from_secs_f64(t);
    }
    // The properties are the key: a changed inventory entry opens a new session.
    let key = serde_json::to_string(&(&req.props, &req.jump_props)).unwrap_or_default();
    let slot = sessions
        .lock()
        .await
        .entry(req.device.clone())
        .or_default()
        .clone();
    let mut guard = slot.lock().await;
    let reused = guard.as_ref().is_some_and(|e| e.key == key);
    if !reused {
        if let Some(old) = guard.take() {
            let _ = old.session.close().await;
        }
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let mut secrets = spec.secrets();
        if let Some(j) = &jump {
            secrets.extend(j.secrets());
        }
        let transcript = Transcript::new(Masker::new(secrets));
        match spec.open_tapped(jump.as_ref(), Some(tx)).await {
            Ok(session) => {
                *guard = Some(Entry {
                    key,
                    home: session.mode(),
                    session,
                    transcript,
                    rx,
                })
            }
            Err(e) => {
                let mut entry_lines = Entry::drain_failed(transcript, rx, &req.device);
                let mut r = fail("session", format!("{}: {e}", req.device));
                r.transcript.append(&mut entry_lines);
                return r;
            }
        }
    }
    let Some(entry) = guard.as_mut() else {
        return fail("session", "no session".into());
    };
    entry.session.set_timeout(spec.timeout);
    let mode = match req.mode.as_deref() {
        None => entry.home,
        Some(m) => match mode_of(m) {
            Some(m) => m,
            None => return fail("spec", format!("mode {m:?}: user, privileged or config")),
        },
    };
    let result = async {
        if let Some(lines) = &req.config {
            let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
            entry.session.set_mode(entry.home).await?;
            entry.session.config(&refs).await
        } else {
            entry.session.set_mode(mode).await?;
            entry
                .session
                .run(req.command.as_deref().unwrap_or_default())
                .await
        }
    }
    .await;
    let mut resp = AgentResponse {
        reused,
        mode: mode_name(entry.session.mode()).into(),
        prompt: entry.session.prompt().to_string(),
        ..AgentResponse::default()
    };
    let mut broken = false;
    match result {
        Ok(out) => {
            resp.ok = true;
            resp.output = out;
        }
        Err(twister_device::Error::Command {
            command,
            message,
            output,
        }) => {
            resp.error_kind = Some("command".into());
            resp.error = Some(message);
            resp.failed_line = Some(command);
            resp.output = output;
        }
        Err(e) => {
            resp.error_kind = Some("session".into());
            resp.error = Some(format!("{}: {e}", req.device));
            broken = true;
        }
    }
    resp.transcript = entry.lines(&req.device);
    if broken {
        // A timed-out or closed session is not reused.
        if let Some(old) = guard.take() {
            let _ = old.session.close().await;
        }
    }
    resp
}

impl Entry {
    fn drain_failed(
        mut transcript: Transcript,
        mut rx: tokio::sync::mpsc::UnboundedReceiver<(Direction, Vec<u8>)>,
        device: &str,
    ) -> Vec<String> {
        let mut out = Vec::new();
        while let Ok((dir, bytes)) = rx.try_recv() {
            out.extend(transcript.push(dir, &bytes));
        }
        out.extend(transcript.flush());
        out.into_iter().map(|l| format!("{device} {l}")).collect()
    }
}
