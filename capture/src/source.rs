//! Live capture from one or several interfaces through libpcap.
//!
//! Each interface is opened up front (so a bad filter or a missing right is reported by
//! [`CaptureSource::start`] itself), then read by its own thread in non-blocking mode: the thread waits on the
//! capture descriptor with a short `poll` timeout, so stopping never waits on an idle interface (a blocking
//! libpcap read can wait forever there). Each read of the kernel ring is copied into one [`PacketBlock`]
//! (no allocation per packet); blocks go to one queue bounded in packets; when it is full the block's
//! packets are dropped and counted as local drops rather than stalling the kernel ring.

use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::block::{BlockPool, PacketBlock};
use crate::error::CaptureError;

/// Checks that a BPF capture filter compiles for link type `linktype` (1: Ethernet), without capturing;
/// the error carries libpcap's message.
pub fn check_filter(filter: &str, linktype: u32) -> Result<(), CaptureError> {
    let bad = |message: String| CaptureError::Filter {
        interface: String::new(),
        filter: filter.to_string(),
        message,
    };
    let lt = i32::try_from(linktype).map_err(|_| bad(format!("link type {linktype} is out of range")))?;
    let dead = pcap::Capture::dead(pcap::Linktype(lt)).map_err(|e| bad(e.to_string()))?;
    dead.compile(filter, true)
        .map(|_| ())
        .map_err(|e| bad(e.to_string()))
}

/// One interface the system can capture on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterfaceInfo {
    /// Interface name (`eth0`, `veth1`, `any`).
    pub name: String,
    /// Description, when libpcap has one.
    pub description: Option<String>,
    /// Addresses, as text.
    pub addresses: Vec<String>,
    /// Whether it is a loopback interface.
    pub loopback: bool,
    /// Whether it is up.
    pub up: bool,
}

/// Lists the interfaces libpcap can open.
pub fn list_interfaces() -> Result<Vec<InterfaceInfo>, CaptureError> {
    let devices = pcap::Device::list().map_err(|e| CaptureError::Pcap {
        interface: String::new(),
        message: e.to_string(),
    })?;
    Ok(devices
        .into_iter()
        .map(|d| InterfaceInfo {
            loopback: d.flags.is_loopback(),
            up: d.flags.is_up(),
            addresses: d.addresses.iter().map(|a| a.addr.to_string()).collect(),
            description: d.desc,
            name: d.name,
        })
        .collect())
}

/// How to capture on one interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct InterfaceConfig {
    /// Interface name.
    pub name: String,
    /// Promiscuous mode.
    pub promiscuous: bool,
    /// Bytes kept of each packet (1..=262144).
    pub snaplen: u32,
    /// Kernel buffer size in bytes (0: libpcap's default).
    pub buffer_size: u32,
    /// BPF capture filter (tcpdump syntax); empty for everything.
    pub filter: String,
    /// Deliver each packet at once instead of in kernel blocks. Lowers latency at low rates, but libpcap
    /// then sizes every ring slot to the snap length, so a burst overflows the buffer much sooner; the
    /// default (off) delivers within [`BLOCK_TIMEOUT_MS`].
    pub immediate: bool,
}

impl Default for InterfaceConfig {
    fn default() -> Self {
        InterfaceConfig {
            name: String::new(),
            promiscuous: true,
            snaplen: 262_144,
            buffer_size: 8 << 20,
            filter: String::new(),
            immediate: false,
        }
    }
}

impl InterfaceConfig {
    /// A configuration for `name` with the defaults (promiscuous, full snap length, 8 MiB buffer).
    pub fn new(name: &str) -> InterfaceConfig {
        InterfaceConfig {
            name: name.to_string(),
            ..InterfaceConfig::default()
        }
    }
}

/// A packet as captured, with its own buffer (see [`PacketBlock`] for the allocation-free way).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapturedPacket {
    /// Index of the interface in the list given to [`CaptureSource::start`].
    pub interface: usize,
    /// Capture time, nanoseconds since the Unix epoch.
    pub timestamp_ns: u64,
    /// Length on the wire.
    pub original_len: u32,
    /// The bytes kept (at most the snap length).
    pub data: Vec<u8>,
}

