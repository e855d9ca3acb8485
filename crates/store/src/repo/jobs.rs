//! Leases for background jobs: several servers on one database take turns, and a server that
//! dies loses its lease when it runs out.

use linli_domain::Ts;

use crate::args;
use crate::db::{Db, StoreError};

/// Take (or renew) the lease on `name` for `owner` until `until`, if it is free, expired or
/// already ours. True when we hold it.
pub async fn acquire(
    db: &Db,
    name: &str,
    owner: &str,
    now: Ts,
    until: Ts,
) -> Result<bool, StoreError> {
    crate::retry(|| async {
        let mut tx = db.begin_write().await?;
        tx.execute(
            "INSERT INTO job_leases (name, owner, lease_until) VALUES ($1, '', 0) ON CONFLICT (name) DO NOTHING",
            args![name],
        )
        .await?;
        let n = tx
            .execute(
                "UPDATE job_leases SET owner = $1, lease_until = $2
                 WHERE name = $3 AND (owner = $1 OR lease_until < $4)",
                args![owner, until, name, now],
            )
            .await?;
        tx.commit().await?;
        Ok::<_, StoreError>(n == 1)
    })
    .await
}

/// Record a finished run (only by the lease holder).
pub async fn finish(
    db: &Db,
    name: &str,
    owner: &str,
    now: Ts,
    result: &str,
) -> Result<(), StoreError> {
    db.execute(
        "UPDATE job_leases SET last_run_at = $1, last_result = $2, runs = runs + 1 WHERE name = $3 AND owner = $4",
        args![now, result, name, owner],
    )
    .await?;
    Ok(())
}

/// Give the lease up at once (a one-off job that finished), so the next taker need not wait for
/// it to run out.
pub async fn release(db: &Db, name: &str, owner: &str) -> Result<(), StoreError> {
    db.execute(
        "UPDATE job_leases SET lease_until = 0 WHERE name = $1 AND owner = $2",
        args![name, owner],
    )
    .await?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct LeaseInfo {
    pub name: String,
    pub owner: String,
    pub lease_until: Ts,
    pub last_run_at: Option<Ts>,
    pub last_result: String,
    pub runs: i64,
}

pub async fn all(db: &Db) -> Result<Vec<LeaseInfo>, StoreError> {
    db.fetch_all(
        "SELECT name, owner, lease_until, last_run_at, last_result, runs FROM job_leases ORDER BY name",
        args![],
        |r| {
            Ok(LeaseInfo {
                name: r.text("name")?,
                owner: r.text("owner")?,
                lease_until: r.ts("lease_until")?,
                last_run_at: r.opt_ts("last_run_at")?,
                last_result: r.text("last_result")?,
                runs: r.i64("runs")?,
            })
        },
    )
    .await
}
