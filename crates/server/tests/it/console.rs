//! The console through the real router, asserted with HTML selectors: scope on pages, the
//! auditor-only trail, account creation with a one-time password, the password change.

use crate::support::{Client, DEMO_PW, TestApp, attr, spawn_app, text_of};

/// Log in through the form; the returned client keeps the session cookie.
pub(crate) async fn console_login(t: &TestApp, username: &str) -> Client {
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
pub(crate) async fn csrf_of(c: &Client) -> String {
    let home = c.get_html("/console").await;
    attr(
        &home.text,
        "form[action='/logout'] input[name=csrf]",
        "value",
    )
    .unwrap()
}

pub(crate) fn count(html: &str, selector: &str) -> usize {
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

/// The case id a console redirect points at (`/console/cases/{id}?ok=…`).
pub(crate) fn case_of(r: &crate::support::Resp) -> String {
    let loc = r.headers["location"].to_str().unwrap();
    let rest = loc.strip_prefix("/console/cases/").expect(loc);
    rest.split(['?', '#']).next().unwrap().to_string()
}

#[tokio::test]
async fn a_case_through_the_console_from_intake_to_dispatch() {
    let t = spawn_app().await;
    let hotline = console_login(&t, "hotline").await;
    let form = hotline.get_html("/console/cases/new").await;
    assert_eq!(form.status, 200);
    assert!(attr(&form.text, "input#phone[autofocus]", "name").is_some());
    let csrf = csrf_of(&hotline).await;
    let r = hotline
        .post_form(
            "/console/cases/new",
            &[
                ("csrf", &csrf),
                ("phone", "138-1234-5678"),
                ("name", "张三丰"),
                ("request_type", "complaint"),
                ("urgency", "normal"),
                ("title", "小区门口垃圾堆放"),
                ("description", "多福巷小区门口垃圾三天未清运。"),
                ("address", "东城区多福巷12号"),
                ("answer", ""),
                ("channel", "hotline"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let id = case_of(&r);
    let loc = r.headers["location"].to_str().unwrap().to_string();
    let page = hotline.get_html(&loc).await;
    assert_eq!(page.status, 200);
    assert!(
        text_of(&page.text, ".alert-success")
            .unwrap()
            .contains("110101-"),
        "the number in the flash"
    );
    // The operator's history of this caller lists the case.
    let h = hotline
        .get_html("/console/cases/history?phone=13812345678")
        .await;
    assert_eq!(h.status, 200);
    assert!(
        h.text.contains(&format!("/console/cases/{id}")),
        "{}",
        h.text
    );

    // The district dispatcher finds it in 待立案.
    let district = console_login(&t, "dongcheng").await;
    let list = district.get_html("/console/cases").await;
    assert_eq!(list.status, 200);
    // The active tab; how many cases wait in it (this one case) comes with the tabs' counts.
    assert_eq!(
        text_of(&list.text, ".nav-tabs .nav-link.active").as_deref(),
        Some("待立案")
    );
    let tabs = district
        .get_html(&attr(&list.text, "#queue-tabs", "hx-get").unwrap())
        .await;
    assert_eq!(
        text_of(&tabs.text, ".nav-tabs .nav-link.active").as_deref(),
        Some("待立案 1")
    );
    assert!(
        attr(
            &list.text,
            &format!("tr.case-row a[href='/console/cases/{id}']"),
            "href"
        )
        .is_some(),
        "listed in 待立案"
    );

    // The case page: masked contact, and exactly the dispatcher's steps.
    let page = district.get_html(&format!("/console/cases/{id}")).await;
    assert_eq!(page.status, 200);
    assert_eq!(
        text_of(&page.text, ".requester-phone").as_deref(),
        Some("138****5678")
    );
    assert!(!page.text.contains("12345678") && !page.text.contains("张三丰"));
    for step in ["register", "dispose"] {
        let sel = format!("form[action='/console/cases/{id}/{step}'] button[type=submit]");
        assert!(attr(&page.text, &sel, "type").is_some(), "{step} offered");
    }
    assert!(attr(&page.text, "form[action$='/sign']", "action").is_none());
    let version = attr(
        &page.text,
        &format!("form[action='/console/cases/{id}/register'] input[name=version]"),
        "value",
    )
    .unwrap();

    // A grid worker elsewhere does not learn the case exists.
    let other = console_login(&t, "grid02").await;
    assert_eq!(
        other.get_html(&format!("/console/cases/{id}")).await.status,
        404
    );

    // 立案 through the form moves the case to 待派遣.
    let csrf = csrf_of(&district).await;
    let r = district
        .post_form(
            &format!("/console/cases/{id}/register"),
            &[("csrf", &csrf), ("version", &version), ("urgency", "")],
        )
        .await;
    assert_eq!(r.status, 303);
    let loc = r.headers["location"].to_str().unwrap().to_string();
    assert!(loc.contains("ok="), "{loc}");
    let page = district.get_html(&loc).await;
    assert_eq!(
        text_of(&page.text, ".case-state").as_deref(),
        Some("待派遣")
    );
    assert!(attr(&page.text, "form[action$='/dispatch']", "action").is_some());
    let list = district.get_html("/console/cases?queue=to_dispatch").await;
    assert!(list.text.contains(&format!("/console/cases/{id}")));
    // The page comes before its counts: the tabs fetch them once it is shown.
    assert!(text_of(&list.text, ".nav-tabs .badge").is_none());
    let counts_url = attr(&list.text, "#queue-tabs", "hx-get").unwrap();
    assert!(counts_url.starts_with("/console/cases/tabs?queue=to_dispatch"));
    let tabs = district.get_html(&counts_url).await;
    // The counts follow the step: none left to register, one to dispatch.
    for page in [
        &tabs.text,
        &district
            .get_html("/console/cases?queue=to_dispatch")
            .await
            .text,
    ] {
        assert_eq!(
            text_of(
                page,
                ".nav-tabs a[href^='/console/cases?queue=pending'] .badge"
            )
            .as_deref(),
            Some("0")
        );
        assert_eq!(
            text_of(page, ".nav-tabs .nav-link.active .badge").as_deref(),
            Some("1")
        );
    }
    // Counted a moment ago, they come with the page, and the tabs ask for nothing.
    let again = district.get_html("/console/cases?queue=to_dispatch").await;
    assert!(attr(&again.text, "#queue-tabs", "hx-get").is_none());

    // The same form again, on the version it was read at, is stale.
    let r = district
        .post_form(
            &format!("/console/cases/{id}/dispose"),
            &[
                ("csrf", &csrf),
                ("version", &version),
                ("disposition", "outside_duty"),
                ("note", "不属于职责范围"),
            ],
        )
        .await;
    // The page comes back at once, at the current version, with the error and the form open
    // as it was filled: nothing typed is lost.
    assert_eq!(r.status, 409);
    let page = r;
    assert!(
        text_of(&page.text, ".alert-danger")
            .unwrap()
            .contains("已被他人更新"),
        "{}",
        page.text
    );
    assert_eq!(
        text_of(
            &page.text,
            &format!("details[open] form[action='/console/cases/{id}/dispose'] textarea")
        )
        .as_deref(),
        Some("不属于职责范围")
    );

    // Dispatch to the street through the unit picker's hidden field.
    let street = t.unit_id("110101001").await;
    let page = district.get_html(&format!("/console/cases/{id}")).await;
    let version = attr(
        &page.text,
        &format!("form[action='/console/cases/{id}/dispatch'] input[name=version]"),
        "value",
    )
    .unwrap();
    let r = district
        .post_form(
            &format!("/console/cases/{id}/dispatch"),
            &[
                ("csrf", &csrf),
                ("version", &version),
                ("unit_id", &street),
                ("unit_q", "东华门街道"),
                ("co1", ""),
                ("unit_q", ""),
            ],
        )
        .await;
    assert_eq!(r.status, 303);
    let page = district
        .get_html(r.headers["location"].to_str().unwrap())
        .await;
    assert_eq!(
        text_of(&page.text, ".case-state").as_deref(),
        Some("待签收")
    );
}
