//! Lists to Excel (导出): a filtered resident, building, organisation or component list as an
//! .xlsx workbook, masked exactly as the list shows it, and audited — every kind through
//! [`deliver`] (workbook, 说明 sheet, audit row, file name).
//!
//! The export reads the same repository query as the page (so it holds the same rows, in the
//! same order, within the same scope), in pages of [`CHUNK`], and refuses a result larger than
//! [`MAX_ROWS`] before reading any row. Its audit row names the filters — with a typed ID number
//! or phone recorded only as "looked up by" — and the number of rows; the workbook's second
//! sheet (说明) says who exported what, when, and that the values are masked.

use std::collections::HashMap;

use linli_domain::auth::Permission;
use linli_store::repo::registry::{self as repo, BuildingQuery};
use rust_xlsxwriter::{Format, Workbook, XlsxError};
use uuid::Uuid;

use super::TagBook;
use super::residents::{self, ListFilter};
use crate::audit::{Event, record};
use crate::{App, AppError, Principal, Result};

/// The most rows one export may hold: a larger result must be narrowed first.
pub const MAX_ROWS: i64 = 100_000;
/// Rows read per query.
const CHUNK: i64 = 2000;

pub const XLSX_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// A finished export.
pub struct Export {
    pub bytes: Vec<u8>,
    pub rows: usize,
    /// e.g. `居民-20261204-0930.xlsx`.
    pub file_name: String,
}

/// A sheet of text cells with a bold, frozen header.
struct Table {
    name: &'static str,
    header: &'static [(&'static str, f64)],
    rows: Vec<Vec<String>>,
    /// What the 说明 sheet says about the personal data in it.
    note: &'static str,
}

const PERSONAL_NOTE: &str = "姓名、身份证号码、联系电话已脱敏。本文件含个人信息，仅限履职使用，不得外传；导出已记入审计日志。";
const CONTACT_NOTE: &str =
    "联系人姓名、联系电话已脱敏。本文件含个人信息，仅限履职使用，不得外传；导出已记入审计日志。";
const PLAIN_NOTE: &str = "本清单不含个人信息，仅限履职使用；导出已记入审计日志。";

fn workbook(t: &Table, about: &[(&str, String)]) -> Result<Vec<u8>> {
    let fail = |e: XlsxError| AppError::Internal(format!("xlsx export: {e}"));
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    // Text format everywhere: an ID number or a house number must not turn into a number.
    let text = Format::new().set_num_format("@");
    let ws = wb.add_worksheet();
    ws.set_name(t.name).map_err(fail)?;
    for (c, (h, w)) in t.header.iter().enumerate() {
        ws.set_column_width(c as u16, *w).map_err(fail)?;
        ws.write_string_with_format(0, c as u16, *h, &bold)
            .map_err(fail)?;
    }
    for (r, row) in t.rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            ws.write_string_with_format(r as u32 + 1, c as u16, v, &text)
                .map_err(fail)?;
        }
    }
    ws.set_freeze_panes(1, 0).map_err(fail)?;
    let ws = wb.add_worksheet();
    ws.set_name("说明").map_err(fail)?;
    ws.set_column_width(0, 14.0).map_err(fail)?;
    ws.set_column_width(1, 60.0).map_err(fail)?;
    for (r, (k, v)) in about.iter().enumerate() {
        ws.write_string_with_format(r as u32, 0, *k, &bold)
            .map_err(fail)?;
        ws.write_string(r as u32, 1, v).map_err(fail)?;
    }
    wb.save_to_buffer().map_err(fail)
}

fn too_many(n: i64, what: &str) -> AppError {
    AppError::invalid(
        "export_too_large",
        format!(
            "符合条件的{what}有 {n} 条，超过单次导出上限 {MAX_ROWS} 条，请按社区、网格或其他条件缩小范围后再导出"
        ),
    )
}

