//! The dispatch catalogue (派单目录) as the case module reads it. (The catalogue's own
//! management — import, export, versions, console — lands on its own branch; this reads one
//! entry straight from `catalogue_items`.)

use linli_domain::calendar::TimeLimit;
use linli_domain::case::{Limits, RequestType, Urgency};
use linli_domain::org::OrgKind;
use linli_store::args;
use uuid::Uuid;

use crate::{App, Result};

/// One catalogue row as cases use it.
#[derive(Debug, Clone)]
pub struct Entry {
    pub id: Uuid,
    pub version: i64,
    pub code: String,
    pub full_name: String,
    pub handler_kind: Option<OrgKind>,
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
    /// The limits a dispatch under this entry starts; each missing one takes the default.
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

/// One entry of any version (cases keep pointing at the version they were filed under).
pub async fn entry(app: &App, tenant: &str, id: Uuid) -> Result<Option<Entry>> {
    Ok(app
        .db
        .fetch_optional(
            "SELECT i.id, v.version, i.code, i.full_name, i.handler_kind, i.handler_code, i.urgency, i.community_may,
                i.sign_limit, i.contact_limit, i.limit_normal, i.limit_urgent, i.limit_critical, i.level
             FROM catalogue_items i JOIN catalogue_versions v ON v.tenant = i.tenant AND v.id = i.version_id
             WHERE i.tenant = $1 AND i.id = $2",
            args![tenant, id],
            |r| {
                let lim = |c: &str| r.text(c).map(|s| TimeLimit::parse(&s));
                Ok(Entry {
                    id: r.uuid("id")?,
                    version: r.i64("version")?,
                    code: r.text("code")?,
                    full_name: r.text("full_name")?,
                    handler_kind: OrgKind::parse(&r.text("handler_kind")?),
                    handler_code: r.text("handler_code")?,
                    urgency: Urgency::parse(&r.text("urgency")?).unwrap_or(Urgency::Normal),
                    community_may: r.bool("community_may")?,
                    sign: lim("sign_limit")?,
                    contact: lim("contact_limit")?,
                    normal: lim("limit_normal")?,
                    urgent: lim("limit_urgent")?,
                    critical: lim("limit_critical")?,
                    leaf: r.i64("level")? == 3,
                })
            },
        )
        .await?)
}
