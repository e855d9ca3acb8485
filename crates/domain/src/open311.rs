//! Open311 GeoReport v2 as Linli speaks it: how a case's state reads as `open`/`closed`, the
//! search window and result cap, W3C date-times, the attributes every service definition
//! carries, the shape of an Open311 API key, the masking of long digit runs in public text, and
//! point-in-area tests for checking that a reported location lies in the jurisdiction.
//!
//! Pure rules only; the app layer applies them to cases and keys, the web layer renders them as
//! JSON and XML.

use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime, PrimitiveDateTime, Time};

use crate::Ts;
use crate::case::{CaseState, Disposition, RequestType};
use crate::clock::CST;

/// Searches cover at most this many days; without dates, the most recent ones.
pub const WINDOW_DAYS: i64 = 90;
/// Most requests one search returns (one page).
pub const MAX_RESULTS: i64 = 1000;
/// Most ids in one `service_request_id` list.
pub const MAX_IDS: usize = 200;
/// Most codes in one `service_code` list.
pub const MAX_CODES: usize = 50;
/// Deepest page a search may ask for (`page` × `page_size`), so that offsets stay cheap.
pub const MAX_OFFSET: i64 = 100_000;

/// Longest accepted texts of a POST (characters).
pub const MAX_NAME_CHARS: usize = 50;
pub const MAX_EMAIL_CHARS: usize = 254;
pub const MAX_ID_CHARS: usize = 100;
pub const MAX_URL_CHARS: usize = 1000;
pub const MAX_ATTRIBUTE_CHARS: usize = 100;

/// The prefix of every Open311 API key: `o311_<district code>_<secret>`.
pub const KEY_PREFIX: &str = "o311_";

/// The two statuses of the specification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Open,
    Closed,
}

impl Status {
    pub fn key(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Closed => "closed",
        }
    }
    pub fn parse(s: &str) -> Option<Status> {
        match s.trim().to_ascii_lowercase().as_str() {
            "open" => Some(Status::Open),
            "closed" => Some(Status::Closed),
            _ => None,
        }
    }
    /// The Linli states that read as this status.
    pub fn states(self) -> Vec<CaseState> {
        CaseState::ALL
            .iter()
            .copied()
            .filter(|s| status_of(*s) == self)
            .collect()
    }
}

/// A case is closed for Open311 once its handling is over: 结案 (awaiting or after the
/// call-back) or ended without dispatch. Everything before is open.
pub fn status_of(state: CaseState) -> Status {
    match state {
        CaseState::Closed | CaseState::Visited | CaseState::Disposed => Status::Closed,
        _ => Status::Open,
    }
}

/// The finer Linli state in words, for `status_notes`: `办理中`, `不派单办结：重复诉求，告知办理进展`.
pub fn status_notes(state: CaseState, disposition: Option<Disposition>) -> String {
    match (state, disposition) {
        (CaseState::Disposed, Some(d)) => format!("{}：{}", state.label(), d.label()),
        (CaseState::Closed, _) => "已办结，待回访".to_string(),
        _ => state.label().to_string(),
    }
}

/// A W3C date-time (`2026-11-21T08:00:00Z`, `2026-11-21T16:00:00+08:00`) or a date
/// (`2026-11-21`, read as the start of that day in China).
pub fn parse_datetime(s: &str) -> Option<Ts> {
    let s = s.trim();
    if s.len() > 40 {
        return None;
    }
    if let Ok(dt) = OffsetDateTime::parse(s, &Rfc3339) {
        return Some(Ts::from_datetime(dt));
    }
    // RFC 3339 insists on seconds; the W3C note allows `2026-11-21T08:00Z`.
    if let Some(rest) = s.strip_suffix('Z').or_else(|| s.strip_suffix('z'))
        && rest.len() == 16
        && let Ok(dt) = OffsetDateTime::parse(&format!("{rest}:00Z"), &Rfc3339)
    {
        return Some(Ts::from_datetime(dt));
    }
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    let d = Date::parse(s, &fmt).ok()?;
    Some(Ts::from_datetime(
        PrimitiveDateTime::new(d, Time::MIDNIGHT).assume_offset(CST),
    ))
}

/// `2026-11-21T16:05:09+08:00`: the time in China with its offset, as the specification asks.
pub fn format_datetime(t: Ts) -> String {
    let d = t.to_datetime().to_offset(CST);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}+08:00",
        d.year(),
        u8::from(d.month()),
        d.day(),
        d.hour(),
        d.minute(),
        d.second()
    )
}

/// The district an API key belongs to, read from its shape (`o311_110101_…`); None for
/// anything that cannot be a key.
pub fn key_tenant(key: &str) -> Option<&str> {
    let rest = key.strip_prefix(KEY_PREFIX)?;
    let (tenant, secret) = rest.split_at_checked(6)?;
    let secret = secret.strip_prefix('_')?;
    let ok = tenant.bytes().all(|b| b.is_ascii_digit())
        && (20..=100).contains(&secret.len())
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    ok.then_some(tenant)
}

