//! The station sniffer: captures on the configured interfaces (`[capture]` in `station.toml`), keeps a ring of
//! pcapng files in the data directory, and hands packets to the link in batches ([`PacketBatch`]).
//!
//! The capture runs on its own thread. Batches go to the link through a bounded queue; when the link is slow or
//! down the queue fills and further packets are dropped and counted (`link_dropped`), never blocking the
//! capture. Without the right to capture (root or CAP_NET_RAW) or with a bad filter the sniffer does not stop
//! the station: it logs why, reports it in a batch (`error`) and tries again when the settings change.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde::Deserialize;
use tokio::sync::mpsc;
use twister_capture::{CaptureSource, InterfaceConfig, PacketBlock};
use twister_proto::capture::{CaptureInterface, CaptureSettings, Frame, PacketBatch};

use crate::pcap_ring::PcapRing;

/// `[capture]` in `station.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SnifferConfig {
    /// Interfaces to capture on.
    pub interfaces: Vec<String>,
    /// BPF capture filter (tcpdump syntax); empty for everything.
    pub filter: String,
    /// Bytes kept per packet.
    pub snaplen: u32,
    /// Kernel buffer per interface, bytes.
    pub buffer_size: u32,
    /// Promiscuous mode.
    pub promiscuous: bool,
    /// pcapng files kept on the station (0: no ring).
    pub ring_files: usize,
    /// Size at which a ring file is closed, bytes.
    pub ring_file_bytes: u64,
    /// Most packets in one batch to the controller.
    pub batch_packets: usize,
    /// Longest a packet waits for its batch, ms.
    pub batch_ms: u64,
    /// Batches queued for the link before packets are dropped.
    pub queue_batches: usize,
}

impl Default for SnifferConfig {
    fn default() -> Self {
        SnifferConfig {
            interfaces: Vec::new(),
            filter: String::new(),
            snaplen: 262_144,
            buffer_size: 32 << 20,
            promiscuous: true,
            ring_files: 8,
            ring_file_bytes: 64 << 20,
            batch_packets: 256,
            batch_ms: 10,
            queue_batches: 64,
        }
    }
}

impl SnifferConfig {
    /// Checks the values; the error names the key.
    pub fn validate(&self) -> Result<(), String> {
        if self.interfaces.is_empty() || self.interfaces.iter().any(|i| i.trim().is_empty()) {
            return Err("capture.interfaces: list at least one interface".into());
        }
        if self.snaplen == 0 || self.snaplen > 262_144 {
            return Err(format!("capture.snaplen: {} is not in 1..=262144", self.snaplen));
        }
        if self.batch_packets == 0 || self.queue_batches == 0 {
            return Err("capture.batch_packets and capture.queue_batches must be at least 1".into());
        }
        Ok(())
    }
}

/// The link's ends of a running sniffer.
#[derive(Debug)]
pub struct SnifferLink {
    /// Batches to send up.
    pub batches: mpsc::Receiver<PacketBatch>,
    /// Settings from the controller.
    pub settings: std::sync::mpsc::Sender<CaptureSettings>,
}

