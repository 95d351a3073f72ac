//! Packet capture: the stations' sniffers (`/capture/stations`), remote capture-filter changes, the stored
//! packets (`/capture/packets`, with display filters and a decoded detail view), pcapng downloads
//! (`/capture/pcapng`: everything, filtered, a time range, or one test's packets) and the live stream
//! (`/capture/live`, WebSocket).
//!
//! The live stream sends `{"kind":"packets","packets":[PacketRow…]}` messages (the display filter applied on
//! the server), `{"kind":"lagged","missed":n}` when the subscriber fell behind, and `{"kind":"error",…}` for
//! a bad filter. The client may send `{"filter":"…"}` to change the filter and `{"paused":true|false}`.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::Router;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast::error::RecvError;
use twister_capture::DisplayFilter;
use twister_proto::capture::CaptureSettings;
use twister_proto::link::Down;
use utoipa::ToSchema;

use super::error::{ApiError, ApiResult};
use super::extract::{Json, Path, Query};
use crate::app::AppState;
use crate::auth::{Caller, Permission};
use crate::capture::{LivePacket, PacketRow, Selection, StationCapture};
use crate::execution::hub::EpLocation;
use crate::store;

/// Most rows one list request returns.
pub const MAX_LIST: usize = 10_000;

/// Routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/capture/stations", get(stations))
        .route("/capture/stations/{name}/filter", put(set_filter))
        .route("/capture/packets", get(packets))
        .route("/capture/packets/{id}", get(packet))
        .route("/capture/pcapng", get(pcapng))
        .route("/capture/live", get(live))
}

/// Which packets (query parameters shared by list and download).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PacketQuery {
    /// Only this station.
    pub station: Option<String>,
    /// Only this interface.
    pub interface: Option<String>,
    /// Display filter (`ip.addr == 10.0.0.1 and udp`).
    pub filter: Option<String>,
    /// Only packets at or after this time, ns since the Unix epoch.
    pub from_ns: Option<u64>,
    /// Only packets at or before this time.
    pub to_ns: Option<u64>,
    /// Only packets numbered above this (to page forward).
    pub after: Option<u64>,
    /// Most rows (list only; default 1000, at most 10000); the newest are returned.
    pub limit: Option<usize>,
    /// With `test`: the packets of one test (its start to its end, on its station).
    pub run: Option<String>,
    /// Test instance id within `run`.
    pub test: Option<String>,
}

fn parse_filter(text: Option<&str>) -> ApiResult<Option<DisplayFilter>> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(t) => DisplayFilter::parse(t)
            .map(Some)
            .map_err(|e| ApiError::invalid(format!("display filter: {e}"))),
    }
}

async fn selection(state: &AppState, q: &PacketQuery) -> ApiResult<Selection> {
    let mut sel = Selection {
        station: q.station.clone().filter(|s| !s.is_empty()),
        interface: q.interface.clone().filter(|s| !s.is_empty()),
        from_ns: q.from_ns,
        to_ns: q.to_ns,
        after_id: q.after,
        filter: parse_filter(q.filter.as_deref())?,
    };
    match (&q.run, &q.test) {
        (None, None) => {}
        (Some(run), Some(test)) => {
            let mut conn = state
                .store
                .pool()
                .acquire()
                .await
                .map_err(store::StoreError::from)?;
            let item = store::runs::item(&mut conn, run, test)
                .await?
                .filter(|i| i.kind == "test")
                .ok_or_else(|| ApiError::not_found(format!("no test {test:?} in run {run:?}")))?;
            let start = item
                .started_at
                .ok_or_else(|| ApiError::conflict(format!("test {test:?} has not started")))?;
            let end = item.ended_at.unwrap_or_else(store::now_ms);
            let ms_to_ns = |ms: i64| (ms.max(0) as u64).saturating_mul(1_000_000);
            sel.from_ns = Some(sel.from_ns.unwrap_or(0).max(ms_to_ns(start)));
            sel.to_ns = Some(sel.to_ns.unwrap_or(u64::MAX).min(ms_to_ns(end) + 999_999));
            if sel.station.is_none() {
                let station_id = match state.engine.hub().locate(&item.ep) {
                    EpLocation::Online { station_id } | EpLocation::Offline { station_id, .. } => {
                        Some(station_id)
                    }
                    EpLocation::Unknown => None,
                };
                if let Some(id) = station_id {
                    let rows = store::stations::list(&state.store).await?;
                    sel.station = rows.into_iter().find(|r| r.id == id).map(|r| r.name);
                }
            }
        }
        _ => return Err(ApiError::bad_request("give both run and test, or neither")),
    }
    Ok(sel)
}

