//! The filer on the test database (SQLite, or PostgreSQL with TEST_DATABASE_URL): concurrent
//! filings all land with one unbroken audit chain per chain, repeats are recognised within a
//! batch and against the database, and a batch spoiled by one case answers every case alone.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use linli_domain::case::{CaseState, Channel, Lifecycle, RequestType, Urgency};
use linli_testkit::{FakeClock, T0, TempDir, TestDb};

use super::*;
use crate::{AppConfig, BlobStore};

const TENANT: &str = "110101";

struct Fixture {
    app: App,
    _db: TestDb,
    _blobs: TempDir,
}

async fn fixture() -> Fixture {
    let db = TestDb::new().await;
    let blobs = TempDir::new("filer");
    let app = App::new(
        db.db.clone(),
        Arc::new(FakeClock::at(T0)),
        AppConfig::default(),
        BlobStore::fs(blobs.path()),
    );
    Fixture {
        app,
        _db: db,
        _blobs: blobs,
    }
}

/// A filing for case number `n`, on one of the district's case chains.
fn filing(n: u32, external_id: Option<&str>) -> Filing {
    let id = linli_domain::ids::new_id();
    let owner = Uuid::from_u128(7);
    let row = CaseRow {
        tenant: TENANT.into(),
        id,
        number: format!("{TENANT}-20261121-{n:06}"),
        channel: Channel::Api,
        external_id: external_id.map(str::to_string),
        title: format!("第{n}号诉求"),
        description: "小区电梯又坏了".into(),
        category_id: None,
        category_code: String::new(),
        category_name: String::new(),
        catalogue_version: None,
        address: String::new(),
        lat_e6: None,
        lng_e6: None,
        grid_id: None,
        community_id: None,
        requester_name: String::new(),
        requester_phone: None,
        phone_masked: String::new(),
        phone_hash: None,
        owner_id: owner,
        owner_path: "110000.110100.110101.".into(),
        handler_path: None,
        whistle_open: false,
        created_by: None,
        received_at: T0,
        created_at: T0,
        updated_at: T0,
        version: 1,
        life: Lifecycle::received(RequestType::Help, Urgency::Normal, true),
    };
    Filing {
        terms: "道路 破损".into(),
        parties: vec![(owner, "owner", row.owner_path.clone())],
        event: TimelineEvent {
            tenant: TENANT.into(),
            case_id: id,
            seq: 1,
            at: T0,
            action: "receive".into(),
            from_state: String::new(),
            to_state: CaseState::Pending.key().into(),
            actor_id: None,
            actor_name: "测试".into(),
            actor_unit: None,
            note: String::new(),
            data: "{}".into(),
        },
        audit: Entry {
            chain: crate::cases::audit_chain(TENANT, id),
            at: T0,
            action: "case.create".into(),
            target_type: "case".into(),
            target_id: id.to_string(),
            result: "ok".into(),
            ..Entry::default()
        },
        row,
    }
}

async fn count(app: &App, table: &str) -> i64 {
    app.db
        .fetch_optional(format!("SELECT COUNT(*) AS n FROM {table}"), vec![], |r| {
            r.i64("n")
        })
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn concurrent_filings_all_land_with_unbroken_chains() {
    let f = fixture().await;
    let filings: Vec<Filing> = (1..=120).map(|n| filing(n, None)).collect();
    let answers =
        futures::future::join_all(filings.iter().map(|x| f.app.filer.file(&f.app, x.clone())))
            .await;
    for (x, a) in filings.iter().zip(&answers) {
        let (row, new) = a.as_ref().unwrap();
        assert!(new);
        assert_eq!(row.id, x.row.id);
    }
    assert_eq!(count(&f.app, "cases").await, 120);
    assert_eq!(count(&f.app, "case_parties").await, 120);
    assert_eq!(count(&f.app, "case_events").await, 120);
    let reports = crate::audit::verify(&f.app).await.unwrap();
    let verified: i64 = reports.iter().map(|r| r.verified).sum();
    assert_eq!(verified, 120);
    assert!(reports.iter().all(|r| r.broken.is_none()), "{reports:?}");
    // Later filings continue the chains.
    f.app.filer.file(&f.app, filing(121, None)).await.unwrap();
    let reports = crate::audit::verify(&f.app).await.unwrap();
    assert!(reports.iter().all(|r| r.broken.is_none()), "{reports:?}");
    assert_eq!(reports.iter().map(|r| r.verified).sum::<i64>(), 121);
}

#[tokio::test]
async fn repeats_are_recognised_within_a_batch_and_against_the_database() {
    let f = fixture().await;
    let (a, b, c) = (
        filing(1, Some("x-1")),
        filing(2, Some("x-1")),
        filing(3, Some("x-2")),
    );
    let out = write_tx!(f.app, |tx| { write_filings(&mut tx, &[&a, &b, &c]).await? }).unwrap();
    assert_eq!(
        out.iter().map(|(r, new)| (r.id, *new)).collect::<Vec<_>>(),
        vec![(a.row.id, true), (a.row.id, false), (c.row.id, true)]
    );
    let d = filing(4, Some("x-2"));
    let (row, new) = f.app.filer.file(&f.app, d).await.unwrap();
    assert_eq!((row.id, new), (c.row.id, false));
    // Two repeats of a stored case in one batch both answer with it.
    let (e, g) = (filing(5, Some("x-1")), filing(6, Some("x-1")));
    let out = write_tx!(f.app, |tx| { write_filings(&mut tx, &[&e, &g]).await? }).unwrap();
    assert_eq!(
        out.iter().map(|(r, new)| (r.id, *new)).collect::<Vec<_>>(),
        vec![(a.row.id, false), (a.row.id, false)]
    );
    assert_eq!(count(&f.app, "cases").await, 2);
    assert_eq!(count(&f.app, "audit_log").await, 2);
}

#[tokio::test]
async fn a_spoiled_batch_answers_each_case_on_its_own() {
    let f = fixture().await;
    let taken = filing(1, None);
    f.app.filer.file(&f.app, taken.clone()).await.unwrap();
    // The second case reuses a stored case's number and id: the batch cannot commit.
    let mut clash = filing(1, None);
    clash.row.id = taken.row.id;
    clash.event.case_id = taken.row.id;
    let (ok1, ok2) = (filing(2, None), filing(3, None));
    let mut answers = Vec::new();
    let mut jobs = Vec::new();
    for x in [ok1.clone(), clash, ok2.clone()] {
        let (reply, answer) = oneshot::channel();
        jobs.push(Job { filing: x, reply });
        answers.push(answer);
    }
    write_all(&f.app, jobs).await;
    let mut got = Vec::new();
    for a in answers {
        got.push(a.await.unwrap());
    }
    assert_eq!(got[0].as_ref().unwrap().0.id, ok1.row.id);
    assert!(got[1].is_err());
    assert_eq!(got[2].as_ref().unwrap().0.id, ok2.row.id);
    assert_eq!(count(&f.app, "cases").await, 3);
    let reports = crate::audit::verify(&f.app).await.unwrap();
    assert!(reports.iter().all(|r| r.broken.is_none()), "{reports:?}");
    assert_eq!(reports.iter().map(|r| r.verified).sum::<i64>(), 3);
}
