//! spawn_app(): a real server on 127.0.0.1:0 over a fresh TestDb, with a fake clock, the demo
//! district and known passwords; Client: a cookie-keeping HTTP client with helpers.

use std::sync::Arc;

use linli_app::{App, AppConfig};
use linli_testkit::{FakeClock, T0, TempDir, TestDb};
use serde_json::{Value, json};

pub const ADMIN_PW: &str = "Root-Pass-2026";
pub const DEMO_PW: &str = "Demo-Pass-2026";

pub struct TestApp {
    pub base: String,
    pub app: App,
    pub clock: FakeClock,
    _db: TestDb,
    _blobs: TempDir,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(linli_web::WebConfig::default()).await
}

/// [`spawn_app`] with the HTTP layer's settings given (e.g. Open311 boundaries).
pub async fn spawn_app_with(web: linli_web::WebConfig) -> TestApp {
    spawn_app_full(web, AppConfig::default()).await
}

/// A demo registry a twentieth of the size `serve --demo` loads (about 1,000 residents): every
/// registry page has data, and each test's start stays quick.
pub const TEST_REGISTRY_SCALE: f64 = 0.05;

/// The district boundaries beside the repository (`../shared`), which the demo cuts its grid
/// polygons from.
pub const BOUNDARIES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/data/geo/beijing_districts.geojson"
);

/// [`spawn_app`] with both the HTTP layer's and the application's settings given.
pub async fn spawn_app_full(web: linli_web::WebConfig, mut cfg: AppConfig) -> TestApp {
    if cfg.demo_registry_scale == AppConfig::default().demo_registry_scale {
        cfg.demo_registry_scale = TEST_REGISTRY_SCALE;
    }
    if cfg.demo_boundaries.is_empty() {
        cfg.demo_boundaries = BOUNDARIES.to_string();
    }
    let db = TestDb::new().await;
    let clock = FakeClock::at(T0);
    let blobs = TempDir::new("attachments");
    let app = App::new(
        db.db.clone(),
        Arc::new(clock.clone()),
        cfg,
        linli_app::BlobStore::fs(blobs.path()),
    );
    linli_app::bootstrap::ensure_base(&app, "测试平台")
        .await
        .unwrap();
    linli_app::bootstrap::ensure_admin(&app, Some(ADMIN_PW))
        .await
        .unwrap();
    linli_app::bootstrap::load_demo(&app, Some(DEMO_PW))
        .await
        .unwrap();
    let router = linli_web::router(app.clone(), web);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
        .unwrap();
    });
    TestApp {
        base: format!("http://{addr}"),
        app,
        clock,
        _db: db,
        _blobs: blobs,
        server,
    }
}

pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
    pub csrf: Option<String>,
    pub bearer: Option<String>,
}

pub struct Resp {
    pub status: u16,
    pub body: Value,
    pub text: String,
    pub headers: reqwest::header::HeaderMap,
}

impl Resp {
    pub fn key(&self) -> &str {
        self.body["error"].as_str().unwrap_or("")
    }
}

impl TestApp {
    /// The SQLite file of the test database (none on PostgreSQL).
    pub fn sqlite_path(&self) -> Option<std::path::PathBuf> {
        self._db.sqlite_path()
    }

    pub fn client(&self) -> Client {
        Client {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: self.base.clone(),
            csrf: None,
            bearer: None,
        }
    }

    /// A client logged in through the API as `username` (demo password unless admin).
    pub async fn login(&self, username: &str) -> Client {
        let mut c = self.client();
        let pw = if username == "admin" {
            ADMIN_PW
        } else {
            DEMO_PW
        };
        let r = c
            .post(
                "/api/v1/session",
                json!({"username": username, "password": pw}),
            )
            .await;
        assert_eq!(r.status, 201, "login {username}: {}", r.text);
        c.csrf = r.body["csrf_token"].as_str().map(str::to_string);
        c
    }

    pub async fn unit_id(&self, code: &str) -> String {
        linli_store::repo::org::get_by_code(&self.app.db, code)
            .await
            .unwrap()
            .unwrap()
            .id
            .to_string()
    }

    pub async fn user_id(&self, username: &str) -> String {
        linli_store::repo::users::by_username(&self.app.db, username)
            .await
            .unwrap()
            .unwrap()
            .id
            .to_string()
    }
}

impl Client {
    async fn send(&self, rb: reqwest::RequestBuilder) -> Resp {
        let mut rb = rb;
        if let Some(c) = &self.csrf {
            rb = rb.header("x-csrf-token", c);
        }
        if let Some(b) = &self.bearer {
            rb = rb.bearer_auth(b);
        }
        let r = rb.send().await.unwrap();
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            body,
            text,
            headers,
        }
    }
    pub async fn get(&self, path: &str) -> Resp {
        self.send(self.http.get(format!("{}{path}", self.base)))
            .await
    }
    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.send(self.http.post(format!("{}{path}", self.base)).json(&body))
            .await
    }
    pub async fn post_bytes(&self, path: &str, content_type: &str, body: Vec<u8>) -> Resp {
        self.send(
            self.http
                .post(format!("{}{path}", self.base))
                .header("content-type", content_type)
                .body(body),
        )
        .await
    }
    pub async fn put(&self, path: &str, body: Value) -> Resp {
        self.send(self.http.put(format!("{}{path}", self.base)).json(&body))
            .await
    }
    pub async fn patch(&self, path: &str, body: Value) -> Resp {
        self.send(self.http.patch(format!("{}{path}", self.base)).json(&body))
            .await
    }
    pub async fn delete(&self, path: &str) -> Resp {
        self.send(self.http.delete(format!("{}{path}", self.base)))
            .await
    }
    /// A download: status, headers and the raw bytes (JSON `body` with POST, else GET).
    pub async fn download(
        &self,
        path: &str,
        body: Option<Value>,
    ) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
        let url = format!("{}{path}", self.base);
        let mut rb = match body {
            Some(b) => self.http.post(url).json(&b),
            None => self.http.get(url),
        };
        if let Some(c) = &self.csrf {
            rb = rb.header("x-csrf-token", c);
        }
        if let Some(b) = &self.bearer {
            rb = rb.bearer_auth(b);
        }
        let r = rb.send().await.unwrap();
        let (status, headers) = (r.status().as_u16(), r.headers().clone());
        (status, headers, r.bytes().await.unwrap().to_vec())
    }

    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> Resp {
        let rb = self.http.post(format!("{}{path}", self.base)).form(form);
        html(rb.send().await.unwrap()).await
    }
    pub async fn get_html(&self, path: &str) -> Resp {
        let rb = self.http.get(format!("{}{path}", self.base));
        html(rb.send().await.unwrap()).await
    }
}

/// A response read as a page (no JSON body).
pub async fn html(r: reqwest::Response) -> Resp {
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap();
    Resp {
        status,
        body: Value::Null,
        text,
        headers,
    }
}

/// The value of the first element matching `selector`'s attribute.
pub fn attr(html: &str, selector: &str, attr: &str) -> Option<String> {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse(selector).ok()?;
    doc.select(&sel)
        .next()
        .and_then(|e| e.value().attr(attr))
        .map(str::to_string)
}

pub fn text_of(html: &str, selector: &str) -> Option<String> {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse(selector).ok()?;
    doc.select(&sel)
        .next()
        .map(|e| e.text().collect::<String>().trim().to_string())
}
