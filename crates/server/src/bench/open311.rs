//! `linli bench open311`: Open311 `POST requests.json` and `GET requests.json` through HTTP,
//! next to the `/api/v1/cases` intake and the staff case list measured in the same run on the
//! same server, engine and data.
//!
//! Order: the API intake (hotline operator, as `bench cases` files it), then the Open311 POST
//! (one key for 东华门街道, a point in 东城, a different description each time so that no two
//! are idempotent repeats), then the reads over the cases both filed: the public feed's default
//! page (the newest 1,000 of the last 90 days), a 50-row page of it, and the staff list
//! `GET /api/v1/cases?limit=50` as the read baseline.

use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Args;
use linli_app::{App, Ctx};
use linli_store::repo::org as org_repo;

use super::{
    Line, Machine, Target, capped, count_label, drive, http_client, start_server, with_db,
};

#[derive(Args, Clone)]
pub struct Open311Args {
    /// Requests per intake figure (API and Open311).
    #[arg(long, default_value_t = 10_000)]
    pub n: usize,
    /// Requests per read figure.
    #[arg(long, default_value_t = 2_000)]
    pub reads: usize,
    /// Concurrent clients.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
}

pub async fn bench(target: &Target, a: &Open311Args, m: &Machine) -> anyhow::Result<()> {
    with_db(target, |app| async move {
        capped("open311", body(&app, a, m)).await
    })
    .await
}

const PW: &str = "Bench-Demo-2026";

