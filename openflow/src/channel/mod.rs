//! The controller side of the OpenFlow channel.
//!
//! [`Controller::bind`] listens for switches (port [`DEFAULT_PORT`] by default, any address). Each connection
//! goes through the handshake (hello with a version bitmap, version negotiation, features request for the
//! datapath id) and then becomes a [`Switch`]: requests get fresh xids and are matched with their replies
//! (multipart replies reassembled until the MORE flag clears) under a timeout, echo requests are answered, an
//! echo keep-alive drops a dead peer, and everything unsolicited (packet-in, flow-removed, port-status, errors
//! nobody waits for) is broadcast to [`Switch::subscribe`]rs. Several switches at once are kept by datapath id;
//! [`Controller::events`] reports connections, disconnections and failed handshakes.
//!
//! ```no_run
//! # async fn f() -> Result<(), twister_openflow::channel::ChannelError> {
//! use std::time::Duration;
//! use twister_openflow::channel::{ChannelConfig, Controller};
//! let controller = Controller::bind("127.0.0.1:6653", ChannelConfig::default()).await?;
//! let switch = controller.wait_for_switch(None, Duration::from_secs(10)).await?;
//! switch.barrier().await?;
//! # Ok(()) }
//! ```

mod error;
pub mod handshake;
mod switch;
pub mod tls;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, ToSocketAddrs};
use tokio::sync::broadcast;

pub use error::ChannelError;
pub use switch::{has_more, is_error, AsyncMessage, ControlRecord, Features, Subscription, Switch};

use crate::framing::MessageBuffer;
use crate::hello::Hello;
use crate::{v10, v13, OfMessage, OFP10_VERSION, OFP13_VERSION};

/// The IANA port for OpenFlow.
pub const DEFAULT_PORT: u16 = 6653;
/// The port OpenFlow used before IANA assigned 6653; many switches still dial it.
pub const LEGACY_PORT: u16 = 6633;

/// A switch connection's read side (plain TCP or TLS).
pub(crate) type ReadHalf = Box<dyn AsyncRead + Send + Unpin>;
/// A switch connection's write side (plain TCP or TLS).
pub(crate) type WriteHalf = Box<dyn AsyncWrite + Send + Unpin>;

/// A byte stream to a switch (plain TCP, or TLS when the channel is configured for it).
pub trait RawStream: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> RawStream for T {}

/// A switch's connection handed over before any OpenFlow message was exchanged
/// ([`SwitchDirectory::take_next_connection`]): the taker speaks OpenFlow on it itself.
pub struct RawConnection {
    /// The connection (after the TLS handshake, when TLS is configured).
    pub stream: Box<dyn RawStream>,
    /// The switch's address.
    pub peer: SocketAddr,
}

impl std::fmt::Debug for RawConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawConnection")
            .field("peer", &self.peer)
            .finish_non_exhaustive()
    }
}

/// Settings of the controller channel.
#[derive(Debug, Clone)]
pub struct ChannelConfig {
    /// Versions we offer (wire version numbers, e.g. `[OFP10_VERSION, OFP13_VERSION]`).
    pub versions: Vec<u8>,
    /// Time allowed for hello and features reply.
    pub handshake_timeout: Duration,
    /// Time a request waits for its (last) reply.
    pub request_timeout: Duration,
    /// Idle time between keep-alive echo requests; zero turns the keep-alive off.
    pub echo_interval: Duration,
    /// Time an echo reply may take before the peer counts as dead.
    pub echo_timeout: Duration,
    /// Capacity of the broadcast queues (events and asynchronous messages).
    pub event_capacity: usize,
    /// TLS for switch connections ([`tls::server_config`]); `None` for plain TCP. With a client CA in it,
    /// a switch must present a certificate that CA signed.
    pub tls: Option<Arc<rustls::ServerConfig>>,
}

impl Default for ChannelConfig {
    fn default() -> Self {
        ChannelConfig {
            versions: vec![OFP10_VERSION, OFP13_VERSION],
            handshake_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(5),
            echo_interval: Duration::from_secs(5),
            echo_timeout: Duration::from_secs(3),
            event_capacity: 4096,
            tls: None,
        }
    }
}