/// Counters of one interface.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterfaceStats {
    /// Interface name.
    pub name: String,
    /// pcap link type (1: Ethernet).
    pub linktype: u32,
    /// Packets read from the kernel, including those then dropped because the queue was full
    /// (`local_dropped`).
    pub packets: u64,
    /// Wire bytes of those packets.
    pub bytes: u64,
    /// Packets the kernel passed to libpcap (pcap_stats `ps_recv`).
    pub kernel_received: u64,
    /// Packets the kernel dropped for lack of buffer space (`ps_drop`).
    pub kernel_dropped: u64,
    /// Packets the interface or driver dropped (`ps_ifdrop`).
    pub interface_dropped: u64,
    /// Packets dropped here because the queue was full.
    pub local_dropped: u64,
    /// Why capture on this interface ended early (the interface went away, for example).
    pub error: Option<String>,
}

#[derive(Default)]
struct Counters {
    packets: AtomicU64,
    bytes: AtomicU64,
    kernel_received: AtomicU64,
    kernel_dropped: AtomicU64,
    interface_dropped: AtomicU64,
    local_dropped: AtomicU64,
    error: std::sync::Mutex<Option<String>>,
}

struct Interface {
    name: String,
    linktype: u32,
    counters: Arc<Counters>,
}

/// A running capture on one or several interfaces. Dropping it stops the capture threads.
pub struct CaptureSource {
    interfaces: Vec<Interface>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    rx: Receiver<PacketBlock>,
    queue: Arc<Queue>,
    /// The block the per-packet readers are walking, and the index of its next packet.
    pending: Option<(PacketBlock, usize)>,
}

/// What the capture threads and the reader share about the queue between them.
#[derive(Debug, Default)]
struct Queue {
    /// Packets in blocks sent but not yet received.
    packets: AtomicUsize,
    /// Most packets queued at once.
    limit: usize,
    pool: BlockPool,
}

impl std::fmt::Debug for CaptureSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.interfaces.iter().map(|i| i.name.as_str()).collect();
        f.debug_struct("CaptureSource")
            .field("interfaces", &names)
            .finish()
    }
}

/// How long a capture thread waits on an idle descriptor before it checks for stop.
const POLL_INTERVAL_MS: i32 = 50;
/// Most packets taken from the kernel ring in one read (one block).
const READ_BATCH: usize = 512;
/// Longest time the kernel holds captured packets in a block before handing them over (libpcap's timeout).
pub const BLOCK_TIMEOUT_MS: i32 = 5;
/// How often the kernel counters are refreshed.
const STATS_INTERVAL: Duration = Duration::from_millis(200);

impl CaptureSource {
    /// Opens every interface and starts capturing. `queue_len` bounds the packets held between the capture
    /// threads and the reader; beyond it packets are dropped (a whole read at a time) and counted.
    ///
    /// ```no_run
    /// use twister_capture::{CaptureSource, InterfaceConfig};
    /// let mut cfg = InterfaceConfig::new("eth0");
    /// cfg.filter = "udp port 53".into();
    /// let source = CaptureSource::start(vec![cfg], 10_000).unwrap();
    /// if let Some(block) = source.recv_block_timeout(std::time::Duration::from_secs(1)) {
    ///     for p in block.iter() {
    ///         println!("{} bytes", p.data.len());
    ///     }
    ///     source.recycle(block);
    /// }
    /// ```
    pub fn start(configs: Vec<InterfaceConfig>, queue_len: usize) -> Result<CaptureSource, CaptureError> {
        if configs.is_empty() {
            return Err(CaptureError::Setting {
                key: "interfaces",
                message: "no interface given".into(),
            });
        }
        let mut opened = Vec::new();
        for cfg in &configs {
            opened.push(open(cfg)?);
        }
        let (tx, rx) = channel();
        let queue = Arc::new(Queue {
            limit: queue_len.max(1),
            ..Queue::default()
        });
        let stop = Arc::new(AtomicBool::new(false));
        let mut interfaces = Vec::new();
        let mut threads = Vec::new();
        for (index, (cfg, cap)) in configs.iter().zip(opened).enumerate() {
            let counters = Arc::new(Counters::default());
            interfaces.push(Interface {
                name: cfg.name.clone(),
                linktype: cap.get_datalink().0 as u32,
                counters: counters.clone(),
            });
            let reader = Reader {
                index,
                cap,
                tx: tx.clone(),
                queue: queue.clone(),
                stop: stop.clone(),
                counters,
            };
            let handle = std::thread::Builder::new()
                .name(format!("capture-{}", cfg.name))
                .spawn(move || reader.run());
            match handle {
                Ok(h) => threads.push(h),
                Err(e) => {
                    stop.store(true, Ordering::SeqCst);
                    return Err(CaptureError::Thread(e));
                }
            }
        }
        Ok(CaptureSource {
            interfaces,
            stop,
            threads,
            rx,
            queue,
            pending: None,
        })
    }

