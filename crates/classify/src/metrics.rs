//! Evaluation figures: per-label precision, recall and F1, the confusion matrix, accuracy and
//! macro-F1. A text the model gives no suggestion for (no letters or digits) counts as a wrong
//! answer in its own "no suggestion" column. Macro-F1 averages over every label that occurs in
//! the truth or in the predictions (as scikit-learn does); a label never predicted has
//! precision 0.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClassScores {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// How many samples truly have this label.
    pub support: u64,
    /// How many samples were predicted to have it.
    pub predicted: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub labels: Vec<String>,
    /// confusion[true][predicted]; the last column counts samples with no prediction.
    pub confusion: Vec<Vec<u64>>,
    pub classes: Vec<ClassScores>,
    pub samples: u64,
    pub accuracy: f64,
    pub macro_f1: f64,
}

impl Report {
    /// Figures for `(true label index, predicted label index)` pairs over `labels`.
    /// Indices must be below `labels.len()`; out-of-range ones are ignored.
    pub fn new(labels: Vec<String>, pairs: &[(usize, Option<usize>)]) -> Report {
        let n = labels.len();
        let mut confusion = vec![vec![0u64; n + 1]; n];
        let mut samples = 0u64;
        let mut correct = 0u64;
        for &(t, p) in pairs {
            if t >= n || p.is_some_and(|p| p >= n) {
                continue;
            }
            samples += 1;
            confusion[t][p.unwrap_or(n)] += 1;
            if p == Some(t) {
                correct += 1;
            }
        }
        let mut classes = Vec::with_capacity(n);
        let mut f1_sum = 0.0;
        let mut counted = 0usize;
        for k in 0..n {
            let tp = confusion[k][k];
            let support: u64 = confusion[k].iter().sum();
            let predicted: u64 = confusion.iter().map(|row| row[k]).sum();
            let precision = ratio(tp, predicted);
            let recall = ratio(tp, support);
            let f1 = if precision + recall > 0.0 {
                2.0 * precision * recall / (precision + recall)
            } else {
                0.0
            };
            if support > 0 || predicted > 0 {
                f1_sum += f1;
                counted += 1;
            }
            classes.push(ClassScores {
                precision,
                recall,
                f1,
                support,
                predicted,
            });
        }
        Report {
            labels,
            confusion,
            classes,
            samples,
            accuracy: ratio(correct, samples),
            macro_f1: if counted > 0 {
                f1_sum / counted as f64
            } else {
                0.0
            },
        }
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// Terminal columns of `s` (CJK and other wide characters take two).
fn width(s: &str) -> usize {
    s.chars()
        .map(|c| if (c as u32) >= 0x1100 { 2 } else { 1 })
        .sum()
}

fn pad(s: &str, w: usize) -> String {
    let mut out = s.to_string();
    for _ in width(s)..w {
        out.push(' ');
    }
    out
}

/// The layout `linli classify eval` prints; the last two lines are always
/// `accuracy: 0.xxxx` and `macro_f1: 0.xxxx`.
impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name_w = self
            .labels
            .iter()
            .map(|l| width(l))
            .max()
            .unwrap_or(0)
            .max(6)
            + 3 // the "NN " label number
            + 2;
        writeln!(f, "样本 {} 条，类别 {} 个", self.samples, self.labels.len())?;
        writeln!(
            f,
            "{}{:>10}{:>10}{:>10}{:>9}",
            pad("label", name_w),
            "precision",
            "recall",
            "f1",
            "support"
        )?;
        for (k, (l, c)) in self.labels.iter().zip(&self.classes).enumerate() {
            if c.support == 0 && c.predicted == 0 {
                continue;
            }
            writeln!(
                f,
                "{}{:>10.4}{:>10.4}{:>10.4}{:>9}",
                pad(&format!("{:>2} {l}", k + 1), name_w),
                c.precision,
                c.recall,
                c.f1,
                c.support
            )?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "混淆矩阵（行：实际类别，列：预测类别，“无”为未给出建议）"
        )?;
        let cell = self
            .confusion
            .iter()
            .flatten()
            .max()
            .map_or(1, |m| m.to_string().len())
            .max(3)
            + 1;
        let mut head = pad("", name_w);
        for k in 0..self.labels.len() {
            head.push_str(&format!("{:>cell$}", k + 1));
        }
        head.push_str(&format!("{:>w$}", "无", w = cell - 1));
        writeln!(f, "{head}")?;
        for (k, row) in self.confusion.iter().enumerate() {
            let mut line = pad(&format!("{:>2} {}", k + 1, self.labels[k]), name_w);
            for v in row {
                line.push_str(&format!("{v:>cell$}"));
            }
            writeln!(f, "{line}")?;
        }
        writeln!(f)?;
        writeln!(f, "accuracy: {:.4}", self.accuracy)?;
        write!(f, "macro_f1: {:.4}", self.macro_f1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Vec<String> {
        vec!["a".into(), "b".into(), "c".into()]
    }

    /// Worked by hand:
    /// true a a a b b c, predicted a a b b c none.
    /// a: tp 2, predicted 2, support 3 → P 1, R 2/3, F1 0.8
    /// b: tp 1, predicted 2, support 2 → P 0.5, R 0.5, F1 0.5
    /// c: tp 0, predicted 1, support 1 → P 0, R 0, F1 0
    /// accuracy 3/6, macro-F1 (0.8 + 0.5 + 0) / 3 = 0.4333…
    #[test]
    fn hand_computed_example() {
        let pairs = [
            (0, Some(0)),
            (0, Some(0)),
            (0, Some(1)),
            (1, Some(1)),
            (1, Some(2)),
            (2, None),
        ];
        let r = Report::new(labels(), &pairs);
        assert_eq!(r.samples, 6);
        assert!((r.accuracy - 0.5).abs() < 1e-12);
        let a = r.classes[0];
        assert!((a.precision - 1.0).abs() < 1e-12);
        assert!((a.recall - 2.0 / 3.0).abs() < 1e-12);
        assert!((a.f1 - 0.8).abs() < 1e-12);
        let b = r.classes[1];
        assert!((b.precision - 0.5).abs() < 1e-12 && (b.recall - 0.5).abs() < 1e-12);
        assert_eq!(r.classes[2].f1, 0.0);
        assert!((r.macro_f1 - 1.3 / 3.0).abs() < 1e-12);
        assert_eq!(r.confusion[0], vec![2, 1, 0, 0]);
        assert_eq!(r.confusion[2], vec![0, 0, 0, 1]);
    }

    #[test]
    fn perfect_and_majority() {
        let perfect = Report::new(labels(), &[(0, Some(0)), (1, Some(1)), (2, Some(2))]);
        assert_eq!(perfect.accuracy, 1.0);
        assert_eq!(perfect.macro_f1, 1.0);
        // Always "a" on a a b c: a has P 0.5 R 1 F1 2/3; b, c F1 0 → macro 2/9.
        let maj = Report::new(
            labels(),
            &[(0, Some(0)), (0, Some(0)), (1, Some(0)), (2, Some(0))],
        );
        assert!((maj.accuracy - 0.5).abs() < 1e-12);
        assert!((maj.macro_f1 - 2.0 / 9.0).abs() < 1e-12);
    }

    #[test]
    fn labels_absent_from_both_sides_do_not_count() {
        let r = Report::new(labels(), &[(0, Some(0)), (1, Some(1))]);
        assert_eq!(r.macro_f1, 1.0);
    }

    #[test]
    fn empty_report() {
        let r = Report::new(labels(), &[]);
        assert_eq!(r.accuracy, 0.0);
        assert_eq!(r.macro_f1, 0.0);
        let text = r.to_string();
        let last: Vec<&str> = text.lines().rev().take(2).collect();
        assert_eq!(last, vec!["macro_f1: 0.0000", "accuracy: 0.0000"]);
    }

    #[test]
    fn display_ends_with_the_two_contract_lines() {
        let r = Report::new(labels(), &[(0, Some(0)), (1, Some(0)), (2, Some(2))]);
        let text = r.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[lines.len() - 2], "accuracy: 0.6667");
        assert_eq!(lines[lines.len() - 1], "macro_f1: 0.5556");
        assert!(text.contains("precision"));
    }
}
