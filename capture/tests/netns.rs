//! Live capture against real traffic: a network namespace joined to this one by a veth pair; ping and a UDP
//! sender run in the namespace, the capture runs here on the peer end, next to tcpdump. Needs root (skips
//! outside CI without it; in CI it must run).

#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::AsRawFd;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use twister_capture::{
    dissect, CaptureError, CaptureSource, CapturedPacket, DisplayFilter, InterfaceConfig, PcapngWriter,
};

fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// Whether the test can run: root and the tools. Fails in CI when not, otherwise prints why and skips.
fn can_run(tools: &[&str]) -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let missing: Vec<&&str> = tools.iter().filter(|t| which(t).is_none()).collect();
    if root && missing.is_empty() {
        return true;
    }
    let why = if root {
        format!("tools {missing:?}")
    } else {
        "root (network namespaces)".to_string()
    };
    if in_ci() {
        panic!("{why} required in CI (scripts/install-deps.sh installs the tools; CI runs as root)");
    }
    eprintln!("SKIPPED: needs {why}");
    false
}

fn which(tool: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/sbin".into()])
        .map(|d| d.join(tool))
        .find(|p| p.exists())
}

fn run(cmd: &str, args: &[&str]) {
    let out = Command::new(cmd).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A namespace holding one veth end (`inner`, address .1) whose peer (`outer`, address .2) stays here.
struct VethNs {
    /// Receives the test datagrams so the kernel sends no ICMP port-unreachable back.
    #[allow(dead_code)]
    sink: Option<UdpSocket>,
    ns: String,
    outer: String,
    inner_ip: String,
    outer_ip: String,
}

impl VethNs {
    fn new() -> VethNs {
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        // Fixed-width hex so names of different processes never collide (15 characters at most).
        let id = format!("{:06x}{n:02x}", std::process::id());
        let inner = format!("tci{id}");
        let subnet = 100 + (std::process::id() as usize % 30) * 4 + n;
        let mut v = VethNs {
            sink: None,
            ns: format!("twcap{id}"),
            outer: format!("tco{id}"),
            inner_ip: format!("10.213.{subnet}.1"),
            outer_ip: format!("10.213.{subnet}.2"),
        };
        // From here on Drop removes whatever was made, even if a step fails.
        run("ip", &["netns", "add", &v.ns]);
        run(
            "ip",
            &["link", "add", &v.outer, "type", "veth", "peer", "name", &inner],
        );
        run("ip", &["link", "set", &inner, "netns", &v.ns]);
        // No IPv6 on either end, so no router solicitations or neighbour discovery mix with the counts.
        std::fs::write(format!("/proc/sys/net/ipv6/conf/{}/disable_ipv6", v.outer), "1").unwrap();
        run(
            "ip",
            &["addr", "add", &format!("{}/30", v.outer_ip), "dev", &v.outer],
        );
        run("ip", &["link", "set", &v.outer, "up"]);
        v.sink = Some(UdpSocket::bind(format!("{}:{UDP_PORT}", v.outer_ip)).unwrap());
        v.exec(&["sysctl", "-qw", &format!("net.ipv6.conf.{inner}.disable_ipv6=1")]);
        v.exec(&["ip", "addr", "add", &format!("{}/30", v.inner_ip), "dev", &inner]);
        v.exec(&["ip", "link", "set", &inner, "up"]);
        v.exec(&["ip", "link", "set", "lo", "up"]);
        // Resolve both neighbours now so the test traffic is not preceded by ARP.
        v.exec(&["ping", "-c", "1", "-W", "2", &v.outer_ip]);
        v
    }

    fn exec(&self, args: &[&str]) {
        let mut all = vec!["netns", "exec", &self.ns];
        all.extend_from_slice(args);
        run("ip", &all);
    }

    /// Runs `f` on a thread that has joined the namespace (sockets it opens live there).
    fn inside<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        let path = format!("/run/netns/{}", self.ns);
        std::thread::spawn(move || {
            let file = std::fs::File::open(&path).unwrap();
            // SAFETY: a valid namespace descriptor; setns changes only this thread's network namespace.
            let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
            f()
        })
        .join()
        .unwrap()
    }
}

