//! `twister device`: run commands on inventory devices, configure them, open a console, check a testbed's
//! devices, copy files over SFTP. Connection details come from the device's properties (docs/guide.md).
//! Inside a test (`TWISTER_RUN` set) every session's transcript goes to the run's `device` log, secrets masked.

use std::io::Read;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::{Subcommand, ValueEnum};
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use twister_client::device::{self, Device, DeviceError, RunTranscript};
use twister_client::device_agent::{self, AgentRequest, AgentResponse};
use twister_client::exit;
use twister_device::{Mode, Session};

use super::output::{self, Table};
use super::{CmdResult, Ctx, Failure};

/// Device subcommands.
#[derive(Debug, Subcommand)]
pub enum DeviceCmd {
    /// Run one command and print its output (exit 1 when the device reports an error).
    Run {
        /// Device path (`/tb1/dut1`).
        path: String,
        /// The command (words are joined with spaces).
        #[arg(required = true, num_args = 1..)]
        command: Vec<String>,
        /// Mode to run it in.
        #[arg(long, value_enum)]
        mode: Option<ModeArg>,
        /// Seconds allowed for connecting, logging in and the command (default: the device's `timeout`, else 30).
        #[arg(long)]
        timeout: Option<f64>,
    },
    /// Apply configuration lines read from stdin (stops at the first line the device rejects).
    Config {
        /// Device path.
        path: String,
        /// Seconds allowed per line.
        #[arg(long)]
        timeout: Option<f64>,
    },
    /// Interactive session on the device's command line (raw terminal; the escape key quits).
    Console {
        /// Device path.
        path: String,
        /// Escape key: `^]` (default), `^X` for any control key, or one character.
        #[arg(long, default_value = "^]")]
        escape: String,
    },
    /// Log in to every device of a testbed, in parallel; exit 1 when any is unhealthy.
    Check {
        /// Testbed (or any subtree, or a single device).
        path: String,
        /// Seconds allowed per device.
        #[arg(long)]
        timeout: Option<f64>,
    },
    /// Copy a local file to the device over SFTP.
    Put {
        /// Device path.
        path: String,
        /// Local file.
        local: PathBuf,
        /// Remote file.
        remote: String,
    },
    /// The per-run session agent (started by `run` and `config` inside a test; see docs/design.md).
    #[command(hide = true)]
    Agent {
        /// Unix socket to listen on.
        #[arg(long)]
        socket: PathBuf,
    },
    /// Copy a file from the device over SFTP.
    Get {
        /// Device path.
        path: String,
        /// Local file (created or replaced).
        local: PathBuf,
        /// Remote file.
        remote: String,
    },
}

/// Command-line modes.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ModeArg {
    /// Unprivileged.
    User,
    /// Privileged (`enable`).
    Privileged,
    /// Configuration.
    Config,
}

impl From<ModeArg> for Mode {
    fn from(m: ModeArg) -> Mode {
        match m {
            ModeArg::User => Mode::User,
            ModeArg::Privileged => Mode::Privileged,
            ModeArg::Config => Mode::Config,
        }
    }
}

fn mode_name(m: Mode) -> &'static str {
    device_agent::mode_name(m)
}

/// Runs a device subcommand.
pub async fn run(ctx: &Ctx, cmd: DeviceCmd) -> CmdResult {
    match cmd {
        DeviceCmd::Run {
            path,
            command,
            mode,
            timeout,
        } => run_command(ctx, &path, &command.join(" "), mode, timeout).await,
        DeviceCmd::Config { path, timeout } => config(ctx, &path, timeout).await,
        DeviceCmd::Console { path, escape } => console(ctx, &path, &escape).await,
        DeviceCmd::Check { path, timeout } => check(ctx, &path, timeout).await,
        DeviceCmd::Put { path, local, remote } => copy(ctx, &path, &local, &remote, true).await,
        DeviceCmd::Get { path, local, remote } => copy(ctx, &path, &local, &remote, false).await,
        DeviceCmd::Agent { socket } => {
            let idle = std::env::var("TWISTER_DEVICE_AGENT_IDLE")
                .ok()
                .and_then(|s| s.parse::<u64>().ok())
                .unwrap_or(300);
            device_agent::serve(&socket, Duration::from_secs(idle))
                .await
                .map_err(Failure::other)
        }
    }
}

