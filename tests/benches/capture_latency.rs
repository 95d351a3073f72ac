//! Wire-to-browser latency of live capture: UDP packets leave one end of a veth pair (the other end in a
//! network namespace) at a steady rate, each carrying its sequence number and send time; a real station sniffs
//! that end and sends its batches to a real controller process, which fans them out on the live WebSocket the
//! Packets page uses (`/api/v1/capture/live`). A Rust WebSocket client stands in for the browser and notes when
//! each packet's row arrives. Beside it, on the same veth at the same time, `tcpdump -l` prints the same
//! packets, once with `--immediate-mode` and once with its defaults; the time each line is read is noted.
//! Delay = arrival time − send time, per packet (rows and lines arrive in send order; counts are checked).
//! Prints p50/p99/max per rate; figures go in docs/benchmarks.md. Needs root and tcpdump.
//!
//! Run: `cargo build --release -p twister-controller -p twister-station &&
//! cargo bench -p twister-tests --bench capture_latency` (env `LATENCY_RATES=1000,10000`, `LATENCY_SECS=5`, `LATENCY_BATCH_MS` for the station's batch_ms).

#![allow(clippy::unwrap_used, missing_docs)]

#[path = "../../capture/benches/support/mod.rs"]
mod support;

use std::io::{BufRead, BufReader, Read};
use std::net::UdpSocket;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;
use twister_tests::netns::{is_root, VethNs};
use twister_tests::station::StationProcess;
use twister_tests::ControllerProcess;

const PORT: u16 = 40002;

fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

/// Arrival times (ns since the epoch), in arrival order, of one receiver.
type Arrivals = Arc<Mutex<Vec<u64>>>;

/// tcpdump printing one line per packet; a thread notes when each line is read.
struct Printer {
    child: Child,
    arrivals: Arrivals,
}

impl Printer {
    fn start(iface: &str, immediate: bool) -> Printer {
        let mut cmd = Command::new("tcpdump");
        // A 32 MiB kernel buffer, as the capture bench uses: with the default 2 MiB the printing tcpdump drops
        // packets at 10,000 per second here, and a reference that drops gives no figures.
        cmd.args(["-l", "-n", "-B", "32768", "-i", iface]);
        if immediate {
            cmd.arg("--immediate-mode");
        }
        let mut child = cmd
            .arg(format!("udp dst port {PORT}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut err = child.stderr.take().unwrap();
        support::wait_for_tcpdump(&mut err);
        std::thread::spawn(move || {
            let mut rest = String::new();
            let _ = err.read_to_string(&mut rest);
        });
        let arrivals: Arrivals = Arc::default();
        let out = child.stdout.take().unwrap();
        let a = arrivals.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                let t = now_ns();
                if line.contains(&format!(".{PORT}: UDP")) {
                    a.lock().unwrap().push(t);
                }
            }
        });
        Printer { child, arrivals }
    }
}

impl Drop for Printer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends `count` datagrams at `rate` per second; returns each one's send time. The payload carries the
/// sequence number and the send time (ns), so a capture file of the run can be checked by hand.
fn send(to: &str, rate: u64, count: u64) -> Vec<u64> {
    let sock = UdpSocket::bind("0.0.0.0:0").unwrap();
    let interval = Duration::from_nanos(1_000_000_000 / rate);
    let start = Instant::now();
    let mut sent = Vec::with_capacity(count as usize);
    for seq in 0..count {
        let due = start + interval * seq as u32;
        loop {
            let left = due.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            if left > Duration::from_micros(300) {
                std::thread::sleep(left - Duration::from_micros(200));
            } else {
                std::hint::spin_loop();
            }
        }
        let t = now_ns();
        let mut payload = [0u8; 16];
        payload[..8].copy_from_slice(&seq.to_be_bytes());
        payload[8..].copy_from_slice(&t.to_be_bytes());
        sock.send_to(&payload, (to, PORT)).unwrap();
        sent.push(t);
    }
    sent
}

/// p50, p99 and max of the per-packet delays, in ms; `None` when the receiver did not get every packet.
fn delays(sent: &[u64], arrivals: &[u64]) -> Option<(f64, f64, f64)> {
    if arrivals.len() != sent.len() {
        return None;
    }
    let mut d: Vec<u64> = sent
        .iter()
        .zip(arrivals)
        .map(|(s, a)| a.saturating_sub(*s))
        .collect();
    d.sort_unstable();
    let ms = |ns: u64| ns as f64 / 1e6;
    Some((
        ms(d[d.len() / 2]),
        ms(d[(d.len() * 99 / 100).min(d.len() - 1)]),
        ms(d[d.len() - 1]),
    ))
}

