//! First start and demo data: the root unit, the built-in roles, the first administrator, and
//! (with `--demo`) the 北京市东城区 demo district with grids, departments and staff accounts.

use linli_domain::auth::{Authz, DataScope, Grant, Permission};
use linli_domain::org::{OrgKind, ROOT_TENANT, child_path, tenant_of};
use linli_store::repo::org::{self as org_repo, OrgUnit};
use linli_store::repo::{roles, users};

use crate::audit::{Actor, Event, record};
use crate::auth::random_bytes;
use crate::divisions::{self, DivisionRow};
use crate::users::NewUser;
use crate::{App, AppError, Ctx, Principal, Result};

pub const ROOT_CODE: &str = "0";

/// A password that satisfies the default policy: 4 groups of 4 from an unambiguous alphabet,
/// with at least one lower, upper and digit, joined by `-`.
pub fn generate_password() -> String {
    const LOWER: &[u8] = b"abcdefghijkmnpqrstuvwxyz";
    const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
    const DIGIT: &[u8] = b"23456789";
    let bytes = random_bytes::<16>();
    let mut groups = Vec::new();
    for g in 0..4 {
        let mut s = String::new();
        for i in 0..4 {
            let b = bytes[g * 4 + i];
            let set = match (g * 4 + i) % 3 {
                0 => LOWER,
                1 => UPPER,
                _ => DIGIT,
            };
            s.push(char::from(set[usize::from(b) % set.len()]));
        }
        groups.push(s);
    }
    groups.join("-")
}

/// A principal with every permission over the whole tree, for shell commands run by whoever
/// controls the server. Audited as `system`.
pub async fn system_principal(app: &App, ctx: Ctx) -> Result<Principal> {
    let root = org_repo::root(&app.db)
        .await?
        .ok_or_else(|| AppError::Internal("数据库尚未初始化".into()))?;
    let nil = uuid::Uuid::nil();
    Ok(Principal {
        user_id: nil,
        username: "system".into(),
        display_name: "系统".into(),
        unit_id: root.id,
        unit_path: root.path.clone(),
        authz: Authz {
            user_id: nil,
            grants: vec![Grant {
                role_key: "system".into(),
                permissions: Permission::ALL.to_vec(),
                unit_id: root.id,
                unit_path: root.path,
                scope: DataScope::Subtree,
            }],
        },
        session_id: None,
        token_id: None,
        csrf: None,
        registry_fields: None,
        must_change_password: false,
        totp_enabled: false,
        ctx,
    })
}

/// Make sure the root unit and the built-in roles exist. Idempotent; run at every start.
pub async fn ensure_base(app: &App, platform_name: &str) -> Result<()> {
    let now = app.now();
    write_tx!(app, |tx| {
        let has_root = tx
            .fetch_one_i64(
                "SELECT COUNT(*) AS n FROM org_units WHERE tenant = '000000' AND kind = 'root'",
                vec![],
            )
            .await?;
        if has_root == 0 {
            let root = OrgUnit {
                tenant: ROOT_TENANT.into(),
                id: linli_domain::ids::new_id(),
                parent_id: None,
                kind: OrgKind::Root,
                code: ROOT_CODE.into(),
                name: platform_name.to_string(),
                path: "/".into(),
                depth: 0,
                subtype: String::new(),
                source: "system".into(),
                active: true,
                created_at: now,
                updated_at: now,
                version: 1,
            };
            org_repo::insert(&mut tx, &root).await?;
        }
        roles::sync_builtin(&mut tx, now).await?;
    })?;
    crate::calendar::ensure_seeded(app).await?;
    crate::registry::ensure_tags(app).await?;
    // Imports whose server stopped mid-way (this one before its restart, or another).
    let stale = crate::registry::import::jobs::fail_stale(app).await?;
    if stale > 0 {
        tracing::warn!(
            jobs = stale,
            "import jobs interrupted by a stop were marked failed"
        );
    }
    Ok(())
}

