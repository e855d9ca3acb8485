//! Assessment (考核): counts of cases by what happened to them, the rates built from those
//! counts, and the weighted score (接诉即办条例 Art. 32: 响应率、解决率、满意率; the digital
//! city management figures 立案率, 结案率, 按期结案率, 返工率, 延期率, 回退率, 重办率, 平均办理时长).
//!
//! Everything is computed over **the cases received in the period** (受理口径), each in its
//! state at the moment of the query, so a figure can always be listed case by case: every
//! count is one [`Measure`], and the case list filtered by that measure returns exactly the
//! cases counted. The store turns each measure into one SQL predicate used by both the
//! aggregate and the list.
//!
//! A rate whose denominator is zero is `None` (shown as “—”), never 0 or 100 %. Rates are
//! fractions in `0.0..=1.0`; the score is on a 0–100 scale.
//!
//! The formulas, in the words shown to people, are in [`FORMULAS`] (the console's “计算口径”
//! card and `docs/assessment.md` carry the same text).

use serde::{Deserialize, Serialize};
use time::{Date, Month, PrimitiveDateTime, Time};

use crate::Ts;
use crate::clock::CST;

/// Defines the measures: a stable key (the `measure=` filter of the case list) and a label.
macro_rules! measures {
    ($($variant:ident = $key:literal, $label:literal, $field:ident;)*) => {
        /// One count of the assessment; each is also a filter of the case list.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum Measure { $($variant),* }

        impl Measure {
            pub const ALL: &'static [Measure] = &[$(Measure::$variant),*];
            pub fn key(self) -> &'static str { match self { $(Measure::$variant => $key),* } }
            pub fn label(self) -> &'static str { match self { $(Measure::$variant => $label),* } }
            pub fn parse(s: &str) -> Option<Measure> {
                match s { $($key => Some(Measure::$variant),)* _ => None }
            }
        }

        /// Raw counts of cases, one per [`Measure`], plus the handling time of closed cases.
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
        pub struct Tally {
            $(#[doc = $label] pub $field: i64,)*
            /// Sum over closed cases of (结案时间 − 受理时间), microseconds.
            pub handling_micros: i64,
        }

        impl Tally {
            pub fn get(&self, m: Measure) -> i64 {
                match m { $(Measure::$variant => self.$field),* }
            }
            pub fn set(&mut self, m: Measure, n: i64) {
                match m { $(Measure::$variant => self.$field = n),* }
            }
        }
    };
}

measures! {
    Received = "received", "受理数", received;
    Pending = "pending", "待立案数", pending;
    Registered = "registered", "立案数", registered;
    Disposed = "disposed", "不派单办结数", disposed;
    Dispatched = "dispatched", "派遣数", dispatched;
    ShouldSign = "should_sign", "应签收数", should_sign;
    SignedOnTime = "signed_on_time", "按时签收数", signed_on_time;
    SignLate = "sign_late", "超时签收数", sign_late;
    ShouldContact = "should_contact", "应联系数", should_contact;
    ContactedOnTime = "contacted_on_time", "按时联系数", contacted_on_time;
    ContactLate = "contact_late", "超时联系数", contact_late;
    ShouldClose = "should_close", "应结案数", should_close;
    Closed = "closed", "结案数", closed;
    ClosedOnTime = "closed_on_time", "按期结案数", closed_on_time;
    ClosedLate = "closed_late", "超期结案数", closed_late;
    DueOpen = "due_open", "到期未结案数", due_open;
    Reworked = "reworked", "返工数", reworked;
    Extended = "extended", "延期数", extended;
    Objected = "objected", "回退数", objected;
    EverVisited = "ever_visited", "曾回访数", ever_visited;
    Reopened = "reopened", "重办数", reopened;
    Visited = "visited", "回访数", visited;
    Resolved = "resolved", "已解决数", resolved;
    Unresolved = "unresolved", "未解决数", unresolved;
    Satisfied = "satisfied", "满意数", satisfied;
    Basic = "basic", "基本满意数", basic;
    Dissatisfied = "dissatisfied", "不满意数", dissatisfied;
}

impl Tally {
    /// Add another tally (rolling units up, totals).
    pub fn add(&mut self, o: &Tally) {
        for m in Measure::ALL {
            self.set(*m, self.get(*m) + o.get(*m));
        }
        self.handling_micros += o.handling_micros;
    }
}

/// `n ÷ d`, or None when nothing was there to count.
pub fn ratio(n: i64, d: i64) -> Option<f64> {
    (d > 0).then(|| n as f64 / d as f64)
}

macro_rules! rates {
    ($($variant:ident = $key:literal, $label:literal, $higher:literal;)*) => {
        /// The rates of the assessment.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum Rate { $($variant),* }

        impl Rate {
            pub const ALL: &'static [Rate] = &[$(Rate::$variant),*];
            pub fn key(self) -> &'static str { match self { $(Rate::$variant => $key),* } }
            pub fn label(self) -> &'static str { match self { $(Rate::$variant => $label),* } }
            /// Whether a higher value is better (only those may carry a score weight).
            pub fn higher_is_better(self) -> bool { match self { $(Rate::$variant => $higher),* } }
            pub fn parse(s: &str) -> Option<Rate> {
                match s { $($key => Some(Rate::$variant),)* _ => None }
            }
        }
    };
}

rates! {
    Response = "response", "响应率", true;
    Resolution = "resolution", "解决率", true;
    Satisfaction = "satisfaction", "满意率", true;
    Registration = "registration", "立案率", true;
    SignTimely = "sign_timely", "签收及时率", true;
    Closing = "closing", "结案率", true;
    OnTimeClosing = "on_time_closing", "按期结案率", true;
    Rework = "rework", "返工率", false;
    Extension = "extension", "延期率", false;
    Objection = "objection", "回退率", false;
    Reopen = "reopen", "重办率", false;
}

impl Rate {
    /// The measures forming the rate's (numerator, denominator), for links to the cases.
    pub fn parts(self) -> (Measure, Measure) {
        use Measure as M;
        match self {
            Rate::Response => (M::ContactedOnTime, M::ShouldContact),
            Rate::Resolution => (M::Resolved, M::Visited),
            Rate::Satisfaction => (M::Satisfied, M::Visited),
            Rate::Registration => (M::Registered, M::Received),
            Rate::SignTimely => (M::SignedOnTime, M::ShouldSign),
            Rate::Closing => (M::Closed, M::ShouldClose),
            Rate::OnTimeClosing => (M::ClosedOnTime, M::ShouldClose),
            Rate::Rework => (M::Reworked, M::Dispatched),
            Rate::Extension => (M::Extended, M::Dispatched),
            Rate::Objection => (M::Objected, M::Dispatched),
            Rate::Reopen => (M::Reopened, M::EverVisited),
        }
    }

    /// The rate of a tally; `basic_credit` is the share of a 基本满意 counted as satisfied.
    pub fn of(self, t: &Tally, basic_credit: f64) -> Option<f64> {
        match self {
            Rate::Satisfaction => (t.visited > 0)
                .then(|| (t.satisfied as f64 + t.basic as f64 * basic_credit) / t.visited as f64),
            // 立案率 counts only the cases decided at intake: 立案 or 不派单办结.
            Rate::Registration => ratio(t.registered, t.registered + t.disposed),
            _ => {
                let (n, d) = self.parts();
                ratio(t.get(n), t.get(d))
            }
        }
    }
}

/// Average time from 受理 to 结案 over the closed cases, in hours.
pub fn average_hours(t: &Tally) -> Option<f64> {
    (t.closed > 0).then(|| t.handling_micros as f64 / t.closed as f64 / 3_600_000_000.0)
}

/// The score's weights, stored as data (setting `assessment.weights`). Only rates where higher
/// is better may carry weight. `basic_credit` is how much of a 基本满意 counts toward 满意率
/// (1.0: 满意率 = (满意 + 基本满意) ÷ 回访数; 0.8 gives the 满意 100 / 基本满意 80 scoring).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Weights {
    /// Weights are relative (they need not add up to 100).
    pub rates: Vec<RateWeight>,
    pub basic_credit: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RateWeight {
    pub rate: Rate,
    pub weight: f64,
}

fn rw(rate: Rate, weight: f64) -> RateWeight {
    RateWeight { rate, weight }
}

impl Default for Weights {
    /// DOMAIN §2: the published example 响应率 30 / 解决率 35 / 满意率 35; 基本满意 counts as
    /// satisfied.
    fn default() -> Self {
        Weights {
            rates: vec![
                rw(Rate::Response, 30.0),
                rw(Rate::Resolution, 35.0),
                rw(Rate::Satisfaction, 35.0),
            ],
            basic_credit: 1.0,
        }
    }
}

impl Weights {
    /// Why these weights cannot be used, in Chinese; None when they are fine.
    pub fn problem(&self) -> Option<String> {
        if !(self.basic_credit.is_finite() && (0.0..=1.0).contains(&self.basic_credit)) {
            return Some("基本满意折算系数应在 0 到 1 之间".into());
        }
        let mut seen = Vec::new();
        for RateWeight { rate: r, weight: w } in &self.rates {
            if !r.higher_is_better() {
                return Some(format!("{}越低越好，不能计入综合得分", r.label()));
            }
            if !(w.is_finite() && *w >= 0.0 && *w <= 1000.0) {
                return Some(format!("{}的权重应在 0 到 1000 之间", r.label()));
            }
            if seen.contains(r) {
                return Some(format!("{}重复设置了权重", r.label()));
            }
            seen.push(*r);
        }
        if self.rates.iter().all(|x| x.weight <= 0.0) {
            return Some("至少要有一项指标的权重大于 0".into());
        }
        None
    }

    pub fn weight(&self, r: Rate) -> f64 {
        self.rates
            .iter()
            .find(|x| x.rate == r)
            .map(|x| x.weight)
            .unwrap_or(0.0)
    }
}

/// The weighted score on a 0–100 scale: Σ wᵢ·rateᵢ ÷ Σ wᵢ × 100 over the weighted rates that
/// exist. A rate with no denominator drops out and its weight is spread over the others in
/// proportion to theirs (so a unit with no return visits is scored on 响应率 alone rather than
/// getting 0 for 解决率 and 满意率). None when no weighted rate exists.
pub fn score(t: &Tally, w: &Weights) -> Option<f64> {
    let mut sum = 0.0;
    let mut weight = 0.0;
    for RateWeight { rate, weight: wi } in &w.rates {
        if *wi <= 0.0 {
            continue;
        }
        if let Some(v) = rate.of(t, w.basic_credit) {
            sum += wi * v;
            weight += wi;
        }
    }
    (weight > 0.0).then(|| sum / weight * 100.0)
}

/// Competition ranking (1, 2, 2, 4) by score, highest first; scores equal to two decimals
/// share a rank; rows without a score get no rank. Returns ranks in the input order.
pub fn rank(scores: &[Option<f64>]) -> Vec<Option<usize>> {
    let key = |s: f64| (s * 100.0).round() as i64;
    scores
        .iter()
        .map(|s| {
            s.map(|mine| {
                1 + scores
                    .iter()
                    .flatten()
                    .filter(|o| key(**o) > key(mine))
                    .count()
            })
        })
        .collect()
}

/// A half-open span of time `[from, to)` with its label, as periods are shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    pub from: Ts,
    pub to: Ts,
    /// `2026年11月`, `2026年第4季度`, `2026年`, `2026-11-01 至 2026-11-30`.
    pub label: String,
    /// The text that selects it again (`2026-11`, `2026-Q4`, `2026`, `2026-11-01~2026-11-30`).
    pub key: String,
}

