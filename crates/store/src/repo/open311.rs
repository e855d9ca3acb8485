//! Open311: API keys (stored as SHA-256 only) with the units they report for, the media URL
//! clients send with requests, and the public read of cases the GeoReport endpoints serve — which selects only public columns, so requester names and phones are never even
//! loaded for them.

use linli_domain::Ts;
use linli_domain::case::{CaseState, Channel, Disposition, RequestType};
use uuid::Uuid;

use crate::args;
use crate::db::{Db, Params, Row, StoreError, Tx};

/// One unit a key reports for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyUnit {
    pub unit_id: Uuid,
    pub unit_path: String,
    pub code: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub tenant: String,
    pub id: Uuid,
    pub name: String,
    /// The first characters of the key, so people can tell keys apart.
    pub prefix: String,
    pub created_by: Uuid,
    pub created_at: Ts,
    pub revoked_at: Option<Ts>,
    pub last_used_at: Option<Ts>,
    /// In the order given at creation; the first is the default receiving unit.
    pub units: Vec<KeyUnit>,
}

const KEY_COLS: &str =
    "k.tenant, k.id, k.name, k.prefix, k.created_by, k.created_at, k.revoked_at, k.last_used_at";

fn key_row(r: Row<'_>) -> Result<ApiKey, StoreError> {
    Ok(ApiKey {
        tenant: r.text("tenant")?,
        id: r.uuid("id")?,
        name: r.text("name")?,
        prefix: r.text("prefix")?,
        created_by: r.uuid("created_by")?,
        created_at: r.ts("created_at")?,
        revoked_at: r.opt_ts("revoked_at")?,
        last_used_at: r.opt_ts("last_used_at")?,
        units: vec![],
    })
}

/// Fill in the units of `keys` (one query for all of them).
async fn with_units(db: &Db, mut keys: Vec<ApiKey>) -> Result<Vec<ApiKey>, StoreError> {
    if keys.is_empty() {
        return Ok(keys);
    }
    let mut p = Params::default();
    let list: Vec<String> = keys.iter().map(|k| p.push(k.id)).collect();
    let sql = format!(
        "SELECT u.key_id, u.unit_id, u.unit_path, o.code, o.name FROM open311_key_units u
         JOIN org_units o ON o.id = u.unit_id
         WHERE u.key_id IN ({}) ORDER BY u.ord",
        list.join(", ")
    );
    let rows = db
        .fetch_all(sql, p.args, |r| {
            Ok((
                r.uuid("key_id")?,
                KeyUnit {
                    unit_id: r.uuid("unit_id")?,
                    unit_path: r.text("unit_path")?,
                    code: r.text("code")?,
                    name: r.text("name")?,
                },
            ))
        })
        .await?;
    for (key_id, unit) in rows {
        if let Some(k) = keys.iter_mut().find(|k| k.id == key_id) {
            k.units.push(unit);
        }
    }
    Ok(keys)
}

pub async fn insert_key(
    tx: &mut Tx,
    k: &ApiKey,
    key_hash: &[u8],
    units: &[(Uuid, String)],
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO open311_keys (tenant, id, name, key_hash, prefix, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        args![
            k.tenant.clone(),
            k.id,
            k.name.clone(),
            key_hash,
            k.prefix.clone(),
            k.created_by,
            k.created_at
        ],
    )
    .await?;
    for (ord, (unit_id, path)) in units.iter().enumerate() {
        tx.execute(
            "INSERT INTO open311_key_units (tenant, key_id, unit_id, unit_path, ord) VALUES ($1, $2, $3, $4, $5)",
            args![k.tenant.clone(), k.id, *unit_id, path.clone(), ord as i64],
        )
        .await?;
    }
    Ok(())
}

/// The key with this hash in `tenant`, revoked or not.
pub async fn by_hash(db: &Db, tenant: &str, hash: &[u8]) -> Result<Option<ApiKey>, StoreError> {
    let k = db
        .fetch_optional(
            format!(
                "SELECT {KEY_COLS} FROM open311_keys k WHERE k.tenant = $1 AND k.key_hash = $2"
            ),
            args![tenant, hash],
            key_row,
        )
        .await?;
    match k {
        Some(k) => Ok(with_units(db, vec![k]).await?.pop()),
        None => Ok(None),
    }
}

pub async fn get(db: &Db, id: Uuid) -> Result<Option<ApiKey>, StoreError> {
    let k = db
        .fetch_optional(
            format!("SELECT {KEY_COLS} FROM open311_keys k WHERE k.id = $1"),
            args![id],
            key_row,
        )
        .await?;
    match k {
        Some(k) => Ok(with_units(db, vec![k]).await?.pop()),
        None => Ok(None),
    }
}

