//! Log-in, lockout, session expiry, CSRF, TOTP, log-out everywhere, API tokens.

use serde_json::json;

use crate::support::{DEMO_PW, attr, spawn_app, text_of};

#[tokio::test]
async fn lockout_after_five_failures_for_fifteen_minutes() {
    let t = spawn_app().await;
    let c = t.client();
    for i in 1..=5 {
        let r = c
            .post(
                "/api/v1/session",
                json!({"username": "grid01", "password": "wrong-password"}),
            )
            .await;
        let want = if i < 5 {
            (401, "bad_credentials")
        } else {
            (423, "account_locked")
        };
        assert_eq!((r.status, r.key()), want, "attempt {i}");
    }
    // Even the right password is refused while locked.
    let r = c
        .post(
            "/api/v1/session",
            json!({"username": "grid01", "password": DEMO_PW}),
        )
        .await;
    assert_eq!((r.status, r.key()), (423, "account_locked"));
    t.clock.advance_secs(14 * 60);
    assert_eq!(
        c.post(
            "/api/v1/session",
            json!({"username": "grid01", "password": DEMO_PW})
        )
        .await
        .status,
        423
    );
    t.clock.advance_secs(61);
    assert_eq!(
        c.post(
            "/api/v1/session",
            json!({"username": "grid01", "password": DEMO_PW})
        )
        .await
        .status,
        201
    );

    // Unknown users look exactly like wrong passwords.
    let r = c
        .post(
            "/api/v1/session",
            json!({"username": "nobody", "password": "whatever"}),
        )
        .await;
    assert_eq!((r.status, r.key()), (401, "bad_credentials"));

    // The security administrator can unlock early.
    for _ in 0..5 {
        c.post(
            "/api/v1/session",
            json!({"username": "grid02", "password": "wrong-password"}),
        )
        .await;
    }
    assert_eq!(
        c.post(
            "/api/v1/session",
            json!({"username": "grid02", "password": DEMO_PW})
        )
        .await
        .status,
        423
    );
    let sec = t.login("secadmin").await;
    let id = t.user_id("grid02").await;
    assert_eq!(
        sec.post(&format!("/api/v1/users/{id}/unlock"), json!({}))
            .await
            .status,
        204
    );
    assert_eq!(
        c.post(
            "/api/v1/session",
            json!({"username": "grid02", "password": DEMO_PW})
        )
        .await
        .status,
        201
    );

    // Every attempt is in the trail, with its result.
    let auditor = t.login("auditor").await;
    let r = auditor
        .get("/api/v1/audit?action=login&result=failed&limit=200")
        .await;
    assert!(r.body["items"].as_array().unwrap().len() > 10, "{}", r.text);
}

#[tokio::test]
async fn sessions_expire_when_idle_and_can_be_ended() {
    let t = spawn_app().await;
    let c = t.login("duofuxiang").await;
    assert_eq!(c.get("/api/v1/me").await.status, 200);
    // Activity keeps a session alive; 30 idle minutes end it.
    t.clock.advance_secs(20 * 60);
    assert_eq!(c.get("/api/v1/me").await.status, 200);
    t.clock.advance_secs(20 * 60);
    assert_eq!(c.get("/api/v1/me").await.status, 200);
    t.clock.advance_secs(31 * 60);
    let r = c.get("/api/v1/me").await;
    assert_eq!((r.status, r.key()), (401, "unauthenticated"));

    // Log out everywhere ends every session of the account.
    let a = t.login("duofuxiang").await;
    let b = t.login("duofuxiang").await;
    let r = a.delete("/api/v1/sessions").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["ended"], 2);
    assert_eq!(a.get("/api/v1/me").await.status, 401);
    assert_eq!(b.get("/api/v1/me").await.status, 401);

    // API log-out.
    let c = t.login("duofuxiang").await;
    assert_eq!(c.delete("/api/v1/session").await.status, 204);
    assert_eq!(c.get("/api/v1/me").await.status, 401);
}

