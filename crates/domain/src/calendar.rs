//! The official working calendar and deadline arithmetic (办理时限).
//!
//! China's public holidays and make-up working days (调休) are announced each November by the
//! State Council; administrators load each year (`date,kind,name` rows, kind `holiday` or
//! `workday`). A day is a working day when it is a make-up working day, or a Monday–Friday that
//! is not a holiday.
//!
//! Deadlines follow 民法典 Art. 201–203: the day the period starts does not count; a period in
//! days ends at 24:00 of its last day; "N working days" therefore ends at 24:00 (China time) of
//! the N-th working day after the day of receipt. Limits in natural hours simply add hours.

use std::collections::BTreeMap;

use time::{Date, Month, Time, Weekday};

use crate::clock::{CST, Ts};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayKind {
    /// A day off (including weekend days inside a holiday block).
    Holiday,
    /// A Saturday or Sunday that is worked (调休上班).
    Workday,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkCalendar {
    special: BTreeMap<Date, (DayKind, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("第 {line} 行：{message}")]
    BadLine { line: usize, message: String },
    #[error("缺少表头 date,kind,name")]
    MissingHeader,
}

/// A time limit as the dispatch catalogue states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "unit", content = "value", rename_all = "snake_case")]
pub enum TimeLimit {
    NaturalHours(u32),
    WorkingDays(u32),
}

impl TimeLimit {
    /// `24h` (natural hours) or `5wd` (working days), the form catalogue files and columns use.
    pub fn parse(s: &str) -> Option<TimeLimit> {
        let s = s.trim();
        let (num, ctor): (&str, fn(u32) -> TimeLimit) = if let Some(n) = s.strip_suffix("wd") {
            (n, TimeLimit::WorkingDays)
        } else if let Some(n) = s.strip_suffix('h') {
            (n, TimeLimit::NaturalHours)
        } else {
            return None;
        };
        let n: u32 = num.trim().parse().ok()?;
        // A year of hours or of working days is the most any rule asks for.
        (n <= 8760).then(|| ctor(n))
    }

    /// "24 小时" / "5 个工作日".
    pub fn label(self) -> String {
        match self {
            TimeLimit::NaturalHours(h) => format!("{h} 小时"),
            TimeLimit::WorkingDays(d) => format!("{d} 个工作日"),
        }
    }
}

impl std::fmt::Display for TimeLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TimeLimit::NaturalHours(h) => write!(f, "{h}h"),
            TimeLimit::WorkingDays(d) => write!(f, "{d}wd"),
        }
    }
}

const DAY_US: i64 = 86_400_000_000;

fn cst_date(ts: Ts) -> Date {
    ts.to_datetime().to_offset(CST).date()
}

fn start_of_cst_day(d: Date) -> Ts {
    Ts::from_datetime(
        d.with_time(Time::MIDNIGHT)
            .assume_offset(CST)
            .to_offset(time::UtcOffset::UTC),
    )
}

impl WorkCalendar {
    /// Parse `date,kind,name` CSV text (header required; `#` lines and blank lines ignored).
    pub fn parse_csv(text: &str) -> Result<WorkCalendar, CalendarError> {
        let mut cal = WorkCalendar::default();
        cal.merge_csv(text)?;
        Ok(cal)
    }

