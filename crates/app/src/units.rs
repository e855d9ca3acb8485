//! A short-lived, process-local cache of org units and their ancestors, for hot paths that
//! resolve the same units over and over (case intake resolves the filer's unit, the grid, the
//! community and the receiving street or district on every request).
//!
//! Entries live [`TTL_SECS`]; a renamed, moved or deactivated unit is seen by intake at most that
//! much later. Paths and ids of existing units never change meaning, so a stale entry can only
//! show an old name or accept a unit deactivated moments ago. The map is cleared whole when it
//! reaches [`MAX_ENTRIES`] (a district has a few thousand units; a city a few tens of thousands).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use linli_store::repo::org::{self as org_repo, OrgUnit};
use uuid::Uuid;

use crate::{App, Result};

pub const TTL_SECS: u64 = 30;
pub const MAX_ENTRIES: usize = 100_000;

#[derive(Default)]
pub struct UnitCache {
    units: Mutex<HashMap<Uuid, (Option<OrgUnit>, Instant)>>,
    ancestors: Mutex<HashMap<Uuid, (Vec<OrgUnit>, Instant)>>,
}

fn fresh<T: Clone>(m: &Mutex<HashMap<Uuid, (T, Instant)>>, id: Uuid) -> Option<T> {
    let g = m.lock().ok()?;
    let (v, at) = g.get(&id)?;
    (at.elapsed() < Duration::from_secs(TTL_SECS)).then(|| v.clone())
}

fn keep<T>(m: &Mutex<HashMap<Uuid, (T, Instant)>>, id: Uuid, v: T) {
    if let Ok(mut g) = m.lock() {
        if g.len() >= MAX_ENTRIES {
            g.clear();
        }
        g.insert(id, (v, Instant::now()));
    }
}

/// The unit with this id (active or not), through the cache.
/// The street (街道/乡镇) directly above a community.
pub async fn street_of(app: &App, community: &OrgUnit) -> Result<Option<OrgUnit>> {
    match community.parent_id {
        Some(up) => Ok(get(app, up)
            .await?
            .filter(|u| u.kind == linli_domain::org::OrgKind::Street)),
        None => Ok(None),
    }
}

pub async fn get(app: &App, id: Uuid) -> Result<Option<OrgUnit>> {
    if let Some(u) = fresh(&app.units.units, id) {
        return Ok(u);
    }
    let u = org_repo::get(&app.db, id).await?;
    keep(&app.units.units, id, u.clone());
    Ok(u)
}

/// The unit's ancestors, from the root down, through the cache.
pub async fn ancestors(app: &App, u: &OrgUnit) -> Result<Vec<OrgUnit>> {
    if let Some(a) = fresh(&app.units.ancestors, u.id) {
        return Ok(a);
    }
    let a = org_repo::ancestors(&app.db, u).await?;
    keep(&app.units.ancestors, u.id, a.clone());
    Ok(a)
}
