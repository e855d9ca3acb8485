//! Imports as jobs: [`start`] checks who may import what, stores a `running` row in
//! `import_jobs` and runs the import in a task of this server; the task refreshes the row's
//! progress and heartbeat every [`BEAT`] and ends it `done` (with the report) or `failed`
//! (with the error's key and Chinese message). [`get`] answers from the table, so any server
//! can — and only to the user who submitted the job.
//!
//! A job whose server stopped keeps `running` with a heartbeat that no longer moves: it is
//! marked failed ([`fail_stale`]) at every start, and by a read that finds it, once the
//! heartbeat is older than [`STALE`].

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use linli_domain::Ts;
use linli_domain::auth::Permission;
use linli_domain::org::tenant_of_path;
use linli_store::repo::imports::{self as repo, ImportJobRow};
use serde::Serialize;
use uuid::Uuid;

use super::{KindName, Mode, Report};
use crate::{App, AppError, Principal, Result};

/// How often a running job writes its progress.
pub const BEAT: Duration = Duration::from_secs(2);
/// A running job silent for this long has lost its server.
pub const STALE: Duration = Duration::from_secs(30);

const INTERRUPTED: &str =
    "导入因服务重启或中断而未完成，请重新上传（已写入的批次保留，可再次导入，已登记的行会被识别）";

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct JobView {
    pub id: Uuid,
    pub kind: String,
    pub kind_label: String,
    pub mode: String,
    pub filename: String,
    /// `running`, `done` or `failed`.
    pub state: String,
    /// Rows read so far.
    pub rows_done: u64,
    /// Rows in the file as far as known (0 until known; for CSV an estimate from its lines).
    pub rows_total: u64,
    /// 0–100.
    pub percent: u8,
    /// When done.
    pub report: Option<Report>,
    /// When failed: the error's stable key and Chinese message.
    pub error_key: Option<String>,
    pub error: Option<String>,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// The same in China Standard Time, for display (`2026-12-04 10:51`).
    pub created_cst: String,
    pub finished_at: Option<String>,
}

fn view(j: ImportJobRow) -> JobView {
    let percent = if j.state != "running" {
        100
    } else if j.rows_total > 0 {
        (j.rows_done.max(0) * 100 / j.rows_total).min(99) as u8
    } else {
        0
    };
    let kind_label = KindName::parse(&j.kind)
        .map(|k| k.spec().label.to_string())
        .unwrap_or_default();
    JobView {
        id: j.id,
        kind: j.kind,
        kind_label,
        mode: j.mode,
        filename: j.filename,
        state: j.state,
        rows_done: j.rows_done.max(0) as u64,
        rows_total: j.rows_total.max(0) as u64,
        percent,
        report: j.report.and_then(|r| serde_json::from_str(&r).ok()),
        error_key: j.error_key,
        error: j.error,
        created_at: j.created_at.rfc3339(),
        created_cst: j.created_at.display_cst(),
        finished_at: j.finished_at.map(Ts::rfc3339),
    }
}

/// Mark jobs whose server went silent failed (system scope: at start, and before reads).
pub async fn fail_stale(app: &App) -> Result<u64> {
    let now = app.now();
    let before = Ts(now.0 - STALE.as_micros() as i64);
    Ok(repo::fail_stale_system(&app.db, before, now, INTERRUPTED).await?)
}

/// Start importing (or checking) `bytes` as `kind`; returns the job at once.
pub async fn start(
    app: &App,
    p: &Principal,
    kind: KindName,
    mode: Mode,
    filename: &str,
    bytes: Vec<u8>,
) -> Result<JobView> {
    p.require(Permission::RegistryImport)?;
    if mode == Mode::Valid {
        p.require(Permission::RegistryWrite)?;
    }
    if bytes.is_empty() {
        return Err(AppError::invalid("empty_file", "文件是空的"));
    }
    let filename: String = filename
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    let now = app.now();
    let job = ImportJobRow {
        tenant: tenant_of_path(&p.unit_path),
        id: Uuid::now_v7(),
        user_id: p.user_id,
        kind: kind.spec().name.into(),
        mode: mode.key().into(),
        filename: filename.clone(),
        state: "running".into(),
        rows_done: 0,
        rows_total: 0,
        report: None,
        error_key: None,
        error: None,
        created_at: now,
        heartbeat_at: now,
        finished_at: None,
    };
    repo::insert(&app.db, &job).await?;
    let (app2, p2, tenant, id) = (app.clone(), p.clone(), job.tenant.clone(), job.id);
    tokio::spawn(async move {
        run(&app2, &p2, &tenant, id, kind, mode, filename, bytes).await;
    });
    Ok(view(job))
}

