//! The dispatch catalogue (派单目录) as versioned data: import a file as a new version (draft or
//! active), activate a version (the previous one retires), browse and search, export.
//!
//! A version is never edited: a change is a new file and a new version, and cases keep the id of
//! the item they were dispatched with ([`entry`] reads any version), so editing the catalogue
//! never changes a case already dispatched.
//!
//! Who may do what: managing (import, activate) needs `catalogue.manage` over the tenant's
//! district unit. Reading (browse, search, export) is for anyone who takes or dispatches
//! requests in the district — `case.create`, `case.dispatch` or `catalogue.manage` held inside
//! it or reaching it from above ([`linli_domain::catalogue::may_read`]); a grid worker's
//! unit-scoped grant is enough. Outside that the catalogue is "not found".

pub mod demo;
pub mod xlsx;

use std::collections::HashMap;

use linli_domain::auth::Permission;
use linli_domain::calendar::TimeLimit;
use linli_domain::case::{Limits, RequestType, Urgency};
use linli_domain::catalogue::{self as dom, Catalogue, Item, Routing};
use linli_domain::org::OrgKind;
use linli_store::StoreError;
use linli_store::repo::catalogue::{self as repo, ItemRow};
use linli_store::repo::org::{self as org_repo, OrgUnit};
use uuid::Uuid;

pub use linli_store::repo::catalogue::Version;

use crate::audit::{Event, record};
use crate::{App, AppError, Principal, Result};

/// The catalogue kind this module manages (the whistle catalogue shares the version table).
pub const DISPATCH: &str = "dispatch";

/// Permissions any one of which lets a user read the catalogue of their district.
pub const READ: [Permission; 3] = [
    Permission::CaseCreate,
    Permission::CaseDispatch,
    Permission::CatalogueManage,
];

/// One catalogue item as a case needs it: where it routes and how fast.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub id: Uuid,
    /// The number of the version it belongs to.
    pub version: i64,
    pub code: String,
    pub full_name: String,
    pub handler_kind: Option<OrgKind>,
    /// A definite unit's code, or empty (the dispatcher picks a unit of `handler_kind`).
    pub handler_code: String,
    pub urgency: Urgency,
    pub community_may: bool,
    pub sign: Option<TimeLimit>,
    pub contact: Option<TimeLimit>,
    pub normal: Option<TimeLimit>,
    pub urgent: Option<TimeLimit>,
    pub critical: Option<TimeLimit>,
    pub leaf: bool,
}

impl Entry {
    /// The limits a dispatch at urgency `u` starts: the entry's own where it states one (the
    /// completion limit of that urgency), otherwise [`Limits::default_for`].
    pub fn limits(&self, t: RequestType, u: Urgency) -> Limits {
        let d = Limits::default_for(t, u);
        let complete = match u {
            Urgency::Normal => self.normal,
            Urgency::Urgent => self.urgent,
            Urgency::Critical => self.critical,
        };
        Limits {
            sign: self.sign.unwrap_or(d.sign),
            contact: self.contact.unwrap_or(d.contact),
            complete: complete.unwrap_or(d.complete),
        }
    }
}

/// An item for browsing: the entry plus its place in the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub entry: Entry,
    pub version_id: Uuid,
    pub parent_code: String,
    pub level: i64,
    pub name: String,
    pub keywords: String,
    /// Direct children (0 for leaves and when not counted).
    pub children: i64,
}

fn limit(s: &str) -> Option<TimeLimit> {
    dom::parse_limit(s).ok().flatten()
}

pub(crate) fn entry_of(r: &ItemRow, version: i64) -> Entry {
    Entry {
        id: r.id,
        version,
        code: r.code.clone(),
        full_name: r.full_name.clone(),
        handler_kind: OrgKind::parse(&r.handler_kind),
        handler_code: r.handler_code.clone(),
        urgency: Urgency::parse(&r.urgency).unwrap_or(Urgency::Normal),
        community_may: r.community_may,
        sign: limit(&r.sign_limit),
        contact: limit(&r.contact_limit),
        normal: limit(&r.limit_normal),
        urgent: limit(&r.limit_urgent),
        critical: limit(&r.limit_critical),
        leaf: r.level == 3,
    }
}

fn node_of(r: ItemRow, version: i64, children: i64) -> Node {
    Node {
        entry: entry_of(&r, version),
        version_id: r.version_id,
        parent_code: r.parent_code,
        level: r.level,
        name: r.name,
        keywords: r.keywords,
        children,
    }
}

