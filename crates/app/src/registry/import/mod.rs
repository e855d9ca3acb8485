//! Residents from Excel and CSV (人口批量导入): every row is validated — columns, grid code and
//! scope, GB 11643, phone, vocabularies, duplicates within the file and against the registry —
//! and reported with its line and reason. `check` writes nothing; `valid` imports the valid
//! rows in batches (each batch one transaction with its events) and reports the rest.
//!
//! Rows stream through in batches of [`BATCH`], so a file of a million rows needs memory for one
//! batch plus 16 bytes per row for the in-file duplicate check.

use std::collections::{HashMap, HashSet};

use linli_domain::auth::Permission;
use linli_domain::org::OrgKind;
use linli_domain::registry::LifeEvent;
use linli_store::repo::org::OrgUnit;
use linli_store::repo::registry::{self as repo, EventRow, ResidentRow};
use serde::Serialize;
use uuid::Uuid;

use super::residents::{NewResident, event, id_index, seal, validate};
use super::{TagBook, today};
use crate::audit::{Event, record};
use crate::sheet::Row;
use crate::{App, AppError, Principal, Result};

/// Rows validated and written together.
pub const BATCH: usize = 5000;
/// Row errors kept in the report (all are counted).
pub const MAX_LISTED_ERRORS: usize = 1000;

/// The template's columns, in order; `*` marks the required ones in the header people see.
pub const COLUMNS: &[(&str, bool)] = &[
    ("网格编码", true),
    ("姓名", true),
    ("身份证号码", true),
    ("联系电话", false),
    ("人口类型", true),
    ("与户主关系", false),
    ("标签", false),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Validate only; nothing is written.
    Check,
    /// Import the valid rows, report the others.
    Valid,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RowError {
    /// The line in the file (1 is the header).
    pub line: u64,
    pub column: String,
    pub key: String,
    pub message: String,
}

#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Report {
    pub rows: u64,
    pub valid: u64,
    pub invalid: u64,
    pub imported: u64,
    pub warnings: u64,
    /// The first [`MAX_LISTED_ERRORS`] errors.
    pub errors: Vec<RowError>,
}

/// Where each template column is in this file.
struct Layout {
    at: Vec<Option<usize>>,
}

fn layout(header: &[String]) -> Result<Layout> {
    let names: Vec<String> = header
        .iter()
        .map(|h| {
            h.trim()
                .trim_start_matches('*')
                .trim_end_matches('*')
                .trim()
                .to_string()
        })
        .collect();
    let at: Vec<Option<usize>> = COLUMNS
        .iter()
        .map(|(c, _)| names.iter().position(|n| n == c))
        .collect();
    let missing: Vec<&str> = COLUMNS
        .iter()
        .zip(&at)
        .filter(|((_, req), a)| *req && a.is_none())
        .map(|((c, _), _)| *c)
        .collect();
    if !missing.is_empty() {
        return Err(AppError::invalid(
            "wrong_columns",
            format!(
                "文件缺少必填列：{}。请使用下载的模板（列名：{}）",
                missing.join("、"),
                COLUMNS.iter().map(|c| c.0).collect::<Vec<_>>().join("、")
            ),
        ));
    }
    Ok(Layout { at })
}

impl Layout {
    fn get<'a>(&self, row: &'a [String], col: usize) -> &'a str {
        self.at[col]
            .and_then(|i| row.get(i))
            .map(|s| s.as_str())
            .unwrap_or("")
    }
}

/// The column an error of `key` belongs to.
fn column_of(key: &str) -> &'static str {
    match key {
        k if k.starts_with("id_") => "身份证号码",
        "invalid_phone" => "联系电话",
        "invalid_residency" => "人口类型",
        "invalid_relation" => "与户主关系",
        "unknown_tag" => "标签",
        "missing_field" | "too_long" | "bad_characters" => "姓名",
        _ => "",
    }
}

struct Units<'a> {
    app: &'a App,
    p: &'a Principal,
    cache: HashMap<String, std::result::Result<OrgUnit, (&'static str, &'static str)>>,
}

