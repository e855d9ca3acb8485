//! Open311 GeoReport v2: the API keys administrators issue to outside 311 clients (scoped to the
//! receiving units they may report for), the service list drawn from the active dispatch
//! catalogue, filing a request as a case, and the public read of requests.
//!
//! **Public data.** The read endpoints need no key, as the specification has it, so they show
//! only what the deployment deems public: cases of the jurisdiction received through the
//! channels in [`Settings::public_channels`] (by default Open311, the resident portal and
//! grid patrols — reports about public space), never a 举报 (the whistle-blower is protected)
//! and never one disposed as touching secrets or privacy. Of those, only public columns are
//! read (no requester, no phone, no timeline notes), and long digit runs in free text are
//! masked ([`linli_domain::open311::redact_numbers`]).
//!
//! **Filing.** A POST acts as its key: a principal holding `case.create` only at the key's
//! units, passed to [`crate::cases::create`] like any other channel, so every rule of intake
//! (lengths, the receiving unit, numbering, sealing the phone, the audit row) applies. The
//! location must lie in China and, when boundary data for the jurisdiction is configured, in
//! the jurisdiction. Repeating the same submission the same day (or the same `Idempotency-Key`)
//! returns the first case.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use linli_domain::Ts;
use linli_domain::auth::{Authz, DataScope, Grant, Permission, ScopeFilter, Target};
use linli_domain::case::{CaseState, Channel, Disposition, RequestType};
use linli_domain::clock::CST;
use linli_domain::open311::{self as dom, Area, Attribute, Status};
use linli_domain::org::{OrgKind, tenant_of_path};
use linli_store::StoreError;
use linli_store::repo::catalogue as cat_repo;
use linli_store::repo::open311::{self as repo, ApiKey, KeyUnit, PublicCase, PublicQuery};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::audit::{Event, record};
use crate::auth::{random_token, token_hash};
use crate::cases::{self, NewCase};
use crate::{App, AppError, Ctx, Principal, Result};

/// Most units one key may report for.
pub const MAX_KEY_UNITS: usize = 20;

/// How the deployment runs its Open311 endpoints.
#[derive(Clone)]
pub struct Settings {
    /// The district (6-digit code) the endpoints serve; None: the only district there is.
    pub jurisdiction: Option<String>,
    /// District boundaries by code, for checking reported locations.
    pub boundaries: Arc<HashMap<String, Area>>,
    /// Channels whose cases the public feed shows.
    pub public_channels: Vec<Channel>,
    services: Arc<Mutex<HashMap<String, CachedServices>>>,
    /// The only district, once found (when no jurisdiction is configured).
    only_district: Arc<std::sync::OnceLock<String>>,
}

/// A tenant's services as built from one catalogue version (id), reused until another is active.
type CachedServices = (Uuid, Arc<Vec<Service>>);

impl Default for Settings {
    fn default() -> Self {
        Settings {
            jurisdiction: None,
            boundaries: Arc::default(),
            public_channels: vec![Channel::Open311, Channel::Portal, Channel::Patrol],
            services: Arc::default(),
            only_district: Arc::default(),
        }
    }
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("jurisdiction", &self.jurisdiction)
            .field("boundaries", &self.boundaries.len())
            .field("public_channels", &self.public_channels)
            .finish_non_exhaustive()
    }
}

impl Settings {
    pub fn new(
        jurisdiction: Option<String>,
        boundaries: HashMap<String, Area>,
        public_channels: Vec<Channel>,
    ) -> Settings {
        Settings {
            jurisdiction: jurisdiction.filter(|j| !j.trim().is_empty()),
            boundaries: Arc::new(boundaries),
            public_channels,
            services: Arc::default(),
            only_district: Arc::default(),
        }
    }
}

/// District boundaries from a GeoJSON FeatureCollection whose features carry the 6-digit
/// division code in `properties.code` (Polygon or MultiPolygon, WGS84/CGCS2000 lon/lat).
pub fn parse_boundaries(bytes: &[u8]) -> std::result::Result<HashMap<String, Area>, String> {
    let v: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("不是有效的 GeoJSON：{e}"))?;
    let features = v["features"]
        .as_array()
        .ok_or("GeoJSON 缺少 features 数组")?;
    let ring = |r: &serde_json::Value| -> Option<Vec<(f64, f64)>> {
        r.as_array()?
            .iter()
            .map(|pt| Some((pt.get(0)?.as_f64()?, pt.get(1)?.as_f64()?)))
            .collect()
    };
    let polygon = |p: &serde_json::Value| -> Option<Vec<Vec<(f64, f64)>>> {
        p.as_array()?.iter().map(ring).collect()
    };
    let mut out: HashMap<String, Area> = HashMap::new();
    for (i, f) in features.iter().enumerate() {
        let code = match &f["properties"]["code"] {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            _ => return Err(format!("第 {} 个要素缺少 properties.code", i + 1)),
        };
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "第 {} 个要素的代码 {code:?} 不是 6 位区县代码",
                i + 1
            ));
        }
        let g = &f["geometry"];
        let coords = &g["coordinates"];
        let polys = match g["type"].as_str() {
            Some("Polygon") => polygon(coords).map(|p| vec![p]),
            Some("MultiPolygon") => coords
                .as_array()
                .and_then(|ps| ps.iter().map(polygon).collect()),
            _ => None,
        }
        .ok_or_else(|| {
            format!(
                "第 {} 个要素（{code}）的几何不是 Polygon/MultiPolygon",
                i + 1
            )
        })?;
        out.entry(code).or_default().polygons.extend(polys);
    }
    Ok(out)
}

