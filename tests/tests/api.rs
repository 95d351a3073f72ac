//! The controller's REST API end to end, on SQLite and on a real PostgreSQL: authentication on every route,
//! roles, tokens, the inventory tree, versions, secrets, import/export, audit, metrics and events.

#![allow(clippy::unwrap_used)]

use futures::StreamExt;
use reqwest::Method;
use serde_json::{json, Value};
use twister_tests::{backends, Api, Backend, TestController};

/// Every route in the OpenAPI document answers 401 without a token, except health and login.
#[tokio::test]
async fn every_route_needs_a_token() {
    for b in backends().await {
        let c = TestController::start(&b).await;
        let admin = c.admin().await;
        let (s, doc) = admin.get("/openapi.json").await;
        assert_eq!(s, 200);
        let anon = Api::anonymous(&c.url);
        let mut checked = 0;
        for (path, item) in doc["paths"].as_object().unwrap() {
            let concrete = path
                .trim_start_matches("/api/v1")
                .replace("{path}", "tb1/dev1")
                .replace("{id}", "abc")
                .replace("{username}", "admin");
            for method in item.as_object().unwrap().keys() {
                let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
                let body = if m == Method::GET || m == Method::DELETE {
                    None
                } else {
                    Some(json!({}))
                };
                let (status, _, resp) = anon.send(m.clone(), &concrete, body, &[]).await;
                let public = concrete == "/health" || concrete == "/auth/login";
                if public {
                    assert_ne!(status, 401, "{method} {path} should be public");
                } else {
                    assert_eq!(
                        status, 401,
                        "[{}] {method} {path} without a token: {resp}",
                        b.name
                    );
                    assert_eq!(resp["error"]["code"], "unauthorized");
                }
                checked += 1;
            }
        }
        assert!(checked >= 25, "only {checked} operations in the OpenAPI document");
        // A wrong token is refused the same way, and /metrics needs one too.
        let bogus = Api::with_token(&c.url, "tw_not-a-real-token");
        assert_eq!(bogus.get("/resources").await.0, 401);
        let metrics = reqwest::get(format!("{}/metrics", c.url)).await.unwrap();
        assert_eq!(metrics.status(), 401);
        c.stop().await;
    }
}

#[tokio::test]
async fn health_login_and_tokens() {
    for b in backends().await {
        let c = TestController::start(&b).await;
        let anon = Api::anonymous(&c.url);
        let (s, h) = anon.get("/health").await;
        assert_eq!(s, 200);
        assert_eq!(h["status"], "ok");
        assert_eq!(h["database"], b.name);

        let (s, e) = anon
            .post("/auth/login", json!({"username": "admin", "password": "wrong"}))
            .await;
        assert_eq!(s, 401);
        assert_eq!(e["error"]["code"], "unauthorized");
        let (s, _) = anon
            .post(
                "/auth/login",
                json!({"username": "nobody", "password": "whatever1"}),
            )
            .await;
        assert_eq!(s, 401);

        let admin = c.admin().await;
        let (s, me) = admin.get("/auth/whoami").await;
        assert_eq!(s, 200);
        assert_eq!(me["username"], "admin");
        assert_eq!(me["role"], "admin");

        // A named token limited to /tb1 and to reading.
        admin
            .put("/resources/tb1/dev1", json!({"properties": {"ip": "10.0.0.1"}}))
            .await;
        admin
            .put("/resources/tb2/dev1", json!({"properties": {"ip": "10.0.0.2"}}))
            .await;
        let (s, t) = admin
            .post(
                "/tokens",
                json!({"name": "ci", "permissions": ["view_inventory"], "paths": ["/tb1"]}),
            )
            .await;
        assert_eq!(s, 201, "{t}");
        let secret = t["token"].as_str().unwrap().to_string();
        let scoped = Api::with_token(&c.url, &secret);
        assert_eq!(scoped.get("/resources/tb1/dev1").await.0, 200);
        assert_eq!(scoped.get("/resources/tb2/dev1").await.0, 403);
        let (_, root) = scoped.get("/resources").await;
        assert_eq!(
            root["children"],
            json!(["tb1"]),
            "scoped tokens only see their subtree"
        );
        let (s, e) = scoped
            .put("/resources/tb1/dev1", json!({"properties": {"x": "1"}}))
            .await;
        assert_eq!(s, 403, "{e}");
        assert!(e["error"]["message"].as_str().unwrap().contains("change_testbed"));
        // It cannot mint a wider token.
        assert_eq!(
            scoped
                .post(
                    "/tokens",
                    json!({"name": "wider", "permissions": ["change_testbed"]})
                )
                .await
                .0,
            403
        );
        // Tokens are listed without their secret, and stored hashed.
        let (_, list) = admin.get("/tokens").await;
        assert_eq!(list.as_array().unwrap().len(), 1);
        assert!(!list.to_string().contains(&secret));
        // Revoked tokens stop working at once.
        let id = t["id"].as_str().unwrap();
        assert_eq!(admin.delete(&format!("/tokens/{id}")).await.0, 204);
        assert_eq!(scoped.get("/resources/tb1/dev1").await.0, 401);
        // Logout revokes the session.
        let other = c.admin().await;
        assert_eq!(other.post("/auth/logout", json!({})).await.0, 204);
        assert_eq!(other.get("/auth/whoami").await.0, 401);
        c.stop().await;
    }
}

