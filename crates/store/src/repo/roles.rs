//! Roles (named permission sets) and the grants of roles to users at org units.

use linli_domain::Ts;
use linli_domain::auth::{DataScope, Grant, Permission};
use uuid::Uuid;

use crate::args;
use crate::db::{Db, Row, StoreError, Tx};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub key: String,
    pub name: String,
    pub description: String,
    pub builtin: bool,
    pub require_totp: bool,
    pub default_scope: DataScope,
    pub permissions: Vec<Permission>,
    pub version: i64,
}

/// Create or refresh the built-in roles so their permission sets match this release.
pub async fn sync_builtin(tx: &mut Tx, now: Ts) -> Result<(), StoreError> {
    for r in linli_domain::auth::BUILTIN_ROLES {
        let exists = tx
            .fetch_optional(
                "SELECT key FROM roles WHERE key = $1",
                args![r.key],
                |row| row.text("key"),
            )
            .await?
            .is_some();
        if exists {
            tx.execute(
                "UPDATE roles SET name = $1, description = $2, builtin = TRUE, default_scope = $3, updated_at = $4 WHERE key = $5",
                args![r.name, r.description, r.default_scope.as_str(), now, r.key],
            )
            .await?;
        } else {
            tx.execute(
                "INSERT INTO roles (key, name, description, builtin, require_totp, default_scope, created_at, updated_at, version)
                 VALUES ($1, $2, $3, TRUE, $4, $5, $6, $6, 1)",
                args![r.key, r.name, r.description, r.require_totp, r.default_scope.as_str(), now],
            )
            .await?;
        }
        tx.execute(
            "DELETE FROM role_permissions WHERE role_key = $1",
            args![r.key],
        )
        .await?;
        for p in r.permissions {
            tx.execute(
                "INSERT INTO role_permissions (role_key, permission) VALUES ($1, $2)",
                args![r.key, p.key()],
            )
            .await?;
        }
    }
    Ok(())
}

pub async fn list(db: &Db) -> Result<Vec<Role>, StoreError> {
    let roles = db
        .fetch_all(
            "SELECT key, name, description, builtin, require_totp, default_scope, version FROM roles
             ORDER BY builtin DESC, created_at, key",
            vec![],
            role_row,
        )
        .await?;
    let perms = db
        .fetch_all(
            "SELECT role_key, permission FROM role_permissions",
            vec![],
            |r| Ok((r.text("role_key")?, r.text("permission")?)),
        )
        .await?;
    Ok(roles
        .into_iter()
        .map(|mut r| {
            r.permissions = perms
                .iter()
                .filter(|(k, _)| *k == r.key)
                .filter_map(|(_, p)| Permission::parse(p))
                .collect();
            r.permissions.sort();
            r
        })
        .collect())
}

fn role_row(r: Row<'_>) -> Result<Role, StoreError> {
    let scope = r.text("default_scope")?;
    Ok(Role {
        key: r.text("key")?,
        name: r.text("name")?,
        description: r.text("description")?,
        builtin: r.bool("builtin")?,
        require_totp: r.bool("require_totp")?,
        default_scope: DataScope::parse(&scope).unwrap_or(DataScope::Unit),
        permissions: vec![],
        version: r.i64("version")?,
    })
}

pub async fn get(db: &Db, key: &str) -> Result<Option<Role>, StoreError> {
    let mut tx = db.begin_read().await?;
    let role = tx
        .fetch_optional(
            "SELECT key, name, description, builtin, require_totp, default_scope, version FROM roles WHERE key = $1",
            args![key],
            role_row,
        )
        .await?;
    let Some(mut role) = role else {
        return Ok(None);
    };
    role.permissions = permissions_tx(&mut tx, key).await?;
    Ok(Some(role))
}

/// The permissions of one role, read inside the caller's transaction.
pub async fn permissions_tx(tx: &mut Tx, key: &str) -> Result<Vec<Permission>, StoreError> {
    let mut v: Vec<Permission> = tx
        .fetch_all(
            "SELECT permission FROM role_permissions WHERE role_key = $1",
            args![key],
            |r| r.text("permission"),
        )
        .await?
        .iter()
        .filter_map(|k| Permission::parse(k))
        .collect();
    v.sort();
    Ok(v)
}

pub async fn set_require_totp(
    tx: &mut Tx,
    key: &str,
    require: bool,
    now: Ts,
) -> Result<bool, StoreError> {
    let n = tx
        .execute(
            "UPDATE roles SET require_totp = $1, updated_at = $2, version = version + 1 WHERE key = $3",
            args![require, now, key],
        )
        .await?;
    Ok(n == 1)
}

