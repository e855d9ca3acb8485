//! Cases, their parties, timeline, notices and numbers.
//!
//! A case row holds its header (what was asked, where, by whom) and its [`Lifecycle`] spread
//! over columns. Every change goes through [`update`], which writes the whole lifecycle only if
//! the version is the one the caller read (optimistic concurrency) and bumps it; the timeline
//! row of the same step takes the new version as its `seq`, so the two can never disagree.
//! Visibility is by party: a case is seen by people whose scope reaches any unit with a stake in
//! it ([`add_party`]), or by its creator when they hold an `own` scope.

use linli_domain::Ts;
use linli_domain::auth::ScopeFilter;
use linli_domain::calendar::TimeLimit;
use linli_domain::case::{
    CaseState, Channel, Counts, Disposition, ExtensionRequest, Lifecycle, Limits, RequestType,
    Satisfaction, Urgency,
};
use uuid::Uuid;

use super::{like_pattern, scope_sql};
use crate::args;
use crate::db::{Arg, Db, Engine, Params, Row, StoreError, Tx};

/// A case as stored.
#[derive(Clone)]
pub struct CaseRow {
    pub tenant: String,
    pub id: Uuid,
    pub number: String,
    pub channel: Channel,
    pub external_id: Option<String>,
    pub title: String,
    pub description: String,
    pub category_id: Option<Uuid>,
    pub category_code: String,
    pub category_name: String,
    pub catalogue_version: Option<i64>,
    pub address: String,
    pub lat_e6: Option<i64>,
    pub lng_e6: Option<i64>,
    pub grid_id: Option<Uuid>,
    pub community_id: Option<Uuid>,
    pub requester_name: String,
    /// Sealed (see `linli_app::pi`); never decoded by the store.
    pub requester_phone: Option<Vec<u8>>,
    pub phone_masked: String,
    pub phone_hash: Option<String>,
    pub owner_id: Uuid,
    pub owner_path: String,
    pub handler_path: Option<String>,
    pub whistle_open: bool,
    pub created_by: Option<Uuid>,
    pub received_at: Ts,
    pub created_at: Ts,
    pub updated_at: Ts,
    pub version: i64,
    pub life: Lifecycle,
}

impl std::fmt::Debug for CaseRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaseRow")
            .field("id", &self.id)
            .field("number", &self.number)
            .field("state", &self.life.state)
            .finish_non_exhaustive()
    }
}

pub(crate) const COLUMNS: &str = "tenant, id, number, channel, external_id, request_type, urgency, state, title, description,
    category_id, category_code, category_name, catalogue_version, address, lat_e6, lng_e6, grid_id, community_id,
    requester_name, requester_phone, phone_masked, phone_hash, anonymous, owner_id, owner_path, handler_id, handler_path,
    co_handlers, copy_to, disposition, duplicate_of, limits, received_at, dispatched_at, signed_at, first_contact_at,
    replied_at, closed_at, visited_at, sign_due, contact_due, due_at, warn_at, paused_at, warned_at, overdue_at, alarm_at,
    extension_days, extension_at, objections, extensions, reworks, reopens, supervisions, resolved, satisfaction,
    closed_on_time, whistle_open, created_by, created_at, updated_at, version";

fn bad(column: &str, v: &str) -> StoreError {
    StoreError::Decode {
        column: column.to_string(),
        message: format!("unknown value {v:?}"),
    }
}

fn limits_text(l: Option<Limits>) -> String {
    l.map(|l| format!("{},{},{}", l.sign, l.contact, l.complete))
        .unwrap_or_default()
}

fn parse_limits(s: &str) -> Result<Option<Limits>, StoreError> {
    if s.is_empty() {
        return Ok(None);
    }
    let parts: Vec<Option<TimeLimit>> = s.split(',').map(TimeLimit::parse).collect();
    match parts.as_slice() {
        [Some(sign), Some(contact), Some(complete)] => Ok(Some(Limits {
            sign: *sign,
            contact: *contact,
            complete: *complete,
        })),
        _ => Err(bad("limits", s)),
    }
}

