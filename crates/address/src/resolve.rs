//! Resolution of free text to a chain province → city → county → town → community.
//!
//! 1. The text is normalised (`normalize`), then every span that is a key of the index is
//!    collected with the units it names (all spans, not just the longest: `东营` is a city and
//!    a county short form, and only the rest of the text says which).
//! 2. Every match is a candidate leaf. Its chain is its ancestors in the data; each ancestor is
//!    *supported* if one of its own matches lies before the leaf's (and before the support of
//!    the level below). A chain scores the sum of its supported levels' weights: level weight ×
//!    how the span was written (official name > alias > short form > bare development-zone
//!    word), halved when the span sits inside a longer official name. Levels the text skips are
//!    filled from the data, so `蒙阴县常路镇` gets 山东省 and 临沂市.
//! 3. The best chain wins (ties: the deeper one); its confidence is its probability against
//!    every chain that disagrees with it (a softmax over scores), times how much evidence it
//!    has, so a town name shared by 88 places alone scores about 1/88.

use std::collections::HashMap;

use serde::Serialize;
use serde::ser::SerializeStruct;

use crate::gazetteer::{Gazetteer, Level, MixState, NONE, Posting, Unit, hash_seed, hash_step};
use crate::names::Form;
use crate::normalize::{SEP, WILD, normalize};

/// Where a text resolved to. Levels not found are `None`; `code` is the most specific code.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Resolution {
    pub province: Option<Unit>,
    pub city: Option<Unit>,
    /// The county level (区/县/县级市/旗).
    pub district: Option<Unit>,
    /// 街道/镇/乡.
    pub town: Option<Unit>,
    /// 居委会/村委会.
    pub community: Option<Unit>,
    pub code: Option<String>,
    /// 0..1: how sure the resolver is of the deepest level it returns.
    pub confidence: f64,
}

impl Resolution {
    /// The unit at `level`.
    pub fn at(&self, level: Level) -> Option<&Unit> {
        match level {
            Level::Province => self.province.as_ref(),
            Level::City => self.city.as_ref(),
            Level::County => self.district.as_ref(),
            Level::Town => self.town.as_ref(),
            Level::Village => self.community.as_ref(),
        }
    }

    fn slot(&mut self, level: Level) -> &mut Option<Unit> {
        match level {
            Level::Province => &mut self.province,
            Level::City => &mut self.city,
            Level::County => &mut self.district,
            Level::Town => &mut self.town,
            Level::Village => &mut self.community,
        }
    }
}

/// The JSON contract of `linli address resolve`: names as in the division data (empty when
/// unknown), `code` the most specific code (empty if none), `confidence` a number.
impl Serialize for Resolution {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let name = |u: &Option<Unit>| u.as_ref().map_or("", |u| u.name.as_str()).to_string();
        let mut st = s.serialize_struct("Resolution", 7)?;
        st.serialize_field("province", &name(&self.province))?;
        st.serialize_field("city", &name(&self.city))?;
        st.serialize_field("district", &name(&self.district))?;
        st.serialize_field("town", &name(&self.town))?;
        st.serialize_field("community", &name(&self.community))?;
        st.serialize_field("code", self.code.as_deref().unwrap_or(""))?;
        st.serialize_field("confidence", &self.confidence)?;
        st.end()
    }
}

/// A key found in the text: characters `start..end` name `unit`.
#[derive(Clone, Copy, Debug)]
struct Match {
    start: u16,
    end: u16,
    unit: u32,
    /// The key the span matched.
    key: u32,
    form: Form,
    weight: f32,
}

/// Bound on the matches one text may produce (a text made of nothing but common village
/// names would otherwise produce hundreds of thousands).
const MAX_MATCHES: usize = 20_000;
/// A key naming more villages than this only counts for villages whose town or county the
/// text also names (`新村` names thousands).
const OPEN_VILLAGE_KEY: usize = 16;
/// Below this score nothing is returned: a lone two-character village name is noise.
const MIN_SCORE: f32 = 0.5;
/// Share of a contradicting sibling's weight a chain loses.
const CONTRADICTION: f32 = 0.6;
/// A town name shared by more units than this is generic (城关, 城南) and never taken to have
/// moved between counties.
const RARE_TOWN_NAME: usize = 8;
/// Share of a stale county's weight a town keeps (see `contradiction`).
const STALE: f32 = 0.5;
/// How fast evidence saturates: one level written in full gives 0.70, two 0.91, three 0.97.
const EVIDENCE: f64 = 1.2;
/// Softmax sharpness: one level of evidence more is worth a factor of e³ ≈ 20.
const SHARPNESS: f64 = 3.0;

