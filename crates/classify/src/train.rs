//! Training. Texts are turned into packed features once (in parallel); then the chosen method
//! runs over them single-threaded with a fixed seed, so the same data and options always give
//! the same model.

use std::collections::BTreeMap;

use linli_text::Segmenter;

use crate::error::TrainError;
use crate::features::{Extractor, FeatureConfig, MAX_HASH_BITS, MIN_HASH_BITS, tf, unpack};
use crate::model::{
    Method, Model, TrainInfo, argmax, build_table, group_scale, row_index, softmax,
};

/// A labelled text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    pub text: String,
    pub label: String,
}

impl Sample {
    pub fn new(text: impl Into<String>, label: impl Into<String>) -> Self {
        Sample {
            text: text.into(),
            label: label.into(),
        }
    }
}

/// Training options. `Options::default()` is what `linli classify train` uses.
#[derive(Debug, Clone)]
pub struct Options {
    pub method: Method,
    pub features: FeatureConfig,
    /// Weight features by inverse document frequency.
    pub idf: bool,
    /// Passes over the data (logistic regression).
    pub epochs: u32,
    /// AdaGrad base learning rate (logistic regression).
    pub learning_rate: f32,
    /// L2 penalty applied to the weights a sample touches (logistic regression).
    pub l2: f32,
    /// Initial AdaGrad accumulator (logistic regression). Near zero, AdaGrad gives a feature
    /// seen once a full step and a model that memorises rare n-grams; a larger value damps
    /// the first steps of every feature until it has been seen often enough to be trusted.
    pub adagrad_delta: f32,
    /// Cost of a margin violation (linear SVM); larger fits the training data more closely.
    pub svm_c: f32,
    /// Additive smoothing (complement naive Bayes), in occurrences of a typical feature.
    pub alpha: f32,
    pub seed: u64,
    /// Threads for feature extraction (0 = all cores). Results do not depend on it.
    pub threads: usize,
    /// Words the segmenter must keep whole (org units, roads, catalogue terms), with
    /// frequencies; stored in the model so prediction segments the same way.
    pub user_words: Vec<(String, usize)>,
    /// Cap on rows × labels of the weight table: with many labels the hashed space is made
    /// smaller so the model stays within memory (2^26 weights = 256 MB of f32 at most).
    pub max_weights: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            method: Method::default(),
            features: FeatureConfig::default(),
            idf: true,
            epochs: 10,
            learning_rate: 0.2,
            l2: 1e-6,
            adagrad_delta: 1e-8,
            alpha: 1.0,
            svm_c: 1.0,
            seed: 20_240_601,
            threads: 0,
            user_words: Vec::new(),
            max_weights: 1 << 26,
        }
    }
}

impl Options {
    pub fn with_method(mut self, m: Method) -> Self {
        self.method = m;
        self
    }

    pub(crate) fn segmenter(&self) -> Segmenter {
        if self.user_words.is_empty() {
            Segmenter::shared()
        } else {
            Segmenter::with_user_words(self.user_words.iter().map(|(w, f)| (w.as_str(), *f)))
        }
    }

    fn check(&self) -> Result<(), TrainError> {
        let f = &self.features;
        if !(MIN_HASH_BITS..=MAX_HASH_BITS).contains(&f.hash_bits) {
            return Err(TrainError::BadOption(format!(
                "hash_bits 须在 {MIN_HASH_BITS} 到 {MAX_HASH_BITS} 之间"
            )));
        }
        if f.max_chars == 0 || f.char_ngram_max > 8 {
            return Err(TrainError::BadOption("特征参数无效".into()));
        }
        let positive = |x: f32| x.is_finite() && x > 0.0;
        let non_negative = |x: f32| x.is_finite() && x >= 0.0;
        let fine = positive(self.learning_rate)
            && positive(self.alpha)
            && positive(self.svm_c)
            && non_negative(self.l2)
            && non_negative(self.adagrad_delta);
        if !fine {
            return Err(TrainError::BadOption(
                "learning_rate、alpha、svm_c 须为正数，l2、adagrad_delta 须为非负数".into(),
            ));
        }
        Ok(())
    }

