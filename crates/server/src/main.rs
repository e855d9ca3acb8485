//! `linli` — the one binary: serve, migrate, import divisions, manage users and the dispatch
//! catalogue, verify the audit trail, classify request text, benchmark. Run `linli --help`.
#![forbid(unsafe_code)]

mod address;
mod apikey;
mod bench;
mod catalogue;
mod classify;
mod cli;
mod config;
mod duplicates;
mod keys;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "linli", version, about = "邻里 Linli — 社区综合管理服务平台")]
struct Cli {
    /// Configuration file (TOML); see config/linli.example.toml.
    #[arg(long, global = true, env = "LINLI_CONFIG")]
    config: Option<PathBuf>,
    /// Where local data lives (SQLite database by default).
    #[arg(long, global = true, env = "LINLI_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// sqlite://… or postgres://… (default: sqlite://<data-dir>/linli.db).
    #[arg(long, global = true, env = "LINLI_DATABASE_URL")]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the platform (creates and migrates the database on first start).
    Serve {
        /// Address to listen on.
        #[arg(long, env = "LINLI_LISTEN")]
        listen: Option<String>,
        /// Load the demo district 北京市东城区 with grids, departments and demo accounts.
        #[arg(long)]
        demo: bool,
    },
    /// Create or upgrade the database schema and exit.
    Migrate,
    /// Import reference data.
    Import {
        #[command(subcommand)]
        what: ImportCmd,
    },
    /// Manage staff accounts from the shell.
    User {
        #[command(subcommand)]
        action: cli::UserCmd,
    },
    /// The dispatch catalogue (派单目录): import, export, list versions.
    Catalogue {
        #[command(subcommand)]
        action: catalogue::CatalogueCmd,
    },
    /// Open311 API keys for outside 311 clients: create, list, revoke.
    Apikey {
        #[command(subcommand)]
        action: apikey::ApiKeyCmd,
    },
    /// The keyring that seals personal information: status, rotate, retire (docs/security.md).
    Keys {
        #[command(subcommand)]
        action: keys::KeysCmd,
    },
    /// The audit trail.
    Audit {
        #[command(subcommand)]
        action: AuditCmd,
    },
    /// Request-text classifier: train, eval, predict, cv, prepare, bench (docs/classify.md).
    Classify {
        #[command(subcommand)]
        action: classify::ClassifyCmd,
    },
    /// The full-text search index of cases (docs/search.md).
    Search {
        #[command(subcommand)]
        action: SearchCmd,
    },
    /// Duplicate detection: measure its text similarity on labelled pairs (docs/duplicates.md).
    Duplicates {
        #[command(subcommand)]
        action: duplicates::DuplicatesCmd,
    },
    /// Address resolution to division codes: resolve, eval, bench (docs/address.md).
    Address {
        #[command(subcommand)]
        action: address::AddressCmd,
    },
    /// Benchmarks against a baseline measured in the same run (see docs/benchmarks.md). Each
    /// works on a fresh database: a temporary SQLite file by default, or a new database on the
    /// PostgreSQL server of --database-url (created and dropped).
    Bench {
        #[command(subcommand)]
        what: bench::BenchCmd,
    },
}

#[derive(Subcommand)]
enum ImportCmd {
    /// National statistical divisions (provinces/cities/areas/streets/villages CSV files).
    Divisions {
        /// Directory with provinces.csv, cities.csv, areas.csv, streets.csv, villages.csv[.gz].
        dir: PathBuf,
    },
    /// A year's public holidays and make-up working days (`date,kind,name` CSV, as the State
    /// Council notice of each November gives them); every year in the file is replaced whole.
    Calendar {
        /// The CSV file.
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum SearchCmd {
    /// Rewrite every case's search terms with the current dictionary (org units and catalogue
    /// terms), e.g. after importing many new units or a new catalogue.
    Reindex,
}

#[derive(Subcommand)]
enum AuditCmd {
    /// Walk every hash chain and report the first broken link. Exit code 1 if any is broken.
    Verify,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let bench_url = cli.database_url.clone();
    let mut cfg = match config::Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("配置错误：{e:#}");
            return std::process::ExitCode::from(2);
        }
    };
    if let Some(d) = cli.data_dir {
        cfg.data_dir = d;
    }
    if let Some(u) = cli.database_url {
        cfg.database_url = u;
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start runtime: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let result = rt.block_on(async move {
        match cli.command {
            Command::Serve { listen, demo } => {
                if let Some(l) = listen {
                    cfg.listen = l;
                }
                cli::serve(cfg, demo).await
            }
            Command::Migrate => cli::migrate(cfg).await,
            Command::Import {
                what: ImportCmd::Divisions { dir },
            } => cli::import_divisions(cfg, &dir).await,
            Command::Import {
                what: ImportCmd::Calendar { file },
            } => cli::import_calendar(cfg, &file).await,
            Command::User { action } => cli::user(cfg, action).await,
            Command::Catalogue { action } => catalogue::run(cfg, action).await,
            Command::Apikey { action } => apikey::run(cfg, action).await,
            Command::Keys { action } => keys::run(cfg, action).await,
            Command::Audit {
                action: AuditCmd::Verify,
            } => cli::audit_verify(cfg).await,
            Command::Search {
                action: SearchCmd::Reindex,
            } => cli::search_reindex(cfg).await,
            Command::Bench { what } => bench::run(what, bench_url).await,
            Command::Classify { action } => classify::run(action),
            Command::Address { action } => address::run(action),
            Command::Duplicates { action } => duplicates::run(action),
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("错误：{e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
