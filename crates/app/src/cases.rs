//! Cases: intake from every channel, every step of the closed loop, the timeline, lists and the
//! sweeper's alarms.
//!
//! The rules live in [`linli_domain::case`]; this module finds the units a step names, checks
//! the actor's grants against the party the rule names, and writes the new lifecycle, its
//! timeline row, the parties, the notices (outbox) and the audit row in one transaction, refused
//! as stale when the case moved on since the caller read it.

use std::collections::HashMap;
use std::sync::Mutex;

use linli_domain::Ts;
use linli_domain::auth::{Permission, ScopeFilter, Target};
use linli_domain::case::{
    Action, Assignment, CaseState, Change, Channel, Command, Disposition, Lifecycle,
    ObjectionGround, Party, Recipient, RequestType, Satisfaction, Urgency,
};
use linli_domain::clock::CST;
use linli_domain::org::{OrgKind, tenant_of_path};
use linli_store::Tx;
use linli_store::repo::cases::{self as repo, CaseRow, ClockFilter, Event as TimelineEvent};
use linli_store::repo::org::OrgUnit;
use uuid::Uuid;

use crate::audit::{self, Actor, Event, record};
use crate::filer::{self, Filing};
use crate::{App, AppError, Ctx, Principal, Result, calendar, catalogue, pi};

/// Case numbers handed out per reservation (hi/lo); unused ones are skipped on restart.
pub const NUMBER_BLOCK: i64 = 100;
pub const MAX_TITLE_CHARS: usize = 100;
pub const MAX_DESCRIPTION_CHARS: usize = 4000;
pub const MAX_ADDRESS_CHARS: usize = 200;

/// Reserved number ranges per (tenant, day), shared by every request of this process.
#[derive(Default)]
pub struct NumberBlocks {
    blocks: Mutex<HashMap<(String, String), (i64, i64)>>,
}

impl NumberBlocks {
    fn take(&self, key: &(String, String)) -> Option<i64> {
        let mut g = self.blocks.lock().ok()?;
        let (next, end) = g.get_mut(key)?;
        if *next < *end {
            *next += 1;
            Some(*next - 1)
        } else {
            None
        }
    }

    fn put(&self, key: (String, String), first: i64, end: i64) {
        if let Ok(mut g) = self.blocks.lock() {
            g.retain(|(_, day), _| *day >= key.1);
            g.insert(key, (first, end));
        }
    }
}

/// `110101-20261121-000123`.
async fn next_number(app: &App, tenant: &str, now: Ts) -> Result<String> {
    let d = now.to_datetime().to_offset(CST).date();
    let day = format!("{:04}{:02}{:02}", d.year(), u8::from(d.month()), d.day());
    let key = (tenant.to_string(), day.clone());
    let n = match app.numbers.take(&key) {
        Some(n) => n,
        None => {
            let first = repo::reserve_numbers(&app.db, tenant, &day, NUMBER_BLOCK).await?;
            app.numbers.put(key, first + 1, first + NUMBER_BLOCK);
            first
        }
    };
    Ok(format!("{tenant}-{day}-{n:06}"))
}

/// What an intake form, an API client or a patrol app sends.
#[derive(Debug, Clone, Default)]
pub struct NewCase {
    pub channel: Option<Channel>,
    /// The caller's own id for the request (API, Open311): a repeat with the same id returns
    /// the case already filed instead of a second one.
    pub external_id: Option<String>,
    pub request_type: Option<RequestType>,
    pub urgency: Option<Urgency>,
    pub title: String,
    pub description: String,
    pub category_id: Option<Uuid>,
    pub address: String,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub grid_id: Option<Uuid>,
    pub requester_name: String,
    pub requester_phone: Option<String>,
    pub anonymous: bool,
    /// The receiving centre; by default the street above a patrolling grid worker, otherwise
    /// the district of the person filing.
    pub owner_unit_id: Option<Uuid>,
    /// A consultation answered on the spot (接诉即办条例 Art. 31): the answer given.
    pub answer: Option<String>,
}

fn text(s: &str, what: &str, max: usize, required: bool) -> Result<String> {
    let t = s.trim();
    if required && t.is_empty() {
        return Err(AppError::invalid("missing_field", format!("请填写{what}")));
    }
    if t.chars().count() > max {
        return Err(AppError::invalid(
            "too_long",
            format!("{what}不能超过 {max} 字"),
        ));
    }
    if t.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(AppError::invalid(
            "invalid_text",
            format!("{what}含有不可见字符"),
        ));
    }
    Ok(t.to_string())
}

fn coordinate(v: Option<f64>, lo: f64, hi: f64) -> Result<Option<i64>> {
    match v {
        None => Ok(None),
        Some(x) if x.is_finite() && (lo..=hi).contains(&x) => Ok(Some((x * 1e6).round() as i64)),
        Some(_) => Err(AppError::invalid(
            "invalid_location",
            "坐标超出范围（WGS84，中国境内）",
        )),
    }
}

async fn unit(app: &App, id: Uuid) -> Result<OrgUnit> {
    crate::units::get(app, id)
        .await?
        .filter(|u| u.active)
        .ok_or(AppError::NotFound("单位"))
}

/// The nearest unit of `kind` at or above `u`.
async fn up_to(app: &App, u: &OrgUnit, kind: OrgKind) -> Result<Option<OrgUnit>> {
    if u.kind == kind {
        return Ok(Some(u.clone()));
    }
    Ok(crate::units::ancestors(app, u)
        .await?
        .into_iter()
        .find(|a| a.kind == kind))
}

/// Where a request lies, as far as intake can tell.
pub struct Located {
    /// The filer's own unit.
    pub home: OrgUnit,
    /// An explicit grid, the patrolling grid worker's own grid, or the grid whose polygon holds
    /// the request's map point.
    pub grid: Option<OrgUnit>,
    /// The grid's community, or without a grid the community the address resolves to.
    pub community: Option<OrgUnit>,
    /// The street (街道/乡镇) of that community, or the one the address resolves to.
    pub street: Option<OrgUnit>,
    /// The district of the most specific of these (the case's tenant by default).
    pub tenant: String,
    /// The grid was found from the map point.
    pub by_point: bool,
}

