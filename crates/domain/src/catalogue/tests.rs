//! File layouts, code assignment, validation and the export round trip of the dispatch
//! catalogue, including the real 15/118/517 tree when the shared data is present.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::auth::{Grant, Permission};

const TEDDY_LIKE: &str = "一级分类,二级分类,三级分类
城乡建设,安全生产,事故处理
城乡建设,安全生产,其他
城乡建设,城市建设和市政管理,环境卫生
环境保护,环境污染,噪音污染
城乡建设,安全生产,安全隐患
环境保护,其他,其他
";

fn codes(c: &Catalogue) -> Vec<(&str, &str, u8)> {
    c.items
        .iter()
        .map(|i| (i.code.as_str(), i.full_name.as_str(), i.level))
        .collect()
}

#[test]
fn three_column_layout_builds_the_tree_with_codes_in_file_order() {
    let c = parse_csv(TEDDY_LIKE.as_bytes()).unwrap();
    assert_eq!(c.counts(), (2, 4, 6));
    assert_eq!(
        codes(&c),
        vec![
            ("01", "城乡建设", 1),
            ("01.01", "城乡建设/安全生产", 2),
            ("01.01.001", "城乡建设/安全生产/事故处理", 3),
            ("01.01.002", "城乡建设/安全生产/其他", 3),
            ("01.01.003", "城乡建设/安全生产/安全隐患", 3),
            ("01.02", "城乡建设/城市建设和市政管理", 2),
            ("01.02.001", "城乡建设/城市建设和市政管理/环境卫生", 3),
            ("02", "环境保护", 1),
            ("02.01", "环境保护/环境污染", 2),
            ("02.01.001", "环境保护/环境污染/噪音污染", 3),
            ("02.02", "环境保护/其他", 2),
            ("02.02.001", "环境保护/其他/其他", 3),
        ]
    );
    let leaf = &c.items[2];
    assert_eq!(leaf.parent_code, "01.01");
    assert_eq!(leaf.line, 2);
    assert_eq!(leaf.routing, Routing::default());
    // The same bytes always give the same codes.
    assert_eq!(parse_csv(TEDDY_LIKE.as_bytes()).unwrap(), c);
}

#[test]
fn full_layout_reads_every_column_by_name() {
    let text = "\u{feff}关键词,三级分类,二级分类,一级分类,责任单位类型,责任单位代码,默认紧急程度,签收时限,首次联系时限,一般办理时限,紧急办理时限,特急办理时限,社区可承办,代码\r
\"路灯, 不亮；夜间\",路灯不亮,道路设施,市容环境,职能部门,110101B01,紧急,2h,12小时,3wd,24h,4h,否,01.02.005\r
楼道堆物,楼道堆物,物业管理,市容环境,社区,,,,,5个工作日,,,是,\r
";
    let c = parse_csv(text.as_bytes()).unwrap();
    let leaves: Vec<&Item> = c.leaves().collect();
    assert_eq!(leaves.len(), 2);
    let a = leaves[0];
    assert_eq!(a.code, "01.02.005");
    assert_eq!(a.routing.handler_kind, Some(OrgKind::Department));
    assert_eq!(a.routing.handler_code, "110101B01");
    assert_eq!(a.routing.urgency, Some(Urgency::Urgent));
    assert_eq!(a.routing.sign, Some(TimeLimit::NaturalHours(2)));
    assert_eq!(a.routing.contact, Some(TimeLimit::NaturalHours(12)));
    assert_eq!(a.routing.normal, Some(TimeLimit::WorkingDays(3)));
    assert_eq!(a.routing.urgent, Some(TimeLimit::NaturalHours(24)));
    assert_eq!(a.routing.critical, Some(TimeLimit::NaturalHours(4)));
    assert!(!a.routing.community_may);
    assert_eq!(a.routing.keywords, "路灯、不亮、夜间");
    // The uncoded row joins level 1 "01" (named by the coded row) and takes the next free
    // level-2 number there.
    let b = leaves[1];
    assert_eq!(b.code, "01.03.001");
    assert_eq!(b.routing.handler_kind, Some(OrgKind::Community));
    assert!(b.routing.community_may);
    assert_eq!(b.routing.urgency, None);
    assert_eq!(b.routing.normal, Some(TimeLimit::WorkingDays(5)));
    assert_eq!(b.line, 3);
}

#[test]
fn english_headers_and_rfc4180_quoting() {
    let text = "code,level1,level2,level3,keywords\n\
                ,\"A, \"\"quoted\"\"\",B,\"multi\nline\",x\n";
    let e = parse_csv(text.as_bytes()).unwrap_err();
    assert_eq!(e.line, 2);
    assert!(e.message.contains("控制字符"), "{e}");
    let text = "code,level1,level2,level3,keywords\n,\"A, \"\"quoted\"\"\",B,C,\"x\ny\"\n";
    let c = parse_csv(text.as_bytes()).unwrap();
    assert_eq!(c.items[0].name, "A, \"quoted\"");
    assert_eq!(c.leaves().next().unwrap().routing.keywords, "x、y");
}

