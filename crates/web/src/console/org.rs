//! 组织架构 pages: the lazily expanded tree, search, one unit's page (properties, counts,
//! children, accounts, rename and add-child forms), and the unit picker other forms embed.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use linli_app::AppError;
use linli_domain::auth::{Permission, Target};
use linli_domain::org::OrgKind;
use linli_store::repo::org::{ListQuery, OrgUnit, UnitWithCounts};
use serde::Deserialize;
use uuid::Uuid;

use super::users::{UserRow, user_rows};
use super::{
    FlashQuery, FragmentWrap, PageError, Shell, back, fail, fragment_error, kind_class, render,
    ticked,
};
use crate::AppState;
use crate::auth::{ApiForm, ApiPath, ApiQuery, ConsoleAuth};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/org", get(tree))
        .route("/console/org/pick", get(pick))
        .route("/console/org/children/{id}", get(children_rows))
        .route("/console/org/{id}", get(unit_page))
        .route("/console/org/{id}/rename", post(rename))
        .route("/console/org/{id}/children", post(add_child))
}

fn source_label(s: &str) -> String {
    match s {
        "system" => "系统初始化".into(),
        "demo" => "演示数据".into(),
        "manual" => "手工添加".into(),
        "nbs2023" => "统计用区划代码（2023）".into(),
        other => other.to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// The tree.

/// One row of the org tree (also used for flat tables of units).
pub(super) struct UnitRow {
    pub id: Uuid,
    pub name: String,
    pub kind: &'static str,
    pub kind_class: &'static str,
    pub subtype: String,
    pub code: String,
    pub path: String,
    pub active: bool,
    pub children: i64,
    pub users: i64,
    /// Depth in the displayed tree (0 for the caller's roots).
    pub level: usize,
    /// Breadcrumb text above the unit, for search results.
    pub trail: String,
    /// Its children are already in the table (rendered open).
    pub expanded: bool,
}

impl UnitRow {
    fn of(u: OrgUnit, children: i64, users: i64, level: usize) -> UnitRow {
        UnitRow {
            id: u.id,
            kind: u.kind.label(),
            kind_class: kind_class(u.kind),
            subtype: if u.subtype == u.kind.label() {
                String::new()
            } else {
                u.subtype
            },
            name: u.name,
            code: u.code,
            path: u.path,
            active: u.active,
            children,
            users,
            level,
            trail: String::new(),
            expanded: false,
        }
    }
    fn counted(w: UnitWithCounts, level: usize) -> UnitRow {
        UnitRow::of(w.unit, w.children, w.users, level)
    }
    /// Indentation in rem.
    pub fn indent(&self) -> String {
        format!("{:.2}", self.level as f64 * 1.5)
    }
}

#[derive(Template)]
#[template(path = "org_tree.html")]
struct TreePage {
    shell: Shell,
    q: String,
    rows: Vec<UnitRow>,
    results: Option<Vec<UnitRow>>,
    more: bool,
}

#[derive(Template)]
#[template(path = "_org_rows.html")]
struct TreeRows {
    rows: Vec<UnitRow>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct TreeQuery {
    q: Option<String>,
    ok: Option<String>,
    err: Option<String>,
}

const SEARCH_LIMIT: i64 = 50;

async fn tree(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiQuery(q): ApiQuery<TreeQuery>,
) -> Result<Response, PageError> {
    let fail = fail(&s, &p, "/console/org");
    let roots = linli_app::org::roots(&s.app, &p).await.map_err(&fail)?;
    let mut rows: Vec<UnitRow> = roots.into_iter().map(|w| UnitRow::counted(w, 0)).collect();
    // A single root: open the chain of only children (平台 → 省 → 市 → 区) down to the first
    // unit with several children, and show those, so the first screen is useful.
    if rows.len() == 1 {
        let mut at = 0;
        while rows[at].children > 0 && rows[at].level < 6 {
            let kids = linli_app::org::children(&s.app, &p, rows[at].id)
                .await
                .map_err(&fail)?;
            let level = rows[at].level + 1;
            rows[at].expanded = true;
            let single = kids.len() == 1;
            rows.extend(kids.into_iter().map(|w| UnitRow::counted(w, level)));
            if !single {
                break;
            }
            at += 1;
        }
    }
    let text: String =
        q.q.as_deref()
            .unwrap_or("")
            .trim()
            .chars()
            .take(64)
            .collect();
    let (results, more) = if text.is_empty() {
        (None, false)
    } else {
        let lq = ListQuery {
            q: Some(text.clone()),
            limit: SEARCH_LIMIT + 1,
            ..ListQuery::default()
        };
        let mut found = linli_app::org::list(&s.app, &p, &lq).await.map_err(&fail)?;
        let more = found.len() as i64 > SEARCH_LIMIT;
        found.truncate(SEARCH_LIMIT as usize);
        let mut out = Vec::with_capacity(found.len());
        for u in found {
            let trail = linli_app::org::breadcrumbs(&s.app, &p, &u)
                .await
                .map_err(&fail)?
                .into_iter()
                .filter(|a| a.id != u.id && a.kind != OrgKind::Root)
                .map(|a| a.name)
                .collect::<Vec<_>>()
                .join(" / ");
            let mut row = UnitRow::of(u, 0, 0, 0);
            row.trail = trail;
            out.push(row);
        }
        (Some(out), more)
    };
    let shell = Shell::new(&p, &s.app, "组织架构", "/console/org")
        .flash_from(q.ok.as_deref(), q.err.as_deref());
    Ok(render(&TreePage {
        shell,
        q: text,
        rows,
        results,
        more,
    }))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct LevelQuery {
    level: Option<usize>,
}

/// `<tr>` rows of a unit's children, inserted by htmx after the parent's row.
async fn children_rows(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(q): ApiQuery<LevelQuery>,
) -> Response {
    let level = q.level.unwrap_or(1).clamp(1, 12);
    match linli_app::org::children(&s.app, &p, id).await {
        Ok(rows) => render(&TreeRows {
            rows: rows
                .into_iter()
                .map(|w| UnitRow::counted(w, level))
                .collect(),
        }),
        Err(e) => fragment_error(FragmentWrap::Row, &e),
    }
}

// ---------------------------------------------------------------------------------------------
// The unit picker.

#[derive(Template)]
#[template(path = "_unit_pick.html")]
struct PickList {
    units: Vec<UnitRow>,
    q: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PickQuery {
    q: Option<String>,
    unit_q: Option<String>,
}

const PICK_LIMIT: i64 = 12;

/// A short list of units matching `q` (name contains / code starts with), for the picker.
async fn pick(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiQuery(q): ApiQuery<PickQuery>,
) -> Response {
    let text: String = q
        .unit_q
        .or(q.q)
        .unwrap_or_default()
        .trim()
        .chars()
        .take(64)
        .collect();
    if text.is_empty() {
        return render(&PickList {
            units: vec![],
            q: text,
        });
    }
    let lq = ListQuery {
        q: Some(text.clone()),
        limit: PICK_LIMIT,
        ..ListQuery::default()
    };
    match linli_app::org::list(&s.app, &p, &lq).await {
        Ok(units) => render(&PickList {
            units: units.into_iter().map(|u| UnitRow::of(u, 0, 0, 0)).collect(),
            q: text,
        }),
        Err(e) => fragment_error(FragmentWrap::ListItem, &e),
    }
}

// ---------------------------------------------------------------------------------------------
// One unit.

#[derive(Template)]
#[template(path = "org_unit.html")]
struct UnitPage {
    shell: Shell,
    u: OrgUnit,
    kind_label: &'static str,
    kind_class: &'static str,
    source: String,
    created: String,
    updated: String,
    counts: Vec<(&'static str, i64)>,
    children: Vec<UnitRow>,
    show_users: bool,
    users: Vec<UserRow>,
    more_users: bool,
    can_manage: bool,
    child_kinds: Vec<(&'static str, &'static str)>,
    code_hint: String,
    /// A grid or department: nothing can sit below it.
    leaf: bool,
    /// The path's segments, so the page can break the line between them.
    path_parts: Vec<String>,
}

const UNIT_USERS: i64 = 20;

fn code_hint(parent: &OrgUnit, kinds: &[OrgKind]) -> String {
    kinds
        .iter()
        .map(|k| match k {
            OrgKind::Province => "省级：2 位代码".to_string(),
            OrgKind::City => format!("市级：{} + 2 位", parent.code),
            OrgKind::District => format!("区县：{} + 2 位（共 6 位）", parent.code),
            OrgKind::Street => format!(
                "街道乡镇：{} + 3 位（共 9 位；001–099 街道，100–199 镇，200–399 乡）",
                parent.code
            ),
            OrgKind::Community => format!(
                "社区村：{} + 3 位（共 12 位；001–199 居委会，200–399 村委会）",
                parent.code
            ),
            OrgKind::Grid => format!("网格：{} + 3 位（共 15 位）", parent.code),
            OrgKind::Department => format!(
                "职能部门：{}B + 2–4 位数字，如 {}B01",
                parent.code, parent.code
            ),
            OrgKind::Root => String::new(),
        })
        .collect::<Vec<_>>()
        .join("；")
}

async fn unit_page(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(fq): ApiQuery<FlashQuery>,
) -> Result<Response, PageError> {
    let fail = fail(&s, &p, "/console/org");
    let u = linli_app::org::get(&s.app, &p, id).await.map_err(&fail)?;
    let crumbs: Vec<(String, String)> =
        std::iter::once(("/console/org".to_string(), "组织架构".to_string()))
            .chain(
                linli_app::org::breadcrumbs(&s.app, &p, &u)
                    .await
                    .map_err(&fail)?
                    .into_iter()
                    .filter(|a| a.id != u.id)
                    .map(|a| (format!("/console/org/{}", a.id), a.name)),
            )
            .collect();
    let mut counts: Vec<(OrgKind, i64)> = linli_app::org::descendant_counts(&s.app, &p, &u)
        .await
        .map_err(&fail)?;
    counts.sort_by_key(|(k, _)| *k);
    let counts = counts
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| (k.label(), n))
        .collect();
    let children = linli_app::org::children(&s.app, &p, u.id)
        .await
        .map_err(&fail)?
        .into_iter()
        .map(|w| UnitRow::counted(w, 0))
        .collect();
    let show_users = p.authz.has(Permission::UserRead);
    let (users, more_users) = if show_users {
        let lq = linli_store::repo::users::ListQuery {
            under: Some(u.path.clone()),
            limit: UNIT_USERS + 1,
            ..Default::default()
        };
        let mut list = linli_app::users::list(&s.app, &p, &lq)
            .await
            .map_err(&fail)?;
        let more = list.len() as i64 > UNIT_USERS;
        list.truncate(UNIT_USERS as usize);
        (user_rows(&s, &p, list).await, more)
    } else {
        (vec![], false)
    };
    let can_manage = p.authz.allows(
        Permission::OrgManage,
        Target {
            unit_id: u.id,
            unit_path: &u.path,
            owner: None,
        },
    );
    let allowed = u.kind.allowed_children();
    let child_kinds = allowed.iter().map(|k| (k.as_str(), k.label())).collect();
    let shell = Shell::new(&p, &s.app, u.name.clone(), "/console/org")
        .crumbs(crumbs)
        .flash_from(fq.ok.as_deref(), fq.err.as_deref());
    Ok(render(&UnitPage {
        shell,
        kind_label: u.kind.label(),
        kind_class: kind_class(u.kind),
        source: source_label(&u.source),
        created: u.created_at.display_cst(),
        updated: u.updated_at.display_cst(),
        code_hint: code_hint(&u, allowed),
        leaf: allowed.is_empty(),
        path_parts: u
            .path
            .trim_matches('/')
            .split('/')
            .filter(|x| !x.is_empty())
            .map(|x| format!("{x}/"))
            .collect(),
        counts,
        children,
        show_users,
        users,
        more_users,
        can_manage,
        child_kinds,
        u,
    }))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RenameForm {
    name: String,
    version: String,
    active: Option<String>,
}

async fn rename(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiPath(id): ApiPath<Uuid>,
    ApiForm(f): ApiForm<RenameForm>,
) -> Response {
    let to = format!("/console/org/{id}");
    let r = async {
        let version: i64 = f
            .version
            .trim()
            .parse()
            .map_err(|_| AppError::invalid("invalid_version", "版本号无效，请刷新后重试"))?;
        let u = linli_app::org::update(&s.app, &p, id, version, &f.name, ticked(&f.active)).await?;
        Ok(format!("已保存：{}", u.name))
    }
    .await;
    back(&to, r)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ChildForm {
    kind: String,
    code: String,
    name: String,
}

async fn add_child(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiPath(id): ApiPath<Uuid>,
    ApiForm(f): ApiForm<ChildForm>,
) -> Response {
    let to = format!("/console/org/{id}");
    let r = async {
        let kind = OrgKind::parse(&f.kind)
            .ok_or_else(|| AppError::invalid("invalid_kind", "请选择下级单位的层级"))?;
        let u = linli_app::org::create(
            &s.app,
            &p,
            linli_app::org::NewUnit {
                parent_id: id,
                kind,
                code: f.code,
                name: f.name,
            },
        )
        .await?;
        Ok(format!(
            "已添加{}：{}（{}）",
            u.kind.label(),
            u.name,
            u.code
        ))
    }
    .await;
    back(&to, r)
}