/// Place a request: the grid given or the filer's own; else the grid whose polygon holds its
/// WGS84 point (`(lat, lng)`, [`crate::registry::grids`]); then the grid's community. Without a
/// grid, the street and community its address resolves to ([`crate::places`]). A grid or unit
/// found from the point or the address counts only within the filer's district (or, for a city
/// centre, anywhere below it).
pub async fn locate(
    app: &App,
    p: &Principal,
    grid_id: Option<Uuid>,
    point: Option<(f64, f64)>,
    address: &str,
) -> Result<Located> {
    let home = unit(app, p.unit_id).await?;
    let reach = up_to(app, &home, OrgKind::District)
        .await?
        .unwrap_or_else(|| home.clone());
    let within = |u: &OrgUnit| u.active && u.path.starts_with(&reach.path);
    let grid = match grid_id {
        Some(g) => {
            let g = unit(app, g).await?;
            if g.kind != OrgKind::Grid {
                return Err(AppError::invalid("not_a_grid", "所选单位不是网格"));
            }
            Some(g)
        }
        None if home.kind == OrgKind::Grid => Some(home.clone()),
        None => match point.and_then(|(lat, lng)| app.grids.locate(lng, lat)) {
            Some(hit) => crate::units::get(app, hit.grid_id)
                .await?
                .filter(|g| g.kind == OrgKind::Grid && within(g)),
            None => None,
        },
    };
    let (mut community, mut street) = (None, None);
    if let Some(g) = &grid {
        community = up_to(app, g, OrgKind::Community).await?;
    } else if let Some(r) = crate::places::resolve(app, address) {
        for (unit, kind, slot) in [
            (&r.community, OrgKind::Community, &mut community),
            (&r.town, OrgKind::Street, &mut street),
        ] {
            if let Some(found) = unit {
                *slot = linli_store::repo::org::get_by_code(&app.db, &found.code)
                    .await?
                    .filter(|u| u.kind == kind && within(u));
            }
        }
    }
    if street.is_none()
        && let Some(c) = &community
    {
        street = crate::units::street_of(app, c).await?;
    }
    let base = grid
        .as_ref()
        .or(community.as_ref())
        .or(street.as_ref())
        .unwrap_or(&home);
    let tenant = tenant_of_path(&base.path);
    let by_point = grid.is_some() && grid_id.is_none() && home.kind != OrgKind::Grid;
    Ok(Located {
        by_point,
        home,
        grid,
        community,
        street,
        tenant,
    })
}

/// File a new case. Returns the case and whether it was new (false: an idempotent repeat).
pub async fn create(app: &App, p: &Principal, n: NewCase) -> Result<(CaseRow, bool)> {
    p.require(Permission::CaseCreate)?;
    let channel = n
        .channel
        .ok_or_else(|| AppError::invalid("missing_field", "请选择来源渠道"))?;
    let request_type = n
        .request_type
        .ok_or_else(|| AppError::invalid("missing_field", "请选择诉求类型"))?;
    let title = text(&n.title, "标题", MAX_TITLE_CHARS, true)?;
    let description = text(&n.description, "诉求内容", MAX_DESCRIPTION_CHARS, true)?;
    let address = text(&n.address, "地址", MAX_ADDRESS_CHARS, false)?;
    let requester_name = text(&n.requester_name, "诉求人姓名", 50, false)?;
    let external_id = match n.external_id.as_deref().map(str::trim) {
        Some(x) if !x.is_empty() => Some(text(x, "外部编号", 100, true)?),
        _ => None,
    };
    let lat = coordinate(n.lat, 3.0, 54.0)?;
    let lng = coordinate(n.lng, 73.0, 136.0)?;
    if lat.is_some() != lng.is_some() {
        return Err(AppError::invalid(
            "invalid_location",
            "经度和纬度须同时填写",
        ));
    }
    let phone = match n.requester_phone.as_deref().map(str::trim) {
        Some(x) if !x.is_empty() => Some(pi::normalize_phone(x)?),
        _ => None,
    };
    if !n.anonymous && phone.is_none() && channel == Channel::Hotline {
        return Err(AppError::invalid(
            "missing_field",
            "请填写诉求人联系电话，或勾选匿名",
        ));
    }
    let answer = match &n.answer {
        Some(_) if request_type != RequestType::Consult => {
            return Err(AppError::invalid(
                "answer_not_consult",
                "只有咨询类诉求可以当场答复办结",
            ));
        }
        Some(a) => Some(text(a, "答复内容", 2000, true)?),
        None => None,
    };

    let Located {
        home,
        grid,
        community,
        street,
        ..
    } = {
        let point = lat.zip(lng).map(|(a, b)| (a as f64 / 1e6, b as f64 / 1e6));
        let at = locate(app, p, n.grid_id, point, &address).await?;
        // A grid found from the point must lie within a receiving unit the filer named (an
        // Open311 key files at its street): else the point is taken as imprecise and the
        // address places the case.
        let outside = match (&at.grid, n.owner_unit_id) {
            (Some(g), Some(o)) if at.by_point => {
                let owner = unit(app, o).await?;
                !g.path.starts_with(&owner.path)
            }
            _ => false,
        };
        if outside {
            locate(app, p, n.grid_id, None, &address).await?
        } else {
            at
        }
    };
    // Who receives it.
    let owner = match n.owner_unit_id {
        Some(o) => unit(app, o).await?,
        None => {
            let base = grid
                .as_ref()
                .or(community.as_ref())
                .or(street.as_ref())
                .unwrap_or(&home);
            let kind = if channel == Channel::Patrol {
                OrgKind::Street
            } else {
                OrgKind::District
            };
            match up_to(app, base, kind).await? {
                Some(u) => u,
                None => up_to(app, base, OrgKind::District).await?.ok_or_else(|| {
                    AppError::invalid("no_owner", "无法确定受理单位，请指定受理单位")
                })?,
            }
        }
    };
    if !matches!(owner.kind, OrgKind::District | OrgKind::Street) {
        return Err(AppError::invalid(
            "bad_owner",
            "受理单位应为区或街道（乡镇）",
        ));
    }
    // The filer must reach the unit it files at: the grid for a patrol report, else the owner.
    let filed_at = grid
        .as_ref()
        .filter(|_| channel == Channel::Patrol)
        .unwrap_or(&owner);
    p.require_on(Permission::CaseCreate, filed_at, "受理单位")?;
    if let Some(g) = &grid
        && !g.path.starts_with(&owner.path)
        && !owner.path.starts_with(&g.path)
    {
        return Err(AppError::invalid(
            "grid_outside_owner",
            "网格不在受理单位辖区内",
        ));
    }
    let tenant = tenant_of_path(&owner.path);
    // A community read from the address counts only inside the receiving district.
    let community = community.filter(|c| tenant_of_path(&c.path) == tenant);
    let cat = match n.category_id {
        Some(id) => Some(
            catalogue::entry(app, &tenant, id)
                .await?
                .filter(|e| e.leaf)
                .ok_or_else(|| AppError::invalid("unknown_category", "派单目录中没有该小类"))?,
        ),
        None => None,
    };
    let urgency = n
        .urgency
        .or(cat.as_ref().map(|c| c.urgency))
        .unwrap_or(Urgency::Normal);

    let now = app.now();
    let number = next_number(app, &tenant, now).await?;
    let id = linli_domain::ids::new_id();
    let (phone_sealed, phone_masked, phone_hash) = match &phone {
        Some(ph) if !n.anonymous => (
            Some(app.keys.seal(pi::CASE_PHONE, id, ph)),
            pi::mask_phone(ph),
            Some(app.keys.index(ph)),
        ),
        _ => (None, String::new(), None),
    };
    let row = CaseRow {
        tenant: tenant.clone(),
        id,
        number,
        channel,
        external_id: external_id.clone(),
        title,
        description,
        category_id: cat.as_ref().map(|c| c.id),
        category_code: cat.as_ref().map(|c| c.code.clone()).unwrap_or_default(),
        category_name: cat
            .as_ref()
            .map(|c| c.full_name.clone())
            .unwrap_or_default(),
        catalogue_version: cat.as_ref().map(|c| c.version),
        address,
        lat_e6: lat,
        lng_e6: lng,
        grid_id: grid.as_ref().map(|g| g.id),
        community_id: community.as_ref().map(|c| c.id),
        requester_name: if n.anonymous {
            String::new()
        } else {
            requester_name
        },
        requester_phone: phone_sealed,
        phone_masked,
        phone_hash,
        owner_id: owner.id,
        owner_path: owner.path.clone(),
        handler_path: None,
        whistle_open: false,
        created_by: Some(p.user_id),
        received_at: now,
        created_at: now,
        updated_at: now,
        version: 1,
        life: Lifecycle::received(request_type, urgency, n.anonymous),
    };
    let mut parties = vec![(owner.id, "owner", owner.path.clone())];
    if let Some(g) = &grid {
        parties.push((g.id, "grid", g.path.clone()));
    }
    if let Some(c) = &community {
        parties.push((c.id, "community", c.path.clone()));
    }
    let terms = crate::search::terms(&app.search.segmenter(), &row, &[]);
    let filing = Filing {
        terms,
        event: TimelineEvent {
            tenant: tenant.clone(),
            case_id: id,
            seq: 1,
            at: now,
            action: "receive".into(),
            from_state: String::new(),
            to_state: CaseState::Pending.key().into(),
            actor_id: Some(p.user_id),
            actor_name: p.display_name.clone(),
            actor_unit: Some(p.unit_id),
            note: String::new(),
            data: serde_json::json!({"channel": channel.key()}).to_string(),
        },
        audit: audit::entry(
            now,
            actor(p, &tenant, id),
            Event::ok("case.create", "case", id).detail(serde_json::json!({
                "number": row.number, "channel": channel.key(), "owner": owner.code,
            })),
        ),
        parties,
        row,
    };
    let Some(answer) = answer else {
        let filed = app.filer.file(app, filing).await;
        app.counts.forget(p.user_id);
        return filed;
    };
    // A consultation answered on the spot is filed and disposed of in one transaction.
    let cal = calendar::current(app).await?;
    let filed = write_tx!(app, |tx| {
        let (row, new) = filer::write_filings(&mut tx, &[&filing]).await?.remove(0);
        if !new {
            (row, false)
        } else {
            let cmd = Command::Dispose {
                disposition: Disposition::Answered,
                duplicate_of: None,
                note: answer.clone(),
            };
            let (life, change) = row.life.apply(&cmd, now, &cal)?;
            let out = step(
                &mut tx,
                p,
                &row,
                life,
                &change,
                &cmd,
                now,
                &[],
                &HashMap::new(),
            )
            .await?;
            (out, true)
        }
    });
    app.counts.forget(p.user_id);
    filed
}

