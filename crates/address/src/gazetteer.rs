//! The in-memory gazetteer: every division unit (code, name, level, parent) in flat arrays, and
//! an index from every spelling of every name (see `names`) to the units it names. Strings live
//! in a few large arenas and are found through 64-bit hashes of their characters, so 660,000
//! units with about two million keys fit in a couple of hundred megabytes and the resolver can
//! hash a span of text incrementally while it extends it.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use serde::{Deserialize, Serialize};

use crate::error::AddressError;
use crate::names::{self, Form};
use crate::normalize::{SEP, normalize_str};

/// The five levels of the national division codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// 省级: province, autonomous region, municipality.
    Province,
    /// 地级: prefecture-level city, 地区, 自治州, 盟; 市辖区/县 rows under municipalities.
    City,
    /// 县级: district, county, county-level city, 旗; development zones with their own code.
    County,
    /// 乡级: 街道, 镇, 乡, 苏木.
    Town,
    /// 村级: 居委会 (community), 村委会 (village).
    Village,
}

impl Level {
    /// From the top down.
    pub const ALL: [Level; 5] = [
        Level::Province,
        Level::City,
        Level::County,
        Level::Town,
        Level::Village,
    ];

    /// 0 for provinces … 4 for villages.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The Chinese word for the level, for messages.
    pub fn label(self) -> &'static str {
        match self {
            Level::Province => "省级",
            Level::City => "地级",
            Level::County => "县级",
            Level::Town => "乡级",
            Level::Village => "村级",
        }
    }
}

/// One row of division data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Division {
    pub code: String,
    pub name: String,
    pub level: Level,
    /// The parent's code; `None` for provinces (or a unit a deployment keeps at the top).
    pub parent: Option<String>,
}

impl Division {
    pub fn new(code: &str, name: &str, level: Level, parent: Option<&str>) -> Self {
        Division {
            code: code.to_string(),
            name: name.to_string(),
            level,
            parent: parent.map(str::to_string),
        }
    }
}

/// A resolved unit: its official code and its name as the division data spells it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unit {
    pub code: String,
    pub name: String,
}

pub(crate) const NONE: u32 = u32::MAX;

const HASH_SEED: u64 = 0xcbf2_9ce4_8422_2325;
const HASH_PRIME: u64 = 0x0000_0100_0000_01b3;

/// One step of the character hash (FNV-1a over code points), so a span's hash can be extended
/// one character at a time.
pub(crate) fn hash_step(h: u64, c: char) -> u64 {
    (h ^ u64::from(u32::from(c))).wrapping_mul(HASH_PRIME)
}

pub(crate) fn hash_seed() -> u64 {
    HASH_SEED
}

fn hash_str(s: &str) -> u64 {
    s.chars().fold(HASH_SEED, hash_step)
}

/// The map's own hasher only scrambles the already computed 64-bit key (FNV's low bits are
/// weak); everything else goes through FNV-1a.
#[derive(Default)]
pub(crate) struct Mix(u64);

impl Hasher for Mix {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(HASH_PRIME);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
    fn finish(&self) -> u64 {
        let mut k = self.0;
        k ^= k >> 33;
        k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
        k ^= k >> 33;
        k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        k ^ (k >> 33)
    }
}

pub(crate) type MixState = BuildHasherDefault<Mix>;

/// Interned strings: id → text, text → id, found by [`hash_step`] hashes.
#[derive(Default)]
struct StrTable {
    arena: String,
    spans: Vec<(u32, u32)>,
    map: HashMap<u64, u32, MixState>,
    /// Next id with the same hash (collisions are rare but possible).
    next: Vec<u32>,
}

impl StrTable {
    fn len(&self) -> usize {
        self.spans.len()
    }

    fn str(&self, id: u32) -> &str {
        let (off, len) = self.spans[id as usize];
        &self.arena[off as usize..(off + len) as usize]
    }

    fn find(&self, h: u64, eq: impl Fn(&str) -> bool) -> Option<u32> {
        let mut id = *self.map.get(&h)?;
        loop {
            if eq(self.str(id)) {
                return Some(id);
            }
            id = self.next[id as usize];
            if id == NONE {
                return None;
            }
        }
    }

    fn get(&self, s: &str) -> Option<u32> {
        self.find(hash_str(s), |t| t == s)
    }

