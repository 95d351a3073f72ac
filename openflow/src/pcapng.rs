//! A small pcapng writer (section header, one interface description per named interface, enhanced packet
//! blocks, all Ethernet) and [`ControlStream`], which wraps OpenFlow messages in synthetic
//! Ethernet/IPv4/TCP segments to port 6653 so that Wireshark's OpenFlow dissectors read them.
//!
//! ```
//! use twister_openflow::pcapng::{ControlStream, PcapngWriter};
//! let mut w = PcapngWriter::new(Vec::new()).unwrap();
//! let ctl = w.add_interface("openflow").unwrap();
//! let mut tcp = ControlStream::new();
//! let hello = [4u8, 0, 0, 8, 0, 0, 0, 1];
//! w.write_packet(ctl, std::time::SystemTime::now(), &tcp.segment(true, &hello)).unwrap();
//! ```

use std::io::{self, Write};
use std::net::Ipv4Addr;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::dataplane::packet;
use crate::MacAddr;

const LINKTYPE_ETHERNET: u16 = 1;
const BLOCK_SHB: u32 = 0x0a0d_0d0a;
const BLOCK_IDB: u32 = 1;
const BLOCK_EPB: u32 = 6;
const OPT_END: u16 = 0;
const OPT_COMMENT: u16 = 1;
const IF_NAME: u16 = 2;
const IF_TSRESOL: u16 = 9;

/// Writes a pcapng file: one section, Ethernet interfaces, microsecond timestamps.
#[derive(Debug)]
pub struct PcapngWriter<W: Write> {
    out: W,
    interfaces: u32,
}

fn option(buf: &mut Vec<u8>, code: u16, value: &[u8]) {
    let len = u16::try_from(value.len()).unwrap_or(u16::MAX);
    buf.extend_from_slice(&code.to_le_bytes());
    buf.extend_from_slice(&len.to_le_bytes());
    buf.extend_from_slice(value.get(..usize::from(len)).unwrap_or(value));
    while buf.len() % 4 != 0 {
        buf.push(0);
    }
}

impl<W: Write> PcapngWriter<W> {
    /// Starts a file with its section header block.
    pub fn new(out: W) -> io::Result<PcapngWriter<W>> {
        let mut w = PcapngWriter { out, interfaces: 0 };
        let mut body = Vec::new();
        body.extend_from_slice(&0x1a2b_3c4du32.to_le_bytes());
        body.extend_from_slice(&1u16.to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
        body.extend_from_slice(&(-1i64).to_le_bytes());
        option(&mut body, OPT_END, &[]);
        w.block(BLOCK_SHB, &body)?;
        Ok(w)
    }

    fn block(&mut self, kind: u32, body: &[u8]) -> io::Result<()> {
        let total = u32::try_from(12 + body.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "pcapng block too large"))?;
        self.out.write_all(&kind.to_le_bytes())?;
        self.out.write_all(&total.to_le_bytes())?;
        self.out.write_all(body)?;
        self.out.write_all(&total.to_le_bytes())
    }

