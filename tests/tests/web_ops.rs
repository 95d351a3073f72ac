//! The operations pages in a real headless Chromium: Services (start a service, see it running and its log),
//! Schedules (add one through the form, see it listed), the mail settings on the Settings page, and Webhooks
//! (add one through the form, ping a real receiver, see the signed delivery in the page's log).

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use fantoccini::Locator;
use serde_json::json;
use twister_tests::browser::Browser;
use twister_tests::controller::ADMIN_PASSWORD;
use twister_tests::webhook_receiver::{verify, Receiver};
use twister_tests::{tool_missing, Backend, TestController};

const T: Duration = Duration::from_secs(15);

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
    browser.wait_text("#service-echoer", "stopped", T).await;
    b.find(Locator::Css("#service-echoer .btn-start"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.wait_text("#service-echoer", "running", T).await;
    b.find(Locator::Css("#service-echoer a"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.wait_text("#service-log", "hello-from-echoer", T).await;
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
    browser.wait_text("#schedule-nightly", "0 2 * * *", T).await;
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

/// The number of rows in the Webhooks page's delivery log whose text has every one of `needles`.
async fn delivery_rows_with(b: &fantoccini::Client, needles: &[&str]) -> usize {
    let mut n = 0;
    for row in b
        .find_all(Locator::Css("#webhook-deliveries tr.delivery"))
        .await
        .unwrap_or_default()
    {
        let text = row.text().await.unwrap_or_default();
        if needles.iter().all(|x| text.contains(x)) {
            n += 1;
        }
    }
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_page_creates_pings_and_shows_the_log() {
    let c = TestController::start(&Backend {
        name: "sqlite",
        url: String::new(),
    })
    .await;
    let admin = c.admin().await;
    let (receiver, addr) = Receiver::start(0).await;
    let Some(browser) = Browser::start().await else {
        tool_missing("Chromium with chromedriver");
        return;
    };
    let b = &browser.client;
    browser.login(&c.url, "admin", ADMIN_PASSWORD, T).await;
    browser.click_css("#nav-webhooks", T).await;

    // An API error shows in the page: a secret that is too short.
    let url = format!("http://{addr}/hook");
    let secret = "page-made-signing-secret";
    browser
        .wait_css("#hook-url", T)
        .await
        .send_keys(&url)
        .await
        .unwrap();
    browser
        .wait_css("#hook-events", T)
        .await
        .send_keys("run.*, ping")
        .await
        .unwrap();
    browser
        .wait_css("#hook-secret", T)
        .await
        .send_keys("short")
        .await
        .unwrap();
    browser.click_css("#btn-hook-save", T).await;
    browser
        .wait_text("#webhook-error", "16 to 512 characters", T)
        .await;
    assert_eq!(admin.get("/webhooks").await.1, json!([]));

    // Created from the form; the secret is not shown back, neither in the page nor by the API.
    let field = browser.wait_css("#hook-secret", T).await;
    field.clear().await.unwrap();
    field.send_keys(secret).await.unwrap();
    browser.click_css("#btn-hook-save", T).await;
    let deadline = tokio::time::Instant::now() + T;
    let hook = loop {
        let (_, list) = admin.get("/webhooks").await;
        if let Some(h) = list.as_array().and_then(|l| l.first()) {
            break h.clone();
        }
        assert!(tokio::time::Instant::now() < deadline, "no webhook made");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(hook["url"], url.as_str());
    assert_eq!(hook["events"], json!(["run.*", "ping"]));
    assert!(hook.get("secret").is_none(), "{hook}");
    let id = hook["id"].as_str().unwrap().to_string();
    let row = format!("#webhook-{id}");
    browser.wait_text(&row, "never", T).await;
    let page = b.source().await.unwrap();
    assert!(!page.contains(secret), "the secret is shown in the page");

    // A ping from the page reaches the receiver, correctly signed with the secret typed in the form.
    browser.click_css(&format!("{row} .btn-ping"), T).await;
    let deadline = tokio::time::Instant::now() + T;
    while receiver.requests().is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "no ping received");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let got = receiver.requests();
    assert_eq!(got.len(), 1);
    let body = verify(&got[0], secret);
    assert_eq!(body["event"], "ping");
    assert_eq!(body["data"]["user"], "admin");
    let delivery = body["id"].as_str().unwrap().to_string();

    // The delivery shows in the page's log (the ping selects its hook) and as the hook's last delivery.
    let deadline = tokio::time::Instant::now() + T;
    while delivery_rows_with(b, &[&delivery, "ping", "204", "ok"]).await != 1 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "delivery {delivery} never showed in the page's log"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    browser.wait_text(&format!("{row} .hook-last"), "ok 204", T).await;

    // Disable from the page.
    browser.click_css(&format!("{row} .btn-toggle"), T).await;
    browser.wait_text(&format!("{row} .hook-enabled"), "no", T).await;
    assert_eq!(admin.get(&format!("/webhooks/{id}")).await.1["enabled"], false);

    // An engineer has no Webhooks page: no menu entry, and its address shows the inventory instead.
    c.user("eng", "engineer").await;
    browser.click_css("#logout", T).await;
    // Signing out finishes (the session is gone) before the next login loads the page afresh.
    browser.wait_css("#login-username", T).await;
    browser.login(&c.url, "eng", "eng-password", T).await;
    browser.wait_css("#nav-inventory.active", T).await;
    // A full load of another address, so that the check below sees what the router made of #/webhooks.
    b.goto(&format!("{}/ui/direct#/webhooks", c.url)).await.unwrap();
    browser.wait_css("#nav-inventory.active", T).await;
    assert!(b.find(Locator::Css("#nav-webhooks")).await.is_err());
    assert!(b.find(Locator::Css("#webhook-form")).await.is_err());
    browser.close().await;
    c.stop().await;
}
