//! Outgoing webhooks: events of the bus (run start and end, test status, panic detect, reservation changes)
//! POSTed as JSON to subscribed URLs, signed with HMAC-SHA256, retried with a doubling back-off, every attempt
//! logged.
//!
//! Body: `{"id": DELIVERY, "event": NAME, "at": RFC3339, "data": EVENT}` where `EVENT` is the bus event (`topic`,
//! `kind`, `id`, `path`, `user`, `at`, `data`). Headers: `X-Twister-Event`, `X-Twister-Delivery`,
//! `X-Twister-Timestamp` (Unix seconds) and `X-Twister-Signature: sha256=HEX`, the HMAC-SHA256 under the
//! webhook's secret of `TIMESTAMP.BODY` (the timestamp, a dot, the raw body bytes).

use std::sync::{Arc, RwLock};
use std::time::Duration;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use utoipa::ToSchema;

use crate::events::{Event, EventBus};
use crate::secrets::SecretBox;
use crate::store::webhooks::{DeliveryAttempt, WebhookRow};
use crate::store::{self, audit, ms_to_rfc3339, new_id, now_ms, Store, StoreError};

/// Event names a webhook can subscribe to (patterns may end in `.*`, or be `*`).
pub const EVENT_NAMES: &[&str] = &[
    "run.started",
    "run.finished",
    "test.status",
    "panic.detected",
    "reservation.granted",
    "reservation.queued",
    "reservation.renewed",
    "reservation.released",
    "reservation.expired",
    "reservation.cancelled",
    "reservation.locked",
    "reservation.unlocked",
    "ping",
];

/// Delivery settings (`[webhooks]` in controller.toml).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookConfig {
    /// Attempts per delivery, the first included.
    pub max_attempts: u32,
    /// Delay before the second attempt, milliseconds; doubles for each next one.
    pub backoff_ms: u64,
    /// Time limit of one attempt, seconds.
    pub timeout_s: u64,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            max_attempts: 5,
            backoff_ms: 1000,
            timeout_s: 10,
        }
    }
}

/// A webhook as the API shows it (the secret only once, when created).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WebhookView {
    /// Id.
    pub id: String,
    /// Where events are POSTed.
    pub url: String,
    /// Event patterns.
    pub events: Vec<String>,
    /// Whether it is sent.
    pub enabled: bool,
    /// Who created it.
    pub created_by: String,
    /// When.
    pub created_at: String,
    /// The signing secret: only in the answer that created or rotated it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// The newest delivery attempt (in lists; absent before the first delivery).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_delivery: Option<DeliveryAttempt>,
}

/// A new webhook, or a change (absent fields keep their values on change).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookInput {
    /// `http://` or `https://` URL.
    pub url: Option<String>,
    /// Event patterns, e.g. `["run.*", "test.status"]` (default `["*"]`).
    pub events: Option<Vec<String>>,
    /// Whether it is sent (default true).
    pub enabled: Option<bool>,
    /// Signing secret (at least 16 characters); absent on create: one is generated and shown once.
    pub secret: Option<String>,
}

/// Webhook failures.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// Bad input.
    #[error("{0}")]
    Invalid(String),
    /// No such webhook.
    #[error("no webhook {0}")]
    NotFound(String),
    /// The stored secret cannot be opened.
    #[error("the webhook's secret cannot be opened (secret key changed?)")]
    Secret,
    /// Database.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Whether `pattern` covers `event`.
pub fn matches(pattern: &str, event: &str) -> bool {
    pattern == "*"
        || pattern == event
        || pattern
            .strip_suffix(".*")
            .is_some_and(|p| event.strip_prefix(p).is_some_and(|rest| rest.starts_with('.')))
}

/// The webhook events a bus event stands for.
pub fn webhook_events(e: &Event) -> Vec<String> {
    let mut out = Vec::new();
    match (e.topic.as_str(), e.kind.as_str()) {
        ("runs", "run.started") => out.push("run.started".to_string()),
        ("runs", "run.finished") => out.push("run.finished".to_string()),
        ("runs", "item.running") | ("runs", "item.finished") => {
            out.push("test.status".to_string());
            let reason = e
                .data
                .as_ref()
                .and_then(|d| d.get("reason"))
                .and_then(|r| r.as_str())
                .unwrap_or("");
            if e.kind == "item.finished" && reason.starts_with("panic detected") {
                out.push("panic.detected".to_string());
            }
        }
        ("reservations", kind) if kind.starts_with("reservation.") => out.push(kind.to_string()),
        _ => {}
    }
    out
}