/// The district the endpoints serve. A `jurisdiction_id` the client gives must name it (an
/// empty one means none was given).
pub async fn jurisdiction(app: &App, s: &Settings, given: Option<&str>) -> Result<String> {
    let ours = match (&s.jurisdiction, s.only_district.get()) {
        (Some(j), _) => j.clone(),
        (None, Some(d)) => d.clone(),
        (None, None) => {
            let d = repo::districts(&app.db, 2).await?;
            match d.as_slice() {
                [only] => s.only_district.get_or_init(|| only.clone()).clone(),
                _ => {
                    return Err(AppError::invalid(
                        "open311_not_configured",
                        "平台未配置 Open311 服务的辖区（配置项 open311.jurisdiction）",
                    ));
                }
            }
        }
    };
    match given.map(str::trim) {
        Some(g) if !g.is_empty() && g != ours => Err(AppError::invalid(
            "unknown_jurisdiction",
            format!(
                "jurisdiction_id {} 不是本平台的辖区（本平台为 {ours}）",
                g.chars().take(20).collect::<String>()
            ),
        )),
        _ => Ok(ours),
    }
}

// ---------------------------------------------------------------------------------------------
// Keys (administrators).

fn reaches_all(p: &Principal, k: &ApiKey) -> bool {
    !k.units.is_empty()
        && k.units.iter().all(|u| {
            p.authz.allows(
                Permission::Open311Manage,
                Target {
                    unit_id: u.unit_id,
                    unit_path: &u.unit_path,
                    owner: None,
                },
            )
        })
}

/// Issue a key that files cases at `unit_ids` (districts or streets of one district, the first
/// being the default). The key is returned once; only its SHA-256 is kept.
pub async fn create_key(
    app: &App,
    p: &Principal,
    name: &str,
    unit_ids: &[Uuid],
) -> Result<(ApiKey, String)> {
    p.require(Permission::Open311Manage)?;
    let name = crate::org::validate_name(name)?;
    let mut ids: Vec<Uuid> = Vec::new();
    for id in unit_ids {
        if !ids.contains(id) {
            ids.push(*id);
        }
    }
    if ids.is_empty() || ids.len() > MAX_KEY_UNITS {
        return Err(AppError::invalid(
            "invalid_units",
            format!("请选择 1–{MAX_KEY_UNITS} 个可上报的受理单位"),
        ));
    }
    let mut units = Vec::new();
    for id in &ids {
        let u = crate::units::get(app, *id)
            .await?
            .filter(|u| u.active)
            .ok_or(AppError::NotFound("单位"))?;
        p.require_on(Permission::Open311Manage, &u, "单位")?;
        if !matches!(u.kind, OrgKind::District | OrgKind::Street) {
            return Err(AppError::invalid(
                "invalid_units",
                format!("“{}”不是区或街道（乡镇），不能作为受理单位", u.name),
            ));
        }
        units.push(u);
    }
    let tenant = tenant_of_path(&units[0].path);
    if units.iter().any(|u| tenant_of_path(&u.path) != tenant) {
        return Err(AppError::invalid(
            "invalid_units",
            "一个密钥的受理单位须属于同一个区县",
        ));
    }
    let secret = format!("{}{tenant}_{}", dom::KEY_PREFIX, random_token());
    let now = app.now();
    let key = ApiKey {
        tenant: tenant.clone(),
        id: linli_domain::ids::new_id(),
        name,
        prefix: secret.chars().take(dom::KEY_PREFIX.len() + 13).collect(),
        created_by: p.user_id,
        created_at: now,
        revoked_at: None,
        last_used_at: None,
        units: units
            .iter()
            .map(|u| KeyUnit {
                unit_id: u.id,
                unit_path: u.path.clone(),
                code: u.code.clone(),
                name: u.name.clone(),
            })
            .collect(),
    };
    let pairs: Vec<(Uuid, String)> = units.iter().map(|u| (u.id, u.path.clone())).collect();
    let codes: Vec<&str> = units.iter().map(|u| u.code.as_str()).collect();
    write_tx!(app, |tx| {
        repo::insert_key(&mut tx, &key, &token_hash(&secret), &pairs).await?;
        record(
            &mut tx,
            now,
            p.into(),
            Event::ok("open311.key_create", "open311_key", key.id)
                .detail(serde_json::json!({"name": key.name, "tenant": tenant, "units": codes})),
        )
        .await?;
    })?;
    Ok((key, secret))
}

