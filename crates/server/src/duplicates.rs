//! `linli duplicates eval`: how well duplicate detection's text similarity separates requests
//! that report the same problem from those that do not, on a labelled set of pairs
//! (docs/duplicates.md). The shipped set, `fixtures/duplicates-fuzhou12345.csv`, labels pairs of
//! the real Fuzhou 12345 requests in `../shared/data/samples/fuzhou12345_requests.csv` by their
//! `source_id` (labels only — the texts stay in the shared data; `scripts/duplicate-pairs.py`
//! says how the pairs were drawn).

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Subcommand;
use linli_text::{Fingerprint, Segmenter, index_terms, similarity};

const DEFAULT_PAIRS: &str = "fixtures/duplicates-fuzhou12345.csv";
const DEFAULT_DATA: &str = "../shared/data/samples/fuzhou12345_requests.csv";

#[derive(Subcommand)]
pub enum DuplicatesCmd {
    /// Precision, recall and F1 at a threshold over labelled pairs, and a threshold sweep. The
    /// last three lines are `precision: 0.xxxx`, `recall: 0.xxxx`, `f1: 0.xxxx`.
    Eval {
        /// Pairs: CSV `a,b,duplicate` (ids of the data file, label 0/1).
        #[arg(long, default_value = DEFAULT_PAIRS)]
        input: PathBuf,
        /// The requests: CSV with `source_id`, `title` and `content` columns.
        #[arg(long, default_value = DEFAULT_DATA)]
        data: PathBuf,
        /// Similarity from which a pair counts as a duplicate (default: the configured one).
        #[arg(long)]
        threshold: Option<f32>,
    },
}

pub fn run(cmd: DuplicatesCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        DuplicatesCmd::Eval {
            input,
            data,
            threshold,
        } => {
            let threshold =
                threshold.unwrap_or(linli_app::config::DuplicatesConfig::default().threshold);
            if !(0.0..=1.0).contains(&threshold) {
                bail!("阈值应在 0 到 1 之间 (threshold must be within 0..1)");
            }
            eval(&input, &data, threshold)
        }
    }
}

/// `(source_id → title + content)` of the data file.
fn texts(path: &PathBuf) -> anyhow::Result<HashMap<String, String>> {
    let mut rdr = csv::Reader::from_path(path)
        .with_context(|| format!("无法读取 {} (cannot read the data file)", path.display()))?;
    let h = rdr.headers()?.clone();
    let col = |n: &str| {
        h.iter()
            .position(|x| x.trim_start_matches('\u{feff}') == n)
            .with_context(|| format!("{} 缺少 {n} 列", path.display()))
    };
    let (id, title, content) = (col("source_id")?, col("title")?, col("content")?);
    let mut out = HashMap::new();
    for (i, r) in rdr.records().enumerate() {
        let r = r.with_context(|| format!("{} 第 {} 行格式错误", path.display(), i + 2))?;
        out.insert(
            r.get(id).unwrap_or("").trim().to_string(),
            format!(
                "{}\n{}",
                r.get(title).unwrap_or(""),
                r.get(content).unwrap_or("")
            ),
        );
    }
    Ok(out)
}

/// `(a, b, duplicate)` rows of the pairs file.
fn pairs(path: &PathBuf) -> anyhow::Result<Vec<(String, String, bool)>> {
    let mut rdr = csv::Reader::from_path(path)
        .with_context(|| format!("无法读取 {} (cannot read the pairs file)", path.display()))?;
    let h = rdr.headers()?.clone();
    if h.iter().collect::<Vec<_>>() != ["a", "b", "duplicate"] {
        bail!("{} 的表头应为 a,b,duplicate", path.display());
    }
    let mut out = Vec::new();
    for (i, r) in rdr.records().enumerate() {
        let r = r.with_context(|| format!("{} 第 {} 行格式错误", path.display(), i + 2))?;
        let label = match r.get(2).map(str::trim) {
            Some("1") => true,
            Some("0") => false,
            other => bail!(
                "{} 第 {} 行：duplicate 应为 0 或 1，而不是 {other:?}",
                path.display(),
                i + 2
            ),
        };
        out.push((
            r.get(0).unwrap_or("").trim().to_string(),
            r.get(1).unwrap_or("").trim().to_string(),
            label,
        ));
    }
    Ok(out)
}

#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    tp: usize,
    fp: usize,
    fn_: usize,
    tn: usize,
}

impl Tally {
    fn of(scored: &[(f32, bool)], threshold: f32) -> Tally {
        let mut t = Tally::default();
        for &(s, dup) in scored {
            match (s >= threshold, dup) {
                (true, true) => t.tp += 1,
                (true, false) => t.fp += 1,
                (false, true) => t.fn_ += 1,
                (false, false) => t.tn += 1,
            }
        }
        t
    }
    fn precision(self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }
    fn recall(self) -> f64 {
        ratio(self.tp, self.tp + self.fn_)
    }
    fn f1(self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

fn eval(input: &PathBuf, data: &PathBuf, threshold: f32) -> anyhow::Result<ExitCode> {
    let texts = texts(data)?;
    let pairs = pairs(input)?;
    let seg = Segmenter::shared();
    let mut prints: HashMap<&str, Fingerprint> = HashMap::new();
    for (a, b, _) in &pairs {
        for id in [a, b] {
            if !prints.contains_key(id.as_str()) {
                let t = texts.get(id).with_context(|| {
                    format!("数据文件中没有编号 {id} (id not in the data file)")
                })?;
                let terms = index_terms(&seg, t);
                prints.insert(id, Fingerprint::of_terms(terms.iter().map(String::as_str)));
            }
        }
    }
    let scored: Vec<(f32, bool)> = pairs
        .iter()
        .map(|(a, b, dup)| (similarity(&prints[a.as_str()], &prints[b.as_str()]), *dup))
        .collect();
    let positives = scored.iter().filter(|s| s.1).count();
    println!(
        "pairs: {}  duplicates: {}  not duplicates: {}",
        scored.len(),
        positives,
        scored.len() - positives
    );
    println!("threshold  precision  recall  f1");
    for step in 1..=9 {
        let th = step as f32 / 10.0;
        let t = Tally::of(&scored, th);
        println!(
            "{th:>9.2}  {:>9.4}  {:>6.4}  {:.4}",
            t.precision(),
            t.recall(),
            t.f1()
        );
    }
    let t = Tally::of(&scored, threshold);
    println!(
        "at threshold {threshold:.2}: tp {} fp {} fn {} tn {}",
        t.tp, t.fp, t.fn_, t.tn
    );
    println!("precision: {:.4}", t.precision());
    println!("recall: {:.4}", t.recall());
    println!("f1: {:.4}", t.f1());
    Ok(ExitCode::SUCCESS)
}
