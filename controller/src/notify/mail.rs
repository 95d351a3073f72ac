//! E-mail at the end of a run: the SMTP settings (with the original `email.xml` import), the message built from
//! a run (subject and body templates, an HTML part with counts, pass rate and a table of tests, and a plain-text
//! part), and sending over SMTP with no TLS, STARTTLS or implicit TLS, with or without authentication.

use std::collections::BTreeMap;
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::template::{fill, html_escape, one_line};
use crate::store::ms_to_rfc3339;
use crate::store::runs::{ItemRow, RunRow};

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// Plain SMTP (port 25 inside a lab).
    #[default]
    None,
    /// Plain connection upgraded with STARTTLS, which must succeed (port 587).
    Starttls,
    /// TLS from the first byte (SMTPS, port 465).
    Tls,
}

/// When a run's mail is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SendWhen {
    /// After every run.
    #[default]
    Always,
    /// Only when the run's status is not pass (or skipped).
    OnFailure,
}

/// The mail settings (the original Configuration > Email tab). The password is write-only.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct MailSettings {
    /// Send mail at the end of runs.
    pub enabled: bool,
    /// SMTP server name or address.
    pub host: String,
    /// SMTP port.
    pub port: u16,
    /// Connection security.
    pub security: Security,
    /// Accept any server certificate (self-signed lab servers); off by default.
    pub accept_invalid_certs: bool,
    /// User for SMTP authentication; empty for none.
    pub username: String,
    /// New password (write-only: never returned); absent keeps the stored one, empty clears it.
    #[serde(skip_serializing)]
    pub password: Option<String>,
    /// Whether a password is stored (read-only).
    pub password_set: bool,
    /// Sender address.
    pub from: String,
    /// Recipients.
    pub to: Vec<String>,
    /// After every run, or only failed ones.
    pub when: SendWhen,
    /// Subject template (see the variables in docs/mail.md).
    pub subject: String,
    /// Text put above the summary in the body (a template too).
    pub message: String,
    /// Base URL of the controller for links in the mail; empty: the address it listens on.
    pub link_base: String,
}

impl Default for MailSettings {
    fn default() -> Self {
        MailSettings {
            enabled: false,
            host: String::new(),
            port: 25,
            security: Security::None,
            accept_invalid_certs: false,
            username: String::new(),
            password: None,
            password_set: false,
            from: String::new(),
            to: Vec::new(),
            when: SendWhen::Always,
            subject: "Twister: {project} {status} ({pass}/{planned} passed) [{date}]".into(),
            message: String::new(),
            link_base: String::new(),
        }
    }
}

/// A mail problem: bad settings, or the server refused or could not be reached.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// A setting is invalid.
    #[error("mail setting {key}: {message}")]
    Invalid {
        /// Setting.
        key: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The message could not be built.
    #[error("cannot build the message: {0}")]
    Build(String),
    /// The SMTP exchange failed.
    #[error("SMTP {host}:{port}: {message}")]
    Smtp {
        /// Server.
        host: String,
        /// Port.
        port: u16,
        /// What went wrong.
        message: String,
    },
    /// An `email.xml` could not be read.
    #[error("not an original email.xml: {0}")]
    Xml(String),
}

fn invalid(key: &'static str, message: impl Into<String>) -> MailError {
    MailError::Invalid {
        key,
        message: message.into(),
    }
}

