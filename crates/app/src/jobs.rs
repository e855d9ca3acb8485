//! Background jobs run inside `linli serve`: the deadline sweeper (which also applies the
//! registry's retention rule), and the intake classifier's loading and scheduled retraining
//! ([`run_models`]).
//!
//! Every server runs the loop; a lease in the database ([`linli_store::repo::jobs`]) lets one
//! of them sweep at a time, and a dead server's lease lapses after four sweep intervals. Correctness
//! does not rest on the lease: each alarm is a versioned step that records its mark, so even two
//! sweepers racing raise every warning exactly once. A restart simply picks up whatever alarms
//! fell due meanwhile (they are found by time, not by a queue that could be lost).

use std::time::Duration;

use linli_store::repo::jobs;

use crate::{App, Result, bootstrap, cases, intake};

pub const SWEEPER: &str = "deadline_sweeper";
pub const BATCH: i64 = 500;

/// One attempt: take the lease for `lease_secs` and, if ours, sweep. Returns the alarms raised
/// (None: another server holds the lease).
pub async fn sweep_once(app: &App, owner: &str, lease_secs: i64) -> Result<Option<usize>> {
    let now = app.now();
    if !jobs::acquire(&app.db, SWEEPER, owner, now, now.plus_secs(lease_secs)).await? {
        return Ok(None);
    }
    let sys = bootstrap::system_principal(app, cases::sweeper_ctx()).await?;
    let raised = cases::sweep(app, &sys, BATCH).await?
        + crate::whistle::sweep_late(app, &sys, app.now(), BATCH).await?
        + crate::registry::residents::sweep_retention(
            app,
            &sys,
            app.cfg.registry_retention_years,
            BATCH,
        )
        .await?;
    jobs::finish(
        &app.db,
        SWEEPER,
        owner,
        app.now(),
        &format!("raised {raised}"),
    )
    .await?;
    Ok(Some(raised))
}

/// Sweep every `every` until the process ends, holding the lease for four intervals (so a
/// stopped server's turn passes to another within that time). Errors are logged and retried
/// next round.
pub async fn run_sweeper(app: App, owner: String, every: Duration) {
    let lease = (every.as_secs() as i64 * 4).max(4);
    loop {
        match sweep_once(&app, &owner, lease).await {
            Ok(Some(n)) if n > 0 => tracing::info!(alarms = n, "deadline sweep"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "deadline sweep failed"),
        }
        tokio::time::sleep(every).await;
    }
}

/// Every `every`: load the district classifier models other servers trained, and retrain those
/// whose schedule is due (`classifier_retrain_hours`). Training takes a while, so this loop is
/// apart from the sweeper's.
pub async fn run_models(app: App, owner: String, every: Duration) {
    loop {
        if let Err(e) = intake::refresh(&app).await {
            tracing::warn!(error = %e, "loading classifier models failed");
        }
        if let Err(e) = intake::retrain_due(&app, &owner, app.cfg.classifier_retrain_hours).await {
            tracing::warn!(error = %e, "classifier retraining failed");
        }
        tokio::time::sleep(every).await;
    }
}
