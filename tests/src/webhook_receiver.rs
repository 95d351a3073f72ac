//! A webhook receiver on loopback (axum) that records every request, can answer 500 to the first ones, and
//! checks the HMAC-SHA256 signature of what it got the way a real receiver would.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

/// One received request.
#[derive(Debug, Clone)]
pub struct Got {
    /// Its headers.
    pub headers: HeaderMap,
    /// Its raw body.
    pub body: Bytes,
}

impl Got {
    /// The value of header `name` (panics when absent: every delivery carries it).
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header"))
            .to_str()
            .unwrap()
            .to_string()
    }
}

/// A running receiver: POSTs to `http://{addr}/hook` are recorded in `got`.
#[derive(Clone)]
pub struct Receiver {
    /// Every request received, in order.
    pub got: Arc<Mutex<Vec<Got>>>,
    /// Answer 500 to this many requests first.
    fail_first: Arc<Mutex<usize>>,
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    r.got.lock().unwrap().push(Got { headers, body });
    let mut f = r.fail_first.lock().unwrap();
    if *f > 0 {
        *f -= 1;
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    StatusCode::NO_CONTENT
}

impl Receiver {
    /// Starts a receiver that answers 500 to the first `fail_first` requests and 204 to the rest; it lives as
    /// long as the test's runtime.
    pub async fn start(fail_first: usize) -> (Receiver, SocketAddr) {
        let r = Receiver {
            got: Arc::default(),
            fail_first: Arc::new(Mutex::new(fail_first)),
        };
        let app = Router::new().route("/hook", post(receive)).with_state(r.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        (r, addr)
    }

    /// Copies of the requests received so far.
    pub fn requests(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }
}

/// Checks a request's signature (`X-Twister-Signature` = HMAC-SHA256 under `secret` of `TIMESTAMP.BODY`) and
/// headers, and returns the parsed body; panics when anything is wrong.
pub fn verify(g: &Got, secret: &str) -> Value {
    let ts = g.header("x-twister-timestamp");
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(ts.as_bytes());
    mac.update(b".");
    mac.update(&g.body);
    let want = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(g.header("x-twister-signature"), want, "bad signature");
    assert_eq!(g.header("content-type"), "application/json");
    let body: Value = serde_json::from_slice(&g.body).unwrap();
    assert_eq!(body["event"], g.header("x-twister-event"));
    assert_eq!(body["id"], g.header("x-twister-delivery"));
    body
}
