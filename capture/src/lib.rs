//! Packet capture for Twister: live capture through libpcap, protocol decoding into a field tree, a
//! Wireshark-like display-filter language, and a pcapng writer.
//!
//! - [`source`]: open one or several interfaces ([`CaptureSource::start`]) with promiscuous mode, snap length,
//!   kernel buffer size and a BPF capture filter; packets arrive in blocks ([`block`], one buffer per read of
//!   the kernel ring) on a queue bounded in packets, and reading never blocks shutdown on an idle interface.
//!   Kernel and local (queue-full) drops are counted.
//! - [`decode`]: Ethernet, VLAN/QinQ, ARP, IPv4, IPv6, ICMP, ICMPv6, TCP, UDP and OpenFlow (through
//!   `twister-openflow`) into [`Field`]s that carry a Wireshark-style name, a display value, a byte offset and a
//!   length, plus a one-line [`Summary`]. Decoding never panics, whatever the bytes.
//! - [`filter`]: display filters such as `ip.src == 10.0.0.0/8 and not tcp.port == 22`, with parse errors that
//!   give the position.
//! - [`pcapng`]: a pcapng writer (section header, one interface block per interface, enhanced packet blocks
//!   with nanosecond timestamps and comments).
//!
//! It does not hold the station sniffer or the controller's packet ring; those live in `twister-station` and
//! `twister-controller` and use this crate.
//!
//! ```
//! use twister_capture::{decode::dissect, filter::DisplayFilter, LINKTYPE_ETHERNET};
//! let frame = [0u8; 14];
//! let d = dissect(LINKTYPE_ETHERNET, &frame, 14);
//! let f = DisplayFilter::parse("eth and frame.len >= 14").unwrap();
//! assert!(f.matches(&d));
//! ```

pub mod block;
pub mod decode;
pub mod error;
pub mod filter;
pub mod pcapng;
pub mod source;

pub use block::{BlockPool, PacketBlock, PacketRef};
pub use decode::{dissect, dissect_with, Detail, Dissection, Field, Summary, Value};
pub use error::CaptureError;
pub use filter::{DisplayFilter, FilterError};
pub use pcapng::PcapngWriter;
pub use source::{
    check_filter, list_interfaces, CaptureSource, CapturedPacket, InterfaceConfig, InterfaceInfo,
    InterfaceStats,
};

/// Link type of Ethernet frames (pcap `LINKTYPE_ETHERNET`).
pub const LINKTYPE_ETHERNET: u32 = 1;
/// Link type of bare IPv4/IPv6 packets (pcap `LINKTYPE_RAW`).
pub const LINKTYPE_RAW: u32 = 101;
