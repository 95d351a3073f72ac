//! Captured packets on the controller: a bounded in-memory ring per station and interface, the latest
//! counters of each station's sniffer, and a live broadcast of decoded packets for WebSocket subscribers.
//!
//! Stations send [`PacketBatch`]es over their link; [`CaptureHub::ingest`] decodes each packet once, stores it
//! in its ring (the oldest packets leave when the ring is full: counted as `ring_evicted`, not as drops) and
//! broadcasts it. A subscriber that falls behind the broadcast loses packets and is told how many (counted as
//! `controller_dropped`). Rings hold raw bytes; lists and downloads decode again when they filter.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use base64::Engine as _;
use serde::Serialize;
use tokio::sync::broadcast;
use twister_capture::{dissect, dissect_with, Detail, DisplayFilter, Dissection, PcapngWriter, Summary};
use twister_proto::capture::{CaptureInterface, PacketBatch};

/// Most packets kept per station and interface.
pub const RING_PACKETS: usize = 100_000;
/// Most bytes kept per station and interface.
pub const RING_BYTES: usize = 128 << 20;
/// Packets the live broadcast holds for slow subscribers.
const BROADCAST_DEPTH: usize = 16_384;

/// `[capture]` in the controller's configuration: how much each station and interface's ring holds (the
/// oldest packets leave first when either limit is reached).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RingSettings {
    /// Most packets kept per station and interface.
    pub ring_packets: usize,
    /// Most packet bytes kept per station and interface.
    pub ring_bytes: usize,
}

impl Default for RingSettings {
    fn default() -> Self {
        RingSettings {
            ring_packets: RING_PACKETS,
            ring_bytes: RING_BYTES,
        }
    }
}

/// One stored packet.
#[derive(Debug)]
pub struct StoredPacket {
    /// Controller-wide packet number (1, 2, …), in arrival order.
    pub id: u64,
    /// Station name.
    pub station: String,
    /// Interface name.
    pub interface: String,
    /// pcap link type.
    pub linktype: u32,
    /// Capture time, ns since the Unix epoch.
    pub ts_ns: u64,
    /// Length on the wire.
    pub len: u32,
    /// Bytes kept.
    pub data: Vec<u8>,
}

impl StoredPacket {
    /// Decodes the packet with every field's display text, for the detail view.
    pub fn dissect(&self) -> Dissection {
        dissect(self.linktype, &self.data, self.len)
    }

    /// Decodes the packet's fields, values and summary without display texts (about a quarter of the
    /// cost): enough for display filters and packet-list rows.
    pub fn dissect_values(&self) -> Dissection {
        dissect_with(self.linktype, &self.data, self.len, Detail::Values)
    }
}

/// A packet as the packet list shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PacketRow {
    /// Packet number.
    pub id: u64,
    /// Station.
    pub station: String,
    /// Interface.
    pub interface: String,
    /// Capture time, ns since the Unix epoch.
    pub ts_ns: u64,
    /// Source address.
    pub source: String,
    /// Destination address.
    pub destination: String,
    /// Top-most protocol.
    pub protocol: String,
    /// Length on the wire.
    pub length: u32,
    /// Description.
    pub info: String,
}

impl PacketRow {
    /// The list row of `p` decoded as `summary`.
    pub fn new(p: &StoredPacket, summary: &Summary) -> PacketRow {
        PacketRow {
            id: p.id,
            station: p.station.clone(),
            interface: p.interface.clone(),
            ts_ns: p.ts_ns,
            source: summary.source.clone(),
            destination: summary.destination.clone(),
            protocol: summary.protocol.clone(),
            length: p.len,
            info: summary.info.clone(),
        }
    }
}

/// A packet just stored, decoded, for live subscribers.
#[derive(Debug)]
pub struct LivePacket {
    /// The packet.
    pub packet: Arc<StoredPacket>,
    /// Its decoding.
    pub dissection: Dissection,
}

/// A station's sniffer as last reported.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct StationCapture {
    /// Station name.
    pub station: String,
    /// Capture filter in force.
    pub filter: String,
    /// Why it is not capturing, if it is not.
    pub error: Option<String>,
    /// Interfaces and their counters.
    #[schema(value_type = Vec<Object>)]
    pub interfaces: Vec<CaptureInterface>,
    /// Packets the station dropped because its link lagged.
    pub link_dropped: u64,
    /// Packets live subscribers missed because they lagged (controller side).
    pub controller_dropped: u64,
    /// Packets pushed out of the rings by newer ones.
    pub ring_evicted: u64,
    /// Packets held now.
    pub ring_packets: u64,
    /// Last report, Unix ms.
    pub updated_ms: i64,
}

#[derive(Default)]
struct Ring {
    packets: VecDeque<Arc<StoredPacket>>,
    bytes: usize,
}

