//! A deterministic generator of realistic demo registry data (人、地、物、组织) for a district.
//!
//! Pure and seedable: the same grids, scale, `today` and seed give the same output, byte for
//! byte, on every platform (a [`SplitMix64`] in this module; no `rand`). The output is plain
//! structs for the caller to persist; nothing here knows about databases.
//!
//! The district is 北京市东城区 (county code 110101): addresses are built on real 东城 hutong and
//! street names, 户籍 residents carry 110101 address codes, and components are coded under 110101.
//! What the data looks like (at `scale = 1.0`, per grid on average; see the `counts_for_420_grids`
//! test for the exact numbers of the default seed):
//!
//! * about 1.75 buildings: 平房院落 (a courtyard of 3–8 one-storey homes) mostly on 胡同/巷/条,
//!   and 住宅楼/商住楼/办公楼 with 1–4 units of 3–16 floors mostly on 大街/路;
//! * households of 2.4 people (Beijing's 2020 census average is 2.3): single elderly living alone
//!   (独居老人), elderly couples (空巢老人), young singles and couples, nuclear families,
//!   three-generation households, an elderly parent with an adult child, a few 集体户; rented
//!   homes (出租) house 流动 tenants whose ID address codes are from other provinces;
//! * 420 grids give about 730 buildings, 915 units, 10,900 houses (9,200 homes, ~8% vacant),
//!   8,500 households and 20,500 residents: ~26% aged 60 or over and ~11% under 15; 户籍 ~66%,
//!   常住 ~14% (IDs from other Beijing districts or elsewhere), 流动 ~19%, 境外 ~0.7% (港澳台,
//!   whose residence permits use the address codes 810000/820000/830000);
//! * tags at plausible rates: 党员 ~7% of adults, 志愿者 ~5%, 残疾
//!   ~2%, 低保 ~1%, 优抚对象 ~1%, 失业 ~2% of working-age residents, 特困 a handful;
//! * organisations (a 党支部 per grid and a 社区党委 per community with their member counts,
//!   驻区单位, 社会组织, 物业服务中心, 业主委员会) and a few components per grid.
//!
//! The demo data is *made up* but realistic enough to be mistaken for real data: generated ID
//! numbers are valid and may coincide with real people's, and phone numbers use real mobile
//! prefixes. Never send SMS or calls to a demo deployment's residents.

use std::collections::{HashMap, HashSet};

use time::{Date, Duration};

use crate::component::{ComponentCode, ComponentState, MinorClass, class_named};
use crate::idnumber::{IdNumber, Sex, age_between};
use crate::registry::{
    BuildingKind, HouseUse, HouseholdKind, OrganisationKind, Relation, Residency,
};

pub const TAG_LIVING_ALONE: &str = "独居老人";
pub const TAG_EMPTY_NEST: &str = "空巢老人";
pub const TAG_SUBSISTENCE: &str = "低保";
pub const TAG_EXTREME_POVERTY: &str = "特困";
pub const TAG_DISABLED: &str = "残疾";
pub const TAG_ENTITLED: &str = "优抚对象";
pub const TAG_UNEMPLOYED: &str = "失业";
pub const TAG_PARTY_MEMBER: &str = "党员";
pub const TAG_FLOATING_PARTY_MEMBER: &str = "流动党员";
pub const TAG_VOLUNTEER: &str = "志愿者";

/// Every tag the generator puts on people.
pub const TAGS: &[&str] = &[
    TAG_LIVING_ALONE,
    TAG_EMPTY_NEST,
    TAG_SUBSISTENCE,
    TAG_EXTREME_POVERTY,
    TAG_DISABLED,
    TAG_ENTITLED,
    TAG_UNEMPLOYED,
    TAG_PARTY_MEMBER,
    TAG_FLOATING_PARTY_MEMBER,
    TAG_VOLUNTEER,
];

/// The district the generator builds.
pub const DISTRICT_PREFIX: &str = "北京市东城区";
pub const DISTRICT_CODE: &str = "110101";

/// One grid to fill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoGrid {
    pub grid_code: String,
    /// `东华门街道`.
    pub street_name: String,
    /// `多福巷社区`.
    pub community_name: String,
}

impl DemoGrid {
    pub fn new(
        grid_code: impl Into<String>,
        street_name: impl Into<String>,
        community_name: impl Into<String>,
    ) -> DemoGrid {
        DemoGrid {
            grid_code: grid_code.into(),
            street_name: street_name.into(),
            community_name: community_name.into(),
        }
    }
}