fn ids_text(ids: &[Uuid]) -> String {
    ids.iter()
        .map(Uuid::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

fn parse_ids(s: &str) -> Result<Vec<Uuid>, StoreError> {
    s.split(',')
        .filter(|x| !x.is_empty())
        .map(|x| Uuid::parse_str(x).map_err(|_| bad("co_handlers", x)))
        .collect()
}

pub(crate) fn from_row(r: Row<'_>) -> Result<CaseRow, StoreError> {
    let key = |col: &str| r.text(col);
    let state = key("state")?;
    let channel = key("channel")?;
    let rt = key("request_type")?;
    let urg = key("urgency")?;
    let life = Lifecycle {
        state: CaseState::parse(&state).ok_or_else(|| bad("state", &state))?,
        request_type: RequestType::parse(&rt).ok_or_else(|| bad("request_type", &rt))?,
        urgency: Urgency::parse(&urg).ok_or_else(|| bad("urgency", &urg))?,
        anonymous: r.bool("anonymous")?,
        handler: r.opt_uuid("handler_id")?,
        co_handlers: parse_ids(&key("co_handlers")?)?,
        copy_to: r.opt_uuid("copy_to")?,
        disposition: match r.opt_text("disposition")? {
            Some(d) => Some(Disposition::parse(&d).ok_or_else(|| bad("disposition", &d))?),
            None => None,
        },
        duplicate_of: r.opt_uuid("duplicate_of")?,
        limits: parse_limits(&key("limits")?)?,
        dispatched_at: r.opt_ts("dispatched_at")?,
        signed_at: r.opt_ts("signed_at")?,
        first_contact_at: r.opt_ts("first_contact_at")?,
        replied_at: r.opt_ts("replied_at")?,
        closed_at: r.opt_ts("closed_at")?,
        visited_at: r.opt_ts("visited_at")?,
        sign_due: r.opt_ts("sign_due")?,
        contact_due: r.opt_ts("contact_due")?,
        due_at: r.opt_ts("due_at")?,
        warn_at: r.opt_ts("warn_at")?,
        paused_at: r.opt_ts("paused_at")?,
        warned_at: r.opt_ts("warned_at")?,
        overdue_at: r.opt_ts("overdue_at")?,
        extension: match (r.opt_i64("extension_days")?, r.opt_ts("extension_at")?) {
            (Some(days), Some(at)) => Some(ExtensionRequest {
                days: u32::try_from(days).map_err(|_| bad("extension_days", &days.to_string()))?,
                at,
            }),
            _ => None,
        },
        counts: Counts {
            objections: r.i64("objections")?,
            extensions: r.i64("extensions")?,
            reworks: r.i64("reworks")?,
            reopens: r.i64("reopens")?,
            supervisions: r.i64("supervisions")?,
        },
        resolved: r.opt_bool("resolved")?,
        satisfaction: match r.opt_text("satisfaction")? {
            Some(s) => Some(Satisfaction::parse(&s).ok_or_else(|| bad("satisfaction", &s))?),
            None => None,
        },
        closed_on_time: r.opt_bool("closed_on_time")?,
    };
    Ok(CaseRow {
        tenant: key("tenant")?,
        id: r.uuid("id")?,
        number: key("number")?,
        channel: Channel::parse(&channel).ok_or_else(|| bad("channel", &channel))?,
        external_id: r.opt_text("external_id")?,
        title: key("title")?,
        description: key("description")?,
        category_id: r.opt_uuid("category_id")?,
        category_code: key("category_code")?,
        category_name: key("category_name")?,
        catalogue_version: r.opt_i64("catalogue_version")?,
        address: key("address")?,
        lat_e6: r.opt_i64("lat_e6")?,
        lng_e6: r.opt_i64("lng_e6")?,
        grid_id: r.opt_uuid("grid_id")?,
        community_id: r.opt_uuid("community_id")?,
        requester_name: key("requester_name")?,
        requester_phone: r.opt_bytes("requester_phone")?,
        phone_masked: key("phone_masked")?,
        phone_hash: r.opt_text("phone_hash")?,
        owner_id: r.uuid("owner_id")?,
        owner_path: key("owner_path")?,
        handler_path: r.opt_text("handler_path")?,
        whistle_open: r.bool("whistle_open")?,
        created_by: r.opt_uuid("created_by")?,
        received_at: r.ts("received_at")?,
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
        version: r.i64("version")?,
        life,
    })
}

/// The lifecycle columns in `COLUMNS` order from `handler_id` on, as bind arguments.
fn life_args(c: &CaseRow) -> Vec<Arg> {
    let l = &c.life;
    args![
        l.handler,
        c.handler_path.clone(),
        ids_text(&l.co_handlers),
        l.copy_to,
        l.disposition.map(|d| d.key().to_string()),
        l.duplicate_of,
        limits_text(l.limits),
        c.received_at,
        l.dispatched_at,
        l.signed_at,
        l.first_contact_at,
        l.replied_at,
        l.closed_at,
        l.visited_at,
        l.sign_due,
        l.contact_due,
        l.due_at,
        l.warn_at,
        l.paused_at,
        l.warned_at,
        l.overdue_at,
        l.next_alarm(),
        l.extension.map(|e| i64::from(e.days)),
        l.extension.map(|e| e.at),
        l.counts.objections,
        l.counts.extensions,
        l.counts.reworks,
        l.counts.reopens,
        l.counts.supervisions,
        l.resolved,
        l.satisfaction.map(|s| s.key().to_string()),
        l.closed_on_time,
        c.whistle_open
    ]
}

pub async fn insert(tx: &mut Tx, c: &CaseRow) -> Result<(), StoreError> {
    insert_many(tx, &[c]).await
}

/// Rows per multi-row INSERT: a case row binds about 65 values, and SQLite takes at most 32,766
/// per statement (PostgreSQL 65,535).
const CASES_PER_STATEMENT: usize = 200;

/// New cases in as few statements as their count allows (intake's group commit).
pub async fn insert_many(tx: &mut Tx, cases: &[&CaseRow]) -> Result<(), StoreError> {
    for chunk in cases.chunks(CASES_PER_STATEMENT) {
        let mut p = Params::default();
        let rows: Vec<String> = chunk
            .iter()
            .map(|c| {
                let mut a = args![
                    c.tenant.clone(),
                    c.id,
                    c.number.clone(),
                    c.channel.key(),
                    c.external_id.clone(),
                    c.life.request_type.key(),
                    c.life.urgency.key(),
                    c.life.state.key(),
                    c.title.clone(),
                    c.description.clone(),
                    c.category_id,
                    c.category_code.clone(),
                    c.category_name.clone(),
                    c.catalogue_version,
                    c.address.clone(),
                    c.lat_e6,
                    c.lng_e6,
                    c.grid_id,
                    c.community_id,
                    c.requester_name.clone(),
                    c.requester_phone.clone(),
                    c.phone_masked.clone(),
                    c.phone_hash.clone(),
                    c.life.anonymous,
                    c.owner_id,
                    c.owner_path.clone()
                ];
                a.extend(life_args(c));
                a.extend(args![c.created_by, c.created_at, c.updated_at, c.version]);
                let marks: Vec<String> = a.into_iter().map(|v| p.push(v)).collect();
                format!("({})", marks.join(", "))
            })
            .collect();
        tx.execute(
            format!("INSERT INTO cases ({COLUMNS}) VALUES {}", rows.join(", ")),
            p.args,
        )
        .await?;
    }
    Ok(())
}

pub async fn get(db: &Db, tenant: &str, id: Uuid) -> Result<Option<CaseRow>, StoreError> {
    db.fetch_optional(
        format!("SELECT {COLUMNS} FROM cases WHERE tenant = $1 AND id = $2"),
        args![tenant, id],
        from_row,
    )
    .await
}

pub async fn get_tx(tx: &mut Tx, tenant: &str, id: Uuid) -> Result<Option<CaseRow>, StoreError> {
    tx.fetch_optional(
        format!("SELECT {COLUMNS} FROM cases WHERE tenant = $1 AND id = $2"),
        args![tenant, id],
        from_row,
    )
    .await
}

/// Find a case by id alone (the API addresses cases by id; the tenant comes from the row).
pub async fn locate(db: &Db, id: Uuid) -> Result<Option<CaseRow>, StoreError> {
    db.fetch_optional(
        format!("SELECT {COLUMNS} FROM cases WHERE id = $1"),
        args![id],
        from_row,
    )
    .await
}

/// Cases filed with a phone number of this blind index, newest first, in every district (the
/// resident portal's "我的诉求"; the caller proved the resident holds the number).
pub async fn with_phone_hash(
    db: &Db,
    phone_hash: &str,
    limit: i64,
) -> Result<Vec<CaseRow>, StoreError> {
    db.fetch_all(
        format!(
            "SELECT {COLUMNS} FROM cases WHERE phone_hash = $1 ORDER BY received_at DESC LIMIT $2"
        ),
        args![phone_hash, limit],
        from_row,
    )
    .await
}

pub async fn by_number(db: &Db, number: &str) -> Result<Option<CaseRow>, StoreError> {
    db.fetch_optional(
        format!("SELECT {COLUMNS} FROM cases WHERE number = $1"),
        args![number],
        from_row,
    )
    .await
}

pub async fn by_external(
    tx: &mut Tx,
    tenant: &str,
    channel: Channel,
    external_id: &str,
) -> Result<Option<CaseRow>, StoreError> {
    tx.fetch_optional(
        format!(
            "SELECT {COLUMNS} FROM cases WHERE tenant = $1 AND channel = $2 AND external_id = $3"
        ),
        args![tenant, channel.key(), external_id],
        from_row,
    )
    .await
}

/// The cases already filed under any of `keys` (`tenant`, `channel`, `external_id`), in one
/// statement: intake's group commit checks a whole batch's repeats at once.
pub async fn by_externals(
    tx: &mut Tx,
    keys: &[(&str, Channel, &str)],
) -> Result<Vec<CaseRow>, StoreError> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let mut p = Params::default();
    let rows: Vec<String> = keys
        .iter()
        .map(|(t, c, x)| format!("({}, {}, {})", p.push(*t), p.push(c.key()), p.push(*x)))
        .collect();
    tx.fetch_all(
        format!(
            "SELECT {COLUMNS} FROM cases WHERE (tenant, channel, external_id) IN ({})",
            rows.join(", ")
        ),
        p.args,
        from_row,
    )
    .await
}

/// Write `c`'s lifecycle (and the few header fields a step may change) if the stored version is
/// still `c.version - 1`. False when someone else changed the case first.
pub async fn update(tx: &mut Tx, c: &CaseRow) -> Result<bool, StoreError> {
    let mut a = args![c.life.state.key(), c.life.urgency.key()];
    a.extend(life_args(c));
    a.extend(args![
        c.updated_at,
        c.version,
        c.tenant.clone(),
        c.id,
        c.version - 1
    ]);
    let n = tx
        .execute(
            "UPDATE cases SET state = $1, urgency = $2, handler_id = $3, handler_path = $4, co_handlers = $5,
                copy_to = $6, disposition = $7, duplicate_of = $8, limits = $9, received_at = $10,
                dispatched_at = $11, signed_at = $12, first_contact_at = $13, replied_at = $14, closed_at = $15,
                visited_at = $16, sign_due = $17, contact_due = $18, due_at = $19, warn_at = $20, paused_at = $21,
                warned_at = $22, overdue_at = $23, alarm_at = $24, extension_days = $25, extension_at = $26,
                objections = $27, extensions = $28, reworks = $29, reopens = $30, supervisions = $31,
                resolved = $32, satisfaction = $33, closed_on_time = $34, whistle_open = $35,
                updated_at = $36, version = $37
             WHERE tenant = $38 AND id = $39 AND version = $40",
            a,
        )
        .await?;
    Ok(n == 1)
}

/// Reclassify a case (at 立案) without bumping its version: the step that does it follows in
/// the same transaction and bumps it.
pub async fn set_category(tx: &mut Tx, c: &CaseRow) -> Result<bool, StoreError> {
    let n = tx
        .execute(
            "UPDATE cases SET category_id = $1, category_code = $2, category_name = $3, catalogue_version = $4
             WHERE tenant = $5 AND id = $6 AND version = $7",
            args![
                c.category_id,
                c.category_code.clone(),
                c.category_name.clone(),
                c.catalogue_version,
                c.tenant.clone(),
                c.id,
                c.version
            ],
        )
        .await?;
    Ok(n == 1)
}

/// Units gaining a stake in a case, in one statement. Idempotent.
pub async fn add_parties(
    tx: &mut Tx,
    tenant: &str,
    case_id: Uuid,
    parties: &[(Uuid, &str, &str)],
    since: Ts,
) -> Result<(), StoreError> {
    let rows: Vec<NewParty<'_>> = parties
        .iter()
        .map(|&(unit_id, role, unit_path)| NewParty {
            tenant,
            case_id,
            unit_id,
            role,
            unit_path,
            since,
        })
        .collect();
    add_parties_many(tx, &rows).await
}

/// A party row to add; several cases' parties can go in one statement.
#[derive(Debug, Clone, Copy)]
pub struct NewParty<'a> {
    pub tenant: &'a str,
    pub case_id: Uuid,
    pub unit_id: Uuid,
    pub role: &'a str,
    pub unit_path: &'a str,
    pub since: Ts,
}

