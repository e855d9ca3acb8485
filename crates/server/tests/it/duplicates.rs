//! 重复诉求 over HTTP, on whichever engine the test database is: a hotline case with only an
//! address is placed in its community; the same problem reported again is proposed at intake
//! and on the case (within the window, the place and the category, never a case the reader
//! cannot see); the dispatcher merges or dismisses; the merged requester hears the original's
//! progress at the merge and when it is answered.

use serde_json::{Value, json};

use crate::support::*;

const GRID_DUOFU: &str = "110101001001001";
/// A grid of 景山街道's 隆福寺社区: outside 东华门街道.
const GRID_ELSEWHERE: &str = "110101002001001";
const DUOFU: &str = "110101001001";

async fn file(hotline: &Client, body: Value) -> Value {
    let mut b = json!({
        "channel": "hotline", "request_type": "complaint",
        "requester_name": "张三丰", "requester_phone": "13812345678",
    });
    for (k, v) in body.as_object().unwrap() {
        b[k] = v.clone();
    }
    let r = hotline.post("/api/v1/cases", b).await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.body
}

fn id(c: &Value) -> String {
    c["id"].as_str().unwrap().to_string()
}

fn proposed(r: &Resp) -> Vec<String> {
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["case"]["id"].as_str().unwrap().to_string())
        .collect()
}

async fn version(c: &Client, id: &str) -> Value {
    c.get(&format!("/api/v1/cases/{id}")).await.body["case"]["version"].clone()
}

async fn step(c: &Client, id: &str, action: &str, mut body: Value) {
    body["version"] = version(c, id).await;
    let r = c.post(&format!("/api/v1/cases/{id}/{action}"), body).await;
    assert_eq!(r.status, 200, "{action}: {}", r.text);
}

/// The text messages queued for a case: (topic, text as it would be sent).
async fn texts(t: &TestApp, case_id: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for state in ["pending", "delivered"] {
        let tenants = ["110101".to_string()];
        for d in linli_store::repo::notify::list(&t.app.db, &tenants, state, None, 200)
            .await
            .unwrap()
        {
            if d.sink == "sms" && d.case_id.map(|x| x.to_string()).as_deref() == Some(case_id) {
                let (_, text) = linli_app::notify::sms_of(&t.app, &d).await.unwrap();
                out.push((d.topic.clone(), text));
            }
        }
    }
    out
}

