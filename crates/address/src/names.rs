//! The spellings of a division name people actually write: the official name, its short forms
//! (suffixes such as 省/市/自治州/区/县/镇/街道/村委会 stripped, with the ethnic names before
//! 自治… stripped too), and aliases (恩施州 for 恩施土家族苗族自治州, 多福巷社区 for
//! 多福巷社区居委会, 净月高新区 for 长春净月高新技术产业开发区). The gazetteer indexes these; the
//! evaluation uses the same rules to decide whether a labelled span names a resolved unit.

use crate::Level;
use crate::normalize::{SEP, WILD};

/// How a key was derived from a unit's name. The order is the preference when one key reaches a
/// unit in two ways.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Form {
    /// The official name (normalised).
    Full = 0,
    /// A usual variant: `X社区`/`X村` for a 居委会/村委会, `X州` for an autonomous prefecture,
    /// a development zone under its usual abbreviation, or an alias the deployment added.
    Alias = 1,
    /// The name with its suffix stripped (`临沂` for 临沂市).
    Short = 2,
    /// A bare development-zone word shared by many units (`开发区`, `高新区`): only context
    /// picks the unit.
    Generic = 3,
    /// A key with one character replaced by the wildcard, for tokenised text with `[UNK]`.
    Wild = 4,
}

/// Fewest characters a short form may keep: one character (`沙` for 沙市区) names too much.
pub const MIN_SHORT: usize = 2;

/// Suffix rules per level: (suffix, replacements). An empty replacement yields the bare short
/// form; a non-empty one an alias (`X居委会` → `X社区`). Longest suffixes first.
fn rules(level: Level) -> &'static [(&'static str, &'static [&'static str])] {
    match level {
        Level::Province => &[
            ("特别行政区", &[""]),
            ("自治区", &["", "省"]),
            ("省", &[""]),
            ("市", &[""]),
        ],
        Level::City => &[
            ("自治州", &["", "州"]),
            ("地区", &[""]),
            ("林区", &[""]),
            ("盟", &[""]),
            ("市", &[""]),
        ],
        Level::County => &[
            ("自治县", &["", "县"]),
            ("自治旗", &["", "旗"]),
            ("管理区", &[""]),
            ("林区", &[""]),
            ("特区", &[""]),
            ("新区", &["", "区"]),
            ("区", &[""]),
            ("县", &[""]),
            ("市", &[""]),
            ("旗", &[""]),
        ],
        Level::Town => &[
            ("民族乡", &["", "乡"]),
            ("民族镇", &["", "镇"]),
            ("街道", &[""]),
            ("地区", &[""]),
            ("管理区", &[""]),
            ("苏木", &[""]),
            ("镇", &[""]),
            ("乡", &[""]),
        ],
        Level::Village => &[
            ("社区居委会", &["社区", ""]),
            ("居委会", &["社区", ""]),
            ("村委会", &["村", ""]),
            ("嘎查委员会", &["嘎查", ""]),
            ("委员会", &[""]),
            ("嘎查", &[""]),
            ("社区", &[""]),
            ("村", &[""]),
        ],
    }
}

/// Ethnic names as they precede 自治区/自治州/自治县/民族乡 (without the final 族).
const ETHNIC: &[&str] = &[
    "柯尔克孜",
    "乌孜别克",
    "维吾尔",
    "哈萨克",
    "塔吉克",
    "俄罗斯",
    "鄂温克",
    "鄂伦春",
    "塔塔尔",
    "达斡尔",
    "土家",
    "蒙古",
    "布依",
    "朝鲜",
    "哈尼",
    "傈僳",
    "高山",
    "拉祜",
    "东乡",
    "纳西",
    "景颇",
    "仫佬",
    "布朗",
    "撒拉",
    "毛南",
    "仡佬",
    "锡伯",
    "阿昌",
    "普米",
    "德昂",
    "保安",
    "裕固",
    "独龙",
    "赫哲",
    "门巴",
    "珞巴",
    "基诺",
    "苗",
    "瑶",
    "壮",
    "回",
    "藏",
    "彝",
    "满",
    "侗",
    "白",
    "傣",
    "黎",
    "佤",
    "畲",
    "水",
    "土",
    "羌",
    "怒",
    "京",
];