/// Parties of one or many cases; a party already on its case is left as it is.
pub async fn add_parties_many(tx: &mut Tx, parties: &[NewParty<'_>]) -> Result<(), StoreError> {
    for chunk in parties.chunks(1000) {
        let mut p = Params::default();
        let rows: Vec<String> = chunk
            .iter()
            .map(|n| {
                format!(
                    "({}, {}, {}, {}, {}, {})",
                    p.push(n.tenant),
                    p.push(n.case_id),
                    p.push(n.unit_id),
                    p.push(n.role),
                    p.push(n.unit_path),
                    p.push(n.since)
                )
            })
            .collect();
        tx.execute(
            format!(
                "INSERT INTO case_parties (tenant, case_id, unit_id, role, unit_path, since) VALUES {}
                 ON CONFLICT (tenant, case_id, unit_id, role) DO NOTHING",
                rows.join(", ")
            ),
            p.args,
        )
        .await?;
    }
    Ok(())
}

#[derive(Debug, Clone)]
pub struct Party {
    pub unit_id: Uuid,
    pub role: String,
    pub unit_path: String,
    pub since: Ts,
}

pub async fn parties(db: &Db, tenant: &str, case_id: Uuid) -> Result<Vec<Party>, StoreError> {
    db.fetch_all(
        "SELECT unit_id, role, unit_path, since FROM case_parties WHERE tenant = $1 AND case_id = $2 ORDER BY since, role",
        args![tenant, case_id],
        |r| {
            Ok(Party {
                unit_id: r.uuid("unit_id")?,
                role: r.text("role")?,
                unit_path: r.text("unit_path")?,
                since: r.ts("since")?,
            })
        },
    )
    .await
}

/// One step on the timeline.
#[derive(Debug, Clone)]
pub struct Event {
    pub tenant: String,
    pub case_id: Uuid,
    pub seq: i64,
    pub at: Ts,
    pub action: String,
    pub from_state: String,
    pub to_state: String,
    pub actor_id: Option<Uuid>,
    pub actor_name: String,
    pub actor_unit: Option<Uuid>,
    pub note: String,
    /// JSON object with the step's particulars (units, limits, ratings, attachment ids).
    pub data: String,
}

pub async fn insert_event(tx: &mut Tx, e: &Event) -> Result<(), StoreError> {
    insert_events(tx, &[e]).await
}

/// Timeline rows of one or many cases in as few statements as their count allows.
pub async fn insert_events(tx: &mut Tx, events: &[&Event]) -> Result<(), StoreError> {
    for chunk in events.chunks(500) {
        let mut p = Params::default();
        let rows: Vec<String> = chunk
            .iter()
            .map(|e| {
                let marks = [
                    p.push(e.tenant.clone()),
                    p.push(e.case_id),
                    p.push(e.seq),
                    p.push(e.at),
                    p.push(e.action.clone()),
                    p.push(e.from_state.clone()),
                    p.push(e.to_state.clone()),
                    p.push(e.actor_id),
                    p.push(e.actor_name.clone()),
                    p.push(e.actor_unit),
                    p.push(e.note.clone()),
                    p.push(e.data.clone()),
                ];
                format!("({})", marks.join(", "))
            })
            .collect();
        tx.execute(
            format!(
                "INSERT INTO case_events (tenant, case_id, seq, at, action, from_state, to_state, actor_id,
                    actor_name, actor_unit, note, data) VALUES {}",
                rows.join(", ")
            ),
            p.args,
        )
        .await?;
    }
    Ok(())
}

