//! Test support shared by the workspace's test suites.
//!
//! [`TestDb`] gives each test a fresh, migrated database: a temporary SQLite file by default,
//! or — when `TEST_DATABASE_URL=postgres://…` is set — a new PostgreSQL database created on that
//! server and dropped afterwards. The same tests therefore run on both engines.
#![forbid(unsafe_code)]
#![allow(clippy::expect_used, clippy::unwrap_used)]

use linli_store::Db;
use uuid::Uuid;

pub use linli_domain::{FakeClock, Ts};

/// 2026-11-21T08:00:00Z (16:00 in Beijing), the default "now" of tests.
pub const T0: Ts = Ts(1_795_248_000_000_000);

pub struct TestDb {
    pub db: Db,
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Dir(std::path::PathBuf),
    Pg { admin_url: String, name: String },
}

/// Which engine the suite runs on, from `TEST_DATABASE_URL`.
pub fn engine_name() -> &'static str {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(u) if u.starts_with("postgres") => "postgres",
        _ => "sqlite",
    }
}

impl TestDb {
    /// A fresh database with the schema applied.
    pub async fn new() -> TestDb {
        let t = Self::empty().await;
        linli_store::migrate::migrate(&t.db, T0.0)
            .await
            .expect("migrate test database");
        t
    }

    /// A fresh database without the schema.
    pub async fn empty() -> TestDb {
        match std::env::var("TEST_DATABASE_URL") {
            Ok(admin_url) if admin_url.starts_with("postgres") => {
                let name = format!("linli_t_{}", Uuid::now_v7().simple());
                let admin = Db::connect(&admin_url)
                    .await
                    .expect("connect to TEST_DATABASE_URL");
                admin
                    .execute(format!("CREATE DATABASE {name}"), vec![])
                    .await
                    .expect("create test database");
                admin.close().await;
                let url = linli_store::replace_db_name(&admin_url, &name);
                let db = Db::connect(&url).await.expect("connect to test database");
                TestDb {
                    db,
                    url,
                    cleanup: Cleanup::Pg { admin_url, name },
                }
            }
            _ => {
                let dir =
                    std::env::temp_dir().join(format!("linli-test-{}", Uuid::now_v7().simple()));
                std::fs::create_dir_all(&dir).expect("create temp dir");
                let url = format!("sqlite://{}", dir.join("t.db").display());
                let db = Db::connect(&url).await.expect("open sqlite");
                TestDb {
                    db,
                    url,
                    cleanup: Cleanup::Dir(dir),
                }
            }
        }
    }

    /// The SQLite file of this database (None on PostgreSQL).
    pub fn sqlite_path(&self) -> Option<std::path::PathBuf> {
        match &self.cleanup {
            Cleanup::Dir(d) => Some(d.join("t.db")),
            Cleanup::Pg { .. } => None,
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::Dir(d) => {
                let _ = std::fs::remove_dir_all(d);
            }
            Cleanup::Pg { admin_url, name } => {
                // Drop runs outside async context: use a short-lived runtime on a plain thread.
                // The pool belongs to the test's runtime, which may be gone: do not await it
                // here; FORCE ends its connections.
                let (admin_url, name) = (admin_url.clone(), name.clone());
                let _ = std::thread::spawn(move || {
                    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    else {
                        return;
                    };
                    rt.block_on(async move {
                        if let Ok(admin) = Db::connect(&admin_url).await {
                            let _ = admin
                                .execute(
                                    format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                                    vec![],
                                )
                                .await;
                            admin.close().await;
                        }
                    });
                })
                .join();
            }
        }
    }
}

/// A fresh directory under the system temporary directory, removed with its contents on drop
/// (e.g. the attachment store of a test app).
pub struct TempDir(std::path::PathBuf);

impl TempDir {
    pub fn new(label: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("linli-{label}-{}", Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A fixed keyring (`LINLI_KEYS`) for tests that start the binary more than once on one
/// database: every start must find the keys that sealed what the last one wrote.
pub const TEST_KEYS: &str = r#"{"format":1,"index_key":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=","current":1,"keys":[{"id":1,"cipher":"aes-256-gcm","key":"ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+f4CBgoM=","created":"2026-12-03T00:00:00Z"}]}"#;