/// The filters as the audit row and the 说明 sheet name them: the plain ones as given, an
/// exact ID number or phone lookup only as the fact that there was one.
fn described(f: &ListFilter) -> Vec<(&'static str, String)> {
    let plain = [
        ("tag", &f.tag),
        ("age", &f.age),
        ("residency", &f.residency),
        ("sex", &f.sex),
        ("name", &f.name),
        ("status", &f.status),
    ];
    let mut out: Vec<(&'static str, String)> = plain
        .into_iter()
        .filter_map(|(k, v)| {
            v.as_deref()
                .filter(|v| !v.trim().is_empty())
                .map(|v| (k, v.trim().to_string()))
        })
        .collect();
    if let Some(u) = f.unit {
        out.push(("unit", u.to_string()));
    }
    if f.id_number.as_deref().is_some_and(|v| !v.trim().is_empty()) {
        out.push(("id_number", "（按身份证号查找）".into()));
    }
    if f.phone.as_deref().is_some_and(|v| !v.trim().is_empty()) {
        out.push(("phone", "（按电话查找）".into()));
    }
    for (k, v) in [("house", f.house), ("household", f.household)] {
        if let Some(v) = v {
            out.push((k, v.to_string()));
        }
    }
    out
}

fn stamp(app: &App) -> String {
    let t = app.now().display_cst();
    // "2026-12-04 09:30" → "20261204-0930"
    t.chars()
        .filter(|c| c.is_ascii_digit() || *c == ' ')
        .take(13)
        .collect::<String>()
        .replace(' ', "-")
}

async fn audit(
    app: &App,
    p: &Principal,
    action: &str,
    target: Uuid,
    filters: &[(&'static str, String)],
    rows: usize,
) -> Result<()> {
    let now = app.now();
    let filters: serde_json::Map<String, serde_json::Value> = filters
        .iter()
        .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.clone())))
        .collect();
    write_tx!(app, |tx| {
        record(
            &mut tx,
            now,
            p.into(),
            Event::ok(action, "org_unit", target)
                .detail(serde_json::json!({"filters": filters, "rows": rows})),
        )
        .await?;
    })?;
    Ok(())
}

fn about(
    app: &App,
    p: &Principal,
    what: &str,
    note: &str,
    filters: &[(&str, String)],
    rows: usize,
) -> Vec<(&'static str, String)> {
    vec![
        ("内容", what.to_string()),
        ("导出时间", app.now().display_cst()),
        ("导出人", format!("{}（{}）", p.display_name, p.username)),
        (
            "筛选条件",
            if filters.is_empty() {
                "（无）".into()
            } else {
                filters
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join("；")
            },
        ),
        ("行数", rows.to_string()),
        ("说明", note.to_string()),
    ]
}

/// The workbook of a finished list (its file named after the sheet), with its audit row.
async fn deliver(
    app: &App,
    p: &Principal,
    t: Table,
    what: &str,
    action: &str,
    unit: Option<Uuid>,
    filters: &[(&'static str, String)],
) -> Result<Export> {
    let n = t.rows.len();
    let bytes = workbook(&t, &about(app, p, what, t.note, filters, n))?;
    audit(app, p, action, unit.unwrap_or(p.unit_id), filters, n).await?;
    Ok(Export {
        bytes,
        rows: n,
        file_name: format!("{}-{}.xlsx", t.name, stamp(app)),
    })
}

/// Names of the units rows sit in, looked up once each.
struct UnitNames<'a> {
    app: &'a App,
    p: &'a Principal,
    known: HashMap<Uuid, String>,
}

impl UnitNames<'_> {
    async fn fill(&mut self, ids: impl Iterator<Item = Uuid>) -> Result<()> {
        let missing: Vec<Uuid> = ids.filter(|i| !self.known.contains_key(i)).collect();
        if !missing.is_empty() {
            self.known
                .extend(crate::org::names(self.app, self.p, &missing).await?);
        }
        Ok(())
    }

    fn of(&self, id: Uuid) -> String {
        self.known.get(&id).cloned().unwrap_or_default()
    }
}

