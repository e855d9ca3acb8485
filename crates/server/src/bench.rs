//! `linli bench …`: throughput of the division importer, of log-in and of a scoped list request,
//! each printed next to a baseline measured in the same run on the same machine and engine
//! (raw insert rate, raw Argon2id rate, `/healthz` and the bare list SQL), because absolute
//! times say little across machines. Benchmarks never assert: they print one line per figure.
//!
//! Every subcommand works on a database of its own: a fresh SQLite file in a temporary directory
//! (or next to the file named by `--database-url sqlite://…`), or a fresh `linli_bench_<uuid>`
//! database created on the PostgreSQL server named by `--database-url postgres://…` and dropped
//! at the end. Every load loop is bounded by a count and a time limit, and each subcommand by a
//! hard cap of ten minutes (`scale`: plus a second per thousand cases, for its load).

mod open311;
mod registry;

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use linli_app::users::NewUser;
use linli_app::{App, AppConfig, Ctx};
use linli_domain::SystemClock;
use linli_domain::auth::{DataScope, ScopeFilter};
use linli_domain::org::{OrgKind, subtree_upper, tenant_of};
use linli_store::repo::catalogue as cat_repo;
use linli_store::repo::org::{self as org_repo, OrgUnit};
use linli_store::{Db, Engine, Params};
use uuid::Uuid;

/// Hard cap for one subcommand, whatever the arguments.
const SUBCOMMAND_CAP: Duration = Duration::from_secs(600);
/// Cap for one load loop (a baseline or a measured figure); it stops early and says so.
const LOOP_CAP: Duration = Duration::from_secs(60);
/// Rows per multi-row INSERT, as in the importer.
const BATCH: usize = 400;

#[derive(Subcommand)]
pub enum BenchCmd {
    /// Import the national divisions; compare with a raw multi-row INSERT of as many rows.
    Import(ImportArgs),
    /// Log in through HTTP; compare with raw Argon2id verifications at the same concurrency.
    Login(LoginArgs),
    /// Scoped `GET /api/v1/org-units?limit=50`; compare with `/healthz` and the bare SQL.
    List(ListArgs),
    /// import, login and list in sequence on the same server (list reuses the import's data).
    All(AllArgs),
    /// Case intake `POST /api/v1/cases`; compare with a raw insert of the same rows.
    Cases(CasesArgs),
    /// Load many cases (default 1,000,000), then time workbench queue pages, sweeper passes and
    /// the monthly assessment of the district.
    Scale(ScaleArgs),
    /// Open311 `POST requests.json` and `GET requests.json`; compare with the `/api/v1/cases`
    /// intake and staff list in the same run.
    Open311(open311::Open311Args),
    /// Import residents from CSV (default 1,000,000, encrypted and blind-indexed), then time
    /// the filtered resident list over them and point-to-grid lookups over 10,000 grids.
    Registry(registry::RegistryArgs),
}

#[derive(Args, Clone)]
pub struct ImportArgs {
    /// Directory with provinces.csv … villages.csv[.gz] (e.g. ../shared/data/divisions).
    #[arg(long)]
    pub dir: PathBuf,
}

#[derive(Args, Clone)]
pub struct LoginArgs {
    /// Number of log-ins (and of Argon2id verifications in the baseline).
    #[arg(long, default_value_t = 200)]
    pub n: usize,
    /// Concurrent clients.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
}

#[derive(Args, Clone)]
pub struct ListArgs {
    /// Division files to import first; without it the demo district is loaded.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Requests per figure.
    #[arg(long, default_value_t = 20_000)]
    pub requests: usize,
    /// Concurrent clients.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
}

#[derive(Args, Clone)]
pub struct AllArgs {
    /// Division files; without it the import bench is skipped and list uses the demo district.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Log-ins.
    #[arg(long, default_value_t = 200)]
    pub n: usize,
    /// Concurrent log-in clients.
    #[arg(long, default_value_t = 8)]
    pub login_concurrency: usize,
    /// List requests per figure.
    #[arg(long, default_value_t = 20_000)]
    pub requests: usize,
    /// Concurrent list clients.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
}

/// Entry point. `url` is the global `--database-url` (or `LINLI_DATABASE_URL`); it only names
/// where fresh benchmark databases are made, never a database to use.
pub async fn run(cmd: BenchCmd, url: Option<String>) -> anyhow::Result<ExitCode> {
    init_tracing();
    let target = Target::from_url(url.as_deref())?;
    let m = Machine::read();
    eprintln!("bench: {} — {}", target.describe(), m.label);
    let work = async {
        match cmd {
            BenchCmd::Import(a) => {
                import_bench(&target, &a.dir, &m, false).await?;
            }
            BenchCmd::Login(a) => {
                login_bench(&target, &a, &m).await?;
            }
            BenchCmd::List(a) => {
                list_bench(&target, None, &a, &m).await?;
            }
            BenchCmd::Cases(a) => {
                cases_bench(&target, &a, &m).await?;
            }
            BenchCmd::Scale(a) => {
                scale_bench(&target, &a, &m).await?;
            }
            BenchCmd::Open311(a) => {
                open311::bench(&target, &a, &m).await?;
            }
            BenchCmd::Registry(a) => {
                registry::bench(&target, &a, &m).await?;
            }
            BenchCmd::All(a) => {
                let kept = match &a.dir {
                    Some(dir) => import_bench(&target, dir, &m, true).await?,
                    None => {
                        eprintln!("bench: no --dir, import skipped; list uses the demo district");
                        None
                    }
                };
                let login = LoginArgs {
                    n: a.n,
                    concurrency: a.login_concurrency,
                };
                if let Err(e) = login_bench(&target, &login, &m).await {
                    if let Some(k) = kept {
                        k.finish().await;
                    }
                    return Err(e);
                }
                let list = ListArgs {
                    dir: a.dir.clone(),
                    requests: a.requests,
                    concurrency: a.concurrency,
                };
                list_bench(&target, kept, &list, &m).await?;
            }
        }
        Ok::<_, anyhow::Error>(())
    };
    tokio::select! {
        r = work => r?,
        _ = tokio::signal::ctrl_c() => bail!("interrupted (a linli_bench_* database or linli-bench-* directory may be left behind)"),
    }
    Ok(ExitCode::SUCCESS)
}

fn init_tracing() {
    let f = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(f)
        .with_target(false)
        .with_writer(std::io::stderr)
        .try_init();
}

async fn capped<T>(name: &str, f: impl Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    capped_at(SUBCOMMAND_CAP, name, f).await
}

async fn capped_at<T>(
    cap: Duration,
    name: &str,
    f: impl Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    match tokio::time::timeout(cap, f).await {
        Ok(r) => r.with_context(|| format!("bench {name}")),
        Err(_) => bail!("bench {name} hit the {}-second cap", cap.as_secs()),
    }
}

// ---------------------------------------------------------------------------------------------
// Machine, memory, printing

struct Machine {
    label: String,
}

impl Machine {
    fn read() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let model = cpuinfo
            .lines()
            .find_map(|l| {
                l.strip_prefix("model name")
                    .and_then(|r| r.split_once(':'))
                    .map(|(_, v)| v.trim().to_string())
            })
            .unwrap_or_else(|| "unknown cpu".into());
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        let mem_kib = proc_kib("/proc/meminfo", "MemTotal:").unwrap_or(0);
        let gib = mem_kib as f64 / (1024.0 * 1024.0);
        Machine {
            label: format!("{model}, {cores} cores, {gib:.0} GiB"),
        }
    }
}

fn proc_kib(file: &str, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(file).ok()?;
    let line = text.lines().find(|l| l.starts_with(key))?;
    line[key.len()..].split_whitespace().next()?.parse().ok()
}

/// Peak resident set size of this process (VmHWM), in MiB.
fn peak_rss_mb() -> f64 {
    proc_kib("/proc/self/status", "VmHWM:").unwrap_or(0) as f64 / 1024.0
}

/// The one-minute load average.
fn load1() -> Option<String> {
    let t = std::fs::read_to_string("/proc/loadavg").ok()?;
    t.split_whitespace().next().map(str::to_string)
}

/// Resident set size when the current bench started, in KiB.
static START_RSS_KIB: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Reset VmHWM to the current RSS (Linux `clear_refs` 5) so each bench reports its own peak,
/// and remember that RSS: memory the allocator kept from an earlier bench in the same process
/// is part of both.
fn reset_peak() {
    if std::fs::write("/proc/self/clear_refs", "5").is_err() {
        eprintln!("bench: cannot reset the peak RSS; peak_rss_mb is the peak of the whole process");
    }
    let rss = proc_kib("/proc/self/status", "VmRSS:").unwrap_or(0);
    START_RSS_KIB.store(rss, Ordering::Relaxed);
}

/// 664k, 41k, 1.2M, 850.
fn count_label(n: usize) -> String {
    if n >= 10_000_000 {
        format!("{:.0}M", n as f64 / 1e6)
    } else if n >= 1_000_000 {
        format!("{:.2}M", n as f64 / 1e6)
    } else if n >= 10_000 {
        format!("{:.0}k", n as f64 / 1e3)
    } else {
        n.to_string()
    }
}

