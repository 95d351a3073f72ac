//! The runner against real bash and python3 processes.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use twister_proto::link::{FileRef, StationEvent, Stream};
use twister_proto::TestStatus;
use twister_station::config::Token;
use twister_station::files::{sha256_hex, FileCache};
use twister_station::outbox::Outbox;
use twister_station::runner::{Runner, Started};
use twister_station::state::TestKey;

const LIMIT: Duration = Duration::from_secs(20);

fn runner_at(dir: &Path, url: &str) -> Runner {
    let outbox = Outbox::open(dir).unwrap();
    let files = FileCache::new(dir.join("cache"), url, Token::new("test-token"));
    Runner::new(dir.to_path_buf(), files, outbox)
}

fn runner(dir: &Path) -> Runner {
    // Nothing listens on port 9: every file these tests use is in the cache already.
    runner_at(dir, "http://127.0.0.1:9")
}

async fn run_script(r: &Runner, dir: &Path, test: &str, name: &str, body: &str) -> Finished {
    let f = cache_file(dir, name, body);
    let started = r.start(job("r1", test, f)).await;
    assert!(matches!(started, Started::Spawned { .. }), "{started:?}");
    wait_finished(r.outbox(), "r1", test, LIMIT).await
}

#[tokio::test]
async fn exit_codes_give_statuses() {
    let dir = tempfile::tempdir().unwrap();
    let r = runner(dir.path());
    let cases = [
        ("pass", "t.sh", "echo hi\nexit 0\n", TestStatus::Pass, Some(0)),
        ("fail", "t.sh", "exit 1\n", TestStatus::Fail, Some(1)),
        ("skip", "t.sh", "exit 77\n", TestStatus::Skipped, Some(77)),
        ("abort", "t.bash", "exit 78\n", TestStatus::Aborted, Some(78)),
        ("error", "t.sh", "exit 99\n", TestStatus::Error, Some(99)),
        (
            "own-timeout",
            "t.sh",
            "exit 124\n",
            TestStatus::Timeout,
            Some(124),
        ),
        (
            "other",
            "t.py",
            "import sys\nsys.exit(3)\n",
            TestStatus::Fail,
            Some(3),
        ),
        ("py-pass", "t.py", "print('ok')\n", TestStatus::Pass, Some(0)),
    ];
    for (test, name, body, status, code) in cases {
        let f = run_script(&r, dir.path(), test, name, body).await;
        assert_eq!((f.status, f.exit_code), (status, code), "{test}: {f:?}");
    }
    let f = run_script(&r, dir.path(), "sig", "t.sh", "kill -SEGV $$\nsleep 5\n").await;
    assert_eq!(f.status, TestStatus::Error);
    assert_eq!(f.reason.as_deref(), Some("killed by signal 11"));
    assert_eq!(f.exit_code, None);
    assert!(r.running().is_empty());
    assert!(r.outbox().state().running.is_empty());
}

#[tokio::test]
async fn output_is_captured_in_order_with_station_lines() {
    let dir = tempfile::tempdir().unwrap();
    let r = runner(dir.path());
    let body = "for i in $(seq 1 3000); do echo \"line $i\"; done\necho err1 >&2\nsleep 0.2\necho err2 >&2\nprintf 'no newline'\n";
    let f = run_script(&r, dir.path(), "out", "t.sh", body).await;
    assert_eq!(f.status, TestStatus::Pass);
    let events = events_for(r.outbox(), "r1", "out");
    let expected: String = (1..=3000).map(|i| format!("line {i}\n")).collect::<String>() + "no newline";
    assert_eq!(text_of(&events, Stream::Stdout), expected);
    assert_eq!(text_of(&events, Stream::Stderr), "err1\nerr2\n");
    let station = text_of(&events, Stream::Station);
    assert!(station.starts_with("running t.sh with bash ("), "{station}");
    assert!(station.contains("finished: pass in "), "{station}");
    assert!(matches!(events[0], StationEvent::TestStarted { pid, .. } if pid > 0));
    assert!(matches!(events.last(), Some(StationEvent::TestFinished { .. })));
    // Batching: far fewer events than lines.
    assert!(events.len() < 200, "{} events", events.len());

    // Python, with arguments and environment.
    let f = cache_file(
        dir.path(),
        "demo/args.py",
        "import os, sys\nprint(sys.argv[1:], flush=True)\nprint(os.environ['TWISTER_TESTBED'])\nprint(os.getcwd().endswith('work/r1/py'))\n",
    );
    let mut j = job("r1", "py", f);
    j.args = vec!["--count".into(), "3".into()];
    j.env.insert("TWISTER_TESTBED".into(), "/lab1".into());
    r.start(j).await;
    let f = wait_finished(r.outbox(), "r1", "py", LIMIT).await;
    assert_eq!(f.status, TestStatus::Pass, "{f:?}");
    let text = text_of(&events_for(r.outbox(), "r1", "py"), Stream::Stdout);
    assert_eq!(text, "['--count', '3']\n/lab1\nTrue\n");
}