    /// Hash bits actually used for `n_labels` labels under `max_weights`.
    pub fn effective_hash_bits(&self, n_labels: usize) -> u8 {
        let mut bits = self.features.hash_bits;
        while bits > MIN_HASH_BITS && (1usize << bits).saturating_mul(n_labels) > self.max_weights {
            bits -= 1;
        }
        bits
    }
}

/// Train a model on `samples` (texts with empty labels are skipped).
pub fn train(samples: &[Sample], opts: &Options) -> Result<Model, TrainError> {
    let data = Dataset::new(samples, opts)?;
    let all: Vec<usize> = (0..data.len()).collect();
    data.fit(&all, opts)
}

/// Samples turned into features once, for training and for cross-validation folds.
pub(crate) struct Dataset {
    pub labels: Vec<String>,
    /// Label index of each sample.
    pub y: Vec<usize>,
    pub extractor: Extractor,
    /// Packed features of sample i: feats[offsets[i]..offsets[i + 1]].
    offsets: Vec<usize>,
    feats: Vec<u32>,
}

impl Dataset {
    pub fn new(samples: &[Sample], opts: &Options) -> Result<Dataset, TrainError> {
        opts.check()?;
        let kept: Vec<&Sample> = samples
            .iter()
            .filter(|s| !s.label.trim().is_empty())
            .collect();
        if kept.is_empty() {
            return Err(TrainError::NoSamples);
        }
        let mut label_ids: BTreeMap<&str, usize> =
            kept.iter().map(|s| (s.label.trim(), 0)).collect();
        if label_ids.len() < 2 {
            return Err(TrainError::TooFewLabels(label_ids.len()));
        }
        if label_ids.len() > usize::from(u16::MAX) {
            return Err(TrainError::TooManyLabels(label_ids.len()));
        }
        for (i, v) in label_ids.values_mut().enumerate() {
            *v = i;
        }
        let labels: Vec<String> = label_ids.keys().map(|s| s.to_string()).collect();
        let y: Vec<usize> = kept.iter().map(|s| label_ids[s.label.trim()]).collect();

        let mut cfg = opts.features;
        cfg.hash_bits = opts.effective_hash_bits(labels.len());
        let extractor = Extractor::new(opts.segmenter(), cfg);
        let texts: Vec<&str> = kept.iter().map(|s| s.text.as_str()).collect();
        let (offsets, feats) = extract_all(&extractor, &texts, opts.threads);
        Ok(Dataset {
            labels,
            y,
            extractor,
            offsets,
            feats,
        })
    }

    pub fn len(&self) -> usize {
        self.y.len()
    }

    pub fn feats(&self, i: usize) -> &[u32] {
        &self.feats[self.offsets[i]..self.offsets[i + 1]]
    }

    /// Train on the samples `idx`.
    pub fn fit(&self, idx: &[usize], opts: &Options) -> Result<Model, TrainError> {
        let mut present = vec![false; self.labels.len()];
        for &i in idx {
            present[self.y[i]] = true;
        }
        let n_present = present.iter().filter(|&&p| p).count();
        if n_present < 2 {
            return Err(TrainError::TooFewLabels(n_present));
        }
        let space = Space::new(self, idx, opts.idf, opts.method.signed());
        let c = self.labels.len();
        let (weights, bias, temperature) = match opts.method {
            Method::LogReg => {
                let (w, b) = logreg(self, idx, &space, opts);
                (w, b, 1.0)
            }
            Method::ComplementNb => {
                let (w, b) = complement_nb(self, idx, &space, opts.alpha);
                let t = calibrate(self, idx, opts, 3);
                (w, b, t)
            }
            Method::LinearSvm => {
                let (w, b) = linear_svm(self, idx, &space, opts);
                // One held-out third is enough to fit one number, and keeps training cheap.
                let t = calibrate(self, idx, opts, 1);
                (w, b, t)
            }
        };
        debug_assert_eq!(weights.len(), space.rows.len() * c);
        Ok(self.assemble(idx.len(), opts, space, weights, bias, temperature))
    }