/// Strip trailing ethnic names (`恩施土家族苗族` → `恩施`). `bare_first` also strips one
/// two-character-or-longer name written without 族 right before the suffix
/// (`察布查尔锡伯` → `察布查尔`, `新疆维吾尔` → `新疆`).
fn strip_ethnic(stem: &str, bare_first: bool) -> &str {
    let mut s = stem;
    let mut first = true;
    loop {
        let mut stripped = false;
        if let Some(r) = s.strip_suffix("各族") {
            s = r;
            stripped = true;
        } else {
            for e in ETHNIC {
                if let Some(r) = s.strip_suffix('族').and_then(|r| r.strip_suffix(e)) {
                    s = r;
                    stripped = true;
                    break;
                }
                if first
                    && bare_first
                    && e.chars().count() >= 2
                    && let Some(r) = s.strip_suffix(e)
                {
                    s = r;
                    stripped = true;
                    break;
                }
            }
        }
        first = false;
        if !stripped {
            return s;
        }
    }
}

fn char_len(s: &str) -> usize {
    s.chars().count()
}

/// Words that are never a name by themselves, only a suffix or a common noun: a short form or
/// alias equal to one is dropped (`街道` from 街道居委会, `中心` from 中心社区 — 购物中心).
const STOP: &[&str] = &[
    "街道",
    "社区",
    "中心",
    "城区",
    "新区",
    "园区",
    "开发区",
    "工业区",
    "工业园",
    "小区",
    "村委会",
    "居委会",
    "委员会",
    "办事处",
    "管理区",
    "新城",
    "老城",
    "花园",
    "广场",
];

/// Development-zone suffixes and the abbreviations people use for each.
const DEVZONES: &[(&str, &[&str])] = &[
    (
        "高新技术产业开发区",
        &[
            "高新技术产业开发区",
            "高新技术开发区",
            "高新区",
            "高新开发区",
        ],
    ),
    (
        "经济技术开发区",
        &["经济技术开发区", "经济开发区", "经开区", "开发区"],
    ),
    ("经济开发区", &["经济开发区", "开发区"]),
    ("工业园区", &["工业园区", "工业园"]),
    ("开发区", &["开发区"]),
];

/// Generic words that alone name some development zone in nearly every city.
const GENERIC: &[&str] = &["高新区", "开发区", "经济开发区", "经济技术开发区", "经开区"];

