//! The dispatch catalogue (派单目录): a three-level category tree whose leaves say who handles a
//! matter (unit type or unit), how urgent it is by default, its time limits, and whether the
//! community may be the handler (接诉即办条例 Art. 11, 17).
//!
//! This module owns the file layouts and their validation, with no IO: [`parse_csv`] (and
//! [`parse_table`] for rows read from a spreadsheet) turns a file into a [`Catalogue`] — every
//! row checked, the first bad line reported, nothing half-built — and [`export_rows`] /
//! [`to_csv`] write it back in the full layout, so an export re-imports to the same tree.
//!
//! Two layouts are read, told apart by their header (columns are found by name, in any order):
//! the bare three-column tree `一级分类,二级分类,三级分类` (as published with the Teddy Cup 2020
//! sample data) and the full layout [`COLUMNS`]. Codes (`01`, `01.02`, `01.02.003`) are kept when
//! the file has them and generated in file order where it has none, so a row added to an
//! exported file gets the next free code and every existing code stays put.

use std::collections::HashMap;

use crate::auth::{Authz, DataScope};
use crate::calendar::TimeLimit;
use crate::case::Urgency;
use crate::org::{OrgKind, is_within};

/// The columns of the full layout, in export order: (Chinese header, English alias).
pub const COLUMNS: [(&str, &str); 14] = [
    ("代码", "code"),
    ("一级分类", "level1"),
    ("二级分类", "level2"),
    ("三级分类", "level3"),
    ("责任单位类型", "handler_kind"),
    ("责任单位代码", "handler_code"),
    ("默认紧急程度", "urgency"),
    ("签收时限", "sign_limit"),
    ("首次联系时限", "contact_limit"),
    ("一般办理时限", "limit_normal"),
    ("紧急办理时限", "limit_urgent"),
    ("特急办理时限", "limit_critical"),
    ("社区可承办", "community_may"),
    ("关键词", "keywords"),
];

const C_CODE: usize = 0;
const C_L1: usize = 1;
const C_L2: usize = 2;
const C_L3: usize = 3;
const C_KIND: usize = 4;
const C_HANDLER: usize = 5;
const C_URGENCY: usize = 6;
const C_SIGN: usize = 7;
const C_CONTACT: usize = 8;
const C_NORMAL: usize = 9;
const C_URGENT: usize = 10;
const C_CRITICAL: usize = 11;
const C_COMMUNITY: usize = 12;
const C_KEYWORDS: usize = 13;

/// Largest file accepted for import (CSV or xlsx), in bytes.
pub const MAX_FILE_BYTES: usize = 4 << 20;
/// Most leaves (rows) in one catalogue.
pub const MAX_LEAVES: usize = 10_000;
/// Most level-1 categories, level-2 categories under one level-1, and leaves under one level-2
/// (the widths of generated codes: 2, 2 and 3 digits).
pub const MAX_L1: usize = 99;
pub const MAX_L2_PER_L1: usize = 99;
pub const MAX_L3_PER_L2: usize = 999;
pub const MAX_NAME_CHARS: usize = 50;
pub const MAX_KEYWORDS_CHARS: usize = 200;
/// One code segment: letters and digits only, so the dotted code stays unambiguous.
pub const MAX_SEGMENT_CHARS: usize = 10;
/// Separator of the names in [`Item::full_name`]; refused inside names.
pub const PATH_SEP: char = '/';

/// A file that could not be read as a catalogue: the first problem, with its line (1 = header).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("第 {line} 行：{message}")]
pub struct CatalogueError {
    pub line: u64,
    pub message: String,
}

fn bad(line: u64, message: impl Into<String>) -> CatalogueError {
    CatalogueError {
        line,
        message: message.into(),
    }
}

/// Who handles a leaf and how fast: what the dispatcher starts from (and may override).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Routing {
    /// The kind of unit responsible (the street of the place, the district, a department); with
    /// `handler_code` empty the dispatcher picks the unit of that kind.
    pub handler_kind: Option<OrgKind>,
    /// A definite unit (its org code), e.g. `110101B02`.
    pub handler_code: String,
    /// `None` in a file means 一般.
    pub urgency: Option<Urgency>,
    pub sign: Option<TimeLimit>,
    pub contact: Option<TimeLimit>,
    pub normal: Option<TimeLimit>,
    pub urgent: Option<TimeLimit>,
    pub critical: Option<TimeLimit>,
    /// The community may be the handler (its duty list covers the matter; Art. 17).
    pub community_may: bool,
    /// Words a call-taker might type for this matter, `、`-separated.
    pub keywords: String,
}