/// A running sniffer; dropping it stops the capture thread.
#[derive(Debug)]
pub struct Sniffer {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Sniffer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Starts the sniffer thread; the ring of pcapng files goes to `ring_dir`.
pub fn spawn(config: SnifferConfig, ring_dir: std::path::PathBuf) -> std::io::Result<(Sniffer, SnifferLink)> {
    let (batches_tx, batches_rx) = mpsc::channel(config.queue_batches.max(1));
    let (settings_tx, settings_rx) = std::sync::mpsc::channel();
    let stop = Arc::new(AtomicBool::new(false));
    let worker = Worker {
        config,
        ring_dir,
        out: batches_tx,
        settings: settings_rx,
        stop: stop.clone(),
        link_dropped: 0,
    };
    let thread = std::thread::Builder::new()
        .name("sniffer".into())
        .spawn(move || worker.run())?;
    Ok((
        Sniffer {
            stop,
            thread: Some(thread),
        },
        SnifferLink {
            batches: batches_rx,
            settings: settings_tx,
        },
    ))
}

struct Worker {
    config: SnifferConfig,
    ring_dir: std::path::PathBuf,
    out: mpsc::Sender<PacketBatch>,
    settings: std::sync::mpsc::Receiver<CaptureSettings>,
    stop: Arc<AtomicBool>,
    link_dropped: u64,
}

/// Counters are sent at least this often, even with no packets.
const STATUS_EVERY: Duration = Duration::from_secs(1);
/// Least time between two batches sent because nothing more was ready.
const SEND_GAP: Duration = Duration::from_millis(2);

impl Worker {
    fn run(mut self) {
        let mut ring = if self.config.ring_files > 0 {
            match PcapRing::open(
                &self.ring_dir,
                self.config.ring_files,
                self.config.ring_file_bytes,
            ) {
                Ok(r) => Some(r),
                Err(e) => {
                    tracing::error!(dir = %self.ring_dir.display(), error = %e, "capture ring unavailable");
                    None
                }
            }
        } else {
            None
        };
        while !self.stop.load(Ordering::Relaxed) {
            let configs: Vec<InterfaceConfig> = self
                .config
                .interfaces
                .iter()
                .map(|name| InterfaceConfig {
                    name: name.clone(),
                    promiscuous: self.config.promiscuous,
                    snaplen: self.config.snaplen,
                    buffer_size: self.config.buffer_size,
                    filter: self.config.filter.clone(),
                    immediate: false,
                })
                .collect();
            let queue = self.config.batch_packets * self.config.queue_batches;
            match CaptureSource::start(configs, queue) {
                Ok(source) => {
                    tracing::info!(interfaces = ?self.config.interfaces, filter = %self.config.filter, "sniffer started");
                    if let Some(r) = &mut ring {
                        let ifs = source
                            .stats()
                            .into_iter()
                            .map(|s| (s.name, s.linktype, self.config.snaplen))
                            .collect();
                        if let Err(e) = r.set_interfaces(ifs) {
                            tracing::warn!(error = %e, "capture ring");
                        }
                    }
                    self.capture(source, &mut ring);
                }
                Err(e) => {
                    tracing::error!(error = %e, "sniffer not capturing");
                    let batch = PacketBatch {
                        filter: self.config.filter.clone(),
                        error: Some(e.to_string()),
                        link_dropped: self.link_dropped,
                        ..PacketBatch::default()
                    };
                    let _ = self.out.try_send(batch);
                    // Wait for new settings (or stop), then try again.
                    self.wait_settings(Duration::from_secs(10));
                }
            }
        }
    }

    /// Waits up to `limit` for new settings; true when settings were applied.
    fn wait_settings(&mut self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline && !self.stop.load(Ordering::Relaxed) {
            if let Ok(s) = self.settings.recv_timeout(Duration::from_millis(100)) {
                self.config.filter = s.filter;
                return true;
            }
        }
        false
    }