/// Create `admin` (系统管理员 over the whole tree) if there is no such account yet.
/// Returns the generated password when none was supplied, to be shown once.
pub async fn ensure_admin(app: &App, password: Option<&str>) -> Result<Option<String>> {
    if users::by_username(&app.db, "admin").await?.is_some() {
        return Ok(None);
    }
    let (pw, generated) = match password {
        Some(p) => (p.to_string(), false),
        None => (generate_password(), true),
    };
    app.cfg.password.check("admin", &pw).map_err(|e| {
        AppError::invalid(
            "weak_password",
            format!("LINLI_ADMIN_PASSWORD 不符合密码策略：{e}"),
        )
    })?;
    let sys = system_principal(app, Ctx::cli()).await?;
    let root = org_repo::root(&app.db)
        .await?
        .ok_or_else(|| AppError::Internal("root missing".into()))?;
    let u = crate::users::create(
        app,
        &sys,
        NewUser {
            username: "admin".into(),
            display_name: "系统管理员".into(),
            unit_id: root.id,
            password: pw.clone(),
            kind: "staff".into(),
            must_change_password: false,
        },
    )
    .await?;
    crate::users::grant_role(app, &sys, u.id, "sys_admin", root.id, DataScope::Subtree).await?;
    Ok(generated.then_some(pw))
}

/// The departments every demo district gets (职能部门), as (suffix, name).
pub const DEMO_DEPARTMENTS: &[(&str, &str)] = &[
    ("B01", "城市管理委员会"),
    ("B02", "住房和城乡建设委员会"),
    ("B03", "公安分局"),
    ("B04", "民政局"),
    ("B05", "水务局"),
    ("B06", "供电公司"),
    ("B07", "市场监督管理局"),
    ("B08", "生态环境局"),
    ("B09", "卫生健康委员会"),
    ("B10", "交通支队"),
];

const GRID_NAMES: [&str; 3] = ["第一网格", "第二网格", "第三网格"];

/// Demo accounts: (username, display name, role, unit code or suffix, scope).
pub const DEMO_USERS: &[(&str, &str, &str, &str, DataScope)] = &[
    (
        "secadmin",
        "安全管理员",
        "sec_admin",
        "0",
        DataScope::Subtree,
    ),
    (
        "auditor",
        "审计管理员",
        "audit_admin",
        "0",
        DataScope::Subtree,
    ),
    (
        "dongcheng",
        "东城区指挥中心",
        "district_staff",
        "110101",
        DataScope::Subtree,
    ),
    (
        "hotline",
        "热线话务员",
        "hotline_operator",
        "110101",
        DataScope::Subtree,
    ),
    (
        "donghuamen",
        "东华门街道工作人员",
        "street_staff",
        "110101001",
        DataScope::Subtree,
    ),
    (
        "duofuxiang",
        "多福巷社区工作者",
        "community_staff",
        "110101001001",
        DataScope::Subtree,
    ),
    (
        "yinsi",
        "银闸社区工作者",
        "community_staff",
        "110101001002",
        DataScope::Subtree,
    ),
    (
        "grid01",
        "多福巷第一网格网格员",
        "grid_worker",
        "110101001001001",
        DataScope::Unit,
    ),
    (
        "grid02",
        "多福巷第二网格网格员",
        "grid_worker",
        "110101001001002",
        DataScope::Unit,
    ),
    (
        "chengguan",
        "区城管委办理人员",
        "dept_handler",
        "110101B01",
        DataScope::Unit,
    ),
];

/// The demo district's division rows (北京市 → 东城区 → 17 streets → 169 communities), embedded
/// from `fixtures/demo-110101/` so the binary can load them from anywhere.
pub fn demo_levels() -> Result<Vec<(OrgKind, Vec<DivisionRow>)>> {
    let files: [&str; 5] = [
        include_str!("../../../fixtures/demo-110101/provinces.csv"),
        include_str!("../../../fixtures/demo-110101/cities.csv"),
        include_str!("../../../fixtures/demo-110101/areas.csv"),
        include_str!("../../../fixtures/demo-110101/streets.csv"),
        include_str!("../../../fixtures/demo-110101/villages.csv"),
    ];
    let mut levels = Vec::new();
    for ((kind, stem, parent), text) in divisions::LEVELS.into_iter().zip(files) {
        levels.push((
            kind,
            divisions::parse_level(kind, stem, parent, text.as_bytes())?,
        ));
    }
    Ok(levels)
}