/// Keys whose every unit the caller manages, newest first.
pub async fn keys(app: &App, p: &Principal) -> Result<Vec<ApiKey>> {
    p.require(Permission::Open311Manage)?;
    Ok(repo::list(&app.db)
        .await?
        .into_iter()
        .filter(|k| reaches_all(p, k))
        .collect())
}

/// Revoke a key at once: its client can no longer file requests.
pub async fn revoke_key(app: &App, p: &Principal, id: Uuid) -> Result<()> {
    p.require(Permission::Open311Manage)?;
    let k = repo::get(&app.db, id)
        .await?
        .filter(|k| reaches_all(p, k))
        .ok_or(AppError::NotFound("密钥"))?;
    let now = app.now();
    write_tx!(app, |tx| {
        if !repo::revoke(&mut tx, &k.tenant, k.id, now).await? {
            return Err(AppError::Conflict("该密钥已被吊销".into()));
        }
        record(
            &mut tx,
            now,
            p.into(),
            Event::ok("open311.key_revoke", "open311_key", k.id)
                .detail(serde_json::json!({"name": k.name, "tenant": k.tenant})),
        )
        .await?;
    })
}

fn bad_key() -> AppError {
    AppError::invalid("invalid_api_key", "api_key 无效或已吊销")
}

/// The key a client presents, if it is a live key of `tenant`.
pub async fn authenticate(app: &App, tenant: &str, key: &str) -> Result<ApiKey> {
    let key = key.trim();
    if key.is_empty() {
        return Err(AppError::invalid("missing_api_key", "请提供 api_key"));
    }
    if key.len() > 200 || dom::key_tenant(key) != Some(tenant) {
        return Err(bad_key());
    }
    let k = repo::by_hash(&app.db, tenant, &token_hash(key))
        .await?
        .filter(|k| k.revoked_at.is_none() && !k.units.is_empty())
        .ok_or_else(bad_key)?;
    // Last use is recorded at most once a minute, so a busy client's requests are not writes.
    let now = app.now();
    if k.last_used_at.is_none_or(|t| t < now.plus_secs(-60)) {
        repo::touch(&app.db, tenant, k.id, now).await?;
    }
    Ok(k)
}

/// The principal a key files as: `case.create` at each of its units and nothing else.
fn principal_of(k: &ApiKey, home: &KeyUnit, ctx: Ctx) -> Principal {
    Principal {
        user_id: k.id,
        username: format!("open311:{}", k.prefix),
        display_name: format!("Open311：{}", k.name),
        unit_id: home.unit_id,
        unit_path: home.unit_path.clone(),
        authz: Authz {
            user_id: k.id,
            grants: k
                .units
                .iter()
                .map(|u| Grant {
                    role_key: "open311".into(),
                    permissions: vec![Permission::CaseCreate],
                    unit_id: u.unit_id,
                    unit_path: u.unit_path.clone(),
                    scope: DataScope::Unit,
                })
                .collect(),
        },
        session_id: None,
        token_id: None,
        csrf: None,
        registry_fields: None,
        must_change_password: false,
        totp_enabled: false,
        ctx,
    }
}

// ---------------------------------------------------------------------------------------------
// Services.

/// A leaf of the dispatch catalogue as an Open311 service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub code: String,
    pub name: String,
    pub description: String,
    pub keywords: String,
    /// `一级分类/二级分类`.
    pub group: String,
    pub item_id: Uuid,
}

async fn service_list(app: &App, s: &Settings, tenant: &str) -> Result<Arc<Vec<Service>>> {
    let Some(v) = cat_repo::active_version(&app.db, tenant, crate::catalogue::DISPATCH).await?
    else {
        return Ok(Arc::default());
    };
    if let Ok(g) = s.services.lock()
        && let Some((vid, list)) = g.get(tenant)
        && *vid == v.id
    {
        return Ok(list.clone());
    }
    let items = cat_repo::items(&app.db, tenant, v.id).await?;
    // code → (name, parent code)
    let nodes: HashMap<&str, (&str, &str)> = items
        .iter()
        .map(|i| (i.code.as_str(), (i.name.as_str(), i.parent_code.as_str())))
        .collect();
    let mut out = Vec::new();
    for i in items.iter().filter(|i| i.level == 3) {
        let (l2, l1_code) = nodes
            .get(i.parent_code.as_str())
            .copied()
            .unwrap_or(("", ""));
        let l1 = nodes.get(l1_code).map_or("", |n| n.0);
        let group = match (l1.is_empty(), l2.is_empty()) {
            (false, false) => format!("{l1}/{l2}"),
            _ => format!("{l1}{l2}"),
        };
        out.push(Service {
            code: i.code.clone(),
            name: i.name.clone(),
            description: i.full_name.clone(),
            keywords: i
                .keywords
                .split([' ', ',', '，', '、', ';', '；'])
                .filter(|w| !w.is_empty())
                .collect::<Vec<_>>()
                .join(", "),
            group,
            item_id: i.id,
        });
    }
    let list = Arc::new(out);
    if let Ok(mut g) = s.services.lock() {
        g.insert(tenant.to_string(), (v.id, list.clone()));
    }
    Ok(list)
}