/// Every key, newest first (at most 500; the app filters by the caller's scope).
pub async fn list(db: &Db) -> Result<Vec<ApiKey>, StoreError> {
    let keys = db
        .fetch_all(
            format!("SELECT {KEY_COLS} FROM open311_keys k ORDER BY k.created_at DESC LIMIT 500"),
            vec![],
            key_row,
        )
        .await?;
    with_units(db, keys).await
}

pub async fn revoke(tx: &mut Tx, tenant: &str, id: Uuid, now: Ts) -> Result<bool, StoreError> {
    Ok(tx
        .execute(
            "UPDATE open311_keys SET revoked_at = $1 WHERE tenant = $2 AND id = $3 AND revoked_at IS NULL",
            args![now, tenant, id],
        )
        .await?
        == 1)
}

/// Record use, at most once a minute per key (a busy client must not turn reads into writes).
pub async fn touch(db: &Db, tenant: &str, id: Uuid, now: Ts) -> Result<(), StoreError> {
    db.execute(
        "UPDATE open311_keys SET last_used_at = $1
         WHERE tenant = $2 AND id = $3 AND (last_used_at IS NULL OR last_used_at < $4)",
        args![now, tenant, id, now.plus_secs(-60)],
    )
    .await?;
    Ok(())
}

/// The media URL of a request filed through Open311. Idempotent (a repeated POST finds it).
pub async fn insert_request(
    db: &Db,
    tenant: &str,
    case_id: Uuid,
    key_id: Uuid,
    media_url: &str,
    now: Ts,
) -> Result<(), StoreError> {
    db.execute(
        "INSERT INTO open311_requests (tenant, case_id, key_id, media_url, created_at)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant, case_id) DO NOTHING",
        args![tenant, case_id, key_id, media_url, now],
    )
    .await?;
    Ok(())
}

/// What the public feed shows of a case: no requester, no phone, no internal notes.
#[derive(Debug, Clone, PartialEq)]
pub struct PublicCase {
    pub id: Uuid,
    pub number: String,
    pub channel: Channel,
    pub request_type: RequestType,
    pub state: CaseState,
    pub disposition: Option<Disposition>,
    pub title: String,
    pub description: String,
    pub category_code: String,
    pub category_name: String,
    pub address: String,
    pub lat_e6: Option<i64>,
    pub lng_e6: Option<i64>,
    pub owner_id: Uuid,
    pub handler_id: Option<Uuid>,
    pub received_at: Ts,
    pub updated_at: Ts,
    pub due_at: Option<Ts>,
    pub media_url: String,
}

const PUBLIC_COLS: &str = "c.id, c.number, c.channel, c.request_type, c.state, c.disposition, c.title, c.description,
    c.category_code, c.category_name, c.address, c.lat_e6, c.lng_e6, c.owner_id, c.handler_id, c.received_at,
    c.updated_at, c.due_at, COALESCE(r.media_url, '') AS media_url";

fn bad(column: &str, v: &str) -> StoreError {
    StoreError::Decode {
        column: column.to_string(),
        message: format!("unknown value {v:?}"),
    }
}

fn public_row(r: Row<'_>) -> Result<PublicCase, StoreError> {
    let channel = r.text("channel")?;
    let rt = r.text("request_type")?;
    let state = r.text("state")?;
    Ok(PublicCase {
        id: r.uuid("id")?,
        number: r.text("number")?,
        channel: Channel::parse(&channel).ok_or_else(|| bad("channel", &channel))?,
        request_type: RequestType::parse(&rt).ok_or_else(|| bad("request_type", &rt))?,
        state: CaseState::parse(&state).ok_or_else(|| bad("state", &state))?,
        disposition: match r.opt_text("disposition")? {
            Some(d) => Some(Disposition::parse(&d).ok_or_else(|| bad("disposition", &d))?),
            None => None,
        },
        title: r.text("title")?,
        description: r.text("description")?,
        category_code: r.text("category_code")?,
        category_name: r.text("category_name")?,
        address: r.text("address")?,
        lat_e6: r.opt_i64("lat_e6")?,
        lng_e6: r.opt_i64("lng_e6")?,
        owner_id: r.uuid("owner_id")?,
        handler_id: r.opt_uuid("handler_id")?,
        received_at: r.ts("received_at")?,
        updated_at: r.ts("updated_at")?,
        due_at: r.opt_ts("due_at")?,
        media_url: r.text("media_url")?,
    })
}