/// One node of the tree. Levels 1 and 2 are categories; level 3 nodes are the leaves and the
/// only ones with routing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// Dotted code: `01`, `01.02`, `01.02.003`.
    pub code: String,
    /// The parent's code; empty for level 1.
    pub parent_code: String,
    pub level: u8,
    pub name: String,
    /// The names from level 1 down, joined by [`PATH_SEP`].
    pub full_name: String,
    pub routing: Routing,
    /// The line of the file that defined (leaves) or first named (categories) this node.
    pub line: u64,
}

impl Item {
    pub fn is_leaf(&self) -> bool {
        self.level == 3
    }
}

/// A whole catalogue in tree order: each category followed by its subtree, in code order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Catalogue {
    pub items: Vec<Item>,
}

impl Catalogue {
    /// Number of nodes on levels 1, 2 and 3.
    pub fn counts(&self) -> (usize, usize, usize) {
        let n = |l: u8| self.items.iter().filter(|i| i.level == l).count();
        (n(1), n(2), n(3))
    }
    pub fn leaves(&self) -> impl Iterator<Item = &Item> {
        self.items.iter().filter(|i| i.is_leaf())
    }
    pub fn leaves_mut(&mut self) -> impl Iterator<Item = &mut Item> {
        self.items.iter_mut().filter(|i| i.is_leaf())
    }
}

// ---------------------------------------------------------------------------------------------
// Cell parsers (also used by the app when it reads stored rows back).

/// `district`/`street`/`community`/`department` or their Chinese names; empty is `None`.
pub fn parse_handler_kind(s: &str) -> Result<Option<OrgKind>, String> {
    let s = s.trim();
    let k = match s {
        "" => return Ok(None),
        "district" | "区县" | "区" | "县" | "区级" => OrgKind::District,
        "street" | "街道乡镇" | "街道" | "乡镇" | "街乡" => OrgKind::Street,
        "community" | "社区村" | "社区" | "村" => OrgKind::Community,
        "department" | "职能部门" | "部门" => OrgKind::Department,
        other => {
            return Err(format!(
                "责任单位类型“{other}”无效，应为 区县/街道乡镇/社区村/职能部门 或留空"
            ));
        }
    };
    Ok(Some(k))
}

/// `一般/紧急/特急` or `normal/urgent/critical`; empty is `None` (一般).
pub fn parse_urgency(s: &str) -> Result<Option<Urgency>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    Urgency::parse(s)
        .or_else(|| Urgency::ALL.iter().copied().find(|u| u.label() == s))
        .map(Some)
        .ok_or_else(|| format!("紧急程度“{s}”无效，应为 一般/紧急/特急"))
}

/// `24h`, `5wd`, or the Chinese forms `24小时` / `5个工作日`; empty is `None` (the default
/// for the request type and urgency applies). Zero is refused: a limit that is already over.
pub fn parse_limit(s: &str) -> Result<Option<TimeLimit>, String> {
    let t: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    if t.is_empty() {
        return Ok(None);
    }
    let ascii = if let Some(n) = t.strip_suffix("个工作日") {
        format!("{n}wd")
    } else if let Some(n) = t.strip_suffix("工作日") {
        format!("{n}wd")
    } else if let Some(n) = t.strip_suffix("小时") {
        format!("{n}h")
    } else {
        t.to_ascii_lowercase()
    };
    match TimeLimit::parse(&ascii) {
        Some(TimeLimit::NaturalHours(0) | TimeLimit::WorkingDays(0)) => {
            Err(format!("时限“{}”不能为 0", s.trim()))
        }
        Some(l) => Ok(Some(l)),
        None => Err(format!(
            "时限“{}”无效，应写作 24h（自然小时）或 5wd（工作日）",
            s.trim()
        )),
    }
}