/// A stored row back as the domain item (for export).
fn item_of(r: ItemRow) -> Item {
    let leaf = r.level == 3;
    Item {
        routing: if leaf {
            Routing {
                handler_kind: OrgKind::parse(&r.handler_kind),
                handler_code: r.handler_code,
                urgency: Urgency::parse(&r.urgency),
                sign: limit(&r.sign_limit),
                contact: limit(&r.contact_limit),
                normal: limit(&r.limit_normal),
                urgent: limit(&r.limit_urgent),
                critical: limit(&r.limit_critical),
                community_may: r.community_may,
                keywords: r.keywords,
            }
        } else {
            Routing::default()
        },
        code: r.code,
        parent_code: r.parent_code,
        level: u8::try_from(r.level).unwrap_or(3),
        name: r.name,
        full_name: r.full_name,
        line: 0,
    }
}

fn row_of(tenant: &str, version_id: Uuid, i: &Item) -> ItemRow {
    let r = &i.routing;
    let lim = |l: Option<TimeLimit>| l.map(|l| l.to_string()).unwrap_or_default();
    ItemRow {
        tenant: tenant.to_string(),
        version_id,
        id: linli_domain::ids::new_id(),
        code: i.code.clone(),
        parent_code: i.parent_code.clone(),
        level: i64::from(i.level),
        name: i.name.clone(),
        full_name: i.full_name.clone(),
        handler_kind: r
            .handler_kind
            .map(|k| k.as_str().to_string())
            .unwrap_or_default(),
        handler_code: r.handler_code.clone(),
        urgency: r.urgency.unwrap_or(Urgency::Normal).key().to_string(),
        sign_limit: lim(r.sign),
        contact_limit: lim(r.contact),
        limit_normal: lim(r.normal),
        limit_urgent: lim(r.urgent),
        limit_critical: lim(r.critical),
        community_may: r.community_may,
        keywords: r.keywords.clone(),
    }
}

// ---------------------------------------------------------------------------------------------
// Access.

/// The tenant a principal works in (its home unit's district), the default for every call.
pub fn home_tenant(p: &Principal) -> String {
    p.chain()
}

fn check_tenant(tenant: &str) -> Result<()> {
    if tenant.len() == 6 && tenant.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(AppError::invalid("invalid_tenant", "区县代码应为 6 位数字"))
    }
}

/// The district unit that owns a tenant's catalogue.
async fn district(app: &App, tenant: &str) -> Result<OrgUnit> {
    check_tenant(tenant)?;
    match org_repo::get_by_code(&app.db, tenant).await? {
        Some(u) if u.kind == OrgKind::District => Ok(u),
        _ => Err(AppError::NotFound("派单目录")),
    }
}

pub(crate) async fn for_reading(app: &App, p: &Principal, tenant: &str) -> Result<OrgUnit> {
    if !READ.iter().any(|x| p.authz.has(*x)) {
        return Err(AppError::Forbidden);
    }
    let d = district(app, tenant).await?;
    if dom::may_read(&p.authz, &READ, d.id, &d.path) {
        Ok(d)
    } else {
        Err(AppError::NotFound("派单目录"))
    }
}

pub(crate) async fn for_managing(app: &App, p: &Principal, tenant: &str) -> Result<OrgUnit> {
    p.require(Permission::CatalogueManage)?;
    let d = district(app, tenant).await?;
    p.require_on(Permission::CatalogueManage, &d, "派单目录")?;
    Ok(d)
}

/// May `p` import and activate catalogues of `tenant`? (For showing or hiding buttons.)
pub async fn can_manage(app: &App, p: &Principal, tenant: &str) -> bool {
    p.authz.has(Permission::CatalogueManage) && for_managing(app, p, tenant).await.is_ok()
}

// ---------------------------------------------------------------------------------------------
// Files.

/// The two file formats a catalogue travels in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    Csv,
    Xlsx,
}

impl FileFormat {
    pub fn parse(s: &str) -> Option<FileFormat> {
        match s.trim().to_ascii_lowercase().as_str() {
            "csv" => Some(FileFormat::Csv),
            "xlsx" => Some(FileFormat::Xlsx),
            _ => None,
        }
    }
    /// xlsx files are zip archives; anything else is read as CSV.
    pub fn sniff(bytes: &[u8]) -> FileFormat {
        if bytes.starts_with(b"PK\x03\x04") {
            FileFormat::Xlsx
        } else {
            FileFormat::Csv
        }
    }
    pub fn extension(self) -> &'static str {
        match self {
            FileFormat::Csv => "csv",
            FileFormat::Xlsx => "xlsx",
        }
    }
    pub fn content_type(self) -> &'static str {
        match self {
            FileFormat::Csv => "text/csv; charset=utf-8",
            FileFormat::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }
}