/// Audit chains per district are split into this many for case events (ADR 0003): a district
/// files thousands of cases a minute, and one chain would make every intake wait for the
/// previous one's commit on PostgreSQL.
pub const CASE_AUDIT_CHAINS: u128 = 16;

/// The audit chain of a case's events: one of its district's case chains, fixed per case, so a
/// case's audit history is one ordered run of links (`110101.c07`).
pub fn audit_chain(tenant: &str, case_id: Uuid) -> String {
    format!("{tenant}.c{:02}", case_id.as_u128() % CASE_AUDIT_CHAINS)
}

fn actor<'a>(p: &'a Principal, tenant: &str, case_id: Uuid) -> Actor<'a> {
    let mut a: Actor<'a> = p.into();
    a.chain = audit_chain(tenant, case_id);
    a
}

/// Write one accepted transition through [`commit`], then link the attachments it carries.
#[allow(clippy::too_many_arguments)]
async fn step(
    tx: &mut Tx,
    p: &Principal,
    before: &CaseRow,
    life: Lifecycle,
    change: &Change,
    cmd: &Command,
    now: Ts,
    attachments: &[Uuid],
    units: &HashMap<Uuid, OrgUnit>,
) -> Result<CaseRow> {
    let landing = prepare(before, life, change, cmd, attachments, units)?;
    let after = commit(tx, p, landing, now).await?;
    crate::attachments::link(tx, &before.tenant, attachments, before.id, after.version).await?;
    Ok(after)
}

/// What an accepted transition writes: the handler's path, the units a dispatch names as
/// parties, the notices the rules raise, and the timeline record.
fn prepare<'a>(
    before: &'a CaseRow,
    life: Lifecycle,
    change: &Change,
    cmd: &'a Command,
    attachments: &[Uuid],
    units: &'a HashMap<Uuid, OrgUnit>,
) -> Result<Landing<'a>> {
    let mut after = before.clone();
    if life.handler != before.life.handler {
        after.handler_path = match life.handler {
            Some(h) => Some(
                units
                    .get(&h)
                    .map(|u| u.path.clone())
                    .ok_or_else(|| AppError::Internal("handler unit not resolved".into()))?,
            ),
            None => None,
        };
    }
    after.life = life;
    // Parties: whoever a dispatch names gains sight of the case (and keeps it afterwards).
    let mut parties = Vec::new();
    if matches!(cmd, Command::Dispatch(_) | Command::Review { .. }) {
        let l = &after.life;
        let named = l
            .handler
            .iter()
            .map(|h| (*h, "handler"))
            .chain(l.co_handlers.iter().map(|c| (*c, "co_handler")))
            .chain(l.copy_to.iter().map(|c| (*c, "copy")));
        for (uid, role) in named {
            if let Some(u) = units.get(&uid) {
                parties.push((uid, role, u.path.as_str()));
            }
        }
    }
    let mut notices = Vec::new();
    for (kind, to) in &change.notices {
        let (unit_id, unit_path) = match to {
            Recipient::Owner => (before.owner_id, before.owner_path.clone()),
            Recipient::Unit(u) => match units.get(u) {
                Some(x) => (x.id, x.path.clone()),
                None if Some(*u) == before.life.handler => {
                    (*u, before.handler_path.clone().unwrap_or_default())
                }
                None => continue,
            },
        };
        notices.push(NoticeTo {
            kind: kind.key(),
            label: kind.label(),
            unit_id,
            unit_path,
        });
    }
    Ok(Landing {
        before,
        after,
        rec: Record {
            action: change.action.key(),
            to: change.to,
            note: cmd.note(),
            data: step_data(cmd, attachments, units),
        },
        parties,
        notices,
    })
}

/// What a step puts on the timeline.
pub(crate) struct Record<'a> {
    /// The timeline action key (an [`Action`] key or a 吹哨报到 step); the audit action is
    /// `case.<key>`.
    pub action: &'a str,
    pub to: CaseState,
    pub note: &'a str,
    pub data: serde_json::Value,
}

/// A notice to one unit.
#[derive(Clone)]
pub(crate) struct NoticeTo {
    pub kind: &'static str,
    pub label: &'static str,
    pub unit_id: Uuid,
    pub unit_path: String,
}