/// One printed figure: `key=value` fields, the first few padded so that lines align.
struct Line {
    fields: Vec<(&'static str, String)>,
}

impl Line {
    fn new(bench: &str, figure: &str, engine: Engine) -> Line {
        Line {
            fields: vec![
                ("bench", bench.to_string()),
                ("figure", figure.to_string()),
                ("engine", engine.name().to_string()),
            ],
        }
    }
    fn kv(mut self, k: &'static str, v: impl std::fmt::Display) -> Line {
        self.fields.push((k, v.to_string()));
        self
    }
    fn num(self, k: &'static str, v: f64) -> Line {
        let s = if v >= 100.0 {
            format!("{v:.0}")
        } else if v >= 10.0 {
            format!("{v:.1}")
        } else {
            format!("{v:.2}")
        };
        self.kv(k, s)
    }
    fn print(self, m: &Machine) {
        let mut out = String::new();
        for (k, v) in &self.fields {
            let tok = format!("{k}={v}");
            let width = match *k {
                "bench" => 12,
                "figure" => 30,
                "engine" => 15,
                "data" => 22,
                _ => 0,
            };
            out.push_str(&format!("{tok:<width$} "));
        }
        out.push_str(&format!(
            "peak_rss_mb={:.0} start_rss_mb={:.0} ",
            peak_rss_mb(),
            START_RSS_KIB.load(Ordering::Relaxed) as f64 / 1024.0
        ));
        // Other work on the machine skews every figure; say how busy it was.
        if let Some(l) = load1() {
            out.push_str(&format!("load1={l} "));
        }
        out.push_str(&format!("machine=\"{}\"", m.label));
        println!("{out}");
    }
}

// ---------------------------------------------------------------------------------------------
// Fresh databases

enum Target {
    /// Fresh SQLite files in a new directory under this one.
    Sqlite(PathBuf),
    /// Fresh databases on this PostgreSQL server (the URL of any database on it).
    Postgres(String),
}

impl Target {
    fn from_url(url: Option<&str>) -> anyhow::Result<Target> {
        match url {
            None | Some("") => Ok(Target::Sqlite(std::env::temp_dir())),
            Some(u) if u.starts_with("postgres:") || u.starts_with("postgresql:") => {
                Ok(Target::Postgres(u.to_string()))
            }
            Some(u) if u.starts_with("sqlite:") => {
                let path = u
                    .trim_start_matches("sqlite:")
                    .trim_start_matches("//")
                    .split('?')
                    .next()
                    .unwrap_or("");
                let parent = Path::new(path)
                    .parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .unwrap_or(Path::new("."));
                Ok(Target::Sqlite(parent.to_path_buf()))
            }
            Some(_) => bail!("--database-url must be sqlite://… or postgres://…"),
        }
    }

    fn describe(&self) -> String {
        match self {
            Target::Sqlite(d) => format!("fresh SQLite files under {}", d.display()),
            Target::Postgres(u) => format!("fresh databases on {}", crate::config::redact_url(u)),
        }
    }

    /// A new, migrated database with the root unit and built-in roles.
    async fn fresh(&self) -> anyhow::Result<BenchDb> {
        let (url, cleanup) = match self {
            Target::Sqlite(base) => {
                let dir = base.join(format!("linli-bench-{}", Uuid::now_v7().simple()));
                std::fs::create_dir_all(&dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
                (
                    format!("sqlite://{}", dir.join("bench.db").display()),
                    Cleanup::Dir(dir),
                )
            }
            Target::Postgres(admin_url) => {
                let name = format!("linli_bench_{}", Uuid::now_v7().simple());
                let admin = Db::connect(admin_url).await.with_context(|| {
                    format!("cannot connect to {}", crate::config::redact_url(admin_url))
                })?;
                admin
                    .execute(format!("CREATE DATABASE {name}"), vec![])
                    .await
                    .with_context(|| format!("cannot create database {name}"))?;
                admin.close().await;
                (
                    linli_store::replace_db_name(admin_url, &name),
                    Cleanup::Pg {
                        admin_url: admin_url.clone(),
                        name,
                    },
                )
            }
        };
        let bdb = BenchDb { app: None, cleanup };
        match open_app(&url).await {
            Ok(app) => Ok(BenchDb {
                app: Some(app),
                ..bdb
            }),
            Err(e) => {
                bdb.finish().await;
                Err(e)
            }
        }
    }
}

async fn open_app(url: &str) -> anyhow::Result<App> {
    let db = Db::connect(url)
        .await
        .context("cannot open the bench database")?;
    let now = linli_domain::Clock::now(&SystemClock).0;
    linli_store::migrate::migrate(&db, now)
        .await
        .context("migration failed")?;
    // The benchmarks store no attachments; the directory is only created on a first write.
    let blobs = linli_app::BlobStore::fs(
        std::env::temp_dir().join(format!("linli-bench-blobs-{}", Uuid::now_v7().simple())),
    );
    let app = App::new(db, Arc::new(SystemClock), AppConfig::default(), blobs);
    linli_app::bootstrap::ensure_base(&app, "压测平台")
        .await
        .context("ensure_base failed")?;
    Ok(app)
}

enum Cleanup {
    Dir(PathBuf),
    Pg { admin_url: String, name: String },
}

/// A benchmark database; [`BenchDb::finish`] closes and deletes it.
struct BenchDb {
    app: Option<App>,
    cleanup: Cleanup,
}

impl BenchDb {
    fn app(&self) -> anyhow::Result<&App> {
        self.app.as_ref().context("bench database not open")
    }

    async fn finish(self) {
        if let Some(app) = &self.app {
            app.db.close().await;
        }
        match self.cleanup {
            Cleanup::Dir(d) => {
                if let Err(e) = std::fs::remove_dir_all(&d) {
                    eprintln!("bench: cannot remove {}: {e}", d.display());
                }
            }
            Cleanup::Pg { admin_url, name } => {
                let dropped = async {
                    let admin = Db::connect(&admin_url).await?;
                    admin
                        .execute(
                            format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                            vec![],
                        )
                        .await?;
                    admin.close().await;
                    Ok::<_, linli_store::StoreError>(())
                }
                .await;
                if let Err(e) = dropped {
                    eprintln!("bench: cannot drop database {name}: {e}");
                }
            }
        }
    }
}

/// Run `body` on a fresh database and delete the database afterwards, whatever happened.
async fn with_db<T, F, Fut>(target: &Target, body: F) -> anyhow::Result<T>
where
    F: FnOnce(App) -> Fut,
    Fut: Future<Output = anyhow::Result<T>>,
{
    let bdb = target.fresh().await?;
    let r = body(bdb.app()?.clone()).await;
    bdb.finish().await;
    r
}

// ---------------------------------------------------------------------------------------------
// Load loops

struct Load {
    latencies: Vec<Duration>,
    elapsed: Duration,
    errors: usize,
    first_error: Option<String>,
    /// Stopped by the time cap before reaching the count.
    cut: bool,
}

impl Load {
    fn per_sec(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
    fn ms(&self, q: f64) -> f64 {
        if self.latencies.is_empty() {
            return 0.0;
        }
        let i = ((q * self.latencies.len() as f64).ceil() as usize).clamp(1, self.latencies.len());
        self.latencies[i - 1].as_secs_f64() * 1e3
    }
    /// Add count, p50/p99, errors and the cap flag to a line.
    fn fill(&self, l: Line) -> Line {
        let mut l = l
            .kv("n", self.latencies.len())
            .num("p50_ms", self.ms(0.50))
            .num("p99_ms", self.ms(0.99));
        if self.errors > 0 {
            l = l.kv("errors", self.errors);
        }
        if self.cut {
            l = l.kv("cut_at_s", LOOP_CAP.as_secs());
        }
        l
    }
}

/// Call `f(i)` for i in 0..total from `concurrency` tasks, each waiting for its call to finish
/// before the next (closed loop). Stops at `total` calls or after [`LOOP_CAP`].
async fn drive<F, Fut>(total: usize, concurrency: usize, f: F) -> anyhow::Result<Load>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let f = Arc::new(f);
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let deadline = start + LOOP_CAP;
    let mut tasks = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (f, next) = (f.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let (mut errors, mut first, mut cut) = (0usize, None::<String>, false);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                if Instant::now() >= deadline {
                    cut = true;
                    break;
                }
                let t = Instant::now();
                match f(i).await {
                    Ok(()) => lat.push(t.elapsed()),
                    Err(e) => {
                        errors += 1;
                        if first.is_none() {
                            first = Some(format!("{e:#}"));
                        }
                    }
                }
            }
            (lat, errors, first, cut)
        }));
    }
    let mut load = Load {
        latencies: Vec::with_capacity(total),
        elapsed: Duration::ZERO,
        errors: 0,
        first_error: None,
        cut: false,
    };
    for t in tasks {
        let (lat, errors, first, cut) = t.await.context("load task panicked")?;
        load.latencies.extend(lat);
        load.errors += errors;
        if load.first_error.is_none() {
            load.first_error = first;
        }
        load.cut |= cut;
    }
    load.elapsed = start.elapsed();
    load.latencies.sort_unstable();
    if let Some(e) = &load.first_error {
        eprintln!("bench: {} failed calls; first: {e}", load.errors);
    }
    if load.latencies.is_empty() {
        bail!(
            "every call failed: {}",
            load.first_error.as_deref().unwrap_or("?")
        );
    }
    Ok(load)
}

