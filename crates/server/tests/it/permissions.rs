//! The permission table: role × scope × position in the tree × action → allowed?
//! Rows outside the caller's scope answer 404 (never 403); a missing permission answers 403.

use serde_json::json;

use crate::support::spawn_app;

/// Units of the demo tree used below.
const DISTRICT: &str = "110101";
const STREET_A: &str = "110101001"; // 东华门街道
const STREET_B: &str = "110101002"; // 景山街道
const COMM_A: &str = "110101001001"; // 多福巷社区
const COMM_B: &str = "110101001002"; // 银闸社区 (same street, the neighbour)
const GRID_A1: &str = "110101001001001";
const GRID_A2: &str = "110101001001002";
const DEPT: &str = "110101B01";

#[tokio::test]
async fn read_org_units_by_role_and_position() {
    let t = spawn_app().await;
    // (user, unit code, expected status)
    let table: &[(&str, &str, u16)] = &[
        ("admin", DISTRICT, 200),
        ("admin", GRID_A2, 200),
        ("dongcheng", STREET_B, 200),
        ("dongcheng", DEPT, 200),
        ("donghuamen", COMM_B, 200),
        ("donghuamen", STREET_B, 404),
        ("donghuamen", DISTRICT, 404),
        ("duofuxiang", COMM_A, 200),
        ("duofuxiang", GRID_A2, 200),
        ("duofuxiang", COMM_B, 404),   // neighbouring community
        ("duofuxiang", STREET_A, 404), // the street above
        ("grid01", GRID_A1, 200),
        ("grid01", GRID_A2, 404), // another grid of the same community
        ("grid01", COMM_A, 404),
        ("chengguan", DEPT, 200),
        ("chengguan", DISTRICT, 404),
        ("auditor", COMM_A, 200),
        ("hotline", COMM_B, 200),
    ];
    for (user, code, want) in table {
        let c = t.login(user).await;
        let id = t.unit_id(code).await;
        let r = c.get(&format!("/api/v1/org-units/{id}")).await;
        assert_eq!(r.status, *want, "{user} GET unit {code}: {}", r.text);
        if *want == 404 {
            assert_eq!(r.key(), "not_found");
        }
    }
}

#[tokio::test]
async fn lists_are_scoped() {
    let t = spawn_app().await;
    let c = t.login("duofuxiang").await;
    let r = c.get("/api/v1/org-units?limit=200").await;
    assert_eq!(r.status, 200);
    let codes: Vec<&str> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&COMM_A));
    assert!(
        codes.iter().all(|c| c.starts_with(COMM_A)),
        "only the community and its grids: {codes:?}"
    );

    let r = c.get("/api/v1/users?limit=200").await;
    let names: Vec<&str> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"grid01") && names.contains(&"duofuxiang"),
        "{names:?}"
    );
    assert!(
        !names.contains(&"yinsi"),
        "the neighbour's worker is invisible: {names:?}"
    );
    let yinsi = t.user_id("yinsi").await;
    assert_eq!(c.get(&format!("/api/v1/users/{yinsi}")).await.status, 404);

    // Children of a unit out of reach are not listed either.
    let street_b = t.unit_id(STREET_B).await;
    assert_eq!(
        c.get(&format!("/api/v1/org-units/{street_b}/children"))
            .await
            .status,
        404
    );

    // A grid worker has no user.read at all.
    let g = t.login("grid01").await;
    let r = g.get("/api/v1/users").await;
    assert_eq!((r.status, r.key()), (403, "forbidden"));

    // Keyset pagination walks the whole scope without repeats.
    let a = t.login("admin").await;
    let mut seen = std::collections::HashSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(cur) => format!("/api/v1/org-units?limit=50&cursor={cur}"),
            None => "/api/v1/org-units?limit=50".to_string(),
        };
        let r = a.get(&path).await;
        assert_eq!(r.status, 200, "{}", r.text);
        for u in r.body["items"].as_array().unwrap() {
            assert!(
                seen.insert(u["id"].as_str().unwrap().to_string()),
                "duplicate across pages"
            );
        }
        match r.body["next_cursor"].as_str() {
            Some(n) => cursor = Some(n.to_string()),
            None => break,
        }
    }
    let total = linli_store::repo::org::count_all(&t.app.db).await.unwrap();
    assert_eq!(
        seen.len() as i64,
        total,
        "admin sees every unit exactly once"
    );
}

