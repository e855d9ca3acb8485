//! `linli bench registry`: the base registry at scale (issue 4's benchmark).
//!
//! 1. Import N generated residents (default 1,000,000; valid ID numbers, phones, tags, spread
//!    over the demo district's 425 grids) from a CSV file through the real importer — every row
//!    validated, both values sealed, both blind indexes made, an event per resident — and report
//!    rows/s and peak memory. Baseline in the same run: a raw multi-row INSERT of as many
//!    resident rows whose sealed values were prepared beforehand (the database's share alone).
//! 2. The filtered, paginated resident list over those residents (first pages of 50 by street,
//!    community and grid, with a tag or an age band), p50/p99 at 8 concurrent readers.
//! 3. Point-to-grid lookups per second over 10,000 synthetic grids, against the bare R-tree.

use std::io::Write as _;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use linli_app::registry::import::{self, Mode};
use linli_app::registry::residents::{self, ListFilter};
use linli_app::{App, Ctx};
use linli_domain::idnumber::IdNumber;
use linli_store::repo::registry::{self as repo, ResidentRow};
use uuid::Uuid;

use super::{Line, Machine, Target, capped_at, count_label, drive, reset_peak, with_db};

#[derive(Args, Clone)]
pub struct RegistryArgs {
    /// Residents to import.
    #[arg(long, default_value_t = 1_000_000)]
    pub residents: usize,
    /// Requests per list figure.
    #[arg(long, default_value_t = 1_000)]
    pub requests: usize,
    /// Synthetic grids for the point-to-grid figure.
    #[arg(long, default_value_t = 10_000)]
    pub grids: usize,
}

pub async fn bench(target: &Target, a: &RegistryArgs, m: &Machine) -> anyhow::Result<()> {
    let cap = std::time::Duration::from_secs(900 + a.residents as u64 / 1_000);
    with_db(target, |app| async move {
        capped_at(cap, "registry", body(&app, a, m)).await
    })
    .await
}

/// Counties the demo residents (loaded first) do not come from, so no number collides.
const ADDRESS_CODES: [&str; 10] = [
    "650102", "630102", "540102", "460105", "450102", "520102", "640104", "350102", "610102",
    "330102",
];

/// The i-th generated resident as a CSV line (unique ID number per i).
fn line(i: usize, grid: &str) -> String {
    let day = (i / ADDRESS_CODES.len()) % 32_000;
    let seq = (i / ADDRESS_CODES.len() / 32_000) as u16;
    let birth = time::macros::date!(1935 - 01 - 01) + time::Duration::days(day as i64);
    let id = IdNumber::compose(ADDRESS_CODES[i % ADDRESS_CODES.len()], birth, seq)
        .map(|n| n.as_str().to_string())
        .unwrap_or_default();
    let phone = format!("13{}{:08}", 5 + i % 5, i % 100_000_000);
    let tags = match i % 50 {
        0 => "低保",
        1..=4 => "党员",
        5 => "残疾、志愿者",
        _ => "",
    };
    let residency = ["户籍", "户籍", "常住", "流动"][i % 4];
    format!("{grid},居民{i},{id},{phone},{residency},户主,{tags}\n")
}

