//! Staff accounts, role grants, and the security administrator's levers.

use linli_domain::auth::{DataScope, Permission, Target, may_grant};
use linli_store::repo::org::{self as org_repo, OrgUnit};
use linli_store::repo::roles::{self as roles_repo, Assignment, Role};
use linli_store::repo::sessions;
use linli_store::repo::users::{self as repo, ListQuery, User};
use uuid::Uuid;

use crate::audit::{Event, record};
use crate::auth::{hash_password, normalize_username};
use crate::{App, AppError, Principal, Result};

pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub unit_id: Uuid,
    pub password: String,
    pub kind: String,
    /// Make them choose their own password at first log-in.
    pub must_change_password: bool,
}

fn target(u: &User) -> Target<'_> {
    Target {
        unit_id: u.unit_id,
        unit_path: &u.unit_path,
        owner: Some(u.id),
    }
}

/// Load a user the caller may see with `perm`; anything else is "not found".
async fn visible_user(app: &App, p: &Principal, id: Uuid, perm: Permission) -> Result<User> {
    p.require(perm)?;
    let u = repo::get(&app.db, id)
        .await?
        .ok_or(AppError::NotFound("账号"))?;
    if p.authz.allows(perm, target(&u)) {
        Ok(u)
    } else {
        Err(AppError::NotFound("账号"))
    }
}

async fn visible_unit(app: &App, p: &Principal, id: Uuid, perm: Permission) -> Result<OrgUnit> {
    let unit = org_repo::get(&app.db, id)
        .await?
        .ok_or(AppError::NotFound("单位"))?;
    p.require_on(perm, &unit, "单位")?;
    Ok(unit)
}

pub fn validate_display_name(s: &str) -> Result<String> {
    let s = s.trim();
    if s.is_empty() || s.chars().count() > 64 || s.chars().any(char::is_control) {
        return Err(AppError::invalid(
            "invalid_display_name",
            "姓名须为 1–64 个字符",
        ));
    }
    Ok(s.to_string())
}

