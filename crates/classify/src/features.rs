//! Feature extraction. A text becomes a sparse vector over a fixed hashed space (no vocabulary
//! to store or grow): word unigrams and bigrams from the segmenter, and character 1–3-grams
//! within runs of letters and digits (robust to segmentation errors and to unknown names).
//! Digits are folded to `0`, so phone numbers, dates and house numbers share features instead of
//! each being a feature of their own. Each feature goes to bucket `hash & mask` with sign
//! `hash >> 63` (signed hashing: colliding features cancel on average instead of adding up).
//!
//! A text's features are returned *packed*, one `u32` each, so 100,000 training texts fit in a
//! few hundred megabytes: bits 0–23 bucket, bit 24 group (0 = word, 1 = character), bit 25 sign
//! (1 = negative), bits 26–31 the net count (1–63; larger counts saturate).

use linli_text::{Segmenter, is_term_char, normalize_capped};

/// Largest supported hashed space, 2^24 buckets (the packed layout has 24 bits for it).
pub const MAX_HASH_BITS: u8 = 24;
/// Smallest supported hashed space.
pub const MIN_HASH_BITS: u8 = 10;

const GROUP_BIT: u32 = 1 << 24;
const SIGN_BIT: u32 = 1 << 25;
const COUNT_SHIFT: u32 = 26;
const MAX_COUNT: i32 = 63;

/// What the features are. Stored in the model file: prediction must extract exactly what
/// training did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeatureConfig {
    /// The hashed space has 2^hash_bits buckets.
    pub hash_bits: u8,
    /// Only the first this many characters of a text are looked at.
    pub max_chars: u32,
    /// Character n-grams of length 1..=char_ngram_max (0 = none).
    pub char_ngram_max: u8,
    /// Word bigrams as well as single words.
    pub word_bigrams: bool,
}

impl Default for FeatureConfig {
    fn default() -> Self {
        FeatureConfig {
            hash_bits: 20,
            max_chars: linli_text::DEFAULT_MAX_CHARS as u32,
            char_ngram_max: 3,
            word_bigrams: true,
        }
    }
}

impl FeatureConfig {
    pub(crate) fn mask(&self) -> u32 {
        (1u32 << self.hash_bits) - 1
    }
}

/// One packed feature, unpacked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Feature {
    pub bucket: u32,
    /// 0 = word, 1 = character.
    pub group: usize,
    pub negative: bool,
    pub count: u32,
}

#[inline]
pub(crate) fn unpack(p: u32) -> Feature {
    Feature {
        bucket: p & (GROUP_BIT - 1),
        group: usize::from(p & GROUP_BIT != 0),
        negative: p & SIGN_BIT != 0,
        count: p >> COUNT_SHIFT,
    }
}

/// Sublinear term frequency 1 + ln(count), by table (counts saturate at 63).
#[inline]
pub(crate) fn tf(count: u32) -> f32 {
    static TABLE: std::sync::OnceLock<[f32; 64]> = std::sync::OnceLock::new();
    let t = TABLE.get_or_init(|| {
        let mut t = [0f32; 64];
        for (i, v) in t.iter_mut().enumerate().skip(1) {
            *v = 1.0 + (i as f32).ln();
        }
        t
    });
    t[(count & 63) as usize]
}

/// Turns texts into packed features. Cheap to clone; usable from many threads.
#[derive(Clone, Debug)]
pub struct Extractor {
    seg: Segmenter,
    cfg: FeatureConfig,
}

const NS_WORD: u64 = 0x77;
const NS_BIGRAM: u64 = 0x62;
const NS_CHAR: u64 = 0x63;

/// FNV-1a over bytes with ASCII digits folded to `0`, finished with the murmur3 mixer so the
/// low bits (the bucket) and the top bit (the sign) are both well spread. Fixed forever: the
/// model file's buckets are defined by it.
#[derive(Clone, Copy)]
struct Hasher(u64);

impl Hasher {
    #[inline]
    fn new(namespace: u64) -> Self {
        let mut h = Hasher(0xcbf2_9ce4_8422_2325);
        h.byte(namespace as u8);
        h
    }
    #[inline]
    fn byte(&mut self, b: u8) {
        let b = if b.is_ascii_digit() { b'0' } else { b };
        self.0 ^= u64::from(b);
        self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
    }
    #[inline]
    fn bytes(&mut self, s: &[u8]) {
        for &b in s {
            self.byte(b);
        }
    }
    #[inline]
    fn finish(self) -> u64 {
        let mut k = self.0;
        k ^= k >> 33;
        k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
        k ^= k >> 33;
        k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        k ^= k >> 33;
        k
    }
}

impl Extractor {
    pub fn new(seg: Segmenter, cfg: FeatureConfig) -> Self {
        Extractor { seg, cfg }
    }

    pub fn config(&self) -> &FeatureConfig {
        &self.cfg
    }

