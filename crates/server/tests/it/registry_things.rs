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

/// An organisation with a contact, registered by the community in grid01.
async fn organisation_in_grid1(t: &TestApp, c: &Client, name: &str) -> String {
    let grid1 = t.unit_id(GRID1).await;
    let r = c
        .post(
            "/api/v1/organisations",
            json!({"kind": "物业公司", "name": name, "unit_id": grid1,
                   "contact_name": "王经理", "contact_phone": PHONE, "member_count": 12}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.body["organisation"]["id"].as_str().unwrap().to_string()
}

/// The cells of an exported workbook's first sheet.
fn sheet(bytes: &[u8]) -> Vec<Vec<String>> {
    assert!(bytes.starts_with(b"PK\x03\x04"), "an xlsx (zip) file");
    linli_app::sheet::xlsx_rows(bytes)
        .unwrap()
        .into_iter()
        .map(|(_, cells)| cells)
        .collect()
}

#[tokio::test]
async fn organisation_and_component_exports_are_masked_scoped_and_audited() {
    let t = spawn_app().await;
    let c = t.login("duofuxiang").await;
    let grid1 = t.unit_id(GRID1).await;
    let oid = organisation_in_grid1(&t, &c, "多福导出物业").await;
    let r = c
        .post(
            "/api/v1/components",
            json!({"code": "1101010118900007", "unit_id": grid1, "address": "多福巷 7 号",
                   "owner_id": t.unit_id("110101B01").await}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);

    // Organisations: the list's rows, the contact masked, nothing in full.
    let (status, headers, bytes) = c
        .download(
            &format!("/api/v1/organisations/export?unit={grid1}&kind=物业公司"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
    assert_eq!(headers["cache-control"], "no-store");
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains("filename*=UTF-8''%E7%BB%84%E7%BB%87-"),
        "{headers:?}"
    );
    let rows = sheet(&bytes);
    assert_eq!(
        rows[0][..5],
        ["组织名称", "类型", "地址", "联系人", "联系电话"]
    );
    let listed = c
        .get(&format!(
            "/api/v1/organisations?unit={grid1}&kind=物业公司&limit=200"
        ))
        .await;
    assert_eq!(rows.len() - 1, ids(&listed.body).len(), "the list's rows");
    let ours = rows
        .iter()
        .find(|r| r[0] == "多福导出物业")
        .expect("ours is exported");
    assert_eq!(
        (ours[3].as_str(), ours[4].as_str(), ours[5].as_str()),
        ("王**", "139****0001", "12")
    );
    assert!(
        !rows
            .iter()
            .flatten()
            .any(|c| c.contains(PHONE) || c.contains("王经理"))
    );

    // Components: the filters of the list (class, state, code prefix) apply.
    let (status, _, bytes) = c
        .download(
            &format!("/api/v1/components/export?unit={grid1}&class=0118&state=good"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let rows = sheet(&bytes);
    assert_eq!(rows[0][0], "标识码");
    let ours = rows
        .iter()
        .find(|r| r[0] == "1101010118900007")
        .expect("ours is exported");
    assert_eq!(ours[1], "路灯");
    assert_eq!(ours[6], "城市管理委员会");
    assert!(rows[1..].iter().all(|r| r[3] == "0118"), "{rows:?}");
    let (_, _, bytes) = c
        .download("/api/v1/components/export?state=damaged", None)
        .await;
    assert!(!sheet(&bytes).iter().any(|r| r[0] == "1101010118900007"));
    let r = c.get("/api/v1/components/export?class=abc").await;
    assert_eq!((r.status, r.key()), (422, "invalid_class"));
    let r = c.get("/api/v1/organisations/export?kind=nope").await;
    assert_eq!((r.status, r.key()), (422, "invalid_kind"));

    // Each export is audited with its filters and row count, never with values.
    let auditor = t.login("auditor").await;
    let a = auditor
        .get("/api/v1/audit?action=organisation.export")
        .await;
    assert_eq!(a.body["items"].as_array().unwrap().len(), 1, "{}", a.text);
    assert!(a.text.contains("property_company"), "{}", a.text);
    assert!(!a.text.contains(PHONE));
    let a = auditor.get("/api/v1/audit?action=component.export").await;
    assert_eq!(a.body["items"].as_array().unwrap().len(), 2, "{}", a.text);

    // Out of reach: a grid worker may not export; the neighbouring community cannot name
    // grid01, and its own exports hold none of grid01's rows.
    let g1 = t.login("grid01").await;
    for path in [
        "/api/v1/organisations/export".to_string(),
        "/api/v1/components/export".into(),
    ] {
        let (status, _, _) = g1.download(&path, None).await;
        assert_eq!(status, 403, "{path}");
    }
    let yinsi = t.login("yinsi").await;
    for path in [
        format!("/api/v1/organisations/export?unit={grid1}"),
        format!("/api/v1/components/export?unit={grid1}"),
    ] {
        let (status, _, _) = yinsi.download(&path, None).await;
        assert_eq!(status, 404, "{path}");
    }
    let (status, _, bytes) = yinsi.download("/api/v1/organisations/export", None).await;
    assert_eq!(status, 200);
    assert!(!sheet(&bytes).iter().any(|r| r[0] == "多福导出物业"));
    let (status, _, bytes) = yinsi.download("/api/v1/components/export", None).await;
    assert_eq!(status, 200);
    assert!(!sheet(&bytes).iter().any(|r| r[0] == "1101010118900007"));

    // The console's 导出 Excel buttons carry the list's filters.
    let cc = crate::console::console_login(&t, "duofuxiang").await;
    let list = cc
        .get_html(&format!(
            "/console/registry/organisations?unit={grid1}&kind=property_company"
        ))
        .await;
    assert_eq!(
        crate::console::count(&list.text, "form.organisation-export"),
        1
    );
    assert_eq!(
        attr(
            &list.text,
            "form.organisation-export input[name=kind]",
            "value"
        )
        .as_deref(),
        Some("property_company")
    );
    let csrf = attr(
        &list.text,
        "form.organisation-export input[name=csrf]",
        "value",
    )
    .unwrap();
    let r = cc
        .http
        .post(format!("{}/console/registry/organisations/export", cc.base))
        .form(&[
            ("csrf", csrf.as_str()),
            ("unit", grid1.as_str()),
            ("kind", "property_company"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let bytes = r.bytes().await.unwrap();
    assert!(sheet(&bytes).iter().any(|r| r[0] == "多福导出物业"));
    let list = cc
        .get_html(&format!("/console/registry/components?unit={grid1}"))
        .await;
    assert_eq!(
        crate::console::count(&list.text, "form.component-export"),
        1
    );
    let r = cc
        .post_form(
            "/console/registry/components/export",
            &[("csrf", &csrf), ("class", "abc")],
        )
        .await;
    assert_eq!(
        r.status, 422,
        "a refused export shows the list with the reason"
    );
    assert!(r.text.contains("部件类别应为"), "{}", r.text);
    let gc = crate::console::console_login(&t, "grid01").await;
    let list = gc.get_html("/console/registry/organisations").await;
    assert_eq!(
        crate::console::count(&list.text, "form.organisation-export"),
        0
    );
    let _ = oid;
}

#[tokio::test]
async fn organisation_contacts_are_revealed_only_with_permission_and_a_reason() {
    let t = spawn_app().await;
    let c = t.login("duofuxiang").await;
    let oid = organisation_in_grid1(&t, &c, "多福巷物业").await;
    let path = format!("/api/v1/organisations/{oid}/unmask");

    // A grid worker of the same grid reads it but may not unmask: 403.
    let g1 = t.login("grid01").await;
    let r = g1.get(&format!("/api/v1/organisations/{oid}")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["unmaskable"], false);
    let r = g1.post(&path, json!({"reason": "核实物业联系方式"})).await;
    assert_eq!((r.status, r.key()), (403, "forbidden"), "{}", r.text);
    // No reason, or too short a one: 422.
    for reason in ["", "  ", "看看"] {
        let r = c.post(&path, json!({"reason": reason})).await;
        assert_eq!(
            (r.status, r.key()),
            (422, "reason_required"),
            "{reason:?}: {}",
            r.text
        );
    }
    // The neighbouring community may unmask, but not here: 404.
    let yinsi = t.login("yinsi").await;
    let r = yinsi
        .post(&path, json!({"reason": "核实物业联系方式"}))
        .await;
    assert_eq!(r.status, 404, "{}", r.text);
    // With the permission and a reason: the full values.
    let r = c.get(&format!("/api/v1/organisations/{oid}")).await;
    assert_eq!(r.body["unmaskable"], true);
    let r = c
        .post(&path, json!({"reason": "通知物业处理楼道堆物"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["contact_name"], "王经理");
    assert_eq!(r.body["contact_phone"], PHONE);
    assert_eq!(r.headers["cache-control"], "no-store");

    // One audit row, for the one that succeeded: the reason, never the values.
    let auditor = t.login("auditor").await;
    let a = auditor
        .get("/api/v1/audit?action=organisation.unmask")
        .await;
    let items = a.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", a.text);
    assert!(a.text.contains("通知物业处理楼道堆物"), "{}", a.text);
    assert!(
        !a.text.contains(PHONE) && !a.text.contains("王经理"),
        "{}",
        a.text
    );

    // The console: the form only for those who may; htmx gets the box, no reason a 422.
    let cc = crate::console::console_login(&t, "duofuxiang").await;
    let page = cc
        .get_html(&format!("/console/registry/organisations/{oid}"))
        .await;
    assert_eq!(crate::console::count(&page.text, "form.unmask-form"), 1);
    assert!(!page.text.contains(PHONE));
    let csrf = attr(&page.text, "form.unmask-form input[name=csrf]", "value").unwrap();
    let post = |reason: &'static str| {
        cc.http
            .post(format!(
                "{}/console/registry/organisations/{oid}/unmask",
                cc.base
            ))
            .header("hx-request", "true")
            .form(&[("csrf", csrf.clone()), ("reason", reason.to_string())])
            .send()
    };
    let r = html(post("").await.unwrap()).await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert!(!r.text.contains(PHONE));
    let r = html(post("电话通知业委会开会").await.unwrap()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        text_of(&r.text, ".unmasked-contact-phone").as_deref(),
        Some(PHONE)
    );
    let gc = crate::console::console_login(&t, "grid01").await;
    let page = gc
        .get_html(&format!("/console/registry/organisations/{oid}"))
        .await;
    assert_eq!(page.status, 200);
    assert_eq!(crate::console::count(&page.text, "form.unmask-form"), 0);
    let a = auditor
        .get("/api/v1/audit?action=organisation.unmask")
        .await;
    assert_eq!(a.body["items"].as_array().unwrap().len(), 2, "{}", a.text);
}

#[tokio::test]
async fn console_forms_register_and_change_organisations_and_components() {
    let t = spawn_app().await;
    let grid1 = t.unit_id(GRID1).await;
    let c = crate::console::console_login(&t, "duofuxiang").await;

    // 组织: 新增 from the list; every bad field gets its own message, nothing is written.
    let list = c.get_html("/console/registry/organisations").await;
    let href = attr(&list.text, "a.organisation-new", "href").unwrap();
    let form = c.get_html(&href).await;
    assert_eq!(form.status, 200, "{}", form.text);
    let csrf = attr(
        &form.text,
        "form.organisation-form input[name=csrf]",
        "value",
    )
    .unwrap();
    let before = count(&t, "organisations").await;
    let r = c
        .post_form(
            &href,
            &[
                ("csrf", &csrf),
                ("kind", "property_company"),
                ("name", " "),
                ("unit", ""),
                ("contact_phone", "12x"),
                ("member_count", "很多"),
            ],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    for field in ["name", "unit", "contact_phone", "member_count"] {
        let m = text_of(&r.text, &format!(".field-error[data-field={field}]"));
        assert!(m.is_some_and(|m| !m.is_empty()), "{field}: {}", r.text);
    }
    assert_eq!(
        attr(&r.text, "select[name=kind] option[selected]", "value").as_deref(),
        Some("property_company"),
        "the form keeps what was typed"
    );
    // A unit out of scope is the use case's refusal, next to the unit field.
    let ygrid = t.unit_id(YINSI_GRID).await;
    let r = c
        .post_form(
            &href,
            &[
                ("csrf", &csrf),
                ("kind", "党组织"),
                ("name", "某支部"),
                ("unit", &ygrid),
            ],
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.text);
    assert!(text_of(&r.text, ".field-error[data-field=unit]").is_some());
    assert_eq!(count(&t, "organisations").await, before);
    let r = c
        .post_form(
            &href,
            &[
                ("csrf", &csrf),
                ("kind", "party_organisation"),
                ("name", "多福巷第一网格党支部"),
                ("unit", &grid1),
                ("contact_name", "赵书记"),
                ("contact_phone", PHONE),
                ("member_count", "23"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let to = r.headers["location"].to_str().unwrap().to_string();
    assert!(to.starts_with("/console/registry/organisations/"), "{to}");
    let page = c.get_html(&to).await;
    assert_eq!(
        text_of(&page.text, "td.organisation-name").as_deref(),
        Some("多福巷第一网格党支部")
    );
    assert_eq!(
        text_of(&page.text, ".organisation-phone").as_deref(),
        Some("139****0001")
    );
    let edit = attr(&page.text, "a.organisation-edit", "href").unwrap();

    // 编辑: the form has the values (the contact only masked); a served building is ticked.
    let form = c.get_html(&edit).await;
    assert_eq!(form.status, 200, "{}", form.text);
    assert!(!form.text.contains(PHONE) && !form.text.contains("赵书记"));
    assert_eq!(
        attr(&form.text, "input[name=member_count]", "value").as_deref(),
        Some("23")
    );
    let building = attr(&form.text, "input[name=building]", "value").expect("grid01 buildings");
    let version = attr(&form.text, "input[name=version]", "value").unwrap();
    let r = c
        .post_form(
            &edit,
            &[
                ("csrf", &csrf),
                ("kind", "party_organisation"),
                ("name", "多福巷第一网格党支部（改）"),
                ("unit", &grid1),
                ("member_count", "25"),
                ("buildings_shown", "1"),
                ("building", &building),
                ("version", &version),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let id = to.rsplit('/').next().unwrap().split('?').next().unwrap();
    let api = t.login("duofuxiang").await;
    let d = api.get(&format!("/api/v1/organisations/{id}")).await;
    assert_eq!(d.body["organisation"]["name"], "多福巷第一网格党支部（改）");
    assert_eq!(d.body["organisation"]["member_count"], 25);
    assert_eq!(
        d.body["organisation"]["contact_phone"], "139****0001",
        "kept"
    );
    assert_eq!(d.body["buildings"][0]["id"], building.as_str());
    // The same (now stale) version again: 409 with the form and the reason.
    let r = c
        .post_form(
            &edit,
            &[
                ("csrf", &csrf),
                ("kind", "party_organisation"),
                ("name", "再改"),
                ("unit", &grid1),
                ("version", &version),
            ],
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert!(r.text.contains("已被他人更新"), "{}", r.text);
    assert_eq!(
        attr(&r.text, "input[name=name]", "value").as_deref(),
        Some("再改")
    );

    // 部件: the code checked per GB/T 30428 next to its field.
    let list = c.get_html("/console/registry/components").await;
    let href = attr(&list.text, "a.component-new", "href").unwrap();
    let form = c.get_html(&href).await;
    assert_eq!(form.status, 200, "{}", form.text);
    let dept = attr(
        &form.text,
        "select[name=owner] option:nth-child(2)",
        "value",
    )
    .expect("departments to choose from");
    for (code, lat, message) in [
        ("", "", "请填写部件标识码"),
        ("1101010118", "", "16位"),
        ("1101010918000001", "", "大类"),
        ("1101010118000009", "北纬", "纬度"),
    ] {
        let r = c
            .post_form(
                &href,
                &[
                    ("csrf", &csrf),
                    ("code", code),
                    ("unit", &grid1),
                    ("lat", lat),
                ],
            )
            .await;
        assert_eq!(r.status, 422, "{code}: {}", r.text);
        let shown = text_of(&r.text, ".field-error").unwrap_or_default();
        assert!(shown.contains(message), "{code}: {shown}");
    }
    let r = c
        .post_form(
            &href,
            &[
                ("csrf", &csrf),
                ("code", "1101020118000001"),
                ("unit", &grid1),
            ],
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(text_of(&r.text, ".field-error[data-field=code]").is_some_and(|m| m.contains("区县")));
    let r = c
        .post_form(
            &href,
            &[
                ("csrf", &csrf),
                ("code", "1101010118900011"),
                ("unit", &grid1),
                ("owner", &dept),
                ("state", "damaged"),
                ("address", "多福巷 11 号"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let to = r.headers["location"].to_str().unwrap().to_string();
    let page = c.get_html(&to).await;
    assert_eq!(
        text_of(&page.text, ".component-state-label").as_deref(),
        Some("损坏")
    );
    // The same code again: a conflict next to the code.
    let r = c
        .post_form(
            &href,
            &[
                ("csrf", &csrf),
                ("code", "1101010118900011"),
                ("unit", &grid1),
            ],
        )
        .await;
    assert_eq!(r.status, 409);
    assert!(
        text_of(&r.text, ".field-error[data-field=code]").is_some_and(|m| m.contains("已登记"))
    );
    let edit = attr(&page.text, "a.component-edit", "href").unwrap();
    let form = c.get_html(&edit).await;
    let version = attr(&form.text, "input[name=version]", "value").unwrap();
    assert_eq!(
        attr(&form.text, "select[name=owner] option[selected]", "value").as_deref(),
        Some(dept.as_str())
    );
    let r = c
        .post_form(
            &edit,
            &[
                ("csrf", &csrf),
                ("name", "景观路灯"),
                ("unit", &grid1),
                ("state", "good"),
                ("owner", &dept),
                ("address", "多福巷 11 号"),
                ("note", "已修复"),
                ("version", &version),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let page = c.get_html(&to).await;
    assert_eq!(
        text_of(&page.text, ".component-name").as_deref(),
        Some("景观路灯")
    );
    let r = c
        .post_form(
            &edit,
            &[
                ("csrf", &csrf),
                ("name", "又改"),
                ("unit", &grid1),
                ("version", &version),
            ],
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.text);

    // Outside the scope: the forms are not found; without registry access they are refused.
    let y = crate::console::console_login(&t, "yinsi").await;
    assert_eq!(y.get_html(&edit).await.status, 404);
    let cid = to.rsplit('/').next().unwrap().split('?').next().unwrap();
    let r = y
        .post_form(
            &format!("/console/registry/components/{cid}/edit"),
            &[
                ("csrf", &crate::console::csrf_of(&y).await),
                ("name", "x"),
                ("version", "1"),
            ],
        )
        .await;
    assert_eq!(r.status, 404);
    let a = crate::console::console_login(&t, "auditor").await;
    assert_eq!(
        a.get_html("/console/registry/organisations/new")
            .await
            .status,
        403
    );
    assert_eq!(
        a.get_html("/console/registry/components/new").await.status,
        403
    );
}

#[tokio::test]
async fn the_household_list_filters_pages_and_stays_in_scope() {
    let t = spawn_app().await;
    let grid1 = t.unit_id(GRID1).await;
    let api = t.login("duofuxiang").await;
    let r = api
        .get(&format!("/api/v1/households?unit={grid1}&limit=5"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let first = &r.body["items"][0];
    let hid = first["household"]["id"].as_str().unwrap().to_string();
    let number = first["house"]["number"].as_str().unwrap().to_string();
    assert!(!first["building_name"].as_str().unwrap().is_empty());
    // By 户号 (house number) prefix and by address prefix.
    let address = first["house"]["address"].as_str().unwrap().to_string();
    for q in [number.clone(), address.chars().take(3).collect::<String>()] {
        let r = api
            .get(&format!(
                "/api/v1/households?unit={grid1}&q={}&limit=200",
                urlencoding(&q)
            ))
            .await;
        assert_eq!(r.status, 200, "{q}: {}", r.text);
        assert!(
            r.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i["household"]["id"] == hid.as_str()),
            "{q}"
        );
    }
    let r = api.get("/api/v1/households?q=不存在的地址&limit=200").await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 0);

    // The console list: in the registry tabs, rows link to the household page, pages on.
    let c = crate::console::console_login(&t, "duofuxiang").await;
    let home = c.get_html("/console/registry").await;
    assert_eq!(
        crate::console::count(&home.text, "a[href='/console/registry/households']"),
        1
    );
    let list = c
        .get_html(&format!("/console/registry/households?unit={grid1}"))
        .await;
    assert_eq!(list.status, 200, "{}", list.text);
    assert!(crate::console::count(&list.text, "tr.household-row") > 1);
    assert!(no_full_phone(&list.text));
    assert!(
        list.text
            .contains(&format!("/console/registry/households/{hid}")),
        "the newest household is on the first page"
    );
    let next = attr(&list.text, "a.household-next", "href");
    if let Some(next) = next {
        let p2 = c.get_html(&next).await;
        assert_eq!(p2.status, 200);
        assert!(
            !p2.text
                .contains(&format!("/console/registry/households/{hid}\""))
        );
    }
    let list = c
        .get_html(&format!(
            "/console/registry/households?unit={grid1}&q={}",
            urlencoding(&number)
        ))
        .await;
    assert!(
        list.text
            .contains(&format!("/console/registry/households/{hid}"))
    );
    let page = c
        .get_html(&format!("/console/registry/households/{hid}"))
        .await;
    assert_eq!(page.status, 200);
    assert!(text_of(&page.text, ".household-head").is_some());
    assert!(no_full_phone(&page.text));

    // The neighbouring community cannot name grid01, nor sees its households in its own list;
    // grid02's worker neither.
    let y = crate::console::console_login(&t, "yinsi").await;
    let r = y
        .get_html(&format!("/console/registry/households?unit={grid1}"))
        .await;
    assert_eq!(r.status, 404);
    let r = y.get_html("/console/registry/households").await;
    assert_eq!(r.status, 200);
    assert!(
        !r.text
            .contains(&format!("/console/registry/households/{hid}"))
    );
    let g2 = crate::console::console_login(&t, "grid02").await;
    let r = g2.get_html("/console/registry/households").await;
    assert!(
        !r.text
            .contains(&format!("/console/registry/households/{hid}"))
    );
}

fn urlencoding(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