#[allow(clippy::too_many_arguments)]
async fn run(
    app: &App,
    p: &Principal,
    tenant: &str,
    id: Uuid,
    kind: KindName,
    mode: Mode,
    filename: String,
    bytes: Vec<u8>,
) {
    let done = Arc::new(AtomicU64::new(0));
    let total = Arc::new(AtomicU64::new(0));
    // The heartbeat: progress every BEAT while the import runs.
    let beat = {
        let (app, tenant, done, total) =
            (app.clone(), tenant.to_string(), done.clone(), total.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(BEAT);
            tick.tick().await;
            loop {
                tick.tick().await;
                let n = done.load(Ordering::Relaxed) as i64;
                let t = total.load(Ordering::Relaxed) as i64;
                if let Err(e) = repo::beat(&app.db, &tenant, id, n, t, app.now()).await {
                    tracing::warn!(job = %id, error = %e, "import job heartbeat failed");
                }
            }
        })
    };
    let result = async {
        // Parsing an xlsx is CPU work of its own: off the async threads. The total is exact
        // for a workbook (its rows are in memory) and the line count for a CSV.
        let (rows, n) = tokio::task::spawn_blocking(move || {
            let lines = bytes.iter().filter(|b| **b == b'\n').count() as u64;
            let ends_open = bytes.last().is_some_and(|b| *b != b'\n');
            let rows = crate::sheet::rows(&filename, bytes)?;
            let n = match rows.size_hint() {
                (lo, Some(hi)) if lo == hi => lo as u64,
                _ => lines + u64::from(ends_open),
            };
            Ok::<_, AppError>((rows, n.saturating_sub(1)))
        })
        .await
        .map_err(|e| AppError::Internal(format!("import parse task: {e}")))??;
        total.store(n, Ordering::Relaxed);
        let d = done.clone();
        kind.run(app, p, rows, mode, &move |n| d.store(n, Ordering::Relaxed))
            .await
    }
    .await;
    beat.abort();
    let rows = done.load(Ordering::Relaxed) as i64;
    let now = app.now();
    let outcome = match result {
        Ok(report) => {
            tracing::info!(job = %id, kind = kind.spec().name, rows = report.rows,
                imported = report.imported, invalid = report.invalid, "import job done");
            let json = serde_json::to_string(&report).unwrap_or_default();
            repo::finish(
                &app.db,
                tenant,
                id,
                "done",
                report.rows as i64,
                Some(json),
                None,
                now,
            )
            .await
        }
        Err(e) => {
            tracing::info!(job = %id, kind = kind.spec().name, key = e.key(), "import job failed");
            let message = match &e {
                // Internal details stay in the log, not in the user's answer.
                AppError::Invalid { .. } => e.message(),
                _ => "导入失败：服务器内部错误，已写入的批次保留".to_string(),
            };
            repo::finish(
                &app.db,
                tenant,
                id,
                "failed",
                rows,
                None,
                Some((e.key().to_string(), message)),
                now,
            )
            .await
        }
    };
    if let Err(e) = outcome {
        tracing::error!(job = %id, error = %e, "import job could not record its end");
    }
}

/// Whether a row still says `running` although its server has gone silent.
fn is_stale(app: &App, j: &ImportJobRow) -> bool {
    j.state == "running" && j.heartbeat_at.0 < app.now().0 - STALE.as_micros() as i64
}

/// A job of the caller's (anyone else's is "not found").
pub async fn get(app: &App, p: &Principal, id: Uuid) -> Result<JobView> {
    p.require(Permission::RegistryImport)?;
    let tenant = tenant_of_path(&p.unit_path);
    let mut found = repo::get(&app.db, &tenant, id, p.user_id).await?;
    // Reads write only when there is something to repair.
    if found.as_ref().is_some_and(|j| is_stale(app, j)) {
        fail_stale(app).await?;
        found = repo::get(&app.db, &tenant, id, p.user_id).await?;
    }
    found.map(view).ok_or(AppError::NotFound("导入任务"))
}

/// The caller's latest jobs.
pub async fn mine(app: &App, p: &Principal, limit: i64) -> Result<Vec<JobView>> {
    p.require(Permission::RegistryImport)?;
    let tenant = tenant_of_path(&p.unit_path);
    let limit = limit.clamp(1, 50);
    let mut rows = repo::list(&app.db, &tenant, p.user_id, limit).await?;
    if rows.iter().any(|j| is_stale(app, j)) {
        fail_stale(app).await?;
        rows = repo::list(&app.db, &tenant, p.user_id, limit).await?;
    }
    Ok(rows.into_iter().map(view).collect())
}