fn device_failure(e: DeviceError) -> Failure {
    match e {
        DeviceError::Client(c) => c.into(),
        other => Failure::usage(other.to_string()),
    }
}

fn session_failure(path: &str, e: twister_device::Error) -> Failure {
    Failure::other(format!("{path}: {e}"))
}

fn timeout_arg(t: Option<f64>) -> Result<Option<Duration>, Failure> {
    match t {
        None => Ok(None),
        Some(s) if s > 0.0 && s < 86_400.0 => Ok(Some(Duration::from_secs_f64(s))),
        Some(s) => Err(Failure::usage(format!("--timeout {s}: seconds, more than 0"))),
    }
}

async fn prepare(ctx: &Ctx, path: &str, timeout: Option<Duration>) -> Result<Device, Failure> {
    let mut d = device::device(&ctx.client, path).await.map_err(device_failure)?;
    if let Some(t) = timeout {
        d.spec.timeout = t;
        if let Some(j) = d.jump.as_mut() {
            j.timeout = t;
        }
    }
    Ok(d)
}

/// The run to log transcripts to, when running inside a test.
fn current_run() -> Option<String> {
    std::env::var("TWISTER_RUN").ok().filter(|r| !r.is_empty())
}

/// An open session and, inside a test, the transcript that goes to the run's logs.
struct Opened {
    session: Session,
    transcript: Option<RunTranscript>,
}

async fn open(d: &Device) -> (Result<Session, twister_device::Error>, Option<RunTranscript>) {
    let (tap, transcript) = match current_run() {
        Some(_) => {
            let (tap, t) = RunTranscript::new(&d.spec.device, d.secrets());
            (Some(tap), Some(t))
        }
        None => (None, None),
    };
    let r = d.spec.open_tapped(d.jump.as_ref(), tap).await;
    (r, transcript)
}

async fn open_or_fail(ctx: &Ctx, d: &Device) -> Result<Opened, Failure> {
    let (r, mut transcript) = open(d).await;
    match r {
        Ok(session) => Ok(Opened { session, transcript }),
        Err(e) => {
            flush(ctx, &mut transcript).await;
            Err(session_failure(&d.spec.device, e))
        }
    }
}

async fn flush(ctx: &Ctx, transcript: &mut Option<RunTranscript>) {
    if let (Some(t), Some(run)) = (transcript.as_mut(), current_run()) {
        if let Err(e) = t.post(&ctx.client, &run, true).await {
            eprintln!("warning: the device transcript did not reach the run's log: {e}");
        }
    }
}

#[derive(Serialize)]
struct RunOutput<'a> {
    device: &'a str,
    command: &'a str,
    ok: bool,
    mode: &'static str,
    prompt: String,
    output: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    /// Whether the run's session agent reused an open session.
    reused: bool,
}

impl RunOutput<'_> {
    fn print(&self, json: bool) {
        if json {
            output::json(self);
        } else if !self.output.is_empty() {
            print!("{}", self.output);
            if !self.output.ends_with('\n') {
                println!();
            }
        }
    }
}

/// `run` or `config` through the run's session agent.
async fn via_agent(
    ctx: &Ctx,
    socket: &std::path::Path,
    path: &str,
    command: Option<&str>,
    config: Option<Vec<String>>,
    mode: Option<ModeArg>,
    timeout: Option<Duration>,
) -> Result<AgentResponse, Failure> {
    let props = device::properties(&ctx.client, path)
        .await
        .map_err(device_failure)?;
    // Bad properties are reported here, as without the agent.
    device::from_properties(&props).map_err(device_failure)?;
    let (device, props, jump_props) = props;
    let req = AgentRequest {
        device,
        props,
        jump_props,
        command: command.map(str::to_string),
        config,
        mode: mode.map(|m| mode_name(m.into()).to_string()),
        timeout_s: timeout.map(|t| t.as_secs_f64()),
    };
    let mut resp = device_agent::ask(socket, &req).await.map_err(Failure::other)?;
    if let Some(run) = current_run() {
        let lines = std::mem::take(&mut resp.transcript);
        if let Err(e) = device::post_lines(&ctx.client, &run, lines).await {
            eprintln!("warning: the device transcript did not reach the run's log: {e}");
        }
    }
    Ok(resp)
}