/// The services of the jurisdiction: the leaves of its active dispatch catalogue.
pub async fn services(app: &App, s: &Settings, tenant: &str) -> Result<Arc<Vec<Service>>> {
    service_list(app, s, tenant).await
}

fn check_code(code: &str) -> Result<&str> {
    let code = code.trim();
    if code.is_empty()
        || code.len() > 40
        || !code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.')
    {
        return Err(AppError::invalid(
            "invalid_service_code",
            "service_code 格式无效",
        ));
    }
    Ok(code)
}

/// One service and its attributes.
pub async fn service(
    app: &App,
    s: &Settings,
    tenant: &str,
    code: &str,
) -> Result<(Service, Vec<Attribute>)> {
    let code = check_code(code).map_err(|_| AppError::NotFound("服务"))?;
    let list = service_list(app, s, tenant).await?;
    let svc = list
        .iter()
        .find(|x| x.code == code)
        .cloned()
        .ok_or(AppError::NotFound("服务"))?;
    Ok((svc, dom::attributes()))
}

// ---------------------------------------------------------------------------------------------
// Filing.

/// A POST as it arrives (every field still text).
#[derive(Debug, Clone, Default)]
pub struct Submission {
    pub service_code: String,
    pub lat: Option<String>,
    pub long: Option<String>,
    pub address_string: Option<String>,
    pub address_id: Option<String>,
    pub email: Option<String>,
    pub device_id: Option<String>,
    pub account_id: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: Option<String>,
    pub description: Option<String>,
    pub media_url: Option<String>,
    /// `attribute[code]` pairs.
    pub attributes: Vec<(String, String)>,
    /// Linli extension: the receiving unit's code, one of the key's units.
    pub unit_code: Option<String>,
    /// The client's `Idempotency-Key` header.
    pub idempotency_key: Option<String>,
}

/// A request filed (or found again).
#[derive(Debug, Clone)]
pub struct Filed {
    pub number: String,
    pub token: Uuid,
    pub new: bool,
    pub service_notice: String,
}

/// A one-line text field: trimmed, at most `max` characters, no control characters.
fn opt_text<'a>(v: &'a Option<String>, what: &str, max: usize) -> Result<Option<&'a str>> {
    text_field(v, what, max, false)
}

fn text_field<'a>(
    v: &'a Option<String>,
    what: &str,
    max: usize,
    multiline: bool,
) -> Result<Option<&'a str>> {
    let bad = |c: char| c.is_control() && !(multiline && matches!(c, '\n' | '\r' | '\t'));
    match v.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) if t.chars().count() > max => Err(AppError::invalid(
            "too_long",
            format!("{what}不能超过 {max} 个字符"),
        )),
        Some(t) if t.chars().any(bad) => Err(AppError::invalid(
            "invalid_text",
            format!("{what}含有不可见字符"),
        )),
        Some(t) => Ok(Some(t)),
    }
}

fn number(v: Option<&str>, what: &str) -> Result<Option<f64>> {
    match v {
        None => Ok(None),
        Some(t) => t
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .map(Some)
            .ok_or_else(|| AppError::invalid("invalid_location", format!("{what} 不是数字"))),
    }
}

/// The location must lie in China and, when the jurisdiction's boundary is known, inside it.
/// The district's name is looked up only to word a refusal.
pub(crate) async fn check_location(
    app: &App,
    s: &Settings,
    tenant: &str,
    lat: f64,
    lng: f64,
) -> Result<()> {
    if !dom::in_china_box(lng, lat) {
        let hint = if dom::in_china_box(lat, lng) {
            "，lat 与 long 可能填反了 (lat and long may be swapped)"
        } else {
            ""
        };
        return Err(AppError::invalid(
            "location_outside",
            format!(
                "上报位置（lat {lat}，long {lng}）不在中国境内，请使用 WGS84 经纬度{hint} (the location is outside China; send WGS84 lat/long)"
            ),
        ));
    }
    if let Some(area) = s.boundaries.get(tenant)
        && !area.contains(lng, lat)
    {
        let district = match linli_store::repo::org::get_by_code(&app.db, tenant).await? {
            Some(d) => d.name,
            None => tenant.to_string(),
        };
        let mut msg = format!(
            "上报位置（lat {lat}，long {lng}）不在{district}辖区内，本接口只受理{district}的诉求；请核对坐标是否为 WGS84（高德、腾讯地图的 GCJ-02 坐标需先转换）"
        );
        if area.contains(lat, lng) {
            msg.push_str("，lat 与 long 可能填反了");
        }
        msg.push_str(&format!(
            " (the location is outside the jurisdiction {tenant}; check that lat/long are WGS84)"
        ));
        return Err(AppError::invalid("location_outside", msg));
    }
    Ok(())
}

