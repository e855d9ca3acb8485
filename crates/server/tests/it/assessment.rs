//! Assessment over HTTP, on whichever engine the test database is: eight cases driven through
//! the closed loop with known outcomes, then the report's counts, rates, score and ranking
//! checked exactly; every count's link returns exactly the cases counted; weights editing; a
//! street sees only its own subtree.

use serde_json::{Value, json};

use crate::support::*;

const GRID1: &str = "110101001001001";
const STREET: &str = "110101001";
const DEPT: &str = "110101B01";

async fn ok(c: &Client, id: &str, action: &str, mut body: Value) -> Value {
    let cur = c.get(&format!("/api/v1/cases/{id}")).await;
    body["version"] = cur.body["case"]["version"].clone();
    let r = c.post(&format!("/api/v1/cases/{id}/{action}"), body).await;
    assert_eq!(r.status, 200, "{action}: {}", r.text);
    r.body
}

async fn file(t: &TestApp, hotline: &Client, title: &str) -> String {
    let grid = t.unit_id(GRID1).await;
    let r = hotline
        .post(
            "/api/v1/cases",
            json!({
                "channel": "hotline", "request_type": "complaint",
                "title": title, "description": "诉求内容",
                "address": "东城区多福巷12号", "grid_id": grid,
                "requester_name": "张三丰", "requester_phone": "13812345678"
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.body["id"].as_str().unwrap().to_string()
}

fn count(row: &Value, m: &str) -> i64 {
    row["counts"][m]
        .as_i64()
        .unwrap_or_else(|| panic!("{m} in {row}"))
}

fn rate(row: &Value, r: &str) -> Option<f64> {
    row["rates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["rate"] == r)
        .unwrap()["value"]
        .as_f64()
}

fn close(a: Option<f64>, b: f64) {
    let a = a.unwrap_or(f64::NAN);
    assert!((a - b).abs() < 1e-9, "{a} != {b}");
}

/// Titles of the cases a row's link selects for one measure.
async fn listed(c: &Client, row: &Value, m: &str) -> Vec<String> {
    let q = row["cases_query"].as_str().unwrap();
    let r = c
        .get(&format!("/api/v1/cases?{q}&measure={m}&limit=200"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let mut v: Vec<String> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["title"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

/// Every count of the row equals the number of cases its link lists.
async fn links_match(c: &Client, report: &Value, row: &Value) {
    for m in report["measures"].as_array().unwrap() {
        let m = m["key"].as_str().unwrap();
        assert_eq!(
            listed(c, row, m).await.len() as i64,
            count(row, m),
            "{m} of {}",
            row["label"]
        );
    }
}

#[tokio::test]
async fn assessment_counts_rates_ranking_and_links() {
    let t = spawn_app().await;
    let hotline = t.login("hotline").await;
    let district = t.login("dongcheng").await;
    let street = t.login("donghuamen").await;
    let grid = t.login("grid01").await;
    let dept = t.login("chengguan").await;
    let street_id = t.unit_id(STREET).await;
    let dept_id = t.unit_id(DEPT).await;
    let district_id = t.unit_id("110101").await;

    let mut ids = std::collections::HashMap::new();
    for name in ["A", "B", "C", "D", "E", "F", "H", "I"] {
        ids.insert(name, file(&t, &hotline, name).await);
    }
    // I: disposed without dispatch (stays with the district, 本级).
    ok(
        &district,
        &ids["I"],
        "dispose",
        json!({"disposition": "outside_duty", "note": "不属于职责范围"}),
    )
    .await;
    // Everyone else is registered and dispatched: H to the department, the rest to the street.
    for name in ["A", "B", "C", "D", "E", "F", "H"] {
        ok(&district, &ids[name], "register", json!({})).await;
        let to = if matches!(name, "F" | "H") {
            &dept_id
        } else {
            &street_id
        };
        ok(&district, &ids[name], "dispatch", json!({"unit_id": to})).await;
    }
    // F: the department objects; the district redispatches it to the street.
    ok(
        &dept,
        &ids["F"],
        "object",
        json!({"ground": "duty", "note": "属街道职责"}),
    )
    .await;
    ok(
        &district,
        &ids["F"],
        "review",
        json!({"accept": true, "unit_id": street_id, "note": "改派街道"}),
    )
    .await;
    // All sign and make first contact at once (on time).
    for name in ["A", "B", "C", "D", "E", "F"] {
        ok(&street, &ids[name], "sign", json!({})).await;
        ok(&street, &ids[name], "contact", json!({"note": "已联系"})).await;
    }
    ok(&dept, &ids["H"], "sign", json!({})).await;
    ok(&dept, &ids["H"], "contact", json!({"note": "已联系"})).await;
    // E: a 3-day extension, approved.
    ok(
        &street,
        &ids["E"],
        "extend",
        json!({"days": 3, "note": "需协调"}),
    )
    .await;
    ok(
        &district,
        &ids["E"],
        "decide_extension",
        json!({"approve": true}),
    )
    .await;
    // Replies in time for A, C, D, E (C fails verification once: rework) and H.
    for name in ["A", "C", "D", "E"] {
        ok(&street, &ids[name], "reply", json!({"note": "已办结"})).await;
    }
    ok(&dept, &ids["H"], "reply", json!({"note": "已办结"})).await;
    ok(
        &grid,
        &ids["C"],
        "verify",
        json!({"passed": false, "note": "仍未解决"}),
    )
    .await;
    ok(&street, &ids["C"], "reply", json!({"note": "已彻底解决"})).await;
    for name in ["A", "C", "D", "E", "H"] {
        ok(&grid, &ids[name], "verify", json!({"passed": true})).await;
    }
    // Ten days later: B is replied late; F is still open past its deadline.
    t.clock.set(linli_testkit::Ts(
        linli_testkit::T0.0 + 10 * 86_400 * 1_000_000,
    ));
    // Sessions do not last ten days: log in again.
    let hotline = t.login("hotline").await;
    let district = t.login("dongcheng").await;
    let street = t.login("donghuamen").await;
    let grid = t.login("grid01").await;
    ok(&street, &ids["B"], "reply", json!({"note": "已办结"})).await;
    ok(&grid, &ids["B"], "verify", json!({"passed": true})).await;
    // Return visits: A satisfied, B basic, C satisfied, E unresolved and dissatisfied,
    // D dissatisfied and reopened, H satisfied.
    for (name, resolved, sat) in [
        ("A", true, "satisfied"),
        ("B", true, "basic"),
        ("C", true, "satisfied"),
        ("D", false, "dissatisfied"),
        ("E", false, "dissatisfied"),
        ("H", true, "satisfied"),
    ] {
        ok(
            &hotline,
            &ids[name],
            "visit",
            json!({"resolved": resolved, "satisfaction": sat}),
        )
        .await;
    }
    ok(&hotline, &ids["D"], "reopen", json!({"note": "问题反复"})).await;

    // The street's own report (its default unit), November.
    let r = street
        .get("/api/v1/assessment?period=2026-11&by=channel")
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["unit_id"], street_id.as_str());
    assert_eq!(r.body["period"]["from"], "2026-10-31T16:00:00.000000Z");
    let total = r.body["total"].clone();
    let expect = [
        ("received", 6), // A B C D E F
        ("pending", 0),
        ("registered", 6),
        ("disposed", 0),
        ("dispatched", 6),  // D counts: it was dispatched before 重办
        ("should_sign", 5), // D's dispatch was cleared by 重办
        ("signed_on_time", 5),
        ("sign_late", 0),
        ("should_contact", 5),
        ("contacted_on_time", 5),
        ("contact_late", 0),
        ("closed", 4),         // A B C E
        ("closed_on_time", 3), // A C E (E within its extension)
        ("closed_late", 1),    // B
        ("due_open", 1),       // F
        ("should_close", 5),   // 4 closed + F
        ("reworked", 1),       // C
        ("extended", 1),       // E
        ("objected", 1),       // F
        ("reopened", 1),       // D
        ("ever_visited", 5),   // A B C E + D
        ("visited", 4),        // A B C E
        ("resolved", 3),
        ("unresolved", 1),
        ("satisfied", 2),
        ("basic", 1),
        ("dissatisfied", 1),
    ];
    for (m, n) in expect {
        assert_eq!(count(&total, m), n, "{m}");
    }
    // 响应率 5/5; 解决率 3/4; 满意率 (2 + 1)/4; 结案率 4/5; 按期结案率 3/5; 返工率 1/6; 重办率 1/5.
    close(rate(&total, "response"), 1.0);
    close(rate(&total, "resolution"), 0.75);
    close(rate(&total, "satisfaction"), 0.75);
    close(rate(&total, "closing"), 0.8);
    close(rate(&total, "on_time_closing"), 0.6);
    close(rate(&total, "rework"), 1.0 / 6.0);
    close(rate(&total, "reopen"), 0.2);
    // 立案率 6 / (6 + 0).
    close(rate(&total, "registration"), 1.0);
    // Score 30 × 1 + 35 × 0.75 + 35 × 0.75 = 82.5.
    close(total["score"].as_f64(), 82.5);
    // A, C, E closed within 0 days … B 10 days after receipt: the mean is over the four.
    assert!(total["average_hours"].as_f64().unwrap() > 0.0);
    // By channel: one row, the hotline, equal to the total.
    let rows = r.body["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["key"], "hotline");
    assert_eq!(rows[0]["label"], "12345热线");
    assert_eq!(rows[0]["counts"], total["counts"]);

    // The links: exactly the cases counted.
    assert_eq!(listed(&street, &total, "dissatisfied").await, vec!["E"]);
    assert_eq!(listed(&street, &total, "closed_late").await, vec!["B"]);
    assert_eq!(listed(&street, &total, "reworked").await, vec!["C"]);
    assert_eq!(listed(&street, &total, "reopened").await, vec!["D"]);
    assert_eq!(listed(&street, &total, "extended").await, vec!["E"]);
    assert_eq!(listed(&street, &total, "objected").await, vec!["F"]);
    assert_eq!(listed(&street, &total, "due_open").await, vec!["F"]);
    assert_eq!(listed(&street, &total, "unresolved").await, vec!["E"]);
    assert_eq!(
        listed(&street, &total, "closed_on_time").await,
        vec!["A", "C", "E"]
    );
    links_match(&street, &r.body, &total).await;
    links_match(&street, &r.body, &rows[0]).await;

    // A street cannot look at the district.
    let r = street
        .get(&format!(
            "/api/v1/assessment?unit={district_id}&period=2026-11"
        ))
        .await;
    assert_eq!(r.status, 404, "{}", r.text);
    let r = grid.get("/api/v1/assessment").await;
    assert_eq!(r.status, 403, "grid workers hold no assessment.read");

    // The district by unit: 本级 (I), the street (82.5) and the department (100) ranked.
    let r = district
        .get("/api/v1/assessment?period=2026-11&by=unit")
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let report = r.body.clone();
    let rows = report["rows"].as_array().unwrap();
    let find = |key: &str| rows.iter().find(|x| x["key"] == key).unwrap().clone();
    let own = &rows[0];
    assert_eq!(own["key"], district_id.as_str());
    assert!(own["label"].as_str().unwrap().ends_with("（本级）"));
    assert_eq!((count(own, "received"), count(own, "disposed")), (1, 1));
    close(rate(own, "registration"), 0.0);
    assert_eq!(
        own["score"],
        Value::Null,
        "no weighted rate has a denominator"
    );
    assert_eq!(own["rank"], Value::Null);
    let st = find(&street_id);
    let dp = find(&dept_id);
    assert_eq!(st["counts"], total["counts"]);
    close(st["score"].as_f64(), 82.5);
    close(dp["score"].as_f64(), 100.0);
    assert_eq!(
        (dp["rank"].as_i64(), st["rank"].as_i64()),
        (Some(1), Some(2))
    );
    assert_eq!(count(&report["total"], "received"), 8);
    // Units without cases are listed, unscored.
    assert!(
        rows.iter()
            .any(|x| x["rank"].is_null() && count(x, "received") == 0)
    );
    for row in [own, &st, &dp, &report["total"]] {
        links_match(&district, &report, row).await;
    }
    assert_eq!(listed(&district, own, "disposed").await, vec!["I"]);

    // By grid and by category: every case lies in grid 1; none is categorised.
    let r = district
        .get("/api/v1/assessment?period=2026-11&by=grid")
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let g = &r.body["rows"][0];
    assert_eq!(count(g, "received"), 8);
    links_match(&district, &r.body, g).await;
    let r = district
        .get("/api/v1/assessment?period=2026-11&by=category")
        .await;
    assert_eq!(r.body["rows"][0]["label"], "未分类");
    assert_eq!(r.body["rows"][0]["cases_query"], Value::Null);

    // Other periods: nothing in October, all of it in Q4 and in 2026 and by days.
    let oct = district.get("/api/v1/assessment?period=2026-10").await;
    assert_eq!(count(&oct.body["total"], "received"), 0);
    assert_eq!(oct.body["total"]["score"], Value::Null);
    for q in [
        "period=2026-Q4",
        "period=2026",
        "from=2026-11-21&to=2026-11-21",
    ] {
        let r = district.get(&format!("/api/v1/assessment?{q}")).await;
        assert_eq!(count(&r.body["total"], "received"), 8, "{q}");
    }
    let r = district
        .get("/api/v1/assessment?from=2026-11-22&to=2026-11-30")
        .await;
    assert_eq!(count(&r.body["total"], "received"), 0);
    for bad in [
        "period=2026-13",
        "by=street",
        "period=2026-11&from=2026-11-01&to=2026-11-02",
    ] {
        let r = district.get(&format!("/api/v1/assessment?{bad}")).await;
        assert_eq!(r.status, 422, "{bad}: {}", r.text);
    }
    let r = district.get("/api/v1/cases?measure=nonsense").await;
    assert_eq!((r.status, r.key()), (422, "invalid_measure"));

    // Weights: readable by assessors, editable by catalogue maintainers only.
    let w = street.get("/api/v1/assessment/weights").await;
    assert_eq!(w.status, 200);
    assert_eq!(w.body["basic_credit"], 1.0);
    let new = json!({"rates": [
        {"rate": "response", "weight": 30}, {"rate": "resolution", "weight": 35},
        {"rate": "satisfaction", "weight": 35}], "basic_credit": 0.8});
    let r = street.put("/api/v1/assessment/weights", new.clone()).await;
    assert_eq!(r.status, 403);
    let r = district
        .put(
            "/api/v1/assessment/weights",
            json!({"rates": [{"rate": "rework", "weight": 10}], "basic_credit": 1}),
        )
        .await;
    assert_eq!((r.status, r.key()), (422, "invalid_weights"));
    let r = district.put("/api/v1/assessment/weights", new).await;
    assert_eq!(r.status, 200, "{}", r.text);
    // 满意率 (2 + 1 × 0.8) / 4 = 0.7; score 30 + 35 × 0.75 + 35 × 0.7 = 80.75.
    let r = street.get("/api/v1/assessment?period=2026-11").await;
    close(rate(&r.body["total"], "satisfaction"), 0.7);
    close(r.body["total"]["score"].as_f64(), 80.75);
    assert_eq!(r.body["weights"]["basic_credit"], 0.8);
    let audited: i64 = t
        .app
        .db
        .fetch_one_i64(
            "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'assessment.weights'",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(audited, 1);

    // The console page: figures, links into the workbench, the formulas.
    let page = district
        .get_html("/console/assessment?period=2026-11&by=unit")
        .await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(page.text.contains("计算口径"));
    assert!(page.text.contains("/console/cases?"));
    let wb = district
        .get_html(&format!(
            "/console/cases?queue=all&{}&measure=disposed",
            own["cases_query"].as_str().unwrap()
        ))
        .await;
    assert_eq!(wb.status, 200);
    assert_eq!(wb.text.matches("class=\"case-row\"").count(), 1, "only I");
    let r = grid.get_html("/console/assessment").await;
    assert_eq!(r.status, 403);
}
