//! Registry imports from Excel and CSV (批量导入): residents, households, buildings with their
//! entrances and houses, organisations and city components, through one mechanism.
//!
//! Each kind is a [`Kind`]: its columns (the template), the validation of one row into the form
//! it is stored in (sealed where the column is personal — [`residents`] through
//! `residents::seal`, organisation contacts through the keyring the same way), the key that
//! makes two rows the same record, the check against what the registry already holds, and the
//! batch writer. The driver [`run`] does the rest for every kind alike: the header, the grid
//! code of every row (known, active, within the caller's scope), duplicates within the file,
//! per-row errors with line, column and a Chinese reason (never the values), `check` writing
//! nothing, `valid` writing the valid rows in batches of [`BATCH`] (each batch one transaction),
//! and one audit row with counts only.
//!
//! Speed: rows stream from the file; each is validated and sealed as it is read, and only one
//! batch of stored rows is held, plus 16 bytes per row for the in-file duplicate check. While a
//! batch is written (in its own task), the next one is read, validated and sealed, so the
//! database and the CPU work overlap — on two cores that is most of the gain.
//!
//! Long imports run as jobs ([`jobs`]): the upload returns at once, the work runs in the
//! server, and progress and the report are read from the `import_jobs` table.

pub mod jobs;
pub mod kinds;
pub mod residents;

use std::collections::{HashMap, HashSet};
use std::future::Future;

use linli_domain::auth::Permission;
use linli_domain::org::OrgKind;
use linli_store::repo::org::OrgUnit;
use serde::Serialize;
use uuid::Uuid;

use crate::audit::{Event, record};
use crate::sheet::Row;
use crate::{App, AppError, Principal, Result};

/// Rows validated and written together.
pub const BATCH: usize = 5000;
/// Row errors kept in the report (all are counted).
pub const MAX_LISTED_ERRORS: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Validate only; nothing is written.
    Check,
    /// Import the valid rows, report the others.
    Valid,
}

impl Mode {
    pub fn parse(s: &str) -> Result<Mode> {
        match s {
            "check" => Ok(Mode::Check),
            "valid" => Ok(Mode::Valid),
            _ => Err(AppError::invalid(
                "invalid_mode",
                "mode 应为 check 或 valid",
            )),
        }
    }

    pub fn key(self) -> &'static str {
        match self {
            Mode::Check => "check",
            Mode::Valid => "valid",
        }
    }
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct RowError {
    /// The line in the file (1 is the header).
    pub line: u64,
    pub column: String,
    pub key: String,
    pub message: String,
}

#[derive(Debug, Clone, Default, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Report {
    pub rows: u64,
    pub valid: u64,
    pub invalid: u64,
    pub imported: u64,
    pub warnings: u64,
    /// The first [`MAX_LISTED_ERRORS`] errors.
    pub errors: Vec<RowError>,
}

impl Report {
    fn fail(&mut self, line: u64, column: &str, key: &str, message: String) {
        self.invalid += 1;
        if self.errors.len() < MAX_LISTED_ERRORS {
            self.errors.push(RowError {
                line,
                column: column.to_string(),
                key: key.to_string(),
                message,
            });
        }
    }
}

/// One template column.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub name: &'static str,
    pub required: bool,
    /// The template's example row.
    pub example: &'static str,
}

pub const fn col(name: &'static str, required: bool, example: &'static str) -> Column {
    Column {
        name,
        required,
        example,
    }
}

/// What a kind is called and where its file goes.
#[derive(Debug)]
pub struct Spec {
    /// `residents`, `households`, … (URLs, job rows).
    pub name: &'static str,
    /// 居民, 户, … (the console, the template's sheet).
    pub label: &'static str,
    /// The audit action (`resident.import`).
    pub audit: &'static str,
    /// The audit target type (`residents`).
    pub target: &'static str,
    /// Column 0 is always 网格编码, resolved by the driver.
    pub columns: &'static [Column],
    /// The column a duplicate is reported in, and the message of a row already registered.
    pub key_column: &'static str,
    pub already: &'static str,
}

/// A row's problem: the column it is in and the error (its key and Chinese message).
pub struct Fault {
    pub column: &'static str,
    pub error: AppError,
}

impl Fault {
    pub fn new(column: &'static str, error: AppError) -> Fault {
        Fault { column, error }
    }

    /// The row's record is already in the registry.
    pub fn already(spec: &Spec) -> Fault {
        Fault::new(
            spec.key_column,
            AppError::invalid("already_registered", spec.already),
        )
    }
}

/// The cells of one row, by template column.
pub struct Cells<'a> {
    at: &'a [Option<usize>],
    row: &'a [String],
}

impl Cells<'_> {
    /// The cell of template column `col` ("" when absent), untrimmed.
    pub fn get(&self, col: usize) -> &str {
        self.at
            .get(col)
            .copied()
            .flatten()
            .and_then(|i| self.row.get(i))
            .map(|s| s.as_str())
            .unwrap_or("")
    }
}

