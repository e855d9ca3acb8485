//! Canonical form of free text. NFKC does the heavy folding (full-width ASCII, circled and
//! parenthesised numbers, Roman numerals, compatibility and Kangxi ideographs); on top of it
//! Latin letters are lower-cased, emoji, symbols and control characters become a space (a word
//! boundary), invisible format characters vanish, and runs of whitespace collapse to one space.

use unicode_normalization::UnicodeNormalization;

/// How much of a text feature extraction looks at. Requests longer than this are almost always
/// pasted documents; their first few thousand characters say what the matter is, and the cap
/// bounds the work one request can cause.
pub const DEFAULT_MAX_CHARS: usize = 4_000;

/// [`normalize_capped`] with no cap.
pub fn normalize(text: &str) -> String {
    normalize_capped(text, usize::MAX)
}

/// Normalise at most the first `max_chars` characters of `text` (the cap is applied before
/// folding, so the work is bounded by it). The result has no leading or trailing space.
pub fn normalize_capped(text: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max_chars.saturating_mul(4)));
    let mut pending_space = false;
    for c in text.chars().take(max_chars).nfkc() {
        match class(c) {
            Class::Drop => {}
            Class::Space => pending_space = true,
            Class::Keep => {
                if pending_space && !out.is_empty() {
                    out.push(' ');
                }
                pending_space = false;
                if c.is_ascii() {
                    out.push(c.to_ascii_lowercase());
                } else if c.is_uppercase() {
                    out.extend(c.to_lowercase());
                } else {
                    out.push(c);
                }
            }
        }
    }
    out
}

/// True for characters that make up words and search terms: letters (including CJK ideographs)
/// and digits. Punctuation, symbols and spaces separate terms.
pub fn is_term_char(c: char) -> bool {
    c.is_alphanumeric()
}

enum Class {
    Keep,
    Space,
    Drop,
}

fn class(c: char) -> Class {
    let u = c as u32;
    match u {
        // Zero-width space/joiners, direction marks, word joiner and friends, BOM: invisible,
        // so they must not split a word typed with them.
        0x200B..=0x200F | 0x2060..=0x206F | 0xFEFF | 0x00AD => Class::Drop,
        // Variation selectors and tag characters only modify the emoji before them.
        0xFE00..=0xFE0F | 0xE0000..=0xE007F | 0xE0100..=0xE01EF => Class::Drop,
        // Emoji, pictographs, dingbats, arrows, technical symbols, geometric shapes, regional
        // indicators, private use: not language, a boundary.
        0x2190..=0x21FF
        | 0x2300..=0x23FF
        | 0x2460..=0x24FF
        | 0x2500..=0x27BF
        | 0x2900..=0x2BFF
        | 0x3030
        | 0x303D
        | 0x3297
        | 0x3299
        | 0xE000..=0xF8FF
        | 0x1F000..=0x1FAFF
        | 0xF0000..=0x10FFFF => Class::Space,
        _ if c.is_whitespace() || c.is_control() => Class::Space,
        _ => Class::Keep,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_width_digits_and_letters_fold() {
        assert_eq!(normalize("１２３４５"), "12345");
        assert_eq!(normalize("ＡＢＣ　ｄｅｆ"), "abc def");
        assert_eq!(normalize("Ａ市Ａ３区"), "a市a3区");
        assert_eq!(normalize("（电话）"), "(电话)");
    }

    #[test]
    fn compatibility_forms_fold() {
        assert_eq!(normalize("①号楼"), "1号楼");
        assert_eq!(normalize("Ⅲ期"), "iii期");
        assert_eq!(normalize("面积100㎡"), "面积100m2");
        // Kangxi radical ⾦ (U+2FA6) is the ideograph 金.
        assert_eq!(normalize("\u{2FA6}额"), "金额");
    }

    #[test]
    fn case_and_whitespace() {
        assert_eq!(normalize("  WiFi\t信号\n\n差  "), "wifi 信号 差");
        assert_eq!(normalize("ÉCOLE Über"), "école über");
        assert_eq!(normalize(""), "");
        assert_eq!(normalize(" \u{3000}\t"), "");
    }

    #[test]
    fn emoji_and_invisible_characters() {
        assert_eq!(normalize("路灯坏了😡😡"), "路灯坏了");
        assert_eq!(normalize("垃圾👍🏽没人管"), "垃圾 没人管");
        assert_eq!(normalize("电\u{200B}梯"), "电梯");
        assert_eq!(normalize("❤️小区"), "小区");
        assert_eq!(normalize("🇨🇳"), "");
        assert_eq!(normalize("a\u{0007}b"), "a b");
    }

    #[test]
    fn mixed_scripts_survive() {
        assert_eq!(
            normalize("Привет 小区 العربية 가나 ｶﾀｶﾅ"),
            "привет 小区 العربية 가나 カタカナ"
        );
    }

    #[test]
    fn cap_counts_characters_not_bytes() {
        let long = "噪音".repeat(50_000);
        let n = normalize_capped(&long, DEFAULT_MAX_CHARS);
        assert_eq!(n.chars().count(), DEFAULT_MAX_CHARS);
    }
}
