//! Import of the national statistical division files (省/市/县/乡/村, NBS 2023 layout as in
//! `../shared/data/divisions/`): `provinces.csv`, `cities.csv`, `areas.csv`, `streets.csv`,
//! `villages.csv[.gz]`.
//!
//! Every file is read and validated completely before anything is written, so a damaged file
//! reports its first bad line and changes nothing. Then each level is applied in one
//! transaction: rows are diffed against what is stored (by code) and only new or renamed units
//! are written, which makes a re-run cheap and lets it report exactly what changed.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::Path;

use linli_domain::org::{OrgKind, child_path, community_subtype, street_subtype, tenant_of};
use linli_store::repo::org::{self as org_repo, OrgUnit};
use linli_store::{Arg, Params, Tx, retry};
use uuid::Uuid;

use crate::audit::{Actor, Event, record};
use crate::{App, AppError, Ctx, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DivisionRow {
    pub code: String,
    pub name: String,
    pub parent_code: Option<String>,
}

/// The five levels in load order, with their file stem and parent column.
pub const LEVELS: [(OrgKind, &str, Option<&str>); 5] = [
    (OrgKind::Province, "provinces", None),
    (OrgKind::City, "cities", Some("provinceCode")),
    (OrgKind::District, "areas", Some("cityCode")),
    (OrgKind::Street, "streets", Some("areaCode")),
    (OrgKind::Community, "villages", Some("streetCode")),
];

fn code_len(kind: OrgKind) -> usize {
    match kind {
        OrgKind::Province => 2,
        OrgKind::City => 4,
        OrgKind::District => 6,
        OrgKind::Street => 9,
        _ => 12,
    }
}

fn bad(file: &str, line: u64, msg: impl std::fmt::Display) -> AppError {
    AppError::invalid("bad_division_file", format!("{file} 第 {line} 行：{msg}"))
}

/// Parse one level's CSV (plain or gzip) fully, validating every row.
pub fn parse_level(
    kind: OrgKind,
    file: &str,
    parent_col: Option<&str>,
    reader: impl Read,
) -> Result<Vec<DivisionRow>> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(reader);
    let headers = rdr
        .headers()
        .map_err(|e| bad(file, 1, format!("无法读取表头：{e}")))?
        .clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim_start_matches('\u{feff}') == name)
    };
    let code_i = col("code").ok_or_else(|| bad(file, 1, "缺少 code 列"))?;
    let name_i = col("name").ok_or_else(|| bad(file, 1, "缺少 name 列"))?;
    let parent_i = match parent_col {
        Some(p) => Some(col(p).ok_or_else(|| bad(file, 1, format!("缺少 {p} 列")))?),
        None => None,
    };
    let want = code_len(kind);
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let line = i as u64 + 2;
        let rec = rec.map_err(|e| bad(file, line, format!("格式错误：{e}")))?;
        let code = rec.get(code_i).unwrap_or("").trim();
        let name = rec.get(name_i).unwrap_or("").trim();
        if code.len() != want || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad(file, line, format!("代码 {code:?} 应为 {want} 位数字")));
        }
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            return Err(bad(file, line, "名称为空、过长或含控制字符"));
        }
        let parent_code = match parent_i {
            Some(pi) => {
                let p = rec.get(pi).unwrap_or("").trim();
                if p.is_empty() || !code.starts_with(p) {
                    return Err(bad(
                        file,
                        line,
                        format!("上级代码 {p:?} 与代码 {code} 不一致"),
                    ));
                }
                Some(p.to_string())
            }
            None => None,
        };
        if !seen.insert(code.to_string()) {
            return Err(bad(file, line, format!("代码 {code} 重复")));
        }
        out.push(DivisionRow {
            code: code.to_string(),
            name: name.to_string(),
            parent_code,
        });
    }
    Ok(out)
}