/// One kind of registry record that can be imported.
pub trait Kind: Sized + Send + Sync + 'static {
    /// A row in stored form, ready to write.
    type Ready: Send + Sync + 'static;

    const SPEC: Spec;

    /// What the kind needs for every row (vocabularies, today's date).
    fn load(app: &App) -> impl Future<Output = Result<Self>> + Send;

    /// Validate one row (column 0, the grid, already resolved to `unit`) into stored form;
    /// with the number of warnings it carries.
    fn prepare(
        &mut self,
        app: &App,
        unit: &OrgUnit,
        cells: &Cells<'_>,
    ) -> std::result::Result<(Self::Ready, u64), Fault>;

    /// What makes two rows the same record (for duplicates within the file).
    fn key(&self, r: &Self::Ready) -> [u8; 16];

    /// Check a batch against the registry: for each row, the fault that refuses it (most often
    /// "already registered", [`Fault::already`]) or `None`. A kind may also link rows to what
    /// the registry holds (a house to its stored building).
    fn settle(
        &mut self,
        app: &App,
        rows: &mut [Self::Ready],
    ) -> impl Future<Output = Result<Vec<Option<Fault>>>> + Send;

    /// Write a batch in one transaction (with its events), as `actor`.
    fn write(
        app: &App,
        actor: Uuid,
        rows: &[Self::Ready],
    ) -> impl Future<Output = Result<()>> + Send;
}

/// A 16-byte key from text (for kinds whose natural key is not already a blind index).
pub fn text_key(parts: &[&str]) -> [u8; 16] {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0u8]);
    }
    let d = h.finalize();
    let mut k = [0u8; 16];
    k.copy_from_slice(&d[..16]);
    k
}

/// Where each template column is in this file.
fn layout(columns: &[Column], header: &[String]) -> Result<Vec<Option<usize>>> {
    let names: Vec<&str> = header
        .iter()
        .map(|h| {
            h.trim()
                .trim_start_matches('*')
                .trim_end_matches('*')
                .trim()
        })
        .collect();
    let at: Vec<Option<usize>> = columns
        .iter()
        .map(|c| names.iter().position(|n| *n == c.name))
        .collect();
    let missing: Vec<&str> = columns
        .iter()
        .zip(&at)
        .filter(|(c, a)| c.required && a.is_none())
        .map(|(c, _)| c.name)
        .collect();
    if !missing.is_empty() {
        return Err(AppError::invalid(
            "wrong_columns",
            format!(
                "文件缺少必填列：{}。请使用下载的模板（列名：{}）",
                missing.join("、"),
                columns
                    .iter()
                    .map(|c| c.name)
                    .collect::<Vec<_>>()
                    .join("、")
            ),
        ));
    }
    Ok(at)
}

type UnitCheck = std::result::Result<OrgUnit, (&'static str, &'static str)>;

/// Grid codes resolved once per file: known, active, a grid or community, within the caller's
/// write scope.
struct Units<'a> {
    app: &'a App,
    p: &'a Principal,
    cache: HashMap<String, UnitCheck>,
}

impl Units<'_> {
    async fn get(&mut self, code: &str) -> Result<&UnitCheck> {
        if !self.cache.contains_key(code) {
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
            self.cache.insert(code.to_string(), found);
        }
        Ok(&self.cache[code])
    }
}

/// Hears the number of rows read so far (a job's progress).
pub type Progress<'a> = &'a (dyn Fn(u64) + Send + Sync);

