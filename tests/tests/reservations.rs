//! Reservations end to end on SQLite and PostgreSQL: conflicts along the tree, the queue (priority, then age),
//! leases that expire, renew, release rules, history, and 100 concurrent requests from 10 users.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::sync::Mutex;
use twister_tests::{backends, Api, TestController};

async fn setup(c: &TestController) -> Api {
    let admin = c.admin().await;
    for p in ["/tb1/dev1/mod1", "/tb1/dev2", "/tb2/dev1"] {
        let (s, b) = admin.put(&format!("/resources{p}"), json!({})).await;
        assert_eq!(s, 201, "{b}");
    }
    admin
}

#[tokio::test]
async fn conflicts_follow_the_tree() {
    for b in backends().await {
        let c = TestController::start(&b).await;
        setup(&c).await;
        let alice = c.user("alice", "engineer").await;
        let bob = c.user("bob", "engineer").await;
        let (s, r) = alice.reserve("/tb1/dev1", 600, false).await;
        assert_eq!(s, 201, "{r}");
        assert_eq!(r["state"], "active");
        assert_eq!(r["user"], "alice");
        // Descendant, self and ancestor conflict for someone else, with the holder named.
        for p in ["/tb1/dev1/mod1", "/tb1/dev1", "/tb1"] {
            let (s, e) = bob.reserve(p, 60, false).await;
            assert_eq!(s, 409, "{p}: {e}");
            assert!(e["error"]["message"].as_str().unwrap().contains("alice"), "{e}");
            assert_eq!(e["error"]["details"]["holder"], "alice");
            assert!(e["error"]["details"]["expires_at"].is_string());
        }
        // Siblings and other testbeds are free; the holder may nest.
        assert_eq!(bob.reserve("/tb1/dev2", 60, false).await.0, 201);
        assert_eq!(bob.reserve("/tb2", 60, false).await.0, 201);
        assert_eq!(alice.reserve("/tb1/dev1/mod1", 60, false).await.0, 201);
        // The same node twice by the same user is refused, naming the existing reservation.
        let (s, e) = alice.reserve("/tb1/dev1", 60, false).await;
        assert_eq!(s, 409);
        assert!(e["error"]["details"]["reservation"].is_string());
        // Statuses.
        let (_, n) = bob.get("/resources/tb1/dev1/mod1").await;
        assert_eq!(
            (n["status"].clone(), n["reserved_by"].clone()),
            (json!("reserved"), json!("alice"))
        );
        let (_, n) = bob.get("/resources/tb1").await;
        assert_eq!(n["status"], "free");
        assert_eq!(n["descendants_reserved"], true);
        // Someone else cannot edit or delete what alice holds.
        let (s, e) = bob
            .put("/resources/tb1/dev1", json!({"properties": {"x": "1"}}))
            .await;
        assert_eq!(s, 409, "{e}");
        assert_eq!(bob.delete("/resources/tb1").await.0, 409);
        // She can.
        assert_eq!(
            alice
                .put("/resources/tb1/dev1", json!({"properties": {"x": "1"}}))
                .await
                .0,
            200
        );
        c.stop().await;
    }
}

