//! Pre- and post-run scripts: run by the controller itself, in its own process group, with a time limit; their
//! output goes to the run's log.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};

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

/// Runs a script with `env`, killing its whole process group after `limit`.
pub async fn run(path: &Path, cwd: &Path, env: &BTreeMap<String, String>, limit: Duration) -> ScriptOutcome {
    let (prog, args) = command_for(path);
    let mut cmd = tokio::process::Command::new(&prog);
    cmd.args(&args)
        .current_dir(cwd)
        .envs(env)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            return ScriptOutcome {
                code: None,
                lines: Vec::new(),
                failure: Some(format!("cannot start {prog}: {e}")),
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
            if let Some(pid) = pid {
                // SAFETY: kill(2) on the script's own process group, which we created.
                unsafe {
                    libc::kill(-(pid as i32), libc::SIGKILL);
                }
            }
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
}
