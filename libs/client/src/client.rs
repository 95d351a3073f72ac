//! [`Client`]: typed calls to the controller's REST API under `/api/v1`.

use std::time::Duration;

use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};

use crate::error::ClientError;
use crate::types::*;

/// Result of a client call.
pub type Result<T> = std::result::Result<T, ClientError>;

/// A connection to one controller, with an optional bearer token.
#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    token: Option<String>,
    http: reqwest::Client,
}

/// Percent-encodes a path for use in a URL, keeping `/`, `:` and `~` (the inventory address syntax).
pub fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' | b':' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn query_pairs(pairs: &[(&str, Option<String>)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (k.to_string(), v.clone())))
        .collect()
}

impl Client {
    /// A client for the controller at `base_url` (e.g. `http://127.0.0.1:8000`).
    pub fn new(base_url: &str, token: Option<String>) -> Result<Client> {
        Client::with_ca_file(base_url, token, None)
    }

    /// Like [`Client::new`], also trusting the CA certificate(s) in the PEM file `ca_file` for an https://
    /// controller whose certificate the public roots do not cover (a lab's own CA).
    pub fn with_ca_file(
        base_url: &str,
        token: Option<String>,
        ca_file: Option<&std::path::Path>,
    ) -> Result<Client> {
        let parsed = url::Url::parse(base_url)
            .map_err(|e| ClientError::Usage(format!("bad controller URL {base_url:?}: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(ClientError::Usage(format!(
                "bad controller URL {base_url:?}: use http:// or https://"
            )));
        }
        let mut builder = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("twister-client/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = ca_file {
            let pem = std::fs::read(path)
                .map_err(|e| ClientError::Usage(format!("cannot read CA file {}: {e}", path.display())))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| ClientError::Usage(format!("CA file {}: {e}", path.display())))?;
            if certs.is_empty() {
                return Err(ClientError::Usage(format!(
                    "CA file {}: no CERTIFICATE block in it",
                    path.display()
                )));
            }
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        let http = builder
            .build()
            .map_err(|e| ClientError::Usage(format!("cannot build HTTP client: {e}")))?;
        Ok(Client {
            base: base_url.trim_end_matches('/').to_string(),
            token,
            http,
        })
    }

    /// The controller's base URL.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The bearer token in use.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// Replaces the bearer token.
    pub fn set_token(&mut self, token: Option<String>) {
        self.token = token;
    }

    fn request(&self, method: Method, path: &str) -> Result<RequestBuilder> {
        let url = format!("{}/api/v1{}", self.base, path);
        let mut rb = self.http.request(method, url).timeout(Duration::from_secs(330));
        if let Some(t) = &self.token {
            rb = rb.bearer_auth(t);
        }
        Ok(rb)
    }

    fn authed(&self, method: Method, path: &str) -> Result<RequestBuilder> {
        if self.token.is_none() {
            return Err(ClientError::NotLoggedIn);
        }
        self.request(method, path)
    }

    async fn send(&self, rb: RequestBuilder) -> Result<Response> {
        let resp = rb.send().await.map_err(|e| ClientError::Unreachable {
            url: self.base.clone(),
            source: e,
        })?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        Err(error_from(resp).await)
    }

    async fn json<T: DeserializeOwned>(&self, rb: RequestBuilder) -> Result<T> {
        let resp = self.send(rb).await?;
        let bytes = resp.bytes().await.map_err(|e| ClientError::Unreachable {
            url: self.base.clone(),
            source: e,
        })?;
        serde_json::from_slice(&bytes).map_err(|e| ClientError::Decode(e.to_string()))
    }

    /// `GET path` with an authenticated caller, decoded as `T`.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        self.json(self.authed(Method::GET, path)?).await
    }

    /// `method path` with a JSON body, decoded as `T`.
    pub async fn call<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &B,
    ) -> Result<T> {
        self.json(self.authed(method, path)?.json(body)).await
    }

    /// `GET path` answered with text (XML, plain logs).
    pub async fn get_text(&self, path: &str) -> Result<String> {
        let resp = self.send(self.authed(Method::GET, path)?).await?;
        resp.text().await.map_err(|e| ClientError::Unreachable {
            url: self.base.clone(),
            source: e,
        })
    }

    /// `PUT path` with a raw body of `content_type`, answered with JSON.
    pub async fn put_raw<T: DeserializeOwned>(
        &self,
        path: &str,
        content_type: &str,
        body: String,
    ) -> Result<T> {
        let rb = self
            .authed(Method::PUT, path)?
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body);
        self.json(rb).await
    }

    // ---- health and auth ----

    /// `GET /health` (no token needed).
    pub async fn health(&self) -> Result<Value> {
        self.json(self.request(Method::GET, "/health")?).await
    }

    /// Logs in; on success the client keeps the new token.
    pub async fn login(&mut self, username: &str, password: &str) -> Result<Login> {
        let rb = self
            .request(Method::POST, "/auth/login")?
            .json(&json!({"username": username, "password": password}));
        let login: Login = self.json(rb).await?;
        self.token = Some(login.token.clone());
        Ok(login)
    }

    /// Revokes the current token.
    pub async fn logout(&self) -> Result<()> {
        self.send(self.authed(Method::POST, "/auth/logout")?).await?;
        Ok(())
    }

    /// Who the token belongs to.
    pub async fn whoami(&self) -> Result<WhoAmI> {
        self.get("/auth/whoami").await
    }

    // ---- users ----

    /// All users.
    pub async fn users(&self) -> Result<Vec<User>> {
        self.get("/users").await
    }

    /// One user.
    pub async fn user(&self, name: &str) -> Result<User> {
        self.get(&format!("/users/{}", encode_path(name))).await
    }

    /// Creates a user.
    pub async fn create_user(
        &self,
        name: &str,
        password: &str,
        role: &str,
        display_name: &str,
        email: &str,
    ) -> Result<User> {
        let body = json!({"username": name, "password": password, "role": role,
            "display_name": display_name, "email": email});
        self.call(Method::POST, "/users", &body).await
    }

    /// Changes a user.
    pub async fn update_user(&self, name: &str, update: &UserUpdate) -> Result<User> {
        self.call(Method::PATCH, &format!("/users/{}", encode_path(name)), update)
            .await
    }

    /// Deletes a user.
    pub async fn delete_user(&self, name: &str) -> Result<()> {
        self.send(self.authed(Method::DELETE, &format!("/users/{}", encode_path(name)))?)
            .await?;
        Ok(())
    }

    /// Sets a password; `current` is required for one's own.
    pub async fn set_password(&self, name: &str, current: Option<&str>, new: &str) -> Result<()> {
        let body = json!({"current_password": current, "new_password": new});
        let rb = self
            .authed(Method::PUT, &format!("/users/{}/password", encode_path(name)))?
            .json(&body);
        self.send(rb).await?;
        Ok(())
    }

    // ---- tokens ----

    /// The caller's tokens (or everybody's with `all`).
    pub async fn tokens(&self, all: bool, sessions: bool) -> Result<Vec<Token>> {
        let rb = self
            .authed(Method::GET, "/tokens")?
            .query(&[("all", all), ("sessions", sessions)]);
        self.json(rb).await
    }

    /// Creates an API token; the answer holds its secret once.
    pub async fn create_token(&self, req: &NewToken) -> Result<Token> {
        self.call(Method::POST, "/tokens", req).await
    }

    /// Revokes a token.
    pub async fn revoke_token(&self, id: &str) -> Result<()> {
        self.send(self.authed(Method::DELETE, &format!("/tokens/{}", encode_path(id)))?)
            .await?;
        Ok(())
    }

    // ---- inventory ----

    /// Names of the top-level nodes.
    pub async fn root_children(&self) -> Result<Vec<String>> {
        let v: Value = self.get("/resources").await?;
        serde_json::from_value(v.get("children").cloned().unwrap_or(Value::Array(vec![])))
            .map_err(|e| ClientError::Decode(e.to_string()))
    }

    /// One node by path or `~id`.
    pub async fn node(&self, addr: &str, reveal: bool) -> Result<Node> {
        let rb = self
            .authed(Method::GET, &format!("/resources{}", encode_path(&slash(addr))))?
            .query(&[("reveal", reveal)]);
        self.json(rb).await
    }

    /// One property, `addr` being `PATH:key`.
    pub async fn property(&self, addr: &str, reveal: bool) -> Result<Property> {
        let rb = self
            .authed(Method::GET, &format!("/resources{}", encode_path(&slash(addr))))?
            .query(&[("reveal", reveal)]);
        self.json(rb).await
    }

    /// Every node of a subtree (default: the whole inventory), parents first.
    pub async fn tree(&self, root: Option<&str>) -> Result<Vec<Node>> {
        let mut rb = self.authed(Method::GET, "/inventory/tree")?;
        if let Some(r) = root {
            rb = rb.query(&[("root", slash(r))]);
        }
        self.json(rb).await
    }

    /// Creates or updates a node; `if_version` guards against concurrent edits.
    pub async fn put_node(&self, path: &str, update: &NodeUpdate, if_version: Option<i64>) -> Result<Node> {
        let mut rb = self
            .authed(Method::PUT, &format!("/resources{}", encode_path(&slash(path))))?
            .json(update);
        if let Some(v) = if_version {
            rb = rb.header(reqwest::header::IF_MATCH, format!("\"{v}\""));
        }
        self.json(rb).await
    }

    /// Renames (`to` without `/`) or moves (`to` a full path) a node.
    pub async fn rename_node(&self, path: &str, to: &str, if_version: Option<i64>) -> Result<Node> {
        let body = if to.starts_with('/') {
            json!({ "to": to })
        } else {
            json!({ "name": to })
        };
        let mut rb = self
            .authed(
                Method::POST,
                &format!("/resources{}/rename", encode_path(&slash(path))),
            )?
            .json(&body);
        if let Some(v) = if_version {
            rb = rb.header(reqwest::header::IF_MATCH, format!("\"{v}\""));
        }
        self.json(rb).await
    }

    /// Deletes a node and its subtree.
    pub async fn delete_node(&self, path: &str, if_version: Option<i64>) -> Result<Deleted> {
        let mut rb = self.authed(
            Method::DELETE,
            &format!("/resources{}", encode_path(&slash(path))),
        )?;
        if let Some(v) = if_version {
            rb = rb.header(reqwest::header::IF_MATCH, format!("\"{v}\""));
        }
        self.json(rb).await
    }

    /// Exports the inventory in `format` (`native`, `twister-v3`, `twister-v2`).
    pub async fn export(&self, format: &str, reveal: bool) -> Result<Value> {
        let rb = self
            .authed(Method::GET, "/inventory/export")?
            .query(&[("format", format)])
            .query(&[("reveal", reveal)]);
        self.json(rb).await
    }

    /// Imports a document; `replace` deletes nodes the document does not name.
    pub async fn import(&self, doc: &Value, format: &str, replace: bool) -> Result<ImportReport> {
        let mode = if replace { "replace" } else { "merge" };
        let rb = self
            .authed(Method::POST, "/inventory/import")?
            .query(&[("format", format), ("mode", mode)])
            .json(doc);
        self.json(rb).await
    }

    // ---- reservations ----

    /// Asks for a reservation (201 granted or queued; 409 when busy and not waiting).
    pub async fn reserve(&self, req: &ReserveRequest) -> Result<Reservation> {
        self.call(Method::POST, "/reservations", req).await
    }

    /// One reservation.
    pub async fn reservation(&self, id: &str) -> Result<Reservation> {
        self.get(&format!("/reservations/{}", encode_path(id))).await
    }

    /// Waits (long poll, at most `timeout_s`) until a queued reservation is granted or ends.
    pub async fn wait_reservation(&self, id: &str, timeout_s: u64) -> Result<Reservation> {
        let rb = self
            .authed(Method::GET, &format!("/reservations/{}/wait", encode_path(id)))?
            .query(&[("timeout_s", timeout_s)]);
        self.json(rb).await
    }

    /// Releases a reservation (or leaves the queue).
    pub async fn release(&self, id: &str, only_if_holder: Option<&str>, force: bool) -> Result<Reservation> {
        let mut rb = self
            .authed(Method::DELETE, &format!("/reservations/{}", encode_path(id)))?
            .query(&[("force", force)]);
        if let Some(h) = only_if_holder {
            rb = rb.query(&[("only_if_holder", h)]);
        }
        self.json(rb).await
    }

    /// Extends a lease from now.
    pub async fn renew(&self, id: &str, duration_s: Option<u64>) -> Result<Reservation> {
        let body = match duration_s {
            Some(d) => json!({ "duration_s": d }),
            None => json!({}),
        };
        self.call(
            Method::POST,
            &format!("/reservations/{}/renew", encode_path(id)),
            &body,
        )
        .await
    }

    /// Live reservations (default) or those matching `filter`.
    pub async fn reservations(&self, filter: &ReservationFilter) -> Result<Vec<Reservation>> {
        self.list_reservations("/reservations", filter).await
    }

    /// Reservation history.
    pub async fn history(&self, filter: &ReservationFilter) -> Result<Vec<Reservation>> {
        self.list_reservations("/reservations/history", filter).await
    }

    async fn list_reservations(&self, route: &str, f: &ReservationFilter) -> Result<Vec<Reservation>> {
        let q = query_pairs(&[
            ("state", f.state.clone()),
            ("user", f.user.clone()),
            ("path", f.path.clone()),
            ("since", f.since.clone()),
            ("until", f.until.clone()),
            ("limit", f.limit.map(|l| l.to_string())),
        ]);
        self.json(self.authed(Method::GET, route)?.query(&q)).await
    }

    // ---- stations, projects, runs ----

    /// Registered stations.
    pub async fn stations(&self) -> Result<Vec<Value>> {
        self.get("/stations").await
    }

    /// EPs with their station and whether it is online.
    pub async fn eps(&self) -> Result<Vec<Value>> {
        self.get("/eps").await
    }

    /// Registers a station; the answer holds its token once.
    pub async fn create_station(&self, name: &str) -> Result<Value> {
        self.call(Method::POST, "/stations", &json!({ "name": name }))
            .await
    }

    /// Issues a new token for a station.
    pub async fn rotate_station_token(&self, name: &str) -> Result<Value> {
        self.call(
            Method::POST,
            &format!("/stations/{}/token", encode_path(name)),
            &json!({}),
        )
        .await
    }

    /// Deletes a station.
    pub async fn delete_station(&self, name: &str) -> Result<()> {
        self.send(self.authed(Method::DELETE, &format!("/stations/{}", encode_path(name)))?)
            .await?;
        Ok(())
    }

    /// Projects.
    pub async fn projects(&self) -> Result<Vec<Value>> {
        self.get("/projects").await
    }

    /// One project document (with `version`).
    pub async fn project(&self, name: &str) -> Result<Value> {
        self.get(&format!("/projects/{}", encode_path(name))).await
    }

    /// Creates or replaces a project.
    pub async fn put_project(&self, name: &str, doc: &Value) -> Result<Value> {
        self.call(Method::PUT, &format!("/projects/{}", encode_path(name)), doc)
            .await
    }

    /// One suite of a project (`outer/inner` for a nested one).
    pub async fn export_suite(&self, project: &str, suite: &str) -> Result<Value> {
        self.get(&format!(
            "/projects/{}/suites/{}",
            encode_path(project),
            encode_path(suite)
        ))
        .await
    }

    /// Appends a suite to a project.
    pub async fn import_suite(&self, project: &str, suite: &Value) -> Result<Value> {
        self.call(
            Method::POST,
            &format!("/projects/{}/suites", encode_path(project)),
            suite,
        )
        .await
    }

    /// Deletes a project.
    pub async fn delete_project(&self, name: &str) -> Result<()> {
        self.send(self.authed(Method::DELETE, &format!("/projects/{}", encode_path(name)))?)
            .await?;
        Ok(())
    }

    /// Starts a run.
    pub async fn start_run(&self, project: &str) -> Result<Value> {
        self.call(Method::POST, "/runs", &json!({ "project": project }))
            .await
    }

    /// Runs, newest first.
    pub async fn runs(&self, user: Option<&str>, live: bool, limit: i64) -> Result<Vec<Value>> {
        let mut rb = self
            .authed(Method::GET, "/runs")?
            .query(&[("live", live)])
            .query(&[("limit", limit)]);
        if let Some(u) = user {
            rb = rb.query(&[("user", u)]);
        }
        self.json(rb).await
    }

    /// One run with its items.
    pub async fn run(&self, id: &str) -> Result<Value> {
        self.get(&format!("/runs/{}", encode_path(id))).await
    }

    /// `pause`, `resume` or `stop`.
    pub async fn control_run(&self, id: &str, action: &str) -> Result<Value> {
        self.call(
            Method::POST,
            &format!("/runs/{}/{}", encode_path(id), encode_path(action)),
            &json!({}),
        )
        .await
    }

    /// Queues a test (`test` is a test-case document) at the end of suite instance `suite`.
    pub async fn queue_test(&self, run: &str, suite: &str, test: &Value) -> Result<Value> {
        self.call(
            Method::POST,
            &format!("/runs/{}/queue", encode_path(run)),
            &json!({ "suite": suite, "test": test }),
        )
        .await
    }

    /// Removes a pending test from a live run.
    pub async fn dequeue_test(&self, run: &str, item: &str) -> Result<()> {
        self.send(self.authed(
            Method::DELETE,
            &format!("/runs/{}/items/{}", encode_path(run), encode_path(item)),
        )?)
        .await?;
        Ok(())
    }

    /// Log lines after `after`.
    pub async fn run_logs(
        &self,
        id: &str,
        after: i64,
        item: Option<&str>,
        q: Option<&str>,
        stream: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Value>> {
        let mut rb = self
            .authed(Method::GET, &format!("/runs/{}/logs", encode_path(id)))?
            .query(&[("after", after), ("limit", limit)]);
        if let Some(i) = item {
            rb = rb.query(&[("item", i)]);
        }
        if let Some(q) = q {
            rb = rb.query(&[("q", q)]);
        }
        if let Some(s) = stream {
            rb = rb.query(&[("stream", s)]);
        }
        self.json(rb).await
    }

    // ---- globals, test logs, panic patterns ----

    /// A global: the run's view with `run`, else the caller's default.
    pub async fn global(&self, run: Option<&str>, path: &str) -> Result<Value> {
        let p = path.trim_start_matches('/');
        match run {
            Some(r) => {
                self.get(&format!("/runs/{}/globals/{}", encode_path(r), encode_path(p)))
                    .await
            }
            None => self.get(&format!("/globals/{}", encode_path(p))).await,
        }
    }

    /// Every global (the run's view with `run`).
    pub async fn globals(&self, run: Option<&str>) -> Result<Vec<Value>> {
        match run {
            Some(r) => self.get(&format!("/runs/{}/globals", encode_path(r))).await,
            None => self.get("/globals").await,
        }
    }

    /// Sets a global: for the rest of the run with `run`, else the caller's default.
    pub async fn set_global(&self, run: Option<&str>, path: &str, value: &str) -> Result<Value> {
        let p = path.trim_start_matches('/');
        let route = match run {
            Some(r) => format!("/runs/{}/globals/{}", encode_path(r), encode_path(p)),
            None => format!("/globals/{}", encode_path(p)),
        };
        self.call(Method::PUT, &route, &json!({ "value": value })).await
    }

    /// Deletes a default global (or a folder).
    pub async fn delete_global(&self, path: &str) -> Result<()> {
        let p = path.trim_start_matches('/');
        self.send(self.authed(Method::DELETE, &format!("/globals/{}", encode_path(p)))?)
            .await?;
        Ok(())
    }

    /// Appends a line to one of a run's logs (`kind`: test, running, debug, summary).
    pub async fn log_line(&self, run: &str, line: &str, kind: &str) -> Result<()> {
        let rb = self
            .authed(Method::POST, &format!("/runs/{}/log", encode_path(run)))?
            .json(&json!({ "line": line, "kind": kind }));
        self.send(rb).await?;
        Ok(())
    }

    /// The caller's panic-detect patterns.
    pub async fn panic_patterns(&self) -> Result<Vec<Value>> {
        self.get("/panic-patterns").await
    }

    /// Adds a pattern.
    pub async fn add_panic_pattern(&self, pattern: &str, enabled: bool) -> Result<Vec<Value>> {
        self.call(
            Method::POST,
            "/panic-patterns",
            &json!({ "pattern": pattern, "enabled": enabled }),
        )
        .await
    }

    /// Enables or disables a pattern.
    pub async fn set_panic_pattern(&self, id: i64, enabled: bool) -> Result<Vec<Value>> {
        self.call(
            Method::PATCH,
            &format!("/panic-patterns/{id}"),
            &json!({ "enabled": enabled }),
        )
        .await
    }

    /// Deletes a pattern.
    pub async fn delete_panic_pattern(&self, id: i64) -> Result<()> {
        self.send(self.authed(Method::DELETE, &format!("/panic-patterns/{id}"))?)
            .await?;
        Ok(())
    }

    // ---- audit ----

    /// Audit records, newest first.
    pub async fn audit(&self, f: &AuditFilter) -> Result<Vec<AuditEntry>> {
        let q = query_pairs(&[
            ("actor", f.actor.clone()),
            ("action", f.action.clone()),
            ("target", f.target.clone()),
            ("recursive", f.recursive.then(|| "true".to_string())),
            ("since", f.since.clone()),
            ("limit", f.limit.map(|l| l.to_string())),
        ]);
        self.json(self.authed(Method::GET, "/audit")?.query(&q)).await
    }
}

