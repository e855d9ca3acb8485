//! The working calendar as the platform uses it: seeded with the official 2025–2026
//! arrangements, extended by administrators each November, read through a small cache.
//!
//! Several servers may share one database, so the cache re-checks a fingerprint of the table
//! (at most every [`RECHECK_SECS`]) and reloads when another server loaded a year.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use linli_domain::auth::Permission;
use linli_domain::calendar::{SpecialDay, WorkCalendar, official_days};
use linli_store::repo::calendar as repo;

use crate::audit::{Event, record};
use crate::{App, AppError, Principal, Result};

pub const RECHECK_SECS: u64 = 30;

struct Cached {
    cal: Arc<WorkCalendar>,
    fingerprint: i64,
    checked: Instant,
}

#[derive(Default)]
pub struct CalendarCache {
    inner: RwLock<Option<Cached>>,
}

impl CalendarCache {
    fn fresh(&self) -> Option<Arc<WorkCalendar>> {
        let g = self.inner.read().ok()?;
        let c = g.as_ref()?;
        (c.checked.elapsed() < Duration::from_secs(RECHECK_SECS)).then(|| c.cal.clone())
    }

    fn forget(&self) {
        if let Ok(mut g) = self.inner.write() {
            *g = None;
        }
    }
}

/// The calendar in force.
pub async fn current(app: &App) -> Result<Arc<WorkCalendar>> {
    if let Some(c) = app.calendar.fresh() {
        return Ok(c);
    }
    let fp = repo::fingerprint(&app.db).await?;
    if let Ok(mut g) = app.calendar.inner.write()
        && let Some(c) = g.as_mut()
        && c.fingerprint == fp
    {
        c.checked = Instant::now();
        return Ok(c.cal.clone());
    }
    let cal = Arc::new(WorkCalendar::from_days(repo::all(&app.db).await?));
    if let Ok(mut g) = app.calendar.inner.write() {
        *g = Some(Cached {
            cal: cal.clone(),
            fingerprint: fp,
            checked: Instant::now(),
        });
    }
    Ok(cal)
}

/// Insert the official arrangements for the days not yet in the table (first start, upgrades).
pub async fn ensure_seeded(app: &App) -> Result<u64> {
    let days = official_days();
    let now = app.now();
    let n = write_tx!(app, |tx| {
        repo::insert_missing(&mut tx, &days, now).await?
    })?;
    app.calendar.forget();
    Ok(n)
}

/// Load an administrator's `date,kind,name` file: every year it mentions is replaced whole.
pub async fn load_csv(app: &App, p: &Principal, text: &str) -> Result<Vec<i32>> {
    p.require(Permission::CalendarManage)?;
    let parsed = WorkCalendar::parse_csv(text)
        .map_err(|e| AppError::invalid("invalid_calendar", e.to_string()))?;
    let years = parsed.years();
    if years.is_empty() {
        return Err(AppError::invalid("invalid_calendar", "文件中没有任何日期"));
    }
    let days: Vec<SpecialDay> = parsed.days();
    let now = app.now();
    write_tx!(app, |tx| {
        repo::replace_years(&mut tx, &years, &days, p.user_id, now).await?;
        record(
            &mut tx,
            now,
            p.into(),
            Event::ok("calendar.load", "calendar", years_text(&years))
                .detail(serde_json::json!({"years": years, "days": days.len()})),
        )
        .await?;
    })?;
    app.calendar.forget();
    Ok(years)
}

fn years_text(years: &[i32]) -> String {
    years
        .iter()
        .map(i32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}
