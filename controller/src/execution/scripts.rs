//! Scripts the controller runs itself, each in its own process group with a time limit and without a shell:
//! pre- and post-run scripts (their output goes to the run's log) and the scripts of UserScript report fields
//! (their standard output is the field's value).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};

/// How a script ended.
#[derive(Debug, Clone, PartialEq)]
pub struct ScriptOutcome {
    /// Exit code (None: killed or could not start).
    pub code: Option<i32>,
    /// Output lines, stdout and stderr interleaved as they came.
    pub lines: Vec<String>,
    /// Why it failed, in words, when it did.
    pub failure: Option<String>,
}

/// The program and arguments that run `path`: its `#!` line (the file need not be executable), else the
/// interpreter its extension names (`twister_proto::launch`, the stations' rule too), else Bash.
pub fn command_for(path: &Path) -> (String, Vec<String>) {
    let file = path.display().to_string();
    let head = std::fs::read(path).unwrap_or_default();
    if let Some(line) = twister_proto::launch::shebang(&head) {
        let mut parts = line.split_whitespace().map(str::to_string);
        if let Some(prog) = parts.next() {
            let mut args: Vec<String> = parts.collect();
            args.push(file);
            return (prog, args);
        }
    }
    let interp = twister_proto::launch::interpreter_for(path).unwrap_or("bash");
    (interp.into(), vec![file])
}

/// Starts `path` (see [`command_for`]) in `cwd` with `env` added, in a new process group, stdout and stderr
/// piped.
fn spawn(path: &Path, cwd: &Path, env: &BTreeMap<String, String>) -> Result<tokio::process::Child, String> {
    let (prog, args) = command_for(path);
    tokio::process::Command::new(&prog)
        .args(&args)
        .current_dir(cwd)
        .envs(env)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start {prog}: {e}"))
}

/// Kills the process group a script was started in (its children included).
fn kill_group(pid: Option<u32>) {
    if let Some(pid) = pid {
        // SAFETY: kill(2) on the script's own process group, which spawn() created.
        unsafe {
            libc::kill(-(pid as i32), libc::SIGKILL);
        }
    }
}

/// Runs a script with `env`, killing its whole process group after `limit`.
pub async fn run(path: &Path, cwd: &Path, env: &BTreeMap<String, String>, limit: Duration) -> ScriptOutcome {
    let mut child = match spawn(path, cwd, env) {
        Ok(c) => c,
        Err(failure) => {
            return ScriptOutcome {
                code: None,
                lines: Vec::new(),
                failure: Some(failure),
            }
        }
    };
    let pid = child.id();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    if let Some(out) = child.stdout.take() {
        let tx = tx.clone();
        tokio::spawn(async move {
            let mut r = BufReader::new(out).lines();
            while let Ok(Some(l)) = r.next_line().await {
                let _ = tx.send(l);
            }
        });
    }
    if let Some(err) = child.stderr.take() {
        let tx = tx.clone();
        tokio::spawn(async move {
            let mut r = BufReader::new(err).lines();
            while let Ok(Some(l)) = r.next_line().await {
                let _ = tx.send(l);
            }
        });
    }
    drop(tx);
    let waited = tokio::time::timeout(limit, child.wait()).await;
    let (code, failure) = match waited {
        Ok(Ok(st)) => match st.code() {
            Some(0) => (Some(0), None),
            Some(c) => (Some(c), Some(format!("exit code {c}"))),
            None => (None, Some("killed by a signal".to_string())),
        },
        Ok(Err(e)) => (None, Some(format!("cannot wait for it: {e}"))),
        Err(_) => {
            kill_group(pid);
            let _ = child.wait().await;
            (None, Some(format!("timed out after {}s", limit.as_secs())))
        }
    };
    let mut lines = Vec::new();
    while let Some(l) = rx.recv().await {
        lines.push(l);
    }
    ScriptOutcome { code, lines, failure }
}

/// Reads `r` to its end keeping the first `keep` bytes; whether there was more. With `stop`, returns as soon as
/// there is more (the rest is not read).
async fn read_capped<R: AsyncRead + Unpin>(r: Option<R>, keep: usize, stop: bool) -> (Vec<u8>, bool) {
    let mut kept = Vec::new();
    let mut more = false;
    let Some(mut r) = r else {
        return (kept, more);
    };
    let mut buf = [0u8; 8192];
    loop {
        match r.read(&mut buf).await {
            Ok(0) | Err(_) => return (kept, more),
            Ok(n) => {
                let room = keep - kept.len();
                kept.extend_from_slice(&buf[..n.min(room)]);
                if n > room {
                    more = true;
                    if stop {
                        return (kept, more);
                    }
                }
            }
        }
    }
}

