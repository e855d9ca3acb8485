//! 吹哨报到: a street summons departments to a case it cannot settle alone.
//!
//! The loop (seed 004): 街道启动吹哨 → 部门快速响应 → 及时报到处置 → 结案反馈评价, "网上吹哨、
//! 一哨一考、全程追踪". The whistle catalogue (category → item → level 1–3) names, per level, the
//! departments to summon and the limits for responding and for reporting in on site. Each
//! summoned department is one [`Call`]: it responds, then reports in (time, person, on-site
//! photo); lateness against either limit is flagged. The street closes the whistle by rating
//! every department (1–5), so each whistle yields one score per department (一哨一考).

use uuid::Uuid;

use crate::Ts;
use crate::case::{Refusal, refuse};

crate::keyed! {
    /// The three situations a whistle is blown for (东城区 吹哨报到).
    Situation {
        Beyond = "beyond", "群众诉求超出街道职权";
        JointEnforcement = "joint_enforcement", "综合执法";
        Emergency = "emergency", "应急处置";
    }
}

/// One row of the whistle catalogue: an item at one level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemLevel {
    pub code: String,
    pub category: String,
    pub item: String,
    pub level: u8,
    /// Org codes of the departments to summon.
    pub departments: Vec<String>,
    pub respond_minutes: u32,
    pub report_minutes: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("第 {line} 行：{message}")]
pub struct CatalogueError {
    pub line: usize,
    pub message: String,
}

pub const HEADER: &str = "大类,事项,等级,召集部门代码,响应时限(分钟),报到时限(分钟)";

/// Parse the whistle catalogue CSV (`大类,事项,等级,召集部门代码,响应时限(分钟),报到时限(分钟)`;
/// department codes separated by `;`). Every row is checked before any is returned.
pub fn parse_catalogue(text: &str) -> Result<Vec<ItemLevel>, CatalogueError> {
    let mut out: Vec<ItemLevel> = Vec::new();
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
    match lines.next() {
        Some((_, h)) if h.trim().trim_start_matches('\u{feff}') == HEADER => {}
        _ => {
            return Err(CatalogueError {
                line: 1,
                message: format!("表头应为 {HEADER}"),
            });
        }
    }
    let mut items: Vec<(String, String)> = Vec::new();
    for (i, l) in lines {
        let bad = |m: &str| CatalogueError {
            line: i + 1,
            message: m.to_string(),
        };
        let f: Vec<&str> = l.split(',').map(str::trim).collect();
        let [category, item, level, depts, respond, report] = f.as_slice() else {
            return Err(bad("应有 6 列"));
        };
        let name_ok = |s: &str| !s.is_empty() && s.chars().count() <= 30;
        if !name_ok(category) || !name_ok(item) {
            return Err(bad("大类和事项不能为空，且不超过 30 字"));
        }
        let level: u8 = match level.parse() {
            Ok(n @ 1..=3) => n,
            _ => return Err(bad("等级应为 1、2 或 3")),
        };
        let departments: Vec<String> = depts
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        if departments.is_empty() || departments.len() > 10 {
            return Err(bad("召集部门应为 1–10 个单位代码，以分号分隔"));
        }
        let minutes = |s: &str, what: &str| -> Result<u32, CatalogueError> {
            match s.parse::<u32>() {
                Ok(n @ 1..=10_080) => Ok(n),
                _ => Err(bad(&format!("{what}应为 1–10080 分钟"))),
            }
        };
        let respond_minutes = minutes(respond, "响应时限")?;
        let report_minutes = minutes(report, "报到时限")?;
        if report_minutes < respond_minutes {
            return Err(bad("报到时限不能短于响应时限"));
        }
        let key = (category.to_string(), item.to_string());
        let n = match items.iter().position(|k| *k == key) {
            Some(p) => p + 1,
            None => {
                items.push(key);
                items.len()
            }
        };
        if out
            .iter()
            .any(|x| x.category == *category && x.item == *item && x.level == level)
        {
            return Err(bad("同一事项的同一等级重复"));
        }
        out.push(ItemLevel {
            code: format!("W{n:03}"),
            category: category.to_string(),
            item: item.to_string(),
            level,
            departments,
            respond_minutes,
            report_minutes,
        });
    }
    if out.is_empty() {
        return Err(CatalogueError {
            line: 1,
            message: "文件中没有任何事项".into(),
        });
    }
    Ok(out)
}