#[derive(Default)]
struct Inner {
    /// (station, interface) → ring.
    rings: BTreeMap<(String, String), Ring>,
    stations: BTreeMap<String, StationCapture>,
}

/// Rings, counters and the live broadcast.
#[derive(Clone)]
pub struct CaptureHub {
    inner: Arc<Mutex<Inner>>,
    next_id: Arc<AtomicU64>,
    live: broadcast::Sender<Arc<LivePacket>>,
    ring_packets: usize,
    ring_bytes: usize,
}

impl Default for CaptureHub {
    fn default() -> Self {
        CaptureHub::new(RING_PACKETS, RING_BYTES)
    }
}

impl std::fmt::Debug for CaptureHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureHub").finish_non_exhaustive()
    }
}

/// Which stored packets a query wants.
#[derive(Debug, Default, Clone)]
pub struct Selection {
    /// Only this station.
    pub station: Option<String>,
    /// Only this interface.
    pub interface: Option<String>,
    /// Only packets at or after this time (ns since the epoch).
    pub from_ns: Option<u64>,
    /// Only packets at or before this time.
    pub to_ns: Option<u64>,
    /// Only packets numbered above this.
    pub after_id: Option<u64>,
    /// Only packets passing this display filter.
    pub filter: Option<DisplayFilter>,
}

