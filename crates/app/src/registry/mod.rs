//! The base registry (人、地、物、组织, issue 4): the shared community information resource seed
//! 000 asks for. Its submodules own one kind of record each:
//!
//! - [`residents`]: people — registration, lists, the person page, unmasking, life-cycle events,
//!   residents' rights (查阅/复制/更正/删除);
//! - [`places`]: buildings with their entrances and houses;
//! - [`households`]: households (户) with their head, members, house and history;
//! - [`things`]: city components (部件) and organisations (组织);
//! - [`grids`]: grid polygons, their import and the in-memory point-to-grid index;
//! - [`import`]: residents from Excel/CSV, every row validated and reported;
//! - [`export`]: filtered lists to Excel, masked and audited;
//! - [`overview`]: a community's population and facilities at a glance;
//! - [`demo`]: the generated registry of the demo district.
//!
//! Protection is a property of the store, not of each screen: ID numbers, phones and sensitive
//! tags are sealed or blind-indexed before they reach the repository, and every view this module
//! returns carries only masked values ([`crate::pi`]). The full values leave only through
//! [`residents::unmask`] and [`things::unmask_contact`] (an organisation's contact), which need
//! `registry.unmask` and a stated reason ([`reason`]), and write their audit row through
//! [`audit_reveal`].

pub mod demo;
pub mod export;
pub mod grids;
pub mod households;
pub mod import;
pub mod overview;
pub mod places;
pub mod residents;
pub mod things;

use std::collections::HashMap;

use linli_domain::auth::Permission;
use linli_domain::org::OrgKind;
use linli_domain::registry::BUILTIN_TAGS;
use linli_store::repo::org::OrgUnit;
use linli_store::repo::registry as repo;
use serde::Serialize;

use crate::keyring::Field;
use crate::{App, Result};

/// A resident's ID number (row: the resident id).
pub const RESIDENT_ID_NUMBER: Field = Field::new("residents", "id_number");
/// A resident's phone (row: the resident id).
pub const RESIDENT_PHONE: Field = Field::new("residents", "phone");
/// An organisation's contact phone (row: the organisation id).
pub const ORGANISATION_PHONE: Field = Field::new("organisations", "contact_phone");

/// Most rows a list returns per page.
pub const MAX_PAGE: i64 = 200;

/// The district and unit a registry list reads: the unit filtered on (which the caller must
/// reach with `registry.read`), else the reader's own district (a city-level reader must name
/// one).
pub(crate) async fn list_range(
    app: &App,
    p: &crate::Principal,
    unit: Option<uuid::Uuid>,
) -> Result<(String, Option<OrgUnit>)> {
    if let Some(u) = unit {
        let unit = crate::units::get(app, u)
            .await?
            .ok_or(crate::AppError::NotFound("单位"))?;
        p.require_on(Permission::RegistryRead, &unit, "单位")?;
        return Ok((unit.tenant.clone(), Some(unit)));
    }
    let t = linli_domain::org::tenant_of_path(&p.unit_path);
    if t.chars().all(|c| c == '0') {
        return Err(crate::AppError::invalid(
            "unit_required",
            "请选择要查看的区县、街道、社区或网格",
        ));
    }
    Ok((t, None))
}

/// The grid (or community) a record is registered in: an active one the caller may write to.
pub(crate) async fn home_unit(
    app: &App,
    p: &crate::Principal,
    unit_id: uuid::Uuid,
) -> Result<OrgUnit> {
    let unit = crate::units::get(app, unit_id)
        .await?
        .filter(|u| u.active)
        .ok_or(crate::AppError::NotFound("网格"))?;
    p.require_on(Permission::RegistryWrite, &unit, "网格")?;
    if !matches!(unit.kind, OrgKind::Grid | OrgKind::Community) {
        return Err(crate::AppError::invalid(
            "not_a_grid",
            "应登记在网格（或社区）下",
        ));
    }
    Ok(unit)
}

/// Today's date in China (ages, birth-date checks).
pub fn today(app: &App) -> time::Date {
    app.now()
        .to_datetime()
        .to_offset(linli_domain::clock::CST)
        .date()
}

/// A tag as shown: key and label.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct TagView {
    pub key: String,
    pub label: String,
    pub sensitive: bool,
}

impl TagView {
    /// The field grant that shows this tag.
    pub fn field(&self) -> linli_domain::registry::ResidentField {
        use linli_domain::registry::ResidentField;
        if self.sensitive {
            ResidentField::SensitiveTags
        } else {
            ResidentField::Tags
        }
    }
}