/// The router on 127.0.0.1:0 in this process, as `linli serve` runs it.
struct Server {
    base: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn start_server(app: &App) -> anyhow::Result<Server> {
    let router = linli_web::router(app.clone(), linli_web::WebConfig::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        {
            eprintln!("bench: server stopped: {e}");
        }
    });
    Ok(Server {
        base: format!("http://{addr}"),
        task,
    })
}

fn http_client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none())
        .build()?)
}

/// Log in through the API; returns the session token.
async fn http_login(
    c: &reqwest::Client,
    base: &str,
    user: &str,
    pw: &str,
) -> anyhow::Result<String> {
    let r = c
        .post(format!("{base}/api/v1/session"))
        .json(&serde_json::json!({"username": user, "password": pw}))
        .send()
        .await?;
    let status = r.status();
    let body: serde_json::Value = r.json().await.unwrap_or(serde_json::Value::Null);
    if status.as_u16() != 201 {
        bail!("log-in of {user} answered {status}: {body}");
    }
    body["session"]
        .as_str()
        .map(str::to_string)
        .context("log-in answer without a session")
}

async fn make_user(
    app: &App,
    username: &str,
    unit: &OrgUnit,
    password: &str,
    role: Option<&str>,
) -> anyhow::Result<()> {
    let sys = linli_app::bootstrap::system_principal(app, Ctx::cli()).await?;
    let u = linli_app::users::create(
        app,
        &sys,
        NewUser {
            username: username.into(),
            display_name: "压测账号".into(),
            unit_id: unit.id,
            password: password.into(),
            kind: "staff".into(),
            must_change_password: false,
        },
    )
    .await?;
    if let Some(role) = role {
        linli_app::users::grant_role(app, &sys, u.id, role, unit.id, DataScope::Subtree).await?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// import

/// Times the importer and its baseline. With `keep`, the database (holding the divisions) is
/// handed back for the list bench instead of being deleted.
async fn import_bench(
    target: &Target,
    dir: &Path,
    m: &Machine,
    keep: bool,
) -> anyhow::Result<Option<BenchDb>> {
    reset_peak();
    let bdb = target.fresh().await?;
    let r = capped("import", import_body(bdb.app()?, dir, m)).await;
    if r.is_ok() && keep {
        return Ok(Some(bdb));
    }
    bdb.finish().await;
    r.map(|_| None)
}

async fn import_body(app: &App, dir: &Path, m: &Machine) -> anyhow::Result<()> {
    let engine = app.db.engine();
    let t = Instant::now();
    let levels = {
        let dir = dir.to_path_buf();
        tokio::task::spawn_blocking(move || linli_app::divisions::read_dir(&dir)).await??
    };
    let parse = t.elapsed();
    let total: usize = levels.iter().map(|(_, r)| r.len()).sum();
    let data = format!("{} rows", count_label(total));

    // Baselines first, on the empty database, then dropped: placeholders as plain sqlx's
    // QueryBuilder writes them (`?` on SQLite, `$n` on PostgreSQL).
    let raw_rate = raw_insert(app, &levels, false, Placeholders::Plain, total).await?;
    let raw_idx_rate = raw_insert(app, &levels, true, Placeholders::Plain, total).await?;
    // On SQLite the store's `$n` placeholders cost extra at bind time; measure that on a sample.
    let numbered = match engine {
        Engine::Sqlite => {
            let n = total.min(NUMBERED_SAMPLE);
            Some((
                n,
                raw_insert(app, &levels, false, Placeholders::Numbered, n).await?,
            ))
        }
        Engine::Postgres => None,
    };

    // The import, timing each level from the end of the previous one (so a level's commit is
    // counted in the next level; the last level's commit in its own).
    let marks: std::sync::Mutex<Vec<(OrgKind, Instant)>> = std::sync::Mutex::new(Vec::new());
    let progress = |kind: OrgKind, done: usize, total: usize| {
        if done == total
            && let Ok(mut v) = marks.lock()
        {
            v.push((kind, Instant::now()));
        }
    };
    let t = Instant::now();
    let reports = linli_app::divisions::apply(app, &levels, &Ctx::cli(), &progress).await?;
    let end = Instant::now();
    let write = end - t;
    let inserted: usize = reports.iter().map(|r| r.inserted).sum();
    if inserted != total {
        bail!("importer inserted {inserted} of {total} rows");
    }
    let write_rate = total as f64 / write.as_secs_f64();
    let overall = parse + write;

    Line::new("import", "parse", engine)
        .kv("data", &data)
        .num("secs", parse.as_secs_f64())
        .num("rows_per_s", total as f64 / parse.as_secs_f64().max(1e-9))
        .print(m);
    Line::new("import", "raw_insert(baseline)", engine)
        .kv("data", &data)
        .num("secs", total as f64 / raw_rate)
        .num("rows_per_s", raw_rate)
        .kv("batch", BATCH)
        .print(m);
    Line::new("import", "raw_insert+indexes", engine)
        .kv("data", &data)
        .num("secs", total as f64 / raw_idx_rate)
        .num("rows_per_s", raw_idx_rate)
        .num("ratio", raw_idx_rate / raw_rate)
        .print(m);
    if let Some((n, rate)) = numbered {
        Line::new("import", "raw_insert_$n_params", engine)
            .kv("data", format!("{} rows", count_label(n)))
            .num("secs", n as f64 / rate)
            .num("rows_per_s", rate)
            .num("ratio", rate / raw_rate)
            .print(m);
    }
    // Per level: the last mark of each kind.
    let mut per_level: Vec<(OrgKind, Instant)> = Vec::new();
    if let Ok(v) = marks.lock() {
        for (k, at) in v.iter() {
            match per_level.iter_mut().find(|(pk, _)| pk == k) {
                Some(e) => e.1 = *at,
                None => per_level.push((*k, *at)),
            }
        }
    }
    let mut prev = t;
    for (i, (kind, at)) in per_level.iter().enumerate() {
        let at = if i + 1 == per_level.len() { end } else { *at };
        let rows = levels
            .iter()
            .find(|(k, _)| k == kind)
            .map(|(_, r)| r.len())
            .unwrap_or(0);
        let secs = (at - prev).as_secs_f64();
        Line::new("import", &format!("write_{}", kind.as_str()), engine)
            .kv("data", format!("{} rows", count_label(rows)))
            .num("secs", secs)
            .num("rows_per_s", rows as f64 / secs.max(1e-9))
            .print(m);
        prev = at;
    }
    Line::new("import", "write", engine)
        .kv("data", &data)
        .num("secs", write.as_secs_f64())
        .num("rows_per_s", write_rate)
        .num("baseline_raw_rows_per_s", raw_rate)
        .num("ratio", write_rate / raw_rate)
        .num("ratio_vs_indexed", write_rate / raw_idx_rate)
        .print(m);
    Line::new("import", "overall(parse+write)", engine)
        .kv("data", &data)
        .num("secs", overall.as_secs_f64())
        .num("rows_per_s", total as f64 / overall.as_secs_f64())
        .num("ratio", (total as f64 / overall.as_secs_f64()) / raw_rate)
        .print(m);

    // Re-run with nothing changed: parse again and diff every level against the database.
    drop(levels);
    let t = Instant::now();
    let levels = {
        let dir = dir.to_path_buf();
        tokio::task::spawn_blocking(move || linli_app::divisions::read_dir(&dir)).await??
    };
    let reparse = t.elapsed();
    let t = Instant::now();
    let reports = linli_app::divisions::apply(app, &levels, &Ctx::cli(), &|_, _, _| {}).await?;
    let rewrite = t.elapsed();
    let unchanged: usize = reports.iter().map(|r| r.unchanged).sum();
    if unchanged != total {
        bail!("re-run found {unchanged} of {total} rows unchanged");
    }
    let rerun = reparse + rewrite;
    Line::new("import", "rerun_unchanged", engine)
        .kv("data", &data)
        .num("secs", rerun.as_secs_f64())
        .num("parse_secs", reparse.as_secs_f64())
        .num("diff_secs", rewrite.as_secs_f64())
        .num("rows_per_s", total as f64 / rerun.as_secs_f64())
        .num(
            "ratio_vs_first",
            overall.as_secs_f64() / rerun.as_secs_f64(),
        )
        .print(m);
    Ok(())
}

/// The path a division code gets under the root (`/11/1101/110101/…/`).
fn path_of(code: &str) -> String {
    let mut p = String::from("/");
    for n in [2, 4, 6, 9, 12] {
        if n <= code.len() {
            p.push_str(&code[..n]);
            p.push('/');
        }
    }
    p
}

/// How the baseline writes its placeholders.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Placeholders {
    /// As plain sqlx's `QueryBuilder` does: `?` on SQLite, `$1…` on PostgreSQL.
    Plain,
    /// `$1…` on both, as the store's [`Params`] does.
    Numbered,
}

/// Rows in the SQLite `$n` placeholder sample.
const NUMBERED_SAMPLE: usize = 100_000;

/// Baseline: `limit` rows of the same 14 columns into a scratch table, multi-row INSERTs of
/// [`BATCH`] rows in one transaction, nothing else (no diff, no audit). Primary key only, or
/// (with `indexes`) the four secondary indexes `org_units` has. The table is dropped after.
/// Returns rows per second. The SQL goes through the store's thin query layer (sqlx::query with
/// the arguments bound in order), as the server crate does not depend on sqlx directly.
async fn raw_insert(
    app: &App,
    levels: &[(OrgKind, Vec<linli_app::divisions::DivisionRow>)],
    indexes: bool,
    placeholders: Placeholders,
    limit: usize,
) -> anyhow::Result<f64> {
    let db = &app.db;
    let anonymous = placeholders == Placeholders::Plain && db.engine() == Engine::Sqlite;
    let (uuid, path_type) = match db.engine() {
        Engine::Sqlite => ("BLOB", "TEXT"),
        Engine::Postgres => ("UUID", "TEXT COLLATE \"C\""),
    };
    db.execute(
        format!(
            "CREATE TABLE bench_raw (
                tenant TEXT NOT NULL, id {uuid} NOT NULL, parent_id {uuid}, kind TEXT NOT NULL,
                code TEXT NOT NULL, name TEXT NOT NULL, path {path_type} NOT NULL,
                depth BIGINT NOT NULL, subtype TEXT NOT NULL, source TEXT NOT NULL,
                active BOOLEAN NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,
                version BIGINT NOT NULL, PRIMARY KEY (tenant, id))"
        ),
        vec![],
    )
    .await?;
    if indexes {
        for ddl in [
            "CREATE UNIQUE INDEX bench_raw_code ON bench_raw (tenant, code)",
            "CREATE INDEX bench_raw_id ON bench_raw (id)",
            "CREATE INDEX bench_raw_path ON bench_raw (path)",
            "CREATE INDEX bench_raw_parent ON bench_raw (parent_id, kind, code)",
        ] {
            db.execute(ddl, vec![]).await?;
        }
    }
    let now = app.now();
    // Build the rows before the clock starts, as the importer builds its units in memory.
    let mut rows: Vec<OrgUnit> = Vec::new();
    for (kind, level) in levels {
        for r in level.iter().take(limit - rows.len().min(limit)) {
            let path = path_of(&r.code);
            rows.push(OrgUnit {
                tenant: tenant_of(&r.code),
                id: linli_domain::ids::new_id(),
                parent_id: Some(Uuid::now_v7()),
                kind: *kind,
                code: r.code.clone(),
                name: r.name.clone(),
                depth: path.matches('/').count() as i64 - 1,
                path,
                subtype: String::new(),
                source: "nbs2023".into(),
                active: true,
                created_at: now,
                updated_at: now,
                version: 1,
            });
        }
    }
    let t = Instant::now();
    let mut tx = db.begin_write().await?;
    for chunk in rows.chunks(BATCH) {
        let mut p = Params::default();
        let mut values = Vec::with_capacity(chunk.len());
        for u in chunk {
            let mut cols = [
                p.push(u.tenant.clone()),
                p.push(u.id),
                p.push(u.parent_id),
                p.push(u.kind.as_str()),
                p.push(u.code.clone()),
                p.push(u.name.clone()),
                p.push(u.path.clone()),
                p.push(u.depth),
                p.push(u.subtype.clone()),
                p.push(u.source.clone()),
                p.push(u.active),
                p.push(u.created_at),
                p.push(u.updated_at),
                p.push(u.version),
            ];
            if anonymous {
                cols.iter_mut().for_each(|c| *c = "?".into());
            }
            values.push(format!("({})", cols.join(", ")));
        }
        tx.execute(
            format!(
                "INSERT INTO bench_raw ({}) VALUES {}",
                org_repo::COLUMNS,
                values.join(", ")
            ),
            p.args,
        )
        .await?;
    }
    tx.commit().await?;
    let elapsed = t.elapsed();
    db.execute("DROP TABLE bench_raw", vec![]).await?;
    Ok(rows.len() as f64 / elapsed.as_secs_f64().max(1e-9))
}

