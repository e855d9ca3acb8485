//! City components (城市管理部件) coded per CJ/T 214-2007 and GB/T 30428.2 (数字化城市管理信息系统
//! 第2部分：管理部件和事件).
//!
//! A component's identification code (部件标识码) has 16 digits: the 6-digit county code (GB/T
//! 2260) of the district that manages it, the 2-digit major class (大类), the 2-digit minor class
//! (小类) and a 6-digit serial within the county and minor class: `110101 01 18 000042` is street
//! lamp number 42 of 东城区.
//!
//! The minor classes are data ([`MINOR_CLASSES`]), not an enum: cities extend the table with
//! local classes, so a code with an unknown minor class parses and is only flagged
//! ([`ComponentCode::is_minor_known`]); a deployment's extended table is passed to
//! [`ComponentCode::minor_class_in`]. The major classes are fixed by the standard.

use std::fmt;

crate::keyed! {
    /// 部件大类.
    ComponentMajor {
        PublicFacility = "public_facility", "公用设施";
        RoadTraffic = "road_traffic", "道路交通";
        CityAppearance = "city_appearance", "市容环境";
        Greening = "greening", "园林绿化";
        HousingLand = "housing_land", "房屋土地";
        Other = "other", "其他设施";
    }
}

impl ComponentMajor {
    /// The two-digit code in the identification code.
    pub fn code(self) -> &'static str {
        match self {
            ComponentMajor::PublicFacility => "01",
            ComponentMajor::RoadTraffic => "02",
            ComponentMajor::CityAppearance => "03",
            ComponentMajor::Greening => "04",
            ComponentMajor::HousingLand => "05",
            ComponentMajor::Other => "06",
        }
    }

    pub fn from_code(code: &str) -> Option<ComponentMajor> {
        ComponentMajor::ALL
            .iter()
            .copied()
            .find(|m| m.code() == code)
    }
}

crate::keyed! {
    /// 部件状态, as a patrol records it.
    ComponentState {
        Good = "good", "完好";
        Damaged = "damaged", "损坏";
        Lost = "lost", "丢失";
        Occupied = "occupied", "占用";
        Removed = "removed", "拆除";
        Other = "other", "其他";
    }
}

/// One minor class (小类) of the class table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MinorClass {
    pub major: ComponentMajor,
    /// Two digits, `"01"`…`"99"`.
    pub minor: &'static str,
    pub name: &'static str,
}

impl MinorClass {
    /// The four-digit class code (`"0118"`).
    pub fn class_code(&self) -> String {
        format!("{}{}", self.major.code(), self.minor)
    }
}

const fn class(major: ComponentMajor, minor: &'static str, name: &'static str) -> MinorClass {
    MinorClass { major, minor, name }
}

use ComponentMajor::{CityAppearance, Greening, HousingLand, Other, PublicFacility, RoadTraffic};