pub async fn events(db: &Db, tenant: &str, case_id: Uuid) -> Result<Vec<Event>, StoreError> {
    db.fetch_all(
        "SELECT tenant, case_id, seq, at, action, from_state, to_state, actor_id, actor_name, actor_unit, note, data
         FROM case_events WHERE tenant = $1 AND case_id = $2 ORDER BY seq",
        args![tenant, case_id],
        |r| {
            Ok(Event {
                tenant: r.text("tenant")?,
                case_id: r.uuid("case_id")?,
                seq: r.i64("seq")?,
                at: r.ts("at")?,
                action: r.text("action")?,
                from_state: r.text("from_state")?,
                to_state: r.text("to_state")?,
                actor_id: r.opt_uuid("actor_id")?,
                actor_name: r.text("actor_name")?,
                actor_unit: r.opt_uuid("actor_unit")?,
                note: r.text("note")?,
                data: r.text("data")?,
            })
        },
    )
    .await
}

/// The reply texts (办结反馈) on a case's timeline, oldest first (for its search terms).
pub async fn reply_notes_tx(
    tx: &mut Tx,
    tenant: &str,
    case_id: Uuid,
) -> Result<Vec<String>, StoreError> {
    tx.fetch_all(
        "SELECT note FROM case_events WHERE tenant = $1 AND case_id = $2 AND action = 'reply' ORDER BY seq",
        args![tenant, case_id],
        |r| r.text("note"),
    )
    .await
}