// ---------------------------------------------------------------------------------------------
// login

async fn login_bench(target: &Target, a: &LoginArgs, m: &Machine) -> anyhow::Result<()> {
    reset_peak();
    let a = a.clone();
    with_db(target, |app| async move {
        capped("login", login_body(&app, &a, m)).await
    })
    .await
}

async fn login_body(app: &App, a: &LoginArgs, m: &Machine) -> anyhow::Result<()> {
    let engine = app.db.engine();
    let conc = a.concurrency.max(1);
    let n = a.n.max(1);
    // One account per client, homed at the root unit (log-in reads no grants).
    let users = conc;
    let password = linli_app::bootstrap::generate_password();
    let root = org_repo::root(&app.db)
        .await?
        .context("root unit missing")?;
    for i in 0..users {
        make_user(app, &format!("bench{i:03}"), &root, &password, None).await?;
    }
    let hash = linli_store::repo::users::by_username(&app.db, "bench000")
        .await?
        .context("bench user missing")?
        .password_hash;

    // Baseline: the stored hash verified by the same function log-in uses.
    let pw: Arc<str> = password.as_str().into();
    let h: Arc<str> = hash.as_str().into();
    let verify = {
        let (pw, h) = (pw.clone(), h.clone());
        move |_| {
            let (pw, h) = (pw.clone(), h.clone());
            async move {
                if linli_app::auth::verify_password(&pw, &h).await {
                    Ok(())
                } else {
                    bail!("verification failed")
                }
            }
        }
    };
    // Warm-up as long as the measurement: the allocator's per-thread arenas grow to hold the
    // 19 MiB Argon2 blocks during the first hundred or so calls, and that page-faulting would
    // otherwise be charged to whichever figure runs first.
    drive(n, conc, verify.clone()).await?;
    let base = drive(n, conc, verify).await?;

    let server = start_server(app).await?;
    let client = http_client()?;
    let base_url: Arc<str> = server.base.as_str().into();
    let login = {
        let (client, base_url, pw) = (client.clone(), base_url.clone(), pw.clone());
        move |i: usize| {
            let (client, base_url, pw) = (client.clone(), base_url.clone(), pw.clone());
            async move {
                http_login(&client, &base_url, &format!("bench{:03}", i % users), &pw).await?;
                Ok(())
            }
        }
    };
    drive(users.max(n / 4), conc, login.clone()).await?; // warm-up: every account at least once
    let res = drive(n, conc, login).await?;
    drop(server);

    let data = format!("{users} users");
    base.fill(
        Line::new("login", "argon2id_verify(baseline)", engine)
            .kv("data", &data)
            .kv("concurrency", conc)
            .num("per_s", base.per_sec()),
    )
    .print(m);
    res.fill(
        Line::new("login", "http_login", engine)
            .kv("data", &data)
            .kv("concurrency", conc)
            .num("per_s", res.per_sec()),
    )
    .vs(
        "baseline_argon2_per_s",
        "ratio",
        base.per_sec(),
        res.per_sec(),
    )
    .print(m);
    Ok(())
}

impl Line {
    /// `<k>=baseline <ratio_key>=x/baseline`.
    fn vs(self, k: &'static str, ratio_key: &'static str, baseline: f64, x: f64) -> Line {
        self.num(k, baseline).num(ratio_key, x / baseline.max(1e-9))
    }
}

// ---------------------------------------------------------------------------------------------
// list

async fn list_bench(
    target: &Target,
    preloaded: Option<BenchDb>,
    a: &ListArgs,
    m: &Machine,
) -> anyhow::Result<()> {
    let (bdb, load) = match preloaded {
        Some(b) => (b, false),
        None => (target.fresh().await?, true),
    };
    let body = async {
        let app = bdb.app()?;
        if load {
            load_units(app, a.dir.as_deref()).await?;
        }
        let data = format!(
            "{} units",
            count_label(org_repo::count_all(&app.db).await? as usize)
        );
        reset_peak();
        list_body(app, a, &data, m).await
    };
    let r = capped("list", body).await;
    bdb.finish().await;
    r
}

