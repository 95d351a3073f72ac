//! Live capture rate on one veth pair, side by side with `tcpdump -w /dev/null`, both capturing the same
//! trafgen burst at once; then the decoder and display-filter cost per packet. Needs root, trafgen
//! (netsniff-ng) and tcpdump; prints a table (figures go in docs/benchmarks.md).
//!
//! The consumer does what the station's capture thread does with each packet before the link: it writes it
//! to a pcapng stream (here into a sink). On a veth the kernel hands each frame to the packet sockets in the
//! sender's context, so trafgen runs one process per CPU (`SENDERS`) and both capturers share the last CPU.
//! Four bursts: no capturer (what the veth carries here), tcpdump alone, twister-capture alone, both.
//!
//! `cargo bench -p twister-capture --bench live_rate` (env `PACKETS`, default 2000000; `SENDERS`, default one
//! per CPU; `ONLY=none`, `tcpdump`, `twister` or `both` for one of the four bursts).

#![allow(clippy::unwrap_used, missing_docs)]

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod support;

use support::{cpu_of_self, cpus, del_veth, pin_to, senders};
use twister_capture::{dissect_with, CaptureSource, Detail, DisplayFilter, InterfaceConfig, PcapngWriter};

const TX: &str = "twbench0";
const RX: &str = "twbench1";

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

/// tcpdump running beside us, and where its final counts will appear.
struct Tcpdump {
    child: std::process::Child,
    err: std::process::ChildStderr,
    cpu0: Duration,
}

impl Tcpdump {
    fn start(pinned: bool) -> Tcpdump {
        let mut cmd = Command::new(if pinned { "taskset" } else { "tcpdump" });
        if pinned {
            cmd.args(["-c", &(cpus() - 1).to_string(), "tcpdump"]);
        }
        let mut child = cmd
            .args(["-i", RX, "-w", "/dev/null", "-B", "65536", "-n"])
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let mut err = child.stderr.take().unwrap();
        support::wait_for_tcpdump(&mut err);
        let cpu0 = cpu_of_pid(child.id());
        Tcpdump { child, err, cpu0 }
    }

    /// Stops it; (captured, dropped by kernel, CPU used).
    fn finish(mut self) -> (u64, u64, Duration) {
        let cpu = cpu_of_pid(self.child.id()) - self.cpu0;
        // SAFETY: signalling our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
        let mut rest = String::new();
        let _ = self.err.read_to_string(&mut rest);
        let _ = self.child.wait();
        let count = |what: &str| {
            rest.lines()
                .find(|l| l.contains(what))
                .and_then(|l| l.split_whitespace().next())
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0)
        };
        (count("packets captured"), count("dropped by kernel"), cpu)
    }
}

