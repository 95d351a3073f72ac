//! Decoding captured bytes into a field tree and a one-line summary, for the packet list, the detail view and
//! display filters.
//!
//! Every [`Field`] has a Wireshark-style name (`ip.src`, `tcp.srcport`), a display value, the byte offset and
//! length it covers in the frame (for hex-view highlighting) and a typed [`Value`] that display filters compare
//! against. Each protocol is a top-level field (a layer: `eth`, `vlan`, `ip`, `tcp`, `openflow` …) whose
//! children are its fields. Decoding reads only through bounds-checked accessors: truncated or garbage bytes
//! give a `malformed` layer, never a panic.

mod link;
mod network;
mod openflow;
mod transport;

use std::borrow::Cow;
use std::fmt::{Arguments, Write as _};
use std::net::{Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

use crate::{LINKTYPE_ETHERNET, LINKTYPE_RAW};

/// A field's typed value, for display-filter comparisons.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum Value {
    /// A protocol layer or a field with no comparable value.
    None,
    /// An unsigned number (ports, lengths, types, flags).
    Uint(u64),
    /// An IPv4 address.
    Ipv4(Ipv4Addr),
    /// An IPv6 address.
    Ipv6(Ipv6Addr),
    /// A MAC address.
    Mac([u8; 6]),
    /// Text (names).
    Text(String),
}

/// One node of the field tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Field {
    /// Wireshark-style name (`ip.src`); a layer's name is its protocol (`ip`).
    pub name: Cow<'static, str>,
    /// What the detail view shows (`Source Address: 10.0.0.1`); empty in a [`Detail::Values`] dissection.
    pub display: String,
    /// Offset of the first byte in the frame.
    pub offset: usize,
    /// Number of bytes covered.
    pub len: usize,
    /// Typed value.
    pub value: Value,
    /// Sub-fields.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<Field>,
}

impl Field {
    /// A leaf field.
    pub fn new(name: &'static str, display: String, offset: usize, len: usize, value: Value) -> Field {
        Field {
            name: Cow::Borrowed(name),
            display,
            offset,
            len,
            value,
            children: Vec::new(),
        }
    }
}

/// The packet-list line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Source address (IP, else MAC).
    pub source: String,
    /// Destination address.
    pub destination: String,
    /// Top-most protocol decoded (`TCP`, `OpenFlow`, `ARP` …).
    pub protocol: String,
    /// Length on the wire.
    pub length: u32,
    /// One-line description.
    pub info: String,
}

/// A decoded packet: its layers and its summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dissection {
    /// Protocol layers in order, each with its fields as children.
    pub layers: Vec<Field>,
    /// The packet-list line.
    pub summary: Summary,
}

impl Dissection {
    /// Every field of every layer, depth first (layers included).
    pub fn fields(&self) -> Vec<&Field> {
        fn walk<'a>(f: &'a Field, out: &mut Vec<&'a Field>) {
            out.push(f);
            for c in &f.children {
                walk(c, out);
            }
        }
        let mut out = Vec::new();
        for l in &self.layers {
            walk(l, &mut out);
        }
        out
    }

    /// Whether a layer of protocol `name` is present.
    pub fn has_layer(&self, name: &str) -> bool {
        self.layers.iter().any(|l| l.name == name)
    }
}

/// How much a dissection holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// Everything, with each field's display text: for the detail view.
    Full,
    /// Names, offsets, typed values and the summary, but no display texts: for display filters and the
    /// packet list, at a fraction of the cost (formatting every field's text is most of the work).
    Values,
}

/// Decodes one frame of pcap link type `linktype` (1 Ethernet, 101 raw IP; others are shown as data).
/// `original_len` is the length on the wire (the frame may be truncated by the snap length).
pub fn dissect(linktype: u32, data: &[u8], original_len: u32) -> Dissection {
    dissect_with(linktype, data, original_len, Detail::Full)
}

/// [`dissect`] with the given [`Detail`]: the same layers, fields, values and summary either way.
pub fn dissect_with(linktype: u32, data: &[u8], original_len: u32, detail: Detail) -> Dissection {
    let mut d = Dissector {
        full: detail == Detail::Full,
        data,
        layers: Vec::new(),
        source: String::new(),
        destination: String::new(),
        protocol: String::new(),
        info: String::new(),
    };
    let mut frame = d.layer(
        "frame",
        format_args!(
            "Frame: {original_len} bytes on wire, {} bytes captured",
            data.len()
        ),
        0,
        data.len(),
    );
    frame
        .children
        .push(d.uint("frame.len", "Frame Length", 0, 0, u64::from(original_len)));
    frame
        .children
        .push(d.uint("frame.cap_len", "Capture Length", 0, 0, data.len() as u64));
    d.layers.push(frame);
    match linktype {
        LINKTYPE_ETHERNET => link::ethernet(&mut d, 0),
        LINKTYPE_RAW | 12 => match data.first().map(|b| b >> 4) {
            Some(4) => network::ipv4(&mut d, 0),
            Some(6) => network::ipv6(&mut d, 0),
            _ => d.data_layer(0),
        },
        _ => d.data_layer(0),
    }
    if d.protocol.is_empty() {
        d.protocol = "Frame".into();
    }
    Dissection {
        layers: d.layers,
        summary: Summary {
            source: d.source,
            destination: d.destination,
            protocol: d.protocol,
            length: original_len,
            info: d.info,
        },
    }
}