/// How much a supported level counts.
fn level_weight(level: Level) -> f32 {
    match level {
        Level::Province | Level::City | Level::County => 1.0,
        Level::Town => 0.9,
        Level::Village => 0.6,
    }
}

/// How much the way a span was written counts (the span's characters, `len`).
fn form_weight(level: Level, form: Form, len: usize) -> f32 {
    match form {
        Form::Full => 1.0,
        Form::Alias => 0.9,
        Form::Short => match level {
            Level::Province | Level::City => 0.85,
            Level::County => {
                if len >= 3 {
                    0.8
                } else {
                    0.75
                }
            }
            Level::Town | Level::Village => {
                if len >= 3 {
                    0.7
                } else {
                    0.55
                }
            }
        },
        Form::Generic => 0.4,
        Form::Wild => {
            if len >= 3 {
                0.8
            } else {
                0.5
            }
        }
    }
}

/// Words after a short form that show it is part of another name (a road, an estate, a
/// school), not the division: `新华` in 新华路, `东风` in 东风小区.
const NOT_DIVISION_AFTER: &[&str] = &[
    "路", "大道", "大街", "巷", "胡同", "弄", "号", "小区", "花园", "广场", "大厦", "公寓", "中学",
    "小学", "学校", "大学", "学院", "医院", "公园", "市场", "商场", "宾馆", "酒店", "银行", "公司",
    "厂", "店", "站", "家园", "大桥", "花苑", "新城", "苑", "府",
];

fn blocked_after(rest: &[char]) -> bool {
    if rest.first() == Some(&'街') {
        return rest.get(1) != Some(&'道');
    }
    // 滨江北路, 黄河六路, 建设2路: a direction or number, then a road word.
    let skip = rest
        .iter()
        .take_while(|c| c.is_ascii_digit() || "东西南北中一二三四五六七八九十".contains(**c))
        .count();
    if skip > 0 && skip <= 3 {
        let tail = &rest[skip..];
        if matches!(tail.first(), Some('路' | '巷' | '弄' | '里' | '道'))
            || (tail.first() == Some(&'街') && tail.get(1) != Some(&'道'))
            || (tail.first() == Some(&'大') && matches!(tail.get(1), Some('街' | '道')))
        {
            return true;
        }
    }
    NOT_DIVISION_AFTER.iter().any(|w| {
        let mut it = rest.iter();
        w.chars().all(|c| it.next() == Some(&c))
    })
}

struct Candidate {
    leaf: u32,
    score: f32,
    /// Supporting match per level.
    support: [u32; 5],
}

impl Gazetteer {
    /// Resolve free text. Never panics; an empty or meaningless text gives an empty
    /// resolution with confidence 0.
    pub fn resolve(&self, text: &str) -> Resolution {
        let chars = normalize(text);
        if chars.len() < 2 {
            return Resolution::default();
        }
        let matches = self.collect(&chars);
        if matches.is_empty() {
            return Resolution::default();
        }
        let cands = self.candidates(&matches);
        let Some(best) = cands.first() else {
            return Resolution::default();
        };
        if best.score < MIN_SCORE {
            return Resolution::default();
        }
        let mut leaf = best.leaf;
        let mut score = best.score;
        let mut leaf_weight = best
            .support
            .get(self.level(best.leaf).index())
            .and_then(|&m| matches.get(m as usize))
            .map_or(0.0, |m| m.weight);
        // Chains that disagree with the winner (neither its ancestor nor its descendant). A
        // chain read only from pieces of the winner's longer spans (`朝阳` inside 朝阳区) lost
        // by the longest-match rule and is not a rival.
        let won: Vec<(u16, u16)> = best
            .support
            .iter()
            .filter(|&&m| m != NONE)
            .map(|&m| (matches[m as usize].start, matches[m as usize].end))
            .collect();
        let inside = |m: &Match| {
            won.iter()
                .any(|&(s, e)| s <= m.start && m.end <= e && e - s > m.end - m.start)
        };
        let mut rivals = 0.0f64;
        for c in &cands[1..] {
            if self.is_ancestor_or_self(c.leaf, best.leaf)
                || self.is_ancestor_or_self(best.leaf, c.leaf)
            {
                continue;
            }
            if c.support
                .iter()
                .filter(|&&m| m != NONE)
                .all(|&m| inside(&matches[m as usize]))
            {
                continue;
            }
            rivals += (-SHARPNESS * f64::from(best.score - c.score)).exp();
        }
        // A rare character written as [UNK] in a community name: look among the winner's
        // communities for a spelling that fits.
        if self.level(leaf) == Level::Town || self.level(leaf) == Level::County {
            let after = best
                .support
                .iter()
                .filter(|&&m| m != NONE)
                .map(|&m| matches[m as usize].end)
                .max()
                .unwrap_or(0);
            if let Some((v, w)) = self.wild_village(leaf, &chars, after as usize) {
                leaf = v;
                score += w;
                leaf_weight = w;
            }
        }
        // The reading that stops one level higher (the deepest span is something else: an
        // estate, a road) is a rival too, as strong as the deepest span is weak.
        if self.parent(leaf) != NONE {
            rivals += (-SHARPNESS * f64::from(leaf_weight)).exp();
        }
        let p = 1.0 / (1.0 + rivals);
        let evidence = 1.0 - (-EVIDENCE * f64::from(score)).exp();
        let mut r = Resolution::default();
        let mut u = leaf;
        while u != NONE {
            *r.slot(self.level(u)) = Some(self.unit_at(u));
            u = self.parent(u);
        }
        r.code = Some(self.code(leaf).to_string());
        r.confidence = ((p * evidence) * 10_000.0).round() / 10_000.0;
        r
    }