async fn load_units(app: &App, dir: Option<&Path>) -> anyhow::Result<()> {
    match dir {
        Some(dir) => {
            eprintln!("bench list: importing {} …", dir.display());
            let dir = dir.to_path_buf();
            let levels =
                tokio::task::spawn_blocking(move || linli_app::divisions::read_dir(&dir)).await??;
            linli_app::divisions::apply(app, &levels, &Ctx::cli(), &|_, _, _| {}).await?;
        }
        None => {
            linli_app::bootstrap::load_demo(app, None).await?;
        }
    }
    Ok(())
}

/// The street with the most communities (so that a page of 50 is full where the data allows),
/// and its first community.
async fn pick_units(app: &App) -> anyhow::Result<(OrgUnit, OrgUnit)> {
    let street_id = app
        .db
        .fetch_optional(
            "SELECT parent_id AS id, COUNT(*) AS n FROM org_units WHERE kind = 'community'
             GROUP BY parent_id ORDER BY n DESC, parent_id LIMIT 1",
            vec![],
            |r| r.uuid("id"),
        )
        .await?
        .context("no communities in the database")?;
    let street = org_repo::get(&app.db, street_id)
        .await?
        .context("street missing")?;
    let community = app
        .db
        .fetch_optional(
            "SELECT id FROM org_units WHERE parent_id = $1 AND kind = 'community'
             ORDER BY code LIMIT 1",
            linli_store::args![street.id],
            |r| r.uuid("id"),
        )
        .await?
        .context("street without communities")?;
    let community = org_repo::get(&app.db, community)
        .await?
        .context("community missing")?;
    Ok((street, community))
}