impl CaptureHub {
    /// A hub whose rings hold at most `packets` packets and `bytes` bytes each.
    pub fn new(packets: usize, bytes: usize) -> CaptureHub {
        let (live, _) = broadcast::channel(BROADCAST_DEPTH);
        CaptureHub {
            inner: Arc::new(Mutex::new(Inner::default())),
            next_id: Arc::new(AtomicU64::new(1)),
            live,
            ring_packets: packets.max(1),
            ring_bytes: bytes.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves plain data behind; keep serving it.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Subscribes to live packets.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<LivePacket>> {
        self.live.subscribe()
    }

    /// Counts packets a live subscriber missed.
    pub fn count_lagged(&self, station: Option<&str>, n: u64) {
        let mut inner = self.lock();
        for (name, s) in inner.stations.iter_mut() {
            if station.is_none_or(|st| st == name) {
                s.controller_dropped += n;
            }
        }
    }

    /// Stores and broadcasts a batch from `station`; bad base64 packets are skipped.
    pub fn ingest(&self, station: &str, batch: PacketBatch, now_ms: i64) {
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut fresh = Vec::with_capacity(batch.packets.len());
        for f in &batch.packets {
            let Some(iface) = batch.interfaces.get(f.interface as usize) else {
                continue;
            };
            let Ok(data) = b64.decode(&f.data) else {
                continue;
            };
            fresh.push(Arc::new(StoredPacket {
                id: self.next_id.fetch_add(1, Ordering::Relaxed),
                station: station.to_string(),
                interface: iface.name.clone(),
                linktype: iface.linktype,
                ts_ns: f.ts_ns,
                len: f.len,
                data,
            }));
        }
        {
            let mut inner = self.lock();
            let mut evicted = 0u64;
            for p in &fresh {
                let ring = inner
                    .rings
                    .entry((station.to_string(), p.interface.clone()))
                    .or_default();
                ring.bytes += p.data.len();
                ring.packets.push_back(p.clone());
                while ring.packets.len() > self.ring_packets || ring.bytes > self.ring_bytes {
                    match ring.packets.pop_front() {
                        Some(old) => {
                            ring.bytes -= old.data.len();
                            evicted += 1;
                        }
                        None => break,
                    }
                }
            }
            let held: u64 = inner
                .rings
                .iter()
                .filter(|((s, _), _)| s == station)
                .map(|(_, r)| r.packets.len() as u64)
                .sum();
            let s = inner.stations.entry(station.to_string()).or_default();
            s.station = station.to_string();
            s.filter = batch.filter;
            s.error = batch.error;
            s.interfaces = batch.interfaces;
            s.link_dropped = batch.link_dropped;
            s.ring_evicted += evicted;
            s.ring_packets = held;
            s.updated_ms = now_ms;
        }
        if self.live.receiver_count() > 0 {
            for p in fresh {
                let dissection = p.dissect_values();
                let _ = self.live.send(Arc::new(LivePacket {
                    packet: p,
                    dissection,
                }));
            }
        }
    }

    /// Every station's sniffer state.
    pub fn stations(&self) -> Vec<StationCapture> {
        self.lock().stations.values().cloned().collect()
    }

    /// One packet by number.
    pub fn get(&self, id: u64) -> Option<Arc<StoredPacket>> {
        let inner = self.lock();
        inner.rings.values().find_map(|r| {
            let i = r.packets.partition_point(|p| p.id < id);
            r.packets.get(i).filter(|p| p.id == id).cloned()
        })
    }

    /// The stored packets a selection wants, in packet-number order, at most `limit` (the newest when
    /// `newest` is set, else the oldest).
    pub fn select(
        &self,
        sel: &Selection,
        limit: usize,
        newest: bool,
    ) -> Vec<(Arc<StoredPacket>, Option<Dissection>)> {
        let candidates: Vec<Arc<StoredPacket>> = {
            let inner = self.lock();
            let mut all: Vec<Arc<StoredPacket>> = inner
                .rings
                .iter()
                .filter(|((s, i), _)| {
                    sel.station.as_ref().is_none_or(|x| x == s)
                        && sel.interface.as_ref().is_none_or(|x| x == i)
                })
                .flat_map(|(_, r)| r.packets.iter().cloned())
                .filter(|p| {
                    sel.from_ns.is_none_or(|t| p.ts_ns >= t)
                        && sel.to_ns.is_none_or(|t| p.ts_ns <= t)
                        && sel.after_id.is_none_or(|a| p.id > a)
                })
                .collect();
            all.sort_by_key(|p| p.id);
            all
        };
        let mut out = Vec::new();
        let iter: Box<dyn Iterator<Item = Arc<StoredPacket>>> = if newest {
            Box::new(candidates.into_iter().rev())
        } else {
            Box::new(candidates.into_iter())
        };
        for p in iter {
            if out.len() >= limit {
                break;
            }
            match &sel.filter {
                Some(f) if !f.is_empty() => {
                    let d = p.dissect_values();
                    if f.matches(&d) {
                        out.push((p, Some(d)));
                    }
                }
                _ => out.push((p, None)),
            }
        }
        if newest {
            out.reverse();
        }
        out
    }

    /// Writes the selected packets as pcapng (one interface block per station and interface).
    pub fn pcapng(&self, sel: &Selection, comment: Option<&str>) -> std::io::Result<Vec<u8>> {
        let packets = self.select(sel, usize::MAX, false);
        let mut w = PcapngWriter::new(Vec::new(), "twister-controller")?;
        let mut ids: BTreeMap<(String, String), u32> = BTreeMap::new();
        for (i, (p, _)) in packets.iter().enumerate() {
            let key = (p.station.clone(), p.interface.clone());
            let id = match ids.get(&key) {
                Some(id) => *id,
                None => {
                    let id =
                        w.add_interface(&format!("{}:{}", p.station, p.interface), p.linktype, 262_144)?;
                    ids.insert(key, id);
                    id
                }
            };
            let c = if i == 0 { comment } else { None };
            w.write_packet(id, p.ts_ns, p.len, &p.data, c)?;
        }
        w.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use twister_proto::capture::Frame;

    fn batch(n: usize, start_ts: u64) -> PacketBatch {
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut frame = vec![0u8; 12];
        frame.extend_from_slice(&[0x08, 0x06]);
        frame.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]);
        frame.extend_from_slice(&[0; 20]);
        PacketBatch {
            interfaces: vec![CaptureInterface {
                name: "eth0".into(),
                linktype: 1,
                ..Default::default()
            }],
            packets: (0..n)
                .map(|i| Frame {
                    interface: 0,
                    ts_ns: start_ts + i as u64,
                    len: frame.len() as u32,
                    data: b64.encode(&frame),
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn rings_are_bounded_and_select_filters() {
        let hub = CaptureHub::new(10, 1 << 20);
        hub.ingest("st1", batch(25, 1000), 1);
        let s = &hub.stations()[0];
        assert_eq!(s.ring_packets, 10);
        assert_eq!(s.ring_evicted, 15);
        let all = hub.select(&Selection::default(), 100, false);
        assert_eq!(all.len(), 10);
        assert_eq!(all[0].0.id, 16);
        let sel = Selection {
            filter: Some(DisplayFilter::parse("arp").unwrap()),
            from_ns: Some(1020),
            ..Default::default()
        };
        assert_eq!(hub.select(&sel, 100, false).len(), 5);
        let sel = Selection {
            filter: Some(DisplayFilter::parse("tcp").unwrap()),
            ..Default::default()
        };
        assert!(hub.select(&sel, 100, false).is_empty());
        assert_eq!(hub.get(20).unwrap().ts_ns, 1019);
        assert!(hub.get(3).is_none());
        let newest = hub.select(&Selection::default(), 3, true);
        assert_eq!(newest.iter().map(|(p, _)| p.id).collect::<Vec<_>>(), [23, 24, 25]);
        let file = hub.pcapng(&Selection::default(), Some("all")).unwrap();
        assert_eq!(&file[0..4], &[0x0a, 0x0d, 0x0d, 0x0a]);
    }
}