/// Which cases of a tenant are public, and which of those a search wants.
#[derive(Debug, Clone, Default)]
pub struct PublicQuery {
    pub tenant: String,
    /// Channels whose cases are public.
    pub channels: Vec<Channel>,
    /// Request types never public (举报 protects the whistle-blower).
    pub hidden_types: Vec<RequestType>,
    /// Dispositions never public (涉密、隐私).
    pub hidden_dispositions: Vec<Disposition>,
    /// Case numbers; when given, the other filters below are ignored.
    pub numbers: Vec<String>,
    pub codes: Vec<String>,
    pub states: Vec<CaseState>,
    /// Received in `[from, to]`.
    pub from: Option<Ts>,
    pub to: Option<Ts>,
    /// Located inside `[lat_lo, lat_hi] × [lng_lo, lng_hi]` (degrees × 10^6).
    pub bbox: Option<[i64; 4]>,
    pub limit: i64,
    pub offset: i64,
}

/// Public cases matching the query, newest first.
pub async fn public_cases(db: &Db, q: &PublicQuery) -> Result<Vec<PublicCase>, StoreError> {
    if q.channels.is_empty() {
        return Ok(vec![]);
    }
    let mut p = Params::default();
    let mut wh = vec![format!("c.tenant = {}", p.push(q.tenant.clone()))];
    let list = |p: &mut Params, items: Vec<String>| -> String {
        items
            .into_iter()
            .map(|x| p.push(x))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let chans = list(&mut p, q.channels.iter().map(|c| c.key().into()).collect());
    wh.push(format!("c.channel IN ({chans})"));
    if !q.hidden_types.is_empty() {
        let t = list(
            &mut p,
            q.hidden_types.iter().map(|c| c.key().into()).collect(),
        );
        wh.push(format!("c.request_type NOT IN ({t})"));
    }
    if !q.hidden_dispositions.is_empty() {
        let d = list(
            &mut p,
            q.hidden_dispositions
                .iter()
                .map(|c| c.key().into())
                .collect(),
        );
        wh.push(format!(
            "(c.disposition IS NULL OR c.disposition NOT IN ({d}))"
        ));
    }
    if !q.numbers.is_empty() {
        let n = list(&mut p, q.numbers.clone());
        wh.push(format!("c.number IN ({n})"));
    } else {
        if !q.codes.is_empty() {
            let c = list(&mut p, q.codes.clone());
            wh.push(format!("c.category_code IN ({c})"));
        }
        if !q.states.is_empty() {
            let s = list(&mut p, q.states.iter().map(|s| s.key().into()).collect());
            wh.push(format!("c.state IN ({s})"));
        }
        if let Some(f) = q.from {
            wh.push(format!("c.received_at >= {}", p.push(f)));
        }
        if let Some(t) = q.to {
            wh.push(format!("c.received_at <= {}", p.push(t)));
        }
        if let Some([lat_lo, lat_hi, lng_lo, lng_hi]) = q.bbox {
            wh.push(format!(
                "c.lat_e6 BETWEEN {} AND {} AND c.lng_e6 BETWEEN {} AND {}",
                p.push(lat_lo),
                p.push(lat_hi),
                p.push(lng_lo),
                p.push(lng_hi)
            ));
        }
    }
    let limit = p.push(q.limit.clamp(1, 1000));
    let offset = p.push(q.offset.max(0));
    let sql = format!(
        "SELECT {PUBLIC_COLS} FROM cases c
         LEFT JOIN open311_requests r ON r.tenant = c.tenant AND r.case_id = c.id
         WHERE {} ORDER BY c.received_at DESC LIMIT {limit} OFFSET {offset}",
        wh.join(" AND ")
    );
    db.fetch_all(sql, p.args, public_row).await
}

/// The case number of a request filed through Open311 in `tenant`, by its token (the case id).
pub async fn number_by_token(
    db: &Db,
    tenant: &str,
    case_id: Uuid,
) -> Result<Option<String>, StoreError> {
    db.fetch_optional(
        "SELECT number FROM cases WHERE tenant = $1 AND id = $2 AND channel = 'open311'",
        args![tenant, case_id],
        |r| r.text("number"),
    )
    .await
}

/// The district units of the platform, at most `limit` (to find the only one).
pub async fn districts(db: &Db, limit: i64) -> Result<Vec<String>, StoreError> {
    db.fetch_all(
        "SELECT code FROM org_units WHERE kind = 'district' AND active = TRUE ORDER BY code LIMIT $1",
        args![limit],
        |r| r.text("code"),
    )
    .await
}
