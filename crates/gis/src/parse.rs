//! GeoJSON import of grid polygons. Owns the accepted input (a FeatureCollection, one Feature or a
//! bare Polygon/MultiPolygon, read with serde_json directly), the size limits, the problems shown
//! to whoever uploaded the file (all of them, each with the feature's position and code), and the
//! portable form the store keeps: compact GeoJSON geometry text plus a bounding box.
//!
//! Rings are taken as written: an unclosed ring is an error, not something to close silently,
//! because a missing last point usually means a truncated or hand-edited file.

use std::collections::HashMap;
use std::fmt::Display;

use geo::orient::{Direction, Orient};
use geo::{BoundingRect, Coord, LineString, MultiPolygon, Polygon};
use serde::Serialize;
use serde_json::Value;

use crate::error::GisError;
use crate::valid::{self, part_label, point, ring_label};

/// Largest accepted input by default. A district's grids with detailed boundaries are a few MB;
/// the parsed JSON tree takes several times the text, so the limit bounds memory too.
pub const DEFAULT_MAX_BYTES: usize = 32 << 20;
/// Most positions one feature may have by default; hand-drawn grids have tens to hundreds.
pub const DEFAULT_MAX_VERTICES: usize = 100_000;

/// Guards against inputs too big to parse and validate quickly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest accepted text, in bytes (`input_too_large` beyond).
    pub max_bytes: usize,
    /// Most positions in one feature, all rings counted (`too_many_vertices` beyond).
    pub max_vertices_per_feature: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: DEFAULT_MAX_BYTES,
            max_vertices_per_feature: DEFAULT_MAX_VERTICES,
        }
    }
}

/// One reason the input was refused.
///
/// `index` is the feature's 0-based position in `features` (0 for a single Feature, a bare
/// geometry, and problems with the file as a whole, which also have `code: None`); `message`
/// counts from 1 as people do: “第 3 个要素（110101001001001）的外环未闭合……”.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub index: usize,
    pub code: Option<String>,
    /// Stable snake_case key, e.g. `ring_not_closed`.
    pub key: &'static str,
    pub message: String,
}

/// `(min_lng, min_lat, max_lng, max_lat)`, the order of a GeoJSON `bbox`.
pub type BBox = (f64, f64, f64, f64);

/// One valid grid polygon. Rings are oriented as RFC 7946 asks (exterior counter-clockwise,
/// holes clockwise).
#[derive(Debug, Clone, PartialEq)]
pub struct GridShape {
    /// `properties.code`; empty for a bare geometry or a lone Feature without one (the caller
    /// knows which grid it is uploading).
    pub code: String,
    pub name: Option<String>,
    pub polygon: MultiPolygon<f64>,
    pub bbox: BBox,
}

impl GridShape {
    /// The geometry as compact GeoJSON (`Polygon` for one part, else `MultiPolygon`), the text the
    /// store keeps next to the bounding-box columns. Numbers are written in their shortest form
    /// that reads back to the same `f64` (serde_json's `float_roundtrip`, see Cargo.toml), so
    /// shared edges stay bit-identical through the store.
    pub fn to_geojson(&self) -> String {
        geometry_to_geojson(&self.polygon)
    }

    /// Read back what [`GridShape::to_geojson`] wrote (or any single Polygon/MultiPolygon),
    /// validating it as an upload would be.
    pub fn from_geojson_geometry(
        code: impl Into<String>,
        name: Option<String>,
        text: &str,
    ) -> Result<GridShape, GisError> {
        let polygon = geometry_from_geojson(text)?;
        let bbox = bbox(&polygon).ok_or(GisError::NotSingle(0))?;
        Ok(GridShape {
            code: code.into(),
            name,
            polygon,
            bbox,
        })
    }
}

/// The bounding box of a non-empty multipolygon.
pub fn bbox(mp: &MultiPolygon<f64>) -> Option<BBox> {
    mp.bounding_rect()
        .map(|r| (r.min().x, r.min().y, r.max().x, r.max().y))
}

