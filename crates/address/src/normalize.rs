//! Canonical form of address text. The gazetteer runs every division name through it before it
//! derives keys, and the resolver runs every input through it, so both sides compare the same
//! characters: full-width ASCII folded, Latin lower-cased, punctuation, brackets, emoji and
//! whitespace turned into one separator (a match never crosses it), the tokeniser's `[UNK]`
//! turned into a one-character wildcard, and the office words people add (街道办事处, 村民委员会…)
//! folded to the form the division data uses.

/// Separator between the runs of text a name can match inside.
pub const SEP: char = ' ';
/// Stands for one unknown character (`[UNK]` in tokenised text, U+FFFD from bad UTF-8).
pub const WILD: char = '\u{FFFD}';
/// How many characters of an input are looked at. Real addresses are well under a hundred
/// characters; the cap bounds the work one hostile input can cause.
pub const MAX_CHARS: usize = 256;

/// Phrases folded to the division data's wording, longest first.
const PHRASES: &[(&str, &str)] = &[
    ("街道办事处", "街道"),
    ("地区办事处", "地区"),
    ("居民委员会", "居委会"),
    ("村民委员会", "村委会"),
    ("街道办", "街道"),
    ("村委会", "村委会"),
    ("居委会", "居委会"),
    ("行政村", "村"),
    ("村委", "村委会"),
    ("居委", "居委会"),
];

/// The canonical characters of `text`, at most [`MAX_CHARS`] of them, with no leading, trailing
/// or doubled separators.
pub fn normalize(text: &str) -> Vec<char> {
    // Look at a bounded prefix; folding never makes text longer, so 4× the cap is plenty.
    let folded: Vec<char> = text.chars().take(MAX_CHARS * 4).map(fold).collect();
    let mut out: Vec<char> = Vec::with_capacity(folded.len().min(MAX_CHARS * 2));
    let mut i = 0;
    while i < folded.len() {
        let c = folded[i];
        if c == '[' && starts_with(&folded[i + 1..], "unk]") {
            out.push(WILD);
            i += 5;
            continue;
        }
        if c == WILD || c.is_alphanumeric() {
            out.push(c);
        } else if out.last().is_some_and(|&l| l != SEP) {
            out.push(SEP);
        }
        i += 1;
    }
    while out.last() == Some(&SEP) {
        out.pop();
    }
    let mut out = fold_phrases(&out);
    out.truncate(MAX_CHARS);
    while out.last() == Some(&SEP) {
        out.pop();
    }
    out
}

/// [`normalize`] as a string (names, labels, tests).
pub fn normalize_str(text: &str) -> String {
    normalize(text).into_iter().collect()
}

fn fold(c: char) -> char {
    let c = match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        _ => c,
    };
    c.to_ascii_lowercase()
}

fn starts_with(chars: &[char], pat: &str) -> bool {
    let mut n = 0;
    for p in pat.chars() {
        match chars.get(n) {
            Some(&c) if c == p => n += 1,
            _ => return false,
        }
    }
    true
}

fn fold_phrases(chars: &[char]) -> Vec<char> {
    let mut out = Vec::with_capacity(chars.len());
    let mut i = 0;
    'outer: while i < chars.len() {
        for (from, to) in PHRASES {
            if starts_with(&chars[i..], from) {
                out.extend(to.chars());
                i += from.chars().count();
                continue 'outer;
            }
        }
        // A bare 办事处 after a town word is the town's office; elsewhere it stands for 街道.
        if starts_with(&chars[i..], "办事处") {
            if !matches!(out.last(), Some('镇' | '乡' | '区' | '县' | '市')) {
                out.extend("街道".chars());
            }
            i += 3;
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_width_case_noise_and_unk() {
        assert_eq!(normalize_str("ＡＢ１２３ 号"), "ab123 号");
        assert_eq!(normalize_str("芝[UNK]区"), "芝\u{FFFD}区");
        assert_eq!(normalize_str("芝[unk]区"), "芝\u{FFFD}区");
        assert_eq!(normalize_str("蒙阴县（电联）常路镇"), "蒙阴县 电联 常路镇");
        assert_eq!(
            normalize_str("  ,,东城区😀东华门街道办事处  "),
            "东城区 东华门街道"
        );
        assert_eq!(normalize_str("朝阳区来广营地区办事处"), "朝阳区来广营地区");
        assert_eq!(normalize_str("某某村民委员会"), "某某村委会");
        assert_eq!(normalize_str("东华门办事处"), "东华门街道");
        assert_eq!(normalize_str("周楼村委刘楼村"), "周楼村委会刘楼村");
        assert_eq!(normalize_str("张庄行政村"), "张庄村");
        assert_eq!(normalize_str("某村委会"), "某村委会");
        assert_eq!(normalize_str(""), "");
        assert_eq!(normalize_str("[unk"), "unk");
    }

    #[test]
    fn capped() {
        let long = "北".repeat(10_000);
        assert_eq!(normalize(&long).len(), MAX_CHARS);
    }
}
