//! `twister openflow controller` end to end: a private Open vSwitch whose two ports sit in two network
//! namespaces; the learning switch makes them ping each other, and the REST API lists, shows and pushes. And
//! the service on two ports with mutual TLS, the switch dialling the second one over `ssl:`.

#[allow(dead_code)]
#[path = "../../../openflow/tests/common/ovs.rs"]
mod ovs;
#[allow(dead_code)]
#[path = "../../../openflow/tests/common/pki.rs"]
mod pki;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use serde_json::Value;
use twister_openflow::{v10, v13, OfMessage};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// One HTTP/1.1 request; returns the status and the JSON body.
fn http(port: u16, method: &str, path: &str, token: Option<&str>, body: Option<&str>) -> (u16, Value) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let body = body.unwrap_or("");
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\n{auth}Content-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).expect("write");
    let mut resp = String::new();
    s.read_to_string(&mut resp).expect("read");
    let status: u16 = resp
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("status line");
    let json = resp
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .and_then(|b| serde_json::from_str(b).ok())
        .unwrap_or(Value::Null);
    (status, json)
}

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("ip");
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

struct Cleanup {
    netns: Vec<String>,
    child: Option<Child>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(c) = &mut self.child {
            let _ = c.kill();
            let _ = c.wait();
        }
        for n in &self.netns {
            let _ = Command::new("ip").args(["netns", "del", n]).output();
        }
    }
}

#[test]
fn learning_switch_lets_two_namespaces_ping_and_rest_pushes_flows() {
    if !ovs::available("learning_switch_lets_two_namespaces_ping_and_rest_pushes_flows") {
        return;
    }
    for version in ["1.3", "1.0"] {
        ping_and_push(version);
    }
}

fn ping_and_push(version: &str) {
    let sw = ovs::Ovs::start(2).expect("start OVS");
    let tag = std::process::id();
    let (na, nb) = (format!("twofa{tag}"), format!("twofb{tag}"));
    let mut cleanup = Cleanup {
        netns: vec![na.clone(), nb.clone()],
        child: None,
    };
    for (ns, port, addr) in [(&na, 1, "10.77.0.1/24"), (&nb, 2, "10.77.0.2/24")] {
        let dev = sw.port(port).host_side.clone();
        ip(&["netns", "add", ns]);
        ip(&["link", "set", &dev, "netns", ns]);
        ip(&["-n", ns, "addr", "add", addr, "dev", &dev]);
        ip(&["-n", ns, "link", "set", &dev, "up"]);
        ip(&["-n", ns, "link", "set", "lo", "up"]);
    }
    let (of_port, rest_port) = (free_port(), free_port());
    let token = "of-secret";
    cleanup.child = Some(
        Command::new(env!("CARGO_BIN_EXE_twister"))
            .args(["openflow", "controller", "--of", version])
            .args(["--listen", &format!("127.0.0.1:{of_port}")])
            .args(["--rest", &format!("127.0.0.1:{rest_port}")])
            .env("TWISTER_OF_TOKEN", token)
            .spawn()
            .expect("twister runs"),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", rest_port)).is_err() {
        assert!(Instant::now() < deadline, "REST API never came up");
        std::thread::sleep(Duration::from_millis(100));
    }
    sw.set_controllers(&[format!("127.0.0.1:{of_port}").parse().expect("addr")])
        .expect("set-controller");
    let dpid = format!("{:016x}", sw.datapath_id);
    loop {
        let (status, list) = http(rest_port, "GET", "/switches", Some(token), None);
        assert_eq!(status, 200);
        if list
            .as_array()
            .is_some_and(|l| l.iter().any(|s| s["datapath_id"] == dpid.as_str()))
        {
            break;
        }
        assert!(Instant::now() < deadline, "switch never listed: {list}");
        std::thread::sleep(Duration::from_millis(100));
    }

    let ping = Command::new("ip")
        .args([
            "netns",
            "exec",
            &na,
            "ping",
            "-c",
            "3",
            "-i",
            "0.2",
            "-W",
            "2",
            "10.77.0.2",
        ])
        .output()
        .expect("ping");
    assert!(ping.status.success(), "{}", String::from_utf8_lossy(&ping.stdout));

    let (status, macs) = http(
        rest_port,
        "GET",
        &format!("/switches/{dpid}/macs"),
        Some(token),
        None,
    );
    assert_eq!(status, 200);
    let ports: Vec<u64> = macs
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|m| m["port"].as_u64())
        .collect();
    assert!(ports.contains(&1) && ports.contains(&2), "{macs}");
    let (status, flows) = http(
        rest_port,
        "GET",
        &format!("/switches/{dpid}/flows"),
        Some(token),
        None,
    );
    assert_eq!(status, 200);
    let learned = flows
        .as_array()
        .expect("array")
        .iter()
        .filter(|f| f["priority"] == 10)
        .count();
    assert!(learned >= 2, "learned flows: {flows}");

    // Push a flow (priority 500, drop everything from port 1) and see it listed.
    let drop13 = OfMessage::V13(v13::Message::FlowMod(v13::FlowMod {
        cookie: 0xd509,
        cookie_mask: 0,
        table_id: 0,
        command: v13::FlowModCommand::Add,
        idle_timeout: 0,
        hard_timeout: 0,
        priority: 500,
        buffer_id: v13::NO_BUFFER,
        out_port: v13::port::port_no::ANY,
        out_group: v13::group::group_id::ANY,
        flags: 0,
        match_: v13::Match::new(vec![v13::OxmField::InPort { value: 1, mask: None }]),
        instructions: vec![],
    }));
    let drop10 = OfMessage::V10(v10::Message::FlowMod(v10::FlowMod {
        match_: v10::Match {
            wildcards: v10::match_::wildcards::ALL & !v10::match_::wildcards::IN_PORT,
            in_port: 1,
            ..v10::Match::default()
        },
        cookie: 0xd509,
        command: v10::FlowModCommand::Add,
        idle_timeout: 0,
        hard_timeout: 0,
        priority: 500,
        buffer_id: u32::MAX,
        out_port: v10::port::port_no::NONE,
        flags: 0,
        actions: vec![],
    }));
    let drop_flow = if version == "1.0" { drop10 } else { drop13 };
    let body = serde_json::to_string(&drop_flow).expect("json");
    let path = format!("/switches/{dpid}/flows");
    assert_eq!(http(rest_port, "POST", &path, Some(token), Some(&body)).0, 201);
    let (_, flows) = http(rest_port, "GET", &path, Some(token), None);
    assert!(
        flows
            .as_array()
            .expect("array")
            .iter()
            .any(|f| f["priority"] == 500),
        "{flows}"
    );
    // OVS revalidates the datapath flows it cached for the earlier pings a little after the flow table
    // changes (later still on a loaded machine): the drop flow must take hold within a few seconds.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let ping = Command::new("ip")
            .args(["netns", "exec", &na, "ping", "-c", "1", "-W", "1", "10.77.0.2"])
            .output()
            .expect("ping");
        if !ping.status.success() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "ping still passes 5 s after a drop flow was pushed"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }

    // Bad input is a 4xx JSON error; no token is 401.
    let (status, err) = http(rest_port, "POST", &path, Some(token), Some("{not json"));
    assert_eq!(status, 400);
    assert!(err["error"].is_string());
    let echo =
        serde_json::to_string(&OfMessage::V13(v13::Message::EchoRequest(Default::default()))).expect("json");
    assert_eq!(http(rest_port, "POST", &path, Some(token), Some(&echo)).0, 400);
    assert_eq!(
        http(rest_port, "GET", "/switches/zz/flows", Some(token), None).0,
        400
    );
    assert_eq!(
        http(rest_port, "GET", "/switches/1234/flows", Some(token), None).0,
        404
    );
    assert_eq!(http(rest_port, "GET", "/switches", None, None).0, 401);
    assert_eq!(http(rest_port, "GET", "/nothing", Some(token), None).0, 404);
    drop(cleanup);
}

