//! A raw `AF_PACKET` socket bound to one interface (Linux).
//!
//! Frames the kernel receives with a VLAN tag have the tag stripped into metadata (VLAN offload); the socket
//! asks for that metadata (`PACKET_AUXDATA`) and puts the tag back, so the frame is what was on the wire.
//! Frames this host sends on the interface are not returned.

#![allow(unsafe_code)]

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

const ETH_P_ALL: u16 = 0x0003;
const SOL_PACKET: libc::c_int = 263;
const PACKET_AUXDATA: libc::c_int = 8;
const PACKET_OUTGOING: u8 = 4;
const TP_STATUS_VLAN_VALID: u32 = 1 << 4;
const TP_STATUS_VLAN_TPID_VALID: u32 = 1 << 6;
const MAX_FRAME: usize = 65536;

/// A raw socket on one network interface.
#[derive(Debug)]
pub struct RawSocket {
    fd: OwnedFd,
    ifname: String,
}

fn check(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

impl RawSocket {
    /// Opens a socket receiving every protocol on `ifname` (needs `CAP_NET_RAW`).
    pub fn bind(ifname: &str) -> io::Result<RawSocket> {
        let name = CString::new(ifname).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        // SAFETY: plain FFI call with a valid NUL-terminated string.
        let ifindex = unsafe { libc::if_nametoindex(name.as_ptr()) };
        if ifindex == 0 {
            return Err(io::Error::last_os_error());
        }
        let proto = ETH_P_ALL.to_be();
        // SAFETY: plain FFI call; the result is checked.
        let raw = check(unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::c_int::from(proto),
            )
        })?;
        // SAFETY: `raw` is a fresh descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let one: libc::c_int = 1;
        // SAFETY: the option value points to a live c_int of the given size.
        check(unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                SOL_PACKET,
                PACKET_AUXDATA,
                (&one as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        })?;
        // SAFETY: sockaddr_ll is plain data; all-zero is a valid value.
        let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        addr.sll_family = libc::AF_PACKET as libc::c_ushort;
        addr.sll_protocol = proto;
        addr.sll_ifindex =
            libc::c_int::try_from(ifindex).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        // SAFETY: the address points to a live sockaddr_ll of the given size.
        check(unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&addr as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        })?;
        let sock = RawSocket {
            fd,
            ifname: ifname.to_string(),
        };
        // Frames of other interfaces may have queued between socket() and bind().
        sock.drain();
        Ok(sock)
    }

    /// The interface name.
    pub fn ifname(&self) -> &str {
        &self.ifname
    }

    /// Sends one frame (from the destination MAC on, without FCS).
    pub fn send(&self, frame: &[u8]) -> io::Result<()> {
        // SAFETY: the buffer is a live slice of the given length.
        let n = unsafe { libc::send(self.fd.as_raw_fd(), frame.as_ptr().cast(), frame.len(), 0) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        if usize::try_from(n).ok() != Some(frame.len()) {
            return Err(io::Error::new(io::ErrorKind::WriteZero, "short send"));
        }
        Ok(())
    }

    /// Discards every frame already queued.
    pub fn drain(&self) {
        while let Ok(Some(_)) = self.recv(Duration::ZERO) {}
    }

    /// Receives the next incoming frame within `timeout` (`None` when none came), VLAN tag restored.
    pub fn recv(&self, timeout: Duration) -> io::Result<Option<Vec<u8>>> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let mut pfd = libc::pollfd {
                fd: self.fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            let ms = libc::c_int::try_from(left.as_millis().saturating_add(u128::from(!left.is_zero())))
                .unwrap_or(libc::c_int::MAX);
            // SAFETY: one live pollfd.
            let ready = unsafe { libc::poll(&mut pfd, 1, ms) };
            if ready < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            if ready == 0 {
                return Ok(None);
            }
            if let Some(frame) = self.recv_one()? {
                return Ok(Some(frame));
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
        }
    }

    /// One recvmsg: `None` for an outgoing frame (our own) or nothing ready.
    fn recv_one(&self) -> io::Result<Option<Vec<u8>>> {
        let mut buf = vec![0u8; MAX_FRAME];
        let mut control = [0u64; 32];
        // SAFETY: plain data, all-zero is valid.
        let mut from: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        // SAFETY: plain data, all-zero is valid.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_name = (&mut from as *mut libc::sockaddr_ll).cast();
        msg.msg_namelen = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = std::mem::size_of_val(&control) as _;
        // SAFETY: every pointer in msg refers to a live buffer of the stated size.
        let n = unsafe {
            libc::recvmsg(
                self.fd.as_raw_fd(),
                &mut msg,
                libc::MSG_DONTWAIT | libc::MSG_TRUNC,
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::WouldBlock || e.kind() == io::ErrorKind::Interrupted {
                return Ok(None);
            }
            return Err(e);
        }
        if from.sll_pkttype == PACKET_OUTGOING {
            return Ok(None);
        }
        let len = usize::try_from(n).unwrap_or(0).min(buf.len());
        buf.truncate(len);
        // SAFETY: msg was filled by recvmsg; the CMSG macros walk within msg_controllen.
        let mut cmsg = unsafe { libc::CMSG_FIRSTHDR(&msg) };
        while !cmsg.is_null() {
            // SAFETY: cmsg is non-null and points into `control`.
            let (level, kind) = unsafe { ((*cmsg).cmsg_level, (*cmsg).cmsg_type) };
            if level == SOL_PACKET && kind == PACKET_AUXDATA {
                // tpacket_auxdata: u32 status, u32 len, u32 snaplen, u16 mac, u16 net, u16 vlan_tci,
                // u16 vlan_tpid (native endian).
                let mut aux = [0u8; 20];
                // SAFETY: the kernel writes a full tpacket_auxdata (20 bytes) for this message type.
                unsafe { std::ptr::copy_nonoverlapping(libc::CMSG_DATA(cmsg), aux.as_mut_ptr(), aux.len()) };
                let status = u32::from_ne_bytes([aux[0], aux[1], aux[2], aux[3]]);
                let tci = u16::from_ne_bytes([aux[16], aux[17]]);
                let tpid = u16::from_ne_bytes([aux[18], aux[19]]);
                if status & TP_STATUS_VLAN_VALID != 0 && buf.len() >= 12 {
                    let tpid = if status & TP_STATUS_VLAN_TPID_VALID != 0 && tpid != 0 {
                        tpid
                    } else {
                        0x8100
                    };
                    let tag = [tpid.to_be_bytes(), tci.to_be_bytes()].concat();
                    buf.splice(12..12, tag);
                }
            }
            // SAFETY: as above.
            cmsg = unsafe { libc::CMSG_NXTHDR(&msg, cmsg) };
        }
        Ok(Some(buf))
    }
}
