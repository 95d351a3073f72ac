//! One switch connection after the handshake: xid allocation, request/response matching, multipart
//! reassembly, echo keep-alive and the stream of asynchronous messages.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{broadcast, oneshot, watch};

use super::error::ChannelError;
use super::{ChannelConfig, ReadHalf, Registry, SwitchEvent, WriteHalf};
use crate::common::Echo;
use crate::framing::MessageBuffer;
use crate::{v10, v13, OfMessage};

/// The features reply of the handshake, in the negotiated version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Features {
    /// OpenFlow 1.0 (ports included).
    V10(v10::SwitchFeatures),
    /// OpenFlow 1.3 (ports come from a port-description multipart request).
    V13(v13::SwitchFeatures),
}

impl Features {
    /// The datapath id.
    pub fn datapath_id(&self) -> u64 {
        match self {
            Features::V10(f) => f.datapath_id,
            Features::V13(f) => f.datapath_id,
        }
    }

    /// Number of flow tables.
    pub fn n_tables(&self) -> u8 {
        match self {
            Features::V10(f) => f.n_tables,
            Features::V13(f) => f.n_tables,
        }
    }
}

/// An asynchronous (unsolicited) message from one switch: its xid and the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsyncMessage {
    /// Transaction id of the message.
    pub xid: u32,
    /// The message: packet-in, flow-removed, port-status, an error for a request nobody waits for, ...
    pub message: OfMessage,
}

/// A connection that completed the handshake.
pub(crate) struct Handshaken {
    pub(crate) version: u8,
    pub(crate) features: Features,
    pub(crate) peer: std::net::SocketAddr,
    pub(crate) reader: ReadHalf,
    pub(crate) writer: WriteHalf,
    pub(crate) buffer: MessageBuffer,
    pub(crate) next_xid: u32,
}

/// One control-channel message as it crossed the connection, kept while recording is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlRecord {
    /// When it was sent or read.
    pub at: std::time::SystemTime,
    /// True for switch to controller.
    pub from_switch: bool,
    /// The encoded message (or several, for raw sends).
    pub bytes: Vec<u8>,
}

type ReplyResult = Result<Vec<OfMessage>, ChannelError>;

struct Pending {
    tx: oneshot::Sender<ReplyResult>,
    parts: Vec<OfMessage>,
}

pub(crate) struct Shared {
    version: u8,
    features: Features,
    peer: std::net::SocketAddr,
    writer: tokio::sync::Mutex<WriteHalf>,
    pending: Mutex<HashMap<u32, Pending>>,
    next_xid: AtomicU32,
    closed: watch::Sender<bool>,
    messages: broadcast::Sender<AsyncMessage>,
    config: ChannelConfig,
    recording: Mutex<Option<Vec<ControlRecord>>>,
    /// While set, the switch's echo requests go unanswered and no keep-alive is sent.
    muted: std::sync::atomic::AtomicBool,
    /// A receiver of the asynchronous messages from the connection's start, for a while
    /// ([`Switch::subscribe_from_start`]).
    early: Mutex<Option<broadcast::Receiver<AsyncMessage>>>,
}

/// How long a new connection keeps its asynchronous messages for [`Switch::subscribe_from_start`].
const EARLY_WINDOW: Duration = Duration::from_secs(10);

/// A connected switch. Cheap to clone; every clone talks over the same connection.
#[derive(Clone)]
pub struct Switch {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Switch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Switch")
            .field("datapath_id", &format_args!("{:016x}", self.datapath_id()))
            .field("version", &self.shared.version)
            .field("peer", &self.shared.peer)
            .finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// True when a multipart (stats) reply says more parts follow.
pub fn has_more(msg: &OfMessage) -> bool {
    match msg {
        OfMessage::V10(v10::Message::StatsReply(r)) => r.flags & v10::stats::STATS_REPLY_MORE != 0,
        OfMessage::V13(v13::Message::MultipartReply(r)) => r.flags & v13::multipart::MULTIPART_MORE != 0,
        _ => false,
    }
}

/// True for an error message of either version.
pub fn is_error(msg: &OfMessage) -> bool {
    matches!(
        msg,
        OfMessage::V10(v10::Message::Error(_)) | OfMessage::V13(v13::Message::Error(_))
    )
}

impl Switch {
    pub(crate) fn start(done: Handshaken, config: ChannelConfig, registry: Arc<Registry>) -> Switch {
        let Handshaken {
            version,
            features,
            peer,
            reader,
            writer,
            buffer,
            next_xid,
        } = done;
        let (closed, _) = watch::channel(false);
        let (messages, early) = broadcast::channel(config.event_capacity);
        let record_from_start = registry.record_new.load(Ordering::SeqCst);
        let switch = Switch {
            shared: Arc::new(Shared {
                version,
                features,
                peer,
                writer: tokio::sync::Mutex::new(writer),
                pending: Mutex::new(HashMap::new()),
                next_xid: AtomicU32::new(next_xid),
                closed,
                messages,
                config,
                recording: Mutex::new(record_from_start.then(Vec::new)),
                muted: std::sync::atomic::AtomicBool::new(false),
                early: Mutex::new(Some(early)),
            }),
        };
        // The early receiver holds up to event_capacity messages: let it go after a while.
        let weak = Arc::downgrade(&switch.shared);
        tokio::spawn(async move {
            tokio::time::sleep(EARLY_WINDOW).await;
            if let Some(shared) = weak.upgrade() {
                lock(&shared.early).take();
            }
        });
        tokio::spawn(read_loop(switch.clone(), reader, buffer, registry));
        if !switch.shared.config.echo_interval.is_zero() {
            tokio::spawn(keep_alive(switch.clone()));
        }
        switch
    }

