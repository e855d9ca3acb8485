//! Who may do what, where.
//!
//! A role is a named set of [`Permission`]s. A user holds roles *at an org unit* with a
//! [`DataScope`]: that unit only, that unit and everything below it, or only the records the user
//! owns. A check asks "does any assignment grant permission P over a target at path X (owned by
//! Y)?"; a list asks for the same assignments as a set of path ranges and unit ids the store turns
//! into a WHERE clause. Rows outside every range are invisible: the HTTP layer answers 404.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::org::{is_within, subtree_upper};

macro_rules! permissions {
    ($($variant:ident = $key:literal, $label:literal;)*) => {
        /// A single capability. The string keys are stable: they are stored in role rows.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum Permission { $($variant),* }

        impl Permission {
            pub const ALL: &'static [Permission] = &[$(Permission::$variant),*];
            pub fn key(self) -> &'static str { match self { $(Permission::$variant => $key),* } }
            pub fn label(self) -> &'static str { match self { $(Permission::$variant => $label),* } }
            pub fn parse(s: &str) -> Option<Permission> {
                match s { $($key => Some(Permission::$variant),)* _ => None }
            }
        }
    };
}

permissions! {
    OrgRead = "org.read", "查看组织架构";
    OrgManage = "org.manage", "维护组织架构";
    DivisionImport = "division.import", "导入行政区划";
    UserRead = "user.read", "查看人员账号";
    UserManage = "user.manage", "创建、停用、重置人员账号";
    RoleGrant = "role.grant", "授予不超出本人权限的角色";
    RoleGrantAny = "role.grant_any", "授予任意角色（安全管理员）";
    RoleManage = "role.manage", "定义角色与二次验证要求";
    SecurityManage = "security.manage", "解锁账号、强制下线";
    TokenManage = "token.manage", "管理接口令牌";
    AuditRead = "audit.read", "查阅审计日志";
    CaseCreate = "case.create", "受理登记工单";
    CaseRead = "case.read", "查看工单";
    CaseDispatch = "case.dispatch", "立案、派遣、审核退单与延期";
    CaseHandle = "case.handle", "签收、办理、反馈工单";
    CaseVerify = "case.verify", "核实结案";
    CaseVisit = "case.visit", "回访与重办";
    CaseSupervise = "case.supervise", "督办";
    CasePersonal = "case.personal", "查看诉求人完整联系方式";
    WhistleBlow = "whistle.blow", "吹哨、结哨与评价";
    WhistleRespond = "whistle.respond", "响应吹哨并报到";
    CatalogueManage = "catalogue.manage", "维护派单目录与吹哨目录";
    CalendarManage = "calendar.manage", "维护工作日历";
    AssessmentRead = "assessment.read", "查看考核统计";
    Open311Manage = "open311.manage", "管理 Open311 接入密钥";
    NotifyManage = "notify.manage", "管理消息推送（Webhook 订阅与投递）";
    NoticePublish = "notice.publish", "发布、撤回居民公告（阳光社区）";
    RegistryRead = "registry.read", "查看基础信息库（人、房、物、组织，脱敏）";
    RegistryWrite = "registry.write", "采集、维护基础信息库";
    RegistryImport = "registry.import", "从 Excel/CSV 导入基础信息";
    RegistryExport = "registry.export", "导出基础信息（脱敏）";
    RegistryUnmask = "registry.unmask", "说明理由后查看完整身份证号与电话";
    RegistryRights = "registry.rights", "办理个人信息查阅、复制、更正、删除申请";
    GridManage = "grid.manage", "导入、维护网格边界";
}

/// How far an assignment reaches from the unit it is held at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DataScope {
    /// The unit itself only.
    Unit,
    /// The unit and every unit below it.
    Subtree,
    /// Only records the user created or is assigned.
    Own,
}