/// Read and validate a catalogue file (CSV or xlsx, told apart by its first bytes).
pub fn parse_file(bytes: &[u8]) -> Result<Catalogue> {
    if bytes.is_empty() {
        return Err(AppError::invalid("empty_file", "文件为空"));
    }
    if bytes.len() > dom::MAX_FILE_BYTES {
        return Err(AppError::invalid(
            "file_too_large",
            format!("文件超过 {} MB", dom::MAX_FILE_BYTES >> 20),
        ));
    }
    let parsed = match FileFormat::sniff(bytes) {
        FileFormat::Csv => dom::parse_csv(bytes),
        FileFormat::Xlsx => xlsx::read(bytes)?,
    };
    parsed.map_err(|e| AppError::invalid("invalid_catalogue_file", e.to_string()))
}

/// A file name safe to keep as the version's source: its last path component, printable,
/// at most 100 characters.
fn source_name(s: &str) -> String {
    let base = s.rsplit(['/', '\\']).next().unwrap_or("");
    let clean: String = base.chars().filter(|c| !c.is_control()).take(100).collect();
    let clean = clean.trim().to_string();
    if clean.is_empty() {
        "上传文件".into()
    } else {
        clean
    }
}

fn check_note(note: &str) -> Result<String> {
    let n = note.trim();
    if n.chars().count() > 200 || n.chars().any(|c| c.is_control() && c != '\n') {
        return Err(AppError::invalid(
            "invalid_note",
            "说明不能超过 200 个字，且不能含控制字符",
        ));
    }
    Ok(n.to_string())
}

