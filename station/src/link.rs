//! The connection to the controller: dial `{controller_url}/api/v1/stations/link` (WebSocket, bearer token),
//! introduce the station ([`Hello`]), resend what the controller has not stored, then stream new events, relay
//! commands to the [`Executor`](crate::commands::Executor) and its acknowledgements back, and send heartbeats.
//! A lost, refused or silent connection is redialled with exponential back-off.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use thiserror::Error;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use twister_proto::link::{Down, EpInfo, Hello, HostFacts, Up, MAX_FRAME, PROTOCOL_VERSION};

use crate::backoff::Backoff;
use crate::commands::Numbered;
use crate::config::Token;
use crate::outbox::Outbox;
use crate::time::now_ms;

/// Heartbeat period used when the controller asks for 0.
pub const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(30);

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Tunables of the link.
#[derive(Debug, Clone)]
pub struct LinkOptions {
    /// First reconnection delay.
    pub backoff_min: Duration,
    /// Longest reconnection delay (and the delay after a refusal).
    pub backoff_max: Duration,
    /// Time limit for the TCP/TLS/WebSocket handshake.
    pub connect_timeout: Duration,
    /// Time limit for the controller's answer to `Hello`.
    pub welcome_timeout: Duration,
    /// At shutdown, how long to wait for the controller to acknowledge the last events.
    pub linger: Duration,
}

impl Default for LinkOptions {
    fn default() -> Self {
        LinkOptions {
            backoff_min: Duration::from_millis(200),
            backoff_max: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(15),
            welcome_timeout: Duration::from_secs(30),
            linger: Duration::from_secs(2),
        }
    }
}

/// Why a connection ended.
#[derive(Debug, Error)]
pub enum LinkError {
    /// The URL is not usable.
    #[error("bad controller URL {0:?}")]
    BadUrl(String),
    /// Dialling or the WebSocket handshake failed.
    #[error("cannot connect: {0}")]
    Connect(String),
    /// The controller refused the station.
    #[error("refused by the controller ({code}): {message}")]
    Refused {
        /// Stable code.
        code: String,
        /// Explanation.
        message: String,
    },
    /// The controller broke the protocol.
    #[error("protocol: {0}")]
    Protocol(String),
    /// The connection broke.
    #[error("connection lost: {0}")]
    Lost(String),
    /// No frame arrived for three heartbeat periods.
    #[error("no frame from the controller for {0:?}")]
    Silent(Duration),
}

/// How a session ended without error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEnd {
    /// The station is stopping.
    Shutdown,
}

/// The WebSocket URL of the link for a controller base URL (`http` → `ws`, `https` → `wss`).
pub fn link_url(controller_url: &str) -> Result<String, LinkError> {
    let base = controller_url.trim_end_matches('/');
    let ws = if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = base.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        return Err(LinkError::BadUrl(controller_url.to_string()));
    };
    Ok(format!("{ws}/api/v1/stations/link"))
}

/// The link and everything it needs.
pub struct Link {
    /// Controller base URL.
    pub controller_url: String,
    /// Station token.
    pub token: Token,
    /// Station name.
    pub station: String,
    /// Host facts for `Hello`.
    pub facts: HostFacts,
    /// EPs for `Hello`.
    pub eps: Vec<EpInfo>,
    /// Spool and state.
    pub outbox: Outbox,
    /// Where commands go to be executed.
    pub commands: mpsc::UnboundedSender<Numbered>,
    /// Numbers of executed commands, to acknowledge.
    pub acks: mpsc::UnboundedReceiver<u64>,
    /// Tunables.
    pub options: LinkOptions,
    /// TLS client settings (trusted roots) for a `wss://` link.
    pub tls: std::sync::Arc<rustls::ClientConfig>,
    /// The packet sniffer's batches and settings, when it runs.
    pub sniffer: Option<crate::sniffer::SnifferLink>,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link")
            .field("controller_url", &self.controller_url)
            .field("station", &self.station)
            .finish_non_exhaustive()
    }
}

async fn send(ws: &mut Ws, msg: &Up) -> Result<(), LinkError> {
    let text = serde_json::to_string(msg).map_err(|e| LinkError::Protocol(e.to_string()))?;
    ws.send(Message::text(text))
        .await
        .map_err(|e| LinkError::Lost(e.to_string()))
}

/// The sniffer's next batch; never ready when there is no sniffer.
async fn next_batch(
    sniffer: &mut Option<crate::sniffer::SnifferLink>,
) -> Option<twister_proto::capture::PacketBatch> {
    match sniffer {
        Some(s) => s.batches.recv().await,
        None => std::future::pending().await,
    }
}