/// A notice for a unit (the outbox row).
#[derive(Debug, Clone)]
pub struct Notice {
    pub tenant: String,
    pub id: Uuid,
    pub case_id: Uuid,
    pub kind: String,
    pub unit_id: Uuid,
    pub unit_path: String,
    pub title: String,
    pub created_at: Ts,
    pub read_at: Option<Ts>,
}

pub async fn insert_notice(tx: &mut Tx, n: &Notice) -> Result<(), StoreError> {
    insert_notices(tx, &[n]).await
}

/// Notices of one or many cases in as few statements as their count allows.
pub async fn insert_notices(tx: &mut Tx, notices: &[&Notice]) -> Result<(), StoreError> {
    for chunk in notices.chunks(1000) {
        let mut p = Params::default();
        let rows: Vec<String> = chunk
            .iter()
            .map(|n| {
                let marks = [
                    p.push(n.tenant.clone()),
                    p.push(n.id),
                    p.push(n.case_id),
                    p.push(n.kind.clone()),
                    p.push(n.unit_id),
                    p.push(n.unit_path.clone()),
                    p.push(n.title.clone()),
                    p.push(n.created_at),
                ];
                format!("({})", marks.join(", "))
            })
            .collect();
        tx.execute(
            format!(
                "INSERT INTO notices (tenant, id, case_id, kind, unit_id, unit_path, title, created_at)
                 VALUES {}",
                rows.join(", ")
            ),
            p.args,
        )
        .await?;
    }
    Ok(())
}

fn notice_from_row(r: Row<'_>) -> Result<Notice, StoreError> {
    Ok(Notice {
        tenant: r.text("tenant")?,
        id: r.uuid("id")?,
        case_id: r.uuid("case_id")?,
        kind: r.text("kind")?,
        unit_id: r.uuid("unit_id")?,
        unit_path: r.text("unit_path")?,
        title: r.text("title")?,
        created_at: r.ts("created_at")?,
        read_at: r.opt_ts("read_at")?,
    })
}

pub async fn notices_for_case(
    db: &Db,
    tenant: &str,
    case_id: Uuid,
) -> Result<Vec<Notice>, StoreError> {
    db.fetch_all(
        "SELECT tenant, id, case_id, kind, unit_id, unit_path, title, created_at, read_at FROM notices
         WHERE tenant = $1 AND case_id = $2 ORDER BY created_at, id",
        args![tenant, case_id],
        notice_from_row,
    )
    .await
}

/// Notices addressed to units the filter reaches, newest first.
pub async fn notices_for(
    db: &Db,
    f: &ScopeFilter,
    before: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Notice>, StoreError> {
    let mut p = Params::default();
    let mut wh = vec![scope_sql(f, "unit_path", "unit_id", None, &mut p)];
    if let Some(b) = before {
        wh.push(format!("id < {}", p.push(b)));
    }
    let lim = p.push(limit);
    db.fetch_all(
        format!(
            "SELECT tenant, id, case_id, kind, unit_id, unit_path, title, created_at, read_at FROM notices
             WHERE {} ORDER BY id DESC LIMIT {lim}",
            wh.join(" AND ")
        ),
        p.args,
        notice_from_row,
    )
    .await
}

/// Reserve `block` case numbers for (tenant, day); returns the first. Runs in its own short
/// transaction so intake never holds the counter row.
pub async fn reserve_numbers(
    db: &Db,
    tenant: &str,
    day: &str,
    block: i64,
) -> Result<i64, StoreError> {
    crate::retry(|| async {
        let mut tx = db.begin_write().await?;
        tx.execute(
            "INSERT INTO case_counters (tenant, day, next) VALUES ($1, $2, 1) ON CONFLICT (tenant, day) DO NOTHING",
            args![tenant, day],
        )
        .await?;
        let end = tx
            .fetch_one_i64(
                "UPDATE case_counters SET next = next + $1 WHERE tenant = $2 AND day = $3 RETURNING next",
                args![block, tenant, day],
            )
            .await?;
        tx.commit().await?;
        Ok::<_, StoreError>(end - block)
    })
    .await
}

/// Which cases a list asks for.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// Only cases of these tenants (empty: any). Narrowing by tenant lets the queue index serve
    /// the page order; callers derive it from the grants, which never reach beyond them.
    pub tenants: Vec<String>,
    /// Find the cases through the parties index, unit by unit, when the scope is units only
    /// (grids, communities, departments: a few percent of a district's cases each) instead of
    /// probing the newest cases of their tenants (see [`list`]).
    pub via_parties: bool,
    pub states: Vec<CaseState>,
    /// Only cases whose completion clock is running and has passed its warning point but not
    /// its deadline (即将超期), or has passed its deadline (已超期).
    pub clock: Option<ClockFilter>,
    pub whistle_open: bool,
    pub channel: Option<Channel>,
    pub urgency: Option<Urgency>,
    /// Category code prefix (a subtree of the catalogue).
    pub category: Option<String>,
    /// Only cases handled within this unit subtree (path prefix).
    pub handler_under: Option<String>,
    pub grid: Option<Uuid>,
    /// Number, title or address contains.
    pub q: Option<String>,
    /// Full-text: every group must match the case's index terms, any term of a group will do
    /// ([`super::search::match_sql`]).
    pub search: Vec<Vec<String>>,
    /// How a list finds the cases of [`ListQuery::search`] ([`SearchPlan::Windows`] unless a
    /// test compares the plans).
    pub search_plan: SearchPlan,
    pub phone_hash: Option<String>,
    pub received_from: Option<Ts>,
    pub received_to: Option<Ts>,
    /// Only cases an assessment counts under this measure (see `repo::assessment`).
    pub measure: Option<linli_domain::assessment::Measure>,
    /// Only cases in the assessment of the unit at this path (handled in its subtree, or
    /// received there and not dispatched).
    pub assessed_under: Option<String>,
    /// Only cases assessed on exactly the unit at this path (not on a unit below it).
    pub assessed_at: Option<String>,
    /// Keyset: ids below this one (ids are time-ordered UUIDv7, so newest first).
    pub before: Option<Uuid>,
    pub limit: i64,
    /// The time "now" for the clock filters.
    pub now: Ts,
}

