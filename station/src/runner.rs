//! Running test processes: fetch the files, lay out the work directory, start the process in its own process
//! group, stream its output, watch for panics and the time limit, stop it on command, and report how it
//! ended. Several tests run at once; one per (run, test).

use std::collections::HashMap;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use regex::Regex;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use twister_proto::link::{StationEvent, Stream, TestJob};
use twister_proto::{ExitCode, TestStatus};

use crate::files::FileCache;
use crate::interpreter::{self, Launch};
use crate::outbox::Outbox;
use crate::output::{Batch, LineSplitter};
use crate::result_file;
use crate::state::TestKey;
use crate::time::now_ms;
use crate::workdir;

/// Time between SIGTERM and SIGKILL when a test is killed.
pub const KILL_GRACE: Duration = Duration::from_secs(2);
/// Output is sent at least this often.
pub const FLUSH_EVERY: Duration = Duration::from_millis(100);
/// How long output is still read after the test exited (a process outside its group may hold the pipe).
pub const DRAIN_LIMIT: Duration = Duration::from_secs(2);
/// Name of the result file in the work directory (`$TWISTER_RESULT_FILE`).
pub const RESULT_FILE: &str = ".twister-result";
/// Reason reported for tests killed because the station stops.
pub const STOPPED_REASON: &str = "station stopped";

/// A request to end a running test and report it with this status and reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stop {
    /// Status to report.
    pub status: TestStatus,
    /// Why.
    pub reason: String,
}

/// What [`Runner::start`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Started {
    /// The process runs.
    Spawned {
        /// Its process id (and process group id).
        pid: u32,
    },
    /// The same (run, test) already runs; nothing was started.
    AlreadyRunning,
    /// It could not start; its `TestFinished` (error) is spooled.
    Failed {
        /// Why.
        reason: String,
    },
}

struct Handle {
    stop: mpsc::UnboundedSender<Stop>,
}

struct Inner {
    data_dir: PathBuf,
    files: FileCache,
    outbox: Outbox,
    running: Mutex<HashMap<TestKey, Handle>>,
    stopping: watch::Sender<bool>,
    /// Variables every test gets from the station itself (e.g. `TWISTER_CA_FILE`).
    station_env: Vec<(String, std::ffi::OsString)>,
}

/// Starts and tracks test processes. Cheap to clone.
#[derive(Clone)]
pub struct Runner {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Runner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runner")
            .field("data_dir", &self.inner.data_dir)
            .field("running", &self.running())
            .finish()
    }
}

/// Sends `sig` to the process group `pgid`; true when some process received it.
pub fn signal_group(pgid: u32, sig: libc::c_int) -> bool {
    let Ok(pgid) = libc::pid_t::try_from(pgid) else {
        return false;
    };
    if pgid <= 1 {
        return false;
    }
    // SAFETY: kill(2) with a negative pid signals a process group; it touches no memory of ours.
    unsafe { libc::kill(-pgid, sig) == 0 }
}

/// Events of one test, pushed to the outbox (failures are logged: the spool is the only place events go).
struct Emitter {
    outbox: Outbox,
    key: TestKey,
}

impl Emitter {
    fn push(&self, event: StationEvent) {
        if let Err(e) = self.outbox.push(event) {
            tracing::error!(test = %self.key, error = %e, "cannot spool an event");
        }
    }

    fn output(&self, stream: Stream, text: String) {
        self.push(StationEvent::Output {
            run: self.key.run.clone(),
            test: self.key.test.clone(),
            stream,
            at_ms: now_ms(),
            text,
        });
    }

    fn station(&self, text: impl Into<String>) {
        let mut text = text.into();
        text.push('\n');
        self.output(Stream::Station, text);
    }

    fn finished(
        &self,
        status: TestStatus,
        reason: Option<String>,
        exit_code: Option<i32>,
        duration: Duration,
    ) {
        let event = StationEvent::TestFinished {
            run: self.key.run.clone(),
            test: self.key.test.clone(),
            status,
            reason,
            exit_code,
            at_ms: now_ms(),
            duration_ms: u64::try_from(duration.as_millis()).unwrap_or(u64::MAX),
        };
        if let Err(e) = self.outbox.finish(&self.key, event) {
            tracing::error!(test = %self.key, error = %e, "cannot spool the end of a test");
        }
    }
}

struct Prepared {
    child: Child,
    launch: Launch,
    work_dir: PathBuf,
}