/// Every key for a unit: `(key, form)`, keys normalised, each at least two characters.
/// `name` is the normalised name; `ancestors` the normalised names of its province and city
/// (used to strip a leading `河北唐山` from `河北唐山芦台经济开发区`).
pub fn keys(name: &str, level: Level, ancestors: &[&str]) -> Vec<(String, Form)> {
    // Bracketed remarks in names (`（新）`, `（省级）`) became separators: the name is the part
    // before them.
    let name = name.split(SEP).next().unwrap_or("");
    let mut out: Vec<(String, Form)> = Vec::new();
    if char_len(name) < MIN_SHORT {
        return out;
    }
    out.push((name.to_string(), Form::Full));
    short_forms(name, level, &mut out);
    if level == Level::Town {
        town_forms(name, ancestors, &mut out);
    }
    if level == Level::County {
        // 撤县设区/设市: `定陶区` is still written `定陶县`, `即墨市` for 即墨区.
        for suffix in ["区", "县", "市"] {
            if let Some(stem) = name.strip_suffix(suffix)
                && char_len(stem) >= MIN_SHORT
                && !stem.ends_with("自治")
                && !stem.ends_with('新')
            {
                for other in ["区", "县", "市"] {
                    if other != suffix {
                        out.push((format!("{stem}{other}"), Form::Short));
                    }
                }
            }
        }
    }
    if matches!(level, Level::County | Level::Town) {
        devzone_forms(name, ancestors, &mut out);
        // `唐山市汉沽管理区` is written `汉沽管理区`.
        let bare = strip_ancestors(name, ancestors);
        if bare != name && char_len(bare) >= 3 {
            out.push((bare.to_string(), Form::Alias));
            short_forms(bare, level, &mut out);
        }
    }
    out.retain(|(k, f)| {
        char_len(k) >= MIN_SHORT && !(*f != Form::Full && STOP.contains(&k.as_str()))
    });
    // A unit named by a bare suffix word (a town called `街道`) names nothing by it.
    for (k, f) in out.iter_mut() {
        if *f == Form::Full && STOP.contains(&k.as_str()) {
            *f = Form::Generic;
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    out.dedup_by(|a, b| a.0 == b.0);
    out
}

/// Short forms and suffix aliases of `name` at `level`, appended to `out`.
fn short_forms(name: &str, level: Level, out: &mut Vec<(String, Form)>) {
    for (suffix, repl) in rules(level) {
        let Some(stem) = name.strip_suffix(suffix) else {
            continue;
        };
        let autonomous = suffix.starts_with("自治") || suffix.starts_with("民族");
        let mut stems = vec![stem];
        let e = strip_ethnic(stem, autonomous);
        if e != stem {
            stems.push(e);
        }
        for (n, s) in stems.into_iter().enumerate() {
            if char_len(s) < MIN_SHORT {
                continue;
            }
            // `东辛庄满族镇` is written `东辛庄镇`.
            if n > 0 && matches!(*suffix, "镇" | "乡") {
                out.push((format!("{s}{suffix}"), Form::Alias));
            }
            for r in *repl {
                if r.is_empty() {
                    out.push((s.to_string(), Form::Short));
                } else {
                    out.push((format!("{s}{r}"), Form::Alias));
                }
            }
        }
    }
}

/// Words that open a development zone's or new town's name; a town named after one
/// (`扬州市生态科技新城泰安镇`) is written by its own part (`泰安镇`).
const ZONE_WORDS: &[&str] = &[
    "新城",
    "开发区",
    "园区",
    "新区",
    "管理区",
    "度假区",
    "风景区",
    "示范区",
    "科技城",
    "工业区",
];

fn town_forms(name: &str, ancestors: &[&str], out: &mut Vec<(String, Form)>) {
    // Wuhan writes its streets `X街街道` (洪山街街道) and people drop or add the 街.
    if let Some(stem) = name.strip_suffix("街街道") {
        out.push((format!("{stem}街道"), Form::Alias));
    } else if let Some(stem) = name.strip_suffix("街道") {
        out.push((format!("{stem}街街道"), Form::Alias));
    }
    let bare = strip_ancestors(name, ancestors);
    for w in ZONE_WORDS {
        let Some(pos) = bare.find(w) else { continue };
        let tail = &bare[pos + w.len()..];
        if char_len(tail) >= 3 && ["镇", "乡", "街道"].iter().any(|s| tail.ends_with(s)) {
            out.push((tail.to_string(), Form::Alias));
            short_forms(tail, Level::Town, out);
        }
    }
}

fn strip_ancestors<'a>(name: &'a str, ancestors: &[&str]) -> &'a str {
    let mut s = name;
    loop {
        let mut changed = false;
        for a in ancestors {
            for p in ancestor_prefixes(a) {
                if p.is_empty() {
                    continue;
                }
                if let Some(r) = s.strip_prefix(p.as_str())
                    && char_len(r) >= MIN_SHORT
                {
                    s = r;
                    changed = true;
                }
            }
        }
        if !changed {
            return s;
        }
    }
}