    /// Declares an Ethernet interface with this name; returns its interface id.
    pub fn add_interface(&mut self, name: &str) -> io::Result<u32> {
        let mut body = Vec::new();
        body.extend_from_slice(&LINKTYPE_ETHERNET.to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
        body.extend_from_slice(&0u32.to_le_bytes());
        option(&mut body, IF_NAME, name.as_bytes());
        option(&mut body, IF_TSRESOL, &[6]);
        option(&mut body, OPT_END, &[]);
        self.block(BLOCK_IDB, &body)?;
        self.interfaces += 1;
        Ok(self.interfaces - 1)
    }

    /// Writes one frame seen on `interface` at `at`.
    pub fn write_packet(&mut self, interface: u32, at: SystemTime, frame: &[u8]) -> io::Result<()> {
        self.write_packet_with_comment(interface, at, frame, None)
    }

    /// Writes one frame with an optional packet comment.
    pub fn write_packet_with_comment(
        &mut self,
        interface: u32,
        at: SystemTime,
        frame: &[u8],
        comment: Option<&str>,
    ) -> io::Result<()> {
        if interface >= self.interfaces {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "undeclared pcapng interface",
            ));
        }
        let micros = at.duration_since(UNIX_EPOCH).map(|d| d.as_micros()).unwrap_or(0);
        let micros = u64::try_from(micros).unwrap_or(u64::MAX);
        let len = u32::try_from(frame.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "frame too large"))?;
        let mut body = Vec::with_capacity(32 + frame.len());
        body.extend_from_slice(&interface.to_le_bytes());
        body.extend_from_slice(&((micros >> 32) as u32).to_le_bytes());
        body.extend_from_slice(&(micros as u32).to_le_bytes());
        body.extend_from_slice(&len.to_le_bytes());
        body.extend_from_slice(&len.to_le_bytes());
        body.extend_from_slice(frame);
        while body.len() % 4 != 0 {
            body.push(0);
        }
        if let Some(c) = comment {
            option(&mut body, OPT_COMMENT, c.as_bytes());
            option(&mut body, OPT_END, &[]);
        }
        self.block(BLOCK_EPB, &body)
    }

    /// Flushes and returns the output.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// The longest payload of one synthetic TCP segment.
const SEGMENT_MAX: usize = 32 * 1024;
/// Addresses of the synthetic control connection: the switch at 10.0.0.2:40000, the controller at
/// 10.0.0.1:6653.
const SWITCH_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const CONTROLLER_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const SWITCH_PORT: u16 = 40000;
/// TCP port of the synthetic control connection.
pub const CONTROL_PORT: u16 = crate::channel::DEFAULT_PORT;
const SWITCH_MAC: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 2]);
const CONTROLLER_MAC: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 1]);

/// One synthetic TCP connection between a switch and its controller; keeps the sequence numbers so each
/// message is one in-order segment.
#[derive(Debug, Clone)]
pub struct ControlStream {
    switch_seq: u32,
    controller_seq: u32,
    opened: bool,
}

impl Default for ControlStream {
    fn default() -> Self {
        ControlStream::new()
    }
}

impl ControlStream {
    /// A connection not yet opened; the first segment is preceded by a three-way handshake.
    pub fn new() -> ControlStream {
        ControlStream {
            switch_seq: 1000,
            controller_seq: 5000,
            opened: false,
        }
    }

    fn frame(&self, from_switch: bool, flags: u8, payload: &[u8]) -> Vec<u8> {
        let (src, dst, sport, dport, smac, dmac, seq, ack) = if from_switch {
            (
                SWITCH_IP,
                CONTROLLER_IP,
                SWITCH_PORT,
                CONTROL_PORT,
                SWITCH_MAC,
                CONTROLLER_MAC,
                self.switch_seq,
                self.controller_seq,
            )
        } else {
            (
                CONTROLLER_IP,
                SWITCH_IP,
                CONTROL_PORT,
                SWITCH_PORT,
                CONTROLLER_MAC,
                SWITCH_MAC,
                self.controller_seq,
                self.switch_seq,
            )
        };
        let ack = if flags & 0x10 != 0 { ack } else { 0 };
        let mut t = packet::tcp(src, dst, sport, dport, seq, flags, payload);
        if let Some(a) = t.get_mut(8..12) {
            a.copy_from_slice(&ack.to_be_bytes());
        }
        // Recompute the checksum with the acknowledgement number in place.
        if let Some(c) = t.get_mut(16..18) {
            c.copy_from_slice(&[0, 0]);
        }
        let c = packet::l4_checksum(src, dst, packet::IP_PROTO_TCP, &t);
        if let Some(cs) = t.get_mut(16..18) {
            cs.copy_from_slice(&c.to_be_bytes());
        }
        let ip = packet::ipv4(src, dst, packet::IP_PROTO_TCP, 64, 0, &t);
        packet::ethernet(dmac, smac, packet::ETH_TYPE_IPV4, &ip)
    }

