//! Notifications that leave the controller: the e-mail sent at the end of a run ([`mail`], [`template`]) and
//! outgoing webhooks ([`webhook`]).
//!
//! [`Mailer`] listens on the event bus for `run.finished` and mails the run's summary by the stored settings.
//! A mail failure is logged, written to the run's log and kept as the run's mail outcome; it never changes the
//! run. The SMTP password is sealed with the controller's [`SecretBox`] before it is stored.

pub mod mail;
pub mod template;
pub mod webhook;

use crate::events::{Event, EventBus};
use crate::secrets::SecretBox;
use crate::store::{self, now_ms, Store, StoreError};
use mail::{MailError, MailSettings};

/// Name of the mail settings document in the `settings` table.
const MAIL_SETTINGS: &str = "mail";

/// The stored form: settings without the clear password, plus the sealed one.
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredMail {
    settings: MailSettings,
    #[serde(default)]
    password_sealed: String,
}

/// Sends run mails; cheap to clone.
#[derive(Clone)]
pub struct Mailer {
    store: Store,
    secrets: SecretBox,
    events: EventBus,
    base_url: std::sync::Arc<std::sync::OnceLock<String>>,
}

/// Why a mail could not be sent or the settings not be read.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// Settings or SMTP.
    #[error(transparent)]
    Mail(#[from] MailError),
    /// Database.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The stored password cannot be opened.
    #[error("the stored SMTP password cannot be opened (secret key changed?)")]
    Secret,
}

impl Mailer {
    /// A mailer over the controller's store, secret box and event bus.
    pub fn new(store: Store, secrets: SecretBox, events: EventBus) -> Mailer {
        Mailer {
            store,
            secrets,
            events,
            base_url: Default::default(),
        }
    }

    /// Sets the controller's own address, for links when the settings name none (known once bound).
    pub fn set_base_url(&self, url: String) {
        let _ = self.base_url.set(url);
    }

    /// The settings as the API shows them (no password; `password_set` says whether one is stored).
    pub async fn settings(&self) -> Result<MailSettings, NotifyError> {
        let (mut s, sealed) = self.stored().await?;
        s.password = None;
        s.password_set = !sealed.is_empty();
        Ok(s)
    }

    async fn stored(&self) -> Result<(MailSettings, String), NotifyError> {
        match store::settings::get(&self.store, MAIL_SETTINGS).await? {
            Some(text) => {
                let stored: StoredMail = serde_json::from_str(&text)
                    .map_err(|e| StoreError::Corrupt(format!("mail settings: {e}")))?;
                Ok((stored.settings, stored.password_sealed))
            }
            None => Ok((MailSettings::default(), String::new())),
        }
    }

    /// The settings with the clear password, for sending.
    async fn settings_for_sending(&self) -> Result<MailSettings, NotifyError> {
        let (mut s, sealed) = self.stored().await?;
        s.password = if sealed.is_empty() {
            None
        } else {
            Some(self.secrets.open(&sealed).map_err(|_| NotifyError::Secret)?)
        };
        Ok(s)
    }

    /// Replaces the settings (after validation); a `password` of `None` keeps the stored one, `""` clears it.
    pub async fn save(&self, mut new: MailSettings, by: &str) -> Result<MailSettings, NotifyError> {
        new.validate()?;
        let (_, old_sealed) = self.stored().await?;
        let sealed = match new.password.take() {
            None => old_sealed,
            Some(p) if p.is_empty() => String::new(),
            Some(p) => self.secrets.seal(&p),
        };
        new.password_set = false;
        let doc = serde_json::to_string(&StoredMail {
            settings: new,
            password_sealed: sealed,
        })
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut tx = self.store.begin_write().await?;
        store::settings::put(tx.conn(), MAIL_SETTINGS, &doc, by, now_ms()).await?;
        store::audit::record(tx.conn(), by, "settings.mail", MAIL_SETTINGS, None, None).await?;
        tx.commit().await?;
        self.settings().await
    }

    fn base(&self, s: &MailSettings) -> String {
        if s.link_base.is_empty() {
            self.base_url.get().cloned().unwrap_or_default()
        } else {
            s.link_base.clone()
        }
    }

    /// Sends a test mail with the stored settings (a made-up run), whether or not mail is enabled.
    pub async fn send_test(&self) -> Result<String, NotifyError> {
        let s = self.settings_for_sending().await?;
        let now = now_ms();
        let run = store::runs::RunRow {
            id: "test-mail".into(),
            project: "(test mail)".into(),
            username: "twister".into(),
            state: "finished".into(),
            status: "pass".into(),
            plan: "{}".into(),
            created_at: now,
            started_at: Some(now),
            ended_at: Some(now),
            reason: Some("This is a test mail from the Twister controller.".into()),
        };
        let composed = mail::compose(&s, &run, &[], &self.base(&s));
        mail::send(&s, &composed).await?;
        Ok(s.to.join(", "))
    }

    /// Mails a finished run's summary if the settings ask for it, and records the outcome. Never fails: a
    /// problem is logged, written to the run's log and kept as the outcome.
    pub async fn run_finished(&self, run_id: &str) {
        let (state, detail) = match self.try_run_finished(run_id).await {
            Ok(Some(to)) => ("sent", format!("sent to {to}")),
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(run = %run_id, error = %e, "run mail failed");
                ("failed", e.to_string())
            }
        };
        if let Err(e) = self.record(run_id, state, &detail).await {
            tracing::warn!(run = %run_id, error = %e, "cannot record the run's mail outcome");
        }
    }

    async fn try_run_finished(&self, run_id: &str) -> Result<Option<String>, NotifyError> {
        let s = self.settings_for_sending().await?;
        let Some(run) = store::runs::get(&self.store, run_id).await? else {
            return Ok(None);
        };
        if !s.enabled {
            return Ok(None);
        }
        if !mail::wanted(s.when, &run.status) {
            self.record(run_id, "not_sent", "the run passed; mail goes only on failure")
                .await?;
            return Ok(None);
        }
        let items = store::runs::items(&self.store, run_id).await?;
        let composed = mail::compose(&s, &run, &items, &self.base(&s));
        mail::send(&s, &composed).await?;
        Ok(Some(s.to.join(", ")))
    }

    async fn record(&self, run_id: &str, state: &str, detail: &str) -> Result<(), StoreError> {
        let now = now_ms();
        let mut tx = self.store.begin_write().await?;
        store::settings::set_run_mail(tx.conn(), run_id, state, detail, now).await?;
        let line = format!("mail {state}: {detail}");
        store::runs::insert_log(tx.conn(), run_id, "", "", "controller", now, &line).await?;
        tx.commit().await?;
        self.events.publish(
            Event::new("runs", &format!("mail.{state}"))
                .id(run_id)
                .data(serde_json::json!({"detail": detail})),
        );
        Ok(())
    }

    /// Listens for finished runs until shutdown; each mail is sent in its own task.
    pub fn spawn(self, mut shutdown: tokio::sync::watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
        let mut rx = self.events.subscribe();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    ev = rx.recv() => match ev {
                        Ok(ev) if ev.topic == "runs" && ev.kind == "run.finished" => {
                            if let Some(id) = ev.id {
                                let me = self.clone();
                                tokio::spawn(async move { me.run_finished(&id).await });
                            }
                        }
                        Ok(_) => {}
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                            tracing::warn!(missed = n, "mailer fell behind the event bus");
                        }
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                    },
                    _ = shutdown.changed() => if *shutdown.borrow() { break },
                }
            }
        })
    }
}