const RESIDENT_COLUMNS: &[(&str, f64)] = &[
    ("姓名", 10.0),
    ("性别", 6.0),
    ("年龄", 6.0),
    ("身份证号码", 22.0),
    ("联系电话", 14.0),
    ("人口类型", 10.0),
    ("与户主关系", 10.0),
    ("状态", 8.0),
    ("所在网格", 24.0),
    ("标签", 30.0),
];

/// The residents of a filtered list as a masked workbook. Needs `registry.read` and
/// `registry.export`; the rows are the caller's scope only.
pub async fn residents(app: &App, p: &Principal, f: &ListFilter) -> Result<Export> {
    p.require(Permission::RegistryRead)?;
    p.require(Permission::RegistryExport)?;
    let tenant = residents::tenant_for(app, p, f).await?;
    let book = TagBook::load(app).await?;
    let mut q = residents::query(app, p, f, &tenant, &book).await?;
    q.before = None;
    let scope = p.authz.filter(Permission::RegistryRead);
    let total = repo::count_residents(&app.db, &scope, &q).await?;
    if total > MAX_ROWS {
        return Err(too_many(total, "居民"));
    }
    q.limit = CHUNK;
    let mut names = UnitNames {
        app,
        p,
        known: HashMap::new(),
    };
    let mut rows = Vec::with_capacity(total as usize);
    loop {
        let found = repo::list_residents(&app.db, &scope, &q).await?;
        let views = residents::views_of(app, p, &found, &book).await?;
        names.fill(views.iter().map(|v| v.unit_id)).await?;
        for v in &views {
            rows.push(vec![
                v.name.clone(),
                v.sex.clone(),
                v.age.to_string(),
                v.id_number.clone(),
                v.phone.clone(),
                v.residency_label.clone(),
                v.relation.clone(),
                v.status_label.clone(),
                names.of(v.unit_id),
                v.tags
                    .iter()
                    .map(|t| t.label.as_str())
                    .collect::<Vec<_>>()
                    .join("、"),
            ]);
        }
        match found.last() {
            Some(last) if found.len() as i64 == CHUNK => q.before = Some(last.id),
            _ => break,
        }
    }
    let t = Table {
        name: "居民",
        header: RESIDENT_COLUMNS,
        rows,
        note: PERSONAL_NOTE,
    };
    deliver(
        app,
        p,
        t,
        "居民名单",
        "resident.export",
        f.unit,
        &described(f),
    )
    .await
}

const BUILDING_COLUMNS: &[(&str, f64)] = &[
    ("楼栋名称", 18.0),
    ("地址", 36.0),
    ("类型", 10.0),
    ("层数", 6.0),
    ("建成年份", 8.0),
    ("所在网格", 24.0),
    ("纬度", 12.0),
    ("经度", 12.0),
];