/// An ancestor's name and short forms, longest first, as prefixes to strip.
fn ancestor_prefixes(name: &str) -> Vec<String> {
    let mut v = vec![name.to_string()];
    for level in [Level::Province, Level::City] {
        let mut o = Vec::new();
        short_forms(name, level, &mut o);
        v.extend(
            o.into_iter()
                .filter(|(_, f)| *f == Form::Short)
                .map(|(k, _)| k),
        );
    }
    v.sort_by_key(|s| std::cmp::Reverse(char_len(s)));
    v.dedup();
    v
}

fn devzone_forms(name: &str, ancestors: &[&str], out: &mut Vec<(String, Form)>) {
    for (suffix, alts) in DEVZONES {
        let Some(stem) = name.strip_suffix(suffix) else {
            continue;
        };
        let mut stems = vec![stem];
        let bare = strip_ancestors(stem, ancestors);
        if bare != stem {
            stems.push(bare);
        }
        for s in stems {
            for a in *alts {
                if !s.is_empty() {
                    out.push((format!("{s}{a}"), Form::Alias));
                }
            }
        }
        for a in *alts {
            if GENERIC.contains(a) {
                out.push((a.to_string(), Form::Generic));
            }
        }
        break;
    }
}

/// Keys with one character replaced by [`WILD`], for text where a rare character became
/// `[UNK]`. At least two real characters must remain.
pub fn wild_variants(key: &str, level: Level) -> Vec<String> {
    let chars: Vec<char> = key.chars().collect();
    // `郏县` → `?县`: a one-character county keeps its suffix (only context can tell which).
    if chars.len() == 2 && level == Level::County && "县区市旗".contains(chars[1]) {
        return vec![[WILD, chars[1]].iter().collect()];
    }
    if chars.len() < 3 {
        return Vec::new();
    }
    (0..chars.len())
        .map(|i| {
            chars
                .iter()
                .enumerate()
                .map(|(j, &c)| if i == j { WILD } else { c })
                .collect()
        })
        .collect()
}

/// Wildcard-aware equality: [`WILD`] on either side matches any one character.
pub fn eq_wild(a: &str, b: &str) -> bool {
    let mut x = a.chars();
    let mut y = b.chars();
    loop {
        match (x.next(), y.next()) {
            (None, None) => return true,
            (Some(p), Some(q)) if p == q || p == WILD || q == WILD => {}
            _ => return false,
        }
    }
}

