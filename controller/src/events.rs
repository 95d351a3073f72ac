//! The in-process event bus behind the live WebSocket streams (inventory and reservation changes now; runs,
//! logs and packets later). Events are published after the change has been committed.

use serde::Serialize;
use tokio::sync::broadcast;
use utoipa::ToSchema;

use crate::store::{ms_to_rfc3339, now_ms};

/// One change notification.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Event {
    /// Stream: `inventory` or `reservations`.
    pub topic: String,
    /// What happened, e.g. `resource.updated`, `reservation.granted`.
    pub kind: String,
    /// Inventory path concerned, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Object id (node or reservation), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// User who caused it, or the holder for reservations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// When (RFC 3339).
    pub at: String,
    /// Details (run item status, log lines, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub data: Option<serde_json::Value>,
}

impl Event {
    /// A new event stamped now.
    pub fn new(topic: &str, kind: &str) -> Self {
        Event {
            topic: topic.into(),
            kind: kind.into(),
            path: None,
            id: None,
            user: None,
            at: ms_to_rfc3339(now_ms()),
            data: None,
        }
    }

    /// Sets the path.
    pub fn path(mut self, p: impl Into<String>) -> Self {
        self.path = Some(p.into());
        self
    }

    /// Sets the id.
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Sets the details.
    pub fn data(mut self, d: serde_json::Value) -> Self {
        self.data = Some(d);
        self
    }

    /// Sets the user.
    pub fn user(mut self, u: impl Into<String>) -> Self {
        self.user = Some(u.into());
        self
    }
}

/// Fan-out of events to every subscriber; slow subscribers lose the oldest events and are told so.
#[derive(Clone)]
pub struct EventBus {
    tx: broadcast::Sender<Event>,
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new()
    }
}

impl EventBus {
    /// A bus keeping up to 1,024 undelivered events per subscriber.
    pub fn new() -> Self {
        let (tx, _) = broadcast::channel(1024);
        EventBus { tx }
    }

    /// Publishes an event (no-op without subscribers).
    pub fn publish(&self, e: Event) {
        let _ = self.tx.send(e);
    }

    /// A new subscription.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.tx.subscribe()
    }

    /// Current number of subscribers.
    pub fn subscribers(&self) -> usize {
        self.tx.receiver_count()
    }
}
