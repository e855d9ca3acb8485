//! Attachments end to end on the test database (SQLite, or PostgreSQL with TEST_DATABASE_URL):
//! save, get, read, list and link on the filesystem store, refusals, tamper detection, one copy
//! of identical content; and the same against a real S3-compatible server (moto) when
//! `moto_server` is installed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use linli_domain::media::MediaLimits;
use linli_testkit::{FakeClock, T0, TempDir, TestDb};

use super::*;
use crate::config::S3Config;
use crate::{AppConfig, BlobStore};

const TENANT: &str = "110101";

/// A complete 1×1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0A, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE,
    0x42, 0x60, 0x82,
];

/// An AMR voice message header and two frames, as feature phones and the 12345 app record.
const AMR: &[u8] = b"#!AMR\n\x3c\x48\xf5\x1f\x96\x66\x79\xe1\xe0\x01\xe7\xcf\xf0\x00\x00\x00\x80\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00";

struct Fixture {
    app: App,
    _db: TestDb,
    blobs: TempDir,
}

async fn fixture() -> Fixture {
    let db = TestDb::new().await;
    let blobs = TempDir::new("attachments");
    let app = App::new(
        db.db.clone(),
        Arc::new(FakeClock::at(T0)),
        AppConfig::default(),
        BlobStore::fs(blobs.path()),
    );
    Fixture {
        app,
        _db: db,
        blobs,
    }
}

fn blob_path(f: &Fixture, a: &Attachment) -> std::path::PathBuf {
    f.blobs
        .path()
        .join(&a.tenant)
        .join(&a.sha256[..2])
        .join(&a.sha256)
}

async fn link_in_tx(app: &App, ids: &[Uuid], case_id: Uuid, seq: i64) -> Result<()> {
    let mut tx = app.db.begin_write().await?;
    link(&mut tx, TENANT, ids, case_id, seq).await?;
    tx.commit().await?;
    Ok(())
}

#[tokio::test]
async fn save_get_read_list_and_link() {
    let f = fixture().await;
    let app = &f.app;
    let case = Uuid::now_v7();
    let other_case = Uuid::now_v7();
    let user = Some(Uuid::now_v7());

    let photo = save(app, TENANT, case, user, "../../tmp/井盖破损.PNG", PNG)
        .await
        .unwrap();
    assert_eq!(photo.kind, MediaKind::Image);
    assert_eq!(photo.mime, "image/png");
    assert_eq!(photo.size, PNG.len() as i64);
    assert_eq!(photo.filename, "井盖破损.PNG");
    assert_eq!(photo.event_seq, None);
    assert_eq!(photo.uploaded_by, user);
    assert_eq!(photo.created_at, T0);
    assert_eq!(photo.sha256, hex::encode(Sha256::digest(PNG)));
    assert_eq!(std::fs::read(blob_path(&f, &photo)).unwrap(), PNG);
    assert!(
        !format!("{photo:?}").contains("井盖"),
        "no file names in logs"
    );

    // The declared name says photo; the content says audio, and content wins.
    let voice = save(app, TENANT, case, None, "录音.jpg", AMR)
        .await
        .unwrap();
    assert_eq!(
        (voice.kind, voice.mime.as_str()),
        (MediaKind::Audio, "audio/amr")
    );
    let elsewhere = save(app, TENANT, other_case, None, "x.png", PNG)
        .await
        .unwrap();

    assert_eq!(
        get(app, TENANT, photo.id).await.unwrap(),
        Some(photo.clone())
    );
    assert_eq!(get(app, "110102", photo.id).await.unwrap(), None);
    assert_eq!(get(app, TENANT, Uuid::now_v7()).await.unwrap(), None);
    assert_eq!(read(app, &photo).await.unwrap(), PNG);
    assert_eq!(read(app, &voice).await.unwrap(), AMR);
    assert_eq!(
        list_for_case(app, TENANT, case).await.unwrap(),
        vec![photo.clone(), voice.clone()]
    );
    assert_eq!(
        list_for_case(app, "110102", case).await.unwrap(),
        Vec::<Attachment>::new()
    );

    // Linking refuses another case's file and unknown ids, and changes nothing when it does.
    let e = link_in_tx(app, &[photo.id, elsewhere.id], case, 2)
        .await
        .unwrap_err();
    assert_eq!(e.key(), "not_found");
    let e = link_in_tx(app, &[photo.id, Uuid::now_v7()], case, 2)
        .await
        .unwrap_err();
    assert_eq!(e.key(), "not_found");
    assert_eq!(
        get(app, TENANT, photo.id).await.unwrap().unwrap().event_seq,
        None
    );

    link_in_tx(app, &[photo.id, voice.id, photo.id], case, 2)
        .await
        .unwrap();
    link_in_tx(app, &[], case, 3).await.unwrap();
    for a in list_for_case(app, TENANT, case).await.unwrap() {
        assert_eq!(a.event_seq, Some(2));
    }
    let e = link_in_tx(app, &[voice.id], case, 3).await.unwrap_err();
    assert_eq!(e.key(), "attachment_already_linked");
    assert_eq!(
        get(app, TENANT, voice.id).await.unwrap().unwrap().event_seq,
        Some(2)
    );

    // A link inside a step that then fails is rolled back with the step.
    {
        let mut tx = app.db.begin_write().await.unwrap();
        link(&mut tx, TENANT, &[elsewhere.id], other_case, 5)
            .await
            .unwrap();
        drop(tx);
    }
    assert_eq!(
        get(app, TENANT, elsewhere.id)
            .await
            .unwrap()
            .unwrap()
            .event_seq,
        None
    );
    let many: Vec<Uuid> = (0..=MAX_PER_STEP).map(|_| Uuid::now_v7()).collect();
    let e = link_in_tx(app, &many, case, 4).await.unwrap_err();
    assert_eq!(e.key(), "too_many_attachments");
}

