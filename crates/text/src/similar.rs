//! How alike two requests read, for duplicate detection.
//!
//! A request is fingerprinted by the terms it is indexed under for search ([`index_terms`]): its
//! jieba words, their sub-words and particle-free cores, with function words left out. Each term
//! is folded to its near-synonym group's first word (`坏` and `故障` count as one, with the
//! group word's weight), and weighs by its length: a single character says little, a three-character word (a place, a facility)
//! says much. Two fingerprints are compared by weighted overlap: the shared weight over the
//! smaller fingerprint's weight, blended with the shared weight over the union (weighted
//! Jaccard), so a one-line hotline note is recognised inside a long web post, while two long
//! texts that share a few words are not.
//!
//! The score is in `[0, 1]`; what counts as a duplicate is the caller's threshold
//! (`[duplicates] threshold`), measured on a labelled set (`linli duplicates eval`).
//!
//! [`index_terms`]: crate::index_terms

use std::collections::HashMap;

use crate::search::canonical;

/// A text's weighted terms.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Fingerprint {
    weights: HashMap<String, f32>,
    total: f32,
}

/// Weight of one term by its length in characters.
fn weight(term: &str) -> f32 {
    match term.chars().count() {
        0 => 0.0,
        1 => 0.25,
        2 => 1.0,
        3 => 1.5,
        _ => 2.0,
    }
}

impl Fingerprint {
    /// The fingerprint of a text's index terms (as [`crate::index_terms`] gives them, or as
    /// stored space-separated in the search index).
    pub fn of_terms<'a>(terms: impl IntoIterator<Item = &'a str>) -> Fingerprint {
        let mut weights: HashMap<String, f32> = HashMap::new();
        for t in terms {
            // A near-synonym weighs as its group's word: 坏 says what 故障 says.
            let c = canonical(t);
            let w = weight(c);
            let e = weights.entry(c.to_string()).or_insert(0.0);
            *e = e.max(w);
        }
        let total = weights.values().sum();
        Fingerprint { weights, total }
    }

    /// Whether there is nothing to compare (no terms).
    pub fn is_empty(&self) -> bool {
        self.total <= 0.0
    }

    /// The terms both texts share, heaviest first (to show why two requests look alike).
    pub fn shared(&self, other: &Fingerprint, max: usize) -> Vec<String> {
        let mut s: Vec<(&String, f32)> = self
            .weights
            .iter()
            .filter(|(t, _)| other.weights.contains_key(*t))
            .map(|(t, w)| (t, *w))
            .collect();
        s.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        s.into_iter().take(max).map(|(t, _)| t.clone()).collect()
    }
}

/// How alike two fingerprints are, in `[0, 1]` (0 when either is empty).
pub fn similarity(a: &Fingerprint, b: &Fingerprint) -> f32 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let (small, large) = if a.weights.len() <= b.weights.len() {
        (a, b)
    } else {
        (b, a)
    };
    let shared: f32 = small
        .weights
        .iter()
        .filter_map(|(t, w)| large.weights.get(t).map(|v| w.min(*v)))
        .sum();
    let union = a.total + b.total - shared;
    let containment = shared / a.total.min(b.total);
    let jaccard = shared / union;
    (0.5 * containment + 0.5 * jaccard).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Segmenter, index_terms};

    fn fp(s: &Segmenter, text: &str) -> Fingerprint {
        let t = index_terms(s, text);
        Fingerprint::of_terms(t.iter().map(String::as_str))
    }

    #[test]
    fn the_same_complaint_in_other_words_scores_above_a_different_one() {
        let s = Segmenter::shared();
        let a = fp(&s, "梅峰河左海西门段河水发黑发臭，每天路过都要捂鼻子");
        let b = fp(&s, "左海西门附近梅峰河又臭了，气味很大");
        let c = fp(&s, "小区电梯坏了，老人上下楼困难");
        let same = similarity(&a, &b);
        let other = similarity(&a, &c);
        assert!(same > 0.3, "{same}");
        assert!(other < 0.1, "{other}");
        assert!(a.shared(&b, 3).iter().any(|t| t.contains("梅峰")));
    }

    #[test]
    fn near_synonyms_count_as_the_same_word() {
        let s = Segmenter::shared();
        let a = fp(&s, "3号楼电梯故障");
        let b = fp(&s, "3号楼电梯坏了");
        assert!(similarity(&a, &b) > 0.6, "{}", similarity(&a, &b));
    }

    #[test]
    fn a_short_note_inside_a_long_post_is_recognised() {
        let s = Segmenter::shared();
        let short = fp(&s, "光明路井盖丢失");
        let long = fp(
            &s,
            "光明路与建设路交叉口东侧人行道上的井盖丢失已经三天，晚上没有路灯，行人经过很危险，\
             昨天还有一位老人差点掉进去，请有关部门尽快补上井盖并设置警示标志",
        );
        assert!(
            similarity(&short, &long) > 0.45,
            "{}",
            similarity(&short, &long)
        );
    }

    #[test]
    fn empty_text_is_alike_to_nothing_and_the_score_is_symmetric() {
        let s = Segmenter::shared();
        let e = fp(&s, "，。！😀");
        let a = fp(&s, "路灯不亮");
        let b = fp(&s, "路灯坏了不亮");
        assert!(e.is_empty());
        assert_eq!(similarity(&e, &a), 0.0);
        assert_eq!(similarity(&a, &a), 1.0);
        assert_eq!(similarity(&a, &b), similarity(&b, &a));
    }
}
