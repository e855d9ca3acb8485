//! Table tests on a hand-written gazetteer (so they run without the shared data), a property
//! test that no input panics, and one test on the real division files when they are present.

use proptest::prelude::*;

use crate::{Division, Gazetteer, Level, Resolution};

fn d(code: &str, name: &str, parent: Option<&str>) -> Division {
    let level = match code.len() {
        2 => Level::Province,
        4 => Level::City,
        6 => Level::County,
        9 => Level::Town,
        _ => Level::Village,
    };
    Division::new(code, name, level, parent)
}

/// A few real units (NBS 2023 codes) and the shapes that make resolution hard: municipalities,
/// a province-administered county, a development zone, a city without counties, a town moved
/// to a development zone, and town and community names shared between places.
fn sample() -> Gazetteer {
    let rows = vec![
        d("11", "北京市", None),
        d("1101", "市辖区", Some("11")),
        d("110101", "东城区", Some("1101")),
        d("110101001", "东华门街道", Some("110101")),
        d("110101001001", "多福巷社区居委会", Some("110101001")),
        d("110101001002", "银闸社区居委会", Some("110101001")),
        d("110105", "朝阳区", Some("1101")),
        d("110105026", "来广营地区", Some("110105")),
        d("37", "山东省", None),
        d("3706", "烟台市", Some("37")),
        d("370602", "芝罘区", Some("3706")),
        d("370602011", "黄务街道", Some("370602")),
        d("3713", "临沂市", Some("37")),
        d("371328", "蒙阴县", Some("3713")),
        d("371328001", "蒙阴街道", Some("371328")),
        d("371328001012", "官庄社区居民委员会", Some("371328001")),
        d("371328101", "常路镇", Some("371328")),
        d("371328101201", "常路村委会", Some("371328101")),
        d("3717", "菏泽市", Some("37")),
        d("371703", "定陶区", Some("3717")),
        d("371703001", "天中街道", Some("371703")),
        d("371771", "菏泽经济技术开发区", Some("3717")),
        d("371771104", "陈集镇", Some("371771")),
        d("41", "河南省", None),
        d("4113", "南阳市", Some("41")),
        d("411328", "唐河县", Some("4113")),
        d("411328100", "城关镇", Some("411328")),
        d("411330", "桐柏县", Some("4113")),
        d("411330100", "城关镇", Some("411330")),
        d("4115", "信阳市", Some("41")),
        d("411521", "罗山县", Some("4115")),
        d("411521100", "城关镇", Some("411521")),
        d("22", "吉林省", None),
        d("2201", "长春市", Some("22")),
        d("220173", "长春高新技术产业开发区", Some("2201")),
        d("220173001", "硅谷街道", Some("220173")),
        d("220106", "绿园区", Some("2201")),
        d("42", "湖北省", None),
        d("4290", "省直辖县级行政区划", Some("42")),
        d("429006", "天门市", Some("4290")),
        d("429006106", "汪场镇", Some("429006")),
        d("45", "广西壮族自治区", None),
        d("4512", "河池市", Some("45")),
        d("451228", "都安瑶族自治县", Some("4512")),
        d("451228101", "安阳镇", Some("451228")),
        d("44", "广东省", None),
        d("4419", "东莞市", Some("44")),
        d("441900", "东莞市", Some("4419")),
        d("441900003", "东城街道", Some("441900")),
        d("50", "重庆市", None),
        d("5001", "市辖区", Some("50")),
        d("500107", "九龙坡区", Some("5001")),
    ];
    Gazetteer::from_rows(rows).unwrap()
}

fn code(r: &Resolution) -> &str {
    r.code.as_deref().unwrap_or("")
}

fn name(r: &Resolution, level: Level) -> &str {
    r.at(level).map_or("", |u| u.name.as_str())
}

