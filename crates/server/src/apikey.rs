//! `linli apikey …`: Open311 API keys from the shell, acting as the platform (for a first key
//! before any administrator has logged in, or from automation). The console page and
//! `/api/v1/open311-keys` do the same for administrators.

use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use linli_app::Ctx;
use uuid::Uuid;

use crate::cli::{init_tracing, open};
use crate::config::Config;

#[derive(Subcommand)]
pub enum ApiKeyCmd {
    /// Issue a key for receiving units (district or street codes of one district; the first is
    /// the default). The key is printed once.
    Create {
        /// Who uses it, e.g. "某某随手拍 App".
        #[arg(long)]
        name: String,
        /// Unit code (repeat for more units), e.g. --unit 110101 --unit 110101001.
        #[arg(long = "unit", required = true)]
        units: Vec<String>,
    },
    /// List the keys with their units and last use.
    List,
    /// Revoke a key by its id.
    Revoke { id: Uuid },
}

pub async fn run(cfg: Config, action: ApiKeyCmd) -> anyhow::Result<ExitCode> {
    init_tracing("warn");
    let app = open(&cfg).await?;
    let sys = linli_app::bootstrap::system_principal(&app, Ctx::cli()).await?;
    match action {
        ApiKeyCmd::Create { name, units } => {
            let mut ids = Vec::new();
            for code in &units {
                let u = linli_store::repo::org::get_by_code(&app.db, code.trim())
                    .await?
                    .with_context(|| format!("单位 {code} 不存在"))?;
                ids.push(u.id);
            }
            let (k, secret) = linli_app::open311::create_key(&app, &sys, &name, &ids).await?;
            println!("已签发 Open311 密钥“{}”（{}）", k.name, k.id);
            for u in &k.units {
                println!("  受理单位  {} {}", u.code, u.name);
            }
            println!("  api_key   {secret}");
            println!("密钥只显示这一次，请立即交给客户端管理员保存。");
        }
        ApiKeyCmd::List => {
            let keys = linli_app::open311::keys(&app, &sys).await?;
            if keys.is_empty() {
                println!("尚未签发 Open311 密钥");
            }
            for k in keys {
                let units: Vec<String> = k.units.iter().map(|u| u.code.clone()).collect();
                println!(
                    "{}  {}…  {}  单位 {}  签发 {}  最近使用 {}{}",
                    k.id,
                    k.prefix,
                    k.name,
                    units.join(","),
                    k.created_at.display_cst(),
                    k.last_used_at
                        .map(|t| t.display_cst())
                        .unwrap_or_else(|| "从未".into()),
                    if k.revoked_at.is_some() {
                        "  已吊销"
                    } else {
                        ""
                    }
                );
            }
        }
        ApiKeyCmd::Revoke { id } => {
            linli_app::open311::revoke_key(&app, &sys, id).await?;
            println!("已吊销密钥 {id}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
