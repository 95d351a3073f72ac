//! `twister mail …`: the run-mail settings (admins), the original `email.xml` import, and a test mail.

use clap::Subcommand;
use reqwest::Method;
use serde_json::{json, Value};

use super::{output, read_secret, CmdResult, Ctx, Failure};

// Parsed once per process: the size of the `Set` variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum MailCmd {
    /// Show the mail settings (the password is never shown).
    Show,
    /// Change some settings; the others keep their values.
    Set {
        /// Send mail at the end of runs.
        #[arg(long, conflicts_with = "disable")]
        enable: bool,
        /// Stop sending mail.
        #[arg(long)]
        disable: bool,
        /// SMTP server.
        #[arg(long)]
        host: Option<String>,
        /// SMTP port.
        #[arg(long)]
        port: Option<u16>,
        /// none, starttls or tls.
        #[arg(long)]
        security: Option<String>,
        /// Accept a self-signed server certificate (yes/no).
        #[arg(long)]
        accept_invalid_certs: Option<bool>,
        /// SMTP user (empty: no authentication).
        #[arg(long)]
        user: Option<String>,
        /// Read the SMTP password from the first line of stdin.
        #[arg(long)]
        password_stdin: bool,
        /// Remove the stored password.
        #[arg(long, conflicts_with = "password_stdin")]
        clear_password: bool,
        /// Sender address.
        #[arg(long)]
        from: Option<String>,
        /// Recipient (repeatable; replaces the list).
        #[arg(long)]
        to: Vec<String>,
        /// always or on_failure.
        #[arg(long)]
        when: Option<String>,
        /// Subject template, e.g. "Report for {release_id} {build_id} [{date}]".
        #[arg(long)]
        subject: Option<String>,
        /// Message template put above the summary.
        #[arg(long)]
        message: Option<String>,
        /// Base URL for the links in the mail.
        #[arg(long)]
        link_base: Option<String>,
    },
    /// Replace the settings from an original Twister email.xml.
    Import {
        /// The file.
        file: std::path::PathBuf,
    },
    /// Send a test mail with the stored settings.
    Test,
    /// What happened to a run's mail.
    Status {
        /// Run id.
        run: String,
    },
}

fn print_settings(ctx: &Ctx, s: &Value) {
    if ctx.json {
        output::json(s);
        return;
    }
    let f = |k: &str| output::cell(&s[k]);
    for k in [
        "enabled",
        "host",
        "port",
        "security",
        "accept_invalid_certs",
        "username",
        "password_set",
        "from",
        "to",
        "when",
        "subject",
        "message",
        "link_base",
    ] {
        println!("{k:<21} {}", f(k));
    }
}

/// Runs a `twister mail` command.
pub async fn run(ctx: &Ctx, cmd: MailCmd) -> CmdResult {
    let c = &ctx.client;
    match cmd {
        MailCmd::Show => {
            let s: Value = c.get("/settings/mail").await?;
            print_settings(ctx, &s);
        }
        MailCmd::Set {
            enable,
            disable,
            host,
            port,
            security,
            accept_invalid_certs,
            user,
            password_stdin,
            clear_password,
            from,
            to,
            when,
            subject,
            message,
            link_base,
        } => {
            let mut s: Value = c.get("/settings/mail").await?;
            let obj = s
                .as_object_mut()
                .ok_or_else(|| Failure::other("the controller sent settings that are not an object"))?;
            obj.remove("password_set");
            if enable {
                obj.insert("enabled".into(), json!(true));
            }
            if disable {
                obj.insert("enabled".into(), json!(false));
            }
            let mut set = |k: &str, v: Option<Value>| {
                if let Some(v) = v {
                    obj.insert(k.into(), v);
                }
            };
            set("host", host.map(Value::from));
            set("port", port.map(Value::from));
            set("security", security.map(Value::from));
            set("accept_invalid_certs", accept_invalid_certs.map(Value::from));
            set("username", user.map(Value::from));
            set("from", from.map(Value::from));
            set("to", (!to.is_empty()).then(|| json!(to)));
            set("when", when.map(Value::from));
            set("subject", subject.map(Value::from));
            set("message", message.map(Value::from));
            set("link_base", link_base.map(Value::from));
            if password_stdin {
                set("password", Some(json!(read_secret("SMTP password: ", true)?)));
            }
            if clear_password {
                set("password", Some(json!("")));
            }
            let saved: Value = c.call(Method::PUT, "/settings/mail", &s).await?;
            print_settings(ctx, &saved);
        }
        MailCmd::Import { file } => {
            let xml = std::fs::read_to_string(&file)
                .map_err(|e| Failure::usage(format!("cannot read {}: {e}", file.display())))?;
            let saved: Value = c
                .put_raw("/settings/mail/email.xml", "application/xml", xml)
                .await?;
            print_settings(ctx, &saved);
        }
        MailCmd::Test => {
            let r: Value = c.call(Method::POST, "/settings/mail/test", &json!({})).await?;
            if ctx.json {
                output::json(&r);
            } else {
                println!("Test mail sent to {}", r["sent_to"].as_str().unwrap_or(""));
            }
        }
        MailCmd::Status { run } => {
            let r: Value = c.get(&format!("/runs/{run}/mail")).await?;
            if ctx.json {
                output::json(&r);
            } else {
                println!(
                    "{}: {}",
                    r["state"].as_str().unwrap_or(""),
                    r["detail"].as_str().unwrap_or("")
                );
            }
        }
    }
    Ok(())
}
