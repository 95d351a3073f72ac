//! Station load: simulated stations (real WebSocket clients speaking the link protocol) connect to a real
//! controller process, and one run sends a trivial test to each station's EP, several times over. Prints, for
//! 100, 1,000 and 10,000 stations: how many connected, results per second, acknowledgement latency (p50, p99)
//! and the controller's memory, each beside the 100-station reference run.
//!
//! Run: `cargo build --release -p twister-controller && cargo bench -p twister-tests --bench stations`
//! (env `BENCH_STATIONS=100,1000,10000`, `BENCH_TESTS` per station, default 5).

#![allow(clippy::unwrap_used, missing_docs)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use twister_proto::link::{Command, Down, EpInfo, Hello, HostFacts, StationEvent, Up, PROTOCOL_VERSION};
use twister_proto::TestStatus;
use twister_tests::{Api, ControllerProcess};

#[derive(Default)]
struct Stats {
    connected: AtomicU64,
    results: AtomicU64,
    latencies_us: Mutex<Vec<u64>>,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// One simulated station: answers every StartTest at once with started, one output line, and pass.
async fn station(
    url: String,
    token: String,
    name: String,
    stats: Arc<Stats>,
    stop: Arc<tokio::sync::Notify>,
) {
    let ws_url = url.replacen("http", "ws", 1) + "/api/v1/stations/link";
    let mut req = ws_url.into_client_request().unwrap();
    req.headers_mut()
        .insert("Authorization", format!("Bearer {token}").parse().unwrap());
    let (ws, _) = match tokio_tungstenite::connect_async(req).await {
        Ok(x) => x,
        Err(e) => {
            eprintln!("{name}: cannot connect: {e}");
            return;
        }
    };
    let (mut tx, mut rx) = ws.split();
    let hello = Up::Hello(Hello {
        protocol: PROTOCOL_VERSION,
        station: name.clone(),
        version: "bench".into(),
        facts: HostFacts::default(),
        eps: vec![EpInfo {
            name: format!("EP-{name}"),
            enabled: true,
            tags: vec![],
        }],
        last_command_seq: 0,
    });
    tx.send(Message::Text(serde_json::to_string(&hello).unwrap().into()))
        .await
        .unwrap();
    let mut seq = 0u64;
    let mut sent: std::collections::VecDeque<(u64, Instant)> = Default::default();
    let mut beat = tokio::time::interval(Duration::from_secs(4));
    loop {
        tokio::select! {
            _ = stop.notified() => break,
            _ = beat.tick() => {
                let hb = Up::Heartbeat { at_ms: now_ms() };
                if tx.send(Message::Text(serde_json::to_string(&hb).unwrap().into())).await.is_err() { break; }
            }
            m = rx.next() => {
                let Some(Ok(Message::Text(t))) = m else { break };
                let Ok(down) = serde_json::from_str::<Down>(&t) else { continue };
                match down {
                    Down::Welcome { last_event_seq, .. } => {
                        seq = last_event_seq;
                        stats.connected.fetch_add(1, Ordering::Relaxed);
                    }
                    Down::Command { seq: cseq, command: Command::StartTest(job) } => {
                        let at = now_ms();
                        let events = [
                            StationEvent::TestStarted { run: job.run.clone(), test: job.test.clone(), pid: 1, at_ms: at },
                            StationEvent::Output { run: job.run.clone(), test: job.test.clone(),
                                stream: twister_proto::link::Stream::Stdout, at_ms: at, text: "ok\n".into() },
                            StationEvent::TestFinished { run: job.run.clone(), test: job.test.clone(),
                                status: TestStatus::Pass, reason: None, exit_code: Some(0), at_ms: at, duration_ms: 0 },
                        ];
                        let mut frames = vec![Up::Ack { seq: cseq }];
                        for e in events {
                            seq += 1;
                            frames.push(Up::Event { seq, event: e });
                        }
                        let t0 = Instant::now();
                        for f in frames {
                            if tx.send(Message::Text(serde_json::to_string(&f).unwrap().into())).await.is_err() { return; }
                        }
                        sent.push_back((seq, t0));
                    }
                    Down::Command { seq: cseq, .. } => {
                        let _ = tx.send(Message::Text(serde_json::to_string(&Up::Ack { seq: cseq }).unwrap().into())).await;
                    }
                    Down::Ack { seq: acked } => {
                        let mut lat = Vec::new();
                        while sent.front().is_some_and(|(s, _)| *s <= acked) {
                            let (_, t0) = sent.pop_front().unwrap();
                            lat.push(t0.elapsed().as_micros() as u64);
                            stats.results.fetch_add(1, Ordering::Relaxed);
                        }
                        if !lat.is_empty() {
                            stats.latencies_us.lock().unwrap().extend(lat);
                        }
                    }
                    Down::Refused { message, .. } => { eprintln!("{name}: refused: {message}"); break; }
                    Down::Capture(_) => {}
                }
            }
        }
    }
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:")).map(str::to_string))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

struct Figures {
    stations: usize,
    connected: u64,
    results_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
    rss_idle_mib: f64,
    rss_end_mib: f64,
}

async fn measure(n: usize, tests_per_station: usize) -> Figures {
    let dir = tempfile::tempdir().unwrap();
    let tests = dir.path().join("tests");
    std::fs::create_dir_all(&tests).unwrap();
    std::fs::write(tests.join("trivial.sh"), "exit 0\n").unwrap();
    let cfg = dir.path().join("controller.toml");
    std::fs::write(
        &cfg,
        format!(
            "tests_dir = {:?}\n[stations]\nheartbeat_s = 5\nlost_after_s = 120\n",
            tests.display().to_string()
        ),
    )
    .unwrap();
    let ctl = ControllerProcess::start_with(
        &dir.path().join("data"),
        "",
        "127.0.0.1",
        &["--config", cfg.to_str().unwrap()],
    )
    .await;
    let pid = ctl.pid().unwrap();
    let admin = ctl.admin().await;
    let stats = Arc::new(Stats::default());
    let stop = Arc::new(tokio::sync::Notify::new());
    let mut tasks = Vec::new();
    let mut suites = Vec::new();
    // Register in parallel batches.
    let names: Vec<String> = (0..n).map(|i| format!("sim{i}")).collect();
    let tokens: Vec<String> = futures::stream::iter(names.clone())
        .map(|name| {
            let admin: Api = admin.clone();
            async move {
                let (s, b) = admin.post("/stations", json!({ "name": name })).await;
                assert_eq!(s, 201, "{b}");
                b["token"].as_str().unwrap().to_string()
            }
        })
        .buffered(32)
        .collect()
        .await;
    for (name, token) in names.iter().zip(tokens) {
        tasks.push(tokio::spawn(station(
            ctl.url.clone(),
            token,
            name.clone(),
            stats.clone(),
            stop.clone(),
        )));
        suites.push(json!({"name": name, "eps": [format!("EP-{name}")],
            "tests": (0..tests_per_station).map(|i| json!({"file": "trivial.sh", "id": format!("t{i}")})).collect::<Vec<_>>()}));
    }
    let t0 = Instant::now();
    while (stats.connected.load(Ordering::Relaxed) as usize) < n && t0.elapsed() < Duration::from_secs(120) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let connected = stats.connected.load(Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_idle = rss_kib(pid);
    let (s, b) = admin
        .put("/projects/load", json!({"name": "load", "suites": suites}))
        .await;
    assert!(s == 201 || s == 200, "{b}");
    let start = Instant::now();
    let (s, r) = admin.post("/runs", json!({"project": "load"})).await;
    assert_eq!(s, 201, "{r}");
    let run = r["id"].as_str().unwrap().to_string();
    loop {
        let (_, r) = admin.get(&format!("/runs/{run}")).await;
        if r["state"] == "finished" {
            assert_eq!(r["status"], "pass", "{}", r["counts"]);
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let rss_end = rss_kib(pid);
    stop.notify_waiters();
    for t in &tasks {
        t.abort();
    }
    for t in tasks {
        let _ = t.await;
    }
    let mut lat = stats.latencies_us.lock().unwrap().clone();
    lat.sort_unstable();
    Figures {
        stations: n,
        connected,
        results_per_s: (n * tests_per_station) as f64 / elapsed,
        p50_ms: percentile(&lat, 0.5),
        p99_ms: percentile(&lat, 0.99),
        rss_idle_mib: rss_idle as f64 / 1024.0,
        rss_end_mib: rss_end as f64 / 1024.0,
    }
}

fn raise_fd_limit() {
    // SAFETY: getrlimit/setrlimit on this process with a valid struct.
    unsafe {
        let mut l = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) == 0 {
            l.rlim_cur = l.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &l);
        }
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    raise_fd_limit();
    let sizes: Vec<usize> = std::env::var("BENCH_STATIONS")
        .unwrap_or_else(|_| "100,1000,10000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let per: usize = std::env::var("BENCH_TESTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    println!("| stations | connected | results/s | ratio to first | ack p50 ms | ack p99 ms | controller RSS idle MiB | RSS after run MiB |");
    println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    let mut base = None;
    for n in sizes {
        let f = measure(n, per).await;
        let base = *base.get_or_insert(f.results_per_s);
        println!(
            "| {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.1} | {:.1} |",
            f.stations,
            f.connected,
            f.results_per_s,
            f.results_per_s / base,
            f.p50_ms,
            f.p99_ms,
            f.rss_idle_mib,
            f.rss_end_mib
        );
    }
}
