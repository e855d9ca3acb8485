//! The keys that protect personal information at rest (个人信息保护法 Art. 51, GB/T 35273 §6.3,
//! 密评 for the SM4 option).
//!
//! A keyring holds numbered data keys — AES-256-GCM, or SM4-GCM where a deployment must use
//! 国密 algorithms — of which one is current, and a separate 32-byte key for blind indexes.
//! Every sealed value names the key that sealed it, so keys can be rotated while data sealed
//! under older keys stays readable ([`crate::keys`] re-encrypts it in batches). The associated
//! data binds each ciphertext to its table, column and row: a value copied into another row or
//! column does not open.
//!
//! Sealed layout: `[2][key id: u32 BE][nonce: 12][ciphertext + 16-byte tag]`.
//!
//! Blind indexes are HMAC-SHA256 under the index key, truncated to 128 bits: equal values match
//! without the value being stored. The index key is never rotated with the data keys (that would
//! recompute every index); it lives in the same file.
//!
//! The keyring is read from a JSON key file or the `LINLI_KEYS` environment variable, never from
//! the database ([`KeyFile`]); the database holds only check values ([`crate::keys`]).

use std::collections::BTreeMap;

use aes_gcm::aead::consts::U12;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, AesGcm};
use base64::Engine as _;
use hmac::Hmac;
use hmac::Mac as _;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use uuid::Uuid;

use crate::{AppError, Result};

type Sm4Gcm = AesGcm<sm4::Sm4, U12>;

const SEALED_V2: u8 = 2;
const HEADER: usize = 1 + 4 + 12;

/// A sealed column: the associated data of its values names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    pub table: &'static str,
    pub column: &'static str,
}

impl Field {
    pub const fn new(table: &'static str, column: &'static str) -> Field {
        Field { table, column }
    }

    /// `linli\0{table}\0{column}\0{row}` (the row's hyphenated UUID).
    fn aad(self, row: Uuid) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + self.table.len() + self.column.len() + 36);
        out.extend_from_slice(b"linli\0");
        out.extend_from_slice(self.table.as_bytes());
        out.push(0);
        out.extend_from_slice(self.column.as_bytes());
        out.push(0);
        out.extend_from_slice(
            row.hyphenated()
                .encode_lower(&mut Uuid::encode_buffer())
                .as_bytes(),
        );
        out
    }
}

/// The algorithms a data key may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Cipher {
    #[serde(rename = "aes-256-gcm")]
    Aes256Gcm,
    #[serde(rename = "sm4-gcm")]
    Sm4Gcm,
}

impl Cipher {
    pub fn parse(s: &str) -> Option<Cipher> {
        match s.trim().to_ascii_lowercase().as_str() {
            "aes-256-gcm" | "aes256gcm" | "aes" => Some(Cipher::Aes256Gcm),
            "sm4-gcm" | "sm4gcm" | "sm4" => Some(Cipher::Sm4Gcm),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Cipher::Aes256Gcm => "aes-256-gcm",
            Cipher::Sm4Gcm => "sm4-gcm",
        }
    }

    fn key_len(self) -> usize {
        match self {
            Cipher::Aes256Gcm => 32,
            Cipher::Sm4Gcm => 16,
        }
    }
}

enum Engine {
    Aes(Box<Aes256Gcm>),
    Sm4(Box<Sm4Gcm>),
}

impl Engine {
    fn new(cipher: Cipher, key: &[u8]) -> Option<Engine> {
        Some(match cipher {
            Cipher::Aes256Gcm => Engine::Aes(Box::new(Aes256Gcm::new_from_slice(key).ok()?)),
            Cipher::Sm4Gcm => Engine::Sm4(Box::new(Sm4Gcm::new_from_slice(key).ok()?)),
        })
    }

    fn encrypt(&self, nonce: &[u8; 12], msg: &[u8], aad: &[u8]) -> Option<Vec<u8>> {
        let p = Payload { msg, aad };
        match self {
            Engine::Aes(c) => c.encrypt(&(*nonce).into(), p).ok(),
            Engine::Sm4(c) => c.encrypt(&(*nonce).into(), p).ok(),
        }
    }