/// Read and validate all five files of a directory. `villages.csv.gz` or `villages.csv`.
pub fn read_dir(dir: &Path) -> Result<Vec<(OrgKind, Vec<DivisionRow>)>> {
    let mut levels = Vec::new();
    for (kind, stem, parent) in LEVELS {
        let plain = dir.join(format!("{stem}.csv"));
        let gz = dir.join(format!("{stem}.csv.gz"));
        let rows = if gz.exists() {
            let f = std::fs::File::open(&gz).map_err(|e| {
                AppError::invalid("file_unreadable", format!("{}: {e}", gz.display()))
            })?;
            parse_level(
                kind,
                &format!("{stem}.csv.gz"),
                parent,
                flate2::read::GzDecoder::new(std::io::BufReader::new(f)),
            )?
        } else if plain.exists() {
            let f = std::fs::File::open(&plain).map_err(|e| {
                AppError::invalid("file_unreadable", format!("{}: {e}", plain.display()))
            })?;
            parse_level(
                kind,
                &format!("{stem}.csv"),
                parent,
                std::io::BufReader::new(f),
            )?
        } else {
            return Err(AppError::invalid(
                "file_missing",
                format!("目录 {} 中缺少 {stem}.csv", dir.display()),
            ));
        };
        levels.push((kind, rows));
    }
    check_parents(&levels)?;
    Ok(levels)
}