async fn list_body(app: &App, a: &ListArgs, data: &str, m: &Machine) -> anyhow::Result<()> {
    let engine = app.db.engine();
    let conc = a.concurrency.max(1);
    let n = a.requests.max(1);
    let warm = (n / 20).clamp(conc, 1000);
    let (street, community) = pick_units(app).await?;
    let password = linli_app::bootstrap::generate_password();
    make_user(
        app,
        "bench_street",
        &street,
        &password,
        Some("street_staff"),
    )
    .await?;
    make_user(
        app,
        "bench_community",
        &community,
        &password,
        Some("community_staff"),
    )
    .await?;

    let server = start_server(app).await?;
    let client = http_client()?;
    let base_url: Arc<str> = server.base.as_str().into();

    // Baseline 1: no auth, no database.
    let get = |path: &str, cookie: Option<String>| {
        let (client, url) = (client.clone(), format!("{base_url}{path}"));
        move |_| {
            let (client, url, cookie) = (client.clone(), url.clone(), cookie.clone());
            async move {
                let mut rb = client.get(&url);
                if let Some(c) = cookie {
                    rb = rb.header("cookie", c);
                }
                let r = rb.send().await?;
                let status = r.status();
                r.bytes().await?;
                if !status.is_success() {
                    bail!("GET {url} answered {status}");
                }
                Ok(())
            }
        }
    };
    drive(warm, conc, get("/healthz", None)).await?;
    let healthz = drive(n, conc, get("/healthz", None)).await?;
    healthz
        .fill(
            Line::new("list", "healthz(baseline)", engine)
                .kv("data", data)
                .kv("concurrency", conc)
                .num("rps", healthz.per_sec()),
        )
        .print(m);

    for (label, user, unit) in [
        ("street", "bench_street", &street),
        ("community", "bench_community", &community),
    ] {
        let token = http_login(&client, &base_url, user, &password).await?;
        let cookie = Some(format!("{}={token}", linli_web::auth::SESSION_COOKIE));
        let list_path = "/api/v1/org-units?limit=50";
        // How many rows a page holds, for the record.
        let rows = {
            let r = client
                .get(format!("{base_url}{list_path}"))
                .header("cookie", cookie.clone().unwrap_or_default())
                .send()
                .await?;
            let v: serde_json::Value = r.json().await?;
            v["items"].as_array().map(Vec::len).unwrap_or(0)
        };

        // Authentication alone (session, user, touch, grants), for where the time goes.
        drive(warm, conc, get("/api/v1/me", cookie.clone())).await?;
        let me = drive(n, conc, get("/api/v1/me", cookie.clone())).await?;

        drive(warm, conc, get(list_path, cookie.clone())).await?;
        let http = drive(n, conc, get(list_path, cookie.clone())).await?;

        // Baseline 2: the same query straight through the pool (the repository function the
        // handler ends in, with the user's scope as a filter, limit 50 + 1).
        let filter = ScopeFilter {
            ranges: vec![(unit.path.clone(), subtree_upper(&unit.path))],
            units: vec![],
            owner: None,
        };
        let sql = {
            let (db, filter) = (app.db.clone(), Arc::new(filter));
            move |_| {
                let (db, filter) = (db.clone(), filter.clone());
                async move {
                    let q = org_repo::ListQuery {
                        limit: 51,
                        ..Default::default()
                    };
                    org_repo::list(&db, &filter, &q).await?;
                    Ok(())
                }
            }
        };
        drive(warm, conc, sql.clone()).await?;
        let raw = drive(n, conc, sql).await?;

        let fig = format!("list_{label}");
        raw.fill(
            Line::new("list", &format!("{fig}_sql(baseline)"), engine)
                .kv("data", data)
                .kv("concurrency", conc)
                .num("rps", raw.per_sec()),
        )
        .kv("rows", rows)
        .print(m);
        me.fill(
            Line::new("list", &format!("me_{label}(auth_only)"), engine)
                .kv("data", data)
                .kv("concurrency", conc)
                .num("rps", me.per_sec()),
        )
        .vs(
            "baseline_healthz_rps",
            "ratio_healthz",
            healthz.per_sec(),
            me.per_sec(),
        )
        .print(m);
        http.fill(
            Line::new("list", &fig, engine)
                .kv("data", data)
                .kv("concurrency", conc)
                .num("rps", http.per_sec()),
        )
        .kv("rows", rows)
        .vs(
            "baseline_healthz_rps",
            "ratio_healthz",
            healthz.per_sec(),
            http.per_sec(),
        )
        .vs(
            "baseline_sql_rps",
            "ratio_sql",
            raw.per_sec(),
            http.per_sec(),
        )
        .print(m);
    }
    drop(server);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// cases

/// Case intake through HTTP (`POST /api/v1/cases` with category-free hotline data, a grid, an
/// address and a point, as an operator files it: number, parties, timeline, sealed phone and
/// audit row in one transaction), compared with a raw baseline that writes the same rows (the
/// case, its owner/grid/community parties, its timeline row) straight through the pool in one
/// transaction per case, with no checks and no audit chain.
async fn cases_bench(target: &Target, a: &CasesArgs, m: &Machine) -> anyhow::Result<()> {
    with_db(target, |app| async move {
        capped("cases", cases_body(&app, a, m)).await
    })
    .await
}

#[derive(Args, Clone)]
pub struct CasesArgs {
    /// Cases per figure.
    #[arg(long, default_value_t = 20_000)]
    pub n: usize,
    /// Concurrent clients.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
}

/// The search terms intake writes for the bench complaint.
const RAW_TERMS: &str =
    "小区 门口 垃圾 堆放 多福 多福巷 小区 三天 未 清运 气味 很大 东城 东城区 12 号 市容 环境";

async fn cases_body(app: &App, a: &CasesArgs, m: &Machine) -> anyhow::Result<()> {
    let engine = app.db.engine();
    linli_app::bootstrap::load_demo(app, Some("Bench-Demo-2026")).await?;
    let grid = org_repo::get_by_code(&app.db, "110101001001001")
        .await?
        .context("demo grid missing")?;
    let (n, conc) = (a.n, a.concurrency);
    let data = "demo 东城区".to_string();

    // Baseline: the same rows, raw.
    let district = org_repo::get_by_code(&app.db, "110101")
        .await?
        .context("no district")?;
    let community = org_repo::get_by_code(&app.db, "110101001001")
        .await?
        .context("no community")?;
    // A leaf of the demo dispatch catalogue: every intake names its category.
    let version = cat_repo::active_version(&app.db, "110101", linli_app::catalogue::DISPATCH)
        .await?
        .context("demo catalogue missing")?;
    let leaf = cat_repo::items(&app.db, "110101", version.id)
        .await?
        .into_iter()
        .find(|i| i.level == 3)
        .context("demo catalogue has no leaf")?;
    let raw = {
        let db = app.db.clone();
        let (d, g, c, leaf) = (
            Arc::new(district),
            Arc::new(grid.clone()),
            Arc::new(community),
            Arc::new(leaf.clone()),
        );
        let catalogue_version = version.version;
        move |_| {
            let (db, d, g, c, leaf) = (db.clone(), d.clone(), g.clone(), c.clone(), leaf.clone());
            async move {
                let id = linli_domain::ids::new_id();
                let now = linli_domain::Clock::now(&SystemClock);
                let chain = linli_app::cases::audit_chain("110101", id);
                let mut tx = db.begin_write().await?;
                tx.execute(
                    "INSERT INTO cases (tenant, id, number, channel, request_type, urgency, state, title, description,
                        category_id, category_code, category_name, catalogue_version,
                        address, lat_e6, lng_e6, grid_id, community_id, requester_name, requester_phone, phone_masked,
                        phone_hash, anonymous, owner_id, owner_path, received_at, created_by, created_at, updated_at, version)
                     VALUES ($1, $2, $3, 'hotline', 'complaint', 'normal', 'pending', $4, $5, $18, $19, $20, $21,
                        $6, $7, $8, $9, $10, $11, $12, $13, $14, FALSE, $15, $16, $17, NULL, $17, $17, 1)",
                    linli_store::args![
                        "110101", id, format!("RAW-{id}"), "小区门口垃圾堆放", "多福巷小区门口垃圾三天未清运，气味很大。",
                        "东城区多福巷12号", 39_916_500i64, 116_407_500i64, g.id, c.id, "张三丰",
                        vec![7u8; 40], "138****5678", "0123456789abcdef0123456789abcdef", d.id, d.path.clone(), now,
                        leaf.id, leaf.code.clone(), leaf.full_name.clone(), catalogue_version
                    ],
                )
                .await?;
                tx.execute(
                    "INSERT INTO case_parties (tenant, case_id, unit_id, role, unit_path, since)
                     VALUES ($1, $2, $3, 'owner', $4, $9), ($1, $2, $5, 'grid', $6, $9), ($1, $2, $7, 'community', $8, $9)",
                    linli_store::args!["110101", id, d.id, d.path.clone(), g.id, g.path.clone(), c.id, c.path.clone(), now],
                )
                .await?;
                tx.execute(
                    "INSERT INTO case_events (tenant, case_id, seq, at, action, from_state, to_state, actor_name, note, data)
                     VALUES ($1, $2, 1, $3, 'receive', '', 'pending', 'bench', '', '{}')",
                    linli_store::args!["110101", id, now],
                )
                .await?;
                // Its full-text row (terms as intake segments them; the segmenting is not timed).
                tx.execute(
                    "INSERT INTO case_search (doc, tenant, case_id, terms) VALUES ($1, $2, $3, $4)",
                    linli_store::args![
                        linli_store::repo::search::doc_key(engine, "110101", id),
                        "110101",
                        id,
                        RAW_TERMS
                    ],
                )
                .await?;
                // The audit row and its chain head, as `linli_store::repo::audit::append` writes them.
                let bumped = tx
                    .fetch_optional(
                        "UPDATE audit_heads SET seq = seq + 1 WHERE chain = $1 RETURNING seq",
                        linli_store::args![chain.clone()],
                        |r| r.i64("seq"),
                    )
                    .await?;
                let seq = match bumped {
                    Some(s) => s,
                    None => {
                        // A new chain (another client may be creating its head too).
                        tx.execute(
                            "INSERT INTO audit_heads (chain, seq, hash) VALUES ($1, 0, '') ON CONFLICT (chain) DO NOTHING",
                            linli_store::args![chain.clone()],
                        )
                        .await?;
                        tx.fetch_optional(
                            "UPDATE audit_heads SET seq = seq + 1 WHERE chain = $1 RETURNING seq",
                            linli_store::args![chain.clone()],
                            |r| r.i64("seq"),
                        )
                        .await?
                        .unwrap_or(1)
                    }
                };
                let hash = format!("{:064x}", id.as_u128());
                tx.execute(
                    "INSERT INTO audit_log (chain, seq, id, at, user_id, username, unit_id, action, target_type,
                        target_id, result, reason, request_id, ip, detail, prev_hash, hash)
                     VALUES ($1, $2, $3, $4, NULL, 'bench', NULL, 'case.create', 'case', $5, 'ok', '', '', '127.0.0.1',
                        $6, $7, $7)",
                    linli_store::args![
                        chain.clone(), seq, linli_domain::ids::new_id(), now, id.to_string(),
                        r#"{"number":"RAW","channel":"hotline","owner":"110101"}"#, hash.clone()
                    ],
                )
                .await?;
                tx.execute(
                    "UPDATE audit_heads SET hash = $1 WHERE chain = $2",
                    linli_store::args![hash, chain],
                )
                .await?;
                tx.commit().await?;
                Ok(())
            }
        }
    };
    drive(n / 10, conc, raw.clone()).await?;
    let base = drive(n, conc, raw).await?;
    base.fill(
        Line::new("cases", "raw_insert(baseline)", engine)
            .kv("data", data.clone())
            .kv("concurrency", conc)
            .num("cases_per_s", base.per_sec()),
    )
    .print(m);

    // Through HTTP, as the hotline operator.
    let server = start_server(app).await?;
    let client = http_client()?;
    let r = client
        .post(format!("{}/api/v1/session", server.base))
        .json(&serde_json::json!({"username": "hotline", "password": "Bench-Demo-2026"}))
        .send()
        .await?;
    let body: serde_json::Value = r.json().await?;
    let cookie = format!(
        "{}={}",
        linli_web::auth::SESSION_COOKIE,
        body["session"].as_str().context("no session")?
    );
    let csrf = body["csrf_token"].as_str().context("no csrf")?.to_string();
    let post = {
        let (client, url, grid_id, category_id) = (
            client.clone(),
            format!("{}/api/v1/cases", server.base),
            grid.id,
            leaf.id,
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
                        "channel": "hotline", "request_type": "complaint", "title": "小区门口垃圾堆放",
                        "description": "多福巷小区门口垃圾三天未清运，气味很大。", "address": "东城区多福巷12号",
                        "lat": 39.9165, "lng": 116.4075, "grid_id": grid_id, "category_id": category_id,
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
    drive(n / 10, conc, post.clone()).await?;
    let http = drive(n, conc, post).await?;
    http.fill(
        Line::new("cases", "intake_http", engine)
            .kv("data", data)
            .kv("concurrency", conc)
            .num("cases_per_s", http.per_sec()),
    )
    .vs(
        "baseline_per_s",
        "ratio_raw",
        base.per_sec(),
        http.per_sec(),
    )
    .print(m);
    drop(server);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// scale: the workbench, the sweeper and the assessment over a large case table

#[derive(Args, Clone)]
pub struct ScaleArgs {
    /// Cases to load (spread over the demo district's streets, departments and grids and over
    /// the last twelve months).
    #[arg(long, default_value_t = 1_000_000)]
    pub cases: usize,
    /// Requests per workbench figure.
    #[arg(long, default_value_t = 2_000)]
    pub requests: usize,
    /// Concurrent clients for the workbench figures.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Alarms made due before the loaded sweeper pass.
    #[arg(long, default_value_t = 1_000)]
    pub alarms: usize,
    /// Only these figures (comma-separated: queues, search, sweep, assessment); default all.
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Keep the database afterwards (its URL is printed) for `--reuse` or a look with
    /// sqlite3/psql; without it the database is deleted.
    #[arg(long)]
    pub keep: bool,
    /// Run on this database, kept by an earlier `--keep` run, instead of a fresh one: it is
    /// migrated (so a new migration meets a million cases) and not loaded again. Kept.
    #[arg(long)]
    pub reuse: Option<String>,
}

impl ScaleArgs {
    fn wants(&self, figure: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|o| o == figure)
    }
}

async fn scale_bench(target: &Target, a: &ScaleArgs, m: &Machine) -> anyhow::Result<()> {
    // Loading a million cases alone takes minutes on a small machine: the cap grows with the
    // size asked for (one more second per thousand cases).
    let cap = SUBCOMMAND_CAP + Duration::from_secs(a.cases as u64 / 1_000);
    if let Some(url) = &a.reuse {
        let t = Instant::now();
        let app = open_app(url).await?;
        eprintln!(
            "bench scale: reusing {} (opened and migrated in {:.1} s)",
            crate::config::redact_url(url),
            t.elapsed().as_secs_f64()
        );
        let r = capped_at(cap, "scale", scale_body(&app, a, m)).await;
        app.db.close().await;
        return r;
    }
    let bdb = target.fresh().await?;
    let r = capped_at(cap, "scale", scale_body(bdb.app()?, a, m)).await;
    if a.keep {
        let url = match &bdb.cleanup {
            Cleanup::Dir(d) => format!("sqlite://{}", d.join("bench.db").display()),
            Cleanup::Pg { admin_url, name } => linli_store::replace_db_name(admin_url, name),
        };
        if let Some(app) = &bdb.app {
            app.db.close().await;
        }
        eprintln!(
            "bench scale: database kept: {}",
            crate::config::redact_url(&url)
        );
    } else {
        bdb.finish().await;
    }
    r
}

/// States of the loaded cases, in per mille (the rest are 已回访).
const MIX: [(&str, u32); 8] = [
    ("pending", 20),
    ("registered", 20),
    ("dispatched", 30),
    ("handling", 80),
    ("replied", 30),
    ("closed", 50),
    ("disposed", 50),
    ("visited", 720),
];

/// A load closure: `GET url` with a session cookie, any non-2xx an error.
fn authed_get(
    client: &reqwest::Client,
    url: &str,
    cookie: &str,
) -> impl Fn(usize) -> std::pin::Pin<Box<dyn std::future::Future<Output = anyhow::Result<()>> + Send>>
+ Clone
+ Send
+ Sync
+ 'static {
    let (client, url, cookie) = (client.clone(), url.to_string(), cookie.to_string());
    move |_| {
        let (client, url, cookie) = (client.clone(), url.clone(), cookie.clone());
        Box::pin(async move {
            let r = client.get(&url).header("cookie", cookie).send().await?;
            let status = r.status();
            r.bytes().await?;
            if !status.is_success() {
                bail!("GET {url} answered {status}");
            }
            Ok(())
        })
    }
}

