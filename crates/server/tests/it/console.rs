//! The console through the real router, asserted with HTML selectors: scope on pages, the
//! auditor-only trail, account creation with a one-time password, the password change.

use crate::support::{Client, DEMO_PW, TestApp, attr, spawn_app, text_of};

/// Log in through the form; the returned client keeps the session cookie.
async fn console_login(t: &TestApp, username: &str) -> Client {
    let c = t.client();
    let page = c.get_html("/login").await;
    let csrf = attr(&page.text, "input[name=csrf]", "value").unwrap();
    let pw = if username == "admin" {
        crate::support::ADMIN_PW
    } else {
        DEMO_PW
    };
    let r = c
        .post_form(
            "/login",
            &[
                ("csrf", &csrf),
                ("username", username),
                ("password", pw),
                ("next", "/console"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "console login {username}");
    c
}

/// The CSRF token of the session, as every console page embeds it.
async fn csrf_of(c: &Client) -> String {
    let home = c.get_html("/console").await;
    attr(
        &home.text,
        "form[action='/logout'] input[name=csrf]",
        "value",
    )
    .unwrap()
}

fn count(html: &str, selector: &str) -> usize {
    // Table-row fragments only parse inside a table.
    let doc = if html.trim_start().starts_with("<tr") {
        scraper::Html::parse_document(&format!("<table><tbody>{html}</tbody></table>"))
    } else {
        scraper::Html::parse_document(html)
    };
    doc.select(&scraper::Selector::parse(selector).unwrap())
        .count()
}

#[tokio::test]
async fn org_pages_respect_scope() {
    let t = spawn_app().await;
    let admin = console_login(&t, "admin").await;
    let district = t.unit_id("110101").await;
    let rows = admin
        .get_html(&format!("/console/org/children/{district}?level=3"))
        .await;
    assert_eq!(rows.status, 200);
    assert_eq!(
        count(&rows.text, "tr.tree-row"),
        17 + 10,
        "17 streets and 10 departments"
    );

    let worker = console_login(&t, "duofuxiang").await;
    let own = t.unit_id("110101001001").await;
    let page = worker.get_html(&format!("/console/org/{own}")).await;
    assert_eq!(page.status, 200);
    assert_eq!(
        text_of(&page.text, ".page-title").as_deref(),
        Some("多福巷社区居委会")
    );
    assert_eq!(
        count(&page.text, "form[action$='/rename']"),
        0,
        "no editing without org.manage"
    );
    let neighbour = t.unit_id("110101001002").await;
    let page = worker.get_html(&format!("/console/org/{neighbour}")).await;
    assert_eq!(page.status, 404);
    assert_eq!(
        text_of(&page.text, ".empty-title").as_deref(),
        Some("未找到")
    );
    let rows = worker
        .get_html(&format!("/console/org/children/{district}"))
        .await;
    assert_eq!(rows.status, 404);
    assert_eq!(
        count(&rows.text, "tr.tree-row"),
        0,
        "no rows from outside the scope"
    );
}

#[tokio::test]
async fn only_the_auditor_sees_the_audit_pages() {
    let t = spawn_app().await;
    let auditor = console_login(&t, "auditor").await;
    let page = auditor.get_html("/console/audit").await;
    assert_eq!(page.status, 200);
    assert!(count(&page.text, "table.audit-table tbody tr") >= 10);
    let verify = auditor.get_html("/console/audit/verify").await;
    assert_eq!(verify.status, 200);
    assert!(verify.text.contains("完整"), "{}", verify.text);
    for user in ["admin", "secadmin", "grid01"] {
        let c = console_login(&t, user).await;
        assert_eq!(c.get_html("/console/audit").await.status, 403, "{user}");
        assert_eq!(
            c.get_html("/console/audit/verify").await.status,
            403,
            "{user}"
        );
    }
}

#[tokio::test]
async fn admin_creates_an_account_and_sees_its_password_once() {
    let t = spawn_app().await;
    let admin = console_login(&t, "admin").await;
    let csrf = csrf_of(&admin).await;
    let comm = t.unit_id("110101001001").await;
    let r = admin
        .post_form(
            "/console/users/new",
            &[
                ("csrf", &csrf),
                ("username", "wangwu"),
                ("display_name", "王五"),
                ("unit_id", &comm),
                ("unit_q", ""),
                ("password", ""),
                ("auto_password", "1"),
                ("kind", "staff"),
                ("must_change", "1"),
                ("role", ""),
                ("scope", ""),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let pw = text_of(&r.text, "#secret").expect("one-time password shown");
    assert!(pw.len() >= 10);
    assert!(!r.headers.contains_key("location"), "never in a URL");
    // The new account logs in with it and is sent to change it first.
    let c = t.client();
    let login = c
        .post(
            "/api/v1/session",
            serde_json::json!({"username": "wangwu", "password": pw}),
        )
        .await;
    assert_eq!(login.status, 201);
    assert_eq!(login.body["user"]["must_change_password"], true);
    assert_eq!(
        login.body["user"]["permissions"],
        serde_json::json!([]),
        "the security administrator grants business roles later"
    );
    let web = t.client();
    let page = web.get_html("/login").await;
    let csrf = attr(&page.text, "input[name=csrf]", "value").unwrap();
    web.post_form(
        "/login",
        &[
            ("csrf", &csrf),
            ("username", "wangwu"),
            ("password", &pw),
            ("next", "/console"),
        ],
    )
    .await;
    let r = web.get_html("/console/org").await;
    assert_eq!(r.status, 303);
    assert_eq!(r.headers["location"], "/console/profile?must_change=1");

    // Without the CSRF field the same form is refused and nothing is created.
    let r = admin
        .post_form(
            "/console/users/new",
            &[("username", "zhaoliu"), ("display_name", "赵六")],
        )
        .await;
    assert_eq!(r.status, 403);
    assert!(
        linli_store::repo::users::by_username(&t.app.db, "zhaoliu")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn password_change_from_the_profile() {
    let t = spawn_app().await;
    let c = console_login(&t, "grid01").await;
    let csrf = csrf_of(&c).await;
    let r = c
        .post_form(
            "/console/profile/password",
            &[
                ("csrf", &csrf),
                ("current", DEMO_PW),
                ("new", "short"),
                ("confirm", "short"),
            ],
        )
        .await;
    let page = c
        .get_html(
            r.headers
                .get("location")
                .and_then(|l| l.to_str().ok())
                .unwrap_or("/console/profile"),
        )
        .await;
    assert!(page.text.contains("密码至少需要"), "policy message shown");
    let r = c
        .post_form(
            "/console/profile/password",
            &[
                ("csrf", &csrf),
                ("current", DEMO_PW),
                ("new", "Grid-Patrol-88"),
                ("confirm", "Grid-Patrol-88"),
            ],
        )
        .await;
    assert!(r.status == 303 || r.status == 200, "{}", r.status);
    let api = t.client();
    let r = api
        .post(
            "/api/v1/session",
            serde_json::json!({"username": "grid01", "password": DEMO_PW}),
        )
        .await;
    assert_eq!(r.status, 401, "old password no longer works");
    let r = api
        .post(
            "/api/v1/session",
            serde_json::json!({"username": "grid01", "password": "Grid-Patrol-88"}),
        )
        .await;
    assert_eq!(r.status, 201);
}