#[tokio::test]
async fn csrf_is_required_for_cookie_writes() {
    let t = spawn_app().await;
    let mut c = t.login("admin").await;
    let comm = t.unit_id("110101001001").await;
    let token = c.csrf.take();
    let body =
        json!({"parent_id": comm, "kind": "grid", "code": "110101001001008", "name": "测试网格"});
    let r = c.post("/api/v1/org-units", body.clone()).await;
    assert_eq!((r.status, r.key()), (403, "csrf_failed"));
    c.csrf = Some("0".repeat(48));
    assert_eq!(c.post("/api/v1/org-units", body.clone()).await.status, 403);
    // A console form without the field is refused with a page, not processed.
    c.csrf = None;
    let r = c.post_form("/logout", &[]).await;
    assert_eq!(r.status, 403);
    assert_eq!(
        text_of(&r.text, ".empty-title").as_deref(),
        Some("安全校验失败")
    );
    c.csrf = token;
    assert_eq!(c.post("/api/v1/org-units", body).await.status, 201);
    // The session still works (the refused log-out did not happen).
    assert_eq!(c.get("/api/v1/me").await.status, 200);

    // The log-in form needs its double-submit token.
    let anon = t.client();
    let r = anon
        .post_form(
            "/login",
            &[
                ("csrf", "forged"),
                ("username", "admin"),
                ("password", crate::support::ADMIN_PW),
            ],
        )
        .await;
    assert_eq!(r.status, 403);
}

fn current_code(secret_b32: &str, now: linli_domain::Ts) -> String {
    let secret = data_encoding_decode(secret_b32);
    linli_domain::totp::format_code(linli_domain::totp::hotp(
        &secret,
        linli_domain::totp::counter_at(now.0 / 1_000_000),
    ))
}

fn data_encoding_decode(s: &str) -> Vec<u8> {
    // RFC 4648 base32 without padding.
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut bits: u64 = 0;
    let mut n = 0;
    let mut out = Vec::new();
    for ch in s.bytes() {
        let v = alphabet.iter().position(|a| *a == ch).unwrap() as u64;
        bits = (bits << 5) | v;
        n += 5;
        if n >= 8 {
            out.push((bits >> (n - 8)) as u8);
            n -= 8;
        }
    }
    out
}

