//! The operations pages in a real headless Chromium: Services (start a service, see it running and its log),
//! Schedules (add one through the form, see it listed), and the mail settings on the Settings page.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use fantoccini::Locator;
use serde_json::json;
use twister_tests::browser::Browser;
use twister_tests::controller::ADMIN_PASSWORD;
use twister_tests::{tool_missing, Backend, TestController};

const T: Duration = Duration::from_secs(15);

async fn wait_text(b: &fantoccini::Client, css: &str, needle: &str) {
    let deadline = tokio::time::Instant::now() + T;
    loop {
        if let Ok(e) = b.find(Locator::Css(css)).await {
            if e.text().await.unwrap_or_default().contains(needle) {
                return;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{css} never showed {needle:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_schedules_and_mail_pages() {
    let c = TestController::start(&Backend {
        name: "sqlite",
        url: String::new(),
    })
    .await;
    let admin = c.admin().await;
    let (s, v) = admin
        .put(
            "/services/echoer",
            json!({"command": "bash", "args": ["-c", "echo hello-from-echoer; exec sleep 300"],
                "description": "says hello"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    admin.put("/projects/p", json!({"name": "p", "suites": []})).await;
    let Some(browser) = Browser::start().await else {
        tool_missing("Chromium with chromedriver");
        return;
    };
    let b = &browser.client;
    browser.login(&c.url, "admin", ADMIN_PASSWORD, T).await;
    browser.wait_css("#nav-inventory.active", T).await;

    // Services: start from the page; the state and the log show.
    browser.wait_css("#nav-services", T).await.click().await.unwrap();
    wait_text(b, "#service-echoer", "stopped").await;
    b.find(Locator::Css("#service-echoer .btn-start"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(b, "#service-echoer", "running").await;
    b.find(Locator::Css("#service-echoer a"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(b, "#service-log", "hello-from-echoer").await;
    let (_, v) = admin.get("/services/echoer").await;
    assert_eq!(v["status"]["state"], "running");

    // Schedules: add through the form.
    browser.wait_css("#nav-schedules", T).await.click().await.unwrap();
    browser
        .wait_css("#sched-name", T)
        .await
        .send_keys("nightly")
        .await
        .unwrap();
    b.find(Locator::Css("#sched-cron"))
        .await
        .unwrap()
        .send_keys("0 2 * * *")
        .await
        .unwrap();
    let tz = b.find(Locator::Css("#sched-tz")).await.unwrap();
    tz.clear().await.unwrap();
    tz.send_keys("UTC").await.unwrap();
    b.find(Locator::Css("#sched-project"))
        .await
        .unwrap()
        .send_keys("p")
        .await
        .unwrap();
    b.find(Locator::Css("#btn-sched-add"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(b, "#schedule-nightly", "0 2 * * *").await;
    let (_, v) = admin.get("/schedules/nightly").await;
    assert_eq!(v["timezone"], "UTC");

    // Settings: the mail form saves through the API.
    browser.wait_css("#nav-settings", T).await.click().await.unwrap();
    let host = browser.wait_css("#mail-form input[name=host]", T).await;
    host.send_keys("smtp.lab.example").await.unwrap();
    b.find(Locator::Css("#btn-mail-save"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + T;
    loop {
        let (_, m) = admin.get("/settings/mail").await;
        if m["host"] == "smtp.lab.example" {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "mail settings not saved: {m}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    browser.close().await;
    c.stop().await;
}