/// Every station's sniffer: filter, error, counters at every stage.
#[utoipa::path(get, path = "/api/v1/capture/stations", tag = "capture", security(("bearer" = [])),
    responses((status = 200, body = [StationCapture])))]
pub async fn stations(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<axum::Json<Vec<StationCapture>>> {
    caller.require(Permission::ViewReports)?;
    Ok(axum::Json(state.capture.stations()))
}

/// A new capture filter.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetFilter {
    /// BPF capture filter (tcpdump syntax); empty for everything.
    pub filter: String,
}

/// Changes a station's capture filter (checked here first; the station applies it at once).
#[utoipa::path(put, path = "/api/v1/capture/stations/{name}/filter", tag = "capture", security(("bearer" = [])),
    request_body = SetFilter, responses((status = 202), (status = 404), (status = 409), (status = 422)))]
pub async fn set_filter(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Json(body): Json<SetFilter>,
) -> ApiResult<Response> {
    caller.require(Permission::RunTests)?;
    if body.filter.len() > 4096 {
        return Err(ApiError::invalid("a capture filter is at most 4096 characters"));
    }
    if !body.filter.trim().is_empty() {
        twister_capture::check_filter(&body.filter, twister_capture::LINKTYPE_ETHERNET)
            .map_err(|e| ApiError::invalid(e.to_string()))?;
    }
    let mut conn = state
        .store
        .pool()
        .acquire()
        .await
        .map_err(store::StoreError::from)?;
    let station = store::stations::by_name(&mut conn, &name)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no station {name:?}")))?;
    drop(conn);
    let sent = state.engine.hub().push(
        &station.id,
        Down::Capture(CaptureSettings {
            filter: body.filter.clone(),
        }),
    );
    if !sent {
        return Err(ApiError::conflict(format!("station {name:?} is not linked")));
    }
    tracing::info!(station = %name, filter = %body.filter, user = %caller.username, "capture filter changed");
    Ok((
        axum::http::StatusCode::ACCEPTED,
        axum::Json(serde_json::json!({"station": name, "filter": body.filter})),
    )
        .into_response())
}

/// Stored packets as list rows, oldest first (the newest `limit` of those selected).
#[utoipa::path(get, path = "/api/v1/capture/packets", tag = "capture", security(("bearer" = [])),
    params(("station" = Option<String>, Query), ("interface" = Option<String>, Query), ("filter" = Option<String>, Query),
        ("from_ns" = Option<u64>, Query), ("to_ns" = Option<u64>, Query), ("after" = Option<u64>, Query),
        ("limit" = Option<usize>, Query), ("run" = Option<String>, Query), ("test" = Option<String>, Query)),
    responses((status = 200, body = [PacketRow]), (status = 422)))]
pub async fn packets(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<PacketQuery>,
) -> ApiResult<axum::Json<Vec<PacketRow>>> {
    caller.require(Permission::ViewReports)?;
    let sel = selection(&state, &q).await?;
    let limit = q.limit.unwrap_or(1000).clamp(1, MAX_LIST);
    let hub = state.capture.clone();
    let rows = tokio::task::spawn_blocking(move || {
        hub.select(&sel, limit, true)
            .into_iter()
            .map(|(p, d)| {
                let d = d.unwrap_or_else(|| p.dissect_values());
                PacketRow::new(&p, &d.summary)
            })
            .collect::<Vec<_>>()
    })
    .await
    .map_err(ApiError::internal)?;
    Ok(axum::Json(rows))
}