#[tokio::test]
async fn roles_are_enforced() {
    for b in backends().await {
        let c = TestController::start(&b).await;
        let admin = c.admin().await;
        let viewer = c.user("vera", "viewer").await;
        let eng = c.user("eddie", "engineer").await;
        assert_eq!(
            admin
                .put("/resources/tb1", json!({"properties": {"a": "1"}}))
                .await
                .0,
            201
        );
        assert_eq!(viewer.get("/resources/tb1").await.0, 200);
        assert_eq!(
            viewer
                .put("/resources/tb1", json!({"properties": {"a": "2"}}))
                .await
                .0,
            403
        );
        assert_eq!(viewer.reserve("/tb1", 60, false).await.0, 403);
        assert_eq!(
            eng.put("/resources/tb1", json!({"properties": {"a": "2"}}))
                .await
                .0,
            200
        );
        let (s, e) = eng
            .post(
                "/users",
                json!({"username": "x1", "password": "password1", "role": "viewer"}),
            )
            .await;
        assert_eq!(s, 403, "{e}");
        assert_eq!(eng.patch("/users/vera", json!({"role": "admin"})).await.0, 403);
        // Own details and password, yes; own role, no.
        assert_eq!(
            eng.patch("/users/eddie", json!({"display_name": "Eddie E."}))
                .await
                .0,
            200
        );
        assert_eq!(eng.patch("/users/eddie", json!({"role": "admin"})).await.0, 403);
        let (s, _) = eng
            .put(
                "/users/eddie/password",
                json!({"current_password": "wrong", "new_password": "newpassword1"}),
            )
            .await;
        assert_eq!(s, 403);
        let (s, _) = eng
            .put(
                "/users/eddie/password",
                json!({"current_password": "eddie-password", "new_password": "newpassword1"}),
            )
            .await;
        assert_eq!(s, 204);
        Api::login(&c.url, "eddie", "newpassword1").await;
        // Admin can disable a user: their tokens stop working.
        assert_eq!(admin.patch("/users/vera", json!({"disabled": true})).await.0, 200);
        assert_eq!(viewer.get("/resources/tb1").await.0, 401);
        // The last admin cannot be removed or demoted.
        assert_eq!(admin.delete("/users/admin").await.0, 409);
        assert_eq!(
            admin.patch("/users/admin", json!({"role": "viewer"})).await.0,
            409
        );
        // Users are validated.
        assert_eq!(
            admin
                .post(
                    "/users",
                    json!({"username": "bad name", "password": "password1", "role": "viewer"})
                )
                .await
                .0,
            422
        );
        assert_eq!(
            admin
                .post(
                    "/users",
                    json!({"username": "short", "password": "x", "role": "viewer"})
                )
                .await
                .0,
            422
        );
        assert_eq!(
            admin
                .post(
                    "/users",
                    json!({"username": "eddie", "password": "password1", "role": "viewer"})
                )
                .await
                .0,
            409
        );
        c.stop().await;
    }
}