/// One department summoned by a whistle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub dept: Uuid,
    pub respond_due: Ts,
    pub report_due: Ts,
    pub responded_at: Option<Ts>,
    pub reported_at: Option<Ts>,
    pub late_response: Option<bool>,
    pub late_report: Option<bool>,
    pub rating: Option<u8>,
}

impl Call {
    pub fn summoned(dept: Uuid, now: Ts, item: &ItemLevel) -> Call {
        Call {
            dept,
            respond_due: now.plus_secs(i64::from(item.respond_minutes) * 60),
            report_due: now.plus_secs(i64::from(item.report_minutes) * 60),
            responded_at: None,
            reported_at: None,
            late_response: None,
            late_report: None,
            rating: None,
        }
    }

    pub fn respond(&mut self, now: Ts) -> Result<(), Refusal> {
        if self.responded_at.is_some() {
            return Err(refuse("already_responded", "已响应"));
        }
        self.responded_at = Some(now);
        self.late_response = Some(now > self.respond_due);
        Ok(())
    }

    /// Reporting in implies responding (a department may arrive without answering first).
    pub fn report(&mut self, now: Ts) -> Result<(), Refusal> {
        if self.reported_at.is_some() {
            return Err(refuse("already_reported", "已报到"));
        }
        if self.responded_at.is_none() {
            self.respond(now)?;
        }
        self.reported_at = Some(now);
        self.late_report = Some(now > self.report_due);
        Ok(())
    }

    /// The sweeper's marks: a limit passed with nothing done is late, once.
    pub fn overdue_marks(&mut self, now: Ts) -> bool {
        let mut changed = false;
        if self.responded_at.is_none() && self.late_response.is_none() && now > self.respond_due {
            self.late_response = Some(true);
            changed = true;
        }
        if self.reported_at.is_none() && self.late_report.is_none() && now > self.report_due {
            self.late_report = Some(true);
            changed = true;
        }
        changed
    }
}