async fn body(app: &App, a: &Open311Args, m: &Machine) -> anyhow::Result<()> {
    let engine = app.db.engine();
    linli_app::bootstrap::load_demo(app, Some(PW)).await?;
    let street = org_repo::get_by_code(&app.db, "110101001")
        .await?
        .context("demo street missing")?;
    let sys = linli_app::bootstrap::system_principal(app, Ctx::cli()).await?;
    let (_, key) = linli_app::open311::create_key(app, &sys, "压测客户端", &[street.id]).await?;
    let (n, conc) = (a.n, a.concurrency);
    let server = start_server(app).await?;
    let client = http_client()?;

    // A leaf of the demo catalogue for both paths.
    let services: serde_json::Value = client
        .get(format!("{}/open311/v2/services.json", server.base))
        .send()
        .await?
        .json()
        .await?;
    let code = services[0]["service_code"]
        .as_str()
        .context("no service")?
        .to_string();

    // The API intake, as the hotline operator.
    let r = client
        .post(format!("{}/api/v1/session", server.base))
        .json(&serde_json::json!({"username": "hotline", "password": PW}))
        .send()
        .await?;
    let login: serde_json::Value = r.json().await?;
    let cookie = format!(
        "{}={}",
        linli_web::auth::SESSION_COOKIE,
        login["session"].as_str().context("no session")?
    );
    let csrf = login["csrf_token"].as_str().context("no csrf")?.to_string();
    let api_post = {
        let (client, url, cookie, csrf) = (
            client.clone(),
            format!("{}/api/v1/cases", server.base),
            cookie.clone(),
            csrf.clone(),
        );
        move |i: usize| {
            let (client, url, cookie, csrf) =
                (client.clone(), url.clone(), cookie.clone(), csrf.clone());
            async move {
                let r = client
                    .post(&url)
                    .header("cookie", cookie)
                    .header("x-csrf-token", csrf)
                    .json(&serde_json::json!({
                        "channel": "hotline", "request_type": "complaint", "title": "路灯不亮",
                        "description": format!("东华门大街路灯不亮，晚上很黑（{i}）。"),
                        "address": "东华门大街12号", "lat": 39.9165, "lng": 116.4075,
                        "requester_name": "张三丰", "requester_phone": format!("138{:08}", i % 100_000_000)
                    }))
                    .send()
                    .await?;
                let status = r.status();
                r.bytes().await?;
                if status.as_u16() != 201 {
                    bail!("POST /api/v1/cases answered {status}");
                }
                Ok(())
            }
        }
    };
    drive(n / 10, conc, api_post.clone()).await?;
    let api = drive(n, conc, api_post).await?;
    let data = "demo 东城区".to_string();
    api.fill(
        Line::new("open311", "api_v1_cases_post(baseline)", engine)
            .kv("data", &data)
            .kv("concurrency", conc)
            .num("per_s", api.per_sec()),
    )
    .print(m);

    // The same through Open311, with the key.
    let o_post = {
        let (client, url, key, code) = (
            client.clone(),
            format!("{}/open311/v2/requests.json", server.base),
            Arc::new(key),
            Arc::new(code),
        );
        move |i: usize| {
            let (client, url, key, code) = (client.clone(), url.clone(), key.clone(), code.clone());
            async move {
                let desc = format!("东华门大街路灯不亮，晚上很黑（{i}）。");
                let phone = format!("139{:08}", i % 100_000_000);
                let r = client
                    .post(&url)
                    .form(&[
                        ("api_key", key.as_str()),
                        ("service_code", code.as_str()),
                        ("lat", "39.9165"),
                        ("long", "116.4075"),
                        ("address_string", "东华门大街12号"),
                        ("description", desc.as_str()),
                        ("first_name", "三丰"),
                        ("last_name", "张"),
                        ("phone", phone.as_str()),
                    ])
                    .send()
                    .await?;
                let status = r.status();
                r.bytes().await?;
                if status.as_u16() != 200 {
                    bail!("POST /open311/v2/requests.json answered {status}");
                }
                Ok(())
            }
        }
    };
    // Warm-up submissions get their own descriptions (offset), never repeats of measured ones.
    let warm = {
        let f = o_post.clone();
        move |i: usize| f(i + 10_000_000)
    };
    drive(n / 10, conc, warm).await?;
    let o = drive(n, conc, o_post).await?;
    o.fill(
        Line::new("open311", "open311_post_requests", engine)
            .kv("data", &data)
            .kv("concurrency", conc)
            .num("per_s", o.per_sec()),
    )
    .vs("baseline_per_s", "ratio_api", api.per_sec(), o.per_sec())
    .print(m);

    // Reads over what both filed, with the planner's statistics brought up to date (a server
    // in service has autovacuum's; without them PostgreSQL plans the list for an empty table).
    app.db.execute("ANALYZE", vec![]).await?;
    let total: i64 = app
        .db
        .fetch_one_i64("SELECT COUNT(*) AS n FROM cases", vec![])
        .await?;
    let data = format!("{} cases", count_label(total as usize));
    let reads = a.reads;
    let get = |url: String, cookie: Option<String>, expect: usize| {
        let client = client.clone();
        move |_: usize| {
            let (client, url, cookie) = (client.clone(), url.clone(), cookie.clone());
            async move {
                let mut rb = client.get(&url);
                if let Some(c) = cookie {
                    rb = rb.header("cookie", c);
                }
                let r = rb.send().await?;
                let status = r.status();
                let body: serde_json::Value = r.json().await?;
                let len = body
                    .as_array()
                    .or_else(|| body["items"].as_array())
                    .map_or(0, Vec::len);
                if status.as_u16() != 200 || len != expect {
                    bail!("GET {url} answered {status} with {len} items");
                }
                Ok(())
            }
        }
    };
    let staff = get(
        format!("{}/api/v1/cases?limit=50", server.base),
        Some(cookie.clone()),
        50,
    );
    drive(reads / 10, conc, staff.clone()).await?;
    let staff = drive(reads, conc, staff).await?;
    staff
        .fill(
            Line::new("open311", "api_v1_cases_get_50(baseline)", engine)
                .kv("data", &data)
                .kv("concurrency", conc)
                .num("per_s", staff.per_sec()),
        )
        .print(m);
    let page50 = get(
        format!("{}/open311/v2/requests.json?page_size=50", server.base),
        None,
        50,
    );
    drive(reads / 10, conc, page50.clone()).await?;
    let p50 = drive(reads, conc, page50).await?;
    p50.fill(
        Line::new("open311", "open311_get_requests_50", engine)
            .kv("data", &data)
            .kv("concurrency", conc)
            .num("per_s", p50.per_sec()),
    )
    .vs(
        "baseline_per_s",
        "ratio_api",
        staff.per_sec(),
        p50.per_sec(),
    )
    .print(m);
    let public: i64 = app
        .db
        .fetch_one_i64(
            "SELECT COUNT(*) AS n FROM cases WHERE channel = 'open311'",
            vec![],
        )
        .await?;
    let page = public.clamp(0, 1000) as usize;
    let full = get(
        format!("{}/open311/v2/requests.json", server.base),
        None,
        page,
    );
    drive(reads / 10, conc, full.clone()).await?;
    let f = drive(reads, conc, full).await?;
    f.fill(
        Line::new("open311", "open311_get_requests_default", engine)
            .kv("data", &data)
            .kv("concurrency", conc)
            .kv("rows", page)
            .num("per_s", f.per_sec())
            .num("rows_per_s", f.per_sec() * page as f64),
    )
    .print(m);
    drop(server);
    Ok(())
}
