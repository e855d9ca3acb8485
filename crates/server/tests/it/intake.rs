//! Intake suggestions: the district's classifier trained from its finished cases, asked for the
//! categories of a new request, and what happens without a model.

use serde_json::{Value, json};

use crate::support::{Client, spawn_app};

/// A leaf of the demo catalogue found by a search term: (id, code).
async fn leaf(c: &Client, q: &str) -> (String, String) {
    let r = c
        .get(&format!("/api/v1/catalogue/search?q={}", urlencoding(q)))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let first: &Value = &r.body[0];
    (
        first["id"].as_str().unwrap().to_string(),
        first["code"].as_str().unwrap().to_string(),
    )
}

fn urlencoding(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}

const LAMPS: [&str; 5] = [
    "小区路灯坏了晚上一片漆黑",
    "路灯不亮已经一周，行人摔倒",
    "楼下路灯忽明忽暗请维修",
    "巷子里的路灯全部不亮",
    "路灯杆倾斜灯也不亮了",
];
const RUBBISH: [&str; 5] = [
    "垃圾桶满了好几天没人清运",
    "小区门口垃圾堆放气味很大",
    "垃圾清运不及时招来苍蝇",
    "楼道里堆满生活垃圾无人清理",
    "垃圾站周边污水横流臭气熏天",
];

#[tokio::test]
async fn the_district_trains_its_classifier_and_intake_gets_suggestions() {
    let t = spawn_app().await;
    let hotline = t.login("hotline").await;
    let district = t.login("dongcheng").await;

    // No model yet: no suggestions, and a reason, never an error.
    let r = hotline
        .post(
            "/api/v1/intake/suggest",
            json!({"title": "路灯不亮", "description": ""}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["categories"], json!([]));
    assert!(r.body["problem"].as_str().unwrap().contains("尚未训练"));

    // Too few finished cases to learn from.
    let r = district
        .post("/api/v1/intake/classifier/train", json!({}))
        .await;
    assert_eq!((r.status, r.key()), (422, "too_few_cases"), "{}", r.text);
    // Only a catalogue manager of the district may train.
    let r = hotline
        .post("/api/v1/intake/classifier/train", json!({}))
        .await;
    assert_eq!(r.status, 403, "{}", r.text);

    // Sixty finished cases of two categories.
    let (lamp_id, lamp) = leaf(&district, "路灯").await;
    let (_, rubbish) = leaf(&district, "垃圾").await;
    assert_ne!(lamp, rubbish);
    for i in 0..60 {
        let (texts, code) = if i % 2 == 0 {
            (&LAMPS, &lamp)
        } else {
            (&RUBBISH, &rubbish)
        };
        let text = texts[(i / 2) % 5];
        let r = hotline
            .post(
                "/api/v1/cases",
                json!({"channel": "hotline", "request_type": "complaint", "title": text,
                       "description": format!("{text}，第{i}次反映"), "anonymous": true}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        let id = r.body["id"].as_str().unwrap();
        t.app
            .db
            .execute(
                "UPDATE cases SET state = 'visited', category_code = $1 WHERE id = $2",
                linli_store::args![code.clone(), uuid::Uuid::parse_str(id).unwrap()],
            )
            .await
            .unwrap();
    }
    let r = district
        .post("/api/v1/intake/classifier/train", json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["samples"], 60);
    assert_eq!(r.body["labels"], 2);
    assert!(r.body["model"].as_str().unwrap().starts_with("models/"));

    // A new request about a street lamp: that category first, with its catalogue item.
    let r = hotline
        .post(
            "/api/v1/intake/suggest",
            json!({"title": "路灯坏了", "description": "我家楼下的路灯不亮，晚上很黑"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let first = &r.body["categories"][0];
    assert_eq!(first["code"], json!(lamp), "{}", r.text);
    assert_eq!(first["item_id"], json!(lamp_id));
    assert!(first["score"].as_f64().unwrap() > 0.5, "{}", r.text);
    assert!(r.body["problem"].is_null());
    // The hotline form's panel offers it as a button that fills the category picker.
    let console = crate::console::console_login(&t, "hotline").await;
    let csrf = crate::console::csrf_of(&console).await;
    let r = console
        .post_form(
            "/console/cases/suggest",
            &[
                ("csrf", &csrf),
                ("title", "路灯坏了"),
                ("description", "我家楼下的路灯不亮，晚上很黑"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        crate::support::attr(&r.text, ".suggest-option", "data-suggest-id").as_deref(),
        Some(lamp_id.as_str()),
        "{}",
        r.text
    );
    // Text without words, emoji, full-width digits and a very long text: answers, never errors.
    for text in [
        String::new(),
        "？？？！！！".to_string(),
        "😀😀 路灯 １２３ lamp".to_string(),
        "路灯不亮".repeat(25_000),
    ] {
        let r = hotline
            .post("/api/v1/intake/suggest", json!({"description": text}))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }

    // A fresh server (same database and blob store) loads the model from the record.
    let mut other = t.app.clone();
    other.models = Default::default();
    assert_eq!(linli_app::intake::refresh(&other).await.unwrap(), 1);
    assert_eq!(linli_app::intake::refresh(&other).await.unwrap(), 0);
}
