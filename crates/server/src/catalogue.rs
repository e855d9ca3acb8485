//! `linli catalogue …`: import a dispatch catalogue file as a new version, export a version,
//! list versions. Runs as the system principal (whoever controls the server), audited as
//! `system`.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use linli_app::catalogue::{self as cat, FileFormat};
use linli_app::{App, Ctx, Principal};
use linli_domain::org::OrgKind;

use crate::cli::{init_tracing, open};
use crate::config::Config;

#[derive(Subcommand)]
pub enum CatalogueCmd {
    /// Import a CSV or xlsx file (layouts: docs/catalogue.md) as a new version.
    Import {
        file: PathBuf,
        /// District code (6 digits); may be left out when the database holds one district.
        #[arg(long)]
        tenant: Option<String>,
        /// Make it the active version at once (otherwise it is a draft).
        #[arg(long)]
        activate: bool,
        /// A note kept with the version.
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Write a version in the full layout (re-importable).
    Export {
        #[arg(long)]
        tenant: Option<String>,
        /// csv or xlsx.
        #[arg(long, default_value = "csv")]
        format: String,
        /// Version number; default: the active version.
        #[arg(long)]
        version: Option<i64>,
        /// Output file; default: standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// List the versions, newest first.
    List {
        #[arg(long)]
        tenant: Option<String>,
    },
}

/// The tenant given, or the only district in the database.
async fn tenant_or_only(app: &App, t: Option<String>) -> anyhow::Result<String> {
    if let Some(t) = t {
        return Ok(t.trim().to_string());
    }
    let districts = linli_store::repo::org::list(
        &app.db,
        &linli_domain::auth::ScopeFilter::everything(),
        &linli_store::repo::org::ListQuery {
            kind: Some(OrgKind::District),
            limit: 2,
            ..Default::default()
        },
    )
    .await?;
    match districts.as_slice() {
        [only] => Ok(only.code.clone()),
        _ => anyhow::bail!("请用 --tenant 指定区县代码（6 位）"),
    }
}

async fn system(app: &App) -> anyhow::Result<Principal> {
    Ok(linli_app::bootstrap::system_principal(app, Ctx::cli()).await?)
}

pub async fn run(cfg: Config, action: CatalogueCmd) -> anyhow::Result<ExitCode> {
    init_tracing("warn");
    let app = open(&cfg).await?;
    let sys = system(&app).await?;
    match action {
        CatalogueCmd::Import {
            file,
            tenant,
            activate,
            note,
        } => {
            let tenant = tenant_or_only(&app, tenant).await?;
            let meta =
                std::fs::metadata(&file).with_context(|| format!("无法读取 {}", file.display()))?;
            if meta.len() > linli_domain::catalogue::MAX_FILE_BYTES as u64 {
                anyhow::bail!(
                    "文件超过 {} MB",
                    linli_domain::catalogue::MAX_FILE_BYTES >> 20
                );
            }
            let bytes =
                std::fs::read(&file).with_context(|| format!("无法读取 {}", file.display()))?;
            let name = file
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            let i = cat::import(
                &app,
                &sys,
                cat::ImportInput {
                    tenant: &tenant,
                    bytes: &bytes,
                    file_name: &name,
                    note: &note,
                    activate,
                },
            )
            .await?;
            println!(
                "已导入区县 {tenant} 派单目录第 {} 版：{} 个一级分类、{} 个二级分类、{} 个条目（{}）",
                i.version.version,
                i.counts.0,
                i.counts.1,
                i.counts.2,
                if activate {
                    "已启用"
                } else {
                    "草稿；启用请在控制台或接口操作"
                }
            );
        }
        CatalogueCmd::Export {
            tenant,
            format,
            version,
            out,
        } => {
            let tenant = tenant_or_only(&app, tenant).await?;
            let format = FileFormat::parse(&format)
                .ok_or_else(|| anyhow::anyhow!("--format 只能是 csv 或 xlsx"))?;
            let versions = cat::versions(&app, &sys, &tenant, None, 200).await?;
            let v = match version {
                Some(n) => versions.iter().find(|v| v.version == n),
                None => versions.iter().find(|v| v.status == "active"),
            }
            .ok_or_else(|| match version {
                Some(n) => anyhow::anyhow!("区县 {tenant} 没有第 {n} 版派单目录"),
                None => anyhow::anyhow!("区县 {tenant} 没有启用中的派单目录"),
            })?;
            let (v, bytes) = cat::export(&app, &sys, &tenant, v.id, format).await?;
            match out {
                Some(path) => {
                    std::fs::write(&path, &bytes)
                        .with_context(|| format!("无法写入 {}", path.display()))?;
                    eprintln!(
                        "已导出区县 {tenant} 派单目录第 {} 版（{} 个节点）到 {}",
                        v.version,
                        v.item_count,
                        path.display()
                    );
                }
                None => {
                    let mut stdout = std::io::stdout();
                    if format == FileFormat::Xlsx && stdout.is_terminal() {
                        anyhow::bail!("xlsx 是二进制文件，请用 --out 指定输出文件");
                    }
                    stdout.write_all(&bytes)?;
                    stdout.flush()?;
                }
            }
        }
        CatalogueCmd::List { tenant } => {
            let tenant = tenant_or_only(&app, tenant).await?;
            let versions = cat::versions(&app, &sys, &tenant, None, 200).await?;
            if versions.is_empty() {
                println!("区县 {tenant} 尚无派单目录");
            }
            for v in versions {
                println!(
                    "第 {:>3} 版  {:<8} {:>6} 个节点  导入于 {}  来源 {}{}",
                    v.version,
                    v.status,
                    v.item_count,
                    v.created_at.display_cst(),
                    v.source,
                    if v.note.is_empty() {
                        String::new()
                    } else {
                        format!("  说明 {}", v.note)
                    }
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