    /// The datapath id from the features reply.
    pub fn datapath_id(&self) -> u64 {
        self.shared.features.datapath_id()
    }

    /// The negotiated wire version (`OFP10_VERSION` or `OFP13_VERSION`).
    pub fn version(&self) -> u8 {
        self.shared.version
    }

    /// The features reply of the handshake.
    pub fn features(&self) -> &Features {
        &self.shared.features
    }

    /// The switch's address.
    pub fn peer_addr(&self) -> std::net::SocketAddr {
        self.shared.peer
    }

    /// True once the connection has closed (peer gone, keep-alive failed or [`Switch::close`]).
    pub fn is_closed(&self) -> bool {
        *self.shared.closed.borrow()
    }

    /// Waits until the connection closes.
    pub async fn closed(&self) {
        let mut rx = self.shared.closed.subscribe();
        // An error means the sender is gone, which only happens with the connection.
        let _ = rx.wait_for(|c| *c).await;
    }

    /// Closes the connection.
    pub fn close(&self) {
        self.shared.closed.send_replace(true);
    }

    /// Makes the controller look dead to the switch while the connection stays open: its echo requests
    /// are no longer answered (they are still passed to subscribers) and no keep-alive is sent. A switch
    /// that checks its controller's liveness should then close the connection (1.3 §6.3.6).
    pub fn mute(&self) {
        self.shared.muted.store(true, Ordering::SeqCst);
    }

    /// True once [`Switch::mute`] was called on this connection.
    pub fn is_muted(&self) -> bool {
        self.shared.muted.load(Ordering::SeqCst)
    }

    /// A new transaction id.
    pub fn next_xid(&self) -> u32 {
        self.shared.next_xid.fetch_add(1, Ordering::Relaxed)
    }

    /// Receives the asynchronous messages of this switch from now on.
    pub fn subscribe(&self) -> Subscription {
        Subscription {
            rx: self.shared.messages.subscribe(),
        }
    }

    fn check_version(&self, msg: &OfMessage) -> Result<(), ChannelError> {
        if msg.version() != self.shared.version {
            return Err(ChannelError::WrongVersion {
                message: msg.version(),
                connection: self.shared.version,
            });
        }
        Ok(())
    }

    /// The asynchronous messages of this switch from the start of the connection (within its first
    /// 10 s, and once; later calls, or calls after that, get [`Switch::subscribe`]'s messages from now on).
    /// For a check of what a switch sent as soon as it connected.
    pub fn subscribe_from_start(&self) -> Subscription {
        match lock(&self.shared.early).take() {
            Some(rx) => Subscription { rx },
            None => self.subscribe(),
        }
    }

    /// True while the connection records its messages.
    pub fn is_recording(&self) -> bool {
        lock(&self.shared.recording).is_some()
    }

    /// Starts keeping every message sent and received (keep-alive echoes included), dropping any earlier
    /// record.
    pub fn start_recording(&self) {
        *lock(&self.shared.recording) = Some(Vec::new());
    }

    /// Stops recording and returns what was kept since [`Switch::start_recording`].
    pub fn take_recording(&self) -> Vec<ControlRecord> {
        lock(&self.shared.recording).take().unwrap_or_default()
    }

    fn record(&self, from_switch: bool, bytes: &[u8]) {
        if let Some(r) = lock(&self.shared.recording).as_mut() {
            r.push(ControlRecord {
                at: std::time::SystemTime::now(),
                from_switch,
                bytes: bytes.to_vec(),
            });
        }
    }

    /// Sends raw bytes (already a complete message or several), for tests of malformed input.
    pub async fn send_raw(&self, bytes: &[u8]) -> Result<(), ChannelError> {
        if self.is_closed() {
            return Err(ChannelError::Closed);
        }
        self.record(false, bytes);
        let mut w = self.shared.writer.lock().await;
        w.write_all(bytes).await?;
        Ok(())
    }