/// Starts `twister openflow controller ARGS` with its REST API on `rest_port` and waits for the API.
fn start_service(args: &[String], rest_port: u16) -> Child {
    let child = Command::new(env!("CARGO_BIN_EXE_twister"))
        .args(["openflow", "controller"])
        .args(args)
        .args(["--rest", &format!("127.0.0.1:{rest_port}")])
        .spawn()
        .expect("twister runs");
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", rest_port)).is_err() {
        assert!(Instant::now() < deadline, "REST API never came up");
        std::thread::sleep(Duration::from_millis(100));
    }
    child
}

#[test]
fn service_on_two_ports_with_mutual_tls() {
    if !ovs::available("service_on_two_ports_with_mutual_tls") {
        return;
    }
    let pki = pki::Pki::new();
    let sw = ovs::Ovs::start(2).expect("start OVS");
    let (first, second, rest_port) = (free_port(), free_port(), free_port());
    let path = |p: &std::path::Path| p.to_string_lossy().into_owned();
    let args: Vec<String> = [
        "--listen",
        &format!("127.0.0.1:{first}"),
        "--listen",
        &format!("127.0.0.1:{second}"),
        "--tls-cert",
        &path(&pki.controller.cert),
        "--tls-key",
        &path(&pki.controller.key),
        "--tls-ca",
        &path(&pki.ca),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let _cleanup = Cleanup {
        netns: vec![],
        child: Some(start_service(&args, rest_port)),
    };
    sw.set_ssl(&pki.switch.key, &pki.switch.cert, &pki.ca)
        .expect("set-ssl");
    sw.set_controller_targets(&[format!("ssl:127.0.0.1:{second}")])
        .expect("set-controller");
    let dpid = format!("{:016x}", sw.datapath_id);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, list) = http(rest_port, "GET", "/switches", None, None);
        assert_eq!(status, 200);
        if list
            .as_array()
            .is_some_and(|l| l.iter().any(|s| s["datapath_id"] == dpid.as_str()))
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "switch never connected over TLS: {list}\n{}",
            sw.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // The flows of a TLS-connected switch come back through the REST API like any other's.
    let (status, flows) = http(rest_port, "GET", &format!("/switches/{dpid}/flows"), None, None);
    assert_eq!(status, 200, "{flows}");
}

#[test]
fn tls_flags_are_checked_before_listening() {
    // A certificate without its key is a usage error.
    let out = Command::new(env!("CARGO_BIN_EXE_twister"))
        .args(["openflow", "controller", "--tls-cert", "/nonexistent/cert.pem"])
        .output()
        .expect("twister runs");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--tls-key"),
        "{out:?}"
    );
    // Unreadable files name the file.
    let out = Command::new(env!("CARGO_BIN_EXE_twister"))
        .args(["openflow", "conform", "--of", "1.3", "--ports", "1@a,2@b"])
        .args([
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            "/nonexistent/cert.pem",
            "--tls-key",
            "/nonexistent/key.pem",
        ])
        .output()
        .expect("twister runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/cert.pem"), "{err}");
}
