//! A long, fast capture keeps memory bounded: a real controller process and a real station sniffer on a veth
//! pair (the other end in a network namespace), trafgen pushing small UDP frames as fast as it can for about
//! 25 s. The controller's and the station's resident memory is sampled throughout; after the warm-up (the
//! controller's ring has turned over ten times) it must stay under a bound computed from the configured ring
//! and queue sizes and must not grow from the middle of the run to its end. Every packet the sniffer took from the kernel is
//! accounted for: stored by the controller or counted as dropped. Needs root and trafgen (skips outside CI).

#![allow(clippy::unwrap_used)]

use std::os::unix::process::CommandExt;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use twister_controller::capture::StoredPacket;
use twister_tests::netns::{is_root, rss_kib, VethNs};
use twister_tests::station::StationProcess;
use twister_tests::{tool_missing, Api, ControllerProcess};

/// How long trafgen sends, seconds (env `SOAK_SECS` for a longer look; the test keeps under a minute).
fn send_time() -> Duration {
    let secs = std::env::var("SOAK_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(25);
    Duration::from_secs(secs)
}
/// The controller's ring for the station's interface (`[capture]` in controller.toml).
const RING_PACKETS: usize = 20_000;
const RING_BYTES: usize = 64 << 20;
/// The station's sniffer settings (`[capture]` in station.toml).
const KERNEL_BUFFER: usize = 8 << 20;
const BATCH_PACKETS: usize = 256;
const QUEUE_BATCHES: usize = 64;
const RING_FILE_BYTES: usize = 4 << 20;
/// Frame size trafgen sends (Ethernet + IPv4 + UDP + 18 bytes of payload).
const FRAME: usize = 60;
const MIB: u64 = 1 << 20;

/// Heap bytes one allocation of `n` bytes takes with glibc malloc: rounded up to 16, plus a 16-byte header
/// (an upper bound of glibc's 8-byte chunk header and 16-byte alignment on x86-64).
fn heap(n: usize) -> u64 {
    (n.div_ceil(16) * 16 + 16) as u64
}

/// Upper bound of the controller's memory for one ring: each stored packet is an `Arc<StoredPacket>` (one
/// allocation of the struct plus two reference counts), its data, its station and interface names (one
/// `String` each), and a slot in the ring's `VecDeque`, whose capacity may be up to twice its length.
fn controller_ring_bound(station: &str, iface: &str) -> u64 {
    let per_packet = heap(std::mem::size_of::<StoredPacket>() + 16)
        + heap(FRAME)
        + heap(station.len())
        + heap(iface.len())
        + 2 * std::mem::size_of::<usize>() as u64;
    let packets = RING_PACKETS.min(RING_BYTES / FRAME) as u64;
    packets * per_packet
}

/// Upper bound of the station's memory for packets in flight: the kernel buffer (memory-mapped, resident once
/// touched); the capture queue (`batch_packets × queue_batches` packets, each a struct and its data); the
/// link queue (`queue_batches` batches of `batch_packets` frames, each a struct and its base64 text); the
/// batch being filled; the pcapng ring writer's buffer.
fn station_bound() -> u64 {
    let queued = (BATCH_PACKETS * QUEUE_BATCHES) as u64;
    let captured = heap(48) + heap(FRAME);
    let frame = heap(48) + heap(FRAME.div_ceil(3) * 4);
    KERNEL_BUFFER as u64 + queued * captured + (queued + BATCH_PACKETS as u64) * frame + 64 * 1024
}

/// A fixed allowance on top of the idle baseline and the buffers above, for what is not per packet: the
/// malloc arenas' top chunks and trim threshold (glibc keeps up to 128 KiB free at each arena's top, and a
/// new arena heap maps 1 MiB at a time), a WebSocket message of one batch and its JSON parse (about 100 KB
/// each, a few in flight), the tokio and HTTP buffers of the API polled during the run, and thread stacks
/// touched deeper under load.
const MARGIN: u64 = 32 * MIB;

/// Growth allowed from the middle of the run to its end: allocator noise, well below what a leak of even
/// a few bytes per packet would add over a million packets.
const GROWTH_SLACK: u64 = 4 * MIB;

struct Sample {
    at: Duration,
    controller_kib: u64,
    station_kib: u64,
    warm: bool,
}

fn trafgen(v: &VethNs) -> Child {
    // 60-byte UDP frames to port 40001, from one CPU, until stopped.
    let frame = "{ 0x02,0,0,0,0,0x0b, 0x02,0,0,0,0,0x0a, c16(0x0800), 0x45,0,c16(46),0,0,0x40,0,64,17,\
                 csumip(14, 33), 10,213,251,1, 10,213,251,2, c16(40000), c16(40001), c16(26), 0,0, fill(0x61, 18) }";
    // Its own process group: trafgen forks a worker per CPU, and the signal must reach that worker too.
    v.command("trafgen")
        .process_group(0)
        .args(["-o", &v.inner, "-P", "1", "--no-sock-mem", "-Q", "-C"])
        .arg(frame)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Stops trafgen and its workers (SIGINT, then SIGKILL after 5 s).
fn stop(sender: &mut Child) {
    let group = -(sender.id() as i32);
    // SAFETY: signalling the process group of our own child.
    unsafe { libc::kill(group, libc::SIGINT) };
    let deadline = Instant::now() + Duration::from_secs(5);
    while sender.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            // SAFETY: as above.
            unsafe { libc::kill(group, libc::SIGKILL) };
            sender.wait().unwrap();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The station's sniffer state from `/capture/stations`.
async fn sniffer(api: &Api, name: &str) -> Value {
    let (s, v) = api.get("/capture/stations").await;
    assert_eq!(s, 200, "{v}");
    v.as_array()
        .and_then(|a| a.iter().find(|s| s["station"] == name).cloned())
        .unwrap_or(Value::Null)
}

fn n(v: &Value) -> u64 {
    v.as_u64().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_stays_bounded_through_a_long_fast_capture() {
    if !is_root() {
        tool_missing("root (network namespaces and the sniffer)");
        return;
    }
    if std::process::Command::new("trafgen").arg("-v").output().is_err() {
        tool_missing("trafgen (netsniff-ng)");
        return;
    }
    let v = VethNs::new();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("controller.toml");
    std::fs::write(
        &config,
        format!("[capture]\nring_packets = {RING_PACKETS}\nring_bytes = {RING_BYTES}\n"),
    )
    .unwrap();
    let data = dir.path().join("data");
    let mut controller =
        ControllerProcess::start_with(&data, "", "127.0.0.1", &["--config", config.to_str().unwrap()]).await;
    let admin = controller.admin().await;
    let station_toml = format!(
        "[capture]\ninterfaces = [\"{}\"]\nfilter = \"udp dst port 40001\"\nbuffer_size = {KERNEL_BUFFER}\n\
         batch_packets = {BATCH_PACKETS}\nqueue_batches = {QUEUE_BATCHES}\nbatch_ms = 20\nring_files = 2\n\
         ring_file_bytes = {RING_FILE_BYTES}\n",
        v.outer
    );
    let station = StationProcess::start_with_config(&admin, "soak1", &["EP-soak"], &station_toml).await;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let s = sniffer(&admin, "soak1").await;
        if s["error"].is_null() && s["filter"] == "udp dst port 40001" {
            break;
        }
        assert!(Instant::now() < deadline, "sniffer not running: {s}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let cpid = controller.pid().unwrap();
    let spid = station.pid().unwrap();
    let base_c = rss_kib(cpid).unwrap() * 1024;
    let base_s = rss_kib(spid).unwrap() * 1024;

    let rx0 = v.outer_stat("rx_packets");
    let start = Instant::now();
    let mut sender = trafgen(&v);
    let mut samples = Vec::new();
    let mut warm_at = None;
    let send = send_time();
    while start.elapsed() < send {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let s = sniffer(&admin, "soak1").await;
        // Warm once the ring has turned over ten times (every slot's memory freed and allocated again, on
        // each worker thread's malloc arena) and the first third of the run is over: before that the
        // allocator is still growing its arenas to their steady size.
        let stored = n(&s["ring_evicted"]) + n(&s["ring_packets"]);
        if warm_at.is_none() && stored >= 10 * RING_PACKETS as u64 && start.elapsed() >= send / 3 {
            warm_at = Some(start.elapsed());
        }
        samples.push(Sample {
            at: start.elapsed(),
            controller_kib: rss_kib(cpid).expect("controller alive"),
            station_kib: rss_kib(spid).expect("station alive"),
            warm: warm_at.is_some(),
        });
    }
    stop(&mut sender);
    let sent = v.outer_stat("rx_packets") - rx0;

    // Wait until the counters settle: everything queued reached the controller or was counted as dropped.
    let mut last = Value::Null;
    let settle = Instant::now() + Duration::from_secs(15);
    let s = loop {
        tokio::time::sleep(Duration::from_millis(1200)).await;
        let s = sniffer(&admin, "soak1").await;
        let key = |s: &Value| {
            (
                n(&s["ring_evicted"]) + n(&s["ring_packets"]),
                s["interfaces"][0]["packets"].clone(),
                s["link_dropped"].clone(),
            )
        };
        if key(&s) == key(&last) {
            break s;
        }
        assert!(Instant::now() < settle, "counters still moving: {s}");
        last = s;
    };
    let iface = &s["interfaces"][0];
    let received = n(&s["ring_evicted"]) + n(&s["ring_packets"]);
    let handed = n(&iface["packets"]);
    let link_dropped = n(&s["link_dropped"]);
    let queue_dropped = n(&iface["local_dropped"]);
    let kernel_dropped = n(&iface["kernel_dropped"]);
    // glibc gives each thread that allocates its own arena and a freed chunk returns to the arena it came
    // from, so a ring whose packets were stored from different tokio workers can hold, at worst, a ring's worth
    // of freed memory in each worker's arena: one ring per worker (the controller runs one per CPU).
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get()) as u64;
    let c_bound = base_c + workers * controller_ring_bound("soak1", &v.outer) + MARGIN;
    let s_bound = base_s + station_bound() + MARGIN;
    let warm: Vec<&Sample> = samples.iter().filter(|x| x.warm).collect();
    let max_c = samples.iter().map(|x| x.controller_kib).max().unwrap_or(0) * 1024;
    let max_s = samples.iter().map(|x| x.station_kib).max().unwrap_or(0) * 1024;
    eprintln!(
        "soak: {sent} frames on the wire in {:.1} s; controller stored {received}, ring {} (warm after {:?}); \
         sniffer read {handed}, link dropped {link_dropped}, queue dropped {queue_dropped}, kernel dropped \
         {kernel_dropped}",
        send.as_secs_f64(),
        n(&s["ring_packets"]),
        warm_at,
    );
    eprintln!(
        "soak: controller RSS {} MiB idle, max {} MiB, bound {} MiB; station RSS {} MiB idle, max {} MiB, bound {} MiB",
        base_c / MIB,
        max_c / MIB,
        c_bound / MIB,
        base_s / MIB,
        max_s / MIB,
        s_bound / MIB
    );
    for x in samples.iter().step_by(4) {
        eprintln!(
            "  {:5.1} s  controller {:4} MiB  station {:4} MiB{}",
            x.at.as_secs_f64(),
            x.controller_kib / 1024,
            x.station_kib / 1024,
            if x.warm { "" } else { "  (warm-up)" }
        );
    }

    // The run was long and fast enough to mean something: the ring wrapped many times over.
    assert!(
        warm.len() >= 20,
        "too few samples after the warm-up ({}; warm at {warm_at:?})",
        warm.len()
    );
    assert!(
        received > 4 * RING_PACKETS as u64,
        "only {received} packets reached the controller"
    );
    // Every packet is accounted for: each one the sniffer read from the kernel was stored by the controller,
    // or counted as dropped at the full capture queue or at the full link queue; each frame on the wire that
    // passed the capture filter was read or counted as dropped by the kernel. The wire also carries the odd
    // frame the filter rejects (ARP), hence the small difference allowed there.
    assert_eq!(received + link_dropped + queue_dropped, handed, "{s}");
    assert_eq!(n(&s["ring_packets"]), RING_PACKETS as u64, "{s}");
    let seen = handed + kernel_dropped;
    assert!(
        seen <= sent && sent - seen <= 16,
        "wire {sent}, sniffer saw {seen}: {s}"
    );
    // Bounded, and flat from the middle to the end.
    for x in &warm {
        assert!(
            x.controller_kib * 1024 <= c_bound,
            "controller {} MiB at {:?} over {} MiB",
            x.controller_kib / 1024,
            x.at,
            c_bound / MIB
        );
        assert!(
            x.station_kib * 1024 <= s_bound,
            "station {} MiB at {:?} over {} MiB",
            x.station_kib / 1024,
            x.at,
            s_bound / MIB
        );
    }
    let (middle, end) = warm.split_at(warm.len() / 2);
    let peak = |xs: &[&Sample], f: fn(&Sample) -> u64| xs.iter().map(|x| f(x)).max().unwrap_or(0) * 1024;
    let (mid_c, end_c) = (
        peak(middle, |x| x.controller_kib),
        peak(end, |x| x.controller_kib),
    );
    let (mid_s, end_s) = (peak(middle, |x| x.station_kib), peak(end, |x| x.station_kib));
    assert!(
        end_c <= mid_c + GROWTH_SLACK,
        "controller grew from {} to {} MiB",
        mid_c / MIB,
        end_c / MIB
    );
    assert!(
        end_s <= mid_s + GROWTH_SLACK,
        "station grew from {} to {} MiB",
        mid_s / MIB,
        end_s / MIB
    );
    drop(station);
    controller.terminate();
}