    /// The id of `s`, and whether it was new. `None` when the arena is full (4 GB).
    fn intern(&mut self, s: &str) -> Option<(u32, bool)> {
        let h = hash_str(s);
        if let Some(id) = self.find(h, |t| t == s) {
            return Some((id, false));
        }
        let off = u32::try_from(self.arena.len()).ok()?;
        let len = u32::try_from(s.len()).ok()?;
        off.checked_add(len)?;
        let id = u32::try_from(self.spans.len())
            .ok()
            .filter(|&i| i != NONE)?;
        self.arena.push_str(s);
        self.spans.push((off, len));
        self.next.push(self.map.get(&h).copied().unwrap_or(NONE));
        self.map.insert(h, id);
        Some((id, true))
    }

    fn shrink(&mut self) {
        self.arena.shrink_to_fit();
        self.spans.shrink_to_fit();
        self.next.shrink_to_fit();
        self.map.shrink_to_fit();
    }
}

#[derive(Clone, Copy)]
struct Rec {
    name_off: u32,
    name_len: u32,
    parent: u32,
    level: Level,
}

/// One unit a key names, and how the key was derived from the unit's name. The unit's parent
/// and level ride along (they fit in the same 12 bytes) so the resolver's hot loop need not
/// visit the unit table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Posting {
    pub unit: u32,
    pub parent: u32,
    pub level: Level,
    pub form: Form,
}

/// Division units and the index of their names. Build it once (`load_dir`, `from_rows`) and
/// share it: resolving takes `&self`.
pub struct Gazetteer {
    recs: Vec<Rec>,
    names: String,
    /// Unit codes; a code's id is its unit's index.
    codes: StrTable,
    keys: StrTable,
    /// Postings of key `k` are `posts[post_off[k]..post_off[k + 1]]`.
    post_off: Vec<u32>,
    posts: Vec<Posting>,
    /// Postings added after the build (`add_alias`).
    extra: HashMap<u32, Vec<Posting>, MixState>,
    /// The first two characters of every key, packed, with the length of the longest key
    /// starting with them: a text position whose pair is not here starts no key, and a span
    /// is never extended past the longest key its first two characters can begin.
    starts: HashMap<u64, u16, MixState>,
    child_off: Vec<u32>,
    children: Vec<u32>,
}

/// Accumulates rows; parents may come before or after their children.
pub(crate) struct Builder {
    recs: Vec<Rec>,
    names: String,
    codes: StrTable,
    parents: Vec<Option<(u32, u32)>>,
    parent_arena: String,
}

fn too_big() -> AddressError {
    AddressError::Invalid {
        index: 0,
        message: "区划数据过大（超过 4 GB）".to_string(),
    }
}

impl Builder {
    pub(crate) fn new() -> Self {
        Builder {
            recs: Vec::new(),
            names: String::new(),
            codes: StrTable::default(),
            parents: Vec::new(),
            parent_arena: String::new(),
        }
    }

    pub(crate) fn contains(&self, code: &str) -> bool {
        self.codes.get(code).is_some()
    }

    /// Add one unit. Errors (as a message) on an empty code or name and a repeated code.
    pub(crate) fn push(
        &mut self,
        code: &str,
        name: &str,
        level: Level,
        parent: Option<&str>,
    ) -> Result<(), String> {
        let code = code.trim();
        let name = name.trim();
        if code.is_empty() {
            return Err("区划代码为空".to_string());
        }
        if name.is_empty() {
            return Err(format!("区划 {code} 的名称为空"));
        }
        match self.codes.intern(code) {
            None => return Err("区划数据过大（超过 4 GB）".to_string()),
            Some((_, false)) => return Err(format!("区划代码 {code} 重复")),
            Some((_, true)) => {}
        }
        let name_off = u32::try_from(self.names.len()).map_err(|_| "区划数据过大".to_string())?;
        let name_len = u32::try_from(name.len()).map_err(|_| "名称过长".to_string())?;
        self.names.push_str(name);
        self.recs.push(Rec {
            name_off,
            name_len,
            parent: NONE,
            level,
        });
        let parent = match parent.map(str::trim).filter(|p| !p.is_empty()) {
            None => None,
            Some(p) => {
                let off = u32::try_from(self.parent_arena.len())
                    .map_err(|_| "区划数据过大".to_string())?;
                self.parent_arena.push_str(p);
                Some((off, p.len() as u32))
            }
        };
        self.parents.push(parent);
        Ok(())
    }