impl From<(String, String, String)> for DemoGrid {
    fn from((grid_code, street_name, community_name): (String, String, String)) -> DemoGrid {
        DemoGrid {
            grid_code,
            street_name,
            community_name,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DemoConfig {
    pub seed: u64,
    /// 1.0 gives about 48 residents per grid; buildings and components scale linearly.
    pub scale: f64,
    /// Ages, birth dates and build years are relative to this day.
    pub today: Date,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DemoRegistry {
    pub buildings: Vec<DemoBuilding>,
    pub organisations: Vec<DemoOrganisation>,
    pub components: Vec<DemoComponent>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DemoBuilding {
    pub grid_code: String,
    /// `3号楼`, or `12号院` for a courtyard.
    pub name: String,
    /// `北京市东城区和平里东街11号院3号楼`.
    pub address: String,
    pub floors: u32,
    pub build_year: i32,
    pub kind: BuildingKind,
    pub entrances: Vec<DemoEntrance>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DemoEntrance {
    /// `1单元`; `院门` for a courtyard.
    pub name: String,
    pub houses: Vec<DemoHouse>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DemoHouse {
    /// `3-1-502`: building, unit, floor and room.
    pub number: String,
    pub floor: u32,
    pub area_m2: f64,
    pub use_: HouseUse,
    /// `None` for vacant homes, shops and offices.
    pub household: Option<DemoHousehold>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DemoHousehold {
    pub kind: HouseholdKind,
    /// Index of the 户主 in `members`.
    pub head_index: usize,
    pub members: Vec<DemoPerson>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DemoPerson {
    pub name: String,
    pub id_number: IdNumber,
    pub sex: Sex,
    pub birth_date: Date,
    pub phone: Option<String>,
    pub residency: Residency,
    pub relation_to_head: Relation,
    /// From [`TAGS`].
    pub tags: Vec<&'static str>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoOrganisation {
    pub name: String,
    pub kind: OrganisationKind,
    pub contact_name: String,
    pub contact_phone: String,
    /// Party members, for 党组织 only.
    pub member_count: Option<u32>,
    /// The grid the organisation sits in or serves.
    pub grid_code: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DemoComponent {
    pub code: ComponentCode,
    pub class: MinorClass,
    pub name: String,
    pub grid_code: String,
    /// Where a patrol finds it: `北京市东城区多福巷12号附近`.
    pub address: String,
    /// Placeholders: the caller places components inside their grid's polygon.
    pub lng: Option<f64>,
    pub lat: Option<f64>,
    pub state: ComponentState,
}

/// Counts over a generated registry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DemoStats {
    pub buildings: usize,
    pub entrances: usize,
    pub houses: usize,
    /// Homes (住宅/出租) without a household.
    pub vacant_homes: usize,
    pub homes: usize,
    pub households: usize,
    pub persons: usize,
    pub aged_60_plus: usize,
    pub under_15: usize,
    pub adults: usize,
    pub by_residency: Vec<(Residency, usize)>,
    pub by_tag: Vec<(&'static str, usize)>,
    pub organisations: usize,
    pub components: usize,
}

impl DemoRegistry {
    /// Every person, in generation order.
    pub fn persons(&self) -> impl Iterator<Item = &DemoPerson> {
        self.households().flat_map(|h| h.members.iter())
    }

    pub fn households(&self) -> impl Iterator<Item = &DemoHousehold> {
        self.buildings
            .iter()
            .flat_map(|b| b.entrances.iter())
            .flat_map(|e| e.houses.iter())
            .filter_map(|h| h.household.as_ref())
    }

    pub fn stats(&self, today: Date) -> DemoStats {
        let mut s = DemoStats {
            buildings: self.buildings.len(),
            organisations: self.organisations.len(),
            components: self.components.len(),
            by_residency: Residency::ALL.iter().map(|r| (*r, 0)).collect(),
            by_tag: TAGS.iter().map(|t| (*t, 0)).collect(),
            ..DemoStats::default()
        };
        for b in &self.buildings {
            s.entrances += b.entrances.len();
            for h in b.entrances.iter().flat_map(|e| e.houses.iter()) {
                s.houses += 1;
                if matches!(h.use_, HouseUse::Residential | HouseUse::Rental) {
                    s.homes += 1;
                    if h.household.is_none() {
                        s.vacant_homes += 1;
                    }
                }
            }
        }
        for h in self.households() {
            s.households += 1;
            for p in &h.members {
                s.persons += 1;
                let age = age_between(p.birth_date, today);
                if age >= 60 {
                    s.aged_60_plus += 1;
                }
                if age < 15 {
                    s.under_15 += 1;
                }
                if age >= 18 {
                    s.adults += 1;
                }
                if let Some(r) = s.by_residency.iter_mut().find(|(r, _)| *r == p.residency) {
                    r.1 += 1;
                }
                for t in &p.tags {
                    if let Some(c) = s.by_tag.iter_mut().find(|(k, _)| k == t) {
                        c.1 += 1;
                    }
                }
            }
        }
        s
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and good enough for demo data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 when `n == 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u32, hi: u32) -> u32 {
        if hi <= lo {
            return lo;
        }
        lo + self.below(u64::from(hi - lo) + 1) as u32
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// A uniformly chosen index of a slice of length `len` (0 for an empty one).
    fn index(&mut self, len: usize) -> usize {
        self.below(len as u64) as usize
    }

    /// `floor(x)` plus one with probability `fract(x)`.
    fn round(&mut self, x: f64) -> u32 {
        if x <= 0.0 {
            return 0;
        }
        let f = x.floor();
        f as u32 + u32::from(self.chance(x - f))
    }
}

/// Pick from a non-empty constant slice.
fn pick<T: Copy>(rng: &mut SplitMix64, items: &[T]) -> T {
    items[rng.index(items.len())]
}

/// Pick from a non-empty constant slice of `(value, weight)`.
fn weighted<T: Copy>(rng: &mut SplitMix64, items: &[(T, u32)]) -> T {
    let total: u64 = items.iter().map(|(_, w)| u64::from(*w)).sum();
    let mut x = rng.below(total);
    for (v, w) in items {
        if x < u64::from(*w) {
            return *v;
        }
        x -= u64::from(*w);
    }
    items[items.len() - 1].0
}

// ------------------------------------------------------------------------------------------
// Vocabularies.

/// Real 东城区 hutongs and streets.
pub const ROADS: &[&str] = &[
    "多福巷",
    "东四北大街",
    "南锣鼓巷",
    "雍和宫大街",
    "交道口南大街",
    "北新桥三条",
    "朝阳门内大街",
    "东直门南小街",
    "和平里东街",
    "安定门外大街",
    "崇文门外大街",
    "天坛东路",
    "龙潭路",
    "东花市大街",
    "永定门内大街",
    "景山东街",
    "王府井大街",
    "东单北大街",
    "建国门内大街",
    "北官厅胡同",
    "史家胡同",
    "东四十条",
    "国子监街",
    "五道营胡同",
    "帽儿胡同",
    "菊儿胡同",
    "东棉花胡同",
    "府学胡同",
    "东四六条",
    "炒豆胡同",
    "板厂胡同",
    "黑芝麻胡同",
    "东交民巷",
    "鲜鱼口街",
    "广渠门内大街",
    "金鱼胡同",
    "灯市口大街",
    "美术馆后街",
    "北河沿大街",
    "张自忠路",
    "东直门内大街",
    "北锣鼓巷",
    "方家胡同",
    "和平里北街",
    "钱粮胡同",
    "演乐胡同",
    "西总布胡同",
    "东堂子胡同",
];

/// Surnames weighted roughly by national frequency (per ten thousand people).
const SURNAMES: &[(&str, u32)] = &[
    ("王", 710),
    ("李", 700),
    ("张", 640),
    ("刘", 540),
    ("陈", 450),
    ("杨", 310),
    ("赵", 230),
    ("黄", 220),
    ("吴", 200),
    ("周", 190),
    ("徐", 150),
    ("孙", 150),
    ("马", 140),
    ("朱", 130),
    ("胡", 130),
    ("郭", 110),
    ("何", 110),
    ("高", 100),
    ("林", 100),
    ("罗", 90),
    ("郑", 90),
    ("梁", 80),
    ("谢", 70),
    ("宋", 70),
    ("唐", 70),
    ("许", 60),
    ("韩", 60),
    ("冯", 60),
    ("邓", 60),
    ("曹", 60),
    ("彭", 50),
    ("曾", 50),
    ("肖", 50),
    ("田", 50),
    ("董", 50),
    ("袁", 50),
    ("潘", 40),
    ("于", 40),
    ("蒋", 40),
    ("蔡", 40),
    ("余", 40),
    ("杜", 40),
    ("叶", 40),
    ("程", 40),
    ("苏", 40),
    ("魏", 40),
    ("吕", 40),
    ("丁", 40),
    ("任", 30),
    ("沈", 30),
    ("姚", 30),
    ("卢", 30),
    ("姜", 30),
    ("崔", 30),
    ("钟", 30),
    ("谭", 30),
    ("陆", 30),
    ("汪", 30),
    ("范", 30),
    ("金", 30),
    ("石", 30),
    ("廖", 30),
    ("贾", 30),
    ("夏", 30),
    ("付", 20),
    ("方", 20),
    ("白", 20),
    ("邹", 20),
    ("孟", 20),
    ("熊", 20),
    ("秦", 20),
    ("邱", 20),
    ("江", 20),
    ("尹", 20),
    ("薛", 20),
    ("闫", 20),
    ("段", 20),
    ("雷", 20),
    ("侯", 20),
    ("史", 20),
    ("郝", 20),
    ("毛", 20),
    ("常", 15),
    ("康", 15),
    ("关", 10),
    ("欧阳", 3),
];

/// Given names by generation and sex.
const NAMES_MALE_OLD: &[&str] = &[
    "建国", "国华", "志强", "德明", "永福", "振华", "学军", "保国", "春生", "玉林", "福海", "长江",
    "建华", "国庆", "国强", "志刚", "金山", "宝山", "立新", "卫东", "德", "福", "明", "林",
];
const NAMES_FEMALE_OLD: &[&str] = &[
    "秀英", "桂兰", "淑珍", "玉兰", "凤英", "秀兰", "桂英", "淑兰", "玉珍", "秀珍", "凤兰", "桂芝",
    "淑芬", "秀芳", "丽华", "素芬", "玉梅", "桂荣", "淑华", "秀云", "兰", "英", "珍", "芬",
];
const NAMES_MALE_MID: &[&str] = &[
    "伟", "勇", "军", "强", "磊", "涛", "斌", "刚", "健", "鹏", "海涛", "建军", "晓东", "立军",
    "红军", "海波", "永强", "文斌", "东", "峰", "亮", "超", "志军", "宏伟",
];
const NAMES_FEMALE_MID: &[&str] = &[
    "丽", "静", "敏", "艳", "娟", "霞", "燕", "红", "梅", "芳", "丽娟", "晓燕", "海燕", "红梅",
    "秀梅", "晓红", "丽萍", "春燕", "雪梅", "慧", "莉", "玲", "颖", "晓丽",
];
const NAMES_MALE_YOUNG: &[&str] = &[
    "浩", "宇", "杰", "鑫", "博", "帅", "昊", "磊", "子豪", "浩然", "宇航", "俊杰", "博文", "天宇",
    "晨阳", "嘉豪", "志远", "明轩", "鹏飞", "一鸣", "凯", "阳", "旭", "鹏",
];
const NAMES_FEMALE_YOUNG: &[&str] = &[
    "婷", "雪", "倩", "琳", "欣", "悦", "佳", "颖", "思琪", "雨涵", "佳怡", "欣怡", "梦瑶", "诗雨",
    "心怡", "雅琪", "雨萱", "晓彤", "婉婷", "梓萌", "璐", "瑶", "萌", "丹",
];
const NAMES_MALE_CHILD: &[&str] = &[
    "梓轩", "浩宇", "子墨", "宇轩", "沐宸", "奕辰", "皓轩", "铭泽", "俊熙", "梓睿", "宇泽", "博宇",
    "思远", "锦程", "子骞", "一航", "煜", "辰", "霖", "睿",
];
const NAMES_FEMALE_CHILD: &[&str] = &[
    "一诺", "欣妍", "梓涵", "若汐", "语桐", "可馨", "依诺", "梓萱", "诗涵", "芷若", "雨桐", "思彤",
    "沐瑶", "安琪", "语汐", "悦", "萱", "妍", "彤", "瑶",
];

/// Mobile prefixes, weighted roughly by how common they are.
const PHONE_PREFIXES: &[(&str, u32)] = &[
    ("139", 10),
    ("138", 10),
    ("137", 6),
    ("136", 8),
    ("135", 6),
    ("134", 4),
    ("150", 6),
    ("151", 5),
    ("152", 4),
    ("158", 5),
    ("159", 5),
    ("182", 4),
    ("187", 4),
    ("188", 4),
    ("130", 5),
    ("131", 5),
    ("132", 4),
    ("155", 4),
    ("156", 4),
    ("185", 5),
    ("186", 7),
    ("133", 5),
    ("153", 4),
    ("180", 3),
    ("189", 4),
    ("177", 3),
    ("173", 2),
    ("199", 3),
    ("166", 2),
    ("198", 2),
];

/// Address codes of 常住 residents' IDs: other Beijing districts, or elsewhere.
const RESIDENT_CODES: &[(&str, u32)] = &[
    ("110102", 20), // 北京市西城区
    ("110105", 25), // 北京市朝阳区
    ("110106", 10), // 北京市丰台区
    ("110108", 15), // 北京市海淀区
    ("120101", 5),  // 天津市和平区
    ("130102", 5),  // 石家庄市长安区
    ("370102", 4),  // 济南市历下区
    ("210102", 4),  // 沈阳市和平区
    ("410102", 4),  // 郑州市中原区
    ("320102", 4),  // 南京市玄武区
    ("420102", 4),  // 武汉市江岸区
];

/// Address codes of 流动 residents' IDs: the provinces Beijing's migrants mostly come from.
const FLOATING_CODES: &[(&str, u32)] = &[
    ("130102", 6), // 河北省石家庄市长安区
    ("130202", 4), // 河北省唐山市路南区
    ("131002", 5), // 河北省廊坊市安次区
    ("130984", 5), // 河北省沧州市河间市
    ("130632", 4), // 河北省保定市安新县
    ("130682", 5), // 河北省保定市定州市
    ("130423", 3), // 河北省邯郸市临漳县
    ("410102", 4), // 河南省郑州市中原区
    ("411623", 5), // 河南省周口市商水县
    ("410523", 3), // 河南省安阳市汤阴县
    ("411502", 3), // 河南省信阳市浉河区
    ("370102", 3), // 山东省济南市历下区
    ("371321", 4), // 山东省临沂市沂南县
    ("370881", 3), // 山东省济宁市曲阜市
    ("340102", 3), // 安徽省合肥市瑶海区
    ("341222", 4), // 安徽省阜阳市太和县
    ("341623", 3), // 安徽省亳州市利辛县
    ("510104", 3), // 四川省成都市锦江区
    ("511602", 3), // 四川省广安市广安区
    ("230102", 3), // 黑龙江省哈尔滨市道里区
    ("420102", 2), // 湖北省武汉市江岸区
    ("140105", 3), // 山西省太原市小店区
    ("150102", 2), // 内蒙古呼和浩特市新城区
    ("210102", 2), // 辽宁省沈阳市和平区
    ("220102", 2), // 吉林省长春市南关区
    ("430102", 2), // 湖南省长沙市芙蓉区
    ("360102", 2), // 江西省南昌市东湖区
    ("620102", 2), // 甘肃省兰州市城关区
    ("500103", 2), // 重庆市渝中区
];

/// 港澳台居民居住证 numbers use these address codes.
const OVERSEAS_CODES: &[(&str, u32)] = &[("810000", 4), ("820000", 1), ("830000", 3)];

const PROPERTY_BRANDS: &[&str] = &[
    "安华",
    "东华嘉业",
    "京城和泰",
    "金宇",
    "宏远",
    "诚信佳园",
    "和信",
    "景泰",
    "华安居",
    "北辰",
    "天坛",
    "龙潭湖",
];

// ------------------------------------------------------------------------------------------
// Generation.

/// Generate the demo registry for `grids`.
pub fn generate(grids: &[DemoGrid], config: DemoConfig) -> DemoRegistry {
    let mut g = Gen {
        rng: SplitMix64::new(config.seed),
        today: config.today,
        used_ids: HashSet::new(),
        next_yard: HashMap::new(),
        serials: HashMap::new(),
    };
    let scale = if config.scale.is_finite() {
        config.scale.max(0.0)
    } else {
        0.0
    };
    let mut out = DemoRegistry {
        buildings: Vec::new(),
        organisations: Vec::new(),
        components: Vec::new(),
    };
    // (street, community, grids so far, party members so far, first grid code)
    let mut communities: Vec<(String, String, u32, u32, String)> = Vec::new();
    for grid in grids {
        g.rng = SplitMix64::new(config.seed ^ fnv1a(grid.grid_code.as_bytes()));
        let road = pick(&mut g.rng, ROADS);
        let first_building = out.buildings.len();
        g.grid_buildings(grid, road, scale, &mut out);
        let party_members = out.buildings[first_building..]
            .iter()
            .flat_map(|b| b.entrances.iter())
            .flat_map(|e| e.houses.iter())
            .filter_map(|h| h.household.as_ref())
            .flat_map(|h| h.members.iter())
            .filter(|p| p.tags.contains(&TAG_PARTY_MEMBER))
            .count() as u32;
        let grid_no = match communities
            .iter_mut()
            .find(|c| c.0 == grid.street_name && c.1 == grid.community_name)
        {
            Some(c) => {
                c.2 += 1;
                c.3 += party_members;
                c.2
            }
            None => {
                communities.push((
                    grid.street_name.clone(),
                    grid.community_name.clone(),
                    1,
                    party_members,
                    grid.grid_code.clone(),
                ));
                1
            }
        };
        g.grid_organisations(grid, road, grid_no, party_members, &mut out);
        g.grid_components(grid, road, scale, &mut out);
    }
    g.rng = SplitMix64::new(config.seed ^ 0x636f_6d6d_756e_6974);
    for (_, name, grids_in, members, first_grid) in &communities {
        let contact_name = g.name(Sex::Male, 1970);
        let contact_phone = g.landline();
        out.organisations.push(DemoOrganisation {
            name: format!("中共{name}委员会"),
            kind: OrganisationKind::PartyOrganisation,
            contact_name,
            contact_phone,
            // The community committee's members include those whose 组织关系 sits with the
            // community itself rather than a grid branch.
            member_count: Some(members + 3 + *grids_in),
            grid_code: first_grid.clone(),
        });
    }
    out
}

struct Gen {
    rng: SplitMix64,
    today: Date,
    used_ids: HashSet<String>,
    /// Next 院 number per road.
    next_yard: HashMap<&'static str, u32>,
    /// Next serial per component class code.
    serials: HashMap<String, u32>,
}

/// The shapes of household the generator knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// One person aged 65+ (独居老人).
    ElderAlone,
    /// Two people aged 60+ (空巢老人).
    ElderCouple,
    Single,
    Couple,
    /// A couple and 1–2 children.
    Nuclear,
    /// Grandparents, a couple and children.
    ThreeGenerations,
    /// An elderly parent living with an adult child (and the child's spouse).
    ElderWithChild,
    /// 3–6 unrelated adults (a 集体户).
    Collective,
    /// 2–4 unrelated tenants sharing a flat.
    Sharing,
}

/// Household shapes of owner-occupied homes.
const HOME_SHAPES: &[(Shape, u32)] = &[
    (Shape::ElderAlone, 12),
    (Shape::ElderCouple, 16),
    (Shape::Single, 10),
    (Shape::Couple, 10),
    (Shape::Nuclear, 27),
    (Shape::ThreeGenerations, 13),
    (Shape::ElderWithChild, 11),
    (Shape::Collective, 1),
];

/// Household shapes of rented homes.
const RENTAL_SHAPES: &[(Shape, u32)] = &[
    (Shape::Single, 38),
    (Shape::Sharing, 18),
    (Shape::Couple, 24),
    (Shape::Nuclear, 20),
];

struct Member {
    age: u32,
    sex: Sex,
    relation: Relation,
    surname: &'static str,
}

impl Gen {
    fn grid_buildings(
        &mut self,
        grid: &DemoGrid,
        road: &'static str,
        scale: f64,
        out: &mut DemoRegistry,
    ) {
        let hutong = !(road.ends_with("大街") || road.ends_with('路'));
        let base = 1.0 + 1.5 * self.rng.unit();
        let count = if scale > 0.0 {
            self.rng.round(scale * base).max(1)
        } else {
            0
        };
        let kinds: &[(BuildingKind, u32)] = if hutong {
            &[
                (BuildingKind::Courtyard, 72),
                (BuildingKind::Residential, 22),
                (BuildingKind::Mixed, 4),
                (BuildingKind::Office, 2),
            ]
        } else {
            &[
                (BuildingKind::Courtyard, 15),
                (BuildingKind::Residential, 60),
                (BuildingKind::Mixed, 15),
                (BuildingKind::Office, 10),
            ]
        };
        // Buildings of a grid share one compound (院); courtyards each have their own number.
        let mut compound: Option<(u32, u32)> = None; // (院 number, next building number)
        for _ in 0..count {
            let kind = weighted(&mut self.rng, kinds);
            let (name, address, bno) = if kind == BuildingKind::Courtyard {
                let yard = self.yard_number(road);
                (
                    format!("{yard}号院"),
                    format!("{DISTRICT_PREFIX}{road}{yard}号院"),
                    1,
                )
            } else {
                let (yard, bno) = match compound {
                    Some((yard, next)) => (yard, next),
                    None => (self.yard_number(road), self.rng.range(1, 6)),
                };
                compound = Some((yard, bno + 1));
                (
                    format!("{bno}号楼"),
                    format!("{DISTRICT_PREFIX}{road}{yard}号院{bno}号楼"),
                    bno,
                )
            };
            let building = self.building(grid, kind, name, address, bno);
            out.buildings.push(building);
        }
    }

    fn yard_number(&mut self, road: &'static str) -> u32 {
        let start = self.rng.range(1, 15);
        let step = self.rng.range(1, 6);
        let n = self.next_yard.entry(road).or_insert(start);
        let yard = *n;
        *n += step;
        yard
    }

    fn building(
        &mut self,
        grid: &DemoGrid,
        kind: BuildingKind,
        name: String,
        address: String,
        bno: u32,
    ) -> DemoBuilding {
        let year_now = self.today.year();
        let (entrances, floors, per_floor, build_year) = match kind {
            BuildingKind::Courtyard => (
                1,
                1,
                self.rng.range(3, 8),
                year_now - 36 - self.rng.range(0, 70) as i32,
            ),
            BuildingKind::Residential => {
                let floors = weighted(
                    &mut self.rng,
                    &[
                        (6u32, 40),
                        (5, 25),
                        (4, 10),
                        (3, 7),
                        (7, 5),
                        (9, 5),
                        (12, 5),
                        (16, 3),
                    ],
                );
                let entrances = if floors >= 12 {
                    1
                } else {
                    weighted(&mut self.rng, &[(1u32, 45), (2, 40), (3, 13), (4, 2)])
                };
                let per_floor = if floors >= 12 {
                    weighted(&mut self.rng, &[(2u32, 1), (3, 1), (4, 1)])
                } else {
                    weighted(&mut self.rng, &[(2u32, 8), (3, 2)])
                };
                let year = if floors >= 12 {
                    1988 + self.rng.range(0, 22) as i32
                } else {
                    1958 + self.rng.range(0, 42) as i32
                };
                (entrances, floors, per_floor, year.min(year_now))
            }
            BuildingKind::Mixed => (
                1,
                self.rng.range(6, 12),
                self.rng.range(2, 3),
                (1992 + self.rng.range(0, 23) as i32).min(year_now),
            ),
            BuildingKind::Office => (
                1,
                self.rng.range(5, 12),
                self.rng.range(2, 4),
                (1985 + self.rng.range(0, 33) as i32).min(year_now),
            ),
        };
        let mut out = DemoBuilding {
            grid_code: grid.grid_code.clone(),
            name,
            address,
            floors,
            build_year,
            kind,
            entrances: Vec::new(),
        };
        for e in 1..=entrances {
            let mut entrance = DemoEntrance {
                name: if kind == BuildingKind::Courtyard {
                    "院门".to_string()
                } else {
                    format!("{e}单元")
                },
                houses: Vec::new(),
            };
            for floor in 1..=floors {
                for room in 1..=per_floor {
                    let use_ = self.house_use(kind, floor);
                    let area_m2 = self.area(kind, use_, build_year);
                    let household = match use_ {
                        HouseUse::Residential | HouseUse::Rental if !self.rng.chance(0.08) => {
                            self.household(kind, use_)
                        }
                        _ => None,
                    };
                    entrance.houses.push(DemoHouse {
                        number: format!("{bno}-{e}-{floor}{room:02}"),
                        floor,
                        area_m2,
                        use_,
                        household,
                    });
                }
            }
            out.entrances.push(entrance);
        }
        out
    }

    fn house_use(&mut self, kind: BuildingKind, floor: u32) -> HouseUse {
        use HouseUse::{Office, Rental, Residential, Shop};
        match kind {
            BuildingKind::Courtyard => weighted(&mut self.rng, &[(Residential, 70), (Rental, 30)]),
            BuildingKind::Residential if floor == 1 => {
                weighted(&mut self.rng, &[(Residential, 70), (Rental, 22), (Shop, 8)])
            }
            BuildingKind::Residential => {
                weighted(&mut self.rng, &[(Residential, 77), (Rental, 23)])
            }
            BuildingKind::Mixed if floor == 1 => Shop,
            BuildingKind::Mixed => weighted(
                &mut self.rng,
                &[(Residential, 62), (Rental, 26), (Office, 12)],
            ),
            BuildingKind::Office if floor == 1 => {
                weighted(&mut self.rng, &[(Shop, 1), (Office, 1)])
            }
            BuildingKind::Office => Office,
        }
    }

    fn area(&mut self, kind: BuildingKind, use_: HouseUse, build_year: i32) -> f64 {
        // Skewed towards the small end: u² or u^1.5 (sqrt is exact in IEEE 754, powf is not
        // guaranteed to agree across platforms).
        let (lo, hi, squared) = match (kind, use_) {
            (_, HouseUse::Shop) => (35.0, 160.0, true),
            (_, HouseUse::Office) => (50.0, 160.0, false),
            (BuildingKind::Courtyard, _) => (35.0, 62.0, true),
            _ if build_year < 1990 => (38.0, 78.0, false),
            _ if build_year < 2000 => (55.0, 115.0, false),
            _ => (70.0, 160.0, true),
        };
        let u = self.rng.unit();
        let skewed = if squared { u * u } else { u * u.sqrt() };
        let x: f64 = lo + (hi - lo) * skewed;
        (x.clamp(35.0, 160.0) * 100.0).round() / 100.0
    }

    fn household(&mut self, building: BuildingKind, use_: HouseUse) -> Option<DemoHousehold> {
        let rental = use_ == HouseUse::Rental;
        let residency = if rental {
            weighted(
                &mut self.rng,
                &[
                    (Residency::Floating, 82),
                    (Residency::Resident, 15),
                    (Residency::Overseas, 3),
                ],
            )
        } else {
            weighted(
                &mut self.rng,
                &[
                    (Residency::Registered, 84),
                    (Residency::Resident, 13),
                    (Residency::Floating, 3),
                ],
            )
        };
        let shape = if rental {
            weighted(&mut self.rng, RENTAL_SHAPES)
        } else if building == BuildingKind::Courtyard {
            // Courtyard homes are older and their residents older still.
            weighted(
                &mut self.rng,
                &[
                    (Shape::ElderAlone, 16),
                    (Shape::ElderCouple, 19),
                    (Shape::Single, 8),
                    (Shape::Couple, 8),
                    (Shape::Nuclear, 22),
                    (Shape::ThreeGenerations, 14),
                    (Shape::ElderWithChild, 13),
                ],
            )
        } else {
            weighted(&mut self.rng, HOME_SHAPES)
        };
        let (members, head_index) = self.members(shape, rental);
        let kind = if matches!(shape, Shape::Collective | Shape::Sharing) {
            HouseholdKind::Collective
        } else {
            HouseholdKind::Family
        };
        let origin = self.address_code(residency);
        let subsistence = residency == Residency::Registered && self.rng.chance(0.011);
        let mut people = Vec::with_capacity(members.len());
        for (i, m) in members.iter().enumerate() {
            // Family members mostly share the head's origin; spouses and lodgers often differ.
            let code = if i == head_index || m.relation == Relation::Child || self.rng.chance(0.7) {
                origin
            } else {
                self.address_code(residency)
            };
            if let Some(p) = self.person(m, residency, code, shape, subsistence) {
                people.push(p);
            }
        }
        if people.len() != members.len() {
            return None;
        }
        Some(DemoHousehold {
            kind,
            head_index,
            members: people,
        })
    }

    /// The members of a household of `shape`, and which of them is the head.
    fn members(&mut self, shape: Shape, rental: bool) -> (Vec<Member>, usize) {
        let family = weighted(&mut self.rng, SURNAMES);
        let mut v: Vec<Member> = Vec::new();
        let r = &mut self.rng;
        let head;
        match shape {
            Shape::ElderAlone => {
                let sex = if r.chance(0.68) {
                    Sex::Female
                } else {
                    Sex::Male
                };
                v.push(member(elder_age(r, 65), sex, Relation::Head, family));
                head = 0;
            }
            Shape::ElderCouple => {
                let husband = elder_age(r, 62);
                let wife = wife_age(r, husband).max(60);
                let husband_head = r.chance(0.75);
                v.push(member(husband, Sex::Male, head_or(husband_head), family));
                let wife_surname = weighted(r, SURNAMES);
                v.push(member(
                    wife,
                    Sex::Female,
                    spouse_or(husband_head),
                    wife_surname,
                ));
                head = if husband_head { 0 } else { 1 };
            }
            Shape::Single => {
                let age = if rental {
                    r.range(19, 45)
                } else {
                    r.range(22, 58)
                };
                let sex = if r.chance(0.52) {
                    Sex::Male
                } else {
                    Sex::Female
                };
                v.push(member(age, sex, Relation::Head, family));
                head = 0;
            }
            Shape::Couple => {
                let husband = if rental {
                    r.range(22, 45)
                } else {
                    r.range(25, 59)
                };
                head = couple(r, &mut v, husband, family);
            }
            Shape::Nuclear => {
                let husband = if rental {
                    r.range(26, 46)
                } else {
                    r.range(28, 56)
                };
                head = couple(r, &mut v, husband, family);
                children(
                    r,
                    &mut v,
                    family,
                    Relation::Child,
                    if rental { 15 } else { 25 },
                );
                if rental && r.chance(0.15) {
                    // A grandparent who came to look after the child.
                    let grandma = (v[1].age + r.range(24, 30)).min(75);
                    let surname = weighted(r, SURNAMES);
                    v.push(member(grandma, Sex::Female, Relation::Parent, surname));
                }
            }
            Shape::ThreeGenerations => {
                let middle = r.range(30, 50);
                let grandpa = (middle + r.range(24, 32)).min(98);
                let grandma = wife_age(r, grandpa);
                let grand_head = r.chance(0.4);
                let grandma_surname = weighted(r, SURNAMES);
                let spouse_surname = weighted(r, SURNAMES);
                let son = r.chance(0.6);
                let middle_surname = if son { family } else { grandma_surname };
                let grandpa_alive = r.chance(0.8);
                if grandpa_alive {
                    v.push(member(
                        grandpa,
                        Sex::Male,
                        if grand_head {
                            Relation::Head
                        } else {
                            Relation::Parent
                        },
                        family,
                    ));
                }
                v.push(member(
                    grandma,
                    Sex::Female,
                    match (grand_head, grandpa_alive) {
                        (true, true) => Relation::Spouse,
                        (true, false) => Relation::Head,
                        (false, _) => Relation::Parent,
                    },
                    grandma_surname,
                ));
                let (child_rel, in_law_rel, grand_rel) = if grand_head {
                    (Relation::Child, Relation::Other, Relation::Grandchild)
                } else {
                    (Relation::Head, Relation::Spouse, Relation::Child)
                };
                let middle_index = v.len();
                if son {
                    v.push(member(middle, Sex::Male, child_rel, family));
                    let w = wife_age(r, middle);
                    v.push(member(w, Sex::Female, in_law_rel, spouse_surname));
                } else {
                    v.push(member(middle, Sex::Female, child_rel, middle_surname));
                    let h = (middle + r.range(0, 4)).min(60);
                    v.push(member(h, Sex::Male, in_law_rel, spouse_surname));
                }
                let kids_surname = if son { family } else { spouse_surname };
                children(r, &mut v, kids_surname, grand_rel, 20);
                head = if grand_head { 0 } else { middle_index };
            }
            Shape::ElderWithChild => {
                let elder = elder_age(r, 75).max(75);
                let sex = if r.chance(0.7) {
                    Sex::Female
                } else {
                    Sex::Male
                };
                let child = elder.saturating_sub(r.range(24, 34)).max(35);
                let child_sex = if r.chance(0.5) {
                    Sex::Male
                } else {
                    Sex::Female
                };
                let child_head = r.chance(0.6);
                v.push(member(
                    elder,
                    sex,
                    if child_head {
                        Relation::Parent
                    } else {
                        Relation::Head
                    },
                    family,
                ));
                v.push(member(
                    child,
                    child_sex,
                    if child_head {
                        Relation::Head
                    } else {
                        Relation::Child
                    },
                    family,
                ));
                if r.chance(0.5) {
                    let other = if child_sex == Sex::Male {
                        Sex::Female
                    } else {
                        Sex::Male
                    };
                    let age = (child + r.range(0, 4)).saturating_sub(2);
                    let surname = weighted(r, SURNAMES);
                    v.push(member(
                        age,
                        other,
                        if child_head {
                            Relation::Spouse
                        } else {
                            Relation::Other
                        },
                        surname,
                    ));
                }
                head = if child_head { 1 } else { 0 };
            }
            Shape::Collective | Shape::Sharing => {
                let n = if shape == Shape::Collective {
                    r.range(3, 6)
                } else {
                    r.range(2, 4)
                };
                for i in 0..n {
                    let sex = if r.chance(0.55) {
                        Sex::Male
                    } else {
                        Sex::Female
                    };
                    let surname = weighted(r, SURNAMES);
                    let age = if shape == Shape::Collective {
                        r.range(20, 55)
                    } else {
                        r.range(20, 38)
                    };
                    let rel = if i == 0 {
                        Relation::Head
                    } else {
                        Relation::Other
                    };
                    v.push(member(age, sex, rel, surname));
                }
                head = 0;
            }
        }
        (v, head)
    }

    fn address_code(&mut self, residency: Residency) -> &'static str {
        match residency {
            Residency::Registered => DISTRICT_CODE,
            Residency::Resident => weighted(&mut self.rng, RESIDENT_CODES),
            Residency::Floating => weighted(&mut self.rng, FLOATING_CODES),
            Residency::Overseas => weighted(&mut self.rng, OVERSEAS_CODES),
        }
    }

    fn person(
        &mut self,
        m: &Member,
        residency: Residency,
        code: &'static str,
        shape: Shape,
        subsistence: bool,
    ) -> Option<DemoPerson> {
        let birth_date = self.birth_date(m.age);
        let id_number = self.id_number(code, birth_date, m.sex)?;
        let birth_date = id_number.birth_date();
        let age = age_between(birth_date, self.today);
        let given = self.given_name(m.sex, birth_date.year());
        let name = format!("{}{given}", m.surname);
        let has_phone = match age {
            0..=11 => false,
            12..=17 => self.rng.chance(0.5),
            18..=79 => self.rng.chance(0.97),
            _ => self.rng.chance(0.7),
        };
        let phone = has_phone.then(|| self.mobile());
        let tags = self.tags(age, m.sex, residency, shape, subsistence);
        Some(DemoPerson {
            name,
            id_number,
            sex: m.sex,
            birth_date,
            phone,
            residency,
            relation_to_head: m.relation,
            tags,
        })
    }

    fn tags(
        &mut self,
        age: u32,
        sex: Sex,
        residency: Residency,
        shape: Shape,
        subsistence: bool,
    ) -> Vec<&'static str> {
        let r = &mut self.rng;
        let mut tags = Vec::new();
        let local = matches!(residency, Residency::Registered | Residency::Resident);
        if age >= 60 && shape == Shape::ElderAlone {
            tags.push(TAG_LIVING_ALONE);
        }
        if age >= 60 && shape == Shape::ElderCouple {
            tags.push(TAG_EMPTY_NEST);
        }
        if subsistence {
            tags.push(TAG_SUBSISTENCE);
        } else if residency == Residency::Registered
            && shape == Shape::ElderAlone
            && age >= 75
            && r.chance(0.03)
        {
            tags.push(TAG_EXTREME_POVERTY);
        }
        let disabled_rate = match age {
            0..=17 => 0.004,
            18..=59 => 0.012,
            60..=79 => 0.035,
            _ => 0.07,
        };
        if r.chance(disabled_rate) {
            tags.push(TAG_DISABLED);
        }
        if age >= 18 {
            let party_rate = match age {
                18..=34 => 0.035,
                35..=59 => 0.065,
                _ => 0.11,
            };
            if residency != Residency::Overseas && r.chance(party_rate) {
                tags.push(if residency == Residency::Floating {
                    TAG_FLOATING_PARTY_MEMBER
                } else {
                    TAG_PARTY_MEMBER
                });
            }
            let entitled_rate = match (age, sex) {
                (60.., Sex::Male) => 0.05,
                (60.., Sex::Female) => 0.015,
                _ => 0.006,
            };
            if residency == Residency::Registered && r.chance(entitled_rate) {
                tags.push(TAG_ENTITLED);
            }
            if local && age < 60 && r.chance(0.025) {
                tags.push(TAG_UNEMPLOYED);
            }
            let volunteer_rate = match age {
                18..=59 => 0.04,
                60..=75 => 0.12,
                _ => 0.03,
            };
            if r.chance(if local { volunteer_rate } else { 0.02 }) {
                tags.push(TAG_VOLUNTEER);
            }
        }
        tags
    }

    /// A random birth date of someone exactly `age` years old today, not before 1890.
    fn birth_date(&mut self, age: u32) -> Date {
        let floor = Date::from_ordinal_date(1890, 2).unwrap_or(Date::MIN);
        let year = self.today.year() - age as i32;
        let latest = same_day_in(self.today, year).unwrap_or(floor);
        let earliest = same_day_in(self.today, year - 1)
            .and_then(Date::next_day)
            .unwrap_or(floor);
        let span = (latest - earliest).whole_days().max(0) as u64;
        let offset = Duration::days(self.rng.below(span + 1) as i64);
        earliest
            .checked_add(offset)
            .unwrap_or(latest)
            .clamp(floor, self.today)
    }

    /// A fresh ID number: a random sequence of the right parity not used before; if every one is
    /// taken, the next days are tried.
    fn id_number(&mut self, code: &str, birth: Date, sex: Sex) -> Option<IdNumber> {
        let parity = u16::from(sex == Sex::Male);
        let mut day = birth;
        for _ in 0..30 {
            let start = self.rng.below(500) as u16;
            for k in 0..500u16 {
                let seq = ((start + k) % 500) * 2 + parity;
                let id = IdNumber::compose(code, day, seq).ok()?;
                if self.used_ids.insert(id.as_str().to_string()) {
                    return Some(id);
                }
            }
            day = day.previous_day()?;
        }
        None
    }

    fn given_name(&mut self, sex: Sex, birth_year: i32) -> &'static str {
        let pool = match (birth_year, sex) {
            (..1960, Sex::Male) => NAMES_MALE_OLD,
            (..1960, Sex::Female) => NAMES_FEMALE_OLD,
            (1960..1990, Sex::Male) => NAMES_MALE_MID,
            (1960..1990, Sex::Female) => NAMES_FEMALE_MID,
            (1990..2008, Sex::Male) => NAMES_MALE_YOUNG,
            (1990..2008, Sex::Female) => NAMES_FEMALE_YOUNG,
            (_, Sex::Male) => NAMES_MALE_CHILD,
            (_, Sex::Female) => NAMES_FEMALE_CHILD,
        };
        pick(&mut self.rng, pool)
    }

    fn name(&mut self, sex: Sex, birth_year: i32) -> String {
        let surname = weighted(&mut self.rng, SURNAMES);
        format!("{surname}{}", self.given_name(sex, birth_year))
    }

    fn mobile(&mut self) -> String {
        let prefix = weighted(&mut self.rng, PHONE_PREFIXES);
        format!("{prefix}{:08}", self.rng.below(100_000_000))
    }

    /// A 东城 landline: 010 and 8 digits starting 64/65/67/84/87.
    fn landline(&mut self) -> String {
        let head = pick(&mut self.rng, &["64", "65", "67", "84", "87"]);
        format!("010-{head}{:06}", self.rng.below(1_000_000))
    }

    fn contact(&mut self) -> (String, String) {
        let sex = if self.rng.chance(0.5) {
            Sex::Male
        } else {
            Sex::Female
        };
        let year = 1960 + self.rng.range(0, 35) as i32;
        (self.name(sex, year), self.mobile())
    }

    fn grid_organisations(
        &mut self,
        grid: &DemoGrid,
        road: &'static str,
        grid_no: u32,
        party_members: u32,
        out: &mut DemoRegistry,
    ) {
        let code = &grid.grid_code;
        let community = &grid.community_name;
        let street_short = grid.street_name.trim_end_matches("街道");
        let (contact_name, contact_phone) = self.contact();
        out.organisations.push(DemoOrganisation {
            name: format!("{community}第{grid_no}网格党支部"),
            kind: OrganisationKind::PartyOrganisation,
            contact_name,
            contact_phone,
            member_count: Some(party_members.max(3)),
            grid_code: code.clone(),
        });
        let units = weighted(&mut self.rng, &[(0u32, 30), (1, 50), (2, 20)]);
        let templates = [
            format!("{community}卫生服务站"),
            format!("{community}养老服务驿站"),
            format!("东城区{road}幼儿园"),
            format!("{street_short}邮政所"),
            format!("{road}便民菜市场"),
            format!("{street_short}派出所{road}警务工作站"),
            format!("{road}社区图书室"),
        ];
        for _ in 0..units {
            let name = templates[self.rng.index(templates.len())].clone();
            if out.organisations.iter().any(|o| o.name == name) {
                continue;
            }
            let contact_name = self.contact().0;
            let contact_phone = self.landline();
            out.organisations.push(DemoOrganisation {
                name,
                kind: OrganisationKind::ResidentUnit,
                contact_name,
                contact_phone,
                member_count: None,
                grid_code: code.clone(),
            });
        }
        if grid_no == 1 || self.rng.chance(0.3) {
            let kinds = [
                "志愿服务队",
                "老年合唱团",
                "书画协会",
                "邻里互助会",
                "太极拳队",
                "文化队",
            ];
            let name = format!("{community}{}", pick(&mut self.rng, &kinds));
            if !out.organisations.iter().any(|o| o.name == name) {
                let (contact_name, contact_phone) = self.contact();
                out.organisations.push(DemoOrganisation {
                    name,
                    kind: OrganisationKind::SocialOrganisation,
                    contact_name,
                    contact_phone,
                    member_count: None,
                    grid_code: code.clone(),
                });
            }
        }
        // 物业 and 业委会 for the grid's compound of buildings.
        let compound = out.buildings.iter().rev().find(|b| {
            b.grid_code == *code && b.kind != BuildingKind::Courtyard && b.address.contains("号院")
        });
        if let Some(b) = compound {
            let yard = b
                .address
                .trim_start_matches(DISTRICT_PREFIX)
                .split("号院")
                .next()
                .unwrap_or(road)
                .to_string();
            let modern = b.build_year >= 1995;
            let brand = pick(&mut self.rng, PROPERTY_BRANDS);
            let (contact_name, contact_phone) = self.contact();
            out.organisations.push(DemoOrganisation {
                name: format!("北京{brand}物业管理有限公司{yard}号院物业服务中心"),
                kind: OrganisationKind::PropertyCompany,
                contact_name,
                contact_phone,
                member_count: None,
                grid_code: code.clone(),
            });
            if modern && self.rng.chance(0.4) || !modern && self.rng.chance(0.1) {
                let (contact_name, contact_phone) = self.contact();
                out.organisations.push(DemoOrganisation {
                    name: format!("{yard}号院业主委员会"),
                    kind: OrganisationKind::OwnersCommittee,
                    contact_name,
                    contact_phone,
                    member_count: None,
                    grid_code: code.clone(),
                });
            }
        }
    }

    fn grid_components(
        &mut self,
        grid: &DemoGrid,
        road: &'static str,
        scale: f64,
        out: &mut DemoRegistry,
    ) {
        let hutong = !(road.ends_with("大街") || road.ends_with('路'));
        let classes: &[(&str, u32)] = if hutong {
            &[
                ("污水井盖", 12),
                ("雨水箅子", 10),
                ("上水井盖", 10),
                ("电力井盖", 7),
                ("通讯井盖", 7),
                ("燃气井盖", 5),
                ("热力井盖", 3),
                ("消防设施", 6),
                ("路灯", 12),
                ("垃圾箱", 8),
                ("公共厕所", 5),
                ("健身设施", 4),
                ("行道树", 5),
                ("古树名木", 2),
                ("存车支架", 3),
                ("宣传栏", 4),
                ("监控电子眼", 2),
            ]
        } else {
            &[
                ("污水井盖", 10),
                ("雨水箅子", 12),
                ("上水井盖", 8),
                ("电力井盖", 8),
                ("通讯井盖", 8),
                ("燃气井盖", 4),
                ("热力井盖", 4),
                ("消防设施", 5),
                ("路灯", 14),
                ("垃圾箱", 10),
                ("公共厕所", 2),
                ("健身设施", 2),
                ("行道树", 10),
                ("交通标志牌", 4),
                ("交通信号灯", 2),
                ("交通护栏", 3),
                ("公交站亭", 2),
                ("存车支架", 3),
                ("停车场", 1),
                ("监控电子眼", 3),
                ("宣传栏", 2),
            ]
        };
        let base = 3.0 + 5.0 * self.rng.unit();
        let count = self.rng.round(scale * base);
        for _ in 0..count {
            let Some(class) = class_named(weighted(&mut self.rng, classes)) else {
                continue;
            };
            let serial = self.serials.entry(class.class_code()).or_insert(0);
            *serial += 1;
            let Ok(code) = ComponentCode::for_class(DISTRICT_CODE, class, *serial) else {
                continue;
            };
            let state = weighted(
                &mut self.rng,
                &[
                    (ComponentState::Good, 900),
                    (ComponentState::Damaged, 60),
                    (ComponentState::Lost, 12),
                    (ComponentState::Occupied, 15),
                    (ComponentState::Removed, 10),
                    (ComponentState::Other, 3),
                ],
            );
            let number = self.rng.range(1, 120);
            let side = pick(
                &mut self.rng,
                &["门前", "东侧", "西侧", "南侧", "北侧", "对面"],
            );
            out.components.push(DemoComponent {
                code,
                class: *class,
                name: class.name.to_string(),
                grid_code: grid.grid_code.clone(),
                address: format!("{DISTRICT_PREFIX}{road}{number}号{side}"),
                lng: None,
                lat: None,
                state,
            });
        }
    }
}

fn member(age: u32, sex: Sex, relation: Relation, surname: &'static str) -> Member {
    Member {
        age,
        sex,
        relation,
        surname,
    }
}

fn head_or(is_head: bool) -> Relation {
    if is_head {
        Relation::Head
    } else {
        Relation::Spouse
    }
}

fn spouse_or(other_is_head: bool) -> Relation {
    if other_is_head {
        Relation::Spouse
    } else {
        Relation::Head
    }
}

/// A husband of `husband` years and his wife; returns the head's index.
fn couple(r: &mut SplitMix64, v: &mut Vec<Member>, husband: u32, family: &'static str) -> usize {
    let wife = wife_age(r, husband);
    let husband_head = r.chance(0.65);
    let start = v.len();
    v.push(member(husband, Sex::Male, head_or(husband_head), family));
    let surname = weighted(r, SURNAMES);
    v.push(member(wife, Sex::Female, spouse_or(husband_head), surname));
    if husband_head { start } else { start + 1 }
}

/// 1–2 children of the last woman pushed, no older than `max_age`.
fn children(
    r: &mut SplitMix64,
    v: &mut Vec<Member>,
    surname: &'static str,
    relation: Relation,
    max_age: u32,
) {
    let mother = v
        .iter()
        .rev()
        .find(|m| m.sex == Sex::Female)
        .map_or(30, |m| m.age);
    let n = weighted(r, &[(1u32, 62), (2, 36), (3, 2)]);
    let mut gap = r.range(23, 34);
    for _ in 0..n {
        let Some(age) = mother.checked_sub(gap) else {
            break;
        };
        if age <= max_age {
            let sex = if r.chance(0.52) {
                Sex::Male
            } else {
                Sex::Female
            };
            v.push(member(age, sex, relation, surname));
        }
        gap += r.range(2, 6);
    }
}

/// An age of at least `min` from the age pyramid of people aged 60 and over.
fn elder_age(r: &mut SplitMix64, min: u32) -> u32 {
    let mut age = min;
    for _ in 0..16 {
        let band = weighted(r, &[(60u32, 38), (70, 34), (80, 22), (90, 5), (100, 1)]);
        age = band + r.range(0, if band == 100 { 3 } else { 9 });
        if age >= min {
            return age;
        }
    }
    age.max(min)
}

/// A wife's age for a husband's, a few years younger as a rule.
fn wife_age(r: &mut SplitMix64, husband: u32) -> u32 {
    let d = weighted(
        r,
        &[
            (-2i32, 10),
            (0, 20),
            (1, 20),
            (2, 20),
            (3, 15),
            (5, 10),
            (8, 5),
        ],
    );
    (husband as i32 - d).clamp(18, 100) as u32
}

/// `date` in another year (28 February for 29 February in a common year).
fn same_day_in(date: Date, year: i32) -> Option<Date> {
    date.replace_year(year)
        .or_else(|_| Date::from_calendar_date(year, date.month(), 28))
        .ok()
}

/// FNV-1a over bytes, for per-grid seeds.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use time::macros::date;

    const TODAY: Date = date!(2026 - 05 - 01);
    const STREETS: &[&str] = &[
        "东华门街道",
        "景山街道",
        "交道口街道",
        "安定门街道",
        "北新桥街道",
        "东四街道",
        "朝阳门街道",
        "建国门街道",
        "东直门街道",
        "和平里街道",
        "前门街道",
        "崇文门外街道",
        "东花市街道",
        "龙潭街道",
        "体育馆路街道",
        "天坛街道",
        "永定门外街道",
    ];

    /// `n` grids spread over the 17 streets of 东城区, 10 communities a street, grids numbered
    /// within their community.
    fn grids(n: usize) -> Vec<DemoGrid> {
        (0..n)
            .map(|i| {
                let street = i % STREETS.len();
                let community = (i / STREETS.len()) % 10;
                let grid = i / (STREETS.len() * 10);
                let short = STREETS[street].trim_end_matches("街道");
                DemoGrid::new(
                    format!("110101{:03}{:03}{:03}", street + 1, community + 1, grid + 1),
                    STREETS[street],
                    format!("{short}第{}社区", community + 1),
                )
            })
            .collect()
    }

    fn config(seed: u64, scale: f64) -> DemoConfig {
        DemoConfig {
            seed,
            scale,
            today: TODAY,
        }
    }

    fn rate(n: usize, of: usize) -> f64 {
        n as f64 / of.max(1) as f64
    }

    fn tag_count(s: &DemoStats, tag: &str) -> usize {
        s.by_tag
            .iter()
            .find(|(t, _)| *t == tag)
            .map_or(0, |(_, n)| *n)
    }

    #[test]
    fn counts_for_420_grids() {
        let start = std::time::Instant::now();
        let reg = generate(&grids(420), config(2026, 1.0));
        let elapsed = start.elapsed();
        let s = reg.stats(TODAY);
        println!("generated in {elapsed:?}: {s:#?}");
        assert!((17_000..=23_000).contains(&s.persons), "{}", s.persons);
        let per_household = rate(s.persons, s.households);
        assert!((2.1..=2.7).contains(&per_household), "{per_household}");
        let old = rate(s.aged_60_plus, s.persons);
        assert!((0.22..=0.29).contains(&old), "60+ {old}");
        let young = rate(s.under_15, s.persons);
        assert!((0.07..=0.15).contains(&young), "under 15 {young}");
        let vacant = rate(s.vacant_homes, s.homes);
        assert!((0.06..=0.10).contains(&vacant), "vacant {vacant}");
        let adults = s.adults;
        let party = rate(
            tag_count(&s, TAG_PARTY_MEMBER) + tag_count(&s, TAG_FLOATING_PARTY_MEMBER),
            adults,
        );
        assert!((0.055..=0.085).contains(&party), "党员 {party}");
        let volunteers = rate(tag_count(&s, TAG_VOLUNTEER), adults);
        assert!((0.035..=0.065).contains(&volunteers), "志愿者 {volunteers}");
        let disabled = rate(tag_count(&s, TAG_DISABLED), s.persons);
        assert!((0.012..=0.03).contains(&disabled), "残疾 {disabled}");
        let subsistence = rate(tag_count(&s, TAG_SUBSISTENCE), s.persons);
        assert!((0.004..=0.02).contains(&subsistence), "低保 {subsistence}");
        assert!(tag_count(&s, TAG_LIVING_ALONE) > 300);
        assert!(tag_count(&s, TAG_EMPTY_NEST) > 600);
        assert!(tag_count(&s, TAG_FLOATING_PARTY_MEMBER) > 0);
        assert!(tag_count(&s, TAG_EXTREME_POVERTY) > 0);
        for (r, n) in &s.by_residency {
            assert!(*n > 0, "{r:?}");
        }
        let floating = s.by_residency[2].1;
        assert!((0.12..=0.28).contains(&rate(floating, s.persons)));
        assert!((600..=1_300).contains(&s.buildings), "{}", s.buildings);
        assert!(s.organisations > 420 + 150 && s.components > 420 * 3);
    }

    #[test]
    fn ids_parse_and_match_the_person() {
        let reg = generate(&grids(120), config(7, 1.0));
        let mut seen = HashSet::new();
        for p in reg.persons() {
            let id = IdNumber::parse(p.id_number.as_str(), TODAY).unwrap();
            assert_eq!(id, p.id_number);
            assert_eq!(id.sex(), p.sex, "{}", p.name);
            assert_eq!(id.birth_date(), p.birth_date);
            assert!(seen.insert(id.as_str().to_string()), "duplicate ID");
            let age = id.age_on(TODAY);
            assert!(age <= 105, "{age}");
            assert!(p.birth_date <= TODAY);
            match p.residency {
                Residency::Registered => assert_eq!(id.address_code(), DISTRICT_CODE),
                Residency::Floating => assert!(!id.address_code().starts_with("11")),
                Residency::Overseas => assert!(id.address_code().starts_with('8')),
                Residency::Resident => assert_ne!(id.address_code(), DISTRICT_CODE),
            }
        }
        assert!(seen.len() > 4_000);
    }

    #[test]
    fn no_duplicate_ids_in_a_large_set() {
        let reg = generate(&grids(420), config(99, 1.5));
        let mut seen = HashSet::new();
        let mut n = 0;
        for p in reg.persons() {
            n += 1;
            assert!(seen.insert(p.id_number.as_str()));
            assert_eq!(p.id_number.sequence() % 2 == 1, p.sex == Sex::Male);
        }
        assert!(n > 25_000, "{n}");
    }

    #[test]
    fn people_are_plausible() {
        let reg = generate(&grids(200), config(3, 1.0));
        let prefixes: HashSet<&str> = PHONE_PREFIXES.iter().map(|(p, _)| *p).collect();
        for h in reg.households() {
            assert!(!h.members.is_empty());
            assert!(h.head_index < h.members.len());
            assert_eq!(h.members[h.head_index].relation_to_head, Relation::Head);
            let heads = h
                .members
                .iter()
                .filter(|p| p.relation_to_head == Relation::Head)
                .count();
            assert_eq!(heads, 1);
            let spouses = h
                .members
                .iter()
                .filter(|p| p.relation_to_head == Relation::Spouse)
                .count();
            assert!(spouses <= 1);
            let head = &h.members[h.head_index];
            assert!(age_between(head.birth_date, TODAY) >= 18, "{}", head.name);
            for p in &h.members {
                let age = age_between(p.birth_date, TODAY);
                let chars = p.name.chars().count();
                assert!((2..=4).contains(&chars), "{}", p.name);
                let surname: String = p.name.chars().take(1).collect();
                assert!(
                    SURNAMES
                        .iter()
                        .any(|(s, _)| s.starts_with(surname.as_str())),
                    "{}",
                    p.name
                );
                if let Some(phone) = &p.phone {
                    assert!(age >= 12);
                    assert_eq!(phone.len(), 11);
                    assert!(phone.bytes().all(|b| b.is_ascii_digit()));
                    assert!(prefixes.contains(&phone[..3]));
                }
                let mut tags = p.tags.clone();
                tags.sort_unstable();
                tags.dedup();
                assert_eq!(tags.len(), p.tags.len(), "duplicate tag");
                for t in &p.tags {
                    assert!(TAGS.contains(t), "{t}");
                }
                if p.tags.contains(&TAG_LIVING_ALONE) {
                    assert_eq!(h.members.len(), 1);
                    assert!(age >= 60);
                }
                if p.tags.contains(&TAG_EMPTY_NEST) {
                    assert_eq!(h.members.len(), 2);
                    assert!(age >= 60);
                }
                if p.tags.contains(&TAG_PARTY_MEMBER) || p.tags.contains(&TAG_VOLUNTEER) {
                    assert!(age >= 18);
                }
                if p.tags.contains(&TAG_FLOATING_PARTY_MEMBER) {
                    assert_eq!(p.residency, Residency::Floating);
                }
                if p.tags.contains(&TAG_SUBSISTENCE) {
                    assert!(!p.tags.contains(&TAG_EXTREME_POVERTY));
                    assert_eq!(p.residency, Residency::Registered);
                }
            }
        }
        let children_without_phone = reg
            .persons()
            .filter(|p| age_between(p.birth_date, TODAY) < 12)
            .all(|p| p.phone.is_none());
        assert!(children_without_phone);
    }

    #[test]
    fn places_are_plausible() {
        let input = grids(200);
        let reg = generate(&input, config(5, 1.0));
        let codes: HashSet<&str> = input.iter().map(|g| g.grid_code.as_str()).collect();
        let mut addresses = HashSet::new();
        for b in &reg.buildings {
            assert!(codes.contains(b.grid_code.as_str()));
            let rest = b.address.strip_prefix(DISTRICT_PREFIX).unwrap();
            assert!(ROADS.iter().any(|r| rest.starts_with(r)), "{}", b.address);
            assert!(b.address.ends_with(&b.name), "{} / {}", b.address, b.name);
            assert!(
                addresses.insert(b.address.clone()),
                "duplicate {}",
                b.address
            );
            assert!(b.build_year <= TODAY.year() && b.build_year >= 1900);
            assert!(!b.entrances.is_empty());
            let mut numbers = HashSet::new();
            for e in &b.entrances {
                assert!(!e.houses.is_empty());
                for h in &e.houses {
                    assert!(h.floor >= 1 && h.floor <= b.floors);
                    assert!((35.0..=160.0).contains(&h.area_m2), "{}", h.area_m2);
                    assert!(numbers.insert(h.number.clone()), "duplicate {}", h.number);
                    if matches!(h.use_, HouseUse::Shop | HouseUse::Office) {
                        assert!(h.household.is_none());
                    }
                }
            }
            if b.kind == BuildingKind::Courtyard {
                assert_eq!(b.floors, 1);
                assert_eq!(b.entrances.len(), 1);
            }
        }
        let mut component_codes = HashSet::new();
        for c in &reg.components {
            assert_eq!(c.code.county(), DISTRICT_CODE);
            assert_eq!(c.code.minor_class(), Some(&c.class));
            assert_eq!(c.name, c.class.name);
            assert!(c.lng.is_none() && c.lat.is_none());
            assert!(component_codes.insert(c.code.clone()));
            assert!(codes.contains(c.grid_code.as_str()));
            assert_eq!(ComponentCode::parse(c.code.as_str()).unwrap(), c.code);
        }
        for o in &reg.organisations {
            assert!(codes.contains(o.grid_code.as_str()));
            assert_eq!(
                o.member_count.is_some(),
                o.kind == OrganisationKind::PartyOrganisation,
                "{}",
                o.name
            );
            assert!(o.contact_phone.len() >= 11);
        }
        for kind in OrganisationKind::ALL {
            assert!(
                reg.organisations.iter().any(|o| o.kind == *kind),
                "{kind:?}"
            );
        }
        for kind in BuildingKind::ALL {
            assert!(reg.buildings.iter().any(|b| b.kind == *kind), "{kind:?}");
        }
        for use_ in HouseUse::ALL {
            assert!(
                reg.buildings
                    .iter()
                    .flat_map(|b| b.entrances.iter())
                    .flat_map(|e| e.houses.iter())
                    .any(|h| h.use_ == *use_),
                "{use_:?}"
            );
        }
    }

    #[test]
    fn deterministic() {
        let g = grids(60);
        let a = generate(&g, config(42, 1.0));
        let b = generate(&g, config(42, 1.0));
        assert_eq!(a, b);
        let c = generate(&g, config(43, 1.0));
        assert_ne!(a, c);
        let mut rng = SplitMix64::new(1);
        let first: Vec<u64> = (0..3).map(|_| rng.next_u64()).collect();
        let mut again = SplitMix64::new(1);
        assert_eq!(first, (0..3).map(|_| again.next_u64()).collect::<Vec<_>>());
        // The published SplitMix64 reference output for seed 0.
        assert_eq!(SplitMix64::new(0).next_u64(), 0xE220_A839_7B1D_CDAF);
    }

    #[test]
    fn scale_scales() {
        let g = grids(100);
        let full = generate(&g, config(1, 1.0)).stats(TODAY);
        let half = generate(&g, config(1, 0.5)).stats(TODAY);
        let double = generate(&g, config(1, 2.0)).stats(TODAY);
        assert!(half.persons < full.persons && full.persons < double.persons);
        assert!(rate(double.persons, full.persons) > 1.6);
        let none = generate(&g, config(1, 0.0));
        assert!(none.buildings.is_empty() && none.components.is_empty());
        let nan = generate(&g, config(1, f64::NAN));
        assert!(nan.buildings.is_empty());
        assert!(generate(&[], config(1, 1.0)).buildings.is_empty());
    }

    #[test]
    fn rng_helpers_stay_in_range() {
        let mut r = SplitMix64::new(9);
        for _ in 0..10_000 {
            assert!(r.below(7) < 7);
            let x = r.unit();
            assert!((0.0..1.0).contains(&x));
            let v = r.range(3, 5);
            assert!((3..=5).contains(&v));
        }
        assert_eq!(r.below(0), 0);
        assert_eq!(r.range(5, 5), 5);
    }
}
