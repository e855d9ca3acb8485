//! `linli address bench`: load time, peak memory and resolutions per second on the real
//! division data, one line per figure, with a same-run baseline (normalising the same texts,
//! the least any resolver must do) because absolute rates vary between machines.

use std::io::{self, BufRead, Write};
use std::path::Path;
use std::time::Instant;

use crate::error::AddressError;
use crate::gazetteer::Gazetteer;
use crate::normalize::normalize;

/// Resolutions timed at least (the input addresses are repeated up to this).
pub const MIN_RESOLUTIONS: usize = 100_000;

/// Addresses to time when no input is given: the shapes the resolver meets.
const BUILTIN: &[&str] = &[
    "山东省临沂市蒙阴县常路镇薛家官庄",
    "东城区东华门街道多福巷社区某楼3单元",
    "山东临沂蒙阴",
    "广东省东莞市长安镇东阳光科技园电联",
    "河北省保定市雄县[UNK]岗镇[UNK]王庄村",
    "天津天津市北辰区科技园区南区高新大道景丽路欧铂城12号楼305",
    "湖北省天门市汪场镇启厚村",
    "浙江省温州市瓯海区茶山街道外家利景园7号楼2单元304",
];

/// The process's peak resident set (VmHWM) in KiB, where /proc says it.
pub fn peak_rss_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
            })
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string());
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    format!("{cpu}, {cores} cores")
}

/// Addresses from a file: the `address` column of a CSV with such a header, else one per line.
pub fn read_addresses(path: &Path) -> Result<Vec<String>, AddressError> {
    let io_err = |source| AddressError::Io {
        file: path.to_path_buf(),
        source,
    };
    let f = std::fs::File::open(path).map_err(io_err)?;
    let mut r = io::BufReader::new(f);
    let mut first = String::new();
    r.read_line(&mut first).map_err(io_err)?;
    let header: Vec<&str> = first.trim_end().split(',').collect();
    if let Some(col) = header
        .iter()
        .position(|h| h.trim_start_matches('\u{feff}') == "address")
    {
        let text = std::fs::read(path).map_err(io_err)?;
        let mut rdr = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(&text[..]);
        let mut out = Vec::new();
        for rec in rdr.records() {
            let rec = rec.map_err(|e| AddressError::Row {
                file: path.to_path_buf(),
                line: e.position().map_or(0, csv::Position::line),
                message: format!("CSV 格式错误：{e}"),
            })?;
            out.push(rec.get(col).unwrap_or("").to_string());
        }
        return Ok(out);
    }
    let mut out = vec![first.trim_end_matches(['\n', '\r']).to_string()];
    for line in r.lines() {
        out.push(line.map_err(io_err)?);
    }
    out.retain(|l| !l.trim().is_empty());
    Ok(out)
}

/// Load the divisions from `dir`, then time resolving `addresses` (the built-in examples if
/// empty) repeated to at least [`MIN_RESOLUTIONS`]. Writes one line per figure.
pub fn run(dir: &Path, addresses: &[String], out: &mut impl Write) -> Result<(), AddressError> {
    let w = |e| AddressError::Io {
        file: "stdout".into(),
        source: e,
    };
    let before = peak_rss_kib().unwrap_or(0);
    let t = Instant::now();
    let g = Gazetteer::load_dir(dir)?;
    let load = t.elapsed().as_secs_f64();
    let after_load = peak_rss_kib().unwrap_or(0);
    let texts: Vec<String> = if addresses.is_empty() {
        BUILTIN.iter().map(|s| (*s).to_string()).collect()
    } else {
        addresses.to_vec()
    };
    let rounds = MIN_RESOLUTIONS.div_ceil(texts.len().max(1));
    let total = rounds * texts.len();

    let t = Instant::now();
    let mut sink = 0usize;
    for _ in 0..rounds {
        for a in &texts {
            sink = sink.wrapping_add(normalize(a).len());
        }
    }
    let base = t.elapsed().as_secs_f64();

    let mut lat: Vec<f64> = Vec::with_capacity(total);
    let t = Instant::now();
    let mut resolved = 0usize;
    for _ in 0..rounds {
        for a in &texts {
            let s = Instant::now();
            let r = g.resolve(a);
            lat.push(s.elapsed().as_secs_f64());
            if r.code.is_some() {
                resolved += 1;
            }
        }
    }
    let secs = t.elapsed().as_secs_f64();
    lat.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 - 1.0) * p) as usize)
            .copied()
            .unwrap_or(0.0)
            * 1e6
    };
    let peak = peak_rss_kib().unwrap_or(0);
    writeln!(out, "machine: {}", machine()).map_err(w)?;
    writeln!(
        out,
        "divisions: {} units, {} keys ({})",
        g.len(),
        g.key_count(),
        dir.display()
    )
    .map_err(w)?;
    writeln!(out, "load_seconds: {load:.2}").map_err(w)?;
    writeln!(
        out,
        "peak_rss_mib_before_load: {:.1}",
        before as f64 / 1024.0
    )
    .map_err(w)?;
    writeln!(
        out,
        "peak_rss_mib_after_load: {:.1}",
        after_load as f64 / 1024.0
    )
    .map_err(w)?;
    writeln!(
        out,
        "resolutions: {total} ({} addresses x {rounds}), {resolved} with a code",
        texts.len()
    )
    .map_err(w)?;
    writeln!(
        out,
        "resolutions_per_second: {:.0}",
        total as f64 / secs.max(1e-9)
    )
    .map_err(w)?;
    writeln!(out, "resolve_p50_us: {:.1}", pct(0.5)).map_err(w)?;
    writeln!(out, "resolve_p99_us: {:.1}", pct(0.99)).map_err(w)?;
    writeln!(
        out,
        "baseline_normalize_per_second: {:.0} (checksum {sink})",
        total as f64 / base.max(1e-9)
    )
    .map_err(w)?;
    writeln!(out, "peak_rss_mib: {:.1}", peak as f64 / 1024.0).map_err(w)?;
    Ok(())
}
