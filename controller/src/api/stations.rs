//! Stations: registration and tokens (admins), the list of stations and EPs, the station link (WebSocket), and
//! the files stations fetch by content hash.

use std::time::Duration;

use axum::body::Body;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::{FutureExt, SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::mpsc;
use twister_proto::link::{Command, Down, EpInfo, HostFacts, StationEvent, Up, MAX_FRAME, PROTOCOL_VERSION};
use utoipa::ToSchema;

use super::error::{ApiError, ApiResult};
use crate::app::AppState;
use crate::auth::{generate_token, Caller, Permission, TokenKind, TokenScope};
use crate::execution::hub::SessionHandle;
use crate::store::stations::StationRow;
use crate::store::tokens::TokenRow;
use crate::store::{self, audit, ms_to_rfc3339, new_id, now_ms, StoreError};

/// A station as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct StationView {
    /// Name.
    pub name: String,
    /// Linked now.
    pub online: bool,
    /// EPs it offers.
    #[schema(value_type = Vec<Object>)]
    pub eps: Vec<EpInfo>,
    /// Host facts from its last hello.
    #[schema(value_type = Object)]
    pub facts: HostFacts,
    /// Software version.
    pub version: String,
    /// Last frame received.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_seen_at: Option<String>,
    /// When the current link came up.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub online_since: Option<String>,
    /// Registered by.
    pub created_by: String,
    /// Registered at.
    pub created_at: String,
}

/// A newly registered station (or a new token) with its secret, shown once.
#[derive(Debug, Serialize, ToSchema)]
pub struct StationToken {
    /// Station.
    pub station: StationView,
    /// The station token for its config (`token` or `token_file`).
    pub token: String,
}

/// Body of `POST /stations`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStation {
    /// Unique name (letters, digits, `-`, `_`, `.`).
    pub name: String,
}

/// An EP as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct EpView {
    /// EP name.
    pub name: String,
    /// Its station.
    pub station: String,
    /// Whether the station is linked.
    pub online: bool,
}

/// Routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/stations", get(list).post(create))
        .route("/stations/link", get(link))
        .route("/stations/files/{sha256}", get(file))
        .route("/stations/{name}", get(get_one).delete(remove))
        .route("/stations/{name}/token", post(rotate))
        .route("/eps", get(eps))
}

fn view(state: &AppState, s: &StationRow) -> StationView {
    StationView {
        name: s.name.clone(),
        online: state.engine.hub().is_online(&s.id),
        eps: serde_json::from_str(&s.eps).unwrap_or_default(),
        facts: serde_json::from_str(&s.facts).unwrap_or_default(),
        version: s.version.clone(),
        last_seen_at: s.last_seen_at.map(ms_to_rfc3339),
        online_since: state.engine.hub().online_since(&s.id).map(ms_to_rfc3339),
        created_by: s.created_by.clone(),
        created_at: ms_to_rfc3339(s.created_at),
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

/// Registered stations.
#[utoipa::path(get, path = "/api/v1/stations", tag = "stations", security(("bearer" = [])),
    responses((status = 200, body = [StationView])))]
pub async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<StationView>>> {
    caller.require(Permission::ViewReports)?;
    let rows = store::stations::list(&state.store).await?;
    Ok(Json(rows.iter().map(|s| view(&state, s)).collect()))
}

/// One station.
#[utoipa::path(get, path = "/api/v1/stations/{name}", tag = "stations", security(("bearer" = [])),
    params(("name" = String, Path)), responses((status = 200, body = StationView)))]
pub async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<Json<StationView>> {
    caller.require(Permission::ViewReports)?;
    let mut conn = state.store.pool().acquire().await.map_err(StoreError::from)?;
    let s = store::stations::by_name(&mut conn, &name)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no station {name}")))?;
    Ok(Json(view(&state, &s)))
}

/// Every EP offered by a station, with whether it is online.
#[utoipa::path(get, path = "/api/v1/eps", tag = "stations", security(("bearer" = [])),
    responses((status = 200, body = [EpView])))]