/// Check each leaf's responsible unit against the tenant's org units: a named unit must exist in
/// the district, be of a kind that can handle cases and agree with the stated unit type (which
/// it fills in when blank).
async fn resolve_handlers(app: &App, tenant: &str, cat: &mut Catalogue) -> Result<()> {
    let mut codes: Vec<String> = cat
        .leaves()
        .map(|i| i.routing.handler_code.clone())
        .filter(|c| !c.is_empty())
        .collect();
    codes.sort();
    codes.dedup();
    let units: HashMap<String, OrgKind> = repo::units_by_codes(&app.db, tenant, &codes)
        .await?
        .into_iter()
        .map(|(code, kind, _)| (code, kind))
        .collect();
    for leaf in cat.leaves_mut() {
        let r = &mut leaf.routing;
        if r.handler_code.is_empty() {
            continue;
        }
        let bad = |m: String| {
            AppError::invalid(
                "invalid_catalogue_file",
                format!("第 {} 行：{m}", leaf.line),
            )
        };
        let Some(kind) = units.get(&r.handler_code).copied() else {
            return Err(bad(format!(
                "责任单位代码 {} 不是本区（{tenant}）的单位",
                r.handler_code
            )));
        };
        if !matches!(
            kind,
            OrgKind::District | OrgKind::Street | OrgKind::Community | OrgKind::Department
        ) {
            return Err(bad(format!(
                "责任单位 {} 是{}，不能承办工单",
                r.handler_code,
                kind.label()
            )));
        }
        if let Some(k) = r.handler_kind
            && k != kind
        {
            return Err(bad(format!(
                "责任单位 {} 是{}，与责任单位类型“{}”不符",
                r.handler_code,
                kind.label(),
                k.label()
            )));
        }
        if kind == OrgKind::Community && !r.community_may {
            return Err(bad("责任单位为社区村时，“社区可承办”须为“是”".into()));
        }
        r.handler_kind = Some(kind);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Use cases: managing.

/// What to import.
pub struct ImportInput<'a> {
    pub tenant: &'a str,
    pub bytes: &'a [u8],
    /// The uploaded file's name (kept as the version's source).
    pub file_name: &'a str,
    pub note: &'a str,
    /// Make it the active version at once (otherwise it is a draft to check first).
    pub activate: bool,
}

#[derive(Debug, Clone)]
pub struct Imported {
    pub version: Version,
    /// Nodes on levels 1, 2, 3.
    pub counts: (usize, usize, usize),
}

/// Validate a file completely, then write it as a new version in one transaction with its
/// audit row. A bad file reports its first bad line and writes nothing.
pub async fn import(app: &App, p: &Principal, input: ImportInput<'_>) -> Result<Imported> {
    for_managing(app, p, input.tenant).await?;
    let note = check_note(input.note)?;
    let cat = parse_file(input.bytes)?;
    save(
        app,
        p,
        input.tenant,
        cat,
        &source_name(input.file_name),
        &note,
        input.activate,
    )
    .await
}

/// Write an already parsed catalogue as a new version (import and the demo loader).
pub(crate) async fn save(
    app: &App,
    p: &Principal,
    tenant: &str,
    mut cat: Catalogue,
    source: &str,
    note: &str,
    activate: bool,
) -> Result<Imported> {
    for_managing(app, p, tenant).await?;
    resolve_handlers(app, tenant, &mut cat).await?;
    let counts = cat.counts();
    let now = app.now();
    let id = linli_domain::ids::new_id();
    let rows: Vec<ItemRow> = cat.items.iter().map(|i| row_of(tenant, id, i)).collect();
    let version = write_tx!(app, |tx| {
        let number = repo::next_number(&mut tx, tenant, DISPATCH).await?;
        let mut v = Version {
            tenant: tenant.to_string(),
            id,
            kind: DISPATCH.into(),
            version: number,
            status: "draft".into(),
            source: source.to_string(),
            note: note.to_string(),
            item_count: rows.len() as i64,
            created_by: (!p.user_id.is_nil()).then_some(p.user_id),
            created_at: now,
            activated_at: None,
        };
        repo::insert_version(&mut tx, &v)
            .await
            .map_err(|e| match e {
                StoreError::Unique(_) => {
                    AppError::Conflict("另一个目录版本正在导入，请稍后重试".into())
                }
                e => e.into(),
            })?;
        repo::insert_items(&mut tx, &rows).await?;
        if activate {
            repo::activate(&mut tx, tenant, DISPATCH, id, now).await?;
            v.status = "active".into();
            v.activated_at = Some(now);
        }
        record(
            &mut tx,
            now,
            p.into(),
            Event::ok("catalogue.import", "catalogue_version", id).detail(serde_json::json!({
                "tenant": tenant,
                "kind": DISPATCH,
                "version": number,
                "source": source,
                "levels": [counts.0, counts.1, counts.2],
                "activated": activate,
            })),
        )
        .await?;
        v
    })?;
    Ok(Imported { version, counts })
}

/// Make a version (draft, or a retired one to roll back to) the active one; the version that
/// was active retires. Cases already dispatched keep their items.
pub async fn activate(app: &App, p: &Principal, tenant: &str, id: Uuid) -> Result<Version> {
    for_managing(app, p, tenant).await?;
    let v = repo::get_version(&app.db, tenant, id)
        .await?
        .filter(|v| v.kind == DISPATCH)
        .ok_or(AppError::NotFound("目录版本"))?;
    let now = app.now();
    write_tx!(app, |tx| {
        if !repo::activate(&mut tx, tenant, DISPATCH, id, now).await? {
            return Err(AppError::Conflict(format!(
                "第 {} 版已是启用中的版本",
                v.version
            )));
        }
        record(
            &mut tx,
            now,
            p.into(),
            Event::ok("catalogue.activate", "catalogue_version", id).detail(
                serde_json::json!({"tenant": tenant, "kind": DISPATCH, "version": v.version}),
            ),
        )
        .await?;
    })?;
    repo::get_version(&app.db, tenant, id)
        .await?
        .ok_or(AppError::NotFound("目录版本"))
}

// ---------------------------------------------------------------------------------------------
// Use cases: reading.

/// Versions, newest first; `before` (a version number) pages back.
pub async fn versions(
    app: &App,
    p: &Principal,
    tenant: &str,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<Version>> {
    for_reading(app, p, tenant).await?;
    Ok(repo::list_versions(&app.db, tenant, DISPATCH, before, limit.clamp(1, 201)).await?)
}

pub async fn version(app: &App, p: &Principal, tenant: &str, id: Uuid) -> Result<Version> {
    for_reading(app, p, tenant).await?;
    repo::get_version(&app.db, tenant, id)
        .await?
        .filter(|v| v.kind == DISPATCH)
        .ok_or(AppError::NotFound("目录版本"))
}

/// The active version, if any.
pub async fn active(app: &App, p: &Principal, tenant: &str) -> Result<Option<Version>> {
    for_reading(app, p, tenant).await?;
    Ok(repo::active_version(&app.db, tenant, DISPATCH).await?)
}

fn check_code(code: &str) -> Result<()> {
    if code.len() > 40 || !code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.') {
        return Err(AppError::invalid("invalid_code", "分类代码无效"));
    }
    Ok(())
}

/// The children of `parent` (empty for the top level) in a version (default: the active one).
pub async fn children(
    app: &App,
    p: &Principal,
    tenant: &str,
    version_id: Option<Uuid>,
    parent: &str,
) -> Result<(Version, Vec<Node>)> {
    for_reading(app, p, tenant).await?;
    let parent = parent.trim();
    check_code(parent)?;
    let v = match version_id {
        Some(id) => repo::get_version(&app.db, tenant, id)
            .await?
            .filter(|v| v.kind == DISPATCH)
            .ok_or(AppError::NotFound("目录版本"))?,
        None => repo::active_version(&app.db, tenant, DISPATCH)
            .await?
            .ok_or(AppError::NotFound("启用中的派单目录"))?,
    };
    let rows = repo::children(&app.db, tenant, v.id, parent).await?;
    if rows.is_empty()
        && !parent.is_empty()
        && repo::item_by_code(&app.db, tenant, v.id, parent)
            .await?
            .is_none()
    {
        return Err(AppError::NotFound("分类"));
    }
    let nodes = rows
        .into_iter()
        .map(|(r, n)| node_of(r, v.version, n))
        .collect();
    Ok((v, nodes))
}

/// One item with its version (for the detail page).
pub async fn item(app: &App, p: &Principal, tenant: &str, id: Uuid) -> Result<(Version, Node)> {
    for_reading(app, p, tenant).await?;
    let r = repo::get_item(&app.db, tenant, id)
        .await?
        .ok_or(AppError::NotFound("目录条目"))?;
    let v = repo::get_version(&app.db, tenant, r.version_id)
        .await?
        .ok_or(AppError::NotFound("目录版本"))?;
    let n = node_of(r, v.version, 0);
    Ok((v, n))
}

/// Names of org units by code within the tenant (for showing responsible units).
pub async fn unit_names(
    app: &App,
    p: &Principal,
    tenant: &str,
    codes: &[String],
) -> Result<HashMap<String, String>> {
    for_reading(app, p, tenant).await?;
    Ok(repo::units_by_codes(&app.db, tenant, codes)
        .await?
        .into_iter()
        .map(|(c, _, n)| (c, n))
        .collect())
}

/// A version as a file in the full layout.
pub async fn export(
    app: &App,
    p: &Principal,
    tenant: &str,
    id: Uuid,
    format: FileFormat,
) -> Result<(Version, Vec<u8>)> {
    let v = version(app, p, tenant, id).await?;
    let items: Vec<Item> = repo::items(&app.db, tenant, v.id)
        .await?
        .into_iter()
        .map(item_of)
        .collect();
    let bytes = match format {
        FileFormat::Csv => dom::to_csv(&items),
        FileFormat::Xlsx => xlsx::write(&items)?,
    };
    Ok((v, bytes))
}

/// The file name an export is offered under, e.g. `派单目录-110101-v3.xlsx`.
pub fn export_file_name(v: &Version, format: FileFormat) -> String {
    format!(
        "派单目录-{}-v{}.{}",
        v.tenant,
        v.version,
        format.extension()
    )
}

/// Items already read, by tenant and id. A version's items are never edited (a change is a new
/// version), so an entry once read stays true for the life of the process, on every server:
/// there is nothing to expire. The map is cleared whole at [`ENTRY_CACHE_MAX`] (a district's
/// catalogue has a few hundred leaves per version).
#[derive(Default)]
pub struct EntryCache(std::sync::Mutex<HashMap<(String, Uuid), Entry>>);

pub const ENTRY_CACHE_MAX: usize = 50_000;

/// One item by id, in any version, for the case module (which checks its own permissions).
/// Intake names a category on nearly every case, so this reads through [`EntryCache`].
pub async fn entry(app: &App, tenant: &str, id: Uuid) -> Result<Option<Entry>> {
    let key = (tenant.to_string(), id);
    if let Some(e) = app.entries.0.lock().ok().and_then(|m| m.get(&key).cloned()) {
        return Ok(Some(e));
    }
    let Some(r) = repo::get_item(&app.db, tenant, id).await? else {
        return Ok(None);
    };
    let number = repo::get_version(&app.db, tenant, r.version_id)
        .await?
        .map(|v| v.version)
        .unwrap_or(0);
    let e = entry_of(&r, number);
    if let Ok(mut m) = app.entries.0.lock() {
        if m.len() >= ENTRY_CACHE_MAX {
            m.clear();
        }
        m.insert(key, e.clone());
    }
    Ok(Some(e))
}

/// Most terms a search combines, and longest query.
const MAX_TERMS: usize = 5;
const MAX_QUERY_CHARS: usize = 64;

/// Leaves of the active version matching every whitespace-separated term of `q` in their path
/// or keywords (call-takers type what the caller says: "路灯 不亮").
pub async fn search(
    app: &App,
    p: &Principal,
    tenant: &str,
    q: &str,
    limit: i64,
) -> Result<Vec<Entry>> {
    Ok(search_nodes(app, p, tenant, q, limit)
        .await?
        .into_iter()
        .map(|n| n.entry)
        .collect())
}

/// [`search`] with the tree fields, for pages and the API.
pub async fn search_nodes(
    app: &App,
    p: &Principal,
    tenant: &str,
    q: &str,
    limit: i64,
) -> Result<Vec<Node>> {
    for_reading(app, p, tenant).await?;
    let q: String = q.trim().chars().take(MAX_QUERY_CHARS).collect();
    let terms: Vec<String> = q
        .split_whitespace()
        .take(MAX_TERMS)
        .map(str::to_string)
        .collect();
    if terms.is_empty() {
        return Ok(vec![]);
    }
    let Some(v) = repo::active_version(&app.db, tenant, DISPATCH).await? else {
        return Ok(vec![]);
    };
    Ok(
        repo::search_leaves(&app.db, tenant, v.id, &terms, limit.clamp(1, 50))
            .await?
            .into_iter()
            .map(|r| node_of(r, v.version, 0))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e() -> Entry {
        Entry {
            id: Uuid::nil(),
            version: 1,
            code: "01.01.001".into(),
            full_name: "a/b/c".into(),
            handler_kind: None,
            handler_code: String::new(),
            urgency: Urgency::Normal,
            community_may: false,
            sign: None,
            contact: None,
            normal: None,
            urgent: None,
            critical: None,
            leaf: true,
        }
    }

    #[test]
    fn limits_fall_back_one_by_one() {
        let mut x = e();
        for t in RequestType::ALL {
            for u in Urgency::ALL {
                assert_eq!(x.limits(*t, *u), Limits::default_for(*t, *u));
            }
        }
        x.normal = Some(TimeLimit::WorkingDays(3));
        x.contact = Some(TimeLimit::NaturalHours(12));
        let l = x.limits(RequestType::Complaint, Urgency::Normal);
        assert_eq!(l.complete, TimeLimit::WorkingDays(3));
        assert_eq!(l.contact, TimeLimit::NaturalHours(12));
        assert_eq!(
            l.sign,
            Limits::default_for(RequestType::Complaint, Urgency::Normal).sign
        );
        // The normal limit does not leak into an urgent dispatch.
        let l = x.limits(RequestType::Complaint, Urgency::Urgent);
        assert_eq!(l.complete, TimeLimit::NaturalHours(24));
        x.critical = Some(TimeLimit::NaturalHours(4));
        assert_eq!(
            x.limits(RequestType::Help, Urgency::Critical).complete,
            TimeLimit::NaturalHours(4)
        );
    }

    #[test]
    fn formats_and_names() {
        assert_eq!(FileFormat::sniff(b"PK\x03\x04rest"), FileFormat::Xlsx);
        assert_eq!(FileFormat::sniff("一级分类".as_bytes()), FileFormat::Csv);
        assert_eq!(FileFormat::parse("XLSX"), Some(FileFormat::Xlsx));
        assert_eq!(FileFormat::parse("xls"), None);
        assert_eq!(source_name("C:\\Users\\x\\目录.csv"), "目录.csv");
        assert_eq!(source_name("../../etc/passwd"), "passwd");
        assert_eq!(source_name(""), "上传文件");
        assert!(check_note(&"长".repeat(201)).is_err());
        assert!(check_code("01.02").is_ok());
        assert!(check_code("01'--").is_err());
    }
}