impl ChannelConfig {
    /// The default settings offering only these versions.
    pub fn with_versions(versions: &[u8]) -> ChannelConfig {
        ChannelConfig {
            versions: versions.to_vec(),
            ..ChannelConfig::default()
        }
    }
}

/// Something that happened on the controller.
#[derive(Debug, Clone)]
pub enum SwitchEvent {
    /// A switch completed the handshake.
    Connected {
        /// Its datapath id.
        datapath_id: u64,
        /// Negotiated version.
        version: u8,
    },
    /// A switch's connection closed.
    Disconnected {
        /// Its datapath id.
        datapath_id: u64,
    },
    /// A connection failed before or during the handshake.
    HandshakeFailed {
        /// Peer address.
        peer: SocketAddr,
        /// What went wrong.
        error: String,
    },
    /// A connection was closed as soon as it was accepted, because the controller is refusing switches
    /// ([`SwitchDirectory::set_refusing`]).
    Refused {
        /// Peer address.
        peer: SocketAddr,
    },
    /// A switch sent a message that does not decode (the connection stays up).
    Undecodable {
        /// Its datapath id.
        datapath_id: u64,
        /// The message bytes.
        bytes: Vec<u8>,
        /// The decode error.
        error: String,
    },
}

pub(crate) struct Registry {
    switches: Mutex<HashMap<u64, Switch>>,
    events: broadcast::Sender<SwitchEvent>,
    /// While set, new connections are closed as soon as they are accepted.
    refusing: std::sync::atomic::AtomicBool,
    /// Who takes the next connection raw, if anyone.
    handover: Mutex<Option<tokio::sync::oneshot::Sender<Result<RawConnection, ChannelError>>>>,
    /// While set, new connections record their messages from the start ([`Switch::start_recording`]).
    record_new: std::sync::atomic::AtomicBool,
}

impl Registry {
    fn lock(&self) -> MutexGuard<'_, HashMap<u64, Switch>> {
        self.switches
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn emit(&self, event: SwitchEvent) {
        // No subscriber is fine.
        let _ = self.events.send(event);
    }

    fn insert(&self, switch: Switch) {
        let old = self.lock().insert(switch.datapath_id(), switch.clone());
        if let Some(old) = old {
            old.close();
        }
        self.emit(SwitchEvent::Connected {
            datapath_id: switch.datapath_id(),
            version: switch.version(),
        });
    }

    pub(crate) fn remove(&self, switch: &Switch) {
        let dpid = switch.datapath_id();
        {
            let mut map = self.lock();
            if map.get(&dpid).is_some_and(|s| s.same_connection(switch)) {
                map.remove(&dpid);
            }
        }
        self.emit(SwitchEvent::Disconnected { datapath_id: dpid });
    }

    /// Waits for a switch (with this datapath id, or any) that is not the connection `previous`.
    async fn wait_for(
        &self,
        datapath_id: Option<u64>,
        previous: Option<&Switch>,
        timeout: Duration,
    ) -> Result<Switch, ChannelError> {
        let mut events = self.events.subscribe();
        let find = || {
            let map = self.lock();
            let fresh = |s: &&Switch| previous.is_none_or(|p| !s.same_connection(p));
            match datapath_id {
                Some(id) => map.get(&id).filter(fresh).cloned(),
                None => map.values().find(fresh).cloned(),
            }
        };
        let waited = tokio::time::timeout(timeout, async {
            loop {
                if let Some(s) = find() {
                    return Ok(s);
                }
                match events.recv().await {
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return Err(ChannelError::Closed),
                }
            }
        })
        .await;
        waited.unwrap_or(Err(ChannelError::Timeout(timeout, "a switch")))
    }
}

/// The connected switches of a [`Controller`], by datapath id. Cheap to clone.
#[derive(Clone)]
pub struct SwitchDirectory {
    registry: Arc<Registry>,
}

impl std::fmt::Debug for SwitchDirectory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SwitchDirectory").finish_non_exhaustive()
    }
}

impl SwitchDirectory {
    /// The switch with this datapath id, if connected.
    pub fn switch(&self, datapath_id: u64) -> Option<Switch> {
        self.registry.lock().get(&datapath_id).cloned()
    }

    /// Datapath ids of the connected switches, sorted.
    pub fn datapath_ids(&self) -> Vec<u64> {
        let mut ids: Vec<u64> = self.registry.lock().keys().copied().collect();
        ids.sort_unstable();
        ids
    }

