//! The subcommands. Each opens the database, migrates it, and calls app use cases.

use std::io::{BufRead, IsTerminal};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Subcommand;
use linli_app::{App, Ctx};
use linli_domain::SystemClock;
use linli_domain::auth::DataScope;
use linli_store::Db;

use crate::config::{Config, redact_url};

pub(crate) fn init_tracing(filter: &str) {
    let f = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(filter));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(f)
        .with_target(false)
        .try_init();
}

/// Connect, migrate, and make sure the root unit and built-in roles exist.
pub async fn open(cfg: &Config) -> anyhow::Result<App> {
    let url = cfg.database_url();
    if url.starts_with("sqlite:") {
        std::fs::create_dir_all(&cfg.data_dir)
            .with_context(|| format!("无法创建数据目录 {}", cfg.data_dir.display()))?;
    }
    let db = Db::connect(&url)
        .await
        .with_context(|| format!("无法连接数据库 {}", redact_url(&url)))?;
    let clock = Arc::new(SystemClock);
    linli_store::migrate::migrate(&db, linli_domain::Clock::now(&SystemClock).0)
        .await
        .context("数据库迁移失败")?;
    let keys = linli_app::keys::open(
        &db,
        &cfg.key_source()?,
        linli_domain::Clock::now(&SystemClock),
    )
    .await
    .context("个人信息密钥不可用")?;
    let blobs = cfg.blob_store()?;
    blobs
        .prepare()
        .await
        .with_context(|| format!("无法使用附件存储 {}", blobs.describe()))?;
    let app = App::new(db, clock, cfg.app.clone(), blobs)
        .with_media_limits(cfg.attachments.limits())
        .with_keys(keys);
    linli_app::bootstrap::ensure_base(&app, &cfg.app.platform_name)
        .await
        .context("初始化失败")?;
    Ok(app)
}

