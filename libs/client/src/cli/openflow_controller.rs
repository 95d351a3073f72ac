//! `twister openflow controller`: an OpenFlow controller service on its own: a reactive learning switch for
//! every switch that connects, and a small REST API to list the switches, their learned MAC addresses and
//! flows, and push flows.
//!
//! REST (JSON; with --token every request needs `Authorization: Bearer TOKEN`):
//! - `GET /switches`: datapath id (hex), version, peer address of each connected switch
//! - `GET /switches/{dpid}/macs`: learned MAC addresses and their ports
//! - `GET /switches/{dpid}/flows`: the switch's flow statistics
//! - `POST /switches/{dpid}/flows`: a flow-mod in the switch's version, as `twister openflow encode` takes it;
//!   sent with a barrier, 201 when the switch accepts it, 400 with the switch's error otherwise

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use clap::Args;
use serde_json::{json, Value};
use twister_openflow::channel::{is_error, Switch, SwitchDirectory};
use twister_openflow::learning::LearningSwitch;
use twister_openflow::{v10, v13, OfMessage, OFP10_VERSION, OFP13_VERSION};

use super::openflow_listen::ListenArgs;
use super::{CmdResult, Failure};

/// Flags of `twister openflow controller`.
#[derive(Debug, Args)]
pub struct ControllerArgs {
    /// Where switches connect (addresses, TLS).
    #[command(flatten)]
    pub listen: ListenArgs,
    /// Address of the REST API.
    #[arg(long, default_value = "127.0.0.1:8653")]
    pub rest: String,
    /// Versions offered: 1.0, 1.3 or both (comma separated).
    #[arg(long = "of", value_delimiter = ',', default_values_t = ["1.0".to_string(), "1.3".to_string()])]
    pub versions: Vec<String>,
    /// Bearer token the REST API requires (none: no check; keep the API on loopback then).
    #[arg(long, env = "TWISTER_OF_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

struct Service {
    switches: SwitchDirectory,
    learning: LearningSwitch,
    token: Option<String>,
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

/// A refused request: status and message (kept small; made into the JSON error response on return).
struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        error(self.0, self.1)
    }
}

fn authorised(svc: &Service, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(token) = &svc.token else {
        return Ok(());
    };
    let given = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if given == Some(token.as_str()) {
        Ok(())
    } else {
        Err(ApiError(
            StatusCode::UNAUTHORIZED,
            "missing or wrong bearer token".into(),
        ))
    }
}

fn switch(svc: &Service, dpid: &str) -> Result<Switch, ApiError> {
    let id = u64::from_str_radix(dpid.trim_start_matches("0x"), 16).map_err(|_| {
        ApiError(
            StatusCode::BAD_REQUEST,
            format!("{dpid} is not a hex datapath id"),
        )
    })?;
    svc.switches
        .switch(id)
        .ok_or_else(|| ApiError(StatusCode::NOT_FOUND, format!("no switch {id:016x} connected")))
}

async fn list_switches(State(svc): State<Arc<Service>>, headers: HeaderMap) -> Response {
    if let Err(r) = authorised(&svc, &headers) {
        return r.into_response();
    }
    let list: Vec<Value> = svc
        .switches
        .datapath_ids()
        .into_iter()
        .filter_map(|id| svc.switches.switch(id))
        .map(|s| {
            json!({"datapath_id": format!("{:016x}", s.datapath_id()), "version": s.version(),
                   "peer": s.peer_addr().to_string()})
        })
        .collect();
    Json(Value::Array(list)).into_response()
}

