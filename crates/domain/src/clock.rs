//! Time as the platform sees it: UTC microseconds since the Unix epoch, read from an injected
//! [`Clock`] so that tests can move time (deadlines, lockouts, session expiry) deterministically.
//!
//! Timestamps are stored as BIGINT microseconds on every engine (see docs/adr/0002): portable
//! across SQLite, PostgreSQL and its distributed cousins, totally ordered, and free of
//! per-driver encoding quirks. They are shown to people in Asia/Shanghai (UTC+8, no DST).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use time::{OffsetDateTime, UtcOffset};

/// A point in time: microseconds since 1970-01-01T00:00:00Z.
#[derive(
    Debug,
    Default,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(transparent)]
pub struct Ts(pub i64);

/// China Standard Time, used for everything shown to people.
pub const CST: UtcOffset = match UtcOffset::from_hms(8, 0, 0) {
    Ok(o) => o,
    Err(_) => UtcOffset::UTC,
};

impl Ts {
    pub const fn micros(self) -> i64 {
        self.0
    }
    /// Whole seconds since the epoch (for TOTP counters).
    pub const fn unix_secs(self) -> i64 {
        self.0.div_euclid(1_000_000)
    }
    pub fn plus_secs(self, secs: i64) -> Ts {
        Ts(self.0.saturating_add(secs.saturating_mul(1_000_000)))
    }
    pub fn to_datetime(self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0) * 1000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }
    pub fn from_datetime(dt: OffsetDateTime) -> Ts {
        Ts((dt.unix_timestamp_nanos() / 1000) as i64)
    }
    /// `2026-11-21 16:05:09` in China Standard Time.
    pub fn display_cst(self) -> String {
        let d = self.to_datetime().to_offset(CST);
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
            d.year(),
            u8::from(d.month()),
            d.day(),
            d.hour(),
            d.minute(),
            d.second()
        )
    }
    /// RFC 3339 in UTC with microseconds, for the API and the audit hash.
    pub fn rfc3339(self) -> String {
        let d = self.to_datetime();
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
            d.year(),
            u8::from(d.month()),
            d.day(),
            d.hour(),
            d.minute(),
            d.second(),
            d.microsecond()
        )
    }
}

impl std::fmt::Display for Ts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.rfc3339())
    }
}

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Ts;
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Ts {
        Ts::from_datetime(OffsetDateTime::now_utc())
    }
}

/// A clock that only moves when told to. Clones share the same time.
#[derive(Debug, Clone)]
pub struct FakeClock(Arc<AtomicI64>);

impl FakeClock {
    pub fn at(ts: Ts) -> Self {
        FakeClock(Arc::new(AtomicI64::new(ts.0)))
    }
    pub fn advance_secs(&self, secs: i64) {
        self.0.fetch_add(secs * 1_000_000, Ordering::SeqCst);
    }
    pub fn set(&self, ts: Ts) {
        self.0.store(ts.0, Ordering::SeqCst);
    }
}

impl Clock for FakeClock {
    fn now(&self) -> Ts {
        Ts(self.0.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_in_china_time() {
        // 2026-11-21T08:00:00Z is 16:00 in Beijing.
        let ts = Ts(1_795_248_000_000_000);
        assert_eq!(ts.rfc3339(), "2026-11-21T08:00:00.000000Z");
        assert_eq!(ts.display_cst(), "2026-11-21 16:00:00");
    }

    #[test]
    fn fake_clock_moves_only_when_told() {
        let c = FakeClock::at(Ts(0));
        let c2 = c.clone();
        c.advance_secs(90);
        assert_eq!(c2.now(), Ts(90_000_000));
    }
}
