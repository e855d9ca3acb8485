//! Residents (人口批量导入): GB 11643 ID numbers, phones, vocabularies and tags checked by
//! `residents::validate`, stored through `residents::seal` (the one place that seals a person),
//! duplicates by the ID number's blind index, a 登记 event per imported resident.

use std::collections::{HashMap, HashSet};

use linli_domain::registry::LifeEvent;
use linli_store::repo::org::OrgUnit;
use linli_store::repo::registry::{self as repo, EventRow, ResidentRow};
use uuid::Uuid;

use super::{Cells, Fault, Kind, Spec, col};
use crate::registry::residents::{NewResident, event, seal, validate};
use crate::registry::{TagBook, today};
use crate::{App, Result};

pub struct Residents {
    book: TagBook,
    today: time::Date,
}

/// A resident in stored form with its stored tags.
pub struct Ready {
    row: ResidentRow,
    tags: Vec<String>,
    /// The blind index as bytes (the in-file duplicate key).
    key: [u8; 16],
}

/// The column an error of `key` belongs to.
fn column_of(key: &str) -> &'static str {
    match key {
        k if k.starts_with("id_") => "身份证号码",
        "invalid_phone" => "联系电话",
        "invalid_residency" => "人口类型",
        "invalid_relation" => "与户主关系",
        "unknown_tag" => "标签",
        "missing_field" | "too_long" | "bad_characters" => "姓名",
        _ => "",
    }
}

impl Kind for Residents {
    type Ready = Ready;

    const SPEC: Spec = Spec {
        name: "residents",
        label: "居民",
        audit: "resident.import",
        target: "residents",
        columns: &[
            col("网格编码", true, "110101001001001"),
            col("姓名", true, "张三"),
            col("身份证号码", true, "11010519491231002X"),
            col("联系电话", false, "13800138000"),
            col("人口类型", true, "户籍"),
            col("与户主关系", false, "户主"),
            col("标签", false, "党员、志愿者"),
        ],
        key_column: "身份证号码",
        already: "该身份证号码已在本区登记",
    };

    async fn load(app: &App) -> Result<Residents> {
        Ok(Residents {
            book: TagBook::load(app).await?,
            today: today(app),
        })
    }

    fn prepare(
        &mut self,
        app: &App,
        unit: &OrgUnit,
        cells: &Cells<'_>,
    ) -> std::result::Result<(Ready, u64), Fault> {
        let n = NewResident {
            unit_id: unit.id,
            name: cells.get(1).to_string(),
            id_number: cells.get(2).to_string(),
            phone: cells.get(3).to_string(),
            residency: cells.get(4).to_string(),
            relation: cells.get(5).to_string(),
            house_id: None,
            household_id: None,
            tags: cells
                .get(6)
                .split(['、', ',', '，', ';', '；'])
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
                .collect(),
        };
        let person = validate(app, &self.book, &n, self.today)
            .map_err(|e| Fault::new(column_of(e.key()), e))?;
        let row = seal(app, Uuid::now_v7(), unit, &person, None, None, app.now());
        let mut key = [0u8; 16];
        if let Ok(b) = hex::decode(&row.id_hash) {
            let n = b.len().min(16);
            key[..n].copy_from_slice(&b[..n]);
        }
        Ok((
            Ready {
                row,
                tags: person.tags,
                key,
            },
            person.warnings.len() as u64,
        ))
    }

    fn key(&self, r: &Ready) -> [u8; 16] {
        r.key
    }

    /// Already in the registry: by blind index, per district.
    async fn settle(&mut self, app: &App, rows: &mut [Ready]) -> Result<Vec<Option<Fault>>> {
        let mut by_tenant: HashMap<&str, Vec<String>> = HashMap::new();
        for r in rows.iter() {
            by_tenant
                .entry(r.row.tenant.as_str())
                .or_default()
                .push(r.row.id_hash.clone());
        }
        let mut known: HashSet<(String, String)> = HashSet::new();
        for (tenant, hashes) in &by_tenant {
            for (h, _) in repo::residents_with_id_hashes(&app.db, tenant, hashes).await? {
                known.insert((tenant.to_string(), h));
            }
        }
        Ok(rows
            .iter()
            .map(|r| {
                (!known.is_empty()
                    && known.contains(&(r.row.tenant.clone(), r.row.id_hash.clone())))
                .then(|| Fault::already(&Self::SPEC))
            })
            .collect())
    }

    async fn write(app: &App, actor: Uuid, rows: &[Ready]) -> Result<()> {
        let now = app.now();
        let on = today(app).to_string();
        let residents: Vec<&ResidentRow> = rows.iter().map(|r| &r.row).collect();
        let mut tags: HashMap<&str, Vec<(Uuid, String)>> = HashMap::new();
        for r in rows {
            if !r.tags.is_empty() {
                tags.entry(r.row.tenant.as_str())
                    .or_default()
                    .extend(r.tags.iter().map(|t| (r.row.id, t.clone())));
            }
        }
        let events: Vec<EventRow> = rows
            .iter()
            .map(|r| {
                event(
                    (&r.row.tenant, r.row.id),
                    LifeEvent::Registered,
                    on.clone(),
                    "批量导入".into(),
                    Some(actor),
                    now,
                )
            })
            .collect();
        write_tx!(app, |tx| {
            repo::insert_resident_refs(&mut tx, &residents).await?;
            for (tenant, t) in &tags {
                repo::insert_tags(&mut tx, tenant, t).await?;
            }
            repo::insert_events(&mut tx, &events).await?;
        })?;
        Ok(())
    }
}
