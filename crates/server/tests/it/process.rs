//! The real `linli` binary: CLI commands, and a SIGKILL in the middle of writes.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use linli_testkit::TestDb;
use serde_json::json;

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_linli");
const ADMIN_PW: &str = "Process-Root-2026";

fn linli(url: &str, args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .env("LINLI_DATABASE_URL", url)
        .env("LINLI_KEYS", linli_testkit::TEST_KEYS)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

/// A server process that is killed when dropped, so a failing assertion never leaks it.
pub(crate) struct Server(Child);

impl Server {
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Start `linli serve` on a free port; returns the process and its base URL.
fn serve(url: &str) -> (Server, String) {
    let mut cmd = Command::new(BIN);
    cmd.args(["serve", "--listen", "127.0.0.1:0"])
        .env("LINLI_DATABASE_URL", url)
        .env("LINLI_ADMIN_PASSWORD", ADMIN_PW)
        .env("LINLI_KEYS", linli_testkit::TEST_KEYS)
        .env("RUST_LOG", "warn");
    start(cmd)
}

/// Spawn a prepared `linli serve` and wait for the address it prints.
fn start(mut cmd: Command) -> (Server, String) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let mut base = None;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(i) = line.find("http://") {
            base = Some(
                line[i..]
                    .trim()
                    .trim_end_matches("/console")
                    .trim_end_matches('/')
                    .to_string(),
            );
            break;
        }
    }
    // Keep draining stdout so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (Server(child), base.expect("server printed its address"))
}

