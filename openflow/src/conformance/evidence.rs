//! Evidence of one case: its control-channel messages (in synthetic TCP to port 6653) and data-plane frames
//! (one pcapng interface per port), in time order.

use std::io;
use std::path::Path;

use crate::channel::ControlRecord;
use crate::dataplane::FrameRecord;
use crate::pcapng::{ControlStream, PcapngWriter};

/// Writes the records as a pcapng file at `path`: interface 0 is the control channel, then one interface per
/// data port (`port N`), in ascending port order. Sent frames carry the comment `sent by the test`.
pub fn write_evidence(path: &Path, control: &[ControlRecord], frames: &[FrameRecord]) -> io::Result<()> {
    let file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut w = PcapngWriter::new(file)?;
    let ctl = w.add_interface("openflow control channel")?;
    let mut ports: Vec<u32> = frames.iter().map(|f| f.port).collect();
    ports.sort_unstable();
    ports.dedup();
    let mut ids = Vec::new();
    for p in &ports {
        ids.push((*p, w.add_interface(&format!("port {p}"))?));
    }
    let mut stream = ControlStream::new();
    let first = control
        .first()
        .map(|c| c.at)
        .or_else(|| frames.first().map(|f| f.at));
    if let Some(at) = first {
        for f in stream.open() {
            w.write_packet(ctl, at, &f)?;
        }
    }
    let (mut ci, mut fi) = (0, 0);
    loop {
        let c = control.get(ci);
        let f = frames.get(fi);
        let take_control = match (c, f) {
            (Some(c), Some(f)) => c.at <= f.at,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        if take_control {
            if let Some(c) = c {
                for seg in stream.segments(c.from_switch, &c.bytes) {
                    w.write_packet(ctl, c.at, &seg)?;
                }
            }
            ci += 1;
        } else {
            if let Some(f) = f {
                let id = ids.iter().find(|(p, _)| *p == f.port).map_or(0, |(_, i)| *i);
                let comment = f.sent.then_some("sent by the test");
                w.write_packet_with_comment(id, f.at, &f.frame, comment)?;
            }
            fi += 1;
        }
    }
    w.finish()?;
    Ok(())
}
