//! The web UI in a real headless Chromium: login → inventory tree → reserve → the status changes; and a
//! reservation made by someone else through the API shows up live, without a reload.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use fantoccini::Locator;
use serde_json::json;
use twister_tests::browser::Browser;
use twister_tests::controller::ADMIN_PASSWORD;
use twister_tests::{tool_missing, Backend, TestController};

const T: Duration = Duration::from_secs(15);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_tree_reserve_and_live_updates() {
    let c = TestController::start(&Backend {
        name: "sqlite",
        url: String::new(),
    })
    .await;
    let admin = c.admin().await;
    for p in ["/tb1/dev1", "/tb1/dev2", "/tb2/phone1"] {
        admin
            .put(
                &format!("/resources{p}"),
                json!({"properties": {"ip": "192.0.2.10", "password": "hidden-pw"}}),
            )
            .await;
    }
    let bob = c.user("bob", "engineer").await;
    let Some(browser) = Browser::start().await else {
        tool_missing("Chromium with chromedriver");
        return;
    };
    let b = &browser.client;

    // A wrong password is refused with a message.
    browser.login(&c.url, "admin", "wrong-password", T).await;
    let deadline = tokio::time::Instant::now() + T;
    loop {
        let text = b
            .find(Locator::Css("#login-error"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if text.contains("wrong user name or password") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no login error shown (got {text:?})"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let pw = b.find(Locator::Css("#login-password")).await.unwrap();
    pw.clear().await.unwrap();
    pw.send_keys(ADMIN_PASSWORD).await.unwrap();
    b.find(Locator::Css("#login-submit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();

    // The shell with its navigation, and the tree.
    browser.wait_css("#nav-inventory.active", T).await;
    for nav in ["#nav-runs", "#nav-packets", "#nav-reports", "#nav-settings"] {
        b.find(Locator::Css(nav)).await.unwrap();
    }
    browser.wait_attr("#live-state", "data-state", "live", T).await;
    browser
        .wait_css(r#".row[data-path="/tb1"]"#, T)
        .await
        .click()
        .await
        .unwrap();
    browser.wait_attr("#node-status", "data-status", "free", T).await;
    let title = browser.text_css("#node-title", T).await;
    assert_eq!(title, "/tb1");
    // Children appear when the node is opened.
    browser
        .wait_css(r#".row[data-path="/tb1/dev1"]"#, T)
        .await
        .click()
        .await
        .unwrap();
    browser.wait_attr("#node-title", "id", "node-title", T).await;
    let props = browser.wait_css("#props", T).await.text().await.unwrap();
    assert!(props.contains("192.0.2.10"), "{props}");
    assert!(!props.contains("hidden-pw"), "secret shown in the UI: {props}");
    assert!(props.contains("password"), "secret name listed: {props}");

    // Reserve /tb1 from the UI: the status turns to reserved, and the API agrees.
    browser
        .wait_css(r#".row[data-path="/tb1"]"#, T)
        .await
        .click()
        .await
        .unwrap();
    browser.wait_attr("#node-status", "data-status", "free", T).await;
    browser.click_css("#btn-reserve", T).await;
    browser
        .wait_attr("#node-status", "data-status", "reserved", T)
        .await;
    let status = browser.text_css("#node-status", T).await;
    assert!(status.contains("admin"), "{status}");
    let (_, n) = admin.get("/resources/tb1").await;
    assert_eq!(
        (n["status"].clone(), n["reserved_by"].clone()),
        (json!("reserved"), json!("admin"))
    );
    browser
        .wait_attr(r#".row[data-path="/tb1"]"#, "data-status", "reserved", T)
        .await;

    // Someone else reserves /tb2 through the API: the tree shows it live.
    browser
        .wait_attr(r#".row[data-path="/tb2"]"#, "data-status", "free", T)
        .await;
    let (s, r) = bob.reserve("/tb2", 600, false).await;
    assert_eq!(s, 201, "{r}");
    browser
        .wait_attr(r#".row[data-path="/tb2"]"#, "data-status", "reserved", T)
        .await;

    // Release from the UI.
    browser.click_css("#btn-release", T).await;
    browser.wait_attr("#node-status", "data-status", "free", T).await;
    let (_, n) = admin.get("/resources/tb1").await;
    assert_eq!(n["status"], "free");

    if let Ok(dir) = std::env::var("TWISTER_SCREENSHOT_DIR") {
        let png = b.screenshot().await.unwrap();
        std::fs::write(std::path::Path::new(&dir).join("inventory.png"), png).unwrap();
    }
    browser.close().await;
    c.stop().await;
}
