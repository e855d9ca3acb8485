//! Case attachments: photos and voice recordings that come with a request or a step of its
//! handling (接诉即办条例 Art. 8).
//!
//! A file is checked by its content ([`linli_domain::media`]), its bytes go to the blob store
//! under a content-addressed key, and a row in `attachments` records what was checked and where
//! it lives. A later step of the case links the files it used ([`link`]) in its own
//! transaction. Reading a file back verifies it against the recorded SHA-256.
//!
//! **These functions do not check permissions.** The case use cases call them after they have
//! established that the caller may act on (or see) the case, and they write the audit row and
//! timeline entry for the step; nothing here should be reachable from a handler directly.

use linli_domain::Ts;
use linli_domain::media::{self, MediaKind};
use linli_store::Tx;
use linli_store::repo::attachments::{self as repo, AttachmentRow};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::blobs::{BlobError, content_key};
use crate::{App, AppError, Result};

/// Most files one step of a case may carry.
pub const MAX_PER_STEP: usize = 20;

/// An accepted, stored file of a case.
#[derive(Clone, PartialEq, Eq)]
pub struct Attachment {
    pub id: Uuid,
    pub tenant: String,
    pub case_id: Uuid,
    /// The timeline step that used the file; `None` until [`link`]ed.
    pub event_seq: Option<i64>,
    pub kind: MediaKind,
    /// The MIME type found by content; serve the file with this type and nothing else.
    pub mime: String,
    pub size: i64,
    /// Lower-case hex SHA-256 of the content.
    pub sha256: String,
    /// The original name made safe for display ([`media::sanitize_filename`]).
    pub filename: String,
    pub uploaded_by: Option<Uuid>,
    pub created_at: Ts,
}

// File names are written by residents and may name people or places: keep them out of logs.
impl std::fmt::Debug for Attachment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attachment")
            .field("id", &self.id)
            .field("tenant", &self.tenant)
            .field("case_id", &self.case_id)
            .field("event_seq", &self.event_seq)
            .field("kind", &self.kind)
            .field("mime", &self.mime)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl Attachment {
    fn from_row(r: AttachmentRow) -> Result<Attachment> {
        let kind = MediaKind::parse(&r.kind)
            .ok_or_else(|| AppError::Internal(format!("attachment {}: bad kind", r.id)))?;
        Ok(Attachment {
            id: r.id,
            tenant: r.tenant,
            case_id: r.case_id,
            event_seq: r.event_seq,
            kind,
            mime: r.mime,
            size: r.size,
            sha256: r.sha256,
            filename: r.filename,
            uploaded_by: r.uploaded_by,
            created_at: r.created_at,
        })
    }

    /// Where the content lives in the blob store.
    pub fn storage_key(&self) -> Result<String> {
        Ok(content_key(&self.tenant, &self.sha256)?)
    }
}

/// Check `bytes` by content and size, take a photo's metadata out (GPS position, camera,
/// time: [`media::strip_metadata`]), store what is left, and record the file as an attachment of
/// `case_id` not yet linked to any step.
///
/// Does not check permissions (see the module comment). Refusals carry the keys
/// `empty_file`, `unsupported_media`, `damaged_media` and `too_large` with a Chinese message. The blob is
/// written before the row: if the row then fails, what is left is an unreferenced blob, which is
/// harmless (content-addressed, so a later upload of the same content reuses it).
pub async fn save(
    app: &App,
    tenant: &str,
    case_id: Uuid,
    uploaded_by: Option<Uuid>,
    filename: &str,
    bytes: &[u8],
) -> Result<Attachment> {
    let (found, clean) = media::accept(bytes, &app.media)
        .map_err(|refusal| AppError::invalid(refusal.key(), refusal.message()))?;
    let bytes = clean.as_slice();
    let sha256 = hex::encode(Sha256::digest(bytes));
    let storage_key = content_key(tenant, &sha256)?;
    let size = i64::try_from(bytes.len())
        .map_err(|_| AppError::Internal("attachment size out of range".into()))?;
    app.blobs.put(&storage_key, bytes).await?;

    let row = AttachmentRow {
        tenant: tenant.to_string(),
        id: Uuid::now_v7(),
        case_id,
        event_seq: None,
        kind: found.kind.as_str().to_string(),
        mime: found.mime.to_string(),
        size,
        sha256,
        storage_key,
        filename: media::sanitize_filename(filename),
        uploaded_by,
        created_at: app.now(),
    };
    write_tx!(app, |tx| {
        repo::insert(&mut tx, &row).await?;
    })?;
    tracing::debug!(attachment = %row.id, case = %case_id, kind = found.kind.as_str(), size, "attachment stored");
    Attachment::from_row(row)
}

