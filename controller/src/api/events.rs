//! `GET /api/v1/events` (WebSocket): live change notifications for the UI, the CLI and scripts.
//!
//! Authenticate with `Authorization: Bearer …`, or from a browser by offering the subprotocols
//! `twister.v1` and `bearer.<token>` (the server selects `twister.v1`). Each message is one JSON [`Event`];
//! `?topics=inventory,reservations` narrows the stream. A subscriber too slow to keep up gets
//! `{"topic":"stream","kind":"lagged"}` and should reload its view.

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;

use super::error::ApiResult;
use super::extract::Query;
use crate::app::AppState;
use crate::auth::{Caller, Permission};
use crate::events::Event;
use crate::inventory::NodePath;

/// Stream options.
#[derive(Deserialize, Default)]
pub struct EventParams {
    /// Comma-separated topics (default: all).
    #[serde(default)]
    pub topics: Option<String>,
}

/// Routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new().route("/events", get(events))
}

/// Opens the live event stream.
#[utoipa::path(get, path = "/api/v1/events", tag = "events", security(("bearer" = [])),
    params(("topics" = Option<String>, Query)), responses((status = 101, description = "WebSocket of Event messages")))]
pub async fn events(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<EventParams>,
    ws: WebSocketUpgrade,
) -> ApiResult<Response> {
    caller.require(Permission::ViewInventory)?;
    let topics: Option<Vec<String>> = p.topics.map(|t| {
        t.split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    });
    Ok(ws
        .protocols(["twister.v1"])
        .on_upgrade(move |socket| stream(socket, state, caller, topics)))
}

fn visible(caller: &Caller, topics: &Option<Vec<String>>, e: &Event) -> bool {
    if let Some(t) = topics {
        if !t.contains(&e.topic) {
            return false;
        }
    }
    if (e.topic == "runs" || e.topic == "logs") && !caller.has(Permission::ViewReports) {
        return false;
    }
    match &e.path {
        Some(p) => NodePath::parse(p).is_ok_and(|p| caller.may_traverse(&p)),
        None => true,
    }
}

async fn stream(mut socket: WebSocket, state: AppState, caller: Caller, topics: Option<Vec<String>>) {
    let mut rx = state.events.subscribe();
    let mut shutdown = state.shutdown.clone();
    let hello = serde_json::json!({"topic": "stream", "kind": "hello", "user": caller.username});
    if socket
        .send(Message::Text(hello.to_string().into()))
        .await
        .is_err()
    {
        return;
    }
    loop {
        tokio::select! {
            ev = rx.recv() => match ev {
                Ok(e) => {
                    if !visible(&caller, &topics, &e) {
                        continue;
                    }
                    let Ok(text) = serde_json::to_string(&e) else { continue };
                    if socket.send(Message::Text(text.into())).await.is_err() {
                        break;
                    }
                }
                Err(RecvError::Lagged(n)) => {
                    let msg = serde_json::json!({"topic": "stream", "kind": "lagged", "missed": n});
                    if socket.send(Message::Text(msg.to_string().into())).await.is_err() {
                        break;
                    }
                }
                Err(RecvError::Closed) => break,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
            _ = shutdown.changed() => {
                let _ = socket.send(Message::Close(None)).await;
                break;
            }
        }
    }
}
