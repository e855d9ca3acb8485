//! Division import: idempotent, reports changes on re-runs, and writes nothing from a damaged file.

use std::path::{Path, PathBuf};

use linli_app::Ctx;
use linli_app::divisions::{apply, read_dir};
use linli_domain::org::OrgKind;

use crate::support::spawn_app;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/demo-110101")
}

/// A copy of the fixture directory that a test may damage.
fn copy_fixture() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("linli-import-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    for f in std::fs::read_dir(fixture()).unwrap() {
        let f = f.unwrap();
        std::fs::copy(f.path(), dir.join(f.file_name())).unwrap();
    }
    dir
}

#[tokio::test]
async fn reimport_reports_changes_and_is_idempotent() {
    let t = spawn_app().await; // the demo already imported the fixture once
    let before = linli_store::repo::org::count_all(&t.app.db).await.unwrap();
    let levels = read_dir(&fixture()).unwrap();
    let reports = apply(&t.app, &levels, &Ctx::cli(), &|_, _, _| {})
        .await
        .unwrap();
    assert_eq!(reports.len(), 5);
    for r in &reports {
        assert_eq!((r.inserted, r.renamed), (0, 0), "{r:?}");
        assert_eq!(r.unchanged, r.total);
    }
    assert_eq!(reports[3].total, 17, "17 streets in 东城区");
    assert_eq!(reports[4].total, 169, "169 communities");
    assert_eq!(
        linli_store::repo::org::count_all(&t.app.db).await.unwrap(),
        before
    );

    // A renamed community and a new one are reported as such.
    let dir = copy_fixture();
    let v = std::fs::read_to_string(dir.join("villages.csv")).unwrap();
    let v = v.replace("\"多福巷社区居委会\"", "\"多福巷社区居民委员会\"")
        + "110101001099,\"新建测试社区居委会\",110101001,11,1101,110101\n";
    std::fs::write(dir.join("villages.csv"), v).unwrap();
    let reports = apply(&t.app, &read_dir(&dir).unwrap(), &Ctx::cli(), &|_, _, _| {})
        .await
        .unwrap();
    let comm = reports
        .iter()
        .find(|r| r.kind == Some(OrgKind::Community))
        .unwrap();
    assert_eq!((comm.inserted, comm.renamed, comm.unchanged), (1, 1, 168));
    let u = linli_store::repo::org::get_by_code(&t.app.db, "110101001099")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(u.path, "/11/1101/110101/110101001/110101001099/");
    assert_eq!(u.subtype, "居委会");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_damaged_file_reports_its_first_bad_line_and_changes_nothing() {
    let t = spawn_app().await;
    let before = linli_store::repo::org::count_all(&t.app.db).await.unwrap();
    let cases: &[(&str, &str, &str)] = &[
        // (file, replace this, with this) → expected message fragment checked below
        (
            "streets.csv",
            "110101003,\"交道口街道\"",
            "11010100X,\"交道口街道\"",
        ),
        ("villages.csv", "110101001002,", "110101001002,,"),
        (
            "streets.csv",
            "110101005,\"北新桥街道\",110101",
            "110101005,\"\",110101",
        ),
        ("villages.csv", "110101001005,\"", "110101001001,\""),
    ];
    let expected = [
        "streets.csv 第 4 行",
        "villages.csv 第 3 行",
        "streets.csv 第 6 行",
        "villages.csv 第 4 行",
    ];
    for ((file, from, to), want) in cases.iter().zip(expected) {
        let dir = copy_fixture();
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        assert!(text.contains(from), "fixture contains {from}");
        std::fs::write(dir.join(file), text.replacen(from, to, 1)).unwrap();
        // Add a genuinely new street so a partial write would show.
        let s = std::fs::read_to_string(dir.join("streets.csv")).unwrap()
            + "110101099,\"测试街道\",110101,11,1101\n";
        std::fs::write(dir.join("streets.csv"), s).unwrap();
        let err = match read_dir(&dir) {
            Err(e) => e,
            Ok(levels) => apply(&t.app, &levels, &Ctx::cli(), &|_, _, _| {})
                .await
                .unwrap_err(),
        };
        assert_eq!(err.key(), "bad_division_file");
        assert!(
            err.message().contains(want),
            "{file}: {} should mention {want}",
            err.message()
        );
        assert_eq!(
            linli_store::repo::org::count_all(&t.app.db).await.unwrap(),
            before,
            "nothing written"
        );
        let _ = std::fs::remove_dir_all(dir);
    }
    // A missing file.
    let dir = copy_fixture();
    std::fs::remove_file(dir.join("areas.csv")).unwrap();
    assert_eq!(read_dir(&dir).unwrap_err().key(), "file_missing");
    let _ = std::fs::remove_dir_all(dir);
}

/// The national files, when present beside the repository (as on CI): every level loads with
/// referential integrity. Skipped with a note when ../shared/data is absent.
#[tokio::test]
async fn national_divisions_parse() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/divisions");
    if !dir.exists() {
        eprintln!(
            "note: {} not found; national parse test skipped",
            dir.display()
        );
        return;
    }
    let levels = read_dir(&dir).unwrap();
    let counts: Vec<usize> = levels.iter().map(|(_, r)| r.len()).collect();
    assert_eq!(counts, vec![31, 342, 2978, 41352, 620573]);
}
