//! The controller over HTTPS with a lab's own certificate authority (made here with rcgen): a station given the
//! CA links over wss://, fetches files, runs real tests whose own calls (the `twister` tool, the Python helper)
//! reach the controller over https; a station without the CA never links and says why in its log; the
//! `twister` tool works with --ca-file / TWISTER_CA_FILE and refuses the server without it.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::json;
use twister_tests::controller::ADMIN_PASSWORD;
use twister_tests::station::StationProcess;
use twister_tests::{Api, Backend, TestController};

/// A CA and a server certificate for 127.0.0.1 and localhost, as PEM files.
struct Pki {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
    _dir: tempfile::TempDir,
}

fn make_pki() -> Pki {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
    let dir = tempfile::tempdir().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "Twister test lab CA");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_key = KeyPair::generate().unwrap();
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let mut params = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, "twister-controller");
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &ca, &ca_key).unwrap();
    let pki = Pki {
        ca: dir.path().join("ca.pem"),
        cert: dir.path().join("controller.crt"),
        key: dir.path().join("controller.key"),
        _dir: dir,
    };
    std::fs::write(&pki.ca, ca.pem()).unwrap();
    std::fs::write(&pki.cert, cert.pem()).unwrap();
    std::fs::write(&pki.key, key.serialize_pem()).unwrap();
    pki
}

fn write(dir: &Path, name: &str, body: &str) {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, body).unwrap();
}

