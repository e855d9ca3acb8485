//! Open311 GeoReport v2 conformance: every endpoint in JSON and XML, the error documents, the
//! filters, the 1,000-result cap and the 90-day window, UTF-8 round trips, the public-data
//! policy, API keys (issued by administrators, scoped to units, revocable), locations outside
//! the jurisdiction — and the real third-party Python client `georeport` against a live
//! `linli serve`.

use std::collections::HashMap;
use std::process::Command;

use linli_testkit::T0;
use serde_json::{Value, json};

use crate::support::{TestApp, spawn_app, spawn_app_with};

const V2: &str = "/open311/v2";

/// An answer: status, content type, raw text and (for JSON) the parsed body.
struct Ans {
    status: u16,
    ctype: String,
    text: String,
    json: Value,
}

impl Ans {
    /// The first error's code and description (JSON).
    fn err(&self) -> (i64, String) {
        (
            self.json[0]["code"].as_i64().unwrap_or(0),
            self.json[0]["description"]
                .as_str()
                .unwrap_or("")
                .to_string(),
        )
    }
}

async fn answer(r: reqwest::Response) -> Ans {
    let status = r.status().as_u16();
    let ctype = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let text = r.text().await.unwrap();
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    Ans {
        status,
        ctype,
        text,
        json,
    }
}

async fn get(t: &TestApp, path: &str) -> Ans {
    answer(
        reqwest::get(format!("{}{V2}/{path}", t.base))
            .await
            .unwrap(),
    )
    .await
}

