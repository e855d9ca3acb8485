//! The registry kinds other than residents: organisations (contact phone sealed like a
//! resident's), city components (GB/T 30428 codes), buildings with their entrances and houses
//! (one row per house), and households (one per house).
//!
//! Buildings span rows: the first valid row with an address makes the building (and the first
//! with an entrance name, the entrance); later rows of that address add houses to it. An address
//! the registry already holds adds houses to the stored building when it is in the same grid.

use std::collections::{HashMap, HashSet};

use linli_domain::component::ComponentCode;
use linli_domain::registry::{BuildingKind, HouseUse, HouseholdKind, OrganisationKind};
use linli_store::repo::org::OrgUnit;
use linli_store::repo::registry::{
    self as repo, BuildingRow, ComponentRow, EntranceRow, HouseRow, HouseholdRow, OrganisationRow,
};
use uuid::Uuid;

use super::{Cells, Fault, Kind, Spec, col, text_key};
use crate::registry::{ORGANISATION_PHONE, text_field};
use crate::{App, AppError, Result, pi};

// ---------------------------------------------------------------------------------------------
// Cell readers: each names its column in the fault.

fn text(
    cells: &Cells<'_>,
    i: usize,
    column: &'static str,
    max: usize,
    required: bool,
) -> std::result::Result<String, Fault> {
    text_field(cells.get(i), column, max, required).map_err(|e| Fault::new(column, e))
}

fn vocab<T: Copy>(
    cells: &Cells<'_>,
    i: usize,
    column: &'static str,
    all: &[T],
    key: impl Fn(T) -> &'static str,
    label: impl Fn(T) -> &'static str,
) -> std::result::Result<T, Fault> {
    let raw = cells.get(i).trim();
    all.iter()
        .copied()
        .find(|v| key(*v) == raw || label(*v) == raw)
        .ok_or_else(|| {
            let labels: Vec<&str> = all.iter().map(|v| label(*v)).collect();
            Fault::new(
                column,
                AppError::invalid(
                    "invalid_value",
                    format!("{column}应为 {} 之一", labels.join("、")),
                ),
            )
        })
}

/// A whole number in `range`, or `None` when the cell is empty and not required.
fn number(
    cells: &Cells<'_>,
    i: usize,
    column: &'static str,
    range: std::ops::RangeInclusive<i64>,
    required: bool,
) -> std::result::Result<Option<i64>, Fault> {
    let raw = cells.get(i).trim();
    if raw.is_empty() {
        return if required {
            Err(Fault::new(
                column,
                AppError::invalid("missing_field", format!("请填写{column}")),
            ))
        } else {
            Ok(None)
        };
    }
    match raw.parse::<i64>() {
        Ok(n) if range.contains(&n) => Ok(Some(n)),
        _ => Err(Fault::new(
            column,
            AppError::invalid(
                "invalid_number",
                format!(
                    "{column}应为 {} 至 {} 之间的整数",
                    range.start(),
                    range.end()
                ),
            ),
        )),
    }
}

/// A decimal with at most two places in `0 < x <= max`, in hundredths.
fn hundredths(
    cells: &Cells<'_>,
    i: usize,
    column: &'static str,
    max: f64,
) -> std::result::Result<Option<i64>, Fault> {
    let raw = cells.get(i).trim();
    if raw.is_empty() {
        return Ok(None);
    }
    let bad = || {
        Fault::new(
            column,
            AppError::invalid(
                "invalid_number",
                format!("{column}应为大于 0、不超过 {max} 的数，最多两位小数"),
            ),
        )
    };
    let v: f64 = raw.parse().map_err(|_| bad())?;
    let x100 = (v * 100.0).round();
    if !v.is_finite() || v <= 0.0 || v > max || (v * 100.0 - x100).abs() > 1e-6 {
        return Err(bad());
    }
    Ok(Some(x100 as i64))
}