/// A step ready to land on its case ([`commit_many`]).
pub(crate) struct Landing<'a> {
    pub before: &'a CaseRow,
    /// `before` plus the step's changes; landing sets its version and time.
    pub after: CaseRow,
    pub rec: Record<'a>,
    /// `(unit, role, unit path)` of the units the step names.
    pub parties: Vec<(Uuid, &'a str, &'a str)>,
    pub notices: Vec<NoticeTo>,
}

/// The one way any step lands on a case, in `tx`: [`commit_many`] with one step, stale if the
/// case moved meanwhile.
async fn commit(tx: &mut Tx, p: &Principal, landing: Landing<'_>, now: Ts) -> Result<CaseRow> {
    commit_many(tx, p, vec![landing], now)
        .await?
        .pop()
        .flatten()
        .ok_or(AppError::Stale)
}

/// Land steps on their cases in `tx`: each `after` is written with the next version (a case
/// that moved since its `before` was read is left alone and answers `None`), then, for the
/// steps that landed, their parties, timeline rows, outbox events, notices and audit rows
/// (`case.<action>`), each table in one multi-row statement.
async fn commit_many(
    tx: &mut Tx,
    p: &Principal,
    steps: Vec<Landing<'_>>,
    now: Ts,
) -> Result<Vec<Option<CaseRow>>> {
    let mut tried = Vec::with_capacity(steps.len());
    for mut s in steps {
        s.after.version = s.before.version + 1;
        s.after.updated_at = now;
        let landed = repo::update(tx, &s.after).await?;
        tried.push((s, landed));
    }
    let landed: Vec<&Landing<'_>> = tried.iter().filter(|t| t.1).map(|t| &t.0).collect();
    if landed.is_empty() {
        return Ok(tried.into_iter().map(|_| None).collect());
    }
    let parties: Vec<repo::NewParty<'_>> = landed
        .iter()
        .flat_map(|s| {
            s.parties
                .iter()
                .map(|&(unit_id, role, unit_path)| repo::NewParty {
                    tenant: &s.before.tenant,
                    case_id: s.before.id,
                    unit_id,
                    role,
                    unit_path,
                    since: now,
                })
        })
        .collect();
    repo::add_parties_many(tx, &parties).await?;
    let events: Vec<TimelineEvent> = landed
        .iter()
        .map(|s| TimelineEvent {
            tenant: s.before.tenant.clone(),
            case_id: s.before.id,
            seq: s.after.version,
            at: now,
            action: s.rec.action.into(),
            from_state: s.before.life.state.key().into(),
            to_state: s.rec.to.key().into(),
            actor_id: (!p.user_id.is_nil()).then_some(p.user_id),
            actor_name: p.display_name.clone(),
            actor_unit: Some(p.unit_id),
            note: s.rec.note.trim().to_string(),
            data: s.rec.data.to_string(),
        })
        .collect();
    repo::insert_events(tx, &events.iter().collect::<Vec<_>>()).await?;
    let outbox: Vec<crate::notify::CaseEvent<'_>> = landed
        .iter()
        .map(|s| crate::notify::CaseEvent {
            case: &s.after,
            action: s.rec.action,
            to: s.rec.to,
        })
        .collect();
    crate::notify::enqueue(tx, &outbox, now).await?;
    let notices: Vec<repo::Notice> = landed
        .iter()
        .flat_map(|s| {
            s.notices.iter().map(|n| repo::Notice {
                tenant: s.before.tenant.clone(),
                id: linli_domain::ids::new_id(),
                case_id: s.before.id,
                kind: n.kind.into(),
                unit_id: n.unit_id,
                unit_path: n.unit_path.clone(),
                title: format!("{}：{} {}", n.label, s.after.number, s.after.title),
                created_at: now,
                read_at: None,
            })
        })
        .collect();
    repo::insert_notices(tx, &notices.iter().collect::<Vec<_>>()).await?;
    let entries = landed
        .iter()
        .map(|s| {
            let audit_action = format!("case.{}", s.rec.action);
            audit::entry(
                now,
                actor(p, &s.before.tenant, s.before.id),
                Event::ok(&audit_action, "case", s.before.id).detail(serde_json::json!({
                    "number": s.after.number, "from": s.before.life.state.key(), "to": s.rec.to.key(),
                    "version": s.after.version,
                })),
            )
        })
        .collect();
    linli_store::repo::audit::append_many(tx, entries).await?;
    Ok(tried
        .into_iter()
        .map(|(s, landed)| landed.then_some(s.after))
        .collect())
}

fn step_data(
    cmd: &Command,
    attachments: &[Uuid],
    units: &HashMap<Uuid, OrgUnit>,
) -> serde_json::Value {
    let name = |id: &Uuid| units.get(id).map(|u| u.name.clone()).unwrap_or_default();
    let assignment = |a: &Assignment| {
        serde_json::json!({
            "unit": a.unit, "unit_name": name(&a.unit),
            "co_handlers": a.co_handlers.iter().map(|c| serde_json::json!({"id": c, "name": name(c)})).collect::<Vec<_>>(),
            "copy_to": a.street_district, "copy_to_name": a.street_district.as_ref().map(name),
            "limits": {"sign": a.limits.sign.to_string(), "contact": a.limits.contact.to_string(), "complete": a.limits.complete.to_string()},
        })
    };
    let mut v = match cmd {
        Command::Register { urgency } => serde_json::json!({"urgency": urgency.map(|u| u.key())}),
        Command::Dispose {
            disposition,
            duplicate_of,
            ..
        } => serde_json::json!({"disposition": disposition.key(), "duplicate_of": duplicate_of}),
        Command::Dispatch(a) => assignment(a),
        Command::Object { ground, .. } => serde_json::json!({"ground": ground.key()}),
        Command::Review {
            accept, redispatch, ..
        } => {
            serde_json::json!({"accept": accept, "redispatch": redispatch.as_ref().map(assignment)})
        }
        Command::Extend { days, .. } => serde_json::json!({"days": days}),
        Command::DecideExtension { approve, .. } => serde_json::json!({"approve": approve}),
        Command::Verify { passed, .. } => serde_json::json!({"passed": passed}),
        Command::Visit {
            resolved,
            satisfaction,
            ..
        } => serde_json::json!({"resolved": resolved, "satisfaction": satisfaction.key()}),
        _ => serde_json::json!({}),
    };
    if !attachments.is_empty()
        && let Some(o) = v.as_object_mut()
    {
        o.insert("attachments".into(), serde_json::json!(attachments));
    }
    v
}

/// Whether the principal may see the case with `perm` (through any party, or as its creator
/// under an `own` scope).
fn sees(p: &Principal, c: &CaseRow, parties: &[repo::Party], perm: Permission) -> bool {
    let reaches = |unit_id: Uuid, unit_path: &str| {
        p.authz.allows(
            perm,
            Target {
                unit_id,
                unit_path,
                owner: c.created_by,
            },
        )
    };
    reaches(c.owner_id, &c.owner_path) || parties.iter().any(|x| reaches(x.unit_id, &x.unit_path))
}

/// A case the principal may read, with the units that have a stake in it (loaded once; every
/// rule about who may do what is decided from these two).
pub struct Visible {
    pub case: CaseRow,
    pub parties: Vec<repo::Party>,
}