/// One attachment by its exact key. Does not check permissions (see the module comment): the
/// caller must then check that the caller may see `case_id` of the result.
pub async fn get(app: &App, tenant: &str, id: Uuid) -> Result<Option<Attachment>> {
    repo::get(&app.db, tenant, id)
        .await?
        .map(Attachment::from_row)
        .transpose()
}

/// The content of an attachment, verified: bytes whose SHA-256 or length differ from what was
/// recorded at upload are an error, never served. A missing blob is an error too. Does not check
/// permissions (see the module comment).
pub async fn read(app: &App, a: &Attachment) -> Result<Vec<u8>> {
    let key = a.storage_key()?;
    let bytes = match app.blobs.get(&key).await {
        Ok(b) => b,
        Err(BlobError::NotFound) => {
            tracing::error!(attachment = %a.id, case = %a.case_id, "attachment content missing from the blob store");
            return Err(AppError::Internal(format!(
                "attachment {} content missing",
                a.id
            )));
        }
        Err(e) => return Err(e.into()),
    };
    let actual = hex::encode(Sha256::digest(&bytes));
    if actual != a.sha256 || bytes.len() as u64 != a.size as u64 {
        tracing::error!(attachment = %a.id, case = %a.case_id, "attachment content does not match its recorded SHA-256");
        return Err(AppError::Internal(format!(
            "attachment {} failed its integrity check",
            a.id
        )));
    }
    Ok(bytes)
}

/// The attachments of a case, oldest first. Does not check permissions (see the module
/// comment).
pub async fn list_for_case(app: &App, tenant: &str, case_id: Uuid) -> Result<Vec<Attachment>> {
    repo::list_by_case(&app.db, tenant, case_id)
        .await?
        .into_iter()
        .map(Attachment::from_row)
        .collect()
}

/// Link attachments to the timeline step `seq` of `case_id`, inside the caller's transaction
/// (the one that writes the step). Every id must be an attachment of this case not yet linked to
/// any step; otherwise nothing is linked and the step fails: ids that do not exist or belong to
/// another case are `not_found` (indistinguishable on purpose), ids already used by a step are
/// `attachment_already_linked`. Repeated ids count once. Does not check permissions (see the
/// module comment).
pub async fn link(tx: &mut Tx, tenant: &str, ids: &[Uuid], case_id: Uuid, seq: i64) -> Result<()> {
    let mut wanted: Vec<Uuid> = ids.to_vec();
    wanted.sort();
    wanted.dedup();
    if wanted.is_empty() {
        return Ok(());
    }
    if wanted.len() > MAX_PER_STEP {
        return Err(AppError::invalid(
            "too_many_attachments",
            format!("每一步最多附 {MAX_PER_STEP} 个文件"),
        ));
    }
    let rows = repo::get_many_tx(tx, tenant, &wanted).await?;
    if rows.len() != wanted.len() || rows.iter().any(|r| r.case_id != case_id) {
        return Err(AppError::NotFound("附件"));
    }
    if rows.iter().any(|r| r.event_seq.is_some()) {
        return Err(already_linked());
    }
    for id in &wanted {
        // Compare-and-set: another step may have taken the file since it was read above.
        if !repo::set_event_seq(tx, tenant, *id, case_id, seq).await? {
            return Err(already_linked());
        }
    }
    Ok(())
}

fn already_linked() -> AppError {
    AppError::invalid(
        "attachment_already_linked",
        "附件已用于本案件的其他处理步骤，请重新上传",
    )
}

#[cfg(test)]
mod tests;
