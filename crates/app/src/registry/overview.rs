//! A unit's registry at a glance (社区概况): population by residency type, tag and age band,
//! households, buildings, houses, organisations and components — for a community, or any unit
//! the reader may see. Counts only; nothing personal.

use linli_domain::auth::Permission;
use linli_domain::registry::{AGE_BANDS, Residency};
use linli_store::repo::registry::{self as repo, Counted, Grouping};
use serde::Serialize;
use uuid::Uuid;

use super::TagBook;
use super::residents::{ListFilter, query};
use crate::{App, AppError, Principal, Result};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Overview {
    pub unit_id: Uuid,
    pub unit_name: String,
    pub residents: i64,
    pub by_residency: Vec<(String, i64)>,
    pub by_tag: Vec<(String, i64)>,
    pub by_age: Vec<(String, i64)>,
    pub households: i64,
    pub buildings: i64,
    pub houses: i64,
    pub organisations: i64,
    pub components: i64,
}

pub async fn of(app: &App, p: &Principal, unit_id: Uuid) -> Result<Overview> {
    p.require(Permission::RegistryRead)?;
    let unit = crate::units::get(app, unit_id)
        .await?
        .ok_or(AppError::NotFound("单位"))?;
    p.require_on(Permission::RegistryRead, &unit, "单位")?;
    let scope = p.authz.filter(Permission::RegistryRead);
    let base = ListFilter {
        unit: Some(unit.id),
        ..Default::default()
    };
    let book = TagBook::load(app).await?;
    let q = query(app, p, &base, &unit.tenant, &book).await?;
    let residents = repo::count_residents(&app.db, &scope, &q).await?;
    let by_residency = {
        let got = repo::group_residents(&app.db, &scope, &q, Grouping::Residency).await?;
        Residency::ALL
            .iter()
            .map(|r| {
                let n = got
                    .iter()
                    .find(|(k, _)| k == r.key())
                    .map_or(0, |(_, n)| *n);
                (r.label().to_string(), n)
            })
            .collect()
    };
    let by_tag = {
        let got = repo::group_residents(&app.db, &scope, &q, Grouping::Tag).await?;
        // Counts by tag follow the same grant as the tags themselves.
        book.all()
            .iter()
            .filter(|t| p.reads(t.field()))
            .map(|t| {
                let n = got
                    .iter()
                    .filter(|(k, _)| book.read(k).is_some_and(|x| x.key == t.key))
                    .map(|(_, n)| *n)
                    .sum();
                (t.label.clone(), n)
            })
            .collect()
    };
    let mut by_age = Vec::new();
    for (label, _, _) in AGE_BANDS {
        let f = ListFilter {
            age: Some((*label).to_string()),
            ..base.clone()
        };
        let q = query(app, p, &f, &unit.tenant, &book).await?;
        by_age.push((
            (*label).to_string(),
            repo::count_residents(&app.db, &scope, &q).await?,
        ));
    }
    let count = |t| repo::count_in(&app.db, &scope, t, &unit.tenant, Some(&unit.path));
    Ok(Overview {
        unit_id: unit.id,
        unit_name: unit.name.clone(),
        residents,
        by_residency,
        by_tag,
        by_age,
        households: count(Counted::Households).await?,
        buildings: count(Counted::Buildings).await?,
        houses: count(Counted::Houses).await?,
        organisations: count(Counted::Organisations).await?,
        components: count(Counted::Components).await?,
    })
}
