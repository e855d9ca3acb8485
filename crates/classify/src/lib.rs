//! Automatic classification of request text to the dispatch catalogue (派单目录).
//!
//! Train on a deployment's own closed cases ([`train`]), keep the model in a checked file
//! ([`Model::save`], [`Model::load`]), and at intake suggest the top categories with their
//! probabilities ([`Model::predict`], or [`Suggester`], which degrades to "no suggestions" when
//! the model file is missing or damaged). Features are word and character n-grams of the
//! normalised, segmented text ([`linli_text`]) hashed into a fixed space; the classifier is a
//! linear model (complement naive Bayes by default, logistic regression as the alternative),
//! chosen by cross-validation ([`cross_validate`]). See docs/classify.md.
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod bench;
mod cv;
mod data;
mod error;
mod features;
mod format;
mod metrics;
mod model;
mod suggest;
mod train;

pub use cv::{CONFIDENCE_THRESHOLDS, Confident, CvReport, FoldScore, cross_validate};
pub use data::{Samples, prepare, read_samples};
pub use error::{DataError, ModelError, TrainError};
pub use features::{Extractor, FeatureConfig, MAX_HASH_BITS, MIN_HASH_BITS};
pub use format::{FORMAT_VERSION, MAGIC};
pub use metrics::{ClassScores, Report};
pub use model::{Method, Model, Suggestion, TrainInfo};
pub use suggest::Suggester;
pub use train::{Options, Sample, train};

/// Evaluate `model` on labelled samples. Labels the model does not know are added to the
/// report (their recall is 0: the model can never predict them).
pub fn evaluate(model: &Model, samples: &[Sample]) -> Report {
    let mut labels: Vec<String> = model.labels().to_vec();
    let mut index: std::collections::HashMap<String, usize> = labels
        .iter()
        .enumerate()
        .map(|(i, l)| (l.clone(), i))
        .collect();
    let mut pairs = Vec::with_capacity(samples.len());
    for s in samples {
        let label = s.label.trim();
        let t = match index.get(label) {
            Some(&t) => t,
            None => {
                labels.push(label.to_string());
                index.insert(label.to_string(), labels.len() - 1);
                labels.len() - 1
            }
        };
        pairs.push((t, model.predict_index(&s.text)));
    }
    Report::new(labels, &pairs)
}
