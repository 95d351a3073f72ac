//! A size-bounded ring of pcapng files on the station: `capture-00000001.pcapng`, `…02`, …; a file is closed
//! when it reaches `file_bytes` and the oldest files are deleted beyond `files`, so the ring never holds much
//! more than `files × file_bytes`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use twister_capture::PcapngWriter;

/// The ring of pcapng files in one directory.
#[derive(Debug)]
pub struct PcapRing {
    dir: PathBuf,
    files: usize,
    file_bytes: u64,
    next_index: u64,
    interfaces: Vec<(String, u32, u32)>,
    current: Option<PcapngWriter<BufWriter<File>>>,
}

impl PcapRing {
    /// Opens the ring in `dir` (created if missing), continuing after the files already there.
    pub fn open(dir: &Path, files: usize, file_bytes: u64) -> std::io::Result<PcapRing> {
        std::fs::create_dir_all(dir)?;
        let next_index = list(dir)?.last().map(|(i, _)| i + 1).unwrap_or(1);
        Ok(PcapRing {
            dir: dir.to_path_buf(),
            files: files.max(1),
            file_bytes: file_bytes.max(4096),
            next_index,
            interfaces: Vec::new(),
            current: None,
        })
    }

    /// Declares the capture's interfaces (name, link type, snap length); the next packet starts a new file.
    pub fn set_interfaces(&mut self, interfaces: Vec<(String, u32, u32)>) -> std::io::Result<()> {
        self.close()?;
        self.interfaces = interfaces;
        Ok(())
    }

    /// Appends one packet, rolling to a new file when the current one is full.
    pub fn write(&mut self, interface: u32, ts_ns: u64, len: u32, data: &[u8]) -> std::io::Result<()> {
        if self
            .current
            .as_ref()
            .is_some_and(|w| w.bytes_written() >= self.file_bytes)
        {
            self.close()?;
        }
        let w = match &mut self.current {
            Some(w) => w,
            None => self.start_file()?,
        };
        w.write_packet(interface, ts_ns, len, data, None)
    }

    /// Flushes the current file so readers see every packet written so far.
    pub fn flush(&mut self) -> std::io::Result<()> {
        if let Some(w) = &mut self.current {
            w.flush()?;
        }
        Ok(())
    }

    /// The ring's files, oldest first.
    pub fn files(&self) -> std::io::Result<Vec<PathBuf>> {
        Ok(list(&self.dir)?.into_iter().map(|(_, p)| p).collect())
    }

    fn close(&mut self) -> std::io::Result<()> {
        if let Some(w) = self.current.take() {
            w.finish()?.flush()?;
        }
        Ok(())
    }

    fn start_file(&mut self) -> std::io::Result<&mut PcapngWriter<BufWriter<File>>> {
        let path = self.dir.join(format!("capture-{:08}.pcapng", self.next_index));
        self.next_index += 1;
        let mut w = PcapngWriter::new(BufWriter::new(File::create(&path)?), "twister-station")?;
        for (name, linktype, snaplen) in &self.interfaces {
            w.add_interface(name, *linktype, *snaplen)?;
        }
        let existing = list(&self.dir)?;
        let excess = existing.len().saturating_sub(self.files);
        for (_, old) in existing.into_iter().take(excess) {
            let _ = std::fs::remove_file(old);
        }
        Ok(self.current.insert(w))
    }
}

impl Drop for PcapRing {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

/// `(index, path)` of the ring files in `dir`, by index.
fn list(dir: &Path) -> std::io::Result<Vec<(u64, PathBuf)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let index = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_prefix("capture-"))
            .and_then(|n| n.strip_suffix(".pcapng"))
            .and_then(|n| n.parse::<u64>().ok());
        if let Some(i) = index {
            out.push((i, path));
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_stays_bounded_and_keeps_the_newest() {
        let dir = tempfile::tempdir().unwrap();
        let mut ring = PcapRing::open(dir.path(), 3, 4096).unwrap();
        ring.set_interfaces(vec![("veth0".into(), 1, 65535)]).unwrap();
        for i in 0..200u64 {
            ring.write(0, i, 100, &[0u8; 100]).unwrap();
        }
        ring.flush().unwrap();
        let files = ring.files().unwrap();
        assert_eq!(files.len(), 3);
        let total: u64 = files.iter().map(|f| std::fs::metadata(f).unwrap().len()).sum();
        assert!(total <= 3 * (4096 + 200), "{total}");
        let last = files
            .last()
            .unwrap()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        drop(ring);
        // Reopening continues the numbering.
        let mut ring = PcapRing::open(dir.path(), 3, 4096).unwrap();
        ring.set_interfaces(vec![("veth0".into(), 1, 65535)]).unwrap();
        ring.write(0, 0, 1, &[0]).unwrap();
        let newest = ring
            .files()
            .unwrap()
            .last()
            .unwrap()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(newest > last, "{newest} after {last}");
    }
}
