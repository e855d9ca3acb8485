//! Word segmentation: jieba's dictionary and HMM for unknown words, plus a user dictionary of
//! the names a deployment knows (org units, roads, places, catalogue terms). Building the
//! dictionary takes a fraction of a second, so a [`Segmenter`] is built once and shared: it is
//! an `Arc` inside, cheap to clone and safe to use from many threads at once.

use std::sync::{Arc, OnceLock};

use jieba_rs::Jieba;

use crate::normalize::{DEFAULT_MAX_CHARS, is_term_char, normalize_capped};

/// Largest frequency a user word is given.
const MAX_USER_FREQ: usize = 1_000_000_000;

/// A word segmenter with an optional user dictionary. Clone it freely.
#[derive(Clone)]
pub struct Segmenter {
    jieba: Arc<Jieba>,
    user_words: Arc<[(String, usize)]>,
}

impl std::fmt::Debug for Segmenter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Segmenter")
            .field("user_words", &self.user_words.len())
            .finish()
    }
}

impl Default for Segmenter {
    fn default() -> Self {
        Self::shared()
    }
}

impl Segmenter {
    /// The process-wide segmenter with jieba's dictionary only, built on first use.
    pub fn shared() -> Segmenter {
        static SHARED: OnceLock<Segmenter> = OnceLock::new();
        SHARED
            .get_or_init(|| Segmenter {
                jieba: Arc::new(Jieba::new()),
                user_words: Arc::from(Vec::new()),
            })
            .clone()
    }

    /// jieba's dictionary plus `words`, each with a frequency (as in a jieba user dictionary;
    /// 0 if unknown). Words are normalised like the text they will be found in, and each
    /// frequency is raised to what keeps the word whole when it stands alone, so a name in the
    /// dictionary is one term however rare its parts are. Empty words are ignored.
    pub fn with_user_words<I, W>(words: I) -> Segmenter
    where
        I: IntoIterator<Item = (W, usize)>,
        W: AsRef<str>,
    {
        let mut jieba = Jieba::new();
        let mut kept = Vec::new();
        for (word, freq) in words {
            let w = normalize_capped(word.as_ref(), 64);
            if w.is_empty() {
                continue;
            }
            // Capped: jieba sums frequencies, and an absurd one (from a typo or a damaged file)
            // must not overflow that sum. A billion outweighs any word in its dictionary.
            let freq = freq.max(jieba.suggest_freq(&w)).min(MAX_USER_FREQ);
            jieba.add_word(&w, Some(freq), None);
            kept.push((w, freq));
        }
        Segmenter {
            jieba: Arc::new(jieba),
            user_words: Arc::from(kept),
        }
    }

    /// The user words as added (normalised, with the frequency actually used), e.g. to store
    /// them with a model trained on this segmentation.
    pub fn user_words(&self) -> &[(String, usize)] {
        &self.user_words
    }

    /// Whether `word` (already normalised) is in the dictionary.
    pub fn has_word(&self, word: &str) -> bool {
        self.jieba.has_word(word)
    }

    /// The search terms of `text`: normalised (first [`DEFAULT_MAX_CHARS`] characters), cut in
    /// jieba's precise mode, punctuation and whitespace dropped.
    pub fn segment(&self, text: &str) -> Vec<String> {
        let norm = normalize_capped(text, DEFAULT_MAX_CHARS);
        let mut out = Vec::new();
        self.for_each_term(&norm, |t| out.push(t.to_string()));
        out
    }

    /// Terms for a search index: like [`Segmenter::segment`] but long words are also given as
    /// their dictionary sub-words (jieba's search mode), so `东华门街道` is found by `东华门` too.
    pub fn segment_for_search(&self, text: &str) -> Vec<String> {
        let norm = normalize_capped(text, DEFAULT_MAX_CHARS);
        self.jieba
            .cut_for_search(&norm, true)
            .into_iter()
            .map(|t| t.word)
            .filter(|w| w.chars().any(is_term_char))
            .map(str::to_string)
            .collect()
    }

    /// Call `f` with each term of `normalized` (text that has been through
    /// [`crate::normalize`]) in order, without allocating per term.
    pub fn for_each_term<'a>(&self, normalized: &'a str, mut f: impl FnMut(&'a str)) {
        // jieba treats a run of ASCII letters/digits as one token and cuts Chinese by the
        // dictionary; spaces between them become tokens of their own, dropped here.
        for token in self.jieba.cut(normalized, true) {
            if token.word.chars().any(is_term_char) {
                f(token.word);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_words() {
        let s = Segmenter::shared();
        assert_eq!(s.segment("电梯故障"), vec!["电梯", "故障"]);
        assert_eq!(s.segment("电梯故障！！，。"), vec!["电梯", "故障"]);
    }

    #[test]
    fn user_dictionary_keeps_names_whole() {
        let plain = Segmenter::shared();
        let text = "东华门街道多福巷社区的路灯坏了";
        let before = plain.segment(text);
        let with = Segmenter::with_user_words([("东华门街道", 0), ("多福巷社区", 5)]);
        let after = with.segment(text);
        assert!(after.contains(&"东华门街道".to_string()), "{after:?}");
        assert!(after.contains(&"多福巷社区".to_string()), "{after:?}");
        assert!(!before.contains(&"多福巷社区".to_string()), "{before:?}");
        assert!(after.contains(&"路灯".to_string()), "{after:?}");
        // User words are normalised like the text.
        let w = Segmenter::with_user_words([("Ａ３区环卫所", 0)]);
        assert!(
            w.segment("a3区环卫所不作为")
                .contains(&"a3区环卫所".to_string())
        );
        assert_eq!(w.user_words().len(), 1);
        // Absurd frequencies and empty words do no harm.
        let odd = Segmenter::with_user_words([("路灯杆", usize::MAX), ("", 3), ("  ", 1)]);
        assert_eq!(odd.user_words().len(), 1);
        assert!(odd.segment("路灯杆倒了").contains(&"路灯杆".to_string()));
    }

    #[test]
    fn search_mode_adds_sub_words() {
        let s = Segmenter::with_user_words([("东华门街道", 0)]);
        let terms = s.segment_for_search("东华门街道办事处");
        assert!(terms.contains(&"东华门街道".to_string()), "{terms:?}");
        assert!(terms.contains(&"街道".to_string()), "{terms:?}");
    }

    #[test]
    fn full_width_digits_fold_before_cutting() {
        let s = Segmenter::shared();
        assert_eq!(s.segment("２０２４年"), s.segment("2024年"));
        assert!(s.segment("拨打１２３４５").contains(&"12345".to_string()));
    }

    #[test]
    fn awkward_input_never_panics() {
        let s = Segmenter::shared();
        assert!(s.segment("").is_empty());
        assert!(s.segment("   \n\t ").is_empty());
        assert!(s.segment("😀😀😀").is_empty());
        assert!(!s.segment("Hello世界مرحبا123").is_empty());
        let long = "小区噪音扰民".repeat(20_000);
        let terms = s.segment(&long);
        assert!(!terms.is_empty());
        // Only the first DEFAULT_MAX_CHARS characters are cut.
        let chars: usize = terms.iter().map(|t| t.chars().count()).sum();
        assert!(chars <= DEFAULT_MAX_CHARS);
    }

    #[test]
    fn shared_across_threads() {
        let s = Segmenter::with_user_words([("多福巷社区", 0)]);
        std::thread::scope(|scope| {
            for _ in 0..2 {
                let s = s.clone();
                scope.spawn(move || {
                    assert!(s.segment("多福巷社区").contains(&"多福巷社区".to_string()));
                });
            }
        });
    }
}