/// `是/否`, `Y/N`, `true/false`, `1/0`; empty is no.
pub fn parse_yes_no(s: &str) -> Result<bool, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "" | "否" | "n" | "no" | "false" | "0" => Ok(false),
        "是" | "y" | "yes" | "true" | "1" => Ok(true),
        other => Err(format!("社区可承办“{other}”无效，应为 是 或 否")),
    }
}

fn parse_name(s: &str, what: &str) -> Result<String, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err(format!("{what}不能为空"));
    }
    if s.chars().count() > MAX_NAME_CHARS {
        return Err(format!("{what}“{s}”超过 {MAX_NAME_CHARS} 个字"));
    }
    if s.chars().any(|c| c.is_control() || c == PATH_SEP) {
        return Err(format!("{what}“{s}”含有控制字符或“{PATH_SEP}”"));
    }
    Ok(s.to_string())
}

fn parse_handler_code(s: &str) -> Result<String, String> {
    let s = s.trim();
    if s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit() || b == b'B') {
        return Err(format!(
            "责任单位代码“{s}”无效，应为组织机构代码，如 110101B02"
        ));
    }
    Ok(s.to_string())
}

/// Keywords split on any common separator, de-duplicated, joined with `、`.
fn parse_keywords(s: &str) -> Result<String, String> {
    let mut words: Vec<&str> = Vec::new();
    for w in s.split(|c: char| {
        c.is_whitespace() || matches!(c, ',' | '，' | ';' | '；' | '、' | '|' | '/')
    }) {
        if !w.is_empty() && !words.contains(&w) {
            words.push(w);
        }
    }
    let out = words.join("、");
    if out.chars().count() > MAX_KEYWORDS_CHARS || out.chars().any(char::is_control) {
        return Err(format!(
            "关键词超过 {MAX_KEYWORDS_CHARS} 个字或含有控制字符"
        ));
    }
    Ok(out)
}

/// A dotted code `A.B.C` split into three segments of letters and digits.
fn parse_code(s: &str) -> Result<Option<[String; 3]>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let segs: Vec<&str> = s.split('.').collect();
    let ok = segs.len() == 3
        && segs.iter().all(|g| {
            !g.is_empty()
                && g.len() <= MAX_SEGMENT_CHARS
                && g.bytes().all(|b| b.is_ascii_alphanumeric())
        });
    if !ok {
        return Err(format!(
            "代码“{s}”无效，应为三段以“.”分隔的字母或数字，如 01.02.003，或留空自动生成"
        ));
    }
    Ok(Some([
        segs[0].to_string(),
        segs[1].to_string(),
        segs[2].to_string(),
    ]))
}

// ---------------------------------------------------------------------------------------------
// Reading.

/// Which column of the row holds which field.
struct Header {
    /// For each of [`COLUMNS`], the index in the row.
    at: [Option<usize>; 14],
    width: usize,
}

fn header(cells: &[String]) -> Result<Header, CatalogueError> {
    let mut at = [None; 14];
    for (i, cell) in cells.iter().enumerate() {
        let name = cell.trim_start_matches('\u{feff}').trim();
        if name.is_empty() {
            continue;
        }
        let Some(col) = COLUMNS
            .iter()
            .position(|(zh, en)| name == *zh || name.eq_ignore_ascii_case(en))
        else {
            return Err(bad(
                1,
                format!("未知的列“{name}”；可用的列：{}", column_list()),
            ));
        };
        if at[col].is_some() {
            return Err(bad(1, format!("列“{}”重复", COLUMNS[col].0)));
        }
        at[col] = Some(i);
    }
    for c in [C_L1, C_L2, C_L3] {
        if at[c].is_none() {
            return Err(bad(
                1,
                format!(
                    "缺少“{}”列；表头至少应有 一级分类,二级分类,三级分类",
                    COLUMNS[c].0
                ),
            ));
        }
    }
    Ok(Header {
        at,
        width: cells.len(),
    })
}

fn column_list() -> String {
    COLUMNS
        .iter()
        .map(|(zh, _)| *zh)
        .collect::<Vec<_>>()
        .join(",")
}

/// One leaf row as read, before codes are assigned.
struct RawLeaf {
    line: u64,
    code: Option<[String; 3]>,
    names: [String; 3],
    routing: Routing,
}