    /// Starts or stops refusing switches: while refusing, every new connection (of any switch) is closed
    /// as soon as it is accepted (before the hello), so a switch that lost its connection finds its
    /// controller gone. Switches already connected stay connected.
    pub fn set_refusing(&self, refusing: bool) {
        self.registry
            .refusing
            .store(refusing, std::sync::atomic::Ordering::SeqCst);
    }

    /// True while new connections are refused.
    pub fn is_refusing(&self) -> bool {
        self.registry.refusing.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Takes the next connection any switch makes, before any OpenFlow message (after TLS, when
    /// configured), instead of letting the controller handshake on it; even while refusing. For tests of a
    /// switch's own side of the handshake.
    /// One taker at a time; a taker that gives up (timeout, or its future dropped) leaves the next
    /// connection to the controller again.
    pub async fn take_next_connection(&self, timeout: Duration) -> Result<RawConnection, ChannelError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        {
            let mut slot = self.registry.handover.lock().unwrap_or_else(|e| e.into_inner());
            if slot.as_ref().is_some_and(|t| !t.is_closed()) {
                return Err(ChannelError::Usage(
                    "another caller is already taking the next connection",
                ));
            }
            *slot = Some(tx);
        }
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(conn)) => conn,
            Ok(Err(_)) => Err(ChannelError::Closed),
            // The dropped receiver marks the slot closed: the accept loop skips it.
            Err(_) => Err(ChannelError::Timeout(timeout, "a connection")),
        }
    }

    /// Makes every new connection record its messages from its first one (until turned off), so that
    /// nothing a switch sends right after it connects is missing from a case's evidence.
    pub fn record_new_connections(&self, on: bool) {
        self.registry
            .record_new
            .store(on, std::sync::atomic::Ordering::SeqCst);
    }

    /// Waits for the switch with this datapath id to be connected on a connection other than `previous`
    /// (the switch coming back after its connection closed).
    pub async fn wait_for_reconnect(
        &self,
        datapath_id: u64,
        previous: &Switch,
        timeout: Duration,
    ) -> Result<Switch, ChannelError> {
        self.registry
            .wait_for(Some(datapath_id), Some(previous), timeout)
            .await
    }
}

/// A listening controller and the switches connected to it. Dropping it stops listening and closes every
/// connection.
pub struct Controller {
    local_addr: SocketAddr,
    also: Vec<SocketAddr>,
    config: ChannelConfig,
    registry: Arc<Registry>,
    accept: Vec<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for Controller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Controller")
            .field("local_addr", &self.local_addr)
            .finish()
    }
}

impl Controller {
    /// Listens on `addr` (port 0 picks a free port) and accepts switches in the background.
    pub async fn bind(addr: impl ToSocketAddrs, config: ChannelConfig) -> Result<Controller, ChannelError> {
        let listener = TcpListener::bind(addr).await?;
        let local_addr = listener.local_addr()?;
        let (events, _) = broadcast::channel(config.event_capacity);
        let registry = Arc::new(Registry {
            switches: Mutex::new(HashMap::new()),
            events,
            refusing: std::sync::atomic::AtomicBool::new(false),
            handover: Mutex::new(None),
            record_new: std::sync::atomic::AtomicBool::new(false),
        });
        let accept = vec![tokio::spawn(accept_loop(
            listener,
            config.clone(),
            registry.clone(),
        ))];
        Ok(Controller {
            local_addr,
            also: Vec::new(),
            config,
            registry,
            accept,
        })
    }

    /// Listens on one more address (the legacy port 6633 beside 6653, say), with the same settings; the
    /// switches of every listener share one directory. Returns the address bound.
    pub async fn listen_also(&mut self, addr: impl ToSocketAddrs) -> Result<SocketAddr, ChannelError> {
        let listener = TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        self.accept.push(tokio::spawn(accept_loop(
            listener,
            self.config.clone(),
            self.registry.clone(),
        )));
        self.also.push(local);
        Ok(local)
    }