/// One packet, decoded: the list row, the field tree and the bytes.
#[derive(Debug, Serialize, ToSchema)]
pub struct PacketDetail {
    /// The list row.
    pub row: PacketRow,
    /// Protocol layers with their fields (name, display, offset, len, value, children).
    #[schema(value_type = Vec<Object>)]
    pub layers: Vec<twister_capture::Field>,
    /// The bytes kept, hex.
    pub hex: String,
}

/// One stored packet, decoded.
#[utoipa::path(get, path = "/api/v1/capture/packets/{id}", tag = "capture", security(("bearer" = [])),
    responses((status = 200, body = PacketDetail), (status = 404)))]
pub async fn packet(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<u64>,
) -> ApiResult<axum::Json<PacketDetail>> {
    caller.require(Permission::ViewReports)?;
    let p = state
        .capture
        .get(id)
        .ok_or_else(|| ApiError::not_found(format!("no packet {id} (it may have left the ring)")))?;
    let d = p.dissect();
    Ok(axum::Json(PacketDetail {
        row: PacketRow::new(&p, &d.summary),
        layers: d.layers,
        hex: hex::encode(&p.data),
    }))
}

/// Selected packets as a pcapng file.
#[utoipa::path(get, path = "/api/v1/capture/pcapng", tag = "capture", security(("bearer" = [])),
    params(("station" = Option<String>, Query), ("interface" = Option<String>, Query), ("filter" = Option<String>, Query),
        ("from_ns" = Option<u64>, Query), ("to_ns" = Option<u64>, Query), ("run" = Option<String>, Query), ("test" = Option<String>, Query)),
    responses((status = 200, content_type = "application/x-pcapng"), (status = 422)))]
pub async fn pcapng(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<PacketQuery>,
) -> ApiResult<Response> {
    caller.require(Permission::ViewReports)?;
    let sel = selection(&state, &q).await?;
    let comment = match (&q.run, &q.test, &q.filter) {
        (Some(r), Some(t), _) => format!("Twister: packets of test {t} in run {r}"),
        (_, _, Some(f)) if !f.trim().is_empty() => format!("Twister: display filter {f}"),
        _ => "Twister capture".to_string(),
    };
    let name = match (&q.run, &q.test) {
        (Some(r), Some(t)) => format!("twister-{r}-{t}.pcapng"),
        _ => "twister-capture.pcapng".to_string(),
    };
    let name: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let hub = state.capture.clone();
    let bytes = tokio::task::spawn_blocking(move || hub.pcapng(&sel, Some(&comment)))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/x-pcapng".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// Live stream options.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveParams {
    /// Only this station.
    pub station: Option<String>,
    /// Display filter.
    pub filter: Option<String>,
}

/// Opens the live packet stream (WebSocket; browsers authenticate with the `bearer.<token>` subprotocol).
#[utoipa::path(get, path = "/api/v1/capture/live", tag = "capture", security(("bearer" = [])),
    params(("station" = Option<String>, Query), ("filter" = Option<String>, Query)),
    responses((status = 101, description = "WebSocket of packet rows")))]
pub async fn live(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<LiveParams>,
    ws: WebSocketUpgrade,
) -> ApiResult<Response> {
    caller.require(Permission::ViewReports)?;
    let filter = parse_filter(p.filter.as_deref())?;
    let station = p.station.filter(|s| !s.is_empty());
    Ok(ws
        .protocols(["twister.v1"])
        .on_upgrade(move |socket| stream(socket, state, station, filter)))
}

/// A client's message on the live stream.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LiveControl {
    filter: Option<String>,
    paused: Option<bool>,
}

/// Most rows in one live message.
const LIVE_BATCH: usize = 500;

/// Least time between two live messages while packets keep coming.
const LIVE_GAP: Duration = Duration::from_millis(5);