/// One burst of `packets` frames with the given capturers on the veth; prints a line per capturer.
fn burst(packets: u64, ours: bool, tcpdump: bool, pinned: bool) {
    support::veth(TX, RX);
    let mut source = ours.then(|| {
        let mut cfg = InterfaceConfig::new(RX);
        cfg.buffer_size = 64 << 20;
        cfg.snaplen = 262_144;
        CaptureSource::start(vec![cfg], 1 << 20).unwrap()
    });
    let td = tcpdump.then(|| Tcpdump::start(pinned));
    // What the station does with each packet before the link: append it to its pcapng ring.
    let mut ring = PcapngWriter::new(std::io::sink(), "live_rate").unwrap();
    ring.add_interface(RX, 1, 262_144).unwrap();
    let cpu0 = cpu_of_self();
    let start = Instant::now();
    let mut trafgen = support::trafgen(TX, packets, 250).spawn().unwrap();
    let mut n = 0u64;
    let mut send_time = None;
    let mut quiet_since = None;
    loop {
        // Block on the queue as the station's sniffer thread does (no polling loop to inflate our CPU).
        if let Some(source) = &source {
            if let Some(block) = source.recv_block_timeout(Duration::from_millis(5)) {
                for p in block.iter() {
                    ring.write_packet(0, p.timestamp_ns, p.original_len, p.data, None)
                        .unwrap();
                }
                n += block.len() as u64;
                source.recycle(block);
            }
        } else {
            std::thread::sleep(Duration::from_millis(5));
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
    }
    let _ = trafgen.wait();
    let sent = send_time.unwrap_or_default();
    let cpu = cpu_of_self() - cpu0;
    let delivered = std::fs::read_to_string(format!("/sys/class/net/{RX}/statistics/rx_packets"))
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(0);
    let label = match (ours, tcpdump) {
        (false, false) => "no capture",
        (true, false) => "twister-capture alone",
        (false, true) => "tcpdump alone",
        (true, true) => "twister-capture beside tcpdump",
    };
    println!(
        "[{label}] {packets} x 60 B sent in {:.2} s = {:.0} pps; {delivered} reached {RX}",
        sent.as_secs_f64(),
        packets as f64 / sent.as_secs_f64()
    );
    if let Some(source) = source.as_mut() {
        source.stop();
        let st = &source.stats()[0];
        println!(
            "    twister-capture: {n} received, kernel dropped {}, queue dropped {}, CPU {:.2} s = {:.0} ns/packet",
            st.kernel_dropped,
            st.local_dropped,
            cpu.as_secs_f64(),
            cpu.as_nanos() as f64 / n.max(1) as f64
        );
    }
    if let Some(td) = td {
        let (captured, dropped, cpu) = td.finish();
        println!(
            "    tcpdump -w /dev/null: {captured} captured, kernel dropped {dropped}, CPU {:.2} s = {:.0} ns/packet",
            cpu.as_secs_f64(),
            cpu.as_nanos() as f64 / captured.max(1) as f64
        );
    }
    del_veth(TX);
}

/// The four bursts: the veth alone (what it carries here), each capturer alone, and both side by side. On
/// a veth the kernel hands each frame to packet sockets in the sender's context, so a capturer's kernel
/// share shows as a lower sending rate; its own share shows as its CPU per packet.
fn live(packets: u64) {
    let cpus = cpus();
    let pinned = cpus >= 2;
    if pinned {
        pin_to(cpus - 1);
    }
    println!(
        "trafgen: {} process(es) on CPU 0-{}; capturers on CPU {}",
        senders(),
        senders() - 1,
        cpus - 1
    );
    let only = std::env::var("ONLY").unwrap_or_default();
    for (name, ours, tcpdump) in [
        ("none", false, false),
        ("tcpdump", false, true),
        ("twister", true, false),
        ("both", true, true),
    ] {
        if only.is_empty() || only == name {
            burst(packets, ours, tcpdump, pinned);
        }
    }
}

fn decode_cost() {
    let mut f = vec![0x02, 0, 0, 0, 0, 0x0b, 0x02, 0, 0, 0, 0, 0x0a, 0x08, 0x00];
    f.extend_from_slice(&[
        0x45, 0, 0, 46, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 213, 250, 1, 10, 213, 250, 2,
    ]);
    f.extend_from_slice(&[0x9c, 0x40, 0x9c, 0x41, 0, 26, 0, 0]);
    f.extend_from_slice(&[0x61; 18]);
    let n = 200_000;
    let mut keep = 0usize;
    let mut cost = |detail: Detail| {
        let t = Instant::now();
        for _ in 0..n {
            keep += dissect_with(1, &f, f.len() as u32, detail).layers.len();
        }
        t.elapsed().as_nanos() as f64 / n as f64
    };
    let per = cost(Detail::Full);
    let values = cost(Detail::Values);
    let d = dissect_with(1, &f, f.len() as u32, Detail::Values);
    let filter = DisplayFilter::parse("ip.addr == 10.213.0.0/16 and udp.port == 40001 and not tcp").unwrap();
    let t = Instant::now();
    for _ in 0..n {
        keep += usize::from(filter.matches(&d));
    }
    let fper = t.elapsed().as_nanos() as f64 / n as f64;
    println!(
        "decode UDP frame: {per:.0} ns/packet with display texts, {values:.0} ns/packet values only; \
         display filter (3 terms): {fper:.0} ns/packet ({keep})"
    );
}

fn main() {
    decode_cost();
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        println!("live capture: skipped (needs root)");
        return;
    }
    let packets = support::packets();
    live(packets);
}
