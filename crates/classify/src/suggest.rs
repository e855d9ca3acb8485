//! What intake holds: a model if one could be loaded, and otherwise the reason why not. Intake
//! asks it for suggestions either way; without a model the answer is simply "none", so a
//! missing, damaged or outdated model file never stops a case being registered.

use std::path::Path;
use std::sync::Arc;

use crate::error::ModelError;
use crate::model::{Model, Suggestion};

/// Suggestions for intake forms. Cheap to clone; `Send + Sync`.
#[derive(Debug, Clone, Default)]
pub struct Suggester {
    model: Option<Arc<Model>>,
    problem: Option<Arc<str>>,
    problem_key: Option<&'static str>,
}

impl Suggester {
    /// Load `path`; on any error the suggester works without a model and remembers why.
    pub fn load(path: impl AsRef<Path>) -> Suggester {
        match Model::load(path) {
            Ok(m) => Suggester::from_model(m),
            Err(e) => Suggester::without_model(&e),
        }
    }

    pub fn from_model(model: Model) -> Suggester {
        Suggester {
            model: Some(Arc::new(model)),
            problem: None,
            problem_key: None,
        }
    }

    pub fn without_model(why: &ModelError) -> Suggester {
        Suggester {
            model: None,
            problem: Some(Arc::from(why.to_string())),
            problem_key: Some(why.key()),
        }
    }

    pub fn model(&self) -> Option<&Arc<Model>> {
        self.model.as_ref()
    }

    /// Why there is no model (Chinese message and stable key), if there is none.
    pub fn problem(&self) -> Option<(&'static str, &str)> {
        Some((self.problem_key?, self.problem.as_deref()?))
    }

    /// The top `k` categories for `text`; empty without a model or for a text with no words.
    pub fn suggest(&self, text: &str, k: usize) -> Vec<Suggestion> {
        self.model
            .as_ref()
            .map(|m| m.predict(text, k))
            .unwrap_or_default()
    }

    /// The best category if its probability is at least `min_score`: what a form may pre-fill.
    pub fn prefill(&self, text: &str, min_score: f32) -> Option<Suggestion> {
        self.suggest(text, 1)
            .into_iter()
            .next()
            .filter(|s| s.score >= min_score)
    }
}
