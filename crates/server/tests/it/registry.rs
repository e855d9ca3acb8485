//! The base registry over HTTP on whichever engine the test database is: registering residents
//! (GB 11643 checks, duplicates), masked lists and pages, unmasking with a reason (audited),
//! scope (a grid worker sees their grid only, a neighbouring community nothing), the raw
//! database holding no plaintext ID number or phone, a value moved to another row failing to
//! open, life-cycle events, residents' rights, and grid polygons (bad files refused whole,
//! points on both sides of a shared boundary).

use serde_json::{Value, json};

use crate::support::*;

const GRID1: &str = "110101001001001";
const GRID2: &str = "110101001001002";
/// A valid number (check character X) and a phone that appear nowhere in the demo data.
const ID: &str = "11010519491231002X";
const PHONE: &str = "13912345678";

async fn register(c: &Client, unit: &str, id: &str, phone: &str) -> Resp {
    c.post(
        "/api/v1/residents",
        json!({
            "unit_id": unit,
            "name": "张三丰",
            "id_number": id,
            "phone": phone,
            "residency": "户籍",
            "tags": ["低保", "volunteer"],
        }),
    )
    .await
}

#[tokio::test]
async fn residents_are_validated_masked_scoped_and_unmasked_with_a_reason() {
    let t = spawn_app().await;
    let community = t.login("duofuxiang").await;
    let grid1 = t.unit_id(GRID1).await;
    let grid2 = t.unit_id(GRID2).await;

    // Bad input: each with its own key, nothing written.
    for (id, key) in [
        ("110105194912310021", "id_checksum"),
        ("11010519491331002X", "id_birth_date"),
        ("1101051949123100", "id_length"),
        ("11010520991231002X", "id_birth_future"),
    ] {
        let r = register(&community, &grid1, id, PHONE).await;
        assert_eq!((r.status, r.key()), (422, key), "{id}: {}", r.text);
    }
    let r = register(&community, &grid1, ID, "12345x").await;
    assert_eq!((r.status, r.key()), (422, "invalid_phone"), "{}", r.text);

    // Registered: the answer is masked.
    let r = register(&community, &grid1, ID, PHONE).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let v = &r.body["resident"];
    assert_eq!(v["id_number"], "110105********002X");
    assert_eq!(v["phone"], "139****5678");
    assert_eq!(v["name"], "张**");
    assert_eq!(v["sex"], "女");
    let labels: Vec<&str> = v["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels.len(), 2, "{labels:?}");
    assert!(!r.text.contains(ID) && !r.text.contains(PHONE) && !r.text.contains("张三丰"));
    let rid = v["id"].as_str().unwrap().to_string();

    // The same person again (a 15-digit legacy number of the same person, too) is a duplicate.
    let r = register(&community, &grid2, ID, "").await;
    assert_eq!(r.status, 409, "{}", r.text);
    let r = register(&community, &grid2, "110105491231002", "").await;
    assert_eq!(r.status, 409, "legacy 15-digit form: {}", r.text);

    // Found by exact ID number and phone through their blind indexes; by tag and age band.
    for q in [
        format!("id_number={ID}"),
        format!("id_number={}", ID.to_lowercase()),
        format!("phone={PHONE}"),
    ] {
        let r = community.get(&format!("/api/v1/residents?{q}")).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let items = r.body["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{q}");
        assert_eq!(items[0]["id"], rid.as_str());
    }
    let r = community
        .get(&format!(
            "/api/v1/residents?unit={grid1}&tag=低保&age=60%2B"
        ))
        .await;
    assert!(
        r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["id"] == rid.as_str()),
        "{}",
        r.text
    );
    let r = community
        .get(&format!(
            "/api/v1/residents?unit={grid1}&age=0-6&id_number={ID}"
        ))
        .await;
    assert_eq!(
        r.body["items"].as_array().unwrap().len(),
        0,
        "a 76-year-old is not 0-6"
    );

    // Scope: grid02's worker does not see grid01's resident; a neighbouring community neither.
    let g2 = t.login("grid02").await;
    assert_eq!(
        g2.get(&format!("/api/v1/residents/{rid}")).await.status,
        404
    );
    let page = g2.get("/api/v1/residents?limit=200").await;
    assert_eq!(page.status, 200, "{}", page.text);
    let items = page.body["items"].as_array().unwrap();
    assert!(!items.is_empty(), "grid02 has demo residents");
    assert!(
        items.iter().all(|i| i["unit_id"] == grid2.as_str()),
        "only their grid"
    );
    assert_eq!(
        g2.get(&format!("/api/v1/residents?unit={grid1}"))
            .await
            .status,
        404
    );
    let yinsi = t.login("yinsi").await;
    assert_eq!(
        yinsi.get(&format!("/api/v1/residents/{rid}")).await.status,
        404
    );
    let r = yinsi
        .get(&format!("/api/v1/residents?id_number={ID}"))
        .await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 0, "{}", r.text);
    // grid01's own worker sees them, masked, and may not unmask.
    let g1 = t.login("grid01").await;
    let r = g1.get(&format!("/api/v1/residents/{rid}")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["resident"]["id_number"], "110105********002X");
    let r = g1
        .post(
            &format!("/api/v1/residents/{rid}/unmask"),
            json!({"reason": "入户走访核对"}),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text);

    // Unmasking: a reason is required; the full values come back and the audit row has the reason.
    let r = community
        .post(
            &format!("/api/v1/residents/{rid}/unmask"),
            json!({"reason": ""}),
        )
        .await;
    assert_eq!((r.status, r.key()), (422, "reason_required"));
    let r = community
        .post(
            &format!("/api/v1/residents/{rid}/unmask"),
            json!({"reason": "办理低保复核需核对身份"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["id_number"], ID);
    assert_eq!(r.body["phone"], PHONE);
    assert_eq!(r.body["name"], "张三丰");
    let auditor = t.login("auditor").await;
    let a = auditor.get("/api/v1/audit?action=resident.unmask").await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert!(a.text.contains("办理低保复核需核对身份"), "{}", a.text);
    assert!(
        !a.text.contains(ID) && !a.text.contains(PHONE),
        "the audit trail holds no values"
    );
}

/// Every table's rows as text, for scanning.
async fn all_rows_text(t: &TestApp) -> String {
    let db = &t.app.db;
    let tables: Vec<String> = match db.engine() {
        linli_store::Engine::Sqlite => db
            .fetch_all(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
                vec![],
                |r| r.text("name"),
            )
            .await
            .unwrap(),
        linli_store::Engine::Postgres => db
            .fetch_all(
                "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public'",
                vec![],
                |r| r.text("name"),
            )
            .await
            .unwrap(),
    };
    let mut out = String::new();
    for table in tables {
        let sql = match db.engine() {
            linli_store::Engine::Postgres => {
                format!("SELECT row_to_json(t)::text AS j FROM {table} t")
            }
            // SQLite: every column as text, BLOBs in hex.
            linli_store::Engine::Sqlite => {
                let cols: Vec<String> = db
                    .fetch_all(
                        format!("SELECT name FROM pragma_table_info('{table}')"),
                        vec![],
                        |r| r.text("name"),
                    )
                    .await
                    .unwrap();
                let parts: Vec<String> = cols
                    .iter()
                    .map(|c| {
                        format!(
                            "COALESCE(CASE WHEN typeof(\"{c}\") = 'blob' THEN hex(\"{c}\") \
                             ELSE CAST(\"{c}\" AS TEXT) END, '')"
                        )
                    })
                    .collect();
                format!("SELECT {} AS j FROM \"{table}\"", parts.join(" || '|' || "))
            }
        };
        for row in db.fetch_all(sql, vec![], |r| r.text("j")).await.unwrap() {
            out.push_str(&row);
            out.push('\n');
        }
    }
    out
}

#[tokio::test]
async fn the_database_holds_no_plaintext_id_numbers_or_phones() {
    let t = spawn_app().await;
    let c = t.login("duofuxiang").await;
    let grid1 = t.unit_id(GRID1).await;
    let r = register(&c, &grid1, ID, PHONE).await;
    assert_eq!(r.status, 201, "{}", r.text);
    // Also search and unmask, so that the lookups and the audit trail are in the database too.
    c.get(&format!("/api/v1/residents?id_number={ID}&phone={PHONE}"))
        .await;
    let rid = r.body["resident"]["id"].as_str().unwrap();
    c.post(
        &format!("/api/v1/residents/{rid}/unmask"),
        json!({"reason": "核对身份信息"}),
    )
    .await;

    let rows = all_rows_text(&t).await;
    assert!(
        rows.contains("110105********002X"),
        "the scan sees the residents table"
    );
    // As text, and as the hex both engines show binary columns in.
    for needle in [ID, PHONE] {
        let hex: String = needle.bytes().map(|b| format!("{b:02x}")).collect();
        for n in [needle.to_string(), hex.clone(), hex.to_uppercase()] {
            assert!(!rows.contains(&n), "{needle} found in the database rows");
        }
    }
    // The raw SQLite file (and its write-ahead log) as bytes.
    if let Some(path) = t.sqlite_path() {
        for p in [path.clone(), path.with_extension("db-wal")] {
            if let Ok(bytes) = std::fs::read(&p) {
                let text = String::from_utf8_lossy(&bytes);
                for needle in [ID, PHONE] {
                    assert!(!text.contains(needle), "{needle} in {}", p.display());
                }
            }
        }
    }
    // Demo residents are sealed just the same: none of their masked numbers' full forms is
    // stored, because none can be (the column holds ciphertext); a sample unmasks correctly.
    let page = c.get("/api/v1/residents?limit=5").await;
    for item in page.body["items"].as_array().unwrap() {
        let id = item["id"].as_str().unwrap();
        let u = c
            .post(
                &format!("/api/v1/residents/{id}/unmask"),
                json!({"reason": "核对身份信息"}),
            )
            .await;
        let full = u.body["id_number"].as_str().unwrap().to_string();
        assert_eq!(full.len(), 18);
        let masked = item["id_number"].as_str().unwrap();
        assert_eq!(&full[..6], &masked[..6]);
        assert_eq!(&full[14..], &masked[14..]);
        assert!(!rows.contains(&full) || full == ID);
    }
}

#[tokio::test]
async fn a_sealed_value_moved_to_another_row_does_not_open() {
    let t = spawn_app().await;
    let c = t.login("duofuxiang").await;
    let grid1 = t.unit_id(GRID1).await;
    let a = register(&c, &grid1, ID, PHONE).await;
    let b = register(&c, &grid1, "110101199003074477", "").await;
    assert_eq!((a.status, b.status), (201, 201), "{} {}", a.text, b.text);
    let (ia, ib) = (
        a.body["resident"]["id"].as_str().unwrap().to_string(),
        b.body["resident"]["id"].as_str().unwrap().to_string(),
    );
    // Copy A's sealed ID number over B's, as someone with database access might.
    let sealed: Vec<u8> = t
        .app
        .db
        .fetch_all(
            "SELECT id_number FROM residents WHERE id = $1",
            linli_store::args![uuid::Uuid::parse_str(&ia).unwrap()],
            |r| r.bytes("id_number"),
        )
        .await
        .unwrap()
        .remove(0);
    t.app
        .db
        .execute(
            "UPDATE residents SET id_number = $1 WHERE id = $2",
            linli_store::args![sealed, uuid::Uuid::parse_str(&ib).unwrap()],
        )
        .await
        .unwrap();
    let r = c
        .post(
            &format!("/api/v1/residents/{ib}/unmask"),
            json!({"reason": "核对身份信息"}),
        )
        .await;
    assert_eq!(r.status, 500, "{}", r.text);
    assert!(!r.text.contains(ID), "{}", r.text);
    let r = c
        .post(
            &format!("/api/v1/residents/{ia}/unmask"),
            json!({"reason": "核对身份信息"}),
        )
        .await;
    assert_eq!(r.body["id_number"], ID, "the original still opens");
}

#[tokio::test]
async fn events_keep_history_and_rights_are_served() {
    let t = spawn_app().await;
    let c = t.login("duofuxiang").await;
    let grid1 = t.unit_id(GRID1).await;
    let r = register(&c, &grid1, ID, PHONE).await;
    let rid = r.body["resident"]["id"].as_str().unwrap().to_string();

    let r = c
        .post(
            &format!("/api/v1/residents/{rid}/events"),
            json!({"kind": "moved_out", "on_date": "2026-11-01", "note": "迁往朝阳区", "version": 1}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "moved_out");
    // A stale version is refused.
    let r = c
        .post(
            &format!("/api/v1/residents/{rid}/events"),
            json!({"kind": "moved_in", "on_date": "2026-11-02", "version": 1}),
        )
        .await;
    assert_eq!((r.status, r.key()), (409, "stale_version"), "{}", r.text);
    let r = c
        .post(
            &format!("/api/v1/residents/{rid}/events"),
            json!({"kind": "died", "on_date": "2099-01-01", "version": 2}),
        )
        .await;
    assert_eq!((r.status, r.key()), (422, "date_in_future"));
    // Moved out: not in the default list, in the moved-out one, and the history has both steps.
    let active = c.get(&format!("/api/v1/residents?id_number={ID}")).await;
    assert_eq!(active.body["items"].as_array().unwrap().len(), 0);
    let gone = c
        .get(&format!(
            "/api/v1/residents?id_number={ID}&status=moved_out"
        ))
        .await;
    assert_eq!(gone.body["items"].as_array().unwrap().len(), 1);
    let page = c.get(&format!("/api/v1/residents/{rid}")).await;
    let kinds: Vec<&str> = page.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["registered", "moved_out"]);

    // Correction with a reason.
    let r = c
        .patch(
            &format!("/api/v1/residents/{rid}"),
            json!({"phone": "13800138000", "tags": ["党员"], "reason": "本人来电更正", "version": 2}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["phone"], "138****8000");
    assert_eq!(r.body["tags"][0]["label"], "党员");

    // 查阅/复制 needs registry.rights: a street worker has none; the community worker has it.
    let street = t.login("donghuamen").await;
    let r = street
        .post(
            &format!("/api/v1/residents/{rid}/copy"),
            json!({"reason": "本人申请查阅"}),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
    let r = c
        .post(
            &format!("/api/v1/residents/{rid}/copy"),
            json!({"reason": "本人申请查阅"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["id_number"], ID);
    assert_eq!(r.body["phone"], "13800138000");
    assert_eq!(r.body["history"].as_array().unwrap().len(), 3);

    // 删除: anonymised for good; the blind index no longer finds the person.
    let r = c
        .post(
            &format!("/api/v1/residents/{rid}/anonymise"),
            json!({"reason": "本人申请删除个人信息", "version": 3}),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let r = c
        .get(&format!(
            "/api/v1/residents?id_number={ID}&status=anonymised"
        ))
        .await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 0);
    let r = c
        .get(&format!("/api/v1/residents?status=anonymised&unit={grid1}"))
        .await;
    let items = r.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id_number"], "******************");
    assert!(items[0]["tags"].as_array().unwrap().is_empty());
    let rows = all_rows_text(&t).await;
    assert!(
        !rows.contains("张三丰"),
        "the name is gone from every table"
    );
    // The same person may be registered again later.
    assert_eq!(register(&c, &grid1, ID, "").await.status, 201);
}

fn square(code: &str, x0: f64, y0: f64, x1: f64, y1: f64) -> Value {
    json!({
        "type": "Feature",
        "properties": {"code": code},
        "geometry": {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}
    })
}

#[tokio::test]
async fn grid_polygons_import_whole_or_not_and_points_find_their_grid() {
    let t = spawn_app().await;
    let street = t.login("donghuamen").await;
    let g1 = t.unit_id(GRID1).await;
    let g2 = t.unit_id(GRID2).await;
    // Two grids sharing the edge lng = 116.41 (somewhere no demo polygon reaches: the sea).
    let good = json!({"type": "FeatureCollection", "features": [
        square(GRID1, 121.40, 38.90, 121.41, 38.91),
        square(GRID2, 121.41, 38.90, 121.42, 38.91),
    ]});
    // A bad file: one good feature and one unclosed ring; nothing of it is stored.
    let bad = json!({"type": "FeatureCollection", "features": [
        square(GRID1, 121.40, 38.90, 121.41, 38.91),
        {"type": "Feature", "properties": {"code": GRID2},
         "geometry": {"type": "Polygon", "coordinates": [[[121.41, 38.90], [121.42, 38.90], [121.42, 38.91], [121.41, 38.91]]]}},
    ]});
    let r = street
        .post_bytes(
            "/api/v1/grids/shapes",
            "application/geo+json",
            bad.to_string().into_bytes(),
        )
        .await;
    assert_eq!(r.status, 405, "PUT only");
    let put = |body: Value| {
        let http = street.http.clone();
        let base = street.base.clone();
        let csrf = street.csrf.clone().unwrap_or_default();
        async move {
            let mut r = html(
                http.put(format!("{base}/api/v1/grids/shapes"))
                    .header("content-type", "application/geo+json")
                    .header("x-csrf-token", csrf)
                    .body(body.to_string())
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
            r.body = serde_json::from_str(&r.text).unwrap_or_default();
            r
        }
    };
    let r = put(bad).await;
    assert_eq!((r.status, r.key()), (422, "invalid_shapes"), "{}", r.text);
    assert!(r.text.contains("未闭合"), "{}", r.text);
    let inside = |lng: f64| format!("/api/v1/grids/locate?lat=38.905&lng={lng}");
    assert_eq!(
        street.get(&inside(121.405)).await.status,
        404,
        "nothing stored"
    );

    let r = put(good).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["stored"], 2);
    // Both sides of the shared edge, and the edge itself (the lower code wins).
    let west = street.get(&inside(121.409_999)).await;
    let east = street.get(&inside(121.410_001)).await;
    let edge = street.get(&inside(121.41)).await;
    assert_eq!(west.body["grid_id"], g1.as_str(), "{}", west.text);
    assert_eq!(east.body["grid_id"], g2.as_str(), "{}", east.text);
    assert_eq!(edge.body["grid_id"], g1.as_str(), "{}", edge.text);
    assert_eq!(street.get(&inside(121.43)).await.status, 404);
    // A case filed with a map point and no grid lands in the grid that holds the point, and
    // the intake hint says so; a point outside every grid leaves the grid to the address.
    let hotline = t.login("hotline").await;
    let r = hotline
        .post(
            "/api/v1/intake/place",
            json!({"address": "", "lat": 38.905, "lng": 121.415}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["grid"]["code"], GRID2, "{}", r.text);
    assert_eq!(r.body["community"]["code"], "110101001001");
    let case = |lng: f64| {
        json!({
            "channel": "hotline", "request_type": "complaint", "title": "井盖缺失",
            "description": "路口井盖缺失，夜间有人跌倒的危险", "requester_name": "李四",
            "requester_phone": "13812345678", "lat": 38.905, "lng": lng,
        })
    };
    let r = hotline.post("/api/v1/cases", case(121.405)).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["grid_id"], g1.as_str(), "{}", r.text);
    let r = hotline.post("/api/v1/cases", case(121.43)).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert!(r.body["grid_id"].is_null(), "{}", r.text);
    // A GCJ-02 point (as AMap gives it) is converted first: the offset is a few hundred metres.
    let (glat, glng) = linli_domain::geo::wgs84_to_gcj02(38.905, 121.405);
    let r = street
        .get(&format!(
            "/api/v1/grids/locate?lat={glat}&lng={glng}&datum=gcj02"
        ))
        .await;
    assert_eq!(r.body["grid_id"], g1.as_str(), "{}", r.text);
    // Overlapping siblings are stored but reported.
    let overlap = json!({"type": "FeatureCollection", "features": [
        square(GRID1, 121.40, 38.90, 121.415, 38.91),
    ]});
    let r = put(overlap).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(
        r.body["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["key"].as_str().unwrap().contains("overlap")),
        "{}",
        r.text
    );
    // A grid worker may not import polygons.
    let g = t.login("grid01").await;
    let r = html(
        g.http
            .put(format!("{}/api/v1/grids/shapes", g.base))
            .header("content-type", "application/geo+json")
            .header("x-csrf-token", g.csrf.clone().unwrap_or_default())
            .body("{}")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.text);
}

#[tokio::test]
async fn buildings_overview_and_map_show_the_demo_registry() {
    let t = spawn_app().await;
    let c = t.login("duofuxiang").await;
    let community = t.unit_id("110101001001").await;
    let r = c
        .get(&format!("/api/v1/registry/overview?unit={community}"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.body["residents"].as_i64().unwrap() > 0, "{}", r.text);
    assert!(r.body["buildings"].as_i64().unwrap() > 0);
    let by_age: i64 = r.body["by_age"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[1].as_i64().unwrap())
        .sum();
    assert_eq!(
        by_age,
        r.body["residents"].as_i64().unwrap(),
        "age bands add up"
    );
    let b = c.get(&format!("/api/v1/buildings?unit={community}")).await;
    let first = b.body["items"][0]["id"].as_str().unwrap().to_string();
    let d = c.get(&format!("/api/v1/buildings/{first}")).await;
    assert_eq!(d.status, 200, "{}", d.text);
    assert!(!d.body["houses"].as_array().unwrap().is_empty());
    // The map: the community's grids with their polygons.
    let m = c.get("/api/v1/grids/shapes").await;
    let feats = m.body["features"].as_array().unwrap();
    if std::path::Path::new(BOUNDARIES).exists() {
        assert!(!feats.is_empty(), "the demo grids have polygons");
    }
    assert!(feats.iter().all(|f| {
        f["properties"]["code"]
            .as_str()
            .unwrap()
            .starts_with("110101001001")
    }));
    // Another community's worker sees none of this community's buildings.
    let y = t.login("yinsi").await;
    assert_eq!(
        y.get(&format!("/api/v1/buildings/{first}")).await.status,
        404
    );
}

/// The cells of an exported workbook's first sheet.
fn sheet_cells(bytes: &[u8]) -> Vec<Vec<String>> {
    assert!(bytes.starts_with(b"PK\x03\x04"), "an xlsx (zip) file");
    linli_app::sheet::xlsx_rows(bytes)
        .unwrap()
        .into_iter()
        .map(|(_, cells)| cells)
        .collect()
}

#[tokio::test]
async fn exports_are_masked_scoped_and_audited() {
    let t = spawn_app().await;
    let community = t.login("duofuxiang").await;
    let grid1 = t.unit_id(GRID1).await;
    let r = register(&community, &grid1, ID, PHONE).await;
    assert_eq!(r.status, 201, "{}", r.text);

    // The grid's list as a workbook: the same rows as the count, every value masked.
    let (status, headers, bytes) = community
        .download("/api/v1/residents/export", Some(json!({"unit": grid1})))
        .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains("filename*=UTF-8''%E5%B1%85%E6%B0%91-"),
        "{headers:?}"
    );
    assert_eq!(headers["cache-control"], "no-store");
    let rows = sheet_cells(&bytes);
    assert_eq!(rows[0][..4], ["姓名", "性别", "年龄", "身份证号码"]);
    let count = community
        .get(&format!("/api/v1/residents/count?unit={grid1}"))
        .await;
    assert_eq!(
        rows.len() as i64 - 1,
        count.body["count"].as_i64().unwrap(),
        "one row per resident of the list"
    );
    assert!(rows.len() > 2, "the demo grid has residents besides ours");
    let ours = rows
        .iter()
        .find(|r| r[3] == "110105********002X")
        .expect("the registered resident is in the export");
    assert_eq!(
        (ours[0].as_str(), ours[4].as_str()),
        ("张**", "139****5678")
    );
    assert!(ours[9].contains("低保"), "{ours:?}");
    for row in &rows[1..] {
        assert!(row[3].contains("********"), "masked ID number: {row:?}");
        assert!(row[4].is_empty() || row[4].contains("****"), "{row:?}");
        assert!(
            !row.iter()
                .any(|c| c.contains(ID) || c.contains(PHONE) || c == "张三丰")
        );
    }

    // An exact lookup by ID number exports that one person; the typed number is not kept.
    let (status, _, bytes) = community
        .download("/api/v1/residents/export", Some(json!({"id_number": ID})))
        .await;
    assert_eq!(status, 200);
    assert_eq!(sheet_cells(&bytes).len(), 2);
    let auditor = t.login("auditor").await;
    let a = auditor.get("/api/v1/audit?action=resident.export").await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.body["items"].as_array().unwrap().len(), 2, "{}", a.text);
    assert!(a.text.contains("按身份证号查找"), "{}", a.text);
    assert!(!all_rows_text(&t).await.contains(ID));

    // Out of reach: a grid worker has no export permission; a neighbouring community cannot
    // name this grid; bad filters are refused with their reason.
    let g1 = t.login("grid01").await;
    let (status, _, _) = g1
        .download("/api/v1/residents/export", Some(json!({"unit": grid1})))
        .await;
    assert_eq!(status, 403);
    let yinsi = t.login("yinsi").await;
    let (status, _, _) = yinsi
        .download("/api/v1/residents/export", Some(json!({"unit": grid1})))
        .await;
    assert_eq!(status, 404);
    let r = community
        .post("/api/v1/residents/export", json!({"tag": "不存在的标签"}))
        .await;
    assert_eq!((r.status, r.key()), (422, "unknown_tag"), "{}", r.text);
    // yinsi's own export holds none of duofuxiang's residents.
    let (status, _, bytes) = yinsi
        .download("/api/v1/residents/export", Some(json!({})))
        .await;
    assert_eq!(status, 200);
    assert!(
        !sheet_cells(&bytes)
            .iter()
            .any(|r| r[3] == "110105********002X")
    );

    // Buildings too, within scope.
    let (status, headers, bytes) = community
        .download(&format!("/api/v1/buildings/export?unit={grid1}"), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        headers["content-type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    let rows = sheet_cells(&bytes);
    assert_eq!(rows[0][0], "楼栋名称");
    let listed = community
        .get(&format!("/api/v1/buildings?unit={grid1}&limit=200"))
        .await;
    assert_eq!(
        rows.len() - 1,
        listed.body["items"].as_array().unwrap().len()
    );
    let a = auditor.get("/api/v1/audit?action=building.export").await;
    assert_eq!(a.body["items"].as_array().unwrap().len(), 1, "{}", a.text);
}

/// A department's API token (seed 000: the shared resource library) reads the residents of the
/// unit it was issued for, only the fields granted, and writes nothing.
#[tokio::test]
async fn department_tokens_read_only_the_granted_fields_and_units() {
    let t = spawn_app().await;
    let admin = t.login("admin").await;
    let community = t.login("duofuxiang").await;
    let grid1 = t.unit_id(GRID1).await;
    let r = register(&community, &grid1, ID, PHONE).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let rid = r.body["resident"]["id"].as_str().unwrap().to_string();

    // An integration account of the district's civil affairs bureau with district staff's role.
    let district = t.unit_id("110101").await;
    let r = admin
        .post("/api/v1/users", json!({"username": "minzheng", "display_name": "区民政局数据共享", "unit_id": district, "password": "Share-Data-2026", "kind": "service", "must_change_password": false}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let account = r.body["id"].as_str().unwrap().to_string();
    let r = t
        .login("secadmin")
        .await
        .post(
            &format!("/api/v1/users/{account}/roles"),
            json!({"role": "district_staff", "unit_id": district, "scope": "subtree"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);

    // Unknown fields are refused.
    let r = admin
        .post("/api/v1/tokens", json!({"name": "民政局低保核查", "user_id": account, "unit_id": grid1, "registry_fields": ["id_number", "salary"]}))
        .await;
    assert_eq!((r.status, r.key()), (422, "invalid_field"), "{}", r.text);
    // Granted: sensitive tags (低保 checks) and nothing else, for grid 1 only.
    let r = admin
        .post("/api/v1/tokens", json!({"name": "民政局低保核查", "user_id": account, "unit_id": grid1, "registry_fields": ["敏感标签（低保、残疾等）"]}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["info"]["registry_fields"], json!(["sensitive_tags"]));
    let mut bot = t.client();
    bot.bearer = Some(r.body["token"].as_str().unwrap().to_string());

    let r = bot.get(&format!("/api/v1/residents/{rid}")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let v = &r.body["resident"];
    assert_eq!(v["name"], "张**");
    assert_eq!(v["id_number"], "", "the ID number is not granted");
    assert_eq!(v["phone"], "");
    assert_eq!(v["relation"], "");
    let labels: Vec<&str> = v["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["低保"], "the sensitive tag only, not 志愿者");
    let r = bot
        .get(&format!("/api/v1/residents?unit={grid1}&limit=200"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let items = r.body["items"].as_array().unwrap();
    assert!(!items.is_empty());
    assert!(
        items
            .iter()
            .all(|i| i["id_number"] == "" && i["phone"] == "")
    );
    // Filtering by what is not granted would tell it: refused.
    for q in [
        format!("id_number={ID}"),
        format!("phone={PHONE}"),
        "tag=volunteer".to_string(),
    ] {
        let r = bot.get(&format!("/api/v1/residents?{q}")).await;
        assert_eq!(
            (r.status, r.key()),
            (422, "field_not_granted"),
            "{q}: {}",
            r.text
        );
    }
    assert_eq!(
        bot.get("/api/v1/residents?tag=低保").await.status,
        200,
        "the granted tag filters"
    );
    // The overview counts granted tags only.
    let r = bot
        .get(&format!("/api/v1/registry/overview?unit={grid1}"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(
        r.text.contains("低保") && !r.text.contains("志愿者"),
        "{}",
        r.text
    );
    // Units: the token reaches grid 1 only, though the account's role reaches the district.
    let grid2 = t.unit_id(GRID2).await;
    let r = bot.get(&format!("/api/v1/residents?unit={grid2}")).await;
    assert_eq!(r.status, 404, "{}", r.text);
    // No writes, no unmasking, no rights requests, whatever the role allows.
    let r = bot
        .post(
            &format!("/api/v1/residents/{rid}/unmask"),
            json!({"reason": "低保资格核查"}),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
    let r = register(&bot, &grid1, "110105194912310045", "").await;
    assert_eq!(r.status, 403, "{}", r.text);
    // Households are the `household` field's: not granted, not readable.
    assert_eq!(bot.get("/api/v1/households").await.status, 403);
    // An export through the token has the same blank columns.
    let (status, _, bytes) = bot
        .download("/api/v1/residents/export", Some(json!({"unit": grid1})))
        .await;
    assert_eq!(status, 200);
    let rows = sheet_cells(&bytes);
    assert!(rows[1..].iter().all(|r| r[3].is_empty() && r[4].is_empty()));
    // Organisations' contact phones are phones too: not granted, not shown, not even masked,
    // in the list, the page and the export; and no unmasking through a token.
    let r = community
        .post(
            "/api/v1/organisations",
            json!({"kind": "物业公司", "name": "令牌测试物业", "unit_id": grid1,
                   "contact_name": "王经理", "contact_phone": "13912340009"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let oid = r.body["organisation"]["id"].as_str().unwrap().to_string();
    let r = bot
        .get(&format!("/api/v1/organisations?unit={grid1}"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let items = r.body["items"].as_array().unwrap();
    assert!(items.iter().any(|i| i["id"] == oid.as_str()));
    assert!(items.iter().all(|i| i["contact_phone"] == ""), "{}", r.text);
    let r = bot.get(&format!("/api/v1/organisations/{oid}")).await;
    assert_eq!(r.body["organisation"]["contact_phone"], "");
    assert_eq!(r.body["unmaskable"], false);
    let (status, _, bytes) = bot
        .download(&format!("/api/v1/organisations/export?unit={grid1}"), None)
        .await;
    assert_eq!(status, 200);
    let rows = sheet_cells(&bytes);
    assert!(rows[1..].iter().all(|r| r[4].is_empty()), "{rows:?}");
    let r = bot
        .post(
            &format!("/api/v1/organisations/{oid}/unmask"),
            json!({"reason": "核实物业联系方式"}),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
}

async fn status(c: &Client, id: &str) -> Value {
    c.get(&format!("/api/v1/residents/{id}")).await.body["resident"]["status"].clone()
}

/// The retention rule: a resident who moved out is anonymised by the sweeper once the record
/// has not changed for the configured years (5 by default) — not before, and not the others.
#[tokio::test]
async fn the_retention_rule_anonymises_old_records_of_people_who_left() {
    let t = spawn_app().await;
    let grid1 = t.unit_id(GRID1).await;
    let year = 365 * 86_400;
    let c = t.login("duofuxiang").await;
    let left = register(&c, &grid1, ID, PHONE).await.body["resident"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let stays = register(&c, &grid1, "110101199003070011", "").await;
    assert_eq!(stays.status, 201, "{}", stays.text);
    let stays = stays.body["resident"]["id"].as_str().unwrap().to_string();
    let r = c
        .post(
            &format!("/api/v1/residents/{left}/events"),
            json!({"kind": "moved_out", "on_date": "2026-11-01", "note": "迁往外省", "version": 1}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    // Four years on: kept. Someone else moves out then.
    t.clock.set(linli_testkit::T0.plus_secs(4 * year));
    linli_app::jobs::sweep_once(&t.app, "a", 60).await.unwrap();
    let c = t.login("duofuxiang").await;
    assert_eq!(status(&c, &left).await, "moved_out");
    let later = register(&c, &grid1, "110101198502140024", "").await;
    assert_eq!(later.status, 201, "{}", later.text);
    let later = later.body["resident"]["id"].as_str().unwrap().to_string();
    let r = c
        .post(
            &format!("/api/v1/residents/{later}/events"),
            json!({"kind": "moved_out", "on_date": "2030-11-01", "version": 1}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    // Five years and a day after the first move: that record is anonymised, the others kept.
    t.clock.set(linli_testkit::T0.plus_secs(5 * year + 86_400));
    linli_app::jobs::sweep_once(&t.app, "a", 60).await.unwrap();
    let c = t.login("duofuxiang").await;
    assert_eq!(status(&c, &left).await, "anonymised");
    assert_eq!(status(&c, &later).await, "moved_out");
    assert_eq!(status(&c, &stays).await, "active");
    let r = c.get(&format!("/api/v1/residents/{left}")).await;
    assert!(
        !r.body["resident"]["name"]
            .as_str()
            .unwrap()
            .starts_with('张')
    );
    assert!(r.body["resident"]["tags"].as_array().unwrap().is_empty());
    assert!(
        r.body["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "anonymised"),
        "{}",
        r.text
    );
    // The blind index no longer finds the person, and the number can be registered anew.
    let r = c.get(&format!("/api/v1/residents?id_number={ID}")).await;
    assert!(r.body["items"].as_array().unwrap().is_empty(), "{}", r.text);
    let auditor = t.login("auditor").await;
    let a = auditor.get("/api/v1/audit?action=resident.anonymise").await;
    assert!(a.text.contains("保存期限届满"), "{}", a.text);
    assert!(!all_rows_text(&t).await.contains(ID));
}