/// Load the demo district, then add grids, departments and accounts.
/// Idempotent: a second run changes nothing. Returns the demo password if accounts were made.
pub async fn load_demo(app: &App, demo_password: Option<&str>) -> Result<Option<String>> {
    let ctx = Ctx::cli();
    let levels = demo_levels()?;
    // Importing again would change nothing but would add audit rows on every start.
    if org_repo::get_by_code(&app.db, "110101").await?.is_none() {
        divisions::apply(app, &levels, &ctx, &|_, _, _| {}).await?;
    }
    let communities: Vec<&DivisionRow> = levels
        .iter()
        .find(|(k, _)| *k == OrgKind::Community)
        .map(|(_, r)| r.iter().collect())
        .unwrap_or_default();
    let district = org_repo::get_by_code(&app.db, "110101")
        .await?
        .ok_or_else(|| AppError::Internal("demo district missing".into()))?;
    let now = app.now();
    let mut extra: Vec<OrgUnit> = Vec::new();
    let make = |parent: &OrgUnit, code: String, name: &str, kind: OrgKind| OrgUnit {
        tenant: tenant_of(&code),
        id: linli_domain::ids::new_id(),
        parent_id: Some(parent.id),
        kind,
        path: child_path(&parent.path, &code),
        depth: parent.depth + 1,
        code,
        name: name.to_string(),
        subtype: String::new(),
        source: "demo".into(),
        active: true,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    for (suffix, name) in DEMO_DEPARTMENTS {
        let code = format!("110101{suffix}");
        if org_repo::get_by_code(&app.db, &code).await?.is_none() {
            extra.push(make(&district, code, name, OrgKind::Department));
        }
    }
    let existing_grids = app
        .db
        .fetch_one_i64(
            "SELECT COUNT(*) AS n FROM org_units WHERE tenant = '110101' AND kind = 'grid'",
            vec![],
        )
        .await?;
    if existing_grids == 0 {
        let all = org_repo::list(
            &app.db,
            &linli_domain::auth::ScopeFilter::everything(),
            &org_repo::ListQuery {
                kind: Some(OrgKind::Community),
                under: Some(district.path.clone()),
                limit: 10_000,
                ..Default::default()
            },
        )
        .await?;
        for c in all
            .iter()
            .filter(|c| communities.iter().any(|r| r.code == c.code))
        {
            // Two or three grids per community, by a stable rule so reloads agree.
            let n = 2 + (c.code.bytes().map(u32::from).sum::<u32>() % 2) as usize;
            for (i, gname) in GRID_NAMES.iter().take(n).enumerate() {
                extra.push(make(
                    c,
                    format!("{}{:03}", c.code, i + 1),
                    gname,
                    OrgKind::Grid,
                ));
            }
        }
    }
    if !extra.is_empty() {
        write_tx!(app, |tx| {
            for chunk in extra.chunks(400) {
                divisions::insert_batch(&mut tx, chunk).await?;
            }
            record(
                &mut tx,
                now,
                Actor {
                    user_id: None,
                    username: "system",
                    unit_id: None,
                    chain: "110101".into(),
                    ctx: &ctx,
                },
                Event::ok("demo.load", "org_unit", "110101")
                    .detail(serde_json::json!({"units": extra.len()})),
            )
            .await?;
        })?;
    }
    // The demo whistle catalogue (吹哨事项清单).
    crate::whistle::ensure_demo(app, &system_principal(app, ctx.clone()).await?, "110101").await?;
    // The district's dispatch catalogue (needs the departments above).
    crate::catalogue::demo::load(app, &ctx).await?;
    // 阳光社区: a few notices for the residents' portal.
    crate::portal::ensure_demo_notices(app, &system_principal(app, ctx.clone()).await?).await?;
    // The base registry: grid polygons, buildings, houses, households, residents.
    let made =
        crate::registry::demo::load(app, app.cfg.demo_registry_scale.clamp(0.0, 20.0)).await?;
    if made > 0 {
        tracing::info!(residents = made, "demo registry loaded");
    }
    // Accounts.
    if users::by_username(&app.db, DEMO_USERS[0].0)
        .await?
        .is_some()
    {
        return Ok(None);
    }
    let pw = demo_password
        .map(str::to_string)
        .unwrap_or_else(generate_password);
    let sys = system_principal(app, ctx.clone()).await?;
    for (username, name, role, unit_code, scope) in DEMO_USERS {
        let unit = if *unit_code == ROOT_CODE {
            org_repo::root(&app.db).await?
        } else {
            org_repo::get_by_code(&app.db, unit_code).await?
        }
        .ok_or_else(|| AppError::Internal(format!("demo unit {unit_code} missing")))?;
        let u = crate::users::create(
            app,
            &sys,
            NewUser {
                username: (*username).into(),
                display_name: (*name).into(),
                unit_id: unit.id,
                password: pw.clone(),
                kind: "staff".into(),
                must_change_password: false,
            },
        )
        .await?;
        crate::users::grant_role(app, &sys, u.id, role, unit.id, *scope).await?;
    }
    Ok(Some(pw))
}