impl Drop for VethNs {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["link", "del", &self.outer]).status();
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).status();
    }
}

/// tcpdump writing a pcap file for the same interface and filter, for comparison.
struct Tcpdump {
    child: Child,
    file: tempfile::NamedTempFile,
    log: std::thread::JoinHandle<String>,
}

impl Tcpdump {
    /// Starts tcpdump; it exits by itself after `count` packets.
    fn start(iface: &str, filter: &str, count: usize) -> Tcpdump {
        let file = tempfile::NamedTempFile::new().unwrap();
        let mut child = Command::new("tcpdump")
            .args([
                "-i",
                iface,
                "-U",
                "-B",
                "32768",
                "-n",
                "-c",
                &count.to_string(),
                "-w",
            ])
            .arg(file.path())
            .arg(filter)
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        // Wait for "listening on": before that it would miss packets.
        let mut err = child.stderr.take().unwrap();
        let mut seen = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut buf = [0u8; 256];
        while !String::from_utf8_lossy(&seen).contains("listening on") {
            assert!(
                Instant::now() < deadline,
                "tcpdump did not start: {}",
                String::from_utf8_lossy(&seen)
            );
            let n = err.read(&mut buf).unwrap();
            assert!(n > 0, "tcpdump exited: {}", String::from_utf8_lossy(&seen));
            seen.extend_from_slice(&buf[..n]);
        }
        // Keep reading its stderr: a closed pipe would kill it with SIGPIPE when it prints its totals.
        let log = std::thread::spawn(move || {
            let mut rest = String::new();
            let _ = err.read_to_string(&mut rest);
            String::from_utf8_lossy(&seen).into_owned() + &rest
        });
        Tcpdump { child, file, log }
    }

    /// Waits for tcpdump to end (stopping it after 20 s) and returns (packets, wire bytes) from its file.
    fn finish(mut self) -> (u64, u64, String) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                // SAFETY: signalling our own child by its pid.
                unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
                self.child.wait().unwrap();
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let mut cap = pcap::Capture::from_file(self.file.path()).unwrap();
        let (mut n, mut bytes) = (0, 0);
        while let Ok(p) = cap.next_packet() {
            n += 1;
            bytes += u64::from(p.header.len);
        }
        (n, bytes, self.log.join().unwrap())
    }
}

/// Reads packets until `want` have arrived or 20 s pass.
fn collect(source: &mut CaptureSource, want: usize) -> Vec<CapturedPacket> {
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while out.len() < want && Instant::now() < deadline {
        if let Some(p) = source.recv_timeout(Duration::from_millis(100)) {
            out.push(p);
        }
    }
    // Anything beyond what was expected would be a counting error: give it a moment to show up.
    while let Some(p) = source.recv_timeout(Duration::from_millis(300)) {
        out.push(p);
    }
    out
}

const UDP_PORT: u16 = 40_555;
const UDP_COUNT: usize = 200;
const UDP_PAYLOAD: usize = 300;
const PINGS: usize = 5;

fn send_udp(v: &VethNs) {
    let dst: SocketAddr = format!("{}:{UDP_PORT}", v.outer_ip).parse().unwrap();
    v.inside(move || {
        let s = UdpSocket::bind("0.0.0.0:0").unwrap();
        for i in 0..UDP_COUNT {
            let mut payload = vec![0u8; UDP_PAYLOAD];
            payload[..8].copy_from_slice(&(i as u64).to_be_bytes());
            s.send_to(&payload, dst).unwrap();
        }
    });
}