#[tokio::test]
async fn totp_required_by_role_enrolment_and_login() {
    let t = spawn_app().await;
    let sec = t.login("secadmin").await;
    let r = sec
        .put("/api/v1/roles/street_staff/totp", json!({"require": true}))
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    // The system administrator may not change security policy.
    assert_eq!(
        t.login("admin")
            .await
            .put("/api/v1/roles/street_staff/totp", json!({"require": false}))
            .await
            .status,
        403
    );

    // API log-in now asks for a code.
    let api = t.client();
    let r = api
        .post(
            "/api/v1/session",
            json!({"username": "donghuamen", "password": DEMO_PW}),
        )
        .await;
    assert_eq!((r.status, r.key()), (401, "totp_required"));

    // The console walks the user through enrolment.
    let web = t.client();
    let page = web.get_html("/login").await;
    let csrf = attr(&page.text, "input[name=csrf]", "value").unwrap();
    let r = web
        .post_form(
            "/login",
            &[
                ("csrf", &csrf),
                ("username", "donghuamen"),
                ("password", DEMO_PW),
                ("next", "/console"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert!(
        r.headers["location"]
            .to_str()
            .unwrap()
            .starts_with("/login/totp")
    );
    let page = web.get_html("/login/totp").await;
    assert_eq!(page.status, 200);
    let secret = text_of(&page.text, ".code").expect("enrolment shows the secret");
    assert!(page.text.contains("<svg"), "and a QR code");
    let csrf = attr(&page.text, "input[name=csrf]", "value").unwrap();
    let r = web
        .post_form(
            "/login/totp",
            &[("csrf", &csrf), ("code", "000000"), ("next", "/console")],
        )
        .await;
    assert_eq!(r.status, 401, "a wrong code is refused");
    let page = web.get_html("/login/totp").await;
    let csrf = attr(&page.text, "input[name=csrf]", "value").unwrap();
    let code = current_code(&secret, t.clock_now());
    let r = web
        .post_form(
            "/login/totp",
            &[("csrf", &csrf), ("code", &code), ("next", "/console")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(
        web.get_html("/console").await.status,
        200,
        "signed in after enrolment"
    );

    // Next time: the API accepts password + code, once per code.
    t.clock.advance_secs(60);
    let code = current_code(&secret, t.clock_now());
    let r = api
        .post(
            "/api/v1/session",
            json!({"username": "donghuamen", "password": DEMO_PW, "totp": code}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = api
        .post(
            "/api/v1/session",
            json!({"username": "donghuamen", "password": DEMO_PW, "totp": code}),
        )
        .await;
    assert_eq!((r.status, r.key()), (401, "bad_totp"), "a code works once");
}

impl crate::support::TestApp {
    pub fn clock_now(&self) -> linli_domain::Ts {
        linli_domain::Clock::now(&self.clock)
    }
}

#[tokio::test]
async fn api_tokens_are_scoped_and_revocable() {
    let t = spawn_app().await;
    let admin = t.login("admin").await;
    let street = t.unit_id("110101001").await;
    // An integration account with district-wide read, and a token narrowed to one street.
    let district = t.unit_id("110101").await;
    let r = admin
        .post("/api/v1/users", json!({"username": "bridge", "display_name": "数据共享接口", "unit_id": district, "password": "Share-Data-2026", "kind": "service", "must_change_password": false}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let bridge = r.body["id"].as_str().unwrap().to_string();
    // Business roles are granted by the security administrator (三员).
    assert_eq!(
        t.login("secadmin")
            .await
            .post(
                &format!("/api/v1/users/{bridge}/roles"),
                json!({"role": "district_staff", "unit_id": district, "scope": "subtree"})
            )
            .await
            .status,
        201
    );
    let r = admin.post("/api/v1/tokens", json!({"name": "民政局对接", "user_id": bridge, "unit_id": street, "expires_in_days": 30})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let secret = r.body["token"].as_str().unwrap().to_string();
    assert!(secret.starts_with("linli_"));
    let token_id = r.body["info"]["id"].as_str().unwrap().to_string();

    let mut bot = t.client();
    bot.bearer = Some(secret.clone());
    let r = bot.get("/api/v1/org-units?limit=200").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let codes: Vec<&str> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["code"].as_str().unwrap())
        .collect();
    assert!(
        !codes.is_empty() && codes.iter().all(|c| c.starts_with("110101001")),
        "narrowed to the street: {codes:?}"
    );
    let other = t.unit_id("110101002").await;
    assert_eq!(
        bot.get(&format!("/api/v1/org-units/{other}")).await.status,
        404
    );
    // Bearer writes need no CSRF token (and this one has no write permission anyway).
    let r = bot
        .post(
            "/api/v1/org-units",
            json!({"parent_id": street, "kind": "community", "code": "110101001099", "name": "x"}),
        )
        .await;
    assert_eq!(r.status, 403);

    // Revoked → 401; a made-up token → 401.
    assert_eq!(
        admin
            .delete(&format!("/api/v1/tokens/{token_id}"))
            .await
            .status,
        204
    );
    assert_eq!(bot.get("/api/v1/me").await.status, 401);
    bot.bearer = Some("linli_not-a-real-token".into());
    assert_eq!(bot.get("/api/v1/me").await.status, 401);
    // The token list never shows secrets.
    let r = admin.get("/api/v1/tokens").await;
    assert!(!r.text.contains(&secret[10..]));
}

#[tokio::test]
async fn console_pages_render_for_a_logged_in_user() {
    let t = spawn_app().await;
    let web = t.client();
    let r = web.get_html("/console").await;
    assert_eq!(r.status, 303);
    assert!(
        r.headers["location"]
            .to_str()
            .unwrap()
            .starts_with("/login?next=")
    );
    let page = web.get_html("/login").await;
    let csrf = attr(&page.text, "input[name=csrf]", "value").unwrap();
    let r = web
        .post_form(
            "/login",
            &[
                ("csrf", &csrf),
                ("username", "duofuxiang"),
                ("password", "wrong-password"),
                ("next", "/console"),
            ],
        )
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(
        text_of(&r.text, "#login-error").as_deref(),
        Some("用户名或密码错误")
    );
    let csrf = attr(&r.text, "input[name=csrf]", "value").unwrap();
    let r = web
        .post_form(
            "/login",
            &[
                ("csrf", &csrf),
                ("username", "duofuxiang"),
                ("password", DEMO_PW),
                ("next", "/console"),
            ],
        )
        .await;
    assert_eq!(r.status, 303);
    let home = web.get_html("/console").await;
    assert_eq!(home.status, 200);
    assert_eq!(
        text_of(&home.text, ".page-title").as_deref(),
        Some("工作台")
    );
    // The navigation offers only what the user may use.
    let doc = scraper::Html::parse_document(&home.text);
    let sel = scraper::Selector::parse("#sidebar-menu a.nav-link").unwrap();
    let nav: Vec<String> = doc
        .select(&sel)
        .map(|e| e.text().collect::<String>().trim().to_string())
        .collect();
    assert!(nav.contains(&"组织架构".to_string()), "{nav:?}");
    assert!(!nav.contains(&"审计日志".to_string()), "{nav:?}");
    assert!(!nav.contains(&"接口令牌".to_string()), "{nav:?}");
}