/// Public text with every run of 11 or more digits (mobile numbers, ID numbers, bank cards —
/// what residents type into a description) masked except its first three and last two, so the
/// open feed never republishes them even when written into free text. Full-width digits count.
pub fn redact_numbers(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let is_digit = |c: char| c.is_ascii_digit() || ('０'..='９').contains(&c);
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        if !is_digit(chars[i]) {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && is_digit(chars[i]) {
            i += 1;
        }
        // An ID number may end in X.
        if i < chars.len() && matches!(chars[i], 'X' | 'x') && i - start == 17 {
            i += 1;
        }
        let run = &chars[start..i];
        if run.len() >= 11 {
            for (k, c) in run.iter().enumerate() {
                out.push(if k < 3 || k + 2 >= run.len() { *c } else { '*' });
            }
        } else {
            out.extend(run);
        }
    }
    out
}

/// The title of a case filed without one: the first line of the description, cut at 30
/// characters.
pub fn title_from(description: &str) -> String {
    let line = description
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let mut t: String = line.chars().take(30).collect();
    if line.chars().count() > 30 {
        t.push('…');
    }
    t
}

/// The requester's name from Open311's two fields: Chinese order (姓 then 名, no space) unless
/// both are Latin script.
pub fn full_name(first: &str, last: &str) -> String {
    let (first, last) = (first.trim(), last.trim());
    match (first.is_empty(), last.is_empty()) {
        (true, true) => String::new(),
        (false, true) => first.to_string(),
        (true, false) => last.to_string(),
        (false, false) if first.is_ascii() && last.is_ascii() => format!("{first} {last}"),
        (false, false) => format!("{last}{first}"),
    }
}

/// One attribute of a service definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    pub code: &'static str,
    /// `string`, `number`, `datetime`, `text`, `singlevaluelist` or `multivaluelist`.
    pub datatype: &'static str,
    pub required: bool,
    pub datatype_description: &'static str,
    pub order: i64,
    pub description: &'static str,
    /// (key, name) of a list's values.
    pub values: Vec<(&'static str, &'static str)>,
}

/// The request type a case filed through Open311 gets unless the client says otherwise.
pub const DEFAULT_REQUEST_TYPE: RequestType = RequestType::Help;

/// The attributes every service (dispatch catalogue leaf) takes: the request type of 接诉即办
/// (Art. 2) and an optional title.
pub fn attributes() -> Vec<Attribute> {
    vec![
        Attribute {
            code: "request_type",
            datatype: "singlevaluelist",
            required: false,
            datatype_description: "诉求类型，不填为“求助” (request type; default help)",
            order: 1,
            description: "诉求类型 (request type)",
            values: RequestType::ALL
                .iter()
                .map(|t| (t.key(), t.label()))
                .collect(),
        },
        Attribute {
            code: "title",
            datatype: "string",
            required: false,
            datatype_description: "不超过 100 字；不填则取描述的第一行 (at most 100 characters; default: the description's first line)",
            order: 2,
            description: "标题 (title)",
            values: vec![],
        },
    ]
}

/// WGS84 longitude/latitude box that holds all of China (and a little more): the check made
/// when no boundary of the reporting unit is known.
pub const CHINA_BOX: (f64, f64, f64, f64) = (73.0, 3.0, 136.0, 54.0);

pub fn in_china_box(lng: f64, lat: f64) -> bool {
    let (w, s, e, n) = CHINA_BOX;
    lng.is_finite() && lat.is_finite() && (w..=e).contains(&lng) && (s..=n).contains(&lat)
}

/// A closed ring of (longitude, latitude) points; the first point need not be repeated.
pub type Ring = Vec<(f64, f64)>;

/// An area: polygons, each an outer ring followed by its holes (GeoJSON MultiPolygon order).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Area {
    pub polygons: Vec<Vec<Ring>>,
}

impl Area {
    /// Whether the point lies inside (inside an outer ring and outside its holes). Points
    /// exactly on an edge may fall either way.
    pub fn contains(&self, lng: f64, lat: f64) -> bool {
        self.polygons.iter().any(|rings| {
            let mut it = rings.iter();
            match it.next() {
                Some(outer) if ring_contains(outer, lng, lat) => {
                    !it.any(|hole| ring_contains(hole, lng, lat))
                }
                _ => false,
            }
        })
    }

    /// The (west, south, east, north) box around every ring; None when empty.
    pub fn bbox(&self) -> Option<(f64, f64, f64, f64)> {
        let mut pts = self.polygons.iter().flatten().flatten();
        let first = pts.next()?;
        Some(pts.fold(
            (first.0, first.1, first.0, first.1),
            |(w, s, e, n), (x, y)| (w.min(*x), s.min(*y), e.max(*x), n.max(*y)),
        ))
    }
}