/// Latitude and longitude (WGS84, both or neither) in micro-degrees, within China's extent.
fn coordinates(
    cells: &Cells<'_>,
    lat: usize,
    lng: usize,
) -> std::result::Result<(Option<i64>, Option<i64>), Fault> {
    let (a, b) = (cells.get(lat).trim(), cells.get(lng).trim());
    if a.is_empty() && b.is_empty() {
        return Ok((None, None));
    }
    let bad = |column: &'static str| {
        Fault::new(
            column,
            AppError::invalid(
                "invalid_coordinate",
                "纬度、经度应同时填写，为中国境内的 WGS84 坐标（纬度 3 至 54，经度 73 至 136）",
            ),
        )
    };
    let la: f64 = a.parse().map_err(|_| bad("纬度"))?;
    let ln: f64 = b.parse().map_err(|_| bad("经度"))?;
    if !(3.0..=54.0).contains(&la) {
        return Err(bad("纬度"));
    }
    if !(73.0..=136.0).contains(&ln) {
        return Err(bad("经度"));
    }
    Ok((
        Some((la * 1e6).round() as i64),
        Some((ln * 1e6).round() as i64),
    ))
}

// ---------------------------------------------------------------------------------------------
// Organisations

pub struct Organisations;

impl Kind for Organisations {
    type Ready = OrganisationRow;

    const SPEC: Spec = Spec {
        name: "organisations",
        label: "组织",
        audit: "organisation.import",
        target: "organisations",
        columns: &[
            col("网格编码", true, "110101001001001"),
            col("组织名称", true, "和平里物业服务有限公司"),
            col("组织类型", true, "物业公司"),
            col("地址", false, "东城区和平里东街 11 号"),
            col("联系人", false, "李经理"),
            col("联系电话", false, "13800138000"),
            col("成员人数", false, "25"),
        ],
        key_column: "组织名称",
        already: "该网格已登记同名组织",
    };

    async fn load(_app: &App) -> Result<Organisations> {
        Ok(Organisations)
    }

    fn prepare(
        &mut self,
        app: &App,
        unit: &OrgUnit,
        cells: &Cells<'_>,
    ) -> std::result::Result<(OrganisationRow, u64), Fault> {
        let name = text(cells, 1, "组织名称", 100, true)?;
        let kind = vocab(
            cells,
            2,
            "组织类型",
            OrganisationKind::ALL,
            OrganisationKind::key,
            OrganisationKind::label,
        )?;
        let address = text(cells, 3, "地址", 200, false)?;
        let contact_name = text(cells, 4, "联系人", 50, false)?;
        let phone = match cells.get(5).trim() {
            "" => None,
            p => Some(pi::normalize_phone(p).map_err(|e| Fault::new("联系电话", e))?),
        };
        let members = number(cells, 6, "成员人数", 0..=10_000_000, false)?;
        let id = Uuid::now_v7();
        let now = app.now();
        Ok((
            OrganisationRow {
                tenant: unit.tenant.clone(),
                id,
                kind: kind.key().into(),
                name,
                unit_id: unit.id,
                unit_path: unit.path.clone(),
                address,
                contact_name,
                phone_masked: phone.as_deref().map(pi::mask_phone).unwrap_or_default(),
                contact_phone: phone.map(|p| app.keys.seal(ORGANISATION_PHONE, id, &p)),
                member_count: members,
                created_at: now,
                updated_at: now,
                version: 1,
            },
            0,
        ))
    }

    fn key(&self, r: &OrganisationRow) -> [u8; 16] {
        text_key(&[&r.unit_id.to_string(), &r.name])
    }

    async fn settle(
        &mut self,
        app: &App,
        rows: &mut [OrganisationRow],
    ) -> Result<Vec<Option<Fault>>> {
        let mut known: HashSet<(Uuid, String)> = HashSet::new();
        for (tenant, names) in by_tenant(rows, |r| (&r.tenant, r.name.clone())) {
            known.extend(repo::organisations_named(&app.db, tenant, &names).await?);
        }
        Ok(rows
            .iter()
            .map(|r| {
                known
                    .contains(&(r.unit_id, r.name.clone()))
                    .then(|| Fault::already(&Self::SPEC))
            })
            .collect())
    }