    /// Add (or replace) days from another year's file.
    pub fn merge_csv(&mut self, text: &str) -> Result<usize, CalendarError> {
        let fmt = time::macros::format_description!("[year]-[month]-[day]");
        let mut lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
        match lines.next() {
            Some((_, h))
                if h.trim().trim_start_matches('\u{feff}').replace(' ', "") == "date,kind,name" => {
            }
            _ => return Err(CalendarError::MissingHeader),
        }
        let mut parsed = Vec::new();
        for (i, l) in lines {
            let bad = |m: &str| CalendarError::BadLine {
                line: i + 1,
                message: m.to_string(),
            };
            let mut parts = l.splitn(3, ',');
            let date = parts.next().unwrap_or("").trim();
            let kind = parts.next().unwrap_or("").trim();
            let name = parts
                .next()
                .unwrap_or("")
                .trim()
                .trim_matches('"')
                .to_string();
            let d = Date::parse(date, &fmt).map_err(|_| bad("日期格式应为 YYYY-MM-DD"))?;
            let k = match kind {
                "holiday" => DayKind::Holiday,
                "workday" => DayKind::Workday,
                _ => return Err(bad("类型只能是 holiday 或 workday")),
            };
            if k == DayKind::Workday && !matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday)
            {
                return Err(bad("调休上班日应为周六或周日"));
            }
            if name.chars().count() > 50 {
                return Err(bad("名称过长"));
            }
            parsed.push((d, k, name));
        }
        // All rows valid: apply them together.
        let n = parsed.len();
        for (d, k, name) in parsed {
            self.special.insert(d, (k, name));
        }
        Ok(n)
    }

    pub fn is_working_day(&self, d: Date) -> bool {
        match self.special.get(&d) {
            Some((DayKind::Holiday, _)) => false,
            Some((DayKind::Workday, _)) => true,
            None => !matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday),
        }
    }

    /// The holiday or make-up day name, if the day is special.
    pub fn name_of(&self, d: Date) -> Option<&str> {
        self.special.get(&d).map(|(_, n)| n.as_str())
    }

    /// Years for which at least one special day is loaded (a year with none is probably missing).
    pub fn years(&self) -> Vec<i32> {
        let mut y: Vec<i32> = self.special.keys().map(|d| d.year()).collect();
        y.dedup();
        y
    }

    /// The N-th working day strictly after `d`.
    pub fn nth_working_day_after(&self, d: Date, n: u32) -> Date {
        let mut day = d;
        let mut left = n;
        // Bounded: even a year of holidays cannot stop the walk for long.
        for _ in 0..(n as usize * 7 + 400) {
            day = day.next_day().unwrap_or(day);
            if self.is_working_day(day) {
                left -= 1;
                if left == 0 {
                    break;
                }
            }
        }
        day
    }

    /// When a limit that starts at `start` runs out.
    pub fn deadline(&self, start: Ts, limit: TimeLimit) -> Ts {
        match limit {
            TimeLimit::NaturalHours(h) => start.plus_secs(i64::from(h) * 3600),
            TimeLimit::WorkingDays(0) => start,
            TimeLimit::WorkingDays(n) => {
                let last = self.nth_working_day_after(cst_date(start), n);
                start_of_cst_day(last.next_day().unwrap_or(last))
            }
        }
    }

    /// Working days from the day after `from` up to and including the day of `to` (0 if `to`
    /// is not later), for reporting how long handling took in working days.
    pub fn working_days_between(&self, from: Ts, to: Ts) -> u32 {
        let (a, b) = (cst_date(from), cst_date(to));
        let mut n = 0;
        let mut d = a;
        while d < b {
            d = d.next_day().unwrap_or(b);
            if self.is_working_day(d) {
                n += 1;
            }
        }
        n
    }
}

impl WorkCalendar {
    /// How much of `[from, to)` fell on working days, in microseconds: the time a working-day
    /// clock actually ran.
    pub fn working_micros_between(&self, from: Ts, to: Ts) -> i64 {
        if to <= from {
            return 0;
        }
        let mut total = 0;
        let mut day = cst_date(from);
        let mut cursor = from;
        while cursor < to {
            let next = start_of_cst_day(day.next_day().unwrap_or(day));
            let end = if next < to { next } else { to };
            if self.is_working_day(day) {
                total += end.0 - cursor.0;
            }
            if next <= cursor {
                break;
            }
            cursor = end;
            day = day.next_day().unwrap_or(day);
        }
        total
    }

    /// `t` moved later by `micros` of working-day time (non-working days are skipped whole).
    pub fn add_working_micros(&self, t: Ts, micros: i64) -> Ts {
        let mut left = micros.max(0);
        let mut cursor = t;
        let mut day = cst_date(t);
        // Bounded walk: a year's worth of days beyond the span asked for.
        for _ in 0..(left / DAY_US + 400) {
            let next = start_of_cst_day(day.next_day().unwrap_or(day));
            if self.is_working_day(day) {
                let room = next.0 - cursor.0;
                if left <= room {
                    return Ts(cursor.0 + left);
                }
                left -= room;
            }
            cursor = next;
            day = day.next_day().unwrap_or(day);
        }
        cursor
    }