#[tokio::test]
async fn inventory_tree_paths_and_versions() {
    for b in backends().await {
        let c = TestController::start(&b).await;
        let api = c.admin().await;
        // PUT creates missing parents.
        let (s, n) = api
            .put("/resources/tb1/dev1/mod2", json!({"properties": {"slot": "2"}}))
            .await;
        assert_eq!(s, 201, "{n}");
        assert_eq!(n["path"], "/tb1/dev1/mod2");
        assert_eq!(n["status"], "free");
        let (_, tb1) = api.get("/resources/tb1").await;
        assert_eq!(tb1["children"], json!(["dev1"]));
        // Names are unique under a parent; the same name under another parent is fine.
        api.put("/resources/tb2/dev1", json!({})).await;
        let (_, root) = api.get("/resources").await;
        assert_eq!(root["children"], json!(["tb1", "tb2"]));
        // By id and one property.
        let id = n["id"].as_str().unwrap();
        let (s, by_id) = api.get(&format!("/resources/~{id}")).await;
        assert_eq!(s, 200);
        assert_eq!(by_id["path"], "/tb1/dev1/mod2");
        let (s, p) = api.get("/resources/tb1/dev1/mod2:slot").await;
        assert_eq!((s, p["value"].clone()), (200, json!("2")));
        assert_eq!(api.get("/resources/tb1/dev1/mod2:nope").await.0, 404);
        assert_eq!(api.get("/resources/nowhere").await.0, 404);
        // Set and delete one property through the :key address.
        assert_eq!(
            api.put("/resources/tb1/dev1:ip", json!({"value": "10.1.1.1"}))
                .await
                .0,
            200
        );
        let (_, d) = api.get("/resources/tb1/dev1").await;
        assert_eq!(d["properties"]["ip"], "10.1.1.1");
        assert_eq!(api.delete("/resources/tb1/dev1:ip").await.0, 200);
        assert_eq!(api.delete("/resources/tb1/dev1:ip").await.0, 404);
        // Merge semantics: keys not named stay; null deletes.
        api.put("/resources/tb1/dev1", json!({"properties": {"a": "1", "b": "2"}}))
            .await;
        api.put(
            "/resources/tb1/dev1",
            json!({"properties": {"b": null, "c": "3"}}),
        )
        .await;
        let (_, d) = api.get("/resources/tb1/dev1").await;
        assert_eq!(d["properties"], json!({"a": "1", "c": "3"}));

        // Versions: two editors read v, the first write wins, the second gets 412 and loses nothing.
        let (_, h, d) = api.send(Method::GET, "/resources/tb1/dev1", None, &[]).await;
        let etag = h.get("etag").unwrap().to_str().unwrap().to_string();
        assert_eq!(etag, format!("\"v{}\"", d["version"]));
        let (s, _, _) = api
            .send(
                Method::PUT,
                "/resources/tb1/dev1",
                Some(json!({"properties": {"a": "first"}})),
                &[("If-Match", &etag)],
            )
            .await;
        assert_eq!(s, 200);
        let (s, _, e) = api
            .send(
                Method::PUT,
                "/resources/tb1/dev1",
                Some(json!({"properties": {"a": "second"}})),
                &[("If-Match", &etag)],
            )
            .await;
        assert_eq!(s, 412, "{e}");
        assert_eq!(e["error"]["code"], "version_mismatch");
        let (_, d) = api.get("/resources/tb1/dev1").await;
        assert_eq!(d["properties"]["a"], "first");
        // Replace needs... nothing more than merge, but drops unnamed plain keys.
        api.put(
            "/resources/tb1/dev1",
            json!({"properties": {"z": "9"}, "replace": true}),
        )
        .await;
        let (_, d) = api.get("/resources/tb1/dev1").await;
        assert_eq!(d["properties"], json!({"z": "9"}));

        // Rename in place and move elsewhere; the subtree follows, ids stay.
        let (s, r) = api
            .post("/resources/tb1/dev1/rename", json!({"name": "switch1"}))
            .await;
        assert_eq!(s, 200, "{r}");
        assert_eq!(r["path"], "/tb1/switch1");
        let (s, m) = api.get(&format!("/resources/~{id}")).await;
        assert_eq!((s, m["path"].clone()), (200, json!("/tb1/switch1/mod2")));
        let (s, r) = api
            .post(
                "/resources/tb1/switch1/rename",
                json!({"to": "/lab/rack3/switch1"}),
            )
            .await;
        assert_eq!(s, 200, "{r}");
        let (_, m) = api.get(&format!("/resources/~{id}")).await;
        assert_eq!(m["path"], "/lab/rack3/switch1/mod2");
        assert_eq!(
            api.post("/resources/lab/rename", json!({"to": "/lab/rack3/x"}))
                .await
                .0,
            400,
            "into own subtree"
        );
        assert_eq!(
            api.post("/resources/lab/rename", json!({"name": "tb2"})).await.0,
            409,
            "target exists"
        );
        // Property rename keeps the value.
        api.put("/resources/tb2:old", json!({"value": "v"})).await;
        assert_eq!(
            api.post("/resources/tb2:old/rename", json!({"name": "new"}))
                .await
                .0,
            200
        );
        assert_eq!(api.get("/resources/tb2:new").await.1["value"], "v");

        // Delete a subtree.
        let (s, d) = api.delete("/resources/lab").await;
        assert_eq!(s, 200);
        assert_eq!(d["nodes"], 4);
        assert_eq!(api.get(&format!("/resources/~{id}")).await.0, 404);
        assert_eq!(api.delete("/resources/").await.0, 400);

        // Bad names and paths are 400s with a message.
        for bad in ["/tb1/a:b:c/x", "/~x/y", "/tb1/..", "/tb1//x"] {
            let (s, e) = api.put(&format!("/resources{bad}"), json!({})).await;
            // (The client normalises `..` away, so that one reaches the root, where PUT is not allowed.)
            assert!(
                (400..500).contains(&s) && e["error"]["code"].is_string(),
                "{bad}: {s} {e}"
            );
        }
        let (s, e) = api.put("/resources/tb1", json!({"properties": {"": "x"}})).await;
        assert_eq!(s, 422, "{e}");
        let (s, e) = api.put("/resources/tb1", json!({"unknown": 1})).await;
        assert_eq!(s, 400, "{e}");

        // The tree listing gives every node with its status.
        let (_, tree) = api.get("/inventory/tree").await;
        let paths: Vec<&str> = tree
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["path"].as_str().unwrap())
            .collect();
        assert_eq!(paths, vec!["/tb1", "/tb2", "/tb2/dev1"]);
        c.stop().await;
    }
}

