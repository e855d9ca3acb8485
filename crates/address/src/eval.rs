//! Per-level accuracy of the resolver over a labelled CSV (`id,address,province,city,district,
//! devzone,town,community,village`, as in addresses_dev.csv).
//!
//! A label is the span as written (`广西`, `芝[UNK]区`, `天津市` for the 市辖区 row), so a level
//! counts as correct when the label names the unit resolved at that level by the rules of
//! [`Gazetteer::label_matches`]. A cell may hold several spans joined with `|`; any one naming the unit
//! counts. Only rows with a label for a level count for that level. The `community` and
//! `village` columns both compare to the resolver's village-level unit. `devzone` is not scored
//! (development zones are not a level of the codes).

use std::fmt;
use std::io::Read;

use crate::error::AddressError;
use crate::gazetteer::{Gazetteer, Level};
use crate::resolve::Resolution;

/// Labelled and correct rows for one level.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub labelled: usize,
    pub correct: usize,
}

impl Tally {
    pub fn accuracy(&self) -> f64 {
        if self.labelled == 0 {
            0.0
        } else {
            self.correct as f64 / self.labelled as f64
        }
    }

    fn add(&mut self, ok: bool) {
        self.labelled += 1;
        if ok {
            self.correct += 1;
        }
    }
}

/// What `eval` measured.
#[derive(Clone, Debug, Default)]
pub struct EvalReport {
    pub rows: usize,
    pub province: Tally,
    pub city: Tally,
    pub district: Tally,
    pub town: Tally,
    pub community: Tally,
    pub village: Tally,
    /// Rows with a devzone label (not scored; listed so the figure is visible).
    pub devzone_rows: usize,
    /// Town accuracy among rows resolved with confidence ≥ 0.8.
    pub confident_town: Tally,
    pub confident_rows: usize,
}

/// The columns, in the file's order, and which resolver level each compares to.
const COLUMNS: &[(&str, Level)] = &[
    ("province", Level::Province),
    ("city", Level::City),
    ("district", Level::County),
    ("town", Level::Town),
    ("community", Level::Village),
    ("village", Level::Village),
];

/// Whether any `|`-separated span of `cell` names the unit resolved at `level`.
pub fn cell_matches(g: &Gazetteer, cell: &str, r: &Resolution, level: Level) -> bool {
    let Some(unit) = r.at(level) else {
        return false;
    };
    cell.split('|')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .any(|span| g.label_matches(span, &unit.code))
}

/// Resolve every row of a labelled CSV and count per level. `file` names the input in errors.
pub fn eval(g: &Gazetteer, input: impl Read, file: &str) -> Result<EvalReport, AddressError> {
    let row_err = |line: u64, message: String| AddressError::Row {
        file: file.into(),
        line,
        message,
    };
    let mut rdr = csv::ReaderBuilder::new().flexible(true).from_reader(input);
    let headers = rdr
        .headers()
        .map_err(|e| row_err(1, format!("表头无法读取：{e}")))?
        .clone();
    let find = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim_start_matches('\u{feff}') == name)
    };
    let address = find("address").ok_or_else(|| AddressError::MissingColumn {
        file: file.into(),
        column: "address".to_string(),
        header: headers.iter().collect::<Vec<_>>().join(","),
    })?;
    let cols: Vec<(usize, usize, Level)> = COLUMNS
        .iter()
        .enumerate()
        .filter_map(|(slot, (name, level))| find(name).map(|i| (slot, i, *level)))
        .collect();
    let devzone = find("devzone");
    let mut rep = EvalReport::default();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| {
            let line = e.position().map_or(0, csv::Position::line);
            row_err(line, format!("CSV 格式错误：{e}"))
        })?;
        let text = rec.get(address).unwrap_or("");
        let r = g.resolve(text);
        rep.rows += 1;
        if devzone
            .and_then(|i| rec.get(i))
            .is_some_and(|s| !s.trim().is_empty())
        {
            rep.devzone_rows += 1;
        }
        let confident = r.confidence >= 0.8;
        if confident {
            rep.confident_rows += 1;
        }
        for &(slot, i, level) in &cols {
            let cell = rec.get(i).unwrap_or("").trim();
            if cell.is_empty() {
                continue;
            }
            let ok = cell_matches(g, cell, &r, level);
            let tally = match slot {
                0 => &mut rep.province,
                1 => &mut rep.city,
                2 => &mut rep.district,
                3 => &mut rep.town,
                4 => &mut rep.community,
                _ => &mut rep.village,
            };
            tally.add(ok);
            if slot == 3 && confident {
                rep.confident_town.add(ok);
            }
        }
    }
    Ok(rep)
}

/// One line per level; the last line is exactly `town_accuracy: 0.xxxx`.
impl fmt::Display for EvalReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "rows: {} (devzone labelled: {}, not scored)",
            self.rows, self.devzone_rows
        )?;
        for (name, t) in [
            ("province", self.province),
            ("city", self.city),
            ("district", self.district),
            ("community", self.community),
            ("village", self.village),
        ] {
            writeln!(f, "{name}_accuracy: {:.4} (n={})", t.accuracy(), t.labelled)?;
        }
        writeln!(
            f,
            "confidence>=0.8: {} rows, town_accuracy {:.4} (n={})",
            self.confident_rows,
            self.confident_town.accuracy(),
            self.confident_town.labelled
        )?;
        writeln!(f, "town_labelled: {}", self.town.labelled)?;
        write!(f, "town_accuracy: {:.4}", self.town.accuracy())
    }
}
