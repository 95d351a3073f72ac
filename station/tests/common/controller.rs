//! A fake controller for link tests: accepts the station's WebSocket, checks the token, and plays the
//! controller's side of the protocol by hand.
#![allow(dead_code, clippy::unwrap_used, clippy::result_large_err)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;
use twister_proto::link::{Down, Hello, Up};

pub struct FakeController {
    listener: TcpListener,
    pub url: String,
}

pub struct Conn {
    ws: WebSocketStream<TcpStream>,
    pub path: String,
    pub auth: Option<String>,
}

impl FakeController {
    pub async fn start() -> FakeController {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        FakeController { listener, url }
    }

    pub fn from_listener(listener: TcpListener, url: String) -> FakeController {
        FakeController { listener, url }
    }

    /// Accepts the next connection (at most `limit` from now).
    pub async fn accept(&self, limit: Duration) -> Conn {
        let (tcp, _) = tokio::time::timeout(limit, self.listener.accept())
            .await
            .expect("no connection in time")
            .unwrap();
        let seen: Arc<Mutex<(String, Option<String>)>> = Arc::default();
        let s = seen.clone();
        let ws = tokio_tungstenite::accept_hdr_async(tcp, move |req: &Request, resp: Response| {
            let auth = req
                .headers()
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            *s.lock().unwrap() = (req.uri().path().to_string(), auth);
            Ok(resp)
        })
        .await
        .unwrap();
        let (path, auth) = seen.lock().unwrap().clone();
        Conn { ws, path, auth }
    }
}

impl Conn {
    pub async fn send(&mut self, d: &Down) {
        let text = serde_json::to_string(d).unwrap();
        self.ws.send(Message::text(text)).await.unwrap();
    }

    /// The next message from the station, heartbeats included; `None` when it closed or `limit` passed.
    pub async fn recv_any(&mut self, limit: Duration) -> Option<Up> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let frame = tokio::time::timeout_at(deadline, self.ws.next()).await.ok()??;
            match frame {
                Ok(Message::Text(t)) => return Some(serde_json::from_str(t.as_str()).unwrap()),
                Ok(Message::Close(_)) | Err(_) => return None,
                Ok(_) => continue,
            }
        }
    }

    /// The next message that is not a heartbeat.
    pub async fn recv(&mut self, limit: Duration) -> Option<Up> {
        loop {
            match self.recv_any(limit).await? {
                Up::Heartbeat { .. } => continue,
                other => return Some(other),
            }
        }
    }

    pub async fn hello(&mut self) -> Hello {
        match self.recv(Duration::from_secs(10)).await {
            Some(Up::Hello(h)) => h,
            other => panic!("expected Hello, got {other:?}"),
        }
    }

    pub async fn welcome(&mut self, last_event_seq: u64, heartbeat_s: u32) {
        self.send(&Down::Welcome {
            session: "s".into(),
            heartbeat_s,
            last_event_seq,
        })
        .await;
    }

    /// Every message (not heartbeats) until none comes for `quiet`.
    pub async fn drain(&mut self, quiet: Duration) -> Vec<Up> {
        let mut out = Vec::new();
        while let Some(m) = self.recv(quiet).await {
            out.push(m);
        }
        out
    }

    /// Messages (not heartbeats) until one satisfies `pred` (at most 15 s), then any more that come before a
    /// gap of `quiet`.
    pub async fn until(&mut self, quiet: Duration, mut pred: impl FnMut(&Up) -> bool) -> Vec<Up> {
        let mut out = Vec::new();
        loop {
            let m = self
                .recv(Duration::from_secs(15))
                .await
                .unwrap_or_else(|| panic!("condition not met; got {out:#?}"));
            let done = pred(&m);
            out.push(m);
            if done {
                break;
            }
        }
        out.extend(self.drain(quiet).await);
        out
    }

    /// Drops the TCP connection without a closing handshake.
    pub fn cut(self) {
        drop(self.ws);
    }
}
