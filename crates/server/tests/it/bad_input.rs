//! Hostile and malformed input gets a clear 4xx with an error key — never a 500, never a
//! partial write.

use serde_json::json;

use crate::support::spawn_app;

#[tokio::test]
async fn malformed_requests_get_clear_errors() {
    let t = spawn_app().await;
    let admin = t.login("admin").await;
    let csrf = admin.csrf.clone().unwrap();
    let url = format!("{}/api/v1/org-units", t.base);
    let before = linli_store::repo::org::count_all(&t.app.db).await.unwrap();

    let raw = |body: Vec<u8>, ctype: &'static str| {
        admin
            .http
            .post(url.clone())
            .header("content-type", ctype)
            .header("x-csrf-token", csrf.clone())
            .body(body)
    };
    let cases: Vec<(Vec<u8>, &str, u16, &str)> = vec![
        (b"{not json".to_vec(), "application/json", 400, "invalid_json"),
        (b"{\"parent_id\": 5}".to_vec(), "application/json", 422, "invalid_fields"),
        (br#"{"parent_id":"00000000-0000-0000-0000-000000000000","kind":"grid","code":"1","name":"x","extra":1}"#.to_vec(), "application/json", 422, "invalid_fields"),
        (vec![b'{', b'"', 0xff, 0xfe, b'"', b':', b'1', b'}'], "application/json", 400, "invalid_json"),
        (b"name=x".to_vec(), "text/plain", 415, "unsupported_media_type"),
        (vec![b' '; 2 << 20], "application/json", 413, "body_too_large"),
    ];
    for (body, ctype, status, key) in cases {
        let r = raw(body, ctype).send().await.unwrap();
        let got = r.status().as_u16();
        let v: serde_json::Value = r.json().await.unwrap_or_default();
        assert_eq!(
            (got, v["error"].as_str().unwrap_or("")),
            (status, key),
            "{v}"
        );
        assert!(!v["message"].as_str().unwrap_or("").is_empty());
    }

    // SQL metacharacters are data, not SQL.
    let comm = t.unit_id("110101001001").await;
    for q in [
        "' OR 1=1 --",
        "%",
        "_",
        "\\",
        "'; DROP TABLE users; --",
        "多福巷' UNION SELECT",
    ] {
        let r = admin
            .get(&format!("/api/v1/org-units?q={}", urlencode(q)))
            .await;
        assert_eq!(r.status, 200, "{q}: {}", r.text);
        assert!(
            r.body["items"].as_array().unwrap().is_empty(),
            "{q} matches nothing"
        );
    }
    let r = admin.post("/api/v1/org-units", json!({"parent_id": comm, "kind": "grid", "code": "110101001001006", "name": "'; DROP TABLE org_units; --"})).await;
    assert_eq!(r.status, 201, "stored verbatim: {}", r.text);
    assert_eq!(r.body["name"], "'; DROP TABLE org_units; --");

    // Very long strings are refused with a reason.
    let r = admin.post("/api/v1/org-units", json!({"parent_id": comm, "kind": "grid", "code": "110101001001005", "name": "长".repeat(10_000)})).await;
    assert_eq!((r.status, r.key()), (422, "invalid_name"));
    let r = admin
        .get(&format!("/api/v1/org-units?q={}", "x".repeat(500)))
        .await;
    assert_eq!((r.status, r.key()), (422, "query_too_long"));
    let r = admin
        .post(
            "/api/v1/session",
            json!({"username": "a".repeat(100_000), "password": "b"}),
        )
        .await;
    assert_eq!(r.status, 401);

    // Bad ids, cursors, enums and limits.
    assert_eq!(admin.get("/api/v1/org-units/not-a-uuid").await.status, 404);
    assert_eq!(admin.get("/api/v1/org-units?cursor=%%%").await.status, 422);
    let r = admin.get("/api/v1/org-units?cursor=@@@").await;
    assert_eq!((r.status, r.key()), (422, "invalid_cursor"));
    let r = admin.get("/api/v1/org-units?kind=galaxy").await;
    assert_eq!((r.status, r.key()), (422, "invalid_kind"));
    let r = admin.get("/api/v1/org-units?limit=100000").await;
    assert_eq!(r.status, 200);
    assert!(
        r.body["items"].as_array().unwrap().len() <= 200,
        "page size is capped"
    );
    let r = admin.get("/api/v1/org-units?limit=abc").await;
    assert_eq!((r.status, r.key()), (400, "invalid_query"));
    let r = admin.get("/api/v1/audit?from=yesterday").await;
    assert_eq!(r.status, 403, "not the auditor");
    let r = t
        .login("auditor")
        .await
        .get("/api/v1/audit?from=yesterday")
        .await;
    assert_eq!((r.status, r.key()), (422, "invalid_time"));
    let r = admin.get("/api/v1/nope").await;
    assert_eq!((r.status, r.key()), (404, "not_found"));
    let r = admin.post("/api/v1/users", json!({"username": "bad name!", "display_name": "x", "unit_id": comm, "password": "Good-Pass-2026"})).await;
    assert_eq!((r.status, r.key()), (422, "invalid_username"));
    let r = admin.post("/api/v1/users", json!({"username": "weakling", "display_name": "x", "unit_id": comm, "password": "password"})).await;
    assert_eq!((r.status, r.key()), (422, "weak_password"));

    // Exactly one unit was added by all of the above.
    assert_eq!(
        linli_store::repo::org::count_all(&t.app.db).await.unwrap(),
        before + 1
    );
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test]
async fn health_metrics_and_openapi() {
    let t = spawn_app().await;
    let c = t.client();
    assert_eq!(c.get_html("/healthz").await.status, 200);
    assert_eq!(c.get_html("/readyz").await.status, 200);
    let m = c.get_html("/metrics").await;
    assert!(m.text.contains("linli_http_requests_total"), "{}", m.text);
    assert!(m.text.contains("route=\"/readyz\""));
    let api = c.get("/api/v1/openapi.json").await;
    assert_eq!(api.status, 200);
    for path in [
        "/api/v1/session",
        "/api/v1/org-units/{id}",
        "/api/v1/users/{id}/roles",
        "/api/v1/audit/verify",
        "/api/v1/tokens",
    ] {
        assert!(api.body["paths"][path].is_object(), "{path} documented");
    }
    // Snapshot: docs/openapi.json is the published contract. Regenerate deliberately with
    // LINLI_UPDATE_SNAPSHOTS=1 after an intended API change, and review the diff.
    let snap = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json");
    let pretty = serde_json::to_string_pretty(&api.body).unwrap() + "\n";
    if std::env::var("LINLI_UPDATE_SNAPSHOTS").is_ok() {
        std::fs::write(&snap, &pretty).unwrap();
    }
    let stored: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&snap).unwrap_or_default())
            .unwrap_or_default();
    assert!(
        stored == api.body,
        "the API changed: review it and regenerate docs/openapi.json (LINLI_UPDATE_SNAPSHOTS=1)"
    );
    let ui = c.get_html("/api/docs").await;
    assert!(ui.text.contains("swagger-ui-bundle.js"));
    let js = c.get_html("/static/vendor/htmx/htmx.min.js").await;
    assert_eq!(js.status, 200);
    assert!(js.text.len() > 10_000);
}