/// Close a whistle: every summoned department is rated 1–5 (一哨一考).
pub fn close(calls: &mut [Call], ratings: &[(Uuid, u8)]) -> Result<(), Refusal> {
    for (dept, score) in ratings {
        if !(1..=5).contains(score) {
            return Err(refuse("bad_rating", "评价分值应为 1–5"));
        }
        if !calls.iter().any(|c| c.dept == *dept) {
            return Err(refuse("bad_rating", "评价了未被召集的部门"));
        }
    }
    for c in calls.iter() {
        if ratings.iter().filter(|(d, _)| *d == c.dept).count() != 1 {
            return Err(refuse("rating_required", "结哨须对每个召集部门各评价一次"));
        }
    }
    for c in calls.iter_mut() {
        c.rating = ratings.iter().find(|(d, _)| *d == c.dept).map(|(_, s)| *s);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn item(respond: u32, report: u32) -> ItemLevel {
        ItemLevel {
            code: "W001".into(),
            category: "环境卫生".into(),
            item: "垃圾清运".into(),
            level: 2,
            departments: vec!["110101B01".into()],
            respond_minutes: respond,
            report_minutes: report,
        }
    }

    #[test]
    fn calls_are_flagged_late_against_each_limit() {
        let t0 = Ts(1_000_000_000_000);
        let d = Uuid::from_u128(1);
        let mut c = Call::summoned(d, t0, &item(30, 120));
        assert_eq!(c.respond_due, t0.plus_secs(1800));
        c.respond(t0.plus_secs(600)).unwrap();
        assert_eq!(c.late_response, Some(false));
        assert!(c.respond(t0.plus_secs(700)).is_err());
        c.report(t0.plus_secs(7300)).unwrap();
        assert_eq!(
            c.late_report,
            Some(true),
            "2 h 1 min 40 s after the whistle"
        );
        // Reporting in without responding counts as both, and a late arrival is late for both.
        let mut c = Call::summoned(d, t0, &item(30, 120));
        c.report(t0.plus_secs(3600)).unwrap();
        assert_eq!((c.late_response, c.late_report), (Some(true), Some(false)));
        // The sweeper marks silence once.
        let mut c = Call::summoned(d, t0, &item(30, 120));
        assert!(!c.overdue_marks(t0.plus_secs(1800)));
        assert!(c.overdue_marks(t0.plus_secs(1801)));
        assert!(!c.overdue_marks(t0.plus_secs(1900)));
        assert_eq!((c.late_response, c.late_report), (Some(true), None));
        assert!(c.overdue_marks(t0.plus_secs(7201)));
        assert_eq!(c.late_report, Some(true));
    }

    #[test]
    fn closing_rates_every_department_once() {
        let t0 = Ts(0);
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let mut calls = vec![
            Call::summoned(a, t0, &item(30, 60)),
            Call::summoned(b, t0, &item(30, 60)),
        ];
        assert_eq!(
            close(&mut calls, &[(a, 5)]).unwrap_err().key,
            "rating_required"
        );
        assert_eq!(
            close(&mut calls, &[(a, 5), (b, 6)]).unwrap_err().key,
            "bad_rating"
        );
        assert_eq!(
            close(&mut calls, &[(a, 5), (b, 4), (Uuid::from_u128(3), 3)])
                .unwrap_err()
                .key,
            "bad_rating"
        );
        assert_eq!(
            close(&mut calls, &[(a, 5), (a, 4), (b, 4)])
                .unwrap_err()
                .key,
            "rating_required"
        );
        assert!(calls.iter().all(|c| c.rating.is_none()), "nothing applied");
        close(&mut calls, &[(b, 3), (a, 5)]).unwrap();
        assert_eq!((calls[0].rating, calls[1].rating), (Some(5), Some(3)));
    }

    #[test]
    fn the_demo_catalogue_has_14_categories_45_items_in_3_levels() {
        let rows = parse_catalogue(include_str!("../../../fixtures/whistle-demo.csv")).unwrap();
        let mut cats: Vec<&str> = rows.iter().map(|r| r.category.as_str()).collect();
        cats.sort();
        cats.dedup();
        assert_eq!(cats.len(), 14);
        let mut items: Vec<(&str, &str)> = rows
            .iter()
            .map(|r| (r.category.as_str(), r.item.as_str()))
            .collect();
        items.sort();
        items.dedup();
        assert_eq!(items.len(), 45);
        assert_eq!(rows.len(), 135);
        assert!(rows.iter().all(|r| r.report_minutes >= r.respond_minutes));
    }

    #[test]
    fn bad_catalogue_files_name_the_line() {
        let h = HEADER;
        for (body, line) in [
            ("环境卫生,垃圾清运,4,110101B01,30,60", 2),
            ("环境卫生,垃圾清运,1,,30,60", 2),
            ("环境卫生,垃圾清运,1,110101B01,60,30", 2),
            (
                "环境卫生,垃圾清运,1,110101B01,30,60\n环境卫生,垃圾清运,1,110101B01,30,60",
                3,
            ),
            ("环境卫生,垃圾清运,1,110101B01,30", 2),
        ] {
            let e = parse_catalogue(&format!("{h}\n{body}\n")).unwrap_err();
            assert_eq!(e.line, line, "{body}: {e}");
        }
        assert!(parse_catalogue("x\n").is_err());
        assert!(parse_catalogue(&format!("{h}\n")).is_err());
    }
}