/// Compact GeoJSON geometry text for `mp` (see [`GridShape::to_geojson`]).
pub fn geometry_to_geojson(mp: &MultiPolygon<f64>) -> String {
    fn ring(ls: &LineString<f64>) -> Value {
        Value::Array(
            ls.0.iter()
                .map(|c| Value::Array(vec![Value::from(c.x), Value::from(c.y)]))
                .collect(),
        )
    }
    fn polygon(p: &Polygon<f64>) -> Value {
        Value::Array(
            std::iter::once(p.exterior())
                .chain(p.interiors())
                .map(ring)
                .collect(),
        )
    }
    let (ty, coordinates) = match mp.0.as_slice() {
        [one] => ("Polygon", polygon(one)),
        parts => (
            "MultiPolygon",
            Value::Array(parts.iter().map(polygon).collect()),
        ),
    };
    // Written by hand so "type" comes first (serde_json's map would sort it after
    // "coordinates"); Display of a Value cannot fail, unlike serde_json::to_string's signature.
    format!(r#"{{"type":"{ty}","coordinates":{coordinates}}}"#)
}

/// Parse one Polygon/MultiPolygon geometry (or a Feature/collection holding exactly one).
pub fn geometry_from_geojson(text: &str) -> Result<MultiPolygon<f64>, GisError> {
    let mut shapes = parse(text).map_err(GisError::Invalid)?;
    match shapes.len() {
        1 => Ok(shapes.remove(0).polygon),
        n => Err(GisError::NotSingle(n)),
    }
}

/// Parse and validate grid polygons with the default [`Limits`].
pub fn parse(text: &str) -> Result<Vec<GridShape>, Vec<Problem>> {
    parse_with(text, &Limits::default())
}

/// Parse and validate grid polygons: every problem in every feature is reported, or none and
/// the shapes come back in file order.
pub fn parse_with(text: &str, limits: &Limits) -> Result<Vec<GridShape>, Vec<Problem>> {
    let mut problems = Vec::new();
    let file = |key, message: String| {
        vec![Problem {
            index: 0,
            code: None,
            key,
            message,
        }]
    };
    if text.len() > limits.max_bytes {
        return Err(file(
            "input_too_large",
            format!(
                "文件过大（{} 字节），上限为 {} 字节",
                text.len(),
                limits.max_bytes
            ),
        ));
    }
    let root: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            return Err(file(
                "invalid_json",
                format!("不是有效的 JSON（第 {} 行第 {} 列）", e.line(), e.column()),
            ));
        }
    };
    let shapes = match root.get("type").and_then(Value::as_str) {
        Some("FeatureCollection") => {
            let Some(features) = root.get("features").and_then(Value::as_array) else {
                return Err(file(
                    "features_not_array",
                    "FeatureCollection 缺少 features 数组".into(),
                ));
            };
            if features.is_empty() {
                return Err(file(
                    "empty_collection",
                    "要素集合为空：features 中没有任何要素".into(),
                ));
            }
            let shapes: Vec<Option<GridShape>> = features
                .iter()
                .enumerate()
                .map(|(i, f)| feature(Subject::Item(i), f, limits, &mut problems))
                .collect();
            duplicates(&shapes, &mut problems);
            shapes
        }
        Some("Feature") => vec![feature(Subject::Feature, &root, limits, &mut problems)],
        Some(_) => {
            let mut sink = Sink::new(Subject::Geometry, None, &mut problems);
            vec![
                geometry(&mut sink, &root, limits)
                    .map(|polygon| shape(String::new(), None, polygon)),
            ]
        }
        None => {
            return Err(file(
                "not_geojson",
                "不是 GeoJSON：顶层缺少 type 字段".into(),
            ));
        }
    };
    if problems.is_empty() {
        Ok(shapes.into_iter().flatten().collect())
    } else {
        Err(problems)
    }
}

fn shape(code: String, name: Option<String>, polygon: MultiPolygon<f64>) -> GridShape {
    // Valid polygons have at least three distinct points, so the box exists; the zero box is
    // never seen in practice.
    let bbox = bbox(&polygon).unwrap_or((0.0, 0.0, 0.0, 0.0));
    GridShape {
        code,
        name,
        polygon,
        bbox,
    }
}

/// Later features repeating an earlier feature's code, each reported once.
fn duplicates(shapes: &[Option<GridShape>], problems: &mut Vec<Problem>) {
    let mut first: HashMap<&str, usize> = HashMap::new();
    for (i, s) in shapes.iter().enumerate() {
        let Some(s) = s else { continue };
        match first.get(s.code.as_str()) {
            Some(&j) => {
                let mut sink = Sink::new(Subject::Item(i), Some(s.code.clone()), problems);
                sink.push("code_duplicate", format!("的编码与第 {} 个要素重复", j + 1));
            }
            None => {
                first.insert(&s.code, i);
            }
        }
    }
}

/// Which part of the input a problem is about, for its message.
#[derive(Clone, Copy)]
enum Subject {
    Item(usize),
    Feature,
    Geometry,
}

/// Collects the problems of one feature under its label.
struct Sink<'a> {
    subject: Subject,
    code: Option<String>,
    out: &'a mut Vec<Problem>,
    pushed: usize,
}

impl<'a> Sink<'a> {
    fn new(subject: Subject, code: Option<String>, out: &'a mut Vec<Problem>) -> Self {
        Sink {
            subject,
            code,
            out,
            pushed: 0,
        }
    }

