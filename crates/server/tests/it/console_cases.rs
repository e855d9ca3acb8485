//! The case page's 吹哨报到 card, the dispatch-catalogue search on the intake and register
//! forms, and attachments, driven through the console's own forms.

use serde_json::{Value, json};

use crate::console::{case_of, console_login, count, csrf_of};
use crate::support::{Client, TestApp, attr, spawn_app, text_of};

/// A 1×1 PNG.
const PNG: &str = "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c63f8cfc0f01f00050001ff89993d1d0000000049454e44ae426082";

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// A step through the API at the case's current version.
async fn api_step(c: &Client, id: &str, action: &str, mut body: Value) {
    let cur = c.get(&format!("/api/v1/cases/{id}")).await;
    body["version"] = cur.body["case"]["version"].clone();
    let r = c.post(&format!("/api/v1/cases/{id}/{action}"), body).await;
    assert_eq!(r.status, 200, "{action}: {}", r.text);
}

/// A complaint filed by the hotline, registered and dispatched to 东华门街道, and signed.
async fn at_the_street(t: &TestApp) -> String {
    let hotline = t.login("hotline").await;
    let r = hotline
        .post(
            "/api/v1/cases",
            json!({
                "channel": "hotline", "request_type": "complaint",
                "title": "小区门口垃圾堆放", "description": "多福巷小区门口垃圾三天未清运。",
                "address": "东城区多福巷12号",
                "requester_name": "张三丰", "requester_phone": "138-1234-5678",
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_string();
    let district = t.login("dongcheng").await;
    api_step(&district, &id, "register", json!({})).await;
    let street = t.unit_id("110101001").await;
    api_step(&district, &id, "dispatch", json!({"unit_id": street})).await;
    api_step(&t.login("donghuamen").await, &id, "sign", json!({})).await;
    id
}

/// Post a console form and follow the redirect back to the case page.
async fn submit(c: &Client, path: &str, form: &[(&str, &str)]) -> String {
    let r = c.post_form(path, form).await;
    assert_eq!(r.status, 303, "{path}: {}", r.text);
    let loc = r.headers["location"].to_str().unwrap().to_string();
    let page = c.get_html(&loc).await;
    assert_eq!(page.status, 200);
    assert!(
        text_of(&page.text, ".alert-danger").is_none(),
        "{path}: {:?}",
        text_of(&page.text, ".alert-danger")
    );
    page.text
}

fn call_row(html: &str, dept: &str) -> String {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse(&format!("tr.whistle-call[data-dept='{dept}']")).unwrap();
    doc.select(&sel)
        .next()
        .expect("the department's row")
        .html()
}

#[tokio::test]
async fn console_whistle_blown_answered_reported_and_rated() {
    let t = spawn_app().await;
    let id = at_the_street(&t).await;
    let page_of = format!("/console/cases/{id}");
    let b01 = t.unit_id("110101B01").await;
    let b08 = t.unit_id("110101B08").await;

    // The district dispatcher sees the case but holds no whistle.blow: no blow form.
    let district = console_login(&t, "dongcheng").await;
    let page = district.get_html(&page_of).await;
    assert_eq!(page.status, 200);
    assert!(
        attr(&page.text, "#whistle", "id").is_some(),
        "the card is there"
    );
    assert_eq!(count(&page.text, "#blow-form"), 0, "no blow form");

    // The street picks 环境卫生/生活垃圾清运 at level 2 from the catalogue in the form.
    let street = console_login(&t, "donghuamen").await;
    let page = street.get_html(&page_of).await;
    let action = attr(&page.text, "#blow-form", "action").expect("the blow form");
    assert_eq!(action, format!("/console/cases/{id}/whistle"));
    let item = attr(
        &page.text,
        "#blow-level option[data-item='生活垃圾清运'][data-level='2']",
        "value",
    )
    .unwrap();
    assert_eq!(
        attr(
            &page.text,
            &format!("#blow-level option[value='{item}']"),
            "data-depts"
        )
        .unwrap()
        .split('、')
        .count(),
        2
    );
    let csrf = csrf_of(&street).await;
    // A missing reason is refused with a message, nothing blown.
    let r = street
        .post_form(
            &action,
            &[
                ("csrf", &csrf),
                ("item_id", &item),
                ("situation", "beyond"),
                ("reason", " "),
            ],
        )
        .await;
    assert!(r.headers["location"].to_str().unwrap().contains("err="));
    let html = submit(
        &street,
        &action,
        &[
            ("csrf", &csrf),
            ("item_id", &item),
            ("situation", "beyond"),
            ("reason", "垃圾长期积存，需城管和环保联合处置"),
        ],
    )
    .await;
    assert_eq!(count(&html, ".whistle-entry"), 1);
    assert_eq!(count(&html, "tr.whistle-call"), 2);
    assert_eq!(text_of(&html, ".whistle-state").as_deref(), Some("进行中"));
    assert_eq!(count(&html, "#blow-form"), 0, "one open whistle at a time");
    assert_eq!(
        count(&html, "form.whistle-respond"),
        0,
        "the street does not respond"
    );
    let wid = attr(&html, ".whistle-entry", "data-whistle").unwrap();
    assert!(
        attr(
            &html,
            &format!("form[action='/console/cases/{id}/whistle/{wid}/close']"),
            "action"
        )
        .is_some()
    );

    // 城管委 responds through its form, then reports in 70 minutes later (late: limit 60).
    let dept = console_login(&t, "chengguan").await;
    let html = dept.get_html(&page_of).await.text;
    assert_eq!(
        count(&html, "form.whistle-respond"),
        1,
        "only its own department"
    );
    assert_eq!(
        attr(&html, "form.whistle-respond input[name=dept]", "value").as_deref(),
        Some(b01.as_str())
    );
    assert_eq!(
        count(&html, ".whistle-close"),
        0,
        "departments do not close"
    );
    let csrf = csrf_of(&dept).await;
    let html = submit(
        &dept,
        &format!("/console/cases/{id}/whistle/{wid}/respond"),
        &[("csrf", &csrf), ("dept", &b01), ("note", "已派执法队")],
    )
    .await;
    let row = call_row(&html, &b01);
    assert!(
        row.contains("已响应") && row.contains("已派执法队"),
        "{row}"
    );
    assert_eq!(count(&html, "form.whistle-respond"), 0);
    t.clock.advance_secs(70 * 60);
    let dept = console_login(&t, "chengguan").await;
    let csrf = csrf_of(&dept).await;
    let html = submit(
        &dept,
        &format!("/console/cases/{id}/whistle/{wid}/report"),
        &[
            ("csrf", &csrf),
            ("dept", &b01),
            ("person", "王队长"),
            ("note", ""),
            ("photo", ""),
        ],
    )
    .await;
    let row = call_row(&html, &b01);
    assert!(row.contains("王队长"), "{row}");
    let doc = scraper::Html::parse_fragment(&format!("<table><tbody>{row}</tbody></table>"));
    let late = scraper::Selector::parse(".call-report .late").unwrap();
    assert_eq!(doc.select(&late).count(), 1, "reported late: {row}");
    let late = scraper::Selector::parse(".call-response .late").unwrap();
    assert_eq!(doc.select(&late).count(), 0, "responded on time");

    // The street closes, rating both departments.
    let street = console_login(&t, "donghuamen").await;
    let csrf = csrf_of(&street).await;
    let close = format!("/console/cases/{id}/whistle/{wid}/close");
    let r = street
        .post_form(
            &close,
            &[
                ("csrf", &csrf),
                (&format!("score_{b01}"), "9"),
                ("note", ""),
            ],
        )
        .await;
    assert!(
        r.headers["location"].to_str().unwrap().contains("err="),
        "a score out of range"
    );
    let html = submit(
        &street,
        &close,
        &[
            ("csrf", &csrf),
            (&format!("score_{b01}"), "4"),
            (&format!("rnote_{b01}"), "到场及时，报到稍晚"),
            (&format!("score_{b08}"), "2"),
            (&format!("rnote_{b08}"), ""),
            ("note", "问题已解决"),
        ],
    )
    .await;
    assert_eq!(text_of(&html, ".whistle-state").as_deref(), Some("已结哨"));
    assert!(call_row(&html, &b01).contains("4 分"));
    assert!(call_row(&html, &b08).contains("2 分"));
    assert_eq!(count(&html, ".whistle-close"), 0);
    assert!(html.contains("结哨评价"), "on the timeline");
}

#[tokio::test]
async fn console_intake_with_a_category_and_dispatch_preselects_its_unit() {
    let t = spawn_app().await;
    let hotline = console_login(&t, "hotline").await;
    let form = hotline.get_html("/console/cases/new").await;
    assert!(attr(&form.text, "input[name=category_id][type=hidden]", "name").is_some());
    let found = hotline
        .get_html("/console/cases/categories?category_q=%E5%9E%83%E5%9C%BE%20%E6%B8%85%E8%BF%90")
        .await;
    assert_eq!(found.status, 200, "{}", found.text);
    let doc = scraper::Html::parse_fragment(&found.text);
    let sel = scraper::Selector::parse("button[data-pick-id]").unwrap();
    let hit = doc
        .select(&sel)
        .find(|b| {
            b.value()
                .attr("data-pick-name")
                .unwrap()
                .contains("生活垃圾清运不及时")
        })
        .expect("the leaf is found");
    let cat = hit.value().attr("data-pick-id").unwrap().to_string();
    assert!(
        hit.html().contains("派往"),
        "the routing hint: {}",
        hit.html()
    );
    let none = hotline
        .get_html("/console/cases/categories?category_q=zzzz-nothing")
        .await;
    assert!(none.text.contains("没有匹配"));

    let csrf = csrf_of(&hotline).await;
    let r = hotline
        .post_form(
            "/console/cases/new",
            &[
                ("csrf", &csrf),
                ("phone", "13812345678"),
                ("name", "李四"),
                ("request_type", "complaint"),
                ("urgency", "normal"),
                ("title", "垃圾桶满溢"),
                ("description", "小区垃圾桶满溢两天。"),
                ("address", "东城区多福巷12号"),
                ("answer", ""),
                ("channel", "hotline"),
                ("category_id", &cat),
                ("category_q", "生活垃圾清运不及时"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let id = case_of(&r);
    let page = hotline.get_html(&format!("/console/cases/{id}")).await;
    assert!(
        text_of(&page.text, ".case-header")
            .unwrap()
            .contains("生活垃圾清运不及时")
    );

    // The register form carries the category; dispatch then preselects 城管委 from it.
    let district = console_login(&t, "dongcheng").await;
    let page = district.get_html(&format!("/console/cases/{id}")).await;
    let reg = format!("form[action='/console/cases/{id}/register']");
    assert_eq!(
        attr(
            &page.text,
            &format!("{reg} input[name=category_id]"),
            "value"
        )
        .as_deref(),
        Some(cat.as_str())
    );
    let version = attr(&page.text, &format!("{reg} input[name=version]"), "value").unwrap();
    let csrf = csrf_of(&district).await;
    let html = submit(
        &district,
        &format!("/console/cases/{id}/register"),
        &[
            ("csrf", &csrf),
            ("version", &version),
            ("urgency", ""),
            ("category_id", &cat),
            ("category_q", ""),
        ],
    )
    .await;
    let b01 = t.unit_id("110101B01").await;
    let disp = format!("form[action='/console/cases/{id}/dispatch']");
    assert_eq!(
        attr(&html, &format!("{disp} input[name=unit_id]"), "value").as_deref(),
        Some(b01.as_str())
    );
    assert!(html.contains("已按事项分类的责任单位"));
    // An unknown category on register is refused with a message.
    let r = district
        .post_form(
            &format!("/console/cases/{id}/register"),
            &[
                ("csrf", &csrf),
                ("version", "1"),
                ("category_id", "not-an-id"),
            ],
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(text_of(&r.text, ".alert-danger").is_some(), "{}", r.text);
}

#[tokio::test]
async fn console_upload_shows_a_thumbnail_and_a_step_carries_it() {
    let t = spawn_app().await;
    let id = at_the_street(&t).await;
    let mut street = console_login(&t, "donghuamen").await;
    let csrf = csrf_of(&street).await;
    let boundary = "linli-console-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"现场.png\"\r\nContent-Type: image/png\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&unhex(PNG));
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let ct = format!("multipart/form-data; boundary={boundary}");
    let path = format!("/console/cases/{id}/attachments");
    // Without the header token the console refuses.
    let r = street.post_bytes(&path, &ct, body.clone()).await;
    assert_eq!(r.status, 403);
    street.csrf = Some(csrf.clone());
    let r = street.post_bytes(&path, &ct, body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let to = r.headers["hx-redirect"].to_str().unwrap().to_string();
    assert!(to.contains("ok=") && to.ends_with("#attachments"), "{to}");
    // Not a photo: a message in place of the result area.
    let r = street
        .post_bytes(&path, &ct, format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n\r\n<html>\r\n--{boundary}--\r\n").into_bytes())
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert!(r.text.contains("alert"), "{}", r.text);

    let page = street.get_html(&to).await;
    let src = attr(&page.text, ".attachment-thumb img", "src").expect("a thumbnail");
    let aid = src.rsplit('/').next().unwrap().to_string();
    assert_eq!(src, format!("/api/v1/cases/{id}/attachments/{aid}"));
    let img = street
        .http
        .get(format!("{}{src}", street.base))
        .send()
        .await
        .unwrap();
    assert_eq!(img.status().as_u16(), 200);
    assert_eq!(img.headers()["content-type"], "image/png");

    // The step forms offer it; the step that takes it lists it on the timeline.
    let page = street.get_html(&format!("/console/cases/{id}")).await;
    let form = format!("/console/cases/{id}/note");
    assert!(
        attr(
            &page.text,
            &format!("form[action='{form}'] input[name=attachment][value='{aid}']"),
            "value"
        )
        .is_some(),
        "a checkbox for the free file"
    );
    let version = attr(
        &page.text,
        &format!("form[action='{form}'] input[name=version]"),
        "value",
    )
    .unwrap();
    // Refused steps bring the page back with the error and nothing typed lost. A reply before
    // the requester was contacted is not on offer at all: its text is shown to copy.
    let r = street
        .post_form(
            &format!("/console/cases/{id}/reply"),
            &[
                ("csrf", &csrf),
                ("version", &version),
                ("note", "已清运完毕"),
            ],
        )
        .await;
    assert!(matches!(r.status, 409 | 422), "{}: {}", r.status, r.text);
    assert!(text_of(&r.text, ".alert-danger").is_some());
    assert_eq!(
        text_of(&r.text, ".draft-note textarea").as_deref(),
        Some("已清运完毕")
    );
    // An extension of too many days: the extension form is open again with its reason.
    let r = street
        .post_form(
            &format!("/console/cases/{id}/extend"),
            &[
                ("csrf", &csrf),
                ("version", &version),
                ("days", "999"),
                ("note", "需协调物业和城管"),
            ],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(
        text_of(
            &r.text,
            &format!("details[open] form[action='/console/cases/{id}/extend'] textarea")
        )
        .as_deref(),
        Some("需协调物业和城管")
    );
    let html = submit(
        &street,
        &form,
        &[
            ("csrf", &csrf),
            ("version", &version),
            ("note", "已清运，附现场照片"),
            ("attachment", &aid),
        ],
    )
    .await;
    assert_eq!(
        attr(&html, ".case-timeline a.event-file", "href").as_deref(),
        Some(src.as_str())
    );
    assert_eq!(count(&html, "input[name=attachment]"), 0, "no longer free");
}
