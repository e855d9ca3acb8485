//! The working calendar's special days (platform-wide: the State Council calendar is national).

use linli_domain::Ts;
use linli_domain::calendar::{DayKind, SpecialDay};
use uuid::Uuid;

use crate::args;
use crate::db::{Db, StoreError, Tx};

fn parse_day(s: &str) -> Result<time::Date, StoreError> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(s, &fmt).map_err(|e| StoreError::Decode {
        column: "day".into(),
        message: e.to_string(),
    })
}

pub async fn all(db: &Db) -> Result<Vec<SpecialDay>, StoreError> {
    db.fetch_all(
        "SELECT day, kind, name FROM calendar_days ORDER BY day",
        args![],
        |r| {
            Ok(SpecialDay {
                day: parse_day(&r.text("day")?)?,
                kind: DayKind::parse(&r.text("kind")?).unwrap_or(DayKind::Holiday),
                name: r.text("name")?,
            })
        },
    )
    .await
}

/// A cheap fingerprint of the table, so caches know when another server loaded a year.
pub async fn fingerprint(db: &Db) -> Result<i64, StoreError> {
    db.fetch_one_i64(
        "SELECT COALESCE(MAX(loaded_at), 0) + COUNT(*) FROM calendar_days",
        args![],
    )
    .await
}

/// Insert days that are not there yet (the official seed; never overwrites a loaded year).
pub async fn insert_missing(tx: &mut Tx, days: &[SpecialDay], now: Ts) -> Result<u64, StoreError> {
    let mut n = 0;
    for d in days {
        n += tx
            .execute(
                "INSERT INTO calendar_days (day, kind, name, loaded_by, loaded_at) VALUES ($1, $2, $3, NULL, $4)
                 ON CONFLICT (day) DO NOTHING",
                args![d.day.to_string(), d.kind.key(), d.name.clone(), now],
            )
            .await?;
    }
    Ok(n)
}

/// Replace whole years with the given days.
pub async fn replace_years(
    tx: &mut Tx,
    years: &[i32],
    days: &[SpecialDay],
    by: Uuid,
    now: Ts,
) -> Result<(), StoreError> {
    for y in years {
        tx.execute(
            "DELETE FROM calendar_days WHERE day >= $1 AND day < $2",
            args![format!("{y:04}-01-01"), format!("{:04}-01-01", y + 1)],
        )
        .await?;
    }
    for d in days {
        tx.execute(
            "INSERT INTO calendar_days (day, kind, name, loaded_by, loaded_at) VALUES ($1, $2, $3, $4, $5)",
            args![d.day.to_string(), d.kind.key(), d.name.clone(), by, now],
        )
        .await?;
    }
    Ok(())
}