    /// A deadline set under `limit` moved later by the time a pause `[from, to)` took from
    /// that limit's clock: the whole pause for natural hours, only its working-day part for
    /// working days.
    pub fn shift_for_pause(&self, due: Ts, limit: TimeLimit, from: Ts, to: Ts) -> Ts {
        match limit {
            TimeLimit::NaturalHours(_) => Ts(due.0 + (to.0 - from.0).max(0)),
            TimeLimit::WorkingDays(_) => {
                self.add_working_micros(due, self.working_micros_between(from, to))
            }
        }
    }
}

/// One holiday arrangement as the State Council notice states it: the days off (a closed
/// range) and the weekend days worked instead.
pub struct Arrangement {
    pub name: &'static str,
    pub first: (i32, u8, u8),
    pub last: (i32, u8, u8),
    pub workdays: &'static [(i32, u8, u8)],
}

/// The official arrangements for 2025 (国办发明电〔2024〕12号, 2024-11-12) and 2026 (国务院办公厅
/// 2025-11-04), transcribed from the notices. Later years are loaded by administrators.
pub const OFFICIAL: &[Arrangement] = &[
    Arrangement {
        name: "元旦",
        first: (2025, 1, 1),
        last: (2025, 1, 1),
        workdays: &[],
    },
    Arrangement {
        name: "春节",
        first: (2025, 1, 28),
        last: (2025, 2, 4),
        workdays: &[(2025, 1, 26), (2025, 2, 8)],
    },
    Arrangement {
        name: "清明节",
        first: (2025, 4, 4),
        last: (2025, 4, 6),
        workdays: &[],
    },
    Arrangement {
        name: "劳动节",
        first: (2025, 5, 1),
        last: (2025, 5, 5),
        workdays: &[(2025, 4, 27)],
    },
    Arrangement {
        name: "端午节",
        first: (2025, 5, 31),
        last: (2025, 6, 2),
        workdays: &[],
    },
    Arrangement {
        name: "国庆节、中秋节",
        first: (2025, 10, 1),
        last: (2025, 10, 8),
        workdays: &[(2025, 9, 28), (2025, 10, 11)],
    },
    Arrangement {
        name: "元旦",
        first: (2026, 1, 1),
        last: (2026, 1, 3),
        workdays: &[(2026, 1, 4)],
    },
    Arrangement {
        name: "春节",
        first: (2026, 2, 15),
        last: (2026, 2, 23),
        workdays: &[(2026, 2, 14), (2026, 2, 28)],
    },
    Arrangement {
        name: "清明节",
        first: (2026, 4, 4),
        last: (2026, 4, 6),
        workdays: &[],
    },
    Arrangement {
        name: "劳动节",
        first: (2026, 5, 1),
        last: (2026, 5, 5),
        workdays: &[(2026, 5, 9)],
    },
    Arrangement {
        name: "端午节",
        first: (2026, 6, 19),
        last: (2026, 6, 21),
        workdays: &[],
    },
    Arrangement {
        name: "中秋节",
        first: (2026, 9, 25),
        last: (2026, 9, 27),
        workdays: &[],
    },
    Arrangement {
        name: "国庆节",
        first: (2026, 10, 1),
        last: (2026, 10, 7),
        workdays: &[(2026, 9, 20), (2026, 10, 10)],
    },
];

/// A special day as stored: date, kind and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecialDay {
    pub day: Date,
    pub kind: DayKind,
    pub name: String,
}

impl DayKind {
    pub fn key(self) -> &'static str {
        match self {
            DayKind::Holiday => "holiday",
            DayKind::Workday => "workday",
        }
    }
    pub fn parse(s: &str) -> Option<DayKind> {
        match s {
            "holiday" => Some(DayKind::Holiday),
            "workday" => Some(DayKind::Workday),
            _ => None,
        }
    }
}

