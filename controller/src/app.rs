//! `AppState`: the handles every part of the controller shares.

use std::sync::atomic::AtomicUsize;
use std::sync::Arc;

use crate::config::Config;
use crate::events::EventBus;
use crate::execution::Engine;
use crate::inventory::reservations::Reservations;
use crate::inventory::Inventory;
use crate::metrics::Metrics;
use crate::notify::webhook::Webhooks;
use crate::notify::Mailer;
use crate::schedule::Scheduler;
use crate::secrets::SecretBox;
use crate::services::Services;
use crate::store::Store;

/// Shared state of the running controller; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// Validated configuration.
    pub config: Arc<Config>,
    /// Database.
    pub store: Store,
    /// Live event fan-out.
    pub events: EventBus,
    /// Secret sealing.
    pub secrets: SecretBox,
    /// Resource tree.
    pub inventory: Inventory,
    /// Reservation engine.
    pub reservations: Reservations,
    /// The run engine (with the station hub and the test sources).
    pub engine: Engine,
    /// Run mails.
    pub mailer: Mailer,
    /// Supervised services.
    pub services: Services,
    /// Schedules.
    pub scheduler: Scheduler,
    /// Outgoing webhooks.
    pub webhooks: Webhooks,
    /// Metrics registry.
    pub metrics: Arc<Metrics>,
    /// Pending background "token last used" writes (bounded).
    pub token_touches: Arc<AtomicUsize>,
    /// Captured packets: rings, sniffer counters, live broadcast.
    pub capture: crate::capture::CaptureHub,
    /// Becomes true when the controller shuts down (long-lived streams end).
    pub shutdown: tokio::sync::watch::Receiver<bool>,
}
