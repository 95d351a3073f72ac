//! A small reader for classic libpcap files (microsecond and nanosecond, either byte order): the TCP payloads of
//! each flow, in capture order, so that the OpenFlow messages in a capture can be decoded. Never panics on any
//! bytes; a damaged record ends the reading with an error naming its offset.

use std::collections::BTreeMap;

/// Errors reading a capture.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PcapError {
    /// Not a classic pcap file.
    #[error("not a pcap file (pcapng is not read here; convert it with `editcap -F pcap`)")]
    NotPcap,
    /// A record runs past the end of the file.
    #[error("record at byte {0} is truncated")]
    Truncated(usize),
    /// A link type this reader does not know.
    #[error("link type {0} is not supported (Ethernet, Linux cooked and raw IP are)")]
    LinkType(u32),
}

/// One direction of a TCP connection.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Flow {
    /// Source address and port, as text.
    pub src: String,
    /// Destination address and port, as text.
    pub dst: String,
}

/// TCP payload bytes of one flow, with the capture time of the first segment (seconds since the epoch).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stream {
    /// Time of the first segment.
    pub first_ts: f64,
    /// Payload bytes in capture order.
    pub bytes: Vec<u8>,
}

fn u16_at(b: &[u8], off: usize, be: bool) -> Option<u16> {
    let s: [u8; 2] = b.get(off..off + 2)?.try_into().ok()?;
    Some(if be {
        u16::from_be_bytes(s)
    } else {
        u16::from_le_bytes(s)
    })
}

fn u32_at(b: &[u8], off: usize, be: bool) -> Option<u32> {
    let s: [u8; 4] = b.get(off..off + 4)?.try_into().ok()?;
    Some(if be {
        u32::from_be_bytes(s)
    } else {
        u32::from_le_bytes(s)
    })
}

/// The TCP payloads of every flow to or from one of `ports`.
pub fn tcp_streams(file: &[u8], ports: &[u16]) -> Result<BTreeMap<Flow, Stream>, PcapError> {
    let magic = file.get(0..4).ok_or(PcapError::NotPcap)?;
    let (be, nanos) = match magic {
        [0xa1, 0xb2, 0xc3, 0xd4] => (true, false),
        [0xd4, 0xc3, 0xb2, 0xa1] => (false, false),
        [0xa1, 0xb2, 0x3c, 0x4d] => (true, true),
        [0x4d, 0x3c, 0xb2, 0xa1] => (false, true),
        _ => return Err(PcapError::NotPcap),
    };
    let link = u32_at(file, 20, be).ok_or(PcapError::NotPcap)?;
    if !matches!(link, 1 | 101 | 113) {
        return Err(PcapError::LinkType(link));
    }
    let mut out: BTreeMap<Flow, Stream> = BTreeMap::new();
    let mut pos = 24;
    while pos < file.len() {
        let (Some(sec), Some(frac), Some(incl)) = (
            u32_at(file, pos, be),
            u32_at(file, pos + 4, be),
            u32_at(file, pos + 8, be),
        ) else {
            return Err(PcapError::Truncated(pos));
        };
        let start = pos + 16;
        let end = start
            .checked_add(incl as usize)
            .ok_or(PcapError::Truncated(pos))?;
        let frame = file.get(start..end).ok_or(PcapError::Truncated(pos))?;
        let ts = sec as f64 + frac as f64 / if nanos { 1e9 } else { 1e6 };
        if let Some((flow, payload)) = tcp_payload(frame, link) {
            let port_of = |s: &str| s.rsplit(':').next().and_then(|p| p.parse::<u16>().ok());
            let ours = [&flow.src, &flow.dst]
                .iter()
                .any(|a| port_of(a).is_some_and(|p| ports.contains(&p)));
            if ours && !payload.is_empty() {
                let st = out.entry(flow).or_insert_with(|| Stream {
                    first_ts: ts,
                    bytes: Vec::new(),
                });
                st.bytes.extend_from_slice(payload);
            }
        }
        pos = end;
    }
    Ok(out)
}

