//! Terms for full-text search: what a document is indexed under, and what a query asks for.
//!
//! A document (a case's title, description, address, category and replies) is cut in jieba's
//! search mode ([`Segmenter::segment_for_search`]): long words are also given as their
//! dictionary sub-words, so `东华门街道` is found by `东华门` as well as by the whole name. Function
//! words (`的`, `了`, `又` …) are left out of both sides: they match everything and say nothing.
//!
//! A query is cut in precise mode and becomes an AND of term groups, each group the term OR its
//! near-synonyms from a small built-in table of how residents say the same problem (`故障` /
//! `坏` / `损坏` / `失灵` …). So `电梯故障` finds `小区电梯又坏了` (电梯 AND (故障 OR 坏 …)),
//! while every word the operator typed still has to be there in some form.

use crate::Segmenter;

/// Words that carry no meaning for search.
const STOPWORDS: &[&str] = &[
    "的", "了", "又", "也", "在", "是", "和", "与", "及", "或", "就", "都", "还", "很", "被", "把",
    "将", "我", "你", "他", "她", "它", "我们", "你们", "他们", "您", "请", "吗", "呢", "吧", "啊",
    "呀", "着", "过", "给", "让", "对", "从", "向", "这", "那", "这个", "那个", "一个", "一下",
    "有点", "已经", "非常", "比较", "一直", "现在", "希望", "要求", "反映", "问题", "情况",
];

/// Groups of words residents use for the same thing; a query word in a group matches any of it.
const SYNONYMS: &[&[&str]] = &[
    &[
        "故障",
        "坏",
        "坏了",
        "损坏",
        "失灵",
        "不能用",
        "停运",
        "坏掉",
    ],
    &["漏水", "渗水", "滴水", "漏", "渗漏"],
    &["噪音", "噪声", "吵", "扰民", "吵闹"],
    &["异味", "臭", "臭味", "气味", "恶臭"],
    &["堵塞", "堵", "不通", "淤堵"],
    &["停水", "没水", "断水"],
    &["停电", "没电", "断电"],
    &["垃圾", "废弃物", "杂物"],
    &["违建", "违章建筑", "私搭乱建", "违法建设"],
    &["占道", "占用道路", "占路"],
    &["井盖", "窨井盖"],
    &["路灯", "灯"],
];

/// Most terms one document is indexed under.
pub const MAX_DOC_TERMS: usize = 2_000;
/// Most term groups one query may have.
pub const MAX_QUERY_GROUPS: usize = 12;

/// The first word of `term`'s near-synonym group, or the term itself (so that texts saying the
/// same thing in residents' different words share terms, [`crate::similar`]).
pub(crate) fn canonical(term: &str) -> &str {
    SYNONYMS
        .iter()
        .find(|g| g.contains(&term))
        .map_or(term, |g| g[0])
}

fn is_stopword(t: &str) -> bool {
    STOPWORDS.contains(&t)
}

/// Particles jieba often glues to a word (`又坏了`, `坏掉了`, `很臭`): peeled off, the core is a
/// term of its own.
const LEADING: &[char] = &['又', '也', '很', '都', '还', '就', '太'];
const TRAILING: &[char] = &['了', '的', '啦', '吗', '呢', '着', '过', '啊', '呀'];

/// The word and, when particles are glued to it, its core words (`又坏了` → `坏了`, `坏`).
fn with_cores(t: String) -> Vec<String> {
    let mut out = vec![t.clone()];
    let mut core: &str = &t;
    loop {
        let before = core;
        if core.chars().count() > 1 {
            core = core.trim_start_matches(LEADING);
        }
        if core.chars().count() > 1
            && let Some(c) = core.strip_suffix(TRAILING)
        {
            core = c;
        }
        if core == before || core.is_empty() {
            break;
        }
        if !is_stopword(core) && !out.iter().any(|o| o == core) {
            out.push(core.to_string());
        }
    }
    out
}

/// The distinct terms to index `text` under, in first-seen order.
pub fn index_terms(seg: &Segmenter, text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    'words: for w in seg.segment_for_search(text) {
        if is_stopword(&w) {
            continue;
        }
        for t in with_cores(w) {
            if seen.insert(t.clone()) {
                out.push(t);
                if out.len() >= MAX_DOC_TERMS {
                    break 'words;
                }
            }
        }
    }
    out
}

/// A query as term groups: every group must match, any term of a group will do.
pub fn query_groups(seg: &Segmenter, query: &str) -> Vec<Vec<String>> {
    let mut groups: Vec<Vec<String>> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for t in seg.segment(query) {
        if is_stopword(&t) || !seen.insert(t.clone()) {
            continue;
        }
        let mut g = with_cores(t);
        for w in g.clone() {
            if let Some(syn) = SYNONYMS.iter().find(|s| s.contains(&w.as_str())) {
                g.extend(syn.iter().map(|x| x.to_string()));
            }
        }
        let mut dedup = std::collections::HashSet::new();
        g.retain(|x| dedup.insert(x.clone()));
        groups.push(g);
        if groups.len() >= MAX_QUERY_GROUPS {
            break;
        }
    }
    groups
}