    pub(crate) fn finish(mut self) -> Result<Gazetteer, AddressError> {
        // Link parents.
        for i in 0..self.recs.len() {
            let Some((off, len)) = self.parents[i] else {
                continue;
            };
            let p = &self.parent_arena[off as usize..(off + len) as usize];
            let code = self.codes.str(i as u32).to_string();
            let Some(pid) = self.codes.get(p) else {
                return Err(AddressError::UnknownParent {
                    code,
                    parent: p.to_string(),
                });
            };
            if self.recs[pid as usize].level >= self.recs[i].level {
                return Err(AddressError::Invalid {
                    index: i,
                    message: format!("区划 {code} 的上级 {p} 不在更高一级"),
                });
            }
            self.recs[i].parent = pid;
        }
        self.parents = Vec::new();
        self.parent_arena = String::new();
        self.codes.shrink();
        self.names.shrink_to_fit();
        self.recs.shrink_to_fit();

        let n = self.recs.len();
        let mut g = Gazetteer {
            recs: self.recs,
            names: self.names,
            codes: self.codes,
            keys: StrTable::default(),
            post_off: Vec::new(),
            posts: Vec::new(),
            extra: HashMap::default(),
            starts: HashMap::default(),
            child_off: Vec::new(),
            children: Vec::new(),
        };
        g.build_children(n);
        g.build_index()?;
        Ok(g)
    }
}

impl Gazetteer {
    /// Build from division rows in any order. Codes must be unique and every parent code must
    /// name a unit at a higher level.
    pub fn from_rows(rows: impl IntoIterator<Item = Division>) -> Result<Self, AddressError> {
        let mut b = Builder::new();
        for (index, d) in rows.into_iter().enumerate() {
            b.push(&d.code, &d.name, d.level, d.parent.as_deref())
                .map_err(|message| AddressError::Invalid { index, message })?;
        }
        b.finish()
    }

    fn build_children(&mut self, n: usize) {
        let mut count = vec![0u32; n + 1];
        for r in &self.recs {
            if r.parent != NONE {
                count[r.parent as usize + 1] += 1;
            }
        }
        for i in 0..n {
            count[i + 1] += count[i];
        }
        let mut fill = count.clone();
        let mut children = vec![0u32; count[n] as usize];
        for (i, r) in self.recs.iter().enumerate() {
            if r.parent != NONE {
                let slot = &mut fill[r.parent as usize];
                children[*slot as usize] = i as u32;
                *slot += 1;
            }
        }
        self.child_off = count;
        self.children = children;
    }

    fn build_index(&mut self) -> Result<(), AddressError> {
        let mut pairs: Vec<(u32, Posting)> = Vec::with_capacity(self.recs.len() * 3);
        let mut norm_cache: HashMap<u32, String, MixState> = HashMap::default();
        for u in 0..self.recs.len() as u32 {
            let level = self.level(u);
            let name = normalize_str(self.name(u));
            // Province, city and county names, to strip from names that repeat them
            // (高密市醴泉街道, 河北唐山芦台经济开发区).
            let mut anc: Vec<String> = Vec::new();
            if matches!(level, Level::County | Level::Town) {
                let mut a = self.parent(u);
                while a != NONE {
                    if self.level(a) <= Level::County {
                        let s = norm_cache
                            .entry(a)
                            .or_insert_with(|| normalize_str(self.name(a)));
                        anc.push(s.clone());
                    }
                    a = self.parent(a);
                }
            }
            let anc_refs: Vec<&str> = anc.iter().map(String::as_str).collect();
            let parent = self.parent(u);
            for (key, form) in names::keys(&name, level, &anc_refs) {
                let (k, _) = self.keys.intern(&key).ok_or_else(too_big)?;
                pairs.push((
                    k,
                    Posting {
                        unit: u,
                        parent,
                        level,
                        form,
                    },
                ));
                // Wildcards only above the village level: villages are matched by their
                // wildcard spelling among the children of the resolved town instead.
                if level <= Level::Town && form != Form::Generic {
                    for w in names::wild_variants(&key, level) {
                        let (k, _) = self.keys.intern(&w).ok_or_else(too_big)?;
                        pairs.push((
                            k,
                            Posting {
                                unit: u,
                                parent,
                                level,
                                form: Form::Wild,
                            },
                        ));
                    }
                }
            }
        }
        // One posting per (key, unit), the best form.
        // Within a key, higher levels first: the resolver stops at the first village.
        pairs.sort_unstable_by_key(|(k, p)| (*k, p.level, p.unit, p.form));
        pairs.dedup_by_key(|(k, p)| (*k, p.unit));
        let nkeys = self.keys.len();
        let mut post_off = vec![0u32; nkeys + 1];
        for (k, _) in &pairs {
            post_off[*k as usize + 1] += 1;
        }
        for i in 0..nkeys {
            post_off[i + 1] += post_off[i];
        }
        self.posts = pairs.into_iter().map(|(_, p)| p).collect();
        self.post_off = post_off;
        for k in 0..nkeys as u32 {
            let key = self.keys.str(k);
            let len = u16::try_from(key.chars().count()).unwrap_or(u16::MAX);
            if let Some(p) = pair_of(key) {
                let e = self.starts.entry(p).or_insert(0);
                *e = (*e).max(len);
            }
        }
        self.keys.shrink();
        self.starts.shrink_to_fit();
        Ok(())
    }