pub async fn eps(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<EpView>>> {
    caller.require(Permission::ViewReports)?;
    Ok(Json(
        state
            .engine
            .hub()
            .eps()
            .into_iter()
            .map(|(name, station, online)| EpView {
                name,
                station,
                online,
            })
            .collect(),
    ))
}

async fn issue_token(
    tx: &mut crate::store::WriteTx,
    caller: &Caller,
    station: &StationRow,
) -> Result<String, ApiError> {
    if let Some(old) = &station.token_id {
        store::tokens::revoke(tx.conn(), old, now_ms()).await?;
    }
    let token = generate_token();
    let row = TokenRow {
        id: new_id(),
        user_id: caller.user_id.clone(),
        name: format!("station {}", station.name),
        kind: TokenKind::Station,
        token_hash: token.hash,
        scope: TokenScope {
            station: Some(station.name.clone()),
            ..Default::default()
        },
        created_at: now_ms(),
        expires_at: None,
        last_used_at: None,
        revoked_at: None,
    };
    store::tokens::insert(tx.conn(), &row).await?;
    store::stations::set_token(tx.conn(), &station.id, &row.id).await?;
    Ok(token.secret)
}

/// Registers a station and issues its token (shown once).
#[utoipa::path(post, path = "/api/v1/stations", tag = "stations", security(("bearer" = [])),
    request_body = NewStation, responses((status = 201, body = StationToken), (status = 409, body = super::error::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Json(req): Json<NewStation>,
) -> ApiResult<(StatusCode, Json<StationToken>)> {
    caller.require(Permission::ManageStations)?;
    if !valid_name(&req.name) {
        return Err(ApiError::invalid("name: 1-64 letters, digits, '-', '_' or '.'"));
    }
    let mut tx = state.store.begin_write().await?;
    if store::stations::by_name(tx.conn(), &req.name).await?.is_some() {
        return Err(ApiError::conflict(format!(
            "station {} exists; rotate its token instead",
            req.name
        )));
    }
    let mut row = StationRow {
        id: new_id(),
        name: req.name.clone(),
        created_by: caller.username.clone(),
        created_at: now_ms(),
        token_id: None,
        version: String::new(),
        facts: "{}".into(),
        eps: "[]".into(),
        last_seen_at: None,
        connected: false,
        last_event_seq: 0,
        next_command_seq: 1,
        acked_command_seq: 0,
    };
    store::stations::insert(tx.conn(), &row).await?;
    let token = issue_token(&mut tx, &caller, &row).await?;
    audit::record(
        tx.conn(),
        &caller.username,
        "station.create",
        &row.name,
        None,
        None,
    )
    .await?;
    tx.commit().await?;
    row.token_id = None;
    Ok((
        StatusCode::CREATED,
        Json(StationToken {
            station: view(&state, &row),
            token,
        }),
    ))
}

/// Issues a new token for a station, revoking the old one.
#[utoipa::path(post, path = "/api/v1/stations/{name}/token", tag = "stations", security(("bearer" = [])),
    params(("name" = String, Path)), responses((status = 200, body = StationToken)))]
pub async fn rotate(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<Json<StationToken>> {
    caller.require(Permission::ManageStations)?;
    let mut tx = state.store.begin_write().await?;
    let row = store::stations::by_name(tx.conn(), &name)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no station {name}")))?;
    let token = issue_token(&mut tx, &caller, &row).await?;
    audit::record(
        tx.conn(),
        &caller.username,
        "station.token",
        &row.name,
        None,
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(Json(StationToken {
        station: view(&state, &row),
        token,
    }))
}

/// Deletes a station and revokes its token.
#[utoipa::path(delete, path = "/api/v1/stations/{name}", tag = "stations", security(("bearer" = [])),
    params(("name" = String, Path)), responses((status = 204)))]
pub async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    caller.require(Permission::ManageStations)?;
    let mut tx = state.store.begin_write().await?;
    let row = store::stations::by_name(tx.conn(), &name)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no station {name}")))?;
    if let Some(t) = &row.token_id {
        store::tokens::revoke(tx.conn(), t, now_ms()).await?;
    }
    store::stations::delete(tx.conn(), &row.id).await?;
    audit::record(
        tx.conn(),
        &caller.username,
        "station.delete",
        &row.name,
        None,
        None,
    )
    .await?;
    tx.commit().await?;
    state.engine.hub().push(
        &row.id,
        Down::Refused {
            code: "deleted".into(),
            message: "this station was deleted".into(),
        },
    );
    state.engine.hub().forget(&row.id);
    Ok(StatusCode::NO_CONTENT)
}

/// A published test file or library, by SHA-256 (station tokens only).
#[utoipa::path(get, path = "/api/v1/stations/files/{sha256}", tag = "stations", security(("bearer" = [])),
    params(("sha256" = String, Path)), responses((status = 200, content_type = "application/octet-stream")))]
pub async fn file(
    State(state): State<AppState>,
    caller: Caller,
    Path(sha): Path<String>,
) -> ApiResult<Response> {
    caller.require(Permission::StationLink)?;
    let bytes = state.engine.sources().fetch(&sha)?;
    Ok((
        [(header::CONTENT_TYPE, "application/octet-stream")],
        Body::from(bytes),
    )
        .into_response())
}

/// The station link (WebSocket; station tokens only). See `twister_proto::link` for the protocol.
#[utoipa::path(get, path = "/api/v1/stations/link", tag = "stations", security(("bearer" = [])),
    responses((status = 101, description = "WebSocket of link frames")))]
