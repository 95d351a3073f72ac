//! What the capture benches share (`capture/benches/live_rate.rs`, `station/benches/sniffer_rate.rs`,
//! `tests/benches/capture_latency.rs`): a veth pair, trafgen flooding it from one process per sending CPU, CPU
//! pinning and CPU time, waiting for tcpdump to listen.

#![allow(dead_code)]

use std::io::Read;
use std::process::{ChildStderr, Command, Stdio};
use std::time::Duration;

/// Runs a command that must succeed.
pub fn sh(args: &[&str]) {
    let st = Command::new(args[0]).args(&args[1..]).status().unwrap();
    assert!(st.success(), "{args:?}");
}

/// User + system CPU time of this process so far.
pub fn cpu_of_self() -> Duration {
    // SAFETY: getrusage fills the struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let tv =
        |t: libc::timeval| Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// Pins the calling thread (and the threads it starts afterwards) to `cpu`.
pub fn pin_to(cpu: usize) {
    // SAFETY: the set is a plain bit mask initialised by CPU_ZERO; sched_setaffinity reads it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_ZERO(&mut set);
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

/// CPUs of the machine, read once before any pinning (which narrows what the process sees).
pub fn cpus() -> usize {
    static CPUS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CPUS.get_or_init(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1))
}

/// trafgen processes (env `SENDERS`, default one per CPU: on a veth each sender also does the receive side's
/// kernel work, so one CPU alone cannot fill the pair).
pub fn senders() -> usize {
    std::env::var("SENDERS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or_else(cpus)
        .clamp(1, cpus())
}

/// Packets per burst (env `PACKETS`, default 2,000,000).
pub fn packets() -> u64 {
    std::env::var("PACKETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000_000)
}

/// A fresh veth pair `tx` — `rx`, up, without IPv6 (no stray frames); replaces one of that name.
pub fn veth(tx: &str, rx: &str) {
    let _ = Command::new("ip")
        .args(["link", "del", tx])
        .stderr(Stdio::null())
        .status();
    sh(&["ip", "link", "add", tx, "type", "veth", "peer", "name", rx]);
    for d in [tx, rx] {
        let _ = std::fs::write(format!("/proc/sys/net/ipv6/conf/{d}/disable_ipv6"), "1");
        sh(&["ip", "link", "set", d, "up"]);
    }
}

/// Removes the veth pair.
pub fn del_veth(tx: &str) {
    let _ = Command::new("ip").args(["link", "del", tx]).status();
}

/// trafgen sending `packets` 60-byte UDP frames (10.213.`net`.1 -> .2) out of `tx` from `senders()` processes
/// on CPUs 0..senders.
pub fn trafgen(tx: &str, packets: u64, net: u8) -> Command {
    let frame = format!(
        "{{ 0x02,0,0,0,0,0x0b, 0x02,0,0,0,0,0x0a, c16(0x0800), 0x45,0,c16(46),0,0,0x40,0,64,17, csumip(14, 33), \
         10,213,{net},1, 10,213,{net},2, c16(40000), c16(40001), c16(26), 0,0, fill(0x61, 18) }}"
    );
    let senders = senders();
    let mut cmd = Command::new("taskset");
    cmd.args(["-c", &format!("0-{}", senders - 1), "trafgen", "-o", tx])
        .args(["-n", &packets.to_string(), "-P", &senders.to_string()])
        .args(["--no-sock-mem", "-Q", "-C"])
        .arg(frame)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

/// Reads tcpdump's standard error until it says "listening on" (before that it would miss packets).
pub fn wait_for_tcpdump(err: &mut ChildStderr) {
    let mut seen = Vec::new();
    let mut buf = [0u8; 256];
    while !String::from_utf8_lossy(&seen).contains("listening on") {
        let n = err.read(&mut buf).unwrap();
        assert!(n > 0, "tcpdump: {}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&buf[..n]);
    }
}
