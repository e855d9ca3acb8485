//! Blob storage: the bytes of attachments, kept outside the database.
//!
//! Two backends behind one enum: [`FsStore`], files under `<data_dir>/attachments/`, and
//! [`S3Store`], any S3-compatible object store. Keys are content-addressed,
//! `<tenant>/<sha256[0..2]>/<sha256>` (see [`content_key`]), so identical content is stored once
//! per tenant and a blob written twice is the same blob. Which rows refer to a blob is the
//! database's business; this module only moves bytes, and callers verify what comes back
//! against the hash they recorded.

mod s3;

use std::path::{Path, PathBuf};

pub use s3::S3Store;

use crate::AppError;
use crate::config::{AttachmentsConfig, BlobBackend};

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("blob not found")]
    NotFound,
    #[error("invalid blob key")]
    BadKey,
    #[error("blob store I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The object store answered with an error or could not be reached; carries the status and
    /// the S3 error code, never credentials.
    #[error("object store error: {0}")]
    Remote(String),
    #[error("blob store misconfigured: {0}")]
    Config(String),
}

impl From<BlobError> for AppError {
    fn from(e: BlobError) -> Self {
        AppError::Internal(e.to_string())
    }
}

/// Where attachment bytes live. Cheap to share behind an `Arc`.
#[derive(Debug)]
pub enum BlobStore {
    Fs(FsStore),
    S3(S3Store),
}

impl BlobStore {
    /// A filesystem store rooted at `root` (created on first write).
    pub fn fs(root: impl Into<PathBuf>) -> BlobStore {
        BlobStore::Fs(FsStore { root: root.into() })
    }

    /// The store the `[attachments]` section asks for; `data_dir` roots the default `fs` store.
    pub fn from_config(cfg: &AttachmentsConfig, data_dir: &Path) -> Result<BlobStore, BlobError> {
        match cfg.store {
            BlobBackend::Fs => {
                let root = if cfg.dir.is_empty() {
                    data_dir.join("attachments")
                } else {
                    PathBuf::from(&cfg.dir)
                };
                Ok(BlobStore::fs(root))
            }
            BlobBackend::S3 => Ok(BlobStore::S3(S3Store::new(&cfg.s3)?)),
        }
    }

    /// Check at start-up that the store can be used: the directory exists or can be created.
    /// (An S3 store is not contacted here, so a store that is briefly down does not stop the
    /// platform from starting; uploads fail with an error until it is back.)
    pub async fn prepare(&self) -> Result<(), BlobError> {
        match self {
            BlobStore::Fs(fs) => {
                let root = fs.root.clone();
                blocking(move || std::fs::create_dir_all(&root).map_err(BlobError::from)).await
            }
            BlobStore::S3(_) => Ok(()),
        }
    }

    /// Store `bytes` under `key`. Writing the same content to the same key again is harmless.
    pub async fn put(&self, key: &str, bytes: &[u8]) -> Result<(), BlobError> {
        check_key(key)?;
        match self {
            BlobStore::Fs(fs) => fs.put(key, bytes.to_vec()).await,
            BlobStore::S3(s3) => s3.put(key, bytes).await,
        }
    }

    pub async fn get(&self, key: &str) -> Result<Vec<u8>, BlobError> {
        check_key(key)?;
        match self {
            BlobStore::Fs(fs) => fs.get(key).await,
            BlobStore::S3(s3) => s3.get(key).await,
        }
    }

    /// Remove a blob; removing one that is not there is not an error. Content is shared by
    /// every row with the same hash in a tenant: delete only when no row refers to it.
    pub async fn delete(&self, key: &str) -> Result<(), BlobError> {
        check_key(key)?;
        match self {
            BlobStore::Fs(fs) => fs.delete(key).await,
            BlobStore::S3(s3) => s3.delete(key).await,
        }
    }

    /// Short name for logs and the start-up banner.
    pub fn describe(&self) -> String {
        match self {
            BlobStore::Fs(fs) => format!("fs {}", fs.root.display()),
            BlobStore::S3(s3) => format!("s3 {}", s3.describe()),
        }
    }
}

/// `<tenant>/<sha256[0..2]>/<sha256>`: the key of content with this lower-case hex SHA-256.
/// The two-character fan-out keeps directories (and S3 listings) small.
pub fn content_key(tenant: &str, sha256_hex: &str) -> Result<String, BlobError> {
    let tenant_ok = !tenant.is_empty()
        && tenant.len() <= 64
        && tenant
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    let hash_ok = sha256_hex.len() == 64
        && sha256_hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if !tenant_ok || !hash_ok {
        return Err(BlobError::BadKey);
    }
    Ok(format!("{tenant}/{}/{sha256_hex}", &sha256_hex[..2]))
}