pub async fn link(
    State(state): State<AppState>,
    caller: Caller,
    ws: WebSocketUpgrade,
) -> ApiResult<Response> {
    caller.require(Permission::StationLink)?;
    let name = caller
        .station
        .clone()
        .ok_or_else(|| ApiError::forbidden("not a station token"))?;
    let mut conn = state.store.pool().acquire().await.map_err(StoreError::from)?;
    let station = store::stations::by_name(&mut conn, &name)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("station {name} is not registered")))?;
    drop(conn);
    // Small buffers: a lab may link ten thousand stations, and the default 128 KiB read buffer each would be
    // most of the controller's memory.
    Ok(ws
        .max_message_size(MAX_FRAME)
        .read_buffer_size(16 * 1024)
        .write_buffer_size(16 * 1024)
        .on_upgrade(move |socket| async move {
            let id = station.id.clone();
            if let Err(e) = session(socket, state, station).await {
                tracing::warn!(station = %id, error = %e, "station link ended with an error");
            }
        }))
}

async fn send(sink: &mut futures::stream::SplitSink<WebSocket, Message>, frame: &Down) -> Result<(), String> {
    let text = serde_json::to_string(frame).map_err(|e| e.to_string())?;
    sink.send(Message::Text(text.into()))
        .await
        .map_err(|e| e.to_string())
}

fn parse_up(msg: Message) -> Result<Option<Up>, String> {
    match msg {
        Message::Text(t) => serde_json::from_str(&t)
            .map(Some)
            .map_err(|e| format!("bad frame: {e}")),
        Message::Binary(_) => Err("binary frames are not part of the protocol".into()),
        Message::Close(_) => Err("closed".into()),
        _ => Ok(None),
    }
}

async fn session(socket: WebSocket, state: AppState, station: StationRow) -> Result<(), String> {
    let (mut sink, mut stream) = socket.split();
    let heartbeat = state.config.stations.heartbeat_s;
    let hello = match tokio::time::timeout(Duration::from_secs(10), stream.next()).await {
        Ok(Some(Ok(m))) => parse_up(m)?,
        _ => return Err("no hello within 10 s".into()),
    };
    let Some(Up::Hello(hello)) = hello else {
        return Err("the first frame must be a hello".into());
    };
    let refuse = |code: &str, message: String| Down::Refused {
        code: code.into(),
        message,
    };
    if hello.protocol != PROTOCOL_VERSION {
        let _ = send(
            &mut sink,
            &refuse(
                "protocol",
                format!(
                    "this controller speaks link protocol {PROTOCOL_VERSION}, the station {}",
                    hello.protocol
                ),
            ),
        )
        .await;
        return Ok(());
    }
    if hello.station != station.name {
        let _ = send(
            &mut sink,
            &refuse(
                "name",
                format!(
                    "this token belongs to station {}, not {}",
                    station.name, hello.station
                ),
            ),
        )
        .await;
        return Ok(());
    }
    let now = now_ms();
    let facts = serde_json::to_string(&hello.facts).unwrap_or_else(|_| "{}".into());
    let eps_json = serde_json::to_string(&hello.eps).unwrap_or_else(|_| "[]".into());
    let last_event_seq = {
        let result: Result<i64, StoreError> = async {
            let mut tx = state.store.begin_write().await?;
            store::stations::hello(tx.conn(), &station.id, &hello.version, &facts, &eps_json, now).await?;
            store::stations::ack_commands(tx.conn(), &station.id, hello.last_command_seq as i64).await?;
            let row = store::stations::by_id(tx.conn(), &station.id).await?;
            tx.commit().await?;
            Ok(row.map(|r| r.last_event_seq).unwrap_or(0))
        }
        .await;
        result.map_err(|e| e.to_string())?
    };
    let (tx, mut rx) = mpsc::unbounded_channel::<Down>();
    let session_id = new_id();
    state.engine.hub().attach(
        &station.id,
        &station.name,
        &hello.eps,
        SessionHandle {
            session: session_id.clone(),
            tx,
            since_ms: now_ms(),
        },
    );
    tracing::info!(station = %station.name, session = %session_id, eps = hello.eps.len(), "station linked");
    state.events.publish(
        crate::events::Event::new("stations", "station.online")
            .id(&station.name)
            .data(json!({"eps": hello.eps})),
    );
    let result = serve(
        &state,
        &station,
        &session_id,
        hello.last_command_seq,
        last_event_seq,
        heartbeat,
        &mut sink,
        &mut stream,
        &mut rx,
    )
    .await;
    if state.engine.hub().detach(&station.id, &session_id) {
        // Through the one writer: a write beside it would make its transaction fail (SQLite busy).
        let offline: Result<(), StoreError> = async {
            let mut tx = state.store.begin_write().await?;
            store::stations::set_connected(tx.conn(), &station.id, false, now_ms()).await?;
            tx.commit().await
        }
        .await;
        if let Err(e) = offline {
            tracing::warn!(station = %station.name, error = %e, "cannot record the station offline");
        }
        state
            .events
            .publish(crate::events::Event::new("stations", "station.offline").id(&station.name));
    }
    tracing::info!(station = %station.name, session = %session_id, "station link closed");
    result
}