/// A varied, plausible request text for synthetic case `k` (so the search index is not one
/// text a million times): a place, a thing, what is wrong with it, and why it matters.
fn synthetic_text(k: usize) -> (String, String) {
    const PLACES: &[&str] = &[
        "多福巷",
        "东华门大街",
        "南锣鼓巷",
        "交道口",
        "和平里",
        "北新桥",
        "东四",
        "朝阳门",
        "建国门",
        "东直门",
        "景山",
        "安定门",
        "崇文门",
        "前门",
        "天坛",
        "永定门",
        "龙潭",
    ];
    const THINGS: &[&str] = &[
        "电梯",
        "路灯",
        "井盖",
        "下水道",
        "暖气",
        "自来水管",
        "楼道灯",
        "垃圾桶",
        "人行道",
        "停车位",
        "行道树",
        "围墙",
        "广告牌",
        "健身器材",
        "消防通道",
        "单元门",
    ];
    const WRONG: &[&str] = &[
        "坏了",
        "不亮",
        "漏水",
        "堵塞",
        "噪音扰民",
        "有异味",
        "破损",
        "被占用",
        "倒伏",
        "缺失",
        "不热",
        "停水",
        "松动",
        "失灵",
    ];
    const WHY: &[&str] = &[
        "老人出行不便",
        "晚上很危险",
        "已经三天了",
        "影响居民生活",
        "多次反映未解决",
        "孩子上学要经过",
        "雨天更严重",
        "希望尽快处理",
    ];
    let place = PLACES[k % PLACES.len()];
    let thing = THINGS[(k / 3) % THINGS.len()];
    let wrong = WRONG[(k / 7) % WRONG.len()];
    let why = WHY[(k / 11) % WHY.len()];
    let building = k % 40 + 1;
    (
        format!("{thing}{wrong}"),
        format!("{place}{building}号楼附近的{thing}{wrong}，{why}。"),
    )
}

