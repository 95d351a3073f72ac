//! The controller channel over TLS and on several ports: a switch with a certificate the lab CA signed
//! connects and is served; one without a certificate, one with a stranger's and one speaking plain TCP are
//! refused with a TLS error; a second listener (the legacy port's role) feeds the same directory; and a real
//! Open vSwitch connects over `ssl:` and has a flow added and read back.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::ovs::{self, Ovs};
use common::pki::{Identity, Pki};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use twister_openflow::channel::{tls, ChannelConfig, Controller, SwitchEvent};
use twister_openflow::framing::MessageBuffer;
use twister_openflow::v13::multipart::FlowStatsRequest;
use twister_openflow::{v13, Hello, OfMessage, OFP13_VERSION};

const WAIT: Duration = Duration::from_secs(10);

fn tls_config(pki: &Pki, require_client_cert: bool) -> ChannelConfig {
    let client_ca = require_client_cert.then_some(pki.ca.as_path());
    ChannelConfig {
        tls: Some(
            tls::server_config(&pki.controller.cert, &pki.controller.key, client_ca).expect("TLS config"),
        ),
        echo_interval: Duration::ZERO,
        ..ChannelConfig::with_versions(&[OFP13_VERSION])
    }
}

/// A TLS client trusting the lab CA, presenting `me` when given.
fn connector(ca: &Path, me: Option<&Identity>) -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let config = match me {
        Some(id) => {
            let chain: Vec<_> = CertificateDer::pem_file_iter(&id.cert)
                .unwrap()
                .map(|c| c.unwrap())
                .collect();
            let key = PrivateKeyDer::from_pem_file(&id.key).unwrap();
            builder.with_client_auth_cert(chain, key).unwrap()
        }
        None => builder.with_no_client_auth(),
    };
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

/// A minimal 1.3 switch on any stream: hello, features reply with `dpid`, then echo and barrier replies.
async fn fake_switch<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, dpid: u64) {
    let send = |m: OfMessage, xid: u32| m.encode(xid).unwrap();
    let hello = send(OfMessage::V13(v13::Message::Hello(Hello::with_versions(&[4]))), 1);
    if stream.write_all(&hello).await.is_err() {
        return;
    }
    let mut buf = MessageBuffer::new();
    let mut chunk = [0u8; 4096];
    loop {
        while let Ok(Some(bytes)) = buf.next_message() {
            let (h, m) = OfMessage::decode(&bytes).unwrap();
            let reply = match m {
                OfMessage::V13(v13::Message::FeaturesRequest) => {
                    OfMessage::V13(v13::Message::FeaturesReply(v13::SwitchFeatures {
                        datapath_id: dpid,
                        n_tables: 1,
                        ..Default::default()
                    }))
                }
                OfMessage::V13(v13::Message::EchoRequest(e)) => OfMessage::V13(v13::Message::EchoReply(e)),
                OfMessage::V13(v13::Message::BarrierRequest) => OfMessage::V13(v13::Message::BarrierReply),
                _ => continue,
            };
            if stream.write_all(&send(reply, h.xid)).await.is_err() {
                return;
            }
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.push(&chunk[..n]),
        }
    }
}

/// Connects over TLS as `me` and plays a switch in the background.
async fn tls_switch(addr: std::net::SocketAddr, pki: &Pki, me: Option<&Identity>, dpid: u64) {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = ServerName::IpAddress(addr.ip().into());
    let connector = connector(&pki.ca, me);
    tokio::spawn(async move {
        // A refused client may see its handshake fail here or its first read fail: both end the fake.
        if let Ok(stream) = connector.connect(name, tcp).await {
            fake_switch(stream, dpid).await;
        }
    });
}

async fn next_failure(events: &mut tokio::sync::broadcast::Receiver<SwitchEvent>) -> String {
    tokio::time::timeout(WAIT, async {
        loop {
            if let Ok(SwitchEvent::HandshakeFailed { error, .. }) = events.recv().await {
                return error;
            }
        }
    })
    .await
    .expect("a failed handshake")
}