/// Runs `twister ARGS` against `url` with a private config file, optionally trusting `ca` via the environment.
async fn twister(
    url: &str,
    config: &Path,
    ca: Option<&Path>,
    args: &[&str],
    stdin: Option<&str>,
) -> (i32, String) {
    use tokio::io::AsyncWriteExt;
    let mut cmd = tokio::process::Command::new(twister_tests::binary("twister"));
    cmd.args(args)
        .env("TWISTER_URL", url)
        .env_remove("TWISTER_TOKEN")
        .env_remove("TWISTER_CA_FILE")
        .env("TWISTER_CLI_CONFIG", config)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(ca) = ca {
        cmd.env("TWISTER_CA_FILE", ca);
    }
    let mut child = cmd.spawn().unwrap();
    if let Some(input) = stdin {
        let mut si = child.stdin.take().unwrap();
        si.write_all(input.as_bytes()).await.unwrap();
    }
    let out = child.wait_with_output().await.unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stations_and_the_cli_work_over_tls_with_the_lab_ca() {
    let pki = make_pki();
    let tests = tempfile::tempdir().unwrap();
    write(
        tests.path(),
        "tls/shell.sh",
        "#!/bin/bash\ntwister global set /Tls/shell over-https || exit 1\necho \"shell done\"\n",
    );
    write(
        tests.path(),
        "tls/helper.py",
        "from twister import *\nsetGlobal('/Tls/python', 'over-https')\nlogMsg('python reached the controller')\n",
    );
    let (tests_dir, cert, key) = (tests.path().to_path_buf(), pki.cert.clone(), pki.key.clone());
    let backend = Backend {
        name: "sqlite",
        url: String::new(),
    };
    let c = TestController::start_with(&backend, move |cfg| {
        cfg.tests_dir = Some(tests_dir);
        cfg.stations.heartbeat_s = 1;
        cfg.stations.lost_after_s = 10;
        cfg.server.tls_cert = Some(cert);
        cfg.server.tls_key = Some(key);
    })
    .await;
    assert!(c.url.starts_with("https://127.0.0.1:"), "{}", c.url);

    // Without the CA, nothing trusts the server; with it, the API answers.
    assert!(reqwest::Client::new()
        .get(format!("{}/api/v1/health", c.url))
        .send()
        .await
        .is_err());
    let ca_pem = std::fs::read(&pki.ca).unwrap();
    let http = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&ca_pem).unwrap())
        .build()
        .unwrap();
    let admin = Api::login_with(http, &c.url, "admin", ADMIN_PASSWORD).await;

    // A station that does not trust the lab CA never links, and its log says it is the certificate.
    let (s, body) = admin.post("/stations", json!({ "name": "untrusting" })).await;
    assert_eq!(s, 201, "{body}");
    let scratch = tempfile::tempdir().unwrap();
    let token_file = scratch.path().join("token");
    std::fs::write(&token_file, body["token"].as_str().unwrap()).unwrap();
    let log_path = scratch.path().join("station.log");
    let mut untrusting = std::process::Command::new(twister_tests::binary("twister-station"))
        .arg("--controller-url")
        .arg(&c.url)
        .arg("--name")
        .arg("untrusting")
        .arg("--data-dir")
        .arg(scratch.path().join("data"))
        .arg("--token-file")
        .arg(&token_file)
        .arg("--ep")
        .arg("EP-X")
        .env("TWISTER_LOG", "info")
        .env_remove("TWISTER_STATION_CONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    let log = loop {
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        if log.contains("link down") || t0.elapsed() > Duration::from_secs(30) {
            break log;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let _ = untrusting.kill();
    let _ = untrusting.wait();
    assert!(
        log.contains("certificate") && log.contains("ca_file"),
        "no certificate error in the station log:\n{log}"
    );
    let (_, st) = admin.get("/stations/untrusting").await;
    assert_eq!(st["online"], false, "{st}");

    // The station given the CA links over wss:// and runs real tests through it.
    let ca = pki.ca.to_str().unwrap();
    let _ws = StationProcess::start_with_args(&admin, "ws-tls", &["EP-1"], &["--ca-file", ca]).await;
    let (s, b) = admin
        .put(
            "/projects/tls",
            json!({"name": "tls", "suites": [{"name": "secure", "eps": ["EP-1"], "tests": [
                {"file": "tls/shell.sh"}, {"file": "tls/helper.py"}]}]}),
        )
        .await;
    assert!(s == 200 || s == 201, "{b}");
    let (s, r) = admin.post("/runs", json!({ "project": "tls" })).await;
    assert_eq!(s, 201, "{r}");
    let run = r["id"].as_str().unwrap().to_string();
    let t0 = Instant::now();
    let finished = loop {
        let (_, r) = admin.get(&format!("/runs/{run}")).await;
        if r["state"] == "finished" {
            break r;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "run did not finish: {r:#}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(finished["status"], "pass", "{finished:#}");
    for item in finished["items"].as_array().unwrap() {
        assert_eq!(item["status"], "pass", "{item:#}");
    }
    let (_, lines) = admin.get(&format!("/runs/{run}/logs?limit=1000")).await;
    let text = lines.to_string();
    assert!(text.contains("shell done"), "{text}");
    assert!(text.contains("python reached the controller"), "{text}");
    for what in ["shell", "python"] {
        let (s, g) = admin.get(&format!("/runs/{run}/globals/Tls/{what}")).await;
        assert_eq!(s, 200, "{what}: {g}");
        assert!(g.to_string().contains("over-https"), "{what}: {g}");
    }

    // The CLI: refused without the CA, working with it.
    let cli_dir = tempfile::tempdir().unwrap();
    let config = cli_dir.path().join("config.toml");
    let login = ["login", "--user", "admin", "--password-stdin"];
    let password = format!("{ADMIN_PASSWORD}\n");
    let (code, out) = twister(&c.url, &config, None, &login, Some(&password)).await;
    assert_eq!(code, 6, "unreachable without the CA: {out}");
    let (code, out) = twister(&c.url, &config, Some(&pki.ca), &login, Some(&password)).await;
    assert_eq!(code, 0, "{out}");
    let (code, out) = twister(&c.url, &config, Some(&pki.ca), &["run", "status", &run], None).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("pass"), "{out}");
    let (code, out) = twister(
        &c.url,
        &config,
        None,
        &["--ca-file", ca, "--json", "run", "ls"],
        None,
    )
    .await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&run), "{out}");
    c.stop().await;
}
