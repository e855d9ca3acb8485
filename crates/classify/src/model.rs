//! A trained classifier: what the features are, one weight per (bucket, label), and how scores
//! become probabilities. Immutable once built; `Send + Sync`, so one `Arc<Model>` serves every
//! request thread. Saved and loaded by `crate::format`.

use std::path::Path;

use linli_text::Segmenter;
use serde::Serialize;

use crate::error::ModelError;
use crate::features::{Extractor, FeatureConfig, tf, unpack};

/// The learning method; both produce a linear model over the same features.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Method {
    /// Multinomial logistic regression, AdaGrad SGD with L2.
    LogReg,
    /// Complement naive Bayes (Rennie et al. 2003) over TF-IDF, probabilities calibrated by
    /// internal cross-validation. The default: chosen by cross-validation (docs/classify.md).
    #[default]
    ComplementNb,
    /// One-vs-rest linear SVM (squared hinge, L2, dual coordinate descent), probabilities
    /// calibrated on a held-out third of the training set.
    LinearSvm,
}

impl Method {
    pub fn name(self) -> &'static str {
        match self {
            Method::LogReg => "logreg",
            Method::ComplementNb => "cnb",
            Method::LinearSvm => "svm",
        }
    }
    pub(crate) fn code(self) -> u8 {
        match self {
            Method::LogReg => 1,
            Method::ComplementNb => 2,
            Method::LinearSvm => 3,
        }
    }
    pub(crate) fn from_code(c: u8) -> Option<Method> {
        match c {
            1 => Some(Method::LogReg),
            2 => Some(Method::ComplementNb),
            3 => Some(Method::LinearSvm),
            _ => None,
        }
    }
    /// Whether features keep their hash sign (naive Bayes needs non-negative counts).
    pub(crate) fn signed(self) -> bool {
        !matches!(self, Method::ComplementNb)
    }
}

impl std::str::FromStr for Method {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "logreg" | "lr" => Ok(Method::LogReg),
            "cnb" | "complement-nb" => Ok(Method::ComplementNb),
            "svm" | "linear-svm" => Ok(Method::LinearSvm),
            other => Err(format!("未知的方法 {other}（可选 cnb、logreg、svm）")),
        }
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One suggested category with its probability.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suggestion {
    pub label: String,
    pub score: f32,
}

/// How the model was trained; kept in the file for the record.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainInfo {
    pub samples: u64,
    pub epochs: u32,
    pub learning_rate: f32,
    pub l2: f32,
    pub alpha: f32,
    pub seed: u64,
}

/// A trained classifier.
#[derive(Debug)]
pub struct Model {
    pub(crate) method: Method,
    pub(crate) labels: Vec<String>,
    pub(crate) extractor: Extractor,
    pub(crate) idf_enabled: bool,
    /// Probabilities are softmax(temperature × score).
    pub(crate) temperature: f32,
    /// The idf given to a feature never seen in training (the rarest possible).
    pub(crate) unseen_idf: f32,
    pub(crate) info: TrainInfo,
    pub(crate) bias: Vec<f32>,
    /// Buckets seen in training, increasing; row r of `idf`/`weights` belongs to `rows[r]`.
    pub(crate) rows: Vec<u32>,
    /// bucket → row, `u32::MAX` for buckets not seen in training.
    pub(crate) row_of: Vec<u32>,
    /// rows × (1 + labels): each row is the feature's idf followed by its weight for every
    /// label, so scoring a feature touches one stretch of memory (usually one cache line).
    pub(crate) table: Vec<f32>,
}

const NO_ROW: u32 = u32::MAX;

/// Interleave per-row idf and weights (rows × labels, row-major) into the scoring table.
pub(crate) fn build_table(idf: &[f32], weights: &[f32], labels: usize) -> Vec<f32> {
    let mut t = Vec::with_capacity(idf.len() * (labels + 1));
    for (r, &x) in idf.iter().enumerate() {
        t.push(x);
        t.extend_from_slice(&weights[r * labels..(r + 1) * labels]);
    }
    t
}

pub(crate) fn row_index(hash_bits: u8, rows: &[u32]) -> Vec<u32> {
    let mut row_of = vec![NO_ROW; 1usize << hash_bits];
    for (r, &b) in rows.iter().enumerate() {
        row_of[b as usize] = r as u32;
    }
    row_of
}

impl Model {
    /// Read and check a model file (see docs/classify.md for the format).
    pub fn load(path: impl AsRef<Path>) -> Result<Model, ModelError> {
        crate::format::load(path.as_ref())
    }