/// Midnight China time at the start of `d`.
fn day_start(d: Date) -> Ts {
    Ts::from_datetime(PrimitiveDateTime::new(d, Time::MIDNIGHT).assume_offset(CST))
}

fn month_start(year: i32, month: u8) -> Option<Date> {
    Date::from_calendar_date(year, Month::try_from(month).ok()?, 1).ok()
}

fn parse_date(s: &str) -> Option<Date> {
    let mut it = s.trim().splitn(3, '-');
    let y = it.next()?.parse::<i32>().ok()?;
    let m = it.next()?.parse::<u8>().ok()?;
    let d = it.next()?.parse::<u8>().ok()?;
    Date::from_calendar_date(y, Month::try_from(m).ok()?, d).ok()
}

/// Years a period may lie in.
const YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;

impl Period {
    /// A month, quarter or year in China time: `2026-11`, `2026-Q4`, `2026`.
    pub fn parse(s: &str) -> Option<Period> {
        let s = s.trim();
        if let Some((y, q)) = s.split_once("-Q").or_else(|| s.split_once("-q")) {
            let y = y.parse::<i32>().ok().filter(|y| YEARS.contains(y))?;
            let q = q.parse::<u8>().ok().filter(|q| (1..=4).contains(q))?;
            let from = month_start(y, (q - 1) * 3 + 1)?;
            let to = if q == 4 {
                month_start(y + 1, 1)?
            } else {
                month_start(y, q * 3 + 1)?
            };
            return Some(Period {
                from: day_start(from),
                to: day_start(to),
                label: format!("{y}年第{q}季度"),
                key: format!("{y}-Q{q}"),
            });
        }
        if let Some((y, m)) = s.split_once('-') {
            let y = y.parse::<i32>().ok().filter(|y| YEARS.contains(y))?;
            let m = m.parse::<u8>().ok().filter(|m| (1..=12).contains(m))?;
            let to = if m == 12 {
                month_start(y + 1, 1)?
            } else {
                month_start(y, m + 1)?
            };
            return Some(Period {
                from: day_start(month_start(y, m)?),
                to: day_start(to),
                label: format!("{y}年{m}月"),
                key: format!("{y}-{m:02}"),
            });
        }
        let y = s.parse::<i32>().ok().filter(|y| YEARS.contains(y))?;
        Some(Period {
            from: day_start(month_start(y, 1)?),
            to: day_start(month_start(y + 1, 1)?),
            label: format!("{y}年"),
            key: format!("{y}"),
        })
    }