/// The standard minor classes of 部件 (CJ/T 214-2007 Appendix A as carried into GB/T 30428.2).
///
/// Fire hydrants (消火栓/消防栓) are recorded under 0113 消防设施; street lamps (0118) and
/// fitness equipment (0126 健身设施) belong to 公用设施, not to 园林绿化.
pub static MINOR_CLASSES: &[MinorClass] = &[
    class(PublicFacility, "01", "上水井盖"),
    class(PublicFacility, "02", "污水井盖"),
    class(PublicFacility, "03", "雨水井盖"),
    class(PublicFacility, "04", "雨水箅子"),
    class(PublicFacility, "05", "电力井盖"),
    class(PublicFacility, "06", "路灯井盖"),
    class(PublicFacility, "07", "通讯井盖"),
    class(PublicFacility, "08", "电视井盖"),
    class(PublicFacility, "09", "网络井盖"),
    class(PublicFacility, "10", "热力井盖"),
    class(PublicFacility, "11", "燃气井盖"),
    class(PublicFacility, "12", "公安井盖"),
    class(PublicFacility, "13", "消防设施"),
    class(PublicFacility, "14", "无主井盖"),
    class(PublicFacility, "15", "通讯交接箱"),
    class(PublicFacility, "16", "电力设施"),
    class(PublicFacility, "17", "立杆"),
    class(PublicFacility, "18", "路灯"),
    class(PublicFacility, "19", "地灯"),
    class(PublicFacility, "20", "景观灯"),
    class(PublicFacility, "21", "报刊亭"),
    class(PublicFacility, "22", "电话亭"),
    class(PublicFacility, "23", "邮筒"),
    class(PublicFacility, "24", "信息亭"),
    class(PublicFacility, "25", "自动售货机"),
    class(PublicFacility, "26", "健身设施"),
    class(PublicFacility, "27", "中水井盖"),
    class(PublicFacility, "28", "公交井盖"),
    class(PublicFacility, "29", "输油（气）井盖"),
    class(PublicFacility, "30", "特殊井盖"),
    class(PublicFacility, "31", "民用水井"),
    class(PublicFacility, "32", "供水器"),
    class(PublicFacility, "33", "高压线铁塔"),
    class(PublicFacility, "34", "变压器（箱）"),
    class(PublicFacility, "35", "燃气调压站（箱）"),
    class(PublicFacility, "36", "监控电子眼"),
    class(PublicFacility, "37", "售货亭"),
    class(PublicFacility, "38", "治安岗亭"),
    class(RoadTraffic, "01", "停车场"),
    class(RoadTraffic, "02", "停车咪表"),
    class(RoadTraffic, "03", "公交站亭"),
    class(RoadTraffic, "04", "出租车站牌"),
    class(RoadTraffic, "05", "过街天桥"),
    class(RoadTraffic, "06", "地下通道"),
    class(RoadTraffic, "07", "高架立交桥"),
    class(RoadTraffic, "08", "跨河桥"),
    class(RoadTraffic, "09", "交通标志牌"),
    class(RoadTraffic, "10", "交通信号灯"),
    class(RoadTraffic, "11", "交通护栏"),
    class(RoadTraffic, "12", "存车支架"),
    class(RoadTraffic, "13", "路名牌"),
    class(RoadTraffic, "14", "交通信号设施"),
    class(RoadTraffic, "15", "道路信息显示屏"),
    class(RoadTraffic, "16", "道路隔音屏"),
    class(RoadTraffic, "17", "交通岗亭"),
    class(CityAppearance, "01", "公共厕所"),
    class(CityAppearance, "02", "化粪池"),
    class(CityAppearance, "03", "公厕指示牌"),
    class(CityAppearance, "04", "垃圾间（楼）"),
    class(CityAppearance, "05", "垃圾箱"),
    class(CityAppearance, "06", "灯箱霓虹灯"),
    class(CityAppearance, "07", "广告牌匾"),
    class(CityAppearance, "08", "环保监测站"),
    class(CityAppearance, "09", "气象监测站"),
    class(CityAppearance, "10", "污水口监测站"),
    class(Greening, "01", "古树名木"),
    class(Greening, "02", "行道树"),
    class(Greening, "03", "护树设施"),
    class(Greening, "04", "花架花钵"),
    class(Greening, "05", "绿地"),
    class(Greening, "06", "雕塑"),
    class(Greening, "07", "街头坐椅"),
    class(Greening, "08", "绿地护栏"),
    class(Greening, "09", "绿地维护设施"),
    class(Greening, "10", "喷泉"),
    class(HousingLand, "01", "宣传栏"),
    class(HousingLand, "02", "人防工事"),
    class(HousingLand, "03", "公房地下室"),
    class(Other, "01", "重大危险源"),
    class(Other, "02", "工地"),
    class(Other, "03", "水域附属设施"),
    class(Other, "04", "水域护栏"),
    class(Other, "05", "港监设施"),
    class(Other, "06", "防汛墙"),
];

/// The class with this major and two-digit minor code in `table`.
pub fn find_class<'t>(
    table: &'t [MinorClass],
    major: ComponentMajor,
    minor: &str,
) -> Option<&'t MinorClass> {
    table.iter().find(|c| c.major == major && c.minor == minor)
}

/// The standard class with this Chinese name (`"路灯"`).
pub fn class_named(name: &str) -> Option<&'static MinorClass> {
    MINOR_CLASSES.iter().find(|c| c.name == name)
}

/// Why a string is not a component identification code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum ComponentError {
    #[error("{}", self.message())]
    Length,
    #[error("{}", self.message())]
    Chars,
    #[error("{}", self.message())]
    County,
    #[error("{}", self.message())]
    Major,
    #[error("{}", self.message())]
    Minor,
    #[error("{}", self.message())]
    Serial,
}

impl ComponentError {
    pub const ALL: &'static [ComponentError] = &[
        ComponentError::Length,
        ComponentError::Chars,
        ComponentError::County,
        ComponentError::Major,
        ComponentError::Minor,
        ComponentError::Serial,
    ];

    pub fn key(self) -> &'static str {
        match self {
            ComponentError::Length => "component_length",
            ComponentError::Chars => "component_chars",
            ComponentError::County => "component_county",
            ComponentError::Major => "component_major",
            ComponentError::Minor => "component_minor",
            ComponentError::Serial => "component_serial",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            ComponentError::Length => "部件标识码应为16位",
            ComponentError::Chars => "部件标识码只能由数字组成",
            ComponentError::County => "部件标识码的前6位应为区县代码",
            ComponentError::Major => "部件大类代码应为01至06",
            ComponentError::Minor => "部件小类代码应为01至99",
            ComponentError::Serial => "部件流水号应在000001至999999之间",
        }
    }
}