impl MailSettings {
    /// Checks the settings; an enabled configuration must be complete.
    pub fn validate(&self) -> Result<(), MailError> {
        if self.host.len() > 255 || self.host.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid("host", "a host name or address without spaces"));
        }
        if self.port == 0 {
            return Err(invalid("port", "must be 1-65535"));
        }
        if self.username.len() > 255 || self.username.chars().any(char::is_control) {
            return Err(invalid(
                "username",
                "at most 255 characters, no control characters",
            ));
        }
        if self.password.as_ref().is_some_and(|p| p.len() > 1024) {
            return Err(invalid("password", "at most 1024 bytes"));
        }
        if !self.from.is_empty() {
            self.from
                .parse::<Mailbox>()
                .map_err(|e| invalid("from", format!("{:?}: {e}", self.from)))?;
        }
        if self.to.len() > 100 {
            return Err(invalid("to", "at most 100 recipients"));
        }
        for t in &self.to {
            t.parse::<Mailbox>()
                .map_err(|e| invalid("to", format!("{t:?}: {e}")))?;
        }
        if self.subject.len() > 1000 {
            return Err(invalid("subject", "at most 1000 characters"));
        }
        if self.message.len() > 64 * 1024 {
            return Err(invalid("message", "at most 64 KiB"));
        }
        let link_ok = self.link_base.is_empty()
            || self.link_base.starts_with("http://")
            || self.link_base.starts_with("https://");
        if !link_ok {
            return Err(invalid("link_base", "an http:// or https:// URL"));
        }
        if self.enabled {
            if self.host.is_empty() {
                return Err(invalid("host", "required when mail is enabled"));
            }
            if self.from.is_empty() {
                return Err(invalid("from", "required when mail is enabled"));
            }
            if self.to.is_empty() {
                return Err(invalid("to", "at least one recipient when mail is enabled"));
            }
        }
        Ok(())
    }
}

/// Reads the original Twister `email.xml`: `Enabled`, `SMTPPath` (`host:port`), `SMTPUser`, `SMTPPwd`, `From`,
/// `To` (separated by `;` or `,`), `Subject`, `Message`. Port 465 means implicit TLS, 587 STARTTLS, anything
/// else plain SMTP. The password, if any, comes back in [`MailSettings::password`].
pub fn from_email_xml(xml: &str) -> Result<MailSettings, MailError> {
    use quick_xml::events::Event as X;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut fields: BTreeMap<String, String> = BTreeMap::new();
    let mut stack: Vec<String> = Vec::new();
    let mut saw_root = false;
    loop {
        match reader.read_event() {
            Ok(X::Start(e)) => {
                saw_root = true;
                stack.push(String::from_utf8_lossy(e.local_name().as_ref()).into_owned());
                if stack.len() > 8 {
                    return Err(MailError::Xml("nested too deeply".into()));
                }
            }
            Ok(X::Empty(_)) => saw_root = true,
            Ok(X::End(_)) => {
                stack.pop();
            }
            Ok(X::Text(t)) => {
                let text = t.unescape().map_err(|e| MailError::Xml(e.to_string()))?;
                if stack.len() == 2 {
                    fields.entry(stack[1].clone()).or_default().push_str(&text);
                }
            }
            Ok(X::CData(t)) => {
                if stack.len() == 2 {
                    fields
                        .entry(stack[1].clone())
                        .or_default()
                        .push_str(&String::from_utf8_lossy(&t));
                }
            }
            Ok(X::Eof) => break,
            Ok(_) => {}
            Err(e) => return Err(MailError::Xml(e.to_string())),
        }
    }
    if !saw_root {
        return Err(MailError::Xml("no root element".into()));
    }
    let get = |k: &str| fields.get(k).map(|v| v.trim().to_string()).unwrap_or_default();
    let mut s = MailSettings {
        enabled: matches!(
            get("Enabled").to_ascii_lowercase().as_str(),
            "1" | "true" | "yes" | "on"
        ),
        ..Default::default()
    };
    let path = get("SMTPPath");
    match path.rsplit_once(':') {
        Some((h, p)) if !p.is_empty() => {
            s.host = h.to_string();
            s.port = p
                .parse()
                .map_err(|_| MailError::Xml(format!("SMTPPath {path:?}: the port is not a number")))?;
        }
        _ => s.host = path,
    }
    s.security = match s.port {
        465 => Security::Tls,
        587 => Security::Starttls,
        _ => Security::None,
    };
    s.username = get("SMTPUser");
    let pwd = get("SMTPPwd");
    if !pwd.is_empty() {
        s.password = Some(pwd);
    }
    s.from = get("From");
    s.to = get("To")
        .split([';', ',', '\n'])
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(String::from)
        .collect();
    let subject = get("Subject");
    if !subject.is_empty() {
        s.subject = subject;
    }
    s.message = get("Message");
    Ok(s)
}

