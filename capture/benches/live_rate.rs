//! Live capture rate on one veth pair, side by side with `tcpdump -w /dev/null`, both capturing the same
//! trafgen burst at once; then the decoder and display-filter cost per packet. Needs root, trafgen
//! (netsniff-ng) and tcpdump; prints a table (figures go in docs/benchmarks.md).
//!
//! `cargo bench -p twister-capture --bench live_rate` (env `PACKETS`, default 2000000).

#![allow(clippy::unwrap_used, missing_docs)]

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use twister_capture::{dissect, CaptureSource, DisplayFilter, InterfaceConfig};

const TX: &str = "twbench0";
const RX: &str = "twbench1";

fn sh(args: &[&str]) {
    let st = Command::new(args[0]).args(&args[1..]).status().unwrap();
    assert!(st.success(), "{args:?}");
}

fn cpu_of_self() -> Duration {
    // SAFETY: getrusage fills the struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let tv =
        |t: libc::timeval| Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

fn cpu_of_pid(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 (utime, stime) are at 11 and 12 after the command name.
    let ticks: u64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0)
        + f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Duration::from_nanos(ticks * 1_000_000_000 / hz)
}

fn live(packets: u64) {
    let _ = Command::new("ip")
        .args(["link", "del", TX])
        .stderr(Stdio::null())
        .status();
    sh(&["ip", "link", "add", TX, "type", "veth", "peer", "name", RX]);
    for d in [TX, RX] {
        let _ = std::fs::write(format!("/proc/sys/net/ipv6/conf/{d}/disable_ipv6"), "1");
        sh(&["ip", "link", "set", d, "up"]);
    }
    let mut cfg = InterfaceConfig::new(RX);
    cfg.buffer_size = 64 << 20;
    cfg.snaplen = 262_144;
    let mut source = CaptureSource::start(vec![cfg], 1 << 20).unwrap();
    let mut tcpdump = Command::new("tcpdump")
        .args(["-i", RX, "-w", "/dev/null", "-B", "32768", "-n"])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut err = tcpdump.stderr.take().unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 256];
    while !String::from_utf8_lossy(&seen).contains("listening on") {
        let n = err.read(&mut buf).unwrap();
        assert!(n > 0);
        seen.extend_from_slice(&buf[..n]);
    }
    let cpu0 = cpu_of_self();
    let td_cpu0 = cpu_of_pid(tcpdump.id());
    let start = Instant::now();
    // 60-byte UDP frames, as fast as trafgen sends them from one CPU.
    let frame = "{ 0x02,0,0,0,0,0x0b, 0x02,0,0,0,0,0x0a, c16(0x0800), 0x45,0,c16(46),0,0,0x40,0,64,17,\
                 csumip(14, 33), 10,213,250,1, 10,213,250,2, c16(40000), c16(40001), c16(26), 0,0, fill(0x61, 18) }";
    let mut trafgen = Command::new("trafgen")
        .args([
            "-o",
            TX,
            "-n",
            &packets.to_string(),
            "-P",
            "1",
            "--no-sock-mem",
            "-Q",
            "-C",
        ])
        .arg(frame)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // This thread counts what reaches the queue's consumer: the whole path a station uses.
    let mut n = 0u64;
    let mut send_time = None;
    let mut quiet_since = None;
    loop {
        while source.try_recv().is_some() {
            n += 1;
        }
        if send_time.is_none() {
            if let Some(st) = trafgen.try_wait().unwrap() {
                assert!(st.success(), "trafgen failed");
                send_time = Some(start.elapsed());
                quiet_since = Some(Instant::now());
            }
        }
        if quiet_since.is_some_and(|q| q.elapsed() > Duration::from_millis(1500)) {
            break;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    let _ = trafgen.wait();
    let reader = send_time.unwrap_or_default();
    let cpu = cpu_of_self() - cpu0;
    let td_cpu = cpu_of_pid(tcpdump.id()) - td_cpu0;
    source.stop();
    let st = &source.stats()[0];
    // SAFETY: signalling our own child.
    unsafe { libc::kill(tcpdump.id() as i32, libc::SIGINT) };
    let mut rest = String::new();
    let _ = err.read_to_string(&mut rest);
    let _ = tcpdump.wait();
    let td_captured = rest
        .lines()
        .find(|l| l.contains("packets captured"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or(0);
    let td_dropped = rest
        .lines()
        .find(|l| l.contains("dropped by kernel"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or(0);
    let _ = Command::new("ip").args(["link", "del", TX]).status();
    let pps = packets as f64 / reader.as_secs_f64();
    println!(
        "sent {packets} x 60 B in {:.2} s = {:.0} pps (trafgen, 1 CPU)",
        reader.as_secs_f64(),
        pps
    );
    println!(
        "twister-capture: {n} received, kernel dropped {}, queue dropped {}, CPU {:.2} s = {:.0} ns/packet",
        st.kernel_dropped,
        st.local_dropped,
        cpu.as_secs_f64(),
        cpu.as_nanos() as f64 / n.max(1) as f64
    );
    println!(
        "tcpdump -w /dev/null: {td_captured} captured, kernel dropped {td_dropped}, CPU {:.2} s = {:.0} ns/packet",
        td_cpu.as_secs_f64(),
        td_cpu.as_nanos() as f64 / td_captured.max(1) as f64
    );
}

fn decode_cost() {
    let mut f = vec![0x02, 0, 0, 0, 0, 0x0b, 0x02, 0, 0, 0, 0, 0x0a, 0x08, 0x00];
    f.extend_from_slice(&[
        0x45, 0, 0, 46, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 213, 250, 1, 10, 213, 250, 2,
    ]);
    f.extend_from_slice(&[0x9c, 0x40, 0x9c, 0x41, 0, 26, 0, 0]);
    f.extend_from_slice(&[0x61; 18]);
    let n = 200_000;
    let t = Instant::now();
    let mut keep = 0usize;
    for _ in 0..n {
        keep += dissect(1, &f, f.len() as u32).layers.len();
    }
    let per = t.elapsed().as_nanos() as f64 / n as f64;
    let d = dissect(1, &f, f.len() as u32);
    let filter = DisplayFilter::parse("ip.addr == 10.213.0.0/16 and udp.port == 40001 and not tcp").unwrap();
    let t = Instant::now();
    for _ in 0..n {
        keep += usize::from(filter.matches(&d));
    }
    let fper = t.elapsed().as_nanos() as f64 / n as f64;
    println!("decode UDP frame: {per:.0} ns/packet; display filter (3 terms): {fper:.0} ns/packet ({keep})");
}

fn main() {
    decode_cost();
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        println!("live capture: skipped (needs root)");
        return;
    }
    let packets = std::env::var("PACKETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000_000);
    live(packets);
}