/// Import (or check) rows of kind `K`.
pub async fn run<K: Kind>(
    app: &App,
    p: &Principal,
    mut rows: impl Iterator<Item = Result<Row>> + Send,
    mode: Mode,
    progress: Progress<'_>,
) -> Result<Report> {
    p.require(Permission::RegistryImport)?;
    if mode == Mode::Valid {
        p.require(Permission::RegistryWrite)?;
    }
    let spec = &K::SPEC;
    let header = match rows.next() {
        Some(r) => r?.1,
        None => return Err(AppError::invalid("empty_file", "文件是空的")),
    };
    let at = layout(spec.columns, &header)?;
    let mut kind = K::load(app).await?;
    let mut units = Units {
        app,
        p,
        cache: HashMap::new(),
    };
    let mut seen: HashSet<[u8; 16]> = HashSet::new();
    let mut report = Report::default();
    let mut lines: Vec<u64> = Vec::with_capacity(BATCH);
    let mut batch: Vec<K::Ready> = Vec::with_capacity(BATCH);
    // The batch being written while the next one is prepared.
    let mut writing: Option<tokio::task::JoinHandle<Result<u64>>> = None;
    loop {
        let next = rows.next();
        let done = next.is_none();
        if let Some(r) = next {
            let (line, cells) = r?;
            if cells.iter().all(|c| c.trim().is_empty()) {
                continue;
            }
            report.rows += 1;
            let cells = Cells {
                at: &at,
                row: &cells,
            };
            let code = cells.get(0).trim();
            match units.get(code).await? {
                Err((key, msg)) => {
                    report.fail(line, spec.columns[0].name, key, format!("{msg}：{code}"))
                }
                Ok(unit) => match kind.prepare(app, unit, &cells) {
                    Err(f) => report.fail(line, f.column, f.error.key(), f.error.message()),
                    Ok((ready, warnings)) => {
                        if seen.insert(kind.key(&ready)) {
                            report.warnings += warnings;
                            lines.push(line);
                            batch.push(ready);
                        } else {
                            report.fail(
                                line,
                                spec.key_column,
                                "duplicate_in_file",
                                format!("{}在文件中重复", spec.key_column),
                            );
                        }
                    }
                },
            }
        }
        if batch.len() >= BATCH || (done && !batch.is_empty()) {
            let mut chunk = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
            let chunk_lines = std::mem::replace(&mut lines, Vec::with_capacity(BATCH));
            let known = kind.settle(app, &mut chunk).await?;
            let mut keep = Vec::with_capacity(chunk.len());
            for ((line, row), fault) in chunk_lines.into_iter().zip(chunk).zip(known) {
                match fault {
                    Some(f) => report.fail(line, f.column, f.error.key(), f.error.message()),
                    None => keep.push(row),
                }
            }
            report.valid += keep.len() as u64;
            if mode == Mode::Valid && !keep.is_empty() {
                if let Some(w) = writing.take() {
                    report.imported += joined(w).await?;
                }
                let (app, actor) = (app.clone(), p.user_id);
                writing = Some(tokio::spawn(async move {
                    K::write(&app, actor, &keep).await?;
                    Ok(keep.len() as u64)
                }));
            }
            progress(report.rows);
        }
        if done {
            break;
        }
    }
    if let Some(w) = writing.take() {
        report.imported += joined(w).await?;
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
                Event::ok(spec.audit, spec.target, report.imported).detail(detail.clone()),
            )
            .await?;
        })?;
    }
    Ok(report)
}

async fn joined(w: tokio::task::JoinHandle<Result<u64>>) -> Result<u64> {
    w.await
        .map_err(|e| AppError::Internal(format!("import batch task: {e}")))?
}

/// The kinds, by name (URLs, the console, job rows).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum KindName {
    Residents,
    Households,
    Buildings,
    Organisations,
    Components,
}

impl KindName {
    pub const ALL: &'static [KindName] = &[
        KindName::Residents,
        KindName::Households,
        KindName::Buildings,
        KindName::Organisations,
        KindName::Components,
    ];

    pub fn spec(self) -> &'static Spec {
        match self {
            KindName::Residents => &residents::Residents::SPEC,
            KindName::Households => &kinds::Households::SPEC,
            KindName::Buildings => &kinds::Buildings::SPEC,
            KindName::Organisations => &kinds::Organisations::SPEC,
            KindName::Components => &kinds::Components::SPEC,
        }
    }

    pub fn parse(s: &str) -> Result<KindName> {
        KindName::ALL
            .iter()
            .copied()
            .find(|k| k.spec().name == s)
            .ok_or_else(|| {
                AppError::invalid(
                    "invalid_kind",
                    "导入类型应为 residents、households、buildings、organisations 或 components",
                )
            })
    }

    /// Import (or check) rows of this kind.
    pub async fn run(
        self,
        app: &App,
        p: &Principal,
        rows: impl Iterator<Item = Result<Row>> + Send,
        mode: Mode,
        progress: Progress<'_>,
    ) -> Result<Report> {
        match self {
            KindName::Residents => run::<residents::Residents>(app, p, rows, mode, progress).await,
            KindName::Households => run::<kinds::Households>(app, p, rows, mode, progress).await,
            KindName::Buildings => run::<kinds::Buildings>(app, p, rows, mode, progress).await,
            KindName::Organisations => {
                run::<kinds::Organisations>(app, p, rows, mode, progress).await
            }
            KindName::Components => run::<kinds::Components>(app, p, rows, mode, progress).await,
        }
    }
}

/// Residents (the bench and older callers).
pub async fn residents(
    app: &App,
    p: &Principal,
    rows: impl Iterator<Item = Result<Row>> + Send,
    mode: Mode,
    progress: Progress<'_>,
) -> Result<Report> {
    run::<residents::Residents>(app, p, rows, mode, progress).await
}

/// A kind's template: the header and its example row, as CSV (UTF-8 with BOM, so Excel opens
/// it right) or xlsx (every column formatted as text, so ID numbers and codes keep their
/// digits). `*` marks the required columns.
pub fn template(spec: &Spec, xlsx: bool) -> Result<Vec<u8>> {
    let header: Vec<String> = spec
        .columns
        .iter()
        .map(|c| {
            if c.required {
                format!("*{}", c.name)
            } else {
                c.name.to_string()
            }
        })
        .collect();
    let example: Vec<&str> = spec.columns.iter().map(|c| c.example).collect();
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
    ws.set_name(spec.label).map_err(fail)?;
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