#[allow(clippy::too_many_arguments)]
async fn serve(
    state: &AppState,
    station: &StationRow,
    session_id: &str,
    last_command_seq: u64,
    last_event_seq: i64,
    heartbeat_s: u32,
    sink: &mut futures::stream::SplitSink<WebSocket, Message>,
    stream: &mut futures::stream::SplitStream<WebSocket>,
    rx: &mut mpsc::UnboundedReceiver<Down>,
) -> Result<(), String> {
    send(
        sink,
        &Down::Welcome {
            session: session_id.to_string(),
            heartbeat_s,
            last_event_seq: last_event_seq.max(0) as u64,
        },
    )
    .await?;
    // Commands the station has not executed yet, in order.
    let pending = store::stations::pending_commands(&state.store, &station.id, last_command_seq as i64)
        .await
        .map_err(|e| e.to_string())?;
    for (seq, body) in pending {
        match serde_json::from_str::<Command>(&body) {
            Ok(command) => {
                send(
                    sink,
                    &Down::Command {
                        seq: seq as u64,
                        command,
                    },
                )
                .await?
            }
            Err(e) => tracing::error!(station = %station.name, seq, error = %e, "unreadable stored command"),
        }
    }
    let silence = Duration::from_secs(3 * heartbeat_s as u64 + 5);
    let mut shutdown = state.shutdown.clone();
    // The controller's side of liveness: a WebSocket ping every heartbeat period, so that an idle station
    // still hears from the controller and can tell a dead link from a quiet one.
    let period = Duration::from_secs(heartbeat_s.max(1) as u64);
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    loop {
        tokio::select! {
            _ = ping.tick() => {
                sink.send(Message::Ping(Default::default())).await.map_err(|e| e.to_string())?;
            }
            incoming = tokio::time::timeout(silence, stream.next()) => {
                let first = match incoming {
                    Err(_) => return Err(format!("no frame for {}s", silence.as_secs())),
                    Ok(None) | Ok(Some(Err(_))) => return Ok(()),
                    Ok(Some(Ok(m))) => m,
                };
                // Take whatever else has already arrived, to store events in one transaction.
                if matches!(first, Message::Close(_)) {
                    return Ok(());
                }
                let mut frames = Vec::new();
                if let Some(up) = parse_up(first)? {
                    frames.push(up);
                }
                while frames.len() < 1000 {
                    match stream.next().now_or_never() {
                        Some(Some(Ok(Message::Close(_)))) => break,
                        Some(Some(Ok(m))) => {
                            if let Some(up) = parse_up(m)? {
                                frames.push(up);
                            }
                        }
                        Some(None) | Some(Some(Err(_))) => break,
                        None => break,
                    }
                }
                let mut batch: Vec<(u64, StationEvent)> = Vec::new();
                let mut command_ack: Option<u64> = None;
                for up in frames {
                    match up {
                        Up::Event { seq, event } => batch.push((seq, event)),
                        Up::Ack { seq } => command_ack = Some(command_ack.map_or(seq, |a| a.max(seq))),
                        Up::Heartbeat { .. } => {}
                        Up::Packets(b) => state.capture.ingest(&station.name, b, now_ms()),
                        Up::Hello(_) => return Err("a second hello on one link".into()),
                    }
                }
                flush(state, station, sink, batch, command_ack).await?;
            }
            out = rx.recv() => match out {
                Some(frame) => {
                    let last = matches!(frame, Down::Refused { .. });
                    send(sink, &frame).await?;
                    if last {
                        return Ok(());
                    }
                }
                None => return Ok(()),
            },
            _ = shutdown.changed() => {
                let _ = sink.send(Message::Close(None)).await;
                return Ok(());
            }
        }
    }
}

async fn flush(
    state: &AppState,
    station: &StationRow,
    sink: &mut futures::stream::SplitSink<WebSocket, Message>,
    events: Vec<(u64, StationEvent)>,
    command_ack: Option<u64>,
) -> Result<(), String> {
    if events.is_empty() && command_ack.is_none() {
        return Ok(());
    }
    let had_events = !events.is_empty();
    let last = state
        .engine
        .apply_events(&station.id, &station.name, events, command_ack)
        .await
        .map_err(|e| e.message)?;
    if had_events {
        send(sink, &Down::Ack { seq: last }).await?;
    }
    Ok(())
}