fn tcp_payload(frame: &[u8], link: u32) -> Option<(Flow, &[u8])> {
    let (ethertype, ip) = match link {
        1 => {
            let mut et = u16_at(frame, 12, true)?;
            let mut off = 14;
            while et == 0x8100 || et == 0x88a8 {
                et = u16_at(frame, off + 2, true)?;
                off += 4;
            }
            (et, frame.get(off..)?)
        }
        113 => (u16_at(frame, 14, true)?, frame.get(16..)?),
        _ => (if frame.first()? >> 4 == 6 { 0x86dd } else { 0x0800 }, frame),
    };
    let (src, dst, tcp) = match ethertype {
        0x0800 => {
            let ihl = usize::from(ip.first()? & 0x0f) * 4;
            if *ip.get(9)? != 6 || ihl < 20 {
                return None;
            }
            let total = usize::from(u16_at(ip, 2, true)?).min(ip.len());
            let s = std::net::Ipv4Addr::from(<[u8; 4]>::try_from(ip.get(12..16)?).ok()?);
            let d = std::net::Ipv4Addr::from(<[u8; 4]>::try_from(ip.get(16..20)?).ok()?);
            (s.to_string(), d.to_string(), ip.get(ihl..total)?)
        }
        0x86dd => {
            if *ip.get(6)? != 6 {
                return None;
            }
            let plen = usize::from(u16_at(ip, 4, true)?);
            let s = std::net::Ipv6Addr::from(<[u8; 16]>::try_from(ip.get(8..24)?).ok()?);
            let d = std::net::Ipv6Addr::from(<[u8; 16]>::try_from(ip.get(24..40)?).ok()?);
            (
                format!("[{s}]"),
                format!("[{d}]"),
                ip.get(40..(40 + plen).min(ip.len()))?,
            )
        }
        _ => return None,
    };
    let sport = u16_at(tcp, 0, true)?;
    let dport = u16_at(tcp, 2, true)?;
    let doff = usize::from(tcp.get(12)? >> 4) * 4;
    let payload = tcp.get(doff..)?;
    Some((
        Flow {
            src: format!("{src}:{sport}"),
            dst: format!("{dst}:{dport}"),
        },
        payload,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A pcap with one Ethernet/IPv4/TCP frame carrying `payload` from port 6653.
    pub fn one_frame(payload: &[u8]) -> Vec<u8> {
        let mut f = vec![
            0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0,
        ];
        let mut frame = vec![0u8; 12];
        frame.extend_from_slice(&[0x08, 0x00]);
        let total = (20 + 20 + payload.len()) as u16;
        let mut ip = vec![0x45, 0, 0, 0, 0, 0, 0, 0, 64, 6, 0, 0, 127, 0, 0, 1, 127, 0, 0, 2];
        ip[2..4].copy_from_slice(&total.to_be_bytes());
        frame.extend_from_slice(&ip);
        let mut tcp = vec![0u8; 20];
        tcp[0..2].copy_from_slice(&6653u16.to_be_bytes());
        tcp[2..4].copy_from_slice(&40000u16.to_be_bytes());
        tcp[12] = 5 << 4;
        frame.extend_from_slice(&tcp);
        frame.extend_from_slice(payload);
        let len = frame.len() as u32;
        f.extend_from_slice(&1u32.to_le_bytes());
        f.extend_from_slice(&0u32.to_le_bytes());
        f.extend_from_slice(&len.to_le_bytes());
        f.extend_from_slice(&len.to_le_bytes());
        f.extend_from_slice(&frame);
        f
    }

    #[test]
    fn reads_a_flow() {
        let f = one_frame(b"hello");
        let s = tcp_streams(&f, &[6653]).unwrap();
        let (flow, st) = s.iter().next().unwrap();
        assert_eq!(flow.src, "127.0.0.1:6653");
        assert_eq!(st.bytes, b"hello");
        assert!(tcp_streams(&f, &[1]).unwrap().is_empty());
        assert_eq!(tcp_streams(b"nope", &[1]), Err(PcapError::NotPcap));
        assert!(matches!(
            tcp_streams(&f[..f.len() - 1], &[6653]),
            Err(PcapError::Truncated(24))
        ));
    }

    proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300), cut in 0usize..200) {
            let _ = tcp_streams(&bytes, &[6653]);
            let mut f = one_frame(&bytes);
            let n = f.len();
            f.truncate(n.saturating_sub(cut));
            let _ = tcp_streams(&f, &[6653]);
        }
    }
}