#[test]
fn resolves_table() {
    let g = sample();
    // (text, expected most specific code)
    let cases: &[(&str, &str)] = &[
        // The two examples of the issue.
        ("山东省临沂市蒙阴县常路镇薛家官庄", "371328101"),
        ("东城区东华门街道多福巷社区某楼3单元", "110101001001"),
        // Missing levels.
        ("蒙阴县常路镇", "371328101"),
        ("常路镇常路村", "371328101201"),
        ("临沂市蒙阴县", "371328"),
        // Suffixes left off.
        ("山东临沂蒙阴", "371328"),
        ("广西河池都安安阳镇", "451228101"),
        ("广西河池市都安县安阳镇", "451228101"),
        ("广西省河池市都安瑶族自治县", "451228"),
        // Office words for 街道 and 地区.
        ("北京市东城区东华门街道办事处", "110101001"),
        ("北京市东城区东华门办事处多福巷社区", "110101001001"),
        ("朝阳区来广营地区办事处", "110105026"),
        // Communities without 居委会, or with 居民委员会 written out.
        ("东城区东华门街道多福巷", "110101001001"),
        ("东城区东华门街道多福巷社区居民委员会", "110101001001"),
        ("蒙阴县蒙阴街道官庄社区", "371328001012"),
        // Noise.
        ("山东省临沂市蒙阴县(电联)常路镇（电联）", "371328101"),
        ("  山东省 临沂市 蒙阴县 常路镇 ", "371328101"),
        ("山东省临沂市蒙阴县常路镇😀😀", "371328101"),
        // Full-width digits and letters.
        ("东城区东华门街道多福巷社区３单元１０１ＡＢ", "110101001001"),
        // [UNK] from the tokeniser.
        ("山东省烟台市芝[UNK]区", "370602"),
        ("山东省烟台市芝[unk]区黄务街道", "370602011"),
        // Municipalities.
        ("北京市东城区", "110101"),
        ("北京北京市东城区", "110101"),
        ("重庆重庆市九龙坡区内环渝新路88号", "500107"),
        // Province-administered county.
        ("湖北省天门市汪场镇", "429006106"),
        // Development zones: their own code, or in the way of the rest.
        ("吉林省长春市高新区硅谷街道", "220173001"),
        ("吉林省长春市长春高新技术产业开发区某路", "220173"),
        ("山东省临沂市蒙阴县经济开发区常路镇", "371328101"),
        ("山东省临沂市蒙阴县高新区常路镇某工业园", "371328101"),
        // A city without counties: the county row repeats its name.
        ("广东省东莞市东城街道", "441900003"),
        // A town moved to a development zone, written under its old county (and the county
        // written 县 after it became a 区).
        ("山东省菏泽市定陶县陈集镇", "371771104"),
        ("山东省菏泽市定陶县天中街道", "371703001"),
        // Ambiguous town disambiguated by the county.
        ("唐河县城关镇", "411328100"),
        ("河南省信阳市城关镇", "411521100"),
    ];
    let mut failed = Vec::new();
    for (text, want) in cases {
        let r = g.resolve(text);
        if code(&r) != *want {
            failed.push(format!("{text}: got {:?}, want {want}", r.code));
        }
        assert!(
            (0.0..=1.0).contains(&r.confidence),
            "{text}: {}",
            r.confidence
        );
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

#[test]
fn fills_levels_and_names_as_in_the_data() {
    let g = sample();
    let r = g.resolve("北京市东城区东华门街道多福巷社区");
    assert_eq!(name(&r, Level::Province), "北京市");
    assert_eq!(name(&r, Level::City), "市辖区");
    assert_eq!(name(&r, Level::County), "东城区");
    assert_eq!(name(&r, Level::Town), "东华门街道");
    assert_eq!(name(&r, Level::Village), "多福巷社区居委会");
    let r = g.resolve("蒙阴县常路镇");
    assert_eq!(name(&r, Level::Province), "山东省");
    assert_eq!(name(&r, Level::City), "临沂市");
    let r = g.resolve("湖北省天门市汪场镇");
    assert_eq!(name(&r, Level::City), "省直辖县级行政区划");
    assert_eq!(name(&r, Level::County), "天门市");
}

#[test]
fn contradicted_community_is_not_taken() {
    // 官庄 is a community of 蒙阴街道; the text says 常路镇, so 薛家官庄 is not it.
    let g = sample();
    let r = g.resolve("山东省临沂市蒙阴县常路镇薛家官庄");
    assert_eq!(name(&r, Level::Town), "常路镇");
    assert!(r.community.is_none());
    assert!(r.confidence > 0.8, "{}", r.confidence);
}

#[test]
fn confidence_reflects_ambiguity_and_evidence() {
    let g = sample();
    let alone = g.resolve("城关镇");
    assert_eq!(name(&alone, Level::Town), "城关镇");
    assert!(alone.confidence < 0.3, "{}", alone.confidence);
    let placed = g.resolve("河南省南阳市唐河县城关镇");
    assert!(placed.confidence > 0.8, "{}", placed.confidence);
    let county = g.resolve("蒙阴县");
    let full = g.resolve("山东省临沂市蒙阴县");
    assert!(full.confidence > county.confidence);
    // Two characters that only look like a name are not an address.
    let noise = g.resolve("银闸");
    assert!(noise.code.is_none() || noise.confidence < 0.5);
}

#[test]
fn roads_named_after_places_are_not_the_place() {
    let g = sample();
    // 常路 is 常路镇's short form, but 常路东路 is a road.
    let r = g.resolve("山东省临沂市蒙阴县常路东路5号");
    assert_eq!(code(&r), "371328");
    let r = g.resolve("蒙阴县常路小区");
    assert_eq!(code(&r), "371328");
}

#[test]
fn hostile_inputs_give_nothing_quietly() {
    let g = sample();
    let huge = "山东省临沂市".repeat(20_000);
    let junk = "城关".repeat(50_000);
    let inputs: Vec<String> = vec![
        String::new(),
        " ".into(),
        "😀".repeat(1000),
        "[UNK]".repeat(1000),
        "\u{0}\u{FFFD}\u{200B}".into(),
        "abc123".into(),
        "Здравствуйте".into(),
        "مرحبا".into(),
        huge,
        junk,
        "[".into(),
        "[UNK".into(),
        "办事处".into(),
    ];
    for text in &inputs {
        let r = g.resolve(text);
        assert!((0.0..=1.0).contains(&r.confidence));
        if r.code.is_none() {
            assert_eq!(r.confidence, 0.0);
        }
    }
    assert_eq!(g.resolve(""), Resolution::default());
    assert_eq!(g.resolve("😀").code, None);
}

#[test]
fn json_contract() {
    let g = sample();
    let v = serde_json::to_value(g.resolve("北京市东城区")).unwrap();
    let obj = v.as_object().unwrap();
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "city",
            "code",
            "community",
            "confidence",
            "district",
            "province",
            "town"
        ]
    );
    assert_eq!(v["province"], "北京市");
    assert_eq!(v["city"], "市辖区");
    assert_eq!(v["district"], "东城区");
    assert_eq!(v["town"], "");
    assert_eq!(v["code"], "110101");
    assert!(v["confidence"].is_number());
    let empty = serde_json::to_value(g.resolve("")).unwrap();
    assert_eq!(empty["code"], "");
    assert_eq!(empty["confidence"], 0.0);
}

