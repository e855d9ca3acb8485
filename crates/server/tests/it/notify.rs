//! Notifications end to end: case steps write outbox rows in their own transaction; the worker
//! delivers them to a local webhook receiver, signed, with stable event ids; failures are
//! retried with back-off and end as dead letters that an administrator can send again; a
//! worker that dies mid-delivery leaves the row to another, and the receiver can tell the
//! repeat by its ids. SMS deliveries go to the requester only, never for anonymous cases.

use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};

use axum::http::HeaderMap;
use linli_app::Ctx;
use linli_app::bootstrap::system_principal;
use linli_domain::notify::DeliveryState;
use serde_json::{Value, json};

use crate::support::*;

/// What the receiver got: headers of interest and the body.
#[derive(Debug, Clone)]
struct Got {
    event: String,
    delivery: String,
    topic: String,
    timestamp: String,
    signature: String,
    body: String,
}

struct Receiver {
    url: String,
    got: Arc<std::sync::Mutex<Vec<Got>>>,
    status: Arc<AtomicU16>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn receiver() -> Receiver {
    let got: Arc<std::sync::Mutex<Vec<Got>>> = Arc::default();
    let status = Arc::new(AtomicU16::new(200));
    let (g, s) = (got.clone(), status.clone());
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |h: HeaderMap, body: String| {
            let (g, s) = (g.clone(), s.clone());
            async move {
                let hv = |k: &str| {
                    h.get(k)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_string()
                };
                g.lock().unwrap().push(Got {
                    event: hv("x-linli-event"),
                    delivery: hv("x-linli-delivery"),
                    topic: hv("x-linli-topic"),
                    timestamp: hv("x-linli-timestamp"),
                    signature: hv("x-linli-signature"),
                    body,
                });
                axum::http::StatusCode::from_u16(s.load(Ordering::SeqCst)).unwrap()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Receiver {
        url,
        got,
        status,
        task,
    }
}

async fn file(hotline: &Client, anonymous: bool) -> String {
    let mut body = json!({
        "channel": "hotline", "request_type": "complaint",
        "title": "路灯不亮", "description": "胡同口路灯坏了一周。", "address": "东城区多福巷",
    });
    if anonymous {
        body["anonymous"] = json!(true);
    } else {
        body["requester_name"] = json!("张三丰");
        body["requester_phone"] = json!("13812345678");
    }
    let r = hotline.post("/api/v1/cases", body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.body["id"].as_str().unwrap().to_string()
}

async fn register(district: &Client, id: &str) {
    let cur = district.get(&format!("/api/v1/cases/{id}")).await;
    let v = cur.body["case"]["version"].clone();
    let r = district
        .post(
            &format!("/api/v1/cases/{id}/register"),
            json!({"version": v}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

async fn outbox(t: &TestApp, sink: &str) -> Vec<(String, String, i64)> {
    t.app
        .db
        .fetch_all(
            "SELECT topic, state, attempts FROM outbox WHERE sink = $1 ORDER BY id",
            linli_store::args![sink],
            |r| Ok((r.text("topic")?, r.text("state")?, r.i64("attempts")?)),
        )
        .await
        .unwrap()
}

#[tokio::test]
async fn webhooks_get_signed_events_retries_and_dead_letters() {
    let t = spawn_app().await;
    let rx = receiver().await;
    let sys = system_principal(&t.app, Ctx::cli()).await.unwrap();
    let district = uuid::Uuid::parse_str(&t.unit_id("110101").await).unwrap();
    // Bad subscriptions are refused before anything is written.
    for (url, topics, key) in [
        ("ftp://x/hook", "*", "invalid_url"),
        ("http://", "*", "invalid_url"),
        (rx.url.as_str(), "case.flying", "invalid_topic"),
    ] {
        let e = linli_app::notify::create_webhook(&t.app, &sys, district, "对接", url, topics)
            .await
            .unwrap_err();
        assert_eq!(e.key(), key);
    }
    let (hook, secret) = linli_app::notify::create_webhook(
        &t.app,
        &sys,
        district,
        "区网格化中心",
        &rx.url,
        "case.received,case.registered",
    )
    .await
    .unwrap();
    assert!(secret.starts_with("whsec_"));
    assert!(!String::from_utf8_lossy(&hook.secret).contains(&secret));

    let hotline = t.login("hotline").await;
    let dongcheng = t.login("dongcheng").await;
    let id = file(&hotline, false).await;
    register(&dongcheng, &id).await;
    // Written with the steps, before anything is sent: received and registered to the hook,
    // registered to the requester by SMS (received is not a requester's text).
    let hooks = outbox(&t, "webhook").await;
    assert_eq!(
        hooks
            .iter()
            .map(|(t, s, _)| (t.as_str(), s.as_str()))
            .collect::<Vec<_>>(),
        vec![("case.received", "pending"), ("case.registered", "pending")]
    );
    assert_eq!(
        outbox(&t, "sms").await,
        vec![("case.registered".into(), "pending".into(), 0)]
    );

    // The receiver answers 500: each try counts, and the next waits for the back-off.
    rx.status.store(500, Ordering::SeqCst);
    assert_eq!(
        linli_app::notify::deliver_once(&t.app, "a").await.unwrap(),
        3
    );
    assert_eq!(rx.got.lock().unwrap().len(), 2);
    assert_eq!(
        linli_app::notify::deliver_once(&t.app, "a").await.unwrap(),
        0,
        "nothing is due before the back-off ends"
    );
    t.clock.advance_secs(31);
    rx.status.store(200, Ordering::SeqCst);
    assert_eq!(
        linli_app::notify::deliver_once(&t.app, "b").await.unwrap(),
        2
    );
    let got = rx.got.lock().unwrap().clone();
    assert_eq!(got.len(), 4);
    // A retry carries the same event and delivery ids (the two go out side by side, so in
    // either order); every request is signed.
    let ids = |g: &[Got]| {
        let mut v: Vec<(String, String)> = g
            .iter()
            .map(|g| (g.delivery.clone(), g.event.clone()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(ids(&got[..2]), ids(&got[2..]));
    for g in &got {
        assert_eq!(
            g.signature,
            linli_app::notify::signature(&secret, &g.timestamp, &g.body)
        );
        assert!(g.signature.starts_with("sha256="));
        let body: Value = serde_json::from_str(&g.body).unwrap();
        assert_eq!(body["event_id"].as_str(), Some(g.event.as_str()));
        assert_eq!(body["topic"].as_str(), Some(g.topic.as_str()));
        assert_eq!(body["case"]["id"].as_str(), Some(id.as_str()));
        // Never the requester.
        assert!(
            !g.body.contains("1381234") && !g.body.contains("张三丰"),
            "{}",
            g.body
        );
    }
    let topics: Vec<&str> = got[2..].iter().map(|g| g.topic.as_str()).collect();
    assert!(topics.contains(&"case.received") && topics.contains(&"case.registered"));
    assert!(
        outbox(&t, "webhook")
            .await
            .iter()
            .all(|(_, s, n)| s == "delivered" && *n == 2)
    );
    // The log sender took the text message.
    assert_eq!(
        outbox(&t, "sms").await,
        vec![("case.registered".into(), "delivered".into(), 1)]
    );

    // An anonymous case: the hook hears of it, nobody gets a text.
    let anon = file(&hotline, true).await;
    register(&dongcheng, &anon).await;
    assert_eq!(outbox(&t, "sms").await.len(), 1);

    // A receiver that keeps failing: after max_attempts (8) the delivery is a dead letter.
    rx.status.store(503, Ordering::SeqCst);
    for _ in 0..8 {
        linli_app::notify::deliver_once(&t.app, "a").await.unwrap();
        t.clock.advance_secs(6 * 3600 + 1);
    }
    let dead = linli_app::notify::deliveries(&t.app, &sys, DeliveryState::Dead, None, 50)
        .await
        .unwrap();
    assert_eq!(dead.len(), 2, "{dead:?}");
    assert!(
        dead.iter()
            .all(|d| d.attempts == 8 && d.last_error.contains("503"))
    );
    assert_eq!(
        linli_app::notify::deliver_once(&t.app, "a").await.unwrap(),
        0
    );
    // Sent again by hand, it goes through once the receiver is back.
    rx.status.store(200, Ordering::SeqCst);
    for d in &dead {
        linli_app::notify::retry(&t.app, &sys, &d.tenant, d.id)
            .await
            .unwrap();
    }
    let e = linli_app::notify::retry(&t.app, &sys, &dead[0].tenant, dead[0].id)
        .await
        .unwrap_err();
    assert_eq!(e.key(), "conflict");
    assert_eq!(
        linli_app::notify::deliver_once(&t.app, "a").await.unwrap(),
        2
    );
    assert!(
        linli_app::notify::deliveries(&t.app, &sys, DeliveryState::Dead, None, 50)
            .await
            .unwrap()
            .is_empty()
    );

    // A stopped subscription gets nothing new.
    linli_app::notify::delete_webhook(&t.app, &sys, hook.id)
        .await
        .unwrap();
    let before = outbox(&t, "webhook").await.len();
    // (The clock moved two days on: a fresh session.)
    let hotline = t.login("hotline").await;
    file(&hotline, true).await;
    assert_eq!(outbox(&t, "webhook").await.len(), before);
}

#[tokio::test]
async fn a_worker_that_dies_mid_delivery_leaves_it_to_another() {
    let t = spawn_app().await;
    let rx = receiver().await;
    let sys = system_principal(&t.app, Ctx::cli()).await.unwrap();
    let district = uuid::Uuid::parse_str(&t.unit_id("110101").await).unwrap();
    linli_app::notify::create_webhook(&t.app, &sys, district, "对接", &rx.url, "*")
        .await
        .unwrap();
    let hotline = t.login("hotline").await;
    file(&hotline, true).await;
    // Worker A claims and sends, then dies before it can record the answer.
    let claimed = linli_app::notify::claim(&t.app, "a").await.unwrap();
    assert_eq!(claimed.len(), 1);
    linli_app::notify::send(&t.app, &claimed[0]).await.unwrap();
    // While A's lease runs, nobody else takes it.
    assert!(
        linli_app::notify::claim(&t.app, "b")
            .await
            .unwrap()
            .is_empty()
    );
    // After the lease (60 s), B delivers it again.
    t.clock.advance_secs(61);
    assert_eq!(
        linli_app::notify::deliver_once(&t.app, "b").await.unwrap(),
        1
    );
    let got = rx.got.lock().unwrap().clone();
    assert_eq!(got.len(), 2);
    assert_eq!(
        got[0].event, got[1].event,
        "the receiver can tell the repeat"
    );
    assert_eq!(got[0].delivery, got[1].delivery);
    // A's late answer changes nothing: the row is B's, and delivered.
    linli_app::notify::settle(&t.app, &claimed[0], Err("late".into()))
        .await
        .unwrap();
    assert_eq!(
        outbox(&t, "webhook").await,
        vec![("case.received".into(), "delivered".into(), 2)]
    );
}

#[tokio::test]
async fn only_notification_administrators_reach_the_api() {
    let t = spawn_app().await;
    let rx = receiver().await;
    let admin = t.login("admin").await;
    let district = t.unit_id("110101").await;
    let street = t.unit_id("110101001").await;
    // Subscriptions are per district, with a checked URL and topics.
    let r = admin
        .post(
            "/api/v1/webhooks",
            json!({"name": "对接", "district_id": street, "url": rx.url}),
        )
        .await;
    assert_eq!((r.status, r.key()), (422, "not_a_district"), "{}", r.text);
    let r = admin
        .post(
            "/api/v1/webhooks",
            json!({"name": "对接", "district_id": district, "url": "javascript:alert(1)"}),
        )
        .await;
    assert_eq!((r.status, r.key()), (422, "invalid_url"));
    let r = admin
        .post(
            "/api/v1/webhooks",
            json!({"name": "区网格化中心", "district_id": district, "url": rx.url,
                "topics": "case.received, case.closed"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let secret = r.body["secret"].as_str().unwrap().to_string();
    let hook = r.body["info"]["id"].as_str().unwrap().to_string();
    assert_eq!(r.body["info"]["topics"], "case.received,case.closed");
    let l = admin.get("/api/v1/webhooks").await;
    assert_eq!(l.body.as_array().unwrap().len(), 1);
    // The secret is never shown again.
    assert!(!l.text.contains(&secret));

    // Nobody else sees, adds or stops subscriptions, or reads deliveries.
    for user in ["grid01", "hotline", "dongcheng", "auditor", "secadmin"] {
        let c = t.login(user).await;
        assert_eq!(c.get("/api/v1/webhooks").await.status, 403, "{user}");
        assert_eq!(c.get("/api/v1/deliveries").await.status, 403, "{user}");
        let r = c
            .post(
                "/api/v1/webhooks",
                json!({"name": "x", "district_id": district, "url": rx.url}),
            )
            .await;
        assert_eq!(r.status, 403, "{user}");
        assert_eq!(
            c.delete(&format!("/api/v1/webhooks/{hook}")).await.status,
            403,
            "{user}"
        );
    }

    // Deliveries are listed by state; a case filed now is pending until the worker runs.
    let hotline = t.login("hotline").await;
    file(&hotline, true).await;
    let d = admin.get("/api/v1/deliveries?state=pending").await;
    assert_eq!(d.status, 200, "{}", d.text);
    let items = d.body.as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["topic"], "case.received");
    assert_eq!(
        admin.get("/api/v1/deliveries?state=lost").await.key(),
        "invalid_state"
    );
    linli_app::notify::deliver_once(&t.app, "a").await.unwrap();
    let d = admin.get("/api/v1/deliveries?state=delivered").await;
    assert_eq!(d.body.as_array().unwrap().len(), 1);
    // Only dead letters are sent again.
    let r = admin
        .post(
            &format!(
                "/api/v1/deliveries/110101/{}/retry",
                d.body[0]["id"].as_str().unwrap()
            ),
            json!({}),
        )
        .await;
    assert_eq!((r.status, r.key()), (409, "conflict"));
    assert_eq!(
        admin
            .delete(&format!("/api/v1/webhooks/{hook}"))
            .await
            .status,
        204
    );
    assert_eq!(
        admin
            .delete(&format!("/api/v1/webhooks/{hook}"))
            .await
            .status,
        409
    );
}

#[tokio::test]
async fn the_console_page_adds_subscriptions_and_sends_dead_letters_again() {
    use crate::console::{console_login, csrf_of};
    let t = spawn_app().await;
    let rx = receiver().await;
    let admin = console_login(&t, "admin").await;
    let csrf = csrf_of(&admin).await;
    let district = t.unit_id("110101").await;
    // A bad address comes back with the form as filled and the reason.
    let r = admin
        .post_form(
            "/console/notify",
            &[
                ("csrf", &csrf),
                ("name", "对接"),
                ("unit_id", &district),
                ("url", "ftp://x"),
            ],
        )
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(
        attr(&r.text, "#hook-name", "value").as_deref(),
        Some("对接")
    );
    let r = admin
        .post_form(
            "/console/notify",
            &[
                ("csrf", &csrf),
                ("name", "区网格化中心"),
                ("unit_id", &district),
                ("url", &rx.url),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let secret = text_of(&r.text, "#secret").unwrap();
    assert!(secret.starts_with("whsec_"));
    let page = admin.get_html("/console/notify").await;
    assert!(!page.text.contains(&secret), "the secret is shown once");
    assert_eq!(
        text_of(&page.text, "#webhooks tbody td.fw-medium").as_deref(),
        Some("区网格化中心")
    );
    // A delivery that keeps failing shows under 投递失败 with its error, and goes out again.
    rx.status.store(500, Ordering::SeqCst);
    let hotline = t.login("hotline").await;
    file(&hotline, true).await;
    for _ in 0..8 {
        linli_app::notify::deliver_once(&t.app, "a").await.unwrap();
        t.clock.advance_secs(6 * 3600 + 1);
    }
    let admin = console_login(&t, "admin").await;
    let csrf = csrf_of(&admin).await;
    let page = admin.get_html("/console/notify?state=dead").await;
    assert!(page.text.contains("对方答复 HTTP 500"), "{}", page.text);
    let action = attr(&page.text, "#deliveries form", "action").unwrap();
    rx.status.store(200, Ordering::SeqCst);
    let r = admin.post_form(&action, &[("csrf", &csrf)]).await;
    assert_eq!(r.status, 303);
    assert_eq!(
        linli_app::notify::deliver_once(&t.app, "a").await.unwrap(),
        1
    );
    let page = admin.get_html("/console/notify?state=delivered").await;
    assert!(attr(&page.text, "#deliveries tbody a", "href").is_some());
    // Others have no such page.
    for user in ["grid01", "dongcheng", "auditor"] {
        let c = console_login(&t, user).await;
        assert_eq!(c.get_html("/console/notify").await.status, 403, "{user}");
    }
}
