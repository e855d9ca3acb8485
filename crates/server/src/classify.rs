//! `linli classify …`: train, evaluate and use the request classifier from the shell, on any
//! `text,label` CSV, so anyone can measure it on their own data (docs/classify.md). Also
//! `prepare` (make such a CSV from an export), `cv` (cross-validated figures) and `bench`
//! (training time for 100,000 texts and classifications per second).

use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use linli_classify::{Method, Model, Options, Sample};

#[derive(Subcommand)]
pub enum ClassifyCmd {
    /// Train a model from a `text,label` CSV (UTF-8, header row) and save it.
    Train {
        #[arg(long)]
        input: PathBuf,
        #[arg(long)]
        model: PathBuf,
        #[command(flatten)]
        opts: TrainArgs,
    },
    /// Evaluate a model on a `text,label` CSV: per-label precision/recall/F1, the confusion
    /// matrix, then `accuracy: …` and `macro_f1: …` as the last two lines.
    Eval {
        #[arg(long)]
        input: PathBuf,
        #[arg(long)]
        model: PathBuf,
    },
    /// Read one text per line on standard input; print one JSON line per text with the top
    /// labels and their probabilities: {"top":[{"label":"…","score":0.83},…]}.
    Predict {
        #[arg(long)]
        model: PathBuf,
        /// How many labels per text.
        #[arg(long, default_value_t = 3)]
        top: usize,
    },
    /// Stratified k-fold cross-validation on a `text,label` CSV, printed like `eval`.
    Cv {
        #[arg(long)]
        input: PathBuf,
        #[arg(long, default_value_t = 5)]
        folds: usize,
        /// Cross-validate every method and print a comparison table instead of one report.
        #[arg(long)]
        compare: bool,
        #[command(flatten)]
        opts: TrainArgs,
    },
    /// Make a `text,label` CSV from any CSV (e.g. messages_sample495.csv) by naming its text
    /// columns (joined with a space) and its label column.
    Prepare {
        #[arg(long)]
        input: PathBuf,
        /// Comma-separated text columns, e.g. 留言主题,留言详情.
        #[arg(long, value_delimiter = ',')]
        text: Vec<String>,
        /// The label column, e.g. 一级分类.
        #[arg(long)]
        label: String,
        /// Output file; default: standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Time training on N texts and single-threaded classification (see docs/classify.md for
    /// how the texts are made from the sample files).
    Bench(BenchArgs),
}

#[derive(Args, Clone)]
pub struct TrainArgs {
    /// cnb (complement naive Bayes, the default), logreg (logistic regression) or svm (linear
    /// SVM, one-vs-rest).
    #[arg(long, default_value = "cnb")]
    method: String,
    /// Words to keep whole when segmenting (one per line, optionally `word frequency`):
    /// street, community and road names, catalogue terms. Stored in the model.
    #[arg(long)]
    user_words: Option<PathBuf>,
    /// Passes over the data (logreg).
    #[arg(long)]
    epochs: Option<u32>,
    /// Size of the hashed feature space, 2^bits (10–24).
    #[arg(long)]
    hash_bits: Option<u8>,
    /// Seed of every random choice (training is deterministic for a given seed).
    #[arg(long)]
    seed: Option<u64>,
}

#[derive(Args, Clone)]
pub struct BenchArgs {
    /// Training texts to build.
    #[arg(long, default_value_t = 100_000)]
    texts: usize,
    /// Classifications to time.
    #[arg(long, default_value_t = 20_000)]
    predictions: usize,
    /// Directory with messages_sample495.csv, messages_unlabelled4326.csv and
    /// fuzhou12345_requests.csv.
    #[arg(long, default_value = "../shared/data/samples")]
    samples: PathBuf,
    #[command(flatten)]
    opts: TrainArgs,
}

impl TrainArgs {
    fn options(&self) -> anyhow::Result<Options> {
        let method: Method = self.method.parse().map_err(anyhow::Error::msg)?;
        let mut o = Options::default().with_method(method);
        if let Some(e) = self.epochs {
            o.epochs = e;
        }
        if let Some(b) = self.hash_bits {
            o.features.hash_bits = b;
        }
        if let Some(s) = self.seed {
            o.seed = s;
        }
        if let Some(p) = &self.user_words {
            o.user_words = read_user_words(p)?;
        }
        Ok(o)
    }
}

fn read_user_words(path: &Path) -> anyhow::Result<Vec<(String, usize)>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("无法读取 {}", path.display()))?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let mut parts = line.split_whitespace();
        let Some(word) = parts.next() else { continue };
        let freq = match parts.next() {
            Some(f) => f
                .parse()
                .with_context(|| format!("{} 第 {} 行：词频不是整数", path.display(), n + 1))?,
            None => 0,
        };
        out.push((word.to_string(), freq));
    }
    Ok(out)
}

fn read_samples(path: &Path) -> anyhow::Result<Vec<Sample>> {
    let f = std::fs::File::open(path).with_context(|| format!("无法打开 {}", path.display()))?;
    let s = linli_classify::read_samples(std::io::BufReader::new(f))
        .with_context(|| format!("读取 {} 失败", path.display()))?;
    if s.skipped_no_label > 0 {
        eprintln!("提示：{} 行没有 label，已跳过", s.skipped_no_label);
    }
    Ok(s.samples)
}

fn load_model(path: &Path) -> anyhow::Result<Model> {
    Model::load(path).map_err(|e| anyhow::anyhow!("{e}"))
}