    fn decrypt(&self, nonce: &[u8; 12], msg: &[u8], aad: &[u8]) -> Option<Vec<u8>> {
        let p = Payload { msg, aad };
        match self {
            Engine::Aes(c) => c.decrypt(&(*nonce).into(), p).ok(),
            Engine::Sm4(c) => c.decrypt(&(*nonce).into(), p).ok(),
        }
    }
}

/// One data key as written in the key file.
#[derive(Clone, Serialize, Deserialize)]
pub struct KeyEntry {
    pub id: u32,
    pub cipher: Cipher,
    /// Base64 key material.
    pub key: String,
    /// When it was made (RFC 3339), for operators.
    #[serde(default)]
    pub created: String,
}

/// The key file (`keys.json`, or the text of `LINLI_KEYS`).
#[derive(Clone, Serialize, Deserialize)]
pub struct KeyFile {
    pub format: u32,
    /// Base64, 32 bytes: the blind-index key.
    pub index_key: String,
    /// The id of the key that seals new values.
    pub current: u32,
    pub keys: Vec<KeyEntry>,
}

impl std::fmt::Debug for KeyFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyFile(..)")
    }
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn random(n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    rand::fill(&mut v[..]);
    v
}

/// Key-file errors reach the operator at start, so they carry their reason (an `Internal`
/// error would show only "服务器内部错误").
fn bad_file(msg: impl Into<String>) -> AppError {
    AppError::Refused {
        key: "bad_key_file",
        message: format!("密钥文件无效：{}", msg.into()),
    }
}

struct DataKey {
    cipher: Cipher,
    engine: Engine,
}

/// The loaded keys. `Debug` shows only key ids and algorithms.
pub struct Keyring {
    file: KeyFile,
    keys: BTreeMap<u32, DataKey>,
    current: u32,
    /// HMAC-SHA256 keyed with the index key, cloned for each value: the key schedule (two
    /// SHA-256 blocks) is computed once, not per value.
    index_mac: Hmac<Sha256>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<String> = self
            .keys
            .iter()
            .map(|(id, k)| format!("{id}:{}", k.cipher.name()))
            .collect();
        write!(
            f,
            "Keyring(current {}, keys [{}])",
            self.current,
            ids.join(", ")
        )
    }
}

impl Keyring {
    /// A new keyring with one data key of `cipher` and a new index key.
    pub fn generate(cipher: Cipher, now: &str) -> Keyring {
        let file = KeyFile {
            format: 1,
            index_key: b64(&random(32)),
            current: 1,
            keys: vec![KeyEntry {
                id: 1,
                cipher,
                key: b64(&random(cipher.key_len())),
                created: now.to_string(),
            }],
        };
        // The file was just made from valid parts, so this cannot fail.
        Keyring::from_file(file).unwrap_or_else(|_| unreachable!("generated keyring is valid"))
    }

    /// A throw-away keyring for tests and benchmarks (data sealed with it dies with the process).
    pub fn ephemeral() -> Keyring {
        Keyring::generate(Cipher::Aes256Gcm, "")
    }

    pub fn from_json(text: &str) -> Result<Keyring> {
        let file: KeyFile =
            serde_json::from_str(text).map_err(|e| bad_file(format!("不是预期的 JSON（{e}）")))?;
        Keyring::from_file(file)
    }

    pub fn from_file(file: KeyFile) -> Result<Keyring> {
        if file.format != 1 {
            return Err(bad_file(format!("不支持的格式版本 {}", file.format)));
        }
        let decode = |s: &str, what: &str| {
            base64::engine::general_purpose::STANDARD
                .decode(s.trim())
                .map_err(|_| bad_file(format!("{what} 不是 base64")))
        };
        let index_key: [u8; 32] = decode(&file.index_key, "index_key")?
            .try_into()
            .map_err(|_| bad_file("index_key 必须是 32 字节"))?;
        let mut keys = BTreeMap::new();
        for e in &file.keys {
            if e.id == 0 {
                return Err(bad_file("密钥编号从 1 开始"));
            }
            let raw = decode(&e.key, &format!("密钥 {}", e.id))?;
            if raw.len() != e.cipher.key_len() {
                return Err(bad_file(format!(
                    "密钥 {} 的长度应为 {} 字节（{}）",
                    e.id,
                    e.cipher.key_len(),
                    e.cipher.name()
                )));
            }
            let engine = Engine::new(e.cipher, &raw)
                .ok_or_else(|| bad_file(format!("密钥 {} 无法使用", e.id)))?;
            if keys
                .insert(
                    e.id,
                    DataKey {
                        cipher: e.cipher,
                        engine,
                    },
                )
                .is_some()
            {
                return Err(bad_file(format!("密钥编号 {} 重复", e.id)));
            }
        }
        if !keys.contains_key(&file.current) {
            return Err(bad_file(format!("当前密钥 {} 不在文件中", file.current)));
        }
        // HMAC takes keys of any length, so this cannot fail.
        let index_mac = Hmac::<Sha256>::new_from_slice(&index_key)
            .map_err(|_| bad_file("index_key 无法使用"))?;
        Ok(Keyring {
            current: file.current,
            keys,
            index_mac,
            file,
        })
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(&self.file).unwrap_or_default()
    }