async fn run_command(
    ctx: &Ctx,
    path: &str,
    command: &str,
    mode: Option<ModeArg>,
    timeout: Option<f64>,
) -> CmdResult {
    let timeout = timeout_arg(timeout)?;
    if let Some(socket) = device_agent::socket_for_current_test() {
        let r = via_agent(ctx, &socket, path, Some(command), None, mode, timeout).await?;
        let doc = RunOutput {
            device: path,
            command,
            ok: r.ok,
            mode: match r.mode.as_str() {
                "privileged" => "privileged",
                "config" => "config",
                _ => "user",
            },
            prompt: r.prompt.clone(),
            output: r.output.clone(),
            error: r.error.clone(),
            reused: r.reused,
        };
        doc.print(ctx.json);
        return match (r.ok, r.error_kind.as_deref()) {
            (true, _) => Ok(()),
            (false, Some("spec")) => Err(Failure::usage(r.error.unwrap_or_default())),
            (false, Some("command")) => Err(Failure::other(format!(
                "{path}: {command:?} failed: {}",
                r.error.unwrap_or_default()
            ))),
            (false, _) => Err(Failure::other(r.error.unwrap_or_default())),
        };
    }
    let d = prepare(ctx, path, timeout).await?;
    let mut o = open_or_fail(ctx, &d).await?;
    let result = async {
        if let Some(m) = mode {
            o.session.set_mode(m.into()).await?;
        }
        o.session.run(command).await
    }
    .await;
    let (output, error, failure) = match result {
        Ok(out) => (out, None, None),
        Err(twister_device::Error::Command { output, message, .. }) => {
            let msg = format!("{}: {command:?} failed: {message}", d.spec.device);
            (output, Some(message), Some(Failure::other(msg)))
        }
        Err(e) => {
            let f = session_failure(&d.spec.device, e);
            (String::new(), Some(f.message.clone()), Some(f))
        }
    };
    let doc = RunOutput {
        device: &d.spec.device,
        command,
        ok: failure.is_none(),
        mode: mode_name(o.session.mode()),
        prompt: o.session.prompt().to_string(),
        output,
        error,
        reused: false,
    };
    doc.print(ctx.json);
    let _ = o.session.close().await;
    flush(ctx, &mut o.transcript).await;
    match failure {
        Some(f) => Err(f),
        None => Ok(()),
    }
}

async fn config(ctx: &Ctx, path: &str, timeout: Option<f64>) -> CmdResult {
    let timeout = timeout_arg(timeout)?;
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| Failure::other(format!("cannot read stdin: {e}")))?;
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty())
        .collect();
    if lines.is_empty() {
        return Err(Failure::usage("no configuration lines on stdin"));
    }
    if let Some(socket) = device_agent::socket_for_current_test() {
        let owned = lines.iter().map(|l| l.to_string()).collect();
        let r = via_agent(ctx, &socket, path, None, Some(owned), None, timeout).await?;
        if ctx.json {
            output::json(&serde_json::json!({
                "device": path, "lines": lines.len(), "ok": r.ok, "output": r.output,
                "failed_line": r.failed_line, "error": r.error, "reused": r.reused,
            }));
        } else if r.ok {
            println!("{path}: applied {} lines", lines.len());
        }
        return match (r.ok, r.error_kind.as_deref()) {
            (true, _) => Ok(()),
            (false, Some("spec")) => Err(Failure::usage(r.error.unwrap_or_default())),
            (false, Some("command")) => Err(Failure::other(format!(
                "{path}: configuration line {:?} rejected: {}",
                r.failed_line.unwrap_or_default(),
                r.error.unwrap_or_default()
            ))),
            (false, _) => Err(Failure::other(r.error.unwrap_or_default())),
        };
    }
    let d = prepare(ctx, path, timeout).await?;
    let mut o = open_or_fail(ctx, &d).await?;
    let r = o.session.config(&lines).await;
    let _ = o.session.close().await;
    flush(ctx, &mut o.transcript).await;
    match r {
        Ok(out) => {
            if ctx.json {
                output::json(&serde_json::json!({
                    "device": d.spec.device, "lines": lines.len(), "ok": true, "output": out,
                }));
            } else {
                println!("{}: applied {} lines", d.spec.device, lines.len());
            }
            Ok(())
        }
        Err(twister_device::Error::Command {
            command,
            message,
            output,
        }) => {
            if ctx.json {
                output::json(&serde_json::json!({
                    "device": d.spec.device, "ok": false, "failed_line": command, "error": message, "output": output,
                }));
            }
            Err(Failure::other(format!(
                "{}: configuration line {command:?} rejected: {message}",
                d.spec.device
            )))
        }
        Err(e) => Err(session_failure(&d.spec.device, e)),
    }
}