#[test]
fn export_then_import_gives_the_same_tree() {
    let text = "代码,一级分类,二级分类,三级分类,责任单位类型,责任单位代码,默认紧急程度,签收时限,首次联系时限,一般办理时限,紧急办理时限,特急办理时限,社区可承办,关键词
A1.07.010,市容,\"道路, 桥梁\",井盖缺失,职能部门,110101B01,特急,1h,1h,2wd,24h,2h,否,井盖、窨井
,市容,\"道路, 桥梁\",路面破损,街道乡镇,,一般,,,,,,是,
,噪声,施工噪声,夜间施工,,,,,,,,,否,
";
    let c = parse_csv(text.as_bytes()).unwrap();
    let csv = to_csv(&c.items);
    assert!(csv.starts_with(b"\xEF\xBB\xBF"));
    let again = parse_csv(&csv).unwrap();
    let strip = |c: &Catalogue| -> Vec<(String, String, String, Routing)> {
        c.items
            .iter()
            .map(|i| {
                let mut r = i.routing.clone();
                // An explicit 一般 is what a blank urgency means.
                r.urgency = Some(r.urgency.unwrap_or(Urgency::Normal));
                (
                    i.code.clone(),
                    i.parent_code.clone(),
                    i.full_name.clone(),
                    if i.is_leaf() { r } else { Routing::default() },
                )
            })
            .collect()
    };
    assert_eq!(strip(&again), strip(&c));
    assert_eq!(c.items[0].code, "01", "new level-1 after none numeric");
    let codes: Vec<&str> = again.leaves().map(|i| i.code.as_str()).collect();
    assert_eq!(codes, vec!["01.01.001", "A1.07.010", "A1.07.011"]);
    // Export rows: header plus one per leaf.
    let rows = export_rows(&again.items);
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[0][0], "代码");
    assert_eq!(rows[2][1], "市容");
    assert_eq!(rows[2][2], "道路, 桥梁");
    assert_eq!(rows[2][6], "特急");
    assert_eq!(rows[2][12], "否");
}

fn err(text: &str) -> CatalogueError {
    parse_csv(text.as_bytes()).unwrap_err()
}

#[test]
fn the_first_bad_line_is_reported() {
    let h = "一级分类,二级分类,三级分类,一般办理时限,责任单位类型,默认紧急程度,社区可承办,代码\n";
    let cases: &[(&str, u64, &str)] = &[
        ("", 1, "缺少表头"),
        ("一级分类,二级分类\n", 1, "缺少“三级分类”列"),
        ("一级分类,二级分类,三级分类,备注\n", 1, "未知的列“备注”"),
        ("一级分类,二级分类,三级分类,level1\n", 1, "重复"),
        ("一级分类,二级分类,三级分类\n", 1, "没有条目"),
        ("a,b,c,5wd,,,,\na,b,,5wd,,,,\n", 3, "三级分类不能为空"),
        ("a,b,c,5d,,,,\n", 2, "一般办理时限“5d”无效"),
        ("a,b,c,0h,,,,\n", 2, "不能为 0"),
        ("a,b,c,,科室,,,\n", 2, "责任单位类型“科室”无效"),
        ("a,b,c,,,很急,,\n", 2, "紧急程度“很急”无效"),
        ("a,b,c,,,,也许,\n", 2, "社区可承办“也许”无效"),
        ("a,b,c,,社区,,否,\n", 2, "社区可承办"),
        ("a,b,c,,,,,1.2\n", 2, "代码“1.2”无效"),
        ("a,b,c,,,,,,extra\n", 2, "多于表头"),
        ("a,b,c\n\na,b,c\n", 4, "与第 2 行重复"),
        (
            "a,b,c,,,,,01.01.001\nx,b,d,,,,,01.02.001\n",
            3,
            "已用于一级分类“a”",
        ),
        (
            "a,b,c,,,,,01.01.001\na,b,d,,,,,02.01.002\n",
            3,
            "代码前缀应为 01",
        ),
        (
            "a,b,c,,,,,01.01.001\na,e,d,,,,,01.01.002\n",
            3,
            "已用于二级分类",
        ),
        (
            "a,b,c,,,,,01.01.001\na,b,d,,,,,01.01.001\n",
            3,
            "代码 01.01.001 与第 2 行重复",
        ),
        ("a/x,b,c,,,,,\n", 2, "含有控制字符或“/”"),
        ("a,b,\"c\n", 2, "CSV 格式错误"),
    ];
    for (body, line, msg) in cases {
        let text = if body.starts_with("一级分类") || body.is_empty() {
            body.to_string()
        } else {
            format!("{h}{body}")
        };
        let e = err(&text);
        assert_eq!(e.line, *line, "{body:?}: {e}");
        assert!(e.message.contains(msg), "{body:?}: {e}");
    }
    let long = "长".repeat(MAX_NAME_CHARS + 1);
    assert!(
        err(&format!("{h}a,b,{long},,,,,\n"))
            .message
            .contains("超过")
    );
    let e = parse_csv(b"\xe4\xb8\x80\xe7\xba\xa7\n\xff\xfe,b,c\n").unwrap_err();
    assert_eq!(e.line, 2);
    assert!(e.message.contains("UTF-8"));
}

