//! 吹哨报到: the whistle catalogue (versions of kind `whistle`), whistles and their calls.

use linli_domain::Ts;
use linli_domain::whistle::{Call, ItemLevel};
use uuid::Uuid;

use crate::args;
use crate::db::{Db, Row, StoreError, Tx};

/// A catalogue row as stored.
#[derive(Debug, Clone)]
pub struct StoredItem {
    pub id: Uuid,
    pub version: i64,
    pub item: ItemLevel,
}

/// Write a new active version of a tenant's whistle catalogue (the previous one retires).
pub async fn publish(
    tx: &mut Tx,
    tenant: &str,
    items: &[ItemLevel],
    source: &str,
    by: Option<Uuid>,
    now: Ts,
) -> Result<i64, StoreError> {
    let version = tx
        .fetch_one_i64(
            "SELECT COALESCE(MAX(version), 0) + 1 FROM catalogue_versions WHERE tenant = $1 AND kind = 'whistle'",
            args![tenant],
        )
        .await?;
    tx.execute(
        "UPDATE catalogue_versions SET status = 'retired' WHERE tenant = $1 AND kind = 'whistle' AND status = 'active'",
        args![tenant],
    )
    .await?;
    let vid = linli_domain::ids::new_id();
    tx.execute(
        "INSERT INTO catalogue_versions (tenant, id, kind, version, status, source, note, item_count, created_by,
            created_at, activated_at) VALUES ($1, $2, 'whistle', $3, 'active', $4, '', $5, $6, $7, $7)",
        args![tenant, vid, version, source, items.len() as i64, by, now],
    )
    .await?;
    for it in items {
        tx.execute(
            "INSERT INTO whistle_items (tenant, version_id, id, code, category, item, level, departments,
                respond_minutes, report_minutes) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            args![
                tenant,
                vid,
                linli_domain::ids::new_id(),
                it.code.clone(),
                it.category.clone(),
                it.item.clone(),
                i64::from(it.level),
                it.departments.join(";"),
                i64::from(it.respond_minutes),
                i64::from(it.report_minutes)
            ],
        )
        .await?;
    }
    Ok(version)
}

fn item_from_row(r: Row<'_>) -> Result<StoredItem, StoreError> {
    Ok(StoredItem {
        id: r.uuid("id")?,
        version: r.i64("version")?,
        item: ItemLevel {
            code: r.text("code")?,
            category: r.text("category")?,
            item: r.text("item")?,
            level: u8::try_from(r.i64("level")?).unwrap_or(1),
            departments: r
                .text("departments")?
                .split(';')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            respond_minutes: u32::try_from(r.i64("respond_minutes")?).unwrap_or(0),
            report_minutes: u32::try_from(r.i64("report_minutes")?).unwrap_or(0),
        },
    })
}

const ITEM_SELECT: &str = "SELECT i.id, v.version, i.code, i.category, i.item, i.level, i.departments, i.respond_minutes,
    i.report_minutes FROM whistle_items i JOIN catalogue_versions v ON v.tenant = i.tenant AND v.id = i.version_id";

/// The active catalogue of a tenant, in catalogue order.
pub async fn active_items(db: &Db, tenant: &str) -> Result<Vec<StoredItem>, StoreError> {
    db.fetch_all(
        format!(
            "{ITEM_SELECT} WHERE i.tenant = $1 AND v.kind = 'whistle' AND v.status = 'active' ORDER BY i.code, i.level"
        ),
        args![tenant],
        item_from_row,
    )
    .await
}

pub async fn item(db: &Db, tenant: &str, id: Uuid) -> Result<Option<StoredItem>, StoreError> {
    db.fetch_optional(
        format!("{ITEM_SELECT} WHERE i.tenant = $1 AND i.id = $2"),
        args![tenant, id],
        item_from_row,
    )
    .await
}

/// A whistle as stored.
#[derive(Debug, Clone)]
pub struct Whistle {
    pub tenant: String,
    pub id: Uuid,
    pub case_id: Uuid,
    pub street_id: Uuid,
    pub item_id: Uuid,
    pub item_name: String,
    pub level: i64,
    pub situation: String,
    pub reason: String,
    pub state: String,
    pub blown_by: Option<Uuid>,
    pub blown_at: Ts,
    pub closed_by: Option<Uuid>,
    pub closed_at: Option<Ts>,
    pub close_note: String,
    pub version: i64,
}