/// Whether a run with this status gets a mail under `when`.
pub fn wanted(when: SendWhen, status: &str) -> bool {
    match when {
        SendWhen::Always => true,
        SendWhen::OnFailure => !matches!(status, "pass" | "skipped"),
    }
}

/// A composed message.
#[derive(Debug, Clone)]
pub struct Composed {
    /// Subject line.
    pub subject: String,
    /// Plain-text part.
    pub text: String,
    /// HTML part.
    pub html: String,
}

/// The variables a run offers to templates (documented in docs/mail.md).
pub fn run_variables(run: &RunRow, items: &[ItemRow], base: &str) -> BTreeMap<String, String> {
    let mut v = BTreeMap::new();
    // The project's and suites' user fields (release, build, ...) first, so run facts win on a clash.
    v.insert("release_id".into(), String::new());
    v.insert("build_id".into(), String::new());
    if let Ok(plan) = serde_json::from_str::<serde_json::Value>(&run.plan) {
        let project = &plan["project"];
        let mut field_maps = vec![&project["settings"]["fields"]];
        if let Some(suites) = project["suites"].as_array() {
            field_maps.extend(suites.iter().map(|s| &s["fields"]));
            if let Some(first) = suites.first().and_then(|s| s["name"].as_str()) {
                v.insert("suite".into(), first.to_string());
            }
        }
        for map in field_maps {
            if let Some(m) = map.as_object() {
                for (k, val) in m {
                    let text = val.as_str().map(String::from).unwrap_or_else(|| val.to_string());
                    v.entry(k.clone())
                        .and_modify(|e: &mut String| {
                            if e.is_empty() {
                                e.clone_from(&text)
                            }
                        })
                        .or_insert(text);
                }
            }
        }
    }
    let tests: Vec<&ItemRow> = items.iter().filter(|i| i.kind == "test").collect();
    let count = |s: &str| tests.iter().filter(|t| t.status == s).count();
    let executed = ["pass", "fail", "error", "aborted", "timeout"]
        .iter()
        .map(|s| count(s))
        .sum::<usize>();
    for s in [
        "pass",
        "fail",
        "error",
        "skipped",
        "aborted",
        "timeout",
        "not_executed",
    ] {
        v.insert(s.into(), count(s).to_string());
    }
    v.insert("planned".into(), tests.len().to_string());
    v.insert("executed".into(), executed.to_string());
    v.insert("pass_rate".into(), pass_rate(count("pass"), executed));
    v.insert("run_id".into(), run.id.clone());
    v.insert("project".into(), run.project.clone());
    v.insert("user".into(), run.username.clone());
    v.insert("status".into(), run.status.clone());
    v.insert("state".into(), run.state.clone());
    v.insert("reason".into(), run.reason.clone().unwrap_or_default());
    let ended = run.ended_at.unwrap_or_else(crate::store::now_ms);
    v.insert("date".into(), local_date(ended));
    v.insert(
        "started".into(),
        run.started_at.map(ms_to_rfc3339).unwrap_or_default(),
    );
    v.insert(
        "ended".into(),
        run.ended_at.map(ms_to_rfc3339).unwrap_or_default(),
    );
    v.insert(
        "duration".into(),
        run.started_at
            .map(|s| format!("{}s", (ended - s).max(0) / 1000))
            .unwrap_or_default(),
    );
    let base = base.trim_end_matches('/');
    v.insert("run_url".into(), format!("{base}/#/runs/{}", run.id));
    v.insert("report_url".into(), format!("{base}/#/reports?run={}", run.id));
    v
}