/// Every spelling of a name at `level` for comparison: the name, its short forms and suffix
/// aliases (a label may be cut at the suffix, or carry another one).
pub fn spellings(name: &str, level: Level) -> Vec<String> {
    let name = name.split(SEP).next().unwrap_or("");
    let mut out = vec![(name.to_string(), Form::Full)];
    short_forms(name, level, &mut out);
    let mut v: Vec<String> = out.into_iter().map(|(k, _)| k).collect();
    v.sort();
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ks(name: &str, level: Level, anc: &[&str]) -> Vec<String> {
        keys(name, level, anc).into_iter().map(|(k, _)| k).collect()
    }

    #[test]
    fn provinces() {
        assert!(ks("广西壮族自治区", Level::Province, &[]).contains(&"广西".to_string()));
        assert!(ks("广西壮族自治区", Level::Province, &[]).contains(&"广西省".to_string()));
        assert!(ks("新疆维吾尔自治区", Level::Province, &[]).contains(&"新疆".to_string()));
        assert!(ks("内蒙古自治区", Level::Province, &[]).contains(&"内蒙古".to_string()));
        assert!(ks("宁夏回族自治区", Level::Province, &[]).contains(&"宁夏".to_string()));
        assert!(ks("北京市", Level::Province, &[]).contains(&"北京".to_string()));
        assert!(ks("香港特别行政区", Level::Province, &[]).contains(&"香港".to_string()));
    }

    #[test]
    fn prefectures_and_counties() {
        let k = ks("恩施土家族苗族自治州", Level::City, &[]);
        assert!(k.contains(&"恩施".to_string()) && k.contains(&"恩施州".to_string()));
        let k = ks("都安瑶族自治县", Level::County, &[]);
        assert!(k.contains(&"都安".to_string()) && k.contains(&"都安县".to_string()));
        let k = ks("察布查尔锡伯自治县", Level::County, &[]);
        assert!(k.contains(&"察布查尔".to_string()));
        assert!(ks("和田地区", Level::City, &[]).contains(&"和田".to_string()));
        assert!(ks("定陶区", Level::County, &[]).contains(&"定陶县".to_string()));
        assert!(ks("兴安盟", Level::City, &[]).contains(&"兴安".to_string()));
        // One character is not a short form.
        assert_eq!(ks("滑县", Level::County, &[]), vec!["滑县".to_string()]);
        assert!(!ks("沙市区", Level::County, &[]).contains(&"沙".to_string()));
    }

    #[test]
    fn towns_and_villages() {
        assert!(ks("常路镇", Level::Town, &[]).contains(&"常路".to_string()));
        assert!(ks("东华门街道", Level::Town, &[]).contains(&"东华门".to_string()));
        assert!(ks("洪山街街道", Level::Town, &[]).contains(&"洪山街道".to_string()));
        assert!(ks("永丰街道", Level::Town, &[]).contains(&"永丰街街道".to_string()));
        assert!(ks("东辛庄满族镇", Level::Town, &[]).contains(&"东辛庄镇".to_string()));
        let k = ks("多福巷社区居委会", Level::Village, &[]);
        assert!(k.contains(&"多福巷社区".to_string()) && k.contains(&"多福巷".to_string()));
        let k = ks("水村村委会", Level::Village, &[]);
        assert!(k.contains(&"水村村".to_string()) && k.contains(&"水村".to_string()));
        let k = ks("官庄居委会", Level::Village, &[]);
        assert!(k.contains(&"官庄社区".to_string()));
        assert_eq!(ks("某村委会 新", Level::Village, &[])[0], "某村委会");
    }

    #[test]
    fn devzones() {
        let k = ks(
            "长春净月高新技术产业开发区",
            Level::County,
            &["吉林省", "长春市"],
        );
        for want in ["净月高新区", "长春净月高新区", "高新区"] {
            assert!(k.contains(&want.to_string()), "{want} in {k:?}");
        }
        let k = ks(
            "河北唐山芦台经济开发区",
            Level::County,
            &["河北省", "唐山市"],
        );
        assert!(k.contains(&"芦台开发区".to_string()), "{k:?}");
        let k = ks(
            "扬州市生态科技新城泰安镇",
            Level::Town,
            &["江苏省", "扬州市", "广陵区"],
        );
        assert!(
            k.contains(&"泰安镇".to_string()) && k.contains(&"泰安".to_string()),
            "{k:?}"
        );
        let k = ks(
            "高密市醴泉街道",
            Level::Town,
            &["山东省", "潍坊市", "高密市"],
        );
        assert!(
            k.contains(&"醴泉街道".to_string()) && k.contains(&"醴泉".to_string()),
            "{k:?}"
        );
        let k = ks("唐山市汉沽管理区", Level::County, &["河北省", "唐山市"]);
        assert!(k.contains(&"汉沽管理区".to_string()) && k.contains(&"汉沽".to_string()));
    }

    #[test]
    fn wildcards() {
        assert!(eq_wild("芝\u{FFFD}区", "芝罘区"));
        assert!(!eq_wild("芝\u{FFFD}", "芝罘区"));
        assert!(wild_variants("芝罘区", Level::County).contains(&"芝\u{FFFD}区".to_string()));
        assert!(wild_variants("芝罘", Level::County).is_empty());
        assert_eq!(
            wild_variants("郏县", Level::County),
            vec!["\u{FFFD}县".to_string()]
        );
    }
}