fn show(name: &str, sent: &[u64], arrivals: &[u64], reference: Option<(f64, f64, f64)>) {
    match delays(sent, arrivals) {
        Some((p50, p99, max)) => {
            let ratio = reference
                .map(|(r50, r99, _)| format!("  ({:.0}x / {:.0}x the reference)", p50 / r50, p99 / r99))
                .unwrap_or_default();
            println!("  {name:<42} p50 {p50:8.3} ms  p99 {p99:8.3} ms  max {max:8.3} ms{ratio}");
        }
        None => println!(
            "  {name:<42} got {} of {} packets: no figures",
            arrivals.len(),
            sent.len()
        ),
    }
}

async fn run() {
    let v = VethNs::new();
    let dir = tempfile::tempdir().unwrap();
    let controller = ControllerProcess::start(&dir.path().join("data"), "").await;
    let admin = controller.admin().await;
    // The station's defaults (batch_ms 50, 256 packets a batch) unless `LATENCY_BATCH_MS` says otherwise: the
    // figures are what a user gets.
    let mut toml = format!(
        "[capture]\ninterfaces = [\"{}\"]\nfilter = \"udp dst port {PORT}\"\nring_files = 0\n",
        v.outer
    );
    if let Ok(ms) = std::env::var("LATENCY_BATCH_MS") {
        toml.push_str(&format!("batch_ms = {}\n", ms.parse::<u64>().unwrap()));
        println!("station batch_ms = {ms}");
    }
    let _station = StationProcess::start_with_config(&admin, "lat1", &["EP-lat"], &toml).await;
    for _ in 0..300 {
        let (_, s) = admin.get("/capture/stations").await;
        if s[0]["error"].is_null() && s[0]["filter"] == format!("udp dst port {PORT}") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut ws = admin.websocket("/capture/live?station=lat1").await;
    let browser: Arrivals = Arc::default();
    let b = browser.clone();
    tokio::spawn(async move {
        while let Some(Ok(m)) = ws.next().await {
            let t = now_ns();
            if let Message::Text(text) = m {
                let v: Value = serde_json::from_str(text.as_str()).unwrap();
                if v["kind"] == "packets" {
                    let n = v["packets"].as_array().map_or(0, |a| a.len());
                    b.lock().unwrap().extend(std::iter::repeat_n(t, n));
                } else if v["kind"] != "hello" {
                    eprintln!("live stream: {v}");
                }
            }
        }
    });
    let immediate = Printer::start(&v.outer, true);
    let buffered = Printer::start(&v.outer, false);
    let rates: Vec<u64> = std::env::var("LATENCY_RATES")
        .unwrap_or_else(|_| "1000,10000".into())
        .split(',')
        .filter_map(|r| r.trim().parse().ok())
        .collect();
    let secs: u64 = std::env::var("LATENCY_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    // Warm-up: the first packets pay for lazy set-up along the path.
    let to = v.inner_ip.clone();
    let t = to.clone();
    tokio::task::spawn_blocking(move || send(&t, 100, 50))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    for rate in rates {
        for a in [&browser, &immediate.arrivals, &buffered.arrivals] {
            a.lock().unwrap().clear();
        }
        let t = to.clone();
        let sent = tokio::task::spawn_blocking(move || send(&t, rate, rate * secs))
            .await
            .unwrap();
        // Let the last batches and blocks arrive.
        tokio::time::sleep(Duration::from_secs(3)).await;
        println!("{rate} packets/s for {secs} s ({} packets):", sent.len());
        let reference = delays(&sent, &immediate.arrivals.lock().unwrap());
        show(
            "tcpdump -l --immediate-mode (reference)",
            &sent,
            &immediate.arrivals.lock().unwrap(),
            None,
        );
        show(
            "tcpdump -l (without immediate mode)",
            &sent,
            &buffered.arrivals.lock().unwrap(),
            reference,
        );
        show(
            "station -> controller -> live WebSocket",
            &sent,
            &browser.lock().unwrap(),
            reference,
        );
    }
}

fn main() {
    if !is_root() {
        println!("capture latency: skipped (needs root)");
        return;
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average before: {}", load.trim());
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(run());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average after: {}", load.trim());
}
