//! The base registry's vocabulary (人、地、物、组织): the closed sets its rows use, the tag
//! vocabulary with which tags are sensitive, and the life-cycle events a resident's record keeps.
//! The rules of ID numbers and component codes are in [`crate::idnumber`] and
//! [`crate::component`].

crate::keyed! {
    /// 楼栋类型.
    BuildingKind {
        Residential = "residential", "住宅楼";
        Mixed = "mixed", "商住楼";
        Courtyard = "courtyard", "平房院落";
        Office = "office", "办公楼";
    }
}

crate::keyed! {
    /// 房屋用途.
    HouseUse {
        Residential = "residential", "住宅";
        Shop = "shop", "商铺";
        Office = "office", "办公";
        Rental = "rental", "出租";
    }
}

crate::keyed! {
    /// 户别.
    HouseholdKind {
        Family = "family", "家庭户";
        Collective = "collective", "集体户";
    }
}

crate::keyed! {
    /// 人口类型.
    Residency {
        Registered = "registered", "户籍";
        Resident = "resident", "常住";
        Floating = "floating", "流动";
        Overseas = "overseas", "境外";
    }
}

crate::keyed! {
    /// 与户主关系.
    Relation {
        Head = "head", "户主";
        Spouse = "spouse", "配偶";
        Child = "child", "子女";
        Parent = "parent", "父母";
        Grandchild = "grandchild", "孙子女";
        Other = "other", "其他";
    }
}

crate::keyed! {
    /// 组织类型.
    OrganisationKind {
        ResidentUnit = "resident_unit", "驻区单位";
        SocialOrganisation = "social_organisation", "社会组织";
        PropertyCompany = "property_company", "物业公司";
        OwnersCommittee = "owners_committee", "业主委员会";
        PartyOrganisation = "party_organisation", "党组织";
    }
}

crate::keyed! {
    /// Where a resident's record stands. Only `active` residents count in the population.
    ResidentStatus {
        Active = "active", "在册";
        MovedOut = "moved_out", "已迁出";
        Deceased = "deceased", "已死亡";
        Anonymised = "anonymised", "已匿名化";
    }
}

crate::keyed! {
    /// What of a resident a department's API token may read (基础信息共享的字段授权, seed 000:
    /// each department gets the fields its duty needs). The masked name, sex, age, residency,
    /// status and grid are always readable; these are granted one by one. Values stay masked
    /// whatever is granted.
    ResidentField {
        IdNumber = "id_number", "身份证号码（脱敏）";
        Phone = "phone", "联系电话（脱敏）";
        Tags = "tags", "一般标签";
        SensitiveTags = "sensitive_tags", "敏感标签（低保、残疾等）";
        Household = "household", "户与房屋";
    }
}

impl ResidentField {
    /// A granted field list as typed (keys or labels), deduplicated in vocabulary order.
    pub fn parse_list<S: AsRef<str>>(items: &[S]) -> Result<Vec<ResidentField>, String> {
        let mut out = Vec::new();
        for i in items {
            let i = i.as_ref().trim();
            let f = ResidentField::parse(i)
                .or_else(|| ResidentField::ALL.iter().copied().find(|f| f.label() == i))
                .ok_or_else(|| i.to_string())?;
            if !out.contains(&f) {
                out.push(f);
            }
        }
        out.sort_by_key(|f| ResidentField::ALL.iter().position(|x| x == f));
        Ok(out)
    }
}

crate::keyed! {
    /// 人口变动事件: each one is kept in the resident's history.
    LifeEvent {
        Registered = "registered", "登记";
        MovedIn = "moved_in", "迁入";
        MovedOut = "moved_out", "迁出";
        Born = "born", "出生";
        Died = "died", "死亡";
        Corrected = "corrected", "更正";
        Anonymised = "anonymised", "匿名化";
    }
}