    fn assemble(
        &self,
        samples: usize,
        opts: &Options,
        space: Space,
        weights: Vec<f32>,
        bias: Vec<f32>,
        temperature: f32,
    ) -> Model {
        Model {
            method: opts.method,
            labels: self.labels.clone(),
            extractor: self.extractor.clone(),
            idf_enabled: opts.idf,
            temperature,
            unseen_idf: space.unseen_idf,
            info: TrainInfo {
                samples: samples as u64,
                epochs: opts.epochs,
                learning_rate: opts.learning_rate,
                l2: opts.l2,
                alpha: opts.alpha,
                seed: opts.seed,
            },
            bias,
            row_of: space.row_of,
            rows: space.rows,
            table: build_table(&space.idf, &weights, self.labels.len()),
        }
    }
}

/// Extract every text's features on `threads` threads, keeping input order.
fn extract_all(ex: &Extractor, texts: &[&str], threads: usize) -> (Vec<usize>, Vec<u32>) {
    let threads = if threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        threads
    }
    .clamp(1, texts.len().max(1));
    let chunk = texts.len().div_ceil(threads).max(1);
    let parts: Vec<(Vec<usize>, Vec<u32>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = texts
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    let mut scratch = Vec::new();
                    let mut lens = Vec::with_capacity(part.len());
                    let mut feats = Vec::new();
                    for t in part {
                        let f = ex.extract(t, &mut scratch);
                        lens.push(f.len());
                        feats.extend_from_slice(&f);
                    }
                    (lens, feats)
                })
            })
            .collect();
        handles
            .into_iter()
            // A worker can only fail by a bug; carry its panic on rather than lose its texts.
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    let total: usize = parts.iter().map(|(_, f)| f.len()).sum();
    let mut offsets = Vec::with_capacity(texts.len() + 1);
    let mut feats = Vec::with_capacity(total);
    offsets.push(0);
    for (lens, f) in parts {
        for l in lens {
            offsets.push(offsets.last().copied().unwrap_or(0) + l);
        }
        feats.extend_from_slice(&f);
    }
    (offsets, feats)
}

/// The feature space of one training run: which buckets occur, their idf, and each training
/// sample's per-group scale (L2 normalisation).
struct Space {
    rows: Vec<u32>,
    row_of: Vec<u32>,
    idf: Vec<f32>,
    unseen_idf: f32,
    /// Indexed like the sample index (only entries of the training set are set).
    scale: Vec<[f32; 2]>,
    signed: bool,
}

impl Space {
    fn new(data: &Dataset, idx: &[usize], use_idf: bool, signed: bool) -> Space {
        let bits = data.extractor.config().hash_bits;
        let mut df = vec![0u32; 1usize << bits];
        for &i in idx {
            // A bucket may appear twice in one text (once per group); count documents.
            let mut last = u32::MAX;
            for &p in data.feats(i) {
                let b = unpack(p).bucket;
                if b != last {
                    df[b as usize] += 1;
                    last = b;
                }
            }
        }
        let rows: Vec<u32> = (0..df.len() as u32)
            .filter(|&b| df[b as usize] > 0)
            .collect();
        let n = idx.len() as f32;
        let smooth_idf = |d: u32| ((1.0 + n) / (1.0 + d as f32)).ln() + 1.0;
        let (idf, unseen_idf) = if use_idf {
            (
                rows.iter().map(|&b| smooth_idf(df[b as usize])).collect(),
                smooth_idf(0),
            )
        } else {
            (vec![1.0; rows.len()], 1.0)
        };
        let row_of = row_index(bits, &rows);
        let mut scale = vec![[0f32; 2]; data.len()];
        for &i in idx {
            let mut sq = [0f32; 2];
            for &p in data.feats(i) {
                let f = unpack(p);
                let v = tf(f.count) * idf[row_of[f.bucket as usize] as usize];
                sq[f.group] += v * v;
            }
            scale[i] = group_scale(sq);
        }
        Space {
            rows,
            row_of,
            idf,
            unseen_idf,
            scale,
            signed,
        }
    }

