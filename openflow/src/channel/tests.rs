//! Channel tests against an in-test fake switch over loopback TCP.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::*;
use crate::common::Echo;
use crate::v13::multipart::{MultipartReply, MultipartReplyBody, MultipartRequest, MultipartRequestBody};
use crate::Header;

struct FakeSwitch {
    stream: TcpStream,
    buf: MessageBuffer,
}

impl FakeSwitch {
    /// Connects and sends a hello of `version` with an optional bitmap.
    async fn connect(addr: SocketAddr, version: u8, bitmap: Option<&[u8]>) -> FakeSwitch {
        let stream = TcpStream::connect(addr).await.unwrap();
        let mut s = FakeSwitch {
            stream,
            buf: MessageBuffer::new(),
        };
        let hello = bitmap.map(Hello::with_versions).unwrap_or_default();
        let msg = match version {
            OFP10_VERSION => OfMessage::V10(v10::Message::Hello(hello)),
            _ => OfMessage::V13(v13::Message::Hello(hello)),
        };
        s.send(&msg, 100).await;
        s
    }

    /// Connects and completes the handshake as a 1.3 (or 1.0) switch with this datapath id.
    async fn handshake(addr: SocketAddr, bitmap: &[u8], dpid: u64) -> FakeSwitch {
        let top = bitmap.iter().copied().max().unwrap();
        let mut s = FakeSwitch::connect(addr, top, Some(bitmap)).await;
        let (_, hello) = s.recv().await;
        assert_eq!(hello.msg_type(), 0);
        let (h, req) = s.recv().await;
        let reply = match req {
            OfMessage::V10(v10::Message::FeaturesRequest) => {
                OfMessage::V10(v10::Message::FeaturesReply(v10::SwitchFeatures {
                    datapath_id: dpid,
                    n_tables: 1,
                    ..Default::default()
                }))
            }
            OfMessage::V13(v13::Message::FeaturesRequest) => {
                OfMessage::V13(v13::Message::FeaturesReply(v13::SwitchFeatures {
                    datapath_id: dpid,
                    n_tables: 254,
                    ..Default::default()
                }))
            }
            other => panic!("expected a features request, got {other:?}"),
        };
        s.send(&reply, h.xid).await;
        s
    }

    async fn send(&mut self, msg: &OfMessage, xid: u32) {
        self.stream.write_all(&msg.encode(xid).unwrap()).await.unwrap();
    }

    async fn try_recv(&mut self) -> Option<(Header, OfMessage)> {
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(bytes) = self.buf.next_message().unwrap() {
                return Some(OfMessage::decode(&bytes).unwrap());
            }
            let n = self.stream.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            self.buf.push(&chunk[..n]);
        }
    }

    async fn recv(&mut self) -> (Header, OfMessage) {
        tokio::time::timeout(Duration::from_secs(5), self.try_recv())
            .await
            .expect("fake switch timed out")
            .expect("connection closed")
    }
}

fn quiet() -> ChannelConfig {
    ChannelConfig {
        echo_interval: Duration::ZERO,
        request_timeout: Duration::from_secs(2),
        ..ChannelConfig::default()
    }
}

async fn controller(config: ChannelConfig) -> Controller {
    Controller::bind("127.0.0.1:0", config).await.unwrap()
}

const WAIT: Duration = Duration::from_secs(5);