/// Keys are relative paths of plain segments: no empty, `.` or `..` segment, no leading slash,
/// only ASCII letters, digits, `-`, `_` and `.`. Both backends rely on this (a key can never
/// leave the store's directory, and never needs escaping beyond the S3 rules).
fn check_key(key: &str) -> Result<(), BlobError> {
    let ok = !key.is_empty()
        && key.len() <= 512
        && key.split('/').all(|seg| {
            !seg.is_empty()
                && seg != "."
                && seg != ".."
                && !seg.starts_with(".tmp-")
                && seg
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        });
    if ok { Ok(()) } else { Err(BlobError::BadKey) }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, BlobError> + Send + 'static,
) -> Result<T, BlobError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| BlobError::Io(std::io::Error::other(e.to_string())))?
}

/// Files under a root directory, one file per key.
#[derive(Debug)]
pub struct FsStore {
    root: PathBuf,
}

impl FsStore {
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path(&self, key: &str) -> PathBuf {
        key.split('/').fold(self.root.clone(), |p, seg| p.join(seg))
    }

    /// Write through a temporary file in the target directory, flushed to disk and then renamed
    /// over the key: a reader, or a crash, sees the whole old file or the whole new one, never a
    /// part. The directory is flushed too, so the rename itself survives a power loss. When the
    /// key already holds exactly these bytes nothing is written (identical content is stored
    /// once); if it holds anything else (a damaged copy) it is replaced.
    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), BlobError> {
        let path = self.path(key);
        blocking(move || {
            match std::fs::read(&path) {
                Ok(existing) if existing == bytes => return Ok(()),
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
            let dir = path.parent().ok_or(BlobError::BadKey)?.to_path_buf();
            std::fs::create_dir_all(&dir)?;
            let tmp = dir.join(format!(".tmp-{}", uuid::Uuid::now_v7().simple()));
            let written = write_synced(&tmp, &bytes).and_then(|()| std::fs::rename(&tmp, &path));
            if let Err(e) = written {
                let _ = std::fs::remove_file(&tmp);
                return Err(e.into());
            }
            sync_dir(&dir)?;
            Ok(())
        })
        .await
    }

    async fn get(&self, key: &str) -> Result<Vec<u8>, BlobError> {
        let path = self.path(key);
        blocking(move || match std::fs::read(&path) {
            Ok(b) => Ok(b),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(BlobError::NotFound),
            Err(e) => Err(e.into()),
        })
        .await
    }

    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        let path = self.path(key);
        blocking(move || match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        })
        .await
    }
}

fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// Windows cannot open a directory as a file; NTFS journals the rename itself.
#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    const HASH: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    #[test]
    fn content_keys_fan_out_by_hash_and_refuse_odd_input() {
        assert_eq!(
            content_key("110101", HASH).unwrap(),
            format!("110101/9f/{HASH}")
        );
        assert!(content_key("", HASH).is_err());
        assert!(content_key("../x", HASH).is_err());
        assert!(content_key("110101", "abc").is_err());
        assert!(content_key("110101", &HASH.to_uppercase()).is_err());
        for bad in [
            "", "/abs", "a//b", "a/../b", "a/./b", "a/b/", "a\\b", "a/b c", "a/.tmp-x",
        ] {
            assert!(check_key(bad).is_err(), "{bad:?}");
        }
        assert!(check_key("110101/9f/abc.v1").is_ok());
    }

    #[tokio::test]
    async fn fs_store_writes_whole_files_once_and_repairs_damaged_ones() {
        let root = std::env::temp_dir().join(format!("linli-blobs-{}", uuid::Uuid::now_v7()));
        let store = BlobStore::fs(&root);
        store.prepare().await.unwrap();
        let key = content_key("110101", HASH).unwrap();
        assert!(matches!(store.get(&key).await, Err(BlobError::NotFound)));

        store.put(&key, b"test").await.unwrap();
        let path = root.join("110101").join("9f").join(HASH);
        assert_eq!(std::fs::read(&path).unwrap(), b"test");
        let modified = std::fs::metadata(&path).unwrap().modified().unwrap();

        // Same content again: the file is left as it is.
        store.put(&key, b"test").await.unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().modified().unwrap(),
            modified
        );

        // A damaged copy is replaced by a put of the right content.
        std::fs::write(&path, b"tampered").unwrap();
        store.put(&key, b"test").await.unwrap();
        assert_eq!(store.get(&key).await.unwrap(), b"test");

        // No temporary files are left behind.
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from(HASH)]);

        store.delete(&key).await.unwrap();
        store.delete(&key).await.unwrap();
        assert!(matches!(store.get(&key).await, Err(BlobError::NotFound)));
        assert!(matches!(
            store.put("../escape", b"x").await,
            Err(BlobError::BadKey)
        ));
        std::fs::remove_dir_all(&root).unwrap();
    }
}