    /// Number of units.
    pub fn len(&self) -> usize {
        self.recs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.recs.is_empty()
    }

    /// Number of distinct keys (spellings) in the index.
    pub fn key_count(&self) -> usize {
        self.keys.len()
    }

    /// The unit with this code.
    pub fn unit(&self, code: &str) -> Option<Unit> {
        self.codes.get(code).map(|u| self.unit_at(u))
    }

    /// Add another name for a unit: a historical name, or a road, building or estate that the
    /// deployment's own registry puts in a community. The alias is normalised like any text and
    /// must keep at least two characters.
    pub fn add_alias(&mut self, code: &str, alias: &str) -> Result<(), AddressError> {
        let unit = self
            .codes
            .get(code.trim())
            .ok_or_else(|| AddressError::UnknownCode(code.to_string()))?;
        let norm = normalize_str(alias);
        let key = norm.split(SEP).next().unwrap_or("");
        if key.chars().count() < names::MIN_SHORT {
            return Err(AddressError::BadAlias(alias.to_string()));
        }
        let (k, _) = self.keys.intern(key).ok_or_else(too_big)?;
        if self.postings(k).any(|p| p.unit == unit) {
            return Ok(());
        }
        let (parent, level) = (self.parent(unit), self.level(unit));
        self.extra.entry(k).or_default().push(Posting {
            unit,
            parent,
            level,
            form: Form::Alias,
        });
        let len = u16::try_from(key.chars().count()).unwrap_or(u16::MAX);
        if let Some(p) = pair_of(key) {
            let e = self.starts.entry(p).or_insert(0);
            *e = (*e).max(len);
        }
        Ok(())
    }

    pub(crate) fn unit_at(&self, u: u32) -> Unit {
        Unit {
            code: self.code(u).to_string(),
            name: self.name(u).to_string(),
        }
    }

    pub(crate) fn name(&self, u: u32) -> &str {
        let r = &self.recs[u as usize];
        &self.names[r.name_off as usize..(r.name_off + r.name_len) as usize]
    }

    pub(crate) fn code(&self, u: u32) -> &str {
        self.codes.str(u)
    }

    pub(crate) fn level(&self, u: u32) -> Level {
        self.recs[u as usize].level
    }

    pub(crate) fn parent(&self, u: u32) -> u32 {
        self.recs[u as usize].parent
    }

    pub(crate) fn children(&self, u: u32) -> &[u32] {
        let a = self.child_off[u as usize] as usize;
        let b = self.child_off[u as usize + 1] as usize;
        &self.children[a..b]
    }

    /// True if `a` is `b` or one of its ancestors.
    pub(crate) fn is_ancestor_or_self(&self, a: u32, b: u32) -> bool {
        let mut x = b;
        while x != NONE {
            if x == a {
                return true;
            }
            x = self.parent(x);
        }
        false
    }

    /// The longest key starting with `a`, `b` (0: none).
    pub(crate) fn longest_from(&self, a: char, b: char) -> usize {
        self.starts.get(&pack(a, b)).map_or(0, |&l| usize::from(l))
    }

    /// The key whose characters are `chars` and whose hash is `h`.
    pub(crate) fn key_id(&self, h: u64, chars: &[char]) -> Option<u32> {
        self.keys.find(h, |s| s.chars().eq(chars.iter().copied()))
    }