/// Reads the next controller message; `Ok(None)` when the connection closed.
fn parse_frame(frame: Message) -> Result<Option<Down>, LinkError> {
    match frame {
        Message::Text(text) => serde_json::from_str::<Down>(text.as_str())
            .map(Some)
            .map_err(|e| LinkError::Protocol(format!("unreadable message: {e}"))),
        Message::Close(_) => Err(LinkError::Lost("closed by the controller".into())),
        Message::Binary(_) => Err(LinkError::Protocol("unexpected binary frame".into())),
        Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => Ok(None),
    }
}

impl Link {
    /// Runs until `shutdown` turns true: connects, serves, and reconnects with back-off.
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        let mut backoff = Backoff::new(self.options.backoff_min, self.options.backoff_max);
        loop {
            if *shutdown.borrow() {
                return;
            }
            let mut welcomed = false;
            let result = self.session(&mut shutdown, &mut welcomed).await;
            let delay = match result {
                Ok(SessionEnd::Shutdown) => return,
                Err(LinkError::Refused { code, message }) => {
                    tracing::error!(%code, %message, "the controller refused this station");
                    backoff.max()
                }
                Err(e) => {
                    if welcomed {
                        backoff.reset();
                    }
                    tracing::warn!(error = %e, "link down");
                    backoff.next_delay()
                }
            };
            tracing::info!(delay_ms = delay.as_millis() as u64, "reconnecting");
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = shutdown.changed() => return,
            }
        }
    }

    async fn connect(&self) -> Result<Ws, LinkError> {
        let url = link_url(&self.controller_url)?;
        let mut request = url
            .as_str()
            .into_client_request()
            .map_err(|_| LinkError::BadUrl(self.controller_url.clone()))?;
        let auth = HeaderValue::from_str(&format!("Bearer {}", self.token.expose()))
            .map_err(|_| LinkError::Connect("the token is not a valid header value".into()))?;
        request.headers_mut().insert("authorization", auth);
        let config = WebSocketConfig::default()
            .max_message_size(Some(MAX_FRAME))
            .max_frame_size(Some(MAX_FRAME));
        let connector = tokio_tungstenite::Connector::Rustls(self.tls.clone());
        let dial =
            tokio_tungstenite::connect_async_tls_with_config(request, Some(config), true, Some(connector));
        match tokio::time::timeout(self.options.connect_timeout, dial).await {
            Err(_) => Err(LinkError::Connect("timed out".into())),
            Ok(Err(e)) => {
                let e = e.to_string();
                Err(LinkError::Connect(match crate::trust::explain(&e) {
                    Some(advice) => format!("{e} ({advice})"),
                    None => e,
                }))
            }
            Ok(Ok((ws, _))) => Ok(ws),
        }
    }

    /// One connection, from dialling to its end.
    async fn session(
        &mut self,
        shutdown: &mut watch::Receiver<bool>,
        welcomed: &mut bool,
    ) -> Result<SessionEnd, LinkError> {
        let mut ws = tokio::select! {
            ws = self.connect() => ws?,
            _ = shutdown.changed() => return Ok(SessionEnd::Shutdown),
        };
        // Acknowledgements from a previous connection are covered by Hello's last_command_seq.
        while self.acks.try_recv().is_ok() {}
        let hello = Up::Hello(Hello {
            protocol: PROTOCOL_VERSION,
            station: self.station.clone(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            facts: self.facts.clone(),
            eps: self.eps.clone(),
            last_command_seq: self.outbox.last_command_seq(),
        });
        send(&mut ws, &hello).await?;

        let welcome = tokio::time::timeout(self.options.welcome_timeout, async {
            loop {
                match ws.next().await {
                    None => return Err(LinkError::Lost("closed before Welcome".into())),
                    Some(Err(e)) => return Err(LinkError::Lost(e.to_string())),
                    Some(Ok(frame)) => match parse_frame(frame)? {
                        None => continue,
                        Some(d) => return Ok(d),
                    },
                }
            }
        })
        .await
        .map_err(|_| LinkError::Protocol("no Welcome in time".into()))??;
        let (session, heartbeat_s, last_event_seq) = match welcome {
            Down::Welcome {
                session,
                heartbeat_s,
                last_event_seq,
            } => (session, heartbeat_s, last_event_seq),
            Down::Refused { code, message } => {
                let _ = ws.close(None).await;
                return Err(LinkError::Refused { code, message });
            }
            other => return Err(LinkError::Protocol(format!("expected Welcome, got {other:?}"))),
        };
        *welcomed = true;
        let acked = self.outbox.acked();
        if last_event_seq < acked {
            tracing::warn!(
                last_event_seq,
                acked,
                "the controller lost events it had acknowledged; they cannot be resent"
            );
        }
        if last_event_seq >= self.outbox.next_seq() {
            tracing::warn!(
                last_event_seq,
                "the controller knows event numbers this station never gave out (data directory reset?); \
                 numbering continues after them"
            );
        }
        self.outbox
            .ack(last_event_seq)
            .map_err(|e| LinkError::Lost(format!("spool: {e}")))?;
        let heartbeat = match heartbeat_s {
            0 => DEFAULT_HEARTBEAT,
            s => Duration::from_secs(u64::from(s)),
        };
        let dead_after = heartbeat * 3;
        tracing::info!(%session, last_event_seq, heartbeat_s, "link up");

        let mut sent = last_event_seq.max(acked);
        let mut latest = self.outbox.subscribe();
        let mut ticker = tokio::time::interval_at(Instant::now() + heartbeat, heartbeat);
        let mut last_rx = Instant::now();
        loop {
            latest.borrow_and_update();
            sent = self.send_pending(&mut ws, sent).await?;
            tokio::select! {
                frame = ws.next() => {
                    last_rx = Instant::now();
                    let frame = match frame {
                        None => return Err(LinkError::Lost("closed".into())),
                        Some(Err(e)) => return Err(LinkError::Lost(e.to_string())),
                        Some(Ok(f)) => f,
                    };
                    match parse_frame(frame) {
                        Ok(Some(down)) => self.on_down(down)?,
                        Ok(None) => {}
                        Err(LinkError::Protocol(p)) => tracing::warn!(problem = %p, "ignoring a message"),
                        Err(e) => return Err(e),
                    }
                }
                _ = latest.changed() => {}
                Some(seq) = self.acks.recv() => send(&mut ws, &Up::Ack { seq }).await?,
                Some(batch) = next_batch(&mut self.sniffer) => send(&mut ws, &Up::Packets(batch)).await?,
                _ = ticker.tick() => send(&mut ws, &Up::Heartbeat { at_ms: now_ms() }).await?,
                _ = tokio::time::sleep_until(last_rx + dead_after) => {
                    let _ = ws.close(None).await;
                    return Err(LinkError::Silent(dead_after));
                }
                _ = shutdown.changed() => {
                    self.linger(&mut ws, sent).await;
                    return Ok(SessionEnd::Shutdown);
                }
            }
        }
    }

    /// Sends every spooled event numbered above `sent`; returns the highest number sent.
    async fn send_pending(&self, ws: &mut Ws, mut sent: u64) -> Result<u64, LinkError> {
        let pending = self.outbox.after(sent);
        if pending.is_empty() {
            return Ok(sent);
        }
        for s in pending {
            let text = serde_json::to_string(&Up::Event {
                seq: s.seq,
                event: s.event,
            })
            .map_err(|e| LinkError::Protocol(e.to_string()))?;
            ws.feed(Message::text(text))
                .await
                .map_err(|e| LinkError::Lost(e.to_string()))?;
            sent = s.seq;
        }
        ws.flush().await.map_err(|e| LinkError::Lost(e.to_string()))?;
        Ok(sent)
    }

    fn on_down(&mut self, down: Down) -> Result<(), LinkError> {
        match down {
            Down::Ack { seq } => self
                .outbox
                .ack(seq)
                .map_err(|e| LinkError::Lost(format!("spool: {e}"))),
            Down::Command { seq, command } => {
                let _ = self.commands.send(Numbered { seq, command });
                Ok(())
            }
            Down::Capture(settings) => {
                match &self.sniffer {
                    Some(s) => {
                        let _ = s.settings.send(settings);
                    }
                    None => tracing::warn!("capture settings received, but this station has no sniffer"),
                }
                Ok(())
            }
            Down::Refused { code, message } => Err(LinkError::Refused { code, message }),
            Down::Welcome { .. } => {
                tracing::warn!("ignoring a second Welcome");
                Ok(())
            }
        }
    }

    /// At shutdown: send the last events and wait briefly for their acknowledgement, then close.
    async fn linger(&mut self, ws: &mut Ws, sent: u64) {
        let deadline = Instant::now() + self.options.linger;
        if let Ok(sent) = self.send_pending(ws, sent).await {
            while self.outbox.acked() < sent {
                let frame = tokio::select! {
                    f = ws.next() => f,
                    _ = tokio::time::sleep_until(deadline) => break,
                };
                match frame {
                    Some(Ok(Message::Text(text))) => {
                        if let Ok(Down::Ack { seq }) = serde_json::from_str::<Down>(text.as_str()) {
                            let _ = self.outbox.ack(seq);
                        }
                    }
                    Some(Ok(_)) => {}
                    _ => break,
                }
            }
        }
        let _ = ws.close(None).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            link_url("http://127.0.0.1:8000/").unwrap(),
            "ws://127.0.0.1:8000/api/v1/stations/link"
        );
        assert_eq!(
            link_url("https://ctl.example/twister").unwrap(),
            "wss://ctl.example/twister/api/v1/stations/link"
        );
        assert!(link_url("ftp://x").is_err());
    }
}
