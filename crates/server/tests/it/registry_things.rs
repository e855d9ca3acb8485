//! Components (部件), organisations (组织) and households (户) over HTTP on whichever engine the
//! test database is: registration with the GB/T 30428 code checked and unique, the grid found
//! from the point, state changes with version checks, organisations with masked and sealed
//! contact phones and the buildings they serve, household pages from the demo registry, and
//! scope — a neighbouring community gets 404 for every one of them.

use serde_json::{Value, json};

use crate::support::*;

const GRID1: &str = "110101001001001";
/// 银闸社区's first grid: the neighbouring community.
const YINSI_GRID: &str = "110101001002001";
/// A phone that appears nowhere in the demo data.
const PHONE: &str = "13912340001";

async fn count(t: &TestApp, table: &str) -> i64 {
    t.app
        .db
        .fetch_one_i64(format!("SELECT COUNT(*) AS n FROM {table}"), vec![])
        .await
        .unwrap()
}

fn ids(v: &Value) -> Vec<String> {
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect()
}

/// A point inside a grid: the position of one of its demo buildings, checked with `locate`.
async fn point_in(c: &Client, grid: &str) -> (f64, f64) {
    let r = c
        .get(&format!("/api/v1/buildings?unit={grid}&limit=200"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    for b in r.body["items"].as_array().unwrap() {
        let (Some(lat), Some(lng)) = (b["lat"].as_f64(), b["lng"].as_f64()) else {
            continue;
        };
        let l = c
            .get(&format!("/api/v1/grids/locate?lat={lat}&lng={lng}"))
            .await;
        if l.status == 200 && l.body["grid_id"] == grid {
            return (lat, lng);
        }
    }
    panic!("no demo building of {grid} lies inside its polygon");
}

#[tokio::test]
async fn components_are_coded_located_changed_and_scoped() {
    let t = spawn_app().await;
    let c = t.login("duofuxiang").await;
    let grid1 = t.unit_id(GRID1).await;
    let before = count(&t, "components").await;

    // Bad input: each refused with its key and a message, nothing written.
    for (body, key) in [
        (
            json!({"code": "1101010118", "unit_id": grid1}),
            "component_length",
        ),
        (
            json!({"code": "11010101180000a1", "unit_id": grid1}),
            "component_chars",
        ),
        (
            json!({"code": "1101010918000001", "unit_id": grid1}),
            "component_major",
        ),
        (
            json!({"code": "1101010118000000", "unit_id": grid1}),
            "component_serial",
        ),
        (
            json!({"code": "1101020118000001", "unit_id": grid1}),
            "component_county_mismatch",
        ),
        (
            json!({"code": "1101010118900001", "unit_id": grid1, "state": "坏了"}),
            "invalid_state",
        ),
        (
            json!({"code": "1101010118900001", "point": {"lat": 95.0, "lng": 116.4}}),
            "invalid_point",
        ),
        (
            json!({"code": "1101010118900001", "point": {"lat": 39.9, "lng": 116.4, "datum": "mars"}}),
            "invalid_datum",
        ),
        (
            json!({"code": "1101010118900001", "point": {"lat": 10.0, "lng": 10.0}}),
            "point_outside_grids",
        ),
        (
            json!({"code": "1101010118900001"}),
            "unit_or_point_required",
        ),
    ] {
        let r = c.post("/api/v1/components", body.clone()).await;
        assert_eq!((r.status, r.key()), (422, key), "{body}: {}", r.text);
        assert!(!r.body["message"].as_str().unwrap_or("").is_empty());
    }
    assert_eq!(count(&t, "components").await, before, "nothing written");

    // Registered by point: the grid is the one the point lies in; the name is the class's.
    let (lat, lng) = point_in(&c, &grid1).await;
    let r = c
        .post(
            "/api/v1/components",
            json!({"code": "1101010118900001", "point": {"lat": lat, "lng": lng},
                   "address": "多福巷 3 号门前", "owner_id": t.unit_id("110101B01").await}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let v = &r.body["component"];
    assert_eq!(v["component"]["unit_id"], grid1.as_str());
    assert_eq!(v["component"]["name"], "路灯");
    assert_eq!(v["component"]["class_code"], "0118");
    assert_eq!(v["component"]["state"], "good");
    assert_eq!(v["owner_name"], "城市管理委员会");
    let id = v["component"]["id"].as_str().unwrap().to_string();

    // The same code again is a conflict, and still only one row.
    let r = c
        .post(
            "/api/v1/components",
            json!({"code": "1101010118900001", "unit_id": grid1}),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert_eq!(count(&t, "components").await, before + 1);

    // A department that is not one is refused.
    let r = c
        .post(
            "/api/v1/components",
            json!({"code": "1101010126900002", "unit_id": grid1, "owner_id": grid1}),
        )
        .await;
    assert_eq!((r.status, r.key()), (422, "invalid_owner"), "{}", r.text);

    // Listed with filters: class (code, name, major), state, code prefix, unit.
    for q in [
        "class=0118".to_string(),
        "class=路灯".into(),
        "class=01".into(),
        "class=公用设施".into(),
        "code=11010101189".into(),
        format!("unit={grid1}&state=good"),
    ] {
        let r = c.get(&format!("/api/v1/components?{q}&limit=200")).await;
        assert_eq!(r.status, 200, "{q}: {}", r.text);
        assert!(ids(&r.body).contains(&id), "{q}");
    }
    for q in ["class=0126", "state=damaged", "code=11010101260"] {
        let r = c.get(&format!("/api/v1/components?{q}&limit=200")).await;
        assert!(!ids(&r.body).contains(&id), "{q}");
    }
    let r = c.get("/api/v1/components?class=abc").await;
    assert_eq!((r.status, r.key()), (422, "invalid_class"));

    // State change with the version read; a stale version is 409 and changes nothing.
    let r = c
        .patch(
            &format!("/api/v1/components/{id}"),
            json!({"state": "损坏", "note": "巡查发现灯罩破损", "version": 1}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["component"]["state"], "damaged");
    assert_eq!(r.body["component"]["state_label"], "损坏");
    assert_eq!(r.body["component"]["version"], 2);
    let r = c
        .patch(
            &format!("/api/v1/components/{id}"),
            json!({"state": "lost", "version": 1}),
        )
        .await;
    assert_eq!((r.status, r.key()), (409, "stale_version"), "{}", r.text);
    let r = c.get(&format!("/api/v1/components/{id}")).await;
    assert_eq!(r.body["component"]["state"], "damaged");
    let r = c
        .patch(
            &format!("/api/v1/components/{id}"),
            json!({"state": "occupied", "point": {"lat": 95.0, "lng": 1.0}, "version": 2}),
        )
        .await;
    assert_eq!((r.status, r.key()), (422, "invalid_point"));
    let r = c.get("/api/v1/components?state=damaged&limit=200").await;
    assert!(ids(&r.body).contains(&id));

    // The audit trail has the change with its note.
    let auditor = t.login("auditor").await;
    let a = auditor.get("/api/v1/audit?action=component.update").await;
    assert!(a.text.contains("巡查发现灯罩破损"), "{}", a.text);

    // Scope: the neighbouring community does not see it (404, like a missing row), nor can it
    // change it or list it; grid01's worker sees it.
    let yinsi = t.login("yinsi").await;
    assert_eq!(
        yinsi.get(&format!("/api/v1/components/{id}")).await.status,
        404
    );
    let r = yinsi
        .patch(
            &format!("/api/v1/components/{id}"),
            json!({"state": "good", "version": 2}),
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.text);
    let r = yinsi.get("/api/v1/components?limit=200").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(!ids(&r.body).contains(&id));
    assert_eq!(
        yinsi
            .get(&format!("/api/v1/components?unit={grid1}"))
            .await
            .status,
        404
    );
    // Nor may it register one in a grid it does not manage.
    let r = yinsi
        .post(
            "/api/v1/components",
            json!({"code": "1101010118900003", "unit_id": grid1}),
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.text);
    let g1 = t.login("grid01").await;
    assert_eq!(
        g1.get(&format!("/api/v1/components/{id}")).await.status,
        200
    );
}

#[tokio::test]
async fn organisations_keep_phones_sealed_and_serve_buildings_in_scope() {
    let t = spawn_app().await;
    let c = t.login("duofuxiang").await;
    let grid1 = t.unit_id(GRID1).await;
    let before = count(&t, "organisations").await;
    let b = c
        .get(&format!("/api/v1/buildings?unit={grid1}&limit=2"))
        .await;
    let buildings = ids(&b.body);
    assert!(!buildings.is_empty(), "grid01 has demo buildings");

    for (body, key) in [
        (
            json!({"kind": "公司", "name": "某物业", "unit_id": grid1}),
            "invalid_kind",
        ),
        (
            json!({"kind": "物业公司", "name": "", "unit_id": grid1}),
            "missing_field",
        ),
        (
            json!({"kind": "物业公司", "name": "某物业", "unit_id": grid1, "contact_phone": "12x"}),
            "invalid_phone",
        ),
        (
            json!({"kind": "物业公司", "name": "某物业", "unit_id": grid1, "member_count": -1}),
            "invalid_member_count",
        ),
    ] {
        let r = c.post("/api/v1/organisations", body.clone()).await;
        assert_eq!((r.status, r.key()), (422, key), "{body}: {}", r.text);
    }
    assert_eq!(count(&t, "organisations").await, before, "nothing written");

    let r = c
        .post(
            "/api/v1/organisations",
            json!({"kind": "物业公司", "name": "多福物业服务有限公司", "unit_id": grid1,
                   "contact_name": "王经理", "contact_phone": PHONE, "building_ids": buildings}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["organisation"]["contact_phone"], "139****0001");
    assert_eq!(r.body["organisation"]["contact_name"], "王**");
    assert_eq!(r.body["organisation"]["kind"], "property_company");
    assert_eq!(
        r.body["buildings"].as_array().unwrap().len(),
        buildings.len()
    );
    assert_eq!(r.body["grids"][0]["id"], grid1.as_str());
    assert!(!r.text.contains(PHONE), "{}", r.text);
    let id = r.body["organisation"]["id"].as_str().unwrap().to_string();

    // Listed by kind, unit and name; the phone masked; the database holds no plaintext.
    for q in [
        "kind=property_company".to_string(),
        "kind=物业公司".into(),
        "name=多福物业".into(),
        format!("unit={grid1}"),
    ] {
        let r = c.get(&format!("/api/v1/organisations?{q}&limit=200")).await;
        assert_eq!(r.status, 200, "{q}: {}", r.text);
        assert!(ids(&r.body).contains(&id), "{q}");
        assert!(!r.text.contains(PHONE));
    }
    let r = c.get("/api/v1/organisations?kind=党组织&limit=200").await;
    assert!(!ids(&r.body).contains(&id));
    let r = c.get("/api/v1/organisations?kind=nope").await;
    assert_eq!((r.status, r.key()), (422, "invalid_kind"));
    let raw: Vec<Vec<u8>> = t
        .app
        .db
        .fetch_all(
            "SELECT contact_phone FROM organisations WHERE id = $1",
            linli_store::args![uuid::Uuid::parse_str(&id).unwrap()],
            |r| r.bytes("contact_phone"),
        )
        .await
        .unwrap();
    assert!(!String::from_utf8_lossy(&raw[0]).contains(PHONE));
    assert!(!raw[0].is_empty());

    // Update with the version: fewer buildings, a new phone; stale is 409.
    let r = c
        .patch(
            &format!("/api/v1/organisations/{id}"),
            json!({"building_ids": [buildings[0]], "contact_phone": "13800138000", "version": 1}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["buildings"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["organisation"]["contact_phone"], "138****8000");
    let r = c
        .patch(
            &format!("/api/v1/organisations/{id}"),
            json!({"name": "改名", "version": 1}),
        )
        .await;
    assert_eq!((r.status, r.key()), (409, "stale_version"), "{}", r.text);
    let r = c
        .patch(
            &format!("/api/v1/organisations/{id}"),
            json!({"kind": "bad", "version": 2}),
        )
        .await;
    assert_eq!((r.status, r.key()), (422, "invalid_kind"));
    let r = c.get(&format!("/api/v1/organisations/{id}")).await;
    assert_eq!(r.body["organisation"]["name"], "多福物业服务有限公司");
    assert_eq!(r.body["organisation"]["version"], 2);

    // Scope: the neighbouring community gets 404 and does not list it; it may not name
    // buildings of another community as served either.
    let yinsi = t.login("yinsi").await;
    assert_eq!(
        yinsi
            .get(&format!("/api/v1/organisations/{id}"))
            .await
            .status,
        404
    );
    let r = yinsi.get("/api/v1/organisations?limit=200").await;
    assert!(!ids(&r.body).contains(&id));
    let ygrid = t.unit_id(YINSI_GRID).await;
    let r = yinsi
        .post(
            "/api/v1/organisations",
            json!({"kind": "业主委员会", "name": "银闸业委会", "unit_id": ygrid,
                   "building_ids": [buildings[0]]}),
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.text);
}

#[tokio::test]
async fn households_show_members_masked_and_stay_in_scope() {
    let t = spawn_app().await;
    let c = t.login("duofuxiang").await;
    let grid1 = t.unit_id(GRID1).await;
    let r = c
        .get(&format!("/api/v1/households?unit={grid1}&limit=20"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let items = r.body["items"].as_array().unwrap();
    let item = items
        .iter()
        .find(|i| i["members"].as_u64().unwrap_or(0) > 0)
        .expect("grid01 has demo households with members");
    let hid = item["household"]["id"].as_str().unwrap().to_string();
    assert!(item["head_name"].as_str().unwrap().contains('*'), "{item}");

    let r = c.get(&format!("/api/v1/households/{hid}")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let members = r.body["members"].as_array().unwrap();
    assert_eq!(members.len() as u64, item["members"].as_u64().unwrap());
    for m in members {
        assert!(m["id_number"].as_str().unwrap().contains("********"));
        assert_eq!(m["household_id"], hid.as_str());
    }
    assert_eq!(r.body["members"][0]["relation"], "户主");
    assert_eq!(r.body["head"]["id"], r.body["members"][0]["id"]);
    assert!(r.body["house"]["number"].as_str().is_some());
    assert!(!r.body["history"].as_array().unwrap().is_empty());
    let building = r.body["house"]["building_id"].as_str().unwrap().to_string();

    // By building: the household is among the building's; the person page names it.
    let r = c
        .get(&format!("/api/v1/households?building={building}&limit=200"))
        .await;
    assert!(
        r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["household"]["id"] == hid.as_str()),
        "{}",
        r.text
    );
    let person = members[0]["id"].as_str().unwrap();
    let r = c.get(&format!("/api/v1/residents/{person}")).await;
    assert_eq!(r.body["resident"]["household_id"], hid.as_str());

    // Scope: the neighbouring community and grid02's worker get 404.
    let yinsi = t.login("yinsi").await;
    assert_eq!(
        yinsi.get(&format!("/api/v1/households/{hid}")).await.status,
        404
    );
    assert_eq!(
        yinsi
            .get(&format!("/api/v1/households?building={building}"))
            .await
            .status,
        404
    );
    let g2 = t.login("grid02").await;
    assert_eq!(
        g2.get(&format!("/api/v1/households/{hid}")).await.status,
        404
    );
    let r = g2.get("/api/v1/households?limit=200").await;
    assert!(
        r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["household"]["unit_id"] != grid1.as_str())
    );
}

/// No run of 11 or more digits in the page's text (an unmasked phone or ID number).
fn no_full_phone(html: &str) -> bool {
    let doc = scraper::Html::parse_document(html);
    let text: String = doc.root_element().text().collect();
    let mut run = 0;
    for ch in text.chars() {
        run = if ch.is_ascii_digit() { run + 1 } else { 0 };
        if run == 11 {
            return false;
        }
    }
    true
}

#[tokio::test]
async fn console_pages_list_and_show_things_organisations_and_households() {
    let t = spawn_app().await;
    let api = t.login("duofuxiang").await;
    let grid1 = t.unit_id(GRID1).await;
    let r = api
        .post(
            "/api/v1/components",
            json!({"code": "1101010113900001", "unit_id": grid1, "address": "多福巷 5 号"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let cid = r.body["component"]["component"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = api
        .post(
            "/api/v1/organisations",
            json!({"kind": "业主委员会", "name": "多福巷小区业主委员会", "unit_id": grid1,
                   "contact_name": "李主任", "contact_phone": PHONE, "member_count": 7}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let oid = r.body["organisation"]["id"].as_str().unwrap().to_string();

    let c = crate::console::console_login(&t, "duofuxiang").await;
    // The overview links its facility counts to the new lists.
    let home = c.get_html(&format!("/console/registry?unit={grid1}")).await;
    assert_eq!(home.status, 200);
    let href = attr(&home.text, "a.stat-components", "href").unwrap();
    assert!(
        href.starts_with("/console/registry/components?unit="),
        "{href}"
    );
    let href = attr(&home.text, "a.stat-organisations", "href").unwrap();
    assert!(
        href.starts_with("/console/registry/organisations?unit="),
        "{href}"
    );

    // 部件: listed with its code and state, filtered by class; the page has the state form.
    let list = c
        .get_html(&format!(
            "/console/registry/components?unit={grid1}&class=01"
        ))
        .await;
    assert_eq!(list.status, 200, "{}", list.text);
    assert_eq!(
        text_of(&list.text, "tr.component-row a.component-code").as_deref(),
        Some("1101010113900001")
    );
    assert_eq!(
        text_of(&list.text, "tr.component-row .component-state").as_deref(),
        Some("完好")
    );
    let list = c
        .get_html("/console/registry/components?state=damaged&code=1101010113900001")
        .await;
    assert_eq!(crate::console::count(&list.text, "tr.component-row"), 0);
    let page = c
        .get_html(&format!("/console/registry/components/{cid}"))
        .await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert_eq!(
        text_of(&page.text, ".component-name").as_deref(),
        Some("消防设施")
    );
    let csrf = attr(&page.text, "form.state-form input[name=csrf]", "value").unwrap();
    let r = c
        .post_form(
            &format!("/console/registry/components/{cid}/state"),
            &[
                ("csrf", &csrf),
                ("state", "occupied"),
                ("note", "被车辆占压"),
                ("version", "1"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let page = c
        .get_html(&format!("/console/registry/components/{cid}"))
        .await;
    assert_eq!(
        text_of(&page.text, ".component-state-label").as_deref(),
        Some("占用")
    );
    // The same (now stale) version again: refused with the reason, nothing changed.
    let r = c
        .post_form(
            &format!("/console/registry/components/{cid}/state"),
            &[("csrf", &csrf), ("state", "good"), ("version", "1")],
        )
        .await;
    let to = r.headers["location"].to_str().unwrap().to_string();
    assert!(to.contains("err="), "{to}");
    let page = c
        .get_html(&format!("/console/registry/components/{cid}"))
        .await;
    assert_eq!(
        text_of(&page.text, ".component-state-label").as_deref(),
        Some("占用")
    );

    // 组织: the list and page show the phone masked, never in full.
    let list = c
        .get_html("/console/registry/organisations?kind=owners_committee&name=多福巷小区")
        .await;
    assert_eq!(list.status, 200, "{}", list.text);
    assert_eq!(
        text_of(&list.text, "tr.organisation-row .organisation-phone").as_deref(),
        Some("139****0001")
    );
    assert!(no_full_phone(&list.text) && !list.text.contains(PHONE));
    assert!(
        !list.text.contains("李主任"),
        "the contact's name is masked"
    );
    let page = c
        .get_html(&format!("/console/registry/organisations/{oid}"))
        .await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert_eq!(
        text_of(&page.text, ".organisation-phone").as_deref(),
        Some("139****0001")
    );
    assert!(!page.text.contains(PHONE));
    assert!(crate::console::count(&page.text, ".organisation-grids a.grid-link") >= 1);

    // 户: reached from the person page; members masked.
    let hh = api
        .get(&format!("/api/v1/households?unit={grid1}&limit=1"))
        .await;
    let hid = hh.body["items"][0]["household"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let d = api.get(&format!("/api/v1/households/{hid}")).await;
    let person = d.body["members"][0]["id"].as_str().unwrap().to_string();
    let pp = c
        .get_html(&format!("/console/registry/residents/{person}"))
        .await;
    let link = attr(&pp.text, "a.household-link", "href").unwrap();
    assert_eq!(link, format!("/console/registry/households/{hid}"));
    let page = c.get_html(&link).await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(crate::console::count(&page.text, "tr.household-member") >= 1);
    assert!(no_full_phone(&page.text), "members are masked");
    // The building page links the household too.
    let b = d.body["house"]["building_id"].as_str().unwrap();
    let bp = c
        .get_html(&format!("/console/registry/buildings/{b}"))
        .await;
    assert!(
        bp.text
            .contains(&format!("/console/registry/households/{hid}")),
        "building page links the household"
    );

    // A neighbouring community's worker gets the not-found page for all three.
    let y = crate::console::console_login(&t, "yinsi").await;
    for path in [
        format!("/console/registry/components/{cid}"),
        format!("/console/registry/organisations/{oid}"),
        format!("/console/registry/households/{hid}"),
    ] {
        assert_eq!(y.get_html(&path).await.status, 404, "{path}");
    }
}
