//! Packet capture over the station link: the batches a station's sniffer sends up ([`PacketBatch`] in
//! [`crate::link::Up::Packets`]) and the settings the controller sends down ([`CaptureSettings`] in
//! [`crate::link::Down::Capture`]).
//!
//! Packets are not numbered events: they are not spooled or acknowledged, and when the link cannot keep up
//! the station drops them and says how many in the next batch. Every stage counts its drops: the kernel
//! (`kernel_dropped`, `interface_dropped`), the capture queue (`local_dropped`) and the station's queue to the
//! link (`link_dropped`).

use serde::{Deserialize, Serialize};

/// Packets and counters from a station's sniffer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PacketBatch {
    /// The capture's interfaces, by index, with their counters so far.
    pub interfaces: Vec<CaptureInterface>,
    /// Packets dropped so far because the queue to the controller was full.
    pub link_dropped: u64,
    /// The capture filter in force.
    #[serde(default)]
    pub filter: String,
    /// Why the sniffer is not capturing (no right, bad filter, missing interface); `None` while it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The packets, oldest first.
    #[serde(default)]
    pub packets: Vec<Frame>,
}

/// One captured interface and its counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaptureInterface {
    /// Interface name.
    pub name: String,
    /// pcap link type (1: Ethernet).
    pub linktype: u32,
    /// Snap length.
    pub snaplen: u32,
    /// Packets captured.
    pub packets: u64,
    /// Wire bytes captured.
    pub bytes: u64,
    /// Dropped by the kernel for lack of buffer space.
    pub kernel_dropped: u64,
    /// Dropped by the interface or driver.
    pub interface_dropped: u64,
    /// Dropped between the capture thread and the sniffer (queue full).
    pub local_dropped: u64,
}

/// One packet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Frame {
    /// Index into [`PacketBatch::interfaces`].
    pub interface: u32,
    /// Capture time, ns since the Unix epoch.
    pub ts_ns: u64,
    /// Length on the wire.
    pub len: u32,
    /// The bytes kept, base64 (standard alphabet, padded).
    pub data: String,
}

/// What the controller may change in a running sniffer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaptureSettings {
    /// New BPF capture filter (empty: everything).
    pub filter: String,
}