#[tokio::test]
async fn secrets_stay_secret() {
    for b in backends().await {
        let c = TestController::start(&b).await;
        let admin = c.admin().await;
        let viewer = c.user("vic", "viewer").await;
        let eng = c.user("erin", "engineer").await;
        let (s, n) = admin
            .put(
                "/resources/tb1/dut",
                json!({"properties": {"ip": "192.0.2.1", "password": "pw-XYZZY-1", "snmp": "comm-PLUGH"}, "secret_keys": ["snmp"]}),
            )
            .await;
        assert_eq!(s, 201);
        assert_eq!(n["secrets"], json!(["password", "snmp"]));
        assert!(!n.to_string().contains("XYZZY"));
        for api in [&admin, &viewer, &eng] {
            let (_, d) = api.get("/resources/tb1/dut").await;
            assert!(
                !d.to_string().contains("XYZZY") && !d.to_string().contains("PLUGH"),
                "{d}"
            );
            let (_, p) = api.get("/resources/tb1/dut:password").await;
            assert_eq!(p["value"], Value::Null);
            assert_eq!(p["secret"], true);
        }
        // Revealing needs the right and is audited.
        assert_eq!(viewer.get("/resources/tb1/dut?reveal=true").await.0, 403);
        let (s, d) = eng.get("/resources/tb1/dut?reveal=true").await;
        assert_eq!(s, 200);
        assert_eq!(d["properties"]["password"], "pw-XYZZY-1");
        let (_, p) = eng.get("/resources/tb1/dut:snmp?reveal=true").await;
        assert_eq!(p["value"], "comm-PLUGH");
        // Exports omit them unless revealed.
        let (_, plain) = admin.get("/inventory/export?format=native").await;
        assert!(!plain.to_string().contains("XYZZY"));
        let (_, v3) = admin.get("/inventory/export?format=twister-v3").await;
        assert!(!v3.to_string().contains("XYZZY"));
        let (_, full) = admin.get("/inventory/export?format=native&reveal=true").await;
        assert!(full.to_string().contains("XYZZY"));
        assert_eq!(viewer.get("/inventory/export?reveal=true").await.0, 403);
        // A GET-then-PUT of the visible properties keeps the secrets.
        let (_, d) = admin.get("/resources/tb1/dut").await;
        admin
            .put(
                "/resources/tb1/dut",
                json!({"properties": d["properties"], "replace": true}),
            )
            .await;
        let (_, p) = admin.get("/resources/tb1/dut:password?reveal=true").await;
        assert_eq!(p["value"], "pw-XYZZY-1");
        // The audit log records reveals and changes but never a secret value.
        let (_, audit) = admin.get("/audit?limit=1000").await;
        let text = audit.to_string();
        assert!(
            !text.contains("XYZZY") && !text.contains("PLUGH"),
            "secret in audit: {text}"
        );
        assert!(audit
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "secret.reveal" && e["actor"] == "erin"));
        c.stop().await;
    }
}