async fn stream(
    mut socket: WebSocket,
    state: AppState,
    station: Option<String>,
    mut filter: Option<DisplayFilter>,
) {
    let mut rx = state.capture.subscribe();
    let mut shutdown = state.shutdown.clone();
    let mut paused = false;
    let hello = serde_json::json!({"kind": "hello", "filter": filter.as_ref().map(|f| f.text())});
    if socket
        .send(Message::Text(hello.to_string().into()))
        .await
        .is_err()
    {
        return;
    }
    // Rows go out as soon as the broadcast has nothing more ready (so a quiet capture shows at once), but at
    // most one message per `LIVE_GAP` while packets keep coming; the tick sends what waited for that gap.
    let mut tick = tokio::time::interval(LIVE_GAP);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_sent = tokio::time::Instant::now();
    let mut pending: Vec<PacketRow> = Vec::new();
    loop {
        tokio::select! {
            got = rx.recv() => match got {
                Ok(lp) => {
                    if !paused && wanted(&lp, station.as_deref(), filter.as_ref()) {
                        pending.push(PacketRow::new(&lp.packet, &lp.dissection.summary));
                    }
                    // Take what else is ready without waiting, up to one message's worth.
                    while pending.len() < LIVE_BATCH {
                        match rx.try_recv() {
                            Ok(lp) => {
                                if !paused && wanted(&lp, station.as_deref(), filter.as_ref()) {
                                    pending.push(PacketRow::new(&lp.packet, &lp.dissection.summary));
                                }
                            }
                            Err(_) => break,
                        }
                    }
                    let due = pending.len() >= LIVE_BATCH || (!pending.is_empty() && last_sent.elapsed() >= LIVE_GAP);
                    if due {
                        if !send_rows(&mut socket, &mut pending).await {
                            return;
                        }
                        last_sent = tokio::time::Instant::now();
                    }
                }
                Err(RecvError::Lagged(n)) => {
                    state.capture.count_lagged(station.as_deref(), n);
                    let msg = serde_json::json!({"kind": "lagged", "missed": n});
                    if socket.send(Message::Text(msg.to_string().into())).await.is_err() {
                        return;
                    }
                }
                Err(RecvError::Closed) => return,
            },
            _ = tick.tick() => {
                if !pending.is_empty() {
                    if !send_rows(&mut socket, &mut pending).await {
                        return;
                    }
                    last_sent = tokio::time::Instant::now();
                }
            }
            msg = socket.recv() => match msg {
                Some(Ok(Message::Text(t))) => {
                    let reply = match serde_json::from_str::<LiveControl>(t.as_str()) {
                        Err(e) => serde_json::json!({"kind": "error", "message": format!("bad control message: {e}")}),
                        Ok(c) => {
                            if let Some(p) = c.paused {
                                paused = p;
                            }
                            match c.filter.map(|f| parse_filter(Some(&f))) {
                                Some(Ok(f)) => {
                                    filter = f;
                                    serde_json::json!({"kind": "filter", "filter": filter.as_ref().map(|f| f.text()), "paused": paused})
                                }
                                Some(Err(e)) => serde_json::json!({"kind": "error", "message": e.message}),
                                None => serde_json::json!({"kind": "paused", "paused": paused}),
                            }
                        }
                    };
                    if socket.send(Message::Text(reply.to_string().into())).await.is_err() {
                        return;
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
            _ = shutdown.changed() => {
                let _ = socket.send(Message::Close(None)).await;
                return;
            }
        }
    }
}

fn wanted(lp: &Arc<LivePacket>, station: Option<&str>, filter: Option<&DisplayFilter>) -> bool {
    station.is_none_or(|s| s == lp.packet.station) && filter.is_none_or(|f| f.matches(&lp.dissection))
}

async fn send_rows(socket: &mut WebSocket, rows: &mut Vec<PacketRow>) -> bool {
    let msg = serde_json::json!({"kind": "packets", "packets": std::mem::take(rows)});
    socket.send(Message::Text(msg.to_string().into())).await.is_ok()
}