    pub fn current(&self) -> u32 {
        self.current
    }

    pub fn current_cipher(&self) -> Cipher {
        self.keys
            .get(&self.current)
            .map(|k| k.cipher)
            .unwrap_or(Cipher::Aes256Gcm)
    }

    pub fn ids(&self) -> Vec<u32> {
        self.keys.keys().copied().collect()
    }

    /// A new keyring with one more key, of `cipher`, made current. The old keys stay so that
    /// values sealed under them (and by servers not yet restarted) still open.
    pub fn rotated(&self, cipher: Cipher, now: &str) -> Result<Keyring> {
        let mut file = self.file.clone();
        let id = self.keys.keys().max().copied().unwrap_or(0) + 1;
        file.keys.push(KeyEntry {
            id,
            cipher,
            key: b64(&random(cipher.key_len())),
            created: now.to_string(),
        });
        file.current = id;
        Keyring::from_file(file)
    }

    /// The keyring without its non-current keys (after nothing uses them any more).
    pub fn retired(&self) -> Result<Keyring> {
        let mut file = self.file.clone();
        file.keys.retain(|k| k.id == self.current);
        Keyring::from_file(file)
    }

    /// Seal under the current key.
    pub fn seal(&self, field: Field, row: Uuid, plain: &str) -> Vec<u8> {
        self.seal_under(self.current, field, row, plain)
    }

    /// Seal under key `id` (the check values of [`crate::keys`] name every key).
    pub fn seal_under(&self, id: u32, field: Field, row: Uuid, plain: &str) -> Vec<u8> {
        let mut nonce = [0u8; 12];
        rand::fill(&mut nonce[..]);
        let ct = self
            .keys
            .get(&id)
            .and_then(|k| k.engine.encrypt(&nonce, plain.as_bytes(), &field.aad(row)))
            .unwrap_or_default();
        let mut out = Vec::with_capacity(HEADER + ct.len());
        out.push(SEALED_V2);
        out.extend_from_slice(&id.to_be_bytes());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        out
    }

    /// The key id a sealed value names, if it is a sealed value at all.
    pub fn key_of(sealed: &[u8]) -> Option<u32> {
        (sealed.len() > HEADER && sealed[0] == SEALED_V2)
            .then(|| u32::from_be_bytes([sealed[1], sealed[2], sealed[3], sealed[4]]))
    }

    /// Open a value sealed for `field` of `row`. A value of another row or column, a tampered
    /// one, or one under a key this ring lacks is an error, never text.
    pub fn open(&self, field: Field, row: Uuid, sealed: &[u8]) -> Result<String> {
        let bad = || AppError::Internal("sealed personal data cannot be opened".into());
        let id = Keyring::key_of(sealed).ok_or_else(bad)?;
        let key = self.keys.get(&id).ok_or_else(|| {
            AppError::Internal(format!("sealed personal data names key {id}, not loaded"))
        })?;
        let nonce: [u8; 12] = sealed[5..HEADER].try_into().map_err(|_| bad())?;
        let plain = key
            .engine
            .decrypt(&nonce, &sealed[HEADER..], &field.aad(row))
            .ok_or_else(bad)?;
        String::from_utf8(plain).map_err(|_| bad())
    }

    /// The blind index of a normalised value (hex, 128 bits).
    pub fn index(&self, value: &str) -> String {
        self.index_of(&[value.as_bytes()])
    }

