//! The keyring against a real database: a server with a missing or wrong key file stops; a
//! rotation re-encrypts every sealed value and the old values still open until retired.

use linli_app::keyring::{Cipher, Keyring};
use linli_app::keys::{self, Source};
use linli_app::pi;
use linli_store::repo::keys as repo;
use linli_testkit::{T0, TempDir, TestDb};
use uuid::Uuid;

async fn secret(db: &linli_store::Db, id: Uuid) -> Vec<u8> {
    db.fetch_all(
        "SELECT secret FROM webhooks WHERE id = $1",
        linli_store::args![id],
        |r| r.bytes("secret"),
    )
    .await
    .unwrap()
    .remove(0)
}

fn source(dir: &TempDir) -> Source {
    Source {
        env: None,
        file: dir.path().join("keys.json"),
        cipher: Cipher::Aes256Gcm,
        legacy: Some(dir.path().join("pi.key")),
    }
}

#[tokio::test]
async fn missing_or_wrong_keys_stop_the_start() {
    let t = TestDb::new().await;
    let dir = TempDir::new("keys");
    let src = source(&dir);
    let ring = keys::open(&t.db, &src, T0).await.unwrap();
    assert!(src.file.exists(), "first start makes the key file");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&src.file).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the key file is private");
    }
    // A second start reads the same file.
    let again = keys::open(&t.db, &src, T0).await.unwrap();
    assert_eq!(again.index("x"), ring.index("x"));

    // The file is lost: the database has check values, so no new key is made.
    std::fs::remove_file(&src.file).unwrap();
    let e = keys::open(&t.db, &src, T0).await.unwrap_err().to_string();
    assert!(e.contains("找不到密钥文件"), "{e}");
    assert!(!src.file.exists());

    // Another keyring (in the environment) is refused.
    let other = Source {
        env: Some(Keyring::ephemeral().to_json()),
        ..source(&dir)
    };
    let e = keys::open(&t.db, &other, T0).await.unwrap_err().to_string();
    assert!(e.contains("密钥文件与数据库不符"), "{e}");

    // A damaged file is refused with the reason.
    std::fs::write(&src.file, "{\"format\":1").unwrap();
    let e = keys::open(&t.db, &src, T0).await.unwrap_err().to_string();
    assert!(e.contains("密钥文件无效"), "{e}");

    // The right keyring through the environment is fine.
    let right = Source {
        env: Some(ring.to_json()),
        ..source(&dir)
    };
    keys::open(&t.db, &right, T0).await.unwrap();
}

#[tokio::test]
async fn a_fresh_database_refuses_an_old_single_secret_file() {
    let t = TestDb::new().await;
    let dir = TempDir::new("keys-legacy");
    std::fs::write(dir.path().join("pi.key"), "MDEy").unwrap();
    let e = keys::open(&t.db, &source(&dir), T0)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("旧版本的密钥文件"), "{e}");
}

#[tokio::test]
async fn rotation_reseals_everything_and_retire_drops_old_keys() {
    let t = TestDb::new().await;
    let dir = TempDir::new("keys-rotate");
    let src = source(&dir);
    let ring = keys::open(&t.db, &src, T0).await.unwrap();
    // Sealed values in a sealed column (webhook secrets need only a row of their own).
    let mut ids = Vec::new();
    for i in 0..1203 {
        let id = Uuid::now_v7();
        let sealed = ring.seal(pi::WEBHOOK_SECRET, id, &format!("whsec_{i}"));
        t.db.execute(
            "INSERT INTO webhooks (tenant, id, unit_id, name, url, secret, topics, active, created_by, created_at) \
             VALUES ('110101', $1, $2, 'w', 'https://example.invalid/h', $3, '', TRUE, $2, 0)",
            linli_store::args![id, Uuid::now_v7(), sealed],
        )
        .await
        .unwrap();
        ids.push(id);
    }
    let (rotated, pass) = keys::rotate(&t.db, &src.file, Cipher::Sm4Gcm, T0)
        .await
        .unwrap();
    assert_eq!(rotated.current(), 2);
    let hooks = pass
        .columns
        .iter()
        .find(|c| c.field == "webhooks.secret")
        .unwrap();
    assert_eq!((hooks.values, hooks.resealed), (1203, 1203));
    let on_disk = keys::read_file(&src.file).unwrap();
    assert_eq!(on_disk.ids(), vec![1, 2]);
    for (i, id) in ids.iter().enumerate().step_by(100) {
        let v = secret(&t.db, *id).await;
        assert_eq!(Keyring::key_of(&v), Some(2));
        assert_eq!(
            on_disk.open(pi::WEBHOOK_SECRET, *id, &v).unwrap(),
            format!("whsec_{i}")
        );
    }
    // A server still on the old file seals one more under key 1; retire picks it up.
    let late = Uuid::now_v7();
    t.db.execute(
        "INSERT INTO webhooks (tenant, id, unit_id, name, url, secret, topics, active, created_by, created_at) \
         VALUES ('110101', $1, $2, 'w', 'https://example.invalid/h', $3, '', TRUE, $2, 0)",
        linli_store::args![late, Uuid::now_v7(), ring.seal(pi::WEBHOOK_SECRET, late, "late")],
    )
    .await
    .unwrap();
    let (retired, pass) = keys::retire(&t.db, &src.file, T0).await.unwrap();
    assert_eq!(retired.ids(), vec![2]);
    assert_eq!(pass.not_current(2), 0);
    let checks: Vec<u32> = repo::checks(&t.db)
        .await
        .unwrap()
        .iter()
        .map(|c| c.key_id)
        .collect();
    assert_eq!(checks, vec![0, 2]);
    // The old keyring no longer starts against this database.
    let old = Source {
        env: Some(ring.to_json()),
        ..source(&dir)
    };
    assert!(keys::open(&t.db, &old, T0).await.is_err());
    let v = secret(&t.db, late).await;
    assert_eq!(retired.open(pi::WEBHOOK_SECRET, late, &v).unwrap(), "late");
}