/// The official arrangements as special days.
pub fn official_days() -> Vec<SpecialDay> {
    let mut out = Vec::new();
    for a in OFFICIAL {
        let (Some(mut d), Some(last)) = (
            date(a.first.0, a.first.1, a.first.2),
            date(a.last.0, a.last.1, a.last.2),
        ) else {
            continue;
        };
        while d <= last {
            out.push(SpecialDay {
                day: d,
                kind: DayKind::Holiday,
                name: a.name.to_string(),
            });
            d = match d.next_day() {
                Some(n) => n,
                None => break,
            };
        }
        for &(y, m, dd) in a.workdays {
            if let Some(day) = date(y, m, dd) {
                out.push(SpecialDay {
                    day,
                    kind: DayKind::Workday,
                    name: format!("{}调休上班", a.name),
                });
            }
        }
    }
    out.sort_by_key(|s| s.day);
    out
}

impl WorkCalendar {
    pub fn from_days(days: impl IntoIterator<Item = SpecialDay>) -> WorkCalendar {
        WorkCalendar {
            special: days
                .into_iter()
                .map(|s| (s.day, (s.kind, s.name)))
                .collect(),
        }
    }

    /// Every special day, in date order.
    pub fn days(&self) -> Vec<SpecialDay> {
        self.special
            .iter()
            .map(|(d, (k, n))| SpecialDay {
                day: *d,
                kind: *k,
                name: n.clone(),
            })
            .collect()
    }
}

/// `2026-02-16` → a date, for tests and callers holding date strings.
pub fn date(y: i32, m: u8, d: u8) -> Option<Date> {
    Date::from_calendar_date(y, Month::try_from(m).ok()?, d).ok()
}