fn check_media_url(u: &str) -> Result<()> {
    let lower = u.to_ascii_lowercase();
    if !(lower.starts_with("https://") || lower.starts_with("http://"))
        || u.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(AppError::invalid(
            "invalid_media_url",
            "media_url 须为 http:// 或 https:// 开头的网址",
        ));
    }
    Ok(())
}

fn check_email(e: &str) -> Result<()> {
    let ok = e.split_once('@').is_some_and(|(a, b)| {
        !a.is_empty() && b.contains('.') && !b.starts_with('.') && !e.contains(char::is_whitespace)
    });
    if ok {
        Ok(())
    } else {
        Err(AppError::invalid("invalid_email", "email 格式无效"))
    }
}

/// The external id that makes a repeat find the first case: from the client's idempotency key,
/// or from everything the submission says plus the China date (the same report twice in one
/// day is one case). Scoped to the key, so one client never reaches another's case.
fn idempotency_id(k: &ApiKey, sub: &Submission, now: Ts) -> String {
    let mut h = Sha256::new();
    h.update(k.id.as_bytes());
    match sub.idempotency_key.as_deref().map(str::trim) {
        Some(x) if !x.is_empty() => {
            h.update(b"\x00idem\x00");
            h.update(x.as_bytes());
        }
        _ => {
            let d = now.to_datetime().to_offset(CST).date();
            h.update(d.to_string().as_bytes());
            let fields = [
                Some(&sub.service_code),
                sub.lat.as_ref(),
                sub.long.as_ref(),
                sub.address_string.as_ref(),
                sub.address_id.as_ref(),
                sub.email.as_ref(),
                sub.device_id.as_ref(),
                sub.account_id.as_ref(),
                sub.first_name.as_ref(),
                sub.last_name.as_ref(),
                sub.phone.as_ref(),
                sub.description.as_ref(),
                sub.media_url.as_ref(),
                sub.unit_code.as_ref(),
            ];
            for f in fields {
                h.update(b"\x00");
                h.update(f.map(|s| s.trim()).unwrap_or("").as_bytes());
            }
            let mut attrs = sub.attributes.clone();
            attrs.sort();
            for (c, v) in attrs {
                h.update(format!("\x00{c}={}", v.trim()).as_bytes());
            }
        }
    }
    format!("o311:{}", &hex::encode(h.finalize())[..40])
}