    pub fn segmenter(&self) -> &Segmenter {
        &self.seg
    }

    /// The packed features of `text`, sorted by bucket and group; empty when the text has no
    /// letters or digits. `scratch` is reused between calls to avoid allocation.
    pub(crate) fn extract(&self, text: &str, scratch: &mut Vec<(u32, i32)>) -> Vec<u32> {
        let norm = normalize_capped(text, self.cfg.max_chars as usize);
        scratch.clear();
        let mask = self.cfg.mask();
        let mut push = |group: u32, h: u64| {
            let key = (h as u32 & mask) | group;
            let sign = if h >> 63 == 1 { -1 } else { 1 };
            scratch.push((key, sign));
        };

        // Words and word bigrams.
        let mut prev: Option<&str> = None;
        self.seg.for_each_term(&norm, |w| {
            let mut h = Hasher::new(NS_WORD);
            h.bytes(w.as_bytes());
            push(0, h.finish());
            if self.cfg.word_bigrams
                && let Some(p) = prev
            {
                let mut h = Hasher::new(NS_BIGRAM);
                h.bytes(p.as_bytes());
                h.byte(0x1f);
                h.bytes(w.as_bytes());
                push(0, h.finish());
            }
            prev = Some(w);
        });

        // Character n-grams within runs of letters and digits.
        let n_max = usize::from(self.cfg.char_ngram_max);
        if n_max > 0 {
            let mut run: Vec<(usize, usize)> = Vec::new(); // byte (start, end) of each char
            let bytes = norm.as_bytes();
            let mut flush = |run: &mut Vec<(usize, usize)>| {
                for i in 0..run.len() {
                    let start = run[i].0;
                    for n in 1..=n_max.min(run.len() - i) {
                        let end = run[i + n - 1].1;
                        let mut h = Hasher::new(NS_CHAR);
                        h.bytes(&bytes[start..end]);
                        push(GROUP_BIT, h.finish());
                    }
                }
                run.clear();
            };
            for (i, c) in norm.char_indices() {
                if is_term_char(c) {
                    run.push((i, i + c.len_utf8()));
                } else if !run.is_empty() {
                    flush(&mut run);
                }
            }
            flush(&mut run);
        }

        // By bucket, then group: equal keys end up adjacent, and so do a bucket's two groups.
        scratch.sort_unstable_by_key(|&(k, _)| ((k & (GROUP_BIT - 1)) << 1) | (k >> 24));
        let mut out = Vec::with_capacity(scratch.len() / 2);
        let mut i = 0;
        while i < scratch.len() {
            let key = scratch[i].0;
            let mut net = 0i32;
            while i < scratch.len() && scratch[i].0 == key {
                net += scratch[i].1;
                i += 1;
            }
            if net != 0 {
                let count = net.abs().min(MAX_COUNT) as u32;
                let sign = if net < 0 { SIGN_BIT } else { 0 };
                out.push(key | sign | (count << COUNT_SHIFT));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex() -> Extractor {
        Extractor::new(Segmenter::shared(), FeatureConfig::default())
    }

    #[test]
    fn empty_and_symbol_only_texts_have_no_features() {
        let mut s = Vec::new();
        assert!(ex().extract("", &mut s).is_empty());
        assert!(ex().extract("  \n", &mut s).is_empty());
        assert!(ex().extract("😀！？", &mut s).is_empty());
    }

    #[test]
    fn features_are_deterministic_sorted_and_in_range() {
        let mut s = Vec::new();
        let a = ex().extract("小区电梯故障，多次报修无人处理", &mut s);
        let b = ex().extract("小区电梯故障，多次报修无人处理", &mut s);
        assert_eq!(a, b);
        assert!(!a.is_empty());
        let mut last = None;
        for &p in &a {
            let f = unpack(p);
            assert!(f.bucket < 1 << 20);
            assert!(f.count >= 1);
            let key = (f.bucket, f.group);
            assert!(last.is_none_or(|l| l < key));
            last = Some(key);
        }
        let groups: std::collections::HashSet<usize> = a.iter().map(|&p| unpack(p).group).collect();
        assert_eq!(groups.len(), 2);
    }

    #[test]
    fn full_width_and_digits_fold() {
        let mut s = Vec::new();
        assert_eq!(
            ex().extract("电话１３９００００１１１１", &mut s),
            ex().extract("电话13812345678", &mut s)
        );
    }

    #[test]
    fn repeated_words_count() {
        let mut s = Vec::new();
        let f = ex().extract("噪音 噪音 噪音", &mut s);
        assert!(f.iter().any(|&p| unpack(p).count >= 3));
    }

    #[test]
    fn tf_is_sublinear() {
        assert_eq!(tf(1), 1.0);
        assert!((tf(10) - (1.0 + 10f32.ln())).abs() < 1e-6);
    }
}