    fn push(&mut self, key: &'static str, detail: impl Display) {
        let code = self
            .code
            .as_deref()
            .map(|c| format!("（{c}）"))
            .unwrap_or_default();
        let (index, label) = match self.subject {
            Subject::Item(i) => (i, format!("第 {} 个要素{code}", i + 1)),
            Subject::Feature => (0, format!("要素{code}")),
            Subject::Geometry => (0, "几何图形".to_string()),
        };
        self.out.push(Problem {
            index,
            code: self.code.clone(),
            key,
            message: format!("{label}{detail}"),
        });
        self.pushed += 1;
    }
}

fn feature(
    subject: Subject,
    f: &Value,
    limits: &Limits,
    problems: &mut Vec<Problem>,
) -> Option<GridShape> {
    let Some(obj) = f.as_object() else {
        Sink::new(subject, None, problems).push("feature_invalid", "不是 JSON 对象");
        return None;
    };
    let props = obj.get("properties").and_then(Value::as_object);
    let code = props.and_then(|p| p.get("code"));
    let (code, code_ok) = match code {
        None | Some(Value::Null) => (None, true),
        Some(Value::String(s)) if !s.trim().is_empty() => (Some(s.trim().to_string()), true),
        Some(Value::String(_)) => (None, true),
        // A 15-digit grid code survives as a JSON number (below 2^53); accept it as text.
        Some(Value::Number(n)) if n.is_u64() => (Some(n.to_string()), true),
        Some(_) => (None, false),
    };
    let mut sink = Sink::new(subject, code.clone(), problems);
    if obj.get("type").and_then(Value::as_str) != Some("Feature") {
        sink.push("feature_invalid", "的 type 不是 Feature");
    }
    if !code_ok {
        sink.push("code_invalid", "的编码（properties.code）应为文本");
    } else if code.is_none() && matches!(subject, Subject::Item(_)) {
        sink.push("code_missing", "缺少网格编码（properties.code）");
    }
    let name = match props.and_then(|p| p.get("name")) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
        Some(_) => {
            sink.push("name_invalid", "的名称（properties.name）应为文本");
            None
        }
    };
    let polygon = match obj.get("geometry") {
        None | Some(Value::Null) => {
            sink.push("geometry_missing", "缺少几何图形（geometry）");
            None
        }
        Some(g) => geometry(&mut sink, g, limits),
    };
    if sink.pushed > 0 {
        return None;
    }
    polygon.map(|p| shape(code.unwrap_or_default(), name, p))
}

fn geometry(sink: &mut Sink<'_>, g: &Value, limits: &Limits) -> Option<MultiPolygon<f64>> {
    let before = sink.pushed;
    let ty = g.get("type").and_then(Value::as_str);
    let levels = match ty {
        Some("Polygon") => 2,
        Some("MultiPolygon") => 3,
        Some(other) => {
            sink.push(
                "geometry_type_unsupported",
                format!("的几何类型是 {other}，只接受 Polygon 或 MultiPolygon"),
            );
            return None;
        }
        None => {
            sink.push("geometry_invalid", "的几何图形缺少 type 字段");
            return None;
        }
    };
    let Some(coords) = g.get("coordinates").and_then(Value::as_array) else {
        sink.push("coordinates_malformed", "的几何图形缺少 coordinates 数组");
        return None;
    };
    let n = count_positions(coords, levels);
    if n > limits.max_vertices_per_feature {
        sink.push(
            "too_many_vertices",
            format!(
                "有 {n} 个坐标点，超过上限 {}；请先简化边界",
                limits.max_vertices_per_feature
            ),
        );
        return None;
    }
    let parts: Vec<&Value> = if levels == 2 {
        vec![&g["coordinates"]]
    } else {
        coords.iter().collect()
    };
    if parts.is_empty() {
        sink.push("polygon_empty", "的 MultiPolygon 中没有任何多边形");
        return None;
    }
    let multi = parts.len() > 1;
    let polygons: Vec<Option<Polygon<f64>>> = parts
        .iter()
        .enumerate()
        .map(|(k, p)| polygon(sink, p, multi.then_some(k)))
        .collect();
    if sink.pushed > before {
        return None;
    }
    let mp = MultiPolygon(polygons.into_iter().flatten().collect());
    for d in valid::defects(&mp) {
        sink.push(d.key, d.detail);
    }
    (sink.pushed == before).then(|| mp.orient(Direction::Default))
}

/// Positions in a coordinates array `levels` deep (2 for a Polygon), ignoring malformed parts
/// (reported later); cheap, so the vertex limit is enforced before any real work.
fn count_positions(v: &[Value], levels: usize) -> usize {
    if levels <= 1 {
        return v.len();
    }
    v.iter()
        .filter_map(Value::as_array)
        .map(|a| count_positions(a, levels - 1))
        .sum()
}