/// The buildings of a filtered list as a workbook (no personal data; audited all the same).
pub async fn buildings(
    app: &App,
    p: &Principal,
    f: &super::places::BuildingFilter,
) -> Result<Export> {
    p.require(Permission::RegistryRead)?;
    p.require(Permission::RegistryExport)?;
    let (tenant, unit) = super::list_range(app, p, f.unit).await?;
    let under = unit.map(|u| u.path);
    let scope = p.authz.filter(Permission::RegistryRead);
    let mut q = BuildingQuery {
        tenant,
        under,
        q: super::places::contains(f),
        before: None,
        limit: CHUNK,
    };
    let mut names = UnitNames {
        app,
        p,
        known: HashMap::new(),
    };
    let mut rows = Vec::new();
    loop {
        let found = repo::list_buildings(&app.db, &scope, &q).await?;
        if rows.len() + found.len() > MAX_ROWS as usize {
            return Err(too_many(rows.len() as i64 + found.len() as i64, "楼栋"));
        }
        names.fill(found.iter().map(|b| b.unit_id)).await?;
        let last = found.last().map(|b| b.id);
        let full = found.len() as i64 == CHUNK;
        for b in found {
            let grid = names.of(b.unit_id);
            let b = super::places::view(b);
            rows.push(vec![
                b.name,
                b.address,
                b.kind_label,
                b.floors.to_string(),
                b.build_year.map(|y| y.to_string()).unwrap_or_default(),
                grid,
                b.lat.map(|v| format!("{v:.6}")).unwrap_or_default(),
                b.lng.map(|v| format!("{v:.6}")).unwrap_or_default(),
            ]);
        }
        match last {
            Some(id) if full => q.before = Some(id),
            _ => break,
        }
    }
    let mut filters: Vec<(&'static str, String)> = Vec::new();
    if let Some(u) = f.unit {
        filters.push(("unit", u.to_string()));
    }
    if let Some(s) = super::places::contains(f) {
        filters.push(("q", s));
    }
    let t = Table {
        name: "楼栋",
        header: BUILDING_COLUMNS,
        rows,
        note: PLAIN_NOTE,
    };
    deliver(app, p, t, "楼栋清单", "building.export", f.unit, &filters).await
}

/// Read a list in pages of [`CHUNK`] (keyset on the id, newest first) until it ends, refusing
/// more than [`MAX_ROWS`] rows before turning them into cells.
async fn read_all<R, F, Fut>(what: &str, id_of: impl Fn(&R) -> Uuid, mut page: F) -> Result<Vec<R>>
where
    F: FnMut(Option<Uuid>) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<R>>>,
{
    let mut out: Vec<R> = Vec::new();
    let mut before = None;
    loop {
        let found = page(before).await?;
        let full = found.len() as i64 == CHUNK;
        if out.len() + found.len() > MAX_ROWS as usize {
            return Err(too_many(out.len() as i64 + found.len() as i64, what));
        }
        before = found.last().map(&id_of);
        out.extend(found);
        if !full || before.is_none() {
            return Ok(out);
        }
    }
}

fn push_filter(out: &mut Vec<(&'static str, String)>, key: &'static str, v: Option<String>) {
    if let Some(v) = v.filter(|v| !v.trim().is_empty()) {
        out.push((key, v.trim().to_string()));
    }
}

const ORGANISATION_COLUMNS: &[(&str, f64)] = &[
    ("组织名称", 30.0),
    ("类型", 12.0),
    ("地址", 36.0),
    ("联系人", 10.0),
    ("联系电话", 14.0),
    ("成员人数", 8.0),
    ("所在网格", 24.0),
    ("更新时间", 18.0),
];

/// The organisations of a filtered list as a workbook, the contact masked as in the list.
/// Needs `registry.read` and `registry.export`; audited (`organisation.export`).
pub async fn organisations(
    app: &App,
    p: &Principal,
    f: &super::things::OrganisationFilter,
) -> Result<Export> {
    p.require(Permission::RegistryRead)?;
    p.require(Permission::RegistryExport)?;
    let mut q = super::things::organisation_query(app, p, f).await?;
    q.limit = CHUNK;
    let scope = p.authz.filter(Permission::RegistryRead);
    let found = read_all(
        "组织",
        |o: &repo::OrganisationRow| o.id,
        |before| {
            let q = linli_store::repo::registry_things::OrganisationQuery {
                before,
                ..q.clone()
            };
            let scope = &scope;
            async move {
                Ok(
                    linli_store::repo::registry_things::list_organisations(&app.db, scope, &q)
                        .await?,
                )
            }
        },
    )
    .await?;
    let mut names = UnitNames {
        app,
        p,
        known: HashMap::new(),
    };
    names.fill(found.iter().map(|o| o.unit_id)).await?;
    let rows = found
        .into_iter()
        .map(|o| {
            let grid = names.of(o.unit_id);
            let o = super::things::organisation_view_for(p, o);
            vec![
                o.name,
                o.kind_label,
                o.address,
                o.contact_name,
                o.contact_phone,
                o.member_count.map(|n| n.to_string()).unwrap_or_default(),
                grid,
                o.updated_at,
            ]
        })
        .collect();
    let mut filters: Vec<(&'static str, String)> = Vec::new();
    if let Some(u) = f.unit {
        filters.push(("unit", u.to_string()));
    }
    push_filter(&mut filters, "kind", q.kind.clone());
    push_filter(&mut filters, "name", q.name.clone());
    let t = Table {
        name: "组织",
        header: ORGANISATION_COLUMNS,
        rows,
        note: CONTACT_NOTE,
    };
    deliver(
        app,
        p,
        t,
        "组织清单",
        "organisation.export",
        f.unit,
        &filters,
    )
    .await
}

const COMPONENT_COLUMNS: &[(&str, f64)] = &[
    ("标识码", 20.0),
    ("名称", 14.0),
    ("大类", 10.0),
    ("小类代码", 8.0),
    ("小类", 12.0),
    ("状态", 8.0),
    ("权属部门", 20.0),
    ("地址", 30.0),
    ("所在网格", 24.0),
    ("纬度", 12.0),
    ("经度", 12.0),
    ("更新时间", 18.0),
];

/// The components of a filtered list as a workbook (no personal data; audited all the same,
/// `component.export`). Needs `registry.read` and `registry.export`.
pub async fn components(
    app: &App,
    p: &Principal,
    f: &super::things::ComponentFilter,
) -> Result<Export> {
    p.require(Permission::RegistryRead)?;
    p.require(Permission::RegistryExport)?;
    let mut q = super::things::component_query(app, p, f).await?;
    q.limit = CHUNK;
    let scope = p.authz.filter(Permission::RegistryRead);
    let found = read_all(
        "部件",
        |c: &repo::ComponentRow| c.id,
        |before| {
            let q = linli_store::repo::registry_things::ComponentQuery {
                before,
                ..q.clone()
            };
            let scope = &scope;
            async move {
                Ok(linli_store::repo::registry_things::list_components(&app.db, scope, &q).await?)
            }
        },
    )
    .await?;
    let mut names = UnitNames {
        app,
        p,
        known: HashMap::new(),
    };
    names.fill(found.iter().map(|c| c.unit_id)).await?;
    // Owners are departments, outside a community's unit tree: read by id (names only).
    let mut owners: HashMap<Uuid, String> = HashMap::new();
    for o in found.iter().filter_map(|c| c.owner_id) {
        if let std::collections::hash_map::Entry::Vacant(slot) = owners.entry(o) {
            slot.insert(
                crate::units::get(app, o)
                    .await?
                    .map(|u| u.name)
                    .unwrap_or_default(),
            );
        }
    }
    let rows = found
        .into_iter()
        .map(|c| {
            let grid = names.of(c.unit_id);
            let owner = c
                .owner_id
                .and_then(|o| owners.get(&o).cloned())
                .unwrap_or_default();
            let c = super::things::component_view(c);
            vec![
                c.code,
                c.name,
                c.major_name,
                c.class_code,
                c.class_name,
                c.state_label,
                owner,
                c.address,
                grid,
                c.lat.map(|v| format!("{v:.6}")).unwrap_or_default(),
                c.lng.map(|v| format!("{v:.6}")).unwrap_or_default(),
                c.updated_at,
            ]
        })
        .collect();
    let mut filters: Vec<(&'static str, String)> = Vec::new();
    if let Some(u) = f.unit {
        filters.push(("unit", u.to_string()));
    }
    push_filter(&mut filters, "class", q.class_prefix.clone());
    push_filter(&mut filters, "state", q.state.clone());
    push_filter(&mut filters, "code", q.code_prefix.clone());
    let t = Table {
        name: "部件",
        header: COMPONENT_COLUMNS,
        rows,
        note: PLAIN_NOTE,
    };
    deliver(app, p, t, "部件清单", "component.export", f.unit, &filters).await
}
