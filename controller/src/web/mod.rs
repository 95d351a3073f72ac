//! The web UI: a small single-page application in plain HTML, CSS and JavaScript modules, embedded in the
//! binary (no build step). It uses only the public REST API and the event stream.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::app::AppState;

/// One embedded asset.
struct Asset {
    path: &'static str,
    mime: &'static str,
    body: &'static str,
}

const ASSETS: &[Asset] = &[
    Asset {
        path: "app.js",
        mime: "text/javascript; charset=utf-8",
        body: include_str!("assets/app.js"),
    },
    Asset {
        path: "api.js",
        mime: "text/javascript; charset=utf-8",
        body: include_str!("assets/api.js"),
    },
    Asset {
        path: "inventory.js",
        mime: "text/javascript; charset=utf-8",
        body: include_str!("assets/inventory.js"),
    },
    Asset {
        path: "globals.js",
        mime: "text/javascript; charset=utf-8",
        body: include_str!("assets/globals.js"),
    },
    Asset {
        path: "runs.js",
        mime: "text/javascript; charset=utf-8",
        body: include_str!("assets/runs.js"),
    },
    Asset {
        path: "settings.js",
        mime: "text/javascript; charset=utf-8",
        body: include_str!("assets/settings.js"),
    },
    Asset {
        path: "reports.js",
        mime: "text/javascript; charset=utf-8",
        body: include_str!("assets/reports.js"),
    },
    Asset {
        path: "packets.js",
        mime: "text/javascript; charset=utf-8",
        body: include_str!("assets/packets.js"),
    },
    Asset {
        path: "services.js",
        mime: "text/javascript; charset=utf-8",
        body: include_str!("assets/services.js"),
    },
    Asset {
        path: "schedules.js",
        mime: "text/javascript; charset=utf-8",
        body: include_str!("assets/schedules.js"),
    },
    Asset {
        path: "webhooks.js",
        mime: "text/javascript; charset=utf-8",
        body: include_str!("assets/webhooks.js"),
    },
    Asset {
        path: "style.css",
        mime: "text/css; charset=utf-8",
        body: include_str!("assets/style.css"),
    },
];

const INDEX: &str = include_str!("assets/index.html");

/// Routes of the UI.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(index))
        .route("/ui/{*rest}", get(index))
        .route("/assets/{name}", get(asset))
}

fn secure(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    resp
}

async fn index() -> Response {
    let mut resp = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], INDEX).into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    secure(resp)
}

async fn asset(axum::extract::Path(name): axum::extract::Path<String>) -> Response {
    match ASSETS.iter().find(|a| a.path == name) {
        Some(a) => {
            let mut resp = ([(header::CONTENT_TYPE, a.mime)], a.body).into_response();
            resp.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            secure(resp)
        }
        None => (StatusCode::NOT_FOUND, "no such asset").into_response(),
    }
}