#[tokio::test]
async fn three_administrators_are_separated() {
    let t = spawn_app().await;
    let admin = t.login("admin").await;
    let sec = t.login("secadmin").await;
    let auditor = t.login("auditor").await;

    // Only the auditor reads the trail.
    assert_eq!(admin.get("/api/v1/audit").await.status, 403);
    assert_eq!(sec.get("/api/v1/audit").await.status, 403);
    assert_eq!(
        t.login("dongcheng").await.get("/api/v1/audit").await.status,
        403
    );
    let r = auditor.get("/api/v1/audit?limit=5").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["items"].as_array().unwrap().len(), 5);
    assert_eq!(auditor.get("/api/v1/audit/verify").await.status, 200);

    let root = linli_store::repo::org::root(&t.app.db)
        .await
        .unwrap()
        .unwrap()
        .id
        .to_string();
    let admin_id = t.user_id("admin").await;
    let sec_id = t.user_id("secadmin").await;
    let worker = t.user_id("duofuxiang").await;
    let grant = |role: &str, unit: &str| json!({"role": role, "unit_id": unit, "scope": "subtree"});

    // The system administrator cannot make anyone an auditor, least of all themselves.
    let r = admin
        .post(
            &format!("/api/v1/users/{admin_id}/roles"),
            grant("audit_admin", &root),
        )
        .await;
    assert_eq!((r.status, r.key()), (422, "self_grant"));
    let r = admin
        .post(
            &format!("/api/v1/users/{worker}/roles"),
            grant("audit_admin", &root),
        )
        .await;
    assert_eq!((r.status, r.key()), (403, "forbidden"));
    // …nor any business role: those carry case permissions it does not hold itself.
    let street = t.unit_id(STREET_A).await;
    let r = admin
        .post(
            &format!("/api/v1/users/{worker}/roles"),
            grant("street_staff", &street),
        )
        .await;
    assert_eq!((r.status, r.key()), (403, "forbidden"));
    // The security administrator grants business roles, on units related to the account.
    let comm_b = t.unit_id(COMM_B).await;
    let r = sec
        .post(
            &format!("/api/v1/users/{worker}/roles"),
            grant("community_staff", &comm_b),
        )
        .await;
    assert_eq!(
        r.status, 422,
        "unrelated unit for a staff account: {}",
        r.text
    );
    let r = sec
        .post(
            &format!("/api/v1/users/{worker}/roles"),
            grant("street_staff", &street),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);

    // The security administrator grants any role, never to themselves.
    let r = sec
        .post(
            &format!("/api/v1/users/{sec_id}/roles"),
            grant("sys_admin", &root),
        )
        .await;
    assert_eq!((r.status, r.key()), (422, "self_grant"));
    let r = sec
        .post(
            &format!("/api/v1/users/{worker}/roles"),
            grant("audit_admin", &street),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);

    // Every grant made (bootstrap, demo, the two above) left its trace for the auditor.
    let r = auditor
        .get("/api/v1/audit?action=role.grant&limit=50")
        .await;
    assert_eq!(
        r.body["items"].as_array().unwrap().len(),
        2 + linli_app::bootstrap::DEMO_USERS.len() + 1
    );
}

#[tokio::test]
async fn writes_are_scoped_too() {
    let t = spawn_app().await;
    let street_staff = t.login("donghuamen").await;
    let comm_a = t.unit_id(COMM_A).await;
    // Street staff have org.read but not org.manage.
    let r = street_staff.post("/api/v1/org-units", json!({"parent_id": comm_a, "kind": "grid", "code": "110101001001009", "name": "新网格"})).await;
    assert_eq!(r.status, 403);

    let admin = t.login("admin").await;
    let r = admin.post("/api/v1/org-units", json!({"parent_id": comm_a, "kind": "grid", "code": "110101001001009", "name": "新网格"})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_string();
    // Wrong level, wrong code, duplicate code.
    let r = admin
        .post(
            "/api/v1/org-units",
            json!({"parent_id": comm_a, "kind": "street", "code": "110101009", "name": "x"}),
        )
        .await;
    assert_eq!((r.status, r.key()), (422, "kind_not_allowed"));
    let r = admin
        .post(
            "/api/v1/org-units",
            json!({"parent_id": comm_a, "kind": "grid", "code": "110101001002009", "name": "x"}),
        )
        .await;
    assert_eq!((r.status, r.key()), (422, "invalid_code"));
    let r = admin
        .post(
            "/api/v1/org-units",
            json!({"parent_id": comm_a, "kind": "grid", "code": "110101001001009", "name": "x"}),
        )
        .await;
    assert_eq!((r.status, r.key()), (409, "conflict"));

    // Optimistic versions: the second writer with the same version gets 409.
    let r1 = admin
        .patch(
            &format!("/api/v1/org-units/{id}"),
            json!({"version": 1, "name": "多福巷第九网格"}),
        )
        .await;
    assert_eq!(r1.status, 200, "{}", r1.text);
    let r2 = admin
        .patch(
            &format!("/api/v1/org-units/{id}"),
            json!({"version": 1, "name": "另一个名字"}),
        )
        .await;
    assert_eq!((r2.status, r2.key()), (409, "stale_version"));

    // The community worker cannot create accounts anywhere; the admin cannot create one in a
    // unit that does not exist.
    let w = t.login("duofuxiang").await;
    let body = json!({"username": "newbie", "display_name": "新人", "unit_id": comm_a, "password": "First-Day-2026"});
    assert_eq!(w.post("/api/v1/users", body.clone()).await.status, 403);
    let r = admin.post("/api/v1/users", json!({"username": "newbie", "display_name": "新人", "unit_id": uuid::Uuid::now_v7(), "password": "First-Day-2026"})).await;
    assert_eq!(r.status, 404);
    assert_eq!(admin.post("/api/v1/users", body).await.status, 201);
}

/// Grants are cached per user and version: a role granted or revoked counts from the holder's
/// very next request, in the session they already have.
#[tokio::test]
async fn a_granted_or_revoked_role_counts_on_the_next_request() {
    let t = spawn_app().await;
    let sec = t.login("secadmin").await;
    let worker = t.login("duofuxiang").await;
    let worker_id = t.user_id("duofuxiang").await;
    let comm_b = format!("/api/v1/org-units/{}", t.unit_id(COMM_B).await);
    let street = t.unit_id(STREET_A).await;
    // The neighbouring community is out of reach (and the grants are now cached).
    assert_eq!(worker.get(&comm_b).await.status, 404);
    assert_eq!(worker.get(&comm_b).await.status, 404);

    let r = sec
        .post(
            &format!("/api/v1/users/{worker_id}/roles"),
            json!({"role": "street_staff", "unit_id": street, "scope": "subtree"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let assignment = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(worker.get(&comm_b).await.status, 200);

    let r = sec
        .delete(&format!("/api/v1/role-assignments/{assignment}"))
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(worker.get(&comm_b).await.status, 404);
}
