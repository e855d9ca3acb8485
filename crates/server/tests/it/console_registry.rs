//! The 基础信息 console pages through the real router, asserted with HTML selectors: masked
//! resident lists within the caller's scope, filters kept in the form, the exact lookup by POST,
//! the person page with household and history, the audited unmasking, life-cycle events,
//! buildings, the grid map and the overview.

use serde_json::Value;

use crate::console::{console_login, count, csrf_of};
use crate::support::{Client, TestApp, attr, spawn_app, text_of};

const LIST: &str = "/console/registry/residents";

fn all_text(html: &str, selector: &str) -> Vec<String> {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse(selector).unwrap();
    doc.select(&sel)
        .map(|e| e.text().collect::<String>().trim().to_string())
        .collect()
}

fn all_attr(html: &str, selector: &str, name: &str) -> Vec<String> {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse(selector).unwrap();
    doc.select(&sel)
        .filter_map(|e| e.value().attr(name).map(str::to_string))
        .collect()
}

/// `^\d{6}\*{8}\d{3}[\dX]$`
fn masked_id(s: &str) -> bool {
    let c: Vec<char> = s.chars().collect();
    c.len() == 18
        && c[..6].iter().all(char::is_ascii_digit)
        && c[6..14].iter().all(|x| *x == '*')
        && c[14..17].iter().all(char::is_ascii_digit)
        && (c[17].is_ascii_digit() || c[17] == 'X')
}

/// `^\d{17}[\dX]$`
fn full_id(s: &str) -> bool {
    let c: Vec<char> = s.chars().collect();
    c.len() == 18
        && c[..17].iter().all(char::is_ascii_digit)
        && (c[17].is_ascii_digit() || c[17] == 'X')
}

/// Empty, or `138****8000`.
fn masked_phone(s: &str) -> bool {
    s.is_empty() || (s.contains("****") && s.chars().filter(char::is_ascii_digit).count() <= 7)
}

/// No run of 11 or more digits in the page's text (an unmasked ID number or mobile phone).
fn no_full_numbers(html: &str) -> bool {
    let doc = scraper::Html::parse_document(html);
    let text: String = doc.root_element().text().collect();
    let mut run = 0;
    for ch in text.chars() {
        run = if ch.is_ascii_digit() { run + 1 } else { 0 };
        if run >= 11 {
            return false;
        }
    }
    true
}

async fn unit_name(t: &TestApp, code: &str) -> String {
    linli_store::repo::org::get_by_code(&t.app.db, code)
        .await
        .unwrap()
        .unwrap()
        .name
}

/// The resident count the page's heading shows.
fn heading_count(html: &str) -> i64 {
    text_of(html, ".resident-count strong")
        .unwrap_or_default()
        .parse()
        .unwrap()
}