impl Units<'_> {
    async fn get(
        &mut self,
        code: &str,
    ) -> Result<std::result::Result<OrgUnit, (&'static str, &'static str)>> {
        if let Some(u) = self.cache.get(code) {
            return Ok(u.clone());
        }
        let found = match linli_store::repo::org::get_by_code(&self.app.db, code).await? {
            Some(u) if u.active && matches!(u.kind, OrgKind::Grid | OrgKind::Community) => {
                if self
                    .p
                    .require_on(Permission::RegistryWrite, &u, "网格")
                    .is_ok()
                {
                    Ok(u)
                } else {
                    Err(("grid_out_of_scope", "网格不在您可维护的范围内"))
                }
            }
            _ => Err(("unknown_grid", "网格编码不存在")),
        };
        self.cache.insert(code.to_string(), found.clone());
        Ok(found)
    }
}

/// Import (or check) residents from rows; `progress` hears the number of rows done.
pub async fn residents(
    app: &App,
    p: &Principal,
    mut rows: impl Iterator<Item = Result<Row>>,
    mode: Mode,
    progress: &(dyn Fn(u64) + Send + Sync),
) -> Result<Report> {
    p.require(Permission::RegistryImport)?;
    if mode == Mode::Valid {
        p.require(Permission::RegistryWrite)?;
    }
    let header = match rows.next() {
        Some(r) => r?.1,
        None => return Err(AppError::invalid("empty_file", "文件是空的")),
    };
    let layout = layout(&header)?;
    let book = TagBook::load(app).await?;
    let today = today(app);
    let mut units = Units {
        app,
        p,
        cache: HashMap::new(),
    };
    let mut seen: HashSet<[u8; 16]> = HashSet::new();
    let mut report = Report::default();
    let mut batch: Vec<(u64, NewResident, OrgUnit)> = Vec::with_capacity(BATCH);
    let fail = |report: &mut Report, line: u64, column: &str, key: &str, message: String| {
        report.invalid += 1;
        if report.errors.len() < MAX_LISTED_ERRORS {
            report.errors.push(RowError {
                line,
                column: column.to_string(),
                key: key.to_string(),
                message,
            });
        }
    };
    loop {
        let next = rows.next();
        let done = next.is_none();
        if let Some(r) = next {
            let (line, cells) = r?;
            if cells.iter().all(|c| c.trim().is_empty()) {
                continue;
            }
            report.rows += 1;
            let code = layout.get(&cells, 0).trim().to_string();
            match units.get(&code).await? {
                Err((key, msg)) => {
                    fail(&mut report, line, "网格编码", key, format!("{msg}：{code}"))
                }
                Ok(unit) => {
                    let n = NewResident {
                        unit_id: unit.id,
                        name: layout.get(&cells, 1).to_string(),
                        id_number: layout.get(&cells, 2).to_string(),
                        phone: layout.get(&cells, 3).to_string(),
                        residency: layout.get(&cells, 4).to_string(),
                        relation: layout.get(&cells, 5).to_string(),
                        house_id: None,
                        household_id: None,
                        tags: layout
                            .get(&cells, 6)
                            .split(['、', ',', '，', ';', '；'])
                            .map(|t| t.trim().to_string())
                            .filter(|t| !t.is_empty())
                            .collect(),
                    };
                    batch.push((line, n, unit));
                }
            }
        }
        if batch.len() >= BATCH || (done && !batch.is_empty()) {
            let chunk = std::mem::take(&mut batch);
            let mut ready: Vec<(u64, ResidentRow, Vec<String>)> = Vec::with_capacity(chunk.len());
            for (line, n, unit) in &chunk {
                match validate(app, &book, n, today) {
                    Err(e) => fail(&mut report, *line, column_of(e.key()), e.key(), e.message()),
                    Ok(person) => {
                        let hash = id_index(app, &person.id_number);
                        let mut key = [0u8; 16];
                        if let Ok(b) = hex::decode(&hash) {
                            key.copy_from_slice(&b[..16.min(b.len())]);
                        }
                        if !seen.insert(key) {
                            fail(
                                &mut report,
                                *line,
                                "身份证号码",
                                "duplicate_in_file",
                                "身份证号码在文件中重复".into(),
                            );
                            continue;
                        }
                        report.warnings += person.warnings.len() as u64;
                        let id = Uuid::now_v7();
                        let row = seal(app, id, unit, &person, None, None, app.now());
                        ready.push((*line, row, person.tags));
                    }
                }
            }
            // Already in the registry (by blind index, per district).
            let mut by_tenant: HashMap<String, Vec<String>> = HashMap::new();
            for (_, r, _) in &ready {
                by_tenant
                    .entry(r.tenant.clone())
                    .or_default()
                    .push(r.id_hash.clone());
            }
            let mut known: HashSet<String> = HashSet::new();
            for (tenant, hashes) in &by_tenant {
                for (h, _) in repo::residents_with_id_hashes(&app.db, tenant, hashes).await? {
                    known.insert(h);
                }
            }
            let mut keep = Vec::with_capacity(ready.len());
            for (line, r, tags) in ready {
                if known.contains(&r.id_hash) {
                    fail(
                        &mut report,
                        line,
                        "身份证号码",
                        "already_registered",
                        "该身份证号码已在本区登记".into(),
                    );
                } else {
                    keep.push((r, tags));
                }
            }
            report.valid += keep.len() as u64;
            if mode == Mode::Valid && !keep.is_empty() {
                write(app, p, &keep).await?;
                report.imported += keep.len() as u64;
            }
            progress(report.rows);
        }
        if done {
            break;
        }
    }
    if mode == Mode::Valid {
        let now = app.now();
        let detail = serde_json::json!({
            "rows": report.rows, "imported": report.imported, "invalid": report.invalid,
        });
        write_tx!(app, |tx| {
            record(
                &mut tx,
                now,
                p.into(),
                Event::ok("resident.import", "residents", report.imported).detail(detail.clone()),
            )
            .await?;
        })?;
    }
    Ok(report)
}