    /// Whole days in China time, both ends included: `2026-11-01` to `2026-11-30` is
    /// `[11-01 00:00, 12-01 00:00)`.
    pub fn days(from: &str, to: &str) -> Option<Period> {
        let (a, b) = (parse_date(from)?, parse_date(to)?);
        if b < a || !YEARS.contains(&a.year()) || !YEARS.contains(&b.year()) {
            return None;
        }
        Some(Period {
            from: day_start(a),
            to: day_start(b.next_day()?),
            label: format!("{a} 至 {b}"),
            key: format!("{a}~{b}"),
        })
    }

    /// The month (China time) that `now` falls in.
    pub fn month_of(now: Ts) -> Option<Period> {
        let d = now.to_datetime().to_offset(CST).date();
        Period::parse(&format!("{}-{:02}", d.year(), u8::from(d.month())))
    }
}

/// The formulas as shown to people (console card and `docs/assessment.md`): (name, formula).
pub const FORMULAS: &[(&str, &str)] = &[
    (
        "统计范围",
        "统计期内受理（按受理时间，北京时间）的工单，按查询时的办理状态计数；单位的考核包括其下级单位承办的工单，以及其受理后尚未派遣或不派单办结的工单。",
    ),
    (
        "立案率",
        "立案数 ÷ (立案数 + 不派单办结数)。待立案的工单不计入。",
    ),
    (
        "签收及时率",
        "按时签收数 ÷ 应签收数。应签收数：已派遣且已签收或签收时限已过的工单；按时签收：签收时间不晚于签收时限。",
    ),
    (
        "响应率",
        "按时联系数 ÷ 应联系数。应联系数：已派遣、非匿名，且已首次联系诉求人或首次联系时限已过的工单；按时联系：首次联系时间不晚于首次联系时限（接诉即办条例第三十二条）。",
    ),
    (
        "结案率",
        "结案数 ÷ 应结案数。结案数：已核实结案（待回访、已回访）的工单；应结案数：结案数 + 到期未结案数（已派遣未结案、未暂停计时、办结时限已过的工单）。",
    ),
    (
        "按期结案率",
        "按期结案数 ÷ 应结案数。按期结案：办结反馈时间不晚于（含批准延期后的）办结时限。",
    ),
    (
        "返工率、延期率、回退率",
        "曾被返工、曾获批延期、曾被退单的工单数 ÷ 派遣数（曾派遣过的工单）。",
    ),
    (
        "重办率",
        "重办数 ÷ 曾回访数（已回访或曾因回访重办的工单）。",
    ),
    (
        "解决率",
        "已解决数 ÷ 回访数。回访数：当前状态为已回访的工单；已重办的工单以重办后的回访结果计。",
    ),
    (
        "满意率",
        "(满意数 + 基本满意数 × 折算系数) ÷ 回访数。折算系数随权重设置，默认 1（基本满意计为满意）；设为 0.8 即满意计 100 分、基本满意计 80 分。",
    ),
    ("平均办理时长", "结案工单从受理到结案的小时数的平均值。"),
    (
        "综合得分",
        "Σ(权重 × 指标) ÷ Σ权重 × 100，默认响应率 30、解决率 35、满意率 35。某项指标无分母（显示“—”）时不计入，其权重按比例分给其余指标；所有计分指标都无分母时不评分。",
    ),
    (
        "排名",
        "按综合得分从高到低；得分保留两位小数后相同者并列，下一名次顺延（1、2、2、4）；无得分的不排名。",
    ),
    ("无分母", "分母为 0 的比率显示为“—”，不按 0 或 100% 计。"),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: Option<f64>, b: f64) {
        let a = a.unwrap_or(f64::NAN);
        assert!((a - b).abs() < 1e-9, "{a} != {b}");
    }

    /// A month of one street: 20 received, 2 pending, 3 disposed, 15 registered; 14 dispatched.
    fn example() -> Tally {
        Tally {
            received: 20,
            pending: 2,
            registered: 15,
            disposed: 3,
            dispatched: 14,
            should_sign: 12,
            signed_on_time: 9,
            sign_late: 3,
            should_contact: 10,
            contacted_on_time: 8,
            contact_late: 2,
            should_close: 10,
            closed: 8,
            closed_on_time: 6,
            closed_late: 2,
            due_open: 2,
            reworked: 2,
            extended: 1,
            objected: 1,
            ever_visited: 7,
            reopened: 1,
            visited: 6,
            resolved: 5,
            unresolved: 1,
            satisfied: 3,
            basic: 2,
            dissatisfied: 1,
            // 8 closed cases, 3 days each: 8 × 72 h.
            handling_micros: 8 * 72 * 3_600_000_000,
        }
    }

    #[test]
    fn rates_of_the_example() {
        let t = example();
        // 立案率 = 15 ÷ (15 + 3) = 0.8333…
        close(Rate::Registration.of(&t, 1.0), 15.0 / 18.0);
        // 签收及时率 = 9 ÷ 12 = 0.75
        close(Rate::SignTimely.of(&t, 1.0), 0.75);
        // 响应率 = 8 ÷ 10 = 0.8
        close(Rate::Response.of(&t, 1.0), 0.8);
        // 结案率 = 8 ÷ 10; 按期结案率 = 6 ÷ 10
        close(Rate::Closing.of(&t, 1.0), 0.8);
        close(Rate::OnTimeClosing.of(&t, 1.0), 0.6);
        // 返工率 = 2 ÷ 14; 延期率 = 回退率 = 1 ÷ 14
        close(Rate::Rework.of(&t, 1.0), 2.0 / 14.0);
        close(Rate::Extension.of(&t, 1.0), 1.0 / 14.0);
        close(Rate::Objection.of(&t, 1.0), 1.0 / 14.0);
        // 重办率 = 1 ÷ 7
        close(Rate::Reopen.of(&t, 1.0), 1.0 / 7.0);
        // 解决率 = 5 ÷ 6
        close(Rate::Resolution.of(&t, 1.0), 5.0 / 6.0);
        // 满意率 = (3 + 2) ÷ 6 with credit 1; (3 + 2 × 0.8) ÷ 6 = 4.6 ÷ 6 with credit 0.8
        close(Rate::Satisfaction.of(&t, 1.0), 5.0 / 6.0);
        close(Rate::Satisfaction.of(&t, 0.8), 4.6 / 6.0);
        // 平均办理时长 = 8 × 72 h ÷ 8 = 72 h
        close(average_hours(&t), 72.0);
    }

    #[test]
    fn score_of_the_example() {
        let t = example();
        // 30 × 0.8 + 35 × 5/6 + 35 × 5/6 = 24 + 58.333… = 82.333…; ÷ 100 × 100
        close(score(&t, &Weights::default()), 24.0 + 70.0 * 5.0 / 6.0);
        // Credit 0.8: 30 × 0.8 + 35 × 5/6 + 35 × 4.6/6 = 24 + 29.1667 + 26.8333 = 80
        let w = Weights {
            basic_credit: 0.8,
            ..Weights::default()
        };
        close(score(&t, &w), 80.0);
        // 东城-style weights on other rates: 按期结案率 2, 满意率 1 → (2 × 0.6 + 5/6) ÷ 3 × 100
        let w = Weights {
            rates: vec![rw(Rate::OnTimeClosing, 2.0), rw(Rate::Satisfaction, 1.0)],
            basic_credit: 1.0,
        };
        close(score(&t, &w), (1.2 + 5.0 / 6.0) / 3.0 * 100.0);
    }

    #[test]
    fn missing_rates_give_their_weight_to_the_others() {
        // No return visits yet: 解决率 and 满意率 are None; the score is 响应率 alone.
        let t = Tally {
            should_contact: 4,
            contacted_on_time: 3,
            ..Tally::default()
        };
        assert_eq!(Rate::Resolution.of(&t, 1.0), None);
        assert_eq!(Rate::Satisfaction.of(&t, 1.0), None);
        // 30 × 0.75 ÷ 30 × 100 = 75
        close(score(&t, &Weights::default()), 75.0);
        // Nothing at all: no rate, no score, never 0 or 100.
        let empty = Tally::default();
        for r in Rate::ALL {
            assert_eq!(r.of(&empty, 1.0), None, "{r:?}");
        }
        assert_eq!(average_hours(&empty), None);
        assert_eq!(score(&empty, &Weights::default()), None);
    }

    #[test]
    fn adding_tallies_adds_every_count() {
        let mut a = example();
        a.add(&example());
        for m in Measure::ALL {
            assert_eq!(a.get(*m), 2 * example().get(*m), "{m:?}");
        }
        assert_eq!(a.handling_micros, 2 * example().handling_micros);
        // Rates of the sum are rates of the pooled counts: 16 ÷ 20 = 0.8 still.
        close(Rate::Response.of(&a, 1.0), 0.8);
    }

    #[test]
    fn ranking_shares_tied_places() {
        let r = rank(&[Some(80.0), Some(91.5), None, Some(80.001), Some(70.0)]);
        // 91.5 first; 80.0 and 80.001 equal to two decimals share 2nd; 70 is 4th; None unranked.
        assert_eq!(r, vec![Some(2), Some(1), None, Some(2), Some(4)]);
    }

    #[test]
    fn weights_are_checked() {
        assert_eq!(Weights::default().problem(), None);
        let bad = |rates: Vec<(Rate, f64)>, basic_credit: f64| {
            Weights {
                rates: rates.into_iter().map(|(r, w)| rw(r, w)).collect(),
                basic_credit,
            }
            .problem()
            .is_some()
        };
        assert!(bad(vec![(Rate::Rework, 10.0)], 1.0), "lower is better");
        assert!(bad(vec![(Rate::Response, -1.0)], 1.0));
        assert!(bad(vec![(Rate::Response, f64::NAN)], 1.0));
        assert!(bad(vec![(Rate::Response, 0.0)], 1.0), "all zero");
        assert!(bad(vec![(Rate::Response, 1.0), (Rate::Response, 2.0)], 1.0));
        assert!(bad(vec![(Rate::Response, 1.0)], 1.5));
        let json = serde_json::to_string(&Weights::default()).unwrap_or_default();
        assert_eq!(
            json,
            r#"{"rates":[{"rate":"response","weight":30.0},{"rate":"resolution","weight":35.0},{"rate":"satisfaction","weight":35.0}],"basic_credit":1.0}"#
        );
    }

    #[test]
    fn the_docs_carry_the_formulas_shown_on_the_page() {
        let doc = include_str!("../../../docs/assessment.md");
        for (name, text) in FORMULAS {
            assert!(doc.contains(&format!("| {name} | {text} |")), "{name}");
        }
    }

    #[test]
    fn periods_are_china_time() {
        // 2026-11: [2026-10-31T16:00Z, 2026-11-30T16:00Z)
        let p = Period::parse("2026-11").unwrap_or_else(|| unreachable!());
        assert_eq!(p.from.rfc3339(), "2026-10-31T16:00:00.000000Z");
        assert_eq!(p.to.rfc3339(), "2026-11-30T16:00:00.000000Z");
        assert_eq!(
            (p.label.as_str(), p.key.as_str()),
            ("2026年11月", "2026-11")
        );
        let q = Period::parse("2026-Q4").unwrap_or_else(|| unreachable!());
        assert_eq!(q.from, p.from.min(q.from));
        assert_eq!(q.from.rfc3339(), "2026-09-30T16:00:00.000000Z");
        assert_eq!(q.to.rfc3339(), "2026-12-31T16:00:00.000000Z");
        let y = Period::parse("2026").unwrap_or_else(|| unreachable!());
        assert_eq!(y.from.rfc3339(), "2025-12-31T16:00:00.000000Z");
        assert_eq!(y.to.rfc3339(), "2026-12-31T16:00:00.000000Z");
        let d = Period::days("2026-11-01", "2026-11-30").unwrap_or_else(|| unreachable!());
        assert_eq!((d.from, d.to), (p.from, p.to));
        for bad in ["2026-13", "2026-Q5", "26", "1999", "x", "2026-11-31"] {
            assert_eq!(Period::parse(bad), None, "{bad}");
        }
        assert_eq!(Period::days("2026-11-02", "2026-11-01"), None);
        // 2026-11-30T17:00Z is already December in Beijing.
        let m = Period::month_of(Ts(p.to.0 + 3_600_000_000)).unwrap_or_else(|| unreachable!());
        assert_eq!(m.key, "2026-12");
    }
}
