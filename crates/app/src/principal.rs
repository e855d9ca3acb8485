//! Who is acting, with what grants, from where. Built once per request by the web layer from a
//! session cookie or a bearer token; built by the CLI for shell commands.

use linli_domain::auth::{Authz, Permission, Target};
use linli_domain::registry::ResidentField;
use linli_store::repo::org::OrgUnit;
use uuid::Uuid;

use crate::{AppError, Result};

/// Request facts that go into audit rows.
#[derive(Debug, Clone, Default)]
pub struct Ctx {
    pub request_id: String,
    pub ip: String,
    pub user_agent: String,
}

impl Ctx {
    /// For commands run from the shell on the server itself.
    pub fn cli() -> Ctx {
        Ctx {
            request_id: format!("cli-{}", linli_domain::ids::new_id()),
            ip: "local".into(),
            user_agent: "linli-cli".into(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Principal {
    pub user_id: Uuid,
    pub username: String,
    pub display_name: String,
    pub unit_id: Uuid,
    pub unit_path: String,
    pub authz: Authz,
    pub session_id: Option<Uuid>,
    pub token_id: Option<Uuid>,
    /// The CSRF token of the cookie session (none for bearer tokens).
    pub csrf: Option<String>,
    /// The resident fields an API token was granted (None: all the account's role shows).
    pub registry_fields: Option<Vec<ResidentField>>,
    pub must_change_password: bool,
    pub totp_enabled: bool,
    pub ctx: Ctx,
}

impl Principal {
    pub fn require(&self, p: Permission) -> Result<()> {
        if self.authz.has(p) {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }

    /// The caller may act with `p` on `unit`; a unit out of reach is reported as missing.
    pub fn require_on(&self, p: Permission, unit: &OrgUnit, what: &'static str) -> Result<()> {
        self.require(p)?;
        if self.authz.allows(
            p,
            Target {
                unit_id: unit.id,
                unit_path: &unit.path,
                owner: None,
            },
        ) {
            Ok(())
        } else {
            Err(AppError::NotFound(what))
        }
    }

    /// The caller may read `f` of a resident (always, unless a token's grant leaves it out).
    pub fn reads(&self, f: ResidentField) -> bool {
        self.registry_fields.as_ref().is_none_or(|g| g.contains(&f))
    }

    /// The tenant chain this principal's own actions are audited on.
    pub fn chain(&self) -> String {
        linli_domain::org::tenant_of_path(&self.unit_path)
    }
}
