//! The classifier benchmark behind `linli classify bench` (and `cargo run --release -p
//! linli-classify --example bench`): build N training texts from the sample files, time
//! training, then time single-threaded classification next to a baseline measured in the same
//! run (bare segmentation of the same texts, which no classifier can avoid). It prints one line
//! per figure and asserts nothing.

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use crate::model::Model;
use crate::train::{Options, Rng, Sample, train};

/// Anything that can stop the benchmark, as text for the command line.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BenchError(String);

fn err(e: impl std::fmt::Display) -> BenchError {
    BenchError(e.to_string())
}

/// Texts of a CSV's named columns joined with a space, with the label column if given.
fn csv_texts(path: &Path, cols: &[&str], label: Option<&str>) -> Result<Vec<Sample>, BenchError> {
    let mut r = csv::Reader::from_path(path)
        .map_err(|e| BenchError(format!("无法打开 {}：{e}", path.display())))?;
    let h = r.headers().map_err(err)?.clone();
    let idx = |c: &str| {
        h.iter()
            .position(|x| x == c)
            .ok_or_else(|| BenchError(format!("{} 缺少列 {c}", path.display())))
    };
    let ti = cols.iter().map(|c| idx(c)).collect::<Result<Vec<_>, _>>()?;
    let li = label.map(idx).transpose()?;
    let mut out = Vec::new();
    for rec in r.records() {
        let rec = rec.map_err(err)?;
        let text = ti
            .iter()
            .map(|&i| rec.get(i).unwrap_or(""))
            .collect::<Vec<_>>()
            .join(" ");
        let label = li.and_then(|i| rec.get(i)).unwrap_or("").to_string();
        out.push(Sample::new(text, label));
    }
    Ok(out)
}

/// `n` training texts from `dir` (`../shared/data/samples`): the 495 labelled messages; the
/// 4,326 unlabelled messages and 1,454 Fuzhou requests, labelled by a model trained on those
/// 495 (plausible labels, not true ones: this measures speed, not accuracy); then copies of
/// all of them, each with about 3% of its characters dropped at random and `第k次反映` appended,
/// until there are `n`.
pub fn corpus(dir: &Path, n: usize, seed: u64) -> Result<Vec<Sample>, BenchError> {
    let labelled = csv_texts(
        &dir.join("messages_sample495.csv"),
        &["留言主题", "留言详情"],
        Some("一级分类"),
    )?;
    let seed_model = train(&labelled, &Options::default()).map_err(err)?;
    let mut base = labelled;
    let more = csv_texts(
        &dir.join("messages_unlabelled4326.csv"),
        &["留言主题", "留言详情"],
        None,
    )?
    .into_iter()
    .chain(csv_texts(
        &dir.join("fuzhou12345_requests.csv"),
        &["title", "content"],
        None,
    )?);
    for mut s in more {
        if let Some(top) = seed_model.predict(&s.text, 1).into_iter().next() {
            s.label = top.label;
            base.push(s);
        }
    }
    let mut rng = Rng::new(seed);
    let mut out = Vec::with_capacity(n);
    let mut copy = 0usize;
    while out.len() < n && !base.is_empty() {
        for s in &base {
            if out.len() >= n {
                break;
            }
            if copy == 0 {
                out.push(s.clone());
            } else {
                let mut t: String = s.text.chars().filter(|_| rng.below(100) >= 3).collect();
                t.push_str(&format!(" 第{copy}次反映"));
                out.push(Sample::new(t, s.label.clone()));
            }
        }
        copy += 1;
    }
    Ok(out)
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .and_then(|r| r.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown cpu".into());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    // Other work on the machine slows every figure; say how busy it was.
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|t| t.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into());
    format!("{model}, {cores} cores, load average {load} at start")
}

fn status_mib(key: &str) -> f64 {
    let text = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    text.lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l[key.len()..].split_whitespace().next())
        .and_then(|v| v.parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0)
}

/// CPU seconds (user + system) used so far by this process (`who = "self"`) or this thread
/// (`"thread-self"`), from /proc; 0 where /proc is absent. On a machine shared with other work,
/// wall-clock time measures the queue as much as the code; CPU time measures the code.
fn cpu_seconds(who: &str) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{who}/stat")) else {
        return 0.0;
    };
    // Fields after the command name (which is in parentheses and may contain spaces).
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return 0.0;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of stat, i.e. 11 and 12 after the name.
    (ticks(11) + ticks(12)) / 100.0
}