    /// Waits up to `timeout` for the next block of packets; `None` on timeout or when every thread has
    /// ended. Give it back with [`CaptureSource::recycle`] once read.
    pub fn recv_block_timeout(&self, timeout: Duration) -> Option<PacketBlock> {
        match self.rx.recv_timeout(timeout) {
            Ok(b) => Some(self.received(b)),
            Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => None,
        }
    }

    /// The next block of packets if one is queued.
    pub fn try_recv_block(&self) -> Option<PacketBlock> {
        self.rx.try_recv().ok().map(|b| self.received(b))
    }

    fn received(&self, block: PacketBlock) -> PacketBlock {
        self.queue.packets.fetch_sub(block.len(), Ordering::Relaxed);
        block
    }

    /// Gives a read block back so the capture threads reuse its buffers.
    pub fn recycle(&self, block: PacketBlock) {
        self.queue.pool.give(block);
    }

    /// Waits up to `timeout` for the next packet, copied out of its block; `None` on timeout or when every
    /// thread has ended. Simpler than the block readers, at the cost of an allocation per packet.
    pub fn recv_timeout(&mut self, timeout: Duration) -> Option<CapturedPacket> {
        if let Some(p) = self.next_pending() {
            return Some(p);
        }
        let block = self.recv_block_timeout(timeout)?;
        self.pending = Some((block, 0));
        self.next_pending()
    }

    /// The next packet if one is queued, copied out of its block.
    pub fn try_recv(&mut self) -> Option<CapturedPacket> {
        loop {
            if let Some(p) = self.next_pending() {
                return Some(p);
            }
            let block = self.try_recv_block()?;
            self.pending = Some((block, 0));
        }
    }

    fn next_pending(&mut self) -> Option<CapturedPacket> {
        let (block, next) = self.pending.as_mut()?;
        if let Some(p) = block.get(*next) {
            *next += 1;
            return Some(p.to_packet());
        }
        if let Some((block, _)) = self.pending.take() {
            self.recycle(block);
        }
        None
    }

    /// Names of the interfaces, by index.
    pub fn interface_names(&self) -> Vec<String> {
        self.interfaces.iter().map(|i| i.name.clone()).collect()
    }

    /// pcap link type of each interface, by index.
    pub fn linktypes(&self) -> Vec<u32> {
        self.interfaces.iter().map(|i| i.linktype).collect()
    }

    /// Counters of each interface (kernel counters are refreshed every 200 ms and at stop).
    pub fn stats(&self) -> Vec<InterfaceStats> {
        self.interfaces
            .iter()
            .map(|i| {
                let c = &i.counters;
                InterfaceStats {
                    name: i.name.clone(),
                    linktype: i.linktype,
                    packets: c.packets.load(Ordering::Relaxed),
                    bytes: c.bytes.load(Ordering::Relaxed),
                    kernel_received: c.kernel_received.load(Ordering::Relaxed),
                    kernel_dropped: c.kernel_dropped.load(Ordering::Relaxed),
                    interface_dropped: c.interface_dropped.load(Ordering::Relaxed),
                    local_dropped: c.local_dropped.load(Ordering::Relaxed),
                    error: c.error.lock().map(|e| e.clone()).unwrap_or_default(),
                }
            })
            .collect()
    }

