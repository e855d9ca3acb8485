//! Stratified k-fold cross-validation: every label is spread evenly over the folds, each fold
//! is predicted by a model trained on the others, and the figures are computed on the pooled
//! out-of-fold predictions (each text judged exactly once, by a model that never saw it).

use crate::error::TrainError;
use crate::metrics::Report;
use crate::model::Method;
use crate::train::{Dataset, Options, Rng, Sample, predict_cached};

/// Fold number (0..k) of each sample in `idx`, by label: each label's samples are shuffled
/// with `seed` and dealt round-robin, continuing the deal across labels so fold sizes differ
/// by at most one. Entries of samples outside `idx` are `usize::MAX`.
pub(crate) fn stratified_folds(y: &[usize], idx: &[usize], k: usize, seed: u64) -> Vec<usize> {
    let mut folds = vec![usize::MAX; y.len()];
    let n_labels = y.iter().copied().max().map_or(0, |m| m + 1);
    let mut by_label: Vec<Vec<usize>> = vec![Vec::new(); n_labels];
    for &i in idx {
        by_label[y[i]].push(i);
    }
    let mut rng = Rng::new(seed);
    let mut next = 0usize;
    for mut members in by_label {
        rng.shuffle(&mut members);
        for i in members {
            folds[i] = next % k;
            next += 1;
        }
    }
    folds
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FoldScore {
    pub samples: usize,
    pub accuracy: f64,
    pub macro_f1: f64,
}

/// Of the out-of-fold predictions whose top probability is at least `threshold`: how many
/// there were and how many were right. This is what a pre-fill threshold would do.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Confident {
    pub threshold: f32,
    pub predicted: usize,
    pub correct: usize,
}

/// Thresholds reported by [`cross_validate`].
pub const CONFIDENCE_THRESHOLDS: [f32; 5] = [0.5, 0.6, 0.7, 0.8, 0.9];

#[derive(Debug, Clone)]
pub struct CvReport {
    pub method: Method,
    pub folds: Vec<FoldScore>,
    /// Figures over all out-of-fold predictions together.
    pub pooled: Report,
    /// Wall-clock seconds of the whole run (feature extraction once, k trainings).
    pub seconds: f64,
    /// Coverage and precision of the top suggestion at [`CONFIDENCE_THRESHOLDS`].
    pub confident: Vec<Confident>,
}

impl CvReport {
    /// Mean and sample standard deviation of the per-fold macro-F1.
    pub fn macro_f1_spread(&self) -> (f64, f64) {
        mean_sd(self.folds.iter().map(|f| f.macro_f1))
    }
    pub fn accuracy_spread(&self) -> (f64, f64) {
        mean_sd(self.folds.iter().map(|f| f.accuracy))
    }
}

fn mean_sd(xs: impl Iterator<Item = f64> + Clone) -> (f64, f64) {
    let n = xs.clone().count() as f64;
    if n == 0.0 {
        return (0.0, 0.0);
    }
    let mean = xs.clone().sum::<f64>() / n;
    let var = if n > 1.0 {
        xs.map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    (mean, var.sqrt())
}

/// `k`-fold stratified cross-validation of `opts` on `samples` (empty labels skipped).
pub fn cross_validate(
    samples: &[Sample],
    k: usize,
    opts: &Options,
) -> Result<CvReport, TrainError> {
    let started = std::time::Instant::now();
    let data = Dataset::new(samples, opts)?;
    let n = data.len();
    if k < 2 || k > n {
        return Err(TrainError::BadFolds {
            folds: k,
            samples: n,
        });
    }
    let all: Vec<usize> = (0..n).collect();
    let fold_of = stratified_folds(&data.y, &all, k, opts.seed);
    let mut pooled = Vec::with_capacity(n);
    let mut folds = Vec::with_capacity(k);
    let mut confident: Vec<Confident> = CONFIDENCE_THRESHOLDS
        .iter()
        .map(|&threshold| Confident {
            threshold,
            predicted: 0,
            correct: 0,
        })
        .collect();
    for f in 0..k {
        let (train, test): (Vec<usize>, Vec<usize>) = all.iter().partition(|&&i| fold_of[i] != f);
        let model = data.fit(&train, opts)?;
        let mut pairs: Vec<(usize, Option<usize>)> = Vec::with_capacity(test.len());
        for &i in &test {
            let p = predict_cached(&model, &data, i);
            if let Some((k, prob)) = p {
                for c in confident.iter_mut().filter(|c| prob >= c.threshold) {
                    c.predicted += 1;
                    c.correct += usize::from(k == data.y[i]);
                }
            }
            pairs.push((data.y[i], p.map(|(k, _)| k)));
        }
        let r = Report::new(data.labels.clone(), &pairs);
        folds.push(FoldScore {
            samples: test.len(),
            accuracy: r.accuracy,
            macro_f1: r.macro_f1,
        });
        pooled.extend(pairs);
    }
    Ok(CvReport {
        method: opts.method,
        folds,
        pooled: Report::new(data.labels.clone(), &pooled),
        seconds: started.elapsed().as_secs_f64(),
        confident,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_are_stratified_and_balanced() {
        // 10 of label 0, 5 of label 1, 2 of label 2.
        let y: Vec<usize> = [vec![0; 10], vec![1; 5], vec![2; 2]].concat();
        let idx: Vec<usize> = (0..y.len()).collect();
        let folds = stratified_folds(&y, &idx, 5, 7);
        let mut sizes = [0; 5];
        let mut per = [[0; 3]; 5];
        for (i, &f) in folds.iter().enumerate() {
            sizes[f] += 1;
            per[f][y[i]] += 1;
        }
        assert!(sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1);
        for p in per {
            assert_eq!(p[0], 2);
            assert_eq!(p[1], 1);
        }
        assert_eq!(folds, stratified_folds(&y, &idx, 5, 7));
    }

    #[test]
    fn bad_fold_counts_are_refused() {
        let s = vec![
            Sample::new("路灯坏了", "城建"),
            Sample::new("学校收费", "教育"),
        ];
        let e = cross_validate(&s, 1, &Options::default()).unwrap_err();
        assert_eq!(e.key(), "bad_folds");
        let e = cross_validate(&s, 3, &Options::default()).unwrap_err();
        assert_eq!(e.key(), "bad_folds");
    }
}
