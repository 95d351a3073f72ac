//! The whole station sniffer at full speed: trafgen floods one veth pair while the station's sniffer (the
//! thread a real station runs: capture in blocks, the pcapng ring on disk, batches for the link) captures the
//! other end, and a consumer thread serialises every batch to JSON as the link does before it sends. Prints
//! how many packets reached the ring and the link, every drop counter, and the station's CPU per packet.
//! Needs root and trafgen (netsniff-ng).
//!
//! `cargo bench -p twister-station --bench sniffer_rate` (env `PACKETS`, default 2000000; `SENDERS`, trafgen
//! processes, default one per CPU).

#![allow(clippy::unwrap_used, missing_docs)]

use std::time::{Duration, Instant};

#[path = "../../capture/benches/support/mod.rs"]
mod support;

use support::{cpu_of_self, cpus, pin_to, senders};
use twister_proto::link::Up;
use twister_station::sniffer::{spawn, SnifferConfig};

const TX: &str = "twsniff0";
const RX: &str = "twsniff1";
/// Packets in the pcapng files of `dir`.
fn ring_packets(dir: &std::path::Path) -> u64 {
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        if path.extension().is_some_and(|x| x == "pcapng") {
            let mut cap = pcap::Capture::from_file(&path).unwrap();
            while cap.next_packet().is_ok() {
                n += 1;
            }
        }
    }
    n
}

fn main() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        println!("sniffer_rate: skipped (needs root)");
        return;
    }
    let packets = support::packets();
    let (cpus, senders) = (cpus(), senders());
    if cpus >= 2 {
        pin_to(cpus - 1);
    }
    support::veth(TX, RX);
    let dir = tempfile::tempdir().unwrap();
    let config = SnifferConfig {
        interfaces: vec![RX.into()],
        // Room for the whole burst: the ring must show every packet the capture saw.
        ring_files: 16,
        ring_file_bytes: 64 << 20,
        buffer_size: 64 << 20,
        ..SnifferConfig::default()
    };
    let (sniffer, mut link) = spawn(config, dir.path().to_path_buf()).unwrap();
    // The link's share: serialise each batch as it would be sent, and keep the last counters.
    let consumer = std::thread::spawn(move || {
        let (mut frames, mut bytes, mut last) = (0u64, 0usize, None);
        while let Some(batch) = link.batches.blocking_recv() {
            frames += batch.packets.len() as u64;
            let up = Up::Packets(batch);
            bytes += serde_json::to_string(&up).unwrap().len();
            if let Up::Packets(b) = up {
                last = Some(b);
            }
        }
        (frames, bytes, last)
    });
    // Let the sniffer open its interface (its first status batch says it runs).
    std::thread::sleep(Duration::from_millis(500));
    let cpu0 = cpu_of_self();
    let start = Instant::now();
    let st = support::trafgen(TX, packets, 251).status().unwrap();
    assert!(st.success(), "trafgen failed");
    let sent = start.elapsed();
    // Give the sniffer time to drain its queue and the ring to be flushed.
    std::thread::sleep(Duration::from_millis(2500));
    let cpu = cpu_of_self() - cpu0;
    drop(sniffer);
    let (frames, json_bytes, last) = consumer.join().unwrap();
    support::del_veth(TX);
    let in_ring = ring_packets(dir.path());
    let last = last.unwrap_or_default();
    let i = last.interfaces.first().cloned().unwrap_or_default();
    println!(
        "trafgen: {packets} x 60 B in {:.2} s = {:.0} pps ({senders} process(es) on CPU 0-{}; station on CPU {})",
        sent.as_secs_f64(),
        packets as f64 / sent.as_secs_f64(),
        senders - 1,
        cpus - 1
    );
    println!(
        "station: captured {} (kernel dropped {}, capture queue dropped {}); in the pcapng ring {in_ring}; \
         to the link {frames} in {:.0} MB of JSON (link dropped {})",
        i.packets,
        i.kernel_dropped,
        i.local_dropped,
        json_bytes as f64 / 1e6,
        last.link_dropped
    );
    println!(
        "station CPU {:.2} s = {:.0} ns per packet captured",
        cpu.as_secs_f64(),
        cpu.as_nanos() as f64 / i.packets.max(1) as f64
    );
}