impl Visible {
    /// The steps this principal may take on the case now.
    pub fn actions(&self, p: &Principal) -> Vec<Action> {
        self.case
            .life
            .admissible()
            .into_iter()
            .filter(|a| may(p, &self.case, &self.parties, *a))
            .collect()
    }
}

async fn visible(app: &App, p: &Principal, c: Option<CaseRow>) -> Result<Visible> {
    p.require(Permission::CaseRead)?;
    let c = c.ok_or(AppError::NotFound("工单"))?;
    let parties = repo::parties(&app.db, &c.tenant, c.id).await?;
    if sees(p, &c, &parties, Permission::CaseRead) {
        Ok(Visible { case: c, parties })
    } else {
        Err(AppError::NotFound("工单"))
    }
}

/// A case the principal may read; anything else is "not found".
pub async fn open(app: &App, p: &Principal, id: Uuid) -> Result<Visible> {
    p.require(Permission::CaseRead)?;
    visible(app, p, repo::locate(&app.db, id).await?).await
}

pub async fn get(app: &App, p: &Principal, id: Uuid) -> Result<CaseRow> {
    Ok(open(app, p, id).await?.case)
}

pub async fn by_number(app: &App, p: &Principal, number: &str) -> Result<CaseRow> {
    p.require(Permission::CaseRead)?;
    let c = repo::by_number(&app.db, number.trim()).await?;
    Ok(visible(app, p, c).await?.case)
}

/// Whether the principal may take `action` on the case as it stands (state aside).
fn may(p: &Principal, c: &CaseRow, parties: &[repo::Party], action: Action) -> bool {
    let (perm, party) = action.rule();
    let at = |id: Uuid, path: &str| {
        p.authz.allows(
            perm,
            Target {
                unit_id: id,
                unit_path: path,
                owner: None,
            },
        )
    };
    match party {
        Party::Owner => at(c.owner_id, &c.owner_path),
        Party::Handler => match (c.life.handler, &c.handler_path) {
            (Some(h), Some(path)) => at(h, path),
            _ => false,
        },
        Party::Verifier => {
            at(c.owner_id, &c.owner_path)
                || parties
                    .iter()
                    .any(|x| x.role == "grid" && at(x.unit_id, &x.unit_path))
        }
        Party::Any => sees(p, c, parties, perm),
        Party::System => false,
    }
}

/// Everything the case page shows, each read once.
pub struct Detail {
    pub visible: Visible,
    pub actions: Vec<Action>,
    pub timeline: Vec<TimelineEvent>,
    pub notices: Vec<repo::Notice>,
}

pub async fn detail(app: &App, p: &Principal, id: Uuid) -> Result<Detail> {
    let v = open(app, p, id).await?;
    let (tenant, case_id) = (v.case.tenant.clone(), v.case.id);
    Ok(Detail {
        actions: v.actions(p),
        timeline: repo::events(&app.db, &tenant, case_id).await?,
        notices: repo::notices_for_case(&app.db, &tenant, case_id).await?,
        visible: v,
    })
}

/// One step as a person asks for it (the API body of `POST /cases/{id}/{action}`).
#[derive(Debug, Clone, Default)]
pub struct StepInput {
    /// The case version the person saw; a step on an older version is refused as stale.
    pub version: i64,
    pub note: String,
    pub urgency: Option<Urgency>,
    pub category_id: Option<Uuid>,
    pub disposition: Option<Disposition>,
    pub duplicate_of: Option<Uuid>,
    pub unit_id: Option<Uuid>,
    pub co_handlers: Vec<Uuid>,
    pub ground: Option<ObjectionGround>,
    pub accept: Option<bool>,
    pub approve: Option<bool>,
    pub passed: Option<bool>,
    pub resolved: Option<bool>,
    pub satisfaction: Option<Satisfaction>,
    pub days: Option<u32>,
    pub attachments: Vec<Uuid>,
}

fn need<T>(v: Option<T>, what: &str) -> Result<T> {
    v.ok_or_else(|| AppError::invalid("missing_field", format!("请填写{what}")))
}

/// Resolve a dispatch target: the unit, its co-handlers, the district a street dispatch is
/// copied to, and the limits from the case's catalogue entry.
async fn assignment(
    app: &App,
    c: &CaseRow,
    unit_id: Option<Uuid>,
    co: &[Uuid],
    units: &mut HashMap<Uuid, OrgUnit>,
) -> Result<Assignment> {
    let u = unit(app, need(unit_id, "承办单位")?).await?;
    if !matches!(
        u.kind,
        OrgKind::District | OrgKind::Street | OrgKind::Community | OrgKind::Department
    ) {
        return Err(AppError::invalid(
            "bad_handler",
            "承办单位应为区、街道（乡镇）、社区或职能部门",
        ));
    }
    let entry = match c.category_id {
        Some(id) => catalogue::entry(app, &c.tenant, id).await?,
        None => None,
    };
    if u.kind == OrgKind::Community && !entry.as_ref().is_some_and(|e| e.community_may) {
        // 接诉即办条例 Art. 17: matters outside the community duty list are not pushed down.
        return Err(AppError::invalid(
            "community_not_allowed",
            "该类事项不在社区职责清单内，不能派给社区承办",
        ));
    }
    let street_district = if u.kind == OrgKind::Street {
        match up_to(app, &u, OrgKind::District).await? {
            Some(d) => {
                let id = d.id;
                units.insert(d.id, d);
                Some(id)
            }
            None => None,
        }
    } else {
        None
    };
    // Units of another district never take a district's cases (their people would not find
    // them); units above district level (city departments) may.
    let foreign =
        |x: &OrgUnit| linli_domain::org::depth(&x.path) >= 3 && tenant_of_path(&x.path) != c.tenant;
    if foreign(&u) {
        return Err(AppError::invalid(
            "unit_outside_district",
            "承办单位不属于本区",
        ));
    }
    for id in co {
        let cu = unit(app, *id).await?;
        if foreign(&cu) {
            return Err(AppError::invalid(
                "unit_outside_district",
                "协办单位不属于本区",
            ));
        }
        units.insert(cu.id, cu);
    }
    let limits = match &entry {
        Some(e) => e.limits(c.life.request_type, c.life.urgency),
        None => linli_domain::case::Limits::default_for(c.life.request_type, c.life.urgency),
    };
    let a = Assignment {
        unit: u.id,
        street_district,
        co_handlers: co.to_vec(),
        limits,
    };
    units.insert(u.id, u);
    Ok(a)
}