#[tokio::test]
async fn result_file_overrides_the_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let r = runner(dir.path());
    let f = run_script(
        &r,
        dir.path(),
        "rf",
        "t.sh",
        "echo 'skipped no DUT on the bench' > \"$TWISTER_RESULT_FILE\"\nexit 1\n",
    )
    .await;
    assert_eq!(f.status, TestStatus::Skipped);
    assert_eq!(f.reason.as_deref(), Some("no DUT on the bench"));
    assert_eq!(f.exit_code, Some(1));
    let f = run_script(
        &r,
        dir.path(),
        "rf2",
        "t.py",
        "import os\nopen(os.environ['TWISTER_RESULT_FILE'], 'w').write('fail\\n')\n",
    )
    .await;
    assert_eq!((f.status, f.reason), (TestStatus::Fail, None));
    let f = run_script(
        &r,
        dir.path(),
        "rf3",
        "t.sh",
        "echo 'great stuff' > \"$TWISTER_RESULT_FILE\"\n",
    )
    .await;
    assert_eq!(f.status, TestStatus::Pass);
    let station = text_of(&events_for(r.outbox(), "r1", "rf3"), Stream::Station);
    assert!(station.contains("ignored the result file"), "{station}");
}

fn child_pid(events: &[StationEvent]) -> i32 {
    let out = text_of(events, Stream::Stdout);
    out.lines()
        .find_map(|l| l.strip_prefix("child "))
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("no child pid in {out:?}"))
}