    /// Reads from `source` until stop or new settings.
    fn capture(&mut self, mut source: CaptureSource, ring: &mut Option<PcapRing>) {
        let batch_wait = Duration::from_millis(self.config.batch_ms.max(1));
        let mut packets: Vec<Frame> = Vec::new();
        let mut started = Instant::now();
        // The first status goes out at once: it tells the controller the capture (with this filter) runs.
        let mut last_sent = Instant::now()
            .checked_sub(STATUS_EVERY)
            .unwrap_or_else(Instant::now);
        let mut new_filter = None;
        loop {
            if self.stop.load(Ordering::Relaxed) {
                break;
            }
            if let Ok(s) = self.settings.try_recv() {
                tracing::info!(filter = %s.filter, "capture filter changed");
                new_filter = Some(s.filter);
                break;
            }
            // With packets waiting, wake when they are due (the gap or the batch time), not later.
            let wait = if packets.is_empty() {
                Duration::from_millis(10)
            } else {
                SEND_GAP
                    .saturating_sub(last_sent.elapsed())
                    .min(batch_wait.saturating_sub(started.elapsed()))
                    .max(Duration::from_micros(200))
            };
            let mut drained = false;
            if let Some(block) = source.recv_block_timeout(wait) {
                if packets.is_empty() {
                    started = Instant::now();
                }
                self.take(&source, block, &mut packets, ring);
                // Take what is already queued without waiting.
                while packets.len() < self.config.batch_packets {
                    let Some(block) = source.try_recv_block() else {
                        drained = true;
                        break;
                    };
                    self.take(&source, block, &mut packets, ring);
                }
            } else {
                drained = true;
            }
            // A batch goes as soon as nothing more is ready (at most one per SEND_GAP), so a quiet capture
            // shows at once; under load batches fill up or wait at most `batch_ms`.
            let due = !packets.is_empty()
                && (started.elapsed() >= batch_wait || (drained && last_sent.elapsed() >= SEND_GAP));
            if due || last_sent.elapsed() >= STATUS_EVERY {
                if let Some(r) = ring.as_mut() {
                    let _ = r.flush();
                }
                self.send(&source, std::mem::take(&mut packets));
                last_sent = Instant::now();
            }
        }
        source.stop();
        while let Some(block) = source.try_recv_block() {
            self.take(&source, block, &mut packets, ring);
        }
        if let Some(r) = ring.as_mut() {
            let _ = r.flush();
        }
        self.send(&source, packets);
        if let Some(f) = new_filter {
            self.config.filter = f;
        }
    }

    /// Writes a block's packets to the ring and adds them to the batch being built, sending it whenever it
    /// is full. When the link's queue has no room the packets are counted as link drops at once, without
    /// being encoded: under overload the capture thread spends its time keeping the ring complete.
    fn take(
        &mut self,
        source: &CaptureSource,
        block: PacketBlock,
        packets: &mut Vec<Frame>,
        ring: &mut Option<PcapRing>,
    ) {
        let b64 = base64::engine::general_purpose::STANDARD;
        for p in block.iter() {
            if let Some(r) = ring.as_mut() {
                if let Err(e) = r.write(p.interface as u32, p.timestamp_ns, p.original_len, p.data) {
                    tracing::warn!(error = %e, "capture ring write failed; ring off");
                    *ring = None;
                }
            }
            if self.out.capacity() == 0 {
                self.link_dropped += 1;
                continue;
            }
            packets.push(Frame {
                interface: p.interface as u32,
                ts_ns: p.timestamp_ns,
                len: p.original_len,
                data: b64.encode(p.data),
            });
            if packets.len() >= self.config.batch_packets {
                self.send(source, std::mem::take(packets));
            }
        }
        source.recycle(block);
    }

    fn send(&mut self, source: &CaptureSource, packets: Vec<Frame>) {
        let n = packets.len() as u64;
        let stats = source.stats();
        let error = stats.iter().find_map(|s| {
            s.error
                .as_ref()
                .map(|e| format!("capture on {} ended: {e}", s.name))
        });
        let batch = PacketBatch {
            interfaces: stats
                .into_iter()
                .map(|s| CaptureInterface {
                    name: s.name,
                    linktype: s.linktype,
                    snaplen: self.config.snaplen,
                    packets: s.packets,
                    bytes: s.bytes,
                    kernel_dropped: s.kernel_dropped,
                    interface_dropped: s.interface_dropped,
                    local_dropped: s.local_dropped,
                })
                .collect(),
            link_dropped: self.link_dropped,
            filter: self.config.filter.clone(),
            error,
            packets,
        };
        if self.out.try_send(batch).is_err() {
            self.link_dropped += n;
        }
    }
}