    /// The postings of key `k`: those built with the index (higher levels first), then those
    /// added with `add_alias`.
    pub(crate) fn posting_parts(&self, k: u32) -> [&[Posting]; 2] {
        let base: &[Posting] = match (
            self.post_off.get(k as usize),
            self.post_off.get(k as usize + 1),
        ) {
            (Some(&a), Some(&b)) => &self.posts[a as usize..b as usize],
            _ => &[],
        };
        [base, self.extra.get(&k).map_or(&[], Vec::as_slice)]
    }

    pub(crate) fn postings(&self, k: u32) -> impl Iterator<Item = &Posting> {
        self.posting_parts(k).into_iter().flatten()
    }

    pub(crate) fn posting_count(&self, k: u32) -> usize {
        let base = match (
            self.post_off.get(k as usize),
            self.post_off.get(k as usize + 1),
        ) {
            (Some(&a), Some(&b)) => (b - a) as usize,
            _ => 0,
        };
        base + self.extra.get(&k).map_or(0, Vec::len)
    }

    /// Whether a span as written (`广西`, `芝[UNK]区`, `醴泉街道`) names the unit with this code:
    /// equal to one of the unit's keys (official name, alias, short form; not the bare
    /// development-zone words), or equal after stripping the label's own suffix, with `[UNK]`
    /// matching any one character. For the 市辖区/县/省直辖县级行政区划 rows a label naming the
    /// province (`北京市`, `重庆`) counts, since that is how the municipality's city is written.
    pub fn label_matches(&self, label: &str, code: &str) -> bool {
        let Some(u) = self.codes.get(code) else {
            return false;
        };
        let label = normalize_str(label);
        if label.is_empty() {
            return false;
        }
        let level = self.level(u);
        let mut official: Vec<String> = self
            .keys_of(u)
            .into_iter()
            .filter(|(_, f)| !matches!(f, Form::Generic | Form::Wild))
            .map(|(k, _)| k)
            .collect();
        official.push(normalize_str(self.name(u)));
        let mut written = names::spellings(&label, level);
        if level == Level::City && crate::resolve::is_placeholder_city(self.name(u)) {
            let p = self.parent(u);
            if p != NONE {
                official.extend(self.keys_of(p).into_iter().map(|(k, _)| k));
                written.extend(names::spellings(&label, Level::Province));
            }
        }
        written
            .iter()
            .any(|w| official.iter().any(|o| names::eq_wild(w, o)))
    }

    /// Every key of unit `u`, as the index derived them (for matching among a known parent's
    /// children).
    pub(crate) fn keys_of(&self, u: u32) -> Vec<(String, Form)> {
        let mut anc = Vec::new();
        let mut a = self.parent(u);
        while a != NONE {
            if self.level(a) <= Level::County {
                anc.push(normalize_str(self.name(a)));
            }
            a = self.parent(a);
        }
        let refs: Vec<&str> = anc.iter().map(String::as_str).collect();
        names::keys(&normalize_str(self.name(u)), self.level(u), &refs)
    }
}

fn pack(a: char, b: char) -> u64 {
    (u64::from(u32::from(a)) << 32) | u64::from(u32::from(b))
}

fn pair_of(key: &str) -> Option<u64> {
    let mut it = key.chars();
    Some(pack(it.next()?, it.next()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_rows() {
        let dup = vec![
            Division::new("11", "北京市", Level::Province, None),
            Division::new("11", "北京市", Level::Province, None),
        ];
        assert!(Gazetteer::from_rows(dup).is_err());
        let orphan = vec![Division::new("1101", "市辖区", Level::City, Some("11"))];
        assert!(matches!(
            Gazetteer::from_rows(orphan),
            Err(AddressError::UnknownParent { .. })
        ));
        let upside = vec![
            Division::new("11", "北京市", Level::Province, Some("1101")),
            Division::new("1101", "市辖区", Level::City, None),
        ];
        assert!(Gazetteer::from_rows(upside).is_err());
    }

    #[test]
    fn children_and_aliases() {
        let mut g = Gazetteer::from_rows(vec![
            Division::new("1101", "市辖区", Level::City, Some("11")),
            Division::new("11", "北京市", Level::Province, None),
        ])
        .unwrap();
        let p = g.codes.get("11").unwrap();
        assert_eq!(g.children(p).len(), 1);
        assert!(g.add_alias("99", "某地").is_err());
        assert!(g.add_alias("1101", "京").is_err());
        g.add_alias("1101", "北京城区").unwrap();
        g.add_alias("1101", "北京城区").unwrap();
        let k = g.keys.get("北京城区").unwrap();
        assert_eq!(g.postings(k).count(), 1);
    }
}