    /// Sends a message with this xid, expecting no reply.
    pub async fn send_with_xid(&self, msg: &OfMessage, xid: u32) -> Result<(), ChannelError> {
        self.check_version(msg)?;
        self.send_raw(&msg.encode(xid)?).await
    }

    /// Sends a message with a fresh xid, expecting no reply; returns the xid (errors the switch sends for it
    /// arrive as asynchronous messages with this xid).
    pub async fn send(&self, msg: &OfMessage) -> Result<u32, ChannelError> {
        let xid = self.next_xid();
        self.send_with_xid(msg, xid).await?;
        Ok(xid)
    }

    /// Sends a request and collects every part of its reply (multipart replies until the MORE flag clears)
    /// within the configured request timeout. An error reply ends the collection and is the last element.
    pub async fn request_parts(&self, msg: &OfMessage) -> Result<Vec<OfMessage>, ChannelError> {
        self.request_split(std::slice::from_ref(msg)).await
    }

    /// Sends a request that spans several messages under one xid (a multipart request too long for one
    /// message: every part but the last carries REQ_MORE, which the caller sets) and collects every part of
    /// the reply, as [`Switch::request_parts`]. An error answer to any part ends the collection.
    pub async fn request_split(&self, msgs: &[OfMessage]) -> Result<Vec<OfMessage>, ChannelError> {
        if msgs.is_empty() {
            return Err(ChannelError::Usage("a request needs at least one message"));
        }
        let bytes_xid = self.next_xid();
        let mut bytes = Vec::new();
        for msg in msgs {
            self.check_version(msg)?;
            bytes.extend(msg.encode(bytes_xid)?);
        }
        let (tx, rx) = oneshot::channel();
        lock(&self.shared.pending).insert(
            bytes_xid,
            Pending {
                tx,
                parts: Vec::new(),
            },
        );
        if let Err(e) = self.send_raw(&bytes).await {
            lock(&self.shared.pending).remove(&bytes_xid);
            return Err(e);
        }
        let timeout = self.shared.config.request_timeout;
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(ChannelError::Closed),
            Err(_) => {
                lock(&self.shared.pending).remove(&bytes_xid);
                Err(ChannelError::Timeout(timeout, "a reply"))
            }
        }
    }

    /// Sends a request and returns its single reply; an error reply is [`ChannelError::Rejected`].
    pub async fn request(&self, msg: &OfMessage) -> Result<OfMessage, ChannelError> {
        let mut parts = self.request_parts(msg).await?;
        let last = parts.pop().ok_or(ChannelError::Closed)?;
        if is_error(&last) {
            return Err(ChannelError::Rejected(Box::new(last)));
        }
        Ok(last)
    }

    /// Sends a multipart (stats) request and returns every reply part; an error reply is
    /// [`ChannelError::Rejected`].
    pub async fn multipart(&self, msg: &OfMessage) -> Result<Vec<OfMessage>, ChannelError> {
        let parts = self.request_parts(msg).await?;
        if let Some(err) = parts.iter().find(|m| is_error(m)) {
            return Err(ChannelError::Rejected(Box::new(err.clone())));
        }
        Ok(parts)
    }

    /// Sends a barrier request and waits for its reply.
    pub async fn barrier(&self) -> Result<(), ChannelError> {
        let msg = match self.shared.version {
            crate::OFP10_VERSION => OfMessage::V10(v10::Message::BarrierRequest),
            _ => OfMessage::V13(v13::Message::BarrierRequest),
        };
        match self.request(&msg).await? {
            OfMessage::V10(v10::Message::BarrierReply) | OfMessage::V13(v13::Message::BarrierReply) => Ok(()),
            other => Err(ChannelError::Unexpected {
                stage: "barrier",
                msg_type: other.msg_type(),
            }),
        }
    }

    /// Sends an echo request and returns the round-trip time.
    pub async fn echo(&self, data: &[u8]) -> Result<Duration, ChannelError> {
        let echo = Echo { data: data.to_vec() };
        let msg = match self.shared.version {
            crate::OFP10_VERSION => OfMessage::V10(v10::Message::EchoRequest(echo)),
            _ => OfMessage::V13(v13::Message::EchoRequest(echo)),
        };
        let start = Instant::now();
        match self.request(&msg).await? {
            OfMessage::V10(v10::Message::EchoReply(_)) | OfMessage::V13(v13::Message::EchoReply(_)) => {
                Ok(start.elapsed())
            }
            other => Err(ChannelError::Unexpected {
                stage: "echo",
                msg_type: other.msg_type(),
            }),
        }
    }

