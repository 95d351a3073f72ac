//! kill -9 the controller in the middle of a stream of reservations and edits, restart it, and check that every
//! acknowledged change survived, nothing released came back, and nothing is held twice. On SQLite and PostgreSQL,
//! and for a clean SIGTERM shutdown too.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::sync::Mutex;
use twister_tests::{backends, Api, ControllerProcess};

/// What the clients were told (acknowledged), per reservation and per node.
#[derive(Default)]
struct Acked {
    /// Reservation id -> last acknowledged state.
    reservations: HashMap<String, String>,
    /// Reservation id -> node path.
    paths: HashMap<String, String>,
    /// Node -> (last acknowledged counter, counter that may be in flight).
    counters: HashMap<String, (u64, u64)>,
}

async fn worker(api: Api, user: usize, acked: Arc<Mutex<Acked>>, stop: Arc<std::sync::atomic::AtomicBool>) {
    let node = format!("/tb{user}");
    let mut counter = 0u64;
    let mut held: Option<String> = None;
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        counter += 1;
        acked
            .lock()
            .await
            .counters
            .entry(node.clone())
            .or_insert((0, 0))
            .1 = counter;
        let r = tokio::time::timeout(
            Duration::from_secs(5),
            api.try_send(
                reqwest::Method::PUT,
                &format!("/resources{node}/dev"),
                Some(json!({"properties": {"counter": counter.to_string()}})),
                &[],
            ),
        )
        .await;
        match r {
            Ok(Ok((200, _, _))) => acked.lock().await.counters.get_mut(&node).unwrap().0 = counter,
            _ => return, // the controller died under us
        }
        match held.take() {
            None => {
                let body = json!({"path": node, "duration_s": 600});
                let r = tokio::time::timeout(
                    Duration::from_secs(5),
                    api.try_send(reqwest::Method::POST, "/reservations", Some(body), &[]),
                )
                .await;
                let Ok(Ok((201, _, v))) = r else { return };
                let id = v["id"].as_str().unwrap().to_string();
                let mut a = acked.lock().await;
                a.reservations.insert(id.clone(), "active".into());
                a.paths.insert(id.clone(), node.clone());
                held = Some(id);
            }
            Some(id) => {
                // Until acknowledged, the release may or may not have been committed.
                acked
                    .lock()
                    .await
                    .reservations
                    .insert(id.clone(), "releasing".into());
                let r = tokio::time::timeout(
                    Duration::from_secs(5),
                    api.try_send(reqwest::Method::DELETE, &format!("/reservations/{id}"), None, &[]),
                )
                .await;
                let Ok(Ok((200, _, _))) = r else { return };
                acked.lock().await.reservations.insert(id, "released".into());
            }
        }
    }
}

async fn check(api: &Api, acked: &Acked) {
    for (id, state) in &acked.reservations {
        let (s, r) = api.get(&format!("/reservations/{id}")).await;
        assert_eq!(s, 200, "acknowledged reservation {id} was lost: {r}");
        let now = r["state"].as_str().unwrap();
        let ok = match state.as_str() {
            "releasing" => now == "active" || now == "released",
            s => now == s,
        };
        assert!(
            ok,
            "reservation {id} on {}: acknowledged {state}, now {now}",
            acked.paths[id]
        );
    }
    for (node, (done, maybe)) in &acked.counters {
        let (s, p) = api.get(&format!("/resources{node}/dev:counter")).await;
        if *done == 0 {
            continue;
        }
        assert_eq!(s, 200, "{node}: {p}");
        let v: u64 = p["value"].as_str().unwrap().parse().unwrap();
        assert!(
            v == *done || v == *maybe,
            "{node}: counter {v}, acknowledged {done}, in flight {maybe}"
        );
    }
    // Never two holders of one node.
    let (_, live) = api.get("/reservations?state=active&limit=10000").await;
    let mut seen = std::collections::HashSet::new();
    for r in live.as_array().unwrap() {
        assert!(
            seen.insert(r["path"].as_str().unwrap().to_string()),
            "{} is held twice",
            r["path"]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_loses_and_resurrects_nothing() {
    for b in backends().await {
        let dir = tempfile::tempdir().unwrap();
        let mut ctl = ControllerProcess::start(dir.path(), &b.url).await;
        let admin = ctl.admin().await;
        let mut users = Vec::new();
        for i in 0..6 {
            let name = format!("u{i}");
            admin
                .post(
                    "/users",
                    json!({"username": name, "password": "password-1", "role": "engineer"}),
                )
                .await;
            admin.put(&format!("/resources/tb{i}/dev"), json!({})).await;
            users.push(name);
        }
        let acked = Arc::new(Mutex::new(Acked::default()));
        for round in 0..3 {
            let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let mut tasks = Vec::new();
            for (i, name) in users.iter().enumerate() {
                let api = Api::login(&ctl.url, name, "password-1").await;
                tasks.push(tokio::spawn(worker(api, i, acked.clone(), stop.clone())));
            }
            // Let the stream run, then kill the controller in the middle of it.
            tokio::time::sleep(Duration::from_millis(700 + 300 * round)).await;
            ctl.kill9();
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            for t in tasks {
                t.await.unwrap();
            }
            ctl.restart().await;
            let admin = ctl.admin().await;
            let a = acked.lock().await;
            assert!(
                a.reservations.len() > 3,
                "[{}] round {round}: too few operations ({})",
                b.name,
                a.reservations.len()
            );
            check(&admin, &a).await;
        }
        // After the last restart the controller works normally: release everything still held.
        let a = acked.lock().await;
        let admin = ctl.admin().await;
        for (id, state) in &a.reservations {
            let (_, r) = admin.get(&format!("/reservations/{id}")).await;
            if r["state"] == "active" {
                assert!(state == "active" || state == "releasing");
                let (s, _) = admin.delete(&format!("/reservations/{id}?force=true")).await;
                assert_eq!(s, 200);
            }
        }
        // A request can be committed while its answer is lost in the kill: such a reservation was never
        // acknowledged, so it may exist, but only as its own user's, on its own user's node.
        let (_, live) = admin.get("/reservations").await;
        for r in live.as_array().unwrap() {
            let id = r["id"].as_str().unwrap();
            assert!(!a.reservations.contains_key(id), "{r}");
            let user = r["user"].as_str().unwrap();
            assert_eq!(r["path"].as_str().unwrap(), format!("/tb{}", &user[1..]), "{r}");
            let (s, _) = admin.delete(&format!("/reservations/{id}?force=true")).await;
            assert_eq!(s, 200);
        }
        assert_eq!(admin.get("/reservations").await.1, json!([]));
        // A clean shutdown on SIGTERM exits with status 0.
        assert_eq!(ctl.terminate(), Some(0));
    }
}