/// File a request with a key: validate everything the client sent, then create the case as the
/// key at its receiving unit.
pub async fn submit(
    app: &App,
    s: &Settings,
    tenant: &str,
    key: &ApiKey,
    ctx: Ctx,
    sub: Submission,
) -> Result<Filed> {
    // The service: a leaf of the active catalogue.
    let code = check_code(&sub.service_code)
        .map_err(|_| AppError::invalid("invalid_service_code", "请提供有效的 service_code"))?;
    let list = service_list(app, s, tenant).await?;
    let svc = list
        .iter()
        .find(|x| x.code == code)
        .ok_or_else(|| AppError::invalid("unknown_service_code", format!("没有服务 {code}")))?;
    // Attributes of the service definition.
    let mut request_type = dom::DEFAULT_REQUEST_TYPE;
    let mut title = None;
    for (c, v) in &sub.attributes {
        let v = v.trim();
        if v.chars().count() > dom::MAX_ATTRIBUTE_CHARS {
            return Err(AppError::invalid(
                "too_long",
                format!(
                    "attribute[{c}] 不能超过 {} 个字符",
                    dom::MAX_ATTRIBUTE_CHARS
                ),
            ));
        }
        match c.as_str() {
            "request_type" if v.is_empty() => {}
            "request_type" => {
                request_type = RequestType::parse(v)
                    .or_else(|| RequestType::ALL.iter().copied().find(|t| t.label() == v))
                    .ok_or_else(|| {
                        AppError::invalid(
                            "invalid_attribute",
                            "attribute[request_type] 须为 consult、help、complaint、report 或 suggestion",
                        )
                    })?;
            }
            "title" if !v.is_empty() => title = Some(v.to_string()),
            "title" => {}
            other => {
                return Err(AppError::invalid(
                    "unknown_attribute",
                    format!(
                        "服务定义中没有属性 {}",
                        other.chars().take(40).collect::<String>()
                    ),
                ));
            }
        }
    }
    // Where: lat/long, or an address.
    let lat = number(opt_text(&sub.lat, "lat", 40)?, "lat")?;
    let lng = number(opt_text(&sub.long, "long", 40)?, "long")?;
    let address = opt_text(
        &sub.address_string,
        "address_string",
        cases::MAX_ADDRESS_CHARS,
    )?;
    let address_id = opt_text(&sub.address_id, "address_id", dom::MAX_ID_CHARS)?;
    match (lat, lng) {
        (Some(_), None) | (None, Some(_)) => {
            return Err(AppError::invalid(
                "invalid_location",
                "lat 与 long 须同时提供",
            ));
        }
        (None, None) if address.is_none() => {
            return Err(AppError::invalid(
                "missing_location",
                if address_id.is_some() {
                    "本平台没有地址编号库，请提供 lat/long 或 address_string"
                } else {
                    "请提供上报位置：lat 与 long，或 address_string"
                },
            ));
        }
        _ => {}
    }
    let description = text_field(
        &sub.description,
        "description",
        cases::MAX_DESCRIPTION_CHARS,
        true,
    )?
    .ok_or_else(|| AppError::invalid("missing_field", "请填写诉求内容（description）"))?;
    // Who: only what intake keeps (name and phone, sealed); email and client ids are checked and
    // used for idempotency, never stored.
    let first = opt_text(&sub.first_name, "first_name", dom::MAX_NAME_CHARS)?.unwrap_or("");
    let last = opt_text(&sub.last_name, "last_name", dom::MAX_NAME_CHARS)?.unwrap_or("");
    if let Some(e) = opt_text(&sub.email, "email", dom::MAX_EMAIL_CHARS)? {
        check_email(e)?;
    }
    opt_text(&sub.device_id, "device_id", dom::MAX_ID_CHARS)?;
    opt_text(&sub.account_id, "account_id", dom::MAX_ID_CHARS)?;
    let phone = opt_text(&sub.phone, "phone", 30)?.map(str::to_string);
    let media_url = opt_text(&sub.media_url, "media_url", dom::MAX_URL_CHARS)?.unwrap_or("");
    if !media_url.is_empty() {
        check_media_url(media_url)?;
    }
    // For whom: one of the key's units.
    let home = match opt_text(&sub.unit_code, "unit_code", 40)? {
        Some(c) => key.units.iter().find(|u| u.code == c).ok_or_else(|| {
            AppError::invalid(
                "unit_not_allowed",
                format!(
                    "该 api_key 无权为单位 {c} 上报 (this api_key may not report for unit {c})"
                ),
            )
        })?,
        None => key.units.first().ok_or_else(bad_key)?,
    };
    if let (Some(la), Some(lo)) = (lat, lng) {
        check_location(app, s, tenant, la, lo).await?;
    }
    let now = app.now();
    let name = dom::full_name(first, last);
    let anonymous = name.is_empty() && phone.is_none();
    let n = NewCase {
        channel: Some(Channel::Open311),
        external_id: Some(idempotency_id(key, &sub, now)),
        request_type: Some(request_type),
        urgency: None,
        title: title.unwrap_or_else(|| dom::title_from(description)),
        description: description.to_string(),
        category_id: Some(svc.item_id),
        address: address.unwrap_or("").to_string(),
        lat,
        lng,
        grid_id: None,
        requester_name: name,
        requester_phone: phone,
        anonymous,
        owner_unit_id: Some(home.unit_id),
        answer: None,
    };
    let p = principal_of(key, home, ctx);
    let filed = match cases::create(app, &p, n.clone()).await {
        // Two identical submissions raced: the loser finds the winner's case.
        Err(AppError::Store(StoreError::Unique(_))) => cases::create(app, &p, n).await,
        other => other,
    };
    let (case, new) = filed.map_err(|e| match e {
        // The key's principal only reaches its own units; say so in Open311's terms.
        AppError::NotFound("受理单位") | AppError::Forbidden => AppError::invalid(
            "unit_not_allowed",
            "该 api_key 无权为该单位上报 (this api_key may not report for that unit)",
        ),
        e => e,
    })?;
    // The media URL is kept beside the case; without one there is nothing to add (the key that
    // filed the case is its creator), so the intake stays one write transaction.
    if !media_url.is_empty() {
        repo::insert_request(&app.db, &case.tenant, case.id, key.id, media_url, now).await?;
    }
    Ok(Filed {
        service_notice: format!("已受理，工单编号 {}。可凭编号查询办理进度。", case.number),
        number: case.number,
        token: case.id,
        new,
    })
}

// ---------------------------------------------------------------------------------------------
// Reading.