fn read_row(h: &Header, line: u64, cells: &[String]) -> Result<RawLeaf, CatalogueError> {
    let cell = |c: usize| -> &str {
        h.at[c]
            .and_then(|i| cells.get(i))
            .map(String::as_str)
            .unwrap_or("")
    };
    let e = |m: String| bad(line, m);
    let names = [
        parse_name(cell(C_L1), "一级分类").map_err(e)?,
        parse_name(cell(C_L2), "二级分类").map_err(e)?,
        parse_name(cell(C_L3), "三级分类").map_err(e)?,
    ];
    let routing = Routing {
        handler_kind: parse_handler_kind(cell(C_KIND)).map_err(e)?,
        handler_code: parse_handler_code(cell(C_HANDLER)).map_err(e)?,
        urgency: parse_urgency(cell(C_URGENCY)).map_err(e)?,
        sign: parse_limit(cell(C_SIGN)).map_err(|m| e(format!("签收{m}")))?,
        contact: parse_limit(cell(C_CONTACT)).map_err(|m| e(format!("首次联系{m}")))?,
        normal: parse_limit(cell(C_NORMAL)).map_err(|m| e(format!("一般办理{m}")))?,
        urgent: parse_limit(cell(C_URGENT)).map_err(|m| e(format!("紧急办理{m}")))?,
        critical: parse_limit(cell(C_CRITICAL)).map_err(|m| e(format!("特急办理{m}")))?,
        community_may: parse_yes_no(cell(C_COMMUNITY)).map_err(e)?,
        keywords: parse_keywords(cell(C_KEYWORDS)).map_err(e)?,
    };
    if routing.handler_kind == Some(OrgKind::Community) && !routing.community_may {
        return Err(bad(line, "责任单位类型为社区村时，“社区可承办”须为“是”"));
    }
    Ok(RawLeaf {
        line,
        code: parse_code(cell(C_CODE)).map_err(e)?,
        names,
        routing,
    })
}

/// Build a catalogue from table rows: `(line, cells)` with the header first. Blank rows are
/// skipped. Used for CSV (through [`parse_csv`]) and for spreadsheets read by the app.
pub fn parse_table(
    rows: impl IntoIterator<Item = (u64, Vec<String>)>,
) -> Result<Catalogue, CatalogueError> {
    let mut rows = rows.into_iter();
    let h = loop {
        match rows.next() {
            None => return Err(bad(1, "文件为空：缺少表头")),
            Some((_, cells)) if cells.iter().all(|c| c.trim().is_empty()) => continue,
            Some((line, cells)) => {
                break header(&cells).map_err(|e| bad(line, e.message))?;
            }
        }
    };
    let mut leaves = Vec::new();
    for (line, cells) in rows {
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        if cells.len() > h.width && cells[h.width..].iter().any(|c| !c.trim().is_empty()) {
            return Err(bad(
                line,
                format!("字段数为 {}，多于表头的 {} 列", cells.len(), h.width),
            ));
        }
        if leaves.len() >= MAX_LEAVES {
            return Err(bad(line, format!("条目超过 {MAX_LEAVES} 条")));
        }
        leaves.push(read_row(&h, line, &cells)?);
    }
    if leaves.is_empty() {
        return Err(bad(1, "文件中没有条目"));
    }
    build(leaves)
}