async fn body(app: &App, a: &RegistryArgs, m: &Machine) -> anyhow::Result<()> {
    linli_app::bootstrap::load_demo(app, Some("Bench-Pass-2026x")).await?;
    let sys = linli_app::bootstrap::system_principal(app, Ctx::cli()).await?;
    let grids: Vec<(Uuid, String)> = app
        .db
        .fetch_all(
            "SELECT id, code FROM org_units WHERE tenant = '110101' AND kind = 'grid' ORDER BY code",
            vec![],
            |r| Ok((r.uuid("id")?, r.text("code")?)),
        )
        .await?;
    anyhow::ensure!(!grids.is_empty(), "the demo district has no grids");
    let engine = app.db.engine();
    let data = format!("residents={}", count_label(a.residents));

    // The file.
    let path = std::env::temp_dir().join(format!(
        "linli-bench-residents-{}.csv",
        Uuid::now_v7().simple()
    ));
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path)?);
        f.write_all("网格编码,姓名,身份证号码,联系电话,人口类型,与户主关系,标签\n".as_bytes())?;
        for i in 0..a.residents {
            f.write_all(line(i, &grids[i % grids.len()].1).as_bytes())?;
        }
        f.flush()?;
    }
    let size_mb = std::fs::metadata(&path)?.len() as f64 / 1e6;

    // Baseline: the same number of rows, sealed beforehand, inserted raw (another district, so
    // neither disturbs the other).
    let unit = linli_store::repo::org::get_by_code(&app.db, &grids[0].1)
        .await?
        .context("grid")?;
    let sealed = app.keys.seal(
        linli_app::registry::RESIDENT_ID_NUMBER,
        Uuid::now_v7(),
        "11010519491231002X",
    );
    let now = app.now();
    let t = Instant::now();
    for chunk in (0..a.residents).collect::<Vec<_>>().chunks(import::BATCH) {
        let rows: Vec<ResidentRow> = chunk
            .iter()
            .map(|i| ResidentRow {
                tenant: "999999".into(),
                id: Uuid::now_v7(),
                unit_id: unit.id,
                unit_path: unit.path.clone(),
                house_id: None,
                household_id: None,
                relation: "head".into(),
                name: format!("居民{i}"),
                sex: "male".into(),
                birth_date: "1980-01-01".into(),
                id_number: sealed.clone(),
                id_hash: format!("{i:032x}"),
                id_masked: "110101********002X".into(),
                phone: Some(sealed.clone()),
                phone_hash: Some(format!("{i:032x}")),
                phone_masked: "138****0000".into(),
                residency: "registered".into(),
                status: "active".into(),
                created_at: now,
                updated_at: now,
                version: 1,
            })
            .collect();
        let mut tx = app.db.begin_write().await?;
        repo::insert_residents(&mut tx, &rows).await?;
        tx.commit().await?;
    }
    let raw_s = t.elapsed().as_secs_f64();
    app.db
        .execute("DELETE FROM residents WHERE tenant = '999999'", vec![])
        .await?;

    // The import.
    reset_peak();
    let t = Instant::now();
    let file = std::fs::File::open(&path)?;
    let every = (a.residents / 10).max(1) as u64;
    let report = import::residents(
        app,
        &sys,
        linli_app::sheet::CsvRows::new(std::io::BufReader::new(file)),
        Mode::Valid,
        &|n| {
            if n % every == 0 {
                eprintln!("bench: imported {n} rows");
            }
        },
    )
    .await?;
    let secs = t.elapsed().as_secs_f64();
    let _ = std::fs::remove_file(&path);
    anyhow::ensure!(
        report.imported as usize == a.residents,
        "imported {} of {} ({} invalid; first: {:?})",
        report.imported,
        a.residents,
        report.invalid,
        report.errors.first().map(|e| e.key.clone())
    );
    Line::new("registry", "import_csv", engine)
        .kv("data", &data)
        .num("file_mb", size_mb)
        .num("seconds", secs)
        .num("rows_per_s", a.residents as f64 / secs)
        .num("raw_insert_rows_per_s", a.residents as f64 / raw_s)
        .num("vs_raw", raw_s / secs)
        .print(m);
    match engine {
        linli_store::Engine::Postgres => {
            app.db.execute("ANALYZE", vec![]).await?;
        }
        linli_store::Engine::Sqlite => {
            app.db.execute("ANALYZE", vec![]).await?;
        }
    }

    // The list.
    let street = linli_store::repo::org::get_by_code(&app.db, "110101001")
        .await?
        .context("street")?;
    let community = linli_store::repo::org::get_by_code(&app.db, "110101001001")
        .await?
        .context("community")?;
    let figures: Vec<(&str, ListFilter)> = vec![
        ("list_district", ListFilter::default()),
        (
            "list_street_tag",
            ListFilter {
                unit: Some(street.id),
                tag: Some("党员".into()),
                ..Default::default()
            },
        ),
        (
            "list_community_age",
            ListFilter {
                unit: Some(community.id),
                age: Some("60+".into()),
                ..Default::default()
            },
        ),
        (
            "list_grid",
            ListFilter {
                unit: Some(unit.id),
                ..Default::default()
            },
        ),
        (
            "list_grid_low_income",
            ListFilter {
                unit: Some(unit.id),
                tag: Some("低保".into()),
                ..Default::default()
            },
        ),
    ];
    let p = Arc::new(district_principal(app).await?);
    for (name, f) in figures {
        let (app2, p2, f2) = (app.clone(), p.clone(), f.clone());
        // The first page must have rows, or the figure measures nothing.
        let first = residents::list(app, &p, &f).await?;
        anyhow::ensure!(!first.items.is_empty(), "{name}: empty first page");
        let load = drive(a.requests, 8, move |_| {
            let (app, p, f) = (app2.clone(), p2.clone(), f2.clone());
            async move {
                residents::list(
                    &app,
                    &p,
                    &ListFilter {
                        limit: Some(50),
                        ..f
                    },
                )
                .await?;
                Ok(())
            }
        })
        .await?;
        load.fill(Line::new("registry", name, engine).kv("data", &data))
            .print(m);
    }

    // Point to grid.
    for l in linli_gis::lookup_bench(a.grids, 1_000_000).lines() {
        println!("{l} machine=\"{}\"", m.label);
    }
    Ok(())
}

/// The demo district's staff (区级工作人员 over 110101), signed in as a browser would be.
async fn district_principal(app: &App) -> anyhow::Result<linli_app::Principal> {
    let ctx = Ctx::cli();
    match linli_app::auth::login(app, "dongcheng", "Bench-Pass-2026x", None, &ctx).await? {
        linli_app::auth::LoginOutcome::Active { token, .. } => {
            Ok(linli_app::auth::resolve_session(app, &token, ctx).await?)
        }
        _ => anyhow::bail!("the demo account needs a second factor"),
    }
}