/// A 16-digit component identification code with a known major class.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ComponentCode(String);

impl ComponentCode {
    /// Parse a code: 16 ASCII digits (surrounding whitespace trimmed), a county code not starting
    /// with 0, a major class 01–06, a minor class 01–99 (unknown ones pass, see
    /// [`ComponentCode::is_minor_known`]) and a serial from 000001.
    pub fn parse(raw: &str) -> Result<ComponentCode, ComponentError> {
        let s = raw.trim();
        if !s.chars().all(|c| c.is_ascii_digit()) {
            return Err(ComponentError::Chars);
        }
        if s.len() != 16 {
            return Err(ComponentError::Length);
        }
        if s.starts_with('0') {
            return Err(ComponentError::County);
        }
        if ComponentMajor::from_code(&s[6..8]).is_none() {
            return Err(ComponentError::Major);
        }
        if &s[8..10] == "00" {
            return Err(ComponentError::Minor);
        }
        if &s[10..] == "000000" {
            return Err(ComponentError::Serial);
        }
        Ok(ComponentCode(s.to_string()))
    }

    /// Build a code: `county` 6 digits, `minor` 1..=99, `serial` 1..=999 999.
    pub fn compose(
        county: &str,
        major: ComponentMajor,
        minor: u8,
        serial: u32,
    ) -> Result<ComponentCode, ComponentError> {
        if county.len() != 6 || !county.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ComponentError::County);
        }
        if !(1..=99).contains(&minor) {
            return Err(ComponentError::Minor);
        }
        if !(1..=999_999).contains(&serial) {
            return Err(ComponentError::Serial);
        }
        ComponentCode::parse(&format!("{county}{}{minor:02}{serial:06}", major.code()))
    }

    /// Build a code for a class of a table.
    pub fn for_class(
        county: &str,
        class: &MinorClass,
        serial: u32,
    ) -> Result<ComponentCode, ComponentError> {
        let minor: u8 = class.minor.parse().map_err(|_| ComponentError::Minor)?;
        ComponentCode::compose(county, class.major, minor, serial)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The county code of the managing district.
    pub fn county(&self) -> &str {
        &self.0[..6]
    }

    pub fn major(&self) -> ComponentMajor {
        // Checked at construction; the fallback is unreachable.
        ComponentMajor::from_code(&self.0[6..8]).unwrap_or(ComponentMajor::Other)
    }

    /// The two-digit minor class code.
    pub fn minor_code(&self) -> &str {
        &self.0[8..10]
    }

    /// The four-digit class code (major + minor).
    pub fn class_code(&self) -> &str {
        &self.0[6..10]
    }

    pub fn serial(&self) -> u32 {
        self.0[10..].parse().unwrap_or(0)
    }

    /// The standard minor class, if the code uses one.
    pub fn minor_class(&self) -> Option<&'static MinorClass> {
        find_class(MINOR_CLASSES, self.major(), self.minor_code())
    }

    /// The minor class in a deployment's (possibly extended) table.
    pub fn minor_class_in<'t>(&self, table: &'t [MinorClass]) -> Option<&'t MinorClass> {
        find_class(table, self.major(), self.minor_code())
    }

    /// Whether the minor class is one of the standard table; a local extension is not.
    pub fn is_minor_known(&self) -> bool {
        self.minor_class().is_some()
    }
}

