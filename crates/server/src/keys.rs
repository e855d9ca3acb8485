//! `linli keys …`: the keyring that seals personal information (docs/security.md). Rotation
//! works on the key file; a keyring given in `LINLI_KEYS` is rotated by the operator's secret
//! store, so these commands refuse it.

use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use linli_app::keyring::Cipher;
use linli_app::keys::Pass;
use linli_app::keys::audit;

use crate::cli::{init_tracing, open};
use crate::config::Config;

#[derive(Subcommand)]
pub enum KeysCmd {
    /// The keys of the key file and how many sealed values each one holds.
    Status,
    /// Add a new current key (of --cipher, default the configured one), write the key file and
    /// re-encrypt every sealed value under it in batches. Old keys stay until `retire`.
    Rotate {
        /// aes-256-gcm or sm4-gcm.
        #[arg(long)]
        cipher: Option<String>,
    },
    /// After every server runs with the rotated file: re-encrypt what is still under old keys,
    /// then remove them from the file.
    Retire,
}

fn print_pass(p: &Pass) {
    for c in &p.columns {
        let keys: Vec<String> = c.by_key.iter().map(|(k, n)| format!("{k}:{n}")).collect();
        println!(
            "  {:<28} values {:>9}  resealed {:>9}  unreadable {:>5}  by key [{}]",
            c.field,
            c.values,
            c.resealed,
            c.unreadable,
            keys.join(" ")
        );
    }
}

pub async fn run(cfg: Config, action: KeysCmd) -> anyhow::Result<ExitCode> {
    init_tracing("warn");
    let src = cfg.key_source()?;
    if !matches!(action, KeysCmd::Status)
        && src.env.as_deref().is_some_and(|t| !t.trim().is_empty())
    {
        anyhow::bail!("密钥来自环境变量 LINLI_KEYS：请在密钥管理系统中轮换，或改用密钥文件");
    }
    let app = open(&cfg).await?;
    match action {
        KeysCmd::Status => {
            println!(
                "keyring: current key {} ({}), keys {:?}",
                app.keys.current(),
                app.keys.current_cipher().name(),
                app.keys.ids()
            );
            print_pass(&linli_app::keys::sweep(&app.db, &app.keys, false).await?);
        }
        KeysCmd::Rotate { cipher } => {
            let cipher = match cipher {
                Some(c) => Cipher::parse(&c).with_context(|| {
                    format!("--cipher 只能是 aes-256-gcm 或 sm4-gcm，而不是 {c}")
                })?,
                None => src.cipher,
            };
            let (ring, pass) =
                linli_app::keys::rotate(&app.db, &src.file, cipher, app.now()).await?;
            println!(
                "rotated: current key {} ({}), keys {:?}; file {}",
                ring.current(),
                cipher.name(),
                ring.ids(),
                src.file.display()
            );
            print_pass(&pass);
            println!(
                "next: restart every server with the new key file, then run `linli keys retire`"
            );
            audit(
                &app,
                "keys.rotate",
                serde_json::json!({"current": ring.current(), "cipher": cipher.name()}),
            )
            .await?;
        }
        KeysCmd::Retire => {
            let (ring, pass) = linli_app::keys::retire(&app.db, &src.file, app.now()).await?;
            println!("retired: keys now {:?}", ring.ids());
            print_pass(&pass);
            audit(
                &app,
                "keys.retire",
                serde_json::json!({"current": ring.current()}),
            )
            .await?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
