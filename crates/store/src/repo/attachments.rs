//! Case attachments: the row that describes a file kept in blob storage (what was checked about
//! it, where it is, which case and timeline step it belongs to). The bytes are not here.
//! Callers pass an exact (tenant, id) or (tenant, case) they have already authorised.

use linli_domain::Ts;
use uuid::Uuid;

use crate::args;
use crate::db::{Db, Params, Row, StoreError, Tx};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentRow {
    pub tenant: String,
    pub id: Uuid,
    pub case_id: Uuid,
    /// The timeline step (case version) that used the file; `None` until linked.
    pub event_seq: Option<i64>,
    /// `image` or `audio`.
    pub kind: String,
    pub mime: String,
    pub size: i64,
    /// Lower-case hex SHA-256 of the content.
    pub sha256: String,
    pub storage_key: String,
    pub filename: String,
    pub uploaded_by: Option<Uuid>,
    pub created_at: Ts,
}

const SELECT: &str =
    "SELECT tenant, id, case_id, event_seq, kind, mime, size, sha256, storage_key, filename,
    uploaded_by, created_at FROM attachments";

fn from_row(r: Row<'_>) -> Result<AttachmentRow, StoreError> {
    Ok(AttachmentRow {
        tenant: r.text("tenant")?,
        id: r.uuid("id")?,
        case_id: r.uuid("case_id")?,
        event_seq: r.opt_i64("event_seq")?,
        kind: r.text("kind")?,
        mime: r.text("mime")?,
        size: r.i64("size")?,
        sha256: r.text("sha256")?,
        storage_key: r.text("storage_key")?,
        filename: r.text("filename")?,
        uploaded_by: r.opt_uuid("uploaded_by")?,
        created_at: r.ts("created_at")?,
    })
}

pub async fn insert(tx: &mut Tx, a: &AttachmentRow) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO attachments (tenant, id, case_id, event_seq, kind, mime, size, sha256, storage_key, filename,
            uploaded_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        args![
            a.tenant.clone(), a.id, a.case_id, a.event_seq, a.kind.clone(), a.mime.clone(), a.size,
            a.sha256.clone(), a.storage_key.clone(), a.filename.clone(), a.uploaded_by, a.created_at
        ],
    )
    .await?;
    Ok(())
}

pub async fn get(db: &Db, tenant: &str, id: Uuid) -> Result<Option<AttachmentRow>, StoreError> {
    db.fetch_optional(
        format!("{SELECT} WHERE tenant = $1 AND id = $2"),
        args![tenant, id],
        from_row,
    )
    .await
}

/// The rows among `ids` that exist in `tenant` (at most 1000 ids; callers link a handful).
pub async fn get_many_tx(
    tx: &mut Tx,
    tenant: &str,
    ids: &[Uuid],
) -> Result<Vec<AttachmentRow>, StoreError> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let mut p = Params::default();
    let t = p.push(tenant);
    let list: Vec<String> = ids.iter().take(1000).map(|i| p.push(*i)).collect();
    let sql = format!(
        "{SELECT} WHERE tenant = {t} AND id IN ({}) ORDER BY created_at, id",
        list.join(", ")
    );
    tx.fetch_all(sql, p.args, from_row).await
}

/// A case's attachments, oldest first (a case carries a few dozen at most).
pub async fn list_by_case(
    db: &Db,
    tenant: &str,
    case_id: Uuid,
) -> Result<Vec<AttachmentRow>, StoreError> {
    db.fetch_all(
        format!("{SELECT} WHERE tenant = $1 AND case_id = $2 ORDER BY created_at, id"),
        args![tenant, case_id],
        from_row,
    )
    .await
}

/// Link an attachment of `case_id` that is not yet linked to the timeline step `seq`.
/// Returns false (and changes nothing) when the row is missing, belongs to another case or is
/// already linked: a compare-and-set, so two steps racing for one file cannot both take it.
pub async fn set_event_seq(
    tx: &mut Tx,
    tenant: &str,
    id: Uuid,
    case_id: Uuid,
    seq: i64,
) -> Result<bool, StoreError> {
    let n = tx
        .execute(
            "UPDATE attachments SET event_seq = $1
             WHERE tenant = $2 AND id = $3 AND case_id = $4 AND event_seq IS NULL",
            args![seq, tenant, id, case_id],
        )
        .await?;
    Ok(n == 1)
}