const WHISTLE_SELECT: &str =
    "SELECT tenant, id, case_id, street_id, item_id, item_name, level, situation, reason, state,
    blown_by, blown_at, closed_by, closed_at, close_note, version FROM whistles";

fn whistle_from_row(r: Row<'_>) -> Result<Whistle, StoreError> {
    Ok(Whistle {
        tenant: r.text("tenant")?,
        id: r.uuid("id")?,
        case_id: r.uuid("case_id")?,
        street_id: r.uuid("street_id")?,
        item_id: r.uuid("item_id")?,
        item_name: r.text("item_name")?,
        level: r.i64("level")?,
        situation: r.text("situation")?,
        reason: r.text("reason")?,
        state: r.text("state")?,
        blown_by: r.opt_uuid("blown_by")?,
        blown_at: r.ts("blown_at")?,
        closed_by: r.opt_uuid("closed_by")?,
        closed_at: r.opt_ts("closed_at")?,
        close_note: r.text("close_note")?,
        version: r.i64("version")?,
    })
}

pub async fn insert(tx: &mut Tx, w: &Whistle) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO whistles (tenant, id, case_id, street_id, item_id, item_name, level, situation, reason, state,
            blown_by, blown_at, closed_by, closed_at, close_note, version)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        args![
            w.tenant.clone(),
            w.id,
            w.case_id,
            w.street_id,
            w.item_id,
            w.item_name.clone(),
            w.level,
            w.situation.clone(),
            w.reason.clone(),
            w.state.clone(),
            w.blown_by,
            w.blown_at,
            w.closed_by,
            w.closed_at,
            w.close_note.clone(),
            w.version
        ],
    )
    .await?;
    Ok(())
}

pub async fn get(db: &Db, id: Uuid) -> Result<Option<Whistle>, StoreError> {
    db.fetch_optional(
        format!("{WHISTLE_SELECT} WHERE id = $1"),
        args![id],
        whistle_from_row,
    )
    .await
}

pub async fn for_case(db: &Db, tenant: &str, case_id: Uuid) -> Result<Vec<Whistle>, StoreError> {
    db.fetch_all(
        format!("{WHISTLE_SELECT} WHERE tenant = $1 AND case_id = $2 ORDER BY blown_at"),
        args![tenant, case_id],
        whistle_from_row,
    )
    .await
}

/// Close a whistle if it is still open at `version`.
pub async fn close(
    tx: &mut Tx,
    w: &Whistle,
    by: Uuid,
    now: Ts,
    note: &str,
) -> Result<bool, StoreError> {
    let n = tx
        .execute(
            "UPDATE whistles SET state = 'closed', closed_by = $1, closed_at = $2, close_note = $3, version = version + 1
             WHERE tenant = $4 AND id = $5 AND version = $6 AND state = 'open'",
            args![by, now, note, w.tenant.clone(), w.id, w.version],
        )
        .await?;
    Ok(n == 1)
}

/// A call as stored, with the department's path and the people's notes.
#[derive(Debug, Clone)]
pub struct StoredCall {
    pub tenant: String,
    pub whistle_id: Uuid,
    pub dept_path: String,
    pub call: Call,
    pub responded_by: Option<Uuid>,
    pub response_note: String,
    pub reported_by: Option<Uuid>,
    pub report_person: String,
    pub report_photo: Option<Uuid>,
    pub rating_note: String,
}

const CALL_SELECT: &str = "SELECT tenant, whistle_id, dept_id, dept_path, respond_due, report_due, responded_at,
    responded_by, response_note, reported_at, reported_by, report_person, report_photo, late_response, late_report,
    rating, rating_note FROM whistle_calls";