/// Every row's parent must be in the files (the previous level).
fn check_parents(levels: &[(OrgKind, Vec<DivisionRow>)]) -> Result<()> {
    for w in levels.windows(2) {
        let parents: HashSet<&str> = w[0].1.iter().map(|r| r.code.as_str()).collect();
        for (i, r) in w[1].1.iter().enumerate() {
            if let Some(p) = &r.parent_code
                && !parents.contains(p.as_str())
            {
                let stem = LEVELS
                    .iter()
                    .find(|l| l.0 == w[1].0)
                    .map(|l| l.1)
                    .unwrap_or("?");
                return Err(bad(stem, i as u64 + 2, format!("上级代码 {p} 不存在")));
            }
        }
    }
    Ok(())
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LevelReport {
    pub kind: Option<OrgKind>,
    pub total: usize,
    pub inserted: usize,
    pub renamed: usize,
    pub unchanged: usize,
}

/// Apply parsed levels. `progress(kind, done, total)` is called after each batch.
pub async fn apply(
    app: &App,
    levels: &[(OrgKind, Vec<DivisionRow>)],
    ctx: &Ctx,
    progress: &(dyn Fn(OrgKind, usize, usize) + Sync),
) -> Result<Vec<LevelReport>> {
    let root = org_repo::root(&app.db)
        .await?
        .ok_or_else(|| AppError::Internal("root unit missing; run migrate first".into()))?;
    // code → (id, path) of every unit of the level above, existing or just inserted.
    let mut parents: HashMap<String, (Uuid, String)> = HashMap::new();
    let mut reports = Vec::new();
    for (kind, rows) in levels {
        let kind = *kind;
        let rows = rows.as_slice();
        let parents_ref = &parents;
        let root_ref = &root;
        let (report, next) = retry(|| async move {
            let mut tx = app.db.begin_write().await?;
            let r = apply_level(app, &mut tx, kind, rows, parents_ref, root_ref, progress).await?;
            record(
                &mut tx,
                app.now(),
                Actor { user_id: None, username: "system", unit_id: None, chain: linli_domain::org::ROOT_TENANT.into(), ctx },
                Event::ok("division.import", "org_level", kind.as_str()).detail(serde_json::json!({
                    "total": r.0.total, "inserted": r.0.inserted, "renamed": r.0.renamed, "unchanged": r.0.unchanged
                })),
            )
            .await?;
            tx.commit().await?;
            Ok::<_, AppError>(r)
        })
        .await?;
        parents = next;
        reports.push(report);
    }
    Ok(reports)
}

const BATCH: usize = 400;

async fn apply_level(
    app: &App,
    tx: &mut Tx,
    kind: OrgKind,
    rows: &[DivisionRow],
    parents: &HashMap<String, (Uuid, String)>,
    root: &OrgUnit,
    progress: &(dyn Fn(OrgKind, usize, usize) + Sync),
) -> Result<(LevelReport, HashMap<String, (Uuid, String)>)> {
    let now = app.now();
    let existing: HashMap<String, (Uuid, String, String)> = org_repo::codes_of_kind(tx, kind)
        .await?
        .into_iter()
        .map(|(code, id, name, _parent, path)| (code, (id, name, path)))
        .collect();
    let mut report = LevelReport {
        kind: Some(kind),
        total: rows.len(),
        ..Default::default()
    };
    let mut next: HashMap<String, (Uuid, String)> = HashMap::with_capacity(rows.len());
    let mut fresh: Vec<OrgUnit> = Vec::new();
    let mut renamed: Vec<(Uuid, String)> = Vec::new();
    for r in rows {
        if let Some((id, name, path)) = existing.get(&r.code) {
            if *name != r.name {
                renamed.push((*id, r.name.clone()));
                report.renamed += 1;
            } else {
                report.unchanged += 1;
            }
            next.insert(r.code.clone(), (*id, path.clone()));
            continue;
        }
        let (parent_id, parent_path) = match &r.parent_code {
            None => (root.id, root.path.clone()),
            Some(pc) => match parents.get(pc) {
                Some(p) => p.clone(),
                None => {
                    return Err(AppError::invalid(
                        "bad_division_file",
                        format!("{} 的上级 {pc} 不存在", r.code),
                    ));
                }
            },
        };
        let path = child_path(&parent_path, &r.code);
        let subtype = match kind {
            OrgKind::Street => street_subtype(&r.code).to_string(),
            OrgKind::Community => community_subtype(&r.code).to_string(),
            _ => String::new(),
        };
        let unit = OrgUnit {
            tenant: tenant_of(&r.code),
            id: linli_domain::ids::new_id(),
            parent_id: Some(parent_id),
            kind,
            code: r.code.clone(),
            name: r.name.clone(),
            depth: linli_domain::org::depth(&path) as i64,
            path,
            subtype,
            source: "nbs2023".into(),
            active: true,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        next.insert(r.code.clone(), (unit.id, unit.path.clone()));
        fresh.push(unit);
    }
    report.inserted = fresh.len();
    let total_work = fresh.len() + renamed.len();
    let mut done = 0;
    for chunk in fresh.chunks(BATCH) {
        insert_batch(tx, chunk).await?;
        done += chunk.len();
        progress(kind, done, total_work);
    }
    for (id, name) in &renamed {
        tx.execute(
            "UPDATE org_units SET name = $1, updated_at = $2, version = version + 1 WHERE id = $3",
            linli_store::args![name.clone(), now, *id],
        )
        .await?;
        done += 1;
        if done % BATCH == 0 {
            progress(kind, done, total_work);
        }
    }
    progress(kind, total_work, total_work);
    Ok((report, next))
}

/// Multi-row INSERT: one statement per batch (14 columns × 400 rows = 5,600 parameters, under
/// both engines' limits).
pub async fn insert_batch(tx: &mut Tx, units: &[OrgUnit]) -> Result<()> {
    if units.is_empty() {
        return Ok(());
    }
    let mut p = Params::default();
    let mut values = Vec::with_capacity(units.len());
    for u in units {
        let cols: Vec<String> = vec![
            p.push(u.tenant.clone()),
            p.push(u.id),
            p.push(u.parent_id),
            p.push(u.kind.as_str()),
            p.push(u.code.clone()),
            p.push(u.name.clone()),
            p.push(u.path.clone()),
            p.push(u.depth),
            p.push(u.subtype.clone()),
            p.push(u.source.clone()),
            p.push(Arg::Bool(u.active)),
            p.push(u.created_at),
            p.push(u.updated_at),
            p.push(u.version),
        ];
        values.push(format!("({})", cols.join(", ")));
    }
    let sql = format!(
        "INSERT INTO org_units ({}) VALUES {}",
        org_repo::COLUMNS,
        values.join(", ")
    );
    tx.execute(sql, p.args).await?;
    Ok(())
}
