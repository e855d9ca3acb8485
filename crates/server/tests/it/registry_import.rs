//! Registry imports through HTTP as jobs, on whichever engine the test database is: every kind
//! imports its valid rows and reports the bad ones by line, column and key; `check` writes
//! nothing; duplicates within the file and against the registry; a grid outside the caller's
//! scope; whole-file refusals (wrong columns, empty, not UTF-8, an oversize cell); every
//! template comes back through its own import; a job is visible to its submitter only.

use serde_json::Value;

use crate::support::*;

const GRID1: &str = "110101001001001";
/// A grid of another community (多福巷 staff may not write there).
const OTHER: &str = "110101001002001";
const ID: &str = "11010519491231002X";
const PHONE: &str = "13912345678";

/// Upload, then follow the job to its end; the finished job.
async fn import(c: &Client, kind: &str, mode: &str, name: &str, body: Vec<u8>) -> Resp {
    let r = c
        .post_bytes(
            &format!("/api/v1/imports?kind={kind}&mode={mode}&filename={name}"),
            "application/octet-stream",
            body,
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(r.body["state"], "running");
    let id = r.body["id"].as_str().unwrap().to_string();
    for _ in 0..600 {
        let j = c.get(&format!("/api/v1/imports/{id}")).await;
        assert_eq!(j.status, 200, "{}", j.text);
        if j.body["state"] != "running" {
            return j;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("import job {id} did not finish");
}

/// (line, key) of a report's errors.
fn errors(job: &Resp) -> Vec<(u64, String)> {
    job.body["report"]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["line"].as_u64().unwrap(),
                e["key"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn has(errs: &[(u64, String)], line: u64, key: &str) -> bool {
    errs.iter().any(|(l, k)| *l == line && k == key)
}

fn counts(job: &Resp) -> (u64, u64, u64) {
    let r = &job.body["report"];
    (
        r["valid"].as_u64().unwrap(),
        r["invalid"].as_u64().unwrap(),
        r["imported"].as_u64().unwrap(),
    )
}

async fn template(c: &Client, kind: &str) -> Vec<u8> {
    let r = c
        .http
        .get(format!("{}/api/v1/import-templates/{kind}", c.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    r.bytes().await.unwrap().to_vec()
}

#[tokio::test]
async fn residents_import_reports_every_bad_row_and_writes_only_when_asked() {
    let t = spawn_app().await;
    let c = t.login("duofuxiang").await;
    let csv = format!(
        "\u{feff}*网格编码,*姓名,*身份证号码,联系电话,*人口类型,与户主关系,标签\n\
         {GRID1},张三丰,{ID},{PHONE},户籍,户主,党员、低保\n\
         {GRID1},李四,110105194912310021,,户籍,,\n\
         {GRID1},王五,{},,常住,,\n\
         {OTHER},赵六,110101199003074477,,户籍,,\n\
         {GRID1},钱七,110101199003074477,1380013800,流动,,\n\
         {GRID1},孙八,110101200001010010,,火星,,\n\
         999999999999999,周九,110101200001010010,,户籍,,\n",
        ID.to_lowercase()
    );
    let j = import(&c, "residents", "check", "r.csv", csv.clone().into_bytes()).await;
    assert_eq!(j.body["state"], "done", "{}", j.text);
    assert_eq!(j.body["report"]["rows"], 7);
    assert_eq!(counts(&j), (1, 6, 0), "{}", j.text);
    let e = errors(&j);
    assert!(has(&e, 3, "id_checksum"), "{e:?}");
    assert!(has(&e, 4, "duplicate_in_file"), "{e:?}");
    assert!(has(&e, 5, "grid_out_of_scope"), "{e:?}");
    assert!(has(&e, 6, "invalid_phone"), "{e:?}");
    assert!(has(&e, 7, "invalid_residency"), "{e:?}");
    assert!(has(&e, 8, "unknown_grid"), "{e:?}");
    let first = &j.body["report"]["errors"][0];
    assert!(!first["message"].as_str().unwrap().is_empty());
    assert!(!first["column"].as_str().unwrap().is_empty());
    assert!(
        !j.text.contains(ID) && !j.text.contains(PHONE) && !j.text.contains("张三丰"),
        "errors name lines, not values"
    );
    let none = c.get(&format!("/api/v1/residents?id_number={ID}")).await;
    assert_eq!(
        none.body["items"].as_array().unwrap().len(),
        0,
        "check writes nothing"
    );

    let j = import(&c, "residents", "valid", "r.csv", csv.clone().into_bytes()).await;
    assert_eq!(counts(&j), (1, 6, 1), "{}", j.text);
    let got = c.get(&format!("/api/v1/residents?id_number={ID}")).await;
    assert_eq!(got.body["items"].as_array().unwrap().len(), 1);
    let tags: Vec<&str> = got.body["items"][0]["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["key"].as_str().unwrap())
        .collect();
    assert_eq!(tags.len(), 2, "{tags:?}");
    // Again: now the registry has the person.
    let j = import(&c, "residents", "check", "r.csv", csv.into_bytes()).await;
    assert!(has(&errors(&j), 2, "already_registered"), "{}", j.text);

    // The xlsx template comes back through the same import: its example person is the one
    // just imported.
    let tpl = template(&c, "residents").await;
    assert!(tpl.starts_with(b"PK\x03\x04"));
    let j = import(&c, "residents", "check", "t.xlsx", tpl).await;
    assert_eq!(j.body["state"], "done", "{}", j.text);
    assert_eq!(j.body["report"]["rows"], 1);
    assert!(has(&errors(&j), 2, "already_registered"), "{}", j.text);

    // One audit row for the import, with counts only.
    let audit = t.login("auditor").await;
    let a = audit.get("/api/v1/audit?action=resident.import").await;
    assert_eq!(a.status, 200, "{}", a.text);
    let text = a.text.clone();
    assert!(text.contains("resident.import"), "{text}");
    assert!(!text.contains(ID) && !text.contains("张三丰"));
}

/// Rows of every table an import writes.
async fn count_all(t: &TestApp) -> Vec<i64> {
    let mut out = Vec::new();
    for table in [
        "residents",
        "resident_events",
        "organisations",
        "components",
        "buildings",
        "houses",
        "households",
    ] {
        out.push(
            t.app
                .db
                .fetch_one_i64(format!("SELECT COUNT(*) FROM {table}"), vec![])
                .await
                .unwrap(),
        );
    }
    out
}

#[tokio::test]
async fn whole_file_refusals_write_nothing_and_jobs_are_private() {
    let t = spawn_app().await;
    let c = t.login("duofuxiang").await;
    let before = count_all(&t).await;
    let failed = |j: &Resp| {
        assert_eq!(j.body["state"], "failed", "{}", j.text);
        j.body["error_key"].as_str().unwrap().to_string()
    };
    let j = import(
        &c,
        "residents",
        "valid",
        "a.csv",
        "姓名,电话\n张三,1\n".into(),
    )
    .await;
    assert_eq!(failed(&j), "wrong_columns");
    assert!(j.body["error"].as_str().unwrap().contains("网格编码"));
    let j = import(
        &c,
        "organisations",
        "valid",
        "a.csv",
        b"\xD0\xD5\xC3\xFB,b\n".to_vec(),
    )
    .await;
    assert_eq!(failed(&j), "not_utf8");
    let long = format!(
        "网格编码,组织名称,组织类型\n{GRID1},{},物业公司\n",
        "长".repeat(5000)
    );
    let j = import(&c, "organisations", "valid", "a.csv", long.into_bytes()).await;
    assert_eq!(failed(&j), "cell_too_long");
    let j = import(
        &c,
        "components",
        "valid",
        "a.xlsx",
        b"PK\x03\x04broken".to_vec(),
    )
    .await;
    assert_eq!(failed(&j), "unreadable_file");
    // An empty body is refused before any job starts.
    let r = c
        .post_bytes(
            "/api/v1/imports?kind=residents&mode=valid",
            "text/csv",
            Vec::new(),
        )
        .await;
    assert_eq!((r.status, r.key()), (422, "empty_file"));
    let r = c
        .post_bytes(
            "/api/v1/imports?kind=cars&mode=valid",
            "text/csv",
            b"a".to_vec(),
        )
        .await;
    assert_eq!((r.status, r.key()), (422, "invalid_kind"));
    let r = c.get("/api/v1/import-templates/cars").await;
    assert_eq!((r.status, r.key()), (422, "invalid_kind"));
    assert_eq!(count_all(&t).await, before, "refused files write nothing");

    // A job is its submitter's: another importer (the street) and a grid worker see nothing.
    let j = import(&c, "residents", "check", "a.csv", "x\n".into()).await;
    let id = j.body["id"].as_str().unwrap();
    let street = t.login("donghuamen").await;
    assert_eq!(
        street.get(&format!("/api/v1/imports/{id}")).await.status,
        404
    );
    let listed = street.get("/api/v1/imports").await;
    assert!(!listed.text.contains(id));
    let mine = c.get("/api/v1/imports").await;
    assert!(mine.text.contains(id));
    let grid = t.login("grid01").await;
    assert_eq!(grid.get(&format!("/api/v1/imports/{id}")).await.status, 403);
    let r = grid
        .post_bytes(
            "/api/v1/imports?kind=residents&mode=valid",
            "text/csv",
            b"a".to_vec(),
        )
        .await;
    assert_eq!(r.status, 403, "grid workers do not import");
}

#[tokio::test]
async fn organisations_and_components_import_with_their_checks() {
    let t = spawn_app().await;
    let c = t.login("duofuxiang").await;
    let orgs = format!(
        "*网格编码,*组织名称,*组织类型,地址,联系人,联系电话,成员人数\n\
         {GRID1},导入测试物业公司,物业公司,东四北大街1号,李经理,{PHONE},25\n\
         {GRID1},导入测试物业公司,物业公司,,,,\n\
         {GRID1},导入测试社会组织,协会,,,,\n\
         {GRID1},导入测试党支部,党组织,,,1234,\n\
         {GRID1},导入测试业委会,业主委员会,,,,-3\n\
         {OTHER},导入测试驻区单位,驻区单位,,,,\n\
         {GRID1},,驻区单位,,,,\n"
    );
    let j = import(
        &c,
        "organisations",
        "check",
        "o.csv",
        orgs.clone().into_bytes(),
    )
    .await;
    assert_eq!(counts(&j), (1, 6, 0), "{}", j.text);
    let e = errors(&j);
    for (line, key) in [
        (3, "duplicate_in_file"),
        (4, "invalid_value"),
        (5, "invalid_phone"),
        (6, "invalid_number"),
        (7, "grid_out_of_scope"),
        (8, "missing_field"),
    ] {
        assert!(has(&e, line, key), "{line} {key}: {e:?}");
    }
    let j = import(
        &c,
        "organisations",
        "valid",
        "o.csv",
        orgs.clone().into_bytes(),
    )
    .await;
    assert_eq!(counts(&j), (1, 6, 1), "{}", j.text);
    let j = import(&c, "organisations", "check", "o.csv", orgs.into_bytes()).await;
    assert!(has(&errors(&j), 2, "already_registered"), "{}", j.text);
    // The contact phone is sealed: the database holds its mask, not the number.
    let rows = t
        .app
        .db
        .fetch_all(
            "SELECT phone_masked FROM organisations WHERE name = '导入测试物业公司'",
            vec![],
            |r| r.text("phone_masked"),
        )
        .await
        .unwrap();
    assert_eq!(rows, vec!["139****5678".to_string()]);
    let raw = t
        .app
        .db
        .fetch_all(
            "SELECT contact_phone FROM organisations WHERE name = '导入测试物业公司'",
            vec![],
            |r| r.bytes("contact_phone"),
        )
        .await
        .unwrap();
    assert!(!String::from_utf8_lossy(&raw[0]).contains(PHONE));

    let comps = format!(
        "*网格编码,*部件标识码,名称,*状态,地址,纬度,经度\n\
         {GRID1},1101010118900001,,完好,东四北大街12号,39.93,116.41\n\
         {GRID1},1101010118900001,,完好,,,\n\
         {GRID1},110101011890000,,完好,,,\n\
         {GRID1},1101010718900002,,完好,,,\n\
         {GRID1},1201010118900003,,完好,,,\n\
         {GRID1},1101010118900004,,破了,,,\n\
         {GRID1},1101010118900005,,损坏,,39.9,\n\
         {GRID1},1101010199900006,本地小类设施,完好,,,\n"
    );
    let j = import(
        &c,
        "components",
        "valid",
        "p.csv",
        comps.clone().into_bytes(),
    )
    .await;
    assert_eq!(counts(&j), (2, 6, 2), "{}", j.text);
    assert_eq!(
        j.body["report"]["warnings"], 1,
        "a local minor class is a warning"
    );
    let e = errors(&j);
    for (line, key) in [
        (3, "duplicate_in_file"),
        (4, "component_length"),
        (5, "component_major"),
        (6, "component_other_county"),
        (7, "invalid_value"),
        (8, "invalid_coordinate"),
    ] {
        assert!(has(&e, line, key), "{line} {key}: {e:?}");
    }
    let j = import(&c, "components", "check", "p.csv", comps.into_bytes()).await;
    assert!(has(&errors(&j), 2, "already_registered"), "{}", j.text);
    let named = t
        .app
        .db
        .fetch_all(
            "SELECT name FROM components WHERE code = '1101010118900001'",
            vec![],
            |r| r.text("name"),
        )
        .await
        .unwrap();
    assert_eq!(named, vec!["路灯".to_string()], "the class name by default");
}

#[tokio::test]
async fn buildings_with_houses_then_households_import() {
    let t = spawn_app().await;
    let c = t.login("duofuxiang").await;
    let b = format!(
        "*网格编码,*楼栋名称,*楼栋地址,*楼栋类型,*层数,建成年份,纬度,经度,单元,房号,所在楼层,建筑面积,房屋用途\n\
         {GRID1},导入1号楼,导入路1号,住宅楼,6,1998,,,1单元,101,1,68.5,住宅\n\
         {GRID1},导入1号楼,导入路1号,住宅楼,6,1998,,,1单元,102,1,70,\n\
         {GRID1},导入1号楼,导入路1号,住宅楼,6,1998,,,2单元,201,2,70,出租\n\
         {GRID1},导入1号楼,导入路1号,住宅楼,6,1998,,,1单元,101,1,68.5,住宅\n\
         {GRID1},导入1号楼,导入路1号,住宅楼,6,1998,,,1单元,701,7,68.5,住宅\n\
         {GRID1},导入2号楼,导入路2号,宫殿,6,,,,,,,,\n\
         {GRID1},导入3号楼,导入路3号,住宅楼,六,,,,,,,,\n\
         {GRID1},导入4号楼,导入路4号,住宅楼,3,,,,,301,3,-5,\n\
         {OTHER},导入5号楼,导入路5号,住宅楼,3,,,,,,,,\n\
         {GRID1},导入6号楼,导入路6号,平房院落,1,,,,,,,,\n"
    );
    let j = import(&c, "buildings", "check", "b.csv", b.clone().into_bytes()).await;
    assert_eq!(counts(&j), (4, 6, 0), "{}", j.text);
    let e = errors(&j);
    for (line, key) in [
        (5, "duplicate_in_file"),
        (6, "invalid_number"),
        (7, "invalid_value"),
        (8, "invalid_number"),
        (9, "invalid_number"),
        (10, "grid_out_of_scope"),
    ] {
        assert!(has(&e, line, key), "{line} {key}: {e:?}");
    }
    let j = import(&c, "buildings", "valid", "b.csv", b.clone().into_bytes()).await;
    assert_eq!(counts(&j), (4, 6, 4), "{}", j.text);
    let n = |sql: &'static str| {
        let db = t.app.db.clone();
        async move { db.fetch_one_i64(sql, vec![]).await.unwrap() }
    };
    assert_eq!(
        n("SELECT COUNT(*) FROM buildings WHERE address LIKE '导入路%'").await,
        2
    );
    assert_eq!(
        n(
            "SELECT COUNT(*) FROM entrances e JOIN buildings b ON b.tenant = e.tenant \
           AND b.id = e.building_id WHERE b.address = '导入路1号'"
        )
        .await,
        2
    );
    assert_eq!(
        n(
            "SELECT COUNT(*) FROM houses h JOIN buildings b ON b.tenant = h.tenant \
           AND b.id = h.building_id WHERE b.address = '导入路1号'"
        )
        .await,
        3
    );
    // Again: the houses are there; a new house joins the stored building and its entrance.
    let more = format!(
        "网格编码,楼栋名称,楼栋地址,楼栋类型,层数,单元,房号\n\
         {GRID1},导入1号楼,导入路1号,住宅楼,6,1单元,101\n\
         {GRID1},导入1号楼,导入路1号,住宅楼,6,1单元,103\n\
         {GRID1},导入6号楼,导入路6号,平房院落,1,,\n"
    );
    let j = import(&c, "buildings", "valid", "b2.csv", more.into_bytes()).await;
    assert_eq!(counts(&j), (1, 2, 1), "{}", j.text);
    assert!(has(&errors(&j), 2, "already_registered"));
    assert!(has(&errors(&j), 4, "already_registered"));
    assert_eq!(
        n(
            "SELECT COUNT(*) FROM entrances e JOIN buildings b ON b.tenant = e.tenant \
           AND b.id = e.building_id WHERE b.address = '导入路1号'"
        )
        .await,
        2,
        "the stored entrance is reused"
    );

    let h = format!(
        "*网格编码,*楼栋地址,*房号,*户别\n\
         {GRID1},导入路1号,101,家庭户\n\
         {GRID1},导入路1号,101,家庭户\n\
         {GRID1},导入路1号,999,家庭户\n\
         {GRID1},导入路1号,102,大户\n\
         {GRID1},导入路1号,201,集体户\n"
    );
    let j = import(&c, "households", "valid", "h.csv", h.clone().into_bytes()).await;
    assert_eq!(counts(&j), (2, 3, 2), "{}", j.text);
    let e = errors(&j);
    assert!(has(&e, 3, "duplicate_in_file"), "{e:?}");
    assert!(has(&e, 4, "unknown_house"), "{e:?}");
    assert!(has(&e, 5, "invalid_value"), "{e:?}");
    let j = import(&c, "households", "check", "h.csv", h.into_bytes()).await;
    assert!(has(&errors(&j), 2, "already_registered"), "{}", j.text);

    // Every kind's template comes back through its import (xlsx and CSV alike).
    for kind in ["households", "buildings", "organisations", "components"] {
        let tpl = template(&c, kind).await;
        let j = import(&c, kind, "check", "t.xlsx", tpl).await;
        assert_eq!(j.body["state"], "done", "{kind}: {}", j.text);
        assert_eq!(j.body["report"]["rows"], 1, "{kind}");
        let r: &Value = &j.body["report"];
        // The households example names a house the demo does not have.
        if kind != "households" {
            assert_eq!(r["valid"], 1, "{kind}: {}", j.text);
        }
    }
}

#[tokio::test]
async fn a_job_whose_server_stopped_is_marked_failed() {
    use linli_store::repo::imports::{self, ImportJobRow};
    let t = spawn_app().await;
    let c = t.login("duofuxiang").await;
    let user: uuid::Uuid = t.user_id("duofuxiang").await.parse().unwrap();
    let now = t.app.now();
    let job = |heartbeat: i64| ImportJobRow {
        tenant: "110101".into(),
        id: uuid::Uuid::now_v7(),
        user_id: user,
        kind: "residents".into(),
        mode: "valid".into(),
        filename: "r.csv".into(),
        state: "running".into(),
        rows_done: 5000,
        rows_total: 10000,
        report: None,
        error_key: None,
        error: None,
        created_at: linli_domain::Ts(heartbeat),
        heartbeat_at: linli_domain::Ts(heartbeat),
        finished_at: None,
    };
    // Silent for a minute (its server stopped), and one that is alive.
    let stale = job(now.0 - 60_000_000);
    let alive = job(now.0);
    imports::insert(&t.app.db, &stale).await.unwrap();
    imports::insert(&t.app.db, &alive).await.unwrap();
    let j = c.get(&format!("/api/v1/imports/{}", alive.id)).await;
    assert_eq!(j.body["state"], "running", "{}", j.text);
    assert_eq!(j.body["percent"], 50);
    let j = c.get(&format!("/api/v1/imports/{}", stale.id)).await;
    assert_eq!(j.body["state"], "failed", "{}", j.text);
    assert_eq!(j.body["error_key"], "interrupted");
    assert!(j.body["error"].as_str().unwrap().contains("中断"));
    // The start of a server does the same for every stale job.
    let other = job(now.0 - 60_000_000);
    imports::insert(&t.app.db, &other).await.unwrap();
    linli_app::bootstrap::ensure_base(&t.app, "邻里")
        .await
        .unwrap();
    let row = imports::get(&t.app.db, "110101", other.id, user)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.state, "failed");
    let row = imports::get(&t.app.db, "110101", alive.id, user)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.state, "running", "a live job is left alone");
}
