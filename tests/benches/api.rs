//! Reservation and inventory throughput over HTTP against a real controller, on SQLite (and PostgreSQL when a
//! server can be started). Prints the figures and their ratio to a reference run in the same process: the
//! cheapest authenticated route (`GET /api/v1/auth/whoami`) on the same server.
//!
//! Run: `cargo bench -p twister-tests --bench api` (env `BENCH_SECONDS`, default 5; `BENCH_CLIENTS`, default 16).

#![allow(clippy::unwrap_used, missing_docs)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use twister_tests::{Api, Backend, TestController};

async fn measure<F, Fut>(clients: &[Api], seconds: f64, op: F) -> f64
where
    F: Fn(Api, usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for (i, api) in clients.iter().cloned().enumerate() {
        let op = op.clone();
        let done = done.clone();
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                op(api.clone(), i).await;
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

async fn run(backend: Backend, seconds: f64, n_clients: usize) {
    let c = TestController::start(&backend).await;
    let admin = c.admin().await;
    for i in 0..n_clients {
        admin
            .put(
                &format!("/resources/bench/node{i}/port1"),
                json!({"properties": {"ip": "192.0.2.1", "port": "22", "model": "x"}}),
            )
            .await;
    }
    let mut clients = Vec::new();
    for i in 0..n_clients {
        clients.push(c.user(&format!("bench{i}"), "engineer").await);
    }
    let whoami = measure(&clients, seconds, |api: Api, _| async move {
        assert_eq!(api.get("/auth/whoami").await.0, 200);
    })
    .await;
    let reads = measure(&clients, seconds, |api: Api, i| async move {
        assert_eq!(api.get(&format!("/resources/bench/node{i}/port1")).await.0, 200);
    })
    .await;
    let cycles = measure(&clients, seconds, |api: Api, i| async move {
        let (s, r) = api.reserve(&format!("/bench/node{i}"), 600, false).await;
        assert_eq!(s, 201, "{r}");
        let (s, _) = api
            .delete(&format!("/reservations/{}", r["id"].as_str().unwrap()))
            .await;
        assert_eq!(s, 200);
    })
    .await;
    println!(
        "{:<9} clients={n_clients:<3} whoami/s={whoami:>8.0}  inventory reads/s={reads:>8.0} (x{:.2} of whoami)  \
         reserve+release/s={cycles:>7.0} (x{:.3} of whoami)",
        backend.name,
        reads / whoami,
        cycles / whoami
    );
    c.stop().await;
}

fn main() {
    let seconds: f64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5.0);
    let clients: usize = std::env::var("BENCH_CLIENTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(16);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        run(
            Backend {
                name: "sqlite",
                url: String::new(),
            },
            seconds,
            clients,
        )
        .await;
        match twister_tests::pg::database().await {
            Some(url) => {
                run(
                    Backend {
                        name: "postgres",
                        url,
                    },
                    seconds,
                    clients,
                )
                .await
            }
            None => println!("postgres  (no PostgreSQL server available: skipped)"),
        }
    });
}
