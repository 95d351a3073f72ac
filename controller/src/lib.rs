//! The Twister controller: the central engine of a test lab.
//!
//! It owns the inventory (testbeds, devices and their properties), reservations, users, roles and tokens,
//! and serves the REST API (`/api/v1`), live WebSocket streams, `/metrics` and the web UI from one axum server
//! over an embedded SQLite database or PostgreSQL. Later parts (stations, runs, logs, reports) plug into the
//! same [`app::AppState`].
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! let config = twister_controller::config::Config::default().validate()?;
//! let running = twister_controller::spawn(config, None).await?;
//! println!("listening on {}", running.addr);
//! running.shutdown().await;
//! # Ok(()) }
//! ```

pub mod api;
pub mod app;
pub mod auth;
pub mod capture;
pub mod config;
pub mod events;
pub mod execution;
pub mod inventory;
pub mod metrics;
pub mod notify;
pub mod reports;
pub mod schedule;
pub mod secrets;
pub mod services;
pub mod store;
pub mod tls;
pub mod web;

use std::net::SocketAddr;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;

use anyhow::Context;
use axum::serve::ListenerExt;

use crate::app::AppState;
use crate::auth::bootstrap::{ensure_admin, Bootstrap};
use crate::config::Config;
use crate::events::EventBus;
use crate::inventory::reservations::{LeaseSweeper, Reservations};
use crate::inventory::Inventory;
use crate::metrics::Metrics;
use crate::secrets::SecretBox;
use crate::store::Store;

/// A controller running in the background (tests, the demo lab, embedding).
pub struct Running {
    /// The bound address.
    pub addr: SocketAddr,
    /// Base URL: `http://ADDR`, or `https://ADDR` when serving TLS.
    pub url: String,
    /// Shared state.
    pub state: AppState,
    /// What first start did about the admin user.
    pub bootstrap: Bootstrap,
    shutdown_tx: tokio::sync::watch::Sender<bool>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    sweeper: tokio::task::JoinHandle<()>,
    background: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// Stops accepting, lets requests finish, stops background tasks and closes the database.
    pub async fn shutdown(self) {
        let _ = self.shutdown_tx.send(true);
        let _ = self.server.await;
        let _ = self.sweeper.await;
        self.state.services.shutdown().await;
        for task in self.background {
            let _ = task.await;
        }
        self.state.store.close().await;
    }
}

/// Opens the store, bootstraps the admin, and starts the server and background tasks.
/// `admin_password` is what `TWISTER_ADMIN_PASSWORD` says, if anything.
pub async fn spawn(config: Config, admin_password: Option<String>) -> anyhow::Result<Running> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create data directory {}", config.data_dir.display()))?;
    let store = Store::open(&config.database_url)
        .await
        .with_context(|| format!("cannot open database {}", store::redact_url(&config.database_url)))?;
    let bootstrap = ensure_admin(&store, &config.data_dir, admin_password).await?;
    let secrets = SecretBox::load_or_create(&config.data_dir)?;
    let events = EventBus::new();
    let metrics = Arc::new(Metrics::new());
    let inventory = Inventory::new(store.clone(), secrets.clone(), events.clone());
    let reservations = Reservations::new(
        store.clone(),
        inventory.clone(),
        events.clone(),
        metrics.clone(),
        config.reservations.clone(),
    );
    let hub = execution::Hub::new(store.clone()).await?;
    let sources =
        execution::Sources::new(&config.tests_dir(), &config.data_dir.join("files")).with_context(|| {
            format!(
                "cannot open the test-source directory {}",
                config.tests_dir().display()
            )
        })?;
    let config = Arc::new(config);
    let engine = execution::Engine::new(
        store.clone(),
        secrets.clone(),
        events.clone(),
        reservations.clone(),
        hub,
        sources,
        config.clone(),
    );
    let (shutdown_tx, shutdown_rx) = tokio::sync::watch::channel(false);
    let mailer = notify::Mailer::new(store.clone(), secrets.clone(), events.clone());
    let services = services::Services::open(store.clone(), config.services_dir(), &config.services)
        .await
        .with_context(|| {
            format!(
                "cannot open the services directory {}",
                config.services_dir().display()
            )
        })?;
    let scheduler = schedule::Scheduler::new(store.clone(), engine.clone(), config.scheduler.clone());
    let webhooks = notify::webhook::Webhooks::new(
        store.clone(),
        secrets.clone(),
        events.clone(),
        config.webhooks.clone(),
    );
    webhooks
        .reload()
        .await
        .map_err(|e| anyhow::anyhow!(e.to_string()))?;
    let webhook_task = webhooks.clone().spawn(shutdown_rx.clone());
    let capture = capture::CaptureHub::new(config.capture.ring_packets, config.capture.ring_bytes);
    let state = AppState {
        config,
        store,
        events,
        secrets,
        inventory,
        reservations: reservations.clone(),
        engine: engine.clone(),
        mailer: mailer.clone(),
        services: services.clone(),
        scheduler: scheduler.clone(),
        webhooks,
        metrics,
        token_touches: Arc::new(AtomicUsize::new(0)),
        capture,
        shutdown: shutdown_rx.clone(),
    };
    let tls = match (&state.config.server.tls_cert, &state.config.server.tls_key) {
        (Some(cert), Some(key)) => Some(tls::load_server_config(cert, key)?),
        _ => None,
    };
    let listener = tokio::net::TcpListener::bind(state.config.listen_addr())
        .await
        .with_context(|| format!("cannot listen on {}", state.config.listen))?;
    let addr = listener.local_addr()?;
    let sweeper = LeaseSweeper::spawn(reservations, shutdown_rx.clone());
    let router = api::router(state.clone());
    let mut stop = shutdown_rx.clone();
    let stopped = async move {
        while !*stop.borrow() {
            if stop.changed().await.is_err() {
                break;
            }
        }
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let server = match tls {
        None => tokio::spawn(async move {
            // No Nagle: live WebSocket messages are small and must not wait for the peer's delayed ACK (40 ms).
            let listener = listener.tap_io(|tcp| {
                let _ = tcp.set_nodelay(true);
            });
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(stopped)
            .await
        }),
        Some(tls) => {
            // tap_io gives the TLS listener the same peer-address connect info as plain TCP.
            let listener = tls::TlsListener::new(listener, tls)?.tap_io(|_| {});
            tokio::spawn(async move {
                axum::serve(
                    listener,
                    router.into_make_service_with_connect_info::<SocketAddr>(),
                )
                .with_graceful_shutdown(stopped)
                .await
            })
        }
    };
    let url = format!("{scheme}://{addr}");
    engine.set_public_url(url.clone());
    mailer.set_base_url(url.clone());
    let mail_task = mailer.spawn(shutdown_rx.clone());
    let schedule_task = scheduler.spawn(shutdown_rx.clone());
    let started = services.autostart().await?;
    if started > 0 {
        tracing::info!(services = started, "started autostart services");
    }
    let resumed = engine
        .resume_unfinished()
        .await
        .map_err(|e| anyhow::anyhow!(e.message))?;
    if resumed > 0 {
        tracing::info!(runs = resumed, "resumed unfinished runs");
    }
    tracing::info!(%url, "controller listening");
    Ok(Running {
        addr,
        url,
        state,
        bootstrap,
        shutdown_tx,
        server,
        sweeper,
        background: vec![mail_task, schedule_task, webhook_task],
    })
}