/// An inventory in the original Twister v3 shape (as its resource allocator saved it).
fn original_v3() -> Value {
    json!({
        "path": [], "version": 4, "meta": {}, "name": "/",
        "children": {
            "tb1": {"path": ["tb1"], "meta": {"epnames": "EP-1001;"}, "id": "f1950165cd", "children": {
                "dev_1": {"path": ["tb1", "dev_1"], "meta": {"name": "switch"}, "id": "0c651e3670", "children": {}},
                "dev_2": {"path": ["tb1", "dev_2"], "meta": {"IP": "10.0.0.1", "port": "23", "Pass": "test123"}, "id": "020a090a58", "children": {
                    "module1": {"meta": {"type": "module"}, "id": "ed097d6d56", "children": {}}
                }}
            }},
            "tb2": {"meta": {}, "id": "2d0d54183d", "children": {}}
        }
    })
}

#[tokio::test]
async fn import_and_export_round_trip() {
    for b in backends().await {
        let c = TestController::start(&b).await;
        let api = c.admin().await;
        let (s, r) = api
            .post("/inventory/import?format=twister-v3", original_v3())
            .await;
        assert_eq!(s, 200, "{r}");
        assert_eq!(r["created"], 5);
        let (_, n) = api.get("/resources/tb1/dev_2").await;
        assert_eq!(n["id"], "020a090a58", "original ids are kept");
        assert_eq!(n["properties"]["IP"], "10.0.0.1");
        assert_eq!(n["secrets"], json!(["Pass"]), "password-like keys become secret");
        assert_eq!(
            api.get("/resources/~ed097d6d56").await.1["path"],
            "/tb1/dev_2/module1"
        );
        let (_, v3) = api.get("/inventory/export?format=twister-v3&reveal=true").await;
        assert_eq!(v3["children"]["tb1"]["children"]["dev_2"]["meta"]["port"], "23");
        assert_eq!(v3["children"]["tb1"]["children"]["dev_2"]["id"], "020a090a58");
        assert_eq!(
            v3["children"]["tb1"]["children"]["dev_2"]["path"],
            json!(["tb1", "dev_2"])
        );

        // Native export → wipe → import → export is identical (ids, properties, secrets).
        api.put(
            "/resources/tb2/x",
            json!({"properties": {"k": "v", "token": "t0k"}, "secret_keys": ["k"]}),
        )
        .await;
        let (_, first) = api.get("/inventory/export?format=native&reveal=true").await;
        let (s, r) = api
            .post(
                "/inventory/import?format=native&mode=replace",
                json!({"format": "twister-inventory", "version": 1, "nodes": []}),
            )
            .await;
        assert_eq!(s, 200, "{r}");
        assert_eq!(api.get("/resources").await.1["children"], json!([]));
        assert_eq!(
            api.post("/inventory/import?format=native", first.clone()).await.0,
            200
        );
        let (_, second) = api.get("/inventory/export?format=native&reveal=true").await;
        assert_eq!(first, second);

        // The 2013 v2 tree (numeric status per node) round-trips its tree and properties too.
        let (_, v2) = api.get("/inventory/export?format=twister-v2&reveal=true").await;
        assert_eq!(v2["name"], "/");
        assert_eq!(v2["children"]["tb1"]["children"]["dev_2"]["id"], "020a090a58");
        assert_eq!(v2["children"]["tb1"]["children"]["dev_2"]["status"], 1);
        assert!(v2["children"]["tb1"].get("path").is_none());
        api.post(
            "/inventory/import?format=native&mode=replace",
            json!({"format": "twister-inventory", "version": 1, "nodes": []}),
        )
        .await;
        let (s, r) = api.post("/inventory/import?format=twister-v2", v2).await;
        assert_eq!(s, 200, "{r}");
        let (_, third) = api.get("/inventory/export?format=native&reveal=true").await;
        assert_eq!(first, third);

        // A flat id map (each node naming its parent) is read as v2 too.
        let flat = json!({
            "1": {"name": "/", "parent": "", "meta": {}, "status": 1},
            "aa01": {"name": "flatbed", "parent": "1", "meta": {"site": "B"}, "status": 3},
            "aa02": {"name": "box", "parent": "aa01", "meta": {"ip": "10.1.1.1"}, "status": 1}
        });
        let (s, r) = api.post("/inventory/import?format=twister-v2", flat).await;
        assert_eq!(s, 200, "{r}");
        let (s, n) = api.get("/resources/flatbed/box").await;
        assert_eq!(s, 200, "{n}");
        assert_eq!(n["id"], "aa02");
        assert_eq!(n["properties"]["ip"], "10.1.1.1");
        // Status codes are history, not live state: an imported "reserved" node is free.
        assert_eq!(api.get("/resources/flatbed").await.1["status"], "free");
        api.delete("/resources/flatbed").await;

        // Bad documents are 400s and change nothing.
        let (s, e) = api
            .post("/inventory/import?format=twister-v3", json!({"nope": 1}))
            .await;
        assert_eq!(s, 400, "{e}");
        let (s, _) = api
            .post(
                "/inventory/import?format=twister-v3",
                json!({"children": {"a/b": {}}}),
            )
            .await;
        assert_eq!(s, 400);
        let (s, _) = api.post("/inventory/import?format=native", json!({"format": "twister-inventory", "version": 1, "nodes": [{"id": "q", "path": "/orphan/child"}]})).await;
        assert_eq!(s, 400, "a child without its parent");
        let (_, after) = api.get("/inventory/export?format=native&reveal=true").await;
        assert_eq!(first, after);
        c.stop().await;
    }
}