impl DataScope {
    pub fn as_str(self) -> &'static str {
        match self {
            DataScope::Unit => "unit",
            DataScope::Subtree => "subtree",
            DataScope::Own => "own",
        }
    }
    pub fn parse(s: &str) -> Option<DataScope> {
        match s {
            "unit" => Some(DataScope::Unit),
            "subtree" => Some(DataScope::Subtree),
            "own" => Some(DataScope::Own),
            _ => None,
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            DataScope::Unit => "本单位",
            DataScope::Subtree => "本单位及下级",
            DataScope::Own => "仅本人",
        }
    }
}

/// A built-in role shipped with the platform. Administrators may add their own roles; these
/// keys are reserved and their permission sets are restored on every start.
pub struct BuiltinRole {
    pub key: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub permissions: &'static [Permission],
    /// Default data scope suggested when granting the role.
    pub default_scope: DataScope,
    pub require_totp: bool,
}

use Permission::*;

pub const BUILTIN_ROLES: &[BuiltinRole] = &[
    BuiltinRole {
        key: "sys_admin",
        name: "系统管理员",
        description: "维护组织架构、人员账号、接口令牌、Open311 接入密钥和消息推送；不能查阅审计日志",
        permissions: &[
            OrgRead,
            OrgManage,
            DivisionImport,
            UserRead,
            UserManage,
            RoleGrant,
            TokenManage,
            CalendarManage,
            Open311Manage,
            NotifyManage,
            GridManage,
        ],
        default_scope: DataScope::Subtree,
        require_totp: false,
    },
    BuiltinRole {
        key: "sec_admin",
        name: "安全管理员",
        description: "授权、角色定义、二次验证策略、解锁与强制下线",
        permissions: &[OrgRead, UserRead, RoleGrantAny, RoleManage, SecurityManage],
        default_scope: DataScope::Subtree,
        require_totp: false,
    },
    BuiltinRole {
        key: "audit_admin",
        name: "审计管理员",
        description: "查阅和核验审计日志，包括另两类管理员的操作",
        permissions: &[OrgRead, AuditRead],
        default_scope: DataScope::Subtree,
        require_totp: false,
    },
    BuiltinRole {
        key: "district_staff",
        name: "区级工作人员",
        description: "区级指挥调度、督办与考核",
        permissions: &[
            OrgRead,
            UserRead,
            CaseCreate,
            CaseRead,
            CaseDispatch,
            CaseVerify,
            CaseVisit,
            CaseSupervise,
            CasePersonal,
            CatalogueManage,
            AssessmentRead,
            NoticePublish,
            RegistryRead,
            RegistryWrite,
            RegistryImport,
            RegistryExport,
            RegistryUnmask,
            RegistryRights,
            GridManage,
        ],
        default_scope: DataScope::Subtree,
        require_totp: false,
    },
    BuiltinRole {
        key: "street_staff",
        name: "街道工作人员",
        description: "街道受理、派遣、吹哨与考核",
        permissions: &[
            OrgRead,
            UserRead,
            CaseCreate,
            CaseRead,
            CaseDispatch,
            CaseHandle,
            CaseVerify,
            CaseVisit,
            CasePersonal,
            WhistleBlow,
            AssessmentRead,
            NoticePublish,
            RegistryRead,
            RegistryWrite,
            RegistryImport,
            RegistryExport,
            RegistryUnmask,
            GridManage,
        ],
        default_scope: DataScope::Subtree,
        require_totp: false,
    },
    BuiltinRole {
        key: "community_staff",
        name: "社区工作者",
        description: "社区受理、走访、核实、服务与居民公告",
        permissions: &[
            OrgRead,
            UserRead,
            CaseCreate,
            CaseRead,
            CaseHandle,
            CaseVerify,
            NoticePublish,
            RegistryRead,
            RegistryWrite,
            RegistryImport,
            RegistryExport,
            RegistryUnmask,
            RegistryRights,
        ],
        default_scope: DataScope::Subtree,
        require_totp: false,
    },
    BuiltinRole {
        key: "grid_worker",
        name: "网格员",
        description: "巡查上报、信息采集、核实反馈，仅限本网格",
        permissions: &[
            OrgRead,
            CaseCreate,
            CaseRead,
            CaseVerify,
            RegistryRead,
            RegistryWrite,
        ],
        default_scope: DataScope::Unit,
        require_totp: false,
    },
    BuiltinRole {
        key: "dept_handler",
        name: "部门办理人员",
        description: "签收、办理、反馈派至本部门的工单",
        permissions: &[OrgRead, CaseRead, CaseHandle, WhistleRespond],
        default_scope: DataScope::Unit,
        require_totp: false,
    },
    BuiltinRole {
        key: "hotline_operator",
        name: "热线话务员",
        description: "12345 热线受理，录入工单",
        permissions: &[OrgRead, CaseCreate, CaseRead, CaseVisit, CasePersonal],
        default_scope: DataScope::Subtree,
        require_totp: false,
    },
];