pub fn run(cmd: ClassifyCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        ClassifyCmd::Train { input, model, opts } => {
            let samples = read_samples(&input)?;
            let opts = opts.options()?;
            let started = Instant::now();
            let m = linli_classify::train(&samples, &opts)?;
            let secs = started.elapsed().as_secs_f64();
            m.save(&model)?;
            println!(
                "已训练 {}：{} 条样本，{} 个类别，用时 {secs:.1} 秒，已保存到 {}",
                m.method(),
                m.info().samples,
                m.labels().len(),
                model.display()
            );
        }
        ClassifyCmd::Eval { input, model } => {
            let m = load_model(&model)?;
            let samples = read_samples(&input)?;
            println!("{}", linli_classify::evaluate(&m, &samples));
        }
        ClassifyCmd::Predict { model, top } => {
            let m = load_model(&model)?;
            predict_lines(&m, top, std::io::stdin().lock(), std::io::stdout().lock())?;
        }
        ClassifyCmd::Cv {
            input,
            folds,
            compare,
            opts,
        } => {
            let samples = read_samples(&input)?;
            let base = opts.options()?;
            if compare {
                println!(
                    "{}-fold stratified cross-validation, {} samples ({})",
                    folds,
                    samples.len(),
                    input.display()
                );
                println!(
                    "{:<8} {:>16} {:>16} {:>10} {:>10} {:>8}",
                    "method", "accuracy", "macro_f1", "pooled_acc", "pooled_f1", "seconds"
                );
                for method in [Method::ComplementNb, Method::LogReg, Method::LinearSvm] {
                    let r = linli_classify::cross_validate(
                        &samples,
                        folds,
                        &base.clone().with_method(method),
                    )?;
                    let (am, asd) = r.accuracy_spread();
                    let (fm, fsd) = r.macro_f1_spread();
                    println!(
                        "{:<8} {:>9.4} ± {:.4} {:>9.4} ± {:.4} {:>10.4} {:>10.4} {:>8.1}",
                        method.name(),
                        am,
                        asd,
                        fm,
                        fsd,
                        r.pooled.accuracy,
                        r.pooled.macro_f1,
                        r.seconds
                    );
                }
            } else {
                let r = linli_classify::cross_validate(&samples, folds, &base)?;
                let (fm, fsd) = r.macro_f1_spread();
                println!(
                    "{}，{folds} 折分层交叉验证（每条样本由未见过它的模型预测）；各折 macro_f1 {fm:.4} ± {fsd:.4}",
                    r.method
                );
                println!("首选建议的概率 ≥ 阈值时（预填表单的参考）：");
                for c in &r.confident {
                    println!(
                        "  ≥ {:.1}：{} 条（占 {:.1}%），其中正确 {:.1}%",
                        c.threshold,
                        c.predicted,
                        100.0 * c.predicted as f64 / r.pooled.samples.max(1) as f64,
                        100.0 * c.correct as f64 / c.predicted.max(1) as f64
                    );
                }
                println!("{}", r.pooled);
            }
        }
        ClassifyCmd::Prepare {
            input,
            text,
            label,
            out,
        } => {
            if text.is_empty() {
                bail!("请用 --text 指定文本列");
            }
            let f = std::fs::File::open(&input)
                .with_context(|| format!("无法打开 {}", input.display()))?;
            let r = std::io::BufReader::new(f);
            let (written, skipped) = match &out {
                Some(p) => {
                    let w = std::fs::File::create(p)
                        .with_context(|| format!("无法写入 {}", p.display()))?;
                    linli_classify::prepare(r, BufWriter::new(w), &text, &label)?
                }
                None => linli_classify::prepare(r, std::io::stdout().lock(), &text, &label)?,
            };
            eprintln!("已写出 {written} 条；{skipped} 条没有类别，已跳过");
        }
        ClassifyCmd::Bench(args) => bench(&args)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// The JSON line for one text's suggestions; probabilities rounded to 4 decimals.
pub fn suggestion_json(m: &Model, text: &str, top: usize) -> String {
    let top: Vec<serde_json::Value> = m
        .predict(text, top)
        .into_iter()
        .map(|s| {
            serde_json::json!({
                "label": s.label,
                "score": (f64::from(s.score) * 10_000.0).round() / 10_000.0,
            })
        })
        .collect();
    serde_json::json!({ "top": top }).to_string()
}

/// One JSON line per input line (invalid UTF-8 is replaced, not fatal).
fn predict_lines(
    m: &Model,
    top: usize,
    mut input: impl BufRead,
    output: impl Write,
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
        writeln!(out, "{}", suggestion_json(m, line, top))?;
    }
    out.flush()?;
    Ok(())
}

fn bench(args: &BenchArgs) -> anyhow::Result<()> {
    let opts = args.opts.options()?;
    let mut out = std::io::stdout().lock();
    linli_classify::bench::run(&args.samples, args.texts, args.predictions, &opts, &mut out)?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn predict_lines_one_json_per_line() {
        let samples = vec![
            Sample::new("路灯不亮 道路破损", "城乡建设"),
            Sample::new("学校收费 教师", "教育文体"),
            Sample::new("马路路灯坏了", "城乡建设"),
            Sample::new("学生 学校 老师", "教育文体"),
        ];
        let m = linli_classify::train(&samples, &Options::default()).unwrap();
        let input = "路灯坏了\n\n😀\r\n学校\n".as_bytes();
        let mut out = Vec::new();
        predict_lines(&m, 3, input, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4);
        let v: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(v["top"][0]["label"], "城乡建设");
        assert_eq!(v["top"].as_array().unwrap().len(), 2);
        assert_eq!(lines[1], r#"{"top":[]}"#);
        assert_eq!(lines[2], r#"{"top":[]}"#);
    }
}