fn call_from_row(r: Row<'_>) -> Result<StoredCall, StoreError> {
    Ok(StoredCall {
        tenant: r.text("tenant")?,
        whistle_id: r.uuid("whistle_id")?,
        dept_path: r.text("dept_path")?,
        call: Call {
            dept: r.uuid("dept_id")?,
            respond_due: r.ts("respond_due")?,
            report_due: r.ts("report_due")?,
            responded_at: r.opt_ts("responded_at")?,
            reported_at: r.opt_ts("reported_at")?,
            late_response: r.opt_bool("late_response")?,
            late_report: r.opt_bool("late_report")?,
            rating: r.opt_i64("rating")?.and_then(|v| u8::try_from(v).ok()),
        },
        responded_by: r.opt_uuid("responded_by")?,
        response_note: r.text("response_note")?,
        reported_by: r.opt_uuid("reported_by")?,
        report_person: r.text("report_person")?,
        report_photo: r.opt_uuid("report_photo")?,
        rating_note: r.text("rating_note")?,
    })
}

pub async fn insert_call(tx: &mut Tx, c: &StoredCall) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO whistle_calls (tenant, whistle_id, dept_id, dept_path, respond_due, report_due)
         VALUES ($1, $2, $3, $4, $5, $6)",
        args![
            c.tenant.clone(),
            c.whistle_id,
            c.call.dept,
            c.dept_path.clone(),
            c.call.respond_due,
            c.call.report_due
        ],
    )
    .await?;
    Ok(())
}

pub async fn calls(db: &Db, tenant: &str, whistle_id: Uuid) -> Result<Vec<StoredCall>, StoreError> {
    db.fetch_all(
        format!("{CALL_SELECT} WHERE tenant = $1 AND whistle_id = $2 ORDER BY dept_path"),
        args![tenant, whistle_id],
        call_from_row,
    )
    .await
}

/// Write a call's progress if it still is as `before` says (a compare-and-set on the fields a
/// step changes, so two clicks or a click and the sweeper cannot both win).
pub async fn update_call(
    tx: &mut Tx,
    before: &StoredCall,
    after: &StoredCall,
) -> Result<bool, StoreError> {
    let (b, a) = (&before.call, &after.call);
    let n = tx
        .execute(
            "UPDATE whistle_calls SET responded_at = $1, responded_by = $2, response_note = $3, reported_at = $4,
                reported_by = $5, report_person = $6, report_photo = $7, late_response = $8, late_report = $9,
                rating = $10, rating_note = $11
             WHERE tenant = $12 AND whistle_id = $13 AND dept_id = $14
               AND COALESCE(responded_at, -1) = $15 AND COALESCE(reported_at, -1) = $16
               AND COALESCE(rating, -1) = $17
               AND (CASE WHEN late_response IS NULL THEN -1 WHEN late_response THEN 1 ELSE 0 END) = $18
               AND (CASE WHEN late_report IS NULL THEN -1 WHEN late_report THEN 1 ELSE 0 END) = $19",
            args![
                a.responded_at,
                after.responded_by,
                after.response_note.clone(),
                a.reported_at,
                after.reported_by,
                after.report_person.clone(),
                after.report_photo,
                a.late_response,
                a.late_report,
                a.rating.map(i64::from),
                after.rating_note.clone(),
                before.tenant.clone(),
                before.whistle_id,
                b.dept,
                b.responded_at.map_or(-1, |t| t.0),
                b.reported_at.map_or(-1, |t| t.0),
                b.rating.map_or(-1, i64::from),
                tri(b.late_response),
                tri(b.late_report)
            ],
        )
        .await?;
    Ok(n == 1)
}

fn tri(v: Option<bool>) -> i64 {
    match v {
        None => -1,
        Some(true) => 1,
        Some(false) => 0,
    }
}

/// Calls of open whistles whose response or report-in limit passed with nothing done and no
/// mark yet (the sweeper's whistle work list).
pub async fn silent_calls(db: &Db, now: Ts, limit: i64) -> Result<Vec<StoredCall>, StoreError> {
    let cols = CALL_SELECT
        .trim_start_matches("SELECT ")
        .split(" FROM ")
        .next()
        .unwrap_or("")
        .split(',')
        .map(|c| format!("c.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    db.fetch_all(
        format!(
            "SELECT {cols} FROM whistle_calls c JOIN whistles w ON w.tenant = c.tenant AND w.id = c.whistle_id
             WHERE w.state = 'open' AND (
                (c.responded_at IS NULL AND c.late_response IS NULL AND c.respond_due < $1)
                OR (c.reported_at IS NULL AND c.late_report IS NULL AND c.report_due < $1))
             LIMIT $2"
        ),
        args![now, limit],
        call_from_row,
    )
    .await
}
