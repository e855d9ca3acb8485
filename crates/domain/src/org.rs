//! The administrative hierarchy: 省 → 市 → 区/县 → 街道/乡镇 → 社区/村 → 网格, plus 职能部门.
//!
//! Every org unit carries its official code and a materialized path built from the codes of its
//! ancestors (`/11/1101/110101/110101001/`). "This unit and everything below it" is then a range
//! predicate on the path (`path >= prefix AND path < upper`), which every engine indexes well and
//! which needs no recursive query. The tenant of a unit is the 6-digit county-level code it
//! belongs to (padded with zeros above that level); tenant tables lead their keys with it.

use serde::{Deserialize, Serialize};

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum OrgKind {
    /// The deployment itself: the single root above the provinces.
    Root,
    Province,
    City,
    District,
    Street,
    Community,
    Grid,
    Department,
}

impl OrgKind {
    pub const ALL: [OrgKind; 8] = [
        OrgKind::Root,
        OrgKind::Province,
        OrgKind::City,
        OrgKind::District,
        OrgKind::Street,
        OrgKind::Community,
        OrgKind::Grid,
        OrgKind::Department,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrgKind::Root => "root",
            OrgKind::Province => "province",
            OrgKind::City => "city",
            OrgKind::District => "district",
            OrgKind::Street => "street",
            OrgKind::Community => "community",
            OrgKind::Grid => "grid",
            OrgKind::Department => "department",
        }
    }

    pub fn parse(s: &str) -> Option<OrgKind> {
        OrgKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            OrgKind::Root => "平台",
            OrgKind::Province => "省级",
            OrgKind::City => "市级",
            OrgKind::District => "区县",
            OrgKind::Street => "街道乡镇",
            OrgKind::Community => "社区村",
            OrgKind::Grid => "网格",
            OrgKind::Department => "职能部门",
        }
    }

    /// Which kinds may sit directly under a unit of this kind.
    pub fn allowed_children(self) -> &'static [OrgKind] {
        match self {
            OrgKind::Root => &[OrgKind::Province],
            OrgKind::Province => &[OrgKind::City, OrgKind::Department],
            OrgKind::City => &[OrgKind::District, OrgKind::Department],
            OrgKind::District => &[OrgKind::Street, OrgKind::Department],
            OrgKind::Street => &[OrgKind::Community, OrgKind::Department],
            OrgKind::Community => &[OrgKind::Grid],
            OrgKind::Grid | OrgKind::Department => &[],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error("代码只能由数字组成")]
    NotDigits,
    #[error("{kind}代码应为{expected}位")]
    WrongLength {
        kind: &'static str,
        expected: &'static str,
    },
    #[error("代码与上级单位不一致：应以 {parent} 开头")]
    NotUnderParent { parent: String },
    #[error("该层级不能挂在所选上级单位之下")]
    KindNotAllowed,
}

/// Validate a unit's code for its kind and parent code.
///
/// Official levels use the national statistical codes (2/4/6/9/12 digits). Grids take a 3-digit
/// local suffix on the community code (15 digits). Departments take `B` plus 2–4 digits after the
/// code of the unit that owns them (`110101B01` is a district department).
pub fn validate_code(
    kind: OrgKind,
    code: &str,
    parent_code: Option<&str>,
) -> Result<(), CodeError> {
    let (digits, expected): (&str, &'static str) = match kind {
        OrgKind::Root => return Ok(()),
        OrgKind::Department => {
            let parent = parent_code.unwrap_or("");
            let Some(rest) = code.strip_prefix(parent).and_then(|r| r.strip_prefix('B')) else {
                return Err(CodeError::NotUnderParent {
                    parent: format!("{parent}B"),
                });
            };
            if !(2..=4).contains(&rest.len()) {
                return Err(CodeError::WrongLength {
                    kind: kind.label(),
                    expected: "上级代码+B+2至4",
                });
            }
            if !rest.bytes().all(|b| b.is_ascii_digit()) {
                return Err(CodeError::NotDigits);
            }
            return Ok(());
        }
        OrgKind::Province => (code, "2"),
        OrgKind::City => (code, "4"),
        OrgKind::District => (code, "6"),
        OrgKind::Street => (code, "9"),
        OrgKind::Community => (code, "12"),
        OrgKind::Grid => (code, "15"),
    };
    if !digits.bytes().all(|b| b.is_ascii_digit()) || digits.is_empty() {
        return Err(CodeError::NotDigits);
    }
    let want: usize = expected.parse().unwrap_or(0);
    if digits.len() != want {
        return Err(CodeError::WrongLength {
            kind: kind.label(),
            expected,
        });
    }
    if let Some(parent) = parent_code
        && !parent.is_empty()
        && !code.starts_with(parent)
    {
        return Err(CodeError::NotUnderParent {
            parent: parent.to_string(),
        });
    }
    Ok(())
}

/// The tenant (6-digit county-level code) a unit with this code belongs to.
pub fn tenant_of(code: &str) -> String {
    let mut t: String = code
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .take(6)
        .collect();
    while t.len() < 6 {
        t.push('0');
    }
    t
}

/// The tenant a unit belongs to, from its materialized path (its own code is the last segment);
/// `000000` for the root.
pub fn tenant_of_path(path: &str) -> String {
    tenant_of(path.trim_end_matches('/').rsplit('/').next().unwrap_or(""))
}