    /// The blind index of the concatenation of `parts` (the same as [`Keyring::index`] of the
    /// joined text, without joining it first).
    pub fn index_of(&self, parts: &[&[u8]]) -> String {
        let mut m = self.index_mac.clone();
        for p in parts {
            m.update(p);
        }
        hex::encode(&m.finalize().into_bytes()[..16])
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const F: Field = Field::new("residents", "id_number");

    #[test]
    fn seal_open_bound_to_row_and_column() {
        for cipher in [Cipher::Aes256Gcm, Cipher::Sm4Gcm] {
            let k = Keyring::generate(cipher, "");
            let row = Uuid::now_v7();
            let a = k.seal(F, row, "11010519491231002X");
            let b = k.seal(F, row, "11010519491231002X");
            assert_ne!(a, b, "random nonces");
            assert!(!String::from_utf8_lossy(&a).contains("110105"));
            assert_eq!(k.open(F, row, &a).unwrap(), "11010519491231002X");
            assert!(
                k.open(F, Uuid::now_v7(), &a).is_err(),
                "moved to another row"
            );
            assert!(
                k.open(Field::new("residents", "phone"), row, &a).is_err(),
                "moved to another column"
            );
            let mut tampered = a.clone();
            *tampered.last_mut().unwrap() ^= 1;
            assert!(k.open(F, row, &tampered).is_err());
            let other = Keyring::generate(cipher, "");
            assert!(other.open(F, row, &a).is_err(), "another keyring");
            assert!(k.open(F, row, b"").is_err());
            assert!(k.open(F, row, &[1u8; 40]).is_err(), "old format refused");
        }
    }

    #[test]
    fn rotation_keeps_old_values_readable() {
        let k1 = Keyring::generate(Cipher::Aes256Gcm, "");
        let row = Uuid::now_v7();
        let old = k1.seal(F, row, "13812345678");
        let k2 = Keyring::from_json(&k1.rotated(Cipher::Sm4Gcm, "").unwrap().to_json()).unwrap();
        assert_eq!(k2.current(), 2);
        assert_eq!(k2.current_cipher(), Cipher::Sm4Gcm);
        assert_eq!(k2.open(F, row, &old).unwrap(), "13812345678");
        let new = k2.seal(F, row, "13812345678");
        assert_eq!(Keyring::key_of(&new), Some(2));
        assert_eq!(Keyring::key_of(&old), Some(1));
        assert_eq!(
            k1.index("x"),
            k2.index("x"),
            "the index key survives rotation"
        );
        let k3 = k2.retired().unwrap();
        assert_eq!(k3.ids(), vec![2]);
        assert!(k3.open(F, row, &old).is_err());
        assert_eq!(k3.open(F, row, &new).unwrap(), "13812345678");
    }

    #[test]
    fn bad_files_are_refused_clearly() {
        let good: KeyFile = serde_json::from_str(&Keyring::ephemeral().to_json()).unwrap();
        let mut wrong_len = good.clone();
        wrong_len.keys[0].cipher = Cipher::Sm4Gcm;
        let mut missing_current = good.clone();
        missing_current.current = 9;
        let mut dup = good.clone();
        dup.keys.push(dup.keys[0].clone());
        let mut short_index = good.clone();
        short_index.index_key = b64(&[1u8; 8]);
        for f in [wrong_len, missing_current, dup, short_index] {
            let e = Keyring::from_file(f).unwrap_err().to_string();
            assert!(e.contains("密钥文件无效"), "{e}");
        }
        assert!(Keyring::from_json("not json").is_err());
        assert!(!format!("{:?}", Keyring::ephemeral()).contains(&good.keys[0].key));
    }

    #[test]
    fn index_is_stable_and_keyed() {
        let k = Keyring::ephemeral();
        assert_eq!(k.index("13812345678"), k.index("13812345678"));
        assert_ne!(k.index("13812345678"), k.index("13812345679"));
        assert_ne!(
            Keyring::ephemeral().index("13812345678"),
            k.index("13812345678")
        );
        assert_eq!(k.index("a").len(), 32);
        assert_eq!(k.index("id\u{0}x"), k.index_of(&[b"id\0", b"x"]));
        let row = Uuid::now_v7();
        assert_eq!(
            F.aad(row),
            format!("linli\u{0}residents\u{0}id_number\u{0}{row}").into_bytes(),
            "the associated data of values sealed before stays the same"
        );
    }
}