#[tokio::test]
async fn handshake_negotiates_13_and_reads_datapath_id() {
    let c = controller(quiet()).await;
    let mut events = c.events();
    let mut fake = FakeSwitch::connect(c.local_addr(), 4, Some(&[1, 4])).await;
    let (h, hello) = fake.recv().await;
    assert_eq!(h.version, 4);
    match hello {
        OfMessage::V13(v13::Message::Hello(h)) => assert_eq!(h.versions(), Some(vec![1, 4])),
        other => panic!("{other:?}"),
    }
    let (h, req) = fake.recv().await;
    assert!(matches!(req, OfMessage::V13(v13::Message::FeaturesRequest)));
    let features = v13::SwitchFeatures {
        datapath_id: 0xabcd,
        n_tables: 3,
        ..Default::default()
    };
    fake.send(&OfMessage::V13(v13::Message::FeaturesReply(features)), h.xid)
        .await;
    let sw = c.wait_for_switch(Some(0xabcd), WAIT).await.unwrap();
    assert_eq!(sw.version(), OFP13_VERSION);
    assert_eq!(sw.features().n_tables(), 3);
    assert_eq!(c.datapath_ids(), vec![0xabcd]);
    match events.recv().await.unwrap() {
        SwitchEvent::Connected { datapath_id, version } => assert_eq!((datapath_id, version), (0xabcd, 4)),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn negotiates_10_when_only_10_offered() {
    let c = controller(ChannelConfig {
        versions: vec![OFP10_VERSION],
        ..quiet()
    })
    .await;
    let _fake = FakeSwitch::handshake(c.local_addr(), &[1, 4], 7).await;
    let sw = c.wait_for_switch(Some(7), WAIT).await.unwrap();
    assert_eq!(sw.version(), OFP10_VERSION);
    assert!(matches!(sw.features(), Features::V10(_)));
}

#[tokio::test]
async fn negotiates_10_with_a_plain_10_hello() {
    let c = controller(quiet()).await;
    let mut fake = FakeSwitch::connect(c.local_addr(), 1, None).await;
    let _ = fake.recv().await;
    let (h, req) = fake.recv().await;
    assert_eq!(h.version, 1);
    assert!(matches!(req, OfMessage::V10(v10::Message::FeaturesRequest)));
}

#[tokio::test]
async fn incompatible_versions_fail_with_hello_failed() {
    let c = controller(ChannelConfig {
        versions: vec![OFP13_VERSION],
        ..quiet()
    })
    .await;
    let mut events = c.events();
    let mut fake = FakeSwitch::connect(c.local_addr(), 1, Some(&[1])).await;
    let _ = fake.recv().await;
    let (_, err) = fake.recv().await;
    match err {
        OfMessage::V13(v13::Message::Error(e)) => assert_eq!(
            e.kind,
            v13::ErrorKind::HelloFailed(v13::error_msg::HelloFailedCode::Incompatible)
        ),
        other => panic!("{other:?}"),
    }
    assert!(fake.try_recv().await.is_none(), "connection should be closed");
    assert!(matches!(
        events.recv().await.unwrap(),
        SwitchEvent::HandshakeFailed { .. }
    ));
}

#[tokio::test]
async fn handshake_times_out_without_hello() {
    let c = controller(ChannelConfig {
        handshake_timeout: Duration::from_millis(200),
        ..quiet()
    })
    .await;
    let mut events = c.events();
    let _stream = TcpStream::connect(c.local_addr()).await.unwrap();
    match tokio::time::timeout(WAIT, events.recv()).await.unwrap().unwrap() {
        SwitchEvent::HandshakeFailed { error, .. } => assert!(error.contains("timed out"), "{error}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn answers_echo_requests() {
    let c = controller(quiet()).await;
    let mut fake = FakeSwitch::handshake(c.local_addr(), &[4], 1).await;
    c.wait_for_switch(Some(1), WAIT).await.unwrap();
    let echo = Echo {
        data: b"ping".to_vec(),
    };
    fake.send(&OfMessage::V13(v13::Message::EchoRequest(echo.clone())), 77)
        .await;
    let (h, reply) = fake.recv().await;
    assert_eq!(h.xid, 77);
    assert_eq!(reply, OfMessage::V13(v13::Message::EchoReply(echo)));
}

#[tokio::test]
async fn barrier_and_echo_match_replies_by_xid() {
    let c = controller(quiet()).await;
    let mut fake = FakeSwitch::handshake(c.local_addr(), &[4], 2).await;
    let sw = c.wait_for_switch(Some(2), WAIT).await.unwrap();
    let task = tokio::spawn({
        let sw = sw.clone();
        async move { sw.barrier().await }
    });
    let (h, req) = fake.recv().await;
    assert!(matches!(req, OfMessage::V13(v13::Message::BarrierRequest)));
    // A reply with another xid is not the answer: it goes to the asynchronous stream.
    let mut sub = sw.subscribe();
    fake.send(&OfMessage::V13(v13::Message::BarrierReply), h.xid + 1000)
        .await;
    fake.send(&OfMessage::V13(v13::Message::BarrierReply), h.xid)
        .await;
    task.await.unwrap().unwrap();
    let stray = sub.expect(WAIT, |_| true).await.unwrap();
    assert_eq!(stray.xid, h.xid + 1000);

    let task = tokio::spawn({
        let sw = sw.clone();
        async move { sw.echo(b"x").await }
    });
    let (h, req) = fake.recv().await;
    let OfMessage::V13(v13::Message::EchoRequest(e)) = req else {
        panic!("{req:?}")
    };
    fake.send(&OfMessage::V13(v13::Message::EchoReply(e)), h.xid)
        .await;
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn multipart_replies_are_reassembled() {
    let c = controller(quiet()).await;
    let mut fake = FakeSwitch::handshake(c.local_addr(), &[4], 3).await;
    let sw = c.wait_for_switch(Some(3), WAIT).await.unwrap();
    let req = OfMessage::V13(v13::Message::MultipartRequest(MultipartRequest {
        flags: 0,
        body: MultipartRequestBody::PortDesc,
    }));
    let task = tokio::spawn({
        let sw = sw.clone();
        async move { sw.multipart(&req).await }
    });
    let (h, _) = fake.recv().await;
    for flags in [1, 1, 0] {
        let part = OfMessage::V13(v13::Message::MultipartReply(MultipartReply {
            flags,
            body: MultipartReplyBody::PortDesc(Vec::new()),
        }));
        fake.send(&part, h.xid).await;
    }
    let parts = task.await.unwrap().unwrap();
    assert_eq!(parts.len(), 3);
    assert!(!has_more(&parts[2]) && has_more(&parts[0]));
}

#[tokio::test]
async fn error_reply_rejects_request() {
    let c = controller(quiet()).await;
    let mut fake = FakeSwitch::handshake(c.local_addr(), &[1], 4).await;
    let sw = c.wait_for_switch(Some(4), WAIT).await.unwrap();
    let task = tokio::spawn({
        let sw = sw.clone();
        async move { sw.barrier().await }
    });
    let (h, _) = fake.recv().await;
    let err = OfMessage::V10(v10::Message::Error(v10::ErrorMsg {
        kind: v10::ErrorKind::BadRequest(v10::error_msg::BadRequestCode::BadType),
        data: Vec::new(),
    }));
    fake.send(&err, h.xid).await;
    assert!(matches!(task.await.unwrap(), Err(ChannelError::Rejected(_))));
    // Wrong version for this connection.
    let wrong = OfMessage::V13(v13::Message::BarrierRequest);
    assert!(matches!(
        sw.send(&wrong).await,
        Err(ChannelError::WrongVersion { .. })
    ));
}

#[tokio::test]
async fn unanswered_request_times_out() {
    let c = controller(ChannelConfig {
        request_timeout: Duration::from_millis(200),
        ..quiet()
    })
    .await;
    let _fake = FakeSwitch::handshake(c.local_addr(), &[4], 5).await;
    let sw = c.wait_for_switch(Some(5), WAIT).await.unwrap();
    assert!(matches!(sw.barrier().await, Err(ChannelError::Timeout(..))));
}

#[tokio::test]
async fn asynchronous_messages_are_broadcast() {
    let c = controller(quiet()).await;
    let mut fake = FakeSwitch::handshake(c.local_addr(), &[4], 6).await;
    let sw = c.wait_for_switch(Some(6), WAIT).await.unwrap();
    let mut a = sw.subscribe();
    let mut b = sw.subscribe();
    let pin = OfMessage::V13(v13::Message::PacketIn(v13::PacketIn {
        buffer_id: u32::MAX,
        total_len: 3,
        reason: v13::PacketInReason::NoMatch,
        table_id: 0,
        cookie: 0,
        match_: v13::Match::default(),
        data: vec![1, 2, 3],
    }));
    fake.send(&pin, 9).await;
    for sub in [&mut a, &mut b] {
        let m = sub.expect(WAIT, |_| true).await.unwrap();
        assert_eq!((m.xid, &m.message), (9, &pin));
    }
    // Undecodable messages are reported and the connection stays up.
    let mut events = c.events();
    fake.stream
        .write_all(&[4, 14, 0, 9, 0, 0, 0, 1, 0])
        .await
        .unwrap();
    assert!(matches!(
        events.recv().await.unwrap(),
        SwitchEvent::Undecodable { .. }
    ));
    assert!(!sw.is_closed());
}

#[tokio::test]
async fn dead_peer_is_dropped_by_keep_alive() {
    let c = controller(ChannelConfig {
        echo_interval: Duration::from_millis(100),
        echo_timeout: Duration::from_millis(200),
        ..quiet()
    })
    .await;
    let mut fake = FakeSwitch::handshake(c.local_addr(), &[4], 8).await;
    let sw = c.wait_for_switch(Some(8), WAIT).await.unwrap();
    let mut events = c.events();
    // Answer the first keep-alive, then go silent.
    let (h, req) = fake.recv().await;
    let OfMessage::V13(v13::Message::EchoRequest(e)) = req else {
        panic!("{req:?}")
    };
    fake.send(&OfMessage::V13(v13::Message::EchoReply(e)), h.xid)
        .await;
    tokio::time::timeout(WAIT, sw.closed()).await.unwrap();
    assert!(matches!(
        events.recv().await.unwrap(),
        SwitchEvent::Disconnected { datapath_id: 8 }
    ));
    assert!(c.switch(8).is_none());
    assert!(matches!(sw.barrier().await, Err(ChannelError::Closed)));
}

#[tokio::test]
async fn several_switches_by_datapath_id_and_disconnect() {
    let c = controller(quiet()).await;
    let f1 = FakeSwitch::handshake(c.local_addr(), &[1], 0x10).await;
    let _f2 = FakeSwitch::handshake(c.local_addr(), &[4], 0x20).await;
    let s1 = c.wait_for_switch(Some(0x10), WAIT).await.unwrap();
    let s2 = c.wait_for_switch(Some(0x20), WAIT).await.unwrap();
    assert_eq!((s1.version(), s2.version()), (1, 4));
    assert_eq!(c.datapath_ids(), vec![0x10, 0x20]);
    drop(f1);
    tokio::time::timeout(WAIT, s1.closed()).await.unwrap();
    assert_eq!(c.datapath_ids(), vec![0x20]);
}

#[tokio::test]
async fn refusing_closes_new_connections_and_a_reconnect_is_a_new_switch() {
    let c = controller(quiet()).await;
    let dir = c.directory();
    let _first = FakeSwitch::handshake(c.local_addr(), &[4], 0x30).await;
    let s1 = c.wait_for_switch(Some(0x30), WAIT).await.unwrap();
    dir.set_refusing(true);
    assert!(dir.is_refusing());
    let mut events = c.events();
    s1.close();
    tokio::time::timeout(WAIT, s1.closed()).await.unwrap();
    // A switch dialling in while refused is closed before any hello.
    let mut refused = FakeSwitch::connect(c.local_addr(), 4, Some(&[4])).await;
    assert!(tokio::time::timeout(WAIT, refused.try_recv())
        .await
        .unwrap()
        .is_none());
    let refused_event = tokio::time::timeout(WAIT, async {
        loop {
            if let SwitchEvent::Refused { .. } = events.recv().await.unwrap() {
                return;
            }
        }
    })
    .await;
    assert!(refused_event.is_ok(), "no Refused event");
    // The closed connection does not count as the switch coming back.
    let waited = dir
        .wait_for_reconnect(0x30, &s1, Duration::from_millis(200))
        .await;
    assert!(matches!(waited, Err(ChannelError::Timeout(..))), "{waited:?}");
    dir.set_refusing(false);
    let _second = FakeSwitch::handshake(c.local_addr(), &[4], 0x30).await;
    let s2 = dir.wait_for_reconnect(0x30, &s1, WAIT).await.unwrap();
    assert!(!s2.same_connection(&s1));
    assert!(!s2.is_closed());
}

#[tokio::test]
async fn a_muted_switch_hears_no_echo_replies_and_no_keep_alive() {
    let c = controller(ChannelConfig {
        echo_interval: Duration::from_millis(50),
        ..quiet()
    })
    .await;
    let mut fake = FakeSwitch::handshake(c.local_addr(), &[4], 0x40).await;
    let sw = c.wait_for_switch(Some(0x40), WAIT).await.unwrap();
    sw.mute();
    let mut sub = sw.subscribe();
    // Anything already in flight (a keep-alive sent before the mute) is answered and drained.
    while let Ok(Some((h, m))) = tokio::time::timeout(Duration::from_millis(150), fake.try_recv()).await {
        if let OfMessage::V13(v13::Message::EchoRequest(e)) = m {
            fake.send(&OfMessage::V13(v13::Message::EchoReply(e)), h.xid)
                .await;
        }
    }
    let echo = OfMessage::V13(v13::Message::EchoRequest(Echo {
        data: b"alive?".to_vec(),
    }));
    fake.send(&echo, 77).await;
    let seen = sub.expect(WAIT, |m| m.xid == 77).await.unwrap();
    assert!(matches!(
        seen.message,
        OfMessage::V13(v13::Message::EchoRequest(_))
    ));
    // Nothing comes back: no echo reply, no keep-alive echo request.
    let heard = tokio::time::timeout(Duration::from_millis(400), fake.try_recv()).await;
    assert!(heard.is_err(), "a muted controller sent {heard:?}");
    assert!(!sw.is_closed());
}

#[tokio::test]
async fn the_next_connection_can_be_taken_raw_even_while_refusing() {
    let c = controller(quiet()).await;
    let dir = c.directory();
    dir.set_refusing(true);
    let addr = c.local_addr();
    let taker = tokio::spawn(async move { dir.take_next_connection(WAIT).await });
    // The switch dials once the taker is registered.
    let registry = c.registry.clone();
    let registered = tokio::time::timeout(WAIT, async move {
        while registry.handover.lock().unwrap().is_none() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    assert!(registered.is_ok(), "the taker never registered");
    let mut fake = FakeSwitch::connect(addr, 4, Some(&[4])).await;
    let mut raw = taker.await.unwrap().unwrap();
    // The controller said nothing: the first bytes on the connection are the fake switch's hello, and
    // what the taker writes reaches the switch unchanged.
    let mut head = [0u8; 8];
    raw.stream.read_exact(&mut head).await.unwrap();
    assert_eq!((head[0], head[1]), (4, 0));
    let echo = OfMessage::V13(v13::Message::EchoRequest(Echo { data: vec![1, 2] }));
    raw.stream.write_all(&echo.encode(9).unwrap()).await.unwrap();
    let (h, m) = fake.recv().await;
    assert_eq!(h.xid, 9);
    assert!(matches!(m, OfMessage::V13(v13::Message::EchoRequest(_))));
    assert!(c.datapath_ids().is_empty(), "no switch was registered");
    // Nobody waits any more: the next connection is refused again.
    let dir = c.directory();
    let timed_out = dir.take_next_connection(Duration::from_millis(50)).await;
    assert!(matches!(timed_out, Err(ChannelError::Timeout(..))));
    let mut refused = FakeSwitch::connect(addr, 4, Some(&[4])).await;
    assert!(tokio::time::timeout(WAIT, refused.try_recv())
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn what_a_switch_sends_right_after_connecting_can_be_read_from_the_start() {
    let c = controller(quiet()).await;
    c.directory().record_new_connections(true);
    let mut fake = FakeSwitch::handshake(c.local_addr(), &[4], 0x50).await;
    // Sent at once, before anyone subscribed: an unsolicited message, broadcast to subscribers.
    let early = OfMessage::V13(v13::Message::EchoReply(Echo {
        data: b"early".to_vec(),
    }));
    fake.send(&early, 56).await;
    let sw = c.wait_for_switch(Some(0x50), WAIT).await.unwrap();
    // The recording started with the connection: wait until the read loop has taken the message in.
    assert!(sw.is_recording());
    let seen = tokio::time::timeout(WAIT, async {
        loop {
            let n = sw.take_recording().len();
            sw.start_recording();
            if n > 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    assert!(seen.is_ok(), "the early message was not recorded");
    assert!(
        sw.subscribe().try_recv().is_none(),
        "a fresh subscription sees nothing of the past"
    );
    let mut from_start = sw.subscribe_from_start();
    let got = from_start.try_recv().expect("the early message");
    assert_eq!(got.xid, 56);
    // Had once.
    assert!(sw.subscribe_from_start().try_recv().is_none());
}