/// Parses `^]`, `^X` or a single character into the byte that quits a console.
pub fn escape_byte(s: &str) -> Result<u8, Failure> {
    let b = s.as_bytes();
    match b {
        [b'^', c] if c.is_ascii() => Ok(c.to_ascii_uppercase() ^ 0x40),
        [c] => Ok(*c),
        _ => Err(Failure::usage(format!(
            "--escape {s:?}: one character, or ^ and a character (^] is Ctrl-])"
        ))),
    }
}

/// Puts the terminal on stdin into raw mode until dropped (nothing happens when stdin is not a terminal).
struct RawTerminal {
    saved: Option<libc::termios>,
}

impl RawTerminal {
    fn enter() -> RawTerminal {
        // SAFETY: isatty/tcgetattr/tcsetattr only read or write the termios struct we own, for fd 0.
        unsafe {
            if libc::isatty(0) != 1 {
                return RawTerminal { saved: None };
            }
            let mut t: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(0, &mut t) != 0 {
                return RawTerminal { saved: None };
            }
            let saved = t;
            libc::cfmakeraw(&mut t);
            if libc::tcsetattr(0, libc::TCSANOW, &t) != 0 {
                return RawTerminal { saved: None };
            }
            RawTerminal { saved: Some(saved) }
        }
    }
}

impl Drop for RawTerminal {
    fn drop(&mut self) {
        if let Some(t) = &self.saved {
            // SAFETY: restores the settings read in `enter` on the same fd.
            unsafe {
                libc::tcsetattr(0, libc::TCSANOW, t);
            }
        }
    }
}

async fn console(ctx: &Ctx, path: &str, escape: &str) -> CmdResult {
    let esc = escape_byte(escape)?;
    let d = prepare(ctx, path, None).await?;
    let o = open_or_fail(ctx, &d).await?;
    let prompt = o.session.prompt().to_string();
    let mut transcript = o.transcript;
    let (mut transport, pending) = o.session.into_transport();
    eprintln!("Connected to {} ({escape} quits).\r", d.spec.device);
    let mut stdout = tokio::io::stdout();
    let mut stdin = tokio::io::stdin();
    let _raw = RawTerminal::enter();
    let _ = stdout.write_all(format!("{pending}{prompt}").as_bytes()).await;
    let _ = stdout.flush().await;
    let mut inbuf = vec![0u8; 4096];
    let mut outbuf = vec![0u8; 16 * 1024];
    let mut stdin_open = true;
    let closed_by_device = loop {
        tokio::select! {
            n = stdin.read(&mut inbuf), if stdin_open => {
                let n = n.unwrap_or(0);
                if n == 0 {
                    // No more input (a script): show what the device still says, then leave.
                    stdin_open = false;
                    continue;
                }
                let chunk = &inbuf[..n];
                let (send, quit) = match chunk.iter().position(|b| *b == esc) {
                    Some(i) => (&chunk[..i], true),
                    None => (chunk, false),
                };
                if !send.is_empty() && transport.write_all(send).await.is_err() {
                    break true;
                }
                let _ = transport.flush().await;
                if quit {
                    break false;
                }
            }
            n = transport.read(&mut outbuf) => {
                match n {
                    Ok(0) | Err(_) => break true,
                    Ok(n) => {
                        let _ = stdout.write_all(&outbuf[..n]).await;
                        let _ = stdout.flush().await;
                    }
                }
            }
            _ = tokio::time::sleep(Duration::from_secs(1)), if !stdin_open => break false,
        }
    };
    drop(_raw);
    let _ = transport.shutdown().await;
    flush(ctx, &mut transcript).await;
    eprintln!(
        "\r\n{}: {}",
        d.spec.device,
        if closed_by_device {
            "connection closed by the device"
        } else {
            "disconnected"
        }
    );
    Ok(())
}

#[derive(Debug, Serialize)]
struct Health {
    device: String,
    healthy: bool,
    protocol: String,
    address: String,
    seconds: f64,
    prompt: String,
    reason: String,
}

