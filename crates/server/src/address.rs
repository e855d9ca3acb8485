//! `linli address …`: resolve free-text addresses to division codes from the shell (one JSON
//! line per input line), measure the resolver on a labelled CSV, and time it
//! (docs/address.md). The division files are read from `--divisions DIR`, by default
//! `../shared/data/divisions` when it exists.

use std::io::{BufRead, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::Subcommand;
use linli_address::Gazetteer;

const DEFAULT_DIVISIONS: &str = "../shared/data/divisions";
const DEFAULT_BENCH_INPUT: &str = "../shared/data/addresses/addresses_dev.csv";

#[derive(Subcommand)]
pub enum AddressCmd {
    /// Read one address per line on standard input; print one JSON line per address:
    /// {"province","city","district","town","community","code","confidence"} (names as in the
    /// division data, empty when unknown; code the most specific one found).
    Resolve {
        /// Directory with provinces.csv, cities.csv, areas.csv, streets.csv, villages.csv[.gz].
        #[arg(long)]
        divisions: Option<PathBuf>,
    },
    /// Per-level accuracy on a labelled CSV (id,address,province,city,district,devzone,town,
    /// community,village); the last line is `town_accuracy: 0.xxxx`.
    Eval {
        #[arg(long)]
        input: PathBuf,
        #[arg(long)]
        divisions: Option<PathBuf>,
    },
    /// Load time, peak memory (VmHWM) and resolutions per second, one line per figure.
    Bench {
        #[arg(long)]
        divisions: Option<PathBuf>,
        /// Addresses to time: a CSV with an `address` column, or one per line (default:
        /// ../shared/data/addresses/addresses_dev.csv if present, else built-in examples).
        #[arg(long)]
        input: Option<PathBuf>,
    },
}

fn divisions_dir(given: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(d) = given {
        return Ok(d);
    }
    let d = PathBuf::from(DEFAULT_DIVISIONS);
    if d.is_dir() {
        return Ok(d);
    }
    bail!(
        "找不到区划数据目录 {DEFAULT_DIVISIONS}，请用 --divisions DIR 指定 \
         (division data not found at {DEFAULT_DIVISIONS}; pass --divisions DIR)"
    )
}

fn load(dir: &Path) -> anyhow::Result<Gazetteer> {
    let started = Instant::now();
    let g =
        Gazetteer::load_dir(dir).with_context(|| format!("无法加载区划数据 {}", dir.display()))?;
    eprintln!(
        "已加载 {} 个区划单位（{}），用时 {:.1} 秒",
        g.len(),
        dir.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(g)
}

pub fn run(cmd: AddressCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        AddressCmd::Resolve { divisions } => {
            let g = load(&divisions_dir(divisions)?)?;
            let interactive = std::io::stdin().is_terminal();
            resolve_lines(
                &g,
                std::io::stdin().lock(),
                std::io::stdout().lock(),
                interactive,
            )?;
        }
        AddressCmd::Eval { input, divisions } => {
            let g = load(&divisions_dir(divisions)?)?;
            let f = std::fs::File::open(&input)
                .with_context(|| format!("无法打开 {}", input.display()))?;
            let report =
                linli_address::eval(&g, std::io::BufReader::new(f), &input.display().to_string())?;
            println!("{report}");
        }
        AddressCmd::Bench { divisions, input } => {
            let dir = divisions_dir(divisions)?;
            let input = input.or_else(|| {
                let p = PathBuf::from(DEFAULT_BENCH_INPUT);
                p.is_file().then_some(p)
            });
            let addresses = match &input {
                Some(p) => linli_address::bench::read_addresses(p)?,
                None => Vec::new(),
            };
            let mut out = std::io::stdout().lock();
            if let Some(p) = &input {
                writeln!(
                    out,
                    "input: {} ({} addresses)",
                    p.display(),
                    addresses.len()
                )?;
            } else {
                writeln!(out, "input: built-in examples")?;
            }
            linli_address::bench::run(&dir, &addresses, &mut out)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One JSON line per input line (invalid UTF-8 is replaced, not fatal). `flush_each` for a
/// person typing at a terminal.
fn resolve_lines(
    g: &Gazetteer,
    mut input: impl BufRead,
    output: impl Write,
    flush_each: bool,
) -> anyhow::Result<()> {
    let mut out = BufWriter::new(output);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        if input.read_until(b'\n', &mut buf)? == 0 {
            break;
        }
        let line = String::from_utf8_lossy(&buf);
        let line = line.trim_end_matches(['\n', '\r']);
        serde_json::to_writer(&mut out, &g.resolve(line))?;
        out.write_all(b"\n")?;
        if flush_each {
            out.flush()?;
        }
    }
    out.flush()?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use linli_address::{Division, Level};

    #[test]
    fn resolve_lines_one_json_per_line() {
        let g = Gazetteer::from_rows(vec![
            Division::new("11", "北京市", Level::Province, None),
            Division::new("1101", "市辖区", Level::City, Some("11")),
            Division::new("110101", "东城区", Level::County, Some("1101")),
        ])
        .unwrap();
        let mut out = Vec::new();
        resolve_lines(&g, "北京市东城区\n\n😀\r\n".as_bytes(), &mut out, false).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        let v: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(v["code"], "110101");
        assert_eq!(v["city"], "市辖区");
        let v: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
        assert_eq!(v["code"], "");
        assert_eq!(v["confidence"], 0.0);
    }
}