/// `text` cut into spans, `true` where one of `terms` occurs (longest match first; ASCII case
/// ignored), for showing what matched. Adjacent spans of the same kind are merged.
pub fn highlight(text: &str, terms: &[String]) -> Vec<(String, bool)> {
    let chars: Vec<char> = text.chars().collect();
    let terms: Vec<Vec<char>> = {
        let mut t: Vec<Vec<char>> = terms
            .iter()
            .filter(|t| !t.is_empty())
            .map(|t| t.chars().collect())
            .collect();
        t.sort_by_key(|t| std::cmp::Reverse(t.len()));
        t
    };
    let mut out: Vec<(String, bool)> = Vec::new();
    let mut push = |c: &[char], hit: bool| {
        let s: String = c.iter().collect();
        match out.last_mut() {
            Some((prev, h)) if *h == hit => prev.push_str(&s),
            _ => out.push((s, hit)),
        }
    };
    let mut i = 0;
    while i < chars.len() {
        let found = terms.iter().find(|t| {
            chars.len() - i >= t.len()
                && t.iter()
                    .zip(&chars[i..])
                    .all(|(a, b)| a.eq_ignore_ascii_case(b))
        });
        match found {
            Some(t) => {
                push(&chars[i..i + t.len()], true);
                i += t.len();
            }
            None => {
                push(&chars[i..i + 1], false);
                i += 1;
            }
        }
    }
    out
}

/// At most `max` characters of `text` around its first match of `terms` (the start when none
/// matches), with `…` where it was cut.
pub fn snippet(text: &str, terms: &[String], max: usize) -> String {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= max {
        return text.to_string();
    }
    let lower: String = text.to_lowercase();
    let first = terms
        .iter()
        .filter(|t| !t.is_empty())
        .filter_map(|t| lower.find(t.as_str()))
        .min()
        .map(|byte| lower[..byte].chars().count())
        .unwrap_or(0);
    let start = first.saturating_sub(max / 4).min(chars.len() - max);
    let mut s: String = chars[start..start + max].iter().collect();
    if start > 0 {
        s.insert(0, '…');
    }
    if start + max < chars.len() {
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broken_lift_is_found_by_lift_failure() {
        let s = Segmenter::shared();
        let doc = index_terms(&s, "小区电梯又坏了，老人上下楼很困难");
        let q = query_groups(&s, "电梯故障");
        assert_eq!(q.len(), 2, "{q:?}");
        assert!(
            q.iter().all(|g| g.iter().any(|t| doc.contains(t))),
            "{q:?} vs {doc:?}"
        );
        assert!(!doc.iter().any(|t| t == "又" || t == "了"));
        // And not by something else entirely.
        let other = index_terms(&s, "楼道灯不亮");
        assert!(!q.iter().all(|g| g.iter().any(|t| other.contains(t))));
    }

    #[test]
    fn place_names_stay_whole_and_are_found_by_their_parts() {
        let s = Segmenter::with_user_words([("多福巷社区", 0), ("东华门街道", 0)]);
        let doc = index_terms(&s, "东华门街道多福巷社区5号楼漏水");
        for t in ["东华门街道", "多福巷社区", "漏水"] {
            assert!(doc.iter().any(|d| d == t), "{t} in {doc:?}");
        }
        let q = query_groups(&s, "多福巷社区 渗水");
        assert_eq!(q[0], vec!["多福巷社区".to_string()]);
        assert!(q[1].contains(&"漏水".to_string()));
    }

    #[test]
    fn highlights_and_snippets() {
        let t = vec!["电梯".to_string(), "坏".to_string(), "lift".to_string()];
        assert_eq!(
            highlight("小区电梯又坏了 LIFT", &t),
            vec![
                ("小区".into(), false),
                ("电梯".into(), true),
                ("又".into(), false),
                ("坏".into(), true),
                ("了 ".into(), false),
                ("LIFT".into(), true),
            ]
        );
        assert_eq!(highlight("", &t), vec![]);
        assert_eq!(highlight("路灯", &[]), vec![("路灯".into(), false)]);
        let long = format!("{}电梯坏了{}", "前".repeat(100), "后".repeat(100));
        let s = snippet(&long, &t, 20);
        assert!(
            s.starts_with('…') && s.ends_with('…') && s.contains("电梯"),
            "{s}"
        );
        assert_eq!(snippet("短", &t, 20), "短");
    }

    #[test]
    fn empty_and_noise_queries_have_no_groups() {
        let s = Segmenter::shared();
        assert!(query_groups(&s, "").is_empty());
        assert!(query_groups(&s, "  ！！。。 的了").is_empty());
        assert!(index_terms(&s, "🙂🙂").is_empty());
        let long = "电梯".repeat(50_000);
        assert!(index_terms(&s, &long).len() <= MAX_DOC_TERMS);
        assert!(
            query_groups(&s, &"甲乙丙丁戊己庚辛壬癸子丑寅卯".repeat(10)).len() <= MAX_QUERY_GROUPS
        );
    }
}