/// Take one step on a case.
pub async fn act(
    app: &App,
    p: &Principal,
    id: Uuid,
    action: Action,
    input: StepInput,
) -> Result<CaseRow> {
    // The sweeper's steps name no party a person can hold, so `may` refuses them here.
    let Visible {
        case: mut c,
        parties,
    } = open(app, p, id).await?;
    if !may(p, &c, &parties, action) {
        return Err(AppError::Forbidden);
    }
    if input.version != c.version {
        return Err(AppError::Stale);
    }
    let mut units: HashMap<Uuid, OrgUnit> = HashMap::new();
    let note = input.note.clone();
    // 立案 may also (re)classify the case against the catalogue.
    let mut recategorized = None;
    let cmd = match action {
        Action::Register => {
            if let Some(cat) = input.category_id {
                let e = catalogue::entry(app, &c.tenant, cat)
                    .await?
                    .filter(|e| e.leaf)
                    .ok_or_else(|| AppError::invalid("unknown_category", "派单目录中没有该小类"))?;
                recategorized = Some(e);
            }
            Command::Register {
                urgency: input.urgency,
            }
        }
        Action::Dispose => {
            let duplicate_of = match input.duplicate_of {
                Some(d) => {
                    let orig = get(app, p, d).await?;
                    crate::duplicates::check_original(&c, &orig)?;
                    Some(orig.id)
                }
                None => None,
            };
            Command::Dispose {
                disposition: need(input.disposition, "处置方式")?,
                duplicate_of,
                note,
            }
        }
        Action::Consult => Command::Consult { note },
        Action::ConsultDone => Command::ConsultDone { note },
        Action::Dispatch => Command::Dispatch(
            assignment(app, &c, input.unit_id, &input.co_handlers, &mut units).await?,
        ),
        Action::Sign => Command::Sign,
        Action::Object => Command::Object {
            ground: need(input.ground, "退单理由类型")?,
            reason: note,
        },
        Action::Review => {
            let accept = need(input.accept, "审核结论")?;
            let redispatch = match (accept, input.unit_id) {
                (true, Some(_)) => {
                    Some(assignment(app, &c, input.unit_id, &input.co_handlers, &mut units).await?)
                }
                (false, Some(_)) => {
                    return Err(AppError::invalid(
                        "redispatch_unexpected",
                        "驳回退单时不能改派",
                    ));
                }
                _ => None,
            };
            Command::Review {
                accept,
                redispatch,
                note,
            }
        }
        Action::Contact => Command::Contact { note },
        Action::Pause => Command::Pause { reason: note },
        Action::Resume => Command::Resume,
        Action::Extend => Command::Extend {
            days: need(input.days, "延期天数")?,
            reason: note,
        },
        Action::DecideExtension => Command::DecideExtension {
            approve: need(input.approve, "审批结论")?,
            note,
        },
        Action::Reply => Command::Reply { result: note },
        Action::Verify => Command::Verify {
            passed: need(input.passed, "核实结论")?,
            note,
        },
        Action::Visit => Command::Visit {
            resolved: need(input.resolved, "是否解决")?,
            satisfaction: need(input.satisfaction, "满意度")?,
            note,
        },
        Action::Reopen => Command::Reopen { reason: note },
        Action::Supervise => Command::Supervise { note },
        Action::Note => Command::Note { text: note },
        Action::Warn | Action::Overdue => return Err(AppError::Forbidden),
    };
    if let Some(e) = &recategorized {
        c.category_id = Some(e.id);
        c.category_code = e.code.clone();
        c.category_name = e.full_name.clone();
        c.catalogue_version = Some(e.version);
    }
    let cal = calendar::current(app).await?;
    let now = app.now();
    let atts = input.attachments.clone();
    let seg = app.search.segmenter();
    let done = write_tx!(app, |tx| {
        let current = repo::get_tx(&mut tx, &c.tenant, c.id)
            .await?
            .ok_or(AppError::NotFound("工单"))?;
        if current.version != input.version {
            return Err(AppError::Stale);
        }
        let mut base = current.clone();
        if recategorized.is_some() {
            base.category_id = c.category_id;
            base.category_code = c.category_code.clone();
            base.category_name = c.category_name.clone();
            base.catalogue_version = c.catalogue_version;
            if !repo::set_category(&mut tx, &base).await? {
                return Err(AppError::Stale);
            }
        }
        let (life, change) = base.life.apply(&cmd, now, &cal)?;
        let out = step(&mut tx, p, &base, life, &change, &cmd, now, &atts, &units).await?;
        // What the index holds changed: a reply's text, or the category.
        if action == Action::Reply || recategorized.is_some() {
            crate::search::reindex_tx(&mut tx, &seg, &out).await?;
        }
        out
    });
    app.counts.forget(p.user_id);
    done
}

/// The alarm due on a case by `now`, if any: one step raises whatever is due (`Overdue` also
/// marks a warning never raised).
fn due_alarm(c: &CaseRow, now: Ts) -> Option<Command> {
    match c.life.next_alarm() {
        Some(t) if t <= now => Some(if c.life.due_at.is_some_and(|d| d <= now) {
            Command::Overdue
        } else {
            Command::Warn
        }),
        _ => None,
    }
}

/// The sweeper's step on each of `cases`, in one transaction: raise whatever alarm is due,
/// exactly once (the version check and the alarm marks make a second server's attempt, or a
/// case a person moved since it was read, a no-op). Returns the alarms raised.
async fn alarms(
    app: &App,
    sys: &Principal,
    cases: &[CaseRow],
    cal: &linli_domain::calendar::WorkCalendar,
    now: Ts,
) -> Result<usize> {
    let mut plans = Vec::new();
    for c in cases {
        if let Some(cmd) = due_alarm(c, now)
            && let Ok((life, change)) = c.life.apply(&cmd, now, cal)
        {
            plans.push((c, cmd, life, change));
        }
    }
    if plans.is_empty() {
        return Ok(0);
    }
    let units = HashMap::new();
    write_tx!(app, |tx| {
        let mut steps = Vec::with_capacity(plans.len());
        for (c, cmd, life, change) in &plans {
            steps.push(prepare(c, life.clone(), change, cmd, &[], &units)?);
        }
        let landed = commit_many(&mut tx, sys, steps, now).await?;
        landed.iter().filter(|r| r.is_some()).count()
    })
}

/// Alarms a sweeper transaction writes: a backlog is landed in multi-row statements rather
/// than a transaction per case, while a transaction stays short enough not to hold up intake
/// (SQLite has one writer).
pub const SWEEP_TX: usize = 100;

/// Sweeper transactions in flight at once: a couple keep PostgreSQL busy while each waits on
/// its round trips (SQLite's writer gate still commits them one at a time).
pub const SWEEP_PARALLEL: usize = 2;

/// One sweeper pass: every case whose alarm is due, in batches.
pub async fn sweep(app: &App, sys: &Principal, batch: i64) -> Result<usize> {
    use futures::{StreamExt, TryStreamExt};
    let cal = calendar::current(app).await?;
    let mut raised = 0;
    loop {
        let now = app.now();
        let due = repo::due_alarms(&app.db, now, batch).await?;
        let n = due.len();
        let chunks: Vec<Vec<CaseRow>> = due.chunks(SWEEP_TX).map(<[CaseRow]>::to_vec).collect();
        let cal = &cal;
        let done: Vec<usize> = futures::stream::iter(chunks)
            .map(|chunk| async move { alarms(app, sys, &chunk, cal, now).await })
            .buffer_unordered(SWEEP_PARALLEL)
            .try_collect()
            .await?;
        let progressed: usize = done.iter().sum();
        raised += progressed;
        if (n as i64) < batch || progressed == 0 {
            return Ok(raised);
        }
    }
}

