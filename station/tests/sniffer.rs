//! The station sniffer against a fake controller: packets on loopback arrive in batches with their counters,
//! land in the pcapng ring, follow a remote filter change, and a sniffer without the right says so. Needs
//! root (skips outside CI without it).
#![allow(clippy::unwrap_used)]

mod common;

use std::net::UdpSocket;
use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use common::controller::{Conn, FakeController};
use tokio::sync::oneshot;
use twister_proto::capture::{CaptureSettings, PacketBatch};
use twister_proto::link::{Down, EpInfo, HostFacts, Up};
use twister_station::config::{Config, LogFormat, Token};
use twister_station::link::LinkOptions;
use twister_station::sniffer::SnifferConfig;
use twister_station::station::Station;

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        return true;
    }
    if std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false" && v != "0") {
        panic!("the sniffer tests need root in CI");
    }
    eprintln!("SKIPPED: the sniffer tests need root");
    false
}

fn config(url: &str, dir: &Path, capture: SnifferConfig) -> Config {
    Config {
        controller_url: url.to_string(),
        token: Token::new("station-secret"),
        name: "ws-sniff".into(),
        data_dir: dir.to_path_buf(),
        eps: vec![EpInfo {
            name: "EP-1".into(),
            enabled: true,
            tags: vec![],
        }],
        log_format: LogFormat::Text,
        trust: Default::default(),
        capture: Some(capture),
    }
}

fn start(
    url: &str,
    dir: &Path,
    capture: SnifferConfig,
) -> (oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let station = Station::open(config(url, dir, capture), HostFacts::default())
        .unwrap()
        .with_link_options(LinkOptions {
            backoff_min: Duration::from_millis(50),
            backoff_max: Duration::from_millis(300),
            ..LinkOptions::default()
        });
    let (stop, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(station.run(async move {
        let _ = rx.await;
    }));
    (stop, task)
}

/// Batches until `pred` holds on the packets so far (15 s at most).
async fn batches_until(c: &mut Conn, mut pred: impl FnMut(&[PacketBatch]) -> bool) -> Vec<PacketBatch> {
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while !pred(&out) {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match c.recv(left).await {
            Some(Up::Packets(b)) => out.push(b),
            Some(_) => {}
            None => panic!("no more batches; got {out:?}"),
        }
    }
    out
}

fn udp_payloads(batches: &[PacketBatch], port: u16) -> Vec<Vec<u8>> {
    let b64 = base64::engine::general_purpose::STANDARD;
    batches
        .iter()
        .flat_map(|b| &b.packets)
        .map(|f| b64.decode(&f.data).unwrap())
        .filter(|d| d.len() >= 42 && u16::from_be_bytes([d[36], d[37]]) == port)
        .map(|d| d[42..].to_vec())
        .collect()
}

fn send_udp(port: u16, count: usize) {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    for i in 0..count {
        s.send_to(format!("packet {i}").as_bytes(), ("127.0.0.1", port))
            .unwrap();
    }
}

#[tokio::test]
async fn packets_reach_the_controller_in_batches_and_the_ring() {
    if !is_root() {
        return;
    }
    let ctl = FakeController::start().await;
    let dir = tempfile::tempdir().unwrap();
    let sink_a = UdpSocket::bind("127.0.0.1:0").unwrap();
    let sink_b = UdpSocket::bind("127.0.0.1:0").unwrap();
    let (pa, pb) = (
        sink_a.local_addr().unwrap().port(),
        sink_b.local_addr().unwrap().port(),
    );
    let capture = SnifferConfig {
        interfaces: vec!["lo".into()],
        filter: format!("udp port {pa}"),
        batch_packets: 16,
        ..SnifferConfig::default()
    };
    let (stop, task) = start(&ctl.url, dir.path(), capture);
    let mut c = ctl.accept(Duration::from_secs(10)).await;
    c.hello().await;
    c.welcome(0, 30).await;
    // The first batch (counters only) says the capture runs.
    let first = batches_until(&mut c, |b| !b.is_empty()).await;
    assert_eq!(first[0].error, None);
    assert_eq!(first[0].interfaces[0].name, "lo");

    send_udp(pa, 100);
    let got = batches_until(&mut c, |b| udp_payloads(b, pa).len() >= 100).await;
    let payloads = udp_payloads(&got, pa);
    assert_eq!(payloads.len(), 100);
    assert_eq!(payloads[0], b"packet 0");
    assert_eq!(payloads[99], b"packet 99");
    assert!(
        got.iter().all(|b| b.packets.len() <= 16),
        "batches hold at most batch_packets"
    );
    let last = got.last().unwrap();
    assert_eq!(last.filter, format!("udp port {pa}"));
    assert_eq!(last.link_dropped, 0);
    assert_eq!(last.interfaces[0].kernel_dropped, 0);

    // A remote filter change: the old port is no longer captured, the new one is.
    c.send(&Down::Capture(CaptureSettings {
        filter: format!("udp port {pb}"),
    }))
    .await;
    batches_until(&mut c, |b| b.iter().any(|b| b.filter == format!("udp port {pb}"))).await;
    send_udp(pa, 5);
    send_udp(pb, 7);
    let got = batches_until(&mut c, |b| udp_payloads(b, pb).len() >= 7).await;
    assert_eq!(udp_payloads(&got, pa).len(), 0);

    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(20), task)
        .await
        .unwrap()
        .unwrap();
    // The ring holds what was captured: 100 + 7 packets, in pcapng files.
    let mut files: Vec<_> = std::fs::read_dir(dir.path().join("capture"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty());
    let mut n = 0;
    for f in &files {
        let mut cap = pcap::Capture::from_file(f).unwrap();
        while cap.next_packet().is_ok() {
            n += 1;
        }
    }
    assert_eq!(n, 107, "{files:?}");
}

#[tokio::test]
async fn a_sniffer_that_cannot_open_says_why() {
    if !is_root() {
        return;
    }
    let ctl = FakeController::start().await;
    let dir = tempfile::tempdir().unwrap();
    let capture = SnifferConfig {
        interfaces: vec!["lo".into()],
        filter: "udp port".into(),
        ..SnifferConfig::default()
    };
    let (stop, task) = start(&ctl.url, dir.path(), capture);
    let mut c = ctl.accept(Duration::from_secs(10)).await;
    c.hello().await;
    c.welcome(0, 30).await;
    let got = batches_until(&mut c, |b| !b.is_empty()).await;
    let err = got[0].error.clone().unwrap();
    assert!(err.contains("bad capture filter \"udp port\""), "{err}");
    // A good filter from the controller starts it.
    c.send(&Down::Capture(CaptureSettings { filter: "udp".into() }))
        .await;
    batches_until(&mut c, |b| b.last().is_some_and(|b| b.error.is_none())).await;
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(20), task)
        .await
        .unwrap()
        .unwrap();
}