/// A China-time wall clock instant as `Ts`.
pub fn cst(y: i32, m: u8, d: u8, hh: u8, mm: u8) -> Option<Ts> {
    let dt = date(y, m, d)?.with_hms(hh, mm, 0).ok()?;
    Some(Ts::from_datetime(dt.assume_offset(CST)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The 2026 arrangements that the tests below rely on (国务院办公厅 2025-11-04): Spring
    /// Festival 2026-02-15…02-23 off, make-up Saturdays 02-14 and 02-28; National Day 10-01…10-07
    /// off, make-up Sunday 09-20 and Saturday 10-10.
    const CAL_2026: &str = "date,kind,name
2026-02-14,workday,春节调休上班
2026-02-15,holiday,春节
2026-02-16,holiday,春节
2026-02-17,holiday,春节
2026-02-18,holiday,春节
2026-02-19,holiday,春节
2026-02-20,holiday,春节
2026-02-21,holiday,春节
2026-02-22,holiday,春节
2026-02-23,holiday,春节
2026-02-28,workday,春节调休上班
2026-09-20,workday,国庆节调休上班
2026-10-01,holiday,国庆节
2026-10-02,holiday,国庆节
2026-10-03,holiday,国庆节
2026-10-04,holiday,国庆节
2026-10-05,holiday,国庆节
2026-10-06,holiday,国庆节
2026-10-07,holiday,国庆节
2026-10-10,workday,国庆节调休上班
";

    fn cal() -> WorkCalendar {
        WorkCalendar::parse_csv(CAL_2026).unwrap_or_default()
    }

    fn d(y: i32, m: u8, day: u8) -> Date {
        date(y, m, day).unwrap_or(Date::MIN)
    }

    fn at(y: i32, m: u8, day: u8, hh: u8, mm: u8) -> Ts {
        cst(y, m, day, hh, mm).unwrap_or_default()
    }

    #[test]
    fn working_days() {
        let c = cal();
        assert!(c.is_working_day(d(2026, 2, 13)), "Friday");
        assert!(c.is_working_day(d(2026, 2, 14)), "make-up Saturday");
        assert!(!c.is_working_day(d(2026, 2, 16)), "Spring Festival Monday");
        assert!(!c.is_working_day(d(2026, 2, 21)), "ordinary Saturday");
        assert!(c.is_working_day(d(2026, 2, 24)), "back to work");
        assert!(c.is_working_day(d(2026, 2, 28)), "second make-up Saturday");
        assert!(!c.is_working_day(d(2026, 10, 5)));
        assert!(c.is_working_day(d(2026, 10, 10)));
        assert_eq!(c.name_of(d(2026, 2, 16)), Some("春节"));
        assert_eq!(c.years(), vec![2026]);
    }

    #[test]
    fn five_working_days_across_spring_festival() {
        let c = cal();
        // Received Thursday 02-12 at 15:00: working days after it are Fri 13, Sat 14 (make-up),
        // then the holiday, then Tue 24, Wed 25, Thu 26 → due at 24:00 on 02-26.
        let due = c.deadline(at(2026, 2, 12, 15, 0), TimeLimit::WorkingDays(5));
        assert_eq!(due, at(2026, 2, 27, 0, 0));
        // Received during the holiday: counting starts after it.
        let due = c.deadline(at(2026, 2, 18, 10, 0), TimeLimit::WorkingDays(1));
        assert_eq!(due, at(2026, 2, 25, 0, 0));
    }

    #[test]
    fn national_day_and_make_up_days() {
        let c = cal();
        // Wednesday 09-30 + 1 working day → Thursday 10-08 (the holiday block is skipped).
        assert_eq!(
            c.deadline(at(2026, 9, 30, 9, 0), TimeLimit::WorkingDays(1)),
            at(2026, 10, 9, 0, 0)
        );
        // Friday 10-09 + 1 → the make-up Saturday 10-10.
        assert_eq!(
            c.deadline(at(2026, 10, 9, 17, 0), TimeLimit::WorkingDays(1)),
            at(2026, 10, 11, 0, 0)
        );
        // Saturday 09-19 + 1 → the make-up Sunday 09-20.
        assert_eq!(
            c.deadline(at(2026, 9, 19, 11, 0), TimeLimit::WorkingDays(1)),
            at(2026, 9, 21, 0, 0)
        );
        // 15 working days from 09-25 (Fri): 28,29,30 Sep; 8,9,10(Sat) ,12..16, 19..22 Oct.
        assert_eq!(
            c.deadline(at(2026, 9, 25, 10, 0), TimeLimit::WorkingDays(15)),
            at(2026, 10, 23, 0, 0)
        );
    }

    #[test]
    fn natural_hours_ignore_the_calendar() {
        let c = cal();
        assert_eq!(
            c.deadline(at(2026, 2, 15, 23, 0), TimeLimit::NaturalHours(2)),
            at(2026, 2, 16, 1, 0)
        );
        assert_eq!(
            c.deadline(at(2026, 2, 15, 8, 0), TimeLimit::NaturalHours(24)),
            at(2026, 2, 16, 8, 0)
        );
        assert_eq!(
            c.deadline(at(2026, 2, 15, 8, 0), TimeLimit::WorkingDays(0)),
            at(2026, 2, 15, 8, 0)
        );
    }

    #[test]
    fn counting_working_days_between() {
        let c = cal();
        assert_eq!(
            c.working_days_between(at(2026, 2, 12, 9, 0), at(2026, 2, 26, 9, 0)),
            5
        );
        assert_eq!(
            c.working_days_between(at(2026, 2, 26, 9, 0), at(2026, 2, 12, 9, 0)),
            0
        );
    }

    #[test]
    fn limits_parse_and_print() {
        assert_eq!(TimeLimit::parse("24h"), Some(TimeLimit::NaturalHours(24)));
        assert_eq!(TimeLimit::parse(" 5wd "), Some(TimeLimit::WorkingDays(5)));
        for bad in ["", "5", "h", "5d", "-1h", "99999h", "5 wd x"] {
            assert_eq!(TimeLimit::parse(bad), None, "{bad}");
        }
        assert_eq!(TimeLimit::WorkingDays(15).to_string(), "15wd");
        assert_eq!(TimeLimit::NaturalHours(2).label(), "2 小时");
    }

    #[test]
    fn pauses_stop_the_working_day_clock_only_on_working_days() {
        let c = cal();
        // Paused Friday 02-13 16:00 to Tuesday 02-24 10:00: working time in between is
        // Fri 16:00–24:00 (8 h), the make-up Saturday 02-14 (24 h) and Tue 00:00–10:00 (10 h).
        let (from, to) = (at(2026, 2, 13, 16, 0), at(2026, 2, 24, 10, 0));
        assert_eq!(c.working_micros_between(from, to), 42 * 3_600_000_000);
        // A due time of Wed 02-25 24:00 moves 42 working hours later: Thu 02-26 is 24 h, then
        // 18 h of Fri 02-27.
        let due = at(2026, 2, 26, 0, 0);
        assert_eq!(
            c.shift_for_pause(due, TimeLimit::WorkingDays(5), from, to),
            at(2026, 2, 27, 18, 0)
        );
        // Natural-hour limits move by the whole pause.
        assert_eq!(
            c.shift_for_pause(due, TimeLimit::NaturalHours(24), from, to),
            Ts(due.0 + (to.0 - from.0))
        );
        // A pause that lies wholly in the holiday costs nothing.
        assert_eq!(
            c.shift_for_pause(
                due,
                TimeLimit::WorkingDays(5),
                at(2026, 2, 16, 9, 0),
                at(2026, 2, 20, 9, 0)
            ),
            due
        );
        // A due time on a non-working day skips to the next working day before counting.
        assert_eq!(
            c.add_working_micros(at(2026, 2, 21, 0, 0), 3_600_000_000),
            at(2026, 2, 24, 1, 0)
        );
        assert_eq!(c.working_micros_between(to, from), 0);
    }

    #[test]
    fn official_arrangements_have_the_published_counts() {
        let days = official_days();
        let count = |y: i32, k: DayKind| {
            days.iter()
                .filter(|s| s.day.year() == y && s.kind == k)
                .count()
        };
        assert_eq!(
            (count(2025, DayKind::Holiday), count(2025, DayKind::Workday)),
            (28, 5)
        );
        assert_eq!(
            (count(2026, DayKind::Holiday), count(2026, DayKind::Workday)),
            (33, 6)
        );
        let c = WorkCalendar::from_days(days);
        for (d, k) in &cal().special {
            assert_eq!(c.special.get(d).map(|x| x.0), Some(k.0), "{d}");
        }
        assert!(
            c.days()
                .iter()
                .all(|s| c.is_working_day(s.day) == (s.kind == DayKind::Workday))
        );
    }

    #[test]
    fn bad_files_are_refused_whole() {
        let mut c = cal();
        let before = c.clone();
        let e = c.merge_csv("date,kind,name\n2027-01-01,holiday,元旦\n2027-13-01,holiday,x\n");
        assert_eq!(
            e,
            Err(CalendarError::BadLine {
                line: 3,
                message: "日期格式应为 YYYY-MM-DD".into()
            })
        );
        assert_eq!(c, before, "nothing applied");
        assert!(
            c.merge_csv("2027-01-01,holiday,元旦\n").is_err(),
            "header required"
        );
        let e = c.merge_csv("date,kind,name\n2027-01-04,workday,周一\n");
        assert!(
            matches!(e, Err(CalendarError::BadLine { line: 2, .. })),
            "a make-up day must be a weekend day"
        );
        assert_eq!(
            c.merge_csv("date,kind,name\n2027-01-01,holiday,元旦\n"),
            Ok(1)
        );
        assert_eq!(c.years(), vec![2026, 2027]);
    }

    /// The official file, when the shared data is beside the repository.
    #[test]
    fn official_2025_2026_file_loads() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/data/calendar/cn_public_holidays_2025_2026.csv");
        let Ok(text) = std::fs::read_to_string(&path) else {
            eprintln!("note: {} not found; skipped", path.display());
            return;
        };
        let c = WorkCalendar::parse_csv(&text).unwrap_or_default();
        assert_eq!(c.years(), vec![2025, 2026]);
        // The arrangements transcribed into OFFICIAL give exactly the official file's days.
        let ours = WorkCalendar::from_days(official_days());
        let kinds = |c: &WorkCalendar| -> Vec<(Date, DayKind)> {
            c.days().into_iter().map(|s| (s.day, s.kind)).collect()
        };
        assert_eq!(kinds(&ours), kinds(&c));
        // The embedded 2026 rows above agree with the official file.
        for (d, k) in &cal().special {
            assert_eq!(c.special.get(d).map(|x| x.0), Some(k.0), "{d}");
        }
        // 2025 Spring Festival: received Friday 2025-01-24, 3 working days: Sun 26 (make-up),
        // Mon 27, then the holiday to 02-04, Wed 05 → due end of 02-05.
        assert_eq!(
            c.deadline(at(2025, 1, 24, 10, 0), TimeLimit::WorkingDays(3)),
            at(2025, 2, 6, 0, 0)
        );
    }
}