async fn post(t: &TestApp, path: &str, form: &[(&str, &str)]) -> Ans {
    answer(
        reqwest::Client::new()
            .post(format!("{}{V2}/{path}", t.base))
            .form(form)
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// The XML document's root, parsed by a real XML reader (any escaping slip fails here).
fn xml(a: &Ans) -> roxmltree::Document<'_> {
    assert!(a.ctype.starts_with("text/xml"), "{}", a.ctype);
    assert!(
        a.text
            .starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>"),
        "{}",
        a.text
    );
    roxmltree::Document::parse(&a.text).unwrap_or_else(|e| panic!("{e}: {}", a.text))
}

/// The children elements of `n` as (name → text) for leaf children.
fn fields(n: roxmltree::Node<'_, '_>) -> HashMap<String, String> {
    n.children()
        .filter(|c| c.is_element())
        .map(|c| {
            (
                c.tag_name().name().to_string(),
                c.text().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn items<'a, 'i>(root: roxmltree::Node<'a, 'i>, name: &str) -> Vec<roxmltree::Node<'a, 'i>> {
    root.children()
        .filter(|c| c.is_element() && c.tag_name().name() == name)
        .collect()
}

/// Issue a key through the admin API for the units with these codes; returns the key.
async fn make_key(t: &TestApp, units: &[&str]) -> String {
    let admin = t.login("admin").await;
    let mut ids = Vec::new();
    for u in units {
        ids.push(t.unit_id(u).await);
    }
    let r = admin
        .post(
            "/api/v1/open311-keys",
            json!({"name": "随手拍 App", "unit_ids": ids}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.body["api_key"].as_str().unwrap().to_string()
}

/// A service code of the demo catalogue.
async fn a_service(t: &TestApp) -> String {
    let s = get(t, "services.json").await;
    assert_eq!(s.status, 200, "{}", s.text);
    s.json[0]["service_code"].as_str().unwrap().to_string()
}

/// File a request; returns the whole answer.
async fn file(t: &TestApp, key: &str, code: &str, extra: &[(&str, &str)]) -> Ans {
    let mut form = vec![
        ("api_key", key),
        ("service_code", code),
        ("lat", "39.9165"),
        ("long", "116.4075"),
        ("description", "东华门大街路灯不亮，晚上很黑。"),
    ];
    for (k, v) in extra {
        form.retain(|(k2, _)| k2 != k);
        form.push((*k, *v));
    }
    post(t, "requests.json", &form).await
}

#[tokio::test]
async fn services_and_definitions_in_both_formats() {
    let t = spawn_app().await;
    let j = get(&t, "services.json").await;
    assert_eq!(j.status, 200);
    assert!(j.ctype.starts_with("application/json"), "{}", j.ctype);
    let list = j.json.as_array().unwrap();
    assert!(list.len() > 10, "{}", j.text);
    let s = &list[0];
    for f in [
        "service_code",
        "service_name",
        "description",
        "metadata",
        "type",
        "keywords",
        "group",
    ] {
        assert!(s.get(f).is_some(), "{f} in {s}");
    }
    assert_eq!(s["metadata"], true);
    assert_eq!(s["type"], "realtime");
    assert!(s["group"].as_str().unwrap().contains('/'), "{s}");
    let code = s["service_code"].as_str().unwrap().to_string();

    let x = get(&t, "services.xml").await;
    assert_eq!(x.status, 200);
    let doc = xml(&x);
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "services");
    let svc = items(root, "service");
    assert_eq!(svc.len(), list.len());
    let f = fields(svc[0]);
    assert_eq!(f["service_code"], code);
    assert_eq!(f["service_name"], s["service_name"].as_str().unwrap());
    assert_eq!(f["metadata"], "true");

    // The definition: the request type list and the title.
    let d = get(&t, &format!("services/{code}.json")).await;
    assert_eq!(d.status, 200, "{}", d.text);
    assert_eq!(d.json["service_code"], code.as_str());
    let attrs = d.json["attributes"].as_array().unwrap();
    assert_eq!(attrs[0]["code"], "request_type");
    assert_eq!(attrs[0]["datatype"], "singlevaluelist");
    assert_eq!(attrs[0]["variable"], true);
    assert_eq!(attrs[0]["required"], false);
    assert_eq!(attrs[0]["order"], 1);
    let values = attrs[0]["values"].as_array().unwrap();
    assert!(
        values
            .iter()
            .any(|v| v["key"] == "complaint" && v["name"] == "投诉")
    );
    let dx = get(&t, &format!("services/{code}.xml")).await;
    let doc = xml(&dx);
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "service_definition");
    assert_eq!(fields(root)["service_code"], code);
    let attributes = items(root, "attributes");
    let attr = items(attributes[0], "attribute");
    assert_eq!(attr.len(), attrs.len());
    assert_eq!(fields(attr[0])["datatype"], "singlevaluelist");
    let vals = items(items(attr[0], "values")[0], "value");
    assert_eq!(vals.len(), values.len());

    // Unknown service: 404 in the error format of the asked format.
    let e = get(&t, "services/99.99.99.json").await;
    assert_eq!(e.status, 404);
    assert_eq!(e.err().0, 404);
    let ex = get(&t, "services/99.99.99.xml").await;
    assert_eq!(ex.status, 404);
    let doc = xml(&ex);
    assert_eq!(doc.root_element().tag_name().name(), "errors");
    let err = items(doc.root_element(), "error");
    assert_eq!(fields(err[0])["code"], "404");
    assert!(!fields(err[0])["description"].is_empty());

    // jurisdiction_id: ours, empty (none) or someone else's.
    assert_eq!(
        get(&t, "services.json?jurisdiction_id=110101").await.status,
        200
    );
    assert_eq!(get(&t, "services.json?jurisdiction_id=").await.status, 200);
    let other = get(&t, "services.json?jurisdiction_id=310101").await;
    assert_eq!(other.status, 404);
    assert_eq!(other.err().0, 404);
    assert!(other.err().1.contains("310101"), "{}", other.text);
    // Formats and paths that are not resources.
    assert_eq!(get(&t, "services.csv").await.status, 404);
    assert_eq!(get(&t, "services").await.status, 404);
    assert_eq!(get(&t, "nothing.json").await.status, 404);
    let deep = answer(
        reqwest::get(format!("{}/open311/v3/services.json", t.base))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(deep.status, 404);
    assert_eq!(deep.err().0, 404);
}

#[tokio::test]
async fn filing_reading_and_tokens_in_both_formats() {
    let t = spawn_app().await;
    let key = make_key(&t, &["110101001"]).await;
    let code = a_service(&t).await;
    // UTF-8 both ways, with characters XML and JSON must escape.
    let text = "井盖<丢失> & \"危险\"：东华门大街 12 号门前 🚧\n已有行人差点踩空。";
    let r = file(
        &t,
        &key,
        &code,
        &[
            ("description", text),
            ("address_string", "东华门大街12号"),
            ("first_name", "三"),
            ("last_name", "张"),
            ("phone", "13812345678"),
            ("email", "zhang@example.cn"),
            ("media_url", "https://img.example.cn/a.jpg"),
            ("attribute[request_type]", "complaint"),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let id = r.json[0]["service_request_id"]
        .as_str()
        .unwrap()
        .to_string();
    let token = r.json[0]["token"].as_str().unwrap().to_string();
    assert!(id.starts_with("110101-"), "{id}");
    assert!(r.json[0]["service_notice"].as_str().unwrap().contains(&id));

    // The same in XML, with the key in the query string.
    let x = answer(
        reqwest::Client::new()
            .post(format!("{}{V2}/requests.xml?api_key={key}", t.base))
            .form(&[
                ("service_code", code.as_str()),
                ("address_string", "景山前街4号"),
                ("description", "路面塌陷 <深约半米>"),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(x.status, 200, "{}", x.text);
    let doc = xml(&x);
    assert_eq!(doc.root_element().tag_name().name(), "service_requests");
    let req = items(doc.root_element(), "request");
    let id2 = fields(req[0])["service_request_id"].clone();
    assert!(id2.starts_with("110101-") && id2 != id);

    // One request: an array of one, public fields only.
    let one = get(&t, &format!("requests/{id}.json")).await;
    assert_eq!(one.status, 200, "{}", one.text);
    let arr = one.json.as_array().unwrap();
    assert_eq!(arr.len(), 1);
    let o = &arr[0];
    assert_eq!(o["service_request_id"], id.as_str());
    assert_eq!(o["status"], "open");
    assert_eq!(o["status_notes"], "待立案");
    assert_eq!(o["service_code"], code.as_str());
    assert_eq!(o["description"], text);
    assert_eq!(o["address"], "东华门大街12号");
    assert_eq!(o["lat"], 39.9165);
    assert_eq!(o["long"], 116.4075);
    assert_eq!(o["media_url"], "https://img.example.cn/a.jpg");
    assert_eq!(o["agency_responsible"], "东华门街道");
    assert!(
        o["requested_datetime"]
            .as_str()
            .unwrap()
            .ends_with("+08:00")
    );
    assert!(o["expected_datetime"].is_null());
    for f in [
        "service_name",
        "service_notice",
        "updated_datetime",
        "address_id",
        "zipcode",
    ] {
        assert!(o.get(f).is_some(), "{f}");
    }
    assert!(o.get("extended_attributes").is_none());
    for secret in ["张三", "13812345678", "138****5678", "zhang@example.cn"] {
        assert!(!one.text.contains(secret), "{secret} leaked: {}", one.text);
    }
    let ox = get(&t, &format!("requests/{id}.xml")).await;
    let doc = xml(&ox);
    let req = items(doc.root_element(), "request");
    assert_eq!(req.len(), 1);
    let f = fields(req[0]);
    assert_eq!(f["description"], text);
    assert_eq!(f["status"], "open");
    assert_eq!(f["lat"], "39.9165");
    assert_eq!(f["zipcode"], "");
    // The finer state on request.
    let ext = get(&t, &format!("requests/{id}.json?extensions=true")).await;
    let e = &ext.json[0]["extended_attributes"];
    assert_eq!(e["linli_state"], "pending");
    assert_eq!(e["request_type"], "complaint");
    assert_eq!(e["channel"], "open311");
    let extx = get(&t, &format!("requests/{id}.xml?extensions=true")).await;
    let doc = xml(&extx);
    let req = items(doc.root_element(), "request");
    let ea = items(req[0], "extended_attributes");
    assert_eq!(fields(ea[0])["linli_state_label"], "待立案");

    // Tokens.
    let tk = get(&t, &format!("tokens/{token}.json")).await;
    assert_eq!(tk.status, 200, "{}", tk.text);
    assert_eq!(tk.json[0]["service_request_id"], id.as_str());
    assert_eq!(tk.json[0]["token"], token.as_str());
    let tkx = get(&t, &format!("tokens/{token}.xml")).await;
    let doc = xml(&tkx);
    assert_eq!(
        fields(items(doc.root_element(), "request")[0])["service_request_id"],
        id
    );
    assert_eq!(get(&t, "tokens/not-a-token.json").await.status, 404);
    assert_eq!(
        get(&t, &format!("tokens/{}.json", uuid::Uuid::now_v7()))
            .await
            .status,
        404
    );
    assert_eq!(
        get(&t, "requests/110101-20000101-999999.json").await.status,
        404
    );
    assert_eq!(get(&t, "requests/<script>.xml").await.status, 404);

    // The search sees both, newest first, in both formats.
    let all = get(&t, "requests.json").await;
    assert_eq!(all.status, 200);
    let ids: Vec<&str> = all
        .json
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["service_request_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![id2.as_str(), id.as_str()]);
    let allx = get(&t, "requests.xml").await;
    let doc = xml(&allx);
    assert_eq!(items(doc.root_element(), "request").len(), 2);

    // The case is a real case: the street's people see it, with the requester.
    let street = t.login("donghuamen").await;
    let c = street.get(&format!("/api/v1/cases/by-number/{id}")).await;
    assert_eq!(c.status, 200, "{}", c.text);
    assert_eq!(c.body["channel"], "open311");
    assert_eq!(c.body["request_type"], "complaint");
    assert_eq!(c.body["description"], text);

    // A repeat of the same submission the same day is the same case; so is a repeated
    // Idempotency-Key.
    let again = file(
        &t,
        &key,
        &code,
        &[
            ("description", text),
            ("address_string", "东华门大街12号"),
            ("first_name", "三"),
            ("last_name", "张"),
            ("phone", "13812345678"),
            ("email", "zhang@example.cn"),
            ("media_url", "https://img.example.cn/a.jpg"),
            ("attribute[request_type]", "complaint"),
        ],
    )
    .await;
    assert_eq!(again.json[0]["service_request_id"], id.as_str());
    let idem = |desc: &'static str| {
        let (base, key, code) = (t.base.clone(), key.clone(), code.clone());
        async move {
            answer(
                reqwest::Client::new()
                    .post(format!("{base}{V2}/requests.json"))
                    .header("idempotency-key", "order-77")
                    .form(&[
                        ("api_key", key.as_str()),
                        ("service_code", code.as_str()),
                        ("address_string", "东华门"),
                        ("description", desc),
                    ])
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    let a = idem("第一次提交").await;
    let b = idem("网络重试，同一个幂等键").await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(
        a.json[0]["service_request_id"],
        b.json[0]["service_request_id"]
    );
}

#[tokio::test]
async fn bad_input_and_keys_answer_in_the_error_format() {
    let t = spawn_app().await;
    let key = make_key(&t, &["110101001"]).await;
    let code = a_service(&t).await;

    // Wrong, missing, malformed or revoked keys: 403, in both formats.
    let wrong = format!("o311_110101_{}", "x".repeat(43));
    let r = file(&t, &wrong, &code, &[]).await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert_eq!(r.err().0, 403);
    assert!(r.err().1.contains("api_key"), "{}", r.text);
    let r = post(
        &t,
        "requests.xml",
        &[("api_key", "nonsense"), ("service_code", &code)],
    )
    .await;
    assert_eq!(r.status, 403);
    let doc = xml(&r);
    assert_eq!(fields(items(doc.root_element(), "error")[0])["code"], "403");
    let r = post(&t, "requests.json", &[("service_code", &code)]).await;
    assert_eq!(r.status, 403);
    // A key of another district never works here.
    let other = format!("o311_310101_{}", &key[12..]);
    assert_eq!(file(&t, &other, &code, &[]).await.status, 403);

    // Missing and malformed fields: 400 with a description.
    let long_name = "名".repeat(51);
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![("service_code", "")], "service_code"),
        (vec![("service_code", "99.99.99")], "服务"),
        (vec![("description", "")], "description"),
        (vec![("description", " \n ")], "description"),
        (vec![("lat", "abc")], "lat"),
        (vec![("lat", "")], "lat"),
        (vec![("email", "not-an-email")], "email"),
        (vec![("media_url", "javascript:alert(1)")], "media_url"),
        (vec![("attribute[colour]", "red")], "colour"),
        (vec![("attribute[request_type]", "gossip")], "request_type"),
        (vec![("phone", "12")], "电话"),
        (vec![("first_name", long_name.as_str())], "first_name"),
    ];
    for (extra, needle) in &cases {
        let r = file(&t, &key, &code, extra).await;
        assert_eq!(r.status, 400, "{extra:?}: {}", r.text);
        assert_eq!(r.err().0, 400);
        assert!(r.err().1.contains(needle), "{extra:?}: {}", r.text);
    }
    // Length limits: description 4,000 characters (Chinese counts per character).
    let long = "长".repeat(4001);
    let r = file(&t, &key, &code, &[("description", &long)]).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.err().1.contains("4000"), "{}", r.text);
    let ok = "长".repeat(4000);
    let r = file(&t, &key, &code, &[("description", &ok)]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let addr = "路".repeat(201);
    let r = post(
        &t,
        "requests.json",
        &[
            ("api_key", &key),
            ("service_code", &code),
            ("address_string", &addr),
            ("description", "x"),
        ],
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text);
    // No location at all.
    let r = post(
        &t,
        "requests.json",
        &[
            ("api_key", &key),
            ("service_code", &code),
            ("description", "x"),
        ],
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(r.err().1.contains("lat"), "{}", r.text);
    // Outside China (and a hint when lat/long look swapped).
    let r = file(&t, &key, &code, &[("lat", "37.77"), ("long", "-122.42")]).await;
    assert_eq!(r.status, 400);
    assert!(
        r.err().1.contains("中国") && r.err().1.contains("outside"),
        "{}",
        r.text
    );
    let r = file(&t, &key, &code, &[("lat", "116.4"), ("long", "39.9")]).await;
    assert_eq!(r.status, 400);
    assert!(r.err().1.contains("填反"), "{}", r.text);
    // A body that is not a form, a repeated parameter, an oversized body.
    let r = answer(
        reqwest::Client::new()
            .post(format!("{}{V2}/requests.json", t.base))
            .json(&json!({"api_key": key}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.err().0, 400);
    let r = post(
        &t,
        &format!("requests.json?service_code={code}"),
        &[("api_key", &key), ("service_code", &code)],
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(r.err().1.contains("重复"), "{}", r.text);
    let huge = "x".repeat(70 * 1024);
    let r = post(
        &t,
        "requests.json",
        &[("api_key", &key), ("description", &huge)],
    )
    .await;
    assert_eq!(r.status, 413);

    // Search parameters.
    for (q, needle) in [
        ("status=pending", "status"),
        ("start_date=yesterday", "start_date"),
        (
            "start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z",
            "90",
        ),
        (
            "start_date=2026-11-20T00:00:00Z&end_date=2026-11-01T00:00:00Z",
            "start_date",
        ),
        ("page_size=1001", "page_size"),
        ("page=0", "page"),
        ("service_code=a'b", "service_code"),
        ("extensions=maybe", "extensions"),
    ] {
        let r = get(&t, &format!("requests.json?{q}")).await;
        assert_eq!(r.status, 400, "{q}: {}", r.text);
        assert!(r.err().1.contains(needle), "{q}: {}", r.text);
        let x = get(&t, &format!("requests.xml?{q}")).await;
        assert_eq!(x.status, 400);
        xml(&x);
    }
    let params: Vec<String> = (0..101).map(|i| format!("p{i}=1")).collect();
    let r = get(&t, &format!("requests.json?{}", params.join("&"))).await;
    assert_eq!(r.status, 400, "{}", r.text);
    let many: Vec<String> = (0..201)
        .map(|i| format!("110101-20261121-{i:06}"))
        .collect();
    let r = get(
        &t,
        &format!("requests.json?service_request_id={}", many.join(",")),
    )
    .await;
    assert_eq!(r.status, 400);

    // Revoked keys stop working at once.
    let admin = t.login("admin").await;
    let keys = admin.get("/api/v1/open311-keys").await;
    assert_eq!(keys.status, 200);
    let id = keys.body[0]["id"].as_str().unwrap().to_string();
    assert!(key.starts_with(keys.body[0]["prefix"].as_str().unwrap()));
    assert!(keys.body[0]["last_used_at"].is_string());
    assert_eq!(
        admin
            .delete(&format!("/api/v1/open311-keys/{id}"))
            .await
            .status,
        204
    );
    assert_eq!(file(&t, &key, &code, &[]).await.status, 403);
    assert_eq!(
        admin
            .delete(&format!("/api/v1/open311-keys/{id}"))
            .await
            .status,
        409
    );
}

#[tokio::test]
async fn keys_are_issued_by_administrators_for_receiving_units_only() {
    let t = spawn_app().await;
    let admin = t.login("admin").await;
    let street = t.unit_id("110101001").await;
    // People without open311.manage cannot issue or list keys.
    for who in ["hotline", "dongcheng", "secadmin"] {
        let c = t.login(who).await;
        let r = c
            .post(
                "/api/v1/open311-keys",
                json!({"name": "x", "unit_ids": [street]}),
            )
            .await;
        assert_eq!(r.status, 403, "{who}: {}", r.text);
        assert_eq!(c.get("/api/v1/open311-keys").await.status, 403);
    }
    // Receiving units only (district or street), of one district.
    let community = t.unit_id("110101001001").await;
    let r = admin
        .post(
            "/api/v1/open311-keys",
            json!({"name": "x", "unit_ids": [community]}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.key(), "invalid_units");
    let r = admin
        .post("/api/v1/open311-keys", json!({"name": "x", "unit_ids": []}))
        .await;
    assert_eq!(r.status, 422);
    let r = admin
        .post(
            "/api/v1/open311-keys",
            json!({"name": "", "unit_ids": [street]}),
        )
        .await;
    assert_eq!(r.status, 422);
    let r = admin
        .post(
            "/api/v1/open311-keys",
            json!({"name": "多个单位", "unit_ids": [street, t.unit_id("110101").await]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert!(
        r.body["api_key"]
            .as_str()
            .unwrap()
            .starts_with("o311_110101_")
    );
    assert_eq!(r.body["info"]["units"][0]["code"], "110101001");
    assert_eq!(r.body["info"]["units"][1]["code"], "110101");
    // Only the hash is stored.
    let secret = r.body["api_key"].as_str().unwrap().to_string();
    let stored: i64 = t
        .app
        .db
        .fetch_one_i64(
            "SELECT COUNT(*) AS n FROM open311_keys WHERE prefix = $1",
            linli_store::args![r.body["info"]["prefix"].as_str().unwrap()],
        )
        .await
        .unwrap();
    assert_eq!(stored, 1);
    let plain: i64 = t
        .app
        .db
        .fetch_one_i64(
            "SELECT COUNT(*) AS n FROM open311_keys WHERE name = $1 OR prefix = $1",
            linli_store::args![secret.clone()],
        )
        .await
        .unwrap();
    assert_eq!(plain, 0);
    // Issuing and revoking are audited.
    let auditor = t.login("auditor").await;
    let a = auditor.get("/api/v1/audit?action=open311.key_create").await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert!(a.text.contains("open311.key_create"), "{}", a.text);
    assert!(!a.text.contains(&secret));
    // The console page lists it and issues new ones, showing the key once.
    let page = admin.get_html("/console/open311-keys").await;
    assert_eq!(page.status, 200);
    assert!(
        crate::support::text_of(&page.text, "table tbody tr td")
            .unwrap()
            .contains("多个单位")
    );
    let csrf = crate::support::attr(&page.text, "input[name=csrf]", "value").unwrap();
    let created = admin
        .http
        .post(format!("{}/console/open311-keys", t.base))
        .form(&[
            ("csrf", csrf.as_str()),
            ("name", "控制台签发"),
            ("unit_id", street.as_str()),
            ("more_units", "110101002\n110101003"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 200);
    let html = created.text().await.unwrap();
    let shown = crate::support::text_of(&html, "#secret").unwrap();
    assert!(shown.starts_with("o311_110101_"), "{shown}");
    let keys = admin.get("/api/v1/open311-keys").await;
    let k = keys
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "控制台签发")
        .unwrap();
    assert_eq!(k["units"].as_array().unwrap().len(), 3);
    let hotline_page = t
        .login("hotline")
        .await
        .get_html("/console/open311-keys")
        .await;
    assert_eq!(hotline_page.status, 403);
}

#[tokio::test]
async fn a_key_for_one_unit_cannot_report_for_another() {
    let t = spawn_app().await;
    let key = make_key(&t, &["110101001"]).await;
    let code = a_service(&t).await;
    // 景山街道 is not the key's.
    for fmt in ["json", "xml"] {
        let r = post(
            &t,
            &format!("requests.{fmt}"),
            &[
                ("api_key", &key),
                ("service_code", &code),
                ("address_string", "景山前街"),
                ("description", "越权上报"),
                ("unit_code", "110101002"),
            ],
        )
        .await;
        assert_eq!(r.status, 403, "{}", r.text);
        if fmt == "json" {
            assert!(r.err().1.contains("110101002"), "{}", r.text);
        } else {
            xml(&r);
        }
    }
    // Nor for the district above it.
    let r = file(&t, &key, &code, &[("unit_code", "110101")]).await;
    assert_eq!(r.status, 403);
    let n: i64 = t
        .app
        .db
        .fetch_one_i64(
            "SELECT COUNT(*) AS n FROM cases WHERE channel = 'open311'",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(n, 0, "nothing was filed");
    // Its own unit works, and the case is received there.
    let r = file(&t, &key, &code, &[("unit_code", "110101001")]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let id = r.json[0]["service_request_id"].as_str().unwrap();
    let owner = t
        .app
        .db
        .fetch_optional(
            "SELECT o.code FROM cases c JOIN org_units o ON o.id = c.owner_id WHERE c.number = $1",
            linli_store::args![id],
            |r| r.text("code"),
        )
        .await
        .unwrap();
    assert_eq!(owner.as_deref(), Some("110101001"));
    // The key reads no case through the staff API either.
    let c = reqwest::Client::new()
        .get(format!("{}/api/v1/cases", t.base))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(c.status(), 401);
}

fn square(w: f64, s: f64, e: f64, n: f64) -> String {
    format!(
        r#"{{"type":"FeatureCollection","features":[{{"type":"Feature","properties":{{"code":"110101","name":"东城区"}},
        "geometry":{{"type":"MultiPolygon","coordinates":[[[[{w},{s}],[{e},{s}],[{e},{n}],[{w},{n}],[{w},{s}]]]]}}}}]}}"#
    )
}

#[tokio::test]
async fn locations_outside_the_jurisdiction_are_refused_with_a_helpful_message() {
    // 东城区, roughly.
    let b = linli_app::open311::parse_boundaries(square(116.38, 39.86, 116.45, 39.97).as_bytes())
        .unwrap();
    let web = linli_web::WebConfig {
        open311: linli_app::open311::Settings::new(
            Some("110101".into()),
            b,
            vec![linli_domain::case::Channel::Open311],
        ),
        ..Default::default()
    };
    let t = spawn_app_with(web).await;
    let key = make_key(&t, &["110101"]).await;
    let code = a_service(&t).await;
    // Inside.
    assert_eq!(file(&t, &key, &code, &[]).await.status, 200);
    // 西城区 (west of the box): refused in Chinese and English.
    for fmt in ["json", "xml"] {
        let r = post(
            &t,
            &format!("requests.{fmt}"),
            &[
                ("api_key", &key),
                ("service_code", &code),
                ("lat", "39.9123"),
                ("long", "116.3660"),
                ("description", "西城的诉求"),
            ],
        )
        .await;
        assert_eq!(r.status, 400, "{}", r.text);
        let d = if fmt == "json" {
            r.err().1
        } else {
            let doc = xml(&r);
            fields(items(doc.root_element(), "error")[0])["description"].clone()
        };
        assert!(d.contains("不在东城区辖区内"), "{d}");
        assert!(d.contains("outside the jurisdiction"), "{d}");
        assert!(d.contains("WGS84"), "{d}");
    }
    // lat/long swapped inside the box: told so.
    let r = file(&t, &key, &code, &[("lat", "116.40"), ("long", "39.90")]).await;
    assert_eq!(r.status, 400);
    assert!(r.err().1.contains("填反"), "{}", r.text);
    // An address alone is not checked against the map.
    let r = post(
        &t,
        "requests.json",
        &[
            ("api_key", &key),
            ("service_code", &code),
            ("address_string", "东城区某处"),
            ("description", "只有地址"),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    // The configured jurisdiction is the one accepted.
    assert_eq!(
        get(&t, "services.json?jurisdiction_id=110102").await.status,
        404
    );
}

/// Raw public cases for the window and the cap (1,000 through HTTP would take minutes).
async fn raw_cases(t: &TestApp, n: usize, received: linli_domain::Ts, prefix: &str) {
    let d = linli_store::repo::org::get_by_code(&t.app.db, "110101")
        .await
        .unwrap()
        .unwrap();
    let mut tx = t.app.db.begin_write().await.unwrap();
    for i in 0..n {
        let at = received.plus_secs(i as i64);
        tx.execute(
            "INSERT INTO cases (tenant, id, number, channel, request_type, urgency, state, title, description,
                category_code, category_name, anonymous, owner_id, owner_path, received_at, created_at, updated_at, version)
             VALUES ('110101', $1, $2, 'patrol', 'help', 'normal', $3, '巡查发现', '井盖缺失', 'X.1', '市政/井盖/缺失', TRUE,
                $4, $5, $6, $6, $6, 1)",
            linli_store::args![
                linli_domain::ids::new_id(),
                format!("{prefix}-{i:06}"),
                if i % 2 == 0 { "handling" } else { "visited" },
                d.id,
                d.path.clone(),
                at
            ],
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn search_filters_window_and_the_thousand_cap() {
    let t = spawn_app().await;
    let day = 86_400;
    // 1,005 patrol cases in the last day, 3 from 100 days ago.
    raw_cases(&t, 1005, T0.plus_secs(-day), "110101-RECENT").await;
    raw_cases(&t, 3, T0.plus_secs(-100 * day), "110101-OLD").await;

    let all = get(&t, "requests.json").await;
    assert_eq!(all.status, 200);
    let list = all.json.as_array().unwrap();
    assert_eq!(list.len(), 1000, "capped at 1,000");
    // Newest first.
    assert_eq!(list[0]["service_request_id"], "110101-RECENT-001004");
    assert_eq!(list[999]["service_request_id"], "110101-RECENT-000005");
    let times: Vec<&str> = list
        .iter()
        .map(|r| r["requested_datetime"].as_str().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]));
    let allx = get(&t, "requests.xml").await;
    assert_eq!(items(xml(&allx).root_element(), "request").len(), 1000);
    // Page two has the rest of the window; the old ones are outside it.
    let p2 = get(&t, "requests.json?page=2").await;
    assert_eq!(p2.json.as_array().unwrap().len(), 5);
    let small = get(&t, "requests.json?page_size=10&page=3").await;
    let s = small.json.as_array().unwrap();
    assert_eq!(s.len(), 10);
    assert_eq!(s[0]["service_request_id"], "110101-RECENT-000984");
    // Status: open/closed.
    let open = get(&t, "requests.json?status=open&page_size=1000").await;
    let open = open.json.as_array().unwrap();
    assert!(open.iter().all(|r| r["status"] == "open"));
    assert_eq!(open.len(), 503);
    let closed = get(&t, "requests.json?status=closed").await;
    assert!(
        closed
            .json
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "closed" && r["status_notes"] == "已回访")
    );
    let both = get(&t, "requests.json?status=open,closed&page=2").await;
    assert_eq!(both.json.as_array().unwrap().len(), 5);
    // Dates: the old ones by an explicit window; start alone spans 90 days forward.
    let old = get(
        &t,
        "requests.json?start_date=2026-08-01T00:00:00Z&end_date=2026-08-31T00:00:00%2B08:00",
    )
    .await;
    assert_eq!(old.status, 200, "{}", old.text);
    let ids: Vec<&str> = old
        .json
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["service_request_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec![
            "110101-OLD-000002",
            "110101-OLD-000001",
            "110101-OLD-000000"
        ]
    );
    let start = get(&t, "requests.json?start_date=2026-08-01").await;
    assert_eq!(start.json.as_array().unwrap().len(), 3);
    let end = get(&t, "requests.json?end_date=2026-11-01T00:00:00Z").await;
    assert_eq!(end.json.as_array().unwrap().len(), 3);
    // Ids override the other filters (even the window), in any number up to the list cap.
    let ids = get(
        &t,
        "requests.json?service_request_id=110101-OLD-000001,110101-RECENT-000007,110101-NONE&status=open",
    )
    .await;
    let got: Vec<&str> = ids
        .json
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["service_request_id"].as_str().unwrap())
        .collect();
    assert_eq!(got, vec!["110101-RECENT-000007", "110101-OLD-000001"]);
    // Service codes.
    let none = get(&t, "requests.json?service_code=Y.1").await;
    assert_eq!(none.json.as_array().unwrap().len(), 0);
    let x1 = get(&t, "requests.json?service_code=X.1,Y.1&page_size=5").await;
    assert_eq!(x1.json.as_array().unwrap().len(), 5);
    assert_eq!(x1.json[0]["service_name"], "缺失");
    // An empty result is an empty list in both formats.
    let empty = get(&t, "requests.xml?service_code=Y.1").await;
    let doc = xml(&empty);
    assert_eq!(doc.root_element().tag_name().name(), "service_requests");
    assert_eq!(items(doc.root_element(), "request").len(), 0);
}

#[tokio::test]
async fn the_public_feed_shows_public_cases_and_never_personal_data() {
    let t = spawn_app().await;
    let key = make_key(&t, &["110101001"]).await;
    let code = a_service(&t).await;
    // A hotline case (not a public channel by default).
    let hotline = t.login("hotline").await;
    let h = hotline
        .post(
            "/api/v1/cases",
            json!({"channel": "hotline", "request_type": "complaint", "title": "邻居噪音",
                   "description": "楼上每晚装修", "requester_name": "李四", "requester_phone": "13912345678"}),
        )
        .await;
    assert_eq!(h.status, 201, "{}", h.text);
    let hotline_no = h.body["number"].as_str().unwrap().to_string();
    // A 举报 through Open311: filed, but never public.
    let rep = file(
        &t,
        &key,
        &code,
        &[
            ("attribute[request_type]", "report"),
            ("description", "举报某店占道经营"),
        ],
    )
    .await;
    assert_eq!(rep.status, 200, "{}", rep.text);
    let rep_no = rep.json[0]["service_request_id"]
        .as_str()
        .unwrap()
        .to_string();
    // A public one whose text carries a phone number and an ID number.
    let pubr = file(
        &t,
        &key,
        &code,
        &[(
            "description",
            "垃圾没人收，联系我 13700001111，身份证 110101199003071234",
        )],
    )
    .await;
    let pub_no = pubr.json[0]["service_request_id"]
        .as_str()
        .unwrap()
        .to_string();

    let feed = get(&t, "requests.json").await;
    let nos: Vec<&str> = feed
        .json
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["service_request_id"].as_str().unwrap())
        .collect();
    assert_eq!(nos, vec![pub_no.as_str()]);
    assert!(!feed.text.contains("13700001111") && !feed.text.contains("110101199003071234"));
    assert!(feed.text.contains("137******11"), "{}", feed.text);
    for n in [&hotline_no, &rep_no] {
        assert_eq!(get(&t, &format!("requests/{n}.json")).await.status, 404);
        let ids = get(&t, &format!("requests.json?service_request_id={n}")).await;
        assert_eq!(ids.json.as_array().unwrap().len(), 0);
    }
    // The token of a non-public request still names its id to the client that filed it.
    let tk = rep.json[0]["token"].as_str().unwrap();
    assert_eq!(
        get(&t, &format!("tokens/{tk}.json")).await.json[0]["service_request_id"],
        rep_no.as_str()
    );
    // Once dispatched and closed, the status and agency follow.
    let street = t.login("donghuamen").await;
    let c = street
        .get(&format!("/api/v1/cases/by-number/{pub_no}"))
        .await;
    let id = c.body["id"].as_str().unwrap().to_string();
    let r = street
        .post(
            &format!("/api/v1/cases/{id}/dispose"),
            json!({"version": 1, "disposition": "outside_duty", "note": "不属于职责范围"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let one = get(&t, &format!("requests/{pub_no}.json")).await;
    assert_eq!(one.json[0]["status"], "closed");
    assert_eq!(
        one.json[0]["status_notes"],
        "不派单办结：不属于职责范围，予以说明"
    );
    assert_eq!(one.json[0]["agency_responsible"], "东华门街道");
}

// ---------------------------------------------------------------------------------------------
// The real client.

/// A Python with `georeport` importable: `LINLI_GEOREPORT_PYTHON` (scripts/test.sh sets it to
/// its private virtualenv), else `python3` on PATH. With `LINLI_REQUIRE_GEOREPORT=1` (CI) a
/// missing client fails the test; otherwise it is skipped with a note.
fn georeport_python() -> Option<String> {
    let mut candidates = Vec::new();
    if let Ok(p) = std::env::var("LINLI_GEOREPORT_PYTHON")
        && !p.is_empty()
    {
        candidates.push(p);
    }
    candidates.push("python3".to_string());
    for c in candidates {
        let ok = Command::new(&c)
            .args(["-c", "import georeport"])
            .output()
            .is_ok_and(|o| o.status.success());
        if ok {
            return Some(c);
        }
    }
    if std::env::var("LINLI_REQUIRE_GEOREPORT").as_deref() == Ok("1") {
        panic!(
            "LINLI_REQUIRE_GEOREPORT=1 but no Python with the georeport package was found \
             (set LINLI_GEOREPORT_PYTHON, or run scripts/test.sh, which installs it)"
        );
    }
    eprintln!(
        "NOTE: skipping the georeport client check: no Python with the `georeport` package \
         (scripts/test.sh installs it into a private virtualenv)"
    );
    None
}

#[tokio::test]
async fn the_georeport_client_works_against_a_live_server() {
    let Some(python) = georeport_python() else {
        return;
    };
    let db = linli_testkit::TestDb::empty().await;
    let dir = crate::process::tempdir();
    let (_server, base) = crate::process::serve_with(&db.url, &dir, true);
    // A key from the shell.
    let out = Command::new(crate::process::BIN)
        .args([
            "apikey",
            "create",
            "--name",
            "georeport 检查",
            "--unit",
            "110101001",
        ])
        .env("LINLI_DATABASE_URL", &db.url)
        .env("LINLI_DATA_DIR", &dir)
        .env("LINLI_KEYS", linli_testkit::TEST_KEYS)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("api_key"))
        .map(|k| k.trim().to_string())
        .expect("the key is printed");
    let http = reqwest::Client::new();
    let services: Value = http
        .get(format!("{base}{V2}/services.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let code = services[0]["service_code"].as_str().unwrap().to_string();
    let description = "东华门大街路灯不亮 <夜间> & 行人看不清台阶";
    let mut ids = Vec::new();
    for d in [description, "第二条：井盖松动", "第三条：已答复的咨询"] {
        let r: Value = http
            .post(format!("{base}{V2}/requests.json"))
            .form(&[
                ("api_key", key.as_str()),
                ("jurisdiction_id", "110101"),
                ("service_code", code.as_str()),
                ("lat", "39.9165"),
                ("long", "116.4075"),
                ("description", d),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        ids.push(r[0]["service_request_id"].as_str().unwrap().to_string());
    }
    // The third is closed at once by the street (so that both statuses have requests).
    let staff = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let login: Value = staff
        .post(format!("{base}/api/v1/session"))
        .json(&json!({"username": "donghuamen", "password": "Demo-Pass-2026"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let csrf = login["csrf_token"].as_str().unwrap().to_string();
    let case: Value = staff
        .get(format!("{base}/api/v1/cases/by-number/{}", ids[2]))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let r = staff
        .post(format!(
            "{base}/api/v1/cases/{}/dispose",
            case["id"].as_str().unwrap()
        ))
        .header("x-csrf-token", &csrf)
        .json(&json!({"version": 1, "disposition": "answered", "note": "已电话答复"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scripts/open311-client-check.py"
    );
    let out = Command::new(&python)
        .args([script, &base, &ids[0], description, &code, &ids[2]])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{text}");
    assert!(out.status.success(), "georeport check failed:\n{text}");
    assert!(text.contains("georeport check passed"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn apikey_commands_create_list_and_revoke() {
    let db = linli_testkit::TestDb::empty().await;
    let dir = crate::process::tempdir();
    let run = |args: &[&str]| {
        let out = Command::new(crate::process::BIN)
            .args(args)
            .env("LINLI_DATABASE_URL", &db.url)
            .env("LINLI_DATA_DIR", &dir)
            .env("LINLI_KEYS", linli_testkit::TEST_KEYS)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    // No such unit yet: refused.
    let (ok, text) = run(&["apikey", "create", "--name", "x", "--unit", "110101"]);
    assert!(!ok, "{text}");
    assert!(text.contains("110101"), "{text}");
    let (ok, text) = run(&[
        "import",
        "divisions",
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/demo-110101"),
    ]);
    assert!(ok, "{text}");
    let (ok, text) = run(&[
        "apikey",
        "create",
        "--name",
        "区级平台",
        "--unit",
        "110101",
        "--unit",
        "110101002",
    ]);
    assert!(ok, "{text}");
    assert!(
        text.contains("o311_110101_") && text.contains("景山街道"),
        "{text}"
    );
    let (ok, list) = run(&["apikey", "list"]);
    assert!(ok, "{list}");
    let line = list.lines().find(|l| l.contains("区级平台")).unwrap();
    assert!(
        line.contains("110101,110101002") && !line.contains("已吊销"),
        "{line}"
    );
    let id = line.split_whitespace().next().unwrap().to_string();
    let (ok, text) = run(&["apikey", "revoke", &id]);
    assert!(ok, "{text}");
    let (_, list) = run(&["apikey", "list"]);
    assert!(list.contains("已吊销"), "{list}");
    let (ok, _) = run(&["apikey", "revoke", &id]);
    assert!(!ok, "a second revoke is refused");
    let _ = std::fs::remove_dir_all(&dir);
}