/// Runs a script with `env` and returns what it printed on its standard output (at most `max_output` bytes);
/// an error in words when it cannot start, prints more, exits with a failure (the start of its standard error
/// is quoted) or runs past `limit` (its process group is killed).
pub async fn stdout_of(
    path: &Path,
    cwd: &Path,
    env: &BTreeMap<String, String>,
    limit: Duration,
    max_output: usize,
) -> Result<String, String> {
    let mut child = spawn(path, cwd, env)?;
    let pid = child.id();
    let stdout = child.stdout.take();
    // Standard error is drained in the background, so that a chatty script never blocks on it.
    let stderr = tokio::spawn(read_capped(child.stderr.take(), 1024, false));
    let work = async {
        let (out, more) = read_capped(stdout, max_output, true).await;
        if more {
            return Err(format!("printed more than {max_output} bytes"));
        }
        let status = child
            .wait()
            .await
            .map_err(|e| format!("cannot wait for it: {e}"))?;
        Ok((out, status))
    };
    let waited = tokio::time::timeout(limit, work).await;
    let (out, status) = match waited {
        Ok(Ok(done)) => done,
        Ok(Err(e)) => {
            kill_group(pid);
            let _ = child.wait().await;
            return Err(e);
        }
        Err(_) => {
            kill_group(pid);
            let _ = child.wait().await;
            return Err(format!("timed out after {}s", limit.as_secs_f64()));
        }
    };
    if !status.success() {
        // A background child may keep standard error open: wait for it only briefly.
        let err = tokio::time::timeout(Duration::from_millis(200), stderr)
            .await
            .ok()
            .and_then(Result::ok)
            .map(|(e, _)| String::from_utf8_lossy(&e).trim().to_string())
            .unwrap_or_default();
        let how = match status.code() {
            Some(c) => format!("exit code {c}"),
            None => "killed by a signal".to_string(),
        };
        return Err(if err.is_empty() {
            how
        } else {
            format!("{how}: {err}")
        });
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_reports_and_times_out() {
        let dir = tempfile::tempdir().unwrap();
        let ok = dir.path().join("ok.sh");
        std::fs::write(&ok, "echo hello; echo oops >&2; exit 0\n").unwrap();
        let r = run(&ok, dir.path(), &BTreeMap::new(), Duration::from_secs(10)).await;
        assert_eq!(r.code, Some(0));
        assert!(r.lines.contains(&"hello".to_string()) && r.lines.contains(&"oops".to_string()));
        let bad = dir.path().join("bad.py");
        std::fs::write(&bad, "import sys\nsys.exit(3)\n").unwrap();
        let r = run(&bad, dir.path(), &BTreeMap::new(), Duration::from_secs(10)).await;
        assert_eq!(r.failure.as_deref(), Some("exit code 3"));
        let slow = dir.path().join("slow.sh");
        std::fs::write(&slow, "#!/bin/bash\nsleep 30 &\nsleep 30\n").unwrap();
        let t0 = std::time::Instant::now();
        let r = run(&slow, dir.path(), &BTreeMap::new(), Duration::from_millis(500)).await;
        assert!(r.failure.unwrap().contains("timed out"));
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "the group, children included, was killed"
        );
    }

    #[tokio::test]
    async fn stdout_of_is_bounded_and_timed() {
        let dir = tempfile::tempdir().unwrap();
        let env = BTreeMap::from([("WHO".to_string(), "b42".to_string())]);
        let t = Duration::from_secs(10);
        let ok = dir.path().join("ok.sh");
        std::fs::write(&ok, "echo \"  build $WHO \"; echo noise >&2\n").unwrap();
        assert_eq!(
            stdout_of(&ok, dir.path(), &env, t, 100).await.unwrap(),
            "  build b42 \n"
        );
        let bad = dir.path().join("bad.sh");
        std::fs::write(&bad, "echo no build server >&2; exit 4\n").unwrap();
        assert_eq!(
            stdout_of(&bad, dir.path(), &env, t, 100).await.unwrap_err(),
            "exit code 4: no build server"
        );
        let loud = dir.path().join("loud.sh");
        std::fs::write(&loud, "yes\n").unwrap();
        let e = stdout_of(&loud, dir.path(), &env, t, 100).await.unwrap_err();
        assert_eq!(e, "printed more than 100 bytes");
        let slow = dir.path().join("slow.sh");
        std::fs::write(&slow, "echo partial; sleep 30 & sleep 30\n").unwrap();
        let t0 = std::time::Instant::now();
        let e = stdout_of(&slow, dir.path(), &env, Duration::from_millis(300), 100)
            .await
            .unwrap_err();
        assert_eq!(e, "timed out after 0.3s");
        assert!(t0.elapsed() < Duration::from_secs(10));
    }
}