#[test]
fn ping_and_udp_counts_match_what_was_sent_and_tcpdump() {
    if !can_run(&["ip", "tcpdump", "ping"]) {
        return;
    }
    let v = VethNs::new();
    let filter = format!("icmp or udp port {UDP_PORT}");
    let mut cfg = InterfaceConfig::new(&v.outer);
    cfg.filter = filter.clone();
    let mut source = CaptureSource::start(vec![cfg], 100_000).unwrap();
    let want = 2 * PINGS + UDP_COUNT;
    let tcpdump = Tcpdump::start(&v.outer, &filter, want);

    v.exec(&[
        "ping",
        "-c",
        &PINGS.to_string(),
        "-i",
        "0.2",
        "-s",
        "56",
        &v.outer_ip,
    ]);
    send_udp(&v);

    let packets = collect(&mut source, want);
    source.stop();
    let (td_packets, td_bytes, td_log) = tcpdump.finish();

    // Sent: PINGS echo requests and their replies (14 + 20 + 8 + 56 bytes each), UDP_COUNT datagrams
    // (14 + 20 + 8 + UDP_PAYLOAD bytes each).
    let want_bytes = (2 * PINGS * (14 + 20 + 8 + 56) + UDP_COUNT * (14 + 20 + 8 + UDP_PAYLOAD)) as u64;
    let bytes: u64 = packets.iter().map(|p| u64::from(p.original_len)).sum();
    let stats = &source.stats()[0];
    assert_eq!(
        packets.len(),
        want,
        "packets captured; {stats:?}, tcpdump {td_packets} {td_bytes}"
    );
    assert_eq!(bytes, want_bytes, "wire bytes captured");
    assert_eq!(
        (td_packets, td_bytes),
        (want as u64, want_bytes),
        "tcpdump saw the same: {td_log}"
    );

    assert_eq!(stats.packets, want as u64);
    assert_eq!(stats.bytes, want_bytes);
    assert_eq!(stats.kernel_dropped, 0);
    assert_eq!(stats.local_dropped, 0);
    assert_eq!(stats.linktype, 1);

    // Decoded as sent, and display filters select them.
    let decoded: Vec<_> = packets
        .iter()
        .map(|p| dissect(1, &p.data, p.original_len))
        .collect();
    let udp =
        DisplayFilter::parse(&format!("udp.dstport == {UDP_PORT} and ip.src == {}", v.inner_ip)).unwrap();
    let requests = DisplayFilter::parse("icmp.type == 8").unwrap();
    let replies = DisplayFilter::parse(&format!("icmp and ip.src == {}", v.outer_ip)).unwrap();
    assert_eq!(decoded.iter().filter(|d| udp.matches(d)).count(), UDP_COUNT);
    assert_eq!(decoded.iter().filter(|d| requests.matches(d)).count(), PINGS);
    assert_eq!(decoded.iter().filter(|d| replies.matches(d)).count(), PINGS);
    let first_udp = decoded.iter().find(|d| udp.matches(d)).unwrap();
    assert_eq!(
        first_udp.summary.info,
        format!("{} \u{2192} {UDP_PORT} Len={UDP_PAYLOAD}", {
            let port = first_udp
                .fields()
                .into_iter()
                .find(|f| f.name == "udp.srcport")
                .unwrap();
            match port.value {
                twister_capture::Value::Uint(p) => p,
                _ => 0,
            }
        })
    );
    // Timestamps are nanoseconds since the epoch, in order.
    assert!(packets.windows(2).all(|w| w[0].timestamp_ns <= w[1].timestamp_ns));
    assert!(packets[0].timestamp_ns > 1_600_000_000 * 1_000_000_000);
}

#[test]
fn two_interfaces_at_once() {
    if !can_run(&["ip", "ping"]) {
        return;
    }
    let a = VethNs::new();
    let b = VethNs::new();
    let cfgs = [&a, &b]
        .iter()
        .map(|v| {
            let mut c = InterfaceConfig::new(&v.outer);
            c.filter = format!("udp port {UDP_PORT}");
            c.snaplen = 64;
            c.promiscuous = false;
            c.buffer_size = 1 << 20;
            c
        })
        .collect();
    let mut source = CaptureSource::start(cfgs, 10_000).unwrap();
    send_udp(&a);
    send_udp(&b);
    let packets = collect(&mut source, 2 * UDP_COUNT);
    source.stop();
    for i in 0..2 {
        assert_eq!(
            packets.iter().filter(|p| p.interface == i).count(),
            UDP_COUNT,
            "interface {i}"
        );
    }
    // The snap length cuts the bytes kept, not the length on the wire.
    assert!(packets
        .iter()
        .all(|p| p.data.len() == 64 && p.original_len as usize == 42 + UDP_PAYLOAD));
    assert_eq!(source.interface_names(), [a.outer.clone(), b.outer.clone()]);
}