    async fn write(app: &App, _actor: Uuid, rows: &[OrganisationRow]) -> Result<()> {
        write_tx!(app, |tx| {
            repo::insert_organisations(&mut tx, rows).await?;
        })?;
        Ok(())
    }
}

/// Values of `rows` grouped by district.
fn by_tenant<'r, R, V>(
    rows: &'r [R],
    f: impl Fn(&'r R) -> (&'r String, V),
) -> HashMap<&'r str, Vec<V>> {
    let mut out: HashMap<&str, Vec<V>> = HashMap::new();
    for r in rows {
        let (t, v) = f(r);
        out.entry(t.as_str()).or_default().push(v);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Components

pub struct Components;

impl Kind for Components {
    type Ready = ComponentRow;

    const SPEC: Spec = Spec {
        name: "components",
        label: "部件",
        audit: "component.import",
        target: "components",
        columns: &[
            col("网格编码", true, "110101001001001"),
            col("部件标识码", true, "1101010118900042"),
            col("名称", false, "路灯"),
            col("状态", true, "完好"),
            col("地址", false, "东城区东四北大街 12 号门前"),
            col("纬度", false, "39.93"),
            col("经度", false, "116.41"),
        ],
        key_column: "部件标识码",
        already: "该部件标识码已登记",
    };

    async fn load(_app: &App) -> Result<Components> {
        Ok(Components)
    }

    fn prepare(
        &mut self,
        app: &App,
        unit: &OrgUnit,
        cells: &Cells<'_>,
    ) -> std::result::Result<(ComponentRow, u64), Fault> {
        const C: &str = "部件标识码";
        let code = ComponentCode::parse(cells.get(1))
            .map_err(|e| Fault::new(C, AppError::invalid(e.key(), e.message())))?;
        if code.county() != unit.tenant {
            return Err(Fault::new(
                C,
                AppError::invalid(
                    "component_other_county",
                    "部件标识码的区县代码与网格所在区不一致",
                ),
            ));
        }
        let mut name = text(cells, 2, "名称", 100, false)?;
        let warnings = match code.minor_class() {
            Some(c) => {
                if name.is_empty() {
                    name = c.name.to_string();
                }
                0
            }
            // A local class: allowed (cities extend the table), counted as a warning.
            None => 1,
        };
        if name.is_empty() {
            return Err(Fault::new(
                "名称",
                AppError::invalid("missing_field", "本地扩展小类的部件请填写名称"),
            ));
        }
        let state = vocab(
            cells,
            3,
            "状态",
            linli_domain::component::ComponentState::ALL,
            linli_domain::component::ComponentState::key,
            linli_domain::component::ComponentState::label,
        )?;
        let address = text(cells, 4, "地址", 200, false)?;
        let (lat, lng) = coordinates(cells, 5, 6)?;
        let now = app.now();
        Ok((
            ComponentRow {
                tenant: unit.tenant.clone(),
                id: Uuid::now_v7(),
                class_code: code.class_code().to_string(),
                code: code.as_str().to_string(),
                name,
                owner_id: None,
                state: state.key().into(),
                unit_id: unit.id,
                unit_path: unit.path.clone(),
                address,
                lat_e6: lat,
                lng_e6: lng,
                created_at: now,
                updated_at: now,
                version: 1,
            },
            warnings,
        ))
    }

    fn key(&self, r: &ComponentRow) -> [u8; 16] {
        text_key(&[&r.code])
    }

    async fn settle(&mut self, app: &App, rows: &mut [ComponentRow]) -> Result<Vec<Option<Fault>>> {
        let mut known: HashSet<String> = HashSet::new();
        for (tenant, codes) in by_tenant(rows, |r| (&r.tenant, r.code.clone())) {
            known.extend(repo::components_with_codes(&app.db, tenant, &codes).await?);
        }
        Ok(rows
            .iter()
            .map(|r| known.contains(&r.code).then(|| Fault::already(&Self::SPEC)))
            .collect())
    }

    async fn write(app: &App, _actor: Uuid, rows: &[ComponentRow]) -> Result<()> {
        write_tx!(app, |tx| {
            repo::insert_components(&mut tx, rows).await?;
        })?;
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Buildings, entrances and houses

/// A building this import has met: made by it, or found in the registry.
struct Met {
    id: Uuid,
    unit_id: Uuid,
    /// Checked against the registry already (by the batch that met it first).
    settled: bool,
    entrances: HashMap<String, Uuid>,
    /// House numbers met in the file (a repeated one is refused before it can make anything).
    numbers: HashSet<String>,
}

pub struct Buildings {
    met: HashMap<(String, String), Met>,
}

/// One row: the building (when this row makes it), the entrance (likewise) and the house.
pub struct BuildingLine {
    tenant: String,
    address: String,
    unit_id: Uuid,
    building: Option<BuildingRow>,
    entrance: Option<(String, EntranceRow)>,
    house: Option<HouseRow>,
}

impl Kind for Buildings {
    type Ready = BuildingLine;

    const SPEC: Spec = Spec {
        name: "buildings",
        label: "楼栋房屋",
        audit: "building.import",
        target: "buildings",
        columns: &[
            col("网格编码", true, "110101001001001"),
            col("楼栋名称", true, "3号楼"),
            col("楼栋地址", true, "东城区和平里东街 3 号楼"),
            col("楼栋类型", true, "住宅楼"),
            col("层数", true, "6"),
            col("建成年份", false, "1998"),
            col("纬度", false, "39.95"),
            col("经度", false, "116.42"),
            col("单元", false, "1单元"),
            col("房号", false, "101"),
            col("所在楼层", false, "1"),
            col("建筑面积", false, "68.5"),
            col("房屋用途", false, "住宅"),
        ],
        key_column: "房号",
        already: "该楼栋的这一房号已登记",
    };

    async fn load(_app: &App) -> Result<Buildings> {
        Ok(Buildings {
            met: HashMap::new(),
        })
    }

    fn prepare(
        &mut self,
        app: &App,
        unit: &OrgUnit,
        cells: &Cells<'_>,
    ) -> std::result::Result<(BuildingLine, u64), Fault> {
        let name = text(cells, 1, "楼栋名称", 50, true)?;
        let address = text(cells, 2, "楼栋地址", 200, true)?;
        let kind = vocab(
            cells,
            3,
            "楼栋类型",
            BuildingKind::ALL,
            BuildingKind::key,
            BuildingKind::label,
        )?;
        let floors = number(cells, 4, "层数", 1..=200, true)?.unwrap_or(1);
        let year = number(cells, 5, "建成年份", 1800..=2100, false)?;
        let (lat, lng) = coordinates(cells, 6, 7)?;
        let entrance = text(cells, 8, "单元", 20, false)?;
        let number_ = text(cells, 9, "房号", 20, false)?;
        let house = if number_.is_empty() {
            if !entrance.is_empty() || !cells.get(11).trim().is_empty() {
                return Err(Fault::new(
                    "房号",
                    AppError::invalid("missing_field", "填写了单元或面积的行请填写房号"),
                ));
            }
            None
        } else {
            let floor = number(cells, 10, "所在楼层", -5..=200, false)?.unwrap_or(1);
            if floor > floors {
                return Err(Fault::new(
                    "所在楼层",
                    AppError::invalid("invalid_number", "所在楼层不能高于楼栋层数"),
                ));
            }
            let area = hundredths(cells, 11, "建筑面积", 100_000.0)?.unwrap_or(0);
            let house_use = if cells.get(12).trim().is_empty() {
                HouseUse::Residential
            } else {
                vocab(
                    cells,
                    12,
                    "房屋用途",
                    HouseUse::ALL,
                    HouseUse::key,
                    HouseUse::label,
                )?
            };
            Some((floor, area, house_use))
        };
        let now = app.now();
        let at = (unit.tenant.clone(), address.clone());
        let mut building = None;
        if let Some(m) = self.met.get(&at) {
            if m.unit_id != unit.id {
                return Err(Fault::new(
                    "网格编码",
                    AppError::invalid("building_other_grid", "同一楼栋地址在文件中出现在不同网格"),
                ));
            }
        } else {
            let id = Uuid::now_v7();
            building = Some(BuildingRow {
                tenant: unit.tenant.clone(),
                id,
                unit_id: unit.id,
                unit_path: unit.path.clone(),
                name,
                address: address.clone(),
                kind: kind.key().into(),
                floors,
                build_year: year,
                lat_e6: lat,
                lng_e6: lng,
                created_at: now,
                updated_at: now,
                version: 1,
            });
            self.met.insert(
                at.clone(),
                Met {
                    id,
                    unit_id: unit.id,
                    settled: false,
                    entrances: HashMap::new(),
                    numbers: HashSet::new(),
                },
            );
        }
        let Some(m) = self.met.get_mut(&at) else {
            return Err(Fault::new(
                "楼栋地址",
                AppError::Internal("building".into()),
            ));
        };
        if house.is_some() && !m.numbers.insert(number_.clone()) {
            return Err(Fault::new(
                "房号",
                AppError::invalid("duplicate_in_file", "房号在文件中重复"),
            ));
        }
        let mut new_entrance = None;
        let entrance_id = if entrance.is_empty() {
            None
        } else if let Some(e) = m.entrances.get(&entrance) {
            Some(*e)
        } else {
            let id = Uuid::now_v7();
            m.entrances.insert(entrance.clone(), id);
            new_entrance = Some((
                entrance.clone(),
                EntranceRow {
                    tenant: unit.tenant.clone(),
                    id,
                    building_id: m.id,
                    sort: m.entrances.len() as i64,
                    name: entrance,
                },
            ));
            Some(id)
        };
        let house = house.map(|(floor, area, house_use)| HouseRow {
            tenant: unit.tenant.clone(),
            id: Uuid::now_v7(),
            building_id: m.id,
            entrance_id,
            unit_id: unit.id,
            unit_path: unit.path.clone(),
            number: number_,
            floor,
            area_m2_x100: area,
            house_use: house_use.key().into(),
            created_at: now,
            updated_at: now,
            version: 1,
        });
        Ok((
            BuildingLine {
                tenant: unit.tenant.clone(),
                address,
                unit_id: unit.id,
                building,
                entrance: new_entrance,
                house,
            },
            0,
        ))
    }

    fn key(&self, r: &BuildingLine) -> [u8; 16] {
        let number = r.house.as_ref().map(|h| h.number.as_str()).unwrap_or("");
        text_key(&[&r.tenant, &r.address, number])
    }

    /// Addresses met for the first time are looked up: a stored building in the same grid
    /// takes the rows (its entrances too); in another grid the rows are refused. Then houses
    /// already stored under their building's number are refused.
    async fn settle(&mut self, app: &App, rows: &mut [BuildingLine]) -> Result<Vec<Option<Fault>>> {
        let fresh: Vec<&BuildingLine> = rows
            .iter()
            .filter(|r| {
                self.met
                    .get(&(r.tenant.clone(), r.address.clone()))
                    .is_some_and(|m| !m.settled)
            })
            .collect();
        let mut stored: HashMap<(String, String), BuildingRow> = HashMap::new();
        for (tenant, addresses) in by_tenant(&fresh, |r| (&r.tenant, r.address.clone())) {
            for b in repo::buildings_at(&app.db, tenant, &addresses).await? {
                stored.insert((b.tenant.clone(), b.address.clone()), b);
            }
        }
        let mut entrances: HashMap<Uuid, HashMap<String, Uuid>> = HashMap::new();
        for (tenant, ids) in by_tenant(&stored.values().collect::<Vec<_>>(), |b| (&b.tenant, b.id))
        {
            for e in repo::entrances_in(&app.db, tenant, &ids).await? {
                entrances
                    .entry(e.building_id)
                    .or_default()
                    .insert(e.name, e.id);
            }
        }
        // Entrances this import made under a name the stored building already has: the
        // stored one is used instead.
        let mut remap: HashMap<Uuid, Uuid> = HashMap::new();
        for ((tenant, address), b) in &stored {
            if let Some(m) = self.met.get_mut(&(tenant.clone(), address.clone())) {
                m.id = b.id;
                m.unit_id = b.unit_id;
                let made = std::mem::take(&mut m.entrances);
                m.entrances = entrances.remove(&b.id).unwrap_or_default();
                for (name, id) in made {
                    match m.entrances.get(&name) {
                        Some(old) => {
                            remap.insert(id, *old);
                        }
                        None => {
                            m.entrances.insert(name, id);
                        }
                    }
                }
            }
        }
        for m in self.met.values_mut() {
            m.settled = true;
        }
        // Rows of stored buildings now point at them.
        let mut out: Vec<Option<Fault>> = Vec::with_capacity(rows.len());
        for r in rows.iter_mut() {
            let Some(b) = stored.get(&(r.tenant.clone(), r.address.clone())) else {
                out.push(None);
                continue;
            };
            if b.unit_id != r.unit_id {
                out.push(Some(Fault::new(
                    "楼栋地址",
                    AppError::invalid("building_other_grid", "该楼栋地址已登记在另一个网格"),
                )));
                continue;
            }
            r.building = None;
            if let Some((name, e)) = r.entrance.take()
                && !remap.contains_key(&e.id)
            {
                r.entrance = Some((
                    name,
                    EntranceRow {
                        building_id: b.id,
                        ..e
                    },
                ));
            }
            match r.house.as_mut() {
                Some(h) => {
                    h.building_id = b.id;
                    h.entrance_id = h.entrance_id.map(|e| remap.get(&e).copied().unwrap_or(e));
                    out.push(None);
                }
                // A building-only row for a building that exists: nothing to add.
                None => out.push(Some(Fault::new(
                    "楼栋地址",
                    AppError::invalid("already_registered", "该楼栋地址已登记"),
                ))),
            }
        }
        // Houses already stored under their number.
        let buildings: Vec<&HouseRow> = rows.iter().filter_map(|r| r.house.as_ref()).collect();
        let mut taken: HashSet<(Uuid, String)> = HashSet::new();
        for (tenant, ids) in by_tenant(&buildings, |h| (&h.tenant, h.building_id)) {
            let mut ids = ids;
            ids.sort();
            ids.dedup();
            for h in repo::houses_in(&app.db, tenant, &ids).await? {
                taken.insert((h.building_id, h.number));
            }
        }
        for (r, o) in rows.iter().zip(out.iter_mut()) {
            if o.is_none()
                && r.house
                    .as_ref()
                    .is_some_and(|h| taken.contains(&(h.building_id, h.number.clone())))
            {
                *o = Some(Fault::already(&Self::SPEC));
            }
        }
        Ok(out)
    }

    async fn write(app: &App, _actor: Uuid, rows: &[BuildingLine]) -> Result<()> {
        let buildings: Vec<BuildingRow> = rows.iter().filter_map(|r| r.building.clone()).collect();
        let entrances: Vec<EntranceRow> = rows
            .iter()
            .filter_map(|r| r.entrance.as_ref().map(|e| e.1.clone()))
            .collect();
        let houses: Vec<HouseRow> = rows.iter().filter_map(|r| r.house.clone()).collect();
        write_tx!(app, |tx| {
            repo::insert_buildings(&mut tx, &buildings).await?;
            repo::insert_entrances(&mut tx, &entrances).await?;
            repo::insert_houses(&mut tx, &houses).await?;
        })?;
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Households

pub struct Households;

/// A household and the house it lives in (resolved by [`Kind::settle`]).
pub struct HouseholdLine {
    row: HouseholdRow,
    address: String,
    number: String,
}

impl Kind for Households {
    type Ready = HouseholdLine;

    const SPEC: Spec = Spec {
        name: "households",
        label: "户",
        audit: "household.import",
        target: "households",
        columns: &[
            col("网格编码", true, "110101001001001"),
            col("楼栋地址", true, "东城区和平里东街 3 号楼"),
            col("房号", true, "101"),
            col("户别", true, "家庭户"),
        ],
        key_column: "房号",
        already: "该房屋已登记户",
    };

    async fn load(_app: &App) -> Result<Households> {
        Ok(Households)
    }

    fn prepare(
        &mut self,
        app: &App,
        unit: &OrgUnit,
        cells: &Cells<'_>,
    ) -> std::result::Result<(HouseholdLine, u64), Fault> {
        let address = text(cells, 1, "楼栋地址", 200, true)?;
        let number = text(cells, 2, "房号", 20, true)?;
        let kind = vocab(
            cells,
            3,
            "户别",
            HouseholdKind::ALL,
            HouseholdKind::key,
            HouseholdKind::label,
        )?;
        let now = app.now();
        Ok((
            HouseholdLine {
                row: HouseholdRow {
                    tenant: unit.tenant.clone(),
                    id: Uuid::now_v7(),
                    house_id: None,
                    unit_id: unit.id,
                    unit_path: unit.path.clone(),
                    kind: kind.key().into(),
                    created_at: now,
                    updated_at: now,
                    version: 1,
                },
                address,
                number,
            },
            0,
        ))
    }

    fn key(&self, r: &HouseholdLine) -> [u8; 16] {
        text_key(&[&r.row.tenant, &r.address, &r.number])
    }

    /// The house must be registered, in the row's grid, and without a household yet.
    async fn settle(
        &mut self,
        app: &App,
        rows: &mut [HouseholdLine],
    ) -> Result<Vec<Option<Fault>>> {
        let mut buildings: HashMap<(String, String), BuildingRow> = HashMap::new();
        for (tenant, addresses) in by_tenant(rows, |r| (&r.row.tenant, r.address.clone())) {
            for b in repo::buildings_at(&app.db, tenant, &addresses).await? {
                buildings.insert((b.tenant.clone(), b.address.clone()), b);
            }
        }
        let found: Vec<&BuildingRow> = buildings.values().collect();
        let mut houses: HashMap<(Uuid, String), HouseRow> = HashMap::new();
        for (tenant, ids) in by_tenant(&found, |b| (&b.tenant, b.id)) {
            for h in repo::houses_in(&app.db, tenant, &ids).await? {
                houses.insert((h.building_id, h.number.clone()), h);
            }
        }
        let mut out = Vec::with_capacity(rows.len());
        for r in rows.iter_mut() {
            let house = buildings
                .get(&(r.row.tenant.clone(), r.address.clone()))
                .and_then(|b| houses.get(&(b.id, r.number.clone())));
            match house {
                None => out.push(Some(Fault::new(
                    "房号",
                    AppError::invalid("unknown_house", "楼栋地址和房号对应的房屋未登记"),
                ))),
                Some(h) if h.unit_id != r.row.unit_id => out.push(Some(Fault::new(
                    "网格编码",
                    AppError::invalid("house_other_grid", "该房屋登记在另一个网格"),
                ))),
                Some(h) => {
                    r.row.house_id = Some(h.id);
                    out.push(None);
                }
            }
        }
        let ids: Vec<&HouseholdRow> = rows.iter().map(|r| &r.row).collect();
        let mut taken: HashSet<Uuid> = HashSet::new();
        for (tenant, ids) in by_tenant(&ids, |h| (&h.tenant, h.house_id)) {
            let ids: Vec<Uuid> = ids.into_iter().flatten().collect();
            taken.extend(repo::houses_with_households(&app.db, tenant, &ids).await?);
        }
        for (r, o) in rows.iter().zip(out.iter_mut()) {
            if o.is_none() && r.row.house_id.is_some_and(|h| taken.contains(&h)) {
                *o = Some(Fault::already(&Self::SPEC));
            }
        }
        Ok(out)
    }

    async fn write(app: &App, _actor: Uuid, rows: &[HouseholdLine]) -> Result<()> {
        let households: Vec<HouseholdRow> = rows.iter().map(|r| r.row.clone()).collect();
        write_tx!(app, |tx| {
            repo::insert_households(&mut tx, &households).await?;
        })?;
        Ok(())
    }
}