/// Build `texts` training texts from `dir`, train with `opts`, classify `predictions` texts
/// single-threaded, and print the figures to `out`.
pub fn run(
    dir: &Path,
    texts: usize,
    predictions: usize,
    opts: &Options,
    out: &mut impl Write,
) -> Result<(), BenchError> {
    let started = Instant::now();
    let corpus = corpus(dir, texts, opts.seed)?;
    let chars: usize = corpus.iter().map(|s| s.text.chars().count()).sum();
    writeln!(out, "machine: {}", machine()).map_err(err)?;
    writeln!(
        out,
        "corpus: {} texts, mean {:.0} chars, built in {:.1} s (docs/classify.md says how)",
        corpus.len(),
        chars as f64 / corpus.len().max(1) as f64,
        started.elapsed().as_secs_f64()
    )
    .map_err(err)?;

    let rss_before = status_mib("VmRSS:");
    let cpu0 = cpu_seconds("self");
    let t = Instant::now();
    let model = train(&corpus, opts).map_err(err)?;
    let train_secs = t.elapsed().as_secs_f64();
    let train_cpu = cpu_seconds("self") - cpu0;
    writeln!(
        out,
        "train: method {}, {} texts, {} labels, {:.1} s wall, {:.1} s CPU ({:.0} texts/s; features on {} threads, fitting on 1), RSS before {:.0} MiB, peak {:.0} MiB",
        model.method(),
        corpus.len(),
        model.labels().len(),
        train_secs,
        train_cpu,
        corpus.len() as f64 / train_secs.max(1e-9),
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        rss_before,
        status_mib("VmHWM:"),
    )
    .map_err(err)?;
    let bytes = model.to_bytes();
    let t = Instant::now();
    let loaded = Model::from_bytes(&bytes).map_err(err)?;
    writeln!(
        out,
        "model: {:.1} MiB on disk, loaded and checked in {:.0} ms",
        bytes.len() as f64 / (1024.0 * 1024.0),
        t.elapsed().as_secs_f64() * 1000.0
    )
    .map_err(err)?;

    let n = predictions.max(1);
    let sample: Vec<&str> = corpus
        .iter()
        .map(|s| s.text.as_str())
        .cycle()
        .take(n)
        .collect();
    let seg = loaded.segmenter().clone();
    let t = Instant::now();
    let mut terms = 0usize;
    for text in &sample {
        terms += seg.segment(text).len();
    }
    let seg_secs = t.elapsed().as_secs_f64();
    let mut lat = Vec::with_capacity(n);
    let mut suggested = 0usize;
    let cpu0 = cpu_seconds("thread-self");
    let t = Instant::now();
    for text in &sample {
        let t1 = Instant::now();
        suggested += loaded.predict(text, 3).len();
        lat.push(t1.elapsed().as_secs_f64() * 1e6);
    }
    let pred_secs = t.elapsed().as_secs_f64();
    let pred_cpu = cpu_seconds("thread-self") - cpu0;
    lat.sort_by(f64::total_cmp);
    let pct = |p: f64| lat[((lat.len() as f64 - 1.0) * p).round() as usize];
    writeln!(
        out,
        "baseline segmentation: {n} texts, {:.0} texts/s single-threaded ({terms} terms)",
        n as f64 / seg_secs.max(1e-9)
    )
    .map_err(err)?;
    writeln!(
        out,
        "classify: {n} texts, {:.0} classifications/s single-threaded ({:.0} per CPU second), p50 {:.0} µs, p99 {:.0} µs, max {:.0} µs ({suggested} suggestions)",
        n as f64 / pred_secs.max(1e-9),
        n as f64 / pred_cpu.max(1e-9),
        pct(0.5),
        pct(0.99),
        lat.last().copied().unwrap_or(0.0)
    )
    .map_err(err)?;
    let long = "小区噪音扰民，".repeat(15_000);
    let t = Instant::now();
    let top = loaded.predict(&long, 3);
    writeln!(
        out,
        "classify one 105,000-character text: {:.0} µs, {} suggestions (features read the first {} characters)",
        t.elapsed().as_secs_f64() * 1e6,
        top.len(),
        loaded.features().max_chars
    )
    .map_err(err)?;
    writeln!(out, "peak RSS: {:.0} MiB", status_mib("VmHWM:")).map_err(err)?;
    Ok(())
}
