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

    // Unit-scoped searchers (their lists are otherwise found through their parties): the
    // grid worker finds its grid's case only, the other grid's worker and the department
    // (no case given to it yet) nothing.
    assert_eq!(
        search(&t.login("grid01").await, "电梯故障").await,
        vec![lift.clone()]
    );
    assert!(
        search(&t.login("grid02").await, "电梯故障")
            .await
            .is_empty()
    );
    assert!(
        search(&t.login("chengguan").await, "电梯故障")
            .await
            .is_empty()
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
    // Now the department's: it finds this one and still not the other street's.
    assert_eq!(search(&dept, "电梯故障").await, vec![lift.clone()]);

    // Every way of finding matches agrees, page by page: newest first a time window at a time
    // (from "now", from years ahead — every window empty, then the rest in one go — and from
    // years back), every match fetched through the index, and each case's terms tested as the
    // list walks the cases; for the district and for the street (never wider).
    use linli_store::repo::cases::{CaseRow, ListQuery, SearchPlan, list};
    let year_us = 365 * 86_400 * 1_000_000;
    let street_scope = linli_domain::auth::ScopeFilter {
        ranges: vec![{
            let path = t
                .app
                .db
                .fetch_all(
                    "SELECT path FROM org_units WHERE code = '110101001'",
                    vec![],
                    |r| r.text("path"),
                )
                .await
                .unwrap()
                .remove(0);
            let hi = linli_domain::org::subtree_upper(&path);
            (path, hi)
        }],
        ..Default::default()
    };
    let scopes = [
        ("district", linli_domain::auth::ScopeFilter::everything()),
        ("street", street_scope),
    ];
    let ids = |rows: Vec<CaseRow>| -> Vec<uuid::Uuid> { rows.into_iter().map(|c| c.id).collect() };
    for q in [
        "电梯故障",
        "路灯",
        "多福巷社区",
        "楼道 杂物",
        "主板",
        "电梯 路灯",
        "坏",
        "东华门",
    ] {
        for (who, scope) in &scopes {
            let base = ListQuery {
                search: linli_app::search::query(&t.app, q),
                limit: 50,
                now: linli_domain::Clock::now(&t.clock),
                ..Default::default()
            };
            let plan = |plan: SearchPlan| ListQuery {
                search_plan: plan,
                ..base.clone()
            };
            let by_index = ids(list(&t.app.db, scope, &plan(SearchPlan::Matches))
                .await
                .unwrap());
            let by_probe = ids(list(&t.app.db, scope, &plan(SearchPlan::Probe))
                .await
                .unwrap());
            assert_eq!(by_index, by_probe, "{q} ({who})");
            for now in [
                linli_domain::Clock::now(&t.clock),
                linli_domain::Ts(linli_domain::Clock::now(&t.clock).0 + 3 * year_us),
                linli_domain::Ts(linli_domain::Clock::now(&t.clock).0 - 3 * year_us),
            ] {
                let windows = ListQuery {
                    now,
                    ..plan(SearchPlan::Windows)
                };
                let by_windows = ids(list(&t.app.db, scope, &windows).await.unwrap());
                assert_eq!(by_windows, by_index, "{q} ({who}, now {now:?})");
                // One case a page, each page after the last one's id.
                let mut paged = Vec::new();
                let mut before = None;
                loop {
                    let page = ListQuery {
                        limit: 1,
                        before,
                        ..windows.clone()
                    };
                    let got = ids(list(&t.app.db, scope, &page).await.unwrap());
                    let Some(last) = got.last() else { break };
                    before = Some(*last);
                    paged.extend(got);
                }
                assert_eq!(paged, by_index, "{q} ({who}, paged)");
            }
        }
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

/// Index rows of cases made in the same millisecond get distinct keys (on SQLite the key is
/// time-ordered: the millisecond and a few bits), keep them when rewritten, and are all found.
#[tokio::test]
async fn search_keys_of_one_millisecond_stay_distinct() {
    use linli_store::repo::search::{Doc, doc_key, id_millis, upsert_many};
    let t = spawn_app().await;
    let ms = 1_795_248_000_123u64;
    let ids: Vec<uuid::Uuid> = (0..40u64)
        .map(|i| {
            uuid::Uuid::new_v7(uuid::Timestamp::from_unix(
                uuid::NoContext,
                ms / 1000,
                ((ms % 1000) * 1_000_000 + i) as u32,
            ))
        })
        .collect();
    assert!(ids.iter().all(|id| id_millis(*id) == ms as i64));
    let engine = t.app.db.engine();
    // Make every proposal clash with the first one's: the same key for all forty.
    let write = |n: usize, terms: &'static str| {
        let ids = ids.clone();
        let db = t.app.db.clone();
        async move {
            let docs: Vec<Doc<'_>> = ids[..n]
                .iter()
                .map(|id| Doc {
                    tenant: "110101",
                    case_id: *id,
                    terms: terms.to_string(),
                })
                .collect();
            let mut tx = db.begin_write().await.unwrap();
            // Half in one batch, the rest one by one: clashes within a batch and with the table.
            upsert_many(&mut tx, &docs[..n / 2]).await.unwrap();
            for d in &docs[n / 2..] {
                upsert_many(&mut tx, std::slice::from_ref(d)).await.unwrap();
            }
            tx.commit().await.unwrap();
        }
    };
    write(40, "井盖 破损").await;
    let keys = |db: linli_store::Db| async move {
        db.fetch_all(
            "SELECT doc FROM case_search WHERE tenant = '110101' ORDER BY doc",
            vec![],
            |r| r.i64("doc"),
        )
        .await
        .unwrap()
    };
    let first = keys(t.app.db.clone()).await;
    assert_eq!(first.len(), 40);
    let mut distinct = first.clone();
    distinct.dedup();
    assert_eq!(distinct.len(), 40);
    if engine == linli_store::Engine::Sqlite {
        assert!(
            first.iter().all(|k| k >> 14 == ms as i64),
            "time-ordered keys"
        );
        let _ = doc_key(engine, "110101", ids[0]);
    }
    // Rewritten: the same keys, the new terms found, the old ones gone.
    write(40, "路灯 不亮").await;
    assert_eq!(keys(t.app.db.clone()).await, first);
    let found = |q: &'static str| {
        let db = t.app.db.clone();
        let app = t.app.clone();
        async move {
            let lq = linli_store::repo::cases::ListQuery {
                search: linli_app::search::query(&app, q),
                limit: 100,
                ..Default::default()
            };
            let mut p = linli_store::Params::default();
            let sql = linli_store::repo::search::match_sql(db.engine(), &lq.search, &mut p);
            db.fetch_all(sql, p.args, |r| r.uuid("case_id"))
                .await
                .unwrap()
                .len()
        }
    };
    assert_eq!(found("路灯").await, 40);
    assert_eq!(found("井盖").await, 0);
}