#[tokio::test]
async fn repeats_are_proposed_merged_and_their_requesters_told() {
    let t = spawn_app().await;
    linli_app::search::load_dictionary(&t.app).await.unwrap();
    let places = linli_app::places::load(&t.app).await.unwrap();
    assert!(places > 150, "the demo district's divisions: {places}");
    let hotline = t.login("hotline").await;
    let district = t.login("dongcheng").await;
    let duofu = t.unit_id(DUOFU).await;

    let original = file(
        &hotline,
        json!({"title": "5号楼电梯坏了", "description": "多福巷社区5号楼电梯坏了三天，老人上下楼很困难。",
               "address": "多福巷5号楼", "grid_id": t.unit_id(GRID_DUOFU).await}),
    )
    .await;
    let lamp = file(
        &hotline,
        json!({"title": "路灯不亮", "description": "5号楼门口的路灯不亮，晚上很黑。",
               "address": "东城区东华门街道多福巷社区5号楼", "grid_id": t.unit_id(GRID_DUOFU).await}),
    )
    .await;
    let elsewhere = file(
        &hotline,
        json!({"title": "5号楼电梯坏了", "description": "隆福寺社区5号楼电梯坏了三天，老人上下楼很困难。",
               "grid_id": t.unit_id(GRID_ELSEWHERE).await}),
    )
    .await;

    // At intake: the operator sees the open case while typing, before filing.
    let draft = json!({"title": "电梯故障", "description": "5号楼的电梯停运好几天了，老人下不了楼",
                       "address": "东城区东华门街道多福巷社区5号楼"});
    let r = hotline
        .post("/api/v1/intake/duplicates", draft.clone())
        .await;
    assert_eq!(proposed(&r), vec![id(&original)], "{}", r.text);
    let shared = r.body["items"][0]["shared_terms"].as_array().unwrap();
    assert!(shared.iter().any(|s| s == "电梯"), "{shared:?}");
    // Where the address lies, as the form shows it.
    let r = hotline
        .post(
            "/api/v1/intake/place",
            json!({"address": "东城区东华门街道多福巷社区5号楼（电联）"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["community"]["code"], DUOFU);
    assert_eq!(r.body["street"]["name"], "东华门街道");

    // Filed with only an address: placed in its community (属地), which now sees it.
    let repeat = file(&hotline, draft.clone()).await;
    assert_eq!(repeat["community_id"].as_str(), Some(duofu.as_str()));
    let community = t.login("duofuxiang").await;
    assert_eq!(
        community
            .get(&format!("/api/v1/cases/{}", id(&repeat)))
            .await
            .status,
        200
    );

    // On the case: the original — not the lamp at the same address (a place is compared by the
    // filters, not by the words of the address), not the look-alike of another community.
    let dups = district
        .get(&format!("/api/v1/cases/{}/duplicates", id(&repeat)))
        .await;
    let found = proposed(&dups);
    assert_eq!(found, vec![id(&original)], "{}", dups.text);
    assert!(!found.contains(&id(&lamp)) && !found.contains(&id(&elsewhere)));
    assert!(dups.body["items"][0]["score"].as_f64().unwrap() >= 0.4);

    // Dismissed, a proposal is not made again for that case.
    let third = file(&hotline, draft.clone()).await;
    let path = format!("/api/v1/cases/{}/duplicates", id(&third));
    let before = proposed(&district.get(&path).await);
    assert!(before.contains(&id(&original)), "{before:?}");
    let r = district
        .post(
            &format!("{path}/dismiss"),
            json!({"other_id": id(&original)}),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert!(!proposed(&district.get(&path).await).contains(&id(&original)));

    // Merge: refused for itself, for a stale version, into a case that is itself a
    // duplicate, and for someone who may not dispose of the case.
    let merge = |case: &Value, original: &Value, version: Value| {
        (
            format!("/api/v1/cases/{}/merge", id(case)),
            json!({"original_id": id(original), "version": version}),
        )
    };
    let (p, b) = merge(&repeat, &repeat, version(&district, &id(&repeat)).await);
    assert_eq!(district.post(&p, b).await.key(), "duplicate_of_self");
    let (p, b) = merge(&repeat, &original, json!(0));
    assert_eq!(district.post(&p, b).await.status, 409);
    let dept = t.login("chengguan").await;
    let (p, b) = merge(&repeat, &original, version(&district, &id(&repeat)).await);
    assert!(matches!(dept.post(&p, b).await.status, 403 | 404));

    let (p, b) = merge(&repeat, &original, version(&district, &id(&repeat)).await);
    let r = district.post(&p, b).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["state"], "disposed");
    assert_eq!(r.body["disposition"], "duplicate");
    assert_eq!(
        r.body["duplicate_of"].as_str(),
        Some(id(&original).as_str())
    );
    let (p, b) = merge(&third, &repeat, version(&district, &id(&third)).await);
    assert_eq!(district.post(&p, b).await.key(), "original_is_duplicate");
    // A merged case is proposed for nothing (it is no longer open).
    assert!(!proposed(&district.get(&path).await).contains(&id(&repeat)));

    // The merged requester is told the original's progress …
    let number = original["number"].as_str().unwrap();
    let told = texts(&t, &id(&repeat)).await;
    let merged: Vec<&String> = told
        .iter()
        .filter(|(topic, _)| topic == "case.merged")
        .map(|(_, text)| text)
        .collect();
    assert_eq!(merged.len(), 1, "{told:?}");
    assert!(
        merged[0].contains(number) && merged[0].contains("目前进展：待立案"),
        "{}",
        merged[0]
    );
    // … and hears when the original is answered.
    let unit = t.unit_id("110101B01").await;
    let o = id(&original);
    step(&district, &o, "register", json!({})).await;
    step(&district, &o, "dispatch", json!({"unit_id": unit})).await;
    step(&dept, &o, "sign", json!({})).await;
    step(&dept, &o, "contact", json!({"note": "已联系"})).await;
    step(&dept, &o, "reply", json!({"note": "已更换电梯主板。"})).await;
    let told = texts(&t, &id(&repeat)).await;
    assert!(
        told.iter().any(|(topic, text)| topic == "case.replied"
            && text.contains(number)
            && text.contains("已答复办理结果")),
        "{told:?}"
    );
    // The original lists what was merged into it (the console shows the same).
    let page = district.get_html(&format!("/console/cases/{o}")).await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains(repeat["number"].as_str().unwrap()));

    // 属地: registered under a category a street handles, the case placed by its address
    // preselects that street on the dispatch form.
    let r = district
        .get(&format!(
            "/api/v1/catalogue/search?q={}",
            linli_web::auth::urlencode("小广告")
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let leaf = r.body[0]["id"].as_str().unwrap().to_string();
    let third = id(&third);
    step(&district, &third, "register", json!({"category_id": leaf})).await;
    let page = district.get_html(&format!("/console/cases/{third}")).await;
    let street = t.unit_id("110101001").await;
    assert_eq!(
        attr(
            &page.text,
            &format!("form[action='/console/cases/{third}/dispatch'] input[name=unit_id]"),
            "value"
        )
        .as_deref(),
        Some(street.as_str())
    );
}

#[tokio::test]
async fn only_the_window_place_and_category_count_and_bad_input_is_harmless() {
    let t = spawn_app().await;
    linli_app::places::load(&t.app).await.unwrap();
    let hotline = t.login("hotline").await;
    let grid = t.unit_id(GRID_DUOFU).await;
    let old = file(
        &hotline,
        json!({"title": "楼道堆满杂物", "description": "3号楼楼道堆满杂物，影响通行和消防安全。",
               "grid_id": grid, "lat": 39.9165, "lng": 116.4040}),
    )
    .await;
    let draft = json!({"title": "楼道堆满杂物", "description": "3号楼楼道里杂物堆满了，消防通道被堵",
                       "grid_id": grid, "lat": 39.9166, "lng": 116.4041});
    let r = hotline
        .post("/api/v1/intake/duplicates", draft.clone())
        .await;
    assert_eq!(proposed(&r), vec![id(&old)], "{}", r.text);
    let d = r.body["items"][0]["distance_m"].as_f64().unwrap();
    assert!(d > 5.0 && d < 30.0, "{d}");

    // Two kilometres away is another place.
    let mut far = draft.clone();
    far["lat"] = json!(39.9345);
    assert!(proposed(&hotline.post("/api/v1/intake/duplicates", far).await).is_empty());

    // Nothing to compare: no proposals, no error.
    for text in ["", "，。！", "😀😀😀", "１２３４５"] {
        let r = hotline
            .post(
                "/api/v1/intake/duplicates",
                json!({"title": text, "description": text}),
            )
            .await;
        assert!(proposed(&r).is_empty(), "{text:?}");
    }
    // Very long text is read up to the limits.
    let long = "楼道杂物".repeat(25_000);
    let r = hotline
        .post(
            "/api/v1/intake/duplicates",
            json!({"title": long, "description": long, "grid_id": grid}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    // Unknown fields and a case that does not exist are refused plainly.
    let r = hotline
        .post("/api/v1/intake/duplicates", json!({"text": "x"}))
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    let r = hotline
        .get("/api/v1/cases/00000000-0000-0000-0000-000000000000/duplicates")
        .await;
    assert_eq!(r.status, 404);

    // Past the window (15 days) the old case is history, not a duplicate.
    t.clock.advance_secs(16 * 86_400);
    let hotline = t.login("hotline").await;
    let r = hotline.post("/api/v1/intake/duplicates", draft).await;
    assert!(proposed(&r).is_empty(), "{}", r.text);
}