    /// Routes one received message: echo requests are answered, replies go to their waiting request, the
    /// rest is broadcast.
    async fn dispatch(&self, xid: u32, msg: OfMessage) {
        let echo_reply = match &msg {
            OfMessage::V10(v10::Message::EchoRequest(e)) => {
                Some(OfMessage::V10(v10::Message::EchoReply(e.clone())))
            }
            OfMessage::V13(v13::Message::EchoRequest(e)) => {
                Some(OfMessage::V13(v13::Message::EchoReply(e.clone())))
            }
            _ => None,
        };
        if let Some(reply) = echo_reply {
            if self.is_muted() {
                // Unanswered, but seen by subscribers (and never taken for the reply to a request).
                let _ = self.shared.messages.send(AsyncMessage { xid, message: msg });
            } else if let Ok(bytes) = reply.encode(xid) {
                // A failed write shows up as a closed read soon after.
                let _ = self.send_raw(&bytes).await;
            }
            return;
        }
        let unmatched = {
            let mut pending = lock(&self.shared.pending);
            match pending.remove(&xid) {
                Some(mut p) => {
                    let more = has_more(&msg);
                    p.parts.push(msg);
                    if more {
                        pending.insert(xid, p);
                    } else {
                        // The requester may have given up (timeout): nothing to do then.
                        let _ = p.tx.send(Ok(p.parts));
                    }
                    None
                }
                None => Some(msg),
            }
        };
        if let Some(message) = unmatched {
            // No subscriber is fine.
            let _ = self.shared.messages.send(AsyncMessage { xid, message });
        }
    }

    fn fail_pending(&self) {
        let drained: Vec<Pending> = lock(&self.shared.pending).drain().map(|(_, p)| p).collect();
        for p in drained {
            let _ = p.tx.send(Err(ChannelError::Closed));
        }
    }

    pub(crate) fn same_connection(&self, other: &Switch) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

async fn read_loop(switch: Switch, mut reader: ReadHalf, mut buffer: MessageBuffer, registry: Arc<Registry>) {
    let mut closed = switch.shared.closed.subscribe();
    let mut chunk = vec![0u8; 65536];
    'outer: loop {
        loop {
            match buffer.next_message() {
                Ok(Some(bytes)) => {
                    switch.record(true, &bytes);
                    match OfMessage::decode(&bytes) {
                        Ok((header, msg)) => switch.dispatch(header.xid, msg).await,
                        Err(error) => registry.emit(SwitchEvent::Undecodable {
                            datapath_id: switch.datapath_id(),
                            bytes,
                            error: error.to_string(),
                        }),
                    }
                }
                Ok(None) => break,
                Err(_) => break 'outer,
            }
        }
        tokio::select! {
            read = reader.read(&mut chunk) => match read {
                Ok(0) | Err(_) => break,
                Ok(n) => buffer.push(chunk.get(..n).unwrap_or_default()),
            },
            _ = closed.wait_for(|c| *c) => break,
        }
    }
    switch.shared.closed.send_replace(true);
    {
        let mut w = switch.shared.writer.lock().await;
        let _ = w.shutdown().await;
    }
    switch.fail_pending();
    registry.remove(&switch);
}

async fn keep_alive(switch: Switch) {
    let interval = switch.shared.config.echo_interval;
    let mut closed = switch.shared.closed.subscribe();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = closed.wait_for(|c| *c) => return,
        }
        if switch.is_muted() {
            continue;
        }
        let probe = tokio::time::timeout(switch.shared.config.echo_timeout, switch.echo(b"keepalive")).await;
        if !matches!(probe, Ok(Ok(_))) {
            switch.close();
            return;
        }
    }
}

/// A receiver of one switch's asynchronous messages.
#[derive(Debug)]
pub struct Subscription {
    rx: broadcast::Receiver<AsyncMessage>,
}

impl Subscription {
    /// The next asynchronous message, or `None` once the connection is gone. Messages missed because the
    /// receiver lagged are skipped.
    pub async fn recv(&mut self) -> Option<AsyncMessage> {
        loop {
            match self.rx.recv().await {
                Ok(m) => return Some(m),
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }

    /// The next message already queued, without waiting; `None` when nothing is queued (or the connection
    /// is gone).
    pub fn try_recv(&mut self) -> Option<AsyncMessage> {
        loop {
            match self.rx.try_recv() {
                Ok(m) => return Some(m),
                Err(broadcast::error::TryRecvError::Lagged(_)) => continue,
                Err(_) => return None,
            }
        }
    }

    /// The next message for which `want` is true, within `timeout`; others are dropped.
    pub async fn expect(
        &mut self,
        timeout: Duration,
        mut want: impl FnMut(&AsyncMessage) -> bool,
    ) -> Result<AsyncMessage, ChannelError> {
        let found = tokio::time::timeout(timeout, async {
            while let Some(m) = self.recv().await {
                if want(&m) {
                    return Ok(m);
                }
            }
            Err(ChannelError::Closed)
        })
        .await;
        found.unwrap_or(Err(ChannelError::Timeout(timeout, "an asynchronous message")))
    }
}