/// Even-odd ray casting.
fn ring_contains(ring: &[(f64, f64)], x: f64, y: f64) -> bool {
    let n = ring.len();
    if n < 3 {
        return false;
    }
    let mut inside = false;
    let mut j = n - 1;
    for i in 0..n {
        let (xi, yi) = ring[i];
        let (xj, yj) = ring[j];
        if (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi {
            inside = !inside;
        }
        j = i;
    }
    inside
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        assert_eq!(status_of(CaseState::Pending), Status::Open);
        assert_eq!(status_of(CaseState::Replied), Status::Open);
        assert_eq!(status_of(CaseState::Closed), Status::Closed);
        assert_eq!(status_of(CaseState::Disposed), Status::Closed);
        let open = Status::Open.states();
        let closed = Status::Closed.states();
        assert_eq!(open.len() + closed.len(), CaseState::ALL.len());
        assert!(closed.contains(&CaseState::Visited));
        assert_eq!(Status::parse(" CLOSED "), Some(Status::Closed));
        assert_eq!(Status::parse("pending"), None);
        assert_eq!(
            status_notes(CaseState::Disposed, Some(Disposition::Duplicate)),
            "不派单办结：重复诉求，告知办理进展"
        );
        assert_eq!(status_notes(CaseState::Handling, None), "办理中");
    }

    #[test]
    fn datetimes() {
        let a = parse_datetime("2026-11-21T08:00:00Z").unwrap();
        assert_eq!(parse_datetime("2026-11-21T16:00:00+08:00"), Some(a));
        assert_eq!(parse_datetime("2026-11-21T08:00Z"), Some(a));
        assert_eq!(format_datetime(a), "2026-11-21T16:00:00+08:00");
        let day = parse_datetime("2026-11-21").unwrap();
        assert_eq!(format_datetime(day), "2026-11-21T00:00:00+08:00");
        for bad in ["", "yesterday", "2026-13-01", "2026-11-21T25:00:00Z", "1e9"] {
            assert_eq!(parse_datetime(bad), None, "{bad}");
        }
    }

    #[test]
    fn keys() {
        let k = format!("{KEY_PREFIX}110101_{}", "a".repeat(43));
        assert_eq!(key_tenant(&k), Some("110101"));
        assert_eq!(key_tenant("o311_11010_aaaaaaaaaaaaaaaaaaaaaaaaa"), None);
        assert_eq!(key_tenant("linli_abc"), None);
        assert_eq!(key_tenant(&format!("{KEY_PREFIX}110101_短")), None);
        assert_eq!(
            key_tenant(&format!("{KEY_PREFIX}110101_{}", "a b".repeat(10))),
            None
        );
    }

    #[test]
    fn long_digit_runs_are_masked() {
        assert_eq!(
            redact_numbers("电话13812345678，身份证11010119900307123X"),
            "电话138******78，身份证110*************3X"
        );
        // Case numbers, house numbers and dates stay.
        let keep = "见工单 110101-20261121-000123，多福巷12号，2026年11月21日";
        assert_eq!(redact_numbers(keep), keep);
        assert_eq!(redact_numbers("１３８１２３４５６７８"), "１３８******７８");
    }

    #[test]
    fn titles_and_names() {
        assert_eq!(title_from("\n  路灯不亮\n已经三天"), "路灯不亮");
        assert_eq!(
            title_from(&"长".repeat(40)),
            format!("{}…", "长".repeat(30))
        );
        assert_eq!(full_name("三", "张"), "张三");
        assert_eq!(full_name("Ada", "Lovelace"), "Ada Lovelace");
        assert_eq!(full_name(" ", ""), "");
        assert_eq!(full_name("", "王"), "王");
    }

    #[test]
    fn areas() {
        // A square with a square hole.
        let a = Area {
            polygons: vec![vec![
                vec![(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0)],
                vec![(4.0, 4.0), (6.0, 4.0), (6.0, 6.0), (4.0, 6.0)],
            ]],
        };
        assert!(a.contains(1.0, 1.0));
        assert!(!a.contains(5.0, 5.0));
        assert!(!a.contains(11.0, 5.0));
        assert_eq!(a.bbox(), Some((0.0, 0.0, 10.0, 10.0)));
        assert!(!Area::default().contains(0.0, 0.0));
        assert!(in_china_box(116.4, 39.9));
        assert!(!in_china_box(-122.4, 37.8));
        assert!(!in_china_box(f64::NAN, 39.9));
    }

    #[test]
    fn every_service_takes_the_request_type() {
        let attrs = attributes();
        assert_eq!(attrs[0].code, "request_type");
        assert_eq!(attrs[0].values.len(), RequestType::ALL.len());
        assert!(attrs.iter().all(|a| !a.required));
    }
}
