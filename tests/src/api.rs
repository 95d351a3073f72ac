//! A small JSON API client for tests: every call returns the status and the parsed body.

use serde_json::Value;

/// A client bound to a controller URL and a token.
#[derive(Clone)]
pub struct Api {
    /// Base URL.
    pub url: String,
    /// Bearer token.
    pub token: Option<String>,
    client: reqwest::Client,
}

impl Api {
    /// A client without a token.
    pub fn anonymous(url: &str) -> Api {
        Api {
            url: url.to_string(),
            token: None,
            client: reqwest::Client::new(),
        }
    }

    /// A client with a token.
    pub fn with_token(url: &str, token: &str) -> Api {
        Api {
            url: url.to_string(),
            token: Some(token.to_string()),
            client: reqwest::Client::new(),
        }
    }

    /// Logs in and returns a client with the session token; panics on failure.
    pub async fn login(url: &str, user: &str, password: &str) -> Api {
        Api::login_with(reqwest::Client::new(), url, user, password).await
    }

    /// Like [`Api::login`], over a given HTTP client (e.g. one that trusts a test CA).
    pub async fn login_with(client: reqwest::Client, url: &str, user: &str, password: &str) -> Api {
        let anon = Api {
            url: url.to_string(),
            token: None,
            client: client.clone(),
        };
        let (status, body) = anon
            .post(
                "/auth/login",
                serde_json::json!({"username": user, "password": password}),
            )
            .await;
        assert_eq!(status, 200, "login {user}: {body}");
        Api {
            url: url.to_string(),
            token: Some(body["token"].as_str().expect("token").to_string()),
            client,
        }
    }

    /// Sends a request with optional JSON body and extra headers; returns status, headers and body.
    /// Panics when the controller cannot be reached (see [`Api::try_send`]).
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        self.try_send(method, path, body, headers)
            .await
            .expect("request sent")
    }

    /// Like [`Api::send`], but a transport failure (controller gone) is an `Err`.
    pub async fn try_send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Result<(u16, reqwest::header::HeaderMap, Value), reqwest::Error> {
        let mut req = self.client.request(method, format!("{}/api/v1{path}", self.url));
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await?;
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Ok((status, headers, value))
    }

    /// PUT of an XML document (the original Twister's files: db.xml, projects); status and the JSON answer.
    pub async fn put_xml(&self, path: &str, xml: &str) -> (u16, Value) {
        let mut req = self
            .client
            .put(format!("{}/api/v1{path}", self.url))
            .header(reqwest::header::CONTENT_TYPE, "application/xml")
            .body(xml.to_string());
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.expect("request sent");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    /// Opens a WebSocket on `path` (under `/api/v1`, query included) with this client's token in the
    /// `Authorization` header; panics when the upgrade fails.
    pub async fn websocket(
        &self,
        path: &str,
    ) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let url = format!("{}/api/v1{path}", self.url.replacen("http", "ws", 1));
        let mut req = url.into_client_request().expect("a WebSocket URL");
        if let Some(t) = &self.token {
            req.headers_mut().insert(
                "authorization",
                format!("Bearer {t}").parse().expect("a header value"),
            );
        }
        tokio_tungstenite::connect_async(req)
            .await
            .unwrap_or_else(|e| panic!("WebSocket {path}: {e}"))
            .0
    }

    /// GET of a file: status, content type and the raw bytes.
    pub async fn get_bytes(&self, path: &str) -> (u16, String, Vec<u8>) {
        let mut req = self.client.get(format!("{}/api/v1{path}", self.url));
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.expect("request sent");
        let status = resp.status().as_u16();
        let kind = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        (status, kind, resp.bytes().await.expect("body").to_vec())
    }

    /// GET.
    pub async fn get(&self, path: &str) -> (u16, Value) {
        let (s, _, b) = self.send(reqwest::Method::GET, path, None, &[]).await;
        (s, b)
    }

    /// POST with a JSON body.
    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let (s, _, b) = self.send(reqwest::Method::POST, path, Some(body), &[]).await;
        (s, b)
    }

    /// PUT with a JSON body.
    pub async fn put(&self, path: &str, body: Value) -> (u16, Value) {
        let (s, _, b) = self.send(reqwest::Method::PUT, path, Some(body), &[]).await;
        (s, b)
    }

    /// DELETE.
    pub async fn delete(&self, path: &str) -> (u16, Value) {
        let (s, _, b) = self.send(reqwest::Method::DELETE, path, None, &[]).await;
        (s, b)
    }

    /// PATCH with a JSON body.
    pub async fn patch(&self, path: &str, body: Value) -> (u16, Value) {
        let (s, _, b) = self.send(reqwest::Method::PATCH, path, Some(body), &[]).await;
        (s, b)
    }

    /// Reserves `path` for `seconds`; returns status and body.
    pub async fn reserve(&self, path: &str, seconds: u64, wait: bool) -> (u16, Value) {
        self.post(
            "/reservations",
            serde_json::json!({"path": path, "duration_s": seconds, "wait": wait}),
        )
        .await
    }
}
