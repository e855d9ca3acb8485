//! One document tree, written as JSON or as XML, so that both formats always carry the same
//! fields. Lists name the XML element of their items (`services` → `service`); JSON ignores it.
//! The XML writer escapes the five predefined entities and drops the characters XML 1.0 cannot
//! carry at all, so no input can break the document.

/// A value of a GeoReport document.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Null,
    Bool(bool),
    Int(i64),
    /// A decimal already formatted (coordinates keep their six places exactly).
    Dec(String),
    Str(String),
    Obj(Vec<(&'static str, Node)>),
    /// Items and the XML element name of each.
    List(&'static str, Vec<Node>),
}

impl Node {
    pub fn str(s: impl Into<String>) -> Node {
        Node::Str(s.into())
    }
    /// A string, or null when empty (the specification's optional fields).
    pub fn opt(s: impl Into<String>) -> Node {
        let s = s.into();
        if s.is_empty() {
            Node::Null
        } else {
            Node::Str(s)
        }
    }
}

/// `39.9165` from degrees × 10⁶.
pub fn degrees(e6: i64) -> Node {
    let sign = if e6 < 0 { "-" } else { "" };
    let a = e6.unsigned_abs();
    let mut s = format!("{sign}{}.{:06}", a / 1_000_000, a % 1_000_000);
    while s.ends_with('0') {
        s.pop();
    }
    if s.ends_with('.') {
        s.push('0');
    }
    Node::Dec(s)
}

pub fn to_json(n: &Node) -> String {
    let mut out = String::new();
    json(n, &mut out);
    out
}

fn json(n: &Node, out: &mut String) {
    match n {
        Node::Null => out.push_str("null"),
        Node::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Node::Int(i) => out.push_str(&i.to_string()),
        Node::Dec(d) => out.push_str(d),
        Node::Str(s) => out.push_str(&serde_json::Value::from(s.as_str()).to_string()),
        Node::Obj(fields) => {
            out.push('{');
            for (i, (k, v)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::Value::from(*k).to_string());
                out.push(':');
                json(v, out);
            }
            out.push('}');
        }
        Node::List(_, items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json(v, out);
            }
            out.push(']');
        }
    }
}

/// The document as XML with `root` as its root element.
pub fn to_xml(root: &'static str, n: &Node) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    element(root, n, &mut out);
    out
}

fn element(tag: &str, n: &Node, out: &mut String) {
    match n {
        Node::Null => {
            out.push('<');
            out.push_str(tag);
            out.push_str("/>");
            return;
        }
        _ => {
            out.push('<');
            out.push_str(tag);
            out.push('>');
        }
    }
    match n {
        Node::Null => {}
        Node::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Node::Int(i) => out.push_str(&i.to_string()),
        Node::Dec(d) => escape(d, out),
        Node::Str(s) => escape(s, out),
        Node::Obj(fields) => {
            for (k, v) in fields {
                element(k, v, out);
            }
        }
        Node::List(item, items) => {
            for v in items {
                element(item, v, out);
            }
        }
    }
    out.push_str("</");
    out.push_str(tag);
    out.push('>');
}

/// Character data: `&`, `<`, `>`, quotes escaped; characters outside XML 1.0's `Char` dropped.
pub fn escape(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 => {}
            '\u{FFFE}' | '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Node {
        Node::List(
            "request",
            vec![Node::Obj(vec![
                ("service_request_id", Node::str("110101-20261121-000001")),
                ("description", Node::str("井盖<破损> & \"危险\"\u{1}")),
                ("lat", degrees(39_916_500)),
                ("long", degrees(-116_000_000)),
                ("media_url", Node::Null),
                ("metadata", Node::Bool(true)),
                ("order", Node::Int(2)),
                (
                    "values",
                    Node::List("value", vec![Node::Obj(vec![("key", Node::str("a"))])]),
                ),
            ])],
        )
    }

    #[test]
    fn json_keeps_field_order_and_escapes() {
        let j = to_json(&doc());
        assert!(j.starts_with("[{\"service_request_id\":\"110101-20261121-000001\""));
        let v: serde_json::Value = serde_json::from_str(&j).unwrap_or_default();
        assert_eq!(v[0]["description"], "井盖<破损> & \"危险\"\u{1}");
        assert_eq!(v[0]["lat"], 39.9165);
        assert_eq!(v[0]["long"], -116.0);
        assert!(v[0]["media_url"].is_null());
        assert_eq!(v[0]["values"][0]["key"], "a");
    }

    #[test]
    fn xml_is_escaped_and_well_formed() {
        let x = to_xml("service_requests", &doc());
        assert!(x.starts_with(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<service_requests><request>"
        ));
        assert!(x.contains("<description>井盖&lt;破损&gt; &amp; &quot;危险&quot;</description>"));
        assert!(x.contains("<lat>39.9165</lat><long>-116.0</long><media_url/>"));
        assert!(x.contains("<values><value><key>a</key></value></values>"));
        assert!(x.ends_with("</request></service_requests>"));
    }

    #[test]
    fn degrees_format() {
        assert_eq!(degrees(0), Node::Dec("0.0".into()));
        assert_eq!(degrees(116_407_500), Node::Dec("116.4075".into()));
        assert_eq!(degrees(-1), Node::Dec("-0.000001".into()));
    }
}