/// Decoding state: the frame, the layers so far and the summary being built.
pub(crate) struct Dissector<'a> {
    /// Whether fields get their display text.
    full: bool,
    data: &'a [u8],
    layers: Vec<Field>,
    source: String,
    destination: String,
    protocol: String,
    info: String,
}

impl<'a> Dissector<'a> {
    /// A field whose display text is formatted only in a full dissection.
    fn field(
        &self,
        name: &'static str,
        display: Arguments<'_>,
        offset: usize,
        len: usize,
        value: Value,
    ) -> Field {
        let display = if self.full {
            display.to_string()
        } else {
            String::new()
        };
        Field::new(name, display, offset, len, value)
    }

    /// A numeric field shown as `label: value`.
    fn uint(&self, name: &'static str, label: &str, offset: usize, len: usize, v: u64) -> Field {
        self.field(name, format_args!("{label}: {v}"), offset, len, Value::Uint(v))
    }

    /// A numeric field shown as `label: 0x.. (meaning)`.
    fn hex(
        &self,
        name: &'static str,
        label: &str,
        offset: usize,
        len: usize,
        v: u64,
        meaning: &str,
    ) -> Field {
        let width = len * 2;
        if meaning.is_empty() {
            self.field(
                name,
                format_args!("{label}: 0x{v:0width$x}"),
                offset,
                len,
                Value::Uint(v),
            )
        } else {
            self.field(
                name,
                format_args!("{label}: 0x{v:0width$x} ({meaning})"),
                offset,
                len,
                Value::Uint(v),
            )
        }
    }

    /// A protocol layer.
    fn layer(&self, name: &'static str, display: Arguments<'_>, offset: usize, len: usize) -> Field {
        self.field(name, display, offset, len, Value::None)
    }

    fn u8(&self, off: usize) -> Option<u8> {
        self.data.get(off).copied()
    }

    fn be16(&self, off: usize) -> Option<u16> {
        let b = self.data.get(off..off.checked_add(2)?)?;
        Some(u16::from_be_bytes([b[0], b[1]]))
    }

    fn be32(&self, off: usize) -> Option<u32> {
        let b = self.data.get(off..off.checked_add(4)?)?;
        Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn bytes(&self, off: usize, len: usize) -> Option<&'a [u8]> {
        self.data.get(off..off.checked_add(len)?)
    }

    fn mac(&self, off: usize) -> Option<[u8; 6]> {
        let b = self.bytes(off, 6)?;
        let mut m = [0u8; 6];
        m.copy_from_slice(b);
        Some(m)
    }

    fn ipv4(&self, off: usize) -> Option<Ipv4Addr> {
        self.be32(off).map(Ipv4Addr::from)
    }

    fn ipv6(&self, off: usize) -> Option<Ipv6Addr> {
        let b = self.bytes(off, 16)?;
        let mut a = [0u8; 16];
        a.copy_from_slice(b);
        Some(Ipv6Addr::from(a))
    }

    /// Bytes from `off` to the end of the captured frame.
    fn remaining(&self, off: usize) -> usize {
        self.data.len().saturating_sub(off)
    }

    /// Records a layer that could not be decoded because the frame ends or is inconsistent.
    fn malformed(&mut self, off: usize, what: &str) {
        let len = self.remaining(off);
        self.layers.push(self.field(
            "malformed",
            format_args!("Malformed packet: {what}"),
            off.min(self.data.len()),
            len,
            Value::None,
        ));
        if self.info.is_empty() {
            self.info = format!("[Malformed: {what}]");
        } else {
            let _ = write!(self.info, " [Malformed: {what}]");
        }
    }

    /// Records bytes after the end of the last protocol (Ethernet padding), if any.
    fn padding(&mut self, off: usize) {
        let len = self.remaining(off);
        if len > 0 {
            self.layers.push(self.field(
                "eth.padding",
                format_args!("Padding: {len} bytes"),
                off,
                len,
                Value::None,
            ));
        }
    }

    /// Records undecoded payload bytes from `off`, if any.
    fn data_layer(&mut self, off: usize) {
        self.data_layer_until(off, self.data.len());
    }

    /// Records undecoded payload bytes from `off` to `end`, if any.
    fn data_layer_until(&mut self, off: usize, end: usize) {
        let len = end.min(self.data.len()).saturating_sub(off);
        if len == 0 {
            return;
        }
        let mut layer = self.layer("data", format_args!("Data ({len} bytes)"), off, len);
        layer
            .children
            .push(self.uint("data.len", "Length", off, len, len as u64));
        self.layers.push(layer);
    }
}

/// `aa:bb:cc:dd:ee:ff`.
pub fn format_mac(m: &[u8; 6]) -> String {
    Mac(m).to_string()
}

/// Shows a MAC address as `aa:bb:cc:dd:ee:ff` without building a string first.
pub(crate) struct Mac<'a>(pub(crate) &'a [u8; 6]);

impl std::fmt::Display for Mac<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let m = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            m[0], m[1], m[2], m[3], m[4], m[5]
        )
    }
}

#[cfg(test)]
mod tests;