    /// Write the model atomically: to a temporary file beside `path`, synced, then renamed, so
    /// a reader never sees half a model.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), ModelError> {
        crate::format::save(self, path.as_ref())
    }

    /// The model file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        crate::format::encode(self)
    }

    /// A model from a file's bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Model, ModelError> {
        crate::format::decode(bytes)
    }

    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    pub fn method(&self) -> Method {
        self.method
    }

    pub fn features(&self) -> &FeatureConfig {
        self.extractor.config()
    }

    pub fn info(&self) -> &TrainInfo {
        &self.info
    }

    pub fn segmenter(&self) -> &Segmenter {
        self.extractor.segmenter()
    }

    /// The `k` most likely labels of `text` with their probabilities (highest first; the
    /// probabilities of all labels sum to 1, so the top `k` sum to at most 1). A text with no
    /// letters or digits (empty, whitespace, only emoji or punctuation) has no suggestions.
    pub fn predict(&self, text: &str, k: usize) -> Vec<Suggestion> {
        let Some(probs) = self.probabilities(text) else {
            return Vec::new();
        };
        let mut order: Vec<usize> = (0..probs.len()).collect();
        order.sort_by(|&a, &b| probs[b].total_cmp(&probs[a]).then(a.cmp(&b)));
        order
            .into_iter()
            .take(k)
            .map(|i| Suggestion {
                label: self.labels[i].clone(),
                score: probs[i],
            })
            .collect()
    }

    /// The most likely label's index, or `None` for a text with no features.
    pub fn predict_index(&self, text: &str) -> Option<usize> {
        let mut scratch = Vec::new();
        let feats = self.extractor.extract(text, &mut scratch);
        if feats.is_empty() {
            return None;
        }
        let scores = self.scores(&feats);
        argmax(&scores)
    }

    /// Probability of every label, in `labels()` order; `None` for a text with no features.
    pub fn probabilities(&self, text: &str) -> Option<Vec<f32>> {
        let mut scratch = Vec::new();
        let feats = self.extractor.extract(text, &mut scratch);
        if feats.is_empty() {
            return None;
        }
        let mut s = self.scores(&feats);
        softmax(&mut s, self.temperature);
        Some(s)
    }

    /// The stored row of a feature: idf followed by one weight per label.
    #[inline]
    pub(crate) fn row(&self, r: usize) -> &[f32] {
        let stride = self.labels.len() + 1;
        &self.table[r * stride..(r + 1) * stride]
    }

    pub(crate) fn rows_len(&self) -> usize {
        self.rows.len()
    }

    /// Raw linear scores for packed features.
    pub(crate) fn scores(&self, feats: &[u32]) -> Vec<f32> {
        let signed = self.method.signed();
        // One pass looks every feature up once and sums the per-group squares; features never
        // seen in training count at the rarest idf, so that a text made mostly of unknown words
        // is not read as confidently as a known one.
        let mut sq = [0f32; 2];
        let mut known: Vec<(u32, f32, usize)> = Vec::with_capacity(feats.len());
        for &p in feats {
            let f = unpack(p);
            let r = self.row_of[f.bucket as usize];
            let idf = if r == NO_ROW {
                self.unseen_idf
            } else {
                self.row(r as usize)[0]
            };
            let mut v = tf(f.count) * idf;
            sq[f.group] += v * v;
            if r != NO_ROW {
                if signed && f.negative {
                    v = -v;
                }
                known.push((r, v, f.group));
            }
        }
        let scale = group_scale(sq);
        let mut s = self.bias.clone();
        for (r, v, g) in known {
            let v = v * scale[g];
            let w = &self.row(r as usize)[1..];
            for (si, wi) in s.iter_mut().zip(w) {
                *si += v * wi;
            }
        }
        s
    }
}

/// Scale per group so each non-empty group has norm 1/√(groups present) and the whole vector
/// norm 1: words and characters get equal say whatever the text's length.
#[inline]
pub(crate) fn group_scale(sq: [f32; 2]) -> [f32; 2] {
    let present = sq.iter().filter(|&&x| x > 0.0).count().max(1) as f32;
    let k = 1.0 / present.sqrt();
    sq.map(|x| if x > 0.0 { k / x.sqrt() } else { 0.0 })
}

pub(crate) fn softmax(s: &mut [f32], temperature: f32) {
    let max = s
        .iter()
        .map(|&x| x * temperature)
        .fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0f32;
    for x in s.iter_mut() {
        *x = (*x * temperature - max).exp();
        sum += *x;
    }
    if sum > 0.0 && sum.is_finite() {
        for x in s.iter_mut() {
            *x /= sum;
        }
    }
}

pub(crate) fn argmax(s: &[f32]) -> Option<usize> {
    let mut best: Option<(usize, f32)> = None;
    for (i, &x) in s.iter().enumerate() {
        if best.is_none_or(|(_, b)| x > b) {
            best = Some((i, x));
        }
    }
    best.map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_sums_to_one_and_is_stable() {
        let mut s = vec![1000.0, 999.0, -1000.0];
        softmax(&mut s, 1.0);
        assert!((s.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        assert!(s[0] > s[1] && s[1] > s[2]);
    }

    #[test]
    fn group_scale_gives_unit_norm() {
        let sc = group_scale([4.0, 9.0]);
        let n = 4.0 * sc[0] * sc[0] + 9.0 * sc[1] * sc[1];
        assert!((n - 1.0).abs() < 1e-6);
        assert_eq!(group_scale([0.0, 0.0]), [0.0, 0.0]);
        let one = group_scale([0.0, 4.0]);
        assert!((4.0 * one[1] * one[1] - 1.0).abs() < 1e-6);
    }

    #[test]
    fn method_names_parse() {
        assert_eq!("logreg".parse::<Method>(), Ok(Method::LogReg));
        assert_eq!("CNB".parse::<Method>(), Ok(Method::ComplementNb));
        assert_eq!("svm".parse::<Method>(), Ok(Method::LinearSvm));
        assert!("bert".parse::<Method>().is_err());
        for m in [Method::LogReg, Method::ComplementNb, Method::LinearSvm] {
            assert_eq!(Method::from_code(m.code()), Some(m));
        }
    }
}
