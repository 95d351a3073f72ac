//! `twister webhook …`: outgoing webhooks (admins).

use clap::Subcommand;
use reqwest::Method;
use serde_json::{json, Value};

use super::output::{self, Table};
use super::{read_secret, CmdResult, Ctx};

#[derive(Debug, Subcommand)]
pub enum WebhookCmd {
    /// List webhooks.
    Ls,
    /// Add a webhook; its signing secret is shown once (generated unless --secret-stdin).
    Add {
        /// http:// or https:// URL. (Its own argument id: the global `--url` names the controller, and clap
        /// would let one value stand for both.)
        #[arg(id = "hook_url", value_name = "URL")]
        url: String,
        /// Event pattern (repeatable): run.*, test.status, panic.detected, reservation.*, * …
        #[arg(long = "event")]
        events: Vec<String>,
        /// Read the secret from the first line of stdin.
        #[arg(long)]
        secret_stdin: bool,
    },
    /// Delete a webhook and its delivery log.
    Rm {
        /// Webhook id.
        id: String,
    },
    /// Enable a webhook.
    Enable {
        /// Webhook id.
        id: String,
    },
    /// Disable a webhook.
    Disable {
        /// Webhook id.
        id: String,
    },
    /// Send a ping event.
    Ping {
        /// Webhook id.
        id: String,
    },
    /// The delivery log, newest first.
    Deliveries {
        /// Webhook id.
        id: String,
        /// At most this many attempts.
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
}

fn s(v: &Value, k: &str) -> String {
    output::cell(&v[k])
}

/// A hook's newest delivery attempt in a table cell: `never`, or its time, outcome and HTTP status.
fn last_delivery(d: &Value) -> String {
    if d.is_null() {
        return "never".into();
    }
    let status = match &d["status"] {
        Value::Null => String::new(),
        st => format!(" {st}"),
    };
    format!("{} {}{status}", output::time(&s(d, "at")), s(d, "outcome"))
}

/// Runs a `twister webhook` command.
pub async fn run(ctx: &Ctx, cmd: WebhookCmd) -> CmdResult {
    let c = &ctx.client;
    let show = |v: &Value| {
        if ctx.json {
            output::json(v);
        } else {
            println!(
                "{} {} [{}] enabled={}",
                s(v, "id"),
                s(v, "url"),
                s(v, "events"),
                s(v, "enabled")
            );
        }
    };
    match cmd {
        WebhookCmd::Ls => {
            let list: Vec<Value> = c.get("/webhooks").await?;
            if ctx.json {
                output::json(&list);
                return Ok(());
            }
            let mut t = Table::new(&["ID", "URL", "EVENTS", "ENABLED", "LAST DELIVERY", "CREATED BY"]);
            for v in list {
                t.row(vec![
                    s(&v, "id"),
                    s(&v, "url"),
                    s(&v, "events"),
                    s(&v, "enabled"),
                    last_delivery(&v["last_delivery"]),
                    s(&v, "created_by"),
                ]);
            }
            t.print("No webhooks.");
        }
        WebhookCmd::Add {
            url,
            events,
            secret_stdin,
        } => {
            let mut body = json!({"url": url});
            if !events.is_empty() {
                body["events"] = json!(events);
            }
            if secret_stdin {
                body["secret"] = json!(read_secret("Secret: ", true)?);
            }
            let v: Value = c.call(Method::POST, "/webhooks", &body).await?;
            show(&v);
            if !ctx.json {
                println!("Signing secret (shown only now): {}", s(&v, "secret"));
            }
        }
        WebhookCmd::Rm { id } => {
            match c
                .call::<_, Value>(Method::DELETE, &format!("/webhooks/{id}"), &json!({}))
                .await
            {
                Ok(_) | Err(twister_client::ClientError::Decode(_)) => {}
                Err(e) => return Err(e.into()),
            }
            if !ctx.json {
                println!("Webhook {id} deleted.");
            }
        }
        WebhookCmd::Enable { id } => {
            let v: Value = c
                .call(
                    Method::PATCH,
                    &format!("/webhooks/{id}"),
                    &json!({"enabled": true}),
                )
                .await?;
            show(&v);
        }
        WebhookCmd::Disable { id } => {
            let v: Value = c
                .call(
                    Method::PATCH,
                    &format!("/webhooks/{id}"),
                    &json!({"enabled": false}),
                )
                .await?;
            show(&v);
        }
        WebhookCmd::Ping { id } => {
            let v: Value = c
                .call(Method::POST, &format!("/webhooks/{id}/ping"), &json!({}))
                .await?;
            if ctx.json {
                output::json(&v);
            } else {
                println!(
                    "Ping sent (delivery {}); see `twister webhook deliveries {id}`",
                    s(&v, "delivery")
                );
            }
        }
        WebhookCmd::Deliveries { id, limit } => {
            let list: Vec<Value> = c.get(&format!("/webhooks/{id}/deliveries?limit={limit}")).await?;
            if ctx.json {
                output::json(&list);
                return Ok(());
            }
            let mut t = Table::new(&[
                "AT", "DELIVERY", "EVENT", "ATTEMPT", "STATUS", "OUTCOME", "DETAIL",
            ]);
            for v in list {
                t.row(vec![
                    output::time(&s(&v, "at")),
                    s(&v, "delivery"),
                    s(&v, "event"),
                    s(&v, "attempt"),
                    s(&v, "status"),
                    s(&v, "outcome"),
                    s(&v, "detail"),
                ]);
            }
            t.print("No deliveries yet.");
        }
    }
    Ok(())
}