/// Read a CSV file (UTF-8, optional BOM, RFC 4180 quoting, LF or CRLF line ends).
pub fn parse_csv(bytes: &[u8]) -> Result<Catalogue, CatalogueError> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(bad(1, format!("文件超过 {} MB", MAX_FILE_BYTES >> 20)));
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Err(e) = std::str::from_utf8(bytes) {
        let line = 1 + bytes[..e.valid_up_to()]
            .iter()
            .filter(|b| **b == b'\n')
            .count() as u64;
        return Err(bad(
            line,
            "文件不是 UTF-8 编码；请在 Excel 中另存为“CSV UTF-8（逗号分隔）”，或直接上传 xlsx",
        ));
    }
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    // The reader's own line numbers drift with CRLF ends and skipped blank lines; its byte
    // offsets point at the terminator before a record, so count from the record's first byte.
    let line_at = |pos: Option<&csv::Position>| -> u64 {
        let mut at = pos.map(|p| p.byte() as usize).unwrap_or(0).min(bytes.len());
        while at < bytes.len() && matches!(bytes[at], b'\r' | b'\n') {
            at += 1;
        }
        1 + bytes[..at].iter().filter(|b| **b == b'\n').count() as u64
    };
    let mut rows = Vec::new();
    let mut starts = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| {
            bad(
                line_at(e.position()),
                "CSV 格式错误（引号不成对或字段不完整）",
            )
        })?;
        starts.push(rec.position().map(|p| p.byte() as usize).unwrap_or(0));
        rows.push((
            line_at(rec.position()),
            rec.iter().map(str::to_string).collect(),
        ));
    }
    // The reader lets a quote that is never closed swallow the rest of the file; RFC 4180 quotes
    // come in pairs, so an odd count shows it. Name the record where it opens.
    let quotes = |a: usize, b: usize| bytes[a.min(b)..b].iter().filter(|c| **c == b'"').count();
    if quotes(0, bytes.len()) % 2 == 1 {
        let ends = starts.iter().skip(1).copied().chain([bytes.len()]);
        let line = starts
            .iter()
            .zip(ends)
            .zip(&rows)
            .find(|((a, b), _)| quotes(**a, (*b).min(bytes.len())) % 2 == 1)
            .map(|(_, (line, _))| *line)
            .unwrap_or(1);
        return Err(bad(line, "CSV 格式错误：引号不成对"));
    }
    parse_table(rows)
}