#[tokio::test]
async fn bad_input_never_gives_500() {
    for b in backends().await {
        let c = TestController::start(&b).await;
        let api = c.admin().await;
        api.put("/resources/tb1/dev1", json!({})).await;
        let cases: Vec<(Method, &str, Option<&str>, &str)> = vec![
            (
                Method::PUT,
                "/resources/tb1",
                Some("{\"properties\": 5}"),
                "application/json",
            ),
            (
                Method::PUT,
                "/resources/tb1",
                Some("not json"),
                "application/json",
            ),
            (Method::PUT, "/resources/tb1", Some("{}"), "text/plain"),
            (
                Method::PUT,
                "/resources/tb1",
                Some("{\"properties\": {\"a\": 1}}"),
                "application/json",
            ),
            (
                Method::POST,
                "/reservations",
                Some("{\"path\": 7}"),
                "application/json",
            ),
            (
                Method::POST,
                "/reservations",
                Some("{\"path\": \"/tb1\", \"duration_s\": -5}"),
                "application/json",
            ),
            (
                Method::POST,
                "/reservations",
                Some("{\"path\": \"/tb1\", \"duration_s\": 99999999999}"),
                "application/json",
            ),
            (
                Method::POST,
                "/reservations",
                Some("{\"path\": \"/tb1:x\"}"),
                "application/json",
            ),
            (
                Method::POST,
                "/reservations",
                Some("{\"path\": \"\\u0000\"}"),
                "application/json",
            ),
            (Method::GET, "/reservations?since=yesterday", None, ""),
            (Method::GET, "/reservations?state=bogus", None, ""),
            (Method::GET, "/reservations?limit=abc", None, ""),
            (Method::GET, "/audit?until=x", None, ""),
            (Method::GET, "/inventory/export?format=xml", None, ""),
            (
                Method::POST,
                "/inventory/import?mode=wipe",
                Some("{}"),
                "application/json",
            ),
            (Method::DELETE, "/reservations/..%2F..%2Fetc", None, ""),
            (Method::GET, "/resources/%FF%FE", None, ""),
            (Method::GET, "/resources/tb1/dev1:", None, ""),
            (
                Method::POST,
                "/resources/tb1/frobnicate",
                Some("{}"),
                "application/json",
            ),
            (
                Method::POST,
                "/resources/tb1/rename",
                Some("{}"),
                "application/json",
            ),
            (Method::PATCH, "/resources/tb1", Some("{}"), "application/json"),
            (Method::GET, "/no/such/route", None, ""),
            (
                Method::PUT,
                "/users/admin/password",
                Some("{\"new_password\": \"\"}"),
                "application/json",
            ),
            (
                Method::POST,
                "/tokens",
                Some("{\"name\": \"x\", \"paths\": [\"/a//b\"]}"),
                "application/json",
            ),
            (
                Method::POST,
                "/tokens",
                Some("{\"name\": \"x\", \"expires_in_s\": 0}"),
                "application/json",
            ),
        ];
        let client = reqwest::Client::new();
        for (m, path, body, ct) in cases {
            let mut req = client
                .request(m.clone(), format!("{}/api/v1{path}", c.url))
                .bearer_auth(api.token.as_ref().unwrap());
            if let Some(b) = body {
                req = req.header("content-type", ct).body(b.to_string());
            }
            let resp = req.send().await.unwrap();
            let status = resp.status().as_u16();
            let text = resp.text().await.unwrap();
            assert!(
                (400..500).contains(&status),
                "[{}] {m} {path}: {status} {text}",
                b.name
            );
            let v: Value =
                serde_json::from_str(&text).unwrap_or_else(|_| panic!("{m} {path}: not JSON: {text}"));
            assert!(
                v["error"]["code"].is_string() && v["error"]["message"].is_string(),
                "{m} {path}: {v}"
            );
        }
        // Oversized bodies are refused with 413.
        let big = format!(
            "{{\"properties\": {{\"a\": \"{}\"}}}}",
            "x".repeat(2 * 1024 * 1024)
        );
        let resp = client
            .put(format!("{}/api/v1/resources/tb1", c.url))
            .bearer_auth(api.token.as_ref().unwrap())
            .header("content-type", "application/json")
            .body(big)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 413);
        // The server is still healthy.
        assert_eq!(api.get("/health").await.0, 200);
        c.stop().await;
    }
}