pub async fn serve(cfg: Config, demo: bool) -> anyhow::Result<ExitCode> {
    init_tracing(&cfg.log);
    let web = cfg.web_config()?;
    let app = open(&cfg).await?;
    let admin_pw = std::env::var("LINLI_ADMIN_PASSWORD")
        .ok()
        .filter(|s| !s.is_empty());
    let generated = linli_app::bootstrap::ensure_admin(&app, admin_pw.as_deref()).await?;
    let demo_pw = if demo {
        let pw = std::env::var("LINLI_DEMO_PASSWORD")
            .ok()
            .filter(|s| !s.is_empty());
        linli_app::bootstrap::load_demo(&app, pw.as_deref())
            .await
            .context("加载演示数据失败")?
    } else {
        None
    };

    // The search dictionary: the deployment's unit and catalogue names keep place names whole.
    match linli_app::search::load_dictionary(&app).await {
        Ok(n) => tracing::info!(words = n, "search dictionary loaded"),
        Err(e) => tracing::warn!(error = %e, "search dictionary not loaded; jieba's own is used"),
    }
    // The address resolver over the org tree: intake places address-only cases in their
    // street and community.
    match linli_app::places::load(&app).await {
        Ok(n) => tracing::info!(units = n, "address gazetteer loaded"),
        Err(e) => {
            tracing::warn!(error = %e, "address gazetteer not loaded; addresses are not placed")
        }
    }
    // Grid polygons: points resolve to their grid, community and street.
    match linli_app::registry::grids::load(&app).await {
        Ok(n) => tracing::info!(grids = n, "grid polygons loaded"),
        Err(e) => tracing::warn!(error = %e, "grid polygons not loaded; points are not placed"),
    }

    let listener = tokio::net::TcpListener::bind(&cfg.listen)
        .await
        .with_context(|| format!("无法监听 {}", cfg.listen))?;
    let addr = listener.local_addr()?;
    println!("邻里 Linli {} 已启动", env!("CARGO_PKG_VERSION"));
    println!("  居民端  http://{addr}/");
    println!("  控制台  http://{addr}/console");
    println!("  接口    http://{addr}/api/docs");
    println!("  Open311 http://{addr}/open311/v2/services.json");
    println!(
        "  数据库  {} ({})",
        redact_url(&cfg.database_url()),
        app.db.engine().name()
    );
    println!("  附件    {}", app.blobs.describe());
    match (&generated, &admin_pw) {
        (Some(pw), _) => {
            println!("  首个管理员  用户名 admin  密码 {pw}   （仅显示这一次，请登录后修改）")
        }
        (None, Some(_)) => println!("  首个管理员  用户名 admin  密码取自 LINLI_ADMIN_PASSWORD"),
        (None, None) => println!("  管理员账号 admin 已存在（忘记密码：linli user reset admin）"),
    }
    if let Some(pw) = &demo_pw {
        let names: Vec<&str> = linli_app::bootstrap::DEMO_USERS
            .iter()
            .map(|u| u.0)
            .collect();
        println!("  演示账号  {}  密码 {pw}", names.join(" "));
    } else if demo {
        println!("  演示数据已加载（演示账号此前已创建）");
    }

    let housekeeping = tokio::spawn({
        let app = app.clone();
        async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(300));
            loop {
                tick.tick().await;
                match linli_app::auth::purge_sessions(&app).await {
                    Ok(n) if n > 0 => tracing::info!(purged = n, "expired sessions removed"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "session purge failed"),
                }
                match linli_app::portal::purge(&app).await {
                    Ok(n) if n > 0 => {
                        tracing::info!(purged = n, "expired portal sessions and codes removed")
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "portal purge failed"),
                }
            }
        }
    });

    // Another server may change the polygons: follow within 30 s.
    let grids = tokio::spawn({
        let app = app.clone();
        async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(30));
            loop {
                tick.tick().await;
                if let Err(e) = linli_app::registry::grids::refresh(&app).await {
                    tracing::warn!(error = %e, "grid polygon refresh failed");
                }
            }
        }
    });

    let sweeper = tokio::spawn(linli_app::jobs::run_sweeper(
        app.clone(),
        format!("{}:{}", addr, std::process::id()),
        std::time::Duration::from_secs(cfg.sweep_every_secs.max(1)),
    ));

    let models = tokio::spawn(linli_app::jobs::run_models(
        app.clone(),
        format!("{}:{}", addr, std::process::id()),
        std::time::Duration::from_secs(300),
    ));

    let notifier = tokio::spawn(linli_app::notify::run_notifier(
        app.clone(),
        format!("{}:{}", addr, std::process::id()),
        std::time::Duration::from_secs(2),
    ));

    let router = linli_web::router(app.clone(), web);
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;
    housekeeping.abort();
    grids.abort();
    sweeper.abort();
    models.abort();
    notifier.abort();
    app.db.close().await;
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

pub async fn migrate(cfg: Config) -> anyhow::Result<ExitCode> {
    init_tracing(&cfg.log);
    let app = open(&cfg).await?;
    let v = linli_store::migrate::current_version(&app.db).await?;
    println!(
        "数据库已是最新版本（schema {v}，{}）",
        app.db.engine().name()
    );
    println!("  附件    {}", app.blobs.describe());
    Ok(ExitCode::SUCCESS)
}