/// Search parameters as they arrive.
#[derive(Debug, Clone, Default)]
pub struct SearchParams {
    pub service_request_id: Option<String>,
    pub service_code: Option<String>,
    pub start_date: Option<String>,
    pub end_date: Option<String>,
    pub status: Option<String>,
    pub page: Option<String>,
    pub page_size: Option<String>,
}

/// A request as the public feed shows it.
#[derive(Debug, Clone)]
pub struct PublicRequest {
    pub case: PublicCase,
    pub status: Status,
    pub status_notes: String,
    /// The unit handling it, or the receiving unit before dispatch.
    pub agency: String,
}

impl PublicRequest {
    pub fn title(&self) -> String {
        dom::redact_numbers(&self.case.title)
    }
    pub fn description(&self) -> String {
        dom::redact_numbers(&self.case.description)
    }
    pub fn address(&self) -> String {
        dom::redact_numbers(&self.case.address)
    }
    /// The catalogue leaf's own name (the last part of its path).
    pub fn service_name(&self) -> &str {
        self.case
            .category_name
            .rsplit(linli_domain::catalogue::PATH_SEP)
            .next()
            .unwrap_or("")
            .trim()
    }
}

fn list_of(v: &Option<String>, what: &str, max: usize) -> Result<Vec<String>> {
    let Some(v) = v.as_deref() else {
        return Ok(vec![]);
    };
    let items: Vec<String> = v
        .split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect();
    if items.len() > max {
        return Err(AppError::invalid(
            "too_many",
            format!("{what} 最多 {max} 个"),
        ));
    }
    Ok(items)
}

fn positive(v: &Option<String>, what: &str, lo: i64, hi: i64) -> Result<Option<i64>> {
    match v.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) => t
            .parse::<i64>()
            .ok()
            .filter(|n| (lo..=hi).contains(n))
            .map(Some)
            .ok_or_else(|| {
                AppError::invalid("invalid_query", format!("{what} 须为 {lo}–{hi} 的整数"))
            }),
    }
}

fn check_number(n: &str) -> Result<()> {
    if n.len() > 40 || !n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(AppError::invalid(
            "invalid_service_request_id",
            "service_request_id 格式无效",
        ));
    }
    Ok(())
}

fn public_query(s: &Settings, tenant: &str) -> PublicQuery {
    PublicQuery {
        tenant: tenant.to_string(),
        channels: s.public_channels.clone(),
        hidden_types: vec![RequestType::Report],
        hidden_dispositions: vec![Disposition::Secret],
        limit: dom::MAX_RESULTS,
        ..Default::default()
    }
}

/// Turn search parameters into a query: ids override everything else; otherwise the dates
/// default to the last 90 days and may not span more.
pub fn search_query(s: &Settings, tenant: &str, sp: &SearchParams, now: Ts) -> Result<PublicQuery> {
    let mut q = public_query(s, tenant);
    q.numbers = list_of(&sp.service_request_id, "service_request_id", dom::MAX_IDS)?;
    for n in &q.numbers {
        check_number(n)?;
    }
    q.codes = list_of(&sp.service_code, "service_code", dom::MAX_CODES)?;
    for c in &q.codes {
        check_code(c)?;
    }
    let mut states = Vec::new();
    for st in list_of(&sp.status, "status", 2)? {
        let st = Status::parse(&st)
            .ok_or_else(|| AppError::invalid("invalid_status", "status 须为 open 或 closed"))?;
        states.extend(st.states());
    }
    states.sort();
    states.dedup();
    q.states = if states.len() == CaseState::ALL.len() {
        vec![]
    } else {
        states
    };
    let date = |v: &Option<String>, what: &str| -> Result<Option<Ts>> {
        match v.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(t) => dom::parse_datetime(t).map(Some).ok_or_else(|| {
                AppError::invalid(
                    "invalid_date",
                    format!("{what} 须为 W3C 日期时间，如 2026-11-21T08:00:00Z"),
                )
            }),
        }
    };
    let window = dom::WINDOW_DAYS * 86_400;
    let (from, to) = match (
        date(&sp.start_date, "start_date")?,
        date(&sp.end_date, "end_date")?,
    ) {
        (Some(f), Some(t)) => (f, t),
        (Some(f), None) => (f, f.plus_secs(window)),
        (None, Some(t)) => (t.plus_secs(-window), t),
        (None, None) => (now.plus_secs(-window), now),
    };
    if from > to {
        return Err(AppError::invalid(
            "invalid_date",
            "start_date 不能晚于 end_date",
        ));
    }
    if to.micros() - from.micros() > window * 1_000_000 {
        return Err(AppError::invalid(
            "date_range_too_long",
            format!(
                "start_date 与 end_date 相隔不能超过 {} 天",
                dom::WINDOW_DAYS
            ),
        ));
    }
    q.from = Some(from);
    q.to = Some(to);
    let size =
        positive(&sp.page_size, "page_size", 1, dom::MAX_RESULTS)?.unwrap_or(dom::MAX_RESULTS);
    let page = positive(&sp.page, "page", 1, dom::MAX_OFFSET)?.unwrap_or(1);
    let offset = (page - 1) * size;
    if offset > dom::MAX_OFFSET {
        return Err(AppError::invalid(
            "page_too_deep",
            format!("最多翻到第 {} 条，请缩小时间范围", dom::MAX_OFFSET),
        ));
    }
    q.limit = size;
    q.offset = offset;
    if !q.numbers.is_empty() {
        q.limit = dom::MAX_RESULTS;
        q.offset = 0;
    }
    Ok(q)
}

