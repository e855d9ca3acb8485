//! The keyring's life: where it is read from at start, the checks that stop a server whose key
//! file is missing or wrong, and rotation (`linli keys rotate|retire|status`).
//!
//! Start ([`open`]): `LINLI_KEYS` (the key file's JSON text) wins, else the key file (default
//! `<data_dir>/keys.json`). A key file is made (0600) only when the database has never held a
//! check value — on a database that has, a missing file is an error, because a new key would
//! leave every sealed value unreadable. Then every check value the database holds must open
//! under the loaded keys ([`verify`]), and keys the database has not seen get theirs.
//!
//! Rotation: `rotate` adds a key, makes it current, writes the file and re-encrypts every
//! sealed column ([`crate::pi::SEALED`]) in batches; servers still running with the old file
//! keep sealing under the old key, which stays in the file. Once all servers have been
//! restarted with the new file, `retire` re-encrypts what they sealed meanwhile and removes the
//! old keys from the file and their check values from the database.

use std::path::{Path, PathBuf};

use linli_domain::Ts;
use linli_store::Db;
use linli_store::repo::keys as repo;
use uuid::Uuid;

use crate::keyring::{Cipher, Field, Keyring};
use crate::{AppError, Result, pi};

const CHECK_FIELD: Field = Field::new("key_checks", "check_value");
const CHECK_TEXT: &str = "linli-key-check";
/// Values re-encrypted per round trip during rotation.
pub const BATCH: i64 = 500;

/// Errors an operator must read at start or in the shell, with their reason.
fn fail(message: String) -> AppError {
    AppError::Refused {
        key: "keyring",
        message,
    }
}

/// Where the keyring comes from.
#[derive(Debug, Clone)]
pub struct Source {
    /// The text of `LINLI_KEYS`, when set.
    pub env: Option<String>,
    pub file: PathBuf,
    /// The algorithm of a key made here (first start, rotation).
    pub cipher: Cipher,
    /// The single-secret key file of versions before the keyring (`<data_dir>/pi.key`).
    pub legacy: Option<PathBuf>,
}

/// Read the keyring for a server, making one only for a database that never had one.
pub async fn open(db: &Db, src: &Source, now: Ts) -> Result<Keyring> {
    let ring = if let Some(text) = src.env.as_deref().filter(|t| !t.trim().is_empty()) {
        Keyring::from_json(text).map_err(|e| fail(format!("LINLI_KEYS：{e}")))?
    } else if src.file.exists() {
        read_file(&src.file)?
    } else if !repo::checks(db).await?.is_empty() {
        return Err(fail(format!(
            "找不到密钥文件 {}：数据库中已有用它加密的个人信息，不能生成新密钥。\
             请恢复该文件（或设置 LINLI_KEYS）后再启动。",
            src.file.display()
        )));
    } else if let Some(old) = src.legacy.as_ref().filter(|p| p.exists()) {
        return Err(fail(format!(
            "数据目录中有旧版本的密钥文件 {}，其加密的数据本版本不能读取。\
             演示数据请删除数据目录后重新运行；生产数据请联系维护者迁移。",
            old.display()
        )));
    } else {
        let ring = Keyring::generate(src.cipher, &now.rfc3339());
        create_file(&src.file, &ring)?;
        tracing::info!(file = %src.file.display(), "created a new keyring");
        ring
    };
    verify(db, &ring, now).await?;
    Ok(ring)
}

pub fn read_file(path: &Path) -> Result<Keyring> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| fail(format!("无法读取密钥文件 {}：{e}", path.display())))?;
    Keyring::from_json(&text).map_err(|e| fail(format!("{}：{e}", path.display())))
}

fn options() -> std::fs::OpenOptions {
    let mut o = std::fs::OpenOptions::new();
    o.write(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    o
}

fn create_file(path: &Path, ring: &Keyring) -> Result<()> {
    use std::io::Write as _;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| fail(format!("无法创建目录 {}：{e}", dir.display())))?;
    }
    let mut f = options()
        .create_new(true)
        .open(path)
        .map_err(|e| fail(format!("无法创建密钥文件 {}：{e}", path.display())))?;
    f.write_all(ring.to_json().as_bytes())
        .and_then(|_| f.sync_all())
        .map_err(|e| fail(format!("无法写入密钥文件 {}：{e}", path.display())))
}