impl LifeEvent {
    /// The status a resident has after this event, if it changes it.
    pub fn status_after(self) -> Option<ResidentStatus> {
        match self {
            LifeEvent::MovedOut => Some(ResidentStatus::MovedOut),
            LifeEvent::Died => Some(ResidentStatus::Deceased),
            LifeEvent::MovedIn | LifeEvent::Born | LifeEvent::Registered => {
                Some(ResidentStatus::Active)
            }
            LifeEvent::Anonymised => Some(ResidentStatus::Anonymised),
            LifeEvent::Corrected => None,
        }
    }
}

/// A built-in tag: its stable key, its label, and whether it is sensitive personal information
/// (个人信息保护法 Art. 28: health, special identity, financial hardship) — sensitive tags are
/// stored only as their blind index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TagDef {
    pub key: &'static str,
    pub label: &'static str,
    pub sensitive: bool,
}

/// The tags every deployment starts with (seed 000 and DOMAIN §1: the people who need care);
/// administrators add their own.
pub const BUILTIN_TAGS: &[TagDef] = &[
    TagDef {
        key: "living_alone",
        label: "独居老人",
        sensitive: false,
    },
    TagDef {
        key: "empty_nest",
        label: "空巢老人",
        sensitive: false,
    },
    TagDef {
        key: "subsistence",
        label: "低保",
        sensitive: true,
    },
    TagDef {
        key: "extreme_poverty",
        label: "特困",
        sensitive: true,
    },
    TagDef {
        key: "disabled",
        label: "残疾",
        sensitive: true,
    },
    TagDef {
        key: "entitled",
        label: "优抚对象",
        sensitive: true,
    },
    TagDef {
        key: "unemployed",
        label: "失业",
        sensitive: true,
    },
    TagDef {
        key: "party_member",
        label: "党员",
        sensitive: false,
    },
    TagDef {
        key: "floating_party_member",
        label: "流动党员",
        sensitive: false,
    },
    TagDef {
        key: "volunteer",
        label: "志愿者",
        sensitive: false,
    },
    TagDef {
        key: "key_person",
        label: "重点人群",
        sensitive: true,
    },
];

/// A tag key: lowercase ASCII letters, digits and `_`, 2–40 long.
pub fn valid_tag_key(k: &str) -> bool {
    (2..=40).contains(&k.len())
        && k.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && k.as_bytes()[0].is_ascii_lowercase()
}

/// Age bands for filters and the community overview: (label, from age, to age exclusive).
pub const AGE_BANDS: &[(&str, u32, u32)] = &[
    ("0-6", 0, 7),
    ("7-17", 7, 18),
    ("18-34", 18, 35),
    ("35-59", 35, 60),
    ("60-79", 60, 80),
    ("80+", 80, 200),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_grants_parse_keys_and_labels_in_vocabulary_order() {
        assert_eq!(
            ResidentField::parse_list(&["household", "联系电话（脱敏）", "phone"]),
            Ok(vec![ResidentField::Phone, ResidentField::Household])
        );
        assert_eq!(ResidentField::parse_list::<&str>(&[]), Ok(vec![]));
        assert_eq!(
            ResidentField::parse_list(&["tags", " salary "]),
            Err("salary".to_string())
        );
    }

    #[test]
    fn builtin_tags_are_well_formed_and_unique() {
        let mut keys: Vec<_> = BUILTIN_TAGS.iter().map(|t| t.key).collect();
        assert!(keys.iter().all(|k| valid_tag_key(k)));
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), BUILTIN_TAGS.len());
        assert!(!valid_tag_key("Bad-Key"));
        assert!(!valid_tag_key("1abc"));
        assert!(
            BUILTIN_TAGS
                .iter()
                .any(|t| t.label == "低保" && t.sensitive)
        );
    }

    #[test]
    fn events_set_status() {
        assert_eq!(
            LifeEvent::Died.status_after(),
            Some(ResidentStatus::Deceased)
        );
        assert_eq!(LifeEvent::Corrected.status_after(), None);
    }
}