#[tokio::test]
async fn queue_release_renew_expire_and_history() {
    for b in backends().await {
        let c = TestController::start(&b).await;
        let admin = setup(&c).await;
        let alice = c.user("alice", "engineer").await;
        let bob = c.user("bob", "engineer").await;
        let carol = c.user("carol", "engineer").await;
        let (_, held) = alice.reserve("/tb1", 600, false).await;
        let held_id = held["id"].as_str().unwrap().to_string();
        // Bob queues with priority 0, carol after him with priority 5: carol is served first.
        let (s, qb) = bob.reserve("/tb1/dev1", 60, true).await;
        assert_eq!(s, 202, "{qb}");
        assert_eq!(
            (qb["state"].clone(), qb["position"].clone()),
            (json!("waiting"), json!(1))
        );
        let (s, qc) = carol
            .post(
                "/reservations",
                json!({"path": "/tb1", "duration_s": 60, "wait": true, "priority": 5}),
            )
            .await;
        assert_eq!(s, 202);
        assert_eq!(qc["position"], 1, "higher priority goes first");
        let (_, qb_now) = bob
            .get(&format!("/reservations/{}", qb["id"].as_str().unwrap()))
            .await;
        assert_eq!(qb_now["position"], 2);
        // Nobody can jump the queue with a plain request either.
        let dave = c.user("dave", "engineer").await;
        let (s, e) = dave.reserve("/tb1/dev1", 60, false).await;
        assert_eq!(s, 409, "{e}");
        // Only-if-holder protects against releasing someone else's hold.
        let (s, e) = alice
            .delete(&format!("/reservations/{held_id}?only_if_holder=bob"))
            .await;
        assert_eq!((s, e["error"]["code"].clone()), (409, json!("not_holder")));
        // Bob cannot release alice's; the admin can force it; alice can release her own.
        assert_eq!(bob.delete(&format!("/reservations/{held_id}")).await.0, 403);
        let (s, r) = alice
            .delete(&format!("/reservations/{held_id}?only_if_holder=alice"))
            .await;
        assert_eq!((s, r["state"].clone()), (200, json!("released")));
        // The queue advances at once: carol (priority 5) holds /tb1, bob still waits.
        let (_, qc_now) = carol
            .get(&format!(
                "/reservations/{}/wait?timeout_s=5",
                qc["id"].as_str().unwrap()
            ))
            .await;
        assert_eq!(qc_now["state"], "active");
        let (_, qb_now) = bob
            .get(&format!("/reservations/{}", qb["id"].as_str().unwrap()))
            .await;
        assert_eq!(qb_now["state"], "waiting");
        // Admin force-release: revoked, and bob is served.
        let (s, r) = admin
            .delete(&format!(
                "/reservations/{}?force=true",
                qc["id"].as_str().unwrap()
            ))
            .await;
        assert_eq!((s, r["state"].clone()), (200, json!("revoked")));
        let (_, qb_now) = bob
            .get(&format!(
                "/reservations/{}/wait?timeout_s=5",
                qb["id"].as_str().unwrap()
            ))
            .await;
        assert_eq!(qb_now["state"], "active");
        // Renew extends the lease from now.
        let before = qb_now["expires_at"].as_str().unwrap().to_string();
        let (s, r) = bob
            .post(
                &format!("/reservations/{}/renew", qb["id"].as_str().unwrap()),
                json!({"duration_s": 3600}),
            )
            .await;
        assert_eq!(s, 200, "{r}");
        assert!(r["expires_at"].as_str().unwrap() > before.as_str());
        assert_eq!(
            alice
                .post(
                    &format!("/reservations/{}/renew", qb["id"].as_str().unwrap()),
                    json!({})
                )
                .await
                .0,
            403
        );
        // A short lease expires on its own and frees the node at once.
        let (s, short) = dave.reserve("/tb2/dev1", 1, false).await;
        assert_eq!(s, 201);
        let (s, waiting) = alice.reserve("/tb2", 60, true).await;
        assert_eq!(s, 202);
        let (_, w) = alice
            .get(&format!(
                "/reservations/{}/wait?timeout_s=10",
                waiting["id"].as_str().unwrap()
            ))
            .await;
        assert_eq!(w["state"], "active", "{w}");
        let (_, s_now) = dave
            .get(&format!("/reservations/{}", short["id"].as_str().unwrap()))
            .await;
        assert_eq!(s_now["state"], "expired");
        assert_eq!(s_now["ended_by"], "system");
        // History: who held what, from when to when.
        let (_, h) = admin.get("/reservations/history?path=/tb1").await;
        let users: Vec<&str> = h
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["user"].as_str().unwrap())
            .collect();
        assert!(users.contains(&"alice") && users.contains(&"carol"), "{users:?}");
        let (_, h) = admin.get("/reservations/history?user=alice&state=released").await;
        assert_eq!(h.as_array().unwrap().len(), 1);
        assert!(h[0]["granted_at"].is_string() && h[0]["ended_at"].is_string());
        let (_, live) = admin.get("/reservations").await;
        assert!(live
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["state"] == "active" || r["state"] == "waiting"));
        // Withdrawing a queued request cancels it.
        let (_, q) = carol.reserve("/tb1/dev1", 60, true).await;
        let (s, r) = carol
            .delete(&format!("/reservations/{}", q["id"].as_str().unwrap()))
            .await;
        assert_eq!((s, r["state"].clone()), (200, json!("cancelled")));
        c.stop().await;
    }
}