async fn check_one(ctx_client: twister_client::Client, path: String, timeout: Option<Duration>) -> Health {
    let start = Instant::now();
    let mut h = Health {
        device: path.clone(),
        healthy: false,
        protocol: String::new(),
        address: String::new(),
        seconds: 0.0,
        prompt: String::new(),
        reason: String::new(),
    };
    let d = match device::device(&ctx_client, &path).await {
        Ok(mut d) => {
            if let Some(t) = timeout {
                d.spec.timeout = t;
                if let Some(j) = d.jump.as_mut() {
                    j.timeout = t;
                }
            }
            d
        }
        Err(e) => {
            h.reason = e.to_string();
            return h;
        }
    };
    h.protocol = d.spec.protocol.as_str().to_string();
    h.address = format!("{}:{}", d.spec.host, d.spec.port);
    let (r, mut transcript) = open(&d).await;
    match r {
        Ok(s) => {
            h.healthy = true;
            h.prompt = s.prompt().to_string();
            h.reason = format!("logged in ({} mode)", mode_name(s.mode()));
            let _ = s.close().await;
        }
        Err(e) => h.reason = e.to_string(),
    }
    h.seconds = (start.elapsed().as_secs_f64() * 1000.0).round() / 1000.0;
    if let (Some(t), Some(run)) = (transcript.as_mut(), current_run()) {
        let _ = t.post(&ctx_client, &run, true).await;
    }
    h
}

async fn check(ctx: &Ctx, path: &str, timeout: Option<f64>) -> CmdResult {
    let timeout = timeout_arg(timeout)?;
    let paths = device::devices_under(&ctx.client, path).await?;
    if paths.is_empty() {
        return Err(Failure {
            code: exit::NOT_FOUND,
            message: format!("no devices (nodes with a host property) under {path}"),
        });
    }
    let mut set = tokio::task::JoinSet::new();
    for p in paths {
        set.spawn(check_one(ctx.client.clone(), p, timeout));
    }
    let mut results = Vec::new();
    while let Some(r) = set.join_next().await {
        match r {
            Ok(h) => results.push(h),
            Err(e) => return Err(Failure::other(format!("a check did not finish: {e}"))),
        }
    }
    results.sort_by(|a, b| a.device.cmp(&b.device));
    let unhealthy = results.iter().filter(|h| !h.healthy).count();
    if ctx.json {
        output::json(&results);
    } else {
        let mut t = Table::new(&["DEVICE", "STATUS", "PROTOCOL", "ADDRESS", "SECONDS", "REASON"]);
        for h in &results {
            t.row(vec![
                h.device.clone(),
                if h.healthy { "healthy" } else { "unhealthy" }.into(),
                h.protocol.clone(),
                h.address.clone(),
                format!("{:.2}", h.seconds),
                h.reason.clone(),
            ]);
        }
        t.print("no devices");
    }
    if unhealthy > 0 {
        return Err(Failure::other(format!(
            "{unhealthy} of {} devices unhealthy",
            results.len()
        )));
    }
    Ok(())
}

async fn copy(ctx: &Ctx, path: &str, local: &std::path::Path, remote: &str, put: bool) -> CmdResult {
    let d = prepare(ctx, path, None).await?;
    let sftp = d
        .spec
        .sftp(d.jump.as_ref())
        .await
        .map_err(|e| session_failure(&d.spec.device, e))?;
    let r = if put {
        sftp.put(local, remote).await
    } else {
        sftp.get(remote, local).await
    };
    let _ = sftp.close().await;
    let bytes = r.map_err(|e| session_failure(&d.spec.device, e))?;
    if ctx.json {
        output::json(&serde_json::json!({
            "device": d.spec.device, "direction": if put { "put" } else { "get" },
            "local": local, "remote": remote, "bytes": bytes,
        }));
    } else if put {
        println!("{} -> {}:{remote}: {bytes} bytes", local.display(), d.spec.device);
    } else {
        println!("{}:{remote} -> {}: {bytes} bytes", d.spec.device, local.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_keys() {
        assert_eq!(escape_byte("^]").unwrap(), 0x1d);
        assert_eq!(escape_byte("^c").unwrap(), 0x03);
        assert_eq!(escape_byte("~").unwrap(), b'~');
        assert!(escape_byte("abc").is_err());
    }
}
