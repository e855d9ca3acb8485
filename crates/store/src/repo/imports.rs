//! Import jobs (`import_jobs`): a registry import's state, progress and report, readable from
//! any server. Reads are by (tenant, id, user): a job is only ever its submitter's.

use linli_domain::Ts;
use uuid::Uuid;

use crate::args;
use crate::db::{Db, Row, StoreError};

#[derive(Debug, Clone)]
pub struct ImportJobRow {
    pub tenant: String,
    pub id: Uuid,
    pub user_id: Uuid,
    pub kind: String,
    pub mode: String,
    pub filename: String,
    /// `running`, `done` or `failed`.
    pub state: String,
    pub rows_done: i64,
    /// Rows in the file, as far as known (0 until known; a CSV's line count is an estimate).
    pub rows_total: i64,
    /// The JSON report, when done.
    pub report: Option<String>,
    pub error_key: Option<String>,
    pub error: Option<String>,
    pub created_at: Ts,
    pub heartbeat_at: Ts,
    pub finished_at: Option<Ts>,
}

const COLS: &str = "tenant, id, user_id, kind, mode, filename, state, rows_done, rows_total, report, \
                    error_key, error, created_at, heartbeat_at, finished_at";

fn job(r: Row<'_>) -> Result<ImportJobRow, StoreError> {
    Ok(ImportJobRow {
        tenant: r.text("tenant")?,
        id: r.uuid("id")?,
        user_id: r.uuid("user_id")?,
        kind: r.text("kind")?,
        mode: r.text("mode")?,
        filename: r.text("filename")?,
        state: r.text("state")?,
        rows_done: r.i64("rows_done")?,
        rows_total: r.i64("rows_total")?,
        report: r.opt_text("report")?,
        error_key: r.opt_text("error_key")?,
        error: r.opt_text("error")?,
        created_at: r.ts("created_at")?,
        heartbeat_at: r.ts("heartbeat_at")?,
        finished_at: r.opt_ts("finished_at")?,
    })
}

/// One write statement in its own transaction (through the engine's writer gate and retries).
async fn write(db: &Db, sql: &'static str, args: Vec<crate::Arg>) -> Result<u64, StoreError> {
    crate::retry(|| async {
        let mut tx = db.begin_write().await?;
        let n = tx.execute(sql, args.clone()).await?;
        tx.commit().await?;
        Ok::<_, StoreError>(n)
    })
    .await
}

pub async fn insert(db: &Db, j: &ImportJobRow) -> Result<(), StoreError> {
    write(
        db,
        "INSERT INTO import_jobs (tenant, id, user_id, kind, mode, filename, state, rows_done, \
         rows_total, report, error_key, error, created_at, heartbeat_at, finished_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        args![
            j.tenant.clone(),
            j.id,
            j.user_id,
            j.kind.clone(),
            j.mode.clone(),
            j.filename.clone(),
            j.state.clone(),
            j.rows_done,
            j.rows_total,
            j.report.clone(),
            j.error_key.clone(),
            j.error.clone(),
            j.created_at,
            j.heartbeat_at,
            j.finished_at
        ],
    )
    .await
    .map(|_| ())
}

/// Progress of a running job (and proof that its server is alive).
pub async fn beat(
    db: &Db,
    tenant: &str,
    id: Uuid,
    rows_done: i64,
    rows_total: i64,
    now: Ts,
) -> Result<(), StoreError> {
    write(
        db,
        "UPDATE import_jobs SET rows_done = $1, rows_total = $2, heartbeat_at = $3 \
         WHERE tenant = $4 AND id = $5 AND state = 'running'",
        args![rows_done, rows_total, now, tenant, id],
    )
    .await
    .map(|_| ())
}

/// A running job ends: `done` with its report, or `failed` with the error.
#[allow(clippy::too_many_arguments)]
pub async fn finish(
    db: &Db,
    tenant: &str,
    id: Uuid,
    state: &str,
    rows_done: i64,
    report: Option<String>,
    error: Option<(String, String)>,
    now: Ts,
) -> Result<(), StoreError> {
    let (key, message) = error.unzip();
    write(
        db,
        "UPDATE import_jobs SET state = $1, rows_done = $2, report = $3, error_key = $4, \
         error = $5, heartbeat_at = $6, finished_at = $7 \
         WHERE tenant = $8 AND id = $9 AND state = 'running'",
        args![state, rows_done, report, key, message, now, now, tenant, id],
    )
    .await
    .map(|_| ())
}

/// Mark running jobs whose heartbeat is older than `stale_before` failed (their server stopped).
/// System scope: run at start and before a read.
pub async fn fail_stale_system(
    db: &Db,
    stale_before: Ts,
    now: Ts,
    message: &str,
) -> Result<u64, StoreError> {
    crate::retry(|| async {
        let mut tx = db.begin_write().await?;
        let n = tx
            .execute(
                "UPDATE import_jobs SET state = 'failed', error_key = 'interrupted', error = $1, \
                 finished_at = $2 WHERE state = 'running' AND heartbeat_at < $3",
                args![message, now, stale_before],
            )
            .await?;
        tx.commit().await?;
        Ok::<_, StoreError>(n)
    })
    .await
}

/// A job, if `user_id` submitted it.
pub async fn get(
    db: &Db,
    tenant: &str,
    id: Uuid,
    user_id: Uuid,
) -> Result<Option<ImportJobRow>, StoreError> {
    db.fetch_optional(
        format!("SELECT {COLS} FROM import_jobs WHERE tenant = $1 AND id = $2 AND user_id = $3"),
        args![tenant, id, user_id],
        job,
    )
    .await
}

/// The user's latest jobs, newest first.
pub async fn list(
    db: &Db,
    tenant: &str,
    user_id: Uuid,
    limit: i64,
) -> Result<Vec<ImportJobRow>, StoreError> {
    db.fetch_all(
        format!(
            "SELECT {COLS} FROM import_jobs WHERE tenant = $1 AND user_id = $2 \
             ORDER BY id DESC LIMIT $3"
        ),
        args![tenant, user_id, limit],
        job,
    )
    .await
}