/// The tenant of units above county level and of the root.
pub const ROOT_TENANT: &str = "000000";

/// Path of a child: the parent's path plus the child's code and a trailing slash.
pub fn child_path(parent_path: &str, code: &str) -> String {
    format!("{parent_path}{code}/")
}

/// The exclusive upper bound of the subtree whose paths start with `prefix`.
///
/// Paths consist of ASCII digits, capital letters and `/`, and every path ends with `/`; bumping
/// that last byte gives the smallest string greater than every string with the prefix. Columns
/// holding paths must compare bytewise (`COLLATE "C"` on PostgreSQL; SQLite's default BINARY).
pub fn subtree_upper(prefix: &str) -> String {
    let mut bytes = prefix.as_bytes().to_vec();
    match bytes.last_mut() {
        Some(last) => *last += 1,
        None => bytes.push(0x7f),
    }
    String::from_utf8(bytes).unwrap_or_else(|_| format!("{prefix}\u{7f}"))
}

pub fn is_within(path: &str, ancestor_path: &str) -> bool {
    path.starts_with(ancestor_path)
}

/// Depth of a path: `/` is 0, `/11/` is 1.
pub fn depth(path: &str) -> usize {
    path.matches('/').count().saturating_sub(1)
}

/// The street-level subtype by GB/T 10114: 001–099 街道, 100–199 镇, 200–399 乡.
pub fn street_subtype(code: &str) -> &'static str {
    match code.get(6..9).and_then(|s| s.parse::<u16>().ok()) {
        Some(1..=99) => "街道",
        Some(100..=199) => "镇",
        Some(200..=399) => "乡",
        _ => "其他",
    }
}

/// The community-level subtype by the statistical code: 001–199 居委会, 200–399 村委会.
pub fn community_subtype(code: &str) -> &'static str {
    match code.get(9..12).and_then(|s| s.parse::<u16>().ok()) {
        Some(1..=199) => "居委会",
        Some(200..=399) => "村委会",
        _ => "其他",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_by_kind() {
        assert!(validate_code(OrgKind::District, "110101", Some("1101")).is_ok());
        assert!(validate_code(OrgKind::Street, "110101001", Some("110101")).is_ok());
        assert!(validate_code(OrgKind::Community, "110101001001", Some("110101001")).is_ok());
        assert!(validate_code(OrgKind::Grid, "110101001001001", Some("110101001001")).is_ok());
        assert!(validate_code(OrgKind::Department, "110101B01", Some("110101")).is_ok());
        assert_eq!(
            validate_code(OrgKind::Street, "11010100", Some("110101")),
            Err(CodeError::WrongLength {
                kind: "街道乡镇",
                expected: "9"
            })
        );
        assert!(matches!(
            validate_code(OrgKind::Street, "110102001", Some("110101")),
            Err(CodeError::NotUnderParent { .. })
        ));
        assert_eq!(
            validate_code(OrgKind::Street, "11010100x", None),
            Err(CodeError::NotDigits)
        );
        assert!(validate_code(OrgKind::Department, "110101BX1", Some("110101")).is_err());
        assert!(validate_code(OrgKind::Department, "110102B01", Some("110101")).is_err());
    }

    #[test]
    fn tenants() {
        assert_eq!(tenant_of("11"), "110000");
        assert_eq!(tenant_of("1101"), "110100");
        assert_eq!(tenant_of("110101001001"), "110101");
        assert_eq!(tenant_of("110101B01"), "110101");
    }

    #[test]
    fn subtree_range_contains_exactly_descendants() {
        let p = "/11/1101/110101/";
        let up = subtree_upper(p);
        let inside = [
            "/11/1101/110101/",
            "/11/1101/110101/110101001/",
            "/11/1101/110101/110101B01/",
        ];
        let outside = ["/11/1101/110102/", "/11/1101/1101010/", "/11/1101/", "/12/"];
        for s in inside {
            assert!(s >= p && s < up.as_str(), "{s} should be inside");
        }
        for s in outside {
            assert!(!(s >= p && s < up.as_str()), "{s} should be outside");
        }
    }

    proptest::proptest! {
        /// The range predicate used in SQL agrees with the prefix test for any two paths built
        /// from codes, so a subtree scan returns exactly the descendants.
        #[test]
        fn range_predicate_equals_prefix(
            a in proptest::collection::vec("[0-9]{1,4}|[0-9]{2}B[0-9]{2}", 0..5),
            b in proptest::collection::vec("[0-9]{1,4}|[0-9]{2}B[0-9]{2}", 0..6),
        ) {
            let path = |segs: &[String]| segs.iter().fold("/".to_string(), |p, s| child_path(&p, s));
            let (pa, pb) = (path(&a), path(&b));
            let up = subtree_upper(&pa);
            let in_range = pb.as_str() >= pa.as_str() && pb.as_str() < up.as_str();
            proptest::prop_assert_eq!(in_range, is_within(&pb, &pa));
        }
    }

    #[test]
    fn subtypes() {
        assert_eq!(street_subtype("110101001"), "街道");
        assert_eq!(street_subtype("371328100"), "镇");
        assert_eq!(street_subtype("371328200"), "乡");
        assert_eq!(community_subtype("110101001001"), "居委会");
        assert_eq!(community_subtype("371328100201"), "村委会");
        assert_eq!(depth("/"), 0);
        assert_eq!(depth("/11/1101/"), 2);
    }
}
