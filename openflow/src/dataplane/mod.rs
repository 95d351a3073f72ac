//! The data plane of a test: raw sockets on the host ends of the switch's ports, frames sent and expected.
//!
//! [`DataPlane`] maps OpenFlow port numbers to interfaces (one [`RawSocket`] each). Received frames pass a
//! filter first (by default [`packet::is_background`] drops IPv6, LLDP and link-local control frames, so
//! unrelated traffic does not disturb "expect none"). VLAN tags the kernel strips are put back.

pub mod packet;
mod socket;

use std::collections::BTreeMap;
use std::io;
use std::time::{Duration, Instant};

pub use socket::RawSocket;

/// What went wrong on the data plane.
#[derive(Debug, thiserror::Error)]
pub enum DataPlaneError {
    /// A socket operation failed.
    #[error("{ifname}: {source}")]
    Io {
        /// Interface.
        ifname: String,
        /// The error.
        source: io::Error,
    },
    /// No interface for this port number.
    #[error("no interface for port {0}")]
    NoSuchPort(u32),
    /// The expected frame did not arrive.
    #[error("no matching frame on port {port} within {timeout:?} ({other} other frames seen)")]
    Missing {
        /// Port.
        port: u32,
        /// Time waited.
        timeout: Duration,
        /// Frames that arrived but did not match.
        other: usize,
    },
    /// A frame arrived where none was expected.
    #[error("unexpected frame on port {port}: {len} bytes")]
    Unexpected {
        /// Port.
        port: u32,
        /// Its length.
        len: usize,
        /// The frame.
        frame: Vec<u8>,
    },
}

/// One data-plane frame as the test sent or received it, kept while recording is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameRecord {
    /// When it was sent or read.
    pub at: std::time::SystemTime,
    /// OpenFlow port number of the interface.
    pub port: u32,
    /// True when the test sent it into the switch.
    pub sent: bool,
    /// The frame.
    pub frame: Vec<u8>,
}

/// A receive filter: true keeps the frame.
pub type Filter = Box<dyn Fn(&[u8]) -> bool + Send + Sync>;

/// Raw sockets on the test's ends of the switch ports, keyed by OpenFlow port number.
pub struct DataPlane {
    ports: BTreeMap<u32, RawSocket>,
    filter: Filter,
    recording: std::sync::Mutex<Option<Vec<FrameRecord>>>,
}

impl std::fmt::Debug for DataPlane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataPlane").field("ports", &self.ports).finish()
    }
}

impl DataPlane {
    /// Opens a raw socket on each `(port number, interface)`, with the default background filter.
    pub fn open<'a>(ports: impl IntoIterator<Item = (u32, &'a str)>) -> Result<DataPlane, DataPlaneError> {
        let mut map = BTreeMap::new();
        for (port, ifname) in ports {
            let s = RawSocket::bind(ifname).map_err(|source| DataPlaneError::Io {
                ifname: ifname.to_string(),
                source,
            })?;
            map.insert(port, s);
        }
        Ok(DataPlane {
            ports: map,
            filter: Box::new(|f| !packet::is_background(f)),
            recording: std::sync::Mutex::new(None),
        })
    }

    /// Starts keeping every frame sent and received (filtered ones included), dropping any earlier record.
    pub fn start_recording(&self) {
        *self.recording.lock().unwrap_or_else(|p| p.into_inner()) = Some(Vec::new());
    }

    /// Stops recording and returns the frames kept since [`DataPlane::start_recording`].
    pub fn take_recording(&self) -> Vec<FrameRecord> {
        self.recording
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .unwrap_or_default()
    }

    fn record(&self, port: u32, sent: bool, frame: &[u8]) {
        if let Some(r) = self.recording.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
            r.push(FrameRecord {
                at: std::time::SystemTime::now(),
                port,
                sent,
                frame: frame.to_vec(),
            });
        }
    }

    /// The port numbers, ascending.
    pub fn port_numbers(&self) -> Vec<u32> {
        self.ports.keys().copied().collect()
    }

    /// Replaces the filter: only frames for which it returns true are received.
    pub fn set_filter(&mut self, keep: impl Fn(&[u8]) -> bool + Send + Sync + 'static) {
        self.filter = Box::new(keep);
    }

    fn socket(&self, port: u32) -> Result<&RawSocket, DataPlaneError> {
        self.ports.get(&port).ok_or(DataPlaneError::NoSuchPort(port))
    }

    /// Sends a frame out of the interface of `port` (into the switch).
    pub fn send(&self, port: u32, frame: &[u8]) -> Result<(), DataPlaneError> {
        let s = self.socket(port)?;
        self.record(port, true, frame);
        s.send(frame).map_err(|source| DataPlaneError::Io {
            ifname: s.ifname().to_string(),
            source,
        })
    }

    /// Discards whatever every port has queued.
    pub fn drain(&self) {
        for s in self.ports.values() {
            s.drain();
        }
    }

    /// The next frame on `port` that passes the filter, within `timeout`.
    pub fn recv(&self, port: u32, timeout: Duration) -> Result<Option<Vec<u8>>, DataPlaneError> {
        let s = self.socket(port)?;
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let got = s.recv(left).map_err(|source| DataPlaneError::Io {
                ifname: s.ifname().to_string(),
                source,
            })?;
            if let Some(f) = &got {
                self.record(port, false, f);
            }
            match got {
                Some(f) if (self.filter)(&f) => return Ok(Some(f)),
                Some(_) if !left.is_zero() => continue,
                _ => return Ok(None),
            }
        }
    }

    /// Waits up to `timeout` for a frame on `port` for which `want` is true; other frames are skipped.
    pub fn expect(
        &self,
        port: u32,
        timeout: Duration,
        mut want: impl FnMut(&[u8]) -> bool,
    ) -> Result<Vec<u8>, DataPlaneError> {
        let deadline = Instant::now() + timeout;
        let mut other = 0;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.recv(port, left)? {
                Some(f) if want(&f) => return Ok(f),
                Some(_) if !left.is_zero() => other += 1,
                _ => return Err(DataPlaneError::Missing { port, timeout, other }),
            }
        }
    }

    /// Waits up to `timeout` for exactly this frame on `port` (trailing padding on either side ignored).
    pub fn expect_frame(&self, port: u32, frame: &[u8], timeout: Duration) -> Result<(), DataPlaneError> {
        let want = trim_padding(frame);
        self.expect(port, timeout, |f| trim_padding(f) == want)
            .map(|_| ())
    }

    /// Fails if any frame passing the filter arrives on `port` within `timeout`.
    pub fn expect_none(&self, port: u32, timeout: Duration) -> Result<(), DataPlaneError> {
        match self.recv(port, timeout)? {
            None => Ok(()),
            Some(frame) => Err(DataPlaneError::Unexpected {
                port,
                len: frame.len(),
                frame,
            }),
        }
    }
}

/// The frame without the zero padding after a minimum-size frame's payload.
fn trim_padding(frame: &[u8]) -> &[u8] {
    if frame.len() <= packet::MIN_FRAME {
        let end = frame.iter().rposition(|b| *b != 0).map_or(0, |i| i + 1);
        frame.get(..end.max(14)).unwrap_or(frame)
    } else {
        frame
    }
}