    /// The three handshake segments (SYN, SYN-ACK, ACK); empty once the connection is open.
    pub fn open(&mut self) -> Vec<Vec<u8>> {
        if self.opened {
            return Vec::new();
        }
        self.opened = true;
        let syn = self.frame(true, 0x02, &[]);
        self.switch_seq = self.switch_seq.wrapping_add(1);
        let syn_ack = self.frame(false, 0x12, &[]);
        self.controller_seq = self.controller_seq.wrapping_add(1);
        let ack = self.frame(true, 0x10, &[]);
        vec![syn, syn_ack, ack]
    }

    /// Data segments (PSH, ACK) carrying `payload` in the given direction, at most 32 KiB each, so that
    /// a record longer than an IPv4 packet can hold (several messages sent at once) still makes valid
    /// packets; readers reassemble the stream.
    pub fn segments(&mut self, from_switch: bool, payload: &[u8]) -> Vec<Vec<u8>> {
        if payload.is_empty() {
            return vec![self.segment(from_switch, payload)];
        }
        payload
            .chunks(SEGMENT_MAX)
            .map(|chunk| self.segment(from_switch, chunk))
            .collect()
    }

    /// One data segment (PSH, ACK) carrying `payload` (one or more whole OpenFlow messages) in the given
    /// direction; the payload must fit one IPv4 packet ([`ControlStream::segments`] takes any length).
    pub fn segment(&mut self, from_switch: bool, payload: &[u8]) -> Vec<u8> {
        let f = self.frame(from_switch, 0x18, payload);
        let n = u32::try_from(payload.len()).unwrap_or(0);
        if from_switch {
            self.switch_seq = self.switch_seq.wrapping_add(n);
        } else {
            self.controller_seq = self.controller_seq.wrapping_add(n);
        }
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_well_formed() {
        let mut w = PcapngWriter::new(Vec::new()).expect("vec");
        let i = w.add_interface("control").expect("vec");
        assert_eq!(i, 0);
        let mut s = ControlStream::new();
        for f in s.open() {
            w.write_packet(i, UNIX_EPOCH, &f).expect("vec");
        }
        // A record longer than one IPv4 packet holds is cut into segments whose lengths add up.
        let long = vec![0xffu8; 100 * 1024];
        let segs = s.segments(true, &long);
        assert_eq!(segs.len(), 4);
        let carried: usize = segs
            .iter()
            .map(|f| usize::from(u16::from_be_bytes([f[16], f[17]])) - 20 - 20)
            .sum();
        assert_eq!(carried, long.len());
        let seg = s.segment(false, &[4, 0, 0, 8, 0, 0, 0, 9]);
        w.write_packet_with_comment(i, SystemTime::now(), &seg, Some("hello"))
            .expect("vec");
        assert!(w.write_packet(3, UNIX_EPOCH, &seg).is_err());
        let bytes = w.finish().expect("vec");
        // Walk the blocks: each starts and ends with the same total length, a multiple of 4.
        let mut at = 0;
        let mut kinds = Vec::new();
        while at < bytes.len() {
            let kind = u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4"));
            let len = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().expect("4")) as usize;
            assert_eq!(len % 4, 0);
            let trailer = u32::from_le_bytes(bytes[at + len - 4..at + len].try_into().expect("4"));
            assert_eq!(trailer as usize, len);
            kinds.push(kind);
            at += len;
        }
        assert_eq!(kinds, vec![BLOCK_SHB, BLOCK_IDB, 6, 6, 6, 6]);
        // The controller's segment leaves port 6653 and its TCP checksum is valid.
        let tcp = &seg[34..];
        assert_eq!(u16::from_be_bytes([tcp[0], tcp[1]]), 6653);
        assert_eq!(
            packet::l4_checksum(CONTROLLER_IP, SWITCH_IP, packet::IP_PROTO_TCP, &tcp[..28]),
            0
        );
    }
}