impl Runner {
    /// A runner keeping work directories under `data_dir/work`, files from `files`, events to `outbox`.
    pub fn new(data_dir: PathBuf, files: FileCache, outbox: Outbox) -> Runner {
        Runner::with_env(data_dir, files, outbox, Vec::new())
    }

    /// Like [`Runner::new`], giving every test the variables `station_env` on top of the controller's.
    pub fn with_env(
        data_dir: PathBuf,
        files: FileCache,
        outbox: Outbox,
        station_env: Vec<(String, std::ffi::OsString)>,
    ) -> Runner {
        // Paths handed to tests (the program, TWISTER_RESULT_FILE) must not depend on their working directory.
        let data_dir = std::path::absolute(&data_dir).unwrap_or(data_dir);
        Runner {
            inner: Arc::new(Inner {
                data_dir,
                files,
                outbox,
                running: Mutex::new(HashMap::new()),
                stopping: watch::channel(false).0,
                station_env,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<TestKey, Handle>> {
        self.inner.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The outbox events go to.
    pub fn outbox(&self) -> &Outbox {
        &self.inner.outbox
    }

    /// Tests running now.
    pub fn running(&self) -> Vec<TestKey> {
        let mut v: Vec<TestKey> = self.lock().keys().cloned().collect();
        v.sort();
        v
    }

    /// Starts a test; returns once its process is spawned or its failure to start is spooled.
    pub async fn start(&self, job: TestJob) -> Started {
        let key = TestKey::new(&job.run, &job.test);
        let emit = Emitter {
            outbox: self.inner.outbox.clone(),
            key: key.clone(),
        };
        if self.lock().contains_key(&key) {
            emit.station("start received while this test runs; ignored");
            return Started::AlreadyRunning;
        }
        if let Err(e) = self.inner.outbox.begin(&key) {
            tracing::error!(test = %key, error = %e, "cannot record a starting test");
        }
        let fail = |reason: String| {
            emit.station(format!("cannot start: {reason}"));
            emit.finished(
                TestStatus::Error,
                Some(format!("cannot start: {reason}")),
                None,
                Duration::ZERO,
            );
            Started::Failed { reason }
        };
        let mut stopping = self.inner.stopping.subscribe();
        if *stopping.borrow_and_update() {
            emit.finished(
                TestStatus::Aborted,
                Some(STOPPED_REASON.into()),
                None,
                Duration::ZERO,
            );
            return Started::Failed {
                reason: STOPPED_REASON.into(),
            };
        }
        let prepared = tokio::select! {
            p = self.prepare(&job) => p,
            _ = stopping.changed() => {
                emit.finished(TestStatus::Aborted, Some(STOPPED_REASON.into()), None, Duration::ZERO);
                return Started::Failed { reason: STOPPED_REASON.into() };
            }
        };
        let Prepared {
            child,
            launch,
            work_dir,
        } = match prepared {
            Ok(p) => p,
            Err(reason) => return fail(reason),
        };
        let started_at = Instant::now();
        let pid = child.id().unwrap_or(0);
        emit.push(StationEvent::TestStarted {
            run: key.run.clone(),
            test: key.test.clone(),
            pid,
            at_ms: now_ms(),
        });
        emit.station(format!(
            "running {} with {} (pid {pid}) in {}",
            job.file.path,
            launch.describe(),
            work_dir.display()
        ));
        let mut patterns = Vec::new();
        for p in &job.panic_patterns {
            match Regex::new(p) {
                Ok(re) => patterns.push((p.clone(), re)),
                Err(e) => emit.station(format!("ignoring bad panic-detect pattern {p:?}: {e}")),
            }
        }
        let (stop_tx, stop_rx) = mpsc::unbounded_channel();
        self.lock().insert(key.clone(), Handle { stop: stop_tx });
        let supervisor = Supervisor {
            emit,
            pid,
            patterns,
            timeout_s: job.timeout_s,
            work_dir,
            started_at,
        };
        let runner = self.clone();
        tokio::spawn(async move {
            supervisor.run(child, stop_rx).await;
            runner.lock().remove(&key);
        });
        Started::Spawned { pid }
    }

    async fn prepare(&self, job: &TestJob) -> Result<Prepared, String> {
        let work_dir = workdir::work_dir(&self.inner.data_dir, &job.run, &job.test)?;
        let name = workdir::file_name(&job.file.path)?;
        let test_path = work_dir.join(&name);
        let mut copies = Vec::new();
        for lib in &job.libraries {
            copies.push((lib, workdir::confine(&work_dir, &lib.path)?));
        }
        copies.push((&job.file, test_path.clone()));
        let mut cached = Vec::new();
        for (f, dest) in &copies {
            let src = self
                .inner
                .files
                .get(f)
                .await
                .map_err(|e| format!("cannot fetch {}: {e}", f.path))?;
            cached.push((src, dest.clone()));
        }
        let io = |what: &str, p: &Path, e: std::io::Error| format!("{what} {}: {e}", p.display());
        if tokio::fs::metadata(&work_dir).await.is_ok() {
            tokio::fs::remove_dir_all(&work_dir)
                .await
                .map_err(|e| io("cannot clear", &work_dir, e))?;
        }
        tokio::fs::create_dir_all(&work_dir)
            .await
            .map_err(|e| io("cannot create", &work_dir, e))?;
        for (src, dest) in &cached {
            if let Some(parent) = dest.parent() {
                tokio::fs::create_dir_all(parent)
                    .await
                    .map_err(|e| io("cannot create", parent, e))?;
            }
            tokio::fs::copy(src, dest)
                .await
                .map_err(|e| io("cannot copy to", dest, e))?;
        }
        {
            use std::os::unix::fs::PermissionsExt;
            tokio::fs::set_permissions(&test_path, std::fs::Permissions::from_mode(0o755))
                .await
                .map_err(|e| io("cannot make executable", &test_path, e))?;
        }
        let head = read_head(&test_path).await;
        let path_var = job
            .env
            .get("PATH")
            .map(std::ffi::OsString::from)
            .or_else(|| std::env::var_os("PATH"));
        let launch = interpreter::choose(&test_path, &head, path_var.as_deref())?;
        let mut cmd = match &launch {
            Launch::Interpreter { path, .. } => {
                let mut c = Command::new(path);
                c.arg(&test_path);
                c
            }
            Launch::Shebang { .. } | Launch::Direct => Command::new(&test_path),
        };
        cmd.args(&job.args)
            .current_dir(&work_dir)
            .envs(&job.env)
            .envs(self.inner.station_env.iter().map(|(k, v)| (k, v)))
            .env("TWISTER_RESULT_FILE", work_dir.join(RESULT_FILE))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(false);
        let mut attempts = 0;
        let child = loop {
            match cmd.spawn() {
                Ok(c) => break c,
                // A file just written may still be open in a child forked meanwhile by another thread.
                Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) && attempts < 20 => {
                    attempts += 1;
                    tokio::time::sleep(Duration::from_millis(25)).await;
                }
                Err(e) => {
                    return Err(match (&launch, e.kind()) {
                        (Launch::Shebang { line }, std::io::ErrorKind::NotFound) => {
                            format!("interpreter #!{line} not found")
                        }
                        _ => format!("{}: {e}", launch.describe()),
                    })
                }
            }
        };
        Ok(Prepared {
            child,
            launch,
            work_dir,
        })
    }

    /// Asks a running test to stop (its process group is killed) and to report `status` and `reason`. False
    /// when the test is not running (unknown or already finished): then there is nothing to do.
    pub fn stop(&self, key: &TestKey, status: TestStatus, reason: impl Into<String>) -> bool {
        match self.lock().get(key) {
            Some(h) => h
                .stop
                .send(Stop {
                    status,
                    reason: reason.into(),
                })
                .is_ok(),
            None => false,
        }
    }

    /// Refuses new tests, stops every running one with status aborted, reason [`STOPPED_REASON`], and waits
    /// (at most `wait`) until each has reported its end.
    pub async fn stop_all(&self, wait: Duration) {
        self.inner.stopping.send_replace(true);
        for key in self.running() {
            self.stop(&key, TestStatus::Aborted, STOPPED_REASON);
        }
        let deadline = Instant::now() + wait;
        while !self.lock().is_empty() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn read_head(path: &Path) -> Vec<u8> {
    let mut buf = vec![0u8; 512];
    let Ok(mut f) = tokio::fs::File::open(path).await else {
        return Vec::new();
    };
    let n = f.read(&mut buf).await.unwrap_or(0);
    buf.truncate(n);
    buf
}

async fn read_some<R: AsyncRead + Unpin>(r: &mut Option<R>, buf: &mut [u8]) -> std::io::Result<usize> {
    match r {
        Some(r) => r.read(buf).await,
        None => std::future::pending().await,
    }
}

async fn sleep_until_opt(t: Option<Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

/// Watches one test process to its end.
struct Supervisor {
    emit: Emitter,
    pid: u32,
    patterns: Vec<(String, Regex)>,
    timeout_s: u64,
    work_dir: PathBuf,
    started_at: Instant,
}

/// Output state of one stream.
struct Pump {
    stream: Stream,
    lines: LineSplitter,
    batch: Batch,
}

impl Supervisor {
    async fn run(mut self, mut child: Child, mut stop_rx: mpsc::UnboundedReceiver<Stop>) {
        let mut stdout = child.stdout.take();
        let mut stderr = child.stderr.take();
        let mut pumps = [Stream::Stdout, Stream::Stderr].map(|stream| Pump {
            stream,
            lines: LineSplitter::default(),
            batch: Batch::default(),
        });
        let (mut buf_out, mut buf_err) = (vec![0u8; 16 * 1024], vec![0u8; 16 * 1024]);
        let deadline = (self.timeout_s > 0).then(|| self.started_at + Duration::from_secs(self.timeout_s));
        let mut verdict: Option<Stop> = None;
        let mut exit: Option<std::io::Result<ExitStatus>> = None;
        let mut kill_at: Option<Instant> = None;
        let mut drain_until: Option<Instant> = None;
        let mut ticker = tokio::time::interval(FLUSH_EVERY);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);

        loop {
            if exit.is_some() && stdout.is_none() && stderr.is_none() {
                break;
            }
            tokio::select! {
                r = read_some(&mut stdout, &mut buf_out) => {
                    let n = r.unwrap_or(0);
                    if n == 0 {
                        stdout = None;
                        self.end_of_stream(&mut pumps[0], &mut verdict, exit.is_some(), &mut kill_at);
                    } else {
                        self.feed(&mut pumps[0], &buf_out[..n], &mut verdict, exit.is_some(), &mut kill_at);
                    }
                }
                r = read_some(&mut stderr, &mut buf_err) => {
                    let n = r.unwrap_or(0);
                    if n == 0 {
                        stderr = None;
                        self.end_of_stream(&mut pumps[1], &mut verdict, exit.is_some(), &mut kill_at);
                    } else {
                        self.feed(&mut pumps[1], &buf_err[..n], &mut verdict, exit.is_some(), &mut kill_at);
                    }
                }
                st = child.wait(), if exit.is_none() => {
                    exit = Some(st);
                    kill_at = None;
                    drain_until = Some(Instant::now() + DRAIN_LIMIT);
                    // Whatever the test left behind in its group goes with it (and closes the pipes).
                    if signal_group(self.pid, 0) {
                        signal_group(self.pid, libc::SIGKILL);
                        self.flush(&mut pumps);
                        self.emit.station("killed processes the test left running in its process group");
                    }
                }
                _ = sleep_until_opt(deadline), if verdict.is_none() && exit.is_none() => {
                    let reason = format!("timed out after {}s", self.timeout_s);
                    self.flush(&mut pumps);
                    self.emit.station(format!("{reason}; killing the test's process group"));
                    self.kill(&mut verdict, &mut kill_at, Stop { status: TestStatus::Timeout, reason });
                }
                _ = sleep_until_opt(kill_at), if exit.is_none() => {
                    kill_at = None;
                    self.flush(&mut pumps);
                    self.emit.station(format!("still running {}s after SIGTERM; sending SIGKILL", KILL_GRACE.as_secs()));
                    signal_group(self.pid, libc::SIGKILL);
                }
                Some(stop) = stop_rx.recv(), if verdict.is_none() && exit.is_none() => {
                    self.flush(&mut pumps);
                    self.emit.station(format!("stopping: {}; killing the test's process group", stop.reason));
                    self.kill(&mut verdict, &mut kill_at, stop);
                }
                _ = sleep_until_opt(drain_until), if stdout.is_some() || stderr.is_some() => {
                    stdout = None;
                    stderr = None;
                    for i in 0..2 {
                        self.end_of_stream_at(&mut pumps, i, &mut verdict, &mut kill_at);
                    }
                    self.emit.station("output still open after the test ended; stopped reading it");
                }
                _ = ticker.tick() => self.flush(&mut pumps),
            }
        }
        self.flush(&mut pumps);
        self.report(exit, verdict);
    }

    fn end_of_stream_at(
        &mut self,
        pumps: &mut [Pump; 2],
        i: usize,
        verdict: &mut Option<Stop>,
        kill_at: &mut Option<Instant>,
    ) {
        self.end_of_stream(&mut pumps[i], verdict, true, kill_at);
    }

    fn kill(&mut self, verdict: &mut Option<Stop>, kill_at: &mut Option<Instant>, stop: Stop) {
        *verdict = Some(stop);
        signal_group(self.pid, libc::SIGTERM);
        *kill_at = Some(Instant::now() + KILL_GRACE);
    }

    fn flush(&self, pumps: &mut [Pump; 2]) {
        for p in pumps.iter_mut() {
            if let Some(text) = p.batch.take() {
                self.emit.output(p.stream, text);
            }
        }
    }

    fn feed(
        &mut self,
        pump: &mut Pump,
        bytes: &[u8],
        verdict: &mut Option<Stop>,
        exited: bool,
        kill_at: &mut Option<Instant>,
    ) {
        for line in pump.lines.push(bytes) {
            self.line(pump, line, verdict, exited, kill_at);
        }
    }

    fn end_of_stream(
        &mut self,
        pump: &mut Pump,
        verdict: &mut Option<Stop>,
        exited: bool,
        kill_at: &mut Option<Instant>,
    ) {
        if let Some(tail) = pump.lines.finish() {
            self.line(pump, tail, verdict, exited, kill_at);
        }
        if let Some(text) = pump.batch.take() {
            self.emit.output(pump.stream, text);
        }
    }

    fn line(
        &mut self,
        pump: &mut Pump,
        line: String,
        verdict: &mut Option<Stop>,
        exited: bool,
        kill_at: &mut Option<Instant>,
    ) {
        let hit = if verdict.is_none() {
            let text = line.trim_end_matches(['\n', '\r']);
            self.patterns
                .iter()
                .find(|(_, re)| re.is_match(text))
                .map(|(p, _)| (p.clone(), text.to_string()))
        } else {
            None
        };
        if let Some(full) = pump.batch.add(&line) {
            self.emit.output(pump.stream, full);
        }
        if let Some((pattern, text)) = hit {
            if let Some(rest) = pump.batch.take() {
                self.emit.output(pump.stream, rest);
            }
            self.emit.push(StationEvent::PanicDetected {
                run: self.emit.key.run.clone(),
                test: self.emit.key.test.clone(),
                pattern: pattern.clone(),
                line: text,
            });
            let stop = Stop {
                status: TestStatus::Aborted,
                reason: format!("panic detected: {pattern}"),
            };
            if exited {
                *verdict = Some(stop);
            } else {
                self.emit.station(format!(
                    "panic detected ({pattern}); killing the test's process group"
                ));
                self.kill(verdict, kill_at, stop);
            }
        }
    }

    fn report(&self, exit: Option<std::io::Result<ExitStatus>>, verdict: Option<Stop>) {
        let duration = self.started_at.elapsed();
        let (code, signal, lost) = match &exit {
            Some(Ok(st)) => (st.code(), st.signal(), None),
            Some(Err(e)) => (None, None, Some(e.to_string())),
            None => (None, None, Some("no exit status".to_string())),
        };
        let (status, reason) = if let Some(v) = verdict {
            (v.status, Some(v.reason))
        } else if let Some(e) = lost {
            (TestStatus::Error, Some(format!("lost the test process: {e}")))
        } else {
            let (mut status, mut reason) = match (code, signal) {
                (_, Some(sig)) => (TestStatus::Error, Some(format!("killed by signal {sig}"))),
                (Some(0), _) => (TestStatus::Pass, None),
                (c, _) => (ExitCode::status(c), c.map(|c| format!("exit code {c}"))),
            };
            let path = self.work_dir.join(RESULT_FILE);
            if let Ok(text) = std::fs::read_to_string(&path) {
                match result_file::parse(&text) {
                    Ok(Some((s, r))) => {
                        status = s;
                        reason = r;
                    }
                    Ok(None) => {}
                    Err(msg) => self.emit.station(format!("ignored the result file: {msg}")),
                }
            }
            (status, reason)
        };
        let why = reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default();
        self.emit.station(format!(
            "finished: {status}{why} in {:.1}s",
            duration.as_secs_f64()
        ));
        self.emit.finished(status, reason, code, duration);
    }
}