/// Assigns codes and builds the tree. Coded rows fix their segments; uncoded rows reuse the code
/// of a category already named, or take the next free number at their level, in file order.
fn build(leaves: Vec<RawLeaf>) -> Result<Catalogue, CatalogueError> {
    // Pass 1: the segments coded rows give, checked both ways (name ↔ code) at each level.
    let mut l1_code: HashMap<String, String> = HashMap::new(); // name → segment
    let mut l1_name: HashMap<String, String> = HashMap::new(); // segment → name
    let mut l2_code: HashMap<(String, String), String> = HashMap::new(); // (l1 seg, name) → seg
    let mut l2_name: HashMap<(String, String), String> = HashMap::new(); // (l1 seg, seg) → name
    let mut full_codes: HashMap<String, u64> = HashMap::new();
    for r in &leaves {
        let Some(c) = &r.code else { continue };
        let [n1, n2, _] = &r.names;
        let (c1, c2) = (&c[0], &c[1]);
        if let Some(x) = l1_code.get(n1)
            && x != c1
        {
            return Err(bad(
                r.line,
                format!("一级分类“{n1}”的代码前缀应为 {x}，此行为 {c1}"),
            ));
        }
        if let Some(x) = l1_name.get(c1)
            && x != n1
        {
            return Err(bad(r.line, format!("代码前缀 {c1} 已用于一级分类“{x}”")));
        }
        l1_code.insert(n1.clone(), c1.clone());
        l1_name.insert(c1.clone(), n1.clone());
        if let Some(x) = l2_code.get(&(c1.clone(), n2.clone()))
            && x != c2
        {
            return Err(bad(
                r.line,
                format!("二级分类“{n1}{PATH_SEP}{n2}”的代码应为 {c1}.{x}，此行为 {c1}.{c2}"),
            ));
        }
        if let Some(x) = l2_name.get(&(c1.clone(), c2.clone()))
            && x != n2
        {
            return Err(bad(
                r.line,
                format!("代码 {c1}.{c2} 已用于二级分类“{n1}{PATH_SEP}{x}”"),
            ));
        }
        l2_code.insert((c1.clone(), n2.clone()), c2.clone());
        l2_name.insert((c1.clone(), c2.clone()), n2.clone());
        let full = c.join(".");
        if let Some(first) = full_codes.insert(full.clone(), r.line) {
            return Err(bad(r.line, format!("代码 {full} 与第 {first} 行重复")));
        }
    }

    // Pass 2: every row's three codes, in file order.
    struct Node {
        code: String,
        name: String,
        line: u64,
    }
    let mut l1: Vec<Node> = Vec::new();
    let mut l1_idx: HashMap<String, usize> = HashMap::new(); // name → index in l1
    // per level-1 code: level-2 nodes; per level-2 code: leaves
    let mut l2: HashMap<String, Vec<Node>> = HashMap::new();
    let mut l2_idx: HashMap<(String, String), String> = HashMap::new(); // (l1 code, name) → code
    let mut l3: HashMap<String, Vec<(String, usize)>> = HashMap::new(); // l2 code → (code, leaf idx)
    let mut paths: HashMap<(String, String, String), u64> = HashMap::new();
    let mut out_leaves: Vec<Item> = Vec::with_capacity(leaves.len());

    let next_num = |taken: &mut dyn Iterator<Item = &str>, width: usize| -> String {
        let max = taken
            .filter_map(|s| s.parse::<u64>().ok())
            .max()
            .unwrap_or(0);
        format!("{:0width$}", max + 1)
    };

    for r in leaves {
        let [n1, n2, n3] = r.names;
        if let Some(first) = paths.insert((n1.clone(), n2.clone(), n3.clone()), r.line) {
            return Err(bad(
                r.line,
                format!("分类“{n1}{PATH_SEP}{n2}{PATH_SEP}{n3}”与第 {first} 行重复"),
            ));
        }
        // Level 1.
        let c1 = match l1_idx.get(&n1) {
            Some(&i) => l1[i].code.clone(),
            None => {
                let code = match l1_code.get(&n1) {
                    Some(c) => c.clone(),
                    None => {
                        let mut taken = l1_name
                            .keys()
                            .map(String::as_str)
                            .chain(l1.iter().map(|n| n.code.as_str()));
                        next_num(&mut taken, 2)
                    }
                };
                if l1.len() >= MAX_L1 {
                    return Err(bad(r.line, format!("一级分类超过 {MAX_L1} 个")));
                }
                l1_idx.insert(n1.clone(), l1.len());
                l1.push(Node {
                    code: code.clone(),
                    name: n1.clone(),
                    line: r.line,
                });
                code
            }
        };
        // Level 2.
        let key2 = (c1.clone(), n2.clone());
        let c2 = match l2_idx.get(&key2) {
            Some(c) => c.clone(),
            None => {
                let siblings = l2.entry(c1.clone()).or_default();
                let code = match l2_code.get(&key2) {
                    Some(c) => format!("{c1}.{c}"),
                    None => {
                        let fixed = l2_name
                            .keys()
                            .filter(|(a, _)| *a == c1)
                            .map(|(_, b)| b.as_str());
                        let mine = siblings.iter().filter_map(|n| n.code.rsplit('.').next());
                        let mut taken = fixed.chain(mine);
                        format!("{c1}.{}", next_num(&mut taken, 2))
                    }
                };
                if siblings.len() >= MAX_L2_PER_L1 {
                    return Err(bad(
                        r.line,
                        format!("一级分类“{n1}”下的二级分类超过 {MAX_L2_PER_L1} 个"),
                    ));
                }
                siblings.push(Node {
                    code: code.clone(),
                    name: n2.clone(),
                    line: r.line,
                });
                l2_idx.insert(key2, code.clone());
                code
            }
        };
        // Level 3.
        let siblings = l3.entry(c2.clone()).or_default();
        let code = match &r.code {
            Some(c) => c.join("."),
            None => {
                let prefix = format!("{c2}.");
                let fixed = full_codes.keys().filter_map(|k| k.strip_prefix(&prefix));
                let mine = siblings.iter().filter_map(|(c, _)| c.rsplit('.').next());
                let mut taken = fixed.chain(mine);
                let code = format!("{c2}.{}", next_num(&mut taken, 3));
                full_codes.insert(code.clone(), r.line);
                code
            }
        };
        if siblings.len() >= MAX_L3_PER_L2 {
            return Err(bad(
                r.line,
                format!("二级分类“{n1}{PATH_SEP}{n2}”下的条目超过 {MAX_L3_PER_L2} 个"),
            ));
        }
        siblings.push((code.clone(), out_leaves.len()));
        out_leaves.push(Item {
            code,
            parent_code: c2,
            level: 3,
            full_name: format!("{n1}{PATH_SEP}{n2}{PATH_SEP}{n3}"),
            name: n3,
            routing: r.routing,
            line: r.line,
        });
    }

    // Tree order: categories by code, each followed by its subtree.
    let mut items = Vec::with_capacity(out_leaves.len() + l1.len() * 8);
    l1.sort_by(|a, b| a.code.cmp(&b.code));
    for n1 in &l1 {
        items.push(Item {
            code: n1.code.clone(),
            parent_code: String::new(),
            level: 1,
            name: n1.name.clone(),
            full_name: n1.name.clone(),
            routing: Routing::default(),
            line: n1.line,
        });
        let mut kids = l2.remove(&n1.code).unwrap_or_default();
        kids.sort_by(|a, b| a.code.cmp(&b.code));
        for n2 in kids {
            items.push(Item {
                code: n2.code.clone(),
                parent_code: n1.code.clone(),
                level: 2,
                full_name: format!("{}{PATH_SEP}{}", n1.name, n2.name),
                name: n2.name,
                routing: Routing::default(),
                line: n2.line,
            });
            let mut ls = l3.remove(&n2.code).unwrap_or_default();
            ls.sort_by(|a, b| a.0.cmp(&b.0));
            for (_, i) in ls {
                items.push(out_leaves[i].clone());
            }
        }
    }
    Ok(Catalogue { items })
}