pub async fn import_calendar(cfg: Config, file: &Path) -> anyhow::Result<ExitCode> {
    init_tracing("warn");
    let app = open(&cfg).await?;
    let text =
        std::fs::read_to_string(file).with_context(|| format!("无法读取 {}", file.display()))?;
    let sys = linli_app::bootstrap::system_principal(&app, Ctx::cli()).await?;
    let years = linli_app::calendar::load_csv(&app, &sys, &text).await?;
    let cal = linli_app::calendar::current(&app).await?;
    for y in &years {
        let days = cal.days();
        let of_year = |k| {
            days.iter()
                .filter(|d| d.day.year() == *y && d.kind == k)
                .count()
        };
        println!(
            "{y} 年：放假 {} 天，调休上班 {} 天",
            of_year(linli_domain::calendar::DayKind::Holiday),
            of_year(linli_domain::calendar::DayKind::Workday)
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn import_divisions(cfg: Config, dir: &Path) -> anyhow::Result<ExitCode> {
    init_tracing("warn");
    let app = open(&cfg).await?;
    let started = std::time::Instant::now();
    println!("读取并校验 {} …", dir.display());
    let levels = linli_app::divisions::read_dir(dir)?;
    let total: usize = levels.iter().map(|(_, r)| r.len()).sum();
    println!("校验通过，共 {total} 行；开始写入（每个层级一个事务）");
    let bars = indicatif::MultiProgress::new();
    let style =
        indicatif::ProgressStyle::with_template("{prefix:>6} [{bar:40}] {pos}/{len} {per_sec}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> ");
    let current: std::sync::Mutex<Option<(linli_domain::org::OrgKind, indicatif::ProgressBar)>> =
        std::sync::Mutex::new(None);
    let progress = |kind: linli_domain::org::OrgKind, done: usize, total: usize| {
        if let Ok(mut cur) = current.lock() {
            if cur.as_ref().is_none_or(|(k, _)| *k != kind) {
                if let Some((_, b)) = cur.take() {
                    b.finish();
                }
                let b = bars.add(indicatif::ProgressBar::new(total as u64));
                b.set_style(style.clone());
                b.set_prefix(kind.label());
                *cur = Some((kind, b));
            }
            if let Some((_, b)) = cur.as_ref() {
                b.set_length(total as u64);
                b.set_position(done as u64);
            }
        }
    };
    let reports = linli_app::divisions::apply(&app, &levels, &Ctx::cli(), &progress).await?;
    if let Ok(mut cur) = current.lock()
        && let Some((_, b)) = cur.take()
    {
        b.finish();
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{:<8} {:>9} {:>9} {:>9} {:>9}",
        "层级", "总数", "新增", "更名", "未变"
    );
    for r in &reports {
        println!(
            "{:<8} {:>9} {:>9} {:>9} {:>9}",
            r.kind.map(|k| k.label()).unwrap_or(""),
            r.total,
            r.inserted,
            r.renamed,
            r.unchanged
        );
    }
    println!(
        "完成：{total} 行，用时 {secs:.1} 秒（{:.0} 行/秒，{}）",
        total as f64 / secs.max(0.001),
        app.db.engine().name()
    );
    println!("  附件    {}", app.blobs.describe());
    Ok(ExitCode::SUCCESS)
}

#[derive(Subcommand)]
pub enum UserCmd {
    /// Create an account and grant it a role.
    Create {
        username: String,
        /// Display name (姓名).
        #[arg(long)]
        name: String,
        /// Code of the unit the account belongs to (e.g. 110101001001); `0` for the platform root.
        #[arg(long)]
        unit: String,
        /// Role key to grant at that unit (sys_admin, sec_admin, audit_admin, district_staff,
        /// street_staff, community_staff, grid_worker, dept_handler, hotline_operator).
        #[arg(long)]
        role: Option<String>,
        /// Data scope of the role: unit, subtree or own.
        #[arg(long, default_value = "subtree")]
        scope: String,
        /// Read the password from standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a new password (generated, or from standard input); the user must change it.
    Reset {
        username: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Disable an account (its sessions end).
    Disable { username: String },
    /// Re-enable an account.
    Enable { username: String },
    /// Clear a lockout.
    Unlock { username: String },
}

fn read_password_stdin() -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("密码：");
    }
    let mut line = String::new();
    stdin.lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

async fn find_user(app: &App, username: &str) -> anyhow::Result<linli_store::repo::users::User> {
    let u = linli_app::auth::normalize_username(username)?;
    linli_store::repo::users::by_username(&app.db, &u)
        .await?
        .ok_or_else(|| anyhow::anyhow!("账号 {u} 不存在"))
}

pub async fn user(cfg: Config, action: UserCmd) -> anyhow::Result<ExitCode> {
    init_tracing("warn");
    let app = open(&cfg).await?;
    let sys = linli_app::bootstrap::system_principal(&app, Ctx::cli()).await?;
    match action {
        UserCmd::Create {
            username,
            name,
            unit,
            role,
            scope,
            password_stdin,
        } => {
            let unit = if unit == linli_app::bootstrap::ROOT_CODE {
                linli_store::repo::org::root(&app.db).await?
            } else {
                linli_store::repo::org::get_by_code(&app.db, &unit).await?
            }
            .ok_or_else(|| anyhow::anyhow!("单位代码 {unit} 不存在"))?;
            let scope = DataScope::parse(&scope)
                .ok_or_else(|| anyhow::anyhow!("数据范围只能是 unit、subtree 或 own"))?;
            let (password, generated) = if password_stdin {
                (read_password_stdin()?, false)
            } else {
                (linli_app::bootstrap::generate_password(), true)
            };
            let u = linli_app::users::create(
                &app,
                &sys,
                linli_app::users::NewUser {
                    username,
                    display_name: name,
                    unit_id: unit.id,
                    password: password.clone(),
                    kind: "staff".into(),
                    must_change_password: generated,
                },
            )
            .await?;
            if let Some(role) = role {
                linli_app::users::grant_role(&app, &sys, u.id, &role, unit.id, scope).await?;
            }
            println!("已创建账号 {}（{}）", u.username, unit.name);
            if generated {
                println!("初始密码：{password}（首次登录须修改）");
            }
        }
        UserCmd::Reset {
            username,
            password_stdin,
        } => {
            let u = find_user(&app, &username).await?;
            let (password, generated) = if password_stdin {
                (read_password_stdin()?, false)
            } else {
                (linli_app::bootstrap::generate_password(), true)
            };
            linli_app::users::reset_password(&app, &sys, u.id, &password).await?;
            println!("已重置 {} 的密码，其所有会话已结束。", u.username);
            if generated {
                println!("新密码：{password}（登录后须修改）");
            }
        }
        UserCmd::Disable { username } => {
            let u = find_user(&app, &username).await?;
            linli_app::users::set_disabled(&app, &sys, u.id, true, "命令行停用").await?;
            println!("已停用 {}", u.username);
        }
        UserCmd::Enable { username } => {
            let u = find_user(&app, &username).await?;
            linli_app::users::set_disabled(&app, &sys, u.id, false, "命令行启用").await?;
            println!("已启用 {}", u.username);
        }
        UserCmd::Unlock { username } => {
            let u = find_user(&app, &username).await?;
            linli_app::users::unlock(&app, &sys, u.id).await?;
            println!("已解锁 {}", u.username);
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn search_reindex(cfg: Config) -> anyhow::Result<ExitCode> {
    init_tracing("warn");
    let app = open(&cfg).await?;
    let words = linli_app::search::load_dictionary(&app).await?;
    println!("词典：{words} 个本地词（单位名称、派单目录）");
    let t = std::time::Instant::now();
    let n = linli_app::search::reindex_all(&app, &|n| {
        if n % 50_000 == 0 {
            eprintln!("已重建 {n} 件");
        }
    })
    .await?;
    println!(
        "已重建 {n} 件工单的检索词（{:.1} 秒）",
        t.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

pub async fn audit_verify(cfg: Config) -> anyhow::Result<ExitCode> {
    init_tracing("warn");
    let app = open(&cfg).await?;
    let reports = linli_app::audit::verify(&app).await?;
    let mut broken = false;
    for r in &reports {
        match &r.broken {
            None => println!("链 {}：{} 条记录，完整", r.chain, r.verified),
            Some(b) => {
                broken = true;
                println!("链 {}：前 {} 条完整；首个断点：{b}", r.chain, r.verified);
            }
        }
    }
    if reports.is_empty() {
        println!("审计日志为空");
    }
    Ok(if broken {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
