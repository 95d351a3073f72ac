//! Packet capture end to end: a real station process sniffing loopback sends its packets to a real
//! controller; the packet list with display filters, the decoded detail, the live WebSocket (server-side
//! filter, pause), pcapng downloads that tshark reads, and remote capture-filter changes. Needs root for the
//! sniffer (skips outside CI without it).

#![allow(clippy::unwrap_used)]

use std::net::UdpSocket;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;
use twister_tests::station::StationProcess;
use twister_tests::{tool_missing, Api, Backend, TestController};

fn root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn send_udp(port: u16, count: usize) {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    for i in 0..count {
        s.send_to(format!("twister capture {i}").as_bytes(), ("127.0.0.1", port))
            .unwrap();
    }
}

/// Polls `path` until `pred` holds on the JSON (15 s at most).
async fn until(api: &Api, path: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    for _ in 0..300 {
        let (s, v) = api.get(path).await;
        if s == 200 && pred(&v) {
            return v;
        }
        last = v;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{path}: condition not met; last {last}");
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn download(api: &Api, path: &str) -> Vec<u8> {
    let (status, kind, bytes) = api.get_bytes(path).await;
    assert_eq!(status, 200, "{path}");
    assert_eq!(kind, "application/x-pcapng");
    bytes
}

/// Packets tshark reads from a pcapng, after checking it reports no problem.
fn tshark_count(bytes: &[u8]) -> usize {
    let f = tempfile::Builder::new().suffix(".pcapng").tempfile().unwrap();
    std::fs::write(f.path(), bytes).unwrap();
    let out = std::process::Command::new("tshark")
        .arg("-n")
        .arg("-r")
        .arg(f.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "tshark: {stderr}");
    let complaints: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.contains("could be dangerous"))
        .collect();
    assert!(complaints.is_empty(), "tshark: {stderr}");
    String::from_utf8_lossy(&out.stdout).lines().count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn station_packets_list_detail_live_and_pcapng() {
    if !root() {
        tool_missing("root (the sniffer captures on loopback)");
        return;
    }
    if std::process::Command::new("tshark").arg("-v").output().is_err() {
        tool_missing("tshark");
        return;
    }
    let c = TestController::start(&Backend {
        name: "sqlite",
        url: String::new(),
    })
    .await;
    let admin = c.admin().await;
    let sink = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = sink.local_addr().unwrap().port();
    let sink2 = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port2 = sink2.local_addr().unwrap().port();
    let toml = format!(
        "[capture]\ninterfaces = [\"lo\"]\nfilter = \"udp port {port} or udp port {port2}\"\nbatch_ms = 20\n"
    );
    let _st = StationProcess::start_with_config(&admin, "sniff1", &["EP-sniff"], &toml).await;

    // The sniffer reports itself running, with its filter.
    let v = until(&admin, "/capture/stations", |v| {
        v.as_array()
            .is_some_and(|a| a.iter().any(|s| s["station"] == "sniff1" && s["error"].is_null()))
    })
    .await;
    assert_eq!(v[0]["filter"], format!("udp port {port} or udp port {port2}"));

    // A live subscriber with a server-side display filter.
    let mut ws = admin
        .websocket(&format!(
            "/capture/live?station=sniff1&filter={}",
            enc(&format!("udp.dstport == {port}"))
        ))
        .await;
    let hello: Value = match ws.next().await.unwrap().unwrap() {
        Message::Text(t) => serde_json::from_str(t.as_str()).unwrap(),
        other => panic!("{other:?}"),
    };
    assert_eq!(hello["kind"], "hello");

    send_udp(port, 40);
    send_udp(port2, 10);

    let mut live_rows = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while live_rows.len() < 40 {
        let m = tokio::time::timeout_at(deadline, ws.next())
            .await
            .expect("live rows")
            .unwrap()
            .unwrap();
        if let Message::Text(t) = m {
            let v: Value = serde_json::from_str(t.as_str()).unwrap();
            if v["kind"] == "packets" {
                live_rows.extend(v["packets"].as_array().unwrap().clone());
            }
        }
    }
    assert_eq!(live_rows.len(), 40, "the display filter is applied on the server");
    assert!(live_rows
        .iter()
        .all(|r| r["protocol"] == "UDP" && r["station"] == "sniff1"));
    assert_eq!(live_rows[0]["interface"], "lo");

    // Pause: nothing more arrives; a bad filter is refused with its position; resume with a new filter.
    ws.send(Message::text(r#"{"paused":true}"#)).await.unwrap();
    let ack: Value = loop {
        if let Message::Text(t) = ws.next().await.unwrap().unwrap() {
            let v: Value = serde_json::from_str(t.as_str()).unwrap();
            if v["kind"] == "paused" {
                break v;
            }
        }
    };
    assert_eq!(ack["paused"], true);
    send_udp(port, 5);
    assert!(
        tokio::time::timeout(Duration::from_millis(700), async {
            loop {
                if let Some(Ok(Message::Text(t))) = ws.next().await {
                    if t.as_str().contains("\"packets\"") {
                        return;
                    }
                }
            }
        })
        .await
        .is_err(),
        "no rows while paused"
    );
    ws.send(Message::text(r#"{"filter":"udp.port =="}"#))
        .await
        .unwrap();
    loop {
        if let Message::Text(t) = ws.next().await.unwrap().unwrap() {
            let v: Value = serde_json::from_str(t.as_str()).unwrap();
            if v["kind"] == "error" {
                assert!(v["message"].as_str().unwrap().contains("at character 11"), "{v}");
                break;
            }
        }
    }

    // The stored list, filtered, newest last; then one packet decoded.
    let path = format!(
        "/capture/packets?station=sniff1&filter={}",
        enc(&format!("udp.dstport == {port}"))
    );
    let rows = until(&admin, &path, |v| v.as_array().is_some_and(|a| a.len() == 45)).await;
    let rows = rows.as_array().unwrap();
    assert!(rows.windows(2).all(|w| w[0]["id"].as_u64() < w[1]["id"].as_u64()));
    assert!(
        rows[0]["info"]
            .as_str()
            .unwrap()
            .ends_with(&format!("\u{2192} {port} Len=17")),
        "{}",
        rows[0]
    );
    let (s, all) = admin.get("/capture/packets?station=sniff1").await;
    assert_eq!(s, 200);
    assert_eq!(all.as_array().unwrap().len(), 55);
    let id = rows[0]["id"].as_u64().unwrap();
    let (s, detail) = admin.get(&format!("/capture/packets/{id}")).await;
    assert_eq!(s, 200, "{detail}");
    let layers: Vec<&str> = detail["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(layers, ["frame", "eth", "ip", "udp", "data"]);
    let udp = &detail["layers"][3];
    let dport = udp["children"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "udp.dstport")
        .unwrap();
    assert_eq!(dport["offset"], 36);
    assert_eq!(dport["len"], 2);
    assert_eq!(dport["value"]["value"], port);
    assert_eq!(detail["hex"].as_str().unwrap().len(), 2 * (42 + 17));

    // Bad input is a 4xx with a message.
    let (s, e) = admin.get("/capture/packets?filter=ip.src%20%3D%3D%20nope").await;
    assert_eq!(s, 422, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not an IPv4 address"),
        "{e}"
    );
    let (s, _) = admin.get("/capture/packets/999999999").await;
    assert_eq!(s, 404);
    let (s, _) = admin.get("/capture/packets?run=r1").await;
    assert_eq!(s, 400);

    // pcapng: everything, the filtered view, a time range.
    let all_file = download(&admin, "/capture/pcapng?station=sniff1").await;
    assert_eq!(tshark_count(&all_file), 55);
    let filtered = download(
        &admin,
        &format!(
            "/capture/pcapng?filter={}",
            enc(&format!("udp.dstport == {port2}"))
        ),
    )
    .await;
    assert_eq!(tshark_count(&filtered), 10);
    let first_ts = rows[0]["ts_ns"].as_u64().unwrap();
    let tenth_ts = rows[9]["ts_ns"].as_u64().unwrap();
    let range = download(
        &admin,
        &format!(
            "/capture/pcapng?filter={}&from_ns={first_ts}&to_ns={tenth_ts}",
            enc(&format!("udp.dstport == {port}"))
        ),
    )
    .await;
    assert_eq!(tshark_count(&range), 10);

    // Remote capture filter: a bad one is refused here, a good one reaches the station.
    let (s, e) = admin
        .put("/capture/stations/sniff1/filter", json!({"filter": "udp port"}))
        .await;
    assert_eq!(s, 422, "{e}");
    let (s, _) = admin
        .put("/capture/stations/nobody/filter", json!({"filter": "udp"}))
        .await;
    assert_eq!(s, 404);
    let (s, e) = admin
        .put(
            "/capture/stations/sniff1/filter",
            json!({"filter": format!("udp port {port2}")}),
        )
        .await;
    assert_eq!(s, 202, "{e}");
    until(&admin, "/capture/stations", |v| {
        v[0]["filter"] == format!("udp port {port2}")
    })
    .await;
    send_udp(port, 3);
    send_udp(port2, 4);
    until(&admin, "/capture/packets?station=sniff1", |v| {
        v.as_array().is_some_and(|a| a.len() == 59)
    })
    .await;
    let v = until(&admin, "/capture/stations", |v| {
        v[0]["interfaces"][0]["packets"].as_u64().is_some()
    })
    .await;
    assert_eq!(v[0]["link_dropped"], 0);
    assert_eq!(v[0]["interfaces"][0]["kernel_dropped"], 0);

    // Permissions: a user without report rights sees nothing.
    let anon = Api::anonymous(&c.url);
    let (s, _) = anon.get("/capture/packets").await;
    assert_eq!(s, 401);
    c.stop().await;
}

/// The Packets page in headless Chromium with real traffic: the live list, the server-side display filter and
/// its errors, pause, the detail tree and the hex highlight of a field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn packets_page_in_chromium() {
    use fantoccini::Locator;
    use twister_tests::browser::Browser;
    use twister_tests::controller::ADMIN_PASSWORD;
    const T: Duration = Duration::from_secs(20);
    if !root() {
        tool_missing("root (the sniffer captures on loopback)");
        return;
    }
    let c = TestController::start(&Backend {
        name: "sqlite",
        url: String::new(),
    })
    .await;
    let admin = c.admin().await;
    let sink = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = sink.local_addr().unwrap().port();
    let toml = format!("[capture]\ninterfaces = [\"lo\"]\nfilter = \"udp port {port}\"\nbatch_ms = 20\n");
    let _st = StationProcess::start_with_config(&admin, "sniff2", &["EP-sniff2"], &toml).await;
    until(&admin, "/capture/stations", |v| {
        v.as_array().is_some_and(|a| !a.is_empty())
    })
    .await;
    let Some(browser) = Browser::start().await else {
        tool_missing("Chromium with chromedriver");
        return;
    };
    let b = &browser.client;
    browser.login(&c.url, "admin", ADMIN_PASSWORD, T).await;
    browser.wait_css("#nav-inventory.active", T).await;
    b.find(Locator::Css("#nav-packets"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.wait_css("#nav-packets.active", T).await;
    browser.wait_css("#packet-list", T).await;

    // Live rows arrive while the page is open.
    send_udp(port, 30);
    browser.wait_attr("#packet-count", "data-count", "30", T).await;
    browser
        .wait_css(r#"#capture-status [data-station="sniff2"]"#, T)
        .await;

    // A bad display filter shows its error; a good one narrows the list on the server.
    let f = b.find(Locator::Css("#packet-filter")).await.unwrap();
    f.send_keys("udp.length ==").await.unwrap();
    b.find(Locator::Css("#btn-filter"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + T;
    loop {
        let text = b
            .find(Locator::Css("#filter-error"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if text.contains("at character") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no filter error shown: {text:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    f.clear().await.unwrap();
    f.send_keys("frame.len > 1000").await.unwrap();
    b.find(Locator::Css("#btn-filter"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.wait_attr("#packet-count", "data-count", "0", T).await;
    f.clear().await.unwrap();
    f.send_keys(&format!("udp.dstport == {port}")).await.unwrap();
    b.find(Locator::Css("#btn-filter"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.wait_attr("#packet-count", "data-count", "30", T).await;

    // Pause: new packets are not shown until resume.
    b.find(Locator::Css("#btn-pause"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.wait_attr("#btn-pause", "data-paused", "true", T).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    send_udp(port, 5);
    tokio::time::sleep(Duration::from_millis(800)).await;
    browser.wait_attr("#packet-count", "data-count", "30", T).await;
    b.find(Locator::Css("#btn-pause"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    send_udp(port, 2);
    browser.wait_attr("#packet-count", "data-count", "32", T).await;

    // Detail tree and hex highlight of the destination port (2 bytes).
    // The virtualised list re-renders its rows, so an element found may be replaced before the click.
    for css in [
        r#".pk-row[data-protocol="UDP"]:last-child"#,
        r#"#packet-tree [data-field="udp.dstport"]"#,
    ] {
        let deadline = tokio::time::Instant::now() + T;
        loop {
            if let Ok(e) = b.find(Locator::Css(css)).await {
                if e.click().await.is_ok() {
                    break;
                }
            }
            assert!(tokio::time::Instant::now() < deadline, "cannot click {css}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let deadline = tokio::time::Instant::now() + T;
    loop {
        let hl = b.find_all(Locator::Css("#packet-hex .hl")).await.unwrap();
        if hl.len() == 2 {
            assert_eq!(hl[0].attr("data-off").await.unwrap().as_deref(), Some("36"));
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} bytes highlighted",
            hl.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    browser.close().await;
    c.stop().await;
}