    /// Sample i's features as (row, value), into `out`.
    fn vector(&self, data: &Dataset, i: usize, out: &mut Vec<(usize, f32)>) {
        out.clear();
        let sc = self.scale[i];
        for &p in data.feats(i) {
            let f = unpack(p);
            let r = self.row_of[f.bucket as usize] as usize;
            let mut v = tf(f.count) * self.idf[r] * sc[f.group];
            if self.signed && f.negative {
                v = -v;
            }
            out.push((r, v));
        }
    }
}

/// SplitMix64: small, fast, and the same on every platform.
pub(crate) struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i + 1);
            v.swap(i, j);
        }
    }
}

/// Multinomial logistic regression: per-sample AdaGrad steps on the softmax cross-entropy, with
/// an L2 pull on the weights each step touches (lazy regularisation of sparse features).
fn logreg(data: &Dataset, idx: &[usize], space: &Space, opts: &Options) -> (Vec<f32>, Vec<f32>) {
    let c = data.labels.len();
    let mut w = vec![0f32; space.rows.len() * c];
    let mut g2 = vec![opts.adagrad_delta; space.rows.len() * c];
    let mut b = vec![0f32; c];
    let mut gb = vec![opts.adagrad_delta; c];
    let mut order = idx.to_vec();
    let mut rng = Rng::new(opts.seed);
    let mut x = Vec::new();
    let mut s = vec![0f32; c];
    let eta = opts.learning_rate;
    let l2 = opts.l2;
    const EPS: f32 = 1e-8;
    // The last SGD iterate wanders around the optimum; the average of the weights at the end of
    // each epoch in the second half of training sits much closer to it (tail averaging).
    let epochs = opts.epochs.max(1);
    let first_averaged = epochs / 2;
    let mut w_avg = vec![0f32; w.len()];
    let mut b_avg = vec![0f32; c];
    let mut averaged = 0u32;
    for epoch in 0..epochs {
        rng.shuffle(&mut order);
        for &i in &order {
            space.vector(data, i, &mut x);
            if x.is_empty() {
                continue;
            }
            s.copy_from_slice(&b);
            for &(r, v) in &x {
                for (sk, wk) in s.iter_mut().zip(&w[r * c..(r + 1) * c]) {
                    *sk += v * wk;
                }
            }
            softmax(&mut s, 1.0);
            s[data.y[i]] -= 1.0; // now the gradient of the loss w.r.t. the scores
            for (k, &gk) in s.iter().enumerate() {
                gb[k] += gk * gk;
                b[k] -= eta * gk / (gb[k].sqrt() + EPS);
            }
            for &(r, v) in &x {
                let ws = &mut w[r * c..(r + 1) * c];
                let gs = &mut g2[r * c..(r + 1) * c];
                for k in 0..c {
                    let g = s[k] * v + l2 * ws[k];
                    gs[k] += g * g;
                    ws[k] -= eta * g / (gs[k].sqrt() + EPS);
                }
            }
        }
        if epoch >= first_averaged {
            averaged += 1;
            for (a, x) in w_avg.iter_mut().zip(&w) {
                *a += x;
            }
            for (a, x) in b_avg.iter_mut().zip(&b) {
                *a += x;
            }
        }
    }
    let k = 1.0 / averaged.max(1) as f32;
    w_avg.iter_mut().for_each(|x| *x *= k);
    b_avg.iter_mut().for_each(|x| *x *= k);
    (w_avg, b_avg)
}