#[tokio::test]
async fn audit_metrics_and_events() {
    for b in backends().await {
        let c = TestController::start(&b).await;
        let api = c.admin().await;
        // Subscribe to events first.
        let mut req =
            tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(format!(
                "{}/api/v1/events?topics=inventory,reservations",
                c.url.replace("http", "ws")
            ))
            .unwrap();
        req.headers_mut().insert(
            "Authorization",
            format!("Bearer {}", api.token.as_ref().unwrap()).parse().unwrap(),
        );
        let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
        let hello = ws.next().await.unwrap().unwrap();
        assert!(hello.to_text().unwrap().contains("hello"));

        api.put("/resources/tb1/dev1", json!({"properties": {"ip": "1"}}))
            .await;
        api.put("/resources/tb1/dev1", json!({"properties": {"ip": "2"}}))
            .await;
        let (s, r) = api.reserve("/tb1", 60, false).await;
        assert_eq!(s, 201, "{r}");
        let mut kinds = Vec::new();
        while kinds.len() < 5 {
            let m = tokio::time::timeout(std::time::Duration::from_secs(5), ws.next())
                .await
                .unwrap()
                .unwrap()
                .unwrap();
            let v: Value = serde_json::from_str(m.to_text().unwrap()).unwrap();
            kinds.push(v["kind"].as_str().unwrap().to_string());
        }
        assert!(kinds.contains(&"resource.created".to_string()), "{kinds:?}");
        assert!(kinds.contains(&"resource.updated".to_string()), "{kinds:?}");
        assert!(kinds.contains(&"reservation.granted".to_string()), "{kinds:?}");

        // Audit: who, when, before and after.
        let (_, a) = api.get("/audit?target=/tb1/dev1&action=resource.update").await;
        let e = &a.as_array().unwrap()[0];
        assert_eq!(e["actor"], "admin");
        assert_eq!(e["before"], json!({"ip": "1"}));
        assert_eq!(e["after"], json!({"ip": "2"}));
        let (_, a) = api.get("/audit?target=/tb1&recursive=true").await;
        assert!(a.as_array().unwrap().len() >= 4);
        let (_, a) = api.get("/audit?action=reservation.").await;
        assert_eq!(a.as_array().unwrap().len(), 1);
        let viewer = c.user("vi", "viewer").await;
        assert_eq!(viewer.get("/audit").await.0, 200);

        // Metrics in Prometheus text format, for tokens with view_metrics.
        let resp = reqwest::Client::new()
            .get(format!("{}/metrics", c.url))
            .bearer_auth(api.token.as_ref().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert!(resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain"));
        let text = resp.text().await.unwrap();
        assert!(text.contains("twister_reservations_active 1"), "{text}");
        assert!(text.contains("twister_inventory_nodes 2"), "{text}");
        assert!(text.contains("route=\"/api/v1/resources/{*path}\""), "{text}");
        let resp = reqwest::Client::new()
            .get(format!("{}/metrics", c.url))
            .bearer_auth(viewer.token.as_ref().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 403);
        c.stop().await;
    }
}

/// Every operation in the OpenAPI document, called by an admin with junk in its path and body, answers with a
/// JSON 4xx (or a 2xx), never a 5xx.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_survives_junk() {
    let c = TestController::start(&Backend {
        name: "sqlite",
        url: String::new(),
    })
    .await;
    let admin = c.admin().await;
    let (_, doc) = admin.get("/openapi.json").await;
    let junk_params = [
        "x",
        "..%2F..%2Fetc%2Fpasswd",
        "%00",
        "~",
        "a%3Ab%3Ac",
        &"z".repeat(3000),
    ];
    let junk_bodies: [Option<Value>; 5] = [
        None,
        Some(json!({})),
        Some(json!([1, 2, 3])),
        Some(json!({"name": 7, "path": null, "suites": "x", "project": ["p"], "value": {"a": 1}})),
        Some(json!("\u{0}".repeat(10))),
    ];
    let mut calls = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            if path.ends_with("/auth/logout") {
                continue; // would end the admin's session mid-test
            }
            for p in junk_params {
                let concrete = path
                    .trim_start_matches("/api/v1")
                    .split('/')
                    .map(|seg| {
                        if seg.starts_with('{') {
                            p.to_string()
                        } else {
                            seg.to_string()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("/");
                for body in &junk_bodies {
                    let (status, _, resp) = admin.send(m.clone(), &concrete, body.clone(), &[]).await;
                    calls += 1;
                    assert!(status < 500, "{method} {concrete} with {body:?}: {status} {resp}");
                    if status >= 400 {
                        assert!(
                            resp["error"]["code"].is_string(),
                            "{method} {concrete}: not a JSON error: {resp}"
                        );
                    }
                }
            }
        }
    }
    assert!(calls > 500, "only {calls} calls");
    c.stop().await;
}