fn pass_rate(pass: usize, executed: usize) -> String {
    if executed == 0 {
        "n/a".into()
    } else {
        format!("{:.1}%", pass as f64 * 100.0 / executed as f64)
    }
}

/// The original's date shape, `2012.03.23 13:24` (UTC).
fn local_date(ms: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms)
        .map(|t| t.format("%Y.%m.%d %H:%M").to_string())
        .unwrap_or_default()
}

/// Builds the subject, the plain-text part and the HTML part for a finished run.
pub fn compose(settings: &MailSettings, run: &RunRow, items: &[ItemRow], base: &str) -> Composed {
    let vars = run_variables(run, items, base);
    let var = |k: &str| vars.get(k).cloned().unwrap_or_default();
    let subject = one_line(&fill(&settings.subject, &vars));
    let message = fill(&settings.message, &vars);
    let tests: Vec<&ItemRow> = items.iter().filter(|i| i.kind == "test").collect();
    let suites: BTreeMap<&str, &str> = items
        .iter()
        .filter(|i| i.kind == "suite")
        .map(|i| (i.id.as_str(), i.name.as_str()))
        .collect();
    let suite_of = |t: &ItemRow| {
        t.parent
            .as_deref()
            .and_then(|p| suites.get(p).copied())
            .unwrap_or("")
            .to_string()
    };
    let duration = |t: &ItemRow| match (t.started_at, t.ended_at) {
        (Some(s), Some(e)) => format!("{:.1}s", (e - s).max(0) as f64 / 1000.0),
        _ => String::new(),
    };
    let counts = [
        "pass",
        "fail",
        "error",
        "timeout",
        "aborted",
        "skipped",
        "not_executed",
    ];

    let mut text = String::new();
    if !message.trim().is_empty() {
        text.push_str(message.trim_end());
        text.push_str("\n\n");
    }
    text.push_str(&format!(
        "Run {} of project {} by {}: {}\n",
        var("run_id"),
        var("project"),
        var("user"),
        var("status")
    ));
    if !var("reason").is_empty() {
        text.push_str(&format!("Reason: {}\n", var("reason")));
    }
    text.push_str(&format!(
        "Tests: {} planned, {} executed, pass rate {}\n",
        var("planned"),
        var("executed"),
        var("pass_rate")
    ));
    for c in counts {
        text.push_str(&format!("  {c}: {}\n", var(c)));
    }
    text.push('\n');
    for t in &tests {
        text.push_str(&format!(
            "{:<12} {} / {} [{}] {}{}\n",
            t.status,
            suite_of(t),
            t.name,
            t.ep,
            duration(t),
            t.reason.as_deref().map(|r| format!(" - {r}")).unwrap_or_default()
        ));
    }
    text.push_str(&format!(
        "\nRun: {}\nReport: {}\n",
        var("run_url"),
        var("report_url")
    ));

    let e = |s: &str| html_escape(s);
    let mut html = String::from(
        "<!doctype html><html><head><meta charset=\"utf-8\"></head>\
         <body style=\"font-family:sans-serif\">",
    );
    if !message.trim().is_empty() {
        html.push_str(&format!(
            "<p style=\"white-space:pre-wrap\">{}</p>",
            e(message.trim_end())
        ));
    }
    html.push_str(&format!(
        "<h2>{} &mdash; {}</h2><p>Run <a href=\"{}\">{}</a> by {}",
        e(&var("project")),
        e(&var("status")),
        e(&var("run_url")),
        e(&var("run_id")),
        e(&var("user"))
    ));
    if !var("reason").is_empty() {
        html.push_str(&format!("<br>Reason: {}", e(&var("reason"))));
    }
    html.push_str(&format!(
        "</p><p>Pass rate: <strong>{}</strong> ({} of {} executed; {} planned)</p>",
        e(&var("pass_rate")),
        e(&var("pass")),
        e(&var("executed")),
        e(&var("planned"))
    ));
    html.push_str("<table border=\"1\" cellpadding=\"4\" style=\"border-collapse:collapse\"><tr>");
    for c in counts {
        html.push_str(&format!("<th>{}</th>", e(c)));
    }
    html.push_str("</tr><tr>");
    for c in counts {
        html.push_str(&format!("<td>{}</td>", e(&var(c))));
    }
    html.push_str("</tr></table><h3>Tests</h3>");
    html.push_str(
        "<table border=\"1\" cellpadding=\"4\" style=\"border-collapse:collapse\">\
         <tr><th>Suite</th><th>Test</th><th>EP</th><th>Status</th><th>Duration</th><th>Reason</th></tr>",
    );
    for t in &tests {
        let colour = match t.status.as_str() {
            "pass" => "#2e7d32",
            "fail" | "error" | "timeout" | "aborted" => "#c62828",
            _ => "#555",
        };
        html.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td style=\"color:{colour}\">{}</td><td>{}</td><td>{}</td></tr>",
            e(&suite_of(t)),
            e(&t.name),
            e(&t.ep),
            e(&t.status),
            e(&duration(t)),
            e(t.reason.as_deref().unwrap_or(""))
        ));
    }
    html.push_str(&format!(
        "</table><p><a href=\"{}\">Open the run</a> &middot; <a href=\"{}\">Open its report</a></p></body></html>",
        e(&var("run_url")),
        e(&var("report_url"))
    ));
    Composed { subject, text, html }
}