/// Replace the key file atomically (a crash leaves the old file or the new one, never half).
pub fn replace_file(path: &Path, ring: &Keyring) -> Result<()> {
    use std::io::Write as _;
    let tmp = path.with_extension("json.tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut f = options()
        .create_new(true)
        .open(&tmp)
        .map_err(|e| fail(format!("无法写入 {}：{e}", tmp.display())))?;
    f.write_all(ring.to_json().as_bytes())
        .and_then(|_| f.sync_all())
        .map_err(|e| fail(format!("无法写入 {}：{e}", tmp.display())))?;
    std::fs::rename(&tmp, path)
        .map_err(|e| fail(format!("无法替换密钥文件 {}：{e}", path.display())))
}

fn check_row(id: u32) -> Uuid {
    Uuid::from_u128(u128::from(id))
}

/// Every check value the database holds must open under `ring`; keys it has not seen get one.
pub async fn verify(db: &Db, ring: &Keyring, now: Ts) -> Result<()> {
    let checks = repo::checks(db).await?;
    let index_check = ring.index(CHECK_TEXT).into_bytes();
    for c in &checks {
        let ok = if c.key_id == 0 {
            c.value == index_check
        } else if ring.ids().contains(&c.key_id) {
            ring.open(CHECK_FIELD, check_row(c.key_id), &c.value)
                .is_ok_and(|t| t == CHECK_TEXT)
        } else {
            return Err(fail(format!(
                "密钥文件缺少密钥 {}：数据库中有用它加密的个人信息。请使用包含该密钥的密钥文件。",
                c.key_id
            )));
        };
        if !ok {
            let which = if c.key_id == 0 {
                "索引密钥".to_string()
            } else {
                format!("密钥 {}", c.key_id)
            };
            return Err(fail(format!(
                "密钥文件与数据库不符：{which}不是加密这些数据的密钥。拒绝启动，以免把密文当作明文或用错密钥加密。"
            )));
        }
    }
    if !checks.iter().any(|c| c.key_id == 0) {
        repo::insert_check(db, 0, &index_check, now).await?;
    }
    for id in ring.ids() {
        if !checks.iter().any(|c| c.key_id == id) {
            let v = ring.seal_under(id, CHECK_FIELD, check_row(id), CHECK_TEXT);
            repo::insert_check(db, id, &v, now).await?;
        }
    }
    Ok(())
}

/// How many values one pass found and changed, per sealed column.
#[derive(Debug, Default, Clone)]
pub struct Pass {
    pub columns: Vec<ColumnPass>,
}

#[derive(Debug, Default, Clone)]
pub struct ColumnPass {
    /// `table.column`.
    pub field: String,
    pub values: u64,
    pub resealed: u64,
    /// Values under each key id before the pass.
    pub by_key: std::collections::BTreeMap<u32, u64>,
    /// Values that did not open (wrong row binding, unknown key): left as they are.
    pub unreadable: u64,
}

impl Pass {
    pub fn not_current(&self, current: u32) -> u64 {
        self.columns
            .iter()
            .map(|c| {
                c.by_key
                    .iter()
                    .filter(|(k, _)| **k != current)
                    .map(|(_, n)| n)
                    .sum::<u64>()
                    - c.resealed
            })
            .sum()
    }
}

/// Walk every sealed column; with `reseal`, re-encrypt under the current key each value sealed
/// under another. A value changed meanwhile by a use case is left to that write.
pub async fn sweep(db: &Db, ring: &Keyring, reseal: bool) -> Result<Pass> {
    let mut pass = Pass::default();
    for f in pi::SEALED {
        let mut col = ColumnPass {
            field: format!("{}.{}", f.table, f.column),
            ..Default::default()
        };
        let mut after = None;
        loop {
            let batch = repo::sealed_batch(db, f.table, f.column, after, BATCH).await?;
            let Some(last) = batch.last() else { break };
            after = Some(last.0);
            for (id, v) in &batch {
                col.values += 1;
                let key = Keyring::key_of(v).unwrap_or(0);
                *col.by_key.entry(key).or_default() += 1;
                if key == ring.current() || !reseal {
                    continue;
                }
                match ring.open(*f, *id, v) {
                    Ok(plain) => {
                        let new = ring.seal(*f, *id, &plain);
                        if repo::reseal(db, f.table, f.column, *id, v, &new).await? {
                            col.resealed += 1;
                        }
                    }
                    Err(_) => col.unreadable += 1,
                }
            }
        }
        pass.columns.push(col);
    }
    Ok(pass)
}

/// `linli keys rotate`: a new current key of `cipher`, then every value re-encrypted under it.
pub async fn rotate(db: &Db, path: &Path, cipher: Cipher, now: Ts) -> Result<(Keyring, Pass)> {
    let old = read_file(path)?;
    verify(db, &old, now).await?;
    let ring = old.rotated(cipher, &now.rfc3339())?;
    // The database learns the new key before any value is sealed under it.
    verify(db, &ring, now).await?;
    replace_file(path, &ring)?;
    let pass = sweep(db, &ring, true).await?;
    Ok((ring, pass))
}

/// `linli keys retire`: re-encrypt what is still under old keys, then drop them — refused while
/// any value would be left unreadable.
pub async fn retire(db: &Db, path: &Path, now: Ts) -> Result<(Keyring, Pass)> {
    let ring = read_file(path)?;
    verify(db, &ring, now).await?;
    let pass = sweep(db, &ring, true).await?;
    let left = pass.not_current(ring.current());
    if left > 0 {
        return Err(fail(format!(
            "仍有 {left} 个值不在当前密钥下（无法解密或被并发修改），未移除旧密钥；请检查后重试。"
        )));
    }
    let retired = ring.retired()?;
    replace_file(path, &retired)?;
    for id in ring.ids() {
        if id != retired.current() {
            repo::delete_check(db, id).await?;
        }
    }
    Ok((retired, pass))
}

/// Record a keyring change made from the shell in the platform's audit chain.
pub async fn audit(app: &crate::App, action: &str, detail: serde_json::Value) -> Result<()> {
    use crate::audit::{Actor, Event, record};
    let sys = crate::bootstrap::system_principal(app, crate::Ctx::cli()).await?;
    let now = app.now();
    write_tx!(app, |tx| {
        record(
            &mut tx,
            now,
            Actor::from(&sys),
            Event::ok(action, "keyring", "keys").detail(detail.clone()),
        )
        .await?;
    })?;
    Ok(())
}