/// A user's grants with each role's permissions, ready for authorization.
pub async fn grants_of(db: &Db, user_id: Uuid) -> Result<Vec<Grant>, StoreError> {
    let rows = db
        .fetch_all(
            "SELECT ur.role_key, ur.unit_id, ur.unit_path, ur.scope, rp.permission
             FROM user_roles ur JOIN role_permissions rp ON rp.role_key = ur.role_key
             WHERE ur.user_id = $1 ORDER BY ur.unit_path, ur.role_key",
            args![user_id],
            |r| {
                Ok((
                    r.text("role_key")?,
                    r.uuid("unit_id")?,
                    r.text("unit_path")?,
                    r.text("scope")?,
                    r.text("permission")?,
                ))
            },
        )
        .await?;
    let mut out: Vec<Grant> = Vec::new();
    for (role, unit, path, scope, perm) in rows {
        let Some(p) = Permission::parse(&perm) else {
            continue;
        };
        let scope = DataScope::parse(&scope).unwrap_or(DataScope::Unit);
        match out
            .iter_mut()
            .find(|g| g.role_key == role && g.unit_id == unit && g.scope == scope)
        {
            Some(g) => g.permissions.push(p),
            None => out.push(Grant {
                role_key: role,
                permissions: vec![p],
                unit_id: unit,
                unit_path: path,
                scope,
            }),
        }
    }
    Ok(out)
}

/// Does any of the user's roles require a second factor?
pub async fn requires_totp(tx: &mut Tx, user_id: Uuid) -> Result<bool, StoreError> {
    let n = tx
        .fetch_one_i64(
            "SELECT COUNT(*) AS n FROM user_roles ur JOIN roles r ON r.key = ur.role_key
             WHERE ur.user_id = $1 AND r.require_totp = TRUE",
            args![user_id],
        )
        .await?;
    Ok(n > 0)
}

#[derive(Debug, Clone)]
pub struct Assignment {
    pub id: Uuid,
    pub user_id: Uuid,
    pub role_key: String,
    pub role_name: String,
    pub unit_id: Uuid,
    pub unit_name: String,
    pub unit_path: String,
    pub scope: DataScope,
    pub granted_at: Ts,
}

pub async fn assignments_of(db: &Db, user_id: Uuid) -> Result<Vec<Assignment>, StoreError> {
    db.fetch_all(
        "SELECT ur.id, ur.user_id, ur.role_key, r.name AS role_name, ur.unit_id, o.name AS unit_name, ur.unit_path,
                ur.scope, ur.granted_at
         FROM user_roles ur JOIN roles r ON r.key = ur.role_key JOIN org_units o ON o.id = ur.unit_id
         WHERE ur.user_id = $1 ORDER BY ur.granted_at",
        args![user_id],
        |r| {
            Ok(Assignment {
                id: r.uuid("id")?,
                user_id: r.uuid("user_id")?,
                role_key: r.text("role_key")?,
                role_name: r.text("role_name")?,
                unit_id: r.uuid("unit_id")?,
                unit_name: r.text("unit_name")?,
                unit_path: r.text("unit_path")?,
                scope: DataScope::parse(&r.text("scope")?).unwrap_or(DataScope::Unit),
                granted_at: r.ts("granted_at")?,
            })
        },
    )
    .await
}

pub async fn assignment_tx(
    tx: &mut Tx,
    id: Uuid,
) -> Result<Option<(Uuid, String, Uuid, String)>, StoreError> {
    tx.fetch_optional(
        "SELECT user_id, role_key, unit_id, unit_path FROM user_roles WHERE id = $1",
        args![id],
        |r| {
            Ok((
                r.uuid("user_id")?,
                r.text("role_key")?,
                r.uuid("unit_id")?,
                r.text("unit_path")?,
            ))
        },
    )
    .await
}

/// Assign a role. Bumps the user's `version` in the same transaction (see [`revoke`]).
#[allow(clippy::too_many_arguments)]
pub async fn grant(
    tx: &mut Tx,
    id: Uuid,
    user_id: Uuid,
    role_key: &str,
    unit_id: Uuid,
    unit_path: &str,
    scope: DataScope,
    by: Option<Uuid>,
    now: Ts,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO user_roles (id, user_id, role_key, unit_id, unit_path, scope, granted_by, granted_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        args![id, user_id, role_key, unit_id, unit_path, scope.as_str(), by, now],
    )
    .await?;
    tx.execute(
        "UPDATE users SET version = version + 1 WHERE id = $1",
        args![user_id],
    )
    .await?;
    Ok(())
}

/// Remove one assignment. Like [`grant`], it bumps the user's `version`: cached grants are keyed
/// by it, so every server sees the change on the user's next request.
pub async fn revoke(tx: &mut Tx, id: Uuid) -> Result<bool, StoreError> {
    tx.execute(
        "UPDATE users SET version = version + 1 WHERE id = (SELECT user_id FROM user_roles WHERE id = $1)",
        args![id],
    )
    .await?;
    Ok(tx
        .execute("DELETE FROM user_roles WHERE id = $1", args![id])
        .await?
        == 1)
}