async fn wait_for_child(r: &Runner, test: &str) -> i32 {
    let deadline = tokio::time::Instant::now() + LIMIT;
    loop {
        let events = events_for(r.outbox(), "r1", test);
        if text_of(&events, Stream::Stdout).contains("child ") {
            return child_pid(&events);
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no child line: {events:#?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn timeout_kills_the_whole_group() {
    let dir = tempfile::tempdir().unwrap();
    let r = runner(dir.path());
    let f = cache_file(
        dir.path(),
        "t.sh",
        "sleep 1000 &\necho \"child $!\"\nsleep 1000\n",
    );
    let mut j = job("r1", "to", f);
    j.timeout_s = 1;
    r.start(j).await;
    let f = wait_finished(r.outbox(), "r1", "to", LIMIT).await;
    assert_eq!(f.status, TestStatus::Timeout);
    assert_eq!(f.reason.as_deref(), Some("timed out after 1s"));
    assert!(f.duration_ms >= 1000 && f.duration_ms < 5000, "{f:?}");
    let child = child_pid(&events_for(r.outbox(), "r1", "to"));
    assert!(
        wait_gone(child, Duration::from_secs(3)).await,
        "background child {child} survived"
    );

    // A test that ignores SIGTERM gets SIGKILL after the grace period.
    let f = cache_file(
        dir.path(),
        "t.sh",
        "trap '' TERM\nsleep 1000 &\necho \"child $!\"\nwhile true; do sleep 0.1; done\n",
    );
    let mut j = job("r1", "stubborn", f);
    j.timeout_s = 1;
    r.start(j).await;
    let f = wait_finished(r.outbox(), "r1", "stubborn", LIMIT).await;
    assert_eq!(f.status, TestStatus::Timeout);
    assert!(f.duration_ms >= 2900, "{f:?}");
    let events = events_for(r.outbox(), "r1", "stubborn");
    assert!(text_of(&events, Stream::Station).contains("SIGKILL"));
    let child = child_pid(&events);
    assert!(
        wait_gone(child, Duration::from_secs(3)).await,
        "background child {child} survived"
    );
}

#[tokio::test]
async fn stop_kills_and_reports_the_given_status() {
    let dir = tempfile::tempdir().unwrap();
    let r = runner(dir.path());
    let f = cache_file(
        dir.path(),
        "t.sh",
        "sleep 1000 &\necho \"child $!\"\nsleep 1000\n",
    );
    assert!(matches!(
        r.start(job("r1", "st", f.clone())).await,
        Started::Spawned { .. }
    ));
    assert_eq!(r.start(job("r1", "st", f)).await, Started::AlreadyRunning);
    let child = wait_for_child(&r, "st").await;
    assert!(r.stop(&TestKey::new("r1", "st"), TestStatus::Aborted, "stopped by alice"));
    let f = wait_finished(r.outbox(), "r1", "st", LIMIT).await;
    assert_eq!(f.status, TestStatus::Aborted);
    assert_eq!(f.reason.as_deref(), Some("stopped by alice"));
    assert!(wait_gone(child, Duration::from_secs(3)).await);
    assert!(!r.stop(&TestKey::new("r1", "st"), TestStatus::Aborted, "again"));
    assert!(!r.stop(&TestKey::new("r1", "unknown"), TestStatus::Aborted, "x"));
}

#[tokio::test]
async fn stop_all_aborts_running_tests() {
    let dir = tempfile::tempdir().unwrap();
    let r = runner(dir.path());
    let f = cache_file(dir.path(), "t.sh", "sleep 1000\n");
    r.start(job("r1", "a", f.clone())).await;
    r.start(job("r1", "b", f.clone())).await;
    assert_eq!(r.running().len(), 2);
    r.stop_all(Duration::from_secs(10)).await;
    assert!(r.running().is_empty());
    for t in ["a", "b"] {
        let f = wait_finished(r.outbox(), "r1", t, LIMIT).await;
        assert_eq!(
            (f.status, f.reason.as_deref()),
            (TestStatus::Aborted, Some("station stopped"))
        );
    }
    assert!(matches!(r.start(job("r1", "c", f)).await, Started::Failed { .. }));
    assert!(r.outbox().state().running.is_empty());
}

#[tokio::test]
async fn panic_detect_aborts() {
    let dir = tempfile::tempdir().unwrap();
    let r = runner(dir.path());
    let f = cache_file(
        dir.path(),
        "t.py",
        "import time\nprint('booting', flush=True)\nprint('Kernel panic - not syncing: VFS', flush=True)\ntime.sleep(1000)\n",
    );
    let mut j = job("r1", "pd", f);
    j.panic_patterns = vec!["(unclosed".into(), "Kernel panic".into()];
    r.start(j).await;
    let f = wait_finished(r.outbox(), "r1", "pd", LIMIT).await;
    assert_eq!(f.status, TestStatus::Aborted);
    assert_eq!(f.reason.as_deref(), Some("panic detected: Kernel panic"));
    let events = events_for(r.outbox(), "r1", "pd");
    let panic = events.iter().find_map(|e| match e {
        StationEvent::PanicDetected { pattern, line, .. } => Some((pattern.clone(), line.clone())),
        _ => None,
    });
    assert_eq!(
        panic,
        Some((
            "Kernel panic".to_string(),
            "Kernel panic - not syncing: VFS".to_string()
        ))
    );
    assert!(text_of(&events, Stream::Station).contains("ignoring bad panic-detect pattern \"(unclosed\""));
    assert!(text_of(&events, Stream::Stdout).contains("booting\nKernel panic"));
}

#[tokio::test]
async fn missing_interpreter_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let r = runner(dir.path());
    let f = cache_file(dir.path(), "t.sh", "#!/nonexistent/interp\necho hi\n");
    let started = r.start(job("r1", "shebang", f)).await;
    assert!(matches!(started, Started::Failed { .. }), "{started:?}");
    let f = wait_finished(r.outbox(), "r1", "shebang", LIMIT).await;
    assert_eq!(f.status, TestStatus::Error);
    assert_eq!(
        f.reason.as_deref(),
        Some("cannot start: interpreter #!/nonexistent/interp not found")
    );

    let f = cache_file(dir.path(), "t.tcl", "puts hi\n");
    let mut j = job("r1", "tcl", f);
    j.env.insert("PATH".into(), "/nonexistent".into());
    r.start(j).await;
    let f = wait_finished(r.outbox(), "r1", "tcl", LIMIT).await;
    assert_eq!(f.status, TestStatus::Error);
    assert_eq!(
        f.reason.as_deref(),
        Some("cannot start: interpreter tclsh not found on PATH")
    );
    assert!(r.outbox().state().running.is_empty());
}

#[tokio::test]
async fn unsafe_paths_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let r = runner(dir.path());
    let f = cache_file(dir.path(), "t.sh", "exit 0\n");
    let mut j = job("r1", "esc", f.clone());
    j.libraries = vec![cache_file(dir.path(), "../../evil.sh", "x")];
    r.start(j).await;
    let fin = wait_finished(r.outbox(), "r1", "esc", LIMIT).await;
    assert_eq!(fin.status, TestStatus::Error);
    assert!(fin.reason.unwrap().contains("leaves the work directory"));
    r.start(job("../r", "t", f)).await;
    let fin = wait_finished(r.outbox(), "../r", "t", LIMIT).await;
    assert!(fin.reason.unwrap().contains("bad run id"));
}

/// A tiny HTTP server for the files endpoint: serves `files` by hash to requests with the right token.
async fn files_server(files: Vec<(String, Vec<u8>)>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let files = files.clone();
            tokio::spawn(async move {
                let mut req = Vec::new();
                let mut buf = [0u8; 4096];
                while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => req.extend_from_slice(&buf[..n]),
                    }
                }
                let req = String::from_utf8_lossy(&req).to_string();
                let path = req.split_whitespace().nth(1).unwrap_or("").to_string();
                let authed = req
                    .lines()
                    .any(|l| l.eq_ignore_ascii_case("authorization: Bearer test-token"));
                let body = path
                    .strip_prefix("/api/v1/stations/files/")
                    .and_then(|sha| files.iter().find(|(s, _)| s == sha))
                    .map(|(_, b)| b.clone());
                let (status, body) = match (authed, body) {
                    (false, _) => ("401 Unauthorized", b"no".to_vec()),
                    (true, None) => ("404 Not Found", b"unknown".to_vec()),
                    (true, Some(b)) => ("200 OK", b),
                };
                let head = format!(
                    "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = sock.write_all(head.as_bytes()).await;
                let _ = sock.write_all(&body).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn files_are_fetched_verified_and_cached() {
    let test_body = b"import helper.util as u\nprint(u.greet())\n".to_vec();
    let lib_body = b"def greet():\n    return 'hello from lib'\n".to_vec();
    let corrupt_sha = sha256_hex(b"what was announced");
    let files = vec![
        (sha256_hex(&test_body), test_body.clone()),
        (sha256_hex(&lib_body), lib_body.clone()),
        (corrupt_sha.clone(), b"something else".to_vec()),
    ];
    let url = files_server(files).await;
    let dir = tempfile::tempdir().unwrap();
    let r = runner_at(dir.path(), &url);
    let fref = |path: &str, body: &[u8]| FileRef {
        path: path.into(),
        sha256: sha256_hex(body),
        size: body.len() as u64,
    };
    let mut j = job("r1", "fetch", fref("tests/use_lib.py", &test_body));
    j.libraries = vec![fref("helper/__init__.py", b""), fref("helper/util.py", &lib_body)];
    // The empty __init__.py is not served: put it in the cache as a previous run would have.
    cache_file(dir.path(), "helper/__init__.py", "");
    r.start(j.clone()).await;
    let f = wait_finished(r.outbox(), "r1", "fetch", LIMIT).await;
    assert_eq!(
        f.status,
        TestStatus::Pass,
        "{:#?}",
        events_for(r.outbox(), "r1", "fetch")
    );
    assert_eq!(
        text_of(&events_for(r.outbox(), "r1", "fetch"), Stream::Stdout),
        "hello from lib\n"
    );
    assert!(dir.path().join("cache").join(sha256_hex(&lib_body)).is_file());
    assert!(dir.path().join("work/r1/fetch/use_lib.py").is_file());
    assert!(dir.path().join("work/r1/fetch/helper/util.py").is_file());

    // Unknown file, corrupted file.
    let mut j2 = job("r1", "missing", fref("x.py", b"never served"));
    r.start(j2.clone()).await;
    let f = wait_finished(r.outbox(), "r1", "missing", LIMIT).await;
    assert_eq!(f.status, TestStatus::Error);
    assert!(f
        .reason
        .as_deref()
        .unwrap()
        .starts_with("cannot start: cannot fetch x.py: the controller has no file"));
    j2.test = "corrupt".into();
    j2.file = FileRef {
        path: "c.py".into(),
        sha256: corrupt_sha.clone(),
        size: 100,
    };
    r.start(j2).await;
    let f = wait_finished(r.outbox(), "r1", "corrupt", LIMIT).await;
    assert!(
        f.reason.as_deref().unwrap().contains("arrived corrupted"),
        "{f:?}"
    );
    assert!(!dir.path().join("cache").join(&corrupt_sha).exists());

    // A bad token is refused by the server.
    let r2 = {
        let outbox = Outbox::open(&dir.path().join("other")).unwrap();
        let files = FileCache::new(dir.path().join("other/cache"), &url, Token::new("wrong"));
        Runner::new(dir.path().join("other"), files, outbox)
    };
    r2.start(job("r1", "auth", fref("t.py", &test_body))).await;
    let f = wait_finished(r2.outbox(), "r1", "auth", LIMIT).await;
    assert!(f.reason.as_deref().unwrap().contains("401"), "{f:?}");
}