fn polygon(sink: &mut Sink<'_>, v: &Value, part: Option<usize>) -> Option<Polygon<f64>> {
    let Some(rings) = v.as_array() else {
        sink.push(
            "coordinates_malformed",
            format!("的{}坐标不是环的数组", part_label(part)),
        );
        return None;
    };
    if rings.is_empty() {
        sink.push(
            "polygon_empty",
            format!("的{}多边形没有任何环", part_label(part)),
        );
        return None;
    }
    let mut out: Vec<Option<LineString<f64>>> = Vec::with_capacity(rings.len());
    for (r, ring_value) in rings.iter().enumerate() {
        let label = format!("{}{}", part_label(part), ring_label(r));
        out.push(ring(sink, ring_value, &label));
    }
    let mut rings = out.into_iter().collect::<Option<Vec<_>>>()?.into_iter();
    let exterior = rings.next()?;
    Some(Polygon::new(exterior, rings.collect()))
}

/// Tallies one kind of bad position in a ring: how many, and the first.
#[derive(Default)]
struct Tally {
    count: usize,
    first: Option<(usize, String)>,
}

impl Tally {
    fn add(&mut self, at: usize, what: impl FnOnce() -> String) {
        self.count += 1;
        if self.first.is_none() {
            self.first = Some((at, what()));
        }
    }

    fn report(&self, sink: &mut Sink<'_>, key: &'static str, label: &str, text: &str) {
        if let Some((at, what)) = &self.first {
            let more = if self.count > 1 {
                format!("（共 {} 处）", self.count)
            } else {
                String::new()
            };
            sink.push(
                key,
                format!("的{label}第 {} 个坐标{what}{text}{more}", at + 1),
            );
        }
    }
}

fn ring(sink: &mut Sink<'_>, v: &Value, label: &str) -> Option<LineString<f64>> {
    let Some(positions) = v.as_array() else {
        sink.push("coordinates_malformed", format!("的{label}不是坐标数组"));
        return None;
    };
    let mut coords = Vec::with_capacity(positions.len());
    let mut first_out_of_range = None;
    let (mut malformed, mut not_number, mut not_finite, mut out_of_range) = (
        Tally::default(),
        Tally::default(),
        Tally::default(),
        Tally::default(),
    );
    for (k, p) in positions.iter().enumerate() {
        let Some(xy) = p.as_array().filter(|a| a.len() >= 2) else {
            malformed.add(k, || format!(" {p} "));
            continue;
        };
        let (Some(x), Some(y)) = (xy[0].as_f64(), xy[1].as_f64()) else {
            not_number.add(k, || format!(" {p} "));
            continue;
        };
        if !x.is_finite() || !y.is_finite() {
            not_finite.add(k, String::new);
            continue;
        }
        if !(-180.0..=180.0).contains(&x) || !(-90.0..=90.0).contains(&y) {
            out_of_range.add(k, || format!(" [{x}, {y}] "));
            first_out_of_range.get_or_insert((x, y));
            continue;
        }
        coords.push(Coord { x, y });
    }
    malformed.report(
        sink,
        "coordinates_malformed",
        label,
        "不是 [经度, 纬度] 数组",
    );
    not_number.report(sink, "coordinate_not_number", label, "含有非数字");
    not_finite.report(sink, "coordinate_not_finite", label, "不是有限数");
    if let Some((x, y)) = first_out_of_range {
        let hint = range_hint(x, y);
        out_of_range.report(
            sink,
            "coordinate_out_of_range",
            label,
            &format!("超出经纬度范围（经度 -180～180，纬度 -90～90）{hint}"),
        );
    }
    let bad = malformed.count + not_number.count + not_finite.count + out_of_range.count;
    if positions.len() < 4 {
        sink.push(
            "ring_too_few_positions",
            format!(
                "的{label}只有 {} 个坐标，至少需要 4 个（首尾为同一点）",
                positions.len()
            ),
        );
        return None;
    }
    if bad > 0 {
        return None;
    }
    let (first, last) = (coords[0], coords[coords.len() - 1]);
    if first != last {
        sink.push(
            "ring_not_closed",
            format!(
                "的{label}未闭合：首点 {} 与末点 {} 不同",
                point(first),
                point(last)
            ),
        );
        return None;
    }
    Some(LineString(coords))
}

/// A guess at why a position is out of range, for the message.
fn range_hint(x: f64, y: f64) -> &'static str {
    if x.abs() > 1000.0 || y.abs() > 1000.0 {
        "；看起来是投影坐标（米），请导出为 WGS84 经纬度"
    } else if x.abs() <= 90.0 && y.abs() > 90.0 {
        "；可能经纬度写反了，GeoJSON 的顺序是 [经度, 纬度]"
    } else {
        ""
    }
}