/// Drops CAP_NET_RAW and CAP_NET_ADMIN from this thread (threads it creates inherit that).
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
    let mut h = Header {
        version: 0x2008_0522,
        pid: 0,
    };
    let mut d = [Data::default(); 2];
    // SAFETY: header and a two-element data array as capget/capset version 3 expect.
    unsafe {
        assert_eq!(
            libc::syscall(libc::SYS_capget, &mut h as *mut Header, d.as_mut_ptr()),
            0
        );
        let bits = (1 << 13) | (1 << 12);
        d[0].effective &= !bits;
        d[0].permitted &= !bits;
        assert_eq!(
            libc::syscall(libc::SYS_capset, &mut h as *mut Header, d.as_ptr()),
            0
        );
    }
}

#[test]
fn a_station_without_the_right_reports_it() {
    if !is_root() {
        return;
    }
    std::thread::spawn(|| {
        drop_capture_caps_on_this_thread();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let ctl = FakeController::start().await;
            let dir = tempfile::tempdir().unwrap();
            let capture = SnifferConfig {
                interfaces: vec!["lo".into()],
                ..SnifferConfig::default()
            };
            let (stop, task) = start(&ctl.url, dir.path(), capture);
            let mut c = ctl.accept(Duration::from_secs(10)).await;
            c.hello().await;
            c.welcome(0, 30).await;
            let got = batches_until(&mut c, |b| !b.is_empty()).await;
            let err = got[0].error.clone().unwrap();
            assert!(err.contains("no permission to capture on lo"), "{err}");
            assert!(err.contains("root or CAP_NET_RAW"), "{err}");
            let _ = stop.send(());
            tokio::time::timeout(Duration::from_secs(20), task)
                .await
                .unwrap()
                .unwrap();
        });
    })
    .join()
    .unwrap();
}