pub async fn notices_of(app: &App, p: &Principal, id: Uuid) -> Result<Vec<repo::Notice>> {
    let c = get(app, p, id).await?;
    Ok(repo::notices_for_case(&app.db, &c.tenant, c.id).await?)
}

/// The requester's full contact, for holders of `case.personal` over the receiving unit; each
/// reveal is audited.
pub async fn requester(app: &App, p: &Principal, id: Uuid) -> Result<(String, Option<String>)> {
    let c = get(app, p, id).await?;
    let owner = Target {
        unit_id: c.owner_id,
        unit_path: &c.owner_path,
        owner: None,
    };
    if !p.authz.allows(Permission::CasePersonal, owner) {
        return Err(AppError::Forbidden);
    }
    let phone = match &c.requester_phone {
        Some(b) => Some(app.keys.open(pi::CASE_PHONE, c.id, b)?),
        None => None,
    };
    let now = app.now();
    write_tx!(app, |tx| {
        record(
            &mut tx,
            now,
            actor(p, &c.tenant, c.id),
            Event::ok("case.reveal_requester", "case", c.id)
                .detail(serde_json::json!({"number": c.number})),
        )
        .await?;
    })?;
    Ok((c.requester_name.clone(), phone))
}

linli_domain::keyed! {
    /// A named queue of the workbench.
    Queue {
        Pending = "pending", "待立案";
        ToDispatch = "to_dispatch", "待派遣";
        ToSign = "to_sign", "待签收";
        Handling = "handling", "办理中";
        ToVerify = "to_verify", "待核实";
        ToVisit = "to_visit", "待回访";
        Warning = "warning", "即将超期";
        Overdue = "overdue", "已超期";
        Whistle = "whistle", "吹哨中";
        All = "all", "全部";
    }
}

/// Most a queue count counts: past it the tab says "999+" rather than scan further.
pub const QUEUE_COUNT_CAP: i64 = 1000;

/// How long a reader's tab counts are reused. They are badges, not figures: counting a
/// street's queues at a million cases takes a second or more, and a dispatcher paging through a
/// queue should not pay for it on every page.
pub const QUEUE_COUNT_TTL_SECS: i64 = 15;

/// Recent tab counts per reader and filter set ([`queue_counts`]). A reader's own steps drop
/// their counts, so the badges follow what they just did; others' steps show within the TTL.
#[derive(Default)]
pub struct CountCache {
    map: Mutex<HashMap<Uuid, HashMap<String, Counted>>>,
}

/// When a reader's counts were taken, and the counts.
type Counted = (Ts, Vec<(Queue, i64)>);

impl CountCache {
    /// Forget every reader's counts (benchmarks measure counting from cold).
    pub fn clear(&self) {
        if let Ok(mut g) = self.map.lock() {
            g.clear();
        }
    }

    /// Forget the counts of the reader who just changed a case.
    pub fn forget(&self, user: Uuid) {
        if let Ok(mut g) = self.map.lock() {
            g.remove(&user);
        }
    }
}

/// Readers past whom the cache is emptied rather than grown.
const COUNT_CACHE_MAX: usize = 10_000;

/// What a reader's counts depend on: its scope and the filters (not the queue, paging or time,
/// which every count sets for itself).
fn count_key(f: &ScopeFilter, base: &repo::ListQuery) -> String {
    let q = repo::ListQuery {
        states: Vec::new(),
        clock: None,
        whistle_open: false,
        before: None,
        limit: 0,
        now: Ts(0),
        ..base.clone()
    };
    format!("{f:?}|{q:?}")
}

/// The caller's tab counts if they were counted in the last [`QUEUE_COUNT_TTL_SECS`] (the
/// console then shows them at once; otherwise it asks for them after the page is up).
pub fn cached_queue_counts(
    app: &App,
    p: &Principal,
    base: &repo::ListQuery,
) -> Option<Vec<(Queue, i64)>> {
    let f: ScopeFilter = p.authz.filter(Permission::CaseRead);
    let key = count_key(&f, base);
    let now = app.now();
    let g = app.counts.map.lock().ok()?;
    g.get(&p.user_id)?
        .get(&key)
        .filter(|(at, _)| now.0 - at.0 < QUEUE_COUNT_TTL_SECS * 1_000_000)
        .map(|(_, c)| c.clone())
}

/// How many cases each queue (all but [`Queue::All`]) holds for the caller under the filters of
/// `base` (its queue, paging and limit ignored), each counted up to [`QUEUE_COUNT_CAP`]; the
/// queues are counted side by side, and the result is kept for [`QUEUE_COUNT_TTL_SECS`].
pub async fn queue_counts(
    app: &App,
    p: &Principal,
    base: &repo::ListQuery,
) -> Result<Vec<(Queue, i64)>> {
    p.require(Permission::CaseRead)?;
    if let Some(c) = cached_queue_counts(app, p, base) {
        return Ok(c);
    }
    let f: ScopeFilter = p.authz.filter(Permission::CaseRead);
    let now = app.now();
    let queues: Vec<Queue> = Queue::ALL
        .iter()
        .copied()
        .filter(|q| *q != Queue::All)
        .collect();
    // The words are cut once for all the queues.
    let mut searched = base.clone();
    text_filter(app, &mut searched).await?;
    let counts = futures::future::try_join_all(queues.iter().map(|queue| {
        let mut q = repo::ListQuery {
            states: Vec::new(),
            clock: None,
            whistle_open: false,
            before: None,
            now,
            tenants: tenants_reached(p),
            via_parties: units_below_district(p),
            ..searched.clone()
        };
        queue.apply(&mut q);
        let f = &f;
        async move { repo::count(&app.db, f, &q, QUEUE_COUNT_CAP).await }
    }))
    .await?;
    let out: Vec<(Queue, i64)> = queues.into_iter().zip(counts).collect();
    if let Ok(mut g) = app.counts.map.lock() {
        if g.len() >= COUNT_CACHE_MAX {
            g.clear();
        }
        g.entry(p.user_id)
            .or_default()
            .insert(count_key(&f, base), (now, out.clone()));
    }
    Ok(out)
}

impl Queue {
    /// Fill the query's state and clock filters for this queue.
    pub fn apply(self, q: &mut repo::ListQuery) {
        use CaseState as S;
        match self {
            Queue::Pending => q.states = vec![S::Pending],
            Queue::ToDispatch => q.states = vec![S::Registered, S::Consulting, S::Objected],
            Queue::ToSign => q.states = vec![S::Dispatched],
            Queue::Handling => q.states = vec![S::Handling],
            Queue::ToVerify => q.states = vec![S::Replied],
            Queue::ToVisit => q.states = vec![S::Closed],
            Queue::Warning => q.clock = Some(ClockFilter::Warning),
            Queue::Overdue => q.clock = Some(ClockFilter::Overdue),
            Queue::Whistle => q.whistle_open = true,
            Queue::All => {}
        }
    }
}