async fn to_public(app: &App, rows: Vec<PublicCase>) -> Result<Vec<PublicRequest>> {
    let mut ids: Vec<Uuid> = rows
        .iter()
        .map(|c| c.handler_id.unwrap_or(c.owner_id))
        .collect();
    ids.sort();
    ids.dedup();
    // Units with a stake in a public case are public bodies; their names are public.
    let names: HashMap<Uuid, String> =
        linli_store::repo::org::names(&app.db, &ids, &ScopeFilter::everything(), Uuid::nil())
            .await?
            .into_iter()
            .collect();
    Ok(rows
        .into_iter()
        .map(|c| PublicRequest {
            status: dom::status_of(c.state),
            status_notes: dom::status_notes(c.state, c.disposition),
            agency: names
                .get(&c.handler_id.unwrap_or(c.owner_id))
                .cloned()
                .unwrap_or_default(),
            case: c,
        })
        .collect())
}

/// Public requests matching the search, newest first, at most 1,000.
pub async fn search(
    app: &App,
    s: &Settings,
    tenant: &str,
    sp: &SearchParams,
) -> Result<Vec<PublicRequest>> {
    let q = search_query(s, tenant, sp, app.now())?;
    let rows = repo::public_cases(&app.db, &q).await?;
    to_public(app, rows).await
}

/// One public request by its number.
pub async fn request(app: &App, s: &Settings, tenant: &str, number: &str) -> Result<PublicRequest> {
    check_number(number.trim()).map_err(|_| AppError::NotFound("诉求"))?;
    let mut q = public_query(s, tenant);
    q.numbers = vec![number.trim().to_string()];
    q.limit = 1;
    let rows = repo::public_cases(&app.db, &q).await?;
    to_public(app, rows)
        .await?
        .pop()
        .ok_or(AppError::NotFound("诉求"))
}

/// Farthest a "nearby" search reaches, in metres.
pub const MAX_NEARBY_METRES: f64 = 3000.0;

/// Public requests of the last 90 days located within `metres` of a point, nearest first (the
/// portal's 附近的事: residents see a problem is already known before they report it again).
pub async fn nearby(
    app: &App,
    s: &Settings,
    tenant: &str,
    lat: f64,
    lng: f64,
    metres: f64,
) -> Result<Vec<(PublicRequest, f64)>> {
    if !dom::in_china_box(lng, lat) {
        return Err(AppError::invalid(
            "location_outside",
            "位置不在中国境内，请使用 WGS84 经纬度",
        ));
    }
    let r = metres.clamp(50.0, MAX_NEARBY_METRES);
    let dlat = r / 111_320.0;
    let dlng = r / (111_320.0 * lat.to_radians().cos().max(0.1));
    let e6 = |x: f64| (x * 1e6).round() as i64;
    let now = app.now();
    let mut q = public_query(s, tenant);
    q.from = Some(now.plus_secs(-dom::WINDOW_DAYS * 86_400));
    q.bbox = Some([
        e6(lat - dlat),
        e6(lat + dlat),
        e6(lng - dlng),
        e6(lng + dlng),
    ]);
    q.limit = 200;
    let rows = repo::public_cases(&app.db, &q).await?;
    let mut found: Vec<(PublicRequest, f64)> = to_public(app, rows)
        .await?
        .into_iter()
        .filter_map(|p| {
            let (la, lo) = (p.case.lat_e6? as f64 / 1e6, p.case.lng_e6? as f64 / 1e6);
            let d = linli_domain::geo::metres_between(lat, lng, la, lo);
            (d <= r).then_some((p, d))
        })
        .collect();
    found.sort_by(|a, b| a.1.total_cmp(&b.1));
    found.truncate(50);
    Ok(found)
}

/// The request id a token (returned by a POST) stands for.
pub async fn token(app: &App, tenant: &str, token: &str) -> Result<String> {
    let id = Uuid::parse_str(token.trim()).map_err(|_| AppError::NotFound("令牌"))?;
    repo::number_by_token(&app.db, tenant, id)
        .await?
        .ok_or(AppError::NotFound("令牌"))
}