async fn scale_body(app: &App, a: &ScaleArgs, m: &Machine) -> anyhow::Result<()> {
    let engine = app.db.engine();
    let pw = "Bench-Demo-2026";
    let loaded = app
        .db
        .fetch_one_i64("SELECT COUNT(*) AS n FROM cases", vec![])
        .await?;
    if loaded == 0 {
        linli_app::bootstrap::load_demo(app, Some(pw)).await?;
    }
    let district = org_repo::get_by_code(&app.db, "110101")
        .await?
        .context("no district")?;
    let kids = |kind: OrgKind| {
        let db = app.db.clone();
        async move {
            db.fetch_all(
                "SELECT id, path, parent_id FROM org_units WHERE tenant = '110101' AND kind = $1 ORDER BY code",
                linli_store::args![kind.as_str()],
                |r| Ok((r.uuid("id")?, r.text("path")?, r.opt_uuid("parent_id")?)),
            )
            .await
        }
    };
    let streets = kids(OrgKind::Street).await?;
    let depts = kids(OrgKind::Department).await?;
    let grids = kids(OrgKind::Grid).await?;
    let handlers: Vec<(Uuid, String)> = streets
        .iter()
        .chain(depts.iter())
        .map(|(i, p, _)| (*i, p.clone()))
        .collect();
    let now = linli_domain::Clock::now(&SystemClock);
    let year_us: i64 = 365 * 86_400 * 1_000_000;
    linli_app::search::load_dictionary(app).await?;
    let seg = app.search.segmenter();

    // Load (unless reusing a loaded database).
    let t = Instant::now();
    let n = if loaded > 0 { loaded as usize } else { a.cases };
    let mut i = if loaded > 0 { n } else { 0 };
    while i < n {
        let end = (i + 400).min(n);
        let mut case_rows = Vec::new();
        let mut party_rows = Vec::new();
        let mut docs: Vec<(Uuid, String)> = Vec::new();
        let mut p = Params::default();
        let mut pp = Params::default();
        for k in i..end {
            // Deterministic spread: received over the last year, newest last.
            let offset = (k as i128 * year_us as i128 / n as i128) as i64;
            let received = linli_domain::Ts(now.0 - year_us + offset);
            let id = Uuid::new_v7(uuid::Timestamp::from_unix(
                uuid::NoContext,
                received.unix_secs() as u64,
                ((received.0 % 1_000_000) * 1000) as u32,
            ));
            let mut pick = (k as u32).wrapping_mul(2_654_435_761) % 1000;
            let mut state = "visited";
            for (s, w) in MIX {
                if pick < w {
                    state = s;
                    break;
                }
                pick -= w;
            }
            let grid = &grids[k % grids.len()];
            let (title, description) = synthetic_text(k);
            docs.push((
                id,
                linli_app::search::text_terms(&seg, &[&title, &description]),
            ));
            let handled = !matches!(state, "pending" | "registered" | "disposed");
            let (h_id, h_path) = &handlers[(k / 7) % handlers.len()];
            let due = linli_domain::Ts(received.0 + 5 * 86_400 * 1_000_000);
            let running = matches!(state, "dispatched" | "handling");
            let done = matches!(state, "closed" | "visited");
            let day = received
                .to_datetime()
                .to_offset(linli_domain::clock::CST)
                .date();
            let vals = [
                p.push("110101"),
                p.push(id),
                p.push(format!(
                    "110101-{:04}{:02}{:02}-S{k:08}",
                    day.year(),
                    u8::from(day.month()),
                    day.day()
                )),
                p.push(["hotline", "patrol", "portal"][k % 3]),
                p.push(["complaint", "help", "consult", "report", "suggestion"][k % 5]),
                p.push("normal"),
                p.push(state),
                p.push(title.clone()),
                p.push(description.clone()),
                p.push(format!(
                    "{:02}.{:02}.{:03}",
                    k % 15 + 1,
                    k % 7 + 1,
                    k % 11 + 1
                )),
                p.push(grid.0),
                p.push(grid.2),
                p.push(district.id),
                p.push(district.path.clone()),
                p.push(handled.then_some(*h_id)),
                p.push(handled.then(|| h_path.clone())),
                p.push(received),
                p.push(handled.then_some(received)),
                p.push(handled.then_some(due)),
                p.push(handled.then_some(linli_domain::Ts(received.0 + 4 * 86_400 * 1_000_000))),
                // Running cases keep their alarms in the future (the loaded pass makes some due).
                p.push(running.then_some(linli_domain::Ts(now.0 + year_us))),
                p.push(done.then_some(linli_domain::Ts(received.0 + 3 * 86_400 * 1_000_000))),
                p.push(done.then_some(k % 10 != 0)),
                p.push((state == "visited").then_some(k % 4 != 0)),
                p.push(
                    (state == "visited")
                        .then(|| ["satisfied", "basic", "dissatisfied"][k % 3].to_string()),
                ),
                p.push(if handled { "2h,24h,5wd" } else { "" }),
                p.push(received),
                p.push(now),
            ];
            case_rows.push(format!("({}, FALSE, 1)", vals.join(", ")));
            let mut party = |u: Uuid, role: &str, path: &str| {
                party_rows.push(format!(
                    "({}, {}, {}, {}, {}, {})",
                    pp.push("110101"),
                    pp.push(id),
                    pp.push(u),
                    pp.push(role.to_string()),
                    pp.push(path.to_string()),
                    pp.push(received)
                ));
            };
            party(district.id, "owner", &district.path);
            party(grid.0, "grid", &grid.1);
            if handled {
                party(*h_id, "handler", h_path);
            }
        }
        let mut tx = app.db.begin_write().await?;
        tx.execute(
            format!(
                "INSERT INTO cases (tenant, id, number, channel, request_type, urgency, state, title, description,
                    category_code, grid_id, community_id, owner_id, owner_path, handler_id, handler_path, received_at,
                    dispatched_at, due_at, warn_at, alarm_at, closed_at, closed_on_time, resolved, satisfaction, limits,
                    created_at, updated_at, anonymous, version) VALUES {}",
                case_rows.join(", ")
            ),
            p.args,
        )
        .await?;
        tx.execute(
            format!(
                "INSERT INTO case_parties (tenant, case_id, unit_id, role, unit_path, since) VALUES {}",
                party_rows.join(", ")
            ),
            pp.args,
        )
        .await?;
        let search_docs: Vec<linli_store::repo::search::Doc<'_>> = docs
            .into_iter()
            .map(|(case_id, terms)| linli_store::repo::search::Doc {
                tenant: "110101",
                case_id,
                terms,
            })
            .collect();
        linli_store::repo::search::upsert_many(&mut tx, &search_docs).await?;
        tx.commit().await?;
        i = end;
        if i.is_multiple_of(100_000) {
            eprintln!(
                "bench scale: {i} cases loaded ({:.0} s)",
                t.elapsed().as_secs_f64()
            );
        }
    }
    app.db.execute("ANALYZE", vec![]).await?;
    let data = format!("{} cases", count_label(n));
    if loaded == 0 {
        Line::new("scale", "load", engine)
            .kv("data", data.clone())
            .num("s", t.elapsed().as_secs_f64())
            .num("cases_per_s", n as f64 / t.elapsed().as_secs_f64())
            .print(m);
    }

    // Workbench queue pages through HTTP.
    let server = start_server(app).await?;
    let client = http_client()?;
    let (warm, reqs, conc) = (a.requests / 10, a.requests, a.concurrency);
    let queues = if a.wants("queues") {
        &[
            ("dongcheng", "to_sign"),
            ("dongcheng", "handling"),
            ("dongcheng", "overdue"),
            ("donghuamen", "handling"),
            ("chengguan", "handling"),
            ("grid01", "all"),
            // The eight tab counts of the workbench, each capped at 1,000 (reused for 15 s, so
            // this is the warm figure; the cold one follows).
            ("dongcheng", "counts"),
            ("donghuamen", "counts"),
        ][..]
    } else {
        &[][..]
    };
    for &(user, queue) in queues {
        let token = http_login(&client, &server.base, user, pw).await?;
        let cookie = format!("{}={token}", linli_web::auth::SESSION_COOKIE);
        let url = match queue {
            "counts" => format!("{}/api/v1/cases/queues", server.base),
            q => format!("{}/api/v1/cases?queue={q}&limit=50", server.base),
        };
        let get = authed_get(&client, &url, &cookie);
        drive(warm.max(1), conc, get.clone()).await?;
        let load = drive(reqs, conc, get).await?;
        load.fill(
            Line::new("scale", &format!("queue_{queue}_{user}"), engine)
                .kv("data", data.clone())
                .kv("concurrency", conc)
                .num("rps", load.per_sec()),
        )
        .print(m);
    }
    // The tab counts from cold, as the first workbench view in 15 s asks for them: one request
    // at a time, the cache emptied before each.
    let cold: &[&str] = if a.wants("queues") {
        &["dongcheng", "donghuamen"]
    } else {
        &[]
    };
    for &user in cold {
        let token = http_login(&client, &server.base, user, pw).await?;
        let cookie = format!("{}={token}", linli_web::auth::SESSION_COOKIE);
        let mut ms = Vec::new();
        for _ in 0..5 {
            app.counts.clear();
            let t = Instant::now();
            let r = client
                .get(format!("{}/api/v1/cases/queues", server.base))
                .header("cookie", cookie.clone())
                .send()
                .await?;
            if !r.status().is_success() {
                bail!("GET /api/v1/cases/queues answered {}", r.status());
            }
            r.bytes().await?;
            ms.push(t.elapsed().as_secs_f64() * 1e3);
        }
        let first = ms[0];
        ms.sort_by(f64::total_cmp);
        Line::new("scale", &format!("queue_counts_cold_{user}"), engine)
            .kv("data", data.clone())
            .num("first_ms", first)
            .num("median_ms", ms[ms.len() / 2])
            .print(m);
    }

    // Full-text search through the case list (`q=` words), as the district dispatcher (every
    // case) and a street (its own); baseline: the substring scan the list did before (title or
    // description LIKE '%…%', newest first, 50 rows) as bare SQL on the same pool.
    // Common words (thousands of matches), a rarer pair, and a rare triple (a few hundred).
    let searches: &[(&str, &str, &str)] = if a.wants("search") {
        &[
            ("dongcheng", "电梯故障", "电梯"),
            ("dongcheng", "漏水", "漏水"),
            ("dongcheng", "多福巷 井盖", "井盖"),
            ("dongcheng", "龙潭 健身器材 松动", "健身器材"),
            ("donghuamen", "电梯故障", "电梯"),
            ("donghuamen", "漏水", "漏水"),
            ("donghuamen", "多福巷 井盖", "井盖"),
            ("donghuamen", "龙潭 健身器材 松动", "健身器材"),
        ]
    } else {
        &[]
    };
    for &(user, q, like) in searches {
        let token = http_login(&client, &server.base, user, pw).await?;
        let cookie = format!("{}={token}", linli_web::auth::SESSION_COOKIE);
        let url = format!(
            "{}/api/v1/cases?q={}&limit=50",
            server.base,
            linli_web::auth::urlencode(q)
        );
        let get = authed_get(&client, &url, &cookie);
        let scan = {
            let db = app.db.clone();
            let pattern = format!("%{like}%");
            move |_| {
                let (db, pattern) = (db.clone(), pattern.clone());
                async move {
                    db.fetch_all(
                        "SELECT id FROM cases WHERE tenant = '110101'
                         AND (title LIKE $1 OR description LIKE $1) ORDER BY id DESC LIMIT 50",
                        linli_store::args![pattern],
                        |r| r.uuid("id"),
                    )
                    .await?;
                    Ok(())
                }
            }
        };
        let n = (reqs / 5).max(20);
        drive((n / 10).max(1), conc, scan.clone()).await?;
        let base = drive(n, conc, scan).await?;
        base.fill(
            Line::new("scale", &format!("search_like_{like}(baseline)"), engine)
                .kv("data", data.clone())
                .kv("concurrency", conc)
                .num("rps", base.per_sec()),
        )
        .print(m);
        drive((n / 10).max(1), conc, get.clone()).await?;
        let load = drive(n, conc, get).await?;
        load.fill(
            Line::new(
                "scale",
                &format!("search_{}_{user}", q.replace(' ', "+")),
                engine,
            )
            .kv("data", data.clone())
            .kv("concurrency", conc)
            .num("rps", load.per_sec()),
        )
        .vs("baseline_rps", "ratio", base.per_sec(), load.per_sec())
        .print(m);
    }
    drop(server);

    if !a.wants("sweep") && !a.wants("assessment") {
        return Ok(());
    }
    // Sweeper: an idle pass, then a pass with alarms due.
    let t = Instant::now();
    let idle = linli_app::jobs::sweep_once(app, "bench", 60).await?;
    Line::new("scale", "sweep_idle", engine)
        .kv("data", data.clone())
        .num("ms", t.elapsed().as_secs_f64() * 1e3)
        .kv("raised", idle.unwrap_or(0))
        .print(m);
    let due = linli_domain::Ts(now.0 - 1_000_000);
    app.db
        .execute(
            format!(
                "UPDATE cases SET warn_at = $1, alarm_at = $1 WHERE id IN (SELECT id FROM cases WHERE state = 'handling' ORDER BY id DESC LIMIT {})",
                a.alarms
            ),
            linli_store::args![due],
        )
        .await?;
    let t = Instant::now();
    let raised = linli_app::jobs::sweep_once(app, "bench", 60).await?;
    let took = t.elapsed().as_secs_f64();
    Line::new("scale", "sweep_with_alarms", engine)
        .kv("data", data.clone())
        .num("ms", took * 1e3)
        .kv("raised", raised.unwrap_or(0))
        .num("alarms_per_s", raised.unwrap_or(0) as f64 / took.max(1e-9))
        .print(m);

    // The monthly assessment of the district (last full month), by unit.
    let sys = linli_app::bootstrap::system_principal(app, Ctx::cli()).await?;
    let d = now.to_datetime().to_offset(linli_domain::clock::CST).date();
    let (y, mo) = if u8::from(d.month()) == 1 {
        (d.year() - 1, 12)
    } else {
        (d.year(), u8::from(d.month()) - 1)
    };
    let period =
        linli_domain::assessment::Period::parse(&format!("{y:04}-{mo:02}")).context("period")?;
    for dim in ["unit", "grid", "category"] {
        let dimension = linli_app::assessment::Dimension::parse(dim).context("dimension")?;
        let mut times = Vec::new();
        let mut counted = (0, 0);
        for _ in 0..5 {
            let t = Instant::now();
            let r = linli_app::assessment::report(
                app,
                &sys,
                linli_app::assessment::AssessmentQuery {
                    unit_id: Some(district.id),
                    dimension,
                    period: period.clone(),
                },
            )
            .await?;
            times.push(t.elapsed().as_secs_f64() * 1e3);
            counted = (r.total.tally.received, r.rows.len());
        }
        times.sort_by(f64::total_cmp);
        Line::new("scale", &format!("assessment_month_by_{dim}"), engine)
            .kv("data", data.clone())
            .kv("period", format!("{y:04}-{mo:02}"))
            .kv("cases_in_report", counted.0)
            .kv("rows", counted.1)
            .num("first_ms", times[times.len() - 1])
            .num("median_ms", times[times.len() / 2])
            .print(m);
    }
    Ok(())
}
