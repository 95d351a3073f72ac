//! The run monitor in a real headless Chromium: the stations page shows a live station, the projects page
//! starts a run, and the monitor shows every test turning to its final status live, with elapsed times, the
//! log of one test, a search in the log, and the stop button.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use fantoccini::Locator;
use serde_json::json;
use twister_tests::browser::Browser;
use twister_tests::controller::ADMIN_PASSWORD;
use twister_tests::station::StationProcess;
use twister_tests::{tool_missing, Backend, TestController};

const T: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn start_a_project_and_watch_it_live() {
    let tests = tempfile::tempdir().unwrap();
    let dir = tests.path().to_path_buf();
    std::fs::write(
        dir.join("ok.sh"),
        "echo checking the fan tray\nsleep 1\necho fan tray ok\n",
    )
    .unwrap();
    std::fs::write(dir.join("bad.sh"), "echo 'link flap on port 7' >&2\nexit 1\n").unwrap();
    std::fs::write(dir.join("long.sh"), "echo soak started\nsleep 60\n").unwrap();
    let c = TestController::start_with(
        &Backend {
            name: "sqlite",
            url: String::new(),
        },
        move |cfg| {
            cfg.tests_dir = Some(dir);
        },
    )
    .await;
    let admin = c.admin().await;
    let _ws = StationProcess::start(&admin, "bench1", &["EP-1"]).await;
    let (s, b) = admin
        .put(
            "/projects/nightly",
            json!({"name": "nightly", "suites": [{"name": "chassis", "eps": ["EP-1"], "tests": [
            {"file": "ok.sh"}, {"file": "bad.sh", "optional": true}, {"file": "long.sh"}]}]}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let Some(browser) = Browser::start().await else {
        tool_missing("Chromium with chromedriver");
        return;
    };
    let b = &browser.client;
    browser.login(&c.url, "admin", ADMIN_PASSWORD, T).await;
    browser.wait_css("#tree", T).await;

    // Stations: the bench is online, with its EP.
    b.goto(&format!("{}/#/stations", c.url)).await.unwrap();
    browser
        .wait_attr(".station[data-station='bench1']", "data-online", "true", T)
        .await;
    let row = b
        .find(Locator::Css(".station[data-station='bench1']"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(row.contains("EP-1"), "{row}");

    // Projects: start the run from the browser; the monitor opens.
    b.goto(&format!("{}/#/projects", c.url)).await.unwrap();
    browser
        .wait_css("tr[data-project='nightly'] .btn-start", T)
        .await
        .click()
        .await
        .unwrap();
    browser.wait_css("#run-tree", T).await;
    browser
        .wait_attr(".item[data-item='s1.t1']", "data-status", "pass", T)
        .await;
    browser
        .wait_attr(".item[data-item='s1.t2']", "data-status", "fail", T)
        .await;
    browser
        .wait_attr(".item[data-item='s1.t3']", "data-status", "running", T)
        .await;
    let elapsed = b
        .find(Locator::Css(".item[data-item='s1.t1'] .elapsed"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(elapsed.ends_with('s'), "elapsed time shown: {elapsed:?}");

    // The log streams live; one test's log on click; a search narrows it.
    // Waits until the pane shows `needle` and not `absent`.
    let wait_log = |needle: &'static str, absent: &'static str| async move {
        let deadline = tokio::time::Instant::now() + T;
        loop {
            let text = b
                .find(Locator::Css("#log-pane"))
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            if text.contains(needle) && !text.contains(absent) {
                return text;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "log never showed {needle:?} without {absent:?}: {text}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    wait_log("soak started", "\u{0}").await;
    // One test's segment: its lines only.
    b.find(Locator::Css(".item[data-item='s1.t2']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_log("link flap on port 7", "fan tray").await;
    // The test's packets download as pcapng through the capture API (this station has no sniffer: a file with
    // its section and no packet blocks, whose size the page records).
    b.find(Locator::Css("#btn-packets"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let n = browser.wait_attr_set("#btn-packets", "data-bytes", T).await;
    assert!(
        n.parse::<u64>().expect("a size") >= 28,
        "a pcapng section header at least: {n}"
    );
    b.find(Locator::Css(".item[data-item='s1.t2']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_log("soak started", "\u{0}").await;
    // A search narrows the whole log.
    b.find(Locator::Css("#log-search"))
        .await
        .unwrap()
        .send_keys("fan tray ok")
        .await
        .unwrap();
    wait_log("fan tray ok", "soak started").await;

    // Stop from the browser: the long test is aborted and the run ends.
    b.find(Locator::Css("#btn-stop"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.wait_attr("#run-state", "data-state", "finished", T).await;
    browser
        .wait_attr(".item[data-item='s1.t3']", "data-status", "aborted", T)
        .await;
    browser
        .wait_attr("#run-status", "data-status", "aborted", T)
        .await;
    browser.close().await;
    c.stop().await;
}