#[test]
fn a_full_queue_drops_and_counts() {
    if !can_run(&["ip", "ping"]) {
        return;
    }
    let v = VethNs::new();
    let mut cfg = InterfaceConfig::new(&v.outer);
    cfg.filter = format!("udp port {UDP_PORT}");
    let mut source = CaptureSource::start(vec![cfg], 10).unwrap();
    send_udp(&v);
    // Nobody reads until the sender is done: the queue holds 10, the rest are counted as local drops.
    let deadline = Instant::now() + Duration::from_secs(20);
    while source.stats()[0].packets < UDP_COUNT as u64 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    source.stop();
    let s = &source.stats()[0];
    let queued = collect(&mut source, 0).len() as u64;
    assert_eq!(s.packets, UDP_COUNT as u64, "{s:?}");
    assert_eq!(queued, 10);
    assert_eq!(s.local_dropped, UDP_COUNT as u64 - 10);
}

#[test]
fn stopping_an_idle_capture_returns() {
    if !can_run(&["ip", "ping"]) {
        return;
    }
    let v = VethNs::new();
    let mut cfg = InterfaceConfig::new(&v.outer);
    cfg.filter = "udp port 9".into();
    let mut source = CaptureSource::start(vec![cfg], 10).unwrap();
    assert!(source.recv_timeout(Duration::from_millis(300)).is_none());
    // Stop on another thread so a hang fails the test instead of blocking it forever.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        source.stop();
        let _ = tx.send(());
    });
    rx.recv_timeout(Duration::from_secs(30))
        .expect("stop returned on an idle interface");
}