impl fmt::Display for ComponentCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl serde::Serialize for ComponentCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for ComponentCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        ComponentCode::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use std::collections::HashSet;

    #[test]
    fn parses_and_reads_back() {
        let c = ComponentCode::parse(" 1101010118000042 ").unwrap();
        assert_eq!(c.as_str(), "1101010118000042");
        assert_eq!(c.county(), "110101");
        assert_eq!(c.major(), ComponentMajor::PublicFacility);
        assert_eq!(c.minor_code(), "18");
        assert_eq!(c.class_code(), "0118");
        assert_eq!(c.serial(), 42);
        assert_eq!(c.minor_class().unwrap().name, "路灯");
        assert!(c.is_minor_known());
        assert_eq!(c.to_string(), "1101010118000042");
    }

    #[test]
    fn unknown_minor_class_is_flagged_not_refused() {
        let c = ComponentCode::parse("1101010199000001").unwrap();
        assert!(!c.is_minor_known());
        assert_eq!(c.minor_class(), None);
        let local = [MinorClass {
            major: ComponentMajor::PublicFacility,
            minor: "99",
            name: "充电桩",
        }];
        assert_eq!(c.minor_class_in(&local).unwrap().name, "充电桩");
    }

    #[test]
    fn rejects_bad_codes() {
        use ComponentError as E;
        assert_eq!(ComponentCode::parse("110101011800004"), Err(E::Length));
        assert_eq!(ComponentCode::parse("11010101180000421"), Err(E::Length));
        assert_eq!(ComponentCode::parse(""), Err(E::Length));
        assert_eq!(ComponentCode::parse("110101011800004a"), Err(E::Chars));
        assert_eq!(ComponentCode::parse("1101010118 00042"), Err(E::Chars));
        assert_eq!(
            ComponentCode::parse("１１０１０１０１１８０００００４２"),
            Err(E::Chars)
        );
        assert_eq!(ComponentCode::parse("0101010118000042"), Err(E::County));
        assert_eq!(ComponentCode::parse("1101010718000042"), Err(E::Major));
        assert_eq!(ComponentCode::parse("1101010018000042"), Err(E::Major));
        assert_eq!(ComponentCode::parse("1101010100000042"), Err(E::Minor));
        assert_eq!(ComponentCode::parse("1101010118000000"), Err(E::Serial));
    }

    #[test]
    fn composes() {
        let c = ComponentCode::compose("110101", ComponentMajor::CityAppearance, 1, 7).unwrap();
        assert_eq!(c.as_str(), "1101010301000007");
        assert_eq!(c.minor_class().unwrap().name, "公共厕所");
        let lamp = class_named("路灯").unwrap();
        let c = ComponentCode::for_class("110101", lamp, 999_999).unwrap();
        assert_eq!(c.as_str(), "1101010118999999");
        use ComponentError as E;
        let m = ComponentMajor::Greening;
        assert_eq!(ComponentCode::compose("11010", m, 1, 1), Err(E::County));
        assert_eq!(ComponentCode::compose("11010x", m, 1, 1), Err(E::County));
        assert_eq!(ComponentCode::compose("010101", m, 1, 1), Err(E::County));
        assert_eq!(ComponentCode::compose("110101", m, 0, 1), Err(E::Minor));
        assert_eq!(ComponentCode::compose("110101", m, 100, 1), Err(E::Minor));
        assert_eq!(ComponentCode::compose("110101", m, 1, 0), Err(E::Serial));
        assert_eq!(
            ComponentCode::compose("110101", m, 1, 1_000_000),
            Err(E::Serial)
        );
    }

    #[test]
    fn class_table_is_consistent() {
        let mut seen = HashSet::new();
        for c in MINOR_CLASSES {
            assert_eq!(c.minor.len(), 2, "{c:?}");
            assert!(c.minor.bytes().all(|b| b.is_ascii_digit()) && c.minor != "00");
            assert!(seen.insert(c.class_code()), "duplicate {}", c.class_code());
            let code = ComponentCode::for_class("110101", c, 1).unwrap();
            assert_eq!(code.minor_class(), Some(c));
        }
        let mut names = HashSet::new();
        assert!(MINOR_CLASSES.iter().all(|c| names.insert(c.name)));
        for major in ComponentMajor::ALL {
            assert!(MINOR_CLASSES.iter().any(|c| c.major == *major), "{major:?}");
            assert_eq!(ComponentMajor::from_code(major.code()), Some(*major));
        }
        // Where the standard puts the classes people ask about.
        assert_eq!(class_named("路灯").unwrap().class_code(), "0118");
        assert_eq!(class_named("健身设施").unwrap().class_code(), "0126");
        assert_eq!(class_named("消防设施").unwrap().class_code(), "0113");
        assert_eq!(class_named("交通信号灯").unwrap().class_code(), "0210");
        assert_eq!(class_named("垃圾箱").unwrap().class_code(), "0305");
        assert_eq!(class_named("古树名木").unwrap().class_code(), "0401");
        assert_eq!(ComponentMajor::HousingLand.label(), "房屋土地");
    }

    #[test]
    fn states_and_serde() {
        assert_eq!(
            ComponentState::parse("damaged"),
            Some(ComponentState::Damaged)
        );
        assert_eq!(ComponentState::Good.label(), "完好");
        let c = ComponentCode::parse("1101010305000001").unwrap();
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(json, "\"1101010305000001\"");
        assert_eq!(serde_json::from_str::<ComponentCode>(&json).unwrap(), c);
        assert!(serde_json::from_str::<ComponentCode>("\"1101010705000001\"").is_err());
        for e in ComponentError::ALL {
            assert_eq!(e.to_string(), e.message());
            assert!(e.key().starts_with("component_"));
        }
    }
}
