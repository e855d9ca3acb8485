//! API tokens for integrations (hashed, scoped to a unit, revocable, audited).

use linli_domain::Ts;
use linli_domain::auth::Permission;
use linli_domain::registry::ResidentField;
use linli_store::repo::org as org_repo;
use linli_store::repo::tokens::{self as repo, ApiToken};
use linli_store::repo::users;
use uuid::Uuid;

use crate::audit::{Event, record};
use crate::auth::{random_token, token_hash};
use crate::{App, AppError, Principal, Result};

pub const PREFIX: &str = "linli_";

/// What a new token is: a name, the account it acts as, the unit it reaches (with its subtree),
/// an optional expiry, and optionally the resident fields it may read.
pub struct NewToken<'a> {
    pub name: &'a str,
    pub user_id: Uuid,
    pub unit_id: Uuid,
    pub expires_at: Option<Ts>,
    /// `None`: every field the account's role shows. `Some(list)`: a department's grant — only
    /// these fields of residents (keys or labels of [`ResidentField`]), and no registry writes.
    pub registry_fields: Option<Vec<String>>,
}

/// The stored form of a field grant, checked against the vocabulary.
fn fields_of(given: Option<&[String]>) -> Result<Option<String>> {
    let Some(given) = given else {
        return Ok(None);
    };
    let fields = ResidentField::parse_list(given).map_err(|bad| {
        AppError::invalid(
            "invalid_field",
            format!(
                "字段“{}”不在可授权的字段中（可选：{}）",
                bad.chars().take(40).collect::<String>(),
                ResidentField::ALL
                    .iter()
                    .map(|f| f.key())
                    .collect::<Vec<_>>()
                    .join("、")
            ),
        )
    })?;
    Ok(Some(
        fields.iter().map(|f| f.key()).collect::<Vec<_>>().join(","),
    ))
}

/// A stored field grant read back (unknown keys, from a newer version, grant nothing).
pub fn granted(stored: Option<&str>) -> Option<Vec<ResidentField>> {
    stored.map(|s| {
        s.split(',')
            .filter_map(|k| ResidentField::parse(k.trim()))
            .collect()
    })
}

/// Create a token acting as account `user_id` within `unit_id`. The plaintext is returned once.
pub async fn create(app: &App, p: &Principal, t: NewToken<'_>) -> Result<(ApiToken, String)> {
    let NewToken {
        name,
        user_id,
        unit_id,
        expires_at,
        registry_fields,
    } = t;
    p.require(Permission::TokenManage)?;
    let name = crate::org::validate_name(name)?;
    let fields = fields_of(registry_fields.as_deref())?;
    let unit = org_repo::get(&app.db, unit_id)
        .await?
        .ok_or(AppError::NotFound("单位"))?;
    p.require_on(Permission::TokenManage, &unit, "单位")?;
    let user = users::get(&app.db, user_id)
        .await?
        .ok_or(AppError::NotFound("账号"))?;
    if !p.authz.allows(
        Permission::UserRead,
        linli_domain::auth::Target {
            unit_id: user.unit_id,
            unit_path: &user.unit_path,
            owner: None,
        },
    ) {
        return Err(AppError::NotFound("账号"));
    }
    if user.id == p.user_id {
        return Err(AppError::invalid(
            "self_token",
            "不能为自己的账号签发接口令牌，请使用集成账号",
        ));
    }
    let secret = format!("{PREFIX}{}", random_token());
    let hash = token_hash(&secret);
    let id = linli_domain::ids::new_id();
    let now = app.now();
    let shown: String = secret.chars().take(PREFIX.len() + 6).collect();
    write_tx!(app, |tx| {
        repo::insert(
            &mut tx,
            id,
            &name,
            &hash,
            &shown,
            user.id,
            unit.id,
            &unit.path,
            p.user_id,
            now,
            expires_at,
            fields.as_deref(),
        )
        .await?;
        record(
            &mut tx,
            now,
            p.into(),
            Event::ok("token.create", "api_token", id).detail(serde_json::json!({
                "name": name, "account": user.username, "unit": unit.code,
                "registry_fields": fields,
            })),
        )
        .await?;
    })?;
    let mut tx = app.db.begin_read().await?;
    let t = repo::get_tx(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound("令牌"))?;
    Ok((t, secret))
}

pub async fn list(app: &App, p: &Principal) -> Result<Vec<ApiToken>> {
    p.require(Permission::TokenManage)?;
    let all = repo::list(&app.db).await?;
    Ok(all
        .into_iter()
        .filter(|t| {
            p.authz.allows(
                Permission::TokenManage,
                linli_domain::auth::Target {
                    unit_id: t.unit_id,
                    unit_path: &t.unit_path,
                    owner: None,
                },
            )
        })
        .collect())
}

pub async fn revoke(app: &App, p: &Principal, id: Uuid) -> Result<()> {
    p.require(Permission::TokenManage)?;
    let now = app.now();
    write_tx!(app, |tx| {
        let t = repo::get_tx(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound("令牌"))?;
        if !p.authz.allows(
            Permission::TokenManage,
            linli_domain::auth::Target {
                unit_id: t.unit_id,
                unit_path: &t.unit_path,
                owner: None,
            },
        ) {
            return Err(AppError::NotFound("令牌"));
        }
        repo::revoke(&mut tx, id, now).await?;
        record(
            &mut tx,
            now,
            p.into(),
            Event::ok("token.revoke", "api_token", id),
        )
        .await?;
    })
}