    /// The address the first listener is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Every address listened on, the first one first.
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        std::iter::once(self.local_addr)
            .chain(self.also.iter().copied())
            .collect()
    }

    /// Receives controller events from now on.
    pub fn events(&self) -> broadcast::Receiver<SwitchEvent> {
        self.registry.events.subscribe()
    }

    /// The switch with this datapath id, if connected.
    pub fn switch(&self, datapath_id: u64) -> Option<Switch> {
        self.registry.lock().get(&datapath_id).cloned()
    }

    /// Datapath ids of the connected switches, sorted.
    pub fn datapath_ids(&self) -> Vec<u64> {
        let mut ids: Vec<u64> = self.registry.lock().keys().copied().collect();
        ids.sort_unstable();
        ids
    }

    /// A handle on the connected switches that can be kept apart from the controller (it sees no switch
    /// once the controller is dropped).
    pub fn directory(&self) -> SwitchDirectory {
        SwitchDirectory {
            registry: self.registry.clone(),
        }
    }

    /// Waits for a switch (with this datapath id, or any) to be connected.
    pub async fn wait_for_switch(
        &self,
        datapath_id: Option<u64>,
        timeout: Duration,
    ) -> Result<Switch, ChannelError> {
        self.registry.wait_for(datapath_id, None, timeout).await
    }
}

impl Drop for Controller {
    fn drop(&mut self) {
        for a in &self.accept {
            a.abort();
        }
        let switches: Vec<Switch> = self.registry.lock().values().cloned().collect();
        for s in switches {
            s.close();
        }
    }
}

async fn accept_loop(listener: TcpListener, config: ChannelConfig, registry: Arc<Registry>) {
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        // A taker that gave up left a closed sender: the connection goes on as usual.
        let taker = registry
            .handover
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .filter(|t| !t.is_closed());
        if let Some(taker) = taker {
            let (tls, timeout) = (config.tls.clone(), config.handshake_timeout);
            tokio::spawn(async move {
                let stream = tokio::time::timeout(timeout, secure(stream, tls))
                    .await
                    .unwrap_or(Err(ChannelError::Timeout(timeout, "the TLS handshake")));
                // The taker may have given up: the connection then just closes.
                let _ = taker.send(stream.map(|stream| RawConnection { stream, peer }));
            });
            continue;
        }
        if registry.refusing.load(std::sync::atomic::Ordering::SeqCst) {
            drop(stream);
            registry.emit(SwitchEvent::Refused { peer });
            continue;
        }
        let config = config.clone();
        let registry = registry.clone();
        tokio::spawn(async move {
            let timeout = config.handshake_timeout;
            let result = tokio::time::timeout(timeout, connect(stream, peer, config, registry.clone())).await;
            let error = match result {
                Ok(Ok(switch)) => {
                    registry.insert(switch);
                    return;
                }
                Ok(Err(e)) => e,
                Err(_) => ChannelError::Timeout(timeout, "the handshake"),
            };
            registry.emit(SwitchEvent::HandshakeFailed {
                peer,
                error: error.to_string(),
            });
        });
    }
}

/// TLS (when configured), then the OpenFlow handshake, both under the handshake deadline.
async fn connect(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    config: ChannelConfig,
    registry: Arc<Registry>,
) -> Result<Switch, ChannelError> {
    let stream = secure(stream, config.tls.clone()).await?;
    handshake(stream, peer, config, registry).await
}

/// The switch's byte stream: TCP_NODELAY set, and TLS accepted when the channel is configured for it.
async fn secure(
    stream: tokio::net::TcpStream,
    tls: Option<Arc<rustls::ServerConfig>>,
) -> Result<Box<dyn RawStream>, ChannelError> {
    stream.set_nodelay(true)?;
    Ok(match tls {
        None => Box::new(stream),
        Some(tls) => Box::new(
            tokio_rustls::TlsAcceptor::from(tls)
                .accept(stream)
                .await
                .map_err(|e| ChannelError::Tls(e.to_string()))?,
        ),
    })
}

/// Reads the next whole message from the stream into the buffer.
async fn read_message<S: AsyncRead + Unpin>(
    stream: &mut S,
    buffer: &mut MessageBuffer,
) -> Result<(crate::Header, Result<OfMessage, crate::DecodeError>, Vec<u8>), ChannelError> {
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(bytes) = buffer.next_message()? {
            let header = crate::Header::decode(&bytes)?;
            let msg = OfMessage::decode(&bytes).map(|(_, m)| m);
            return Ok((header, msg, bytes));
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(ChannelError::Closed);
        }
        buffer.push(chunk.get(..n).unwrap_or_default());
    }
}