/// Complement naive Bayes: a label's weight for a feature is −log of the feature's smoothed
/// share among the *other* labels' texts (more stable than per-label counts when labels are
/// unbalanced). Each row is centred across labels, which changes no decision and keeps scores
/// small. Features use their magnitude: naive Bayes needs non-negative counts.
fn complement_nb(data: &Dataset, idx: &[usize], space: &Space, alpha: f32) -> (Vec<f32>, Vec<f32>) {
    let c = data.labels.len();
    let n_rows = space.rows.len();
    let mut per_label = vec![0f64; n_rows * c];
    let mut x = Vec::new();
    for &i in idx {
        space.vector(data, i, &mut x);
        let y = data.y[i];
        for &(r, v) in &x {
            per_label[r * c + y] += f64::from(v.abs());
        }
    }
    let mut label_total = vec![0f64; c];
    for r in 0..n_rows {
        for k in 0..c {
            label_total[k] += per_label[r * c + k];
        }
    }
    let grand: f64 = label_total.iter().sum();
    // Smoothing in units of one typical feature value: features are tf-idf scaled to unit
    // length, so "add one occurrence" (Laplace, Rennie et al.'s alpha = 1) means adding the mean
    // non-zero value, whatever the text length, feature space or data size.
    let mut nnz = 0usize;
    for &i in idx {
        nnz += data.feats(i).len();
    }
    let unit = if nnz > 0 { grand / nnz as f64 } else { 1.0 };
    let alpha = f64::from(alpha) * unit;
    let mut w = vec![0f32; n_rows * c];
    for r in 0..n_rows {
        let row = &per_label[r * c..(r + 1) * c];
        let all: f64 = row.iter().sum();
        let mut vals = vec![0f64; c];
        for k in 0..c {
            let comp = all - row[k];
            let comp_total = grand - label_total[k];
            let theta = (alpha + comp) / (alpha * n_rows as f64 + comp_total);
            vals[k] = -theta.ln();
        }
        let mean = vals.iter().sum::<f64>() / c as f64;
        for k in 0..c {
            w[r * c + k] = (vals[k] - mean) as f32;
        }
    }
    (w, vec![0f32; c])
}

/// One-vs-rest linear SVM with squared hinge loss and L2 regularisation, solved in the dual by
/// coordinate descent (Hsieh et al. 2008, as in LIBLINEAR), with a bias feature of value 1.
/// All labels' problems are swept together, one sample at a time, so each sample's features
/// are read once per pass; each label's problem is still solved exactly as on its own. Stops
/// when no dual variable moved much in a pass, or after `epochs × 3` passes.
fn linear_svm(
    data: &Dataset,
    idx: &[usize],
    space: &Space,
    opts: &Options,
) -> (Vec<f32>, Vec<f32>) {
    let c = data.labels.len();
    let cost = f64::from(opts.svm_c);
    let diag = (0.5 / cost) as f32; // D_ii of the squared hinge
    let mut w = vec![0f32; space.rows.len() * c];
    let mut b = vec![0f32; c];
    let mut alpha = vec![0f32; data.len() * c];
    let mut order = idx.to_vec();
    let mut rng = Rng::new(opts.seed);
    let mut x = Vec::new();
    let mut margin = vec![0f32; c];
    let mut delta = vec![0f32; c];
    for _ in 0..opts.epochs.max(1) * 3 {
        rng.shuffle(&mut order);
        let mut max_pg = 0f32;
        for &i in &order {
            space.vector(data, i, &mut x);
            if x.is_empty() {
                continue;
            }
            let qii: f32 = x.iter().map(|&(_, v)| v * v).sum::<f32>() + 1.0 + diag;
            margin.copy_from_slice(&b);
            for &(r, v) in &x {
                for (m, wk) in margin.iter_mut().zip(&w[r * c..(r + 1) * c]) {
                    *m += v * wk;
                }
            }
            let mut any = false;
            for k in 0..c {
                let y = if data.y[i] == k { 1.0 } else { -1.0 };
                let a = alpha[i * c + k];
                let g = y * margin[k] - 1.0 + diag * a;
                let pg = if a == 0.0 { g.min(0.0) } else { g };
                max_pg = max_pg.max(pg.abs());
                let new = (a - g / qii).max(0.0);
                let d = new - a;
                alpha[i * c + k] = new;
                delta[k] = d * y;
                any |= d != 0.0;
            }
            if any {
                for &(r, v) in &x {
                    for (wk, dk) in w[r * c..(r + 1) * c].iter_mut().zip(&delta) {
                        *wk += dk * v;
                    }
                }
                for (bk, dk) in b.iter_mut().zip(&delta) {
                    *bk += dk;
                }
            }
        }
        if max_pg < 0.1 {
            break;
        }
    }
    (w, b)
}

