//! Full-text search of cases over HTTP, on whichever engine the test database is: words find
//! cases however residents put them, the index follows replies, never holds personal data, and
//! a search never reaches a case outside the searcher's scope.

use serde_json::{Value, json};

use crate::support::*;

const GRID_DUOFU: &str = "110101001001001";
/// A grid of 景山街道's 隆福寺社区: outside 东华门街道.
const GRID_ELSEWHERE: &str = "110101002001001";

async fn file(t: &TestApp, hotline: &Client, grid: &str, title: &str, description: &str) -> String {
    let g = t.unit_id(grid).await;
    let r = hotline
        .post(
            "/api/v1/cases",
            json!({
                "channel": "hotline", "request_type": "complaint", "title": title,
                "description": description, "address": "东华门街道多福巷社区5号楼",
                "grid_id": g, "requester_name": "张三丰", "requester_phone": "13812345678"
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.body["id"].as_str().unwrap().to_string()
}

fn ids(r: &Resp) -> Vec<String> {
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect()
}

async fn search(c: &Client, q: &str) -> Vec<String> {
    ids(&c
        .get(&format!(
            "/api/v1/cases?queue=all&q={}",
            linli_web::auth::urlencode(q)
        ))
        .await)
}

async fn step(c: &Client, id: &str, action: &str, mut body: Value) {
    let cur = c.get(&format!("/api/v1/cases/{id}")).await;
    body["version"] = cur.body["case"]["version"].clone();
    let r = c.post(&format!("/api/v1/cases/{id}/{action}"), body).await;
    assert_eq!(r.status, 200, "{action}: {}", r.text);
}

#[tokio::test]
async fn words_find_cases_in_scope_and_never_personal_data() {
    let t = spawn_app().await;
    let words = linli_app::search::load_dictionary(&t.app).await.unwrap();
    assert!(words > 100, "unit and catalogue names: {words}");
    let hotline = t.login("hotline").await;
    let district = t.login("dongcheng").await;
    let street = t.login("donghuamen").await;

    let lift = file(
        &t,
        &hotline,
        GRID_DUOFU,
        "电梯又坏了",
        "小区3号楼电梯又坏了，老人上下楼很困难。",
    )
    .await;
    let lamp = file(
        &t,
        &hotline,
        GRID_DUOFU,
        "路灯不亮",
        "多福巷口的路灯不亮，晚上很黑。",
    )
    .await;
    let far = file(
        &t,
        &hotline,
        GRID_ELSEWHERE,
        "电梯故障",
        "隆福寺社区电梯故障停运两天。",
    )
    .await;

    // Words, however put: 电梯故障 finds "又坏了"; every word must be there in some form.
    let found = search(&district, "电梯故障").await;
    assert!(found.contains(&lift) && found.contains(&far), "{found:?}");
    assert!(!found.contains(&lamp));
    assert_eq!(search(&district, "路灯").await, vec![lamp.clone()]);
    assert!(search(&district, "电梯 路灯").await.is_empty());

    // A street finds only what it may see.
    let found = search(&street, "电梯故障").await;
    assert_eq!(
        found,
        vec![lift.clone()],
        "the other street's case stays hidden"
    );

    // Place names stay whole and are found whole.
    let found = search(&district, "多福巷社区").await;
    assert!(found.contains(&lift) && found.contains(&lamp), "{found:?}");

    // Never the requester: not by name, not by phone; not in the index rows either.
    assert!(search(&district, "张三丰").await.is_empty());
    let terms: Vec<String> = t
        .app
        .db
        .fetch_all("SELECT terms FROM case_search", vec![], |r| r.text("terms"))
        .await
        .unwrap();
    assert_eq!(terms.len(), 3);
    for row in &terms {
        assert!(
            !row.contains("张三丰") && !row.contains("13812345678"),
            "{row}"
        );
    }
    // A number typed into the description is masked before indexing.
    let with_phone = file(
        &t,
        &hotline,
        GRID_DUOFU,
        "楼道堆物",
        "楼道堆满杂物，物业电话13900001111打不通。",
    )
    .await;
    assert!(search(&district, "13900001111").await.is_empty());
    assert_eq!(search(&district, "楼道 杂物").await, vec![with_phone]);

    // The reply is indexed as soon as it is written.
    let dept = t.login("chengguan").await;
    let unit = t.unit_id("110101B01").await;
    step(&district, &lift, "register", json!({})).await;
    step(&district, &lift, "dispatch", json!({"unit_id": unit})).await;
    step(&dept, &lift, "sign", json!({})).await;
    step(&dept, &lift, "contact", json!({"note": "已联系"})).await;
    assert!(search(&district, "主板").await.is_empty());
    step(
        &dept,
        &lift,
        "reply",
        json!({"note": "已更换电梯主板，恢复运行。"}),
    )
    .await;
    assert_eq!(search(&district, "主板").await, vec![lift.clone()]);

    // Both ways of finding matches agree: a rare search fetches its matches through the index,
    // a common one (thousands of matches) tests each case's terms as it walks the cases.
    let all = linli_domain::auth::ScopeFilter::everything();
    for q in [
        "电梯故障",
        "路灯",
        "多福巷社区",
        "楼道 杂物",
        "主板",
        "电梯 路灯",
        "坏",
    ] {
        let mut lq = linli_store::repo::cases::ListQuery {
            search: linli_app::search::query(&t.app, q),
            limit: 50,
            ..Default::default()
        };
        let ids = |rows: Vec<linli_store::repo::cases::CaseRow>| -> Vec<uuid::Uuid> {
            rows.into_iter().map(|c| c.id).collect()
        };
        let by_index = ids(linli_store::repo::cases::list(&t.app.db, &all, &lq)
            .await
            .unwrap());
        lq.search_common = true;
        let by_probe = ids(linli_store::repo::cases::list(&t.app.db, &all, &lq)
            .await
            .unwrap());
        assert_eq!(by_index, by_probe, "{q}");
    }
    assert!(
        !linli_store::repo::search::is_common(&t.app.db, &linli_app::search::query(&t.app, "电梯"))
            .await
            .unwrap(),
        "four cases are not common"
    );

    // A case number (or a piece of one) is still found by its number.
    let number = district.get(&format!("/api/v1/cases/{lamp}")).await.body["case"]["number"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(search(&district, &number).await, vec![lamp.clone()]);
    assert!(search(&district, &number[..15]).await.len() >= 4);

    // Noise: nothing searchable falls back to "contains", and breaks nothing.
    let r = district.get("/api/v1/cases?queue=all&q=%F0%9F%99%82").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = district
        .get(&format!("/api/v1/cases?q={}", "很".repeat(65)))
        .await;
    assert_eq!((r.status, r.key()), (422, "query_too_long"));

    // The workbench marks what matched.
    let page = district
        .get_html(&format!(
            "/console/cases?queue=all&q={}",
            linli_web::auth::urlencode("电梯故障")
        ))
        .await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("<mark>电梯</mark>"), "{}", page.text);
    assert!(page.text.contains("<mark>坏"), "the synonym is marked too");
}