async fn write(app: &App, p: &Principal, keep: &[(ResidentRow, Vec<String>)]) -> Result<()> {
    let now = app.now();
    let on = today(app).to_string();
    let rows: Vec<ResidentRow> = keep.iter().map(|(r, _)| r.clone()).collect();
    let mut tags: HashMap<String, Vec<(Uuid, String)>> = HashMap::new();
    for (r, t) in keep {
        tags.entry(r.tenant.clone())
            .or_default()
            .extend(t.iter().map(|x| (r.id, x.clone())));
    }
    let events: Vec<EventRow> = keep
        .iter()
        .map(|(r, _)| {
            event(
                (&r.tenant, r.id),
                LifeEvent::Registered,
                on.clone(),
                "批量导入".into(),
                Some(p.user_id),
                now,
            )
        })
        .collect();
    write_tx!(app, |tx| {
        repo::insert_residents(&mut tx, &rows).await?;
        for (tenant, t) in &tags {
            repo::insert_tags(&mut tx, tenant, t).await?;
        }
        repo::insert_events(&mut tx, &events).await?;
    })?;
    Ok(())
}

/// The template: the header and one example row, as CSV (UTF-8 with BOM, so Excel opens it
/// right) or xlsx (every column formatted as text, so ID numbers keep all 18 digits).
pub fn template(xlsx: bool) -> Result<Vec<u8>> {
    let header: Vec<String> = COLUMNS
        .iter()
        .map(|(c, req)| {
            if *req {
                format!("*{c}")
            } else {
                (*c).to_string()
            }
        })
        .collect();
    let example = [
        "110101001001001",
        "张三",
        "11010519491231002X",
        "13800138000",
        "户籍",
        "户主",
        "党员、志愿者",
    ];
    if !xlsx {
        let mut out = b"\xEF\xBB\xBF".to_vec();
        out.extend_from_slice(header.join(",").as_bytes());
        out.push(b'\n');
        out.extend_from_slice(example.join(",").as_bytes());
        out.push(b'\n');
        return Ok(out);
    }
    use rust_xlsxwriter::{Format, Workbook};
    let fail = |e: rust_xlsxwriter::XlsxError| AppError::Internal(format!("xlsx template: {e}"));
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("居民").map_err(fail)?;
    let bold = Format::new().set_bold().set_num_format("@");
    let text = Format::new().set_num_format("@");
    for (c, h) in header.iter().enumerate() {
        ws.set_column_format(c as u16, &text).map_err(fail)?;
        ws.set_column_width(c as u16, 18.0).map_err(fail)?;
        ws.write_string_with_format(0, c as u16, h, &bold)
            .map_err(fail)?;
        ws.write_string_with_format(1, c as u16, example[c], &text)
            .map_err(fail)?;
    }
    ws.set_freeze_panes(1, 0).map_err(fail)?;
    wb.save_to_buffer().map_err(fail)
}
