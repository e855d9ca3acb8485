//! The audit trail: written with every change, hash-chained, and tamper-evident.

use linli_domain::audit::Break;
use serde_json::json;

use crate::support::spawn_app;

#[tokio::test]
async fn changes_are_audited_and_tampering_is_found() {
    let t = spawn_app().await;
    let admin = t.login("admin").await;
    let comm = t.unit_id("110101001001").await;
    let r = admin.post("/api/v1/org-units", json!({"parent_id": comm, "kind": "grid", "code": "110101001001007", "name": "审计测试网格"})).await;
    assert_eq!(r.status, 201);
    let unit_id = r.body["id"].as_str().unwrap().to_string();

    let auditor = t.login("auditor").await;
    let r = auditor
        .get(&format!("/api/v1/audit?target={unit_id}"))
        .await;
    let items = r.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", r.text);
    let e = &items[0];
    assert_eq!(e["action"], "org.create");
    assert_eq!(e["username"], "admin");
    assert_eq!(e["result"], "ok");
    assert!(
        !e["request_id"].as_str().unwrap().is_empty(),
        "request id recorded"
    );
    assert_eq!(e["ip"], "127.0.0.1");

    // Intact: every chain verifies.
    let reports = linli_app::audit::verify(&t.app).await.unwrap();
    assert!(reports.iter().all(|r| r.broken.is_none()), "{reports:?}");
    let chain = e["chain"].as_str().unwrap().to_string();
    let seq = e["seq"].as_i64().unwrap();

    // Someone with database access edits the row. (SQLite refuses edits by trigger: the
    // attacker drops it first.)
    if t.app.db.engine() == linli_store::Engine::Sqlite {
        t.app
            .db
            .execute("DROP TRIGGER audit_log_no_update", vec![])
            .await
            .unwrap();
    } else {
        // PostgreSQL has no trigger; nothing to remove.
    }
    t.app
        .db
        .execute(
            "UPDATE audit_log SET username = 'someone_else' WHERE chain = $1 AND seq = $2",
            linli_store::args![chain.clone(), seq],
        )
        .await
        .unwrap();
    let reports = linli_app::audit::verify(&t.app).await.unwrap();
    let broken = reports.iter().find(|r| r.chain == chain).unwrap();
    assert_eq!(broken.broken, Some(Break::Altered { seq }));
    assert_eq!(
        broken.verified,
        seq - 1,
        "links before the edit still verify"
    );
    let r = auditor.get("/api/v1/audit/verify").await;
    let bad: Vec<_> = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["ok"] == false)
        .collect();
    assert_eq!(bad.len(), 1);
    assert!(
        bad[0]["broken"]
            .as_str()
            .unwrap()
            .contains(&format!("第 {seq} 条"))
    );
}

#[tokio::test]
async fn audit_rows_cannot_be_edited_through_sqlite() {
    let t = spawn_app().await;
    if t.app.db.engine() != linli_store::Engine::Sqlite {
        return;
    }
    let e = t
        .app
        .db
        .execute("UPDATE audit_log SET reason = 'x'", vec![])
        .await;
    assert!(e.is_err(), "the trigger refuses updates");
    let e = t.app.db.execute("DELETE FROM audit_log", vec![]).await;
    assert!(e.is_err(), "and deletes");
}

#[tokio::test]
async fn deleted_rows_break_the_chain() {
    let t = spawn_app().await;
    // The busiest chain (the platform's own, after bootstrap and the demo).
    let chain = t
        .app
        .db
        .fetch_optional(
            "SELECT chain FROM audit_heads ORDER BY seq DESC",
            vec![],
            |r| r.text("chain"),
        )
        .await
        .unwrap()
        .unwrap();
    let chain = chain.as_str();
    let n = t
        .app
        .db
        .fetch_one_i64(
            "SELECT COUNT(*) AS n FROM audit_log WHERE chain = $1",
            linli_store::args![chain],
        )
        .await
        .unwrap();
    assert!(n >= 3);
    if t.app.db.engine() == linli_store::Engine::Sqlite {
        t.app
            .db
            .execute("DROP TRIGGER audit_log_no_delete", vec![])
            .await
            .unwrap();
    }
    t.app
        .db
        .execute(
            "DELETE FROM audit_log WHERE chain = $1 AND seq = 2",
            linli_store::args![chain],
        )
        .await
        .unwrap();
    let reports = linli_app::audit::verify(&t.app).await.unwrap();
    let r = reports.iter().find(|r| r.chain == chain).unwrap();
    assert_eq!(
        r.broken,
        Some(Break::Gap {
            expected: 2,
            found: 3
        })
    );
}

#[tokio::test]
async fn concurrent_writers_keep_one_unbroken_chain() {
    let t = spawn_app().await;
    let admin = std::sync::Arc::new(t.login("admin").await);
    let comm = t.unit_id("110101001001").await;
    let mut handles = Vec::new();
    for i in 0..24 {
        let admin = admin.clone();
        let comm = comm.clone();
        handles.push(tokio::spawn(async move {
            admin.post("/api/v1/org-units", json!({"parent_id": comm, "kind": "grid", "code": format!("110101001001{:03}", 100 + i), "name": format!("并发网格{i}")})).await.status
        }));
    }
    for h in handles {
        assert_eq!(h.await.unwrap(), 201);
    }
    let reports = linli_app::audit::verify(&t.app).await.unwrap();
    assert!(reports.iter().all(|r| r.broken.is_none()), "{reports:?}");
}