#[test]
fn bad_capture_filter_is_a_clear_error() {
    if !can_run(&[]) {
        return;
    }
    let mut cfg = InterfaceConfig::new("lo");
    cfg.filter = "udp port".into();
    let err = CaptureSource::start(vec![cfg], 10).unwrap_err();
    assert!(matches!(err, CaptureError::Filter { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("bad capture filter \"udp port\" on lo"), "{text}");
    assert!(text.contains("syntax error"), "{text}");

    let err = CaptureSource::start(vec![InterfaceConfig::new("twister-no-such0")], 10).unwrap_err();
    assert!(matches!(err, CaptureError::NoSuchInterface { .. }), "{err:?}");
    let mut cfg = InterfaceConfig::new("lo");
    cfg.snaplen = 0;
    assert!(matches!(
        CaptureSource::start(vec![cfg], 10),
        Err(CaptureError::Setting { key: "snaplen", .. })
    ));
}

/// Drops CAP_NET_RAW and CAP_NET_ADMIN from this thread's effective set (capabilities are per thread).
fn drop_capture_caps_on_this_thread() {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const VERSION_3: u32 = 0x2008_0522;
    const CAP_NET_ADMIN: u32 = 12;
    const CAP_NET_RAW: u32 = 13;
    let mut h = Header {
        version: VERSION_3,
        pid: 0,
    };
    let mut d = [Data::default(); 2];
    // SAFETY: header and a two-element data array as capget/capset version 3 expect.
    unsafe {
        assert_eq!(
            libc::syscall(libc::SYS_capget, &mut h as *mut Header, d.as_mut_ptr()),
            0
        );
        let bits = (1 << CAP_NET_RAW) | (1 << CAP_NET_ADMIN);
        d[0].effective &= !bits;
        d[0].permitted &= !bits;
        assert_eq!(
            libc::syscall(libc::SYS_capset, &mut h as *mut Header, d.as_ptr()),
            0
        );
    }
}

#[test]
fn missing_right_is_a_clear_error() {
    if !can_run(&[]) {
        return;
    }
    let err = std::thread::spawn(|| {
        drop_capture_caps_on_this_thread();
        CaptureSource::start(vec![InterfaceConfig::new("lo")], 10).map(|_| ())
    })
    .join()
    .unwrap()
    .unwrap_err();
    assert!(matches!(err, CaptureError::Permission { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("no permission to capture on lo"), "{text}");
    assert!(text.contains("root or CAP_NET_RAW"), "{text}");
}

#[test]
fn pcapng_of_live_traffic_reads_cleanly_in_tshark() {
    if !can_run(&["ip", "ping", "tshark"]) {
        return;
    }
    let v = VethNs::new();
    let mut cfg = InterfaceConfig::new(&v.outer);
    cfg.filter = format!("icmp or udp port {UDP_PORT} or tcp port 6653");
    let mut source = CaptureSource::start(vec![cfg], 100_000).unwrap();

    // An OpenFlow hello exchange on 6653: listener here, client in the namespace.
    let listener = TcpListener::bind(format!("{}:6653", v.outer_ip)).unwrap();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut hello = [0u8; 8];
        s.read_exact(&mut hello).unwrap();
        s.write_all(&[4, 0, 0, 8, 0, 0, 0, 1]).unwrap();
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
    });
    let dst = format!("{}:6653", v.outer_ip);
    v.inside(move || {
        let mut c = TcpStream::connect(dst).unwrap();
        c.write_all(&[4, 0, 0, 8, 0, 0, 0, 1]).unwrap();
        let mut hello = [0u8; 8];
        c.read_exact(&mut hello).unwrap();
    });
    server.join().unwrap();
    v.exec(&["ping", "-c", "3", "-i", "0.2", &v.outer_ip]);
    send_udp(&v);

    // SYN, SYN-ACK, ACK, 2 hellos (+ their ACKs) and the FIN exchange vary a little with timing; ping and
    // UDP are exact.
    let packets = collect(&mut source, 6 + UDP_COUNT + 8);
    source.stop();
    let decoded: Vec<_> = packets
        .iter()
        .map(|p| dissect(1, &p.data, p.original_len))
        .collect();
    let hellos = DisplayFilter::parse("openflow.type == OFPT_HELLO").unwrap();
    assert_eq!(decoded.iter().filter(|d| hellos.matches(d)).count(), 2);

    let file = tempfile::Builder::new().suffix(".pcapng").tempfile().unwrap();
    let mut w = PcapngWriter::new(
        std::fs::File::create(file.path()).unwrap(),
        "twister-capture test",
    )
    .unwrap();
    let id = w.add_interface(&v.outer, 1, 262_144).unwrap();
    for (i, p) in packets.iter().enumerate() {
        let comment = (i == 0).then_some("first packet of the test");
        w.write_packet(id, p.timestamp_ns, p.original_len, &p.data, comment)
            .unwrap();
    }
    w.finish().unwrap();

    let out = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(file.path())
        .args(["-q", "-z", "expert,warn"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "tshark failed: {stderr}");
    // tshark warns about running as root on stderr; anything else there is a complaint about the file.
    let complaints: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.contains("could be dangerous"))
        .collect();
    assert!(complaints.is_empty(), "tshark complained: {stderr}");
    assert!(
        !stdout.contains("Errors (") && !stdout.contains("Warns ("),
        "expert info: {stdout}"
    );

    let out = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(file.path())
        .args([
            "-T",
            "fields",
            "-e",
            "frame.number",
            "-e",
            "frame.comment",
            "-e",
            "frame.interface_name",
        ])
        .output()
        .unwrap();
    let lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(lines.len(), packets.len(), "tshark counts the same packets");
    assert!(lines[0].contains("first packet of the test"), "{}", lines[0]);
    assert!(lines[0].ends_with(&v.outer), "{}", lines[0]);

    let out = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(file.path())
        .args(["-Y", "openflow_v4.type == 0"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).lines().count(),
        2,
        "tshark sees both hellos"
    );
}
