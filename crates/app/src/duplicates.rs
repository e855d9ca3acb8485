//! Duplicate detection (重复诉求): the same problem reported again — by another resident, or by
//! the same one through another channel — is merged into the case already open for it, so that
//! one unit handles it once and every requester hears how it goes.
//!
//! A request (a case, or a draft on the hotline intake form) is compared with the open cases of
//! its district received in the `[app.duplicates] window_days` before it, in its community when
//! that is known ([`linli_store::repo::duplicates::pool`]). A candidate must lie within
//! `distance_m` when both have a map point and share the first-level category when both are
//! categorised (`same_category`); then their titles and descriptions are compared
//! ([`linli_text::similarity`] over their search terms), and from `threshold` up the candidate is
//! proposed, best first. Only cases the reader may see are proposed.
//!
//! The dispatcher merges (the request is disposed of as 重复诉求 linked to the original, and
//! its requester is told the original's progress, now and when it is answered or closed —
//! [`crate::notify`]) or dismisses a proposal, which is then not made again for that pair.

use linli_domain::Ts;
use linli_domain::auth::Permission;
use linli_domain::case::{Action, CaseState, Disposition};
use linli_domain::geo::metres_between;
use linli_store::repo::cases::CaseRow;
use linli_store::repo::duplicates::{self as repo, Pool};
use linli_text::{Fingerprint, similarity};
use uuid::Uuid;

use crate::audit::{Event, record};
use crate::cases::{self, StepInput};
use crate::{App, AppError, Principal, Result};

/// Most proposals shown for one request.
pub const MAX_PROPOSALS: usize = 5;

/// A case proposed as the original of a request.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub case: CaseRow,
    /// Text similarity, 0–1.
    pub score: f32,
    /// Metres between the two map points, when both have one.
    pub distance_m: Option<f64>,
    /// The heaviest terms both texts share (why they look alike).
    pub shared: Vec<String>,
}

/// What a request is compared by.
struct Probe<'a> {
    tenant: String,
    exclude: Option<Uuid>,
    received_at: Ts,
    point: Option<(i64, i64)>,
    community: Option<Uuid>,
    category_code: &'a str,
    text: Fingerprint,
}

/// The first level of a dotted catalogue code (`01.02.003` → `01`).
fn top_level(code: &str) -> &str {
    code.split('.').next().unwrap_or("")
}

/// What a request says, for comparing: the terms of its title and description only. The place
/// is compared by the filters (community, distance), not by words: two different problems at
/// one address share every word of the address.
fn fingerprint(seg: &linli_text::Segmenter, title: &str, description: &str) -> Fingerprint {
    let terms = linli_text::index_terms(seg, &format!("{title}\n{description}"));
    Fingerprint::of_terms(terms.iter().map(String::as_str))
}

/// Whether the settings allow `other` as the original of `probe`, and how far apart they are.
fn admissible(app: &App, probe: &Probe<'_>, other: &CaseRow) -> Option<Option<f64>> {
    let cfg = &app.cfg.duplicates;
    if cfg.same_category
        && !probe.category_code.is_empty()
        && !other.category_code.is_empty()
        && top_level(probe.category_code) != top_level(&other.category_code)
    {
        return None;
    }
    let distance = match (probe.point, other.lat_e6.zip(other.lng_e6)) {
        (Some((a, b)), Some((c, d))) => Some(metres_between(
            a as f64 / 1e6,
            b as f64 / 1e6,
            c as f64 / 1e6,
            d as f64 / 1e6,
        )),
        _ => None,
    };
    if distance.is_some_and(|m| m > cfg.distance_m) {
        return None;
    }
    Some(distance)
}

/// Score the pool against the probe, keep what passes, best first, and show only what the
/// reader may see.
async fn propose(app: &App, p: &Principal, probe: Probe<'_>) -> Result<Vec<Candidate>> {
    let cfg = &app.cfg.duplicates;
    if cfg.window_days <= 0 || probe.text.is_empty() {
        return Ok(Vec::new());
    }
    let window = cfg.window_days.min(365) * 86_400 * 1_000_000;
    let seg = app.search.segmenter();
    let pool = repo::pool(
        &app.db,
        &Pool {
            tenant: probe.tenant.clone(),
            since: Ts(probe.received_at.0 - window),
            until: probe.received_at,
            exclude: probe.exclude,
            community: probe.community,
            limit: cfg.pool.clamp(1, 5_000),
        },
    )
    .await?;
    let mut scored: Vec<Candidate> = pool
        .into_iter()
        .filter_map(|c| {
            let distance_m = admissible(app, &probe, &c)?;
            let other = fingerprint(&seg, &c.title, &c.description);
            let score = similarity(&probe.text, &other);
            (score >= cfg.threshold).then(|| Candidate {
                shared: probe.text.shared(&other, 6),
                case: c,
                score,
                distance_m,
            })
        })
        .collect();
    scored.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(b.case.received_at.cmp(&a.case.received_at))
    });
    let mut out = Vec::new();
    for c in scored {
        if out.len() >= MAX_PROPOSALS {
            break;
        }
        if cases::get(app, p, c.case.id).await.is_ok() {
            out.push(c);
        }
    }
    Ok(out)
}

