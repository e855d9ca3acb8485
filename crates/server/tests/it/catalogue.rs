//! The dispatch catalogue through HTTP: import (CSV, xlsx, multipart), validation that writes
//! nothing, activation, browse and search, the export round trip, and who may see what.

use linli_app::Ctx;
use linli_app::bootstrap::system_principal;
use linli_domain::auth::DataScope;
use linli_domain::org::OrgKind;
use serde_json::Value;

use crate::support::{Client, DEMO_PW, Resp, TestApp, attr, spawn_app};

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// A small catalogue in the full layout, routed to demo units.
const CSV_V2: &str = "代码,一级分类,二级分类,三级分类,责任单位类型,责任单位代码,默认紧急程度,签收时限,首次联系时限,一般办理时限,紧急办理时限,特急办理时限,社区可承办,关键词
,城市管理,道路照明,路灯不亮,职能部门,110101B01,一般,,,3wd,24h,,否,路灯、黑灯
,城市管理,道路照明,景观灯损坏,,110101B01,一般,,,5wd,,,否,
,城市管理,\"井盖, 窨井\",井盖缺失,职能部门,110101B01,特急,1h,1h,2wd,24h,2h,否,井盖
,邻里关系,噪声,楼上噪声,社区村,,一般,,,5wd,,,是,装修、楼上
,邻里关系,其他,其他,,,,,,,,,否,
";

async fn send(c: &Client, rb: reqwest::RequestBuilder) -> Resp {
    let mut rb = rb;
    if let Some(t) = &c.csrf {
        rb = rb.header("x-csrf-token", t);
    }
    let r = rb.send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let bytes = r.bytes().await.unwrap();
    let text = String::from_utf8_lossy(&bytes).to_string();
    Resp {
        status,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        text,
        headers,
    }
}

/// POST a file as the raw body.
async fn upload(c: &Client, query: &str, content_type: &str, body: Vec<u8>) -> Resp {
    let rb = c
        .http
        .post(format!("{}/api/v1/catalogue/versions{query}", c.base))
        .header("content-type", content_type)
        .body(body);
    send(c, rb).await
}

/// GET a file's bytes.
async fn download(c: &Client, path: &str) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let r = c
        .http
        .get(format!("{}{path}", c.base))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, headers, r.bytes().await.unwrap().to_vec())
}