/// Sends one message with `settings` (whose `password` holds the clear password, if any).
pub async fn send(settings: &MailSettings, composed: &Composed) -> Result<(), MailError> {
    let smtp_err = |message: String| MailError::Smtp {
        host: settings.host.clone(),
        port: settings.port,
        message,
    };
    if settings.host.is_empty() || settings.from.is_empty() || settings.to.is_empty() {
        return Err(invalid(
            "host",
            "host, from and at least one recipient are needed to send",
        ));
    }
    let from: Mailbox = settings
        .from
        .parse()
        .map_err(|e| invalid("from", format!("{e}")))?;
    let mut builder = Message::builder().from(from).subject(composed.subject.clone());
    for t in &settings.to {
        builder = builder.to(t.parse().map_err(|e| invalid("to", format!("{t:?}: {e}")))?);
    }
    let message = builder
        .multipart(MultiPart::alternative_plain_html(
            composed.text.clone(),
            composed.html.clone(),
        ))
        .map_err(|e| MailError::Build(e.to_string()))?;
    let tls = || {
        TlsParameters::builder(settings.host.clone())
            .dangerous_accept_invalid_certs(settings.accept_invalid_certs)
            .dangerous_accept_invalid_hostnames(settings.accept_invalid_certs)
            .build_rustls()
            .map_err(|e| smtp_err(format!("TLS setup: {e}")))
    };
    let tls = match settings.security {
        Security::None => Tls::None,
        Security::Starttls => Tls::Required(tls()?),
        Security::Tls => Tls::Wrapper(tls()?),
    };
    let mut transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(settings.host.as_str())
        .port(settings.port)
        .tls(tls)
        .timeout(Some(Duration::from_secs(30)));
    if !settings.username.is_empty() {
        transport = transport.credentials(Credentials::new(
            settings.username.clone(),
            settings.password.clone().unwrap_or_default(),
        ));
    }
    transport
        .build()
        .send(message)
        .await
        .map_err(|e| smtp_err(describe(&e)))?;
    Ok(())
}

