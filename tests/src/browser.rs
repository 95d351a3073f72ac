//! Headless Chromium driven over WebDriver (Debian's chromium and chromium-driver).

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};

/// A running chromedriver with one browser session.
pub struct Browser {
    /// The WebDriver session.
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

fn find(candidates: &[&str]) -> Option<String> {
    candidates
        .iter()
        .find(|p| std::path::Path::new(p).exists())
        .map(|p| p.to_string())
}

impl Browser {
    /// Starts chromedriver and a headless Chromium; `None` when they are not installed.
    pub async fn start() -> Option<Browser> {
        let driver_bin = find(&["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"])?;
        let chrome_bin = find(&[
            "/usr/bin/chromium",
            "/usr/bin/chromium-browser",
            "/usr/bin/google-chrome",
        ])?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        // Its own process group, so that the browsers it starts die with it even if the test panics.
        let driver = Command::new(driver_bin)
            .process_group(0)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let profile = tempfile::tempdir().ok()?;
        let args = vec![
            "--headless=new".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--window-size=1280,900".into(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({"binary": chrome_bin, "args": args}),
        );
        let url = format!("http://127.0.0.1:{port}");
        let mut last_err = String::new();
        for _ in 0..100 {
            match ClientBuilder::native()
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(client) => {
                    return Some(Browser {
                        client,
                        driver,
                        _profile: profile,
                    })
                }
                Err(e) => last_err = e.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        eprintln!("cannot start a WebDriver session: {last_err}");
        None
    }

    /// Opens the web UI at `base_url` and submits its login form with `user` and `password` (the caller waits
    /// for whatever page it expects next: a failed login stays on the form).
    pub async fn login(&self, base_url: &str, user: &str, password: &str, timeout: Duration) {
        self.client.goto(&format!("{base_url}/")).await.unwrap();
        self.wait_css("#login-username", timeout)
            .await
            .send_keys(user)
            .await
            .unwrap();
        self.wait_css("#login-password", timeout)
            .await
            .send_keys(password)
            .await
            .unwrap();
        self.click_css("#login-submit", timeout).await;
    }

    /// Waits for an element matching the CSS selector.
    pub async fn wait_css(&self, css: &str, timeout: Duration) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(timeout)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("element {css} did not appear within {timeout:?}: {e}"))
    }

    /// Clicks the element matching `css`, finding it again when the page re-rendered it between the find and
    /// the click (a stale element), until `timeout`.
    pub async fn click_css(&self, css: &str, timeout: Duration) {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let e = self.wait_css(css, timeout).await;
            match e.click().await {
                Ok(_) => return,
                Err(_) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(err) => panic!("cannot click {css} within {timeout:?}: {err}"),
            }
        }
    }

    /// The text of the element matching `css`, found again when the page re-rendered it between the find and
    /// the read (a stale element), until `timeout`.
    pub async fn text_css(&self, css: &str, timeout: Duration) -> String {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let e = self.wait_css(css, timeout).await;
            match e.text().await {
                Ok(t) => return t,
                Err(_) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(err) => panic!("cannot read the text of {css} within {timeout:?}: {err}"),
            }
        }
    }

    /// Waits until the text of the element matching `css` contains `part`.
    pub async fn wait_text(&self, css: &str, part: &str, timeout: Duration) {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut last = String::new();
        loop {
            if let Ok(e) = self.client.find(Locator::Css(css)).await {
                last = e.text().await.unwrap_or_default();
                if last.contains(part) {
                    return;
                }
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{css} never showed {part:?} within {timeout:?} (last: {last:?})"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the element matching `css` has attribute `attr` at all, and returns its value.
    pub async fn wait_attr_set(&self, css: &str, attr: &str, timeout: Duration) -> String {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Ok(e) = self.client.find(Locator::Css(css)).await {
                if let Ok(Some(v)) = e.attr(attr).await {
                    return v;
                }
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{css}[{attr}] was not set within {timeout:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the element matching `css` has attribute `attr` equal to `value`.
    pub async fn wait_attr(&self, css: &str, attr: &str, value: &str, timeout: Duration) {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut last = None;
        while tokio::time::Instant::now() < deadline {
            if let Ok(e) = self.client.find(Locator::Css(css)).await {
                if let Ok(v) = e.attr(attr).await {
                    if v.as_deref() == Some(value) {
                        return;
                    }
                    last = v;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{css}[{attr}] did not become {value:?} within {timeout:?} (last: {last:?})");
    }

    /// Ends the session and chromedriver.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }

    fn kill_group(&mut self) {
        // The group id is chromedriver's pid (process_group(0) above).
        unsafe {
            libc::kill(-(self.driver.id() as i32), libc::SIGKILL);
        }
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.kill_group();
    }
}