#[tokio::test]
async fn tls_switches_are_checked_and_served_on_every_listener() {
    let pki = Pki::new();
    let mut c = Controller::bind("127.0.0.1:0", tls_config(&pki, true))
        .await
        .unwrap();
    let second = c.listen_also("127.0.0.1:0").await.unwrap();
    assert_eq!(c.local_addrs(), vec![c.local_addr(), second]);
    let mut events = c.events();

    tls_switch(c.local_addr(), &pki, Some(&pki.switch), 0x51).await;
    let sw = c
        .wait_for_switch(Some(0x51), WAIT)
        .await
        .expect("TLS switch served");
    assert_eq!(sw.version(), OFP13_VERSION);
    sw.echo(b"over tls").await.unwrap();
    sw.barrier().await.unwrap();

    // The second listener: same TLS, same directory.
    tls_switch(second, &pki, Some(&pki.switch), 0x52).await;
    c.wait_for_switch(Some(0x52), WAIT)
        .await
        .expect("second listener");
    assert_eq!(c.datapath_ids(), vec![0x51, 0x52]);

    // No certificate, a stranger's certificate, plain TCP: each refused with a TLS error.
    tls_switch(c.local_addr(), &pki, None, 0x53).await;
    let e = next_failure(&mut events).await;
    assert!(e.starts_with("TLS:"), "{e}");
    tls_switch(c.local_addr(), &pki, Some(&pki.stranger), 0x54).await;
    let e = next_failure(&mut events).await;
    assert!(e.starts_with("TLS:"), "{e}");
    let plain = TcpStream::connect(c.local_addr()).await.unwrap();
    tokio::spawn(fake_switch(plain, 0x55));
    let e = next_failure(&mut events).await;
    assert!(e.starts_with("TLS:"), "{e}");
    assert_eq!(c.datapath_ids(), vec![0x51, 0x52]);
}

#[tokio::test]
async fn without_a_client_ca_any_tls_client_is_served() {
    let pki = Pki::new();
    let c = Controller::bind("127.0.0.1:0", tls_config(&pki, false))
        .await
        .unwrap();
    tls_switch(c.local_addr(), &pki, None, 0x61).await;
    c.wait_for_switch(Some(0x61), WAIT).await.expect("served");
}

#[test]
fn bad_tls_files_are_clear_errors() {
    let pki = Pki::new();
    let missing = Path::new("/nonexistent/ctl-cert.pem");
    let e = tls::server_config(missing, &pki.controller.key, None).unwrap_err();
    assert!(e.to_string().contains("/nonexistent/ctl-cert.pem"), "{e}");
    // A key that does not belong to the certificate.
    let e = tls::server_config(&pki.controller.cert, &pki.switch.key, None).unwrap_err();
    assert!(e.to_string().contains("certificate and key"), "{e}");
    // A CA file that is a key, not a certificate.
    let e = tls::server_config(&pki.controller.cert, &pki.controller.key, Some(&pki.switch.key)).unwrap_err();
    assert!(e.to_string().contains("client CA"), "{e}");
}

#[tokio::test]
async fn ovs_connects_over_tls() {
    if !ovs::available("ovs_connects_over_tls") {
        return;
    }
    let pki = Pki::new();
    let ovs = Ovs::start(2).unwrap();
    let c = Controller::bind("127.0.0.1:0", tls_config(&pki, true))
        .await
        .unwrap();
    ovs.set_ssl(&pki.switch.key, &pki.switch.cert, &pki.ca)
        .expect("set-ssl");
    ovs.set_controller_targets(&[format!("ssl:{}", c.local_addr())])
        .expect("set-controller");
    let sw = match c
        .wait_for_switch(Some(ovs.datapath_id), Duration::from_secs(30))
        .await
    {
        Ok(s) => s,
        Err(e) => panic!("OVS did not connect over TLS: {e}\n{}", ovs.log()),
    };
    assert_eq!(sw.version(), OFP13_VERSION);
    sw.echo(b"ssl").await.unwrap();
    let flow = OfMessage::V13(v13::Message::FlowMod(v13::FlowMod {
        cookie: 0x7175,
        cookie_mask: 0,
        table_id: 0,
        command: v13::FlowModCommand::Add,
        idle_timeout: 0,
        hard_timeout: 0,
        priority: 7,
        buffer_id: u32::MAX,
        out_port: v13::port::port_no::ANY,
        out_group: v13::group::group_id::ANY,
        flags: 0,
        match_: v13::Match::new(vec![v13::OxmField::InPort { value: 1, mask: None }]),
        instructions: vec![v13::Instruction::ApplyActions(vec![v13::Action::Output {
            port: 2,
            max_len: 0,
        }])],
    }));
    sw.send(&flow).await.unwrap();
    sw.barrier().await.unwrap();
    let stats = OfMessage::V13(v13::Message::MultipartRequest(v13::MultipartRequest {
        flags: 0,
        body: v13::MultipartRequestBody::Flow(FlowStatsRequest::all()),
    }));
    let parts = sw.multipart(&stats).await.unwrap();
    let cookies: Vec<u64> = parts
        .iter()
        .filter_map(|m| match m {
            OfMessage::V13(v13::Message::MultipartReply(v13::MultipartReply {
                body: v13::MultipartReplyBody::Flow(f),
                ..
            })) => Some(f.iter().map(|s| s.cookie).collect::<Vec<_>>()),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(cookies, vec![0x7175], "{parts:?}");
}