/// The error with its causes, for the run page and the log.
fn describe(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        let cs = c.to_string();
        if !s.contains(&cs) {
            s.push_str(": ");
            s.push_str(&cs);
        }
        src = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run() -> (RunRow, Vec<ItemRow>) {
        let plan = serde_json::json!({"project": {"name": "p", "settings": {"fields": {"release_id": "2"}},
            "suites": [{"name": "S <1>", "fields": {"build_id": "15"}}]}, "lanes": []});
        let run = RunRow {
            id: "r1".into(),
            project: "p".into(),
            username: "ann".into(),
            state: "finished".into(),
            status: "fail".into(),
            plan: plan.to_string(),
            created_at: 0,
            started_at: Some(1_000),
            ended_at: Some(61_000),
            reason: None,
        };
        let item = |id: &str, kind: &str, parent: Option<&str>, name: &str, status: &str| ItemRow {
            run_id: "r1".into(),
            id: id.into(),
            parent: parent.map(String::from),
            kind: kind.into(),
            ord: 0,
            name: name.into(),
            ep: "EP-1".into(),
            file: String::new(),
            status: status.into(),
            reason: (status == "fail").then(|| "<script>bad</script>".to_string()),
            exit_code: None,
            started_at: Some(1_000),
            ended_at: Some(3_500),
        };
        let items = vec![
            item("s1", "suite", None, "S <1>", "fail"),
            item("s1.t1", "test", Some("s1"), "a.sh", "pass"),
            item("s1.t2", "test", Some("s1"), "b.sh", "fail"),
            item("s1.t3", "test", Some("s1"), "c.sh", "skipped"),
        ];
        (run, items)
    }

    #[test]
    fn composes_subject_text_and_html() {
        let (run, items) = run();
        let s = MailSettings {
            subject: "Report for $release_id $build_id [{date}] {pass_rate}\r\nBcc: x@y".into(),
            message: "Hello {user}".into(),
            ..Default::default()
        };
        let c = compose(&s, &run, &items, "http://lab:8000/");
        assert_eq!(c.subject, "Report for 2 15 [1970.01.01 00:01] 50.0%  Bcc: x@y");
        assert!(c.text.starts_with("Hello ann\n"));
        assert!(c.text.contains("pass rate 50.0%"));
        assert!(c
            .text
            .contains("fail         S <1> / b.sh [EP-1] 2.5s - <script>bad</script>"));
        assert!(c.html.contains("&lt;script&gt;bad&lt;/script&gt;"));
        assert!(!c.html.contains("<script>"));
        assert!(c.html.contains("href=\"http://lab:8000/#/runs/r1\""));
        assert!(c.html.contains("http://lab:8000/#/reports?run=r1"));
    }

    #[test]
    fn failure_filter() {
        assert!(wanted(SendWhen::Always, "pass"));
        assert!(!wanted(SendWhen::OnFailure, "pass"));
        assert!(wanted(SendWhen::OnFailure, "error"));
    }

    #[test]
    fn imports_email_xml() {
        let xml = "<Root><Enabled>1</Enabled><SMTPPath>smtp.lab:587</SMTPPath><SMTPUser>MyUser</SMTPUser>\
                   <SMTPPwd>pw</SMTPPwd><From>MyUser@lab.example</From><To>a@lab.example; b@lab.example</To>\
                   <Subject>Report for $release_id $build_id [$date]</Subject><Message>Hi &amp; bye</Message></Root>";
        let s = from_email_xml(xml).expect("parse");
        assert!(s.enabled);
        assert_eq!(
            (s.host.as_str(), s.port, s.security),
            ("smtp.lab", 587, Security::Starttls)
        );
        assert_eq!(s.username, "MyUser");
        assert_eq!(s.password.as_deref(), Some("pw"));
        assert_eq!(s.to, vec!["a@lab.example", "b@lab.example"]);
        assert_eq!(s.message, "Hi & bye");
        s.validate().expect("valid");
        assert!(from_email_xml("not xml <").is_err() || from_email_xml("").is_err());
        assert!(from_email_xml("<Root><SMTPPath>h:xx</SMTPPath></Root>").is_err());
    }

    #[test]
    fn validation_names_the_key() {
        let s = MailSettings {
            enabled: true,
            host: "h".into(),
            from: "not an address".into(),
            to: vec!["a@b.c".into()],
            ..Default::default()
        };
        assert!(s.validate().unwrap_err().to_string().contains("from"));
    }
}