/// The signature header value for `body` sent at `timestamp`.
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    // HMAC accepts keys of any length.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

struct Hook {
    id: String,
    url: String,
    secret: String,
    events: Vec<String>,
}

/// The webhook sender (cheap to clone).
#[derive(Clone)]
pub struct Webhooks {
    store: Store,
    secrets: SecretBox,
    events: EventBus,
    config: WebhookConfig,
    client: reqwest::Client,
    hooks: Arc<RwLock<Vec<Arc<Hook>>>>,
}

fn view(r: &WebhookRow, secret: Option<String>) -> WebhookView {
    WebhookView {
        id: r.id.clone(),
        url: r.url.clone(),
        events: serde_json::from_str(&r.events).unwrap_or_default(),
        enabled: r.enabled,
        created_by: r.created_by.clone(),
        created_at: ms_to_rfc3339(r.created_at),
        secret,
        last_delivery: None,
    }
}

fn check_url(url: &str) -> Result<(), WebhookError> {
    let parsed = url::Url::parse(url).map_err(|e| WebhookError::Invalid(format!("url: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() || url.len() > 2048 {
        return Err(WebhookError::Invalid(
            "url: an http:// or https:// URL with a host".into(),
        ));
    }
    Ok(())
}

fn check_events(events: &[String]) -> Result<(), WebhookError> {
    if events.is_empty() || events.len() > 64 {
        return Err(WebhookError::Invalid("events: 1 to 64 patterns".into()));
    }
    for p in events {
        let ok = p == "*"
            || EVENT_NAMES.contains(&p.as_str())
            || p.strip_suffix(".*")
                .is_some_and(|pre| EVENT_NAMES.iter().any(|n| n.starts_with(&format!("{pre}."))));
        if !ok {
            return Err(WebhookError::Invalid(format!(
                "events: {p:?} matches nothing; known events: {}",
                EVENT_NAMES.join(", ")
            )));
        }
    }
    Ok(())
}

fn check_secret(s: &str) -> Result<(), WebhookError> {
    if s.len() < 16 || s.len() > 512 {
        return Err(WebhookError::Invalid("secret: 16 to 512 characters".into()));
    }
    Ok(())
}

impl Webhooks {
    /// A sender over the store; call [`Webhooks::reload`] before [`Webhooks::spawn`].
    pub fn new(store: Store, secrets: SecretBox, events: EventBus, config: WebhookConfig) -> Webhooks {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(config.timeout_s.max(1)))
            .user_agent(concat!("twister-controller/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Webhooks {
            store,
            secrets,
            events,
            config,
            client,
            hooks: Arc::new(RwLock::new(Vec::new())),
        }
    }

    /// Reloads the enabled webhooks into memory (after every change).
    pub async fn reload(&self) -> Result<(), WebhookError> {
        let mut hooks = Vec::new();
        for r in store::webhooks::list(&self.store).await? {
            if !r.enabled {
                continue;
            }
            let secret = match self.secrets.open(&r.secret) {
                Ok(s) => s,
                Err(_) => {
                    tracing::warn!(webhook = %r.id, "cannot open a webhook's secret; it is not sent");
                    continue;
                }
            };
            hooks.push(Arc::new(Hook {
                id: r.id.clone(),
                url: r.url.clone(),
                secret,
                events: serde_json::from_str(&r.events).unwrap_or_default(),
            }));
        }
        *self.hooks.write().unwrap_or_else(|p| p.into_inner()) = hooks;
        Ok(())
    }

    /// Every webhook, each with its newest delivery attempt.
    pub async fn list(&self) -> Result<Vec<WebhookView>, WebhookError> {
        let mut last = store::webhooks::latest_attempts(&self.store).await?;
        Ok(store::webhooks::list(&self.store)
            .await?
            .iter()
            .map(|r| WebhookView {
                last_delivery: last.remove(&r.id),
                ..view(r, None)
            })
            .collect())
    }

    async fn row(&self, id: &str) -> Result<WebhookRow, WebhookError> {
        store::webhooks::list(&self.store)
            .await?
            .into_iter()
            .find(|r| r.id == id)
            .ok_or_else(|| WebhookError::NotFound(id.to_string()))
    }

    /// One webhook, with its newest delivery attempt.
    pub async fn get(&self, id: &str) -> Result<WebhookView, WebhookError> {
        let row = self.row(id).await?;
        let last = store::webhooks::attempts(&self.store, id, 1).await?.pop();
        Ok(WebhookView {
            last_delivery: last,
            ..view(&row, None)
        })
    }

    /// Creates a webhook; the answer carries its secret (the given one, or a generated one) once.
    pub async fn create(&self, input: WebhookInput, by: &str) -> Result<WebhookView, WebhookError> {
        let url = input
            .url
            .ok_or_else(|| WebhookError::Invalid("url: required".into()))?;
        check_url(&url)?;
        let events = input.events.unwrap_or_else(|| vec!["*".into()]);
        check_events(&events)?;
        let secret = match input.secret {
            Some(s) => {
                check_secret(&s)?;
                s
            }
            None => {
                use rand::RngCore;
                let mut raw = [0u8; 24];
                rand::thread_rng().fill_bytes(&mut raw);
                hex::encode(raw)
            }
        };
        let row = WebhookRow {
            id: new_id(),
            url,
            secret: self.secrets.seal(&secret),
            events: serde_json::to_string(&events).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            enabled: input.enabled.unwrap_or(true),
            created_by: by.to_string(),
            created_at: now_ms(),
        };
        let mut tx = self.store.begin_write().await?;
        store::webhooks::insert(tx.conn(), &row).await?;
        audit::record(
            tx.conn(),
            by,
            "webhook.create",
            &row.id,
            None,
            Some(&serde_json::json!({"url": row.url, "events": events})),
        )
        .await?;
        tx.commit().await?;
        self.reload().await?;
        Ok(view(&row, Some(secret)))
    }

    /// Changes a webhook (absent fields keep their values).
    pub async fn update(&self, id: &str, input: WebhookInput, by: &str) -> Result<WebhookView, WebhookError> {
        let mut row = self.row(id).await?;
        if let Some(u) = input.url {
            check_url(&u)?;
            row.url = u;
        }
        if let Some(e) = input.events {
            check_events(&e)?;
            row.events = serde_json::to_string(&e).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        }
        if let Some(en) = input.enabled {
            row.enabled = en;
        }
        let shown = match input.secret {
            Some(s) => {
                check_secret(&s)?;
                row.secret = self.secrets.seal(&s);
                Some(s)
            }
            None => None,
        };
        let mut tx = self.store.begin_write().await?;
        store::webhooks::update(tx.conn(), &row).await?;
        audit::record(tx.conn(), by, "webhook.update", &row.id, None, None).await?;
        tx.commit().await?;
        self.reload().await?;
        Ok(view(&row, shown))
    }

    /// Deletes a webhook and its delivery log.
    pub async fn delete(&self, id: &str, by: &str) -> Result<(), WebhookError> {
        let mut tx = self.store.begin_write().await?;
        if !store::webhooks::delete(tx.conn(), id).await? {
            return Err(WebhookError::NotFound(id.to_string()));
        }
        audit::record(tx.conn(), by, "webhook.delete", id, None, None).await?;
        tx.commit().await?;
        self.reload().await?;
        Ok(())
    }

    /// A webhook's delivery attempts, newest first.
    pub async fn deliveries(&self, id: &str, limit: i64) -> Result<Vec<DeliveryAttempt>, WebhookError> {
        self.row(id).await?;
        Ok(store::webhooks::attempts(&self.store, id, limit).await?)
    }

    /// Sends a `ping` event to one webhook (enabled or not), with the usual retries; returns the delivery id.
    pub async fn ping(&self, id: &str, by: &str) -> Result<String, WebhookError> {
        let row = self.row(id).await?;
        let secret = self.secrets.open(&row.secret).map_err(|_| WebhookError::Secret)?;
        let hook = Arc::new(Hook {
            id: row.id,
            url: row.url,
            secret,
            events: vec!["ping".into()],
        });
        let event = Event::new("webhooks", "ping").user(by);
        let delivery = new_id();
        let me = self.clone();
        let d = delivery.clone();
        tokio::spawn(async move { me.deliver(hook, "ping", &event, d).await });
        Ok(delivery)
    }

    /// Sends bus events to subscribed webhooks until shutdown.
    pub fn spawn(self, mut shutdown: tokio::sync::watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
        let mut rx = self.events.subscribe();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    ev = rx.recv() => match ev {
                        Ok(ev) => self.dispatch(&ev),
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                            tracing::warn!(missed = n, "webhooks fell behind the event bus; events lost");
                        }
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                    },
                    _ = shutdown.changed() => if *shutdown.borrow() { break },
                }
            }
        })
    }

    fn dispatch(&self, ev: &Event) {
        let names = webhook_events(ev);
        if names.is_empty() {
            return;
        }
        let hooks: Vec<Arc<Hook>> = self
            .hooks
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect();
        for name in names {
            for hook in hooks
                .iter()
                .filter(|h| h.events.iter().any(|p| matches(p, &name)))
            {
                let me = self.clone();
                let hook = hook.clone();
                let ev = ev.clone();
                let name = name.clone();
                tokio::spawn(async move { me.deliver(hook, &name, &ev, new_id()).await });
            }
        }
    }

    async fn deliver(&self, hook: Arc<Hook>, name: &str, ev: &Event, delivery: String) {
        let body =
            serde_json::json!({"id": delivery, "event": name, "at": ms_to_rfc3339(now_ms()), "data": ev});
        let body = body.to_string().into_bytes();
        let attempts = self.config.max_attempts.max(1);
        let mut delay = Duration::from_millis(self.config.backoff_ms);
        for attempt in 1..=attempts {
            let ts = chrono::Utc::now().timestamp();
            let sent = self
                .client
                .post(&hook.url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .header("X-Twister-Event", name)
                .header("X-Twister-Delivery", &delivery)
                .header("X-Twister-Timestamp", ts.to_string())
                .header("X-Twister-Signature", sign(hook.secret.as_bytes(), ts, &body))
                .body(body.clone())
                .send()
                .await;
            let (status, ok, detail) = match sent {
                Ok(r) => {
                    let code = r.status();
                    let text: String = r.text().await.unwrap_or_default().chars().take(200).collect();
                    (Some(i64::from(code.as_u16())), code.is_success(), text)
                }
                Err(e) => (None, false, e.to_string()),
            };
            let outcome = if ok {
                "ok"
            } else if attempt < attempts {
                "retry"
            } else {
                "failed"
            };
            if let Err(e) = self
                .log(&hook.id, &delivery, name, attempt, status, outcome, &detail)
                .await
            {
                tracing::warn!(webhook = %hook.id, error = %e, "cannot log a webhook delivery");
            }
            if ok {
                return;
            }
            if attempt == attempts {
                tracing::warn!(webhook = %hook.id, event = name, %delivery, "webhook delivery failed; giving up");
                return;
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(600));
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn log(
        &self,
        hook: &str,
        delivery: &str,
        event: &str,
        attempt: u32,
        status: Option<i64>,
        outcome: &str,
        detail: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.store.begin_write().await?;
        store::webhooks::log_attempt(
            tx.conn(),
            hook,
            delivery,
            event,
            i64::from(attempt),
            status,
            outcome,
            detail,
            now_ms(),
        )
        .await?;
        tx.commit().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        assert!(matches("*", "run.started"));
        assert!(matches("run.*", "run.finished"));
        assert!(!matches("run.*", "runaway.x"));
        assert!(matches("test.status", "test.status"));
        assert!(!matches("reservation.*", "run.started"));
        assert!(check_events(&["run.*".into(), "panic.detected".into()]).is_ok());
        assert!(check_events(&["nope.*".into()]).is_err());
        assert!(check_events(&[]).is_err());
    }

    #[test]
    fn maps_bus_events() {
        let e = Event::new("runs", "item.finished")
            .data(serde_json::json!({"item": "s1.t1", "status": "fail", "reason": "panic detected: x"}));
        assert_eq!(webhook_events(&e), vec!["test.status", "panic.detected"]);
        assert_eq!(
            webhook_events(&Event::new("runs", "run.finished")),
            vec!["run.finished"]
        );
        assert_eq!(
            webhook_events(&Event::new("reservations", "reservation.granted")),
            vec!["reservation.granted"]
        );
        assert!(webhook_events(&Event::new("logs", "log.lines")).is_empty());
    }

    #[test]
    fn signature_is_hmac_sha256_of_timestamp_dot_body() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let sig = sign(b"Jefe", 0, b"");
        assert!(sig.starts_with("sha256=") && sig.len() == 7 + 64);
        let mut mac = Hmac::<Sha256>::new_from_slice(b"Jefe").expect("key");
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(sign(b"k", 12, b"{}"), sign(b"k", 12, b"{}"));
        assert_ne!(sign(b"k", 12, b"{}"), sign(b"k", 13, b"{}"));
    }
}