#[test]
fn aliases_from_the_deployment() {
    let mut g = sample();
    assert_eq!(g.resolve("东城区金宝街8号").code.as_deref(), Some("110101"));
    g.add_alias("110101001001", "金宝街").unwrap();
    let r = g.resolve("东城区金宝街8号");
    assert_eq!(r.code.as_deref(), Some("110101001001"));
    assert!(g.add_alias("999", "某地").is_err());
    assert!(g.add_alias("110101", "东").is_err());
}

#[test]
fn labels_compare_as_written() {
    let g = sample();
    assert!(g.label_matches("广西", "45"));
    assert!(g.label_matches("广西壮族自治区", "45"));
    assert!(g.label_matches("芝[UNK]区", "370602"));
    assert!(g.label_matches("都安县", "451228"));
    assert!(g.label_matches("北京市", "1101"));
    assert!(g.label_matches("重庆", "5001"));
    assert!(g.label_matches("多福巷社区", "110101001001"));
    assert!(g.label_matches("多福巷", "110101001001"));
    assert!(g.label_matches("高新区", "220173") || g.label_matches("长春高新区", "220173"));
    assert!(!g.label_matches("朝阳区", "110101"));
    assert!(!g.label_matches("城关", "371328101"));
    assert!(!g.label_matches("", "110101"));
}

