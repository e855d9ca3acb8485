//! Where an address lies: the address resolver ([`linli_address`]) over the deployment's own
//! administrative units (the national divisions it imported, province to community, with the
//! names it gave them), so that a hotline case with only an address is placed in its street and
//! community at intake (属地管理).
//!
//! The gazetteer is built from the org tree by [`load`] (run by `linli serve` at start and after
//! an import); until then nothing resolves and intake works as before.

use std::collections::HashSet;
use std::sync::{Arc, RwLock};

use linli_address::{Division, Gazetteer, Level, Resolution};
use linli_domain::org::OrgKind;
use linli_store::repo::org as org_repo;

use crate::{App, Result};

/// Least confidence from which a resolution places a case.
pub const MIN_CONFIDENCE: f64 = 0.5;

/// The loaded gazetteer, if any, and the county-level codes it holds.
#[derive(Default)]
pub struct Places(RwLock<Option<Loaded>>);

type Loaded = (Arc<Gazetteer>, Arc<HashSet<String>>);

/// Fewer county-level divisions than this: the deployment holds only its own district, not the
/// national data, and cannot tell whether an address code exists.
const NATIONAL_COUNTIES: usize = 2000;

impl Places {
    fn read(&self) -> Option<Loaded> {
        match self.0.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    fn get(&self) -> Option<Arc<Gazetteer>> {
        self.read().map(|(g, _)| g)
    }

    fn set(&self, g: Gazetteer, counties: HashSet<String>) {
        let g = Some((Arc::new(g), Arc::new(counties)));
        match self.0.write() {
            Ok(mut w) => *w = g,
            Err(p) => *p.into_inner() = g,
        }
    }

    /// Whether a 6-digit county code (an ID number's address code) is a current division.
    /// Without the national division data loaded every code is taken as known.
    pub fn knows_county(&self, code: &str) -> bool {
        match self.read() {
            Some((_, c)) if c.len() >= NATIONAL_COUNTIES => c.contains(code),
            _ => true,
        }
    }
}

fn level(kind: OrgKind) -> Option<Level> {
    Some(match kind {
        OrgKind::Province => Level::Province,
        OrgKind::City => Level::City,
        OrgKind::District => Level::County,
        OrgKind::Street => Level::Town,
        OrgKind::Community => Level::Village,
        _ => return None,
    })
}

/// The parent's code of a division code (`110101001001` → `110101001`), by the NBS layout.
fn parent_code(code: &str, kind: OrgKind) -> Option<&str> {
    let len = match kind {
        OrgKind::City => 2,
        OrgKind::District => 4,
        OrgKind::Street => 6,
        OrgKind::Community => 9,
        _ => return None,
    };
    code.get(..len)
}

/// Build the gazetteer from the org tree. Returns the number of units in it.
pub async fn load(app: &App) -> Result<usize> {
    let units = org_repo::division_units(&app.db).await?;
    let codes: std::collections::HashSet<&str> = units.iter().map(|u| u.0.as_str()).collect();
    let rows: Vec<Division> = units
        .iter()
        .filter_map(|(code, name, kind)| {
            let l = level(*kind)?;
            // A unit whose parent is not a division of its own (a deployment that starts at
            // its district) stands at the top.
            let parent = parent_code(code, *kind).filter(|p| codes.contains(p));
            Some(Division::new(code, name, l, parent))
        })
        .collect();
    let n = rows.len();
    let counties: HashSet<String> = units
        .iter()
        .filter(|(_, _, k)| *k == OrgKind::District)
        .map(|(c, _, _)| c.clone())
        .collect();
    let g = Gazetteer::from_rows(rows)
        .map_err(|e| crate::AppError::Internal(format!("地址库构建失败：{e}")))?;
    app.places.set(g, counties);
    Ok(n)
}

/// Where `address` lies, if the gazetteer is loaded and sure enough of it.
pub fn resolve(app: &App, address: &str) -> Option<Resolution> {
    let text = address.trim();
    if text.is_empty() {
        return None;
    }
    let g = app.places.get()?;
    let r = g.resolve(text);
    (r.code.is_some() && r.confidence >= MIN_CONFIDENCE).then_some(r)
}