pub fn builtin_role(key: &str) -> Option<&'static BuiltinRole> {
    BUILTIN_ROLES.iter().find(|r| r.key == key)
}

/// One role held at one unit, as loaded for a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub role_key: String,
    pub permissions: Vec<Permission>,
    pub unit_id: Uuid,
    pub unit_path: String,
    pub scope: DataScope,
}

/// Where a target row sits: its unit (id and path) and, where it has one, its owner.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub unit_id: Uuid,
    pub unit_path: &'a str,
    pub owner: Option<Uuid>,
}

/// What a caller may see for one permission, in a form the store turns into SQL:
/// `path IN [lo, hi)` for each range, `unit_id = any(units)`, `owner = owner`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopeFilter {
    pub ranges: Vec<(String, String)>,
    pub units: Vec<Uuid>,
    pub owner: Option<Uuid>,
}

impl ScopeFilter {
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty() && self.units.is_empty() && self.owner.is_none()
    }
    /// Everything: the one range that holds every path.
    pub fn everything() -> Self {
        ScopeFilter {
            ranges: vec![("/".to_string(), subtree_upper("/"))],
            units: vec![],
            owner: None,
        }
    }
}

/// The authorization view of a principal: its id and its grants.
#[derive(Debug, Clone)]
pub struct Authz {
    pub user_id: Uuid,
    pub grants: Vec<Grant>,
}

impl Authz {
    pub fn has(&self, p: Permission) -> bool {
        self.grants.iter().any(|g| g.permissions.contains(&p))
    }

    pub fn permissions(&self) -> Vec<Permission> {
        let mut all: Vec<Permission> = self
            .grants
            .iter()
            .flat_map(|g| g.permissions.iter().copied())
            .collect();
        all.sort();
        all.dedup();
        all
    }

    /// May the principal exercise `p` on `target`?
    pub fn allows(&self, p: Permission, target: Target<'_>) -> bool {
        self.grants
            .iter()
            .filter(|g| g.permissions.contains(&p))
            .any(|g| match g.scope {
                DataScope::Subtree => is_within(target.unit_path, &g.unit_path),
                DataScope::Unit => g.unit_id == target.unit_id,
                DataScope::Own => target.owner == Some(self.user_id),
            })
    }

    /// The set of rows `p` reaches, for list queries. Nested ranges are collapsed.
    pub fn filter(&self, p: Permission) -> ScopeFilter {
        let mut prefixes: Vec<&str> = Vec::new();
        let mut units = Vec::new();
        let mut owner = None;
        for g in self.grants.iter().filter(|g| g.permissions.contains(&p)) {
            match g.scope {
                DataScope::Subtree => prefixes.push(&g.unit_path),
                DataScope::Unit => units.push(g.unit_id),
                DataScope::Own => owner = Some(self.user_id),
            }
        }
        prefixes.sort_unstable();
        let mut kept: Vec<&str> = Vec::new();
        for p in prefixes {
            if !kept.last().is_some_and(|k| p.starts_with(k)) {
                kept.push(p);
            }
        }
        units.sort();
        units.dedup();
        ScopeFilter {
            ranges: kept
                .into_iter()
                .map(|p| (p.to_string(), subtree_upper(p)))
                .collect(),
            units,
            owner,
        }
    }