fn hello_failed(version: u8, text: &str) -> OfMessage {
    let data = text.as_bytes().to_vec();
    if version == OFP10_VERSION {
        OfMessage::V10(v10::Message::Error(v10::error_msg::ErrorMsg {
            kind: v10::error_msg::ErrorKind::HelloFailed(v10::error_msg::HelloFailedCode::Incompatible),
            data,
        }))
    } else {
        OfMessage::V13(v13::Message::Error(v13::error_msg::ErrorMsg {
            kind: v13::error_msg::ErrorKind::HelloFailed(v13::error_msg::HelloFailedCode::Incompatible),
            data,
        }))
    }
}

async fn handshake<S>(
    mut stream: S,
    peer: SocketAddr,
    config: ChannelConfig,
    registry: Arc<Registry>,
) -> Result<Switch, ChannelError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let our_max = config.versions.iter().copied().max().unwrap_or(OFP13_VERSION);
    let mut xid: u32 = 1;
    let hello = Hello::with_versions(&config.versions);
    let hello_msg = match our_max {
        OFP10_VERSION => OfMessage::V10(v10::Message::Hello(hello)),
        OFP13_VERSION => OfMessage::V13(v13::Message::Hello(hello)),
        version => OfMessage::Other {
            version,
            msg_type: 0,
            body: Vec::new(),
        },
    };
    stream.write_all(&hello_msg.encode(xid)?).await?;
    xid += 1;

    let mut buffer = MessageBuffer::new();
    let (header, _, bytes) = read_message(&mut stream, &mut buffer).await?;
    if header.msg_type != 0 {
        return Err(ChannelError::Unexpected {
            stage: "hello",
            msg_type: header.msg_type,
        });
    }
    let peer_hello = Hello::decode_body(bytes.get(crate::HEADER_LEN..).unwrap_or_default()).ok();
    let Some(version) = handshake::negotiate(&config.versions, header.version, peer_hello.as_ref()) else {
        let theirs = peer_hello
            .as_ref()
            .and_then(Hello::versions)
            .unwrap_or_else(|| vec![header.version]);
        let text = format!("we support versions {:?}", config.versions);
        if let Ok(b) = hello_failed(our_max.min(OFP13_VERSION), &text).encode(header.xid) {
            let _ = stream.write_all(&b).await;
        }
        return Err(ChannelError::NoCommonVersion {
            ours: config.versions.clone(),
            theirs,
        });
    };

    let request = if version == OFP10_VERSION {
        OfMessage::V10(v10::Message::FeaturesRequest)
    } else {
        OfMessage::V13(v13::Message::FeaturesRequest)
    };
    let features_xid = xid;
    stream.write_all(&request.encode(features_xid)?).await?;
    xid += 1;
    let features = loop {
        let (header, msg, _) = read_message(&mut stream, &mut buffer).await?;
        match msg? {
            OfMessage::V10(v10::Message::FeaturesReply(f)) if version == OFP10_VERSION => {
                break Features::V10(f)
            }
            OfMessage::V13(v13::Message::FeaturesReply(f)) if version == OFP13_VERSION => {
                break Features::V13(f)
            }
            OfMessage::V10(v10::Message::EchoRequest(e)) => {
                let reply = OfMessage::V10(v10::Message::EchoReply(e));
                stream.write_all(&reply.encode(header.xid)?).await?;
            }
            OfMessage::V13(v13::Message::EchoRequest(e)) => {
                let reply = OfMessage::V13(v13::Message::EchoReply(e));
                stream.write_all(&reply.encode(header.xid)?).await?;
            }
            m if is_error(&m) && header.xid == features_xid => {
                return Err(ChannelError::Rejected(Box::new(m)));
            }
            // Anything else before the features reply (a port status, say) is not ours to keep.
            _ => {}
        }
    };
    let (reader, writer) = tokio::io::split(stream);
    let done = switch::Handshaken {
        version,
        features,
        peer,
        reader: Box::new(reader),
        writer: Box::new(writer),
        buffer,
        next_xid: xid,
    };
    Ok(Switch::start(done, config, registry))
}

#[cfg(test)]
mod tests;
