//! The case closed loop over HTTP, on whichever engine the test database is: intake, 立案,
//! dispatch with the district copy, 签收, first contact, extension, reply, failed and passed
//! verification, return visit, 重办, objection and review, pauses, the sweeper's alarms, stale
//! writes, and who may see and do what.

use serde_json::{Value, json};

use crate::support::*;

const GRID1: &str = "110101001001001";
const STREET: &str = "110101001";
const DEPT: &str = "110101B01";

async fn step(c: &Client, id: &str, action: &str, mut body: Value) -> Resp {
    if body.get("version").is_none() {
        let cur = c.get(&format!("/api/v1/cases/{id}")).await;
        body["version"] = cur.body["case"]["version"].clone();
    }
    c.post(&format!("/api/v1/cases/{id}/{action}"), body).await
}

async fn ok(c: &Client, id: &str, action: &str, body: Value) -> Value {
    let r = step(c, id, action, body).await;
    assert_eq!(r.status, 200, "{action}: {}", r.text);
    r.body
}

async fn complaint(t: &TestApp, hotline: &Client) -> Value {
    let grid = t.unit_id(GRID1).await;
    let r = hotline
        .post(
            "/api/v1/cases",
            json!({
                "channel": "hotline", "request_type": "complaint",
                "title": "小区门口垃圾堆放", "description": "多福巷小区门口垃圾三天未清运，气味很大。",
                "address": "东城区多福巷12号", "lat": 39.9165, "lng": 116.4075, "grid_id": grid,
                "requester_name": "张三丰", "requester_phone": "138-1234-5678"
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.body
}

#[tokio::test]
async fn a_complaint_goes_round_the_whole_loop() {
    let t = spawn_app().await;
    let hotline = t.login("hotline").await;
    let district = t.login("dongcheng").await;
    let street = t.login("donghuamen").await;
    let grid = t.login("grid01").await;
    let dept = t.login("chengguan").await;

    let c = complaint(&t, &hotline).await;
    let id = c["id"].as_str().unwrap().to_string();
    let number = c["number"].as_str().unwrap();
    assert!(number.starts_with("110101-20261121-"), "{number}");
    assert_eq!(number.len(), "110101-20261121-000001".len());
    assert_eq!(c["state"], "pending");
    assert_eq!(c["requester_phone"], "138****5678", "masked");
    assert_eq!(c["requester_name"], "张**");
    assert_eq!(c["lat"], 39.9165);
    assert!(!c.to_string().contains("12345678"));

    // The operator files but does not register.
    let r = step(&hotline, &id, "register", json!({})).await;
    assert_eq!((r.status, r.key()), (403, "forbidden"));
    // Not dispatchable before 立案.
    let street_id = t.unit_id(STREET).await;
    let r = step(&district, &id, "dispatch", json!({"unit_id": street_id})).await;
    assert_eq!((r.status, r.key()), (409, "invalid_state"));

    ok(&district, &id, "register", json!({})).await;
    // Before dispatch the street's department colleague cannot see it at all.
    assert_eq!(dept.get(&format!("/api/v1/cases/{id}")).await.status, 404);
    let b = ok(&district, &id, "dispatch", json!({"unit_id": street_id})).await;
    assert_eq!(b["state"], "dispatched");
    let district_id = t.unit_id("110101").await;
    assert_eq!(
        b["copy_to"],
        district_id.as_str(),
        "street dispatch copied to the district"
    );
    // Saturday 2026-11-21 16:00 + 5 working days → end of Friday 11-27.
    assert_eq!(b["deadlines"]["due_at"], "2026-11-27T16:00:00.000000Z");
    assert_eq!(b["deadlines"]["sign_due"], "2026-11-21T10:00:00.000000Z");
    let n = district.get(&format!("/api/v1/cases/{id}/notices")).await;
    let kinds: Vec<&str> = n
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, vec!["assigned", "copied"]);

    // The street signs; replying before contacting the requester is refused.
    let d = street.get(&format!("/api/v1/cases/{id}")).await;
    assert_eq!(d.status, 200);
    let acts: Vec<&str> = d.body["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(acts, vec!["sign", "object", "note"]);
    ok(&street, &id, "sign", json!({})).await;
    let r = step(&street, &id, "reply", json!({"note": "已清运"})).await;
    assert_eq!((r.status, r.key()), (409, "contact_first"));
    ok(
        &street,
        &id,
        "contact",
        json!({"note": "已电话联系诉求人，约定明早清运"}),
    )
    .await;
    // An extension of 3 working days, approved by the district.
    ok(
        &street,
        &id,
        "extend",
        json!({"days": 3, "note": "需协调环卫车辆"}),
    )
    .await;
    let r = step(&street, &id, "decide_extension", json!({"approve": true})).await;
    assert_eq!(
        r.status, 403,
        "the handler cannot approve its own extension"
    );
    let b = ok(&district, &id, "decide_extension", json!({"approve": true})).await;
    assert_eq!(b["deadlines"]["due_at"], "2026-12-02T16:00:00.000000Z");
    assert_eq!(b["counts"]["extensions"], 1);

    // Reply, a failed check by the grid worker (rework), a second reply, a passed check.
    ok(&street, &id, "reply", json!({"note": "已清运"})).await;
    let r = step(&grid, &id, "verify", json!({"passed": false})).await;
    assert_eq!((r.status, r.key()), (422, "note_required"));
    let b = ok(
        &grid,
        &id,
        "verify",
        json!({"passed": false, "note": "门口仍有垃圾"}),
    )
    .await;
    assert_eq!(
        (b["state"].as_str(), b["counts"]["reworks"].as_i64()),
        (Some("handling"), Some(1))
    );
    ok(&street, &id, "reply", json!({"note": "已彻底清运并消杀"})).await;
    let b = ok(&grid, &id, "verify", json!({"passed": true})).await;
    assert_eq!(b["state"], "closed");
    assert_eq!(b["closed_on_time"], true);

    // Return visit: unresolved → 重办 → dispatched to the department, which objects.
    ok(
        &hotline,
        &id,
        "visit",
        json!({"resolved": false, "satisfaction": "dissatisfied", "note": "又堆上了"}),
    )
    .await;
    let b = ok(
        &hotline,
        &id,
        "reopen",
        json!({"note": "诉求人反映问题反复"}),
    )
    .await;
    assert_eq!(
        (b["state"].as_str(), b["counts"]["reopens"].as_i64()),
        (Some("registered"), Some(1))
    );
    let dept_id = t.unit_id(DEPT).await;
    ok(&district, &id, "dispatch", json!({"unit_id": dept_id})).await;
    assert_eq!(
        dept.get(&format!("/api/v1/cases/{id}")).await.status,
        200,
        "now a party"
    );
    let r = step(&dept, &id, "object", json!({"ground": "duty"})).await;
    assert_eq!((r.status, r.key()), (422, "note_required"));
    ok(
        &dept,
        &id,
        "object",
        json!({"ground": "duty", "note": "垃圾清运属街道职责"}),
    )
    .await;
    let b = ok(
        &district,
        &id,
        "review",
        json!({"accept": true, "unit_id": street_id, "note": "改派街道"}),
    )
    .await;
    assert_eq!(b["state"], "dispatched");
    assert_eq!(b["handler_id"], street_id.as_str());
    assert_eq!(b["counts"]["objections"], 1);
    // The department keeps sight of what it was once given, but can no longer act.
    let d = dept.get(&format!("/api/v1/cases/{id}")).await;
    assert_eq!(d.body["actions"], json!(["note"]));

    // The timeline has one row per version, in order.
    let d = district.get(&format!("/api/v1/cases/{id}")).await;
    let tl = d.body["timeline"].as_array().unwrap();
    assert_eq!(tl.len() as i64, d.body["case"]["version"].as_i64().unwrap());
    assert_eq!(tl[0]["action"], "receive");
    assert_eq!(tl.last().unwrap()["action"], "review");
    assert!(
        tl.iter()
            .any(|e| e["action"] == "verify" && e["note"] == "门口仍有垃圾")
    );

    // Every step left an audit row on the district's chain.
    let auditor = t.login("auditor").await;
    let a = auditor.get("/api/v1/audit?action=case.dispatch").await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert!(a.body["items"].as_array().unwrap().len() >= 2);
    let v = auditor.get("/api/v1/audit/verify").await;
    assert!(
        v.body.as_array().unwrap().iter().all(|c| c["ok"] == true),
        "{}",
        v.text
    );
}

#[tokio::test]
async fn people_see_only_cases_of_their_units_and_the_phone_only_with_permission() {
    let t = spawn_app().await;
    let hotline = t.login("hotline").await;
    let c = complaint(&t, &hotline).await;
    let id = c["id"].as_str().unwrap();
    // Grid 1's worker and community see it (their grid); grid 2 and another community do not.
    assert_eq!(
        t.login("grid01")
            .await
            .get(&format!("/api/v1/cases/{id}"))
            .await
            .status,
        200
    );
    assert_eq!(
        t.login("duofuxiang")
            .await
            .get(&format!("/api/v1/cases/{id}"))
            .await
            .status,
        200
    );
    for other in ["grid02", "yinsi", "chengguan"] {
        let r = t
            .login(other)
            .await
            .get(&format!("/api/v1/cases/{id}"))
            .await;
        assert_eq!(r.status, 404, "{other}");
        let l = t.login(other).await.get("/api/v1/cases?queue=all").await;
        assert_eq!(l.body["items"].as_array().unwrap().len(), 0, "{other}");
        // Nor does it count in their queues.
        let q = t.login(other).await.get("/api/v1/cases/queues").await;
        assert_eq!(q.status, 200, "{}", q.text);
        assert!(
            q.body.as_array().unwrap().iter().all(|x| x["count"] == 0),
            "{other}: {}",
            q.text
        );
    }
    // The community counts it where it waits (待立案), and filters narrow the counts.
    let duofuxiang = t.login("duofuxiang").await;
    let q = duofuxiang.get("/api/v1/cases/queues").await;
    let pending = |b: &serde_json::Value| {
        b.as_array()
            .unwrap()
            .iter()
            .find(|x| x["queue"] == "pending")
            .map(|x| (x["count"].as_i64().unwrap(), x["label"].clone()))
            .unwrap()
    };
    assert_eq!(pending(&q.body), (1, json!("待立案")));
    let q = duofuxiang.get("/api/v1/cases/queues?channel=patrol").await;
    assert_eq!(pending(&q.body).0, 0);
    // Full contact: the operator (case.personal), audited; the grid worker may not.
    let r = hotline.get(&format!("/api/v1/cases/{id}/requester")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!({"name": "张三丰", "phone": "13812345678"}));
    let r = t
        .login("grid01")
        .await
        .get(&format!("/api/v1/cases/{id}/requester"))
        .await;
    assert_eq!(r.status, 403);
    let a = t
        .login("auditor")
        .await
        .get("/api/v1/audit?action=case.reveal_requester")
        .await;
    assert_eq!(a.body["items"].as_array().unwrap().len(), 1);
    // The phone is sealed at rest, and the caller's history is found by it.
    let raw: Vec<u8> = t
        .app
        .db
        .fetch_optional("SELECT requester_phone FROM cases", vec![], |r| {
            r.bytes("requester_phone")
        })
        .await
        .unwrap()
        .unwrap();
    assert!(!String::from_utf8_lossy(&raw).contains("1381234"));
    let h = hotline.get("/api/v1/cases?phone=13812345678").await;
    assert_eq!(h.body["items"].as_array().unwrap().len(), 1);
    let h = hotline.get("/api/v1/cases?phone=13900000000").await;
    assert_eq!(h.body["items"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn two_people_acting_at_once_one_wins() {
    let t = spawn_app().await;
    let hotline = t.login("hotline").await;
    let district = t.login("dongcheng").await;
    let id = complaint(&t, &hotline).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let body = json!({"version": 1});
    let path = format!("/api/v1/cases/{id}/register");
    let (a, b) = tokio::join!(
        district.post(&path, body.clone()),
        district.post(&path, body.clone()),
    );
    let mut st = [a.status, b.status];
    st.sort();
    assert_eq!(st, [200, 409], "{} / {}", a.text, b.text);
    let loser = if a.status == 409 { a } else { b };
    assert!(matches!(loser.key(), "stale_version" | "invalid_state"));
    // A step sent with an old version is refused and changes nothing.
    let r = district
        .post(
            &format!("/api/v1/cases/{id}/note"),
            json!({"version": 1, "note": "x"}),
        )
        .await;
    assert_eq!((r.status, r.key()), (409, "stale_version"));
    let d = district.get(&format!("/api/v1/cases/{id}")).await;
    assert_eq!(d.body["case"]["version"], 2);
}

#[tokio::test]
async fn the_sweeper_warns_and_marks_overdue_exactly_once_and_pauses_stop_it() {
    let t = spawn_app().await;
    let hotline = t.login("hotline").await;
    let district = t.login("dongcheng").await;
    let street = t.login("donghuamen").await;
    let id = complaint(&t, &hotline).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    ok(&district, &id, "register", json!({})).await;
    let street_id = t.unit_id(STREET).await;
    ok(&district, &id, "dispatch", json!({"unit_id": street_id})).await;
    ok(&street, &id, "sign", json!({})).await;
    let kinds = |t: &TestApp, id: String| {
        let db = t.app.db.clone();
        async move {
            db.fetch_all(
                "SELECT kind FROM notices WHERE case_id = $1 ORDER BY created_at, kind",
                linli_store::args![uuid::Uuid::parse_str(&id).unwrap()],
                |r| r.text("kind"),
            )
            .await
            .unwrap()
        }
    };
    // Nothing due yet.
    assert_eq!(
        linli_app::jobs::sweep_once(&t.app, "a", 60).await.unwrap(),
        Some(0)
    );
    // Thursday 11-26 18:00 is past the 80% point: one warning, whoever sweeps and how often.
    t.clock
        .set(linli_domain::calendar::cst(2026, 11, 26, 18, 0).unwrap());
    assert_eq!(
        linli_app::jobs::sweep_once(&t.app, "a", 60).await.unwrap(),
        Some(1)
    );
    assert_eq!(
        linli_app::jobs::sweep_once(&t.app, "b", 60).await.unwrap(),
        None,
        "lease held by a"
    );
    assert_eq!(
        linli_app::jobs::sweep_once(&t.app, "a", 60).await.unwrap(),
        Some(0)
    );
    // (Sessions time out while the clock jumps days: log in again after each jump.)
    let street = t.login("donghuamen").await;
    let d = street.get(&format!("/api/v1/cases/{id}")).await;
    assert_eq!(d.body["case"]["light"], "yellow");
    // Paused while waiting for the requester: the clock stops, nothing is raised.
    ok(&street, &id, "pause", json!({"note": "等待诉求人提供照片"})).await;
    t.clock
        .set(linli_domain::calendar::cst(2026, 11, 30, 9, 0).unwrap());
    assert_eq!(
        linli_app::jobs::sweep_once(&t.app, "a", 60).await.unwrap(),
        Some(0)
    );
    let street = t.login("donghuamen").await;
    assert_eq!(
        street.get(&format!("/api/v1/cases/{id}")).await.body["case"]["light"],
        "stopped"
    );
    // Resumed Monday 09:00: the clock lost Thursday 18:00–24:00, Friday and Monday 00:00–09:00
    // (39 working hours), so the deadline moves from Saturday 00:00 to Tuesday 15:00.
    let b = ok(&street, &id, "resume", json!({})).await;
    assert_eq!(b["deadlines"]["due_at"], "2026-12-01T07:00:00.000000Z");
    // Past the new deadline: one overdue mark, with its 督办 notices.
    t.clock
        .set(linli_domain::calendar::cst(2026, 12, 1, 16, 0).unwrap());
    assert_eq!(
        linli_app::jobs::sweep_once(&t.app, "a", 60).await.unwrap(),
        Some(1)
    );
    assert_eq!(
        linli_app::jobs::sweep_once(&t.app, "a", 60).await.unwrap(),
        Some(0)
    );
    let k = kinds(&t, id.clone()).await;
    let (street, district) = (t.login("donghuamen").await, t.login("dongcheng").await);
    assert_eq!(k.iter().filter(|x| *x == "warning").count(), 1);
    assert_eq!(
        k.iter().filter(|x| *x == "overdue").count(),
        2,
        "handler and owner"
    );
    let d = street.get(&format!("/api/v1/cases/{id}")).await;
    assert_eq!(d.body["case"]["light"], "red");
    assert_eq!(d.body["case"]["counts"]["supervisions"], 1);
    let q = district.get("/api/v1/cases?queue=overdue").await;
    assert_eq!(q.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        district.get("/api/v1/cases?queue=warning").await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
}

#[tokio::test]
async fn intake_variants_and_bad_input() {
    let t = spawn_app().await;
    let hotline = t.login("hotline").await;
    let district = t.login("dongcheng").await;
    // A consultation answered on the spot ends at once.
    let r = hotline
        .post("/api/v1/cases", json!({"channel": "hotline", "request_type": "consult", "title": "居住证办理地点",
            "description": "请问居住证在哪里办理？", "anonymous": true, "answer": "可在户籍所在地派出所或政务服务中心办理。"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        (r.body["state"].as_str(), r.body["disposition"].as_str()),
        (Some("disposed"), Some("answered"))
    );
    // An API client's repeat of the same request returns the first case.
    let body = json!({"channel": "api", "external_id": "ext-0001", "request_type": "help", "title": "路灯不亮",
        "description": "胡同里路灯坏了", "anonymous": true});
    let a = hotline.post("/api/v1/cases", body.clone()).await;
    let b = hotline.post("/api/v1/cases", body).await;
    assert_eq!((a.status, b.status), (201, 200));
    assert_eq!(a.body["id"], b.body["id"]);
    // A duplicate is disposed with a link to the original.
    let orig = a.body["id"].as_str().unwrap();
    let dup = hotline
        .post(
            "/api/v1/cases",
            json!({"channel": "hotline", "request_type": "help", "title": "路灯不亮",
            "description": "同一路灯", "requester_phone": "13900001111"}),
        )
        .await;
    let dup_id = dup.body["id"].as_str().unwrap();
    let r = step(
        &district,
        dup_id,
        "dispose",
        json!({"disposition": "duplicate", "note": "重复诉求"}),
    )
    .await;
    assert_eq!((r.status, r.key()), (422, "duplicate_of_required"));
    let b = ok(&district, dup_id, "dispose", json!({"disposition": "duplicate", "duplicate_of": orig, "note": "与原工单相同，已告知进展"})).await;
    assert_eq!(
        (b["state"].as_str(), b["duplicate_of"].as_str()),
        (Some("disposed"), Some(orig))
    );
    // Bad input is refused with a specific key.
    for (body, key) in [
        (
            json!({"channel": "hotline", "request_type": "help", "title": "", "description": "x", "anonymous": true}),
            "missing_field",
        ),
        (
            json!({"channel": "hotline", "request_type": "help", "title": "x", "description": "x"}),
            "missing_field",
        ),
        (
            json!({"channel": "hotline", "request_type": "help", "title": "x", "description": "x", "requester_phone": "12"}),
            "invalid_phone",
        ),
        (
            json!({"channel": "hotline", "request_type": "help", "title": "x", "description": "x", "anonymous": true, "lat": 91.0, "lng": 116.0}),
            "invalid_location",
        ),
        (
            json!({"channel": "hotline", "request_type": "help", "title": "x", "description": "x", "anonymous": true, "answer": "y"}),
            "answer_not_consult",
        ),
        (
            json!({"channel": "fax", "request_type": "help", "title": "x", "description": "x"}),
            "invalid_fields",
        ),
    ] {
        let r = hotline.post("/api/v1/cases", body.clone()).await;
        assert_eq!(r.key(), key, "{body}: {}", r.text);
    }
    let r = step(&district, dup_id, "fly", json!({})).await;
    assert_eq!(r.status, 404);
    let r = step(&district, dup_id, "overdue", json!({})).await;
    assert_eq!(r.status, 404, "the sweeper's steps are not on the API");
    // Communities are not loaded with matters outside their duty list.
    let pending = hotline
        .post(
            "/api/v1/cases",
            json!({"channel": "hotline", "request_type": "help", "title": "楼道堆物",
            "description": "楼道堆放杂物", "anonymous": true}),
        )
        .await;
    let pid = pending.body["id"].as_str().unwrap();
    ok(&district, pid, "register", json!({})).await;
    let comm = t.unit_id("110101001001").await;
    let r = step(&district, pid, "dispatch", json!({"unit_id": comm})).await;
    assert_eq!((r.status, r.key()), (422, "community_not_allowed"));
    // Queues and keyset paging.
    let q = district.get("/api/v1/cases?queue=to_dispatch").await;
    assert_eq!(q.body["items"].as_array().unwrap().len(), 1);
    let p1 = district.get("/api/v1/cases?limit=2").await;
    assert_eq!(p1.body["items"].as_array().unwrap().len(), 2);
    let cur = p1.body["next_cursor"].as_str().unwrap();
    let p2 = district
        .get(&format!("/api/v1/cases?limit=2&cursor={cur}"))
        .await;
    assert_eq!(p2.body["items"].as_array().unwrap().len(), 2);
    assert_ne!(p1.body["items"][0]["id"], p2.body["items"][0]["id"]);
    let by_no = district
        .get(&format!(
            "/api/v1/cases/by-number/{}",
            pending.body["number"].as_str().unwrap()
        ))
        .await;
    assert_eq!(by_no.body["id"], pending.body["id"]);
}

#[tokio::test]
async fn a_street_whistles_departments_respond_report_in_and_are_rated() {
    let t = spawn_app().await;
    let hotline = t.login("hotline").await;
    let district = t.login("dongcheng").await;
    let street = t.login("donghuamen").await;
    let dept = t.login("chengguan").await;
    let id = complaint(&t, &hotline).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    // The demo whistle catalogue: 14 categories, 45 items, 3 levels each.
    let items = street.get("/api/v1/whistle-items").await;
    assert_eq!(items.status, 200, "{}", items.text);
    let items = items.body.as_array().unwrap().clone();
    assert_eq!(items.len(), 135);
    let cats: std::collections::BTreeSet<&str> = items
        .iter()
        .map(|i| i["category"].as_str().unwrap())
        .collect();
    assert_eq!(cats.len(), 14);
    // 环境卫生/生活垃圾清运 at level 2 summons 城管委 (B01) and 生态环境局 (B08).
    let item = items
        .iter()
        .find(|i| i["item"] == "生活垃圾清运" && i["level"] == 2)
        .unwrap();
    assert_eq!(item["departments"], json!(["110101B01", "110101B08"]));
    let blow = json!({"item_id": item["id"], "situation": "beyond", "note": "垃圾长期积存，需城管和环保联合处置"});

    // Only once the street handles the case, and only the street may blow.
    let r = street
        .post(&format!("/api/v1/cases/{id}/whistles"), blow.clone())
        .await;
    assert_eq!((r.status, r.key()), (409, "no_street"), "{}", r.text);
    ok(&district, &id, "register", json!({})).await;
    let street_id = t.unit_id(STREET).await;
    ok(&district, &id, "dispatch", json!({"unit_id": street_id})).await;
    ok(&street, &id, "sign", json!({})).await;
    let r = district
        .post(&format!("/api/v1/cases/{id}/whistles"), blow.clone())
        .await;
    assert_eq!(r.status, 403, "the district holds no whistle.blow");
    assert_eq!(dept.get(&format!("/api/v1/cases/{id}")).await.status, 404);
    let r = street
        .post(&format!("/api/v1/cases/{id}/whistles"), blow.clone())
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let w = r.body.clone();
    let wid = w["id"].as_str().unwrap().to_string();
    assert_eq!(w["calls"].as_array().unwrap().len(), 2);
    assert_eq!(w["level"], 2);
    let r = street
        .post(&format!("/api/v1/cases/{id}/whistles"), blow.clone())
        .await;
    assert_eq!((r.status, r.key()), (409, "whistle_open"));
    // The summoned department now sees the case; it is in the 吹哨中 queue.
    assert_eq!(dept.get(&format!("/api/v1/cases/{id}")).await.status, 200);
    let q = district.get("/api/v1/cases?queue=whistle").await;
    assert_eq!(q.body["items"].as_array().unwrap().len(), 1);

    // 城管委 responds at once (on time), and reports in 70 minutes later (late: limit 60).
    let r = dept
        .post(
            &format!("/api/v1/whistles/{wid}/respond"),
            json!({"note": "已派执法队"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = dept
        .post(&format!("/api/v1/whistles/{wid}/respond"), json!({}))
        .await;
    assert_eq!((r.status, r.key()), (409, "already_responded"));
    t.clock.advance_secs(70 * 60);
    let dept = t.login("chengguan").await;
    let r = dept
        .post(
            &format!("/api/v1/whistles/{wid}/report"),
            json!({"person": "王队长"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let b01 = t.unit_id("110101B01").await;
    let b08 = t.unit_id("110101B08").await;
    let call = |w: &Value, d: &str| {
        w["calls"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["dept_id"] == d)
            .unwrap()
            .clone()
    };
    let c = call(&r.body, &b01);
    assert_eq!(
        (c["late_response"].as_bool(), c["late_report"].as_bool()),
        (Some(false), Some(true))
    );
    assert_eq!(c["report_person"], "王队长");
    // The silent 生态环境局 is marked late by the sweeper, once, and both sides are told.
    assert!(
        linli_app::jobs::sweep_once(&t.app, "s", 60)
            .await
            .unwrap()
            .unwrap()
            >= 1
    );
    linli_app::jobs::sweep_once(&t.app, "s", 60).await.unwrap();
    let street = t.login("donghuamen").await;
    let ws = street.get(&format!("/api/v1/cases/{id}/whistles")).await;
    let c = call(&ws.body[0], &b08);
    assert_eq!(
        (c["late_response"].as_bool(), c["late_report"].as_bool()),
        (Some(true), Some(true))
    );
    let late = street.get(&format!("/api/v1/cases/{id}/notices")).await;
    let n = late
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == "whistle_late")
        .count();
    assert_eq!(
        n, 2,
        "one late mark for 生态环境局, to the department and the street"
    );

    // The street closes, rating each department once (一哨一考).
    let r = street
        .post(
            &format!("/api/v1/whistles/{wid}/close"),
            json!({"ratings": [{"dept_id": b01, "score": 4}]}),
        )
        .await;
    assert_eq!((r.status, r.key()), (422, "rating_required"));
    let r = street
        .post(&format!("/api/v1/whistles/{wid}/close"), json!({"note": "联合处置完毕",
            "ratings": [{"dept_id": b01, "score": 4, "note": "报到稍迟"}, {"dept_id": b08, "score": 1, "note": "未响应"}]}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["state"], "closed");
    assert_eq!(call(&r.body, &b08)["rating"], 1);
    let d = street.get(&format!("/api/v1/cases/{id}")).await;
    assert_eq!(d.body["case"]["whistle_open"], false);
    let labels: Vec<&str> = d.body["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action_label"].as_str().unwrap())
        .collect();
    for l in [
        "街道吹哨",
        "部门响应",
        "部门报到",
        "吹哨响应/报到超时",
        "结哨评价",
    ] {
        assert!(labels.contains(&l), "{l} in {labels:?}");
    }
    let r = dept
        .post(&format!("/api/v1/whistles/{wid}/respond"), json!({}))
        .await;
    assert_eq!((r.status, r.key()), (409, "whistle_closed"));
    // A whistle can be blown again later on the same case.
    let r = street
        .post(&format!("/api/v1/cases/{id}/whistles"), blow)
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
}

/// A 1×1 PNG.
const PNG: &str = "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c63f8cfc0f01f00050001ff89993d1d0000000049454e44ae426082";

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[tokio::test]
async fn photos_are_checked_by_content_linked_to_steps_and_served_to_those_who_see_the_case() {
    let t = spawn_app().await;
    let hotline = t.login("hotline").await;
    let district = t.login("dongcheng").await;
    let street = t.login("donghuamen").await;
    let id = complaint(&t, &hotline).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    ok(&district, &id, "register", json!({})).await;
    let street_id = t.unit_id(STREET).await;
    ok(&district, &id, "dispatch", json!({"unit_id": street_id})).await;
    ok(&street, &id, "sign", json!({})).await;
    ok(&street, &id, "contact", json!({"note": "已联系"})).await;
    // A page of HTML named like a photo is refused; a real PNG is accepted whatever its name.
    let r = street
        .post_bytes(
            &format!("/api/v1/cases/{id}/attachments?filename=现场.jpg"),
            "image/jpeg",
            b"<html><script>alert(1)</script></html>".to_vec(),
        )
        .await;
    assert_eq!(
        (r.status, r.key()),
        (422, "unsupported_media"),
        "{}",
        r.text
    );
    let r = street
        .post_bytes(
            &format!("/api/v1/cases/{id}/attachments?filename=现场照片.jpg"),
            "application/octet-stream",
            unhex(PNG),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        (r.body["kind"].as_str(), r.body["mime"].as_str()),
        (Some("image"), Some("image/png"))
    );
    let aid = r.body["id"].as_str().unwrap().to_string();
    // The reply carries it; the file is now tied to that step of the timeline.
    let b = ok(
        &street,
        &id,
        "reply",
        json!({"note": "已清运，附现场照片", "attachments": [aid]}),
    )
    .await;
    let list = street.get(&format!("/api/v1/cases/{id}/attachments")).await;
    assert_eq!(list.body[0]["event_seq"], b["version"]);
    let d = street.get(&format!("/api/v1/cases/{id}")).await;
    let last = d.body["timeline"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["data"]["attachments"], json!([aid]));
    // The same file cannot be claimed by a second step.
    let grid = t.login("grid01").await;
    let r = step(
        &grid,
        &id,
        "verify",
        json!({"passed": true, "attachments": [aid]}),
    )
    .await;
    assert_eq!(r.key(), "attachment_already_linked", "{}", r.text);
    // Served as stored, never sniffed; invisible to people who cannot see the case.
    let r = grid
        .http
        .get(format!("{}/api/v1/cases/{id}/attachments/{aid}", grid.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/png");
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert_eq!(r.bytes().await.unwrap().to_vec(), unhex(PNG));
    let other = t.login("grid02").await;
    let r = other
        .get(&format!("/api/v1/cases/{id}/attachments/{aid}"))
        .await;
    assert_eq!(r.status, 404);
    let r = other
        .post_bytes(
            &format!("/api/v1/cases/{id}/attachments"),
            "image/png",
            unhex(PNG),
        )
        .await;
    assert_eq!(r.status, 404);
}

/// A district's cases go to its own units (or to units above districts), never to another
/// district's: that district's people would never find them.
#[tokio::test]
async fn another_districts_unit_cannot_take_the_case() {
    let t = spawn_app().await;
    let admin = t.login("admin").await;
    // 西城区 and one of its streets, beside the demo's 东城区.
    let city = t.unit_id("1101").await;
    let r = admin
        .post(
            "/api/v1/org-units",
            json!({"parent_id": city, "kind": "district", "code": "110102", "name": "西城区"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let xicheng = r.body["id"].as_str().unwrap().to_string();
    let r = admin
        .post(
            "/api/v1/org-units",
            json!({"parent_id": xicheng, "kind": "street", "code": "110102001", "name": "西长安街街道"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let foreign_street = r.body["id"].as_str().unwrap().to_string();

    let c = complaint(&t, &t.login("hotline").await).await;
    let id = c["id"].as_str().unwrap();
    let district = t.login("dongcheng").await;
    let r = step(&district, id, "register", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let before = district.get(&format!("/api/v1/cases/{id}")).await.body;
    for body in [
        json!({"unit_id": foreign_street}),
        json!({"unit_id": xicheng}),
        json!({"unit_id": t.unit_id("110101001").await, "co_handlers": [foreign_street]}),
    ] {
        let r = step(&district, id, "dispatch", body.clone()).await;
        assert_eq!(
            (r.status, r.key()),
            (422, "unit_outside_district"),
            "{body}: {}",
            r.text
        );
    }
    // Nothing changed.
    let after = district.get(&format!("/api/v1/cases/{id}")).await.body;
    assert_eq!(before["case"]["version"], after["case"]["version"]);
    assert_eq!(after["case"]["state"], "registered");
}

/// A department (a unit grant: its list is found through the parties index, unit by unit) that
/// is a party in two roles — co-handler first, then handler — sees the case once, counts it
/// once, and pages through its cases without repeats or gaps; a grid worker's list (the same
/// mechanism) holds exactly its grid's cases.
#[tokio::test]
async fn unit_lists_through_the_parties_count_each_case_once() {
    let t = spawn_app().await;
    let hotline = t.login("hotline").await;
    let district = t.login("dongcheng").await;
    let dept = t.login("chengguan").await;
    let street_id = t.unit_id(STREET).await;
    let dept_id = t.unit_id(DEPT).await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        let c = complaint(&t, &hotline).await;
        let id = c["id"].as_str().unwrap().to_string();
        ok(&district, &id, "register", json!({})).await;
        ids.push(id);
    }
    // The newest case: co-handler, then (objected by the street, re-dispatched) handler.
    let twice = &ids[2];
    ok(
        &district,
        twice,
        "dispatch",
        json!({"unit_id": street_id, "co_handlers": [dept_id]}),
    )
    .await;
    let street = t.login("donghuamen").await;
    ok(
        &street,
        twice,
        "object",
        json!({"ground": "duty", "note": "属城管职责"}),
    )
    .await;
    ok(
        &district,
        twice,
        "review",
        json!({"accept": true, "unit_id": dept_id, "note": "改派城管"}),
    )
    .await;
    for id in &ids[..2] {
        ok(&district, id, "dispatch", json!({"unit_id": dept_id})).await;
    }
    let roles: Vec<String> = t
        .app
        .db
        .fetch_all(
            "SELECT role FROM case_parties WHERE case_id = $1 AND unit_id = $2 ORDER BY role",
            linli_store::args![
                uuid::Uuid::parse_str(twice).unwrap(),
                uuid::Uuid::parse_str(&dept_id).unwrap()
            ],
            |r| r.text("role"),
        )
        .await
        .unwrap();
    assert_eq!(roles, ["co_handler", "handler"], "two roles on one case");

    let listed = |b: &Value| -> Vec<String> {
        b["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_string())
            .collect()
    };
    let all = dept.get("/api/v1/cases?queue=all").await;
    assert_eq!(all.status, 200, "{}", all.text);
    let mut want = ids.clone();
    want.reverse();
    assert_eq!(listed(&all.body), want, "newest first, each once");
    let signed = dept.get("/api/v1/cases?queue=to_sign").await;
    assert_eq!(listed(&signed.body), want, "all three wait for 签收");
    let q = dept.get("/api/v1/cases/queues").await;
    let to_sign = q
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["queue"] == "to_sign")
        .unwrap()["count"]
        .clone();
    assert_eq!(to_sign, 3, "{}", q.text);
    // Pages of one: the three cases in order, no repeats.
    let mut paged = Vec::new();
    let mut url = "/api/v1/cases?queue=all&limit=1".to_string();
    loop {
        let r = dept.get(&url).await;
        paged.extend(listed(&r.body));
        match r.body["next_cursor"].as_str() {
            Some(c) => url = format!("/api/v1/cases?queue=all&limit=1&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(paged, want);
    // The grid worker: every case of grid 1 (all three were filed there), none of another grid.
    let grid = t.login("grid01").await;
    assert_eq!(
        listed(&grid.get("/api/v1/cases?queue=all").await.body),
        want
    );
    let other = t.login("grid02").await;
    assert!(listed(&other.get("/api/v1/cases?queue=all").await.body).is_empty());
}