async fn api_count(c: &Client, query: &str) -> i64 {
    let r = c.get(&format!("/api/v1/residents/count?{query}")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["count"].as_i64().unwrap()
}

#[tokio::test]
async fn resident_list_is_masked_filtered_and_scoped() {
    let t = spawn_app().await;
    let c = console_login(&t, "duofuxiang").await;
    let api = t.login("duofuxiang").await;

    let home = c.get_html("/console").await;
    assert_eq!(
        count(&home.text, "a.nav-link[href='/console/registry']"),
        1,
        "基础信息 in the navigation"
    );

    let page = c.get_html(LIST).await;
    assert_eq!(page.status, 200);
    let rows = count(&page.text, "table.registry-residents tr.resident-row");
    assert_eq!(rows, 50, "a full first page");
    let ids = all_text(&page.text, "td.resident-idn");
    assert_eq!(ids.len(), rows);
    assert!(ids.iter().all(|x| masked_id(x)), "{ids:?}");
    let phones = all_text(&page.text, "td.resident-phone");
    assert!(phones.iter().all(|x| masked_phone(x)), "{phones:?}");
    let names = all_text(&page.text, "a.resident-name");
    assert!(names.iter().all(|n| n.contains('*')), "{names:?}");
    assert!(
        no_full_numbers(&page.text),
        "no unmasked number on the page"
    );
    let total = api_count(&api, "").await;
    assert_eq!(heading_count(&page.text), total);

    // The next page: older residents, the same count.
    let next = attr(&page.text, "a.resident-next", "href").expect("a next page");
    assert!(next.contains("before="), "{next}");
    let second = c.get_html(&next).await;
    assert_eq!(second.status, 200);
    assert_eq!(heading_count(&second.text), total);
    let first_ids = all_attr(&page.text, "a.resident-name", "href");
    let second_ids = all_attr(&second.text, "a.resident-name", "href");
    assert!(!second_ids.is_empty());
    assert!(second_ids.iter().all(|h| !first_ids.contains(h)));

    // Filters narrow the list and stay in the form.
    let old = c.get_html(&format!("{LIST}?age=80%2B")).await;
    assert_eq!(old.status, 200);
    let ages = all_text(&old.text, "td.resident-age");
    assert!(!ages.is_empty());
    assert!(
        ages.iter().all(|a| a.parse::<u32>().unwrap() >= 80),
        "{ages:?}"
    );
    assert_eq!(
        attr(&old.text, "select[name=age] option[selected]", "value").as_deref(),
        Some("80+")
    );
    assert_eq!(heading_count(&old.text), api_count(&api, "age=80%2B").await);
    let floating = c
        .get_html(&format!("{LIST}?residency=floating&sex=female"))
        .await;
    let kinds = all_text(&floating.text, "td.resident-residency");
    assert_eq!(
        heading_count(&floating.text),
        api_count(&api, "residency=floating&sex=female").await
    );
    assert!(kinds.iter().all(|k| k == "流动"), "{kinds:?}");
    assert!(
        all_text(&floating.text, "td.resident-sex")
            .iter()
            .all(|s| s == "女")
    );
    assert_eq!(
        attr(
            &floating.text,
            "select[name=residency] option[selected]",
            "value"
        )
        .as_deref(),
        Some("floating")
    );
    assert_eq!(
        attr(&floating.text, "select[name=sex] option[selected]", "value").as_deref(),
        Some("female")
    );
    let surname: String = names[0].chars().take(1).collect();
    let named = c
        .get_html(&format!("{LIST}?name={}", urlencode(&surname)))
        .await;
    let found = all_text(&named.text, "a.resident-name");
    assert!(!found.is_empty());
    assert!(found.iter().all(|n| n.starts_with(&surname)), "{found:?}");
    assert_eq!(
        attr(&named.text, "input[name=name]", "value").as_deref(),
        Some(surname.as_str())
    );
    let tagged = c.get_html(&format!("{LIST}?tag=living_alone")).await;
    assert_eq!(tagged.status, 200);
    let tags = all_text(&tagged.text, "tr.resident-row");
    assert!(tags.iter().all(|r| r.contains("独居老人")), "{tags:?}");
    assert_eq!(
        attr(&tagged.text, "select[name=tag] option[selected]", "value").as_deref(),
        Some("living_alone")
    );

    // A refused filter: the message, the form as typed, no rows, no 500.
    let bad = c.get_html(&format!("{LIST}?age=abc&name=%E7%8E%8B")).await;
    assert_eq!(bad.status, 422);
    assert!(
        text_of(&bad.text, ".alert-danger")
            .unwrap()
            .contains("年龄段无效"),
        "{}",
        bad.text
    );
    assert_eq!(count(&bad.text, "tr.resident-row"), 0);
    assert_eq!(
        attr(&bad.text, "input[name=name]", "value").as_deref(),
        Some("王")
    );
    let bad = c.get_html(&format!("{LIST}?tag=nonexistent")).await;
    assert_eq!(bad.status, 422);
    assert!(
        text_of(&bad.text, ".alert-danger")
            .unwrap()
            .contains("标签目录")
    );

    // A grid worker sees their own grid only.
    let grid = t.unit_id("110101001001001").await;
    let grid_name = unit_name(&t, "110101001001001").await;
    let worker = console_login(&t, "grid01").await;
    let own = worker.get_html(LIST).await;
    assert_eq!(own.status, 200);
    let grids = all_text(&own.text, "td.resident-grid");
    assert!(!grids.is_empty());
    assert!(grids.iter().all(|g| *g == grid_name), "{grids:?}");
    let in_grid = heading_count(&own.text);
    assert_eq!(in_grid, api_count(&api, &format!("unit={grid}")).await);
    assert!(in_grid < total, "the grid is part of the community");
    let community = t.unit_id("110101001001").await;
    let beyond = worker.get_html(&format!("{LIST}?unit={community}")).await;
    assert_eq!(beyond.status, 404);
    assert_eq!(count(&beyond.text, "tr.resident-row"), 0);
    assert_eq!(
        count(&own.text, "form.resident-export"),
        0,
        "no export for a grid worker"
    );
    // 导出 Excel carries the list's filters: the community's export of one grid is a workbook
    // (its rows are checked in it/registry.rs).
    let one = c.get_html(&format!("{LIST}?unit={grid}&age=60%2B")).await;
    assert_eq!(count(&one.text, "form.resident-export"), 1);
    assert_eq!(
        attr(&one.text, "form.resident-export input[name=age]", "value").as_deref(),
        Some("60+")
    );
    let csrf = attr(&one.text, "form.resident-export input[name=csrf]", "value").unwrap();
    let r = c
        .post_form(
            "/console/registry/residents/export",
            &[("csrf", &csrf), ("unit", &grid), ("age", "60+")],
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.headers["content-type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    // A refused export shows the list again with the reason.
    let r = c
        .post_form(
            "/console/registry/residents/export",
            &[("csrf", &csrf), ("tag", "不存在的标签")],
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(r.text.contains("不在标签目录中"), "{}", r.text);
    // The map's link: the community worker opens one grid.
    let one = c.get_html(&format!("{LIST}?unit={grid}")).await;
    assert_eq!(heading_count(&one.text), in_grid);
    assert_eq!(
        attr(&one.text, "input[name=unit_q]", "value").as_deref(),
        Some(grid_name.as_str())
    );

    // No registry.read: no page, no navigation entry.
    let hotline = console_login(&t, "hotline").await;
    assert_eq!(hotline.get_html(LIST).await.status, 403);
    let home = hotline.get_html("/console").await;
    assert_eq!(count(&home.text, "a.nav-link[href='/console/registry']"), 0);
}

fn urlencode(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}

/// A resident of the community, outside `grid`, with a household of two or more and a house.
async fn family(api: &Client, grid: &str) -> Value {
    let list = api.get("/api/v1/residents?limit=200").await;
    assert_eq!(list.status, 200, "{}", list.text);
    for r in list.body["items"].as_array().unwrap() {
        if r["unit_id"] == grid {
            continue;
        }
        let id = r["id"].as_str().unwrap();
        let d = api.get(&format!("/api/v1/residents/{id}")).await;
        if d.body["household"].as_array().is_some_and(|h| h.len() >= 2)
            && d.body["house"].is_object()
        {
            return d.body;
        }
    }
    panic!("no household of two in the demo community");
}

#[tokio::test]
async fn person_page_unmask_lookup_and_events() {
    let t = spawn_app().await;
    let c = console_login(&t, "duofuxiang").await;
    let api = t.login("duofuxiang").await;
    let csrf = csrf_of(&c).await;
    let grid = t.unit_id("110101001001001").await;
    let d = family(&api, &grid).await;
    let id = d["resident"]["id"].as_str().unwrap().to_string();
    let here = format!("{LIST}/{id}");

    let page = c.get_html(&here).await;
    assert_eq!(page.status, 200);
    let members = d["household"].as_array().unwrap().len();
    assert_eq!(
        count(&page.text, ".household-members tr.household-member"),
        members
    );
    assert_eq!(
        count(
            &page.text,
            ".household-members a[href^='/console/registry/residents/']"
        ),
        members - 1,
        "links to the others"
    );
    let events = d["events"].as_array().unwrap().len();
    assert!(events >= 1);
    assert_eq!(
        count(&page.text, "table.resident-history tr.history-row"),
        events
    );
    let building = d["house"]["building_id"].as_str().unwrap();
    assert_eq!(
        count(
            &page.text,
            &format!(".resident-house a[href^='/console/registry/buildings/{building}']")
        ),
        1
    );
    assert!(masked_id(&text_of(&page.text, "td.resident-idn").unwrap()));
    assert!(no_full_numbers(&page.text));
    assert_eq!(
        count(&page.text, "form.unmask-form textarea[name=reason]"),
        1
    );
    assert_eq!(count(&page.text, "form.event-form input[name=version]"), 1);

    // Unmasking needs a reason.
    let refused = c
        .post_form(
            &format!("{here}/unmask"),
            &[("csrf", &csrf), ("reason", "")],
        )
        .await;
    assert_eq!(refused.status, 422);
    assert!(
        text_of(&refused.text, ".alert-danger")
            .unwrap()
            .contains("请说明查看完整信息的理由"),
        "{}",
        refused.text
    );
    assert_eq!(count(&refused.text, ".unmasked-id"), 0);
    assert!(no_full_numbers(&refused.text));
    let shown = c
        .post_form(
            &format!("{here}/unmask"),
            &[("csrf", &csrf), ("reason", "核实低保申请，电话回访本人")],
        )
        .await;
    assert_eq!(shown.status, 200, "{}", shown.text);
    assert_eq!(shown.headers["cache-control"].to_str().unwrap(), "no-store");
    let full = text_of(&shown.text, ".unmasked .unmasked-id").unwrap();
    assert!(full_id(&full), "{full}");
    assert!(shown.text.contains("本次查看已记入审计日志"));
    let masked = d["resident"]["id_number"].as_str().unwrap();
    assert_eq!(full[..6], masked[..6]);
    assert_eq!(full[14..], masked[14..]);
    // The same as a fragment for htmx.
    let r = c
        .http
        .post(format!("{}{here}/unmask", c.base))
        .header("hx-request", "true")
        .header("x-csrf-token", &csrf)
        .form(&[("reason", "核实低保申请，电话回访本人")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let fragment = r.text().await.unwrap();
    assert_eq!(
        text_of(&fragment, ".unmasked-id").as_deref(),
        Some(full.as_str())
    );
    assert!(!fragment.contains("<html"), "a fragment");
    let r = c
        .http
        .post(format!("{}{here}/unmask", c.base))
        .header("hx-request", "true")
        .header("x-csrf-token", &csrf)
        .form(&[("reason", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("alert-danger"));
    // Without the CSRF token nothing is shown.
    let forged = c
        .post_form(
            &format!("{here}/unmask"),
            &[("reason", "核实低保申请，电话回访本人")],
        )
        .await;
    assert_eq!(forged.status, 403);
    assert!(!forged.text.contains(&full));

    // The exact lookup goes by POST (never in a URL) and finds the one resident.
    let list = c.get_html(LIST).await;
    assert_eq!(
        count(&list.text, "form[method=get] input[name=id_number]"),
        0
    );
    assert_eq!(count(&list.text, "form[method=get] input[name=phone]"), 0);
    assert_eq!(
        count(
            &list.text,
            "form.resident-lookup[method=post] input[name=id_number]"
        ),
        1
    );
    let hit = c
        .post_form(
            LIST,
            &[("csrf", &csrf), ("id_number", &full), ("phone", "")],
        )
        .await;
    assert_eq!(hit.status, 200, "{}", hit.text);
    assert_eq!(count(&hit.text, "tr.resident-row"), 1);
    assert_eq!(
        attr(&hit.text, "a.resident-name", "href").as_deref(),
        Some(here.as_str())
    );
    assert_eq!(heading_count(&hit.text), 1);
    let bad = c
        .post_form(
            LIST,
            &[
                ("csrf", &csrf),
                ("id_number", "11010119900101123"),
                ("phone", ""),
            ],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(text_of(&bad.text, ".alert-danger").is_some());
    let empty = c.post_form(LIST, &[("csrf", &csrf)]).await;
    assert_eq!(empty.status, 422);
    assert!(
        text_of(&empty.text, ".alert-danger")
            .unwrap()
            .contains("身份证号或手机号")
    );
    // A GET never reads an ID number.
    let ignored = c.get_html(&format!("{LIST}?id_number={full}")).await;
    assert!(heading_count(&ignored.text) > 1);

    // A life-cycle event from the form.
    let date = attr(&page.text, "form.event-form input[name=on_date]", "value").unwrap();
    let version = attr(&page.text, "form.event-form input[name=version]", "value").unwrap();
    let form = [
        ("csrf", csrf.as_str()),
        ("kind", "corrected"),
        ("on_date", date.as_str()),
        ("note", "更正联系电话"),
        ("version", version.as_str()),
    ];
    let r = c.post_form(&format!("{here}/events"), &form).await;
    assert_eq!(r.status, 303, "{}", r.text);
    let loc = r.headers["location"].to_str().unwrap().to_string();
    assert!(
        loc.starts_with(&format!("{here}?ok=")) && loc.ends_with("#history"),
        "{loc}"
    );
    let after = c.get_html(&loc).await;
    assert!(
        text_of(&after.text, ".alert-success")
            .unwrap()
            .contains("更正")
    );
    assert_eq!(count(&after.text, "tr.history-row"), events + 1);
    assert!(after.text.contains("更正联系电话"));
    // The same version again is stale; a future date is refused.
    let r = c.post_form(&format!("{here}/events"), &form).await;
    let again = c.get_html(r.headers["location"].to_str().unwrap()).await;
    assert!(
        text_of(&again.text, ".alert-danger")
            .unwrap()
            .contains("已被他人更新")
    );
    let fresh = attr(&again.text, "form.event-form input[name=version]", "value").unwrap();
    let r = c
        .post_form(
            &format!("{here}/events"),
            &[
                ("csrf", csrf.as_str()),
                ("kind", "moved_in"),
                ("on_date", "2999-01-01"),
                ("version", fresh.as_str()),
            ],
        )
        .await;
    let late = c.get_html(r.headers["location"].to_str().unwrap()).await;
    assert!(
        text_of(&late.text, ".alert-danger")
            .unwrap()
            .contains("日期不能晚于今天")
    );
    assert_eq!(count(&late.text, "tr.history-row"), events + 1);

    // A grid worker: no unmask form, and the request itself is refused.
    let worker = console_login(&t, "grid01").await;
    let wapi = t.login("grid01").await;
    let theirs = wapi.get("/api/v1/residents?limit=1").await;
    let rid = theirs.body["items"][0]["id"].as_str().unwrap().to_string();
    let wpage = worker.get_html(&format!("{LIST}/{rid}")).await;
    assert_eq!(wpage.status, 200);
    assert_eq!(count(&wpage.text, "form.unmask-form"), 0);
    assert!(!wpage.text.contains("查看完整信息"));
    assert_eq!(
        count(&wpage.text, "form.event-form"),
        1,
        "grid workers record events"
    );
    let wcsrf = csrf_of(&worker).await;
    let r = worker
        .post_form(
            &format!("{LIST}/{rid}/unmask"),
            &[("csrf", &wcsrf), ("reason", "核实低保申请，电话回访本人")],
        )
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(count(&r.text, ".unmasked-id"), 0);
    // …nor a resident of another grid.
    assert_eq!(worker.get_html(&here).await.status, 404);
}

#[tokio::test]
async fn buildings_map_and_overview() {
    let t = spawn_app().await;
    let c = console_login(&t, "duofuxiang").await;
    let api = t.login("duofuxiang").await;

    // Buildings: a list, a search, one building's houses by entrance.
    let list = c.get_html("/console/registry/buildings").await;
    assert_eq!(list.status, 200);
    assert!(count(&list.text, "table.registry-buildings tr.building-row") > 0);
    let name = text_of(&list.text, "a.building-name").unwrap();
    let href = attr(&list.text, "a.building-name", "href").unwrap();
    let found = c
        .get_html(&format!(
            "/console/registry/buildings?q={}",
            urlencode(&name)
        ))
        .await;
    assert_eq!(found.status, 200);
    assert!(all_attr(&found.text, "a.building-name", "href").contains(&href));
    assert_eq!(
        attr(&found.text, "input[name=q]", "value").as_deref(),
        Some(name.as_str())
    );
    let bid = href.rsplit('/').next().unwrap();
    let d = api.get(&format!("/api/v1/buildings/{bid}")).await;
    assert_eq!(d.status, 200, "{}", d.text);
    let page = c.get_html(&href).await;
    assert_eq!(page.status, 200);
    assert!(count(&page.text, ".entrance-group") >= 1);
    assert_eq!(
        count(&page.text, ".entrance-group tr.house-row"),
        d.body["houses"].as_array().unwrap().len()
    );
    let people = all_text(
        &page.text,
        ".house-residents a[href^='/console/registry/residents/']",
    );
    assert_eq!(people.len() as u64, d.body["residents"].as_u64().unwrap());
    assert!(people.iter().all(|n| n.contains('*')), "{people:?}");
    assert!(no_full_numbers(&page.text));

    // The map: Leaflet, the polygons from the API, no outside tiles by default.
    let map = c.get_html("/console/registry/map").await;
    assert_eq!(map.status, 200);
    assert_eq!(
        attr(&map.text, "#registry-map", "data-shapes").as_deref(),
        Some("/api/v1/grids/shapes")
    );
    assert_eq!(
        attr(&map.text, "#registry-map", "data-tiles").as_deref(),
        Some("")
    );
    assert!(map.text.contains("/static/vendor/leaflet/leaflet.js"));
    let shapes = c.get("/api/v1/grids/shapes").await;
    assert_eq!(
        shapes.status, 200,
        "the map's fetch works with the session cookie"
    );
    assert_eq!(shapes.body["type"], "FeatureCollection");

    // The overview of the caller's own community; counts only.
    let community = t.unit_id("110101001001").await;
    let o = api
        .get(&format!("/api/v1/registry/overview?unit={community}"))
        .await;
    assert_eq!(o.status, 200, "{}", o.text);
    let page = c.get_html("/console/registry").await;
    assert_eq!(page.status, 200);
    assert_eq!(
        text_of(&page.text, ".overview-unit").unwrap(),
        unit_name(&t, "110101001001").await
    );
    let residents = o.body["residents"].as_i64().unwrap();
    assert!(residents > 0);
    assert_eq!(
        text_of(&page.text, ".stat-residents .stat-value").unwrap(),
        residents.to_string()
    );
    assert_eq!(
        text_of(&page.text, ".stat-households .stat-value").unwrap(),
        o.body["households"].to_string()
    );
    assert_eq!(count(&page.text, "table.overview-residency tr.bar-row"), 4);
    assert_eq!(count(&page.text, "table.overview-ages tr.bar-row"), 6);
    let by_type: i64 = all_text(&page.text, "table.overview-residency .bar-count")
        .iter()
        .map(|s| s.trim_end_matches('人').trim().parse::<i64>().unwrap())
        .sum();
    assert_eq!(by_type, residents);
    assert!(page.text.contains("overview-ages-data"));
    assert!(no_full_numbers(&page.text));
    // A figure links to the residents it counts.
    let link = attr(&page.text, "table.overview-ages .bar-count a", "href").unwrap();
    let band = c.get_html(&link).await;
    assert_eq!(band.status, 200);
    let n: i64 = text_of(&page.text, "table.overview-ages .bar-count a")
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(heading_count(&band.text), n);

    // A grid worker: their grid's overview by default, not the community's.
    let worker = console_login(&t, "grid01").await;
    let own = worker.get_html("/console/registry").await;
    assert_eq!(own.status, 200);
    assert_eq!(
        text_of(&own.text, ".overview-unit").unwrap(),
        unit_name(&t, "110101001001001").await
    );
    let beyond = worker
        .get_html(&format!("/console/registry?unit={community}"))
        .await;
    assert_eq!(beyond.status, 404);
}

#[tokio::test]
async fn a_department_token_is_issued_with_its_fields_from_the_console() {
    let t = spawn_app().await;
    let api = t.login("admin").await;
    let district = t.unit_id("110101").await;
    let r = api
        .post("/api/v1/users", serde_json::json!({"username": "weijian", "display_name": "区卫健委数据共享", "unit_id": district, "password": "Share-Data-2026", "kind": "service", "must_change_password": false}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let c = console_login(&t, "admin").await;
    let page = c.get_html("/console/tokens").await;
    assert_eq!(page.status, 200);
    assert_eq!(
        count(&page.text, ".token-field-boxes input[type=checkbox]"),
        linli_domain::registry::ResidentField::ALL.len()
    );
    let csrf = csrf_of(&c).await;
    let r = c
        .post_form(
            "/console/tokens",
            &[
                ("csrf", &csrf),
                ("name", "卫健委老年人健康服务"),
                ("username", "weijian"),
                ("unit_id", &district),
                ("expires_days", "30"),
                ("limit_fields", "on"),
                ("field_phone", "on"),
                ("field_tags", "on"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let fields = all_text(&r.text, "td.token-fields");
    assert_eq!(
        fields,
        ["基本信息、联系电话（脱敏）、一般标签"],
        "{fields:?}"
    );
    let listed = api.get("/api/v1/tokens").await;
    assert_eq!(
        listed.body[0]["registry_fields"],
        serde_json::json!(["phone", "tags"])
    );
}

fn multipart(fields: &[(&str, Option<&str>, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "linli-import-boundary-51c2";
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

/// Post the import form as htmx does; follow the job fragment until it stops polling.
async fn import_in_console(c: &Client, csrf: &str, kind: &str, mode: &str, csv: &str) -> String {
    let (ct, body) = multipart(&[
        ("file", Some("导入.csv"), csv.as_bytes()),
        ("mode", None, mode.as_bytes()),
    ]);
    let r = c
        .http
        .post(format!("{}/console/registry/import?kind={kind}", c.base))
        .header("content-type", ct)
        .header("hx-request", "true")
        .header("x-csrf-token", csrf)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202);
    let mut html = r.text().await.unwrap();
    for _ in 0..600 {
        let Some(poll) = attr(&html, ".import-running", "hx-get") else {
            return html;
        };
        assert!(poll.starts_with("/console/registry/import/jobs/"), "{poll}");
        assert_eq!(count(&html, ".import-running .progress-bar"), 1, "{html}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        html = c.get_html(&poll).await.text;
    }
    panic!("the import job did not finish");
}

#[tokio::test]
async fn import_page_checks_then_imports_the_valid_rows() {
    let t = spawn_app().await;
    let c = console_login(&t, "duofuxiang").await;
    let csrf = csrf_of(&c).await;
    let page = c.get_html("/console/registry/import?kind=components").await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert_eq!(
        count(
            &page.text,
            ".registry-tabs a.active[href='/console/registry/import']"
        ),
        1
    );
    assert_eq!(count(&page.text, ".import-kinds a.nav-link"), 5);
    assert_eq!(
        text_of(&page.text, ".import-kinds a.active").as_deref(),
        Some("部件")
    );
    let tpl = attr(&page.text, "a.import-template", "href").unwrap();
    let r = c
        .http
        .get(format!("{}{}", c.base, tpl))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.bytes().await.unwrap().starts_with(b"PK\x03\x04"));
    assert_eq!(
        count(&page.text, "form.import-form input[type=file][name=file]"),
        1
    );

    let csv = "网格编码,部件标识码,名称,状态\n\
               110101001001001,1101010118900101,,完好\n\
               110101001001001,1101010118900101,,完好\n\
               110101001001001,11010101189,,完好\n";
    let html = import_in_console(&c, &csrf, "components", "check", csv).await;
    assert_eq!(
        text_of(&html, ".import-valid").as_deref(),
        Some("1"),
        "{html}"
    );
    assert_eq!(
        count(&html, ".import-errors .import-error-row"),
        2,
        "{html}"
    );
    let lines = all_text(&html, ".import-error-row td:first-child");
    assert_eq!(lines, vec!["3".to_string(), "4".to_string()]);
    assert_eq!(
        count(&html, "button.import-valid-rows[name=mode][value=valid]"),
        1,
        "导入有效行 offered"
    );
    let stored = |code: &'static str| {
        let db = t.app.db.clone();
        async move {
            db.fetch_one_i64(
                "SELECT COUNT(*) FROM components WHERE code = $1",
                vec![code.into()],
            )
            .await
            .unwrap()
        }
    };
    assert_eq!(
        stored("1101010118900101").await,
        0,
        "a check writes nothing"
    );

    let html = import_in_console(&c, &csrf, "components", "valid", csv).await;
    assert_eq!(
        text_of(&html, ".import-imported").as_deref(),
        Some("1"),
        "{html}"
    );
    assert_eq!(count(&html, "button.import-valid-rows"), 0);
    assert_eq!(stored("1101010118900101").await, 1);

    // A refused file says why in place of the result.
    let html = import_in_console(&c, &csrf, "components", "valid", "a,b\n1,2\n").await;
    assert!(
        text_of(&html, ".import-failed .import-error")
            .unwrap()
            .contains("部件标识码"),
        "{html}"
    );
    // The recent imports are listed on the page.
    let page = c.get_html("/console/registry/import").await;
    assert_eq!(count(&page.text, ".import-recent tbody tr"), 3);

    // A grid worker may not import.
    let worker = console_login(&t, "grid01").await;
    let r = worker.get_html("/console/registry/import").await;
    assert_eq!(r.status, 403);
}
