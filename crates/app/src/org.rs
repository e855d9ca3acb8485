//! Reading and maintaining the org tree.

use linli_domain::auth::Permission;
use linli_domain::org::{OrgKind, child_path, tenant_of, validate_code};
use linli_store::repo::org::{self as repo, ListQuery, OrgUnit, UnitWithCounts};
use std::collections::HashMap;
use uuid::Uuid;

use crate::audit::{Event, record};
use crate::{App, AppError, Principal, Result};

/// The top units of the caller's tree (where their `org.read` grants sit), with counts.
pub async fn roots(app: &App, p: &Principal) -> Result<Vec<UnitWithCounts>> {
    p.require(Permission::OrgRead)?;
    Ok(repo::with_counts(&app.db, &p.authz.roots(Permission::OrgRead)).await?)
}

pub async fn get(app: &App, p: &Principal, id: Uuid) -> Result<OrgUnit> {
    let u = repo::get(&app.db, id)
        .await?
        .ok_or(AppError::NotFound("单位"))?;
    p.require_on(Permission::OrgRead, &u, "单位")?;
    Ok(u)
}

pub async fn children(app: &App, p: &Principal, id: Uuid) -> Result<Vec<UnitWithCounts>> {
    let parent = get(app, p, id).await?;
    Ok(repo::children(&app.db, parent.id, &p.authz.filter(Permission::OrgRead)).await?)
}

pub async fn breadcrumbs(app: &App, p: &Principal, u: &OrgUnit) -> Result<Vec<OrgUnit>> {
    let all = repo::ancestors(&app.db, u).await?;
    Ok(all
        .into_iter()
        .filter(|a| {
            p.authz.allows(
                Permission::OrgRead,
                linli_domain::auth::Target {
                    unit_id: a.id,
                    unit_path: &a.path,
                    owner: None,
                },
            )
        })
        .collect())
}

pub async fn descendant_counts(
    app: &App,
    p: &Principal,
    u: &OrgUnit,
) -> Result<Vec<(OrgKind, i64)>> {
    p.require_on(Permission::OrgRead, u, "单位")?;
    Ok(repo::descendant_counts(&app.db, &u.path).await?)
}

pub async fn list(app: &App, p: &Principal, q: &ListQuery) -> Result<Vec<OrgUnit>> {
    p.require(Permission::OrgRead)?;
    let mut q = q.clone();
    q.limit = q.limit.clamp(1, 500);
    if let Some(s) = &q.q
        && s.chars().count() > 64
    {
        return Err(AppError::invalid("query_too_long", "搜索词最多 64 个字符"));
    }
    Ok(repo::list(&app.db, &p.authz.filter(Permission::OrgRead), &q).await?)
}

pub fn validate_name(s: &str) -> Result<String> {
    let s = s.trim();
    if s.is_empty() || s.chars().count() > 100 || s.chars().any(char::is_control) {
        return Err(AppError::invalid("invalid_name", "名称须为 1–100 个字符"));
    }
    Ok(s.to_string())
}

pub struct NewUnit {
    pub parent_id: Uuid,
    pub kind: OrgKind,
    pub code: String,
    pub name: String,
}

/// Add a unit (a grid, a department, a missing community) under a parent the caller manages.
pub async fn create(app: &App, p: &Principal, n: NewUnit) -> Result<OrgUnit> {
    let parent = repo::get(&app.db, n.parent_id)
        .await?
        .ok_or(AppError::NotFound("上级单位"))?;
    p.require_on(Permission::OrgManage, &parent, "上级单位")?;
    if !parent.kind.allowed_children().contains(&n.kind) {
        return Err(AppError::invalid(
            "kind_not_allowed",
            format!("{}下不能设立{}", parent.kind.label(), n.kind.label()),
        ));
    }
    let code = n.code.trim().to_uppercase();
    validate_code(
        n.kind,
        &code,
        Some(parent.code.as_str()).filter(|_| parent.kind != OrgKind::Root),
    )
    .map_err(|e| AppError::invalid("invalid_code", e.to_string()))?;
    let name = validate_name(&n.name)?;
    let now = app.now();
    let unit = OrgUnit {
        tenant: tenant_of(&code),
        id: linli_domain::ids::new_id(),
        parent_id: Some(parent.id),
        kind: n.kind,
        path: child_path(&parent.path, &code),
        depth: parent.depth + 1,
        subtype: String::new(),
        source: "manual".into(),
        active: true,
        created_at: now,
        updated_at: now,
        version: 1,
        code,
        name,
    };
    write_tx!(app, |tx| {
        repo::insert(&mut tx, &unit).await.map_err(|e| match e {
            linli_store::StoreError::Unique(_) => AppError::Conflict("该代码已被使用".into()),
            e => e.into(),
        })?;
        record(
            &mut tx,
            now,
            p.into(),
            Event::ok("org.create", "org_unit", unit.id)
                .detail(serde_json::json!({"code": unit.code, "name": unit.name})),
        )
        .await?;
    })?;
    Ok(unit)
}

/// Rename or (de)activate a unit, refusing a stale version.
pub async fn update(
    app: &App,
    p: &Principal,
    id: Uuid,
    expected_version: i64,
    name: &str,
    active: bool,
) -> Result<OrgUnit> {
    let u = repo::get(&app.db, id)
        .await?
        .ok_or(AppError::NotFound("单位"))?;
    p.require_on(Permission::OrgManage, &u, "单位")?;
    let name = validate_name(name)?;
    let now = app.now();
    write_tx!(app, |tx| {
        if !repo::update(&mut tx, id, expected_version, &name, active, now).await? {
            return Err(AppError::Stale);
        }
        record(
            &mut tx,
            now,
            p.into(),
            Event::ok("org.update", "org_unit", id)
                .detail(serde_json::json!({"from": u.name, "to": name, "active": active})),
        )
        .await?;
    })?;
    repo::get(&app.db, id)
        .await?
        .ok_or(AppError::NotFound("单位"))
}

/// Names of units for display: those the caller may read, and always the caller's own unit.
pub async fn names(app: &App, p: &Principal, ids: &[Uuid]) -> Result<HashMap<Uuid, String>> {
    let mut ids = ids.to_vec();
    ids.sort();
    ids.dedup();
    Ok(repo::names(
        &app.db,
        &ids,
        &p.authz.filter(Permission::OrgRead),
        p.unit_id,
    )
    .await?
    .into_iter()
    .collect())
}
