//! The resident portal over HTTP, on whichever engine the test database is: signing in with an
//! SMS code (through a local SMS gateway), reporting with photos and a map point, following
//! "我的诉求" while staff handle the case, rating and reopening, what another resident cannot
//! see, the code limits, bad reports, notices and nearby cases. The same journey in a real
//! browser is `a_resident_reports_and_rates_in_a_phone_browser` at the end.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::support::*;

const DEPT: &str = "110101B01";

/// A local SMS gateway: keeps every message it is sent.
struct Sms {
    url: String,
    got: Arc<Mutex<Vec<Value>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Sms {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Sms {
    async fn start() -> Sms {
        let got: Arc<Mutex<Vec<Value>>> = Arc::default();
        let g = got.clone();
        let app = axum::Router::new().route(
            "/sms",
            axum::routing::post(move |axum::Json(v): axum::Json<Value>| {
                let g = g.clone();
                async move {
                    g.lock().unwrap().push(v);
                    "ok"
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/sms", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Sms { url, got, task }
    }

    /// The code in the last message to `phone`.
    fn code_for(&self, phone: &str) -> String {
        let got = self.got.lock().unwrap();
        let text = got
            .iter()
            .rev()
            .find(|m| m["phone"] == phone)
            .and_then(|m| m["text"].as_str())
            .unwrap_or_else(|| panic!("no SMS to {phone}: {got:?}"))
            .to_string();
        text.split(|c: char| !c.is_ascii_digit())
            .find(|w| w.len() == 6)
            .unwrap_or_else(|| panic!("no code in {text}"))
            .to_string()
    }

    fn count(&self) -> usize {
        self.got.lock().unwrap().len()
    }
}

async fn portal_app(web: linli_web::WebConfig) -> (TestApp, Sms) {
    let sms = Sms::start().await;
    let mut cfg = linli_app::AppConfig::default();
    cfg.notify.sms_url = sms.url.clone();
    cfg.notify.sms_token = "test-token".into();
    (spawn_app_full(web, cfg).await, sms)
}

/// The portal form token of a client (its cookie, echoed in forms).
async fn csrf(c: &Client) -> String {
    let r = c.get_html("/report").await;
    assert_eq!(r.status, 200);
    attr(&r.text, "input[name=csrf]", "value").expect("csrf field")
}

async fn ask_code(c: &Client, phone: &str) -> Resp {
    let t = csrf(c).await;
    c.post_form(
        "/signin/code",
        &[("csrf", &t), ("phone", phone), ("next", "/my")],
    )
    .await
}

async fn sign_in_with(c: &Client, phone: &str, code: &str) -> Resp {
    let t = csrf(c).await;
    c.post_form(
        "/signin",
        &[
            ("csrf", &t),
            ("phone", phone),
            ("code", code),
            ("next", "/my"),
        ],
    )
    .await
}

async fn resident(t: &TestApp, sms: &Sms, phone: &str) -> Client {
    let c = t.client();
    let r = ask_code(&c, phone).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = sign_in_with(&c, phone, &sms.code_for(phone)).await;
    assert_eq!(r.status, 303, "{}", r.text);
    c
}

/// A PNG carrying a text chunk that names someone.
fn png_with_metadata() -> Vec<u8> {
    fn chunk(kind: &[u8], data: &[u8]) -> Vec<u8> {
        let mut v = (data.len() as u32).to_be_bytes().to_vec();
        v.extend_from_slice(kind);
        v.extend_from_slice(data);
        let mut crc = crc32(kind, data).to_be_bytes().to_vec();
        v.append(&mut crc);
        v
    }
    fn crc32(kind: &[u8], data: &[u8]) -> u32 {
        let mut c = 0xFFFF_FFFFu32;
        for b in kind.iter().chain(data) {
            c ^= u32::from(*b);
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
        }
        !c
    }
    let mut v = b"\x89PNG\r\n\x1a\n".to_vec();
    v.extend(chunk(b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0]));
    v.extend(chunk(b"tEXt", b"Author\0Wang Ayi, Duofu Lane 5"));
    // A zlib stream of one transparent pixel.
    v.extend(chunk(
        b"IDAT",
        &[
            0x78, 0x9c, 0x63, 0x60, 0x00, 0x02, 0x00, 0x00, 0x05, 0x00, 0x01,
        ],
    ));
    v.extend(chunk(b"IEND", b""));
    v
}

/// A tiny JPEG with an EXIF segment holding a GPS note.
fn jpeg_with_exif() -> Vec<u8> {
    let seg = |m: u8, p: &[u8]| {
        let mut v = vec![0xFF, m];
        v.extend_from_slice(&((p.len() + 2) as u16).to_be_bytes());
        v.extend_from_slice(p);
        v
    };
    let mut v = vec![0xFF, 0xD8];
    v.extend(seg(0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0"));
    v.extend(seg(0xE1, b"Exif\0\0GPSLatitude 39.9288 home"));
    v.extend(seg(0xDB, &[0u8; 65]));
    v.extend(seg(0xC0, &[8, 0, 1, 0, 1, 1, 1, 0x11, 0]));
    v.extend(seg(0xDA, &[1, 1, 0, 0, 0x3F, 0]));
    v.extend_from_slice(&[0x12, 0x34, 0xFF, 0xD9]);
    v
}

struct Form {
    fields: Vec<(&'static str, String)>,
    photos: Vec<(String, Vec<u8>)>,
}

fn report_form(csrf: &str, text: &str) -> Form {
    Form {
        fields: vec![
            ("csrf", csrf.to_string()),
            ("text", text.to_string()),
            ("request_type", "help".into()),
            ("lat", "39.9165".into()),
            ("lng", "116.4075".into()),
            ("datum", "wgs84".into()),
            ("address", "多福巷小区5号楼3单元".into()),
            ("name", "王阿姨".into()),
        ],
        photos: vec![],
    }
}

async fn post_report(c: &Client, f: Form) -> Resp {
    // multipart/form-data, written out by hand.
    let boundary = "linli-test-boundary-7f3a";
    let mut body: Vec<u8> = Vec::new();
    for (k, v) in f.fields {
        body.extend(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    for (name, bytes) in f.photos {
        body.extend(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"photos\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend(bytes);
        body.extend(b"\r\n");
    }
    body.extend(format!("--{boundary}--\r\n").as_bytes());
    let r = c
        .http
        .post(format!("{}/report", c.base))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    html(r).await
}

fn number_in(html: &str) -> String {
    text_of(html, "#case-number").expect("case number on the page")
}

async fn staff_step(c: &Client, id: &str, action: &str, mut body: Value) {
    let cur = c.get(&format!("/api/v1/cases/{id}")).await;
    assert_eq!(cur.status, 200, "{}", cur.text);
    body["version"] = cur.body["case"]["version"].clone();
    let r = c.post(&format!("/api/v1/cases/{id}/{action}"), body).await;
    assert_eq!(r.status, 200, "{action}: {}", r.text);
}

/// Staff take a portal case from intake to 待回访 (closed, waiting for the rating).
async fn handle_to_closed(t: &TestApp, number: &str, reply: &str) -> String {
    let district = t.login("dongcheng").await;
    let dept = t.login("chengguan").await;
    let id = linli_store::repo::cases::by_number(&t.app.db, number)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no case {number}"))
        .id
        .to_string();
    staff_step(&district, &id, "register", json!({})).await;
    let unit = t.unit_id(DEPT).await;
    staff_step(&district, &id, "dispatch", json!({"unit_id": unit})).await;
    staff_step(&dept, &id, "sign", json!({})).await;
    staff_step(&dept, &id, "contact", json!({"note": "已电话联系王阿姨"})).await;
    staff_step(&dept, &id, "reply", json!({"note": reply})).await;
    staff_step(
        &district,
        &id,
        "verify",
        json!({"passed": true, "note": "现场核实：张科长确认已修好"}),
    )
    .await;
    id
}

async fn state_of(t: &TestApp, number: &str) -> String {
    linli_store::repo::cases::by_number(&t.app.db, number)
        .await
        .unwrap()
        .unwrap()
        .life
        .state
        .key()
        .to_string()
}

#[tokio::test]
async fn a_resident_signs_in_reports_follows_rates_and_reopens() {
    let (t, sms) = portal_app(linli_web::WebConfig::default()).await;
    let wang = t.client();

    // Sign in: a wrong code is refused, the right one opens a session.
    let r = ask_code(&wang, "138 0013 8000").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.text.contains("验证码已发送"));
    let code = sms.code_for("13800138000");
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let r = sign_in_with(&wang, "13800138000", wrong).await;
    assert_eq!(r.status, 422);
    assert!(r.text.contains("验证码不正确"), "{}", r.text);
    let r = sign_in_with(&wang, "13800138000", &code).await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(r.headers["location"], "/my");
    let home = wang.get_html("/").await;
    assert!(
        home.text.contains("138****8000"),
        "signed in shows the masked phone"
    );

    // Report with two photos (their metadata goes) and a point.
    let mut f = report_form(
        &csrf(&wang).await,
        "小区5号楼门口的井盖坏了，晚上很危险，请尽快修理。",
    );
    f.photos = vec![
        ("井盖.png".into(), png_with_metadata()),
        ("IMG_0001.jpg".into(), jpeg_with_exif()),
    ];
    let r = post_report(&wang, f).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let number = number_in(&r.text);
    assert!(number.starts_with("110101-"), "{number}");
    let case = linli_store::repo::cases::by_number(&t.app.db, &number)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(case.channel.key(), "portal");
    assert_eq!(case.phone_masked, "138****8000");
    assert_eq!(
        case.phone_hash.as_deref(),
        Some(t.app.keys.index("13800138000").as_str())
    );
    assert_eq!(case.lat_e6, Some(39_916_500));
    let photos = linli_app::attachments::list_for_case(&t.app, &case.tenant, case.id)
        .await
        .unwrap();
    assert_eq!(photos.len(), 2);
    for p in &photos {
        assert_eq!(p.event_seq, Some(1), "linked to the intake step");
        let stored = linli_app::attachments::read(&t.app, p).await.unwrap();
        let s = String::from_utf8_lossy(&stored);
        assert!(
            !s.contains("Wang Ayi") && !s.contains("GPSLatitude"),
            "metadata kept: {s}"
        );
    }
    // The same report again (a double tap) is the same case.
    let mut again = report_form(
        &csrf(&wang).await,
        "小区5号楼门口的井盖坏了，晚上很危险，请尽快修理。",
    );
    again.photos = vec![("井盖.png".into(), png_with_metadata())];
    let r = post_report(&wang, again).await;
    assert_eq!(number_in(&r.text), number);
    assert!(r.text.contains("已经提交过了"));

    // 我的诉求.
    let list = wang.get_html("/my").await;
    assert!(list.text.contains(&number) && list.text.contains("井盖坏了"));
    let page = wang.get_html(&format!("/my/{number}")).await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("诉求已提交"));
    assert!(!page.text.contains("id=\"rate\""), "nothing to rate yet");
    let photo = attr(&page.text, ".thumbs img", "src").unwrap();
    let r = wang.get_html(&photo).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.headers["content-type"], "image/png");

    // Staff handle it; the resident sees plain progress and the reply, never staff names.
    let id = handle_to_closed(&t, &number, "井盖已于今日更换，感谢您的反映。").await;
    let page = wang.get_html(&format!("/my/{number}")).await;
    for shown in [
        "已转交城市管理委员会办理",
        "办理单位已接单",
        "井盖已于今日更换",
        "办理结果已核实",
        "已办结，待评价",
    ] {
        assert!(page.text.contains(shown), "missing {shown}");
    }
    for hidden in [
        "区城管委办理人员",
        "东城区指挥中心",
        "已电话联系王阿姨",
        "张科长",
        "dongcheng",
        "chengguan",
    ] {
        assert!(!page.text.contains(hidden), "leaked {hidden}");
    }
    let version: i64 = attr(&page.text, "#rate input[name=version]", "value")
        .unwrap()
        .parse()
        .unwrap();

    // A stale rating is refused; a fresh one is recorded as the return visit.
    let tok = csrf(&wang).await;
    let stale = (version - 1).to_string();
    let r = wang
        .post_form(
            &format!("/my/{number}/rate"),
            &[
                ("csrf", &tok),
                ("version", &stale),
                ("resolved", "no"),
                ("satisfaction", "dissatisfied"),
            ],
        )
        .await;
    assert_eq!(r.status, 303);
    assert!(r.headers["location"].to_str().unwrap().contains("err="));
    assert_eq!(state_of(&t, &number).await, "closed");
    let v = version.to_string();
    let r = wang
        .post_form(
            &format!("/my/{number}/rate"),
            &[
                ("csrf", &tok),
                ("version", &v),
                ("resolved", "no"),
                ("satisfaction", "dissatisfied"),
                ("comment", "井盖换了但还是松的"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert!(r.headers["location"].to_str().unwrap().contains("ok="));
    assert_eq!(state_of(&t, &number).await, "visited");
    let district = t.login("dongcheng").await;
    let staff_view = district.get(&format!("/api/v1/cases/{id}")).await;
    assert_eq!(
        staff_view.body["case"]["satisfaction"], "dissatisfied",
        "{}",
        staff_view.text
    );

    // Unresolved and dissatisfied: the resident may ask for it to be redone.
    let page = wang.get_html(&format!("/my/{number}")).await;
    assert!(page.text.contains("回访评价：未解决，不满意"));
    let v = attr(&page.text, "#reopen input[name=version]", "value").expect("reopen form");
    let r = wang
        .post_form(
            &format!("/my/{number}/reopen"),
            &[("csrf", &tok), ("version", &v), ("reason", "")],
        )
        .await;
    assert!(r.headers["location"].to_str().unwrap().contains("err="));
    let r = wang
        .post_form(
            &format!("/my/{number}/reopen"),
            &[
                ("csrf", &tok),
                ("version", &v),
                ("reason", "井盖还是松动，踩上去会翻"),
            ],
        )
        .await;
    assert!(
        r.headers["location"].to_str().unwrap().contains("ok="),
        "{:?}",
        r.headers
    );
    assert_ne!(state_of(&t, &number).await, "visited");
    assert!(
        wang.get_html(&format!("/my/{number}"))
            .await
            .text
            .contains("已重新办理")
    );

    // Another resident sees none of it.
    let li = resident(&t, &sms, "13900139000").await;
    assert!(!li.get_html("/my").await.text.contains(&number));
    assert_eq!(li.get_html(&format!("/my/{number}")).await.status, 404);
    assert_eq!(li.get_html(&photo).await.status, 404);
    let tok_li = csrf(&li).await;
    let r = li
        .post_form(
            &format!("/my/{number}/reopen"),
            &[("csrf", &tok_li), ("version", "1"), ("reason", "我也要")],
        )
        .await;
    assert_eq!(r.status, 404);

    // Without a session, "我的诉求" asks to sign in; the public page shows no personal data.
    let anon = t.client();
    let r = anon.get_html("/my").await;
    assert_eq!(r.status, 303);
    assert!(
        r.headers["location"]
            .to_str()
            .unwrap()
            .starts_with("/signin")
    );
    let public = anon.get_html(&format!("/c/{number}")).await;
    assert_eq!(public.status, 200);
    assert!(public.text.contains("井盖坏了"));
    for hidden in ["王阿姨", "138", "8000"] {
        assert!(!public.text.contains(hidden), "public page shows {hidden}");
    }

    // Signing out ends the session.
    let tok = csrf(&wang).await;
    let r = wang.post_form("/signout", &[("csrf", &tok)]).await;
    assert_eq!(r.status, 303);
    assert_eq!(wang.get_html("/my").await.status, 303);
}

#[tokio::test]
async fn an_anonymous_report_keeps_no_name_or_phone_and_forms_need_their_token() {
    let (t, _sms) = portal_app(linli_web::WebConfig::default()).await;
    let c = t.client();
    let tok = csrf(&c).await;
    let mut f = report_form(&tok, "路灯不亮已经一周了，晚上路过很黑。");
    f.fields.push(("anonymous", "1".into()));
    f.fields.push(("phone", "13700137000".into()));
    let r = post_report(&c, f).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let number = number_in(&r.text);
    let case = linli_store::repo::cases::by_number(&t.app.db, &number)
        .await
        .unwrap()
        .unwrap();
    assert!(case.life.anonymous);
    assert!(case.requester_phone.is_none() && case.phone_hash.is_none());
    assert_eq!(case.requester_name, "");

    // Not signed in but with a phone: kept (sealed) for the handler to call back.
    let mut f = report_form(&tok, "楼道里堆满杂物，影响消防通道。");
    f.fields.push(("phone", "13700137000".into()));
    let number = number_in(&post_report(&c, f).await.text);
    let case = linli_store::repo::cases::by_number(&t.app.db, &number)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(case.phone_masked, "137****7000");
    assert_ne!(case.requester_phone.as_deref(), Some(&b"13700137000"[..]));

    // A form without the browser's token writes nothing.
    let before = t
        .app
        .db
        .fetch_one_i64("SELECT COUNT(*) FROM cases", vec![])
        .await
        .unwrap();
    let f = report_form("forged", "伪造的提交");
    assert_eq!(post_report(&c, f).await.status, 403);
    let other = t.client();
    let f = report_form(&tok, "别人页面上的令牌");
    assert_eq!(post_report(&other, f).await.status, 403);
    let r = other
        .post_form("/signin/code", &[("csrf", &tok), ("phone", "13700137000")])
        .await;
    assert_eq!(r.status, 403);
    let after = t
        .app
        .db
        .fetch_one_i64("SELECT COUNT(*) FROM cases", vec![])
        .await
        .unwrap();
    assert_eq!(before, after);
}

#[tokio::test]
async fn sign_in_codes_expire_are_single_use_and_rate_limited() {
    let (t, sms) = portal_app(linli_web::WebConfig::default()).await;
    let c = t.client();
    // Not a mobile number.
    let r = ask_code(&c, "010-6512345").await;
    assert_eq!(r.status, 422);
    assert!(r.text.contains("11 位手机号码"));
    assert_eq!(sms.count(), 0);

    // One code a minute per phone.
    assert_eq!(ask_code(&c, "13811110000").await.status, 200);
    let r = ask_code(&c, "13811110000").await;
    assert_eq!(r.status, 200, "the code form stays open: {}", r.text);
    assert!(r.text.contains("秒后再试"), "{}", r.text);
    assert_eq!(sms.count(), 1);

    // Expired after five minutes.
    let first = sms.code_for("13811110000");
    t.clock.advance_secs(301);
    let r = sign_in_with(&c, "13811110000", &first).await;
    assert_eq!(r.status, 422);
    assert!(r.text.contains("已失效"), "{}", r.text);

    // Five wrong guesses kill the live code.
    assert_eq!(ask_code(&c, "13811110000").await.status, 200);
    let good = sms.code_for("13811110000");
    let bad = if good == "123456" { "654321" } else { "123456" };
    for _ in 0..5 {
        assert_eq!(sign_in_with(&c, "13811110000", bad).await.status, 422);
    }
    let r = sign_in_with(&c, "13811110000", &good).await;
    assert_eq!(r.status, 422, "a guessed-at code is dead");

    // A code works once.
    t.clock.advance_secs(61);
    assert_eq!(ask_code(&c, "13811110000").await.status, 200);
    let code = sms.code_for("13811110000");
    assert_eq!(sign_in_with(&c, "13811110000", &code).await.status, 303);
    let other = t.client();
    assert_eq!(
        sign_in_with(&other, "13811110000", &code).await.status,
        422,
        "used"
    );

    // At most five codes an hour per phone.
    for _ in 0..2 {
        t.clock.advance_secs(61);
        assert_eq!(ask_code(&c, "13811110000").await.status, 200);
    }
    t.clock.advance_secs(61);
    let r = ask_code(&c, "13811110000").await;
    assert_eq!(r.status, 429, "{}", r.text);
    assert!(r.text.contains("次数过多"));

    // And thirty an hour from one address, whatever the phones.
    let sent = sms.count();
    let mut refused = 0;
    for i in 0..40 {
        let r = ask_code(&c, &format!("1390000{i:04}")).await;
        if r.status == 429 {
            refused += 1;
        }
    }
    assert!(refused > 0, "flooding from one address is stopped");
    assert!(sms.count() - sent <= linli_app::portal::CODES_PER_IP_HOUR as usize);
}

#[tokio::test]
async fn bad_reports_are_refused_before_anything_is_written() {
    let web = linli_web::WebConfig {
        open311: linli_app::open311::Settings::new(
            Some("110101".into()),
            linli_app::open311::parse_boundaries(
                br#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"code":"110101"},
                "geometry":{"type":"Polygon","coordinates":[[[116.38,39.86],[116.45,39.86],[116.45,39.97],[116.38,39.97],[116.38,39.86]]]}}]}"#,
            )
            .unwrap(),
            vec![linli_domain::case::Channel::Portal],
        ),
        ..Default::default()
    };
    let (t, _sms) = portal_app(web).await;
    let c = t.client();
    let tok = csrf(&c).await;
    let count = || async {
        t.app
            .db
            .fetch_one_i64("SELECT COUNT(*) FROM cases", vec![])
            .await
            .unwrap()
    };
    let before = count().await;
    let cases: Vec<(&str, Form)> = vec![
        ("请说一说", report_form(&tok, "   ")),
        ("不能超过", report_form(&tok, &"很".repeat(4001))),
        ("不在中国境内", {
            let mut f = report_form(&tok, "位置填反了");
            f.fields.retain(|(k, _)| *k != "lat" && *k != "lng");
            f.fields.push(("lat", "116.4075".into()));
            f.fields.push(("lng", "39.9165".into()));
            f
        }),
        ("不在东城区辖区内", {
            let mut f = report_form(&tok, "朝阳区的事");
            f.fields.retain(|(k, _)| *k != "lat" && *k != "lng");
            f.fields.push(("lat", "39.9219".into()));
            f.fields.push(("lng", "116.4863".into()));
            f
        }),
        ("请在地图上选择位置", {
            let mut f = report_form(&tok, "没有位置");
            f.fields
                .retain(|(k, _)| !matches!(*k, "lat" | "lng" | "address"));
            f
        }),
        ("第 2 张照片", {
            let mut f = report_form(&tok, "第二张不是照片");
            f.photos = vec![
                ("a.png".into(), png_with_metadata()),
                (
                    "b.jpg".into(),
                    b"<html><script>alert(1)</script></html>".to_vec(),
                ),
            ];
            f
        }),
        ("已损坏", {
            let mut f = report_form(&tok, "照片不完整");
            let mut cut = jpeg_with_exif();
            cut.truncate(12);
            f.photos = vec![("cut.jpg".into(), cut)];
            f
        }),
        ("最多上传 9 张", {
            let mut f = report_form(&tok, "照片太多");
            f.photos = (0..10)
                .map(|i| (format!("{i}.png"), png_with_metadata()))
                .collect();
            f
        }),
        ("坐标系", {
            let mut f = report_form(&tok, "未知坐标系");
            f.fields.retain(|(k, _)| *k != "datum");
            f.fields.push(("datum", "mars".into()));
            f
        }),
    ];
    for (said, f) in cases {
        let r = post_report(&c, f).await;
        assert!(
            (400..500).contains(&r.status),
            "{said}: {} {}",
            r.status,
            r.text
        );
        assert!(r.text.contains(said), "{said}: {}", r.text);
    }
    assert_eq!(count().await, before, "nothing written");

    // A GCJ-02 point (from a phone map SDK) is stored as WGS84.
    let mut f = report_form(&tok, "高德地图选的点");
    let (glat, glng) = linli_domain::geo::wgs84_to_gcj02(39.9165, 116.4075);
    f.fields
        .retain(|(k, _)| !matches!(*k, "lat" | "lng" | "datum"));
    f.fields.push(("lat", format!("{glat:.7}")));
    f.fields.push(("lng", format!("{glng:.7}")));
    f.fields.push(("datum", "gcj02".into()));
    let number = number_in(&post_report(&c, f).await.text);
    let case = linli_store::repo::cases::by_number(&t.app.db, &number)
        .await
        .unwrap()
        .unwrap();
    assert!(
        (case.lat_e6.unwrap() - 39_916_500).abs() <= 2,
        "{:?}",
        case.lat_e6
    );
    assert!(
        (case.lng_e6.unwrap() - 116_407_500).abs() <= 2,
        "{:?}",
        case.lng_e6
    );
}

#[tokio::test]
async fn notices_are_published_by_staff_and_nearby_cases_are_public() {
    let (t, _sms) = portal_app(linli_web::WebConfig::default()).await;
    let community = t.login("duofuxiang").await;
    let unit = t.unit_id("110101001001").await;
    let page = community.get_html("/console/notices").await;
    assert_eq!(page.status, 200);
    let tok = attr(&page.text, "#notice-form input[name=csrf]", "value").unwrap();
    // Published after the demo notices (the test clock stands still otherwise).
    t.clock.advance_secs(60);
    let r = community
        .post_form(
            "/console/notices",
            &[
                ("csrf", &tok),
                ("unit_id", &unit),
                ("title", "停水通知"),
                ("body", "因管道维修，本周四 9:00—17:00 停水。\n请提前储水。"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    // Another community's staff cannot publish for this one.
    let other = t.login("yinsi").await;
    let page = other.get_html("/console/notices").await;
    let tok2 = attr(&page.text, "#notice-form input[name=csrf]", "value").unwrap();
    let r = other
        .post_form(
            "/console/notices",
            &[
                ("csrf", &tok2),
                ("unit_id", &unit),
                ("title", "冒名公告"),
                ("body", "x"),
            ],
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.text);
    // A grid worker has no notices page.
    let grid = t.login("grid01").await;
    assert_eq!(grid.get_html("/console/notices").await.status, 403);

    // Residents see it (with the street's notices) under their community; not under another.
    let anon = t.client();
    let list = anon.get_html("/notices?community=110101001001").await;
    assert!(list.text.contains("停水通知"), "{}", list.text);
    assert!(
        list.text.contains("东华门街道冬季供暖服务热线公告"),
        "street notice"
    );
    assert!(
        !anon
            .get_html("/notices?community=110101001002")
            .await
            .text
            .contains("停水通知")
    );
    let href = attr(&list.text, ".list a", "href").unwrap();
    let one = anon.get_html(&href).await;
    assert!(one.text.contains("请提前储水"));
    // Withdrawn: gone.
    let page = community.get_html("/console/notices").await;
    let action = attr(&page.text, "#notices form", "action").unwrap();
    let r = community.post_form(&action, &[("csrf", &tok)]).await;
    assert_eq!(r.status, 303);
    assert!(
        !anon
            .get_html("/notices?community=110101001001")
            .await
            .text
            .contains("停水通知")
    );
    assert_eq!(anon.get_html(&href).await.status, 404);

    // Nearby: a public case 300 m away is listed, one 3 km away is not; no personal data.
    let tok = csrf(&anon).await;
    let mut near = report_form(&tok, "人行道地砖松动，老人容易绊倒。");
    near.fields.push(("phone", "13600136000".into()));
    let near_no = number_in(&post_report(&anon, near).await.text);
    let mut far = report_form(&tok, "远处的垃圾桶满了。");
    far.fields.retain(|(k, _)| *k != "lat");
    far.fields.push(("lat", "39.9435".into()));
    let far_no = number_in(&post_report(&anon, far).await.text);
    let r = anon.get_html("/nearby?lat=39.9192&lng=116.4075").await;
    assert_eq!(r.status, 200);
    assert!(r.text.contains(&near_no), "{}", r.text);
    assert!(!r.text.contains(&far_no));
    assert!(!r.text.contains("王阿姨") && !r.text.contains("136****6000"));
    assert!(r.text.contains("约 300 米"), "{}", r.text);
}

// ---------------------------------------------------------------------------------------------
// In a real browser.

/// Node with `playwright-core` (`LINLI_PLAYWRIGHT_DIR`, set by scripts/test.sh) and Chromium.
fn browser() -> Option<(String, String)> {
    let dir = std::env::var("LINLI_PLAYWRIGHT_DIR").ok().filter(|d| {
        std::path::Path::new(d)
            .join("node_modules/playwright-core")
            .is_dir()
    });
    let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .find(|p| std::path::Path::new(p).exists())
        .map(|p| p.to_string());
    match (dir, chromium) {
        (Some(d), Some(c)) => Some((d, c)),
        _ if std::env::var("LINLI_REQUIRE_BROWSER").as_deref() == Ok("1") => panic!(
            "LINLI_REQUIRE_BROWSER=1 but Chromium or playwright-core is missing \
             (run scripts/test.sh, which installs them)"
        ),
        _ => {
            eprintln!(
                "NOTE: skipping the browser test: Chromium or playwright-core is missing \
                 (scripts/test.sh installs them)"
            );
            None
        }
    }
}

fn run_browser(dir: &str, chromium: &str, phase: &str, args: &[&str]) -> String {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser/portal.mjs");
    let shots = concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/screenshots");
    std::fs::create_dir_all(shots).unwrap();
    let out = std::process::Command::new("node")
        .arg(script)
        .arg(phase)
        .args(args)
        .env("LINLI_PLAYWRIGHT_DIR", dir)
        .env("LINLI_CHROMIUM", chromium)
        .env("LINLI_SCREENSHOTS", shots)
        .output()
        .expect("node runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "browser {phase} failed:\n{text}");
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resident_reports_and_rates_in_a_phone_browser() {
    let Some((dir, chromium)) = browser() else {
        return;
    };
    let (t, sms) = portal_app(linli_web::WebConfig::default()).await;
    let state = linli_testkit::TempDir::new("browser");
    let state_file = state.path().join("state.json");
    let state_file = state_file.to_str().unwrap().to_string();
    let sms_file = state.path().join("code.txt");
    let sms_file_s = sms_file.to_str().unwrap().to_string();
    // The browser asks for a code, then waits for this file to hold it.
    let base = t.base.clone();
    let (d, c, sf, cf) = (
        dir.clone(),
        chromium.clone(),
        state_file.clone(),
        sms_file_s.clone(),
    );
    let first =
        tokio::task::spawn_blocking(move || run_browser(&d, &c, "report", &[&base, &sf, &cf]));
    let mut waited = 0;
    while sms.count() == 0 && !first.is_finished() && waited < 600 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        waited += 1;
    }
    if sms.count() > 0 {
        std::fs::write(&sms_file, sms.code_for("13800138000")).unwrap();
    }
    let out = first.await.unwrap();
    let number = out
        .lines()
        .find_map(|l| l.strip_prefix("NUMBER "))
        .unwrap_or_else(|| panic!("no case number:\n{out}"))
        .trim()
        .to_string();
    let case = linli_store::repo::cases::by_number(&t.app.db, &number)
        .await
        .unwrap()
        .unwrap();
    assert!(case.lat_e6.is_some(), "the map point arrived");
    assert_eq!(
        linli_app::attachments::list_for_case(&t.app, &case.tenant, case.id)
            .await
            .unwrap()
            .len(),
        1,
        "the photo arrived"
    );
    handle_to_closed(&t, &number, "井盖已更换，谢谢您的反映。").await;
    let base = t.base.clone();
    let out = tokio::task::spawn_blocking(move || {
        run_browser(&dir, &chromium, "rate", &[&base, &state_file, &number])
    })
    .await
    .unwrap();
    assert!(out.contains("RATED"), "{out}");
    assert_eq!(state_of(&t, &case.number).await, "visited");
}
