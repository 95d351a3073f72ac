//! A pcapng writer: one section header block, an interface description block per interface (name, snap
//! length, link type, nanosecond timestamp resolution) and enhanced packet blocks with optional comments.
//! Blocks are written little-endian (the byte-order magic tells readers).
//!
//! ```
//! use twister_capture::PcapngWriter;
//! let mut out = Vec::new();
//! let mut w = PcapngWriter::new(&mut out, "twister").unwrap();
//! let eth0 = w.add_interface("eth0", 1, 262144).unwrap();
//! w.write_packet(eth0, 1_700_000_000_000_000_000, 60, &[0u8; 60], Some("first")).unwrap();
//! ```

use std::io::{self, Write};

const SHB: u32 = 0x0A0D_0D0A;
const IDB: u32 = 0x0000_0001;
const EPB: u32 = 0x0000_0006;
const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;

const OPT_END: u16 = 0;
const OPT_COMMENT: u16 = 1;
const SHB_USERAPPL: u16 = 4;
const IF_NAME: u16 = 2;
const IF_TSRESOL: u16 = 9;

/// Writes pcapng to any `Write`.
#[derive(Debug)]
pub struct PcapngWriter<W: Write> {
    out: W,
    interfaces: u32,
    bytes: u64,
    /// The block being built, reused so that writing a packet allocates nothing.
    scratch: Vec<u8>,
}

fn pad4(n: usize) -> usize {
    (4 - n % 4) % 4
}

/// Appends one option (code, length, value, padding).
fn option(buf: &mut Vec<u8>, code: u16, value: &[u8]) -> io::Result<()> {
    let len = u16::try_from(value.len()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "pcapng option longer than 65535 bytes",
        )
    })?;
    buf.extend_from_slice(&code.to_le_bytes());
    buf.extend_from_slice(&len.to_le_bytes());
    buf.extend_from_slice(value);
    buf.extend(std::iter::repeat_n(0u8, pad4(value.len())));
    Ok(())
}

fn end_options(buf: &mut Vec<u8>) {
    buf.extend_from_slice(&OPT_END.to_le_bytes());
    buf.extend_from_slice(&0u16.to_le_bytes());
}

impl<W: Write> PcapngWriter<W> {
    /// Starts a section; `application` goes in the section header's `shb_userappl` option.
    pub fn new(out: W, application: &str) -> io::Result<PcapngWriter<W>> {
        let mut w = PcapngWriter {
            out,
            interfaces: 0,
            bytes: 0,
            scratch: Vec::new(),
        };
        let mut body = Vec::new();
        body.extend_from_slice(&BYTE_ORDER_MAGIC.to_le_bytes());
        body.extend_from_slice(&1u16.to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
        // Section length unknown: the writer streams.
        body.extend_from_slice(&(-1i64).to_le_bytes());
        if !application.is_empty() {
            option(&mut body, SHB_USERAPPL, application.as_bytes())?;
            end_options(&mut body);
        }
        w.block(SHB, &body)?;
        Ok(w)
    }

    /// Declares an interface and returns its id for [`Self::write_packet`].
    pub fn add_interface(&mut self, name: &str, linktype: u32, snaplen: u32) -> io::Result<u32> {
        let linktype = u16::try_from(linktype)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "link type does not fit pcapng"))?;
        let mut body = Vec::new();
        body.extend_from_slice(&linktype.to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
        body.extend_from_slice(&snaplen.to_le_bytes());
        if !name.is_empty() {
            option(&mut body, IF_NAME, name.as_bytes())?;
        }
        // Timestamps in nanoseconds (10^-9).
        option(&mut body, IF_TSRESOL, &[9])?;
        end_options(&mut body);
        self.block(IDB, &body)?;
        let id = self.interfaces;
        self.interfaces += 1;
        Ok(id)
    }