/// How a list with words finds its cases. All three give the same rows; they differ in what
/// they read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SearchPlan {
    /// Newest first, a time window at a time: the index's matches of the newest day, then of
    /// wider and older windows (sized by how many cases the last one gave), each intersected
    /// with the reader's scope and filters, until the page is full; after
    /// [`WINDOW_PASSES`] windows the rest in one go, by [`SearchPlan::Matches`] or
    /// [`SearchPlan::Probe`] as [`super::search::is_common`] says.
    #[default]
    Windows,
    /// Fetch every match through the index and intersect them with the scope and filters.
    Matches,
    /// Walk the reader's cases newest first and test each one's terms, up to the page size.
    Probe,
}

/// Windows a [`SearchPlan::Windows`] list reads before it searches the rest in one go.
pub const WINDOW_PASSES: usize = 5;
/// The first window: the newest day (of case ids, before `before` when paging).
const FIRST_WINDOW_MS: i64 = 86_400_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockFilter {
    Warning,
    Overdue,
}

const RUNNING: &str = "c.state IN ('dispatched', 'objected', 'handling') AND c.paused_at IS NULL";

/// `COLUMNS` of the case row `c`.
fn c_columns() -> String {
    COLUMNS
        .split(',')
        .map(|c| format!("c.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Cases the filter can see that match the query, newest first.
pub async fn list(db: &Db, f: &ScopeFilter, q: &ListQuery) -> Result<Vec<CaseRow>, StoreError> {
    if !q.search.is_empty() && q.search_plan == SearchPlan::Windows {
        return list_windows(db, f, q).await;
    }
    list_one(db, f, q).await
}

/// [`SearchPlan::Windows`]: the windows newest first, then the rest.
async fn list_windows(db: &Db, f: &ScopeFilter, q: &ListQuery) -> Result<Vec<CaseRow>, StoreError> {
    use super::search::{MAX_MILLIS, id_floor, id_millis, is_common};
    let limit = q.limit;
    let mut out: Vec<CaseRow> = Vec::new();
    if limit <= 0 {
        return Ok(out);
    }
    // Windows are of the milliseconds case ids carry; `before` bounds the first one.
    let top = q
        .before
        .map(|b| id_millis(b) + 1)
        .filter(|t| *t <= MAX_MILLIS);
    let anchor = top
        .unwrap_or(q.now.0.div_euclid(1000) + 1)
        .clamp(0, MAX_MILLIS);
    let mut hi = top;
    let mut span = FIRST_WINDOW_MS;
    let mut lo = (anchor - span).max(0);
    let mut rest = q.clone();
    rest.search = Vec::new();
    // Whether the words are common ([`is_common`], a capped count): asked at most once.
    let mut common: Option<bool> = None;
    for pass in 0..WINDOW_PASSES {
        let want = limit - out.len() as i64;
        let rows = window_pass(db, f, &rest, &q.search, lo, hi, want).await?;
        let found = rows.len() as i64;
        out.extend(rows);
        if out.len() as i64 >= limit || lo == 0 {
            return Ok(out);
        }
        // On PostgreSQL every window evaluates the words over the whole GIN index and ANDs a
        // bitmap of the window's range: for rare words (a few hundred matches) fetching them
        // all at once is cheaper than widening windows. (FTS5 seeks within its postings.)
        if pass == 0 && db.engine() == Engine::Postgres {
            let c = is_common(db, &q.search).await?;
            common = Some(c);
            if !c {
                break;
            }
        }
        if pass + 1 < WINDOW_PASSES {
            // The next, older window: wide enough for what is missing at the density the last
            // one showed (twice over), between two and sixteen times the last.
            let need = limit - out.len() as i64;
            let grow = if found == 0 {
                16
            } else {
                (2 * need / found).clamp(2, 16)
            };
            hi = Some(lo);
            span = span.saturating_mul(grow);
            lo = (lo - span).max(0);
        }
    }
    // Everything older than the last window, in one go.
    let mut older = q.clone();
    older.before = Some(id_floor(lo));
    older.limit = limit - out.len() as i64;
    // (Asked once: PostgreSQL's first pass may have asked already.)
    let common = match common {
        Some(c) => c,
        None => is_common(db, &q.search).await?,
    };
    older.search_plan = if common {
        SearchPlan::Probe
    } else {
        SearchPlan::Matches
    };
    out.extend(list_one(db, f, &older).await?);
    Ok(out)
}

/// One window `[lo, hi)` of [`SearchPlan::Windows`]: its matches, newest first, that pass the
/// scope and the other filters of `rest` (which has no words). Driven from the index: on
/// SQLite the join order is fixed (`CROSS JOIN`: the window's FTS5 matches, their index rows,
/// the cases); on PostgreSQL the case-id range bounds both sides of the semi-join.
#[allow(clippy::too_many_arguments)]
async fn window_pass(
    db: &Db,
    f: &ScopeFilter,
    rest: &ListQuery,
    groups: &[Vec<String>],
    lo: i64,
    hi: Option<i64>,
    limit: i64,
) -> Result<Vec<CaseRow>, StoreError> {
    use super::search::{id_floor, window_sql};
    let engine = db.engine();
    let mut p = Params::default();
    let hits = window_sql(engine, groups, &rest.tenants, lo, hi, &mut p);
    // The window drives the query: the scope is tested on each case, never left to the
    // parties walk of [`via_parties`].
    let rest = &ListQuery {
        via_parties: false,
        ..rest.clone()
    };
    let mut wh = conditions(engine, f, rest, &mut p);
    wh.push(format!("c.id >= {}", p.push(id_floor(lo))));
    if let Some(hi) = hi {
        wh.push(format!("c.id < {}", p.push(id_floor(hi))));
    }
    let lim = p.push(limit);
    let cols = c_columns();
    let sql = match engine {
        Engine::Sqlite => format!(
            "SELECT {cols} FROM ({hits}) m CROSS JOIN case_search s CROSS JOIN cases c
             WHERE s.doc = m.doc AND c.tenant = s.tenant AND c.id = s.case_id AND {}
             ORDER BY c.id DESC LIMIT {lim}",
            wh.join(" AND ")
        ),
        Engine::Postgres => {
            wh.push(format!("(c.tenant, c.id) IN ({hits})"));
            format!(
                "SELECT {cols} FROM cases c WHERE {} ORDER BY c.id DESC LIMIT {lim}",
                wh.join(" AND ")
            )
        }
    };
    db.fetch_all(sql, p.args, from_row).await
}

/// One query: no words, or words by [`SearchPlan::Matches`] / [`SearchPlan::Probe`].
async fn list_one(db: &Db, f: &ScopeFilter, q: &ListQuery) -> Result<Vec<CaseRow>, StoreError> {
    let mut p = Params::default();
    let wh = conditions(db.engine(), f, q, &mut p);
    let lim = p.push(q.limit);
    let cols = c_columns();
    let sql = match driving_units(f, q) {
        Some(units) => format!(
            "SELECT {cols} FROM cases c WHERE (c.tenant, c.id) IN ({}) ORDER BY c.id DESC LIMIT {lim}",
            via_parties(units, &wh, &lim, &mut p)
        ),
        None => format!(
            "SELECT {cols} FROM cases c WHERE {} ORDER BY c.id DESC LIMIT {lim}",
            wh.join(" AND ")
        ),
    };
    db.fetch_all(sql, p.args, from_row).await
}

/// How many cases [`list`] would find without paging, counting no further than `cap` (a tab
/// shows "999+" rather than scanning a district's million cases).
pub async fn count(db: &Db, f: &ScopeFilter, q: &ListQuery, cap: i64) -> Result<i64, StoreError> {
    let mut q = q.clone();
    if !q.search.is_empty() && q.search_plan == SearchPlan::Windows {
        // A count reads every match anyway: the plan that reads the fewer rows.
        q.search_plan = if super::search::is_common(db, &q.search).await? {
            SearchPlan::Probe
        } else {
            SearchPlan::Matches
        };
    }
    let q = &q;
    let mut p = Params::default();
    let wh = conditions(db.engine(), f, q, &mut p);
    let cap = p.push(cap);
    let sql = match driving_units(f, q) {
        Some(units) => format!(
            "SELECT COUNT(*) AS n FROM (SELECT u.id FROM ({}) u LIMIT {cap}) x",
            via_parties(units, &wh, &cap, &mut p)
        ),
        None => format!(
            "SELECT COUNT(*) AS n FROM (SELECT 1 AS one FROM cases c WHERE {} LIMIT {cap}) x",
            wh.join(" AND ")
        ),
    };
    db.fetch_one_i64(sql, p.args).await
}

/// The units a list is found through when [`ListQuery::via_parties`] is asked for and the
/// caller's scope is a set of units and nothing else (a grid worker, a community desk, a
/// department); otherwise the scope is an `EXISTS` test on each case, newest first.
fn driving_units<'a>(f: &'a ScopeFilter, q: &ListQuery) -> Option<&'a [Uuid]> {
    (q.via_parties && f.ranges.is_empty() && f.owner.is_none() && !f.units.is_empty())
        .then_some(f.units.as_slice())
}

/// The tenants and ids of the newest cases (at most `limit` per unit) in which one of `units` is a party
/// and that meet the conditions `wh` (on `c`): for each unit the parties index is walked
/// newest first and each case tested, so a page stops after its rows instead of collecting a
/// unit's thousands of cases first. A unit that is a party in two roles counts once (the
/// `NOT EXISTS` keeps its first role); a case reached through two units, once (`UNION`).
fn via_parties(units: &[Uuid], wh: &[String], limit: &str, p: &mut Params) -> String {
    let wh = if wh.is_empty() {
        String::new()
    } else {
        format!(" AND {}", wh.join(" AND "))
    };
    units
        .iter()
        .map(|u| {
            format!(
                "SELECT x.tenant, x.id FROM (SELECT pt.tenant, pt.case_id AS id FROM case_parties pt \
                 JOIN cases c ON c.tenant = pt.tenant AND c.id = pt.case_id \
                 WHERE pt.unit_id = {} AND NOT EXISTS (SELECT 1 FROM case_parties d \
                 WHERE d.tenant = pt.tenant AND d.case_id = pt.case_id AND d.unit_id = pt.unit_id \
                 AND d.role < pt.role){wh} ORDER BY pt.case_id DESC LIMIT {limit}) x",
                p.push(*u)
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ")
}

/// The WHERE conditions of a list query: the caller's scope, then every filter.
fn conditions(engine: Engine, f: &ScopeFilter, q: &ListQuery, p: &mut Params) -> Vec<String> {
    let mut wh = Vec::new();
    if !q.tenants.is_empty() {
        let list: Vec<String> = q.tenants.iter().map(|t| p.push(t.clone())).collect();
        wh.push(format!("c.tenant IN ({})", list.join(", ")));
    }
    // When the list is found through the parties ([`via_parties`]), they are its scope.
    if driving_units(f, q).is_none() {
        let party = scope_sql(f, "pt.unit_path", "pt.unit_id", None, p);
        let own = match f.owner {
            Some(o) => format!(" OR c.created_by = {}", p.push(o)),
            None => String::new(),
        };
        wh.push(format!(
            "(EXISTS (SELECT 1 FROM case_parties pt WHERE pt.tenant = c.tenant AND pt.case_id = c.id AND {party}){own})"
        ));
    }
    if !q.states.is_empty() {
        let list: Vec<String> = q.states.iter().map(|s| p.push(s.key())).collect();
        wh.push(format!("c.state IN ({})", list.join(", ")));
    }
    match q.clock {
        Some(ClockFilter::Warning) => {
            let now = p.push(q.now);
            wh.push(format!(
                "{RUNNING} AND c.warn_at <= {now} AND c.due_at > {now}"
            ));
        }
        Some(ClockFilter::Overdue) => {
            let now = p.push(q.now);
            wh.push(format!("{RUNNING} AND c.due_at <= {now}"));
        }
        None => {}
    }
    if q.whistle_open {
        wh.push("c.whistle_open = TRUE".into());
    }
    if let Some(ch) = q.channel {
        wh.push(format!("c.channel = {}", p.push(ch.key())));
    }
    if let Some(u) = q.urgency {
        wh.push(format!("c.urgency = {}", p.push(u.key())));
    }
    if let Some(cat) = &q.category {
        wh.push(format!(
            "c.category_code LIKE {} ESCAPE '\\'",
            p.push(super::like_prefix(cat))
        ));
    }
    if let Some(h) = &q.handler_under {
        let a = p.push(h.clone());
        let b = p.push(linli_domain::org::subtree_upper(h));
        wh.push(format!("c.handler_path >= {a} AND c.handler_path < {b}"));
    }
    if let Some(g) = q.grid {
        wh.push(format!("c.grid_id = {}", p.push(g)));
    }
    if let Some(text) = q.q.as_deref().filter(|s| !s.is_empty()) {
        let a = p.push(like_pattern(text));
        wh.push(format!(
            "(c.number LIKE {a} ESCAPE '\\' OR c.title LIKE {a} ESCAPE '\\' OR c.address LIKE {a} ESCAPE '\\')"
        ));
    }
    if !q.search.is_empty() {
        if q.search_plan == SearchPlan::Probe {
            wh.push(super::search::probe_sql(&q.search, p));
        } else {
            let hits = super::search::match_sql(engine, &q.search, p);
            wh.push(format!("(c.tenant, c.id) IN ({hits})"));
        }
    }
    if let Some(h) = &q.phone_hash {
        wh.push(format!("c.phone_hash = {}", p.push(h.clone())));
    }
    if let Some(t) = q.received_from {
        wh.push(format!("c.received_at >= {}", p.push(t)));
    }
    if let Some(t) = q.received_to {
        wh.push(format!("c.received_at < {}", p.push(t)));
    }
    if let Some(m) = q.measure {
        let now = p.push(q.now);
        wh.push(super::assessment::measure_sql(m, &now));
    }
    if let Some(path) = &q.assessed_under {
        wh.push(super::assessment::responsible_sql(path, p));
    }
    if let Some(path) = &q.assessed_at {
        wh.push(format!(
            "{} = {}",
            super::assessment::RESPONSIBLE,
            p.push(path.clone())
        ));
    }
    if let Some(b) = q.before {
        wh.push(format!("c.id < {}", p.push(b)));
    }
    wh
}

/// Cases whose next alarm (warning or overdue mark) is due by `now`, earliest first, across
/// every tenant (the sweeper's work list).
pub async fn due_alarms(db: &Db, now: Ts, limit: i64) -> Result<Vec<CaseRow>, StoreError> {
    db.fetch_all(
        format!(
            "SELECT {COLUMNS} FROM cases WHERE alarm_at IS NOT NULL AND alarm_at <= $1 ORDER BY alarm_at LIMIT $2"
        ),
        args![now, limit],
        from_row,
    )
    .await
}

/// The texts and final categories of a tenant's finished cases (待回访 or 已回访), newest first:
/// what the intake classifier learns from. Never personal data: title and description only.
pub async fn training_samples(
    db: &Db,
    tenant: &str,
    limit: i64,
) -> Result<Vec<(String, String)>, StoreError> {
    db.fetch_all(
        "SELECT title, description, category_code FROM cases
         WHERE tenant = $1 AND state IN ('closed', 'visited') AND category_code <> ''
         ORDER BY id DESC LIMIT $2",
        args![tenant, limit],
        |r| {
            Ok((
                format!("{} {}", r.text("title")?, r.text("description")?),
                r.text("category_code")?,
            ))
        },
    )
    .await
}
