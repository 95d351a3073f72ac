//! Tests left running by a station that died (killed, out of memory, power cut of the station only): found
//! by the `TWISTER_RESULT_FILE` in their environment, which names their work directory, and killed with their
//! process group when the station starts again. Matching on the environment, not on a saved process id, can
//! never hit an unrelated process that reused the id.

use std::path::Path;

use crate::runner::{signal_group, RESULT_FILE};
use crate::state::TestKey;
use crate::workdir;

/// Kills the processes (and their process groups) of the tests `keys` that a previous station left running
/// under `data_dir`; returns the process ids found.
pub fn kill_orphans(data_dir: &Path, keys: &[TestKey]) -> Vec<u32> {
    let wanted: Vec<Vec<u8>> = keys
        .iter()
        .filter_map(|k| workdir::work_dir(data_dir, &k.run, &k.test).ok())
        .map(|w| {
            let mut v = b"TWISTER_RESULT_FILE=".to_vec();
            v.extend_from_slice(w.join(RESULT_FILE).as_os_str().as_encoded_bytes());
            v
        })
        .collect();
    if wanted.is_empty() {
        return Vec::new();
    }
    let me = std::process::id();
    let Ok(proc_dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for entry in proc_dir.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
            continue;
        };
        if !environ
            .split(|&b| b == 0)
            .any(|var| wanted.iter().any(|w| w == var))
        {
            continue;
        }
        if let Some(pgid) = process_group(pid) {
            signal_group(pgid, libc::SIGKILL);
        }
        if let Ok(p) = libc::pid_t::try_from(pid) {
            // SAFETY: kill(2) touches no memory of ours.
            unsafe {
                libc::kill(p, libc::SIGKILL);
            }
        }
        found.push(pid);
    }
    found
}

/// The process group of `pid`, from `/proc/<pid>/stat`.
fn process_group(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // pid (comm) state ppid pgrp …; comm may hold spaces and parentheses, so split after the last ')'.
    let rest = stat.rsplit_once(')')?.1;
    rest.split_whitespace().nth(2)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::CommandExt;

    #[test]
    fn kills_only_the_named_tests() {
        let dir = tempfile::tempdir().unwrap();
        let spawn = |test: &str| {
            let rf = workdir::work_dir(dir.path(), "r", test)
                .unwrap()
                .join(RESULT_FILE);
            let ready = dir.path().join(format!("{test}.ready"));
            let child = std::process::Command::new("bash")
                .args([
                    "-c",
                    "sleep 1000 & echo $! > \"$0.tmp\"; mv \"$0.tmp\" \"$0\"; sleep 1000",
                ])
                .arg(&ready)
                .env("TWISTER_RESULT_FILE", rf)
                .process_group(0)
                .spawn()
                .unwrap();
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
            while !ready.exists() {
                assert!(
                    std::time::Instant::now() < deadline,
                    "test process never got ready"
                );
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            let bg: u32 = std::fs::read_to_string(&ready).unwrap().trim().parse().unwrap();
            (child, bg)
        };
        let (mut orphan, bg) = spawn("t1");
        let (mut other, _) = spawn("t2");
        let found = kill_orphans(dir.path(), &[TestKey::new("r", "t1")]);
        assert!(found.contains(&orphan.id()), "{found:?}");
        // The background sleep dies with its group (it may be gone before the scan reaches it).
        let gone = |pid: u32| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .map(|s| {
                    s.rsplit_once(')')
                        .map(|(_, r)| r.trim_start().starts_with('Z'))
                        .unwrap_or(true)
                })
                .unwrap_or(true)
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !gone(bg) {
            assert!(
                std::time::Instant::now() < deadline,
                "the background sleep survived: {found:?}"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let st = orphan.wait().unwrap();
        assert!(st.code().is_none());
        assert!(other.try_wait().unwrap().is_none(), "another test was hit");
        signal_group(other.id(), libc::SIGKILL);
        other.wait().unwrap();
        assert!(kill_orphans(dir.path(), &[]).is_empty());
    }
}