#[tokio::test]
async fn refused_files_leave_nothing_behind() {
    let f = fixture().await;
    let app = f.app.clone().with_media_limits(MediaLimits {
        max_image_bytes: 64,
        max_audio_bytes: 1024,
    });
    let case = Uuid::now_v7();
    let cases: [(&str, &[u8], &str); 5] = [
        ("empty.jpg", b"", "empty_file"),
        (
            "page.jpg",
            b"<html><script>alert(1)</script></html>",
            "unsupported_media",
        ),
        (
            "logo.png",
            b"<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>",
            "unsupported_media",
        ),
        (
            "setup.jpg",
            b"MZ\x90\x00\x03\x00\x00\x00",
            "unsupported_media",
        ),
        ("big.png", PNG, "too_large"),
    ];
    for (name, bytes, key) in cases {
        let e = save(&app, TENANT, case, None, name, bytes)
            .await
            .unwrap_err();
        assert_eq!(e.key(), key, "{name}");
        assert!(!e.message().is_empty());
    }
    let e = save(&app, TENANT, case, None, "big.png", PNG)
        .await
        .unwrap_err();
    assert_eq!(e.message(), "图片不能超过 64 字节");
    assert!(list_for_case(&app, TENANT, case).await.unwrap().is_empty());
    assert!(
        std::fs::read_dir(f.blobs.path()).unwrap().next().is_none(),
        "no blob written"
    );
    // The audio limit is separate.
    assert!(save(&app, TENANT, case, None, "v.amr", AMR).await.is_ok());
    // A tenant code that could not be a path segment is refused before anything is written.
    assert!(
        save(&app, "../etc", case, None, "x.png", PNG)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn tampered_or_missing_content_is_not_served() {
    let f = fixture().await;
    let app = &f.app;
    let case = Uuid::now_v7();
    let a = save(app, TENANT, case, None, "photo.png", PNG)
        .await
        .unwrap();
    let path = blob_path(&f, &a);

    // Same length, one byte changed.
    let mut altered = PNG.to_vec();
    altered[40] ^= 0x01;
    std::fs::write(&path, &altered).unwrap();
    let e = read(app, &a).await.unwrap_err();
    assert_eq!(e.key(), "internal");

    // Replaced by something else entirely.
    std::fs::write(&path, b"<script>alert(1)</script>").unwrap();
    assert!(read(app, &a).await.is_err());

    std::fs::remove_file(&path).unwrap();
    assert_eq!(read(app, &a).await.unwrap_err().key(), "internal");

    // Uploading the same content again repairs the stored copy.
    save(app, TENANT, case, None, "again.png", PNG)
        .await
        .unwrap();
    assert_eq!(read(app, &a).await.unwrap(), PNG);
}

#[tokio::test]
async fn identical_content_is_stored_once() {
    let f = fixture().await;
    let app = &f.app;
    let (case1, case2) = (Uuid::now_v7(), Uuid::now_v7());
    let a = save(app, TENANT, case1, None, "a.png", PNG).await.unwrap();
    let b = save(app, TENANT, case2, None, "b.png", PNG).await.unwrap();
    assert_ne!(a.id, b.id);
    assert_eq!(a.storage_key().unwrap(), b.storage_key().unwrap());
    let files: Vec<_> = walk(f.blobs.path());
    assert_eq!(files.len(), 1, "{files:?}");
    // Each row is its own attachment: linking one leaves the other free.
    link_in_tx(app, &[a.id], case1, 1).await.unwrap();
    assert_eq!(
        get(app, TENANT, b.id).await.unwrap().unwrap().event_seq,
        None
    );
    // Another tenant's copy is its own blob.
    let c = save(app, "110102", case1, None, "c.png", PNG)
        .await
        .unwrap();
    assert_ne!(c.storage_key().unwrap(), a.storage_key().unwrap());
    assert_eq!(walk(f.blobs.path()).len(), 2);
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// A moto S3 server on a free local port, stopped (killed and reaped) on drop.
struct Moto {
    child: std::process::Child,
    endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn on_path(cmd: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(cmd).is_file()))
}

async fn start_moto() -> Option<Moto> {
    if !on_path("moto_server") {
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = std::process::Command::new("moto_server")
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start moto_server");
    let moto = Moto {
        child,
        endpoint: format!("http://127.0.0.1:{port}"),
    };
    for _ in 0..300 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Some(moto);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("moto_server did not start listening within 30 s");
}

#[tokio::test]
async fn s3_store_against_moto() {
    let Some(moto) = start_moto().await else {
        eprintln!(
            "NOTE: s3_store_against_moto skipped: moto_server is not on PATH \
             (pip install 'moto[server]')"
        );
        return;
    };
    let cfg = S3Config {
        endpoint: moto.endpoint.clone(),
        region: "cn-north-1".into(),
        bucket: "linli-attachments".into(),
        access_key: "testing".into(),
        secret_key: "testing-secret".into(),
        path_style: true,
        timeout_secs: 30,
    };
    let store = crate::blobs::S3Store::new(&cfg).unwrap();
    store.create_bucket().await.unwrap();
    let db = TestDb::new().await;
    let app = App::new(
        db.db.clone(),
        Arc::new(FakeClock::at(T0)),
        AppConfig::default(),
        BlobStore::S3(store),
    );
    let case = Uuid::now_v7();

    let a = save(&app, TENANT, case, None, "现场.png", PNG)
        .await
        .unwrap();
    let b = save(&app, TENANT, case, None, "录音.amr", AMR)
        .await
        .unwrap();
    assert_eq!(read(&app, &a).await.unwrap(), PNG);
    assert_eq!(read(&app, &b).await.unwrap(), AMR);
    assert_eq!(
        list_for_case(&app, TENANT, case).await.unwrap(),
        vec![a.clone(), b.clone()]
    );
    // Same content again: same object.
    let a2 = save(&app, TENANT, case, None, "again.png", PNG)
        .await
        .unwrap();
    assert_eq!(a2.storage_key().unwrap(), a.storage_key().unwrap());

    // An object changed behind our back is refused; a missing one too.
    let key = a.storage_key().unwrap();
    app.blobs.put(&key, b"not the photo").await.unwrap();
    assert_eq!(app.blobs.get(&key).await.unwrap(), b"not the photo");
    assert_eq!(read(&app, &a).await.unwrap_err().key(), "internal");
    app.blobs.delete(&key).await.unwrap();
    app.blobs.delete(&key).await.unwrap();
    assert!(matches!(
        app.blobs.get(&key).await,
        Err(BlobError::NotFound)
    ));
    assert_eq!(read(&app, &a).await.unwrap_err().key(), "internal");

    // Wrong bucket: the store's error code comes back, without credentials.
    let wrong = crate::blobs::S3Store::new(&S3Config {
        bucket: "no-such-bucket".into(),
        ..cfg.clone()
    })
    .unwrap();
    let e = BlobStore::S3(wrong).put(&key, PNG).await.unwrap_err();
    let text = e.to_string();
    assert!(text.contains("NoSuchBucket"), "{text}");
    assert!(!text.contains("testing-secret"));
    drop(moto);
}