    /// Writes one packet seen on `interface` at `timestamp_ns` (since the Unix epoch) with an optional
    /// comment.
    pub fn write_packet(
        &mut self,
        interface: u32,
        timestamp_ns: u64,
        original_len: u32,
        data: &[u8],
        comment: Option<&str>,
    ) -> io::Result<()> {
        if interface >= self.interfaces {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "pcapng packet on an undeclared interface",
            ));
        }
        let caplen = u32::try_from(data.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "packet too long for pcapng"))?;
        self.emit(EPB, |body| {
            body.extend_from_slice(&interface.to_le_bytes());
            body.extend_from_slice(&((timestamp_ns >> 32) as u32).to_le_bytes());
            body.extend_from_slice(&(timestamp_ns as u32).to_le_bytes());
            body.extend_from_slice(&caplen.to_le_bytes());
            body.extend_from_slice(&original_len.max(caplen).to_le_bytes());
            body.extend_from_slice(data);
            body.extend(std::iter::repeat_n(0u8, pad4(data.len())));
            if let Some(c) = comment.filter(|c| !c.is_empty()) {
                option(body, OPT_COMMENT, c.as_bytes())?;
                end_options(body);
            }
            Ok(())
        })
    }

    /// Bytes written so far.
    pub fn bytes_written(&self) -> u64 {
        self.bytes
    }

    /// Flushes the underlying writer.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// Flushes and returns the underlying writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }

    fn block(&mut self, kind: u32, body: &[u8]) -> io::Result<()> {
        self.emit(kind, |b| {
            b.extend_from_slice(body);
            Ok(())
        })
    }

    /// Builds a block of `kind` whose body `fill` appends, in the reused scratch buffer, and writes it with
    /// one call.
    fn emit(&mut self, kind: u32, fill: impl FnOnce(&mut Vec<u8>) -> io::Result<()>) -> io::Result<()> {
        let mut b = std::mem::take(&mut self.scratch);
        b.clear();
        b.extend_from_slice(&kind.to_le_bytes());
        b.extend_from_slice(&[0; 4]);
        let filled = fill(&mut b);
        let written = filled.and_then(|()| {
            let total = u32::try_from(b.len() + 4)
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "pcapng block too long"))?;
            b[4..8].copy_from_slice(&total.to_le_bytes());
            b.extend_from_slice(&total.to_le_bytes());
            self.out.write_all(&b)?;
            self.bytes += u64::from(total);
            Ok(())
        });
        // A one-off huge packet must not keep its buffer for ever.
        if b.capacity() <= 1 << 20 {
            self.scratch = b;
        }
        written
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_layout() {
        let mut w = PcapngWriter::new(Vec::new(), "").unwrap();
        let i = w.add_interface("veth0", 1, 65535).unwrap();
        w.write_packet(i, 0x0000_0001_0000_0002, 61, &[0xaa; 61], Some("hi"))
            .unwrap();
        let out = w.finish().unwrap();
        // SHB without options: 28 bytes.
        assert_eq!(&out[0..4], &SHB.to_le_bytes());
        assert_eq!(u32::from_le_bytes(out[4..8].try_into().unwrap()), 28);
        assert_eq!(&out[8..12], &BYTE_ORDER_MAGIC.to_le_bytes());
        let idb = &out[28..];
        assert_eq!(&idb[0..4], &IDB.to_le_bytes());
        // 8 header + 8 fixed + name option 4+8 + tsresol 4+4 + end 4 + 4 trailer = 44.
        let idb_len = u32::from_le_bytes(idb[4..8].try_into().unwrap()) as usize;
        assert_eq!(idb_len, 44);
        assert_eq!(&idb[idb_len - 4..idb_len], &(idb_len as u32).to_le_bytes());
        let epb = &idb[idb_len..];
        assert_eq!(&epb[0..4], &EPB.to_le_bytes());
        assert_eq!(
            u32::from_le_bytes(epb[12..16].try_into().unwrap()),
            1,
            "timestamp high"
        );
        assert_eq!(
            u32::from_le_bytes(epb[16..20].try_into().unwrap()),
            2,
            "timestamp low"
        );
        assert_eq!(u32::from_le_bytes(epb[20..24].try_into().unwrap()), 61);
        let epb_len = u32::from_le_bytes(epb[4..8].try_into().unwrap()) as usize;
        // 28 fixed + 64 data + comment 4+4 + end 4 + 4 trailer.
        assert_eq!(epb_len, 28 + 64 + 8 + 4 + 4);
        assert_eq!(epb.len(), epb_len);
    }

    #[test]
    fn undeclared_interface_is_an_error() {
        let mut w = PcapngWriter::new(Vec::new(), "t").unwrap();
        assert!(w.write_packet(0, 0, 1, &[0], None).is_err());
    }
}