pub async fn create(app: &App, p: &Principal, n: NewUser) -> Result<User> {
    p.require(Permission::UserManage)?;
    let username = normalize_username(&n.username)?;
    let display_name = validate_display_name(&n.display_name)?;
    if !matches!(n.kind.as_str(), "staff" | "service") {
        return Err(AppError::invalid(
            "invalid_kind",
            "账号类型只能是 staff 或 service",
        ));
    }
    app.cfg
        .password
        .check(&username, &n.password)
        .map_err(|e| AppError::invalid("weak_password", e.to_string()))?;
    let unit = visible_unit(app, p, n.unit_id, Permission::UserManage).await?;
    let hash = hash_password(&n.password).await?;
    let now = app.now();
    let user = User {
        id: linli_domain::ids::new_id(),
        username,
        display_name,
        kind: n.kind,
        unit_id: unit.id,
        unit_path: unit.path.clone(),
        password_hash: hash,
        must_change_password: n.must_change_password,
        disabled: false,
        failed_count: 0,
        locked_until: None,
        totp_secret: None,
        totp_last_counter: None,
        created_by: Some(p.user_id),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    write_tx!(app, |tx| {
        repo::insert(&mut tx, &user).await.map_err(|e| match e {
            linli_store::StoreError::Unique(_) => AppError::Conflict("用户名已被使用".into()),
            e => e.into(),
        })?;
        record(
            &mut tx,
            now,
            p.into(),
            Event::ok("user.create", "user", user.id)
                .detail(serde_json::json!({"username": user.username, "unit": unit.code, "kind": user.kind})),
        )
        .await?;
    })?;
    Ok(user)
}

pub async fn get(app: &App, p: &Principal, id: Uuid) -> Result<User> {
    visible_user(app, p, id, Permission::UserRead).await
}

pub async fn list(app: &App, p: &Principal, q: &ListQuery) -> Result<Vec<User>> {
    p.require(Permission::UserRead)?;
    let mut q = q.clone();
    q.limit = q.limit.clamp(1, 200);
    Ok(repo::list(&app.db, &p.authz.filter(Permission::UserRead), &q).await?)
}

/// An administrator sets a new password; the user must change it at next log-in and every
/// session of theirs ends.
pub async fn reset_password(app: &App, p: &Principal, id: Uuid, new_password: &str) -> Result<()> {
    let u = visible_user(app, p, id, Permission::UserManage).await?;
    app.cfg
        .password
        .check(&u.username, new_password)
        .map_err(|e| AppError::invalid("weak_password", e.to_string()))?;
    let hash = hash_password(new_password).await?;
    let now = app.now();
    write_tx!(app, |tx| {
        repo::set_password(&mut tx, u.id, &hash, true, now).await?;
        sessions::delete_for_user(&mut tx, u.id).await?;
        record(
            &mut tx,
            now,
            p.into(),
            Event::ok("user.reset_password", "user", u.id),
        )
        .await?;
    })
}

pub async fn set_disabled(
    app: &App,
    p: &Principal,
    id: Uuid,
    disabled: bool,
    reason: &str,
) -> Result<()> {
    let u = visible_user(app, p, id, Permission::UserManage).await?;
    if u.id == p.user_id {
        return Err(AppError::invalid("self_disable", "不能停用自己的账号"));
    }
    let now = app.now();
    write_tx!(app, |tx| {
        repo::set_disabled(&mut tx, u.id, disabled, now).await?;
        if disabled {
            sessions::delete_for_user(&mut tx, u.id).await?;
        }
        let action = if disabled {
            "user.disable"
        } else {
            "user.enable"
        };
        record(
            &mut tx,
            now,
            p.into(),
            Event::ok(action, "user", u.id).reason(reason),
        )
        .await?;
    })
}

/// 安全管理员: clear a lockout.
pub async fn unlock(app: &App, p: &Principal, id: Uuid) -> Result<()> {
    let u = visible_user(app, p, id, Permission::SecurityManage).await?;
    let now = app.now();
    write_tx!(app, |tx| {
        repo::unlock(&mut tx, u.id, now).await?;
        record(
            &mut tx,
            now,
            p.into(),
            Event::ok("user.unlock", "user", u.id),
        )
        .await?;
    })
}

/// 安全管理员: end every session of a user (e.g. a lost phone).
pub async fn force_logout(app: &App, p: &Principal, id: Uuid) -> Result<u64> {
    let u = visible_user(app, p, id, Permission::SecurityManage).await?;
    let now = app.now();
    write_tx!(app, |tx| {
        let n = sessions::delete_for_user(&mut tx, u.id).await?;
        record(
            &mut tx,
            now,
            p.into(),
            Event::ok("user.force_logout", "user", u.id).detail(serde_json::json!({"sessions": n})),
        )
        .await?;
        n
    })
}

/// 安全管理员: remove a user's second factor so they enrol again.
pub async fn reset_totp(app: &App, p: &Principal, id: Uuid) -> Result<()> {
    let u = visible_user(app, p, id, Permission::SecurityManage).await?;
    let now = app.now();
    write_tx!(app, |tx| {
        repo::set_totp(&mut tx, u.id, None, None, now).await?;
        sessions::delete_for_user(&mut tx, u.id).await?;
        record(
            &mut tx,
            now,
            p.into(),
            Event::ok("user.reset_totp", "user", u.id),
        )
        .await?;
    })
}

/// The caller's own role grants (no permission needed to know one's own roles).
pub async fn my_assignments(app: &App, p: &Principal) -> Result<Vec<Assignment>> {
    Ok(roles_repo::assignments_of(&app.db, p.user_id).await?)
}

pub async fn assignments(app: &App, p: &Principal, id: Uuid) -> Result<Vec<Assignment>> {
    let u = visible_user(app, p, id, Permission::UserRead).await?;
    Ok(roles_repo::assignments_of(&app.db, u.id).await?)
}

pub async fn roles(app: &App, p: &Principal) -> Result<Vec<Role>> {
    if !(p.authz.has(Permission::UserRead) || p.authz.has(Permission::RoleManage)) {
        return Err(AppError::Forbidden);
    }
    Ok(roles_repo::list(&app.db).await?)
}

/// Grant `role` at `unit_id` with `scope` to user `id`. See [`may_grant`] for who may.
pub async fn grant_role(
    app: &App,
    p: &Principal,
    id: Uuid,
    role_key: &str,
    unit_id: Uuid,
    scope: DataScope,
) -> Result<Uuid> {
    if !(p.authz.has(Permission::RoleGrant) || p.authz.has(Permission::RoleGrantAny)) {
        return Err(AppError::Forbidden);
    }
    let u = visible_user(app, p, id, Permission::UserRead).await?;
    let role = roles_repo::get(&app.db, role_key)
        .await?
        .ok_or_else(|| AppError::invalid("unknown_role", "角色不存在"))?;
    let unit = visible_unit(app, p, unit_id, Permission::OrgRead).await?;
    let t = Target {
        unit_id: unit.id,
        unit_path: &unit.path,
        owner: None,
    };
    may_grant(&p.authz, u.id, &role.permissions, t).map_err(|r| match r {
        linli_domain::auth::GrantRefusal::SelfGrant => {
            AppError::invalid("self_grant", r.to_string())
        }
        _ => AppError::Forbidden,
    })?;
    if u.kind == "staff"
        && !unit.path.starts_with(&u.unit_path)
        && !u.unit_path.starts_with(&unit.path)
    {
        return Err(AppError::invalid(
            "unit_unrelated",
            "只能在账号所属单位的上级或下级单位授予角色",
        ));
    }
    let now = app.now();
    let gid = linli_domain::ids::new_id();
    write_tx!(app, |tx| {
        roles_repo::grant(
            &mut tx,
            gid,
            u.id,
            &role.key,
            unit.id,
            &unit.path,
            scope,
            Some(p.user_id),
            now,
        )
        .await
        .map_err(|e| match e {
            linli_store::StoreError::Unique(_) => {
                AppError::Conflict("该账号在此单位已有此角色".into())
            }
            e => e.into(),
        })?;
        record(
            &mut tx,
            now,
            p.into(),
            Event::ok("role.grant", "user", u.id).detail(
                serde_json::json!({"role": role.key, "unit": unit.code, "scope": scope.as_str()}),
            ),
        )
        .await?;
    })?;
    Ok(gid)
}

pub async fn revoke_role(app: &App, p: &Principal, assignment_id: Uuid) -> Result<()> {
    if !(p.authz.has(Permission::RoleGrant) || p.authz.has(Permission::RoleGrantAny)) {
        return Err(AppError::Forbidden);
    }
    let now = app.now();
    write_tx!(app, |tx| {
        let (user_id, role_key, unit_id, unit_path) =
            roles_repo::assignment_tx(&mut tx, assignment_id)
                .await?
                .ok_or(AppError::NotFound("授权"))?;
        let t = Target {
            unit_id,
            unit_path: &unit_path,
            owner: None,
        };
        let perms = roles_repo::permissions_tx(&mut tx, &role_key).await?;
        if !p.authz.allows(Permission::OrgRead, t) {
            return Err(AppError::NotFound("授权"));
        }
        may_grant(&p.authz, user_id, &perms, t).map_err(|r| match r {
            linli_domain::auth::GrantRefusal::SelfGrant => {
                AppError::invalid("self_grant", "不能修改自己的授权")
            }
            _ => AppError::Forbidden,
        })?;
        roles_repo::revoke(&mut tx, assignment_id).await?;
        record(
            &mut tx,
            now,
            p.into(),
            Event::ok("role.revoke", "user", user_id).detail(serde_json::json!({"role": role_key})),
        )
        .await?;
    })
}

/// 安全管理员: require (or stop requiring) a second factor for everyone holding a role.
pub async fn set_role_totp(app: &App, p: &Principal, role_key: &str, require: bool) -> Result<()> {
    p.require(Permission::RoleManage)?;
    let now = app.now();
    write_tx!(app, |tx| {
        if !roles_repo::set_require_totp(&mut tx, role_key, require, now).await? {
            return Err(AppError::NotFound("角色"));
        }
        record(
            &mut tx,
            now,
            p.into(),
            Event::ok("role.require_totp", "role", role_key)
                .detail(serde_json::json!({"require": require})),
        )
        .await?;
    })
}
