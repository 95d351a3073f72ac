//! The reports page in a real headless Chromium: after a real run saved its results, each chart type (pie,
//! bar, line) is drawn as SVG in the page, the table sorts, searches and pages, and a configured report shows
//! its SQLTotal percentages and its SQLCompare side by side.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use fantoccini::Locator;
use serde_json::json;
use twister_tests::browser::Browser;
use twister_tests::controller::ADMIN_PASSWORD;
use twister_tests::station::StationProcess;
use twister_tests::{tool_missing, Backend, TestController};

const T: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_chart_type_renders() {
    let tests = tempfile::tempdir().unwrap();
    let dir = tests.path().to_path_buf();
    std::fs::write(dir.join("ok.sh"), "echo fine\n").unwrap();
    std::fs::write(dir.join("bad.sh"), "echo broken >&2\nexit 1\n").unwrap();
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
    for (build, project) in [("b1", "first"), ("b2", "second")] {
        let (s, b) = admin
            .put(
                &format!("/projects/{project}"),
                json!({"name": project, "settings": {"db_autosave": true, "fields": {"build": build}},
                "suites": [{"name": "chassis", "eps": ["EP-1"], "tests": [
                {"file": "ok.sh", "repeat": 3}, {"file": "bad.sh", "optional": true}]}]}),
            )
            .await;
        assert_eq!(s, 201, "{b}");
        let (s, r) = admin.post("/runs", json!({"project": project})).await;
        assert_eq!(s, 201, "{r}");
        let id = r["id"].as_str().unwrap().to_string();
        let t0 = Instant::now();
        loop {
            let (_, r) = admin.get(&format!("/runs/{id}")).await;
            if r["state"] == "finished" {
                break;
            }
            assert!(t0.elapsed() < T, "run did not finish: {r}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let (s, b) = admin
        .put(
            "/reports/config",
            json!({
                "report_fields": [{"id": "Build", "kind": "UserText", "default": "b"}],
                "reports": [{
                    "id": "Pass share", "kind": "BarChart",
                    "sql_query": "SELECT build, COUNT(*) AS n FROM results WHERE status = 'pass' AND build LIKE '@Build@%' GROUP BY build ORDER BY build",
                    "sql_total": "SELECT build, COUNT(*) AS n FROM results WHERE build LIKE '@Build@%' GROUP BY build ORDER BY build",
                    "sql_compare": "SELECT build, COUNT(*) AS n FROM results WHERE status <> 'pass' AND build LIKE '@Build@%' GROUP BY build ORDER BY build"
                }],
                "redirects": [{"id": "goto Docs", "path": "https://example.invalid/docs"}]
            }),
        )
        .await;
    assert_eq!(s, 200, "{b}");

    let Some(browser) = Browser::start().await else {
        tool_missing("Chromium with chromedriver");
        return;
    };
    let b = &browser.client;
    browser.login(&c.url, "admin", ADMIN_PASSWORD, T).await;
    browser.wait_css("#nav-inventory.active", T).await;

    // The list: built-in and configured reports, and the redirect.
    b.find(Locator::Css("#nav-reports"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.wait_css("tr[data-report='flaky-tests']", T).await;
    browser.wait_css("tr[data-report='Pass share']", T).await;
    browser
        .wait_css(".redirect a[href='https://example.invalid/docs']", T)
        .await;

    // Pie: one slice per status.
    b.goto(&format!("{}/#/reports/status-breakdown", c.url))
        .await
        .unwrap();
    browser.wait_css("svg.chart.pie .slice", T).await;
    let slices = b.find_all(Locator::Css("svg.chart.pie .slice")).await.unwrap();
    assert_eq!(slices.len(), 2);

    // Bar: one bar per build.
    b.goto(&format!("{}/#/reports/pass-rate-per-build", c.url))
        .await
        .unwrap();
    browser.wait_css("svg.chart.bar rect.bar", T).await;
    assert_eq!(
        b.find_all(Locator::Css("svg.chart.bar rect.bar"))
            .await
            .unwrap()
            .len(),
        2
    );

    // Line: the history of one test (its field is a select filled from the results).
    b.goto(&format!("{}/#/reports/test-history", c.url))
        .await
        .unwrap();
    browser
        .wait_css("select[data-field='Test'] option[value='ok.sh']", T)
        .await;
    browser.wait_css("svg.chart.line polyline.line", T).await;
    // Each row links to its run's monitor and downloads the test's packets as pcapng.
    browser.wait_css("#report-table td a[href^='#/runs/']", T).await;
    browser
        .click_css("#report-table button[data-role='packets']", T)
        .await;
    let bytes = browser
        .wait_attr_set("#report-table button[data-role='packets']", "data-bytes", T)
        .await;
    assert!(bytes.parse::<u64>().unwrap() > 0, "an empty pcapng download");

    // Table: sort, search, paging.
    b.goto(&format!("{}/#/reports/run-summary", c.url)).await.unwrap();
    browser.wait_css("#report-table tbody tr", T).await;
    let info = b
        .find(Locator::Css("#report-table [data-role='info']"))
        .await
        .unwrap();
    assert!(info.text().await.unwrap().starts_with("2 rows"));
    browser.click_css("#report-table th[data-col='build']", T).await;
    browser.click_css("#report-table th[data-col='build']", T).await;
    browser
        .wait_css("#report-table th.desc[data-col='build']", T)
        .await;
    b.find(Locator::Css("#report-table [data-role='search']"))
        .await
        .unwrap()
        .send_keys("second")
        .await
        .unwrap();
    let deadline = Instant::now() + T;
    loop {
        let text = b
            .find(Locator::Css("#report-table [data-role='info']"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if text.starts_with("1 rows") {
            break;
        }
        assert!(Instant::now() < deadline, "search did not filter: {text}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Configured: percentages of the totals, and the comparison side by side.
    b.goto(&format!("{}/#/reports/Pass%20share", c.url))
        .await
        .unwrap();
    browser.wait_css("#report-percent tbody tr", T).await;
    browser.wait_css(".side-by-side #report-compare-table", T).await;
    let pct = b
        .find(Locator::Css("#report-percent tbody tr td:nth-child(2)"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(pct, "75");
    assert_eq!(b.find_all(Locator::Css("svg.chart.bar")).await.unwrap().len(), 2);

    // The configuration, edited in the page: an error from the API shows, a good edit is stored (the new
    // report is listed) and an original db.xml replaces it, with its notes.
    b.goto(&format!("{}/#/reports", c.url)).await.unwrap();
    browser.click_css("#report-configure", T).await;
    browser
        .wait_text("#report-config-status", "Stored: version 1", T)
        .await;
    let text = b
        .find(Locator::Css("#report-config-json"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap();
    let mut doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["reports"][0]["id"], "Pass share", "{doc}");
    let set_text = |v: String| {
        let b = b.clone();
        async move {
            b.execute(
                "document.getElementById('report-config-json').value = arguments[0];",
                vec![json!(v)],
            )
            .await
            .unwrap();
        }
    };
    set_text("{ not json".into()).await;
    browser.click_css("#report-config-save", T).await;
    browser
        .wait_text("#report-config-error", "Not valid JSON", T)
        .await;
    doc["reports"][0]["sql_query"] = json!("SELECT 'never closed");
    set_text(doc.to_string()).await;
    browser.click_css("#report-config-save", T).await;
    browser.wait_text("#report-config-error", "Pass share", T).await;
    doc["reports"][0]["sql_query"] = json!("SELECT status, COUNT(*) AS n FROM results GROUP BY status");
    doc["reports"][0]["id"] = json!("By status");
    set_text(doc.to_string()).await;
    browser.click_css("#report-config-save", T).await;
    browser
        .wait_text("#report-config-status", "Saved: version 2", T)
        .await;
    let (_, cfg) = admin.get("/reports/config").await;
    assert_eq!(cfg["config"]["reports"][0]["id"], "By status", "{cfg}");

    let xml = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        xml.path(),
        r#"<?xml version="1.0"?><root><field_section>
        <field ID="build" Type="UserText" SQLQuery="" Label="Build" GUIDefined="true" Mandatory="false" />
        </field_section><reports_section>
        <report ID="Imported" Type="Table" SQLQuery="SELECT build FROM results" />
        </reports_section></root>"#,
    )
    .unwrap();
    b.find(Locator::Css("#report-config-dbxml"))
        .await
        .unwrap()
        .send_keys(&xml.path().display().to_string())
        .await
        .unwrap();
    browser
        .wait_text("#report-config-status", "Imported db.xml: version 3", T)
        .await;
    let (_, cfg) = admin.get("/reports/config").await;
    assert_eq!(cfg["config"]["reports"][0]["id"], "Imported", "{cfg}");
    browser.close().await;
    c.stop().await;
}