/// 100 attempts from 10 users on one testbed, all queued: exactly one holder at any time, everyone served,
/// in queue order (priority, then request order), nothing lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hundred_concurrent_requests_one_holder_at_a_time() {
    for b in backends().await {
        let c = TestController::start(&b).await;
        setup(&c).await;
        let mut users = Vec::new();
        for i in 0..10 {
            users.push(c.user(&format!("user{i}"), "engineer").await);
        }
        let holder: Arc<Mutex<Option<String>>> = Arc::new(Mutex::new(None));
        let log: Arc<Mutex<Vec<(String, Instant)>>> = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for attempt in 0..100 {
            let api = users[attempt % 10].clone();
            let holder = holder.clone();
            let log = log.clone();
            // Each user makes its attempts one after another (a user holds one queued request per node).
            tasks.push((attempt % 10, attempt, api, holder, log));
        }
        let mut per_user: Vec<Vec<_>> = (0..10).map(|_| Vec::new()).collect();
        for t in tasks {
            per_user[t.0].push(t);
        }
        let mut handles = Vec::new();
        for attempts in per_user {
            handles.push(tokio::spawn(async move {
                for (_, attempt, api, holder, log) in attempts {
                    let priority = if attempt % 7 == 0 { 10 } else { 0 };
                    let (s, r) = api
                        .post(
                            "/reservations",
                            json!({"path": "/tb1", "duration_s": 60, "wait": true, "priority": priority}),
                        )
                        .await;
                    assert!(s == 201 || s == 202, "attempt {attempt}: {s} {r}");
                    let id = r["id"].as_str().unwrap().to_string();
                    let mut state = r;
                    while state["state"] == "waiting" {
                        let (s, v) = api.get(&format!("/reservations/{id}/wait?timeout_s=30")).await;
                        assert_eq!(s, 200, "{v}");
                        state = v;
                    }
                    assert_eq!(state["state"], "active", "attempt {attempt}: {state}");
                    {
                        let mut h = holder.lock().await;
                        assert!(h.is_none(), "two holders at once: {:?} and {id}", *h);
                        *h = Some(id.clone());
                    }
                    let granted = Instant::now();
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    *holder.lock().await = None;
                    let (s, v) = api.delete(&format!("/reservations/{id}")).await;
                    assert_eq!(s, 200, "{v}");
                    log.lock().await.push((id, granted));
                }
            }));
        }
        for h in handles {
            h.await.unwrap();
        }
        let log = log.lock().await;
        assert_eq!(log.len(), 100, "every attempt was served");
        // The history agrees: 100 released reservations of /tb1, none overlapping in time.
        let admin = c.admin().await;
        let (_, hist) = admin.get("/reservations/history?path=/tb1&limit=1000").await;
        let mut spans: Vec<(String, String)> = hist
            .as_array()
            .unwrap()
            .iter()
            .map(|r: &Value| {
                (
                    r["granted_at"].as_str().unwrap().to_string(),
                    r["ended_at"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(spans.len(), 100);
        assert!(hist.as_array().unwrap().iter().all(|r| r["state"] == "released"));
        spans.sort();
        for w in spans.windows(2) {
            assert!(
                w[0].1 <= w[1].0,
                "reservations overlap: {:?} and {:?}",
                w[0],
                w[1]
            );
        }
        // Every grant and release is in the audit trail (queue order itself is checked in
        // queue_order_is_priority_then_age, where the waiting set is known).
        let (_, audit) = admin.get("/audit?action=reservation.&limit=10000").await;
        assert!(audit.as_array().unwrap().len() >= 200);
        let (_, live) = admin.get("/reservations").await;
        assert_eq!(live, json!([]), "nothing left behind");
        c.stop().await;
    }
}

/// Queue order under contention: with the node held, requests queue in a known order; releasing the holder
/// serves them strictly by priority, then age.
#[tokio::test]
async fn queue_order_is_priority_then_age() {
    for b in backends().await {
        let c = TestController::start(&b).await;
        let admin = setup(&c).await;
        let (_, held) = admin.reserve("/tb1", 600, false).await;
        let mut waiting = Vec::new();
        let priorities = [0, 5, 0, 5, -1, 10, 0];
        for (i, p) in priorities.iter().enumerate() {
            let u = c.user(&format!("q{i}"), "engineer").await;
            let (s, r) = u
                .post(
                    "/reservations",
                    json!({"path": "/tb1/dev2", "duration_s": 60, "wait": true, "priority": p}),
                )
                .await;
            assert_eq!(s, 202, "{r}");
            waiting.push((u, r["id"].as_str().unwrap().to_string(), *p, i));
        }
        let mut expected: Vec<&(Api, String, i64, usize)> = waiting.iter().collect();
        expected.sort_by_key(|(_, _, p, i)| (-p, *i as i64));
        admin
            .delete(&format!("/reservations/{}", held["id"].as_str().unwrap()))
            .await;
        for (u, id, p, i) in expected {
            let (_, r) = u.get(&format!("/reservations/{id}/wait?timeout_s=5")).await;
            assert_eq!(r["state"], "active", "q{i} (priority {p}) should be next: {r}");
            for (other_u, other_id, _, _) in &waiting {
                if other_id != id {
                    let (_, o) = other_u.get(&format!("/reservations/{other_id}")).await;
                    assert_ne!(o["state"], "active", "only one holder at a time");
                }
            }
            u.delete(&format!("/reservations/{id}")).await;
        }
        c.stop().await;
    }
}