    /// The candidate chains for `text`, best first, one line each (`score level code name
    /// [supporting spans]`): what `resolve` weighed, for tuning and for support questions.
    pub fn explain(&self, text: &str, top: usize) -> Vec<String> {
        let chars = normalize(text);
        let matches = self.collect(&chars);
        let cands = self.candidates(&matches);
        cands
            .iter()
            .take(top)
            .map(|c| {
                let spans: Vec<String> = c
                    .support
                    .iter()
                    .filter(|&&m| m != NONE)
                    .map(|&m| {
                        let m = &matches[m as usize];
                        let span: String = chars[usize::from(m.start)..usize::from(m.end)]
                            .iter()
                            .collect();
                        format!("{span}:{:?}:{:.2}", m.form, m.weight)
                    })
                    .collect();
                format!(
                    "{:.3} {:?} {} {} [{}]",
                    c.score,
                    self.level(c.leaf),
                    self.code(c.leaf),
                    self.name(c.leaf),
                    spans.join(" ")
                )
            })
            .collect()
    }

    /// Every candidate chain, best per leaf unit, sorted best first.
    fn candidates(&self, matches: &[Match]) -> Vec<Candidate> {
        let mut by_unit: HashMap<u32, Vec<u32>, MixState> = HashMap::default();
        for (i, m) in matches.iter().enumerate() {
            by_unit.entry(m.unit).or_default().push(i as u32);
        }
        // Strong matches, the units a chain may contradict.
        let strong: Vec<u32> = (0..matches.len() as u32)
            .filter(|&i| {
                matches!(
                    matches[i as usize].form,
                    Form::Full | Form::Alias | Form::Wild
                )
            })
            .collect();
        // Best chain per leaf unit.
        let mut best_per_leaf: HashMap<u32, Candidate, MixState> = HashMap::default();
        for (i, m) in matches.iter().enumerate() {
            let (s, mut support) = self.support(m.unit, m.start, matches, &by_unit);
            support[self.level(m.unit).index()] = i as u32;
            let score = s + m.weight + self.contradiction(m, &support, matches, &strong);
            let better = best_per_leaf.get(&m.unit).is_none_or(|c| score > c.score);
            if better {
                best_per_leaf.insert(
                    m.unit,
                    Candidate {
                        leaf: m.unit,
                        score,
                        support,
                    },
                );
            }
        }
        let mut cands: Vec<Candidate> = best_per_leaf.into_values().collect();
        cands.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| self.level(b.leaf).cmp(&self.level(a.leaf)))
                .then_with(|| supported(b).cmp(&supported(a)))
                .then_with(|| self.code(a.leaf).cmp(self.code(b.leaf)))
        });
        cands
    }

    /// Every key occurrence in `chars`, weighted.
    fn collect(&self, chars: &[char]) -> Vec<Match> {
        let n = chars.len();
        let mut out: Vec<Match> = Vec::new();
        let mut village_keys: Vec<(u16, u16, u32)> = Vec::new();
        for i in 0..n.saturating_sub(1) {
            if chars[i] == SEP {
                continue;
            }
            let longest = self.longest_from(chars[i], chars[i + 1]);
            if longest == 0 {
                continue;
            }
            let mut h = hash_step(hash_seed(), chars[i]);
            for j in i + 1..n.min(i + longest) {
                let c = chars[j];
                if c == SEP {
                    break;
                }
                h = hash_step(h, c);
                let Some(k) = self.key_id(h, &chars[i..=j]) else {
                    continue;
                };
                let (start, end) = (i as u16, (j + 1) as u16);
                let len = j + 1 - i;
                let blocked = blocked_after(&chars[j + 1..]);
                // Each part lists higher levels first: stop at the first village.
                for p in self.posting_parts(k).into_iter().flat_map(|part| {
                    part.iter()
                        .take_while(|p| self.level(p.unit) != Level::Village)
                }) {
                    let level = p.level;
                    if blocked && !matches!(p.form, Form::Full | Form::Alias) {
                        continue;
                    }
                    if out.len() >= MAX_MATCHES {
                        break;
                    }
                    out.push(Match {
                        start,
                        end,
                        unit: p.unit,
                        key: k,
                        form: p.form,
                        weight: level_weight(level) * form_weight(level, p.form, len),
                    });
                }
                // Villages sort last in the built part; the added part is short.
                let [base, added] = self.posting_parts(k);
                let is_village = |p: &Posting| p.level == Level::Village;
                let has_village =
                    base.last().is_some_and(is_village) || added.iter().any(is_village);
                if has_village && !blocked {
                    village_keys.push((start, end, k));
                }
            }
        }
        // Villages: a widely shared name only where the text also names its town or county.
        if !village_keys.is_empty() {
            let named: std::collections::HashSet<u32, MixState> =
                out.iter().map(|m| m.unit).collect();
            for (start, end, k) in village_keys {
                let open = self.posting_count(k) <= OPEN_VILLAGE_KEY;
                let len = usize::from(end - start);
                for p in self.postings(k) {
                    if p.level != Level::Village || out.len() >= MAX_MATCHES {
                        continue;
                    }
                    let town = p.parent;
                    let county = if town == NONE {
                        NONE
                    } else {
                        self.parent(town)
                    };
                    if !open && !named.contains(&town) && !named.contains(&county) {
                        continue;
                    }
                    out.push(Match {
                        start,
                        end,
                        unit: p.unit,
                        key: k,
                        form: p.form,
                        weight: level_weight(Level::Village)
                            * form_weight(Level::Village, p.form, len),
                    });
                }
            }
        }
        self.penalise_contained(&mut out, n);
        out
    }

    /// Halve the weight of a span that lies inside a longer official name or alias found in the
    /// text (`城区` inside 东城区), the longest-match rule without discarding the reading. Only
    /// a longer name that fits its context counts: its parent is named too, or nothing is
    /// named before it (`城关` inside 城关镇 stays whole when none of the 88 城关镇 belongs to
    /// a county in the text).
    fn penalise_contained(&self, ms: &mut [Match], n: usize) {
        let named: std::collections::HashSet<u32, MixState> = ms.iter().map(|m| m.unit).collect();
        let first_end = ms.iter().map(|m| m.end).min().unwrap_or(0);
        // reach_before[s]: furthest end of a strong span starting before s;
        // reach_at[s]: furthest end of a strong span starting at s.
        let mut reach_at = vec![0u16; n + 1];
        for m in ms.iter() {
            if !matches!(m.form, Form::Full | Form::Alias) {
                continue;
            }
            let mut p = self.parent(m.unit);
            if p != NONE && is_placeholder_city(self.name(p)) {
                p = self.parent(p);
            }
            let fits = p == NONE || named.contains(&p) || m.start < first_end;
            if fits {
                let s = usize::from(m.start);
                reach_at[s] = reach_at[s].max(m.end);
            }
        }
        let mut reach_before = vec![0u16; n + 1];
        for s in 1..=n {
            reach_before[s] = reach_before[s - 1].max(reach_at[s - 1]);
        }
        for m in ms.iter_mut() {
            let s = usize::from(m.start);
            if reach_before[s] >= m.end || reach_at[s] > m.end {
                m.weight *= 0.5;
            }
        }
    }

    /// What a chain loses for skipping a level the text names differently: `官庄` read as a
    /// community of 蒙阴县 while the text says 常路镇, another town, before it. For each
    /// unsupported level above the leaf, the strongest other unit of that level named before
    /// the leaf (for counties and towns: a sibling) costs a share of its weight.
    ///
    /// One exception: a town written in full whose name is unique in its city, under a county
    /// of that city other than the one written. That is how towns moved between counties (or to
    /// a development zone) appear in addresses, and the town is the better evidence: the
    /// written county then counts for part of its weight instead.
    fn contradiction(&self, leaf: &Match, support: &[u32; 5], ms: &[Match], strong: &[u32]) -> f32 {
        let mut delta = 0.0f32;
        let mut u = self.parent(leaf.unit);
        while u != NONE {
            let level = self.level(u);
            if support[level.index()] == NONE {
                let other = strong
                    .iter()
                    .map(|&mi| &ms[mi as usize])
                    .filter(|m| {
                        m.unit != u
                            && m.end <= leaf.start
                            && self.level(m.unit) == level
                            // Counties and towns share names across the country; only a
                            // sibling (same parent) contradicts. A province or city written
                            // in full always does.
                            && (level <= Level::City || self.parent(m.unit) == self.parent(u))
                    })
                    .max_by(|a, b| a.weight.total_cmp(&b.weight));
                if let Some(o) = other {
                    if self.stale_parent(leaf, u, o) {
                        delta += STALE * o.weight;
                    } else {
                        delta -= CONTRADICTION * o.weight;
                    }
                }
            }
            u = self.parent(u);
        }
        delta
    }

    /// Whether `written` (a county the text names) is plausibly the old county of the town
    /// `leaf`, whose county in the data is `county`: see [`Self::contradiction`].
    fn stale_parent(&self, leaf: &Match, county: u32, written: &Match) -> bool {
        if self.level(leaf.unit) != Level::Town
            || self.level(county) != Level::County
            || !matches!(leaf.form, Form::Full | Form::Alias)
            || self.parent(written.unit) != self.parent(county)
        {
            return false;
        }
        // Generic town names (城关镇: 88 of them) are the county seat wherever they are written.
        if self.posting_count(leaf.key) > RARE_TOWN_NAME {
            return false;
        }
        let city = self.parent(county);
        let mut same_city = self.postings(leaf.key).filter(|p| {
            self.level(p.unit) == Level::Town && {
                let c = self.parent(p.unit);
                c != NONE && self.parent(c) == city
            }
        });
        same_city.next().is_some() && same_city.next().is_none()
    }

    /// Best support for the ancestors of `unit` from matches ending at or before `bound`:
    /// (score, supporting match per level).
    fn support(
        &self,
        unit: u32,
        bound: u16,
        ms: &[Match],
        by_unit: &HashMap<u32, Vec<u32>, MixState>,
    ) -> (f32, [u32; 5]) {
        let p = self.parent(unit);
        if p == NONE {
            return (0.0, [NONE; 5]);
        }
        // The parent not written (its own ancestors may still be).
        let mut best = self.support(p, bound, ms, by_unit);
        if let Some(list) = by_unit.get(&p) {
            for &mi in list {
                let m = &ms[mi as usize];
                if m.end > bound {
                    continue;
                }
                let (s, mut sup) = self.support(p, m.start, ms, by_unit);
                let s = s + m.weight;
                if s > best.0 {
                    sup[self.level(p).index()] = mi;
                    best = (s, sup);
                }
            }
        }
        best
    }

    /// A community under `unit` (a town, or a small county) whose name fits the text after
    /// `from` once `[UNK]` wildcards are allowed.
    fn wild_village(&self, unit: u32, chars: &[char], from: usize) -> Option<(u32, f32)> {
        if !chars.get(from..)?.contains(&WILD) {
            return None;
        }
        let mut villages: Vec<u32> = Vec::new();
        if self.level(unit) == Level::Town {
            villages.extend(self.children(unit));
        } else {
            for &t in self.children(unit) {
                villages.extend(self.children(t));
                if villages.len() > 3_000 {
                    return None;
                }
            }
        }
        let mut best: Option<(usize, u32)> = None;
        for v in villages {
            if self.level(v) != Level::Village {
                continue;
            }
            for (key, form) in self.keys_of(v) {
                if form == Form::Generic {
                    continue;
                }
                let kc: Vec<char> = key.chars().collect();
                if kc.len() < 3 || best.is_some_and(|(l, _)| l >= kc.len()) {
                    continue;
                }
                let hit = (from..chars.len().saturating_sub(kc.len() - 1)).any(|s| {
                    let span = &chars[s..s + kc.len()];
                    span.contains(&WILD) && span.iter().zip(&kc).all(|(a, b)| a == b || *a == WILD)
                });
                if hit {
                    best = Some((kc.len(), v));
                }
            }
        }
        best.map(|(_, v)| {
            (
                v,
                level_weight(Level::Village) * form_weight(Level::Village, Form::Wild, 3),
            )
        })
    }
}

fn supported(c: &Candidate) -> usize {
    c.support.iter().filter(|&&m| m != NONE).count()
}

/// City rows that are not cities: the municipalities' 市辖区/县 and the province-administered
/// county groups.
pub fn is_placeholder_city(name: &str) -> bool {
    matches!(name, "市辖区" | "县") || name.ends_with("直辖县级行政区划")
}