/// The tag vocabulary with the stored form of each tag: a plain tag is stored as its key, a
/// sensitive one as the blind index of its key, so the database never names who is 低保 or 残疾.
pub struct TagBook {
    tags: Vec<TagView>,
    stored: HashMap<String, usize>,
    by_key: HashMap<String, usize>,
}

impl TagBook {
    pub async fn load(app: &App) -> Result<TagBook> {
        let rows = repo::tag_vocabulary(&app.db).await?;
        let mut book = TagBook {
            tags: Vec::with_capacity(rows.len()),
            stored: HashMap::new(),
            by_key: HashMap::new(),
        };
        for r in rows {
            let i = book.tags.len();
            let stored = stored_form(app, &r.key, r.sensitive);
            book.stored.insert(stored, i);
            book.by_key.insert(r.key.clone(), i);
            book.tags.push(TagView {
                key: r.key,
                label: r.label,
                sensitive: r.sensitive,
            });
        }
        Ok(book)
    }

    pub fn all(&self) -> &[TagView] {
        &self.tags
    }

    /// The stored form of a tag given by key or label; `None` for a tag not in the vocabulary.
    pub fn store(&self, app: &App, key_or_label: &str) -> Option<String> {
        let t = self.find(key_or_label)?;
        Some(stored_form(app, &t.key, t.sensitive))
    }

    pub fn find(&self, key_or_label: &str) -> Option<&TagView> {
        let k = key_or_label.trim();
        self.by_key
            .get(k)
            .map(|i| &self.tags[*i])
            .or_else(|| self.tags.iter().find(|t| t.label == k))
    }

    /// The tag a stored value stands for (unknown values — a tag since removed — are skipped).
    pub fn read(&self, stored: &str) -> Option<&TagView> {
        self.stored.get(stored).map(|i| &self.tags[*i])
    }
}

fn stored_form(app: &App, key: &str, sensitive: bool) -> String {
    if sensitive {
        format!("s:{}", app.keys.index(&format!("registry-tag\u{0}{key}")))
    } else {
        key.to_string()
    }
}

/// Make sure the built-in tags exist (run at every start; administrators' own tags stay).
pub async fn ensure_tags(app: &App) -> Result<()> {
    for (i, t) in BUILTIN_TAGS.iter().enumerate() {
        repo::put_tag(
            &app.db,
            &repo::TagRow {
                key: t.key.into(),
                label: t.label.into(),
                sensitive: t.sensitive,
                sort: i as i64,
            },
            app.now(),
        )
        .await?;
    }
    Ok(())
}

/// A stated reason for seeing full values: 4–200 characters (it is kept in the audit trail).
pub(crate) fn reason(raw: &str) -> Result<String> {
    let r = raw.trim();
    let n = r.chars().count();
    if !(4..=200).contains(&n) {
        return Err(crate::AppError::invalid(
            "reason_required",
            "请说明查看完整信息的理由（4–200 字）",
        ));
    }
    Ok(r.to_string())
}

/// The audit row of a reveal: who saw the full values of which row, and why — never the
/// values. Every path that shows full values (a resident's unmask and copy, an organisation's
/// contact) writes it before returning them.
pub(crate) async fn audit_reveal(
    app: &App,
    p: &crate::Principal,
    action: &str,
    kind: &str,
    id: uuid::Uuid,
    why: &str,
) -> Result<()> {
    let now = app.now();
    write_tx!(app, |tx| {
        crate::audit::record(
            &mut tx,
            now,
            p.into(),
            crate::audit::Event::ok(action, kind, id).reason(why),
        )
        .await?;
    })?;
    Ok(())
}

/// A short text field: trimmed, 1..=max characters, no control characters.
pub(crate) fn text_field(raw: &str, what: &str, max: usize, required: bool) -> Result<String> {
    let t = raw.trim();
    if t.is_empty() {
        if required {
            return Err(crate::AppError::invalid(
                "missing_field",
                format!("请填写{what}"),
            ));
        }
        return Ok(String::new());
    }
    if t.chars().count() > max {
        return Err(crate::AppError::invalid(
            "too_long",
            format!("{what}不能超过 {max} 个字符"),
        ));
    }
    if t.chars().any(char::is_control) {
        return Err(crate::AppError::invalid(
            "bad_characters",
            format!("{what}含有不可见的控制字符"),
        ));
    }
    Ok(t.to_string())
}