// ---------------------------------------------------------------------------------------------
// Writing.

fn limit_text(l: Option<TimeLimit>) -> String {
    l.map(|l| l.to_string()).unwrap_or_default()
}

/// The header and one row per leaf, in the full layout (what both CSV and xlsx exports write).
pub fn export_rows(items: &[Item]) -> Vec<[String; 14]> {
    let names: HashMap<&str, &str> = items
        .iter()
        .filter(|i| i.level < 3)
        .map(|i| (i.code.as_str(), i.name.as_str()))
        .collect();
    let mut rows = Vec::with_capacity(items.len() + 1);
    rows.push(COLUMNS.map(|(zh, _)| zh.to_string()));
    let mut leaves: Vec<&Item> = items.iter().filter(|i| i.is_leaf()).collect();
    leaves.sort_by(|a, b| a.code.cmp(&b.code));
    for leaf in leaves {
        let l1_code = leaf.parent_code.split('.').next().unwrap_or("");
        let r = &leaf.routing;
        rows.push([
            leaf.code.clone(),
            names.get(l1_code).copied().unwrap_or("").to_string(),
            names
                .get(leaf.parent_code.as_str())
                .copied()
                .unwrap_or("")
                .to_string(),
            leaf.name.clone(),
            r.handler_kind
                .map(|k| k.label().to_string())
                .unwrap_or_default(),
            r.handler_code.clone(),
            r.urgency.unwrap_or(Urgency::Normal).label().to_string(),
            limit_text(r.sign),
            limit_text(r.contact),
            limit_text(r.normal),
            limit_text(r.urgent),
            limit_text(r.critical),
            if r.community_may { "是" } else { "否" }.to_string(),
            r.keywords.clone(),
        ]);
    }
    rows
}

/// The full layout as CSV text (UTF-8 with a BOM so that Excel opens it as UTF-8; CRLF line
/// ends and quoting per RFC 4180).
pub fn to_csv(items: &[Item]) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(b"\xEF\xBB\xBF".to_vec());
    for row in export_rows(items) {
        // Writing to a Vec cannot fail.
        let _ = w.write_record(&row);
    }
    w.into_inner().unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Who may read a tenant's catalogue.

/// A call-taker anywhere inside a district needs its catalogue, whatever the reach of their
/// role (a grid worker's grant covers only the grid). So reading is allowed to a grant of one of
/// `perms` held at a unit inside the district, or reaching down to the district from above.
pub fn may_read(
    authz: &Authz,
    perms: &[crate::auth::Permission],
    district_id: uuid::Uuid,
    district_path: &str,
) -> bool {
    authz
        .grants
        .iter()
        .filter(|g| perms.iter().any(|p| g.permissions.contains(p)))
        .any(|g| {
            is_within(&g.unit_path, district_path)
                || match g.scope {
                    DataScope::Subtree => is_within(district_path, &g.unit_path),
                    DataScope::Unit => g.unit_id == district_id,
                    DataScope::Own => false,
                }
        })
}

#[cfg(test)]
mod tests;