/// Naive Bayes and SVM scores are not probabilities. Fit one temperature T so that
/// softmax(T × score) has the least log-loss on scores the model did not train on: out-of-fold
/// scores of a 3-fold split of the training set, using `rounds` of the 3 folds.
fn calibrate(data: &Dataset, idx: &[usize], opts: &Options, rounds: usize) -> f32 {
    let folds = crate::cv::stratified_folds(&data.y, idx, 3, opts.seed ^ 0x5eed);
    let mut pairs: Vec<(Vec<f32>, usize)> = Vec::new();
    for f in 0..rounds.min(3) {
        let (tr, te): (Vec<usize>, Vec<usize>) = idx.iter().partition(|&&i| folds[i] != f);
        if te.is_empty() || tr.is_empty() {
            continue;
        }
        let space = Space::new(data, &tr, opts.idf, opts.method.signed());
        let (w, b) = match opts.method {
            Method::ComplementNb => complement_nb(data, &tr, &space, opts.alpha),
            Method::LinearSvm => linear_svm(data, &tr, &space, opts),
            Method::LogReg => logreg(data, &tr, &space, opts),
        };
        let m = data.assemble(tr.len(), opts, space, w, b, 1.0);
        for &i in &te {
            pairs.push((m.scores(data.feats(i)), data.y[i]));
        }
    }
    if pairs.is_empty() {
        return 1.0;
    }
    let loss = |t: f32| -> f64 {
        pairs
            .iter()
            .map(|(s, y)| {
                let mut p = s.clone();
                softmax(&mut p, t);
                -f64::from(p[*y].max(1e-12)).ln()
            })
            .sum()
    };
    // Golden-section search on log T.
    let (mut lo, mut hi) = ((1e-2f32).ln(), (1e4f32).ln());
    let g = 0.618_034f32;
    let mut a = hi - g * (hi - lo);
    let mut bb = lo + g * (hi - lo);
    let (mut la, mut lb) = (loss(a.exp()), loss(bb.exp()));
    for _ in 0..60 {
        if la < lb {
            hi = bb;
            bb = a;
            lb = la;
            a = hi - g * (hi - lo);
            la = loss(a.exp());
        } else {
            lo = a;
            a = bb;
            la = lb;
            bb = lo + g * (hi - lo);
            lb = loss(bb.exp());
        }
    }
    ((lo + hi) / 2.0).exp()
}

/// The most likely label of sample `i` of `data` with its probability, from features already
/// extracted (cross-validation), or `None` for a text with no features.
pub(crate) fn predict_cached(model: &Model, data: &Dataset, i: usize) -> Option<(usize, f32)> {
    let f = data.feats(i);
    if f.is_empty() {
        return None;
    }
    let mut s = model.scores(f);
    softmax(&mut s, model.temperature);
    argmax(&s).map(|k| (k, s[k]))
}