async fn list_macs(
    State(svc): State<Arc<Service>>,
    headers: HeaderMap,
    Path(dpid): Path<String>,
) -> Response {
    if let Err(r) = authorised(&svc, &headers) {
        return r.into_response();
    }
    let sw = match switch(&svc, &dpid) {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    let macs: Vec<Value> = svc
        .learning
        .mac_table(sw.datapath_id())
        .into_iter()
        .map(|(mac, port)| json!({"mac": mac, "port": port}))
        .collect();
    Json(Value::Array(macs)).into_response()
}

async fn list_flows(
    State(svc): State<Arc<Service>>,
    headers: HeaderMap,
    Path(dpid): Path<String>,
) -> Response {
    if let Err(r) = authorised(&svc, &headers) {
        return r.into_response();
    }
    let sw = match switch(&svc, &dpid) {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    let req = if sw.version() == OFP10_VERSION {
        OfMessage::V10(v10::Message::StatsRequest(v10::StatsRequest {
            flags: 0,
            body: v10::StatsRequestBody::Flow(v10::stats::FlowStatsRequest {
                match_: v10::Match::all(),
                table_id: 0xff,
                out_port: v10::port::port_no::NONE,
            }),
        }))
    } else {
        OfMessage::V13(v13::Message::MultipartRequest(v13::MultipartRequest {
            flags: 0,
            body: v13::MultipartRequestBody::Flow(v13::multipart::FlowStatsRequest::all()),
        }))
    };
    let parts = match sw.multipart(&req).await {
        Ok(p) => p,
        Err(e) => return error(StatusCode::BAD_GATEWAY, format!("flow statistics: {e}")),
    };
    let mut flows = Vec::new();
    for p in parts {
        let v = match p {
            OfMessage::V10(v10::Message::StatsReply(v10::StatsReply {
                body: v10::StatsReplyBody::Flow(f),
                ..
            })) => serde_json::to_value(f),
            OfMessage::V13(v13::Message::MultipartReply(v13::MultipartReply {
                body: v13::MultipartReplyBody::Flow(f),
                ..
            })) => serde_json::to_value(f),
            _ => continue,
        };
        if let Ok(Value::Array(a)) = v {
            flows.extend(a);
        }
    }
    Json(Value::Array(flows)).into_response()
}

async fn push_flow(
    State(svc): State<Arc<Service>>,
    headers: HeaderMap,
    Path(dpid): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    if let Err(r) = authorised(&svc, &headers) {
        return r.into_response();
    }
    let sw = match switch(&svc, &dpid) {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    let v: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("body is not JSON: {e}")),
    };
    let v = v.get("message").cloned().unwrap_or(v);
    let msg: OfMessage = match serde_json::from_value(v) {
        Ok(m) => m,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("not an OpenFlow message: {e}")),
    };
    if !matches!(
        msg,
        OfMessage::V10(v10::Message::FlowMod(_)) | OfMessage::V13(v13::Message::FlowMod(_))
    ) {
        return error(StatusCode::BAD_REQUEST, "only flow-mod messages may be pushed");
    }
    if msg.version() != sw.version() {
        return error(
            StatusCode::BAD_REQUEST,
            format!(
                "the switch speaks version {}, the flow-mod is {}",
                sw.version(),
                msg.version()
            ),
        );
    }
    let mut sub = sw.subscribe();
    let xid = match sw.send(&msg).await {
        Ok(x) => x,
        Err(e) => return error(StatusCode::BAD_GATEWAY, format!("send: {e}")),
    };
    if let Err(e) = sw.barrier().await {
        return error(StatusCode::BAD_GATEWAY, format!("barrier: {e}"));
    }
    while let Some(m) = sub.try_recv() {
        if m.xid == xid && is_error(&m.message) {
            let detail = serde_json::to_value(&m.message).unwrap_or(Value::Null);
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({"error": "the switch rejected the flow-mod", "reply": detail})),
            )
                .into_response();
        }
    }
    (StatusCode::CREATED, Json(json!({"xid": xid}))).into_response()
}

async fn serve(args: ControllerArgs) -> CmdResult {
    let mut versions = Vec::new();
    for v in &args.versions {
        versions.push(match v.as_str() {
            "1.0" => OFP10_VERSION,
            "1.3" => OFP13_VERSION,
            other => return Err(Failure::usage(format!("--of {other}: give 1.0, 1.3 or both"))),
        });
    }
    let controller = args.listen.bind(&versions).await?;
    let learning = LearningSwitch::start(&controller);
    let svc = Arc::new(Service {
        switches: controller.directory(),
        learning,
        token: args.token.clone().filter(|t| !t.is_empty()),
    });
    let app = Router::new()
        .route("/switches", get(list_switches))
        .route("/switches/{dpid}/macs", get(list_macs))
        .route("/switches/{dpid}/flows", get(list_flows).post(push_flow))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "no such endpoint") })
        .with_state(svc);
    let rest = tokio::net::TcpListener::bind(args.rest.as_str())
        .await
        .map_err(|e| Failure::other(format!("cannot listen on {}: {e}", args.rest)))?;
    let rest_addr = rest
        .local_addr()
        .map_err(|e| Failure::other(format!("REST listener: {e}")))?;
    eprintln!(
        "OpenFlow controller on {}, REST API on http://{rest_addr}",
        args.listen.describe(&controller)
    );
    axum::serve(rest, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| Failure::other(format!("REST API: {e}")))?;
    drop(controller);
    Ok(())
}

/// Runs `twister openflow controller` until interrupted.
pub fn run(args: ControllerArgs) -> CmdResult {
    std::thread::scope(|s| {
        s.spawn(|| {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .map_err(|e| Failure::other(format!("cannot start the runtime: {e}")))?;
            rt.block_on(serve(args))
        })
        .join()
        .unwrap_or_else(|_| Err(Failure::other("the controller panicked")))
    })
}