/// A list's free text: a case number (or a piece of one) is matched on the number; words go to
/// the full-text index ([`crate::search`]; the list reads its matches newest first, a time
/// window at a time: [`repo::SearchPlan::Windows`]). Text with nothing searchable in it (only
/// function words, punctuation) falls back to "number, title or address contains".
pub async fn text_filter(app: &App, q: &mut repo::ListQuery) -> Result<()> {
    let Some(text) = q.q.as_deref() else {
        return Ok(());
    };
    if crate::search::is_number_like(text) {
        return Ok(());
    }
    let groups = crate::search::query(app, text);
    if !groups.is_empty() {
        q.search = groups;
        q.q = None;
    }
    Ok(())
}

/// Cases the principal can read that match the query, newest first.
pub async fn list(app: &App, p: &Principal, q: &repo::ListQuery) -> Result<Vec<CaseRow>> {
    p.require(Permission::CaseRead)?;
    let mut q = q.clone();
    text_filter(app, &mut q).await?;
    q.limit = q.limit.clamp(1, 201);
    q.now = app.now();
    let f: ScopeFilter = p.authz.filter(Permission::CaseRead);
    q.tenants = tenants_reached(p);
    q.via_parties = units_below_district(p);
    Ok(repo::list(&app.db, &f, &q).await?)
}

/// Whether every case grant is held below the district (depth ≥ 4: a street, a department, a
/// community, a grid). Where such grants are on single units (not subtrees), the store finds
/// the list through the parties index unit by unit, newest first ([`repo::list`]): a unit holds
/// a few percent of its district's cases, so walking its own cases and testing each one's state
/// stops sooner than walking the district's newest cases in a state and testing each one's
/// parties. Subtree grants are tested case by case as before.
fn units_below_district(p: &Principal) -> bool {
    let mut any = false;
    for g in p
        .authz
        .grants
        .iter()
        .filter(|g| g.permissions.contains(&Permission::CaseRead))
    {
        if linli_domain::org::depth(&g.unit_path) < 4 {
            return false;
        }
        any = true;
    }
    any
}

/// The tenants (districts) the caller's case grants lie in, when every grant is at district
/// level or below; empty (no narrowing) for city- or province-wide grants. Cases belong to the
/// district that received them, and a district's units only ever handle its own district's
/// cases or are reached through a grant at or above it.
fn tenants_reached(p: &Principal) -> Vec<String> {
    let mut out = Vec::new();
    for g in p
        .authz
        .grants
        .iter()
        .filter(|g| g.permissions.contains(&Permission::CaseRead))
    {
        if linli_domain::org::depth(&g.unit_path) < 3 {
            return Vec::new();
        }
        out.push(tenant_of_path(&g.unit_path));
    }
    out.sort();
    out.dedup();
    out
}

/// Earlier cases from the same phone number (the hotline operator's "history of this caller").
pub async fn by_phone(app: &App, p: &Principal, phone: &str, limit: i64) -> Result<Vec<CaseRow>> {
    p.require(Permission::CaseRead)?;
    let digits = pi::normalize_phone(phone)?;
    let q = repo::ListQuery {
        phone_hash: Some(app.keys.index(&digits)),
        limit,
        ..Default::default()
    };
    list(app, p, &q).await
}

/// A context for the sweeper's audit rows.
pub fn sweeper_ctx() -> Ctx {
    Ctx {
        request_id: format!("sweeper-{}", linli_domain::ids::new_id()),
        ip: "local".into(),
        user_agent: "linli-sweeper".into(),
    }
}

/// Record on a case's timeline something that happened beside its lifecycle (吹哨报到 steps),
/// optionally setting the whistle flag, through the same [`commit`] as every transition.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn side_step(
    tx: &mut Tx,
    p: &Principal,
    case_id: (&str, Uuid),
    whistle_open: Option<bool>,
    action: &'static str,
    note: &str,
    data: serde_json::Value,
    parties: &[(Uuid, &str, &str)],
    notices: &[NoticeTo],
    now: Ts,
) -> Result<CaseRow> {
    let (tenant, id) = case_id;
    let before = repo::get_tx(tx, tenant, id)
        .await?
        .ok_or(AppError::NotFound("工单"))?;
    let mut after = before.clone();
    if let Some(w) = whistle_open {
        after.whistle_open = w;
    }
    let landing = Landing {
        before: &before,
        after,
        rec: Record {
            action,
            to: before.life.state,
            note,
            data,
        },
        parties: parties.to_vec(),
        notices: notices.to_vec(),
    };
    commit(tx, p, landing, now).await
}

/// The Chinese label of a timeline action (transitions and 吹哨报到 steps).
pub fn timeline_label(action: &str) -> &'static str {
    match action {
        "receive" => "受理",
        "whistle" => "街道吹哨",
        "whistle_respond" => "部门响应",
        "whistle_report" => "部门报到",
        "whistle_close" => "结哨评价",
        "whistle_late" => "吹哨响应/报到超时",
        other => Action::parse(other).map_or("其他", Action::label),
    }
}

/// Add a photo or recording to a case the caller can see (content-checked, stored outside the
/// database, audited). Link it to a step by passing its id in that step's `attachments`.
pub async fn attach(
    app: &App,
    p: &Principal,
    case_id: Uuid,
    filename: &str,
    bytes: &[u8],
) -> Result<crate::attachments::Attachment> {
    let c = get(app, p, case_id).await?;
    let a =
        crate::attachments::save(app, &c.tenant, c.id, Some(p.user_id), filename, bytes).await?;
    let now = app.now();
    write_tx!(app, |tx| {
        record(
            &mut tx,
            now,
            actor(p, &c.tenant, c.id),
            Event::ok("case.attach", "case", c.id).detail(serde_json::json!({
                "number": c.number, "attachment": a.id, "kind": a.kind.as_str(), "size": a.size,
            })),
        )
        .await?;
    })?;
    Ok(a)
}

pub async fn attachments(
    app: &App,
    p: &Principal,
    case_id: Uuid,
) -> Result<Vec<crate::attachments::Attachment>> {
    let c = get(app, p, case_id).await?;
    crate::attachments::list_for_case(app, &c.tenant, c.id).await
}

/// One attachment of a case the caller can see, with its content (checksum verified).
pub async fn attachment(
    app: &App,
    p: &Principal,
    case_id: Uuid,
    id: Uuid,
) -> Result<(crate::attachments::Attachment, Vec<u8>)> {
    let c = get(app, p, case_id).await?;
    let a = crate::attachments::get(app, &c.tenant, id)
        .await?
        .filter(|a| a.case_id == c.id)
        .ok_or(AppError::NotFound("附件"))?;
    let bytes = crate::attachments::read(app, &a).await?;
    Ok((a, bytes))
}

/// Names of units involved in cases the caller can read (handlers, parties, actors, notice
/// recipients). Units with a stake in a case are named to everyone who sees the case, whatever
/// their organisation-read scope; pass only ids taken from such cases.
pub async fn unit_names(app: &App, p: &Principal, ids: &[Uuid]) -> Result<HashMap<Uuid, String>> {
    p.require(Permission::CaseRead)?;
    let mut ids = ids.to_vec();
    ids.sort();
    ids.dedup();
    Ok(
        linli_store::repo::org::names(&app.db, &ids, &ScopeFilter::everything(), p.unit_id)
            .await?
            .into_iter()
            .collect(),
    )
}