fn slash(p: &str) -> String {
    if p.starts_with('/') || p.starts_with('~') {
        if p.starts_with('~') {
            format!("/{p}")
        } else {
            p.to_string()
        }
    } else {
        format!("/{p}")
    }
}

async fn error_from(resp: Response) -> ClientError {
    let status = resp.status();
    let body = resp.bytes().await.unwrap_or_default();
    let parsed: Option<Value> = serde_json::from_slice(&body).ok();
    let err = parsed.as_ref().and_then(|v| v.get("error"));
    let code = err
        .and_then(|e| e.get("code"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| default_code(status).to_string());
    let message = err
        .and_then(|e| e.get("message"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| {
            let text = String::from_utf8_lossy(&body);
            let text = text.trim();
            if text.is_empty() {
                status.canonical_reason().unwrap_or("error").to_string()
            } else {
                text.chars().take(300).collect()
            }
        });
    ClientError::Api {
        status: status.as_u16(),
        code,
        message,
    }
}

fn default_code(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "bad_request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        409 => "conflict",
        _ => "error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_encoded_per_byte_but_keep_address_syntax() {
        assert_eq!(encode_path("/tb1/dev 1:ip"), "/tb1/dev%201:ip");
        assert_eq!(encode_path("/~ab12"), "/~ab12");
        assert_eq!(encode_path("/a?b#c%"), "/a%3Fb%23c%25");
        assert_eq!(encode_path("/é"), "/%C3%A9");
    }

    #[test]
    fn addresses_get_a_leading_slash() {
        assert_eq!(slash("tb1/dev"), "/tb1/dev");
        assert_eq!(slash("/tb1"), "/tb1");
        assert_eq!(slash("~ab12"), "/~ab12");
    }

    #[test]
    fn bad_urls_are_usage_errors() {
        let e = Client::new("ftp://x", None).unwrap_err();
        assert_eq!(e.exit_code(), crate::error::exit::USAGE);
        let e = Client::new("not a url", None).unwrap_err();
        assert_eq!(e.exit_code(), crate::error::exit::USAGE);
    }
}