fn multipart(fields: &[(&str, Option<&str>, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "linli-test-boundary-7f3a";
    let mut body = Vec::new();
    for (name, file, data) in fields {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match file {
            Some(f) => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: application/octet-stream\r\n\r\n")
                    .as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn counts(t: &TestApp) -> (i64, i64) {
    let v = t
        .app
        .db
        .fetch_one_i64("SELECT COUNT(*) AS n FROM catalogue_versions", vec![])
        .await
        .unwrap();
    let i = t
        .app
        .db
        .fetch_one_i64("SELECT COUNT(*) AS n FROM catalogue_items", vec![])
        .await
        .unwrap();
    (v, i)
}

fn versions(r: &Resp) -> Vec<(i64, String)> {
    r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["version"].as_i64().unwrap(),
                v["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_demo_district_has_an_active_catalogue() {
    let t = spawn_app().await;
    let c = t.login("dongcheng").await;
    let r = c.get("/api/v1/catalogue/versions").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(versions(&r), vec![(1, "active".to_string())]);
    // The built-in catalogue (the shared sample tree is not reachable from the test's working
    // directory): 10 categories at the top.
    let r = c.get("/api/v1/catalogue/items").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let top = r.body.as_array().unwrap();
    assert_eq!(top.len(), 10);
    assert_eq!(top[0]["code"], "01");
    assert_eq!(top[0]["level"], 1);
    assert!(top[0]["children"].as_i64().unwrap() > 0);
    // Loading the demo again adds nothing.
    linli_app::bootstrap::load_demo(&t.app, None).await.unwrap();
    let r = c.get("/api/v1/catalogue/versions").await;
    assert_eq!(versions(&r).len(), 1);
}

#[tokio::test]
async fn import_activate_search_and_export_round_trip() {
    let t = spawn_app().await;
    let c = t.login("dongcheng").await;
    let before = linli_app::catalogue::search(
        &t.app,
        &system_principal(&t.app, Ctx::cli()).await.unwrap(),
        "110101",
        "路灯",
        10,
    )
    .await
    .unwrap();
    assert_eq!(
        before.len(),
        1,
        "the demo catalogue has one street-light leaf"
    );
    let old_item = before[0].id;

    // A draft: imported, not yet used.
    let r = upload(
        &c,
        "?filename=v2.csv&note=%E8%B0%83%E6%95%B4",
        "text/csv",
        CSV_V2.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        (
            r.body["level1"].as_u64(),
            r.body["level2"].as_u64(),
            r.body["level3"].as_u64()
        ),
        (Some(2), Some(4), Some(5))
    );
    let v2 = r.body["version"]["id"].as_str().unwrap().to_string();
    assert_eq!(r.body["version"]["version"], 2);
    assert_eq!(r.body["version"]["status"], "draft");
    assert_eq!(r.body["version"]["source"], "v2.csv");
    assert_eq!(r.body["version"]["note"], "调整");
    // Search still answers from the active version 1.
    let r = c.get("/api/v1/catalogue/search?q=%E8%B7%AF%E7%81%AF").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body[0]["version"], 1);

    // Activate it: version 1 retires, search and browse follow version 2.
    let r = c
        .post(
            &format!("/api/v1/catalogue/versions/{v2}/activate"),
            Value::Null,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "active");
    let r = c.get("/api/v1/catalogue/versions").await;
    assert_eq!(
        versions(&r),
        vec![(2, "active".to_string()), (1, "retired".to_string())]
    );
    let r = c
        .post(
            &format!("/api/v1/catalogue/versions/{v2}/activate"),
            Value::Null,
        )
        .await;
    assert_eq!(r.status, 409, "already active: {}", r.text);

    let r = c.get("/api/v1/catalogue/search?q=%E8%B7%AF%E7%81%AF").await;
    let hits = r.body.as_array().unwrap();
    assert_eq!(hits.len(), 1, "{}", r.text);
    let hit = &hits[0];
    assert_eq!(hit["full_name"], "城市管理/道路照明/路灯不亮");
    assert_eq!(hit["version"], 2);
    assert_eq!(hit["code"], "01.01.001");
    assert_eq!(hit["handler_kind"], "department");
    assert_eq!(hit["handler_code"], "110101B01");
    assert_eq!(hit["limit_normal"], "3wd");
    assert_eq!(hit["limit_urgent"], "24h");
    assert_eq!(hit["sign_limit"], Value::Null);
    // Several words must all match; keywords count.
    let r = c
        .get("/api/v1/catalogue/search?q=%E9%82%BB%E9%87%8C%20%E8%A3%85%E4%BF%AE")
        .await;
    let hits = r.body.as_array().unwrap();
    assert_eq!(hits.len(), 1, "{}", r.text);
    assert_eq!(hits[0]["name"], "楼上噪声");
    assert_eq!(hits[0]["handler_kind"], "community");
    assert_eq!(hits[0]["community_may"], true);
    // The unit type was filled in from the unit the code names.
    let r = c
        .get("/api/v1/catalogue/search?q=%E6%99%AF%E8%A7%82%E7%81%AF")
        .await;
    assert_eq!(r.body[0]["handler_kind"], "department");

    // Browse level by level.
    let r = c.get("/api/v1/catalogue/items?parent=01").await;
    let kids: Vec<&str> = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(kids, vec!["道路照明", "井盖, 窨井"]);
    let r = c.get("/api/v1/catalogue/items?parent=99").await;
    assert_eq!(r.status, 404);
    let r = c.get("/api/v1/catalogue/items?parent=01%27--").await;
    assert_eq!(r.status, 422);

    // A case dispatched under version 1 still finds its item.
    let e = linli_app::catalogue::entry(&t.app, "110101", old_item)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(e.version, 1);
    assert!(e.leaf);
    assert_eq!(e.handler_code, "110101B01");
    let r = c.get(&format!("/api/v1/catalogue/items/{old_item}")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["version"], 1);

    // Export as CSV, import the export: the same file comes back out.
    let (status, headers, csv2) = download(
        &c,
        &format!("/api/v1/catalogue/versions/{v2}/export?format=csv"),
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains("catalogue-110101-v2.csv")
    );
    let r = upload(&c, "", "text/csv", csv2.clone()).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let v3 = r.body["version"]["id"].as_str().unwrap().to_string();
    let (_, _, csv3) = download(&c, &format!("/api/v1/catalogue/versions/{v3}/export")).await;
    assert_eq!(csv3, csv2, "export → import → export is stable");

    // The same through xlsx.
    let (status, headers, xlsx) = download(
        &c,
        &format!("/api/v1/catalogue/versions/{v2}/export?format=xlsx"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], XLSX);
    assert!(xlsx.starts_with(b"PK\x03\x04"));
    let r = upload(&c, "?activate=true", XLSX, xlsx).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["version"]["status"], "active");
    let v4 = r.body["version"]["id"].as_str().unwrap().to_string();
    let (_, _, csv4) = download(&c, &format!("/api/v1/catalogue/versions/{v4}/export")).await;
    assert_eq!(csv4, csv2);
    let r = c.get("/api/v1/catalogue/versions").await;
    assert_eq!(
        versions(&r),
        vec![
            (4, "active".to_string()),
            (3, "draft".to_string()),
            (2, "retired".to_string()),
            (1, "retired".to_string())
        ]
    );
    // Paging back through versions.
    let r = c.get("/api/v1/catalogue/versions?limit=2").await;
    assert_eq!(versions(&r).len(), 2);
    let cursor = r.body["next_cursor"].as_str().unwrap().to_string();
    let r = c
        .get(&format!(
            "/api/v1/catalogue/versions?limit=2&cursor={cursor}"
        ))
        .await;
    assert_eq!(
        versions(&r),
        vec![(2, "retired".to_string()), (1, "retired".to_string())]
    );
    assert_eq!(r.body["next_cursor"], Value::Null);

    // Roll back to version 2.
    let r = c
        .post(
            &format!("/api/v1/catalogue/versions/{v2}/activate"),
            Value::Null,
        )
        .await;
    assert_eq!(r.status, 200);
    let r = c.get("/api/v1/catalogue/versions?limit=1").await;
    assert_eq!(versions(&r), vec![(4, "retired".to_string())]);

    // Every change is in the audit trail.
    let audit = t
        .app
        .db
        .fetch_one_i64(
            "SELECT COUNT(*) AS n FROM audit_log WHERE action IN ('catalogue.import', 'catalogue.activate')",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        audit,
        1 + 3 + 2,
        "demo import, three imports, two activations"
    );
}

#[tokio::test]
async fn a_bad_file_reports_its_line_and_writes_nothing() {
    let t = spawn_app().await;
    let c = t.login("dongcheng").await;
    let before = counts(&t).await;
    let bad_limit = CSV_V2.replace(
        "井盖缺失,职能部门,110101B01,特急,1h",
        "井盖缺失,职能部门,110101B01,特急,1小时半",
    );
    let unknown_unit = CSV_V2.replace("景观灯损坏,,110101B01", "景观灯损坏,,110102B01");
    let wrong_kind = CSV_V2.replace("景观灯损坏,,110101B01", "景观灯损坏,街道乡镇,110101B01");
    let duplicate = format!("{CSV_V2},城市管理,道路照明,路灯不亮,,,,,,,,,,\n");
    let cases: Vec<(Vec<u8>, &str, &str)> = vec![
        (bad_limit.into_bytes(), "第 4 行", "签收时限"),
        (unknown_unit.into_bytes(), "第 3 行", "不是本区"),
        (wrong_kind.into_bytes(), "第 3 行", "不符"),
        (duplicate.into_bytes(), "第 7 行", "与第 2 行重复"),
        (b"\xEF\xBB\xBF".to_vec(), "第 1 行", "缺少表头"),
        (b"PK\x03\x04 not really a workbook".to_vec(), "", "xlsx"),
        (vec![], "", "文件为空"),
    ];
    for (body, line, msg) in cases {
        let r = upload(&c, "?activate=true", "text/csv", body).await;
        assert_eq!(r.status, 422, "{}", r.text);
        let m = r.body["message"].as_str().unwrap();
        assert!(m.contains(line) && m.contains(msg), "{m}");
    }
    // A file over the limit is refused before it is read.
    let big = vec![b'a'; linli_domain::catalogue::MAX_FILE_BYTES + (128 << 10)];
    let r = upload(&c, "", "text/csv", big).await;
    assert_eq!(r.status, 413, "{}", r.text);
    assert_eq!(counts(&t).await, before, "nothing was written");
    let r = c.get("/api/v1/catalogue/versions").await;
    assert_eq!(versions(&r), vec![(1, "active".to_string())]);
    // Parameters are checked too.
    let r = c.get("/api/v1/catalogue/versions?tenant=1101").await;
    assert_eq!((r.status, r.key()), (422, "invalid_tenant"));
    let r = c
        .get("/api/v1/catalogue/versions/00000000-0000-0000-0000-000000000000/export?format=pdf")
        .await;
    assert_eq!((r.status, r.key()), (422, "invalid_format"));
}

#[tokio::test]
async fn multipart_uploads_from_the_api_and_the_console() {
    let t = spawn_app().await;
    let c = t.login("dongcheng").await;
    let (ct, body) = multipart(&[
        ("file", Some("目录.csv"), CSV_V2.as_bytes()),
        ("activate", None, b"true"),
        ("note", None, "表单上传".as_bytes()),
    ]);
    let r = upload(&c, "", &ct, body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["version"]["source"], "目录.csv");
    assert_eq!(r.body["version"]["status"], "active");
    assert_eq!(r.body["version"]["note"], "表单上传");
    let (ct, body) = multipart(&[("note", None, b"x")]);
    let r = upload(&c, "", &ct, body).await;
    assert_eq!((r.status, r.key()), (422, "missing_file"));

    // The console's upload form (htmx, CSRF token in the header).
    let (ct, body) = multipart(&[("file", Some("v3.csv"), CSV_V2.as_bytes())]);
    let rb = c
        .http
        .post(format!("{}/console/catalogue/import", c.base))
        .header("content-type", ct)
        .header("hx-request", "true")
        .body(body);
    let r = send(&c, rb).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let to = r.headers["hx-redirect"].to_str().unwrap();
    assert!(
        to.starts_with("/console/catalogue?tenant=110101&version="),
        "{to}"
    );
    assert!(to.contains("&ok="), "{to}");
    // A bad file comes back as a message in place of the result area.
    let (ct, body) = multipart(&[("file", Some("bad.csv"), b"a,b\n")]);
    let rb = c
        .http
        .post(format!("{}/console/catalogue/import", c.base))
        .header("content-type", ct)
        .body(body);
    let r = send(&c, rb).await;
    assert_eq!(r.status, 422);
    assert!(r.text.contains("第 1 行"), "{}", r.text);
    // Without the CSRF token the console refuses.
    let (ct, body) = multipart(&[("file", Some("v3.csv"), CSV_V2.as_bytes())]);
    let r = c
        .http
        .post(format!("{}/console/catalogue/import", c.base))
        .header("content-type", ct)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    let r = c.get("/api/v1/catalogue/versions").await;
    assert_eq!(versions(&r).len(), 3, "demo, API upload, console upload");
}

#[tokio::test]
async fn console_pages() {
    let t = spawn_app().await;
    let c = t.login("dongcheng").await;
    let r = c.get_html("/console/catalogue").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let doc = scraper::Html::parse_document(&r.text);
    let sel = |s: &str| scraper::Selector::parse(s).unwrap();
    assert_eq!(
        doc.select(&sel("#catalogue-tree tbody tr.tree-row"))
            .count(),
        10
    );
    assert!(
        doc.select(&sel("form[hx-post^='/console/catalogue/import']"))
            .next()
            .is_some()
    );
    assert!(
        doc.select(&sel("a.nav-link[href='/console/catalogue']"))
            .next()
            .is_some(),
        "nav entry"
    );
    let url = attr(
        &r.text,
        "#catalogue-tree button.tree-toggle",
        "data-children-url",
    )
    .unwrap();
    let r = c.get_html(&url).await;
    assert_eq!(r.status, 200);
    let frag = scraper::Html::parse_fragment(&format!("<table>{}</table>", r.text));
    assert!(frag.select(&sel("tr.tree-row")).count() >= 1);
    // Search, then a leaf's page.
    let r = c.get_html("/console/catalogue?q=%E4%BA%95%E7%9B%96").await;
    let href = attr(&r.text, "#search-results tbody a", "href").unwrap();
    let r = c.get_html(&href).await;
    assert_eq!(r.status, 200);
    let doc = scraper::Html::parse_document(&r.text);
    let text: String = doc.select(&sel(".props")).flat_map(|e| e.text()).collect();
    assert!(text.contains("城市管理委员会"), "{text}");
    assert!(text.contains("特急"), "{text}");

    // Activate version 1 again after an import, through the console form.
    let r = upload(&c, "", "text/csv", CSV_V2.as_bytes().to_vec()).await;
    let v2 = r.body["version"]["id"].as_str().unwrap().to_string();
    let csrf = c.csrf.clone().unwrap();
    let r = c
        .post_form(
            &format!("/console/catalogue/versions/{v2}/activate"),
            &[("csrf", csrf.as_str()), ("tenant", "110101")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let loc = r.headers["location"].to_str().unwrap();
    assert!(loc.contains("ok="), "{loc}");
    let r = c.get("/api/v1/catalogue/versions?limit=1").await;
    assert_eq!(versions(&r), vec![(2, "active".to_string())]);

    // A grid worker sees the catalogue but no import form or activate buttons; a department
    // handler (no intake or dispatch permission) has no nav entry and is refused.
    let g = t.login("grid01").await;
    let r = g.get_html("/console/catalogue").await;
    assert_eq!(r.status, 200);
    let doc = scraper::Html::parse_document(&r.text);
    assert!(
        doc.select(&sel("form[hx-post^='/console/catalogue/import']"))
            .next()
            .is_none()
    );
    assert!(
        doc.select(&sel("form[action$='/activate']"))
            .next()
            .is_none()
    );
    let h = t.login("chengguan").await;
    let r = h.get_html("/console").await;
    let doc = scraper::Html::parse_document(&r.text);
    assert!(
        doc.select(&sel("a.nav-link[href='/console/catalogue']"))
            .next()
            .is_none()
    );
    let r = h.get_html("/console/catalogue").await;
    assert_eq!(r.status, 403);
}

#[tokio::test]
async fn who_may_read_and_who_may_change() {
    let t = spawn_app().await;
    // Reading: intake (grid worker, hotline), dispatch, catalogue managers — yes; a department
    // handler — no.
    for user in ["grid01", "hotline", "donghuamen", "duofuxiang", "dongcheng"] {
        let c = t.login(user).await;
        let r = c.get("/api/v1/catalogue/search?q=%E5%99%AA%E5%A3%B0").await;
        assert_eq!(r.status, 200, "{user}: {}", r.text);
        assert!(!r.body.as_array().unwrap().is_empty(), "{user}");
    }
    let h = t.login("chengguan").await;
    let r = h.get("/api/v1/catalogue/search?q=x").await;
    assert_eq!((r.status, r.key()), (403, "forbidden"));

    // Changing: a grid worker may not import or activate.
    let g = t.login("grid01").await;
    let r = upload(&g, "?activate=true", "text/csv", CSV_V2.as_bytes().to_vec()).await;
    assert_eq!((r.status, r.key()), (403, "forbidden"), "{}", r.text);
    let d = t.login("dongcheng").await;
    let r = d.get("/api/v1/catalogue/versions").await;
    let v1 = r.body["items"][0]["id"].as_str().unwrap().to_string();
    let r = g
        .post(
            &format!("/api/v1/catalogue/versions/{v1}/activate"),
            Value::Null,
        )
        .await;
    assert_eq!(r.status, 403);

    // Staff of another district see their own (empty) catalogue and not this one's.
    let sys = system_principal(&t.app, Ctx::cli()).await.unwrap();
    let city = linli_store::repo::org::get_by_code(&t.app.db, "1101")
        .await
        .unwrap()
        .unwrap();
    let other = linli_app::org::create(
        &t.app,
        &sys,
        linli_app::org::NewUnit {
            parent_id: city.id,
            kind: OrgKind::District,
            code: "110102".into(),
            name: "西城区".into(),
        },
    )
    .await
    .unwrap();
    let u = linli_app::users::create(
        &t.app,
        &sys,
        linli_app::users::NewUser {
            username: "xicheng".into(),
            display_name: "西城区指挥中心".into(),
            unit_id: other.id,
            password: DEMO_PW.into(),
            kind: "staff".into(),
            must_change_password: false,
        },
    )
    .await
    .unwrap();
    linli_app::users::grant_role(
        &t.app,
        &sys,
        u.id,
        "district_staff",
        other.id,
        DataScope::Subtree,
    )
    .await
    .unwrap();
    let x = t.login("xicheng").await;
    let r = x.get("/api/v1/catalogue/versions").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.body["items"].as_array().unwrap().is_empty());
    let r = x.get("/api/v1/catalogue/search?q=%E5%99%AA%E5%A3%B0").await;
    assert_eq!(r.status, 200);
    assert!(
        r.body.as_array().unwrap().is_empty(),
        "no catalogue of its own yet"
    );
    for path in [
        "/api/v1/catalogue/versions?tenant=110101".to_string(),
        "/api/v1/catalogue/search?tenant=110101&q=%E5%99%AA%E5%A3%B0".to_string(),
        "/api/v1/catalogue/items?tenant=110101".to_string(),
        format!("/api/v1/catalogue/versions/{v1}/export?tenant=110101"),
    ] {
        let r = x.get(&path).await;
        assert_eq!(
            (r.status, r.key()),
            (404, "not_found"),
            "{path}: {}",
            r.text
        );
    }
    let r = upload(&x, "?tenant=110101", "text/csv", CSV_V2.as_bytes().to_vec()).await;
    assert_eq!(r.status, 404, "{}", r.text);
    // Their own district: importing works, but a responsible unit must be theirs.
    let r = upload(&x, "", "text/csv", CSV_V2.as_bytes().to_vec()).await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .contains("不是本区（110102）")
    );
    let mine = "一级分类,二级分类,三级分类\n城市管理,道路照明,路灯不亮\n";
    let r = upload(&x, "?activate=true", "text/csv", mine.as_bytes().to_vec()).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["version"]["tenant"], "110102");
    // The version id of one district is not found under another.
    let v = r.body["version"]["id"].as_str().unwrap().to_string();
    let d = t.login("dongcheng").await;
    let r = d
        .post(
            &format!("/api/v1/catalogue/versions/{v}/activate"),
            Value::Null,
        )
        .await;
    assert_eq!(r.status, 404);
}