/// Open cases that look like duplicates' originals of case `c` (received before it), a case
/// the reader has opened ([`cases::get`]). A case already past intake (dispatched, closed,
/// merged) has none.
pub async fn for_case(app: &App, p: &Principal, c: &CaseRow) -> Result<Vec<Candidate>> {
    if !matches!(c.life.state, CaseState::Pending | CaseState::Registered) {
        return Ok(Vec::new());
    }
    let text = fingerprint(&app.search.segmenter(), &c.title, &c.description);
    propose(
        app,
        p,
        Probe {
            tenant: c.tenant.clone(),
            exclude: Some(c.id),
            received_at: c.received_at,
            point: c.lat_e6.zip(c.lng_e6),
            community: c.community_id,
            category_code: &c.category_code,
            text,
        },
    )
    .await
}

/// A request not yet filed, as the hotline intake form holds it.
#[derive(Debug, Clone, Default)]
pub struct Draft {
    pub title: String,
    pub description: String,
    pub address: String,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub category_id: Option<Uuid>,
    pub grid_id: Option<Uuid>,
}

/// Open cases a draft at intake looks like, so the operator can tell the caller at once that
/// the problem is already being handled.
pub async fn for_draft(app: &App, p: &Principal, d: &Draft) -> Result<Vec<Candidate>> {
    p.require(Permission::CaseCreate)?;
    p.require(Permission::CaseRead)?;
    let limit = |s: &str, n: usize| s.chars().take(n).collect::<String>();
    let title = limit(&d.title, cases::MAX_TITLE_CHARS);
    let description = limit(&d.description, cases::MAX_DESCRIPTION_CHARS);
    let address = limit(&d.address, cases::MAX_ADDRESS_CHARS);
    let at = cases::locate(app, p, d.grid_id, d.lat.zip(d.lng), &address).await?;
    let category_code = match d.category_id {
        Some(id) => crate::catalogue::entry(app, &at.tenant, id)
            .await?
            .map(|e| e.code)
            .unwrap_or_default(),
        None => String::new(),
    };
    let point = match (d.lat, d.lng) {
        (Some(a), Some(b)) if a.is_finite() && b.is_finite() => {
            Some(((a * 1e6).round() as i64, (b * 1e6).round() as i64))
        }
        _ => None,
    };
    let text = fingerprint(&app.search.segmenter(), &title, &description);
    propose(
        app,
        p,
        Probe {
            tenant: at.tenant,
            exclude: None,
            received_at: app.now(),
            point,
            community: at.community.map(|c| c.id),
            category_code: &category_code,
            text,
        },
    )
    .await
}

/// Whether `original` may be the case `c` is merged into: another case of the same district,
/// itself no duplicate, and not finished. (Checked on every 重复诉求 disposition.)
pub(crate) fn check_original(c: &CaseRow, original: &CaseRow) -> Result<()> {
    if original.id == c.id {
        return Err(AppError::invalid("duplicate_of_self", "不能关联自身"));
    }
    if original.tenant != c.tenant {
        return Err(AppError::invalid(
            "original_elsewhere",
            "原工单不在同一区的受理范围内",
        ));
    }
    if original.life.duplicate_of.is_some() {
        return Err(AppError::invalid(
            "original_is_duplicate",
            "所选原工单本身已作为重复诉求并入其他工单，请选择最初的工单",
        ));
    }
    if matches!(
        original.life.state,
        CaseState::Disposed | CaseState::Visited
    ) {
        return Err(AppError::invalid(
            "original_finished",
            "所选原工单已办结，不能再并入",
        ));
    }
    Ok(())
}

/// Merge case `id` into `original`: the ordinary disposition step (重复诉求, linked to the
/// original) with its permission, checks, version, timeline and audit; the requester is told
/// the original's progress ([`crate::notify`]).
pub async fn merge(
    app: &App,
    p: &Principal,
    id: Uuid,
    original: Uuid,
    version: i64,
    note: &str,
) -> Result<CaseRow> {
    let o = cases::get(app, p, original).await?;
    let note = if note.trim().is_empty() {
        format!("与工单 {} 反映的问题相同，并入该工单办理", o.number)
    } else {
        note.trim().to_string()
    };
    cases::act(
        app,
        p,
        id,
        Action::Dispose,
        StepInput {
            version,
            note,
            disposition: Some(Disposition::Duplicate),
            duplicate_of: Some(o.id),
            ..Default::default()
        },
    )
    .await
}

/// Say that `other` is not a duplicate of case `id`: it is no longer proposed for it.
pub async fn dismiss(app: &App, p: &Principal, id: Uuid, other: Uuid) -> Result<()> {
    let v = cases::open(app, p, id).await?;
    if !v.actions(p).contains(&Action::Dispose) {
        return Err(AppError::Forbidden);
    }
    let c = v.case;
    let now = app.now();
    write_tx!(app, |tx| {
        if repo::dismiss(&mut tx, &c.tenant, c.id, other, Some(p.user_id), now).await? {
            record(
                &mut tx,
                now,
                p.into(),
                Event::ok("case.duplicate_dismiss", "case", c.id)
                    .detail(serde_json::json!({"number": c.number, "other": other})),
            )
            .await?;
        }
    })?;
    Ok(())
}

/// The cases merged into `c` (a case the reader has opened), as the reader may see them.
pub async fn merged_into(app: &App, p: &Principal, c: &CaseRow) -> Result<Vec<CaseRow>> {
    let mut out = Vec::new();
    for d in repo::merged_into(&app.db, &c.tenant, c.id).await? {
        if cases::get(app, p, d.id).await.is_ok() {
            out.push(d);
        }
    }
    Ok(out)
}