    /// Stops every capture thread and waits for them (each notices within about 50 ms). Packets already
    /// queued can still be read afterwards.
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for CaptureSource {
    fn drop(&mut self) {
        self.stop();
    }
}

fn open(cfg: &InterfaceConfig) -> Result<pcap::Capture<pcap::Active>, CaptureError> {
    if cfg.snaplen == 0 || cfg.snaplen > 262_144 {
        return Err(CaptureError::Setting {
            key: "snaplen",
            message: format!("{} is not in 1..=262144", cfg.snaplen),
        });
    }
    if cfg.buffer_size > i32::MAX as u32 {
        return Err(CaptureError::Setting {
            key: "buffer_size",
            message: format!("{} is too large", cfg.buffer_size),
        });
    }
    let device = pcap::Device::from(cfg.name.as_str());
    let mut inactive = pcap::Capture::from_device(device)
        .map_err(|e| CaptureError::from_open(&cfg.name, e))?
        .promisc(cfg.promiscuous)
        .snaplen(cfg.snaplen as i32)
        .immediate_mode(cfg.immediate)
        .precision(pcap::Precision::Nano)
        .timeout(BLOCK_TIMEOUT_MS);
    if cfg.buffer_size > 0 {
        inactive = inactive.buffer_size(cfg.buffer_size as i32);
    }
    let mut cap = inactive
        .open()
        .map_err(|e| CaptureError::from_open(&cfg.name, e))?;
    if !cfg.filter.trim().is_empty() {
        cap.filter(&cfg.filter, true).map_err(|e| CaptureError::Filter {
            interface: cfg.name.clone(),
            filter: cfg.filter.clone(),
            message: e.to_string(),
        })?;
    }
    cap.setnonblock()
        .map_err(|e| CaptureError::from_open(&cfg.name, e))
}

/// The per-interface capture thread.
struct Reader {
    index: usize,
    cap: pcap::Capture<pcap::Active>,
    tx: Sender<PacketBlock>,
    queue: Arc<Queue>,
    stop: Arc<AtomicBool>,
    counters: Arc<Counters>,
}

impl Reader {
    fn run(mut self) {
        let fd = self.cap.as_raw_fd();
        let mut last_stats = Instant::now();
        while !self.stop.load(Ordering::Relaxed) {
            let mut block = self.queue.pool.take(self.index);
            let (mut read, mut wire_bytes, mut refused) = (0u64, 0u64, 0u64);
            let got = self.cap.dispatch(Some(READ_BATCH), |p| {
                let ts = &p.header.ts;
                // With nanosecond precision libpcap puts nanoseconds in tv_usec.
                let timestamp_ns = (ts.tv_sec as u64)
                    .saturating_mul(1_000_000_000)
                    .saturating_add(ts.tv_usec as u64);
                if !block.push(timestamp_ns, p.header.len, p.data) {
                    refused += 1;
                }
                read += 1;
                wire_bytes += u64::from(p.header.len);
            });
            // Counted once per read, not per packet.
            let c = &self.counters;
            c.packets.fetch_add(read, Ordering::Relaxed);
            c.bytes.fetch_add(wire_bytes, Ordering::Relaxed);
            c.local_dropped.fetch_add(refused, Ordering::Relaxed);
            self.hand_over(block);
            match got {
                Ok(0) => wait_readable(fd, POLL_INTERVAL_MS),
                Ok(_) => {}
                Err(e) => {
                    if let Ok(mut slot) = self.counters.error.lock() {
                        *slot = Some(e.to_string());
                    }
                    break;
                }
            }
            if last_stats.elapsed() >= STATS_INTERVAL {
                self.refresh_stats();
                last_stats = Instant::now();
            }
        }
        self.refresh_stats();
    }

    /// Queues a filled block; the packets beyond the queue's room (all of them when the reader is gone) are
    /// dropped and counted.
    fn hand_over(&self, mut block: PacketBlock) {
        let q = &self.queue;
        let mut n = block.len();
        // Reserve room for the whole block, then give back what does not fit.
        let before = q.packets.fetch_add(n, Ordering::Relaxed);
        let room = q.limit.saturating_sub(before);
        if room < n {
            q.packets.fetch_sub(n - room, Ordering::Relaxed);
            self.counters
                .local_dropped
                .fetch_add((n - room) as u64, Ordering::Relaxed);
            block.truncate(room);
            n = room;
        }
        if n == 0 {
            q.pool.give(block);
            return;
        }
        if let Err(e) = self.tx.send(block) {
            q.packets.fetch_sub(n, Ordering::Relaxed);
            self.counters.local_dropped.fetch_add(n as u64, Ordering::Relaxed);
            q.pool.give(e.0);
        }
    }

    fn refresh_stats(&mut self) {
        if let Ok(s) = self.cap.stats() {
            self.counters
                .kernel_received
                .store(u64::from(s.received), Ordering::Relaxed);
            self.counters
                .kernel_dropped
                .store(u64::from(s.dropped), Ordering::Relaxed);
            self.counters
                .interface_dropped
                .store(u64::from(s.if_dropped), Ordering::Relaxed);
        }
    }
}

/// Waits until `fd` is readable or `timeout_ms` passes.
fn wait_readable(fd: i32, timeout_ms: i32) {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: `pfd` is a valid pollfd for the duration of the call and the count is 1.
    unsafe {
        libc::poll(&mut pfd, 1, timeout_ms);
    }
}