    /// The highest units (shallowest paths) at which the principal holds `p` — the roots of the
    /// org tree it is shown.
    pub fn roots(&self, p: Permission) -> Vec<Uuid> {
        let mut gs: Vec<&Grant> = self
            .grants
            .iter()
            .filter(|g| g.permissions.contains(&p))
            .collect();
        gs.sort_by(|a, b| a.unit_path.cmp(&b.unit_path));
        let mut kept: Vec<&Grant> = Vec::new();
        for g in gs {
            if !kept.iter().any(|k| g.unit_path.starts_with(&k.unit_path)) {
                kept.push(g);
            }
        }
        kept.into_iter().map(|g| g.unit_id).collect()
    }
}

/// May `granter` grant a role with `role_perms` at `unit_path` to `grantee`?
///
/// Nobody grants to themselves. With `role.grant_any` (the security administrator) any role may
/// be granted within the granter's reach; with `role.grant` only roles whose every permission the
/// granter already holds over that unit — so a system administrator can never hand anyone, least
/// of all themselves, the auditor's `audit.read`.
pub fn may_grant(
    granter: &Authz,
    grantee: Uuid,
    role_perms: &[Permission],
    unit: Target<'_>,
) -> Result<(), GrantRefusal> {
    if granter.user_id == grantee {
        return Err(GrantRefusal::SelfGrant);
    }
    if granter.allows(Permission::RoleGrantAny, unit) {
        return Ok(());
    }
    if !granter.allows(Permission::RoleGrant, unit) {
        return Err(GrantRefusal::NoGrantPermission);
    }
    if role_perms.iter().all(|p| granter.allows(*p, unit)) {
        Ok(())
    } else {
        Err(GrantRefusal::ExceedsOwn)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum GrantRefusal {
    #[error("不能给自己授予角色")]
    SelfGrant,
    #[error("无授权权限")]
    NoGrantPermission,
    #[error("所授角色超出本人在该单位的权限")]
    ExceedsOwn,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uid(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn grant(role: &str, unit: u128, path: &str, scope: DataScope) -> Grant {
        let r = builtin_role(role)
            .map(|r| r.permissions.to_vec())
            .unwrap_or_default();
        Grant {
            role_key: role.into(),
            permissions: r,
            unit_id: uid(unit),
            unit_path: path.into(),
            scope,
        }
    }

    const STREET: &str = "/11/1101/110101/110101001/";
    const COMM_A: &str = "/11/1101/110101/110101001/110101001001/";
    const COMM_B: &str = "/11/1101/110101/110101001/110101001002/";

    #[test]
    fn subtree_unit_and_own_scopes() {
        let a = Authz {
            user_id: uid(1),
            grants: vec![grant("community_staff", 10, COMM_A, DataScope::Subtree)],
        };
        let t_a = Target {
            unit_id: uid(10),
            unit_path: COMM_A,
            owner: None,
        };
        let t_b = Target {
            unit_id: uid(11),
            unit_path: COMM_B,
            owner: None,
        };
        let grid_a = format!("{COMM_A}110101001001001/");
        assert!(a.allows(Permission::OrgRead, t_a));
        assert!(a.allows(
            Permission::OrgRead,
            Target {
                unit_id: uid(12),
                unit_path: &grid_a,
                owner: None
            }
        ));
        assert!(
            !a.allows(Permission::OrgRead, t_b),
            "neighbouring community is out of reach"
        );
        assert!(!a.allows(Permission::OrgManage, t_a), "no such permission");

        let g = Authz {
            user_id: uid(2),
            grants: vec![grant("grid_worker", 12, &grid_a, DataScope::Unit)],
        };
        assert!(
            !g.allows(Permission::OrgRead, t_a),
            "a grid worker does not see the community row"
        );

        let own = Authz {
            user_id: uid(3),
            grants: vec![grant("grid_worker", 12, &grid_a, DataScope::Own)],
        };
        assert!(own.allows(
            Permission::OrgRead,
            Target {
                unit_id: uid(99),
                unit_path: COMM_B,
                owner: Some(uid(3))
            }
        ));
        assert!(!own.allows(
            Permission::OrgRead,
            Target {
                unit_id: uid(12),
                unit_path: &grid_a,
                owner: Some(uid(4))
            }
        ));
    }

    #[test]
    fn filters_collapse_nested_ranges() {
        let a = Authz {
            user_id: uid(1),
            grants: vec![
                grant("street_staff", 5, STREET, DataScope::Subtree),
                grant("community_staff", 10, COMM_A, DataScope::Subtree),
                grant("grid_worker", 12, "/x/", DataScope::Unit),
            ],
        };
        let f = a.filter(Permission::OrgRead);
        assert_eq!(f.ranges, vec![(STREET.to_string(), subtree_upper(STREET))]);
        assert_eq!(f.units, vec![uid(12)]);
        assert!(a.filter(Permission::AuditRead).is_empty());
        assert_eq!(a.roots(Permission::OrgRead), vec![uid(5), uid(12)]);
    }

    #[test]
    fn three_administrators_are_separated() {
        let root = Target {
            unit_id: uid(1),
            unit_path: "/",
            owner: None,
        };
        let sys = Authz {
            user_id: uid(100),
            grants: vec![grant("sys_admin", 1, "/", DataScope::Subtree)],
        };
        let sec = Authz {
            user_id: uid(101),
            grants: vec![grant("sec_admin", 1, "/", DataScope::Subtree)],
        };
        let audit_perms = builtin_role("audit_admin")
            .map(|r| r.permissions)
            .unwrap_or_default();
        let street_perms = builtin_role("street_staff")
            .map(|r| r.permissions)
            .unwrap_or_default();
        assert!(!sys.has(Permission::AuditRead));
        assert_eq!(
            may_grant(&sys, uid(100), audit_perms, root),
            Err(GrantRefusal::SelfGrant)
        );
        assert_eq!(
            may_grant(&sys, uid(7), audit_perms, root),
            Err(GrantRefusal::ExceedsOwn)
        );
        // Business roles carry case permissions the system administrator does not hold: the
        // security administrator grants them.
        assert_eq!(
            may_grant(&sys, uid(7), street_perms, root),
            Err(GrantRefusal::ExceedsOwn)
        );
        assert_eq!(may_grant(&sec, uid(7), street_perms, root), Ok(()));
        assert_eq!(
            may_grant(
                &sys,
                uid(7),
                &[Permission::OrgRead, Permission::UserRead],
                root
            ),
            Ok(())
        );
        assert_eq!(may_grant(&sec, uid(7), audit_perms, root), Ok(()));
        assert_eq!(
            may_grant(&sec, uid(101), audit_perms, root),
            Err(GrantRefusal::SelfGrant)
        );
        let staff = Authz {
            user_id: uid(5),
            grants: vec![grant("street_staff", 5, STREET, DataScope::Subtree)],
        };
        assert_eq!(
            may_grant(&staff, uid(7), street_perms, root),
            Err(GrantRefusal::NoGrantPermission)
        );
    }

    #[test]
    fn permission_keys_round_trip() {
        for p in Permission::ALL {
            assert_eq!(Permission::parse(p.key()), Some(*p));
        }
        for r in BUILTIN_ROLES {
            assert!(!r.permissions.is_empty(), "{}", r.key);
        }
    }
}