#[test]
fn eval_counts_per_level() {
    let g = sample();
    let csv = "id,address,province,city,district,devzone,town,community,village\n\
        a,山东省临沂市蒙阴县常路镇薛家官庄,山东省,临沂市,蒙阴县,,常路镇,,薛家官庄\n\
        b,北京北京市东城区东华门街道多福巷社区,北京,北京市,东城区,,东华门街道,多福巷社区,\n\
        c,山东省烟台市芝[UNK]区,山东省,烟台市,芝[UNK]区,,,,\n\
        d,\"山东省临沂市蒙阴县某某镇,x\",山东省,临沂市,蒙阴县,,某某镇|常路镇,,\n\
        e,河南省南阳市唐河县,河南省,南阳市,桐柏县,,,,\n";
    let rep = crate::eval(&g, csv.as_bytes(), "test.csv").unwrap();
    assert_eq!(rep.rows, 5);
    assert_eq!((rep.province.correct, rep.province.labelled), (5, 5));
    assert_eq!((rep.city.correct, rep.city.labelled), (5, 5));
    assert_eq!((rep.district.correct, rep.district.labelled), (4, 5));
    assert_eq!((rep.town.correct, rep.town.labelled), (2, 3));
    assert_eq!((rep.community.correct, rep.community.labelled), (1, 1));
    assert_eq!((rep.village.correct, rep.village.labelled), (0, 1));
    let text = rep.to_string();
    assert!(
        text.lines().last().unwrap() == "town_accuracy: 0.6667",
        "{text}"
    );
    assert!(text.contains("province_accuracy: 1.0000 (n=5)"), "{text}");
    let bad = "id,text\n1,x\n";
    assert!(crate::eval(&g, bad.as_bytes(), "bad.csv").is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn never_panics(text in "\\PC{0,300}") {
        let g = sample();
        let r = g.resolve(&text);
        prop_assert!((0.0..=1.0).contains(&r.confidence));
        // The code is the deepest unit's.
        let deepest = [Level::Village, Level::Town, Level::County, Level::City, Level::Province]
            .into_iter()
            .find_map(|l| r.at(l));
        prop_assert_eq!(deepest.map(|u| u.code.as_str()), r.code.as_deref());
    }

    #[test]
    fn never_panics_on_address_like_text(
        parts in proptest::collection::vec(
            prop_oneof![
                Just("山东"), Just("临沂市"), Just("蒙阴"), Just("常路镇"), Just("[UNK]"),
                Just("（电联）"), Just("城关镇"), Just("办事处"), Just("社区"), Just("３"),
                Just("北京市"), Just("市辖区"), Just("高新区"), Just("路"), Just("😀"),
            ],
            0..40,
        )
    ) {
        let g = sample();
        let r = g.resolve(&parts.concat());
        prop_assert!((0.0..=1.0).contains(&r.confidence));
    }
}

/// The real division files, when the shared data is beside the repository.
#[test]
fn real_divisions_resolve_the_issue_examples() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/divisions");
    if !dir.join("provinces.csv").is_file() {
        eprintln!("skipped: no division data at {}", dir.display());
        return;
    }
    let g = Gazetteer::load_dir(&dir).unwrap();
    assert!(g.len() > 660_000, "{}", g.len());
    let r = g.resolve("山东省临沂市蒙阴县常路镇薛家官庄");
    assert_eq!(r.code.as_deref(), Some("371328101"));
    assert_eq!(name(&r, Level::Town), "常路镇");
    let r = g.resolve("东城区东华门街道多福巷社区某楼3单元");
    assert_eq!(r.code.as_deref(), Some("110101001001"));
    assert_eq!(name(&r, Level::Province), "北京市");
    assert_eq!(name(&r, Level::City), "市辖区");
    let r = g.resolve("蒙阴县常路镇");
    assert_eq!(r.code.as_deref(), Some("371328101"));
    let r = g.resolve("山东临沂蒙阴");
    assert_eq!(r.code.as_deref(), Some("371328"));
    let r = g.resolve("山东省烟台市芝[UNK]区");
    assert_eq!(r.code.as_deref(), Some("370602"));
}