#[tokio::test]
async fn cli_user_and_audit_commands() {
    let t = TestDb::empty().await;
    let out = linli(&t.url, &["migrate"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = linli(
        &t.url,
        &[
            "user",
            "create",
            "alice",
            "--name",
            "张三",
            "--unit",
            "0",
            "--role",
            "sys_admin",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("初始密码"), "{stdout}");
    let out = linli(
        &t.url,
        &["user", "create", "alice", "--name", "重复", "--unit", "0"],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("用户名已被使用"));
    let out = linli(
        &t.url,
        &[
            "user", "create", "bob", "--name", "李四", "--unit", "999999",
        ],
    );
    assert!(!out.status.success());
    assert!(
        linli(&t.url, &["user", "disable", "alice"])
            .status
            .success()
    );
    assert!(linli(&t.url, &["user", "unlock", "alice"]).status.success());

    let out = linli(&t.url, &["audit", "verify"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("完整"));

    // Tamper with one row: verify now fails and names it.
    if t.db.engine() == linli_store::Engine::Sqlite {
        t.db.execute("DROP TRIGGER audit_log_no_update", vec![])
            .await
            .unwrap();
    }
    t.db.execute(
        "UPDATE audit_log SET reason = 'covered up' WHERE seq = 2",
        vec![],
    )
    .await
    .unwrap();
    let out = linli(&t.url, &["audit", "verify"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("第 2 条记录内容被篡改"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[tokio::test]
async fn sigkill_during_writes_loses_no_committed_data() {
    let t = TestDb::empty().await;
    let (mut child, base) = serve(&t.url);
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{base}/api/v1/session"))
        .json(&json!({"username": "admin", "password": ADMIN_PW}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let login: serde_json::Value = r.json().await.unwrap();
    let cookie = format!("linli_session={}", login["session"].as_str().unwrap());
    let csrf = login["csrf_token"].as_str().unwrap().to_string();
    let root =
        t.db.fetch_optional(
            "SELECT id FROM org_units WHERE kind = 'root'",
            vec![],
            |r| r.uuid("id"),
        )
        .await
        .unwrap()
        .unwrap();
    let r = http
        .post(format!("{base}/api/v1/org-units"))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .json(&json!({"parent_id": root, "kind": "province", "code": "50", "name": "测试省"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let province = r.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Four writers add departments (50B0000…50B3999) as fast as they can until the kill.
    let acked = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let mut tasks = Vec::new();
    for w in 0..4 {
        let (http, base, cookie, csrf, acked, province) = (
            http.clone(),
            base.clone(),
            cookie.clone(),
            csrf.clone(),
            acked.clone(),
            province.clone(),
        );
        tasks.push(tokio::spawn(async move {
            for i in 0..1000 {
                let body = json!({"parent_id": province, "kind": "department", "code": format!("50B{:04}", w * 1000 + i), "name": format!("部门{w}-{i}")});
                let Ok(r) = http.post(format!("{base}/api/v1/org-units")).header("cookie", &cookie).header("x-csrf-token", &csrf).json(&body).send().await
                else {
                    return;
                };
                if r.status() == 201 {
                    let v: serde_json::Value = r.json().await.unwrap_or_default();
                    acked.lock().unwrap().push(v["id"].as_str().unwrap_or_default().to_string());
                }
            }
        }));
    }
    // Let writes flow, then kill without warning.
    tokio::time::sleep(Duration::from_millis(700)).await;
    child.kill();
    for t in tasks {
        let _ = t.await;
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        !acked.is_empty(),
        "some writes were acknowledged before the kill"
    );

    // The database opens cleanly and holds every acknowledged unit, with its audit row.
    let (mut child, base) = serve(&t.url);
    assert_eq!(
        http.get(format!("{base}/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    for id in &acked {
        let n =
            t.db.fetch_one_i64(
                "SELECT COUNT(*) AS n FROM org_units WHERE id = $1",
                linli_store::args![uuid::Uuid::parse_str(id).unwrap()],
            )
            .await
            .unwrap();
        assert_eq!(n, 1, "acknowledged unit {id} survived");
    }
    child.kill();
    let out = linli(&t.url, &["audit", "verify"]);
    assert!(
        out.status.success(),
        "audit chain intact after the crash: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// A server process with the options the two-server test needs.
pub(crate) fn serve_with(url: &str, data_dir: &std::path::Path, demo: bool) -> (Server, String) {
    serve_with_env(url, data_dir, demo, &[])
}

/// [`serve_with`] with more environment (configuration overrides).
fn serve_with_env(
    url: &str,
    data_dir: &std::path::Path,
    demo: bool,
    env: &[(&str, &str)],
) -> (Server, String) {
    let mut cmd = Command::new(BIN);
    cmd.envs(env.iter().copied());
    cmd.args(["serve", "--listen", "127.0.0.1:0"]);
    if demo {
        cmd.arg("--demo");
    }
    cmd.env("LINLI_DATABASE_URL", url)
        .env("LINLI_DATA_DIR", data_dir)
        .env("LINLI_ADMIN_PASSWORD", ADMIN_PW)
        .env("LINLI_DEMO_PASSWORD", "Demo-Pass-2026")
        .env("LINLI_KEYS", linli_testkit::TEST_KEYS)
        .env("LINLI_SWEEP_EVERY_SECS", "1")
        .env("RUST_LOG", "warn");
    start(cmd)
}

async fn api_login(base: &str, user: &str) -> (reqwest::Client, String) {
    api_login_as(base, user, "Demo-Pass-2026").await
}

async fn api_login_as(base: &str, user: &str, password: &str) -> (reqwest::Client, String) {
    let c = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let r: serde_json::Value = c
        .post(format!("{base}/api/v1/session"))
        .json(&json!({"username": user, "password": password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (c, r["csrf_token"].as_str().unwrap().to_string())
}

async fn api_post(
    c: &(reqwest::Client, String),
    url: String,
    body: serde_json::Value,
) -> serde_json::Value {
    let r =
        c.0.post(url)
            .header("x-csrf-token", &c.1)
            .json(&body)
            .send()
            .await
            .unwrap();
    let status = r.status();
    let v: serde_json::Value = r.json().await.unwrap();
    assert!(status.is_success(), "{status} {v}");
    v
}

async fn count(db: &linli_store::Db, sql: &str) -> i64 {
    db.fetch_one_i64(sql.to_string(), vec![]).await.unwrap()
}

/// Two `linli serve` processes on one database: each sweeps under the shared lease, every
/// warning and every overdue mark is raised exactly once, and when the lease holder dies the
/// other server takes over.
#[tokio::test]
async fn two_servers_raise_each_deadline_alarm_exactly_once() {
    const N: i64 = 24;
    let t = TestDb::empty().await;
    let dirs = (tempdir(), tempdir());
    let (mut a, base_a) = serve_with(&t.url, &dirs.0, true);
    let (b, base_b) = serve_with(&t.url, &dirs.1, false);
    let hotline = api_login(&base_a, "hotline").await;
    let dispatcher_a = api_login(&base_a, "dongcheng").await;
    let dispatcher_b = api_login(&base_b, "dongcheng").await;
    let street: String =
        t.db.fetch_optional(
            "SELECT id FROM org_units WHERE code = '110101001'",
            vec![],
            |r| r.uuid("id"),
        )
        .await
        .unwrap()
        .unwrap()
        .to_string();
    for i in 0..N {
        let c = api_post(
            &hotline,
            format!("{base_a}/api/v1/cases"),
            json!({"channel": "hotline", "request_type": "help", "title": format!("井盖缺失 {i}"),
                "description": "路口井盖缺失", "anonymous": true}),
        )
        .await;
        let id = c["id"].as_str().unwrap();
        // Steps go through either server.
        let d = if i % 2 == 0 {
            (&dispatcher_a, &base_a)
        } else {
            (&dispatcher_b, &base_b)
        };
        api_post(
            d.0,
            format!("{}/api/v1/cases/{id}/register", d.1),
            json!({"version": 1}),
        )
        .await;
        api_post(
            d.0,
            format!("{}/api/v1/cases/{id}/dispatch", d.1),
            json!({"version": 2, "unit_id": street}),
        )
        .await;
    }
    // Time passes (for these cases): their warning points are behind us.
    let past = linli_domain::Clock::now(&linli_domain::SystemClock).plus_secs(-60);
    t.db.execute(
        "UPDATE cases SET warn_at = $1, alarm_at = $1 WHERE state = 'dispatched'",
        linli_store::args![past],
    )
    .await
    .unwrap();
    let warnings = "SELECT COUNT(*) FROM notices WHERE kind = 'warning'";
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while count(&t.db, warnings).await < N && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Give both servers a few more rounds to (not) raise anything twice.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(count(&t.db, warnings).await, N);
    assert_eq!(
        count(
            &t.db,
            "SELECT COUNT(*) FROM case_events WHERE action = 'warn'"
        )
        .await,
        N
    );

    // The lease holder dies; the survivor takes over the overdue marks once the lease lapses.
    let holder: String =
        t.db.fetch_optional(
            "SELECT owner FROM job_leases WHERE name = 'deadline_sweeper'",
            vec![],
            |r| r.text("owner"),
        )
        .await
        .unwrap()
        .unwrap();
    let survivor_base = if holder.contains(base_a.trim_start_matches("http://")) {
        a.kill();
        base_b.clone()
    } else {
        drop(b);
        base_a.clone()
    };
    t.db.execute(
        "UPDATE cases SET due_at = $1, alarm_at = $1 WHERE state = 'dispatched'",
        linli_store::args![past],
    )
    .await
    .unwrap();
    let overdue = "SELECT COUNT(*) FROM case_events WHERE action = 'overdue'";
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while count(&t.db, overdue).await < N && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(count(&t.db, overdue).await, N);
    assert_eq!(
        count(&t.db, "SELECT COUNT(*) FROM notices WHERE kind = 'overdue'").await,
        2 * N
    );
    assert_eq!(count(&t.db, warnings).await, N, "no second warning");
    let owner: String =
        t.db.fetch_optional(
            "SELECT owner FROM job_leases WHERE name = 'deadline_sweeper'",
            vec![],
            |r| r.text("owner"),
        )
        .await
        .unwrap()
        .unwrap();
    assert!(
        owner.contains(survivor_base.trim_start_matches("http://")),
        "{owner} took over"
    );
    let _ = std::fs::remove_dir_all(&dirs.0);
    let _ = std::fs::remove_dir_all(&dirs.1);
}

pub(crate) fn tempdir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("linli-two-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A webhook receiver that keeps the first request hanging (the server is killed while it
/// waits) and answers every later one; it records the event and delivery ids it is sent.
struct Hanging {
    url: String,
    seen: std::sync::Arc<std::sync::Mutex<Vec<(String, String, String)>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Hanging {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn hanging_receiver() -> Hanging {
    let seen: std::sync::Arc<std::sync::Mutex<Vec<(String, String, String)>>> = Default::default();
    let s = seen.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |h: axum::http::HeaderMap, body: String| {
            let s = s.clone();
            async move {
                let hv = |k: &str| {
                    h.get(k)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_string()
                };
                let first = {
                    let mut g = s.lock().unwrap();
                    g.push((hv("x-linli-event"), hv("x-linli-delivery"), body));
                    g.len() == 1
                };
                if first {
                    tokio::time::sleep(Duration::from_secs(120)).await;
                }
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Hanging { url, seen, task }
}

/// `linli serve` is killed while a webhook delivery is in flight; after a restart the delivery
/// is sent again with the same event and delivery ids (so the receiver can tell the repeat) and
/// settled once.
#[tokio::test]
async fn a_server_killed_mid_delivery_delivers_after_restart_with_the_same_ids() {
    let t = TestDb::empty().await;
    let dir = tempdir();
    let rx = hanging_receiver().await;
    let serve = || {
        serve_with_env(
            &t.url,
            &dir,
            true,
            &[
                ("LINLI_APP__NOTIFY__LEASE_SECS", "3"),
                ("LINLI_APP__NOTIFY__TIMEOUT_SECS", "60"),
            ],
        )
    };
    let (mut first, base) = serve();
    // The administrator subscribes the district; the hotline files one anonymous case.
    let admin = api_login_as(&base, "admin", ADMIN_PW).await;
    let district: String =
        t.db.fetch_optional(
            "SELECT id FROM org_units WHERE code = '110101'",
            vec![],
            |r| r.uuid("id"),
        )
        .await
        .unwrap()
        .unwrap()
        .to_string();
    api_post(
        &admin,
        format!("{base}/api/v1/webhooks"),
        json!({"name": "区网格中心", "district_id": district, "url": rx.url, "topics": "case.received"}),
    )
    .await;
    let hotline = api_login(&base, "hotline").await;
    api_post(
        &hotline,
        format!("{base}/api/v1/cases"),
        json!({"channel": "hotline", "request_type": "help", "title": "井盖缺失",
            "description": "路口井盖缺失", "anonymous": true}),
    )
    .await;
    // The delivery is in flight (the receiver holds it): kill the server.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while rx.seen.lock().unwrap().is_empty() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(rx.seen.lock().unwrap().len(), 1, "first try arrived");
    first.kill();
    let in_flight =
        "SELECT COUNT(*) FROM outbox WHERE sink = 'webhook' AND state = 'pending' AND attempts = 1";
    assert_eq!(count(&t.db, in_flight).await, 1, "claimed, not settled");

    // A new server takes the delivery up once the dead one's lease lapses.
    let (_second, _) = serve();
    let delivered = "SELECT COUNT(*) FROM outbox WHERE sink = 'webhook' AND state = 'delivered'";
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while count(&t.db, delivered).await < 1 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(count(&t.db, delivered).await, 1);
    let seen = rx.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "sent once more after the restart, not more");
    assert_eq!(seen[0].0, seen[1].0, "same event id");
    assert_eq!(seen[0].1, seen[1].1, "same delivery id");
    assert_eq!(seen[0].2, seen[1].2, "same payload");
    assert_eq!(
        count(
            &t.db,
            "SELECT COUNT(*) FROM outbox WHERE sink = 'webhook' AND attempts = 2"
        )
        .await,
        1
    );
}