#[test]
fn size_limits() {
    let mut text = String::from("一级分类,二级分类,三级分类\n");
    for i in 0..=MAX_L3_PER_L2 {
        text.push_str(&format!("a,b,c{i}\n"));
    }
    let e = err(&text);
    assert!(e.message.contains("条目超过 999"), "{e}");
    assert_eq!(e.line, MAX_L3_PER_L2 as u64 + 2);
    let mut text = String::from("一级分类,二级分类,三级分类\n");
    for i in 0..=MAX_L1 {
        text.push_str(&format!("a{i},b,c\n"));
    }
    assert!(err(&text).message.contains("一级分类超过 99"));
    let big = vec![b'a'; MAX_FILE_BYTES + 1];
    assert!(parse_csv(&big).unwrap_err().message.contains("文件超过"));
}

#[test]
fn cell_parsers() {
    assert_eq!(parse_limit(" 24 h "), Ok(Some(TimeLimit::NaturalHours(24))));
    assert_eq!(parse_limit("5WD"), Ok(Some(TimeLimit::WorkingDays(5))));
    assert_eq!(
        parse_limit("5 个工作日"),
        Ok(Some(TimeLimit::WorkingDays(5)))
    );
    assert_eq!(parse_limit(""), Ok(None));
    assert!(parse_limit("-1h").is_err());
    assert_eq!(parse_urgency("critical"), Ok(Some(Urgency::Critical)));
    assert_eq!(parse_urgency("特急"), Ok(Some(Urgency::Critical)));
    assert_eq!(parse_handler_kind("街道"), Ok(Some(OrgKind::Street)));
    assert_eq!(
        parse_handler_kind("department"),
        Ok(Some(OrgKind::Department))
    );
    assert!(parse_handler_kind("grid").is_err());
    assert_eq!(parse_yes_no("Y"), Ok(true));
    assert_eq!(parse_yes_no(""), Ok(false));
}

fn grant(perms: &[Permission], path: &str, scope: DataScope) -> Grant {
    Grant {
        role_key: "r".into(),
        permissions: perms.to_vec(),
        unit_id: uuid::Uuid::from_u128(path.len() as u128),
        unit_path: path.into(),
        scope,
    }
}

#[test]
fn who_may_read_a_district_catalogue() {
    let district = "/11/1101/110101/";
    let did = uuid::Uuid::from_u128(district.len() as u128);
    let read = [
        Permission::CaseCreate,
        Permission::CaseDispatch,
        Permission::CatalogueManage,
    ];
    let authz = |g: Grant| Authz {
        user_id: uuid::Uuid::nil(),
        grants: vec![g],
    };
    // A grid worker (unit scope, deep inside) may; a city-level subtree grant may.
    let grid = "/11/1101/110101/110101001/110101001001/110101001001001/";
    assert!(may_read(
        &authz(grant(&[Permission::CaseCreate], grid, DataScope::Unit)),
        &read,
        did,
        district
    ));
    assert!(may_read(
        &authz(grant(
            &[Permission::CaseDispatch],
            "/11/1101/",
            DataScope::Subtree
        )),
        &read,
        did,
        district
    ));
    assert!(may_read(
        &authz(grant(
            &[Permission::CatalogueManage],
            district,
            DataScope::Unit
        )),
        &read,
        did,
        district
    ));
    // Another district, a unit-scoped grant above, or the wrong permission may not.
    assert!(!may_read(
        &authz(grant(
            &[Permission::CaseCreate],
            "/11/1101/110102/",
            DataScope::Subtree
        )),
        &read,
        did,
        district
    ));
    assert!(!may_read(
        &authz(grant(
            &[Permission::CaseCreate],
            "/11/1101/",
            DataScope::Unit
        )),
        &read,
        did,
        district
    ));
    assert!(!may_read(
        &authz(grant(&[Permission::OrgRead], grid, DataScope::Unit)),
        &read,
        did,
        district
    ));
}

/// The real tree published with the Teddy Cup 2020 data (kept outside the repository).
#[test]
fn teddy2020_taxonomy_has_15_118_517() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/catalogue/teddy2020_taxonomy.csv");
    let Ok(bytes) = std::fs::read(&path) else {
        eprintln!(
            "note: {} not found; the real-catalogue test is skipped",
            path.display()
        );
        return;
    };
    let c = parse_csv(&bytes).unwrap();
    assert_eq!(c.counts(), (15, 118, 517));
    let first = &c.items[0];
    assert_eq!(
        (first.code.as_str(), first.name.as_str()),
        ("01", "城乡建设")
    );
    let others = c.leaves().filter(|i| i.name == "其他").count();
    assert_eq!(others, 116, "`其他` repeats under many parents");
    // The export re-imports to the same codes and paths.
    let again = parse_csv(&to_csv(&c.items)).unwrap();
    let key = |c: &Catalogue| -> Vec<(String, String)> {
        c.items
            .iter()
            .map(|i| (i.code.clone(), i.full_name.clone()))
            .collect()
    };
    assert_eq!(key(&again), key(&c));
}
