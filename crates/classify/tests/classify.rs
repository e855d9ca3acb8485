//! The classifier end to end: the real sample messages through prepare → train → save → load →
//! evaluate (the functions behind `linli classify …`), damaged model files, and awkward texts.
//! One test binary for the crate.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use linli_classify::{
    FORMAT_VERSION, Method, Model, ModelError, Options, Report, Sample, Suggester, cross_validate,
    evaluate, prepare, read_samples, train,
};

fn sample_file() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/samples/messages_sample495.csv");
    if p.exists() {
        Some(p)
    } else {
        eprintln!("note: {} not found; sample test skipped", p.display());
        None
    }
}

/// messages_sample495.csv as `text,label` samples, the way `linli classify prepare` makes them.
fn sample_messages(path: &Path) -> Vec<Sample> {
    let mut csv = Vec::new();
    let (written, _) = prepare(
        std::fs::File::open(path).unwrap(),
        &mut csv,
        &["留言主题".to_string(), "留言详情".to_string()],
        "一级分类",
    )
    .unwrap();
    assert_eq!(written, 495);
    read_samples(csv.as_slice()).unwrap().samples
}

struct TempDir(PathBuf);
impl TempDir {
    fn new(name: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!(
            "linli-classify-{name}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Macro-F1 and accuracy of always answering the most frequent training label.
fn majority_baseline(train: &[Sample], test: &[Sample], labels: &[String]) -> Report {
    let mut counts = std::collections::BTreeMap::new();
    for s in train {
        *counts.entry(s.label.as_str()).or_insert(0usize) += 1;
    }
    let (major, _) = counts.iter().max_by_key(|(_, n)| **n).unwrap();
    let idx = |l: &str| labels.iter().position(|x| x == l).unwrap();
    let pairs: Vec<(usize, Option<usize>)> = test
        .iter()
        .map(|s| (idx(&s.label), Some(idx(major))))
        .collect();
    Report::new(labels.to_vec(), &pairs)
}

fn last_figure(report: &str, key: &str) -> f64 {
    let line = report
        .lines()
        .rev()
        .find(|l| l.starts_with(key))
        .unwrap_or_else(|| panic!("no {key} line in\n{report}"));
    line[key.len()..].trim().parse().unwrap()
}

#[test]
fn sample_round_trip_beats_the_majority_baseline() {
    let Some(path) = sample_file() else { return };
    let samples = sample_messages(&path);
    // Hold out every fifth message of each label.
    let mut seen = std::collections::HashMap::new();
    let (mut train_set, mut test_set) = (Vec::new(), Vec::new());
    for s in samples {
        let n = seen.entry(s.label.clone()).or_insert(0usize);
        if *n % 5 == 4 {
            test_set.push(s);
        } else {
            train_set.push(s);
        }
        *n += 1;
    }
    let dir = TempDir::new("roundtrip");
    let file = dir.0.join("model.bin");
    let model = train(&train_set, &Options::default()).unwrap();
    model.save(&file).unwrap();
    let loaded = Model::load(&file).unwrap();
    assert_eq!(loaded.labels(), model.labels());
    assert_eq!(loaded.method(), Method::ComplementNb);

    let report = evaluate(&loaded, &test_set);
    let text = report.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[lines.len() - 2].starts_with("accuracy: "));
    assert!(lines[lines.len() - 1].starts_with("macro_f1: "));
    let acc = last_figure(&text, "accuracy: ");
    let f1 = last_figure(&text, "macro_f1: ");
    let base = majority_baseline(&train_set, &test_set, loaded.labels());
    eprintln!(
        "held-out {} messages: accuracy {acc:.4} macro_f1 {f1:.4}; majority baseline accuracy {:.4} macro_f1 {:.4}",
        test_set.len(),
        base.accuracy,
        base.macro_f1
    );
    // Well clear of the baseline, not a tuned threshold: several times its macro-F1 and
    // at least 25 points more accuracy.
    assert!(f1 > 3.0 * base.macro_f1, "{f1} vs {}", base.macro_f1);
    assert!(acc > base.accuracy + 0.25, "{acc} vs {}", base.accuracy);

    // The loaded model predicts exactly what the trained one does.
    for s in test_set.iter().take(20) {
        assert_eq!(loaded.predict(&s.text, 3), model.predict(&s.text, 3));
    }
}

#[test]
fn sample_cross_validation_of_both_methods() {
    let Some(path) = sample_file() else { return };
    let samples = sample_messages(&path);
    for method in [Method::ComplementNb, Method::LogReg, Method::LinearSvm] {
        let r = cross_validate(&samples, 5, &Options::default().with_method(method)).unwrap();
        assert_eq!(r.pooled.samples, 495);
        assert_eq!(r.folds.len(), 5);
        let (f1, sd) = r.macro_f1_spread();
        eprintln!(
            "{method}: 5-fold pooled accuracy {:.4} macro_f1 {:.4}; per fold macro_f1 {f1:.4} ± {sd:.4}",
            r.pooled.accuracy, r.pooled.macro_f1
        );
        // Majority class (劳动和社会保障, 104 of 495) would score 0.21 accuracy, 0.05 macro-F1.
        let majority_acc = 104.0 / 495.0;
        assert!(r.pooled.accuracy > majority_acc + 0.25);
    }
}

fn toy() -> Vec<Sample> {
    let rows = [
        ("路灯不亮，晚上道路很黑", "城乡建设"),
        ("小区道路破损坑洼多", "城乡建设"),
        ("楼道路灯坏了没人修", "城乡建设"),
        ("市政道路施工占道", "城乡建设"),
        ("学校乱收费，补课费太贵", "教育文体"),
        ("学生课业负担重，老师布置作业多", "教育文体"),
        ("幼儿园收费不合理", "教育文体"),
        ("学校食堂饭菜质量差", "教育文体"),
        ("工厂排放废气，空气污染", "环境保护"),
        ("夜间施工噪音扰民", "环境保护"),
        ("河道污水直排发臭", "环境保护"),
        ("垃圾焚烧冒黑烟污染", "环境保护"),
    ];
    rows.iter().map(|(t, l)| Sample::new(*t, *l)).collect()
}

fn small_options() -> Options {
    let mut o = Options::default();
    o.features.hash_bits = 12;
    o
}

#[test]
fn training_is_deterministic_and_saving_round_trips() {
    for method in [Method::ComplementNb, Method::LogReg, Method::LinearSvm] {
        let opts = small_options().with_method(method);
        let a = train(&toy(), &opts).unwrap();
        let b = train(&toy(), &opts).unwrap();
        assert_eq!(a.to_bytes(), b.to_bytes(), "{method}");
        let dir = TempDir::new(&format!("save-{method}"));
        let file = dir.0.join("m.bin");
        a.save(&file).unwrap();
        // Saving again replaces the file whole (temporary file + rename), leaving nothing else.
        a.save(&file).unwrap();
        let names: Vec<_> = std::fs::read_dir(&dir.0).unwrap().collect();
        assert_eq!(names.len(), 1);
        let c = Model::load(&file).unwrap();
        assert_eq!(c.to_bytes(), a.to_bytes());
        let top = c.predict("晚上路灯不亮", 3);
        assert_eq!(top[0].label, "城乡建设", "{method}: {top:?}");
    }
}

#[test]
fn predictions_are_probabilities() {
    let m = train(&toy(), &small_options()).unwrap();
    let top = m.predict("学校收费太贵", 3);
    assert_eq!(top.len(), 3);
    assert_eq!(top[0].label, "教育文体");
    let sum: f32 = top.iter().map(|s| s.score).sum();
    assert!(sum <= 1.0 + 1e-5 && sum > 0.99, "{sum}");
    assert!(top.windows(2).all(|w| w[0].score >= w[1].score));
    assert_eq!(m.predict("学校收费太贵", 1).len(), 1);
    assert!(m.predict("学校收费太贵", 0).is_empty());
}

#[test]
fn awkward_texts_never_panic() {
    let m = train(&toy(), &small_options()).unwrap();
    let s = Suggester::from_model(m);
    assert!(s.suggest("", 3).is_empty());
    assert!(s.suggest("   \n\t\u{3000}", 3).is_empty());
    assert!(s.suggest("😀😡👍🏽🇨🇳", 3).is_empty());
    assert!(s.suggest("！？。，", 3).is_empty());
    let long = "夜间施工噪音扰民，".repeat(12_000);
    assert!(long.chars().count() > 100_000);
    let top = s.suggest(&long, 3);
    assert_eq!(top.len(), 3);
    // Only the first 4,000 characters are read: the rest changes nothing.
    let head: String = long.chars().take(4_000).collect();
    assert_eq!(top, s.suggest(&head, 3));
    let mixed = s.suggest("Street light 路灯 坏了 العربية Привет 가나다 ｶﾀｶﾅ", 3);
    assert_eq!(mixed.len(), 3);
    let emoji = s.suggest("垃圾焚烧😡😡冒黑烟", 3);
    assert_eq!(emoji[0].label, "环境保护");
    assert_eq!(
        s.suggest("学校收费１２００元", 3),
        s.suggest("学校收费1200元", 3),
        "full-width digits fold"
    );
    assert_eq!(s.suggest("ＡＢＣ学校", 3), s.suggest("abc学校", 3));
    // Lone surrogates cannot reach a &str; invalid UTF-8 is replaced before it gets here.
    let lossy = String::from_utf8_lossy(b"\xff\xfe\xe5\xad\xa6\xe6\xa0\xa1");
    assert!(!s.suggest(&lossy, 3).is_empty());
}

#[test]
fn missing_model_file() {
    let dir = TempDir::new("missing");
    let e = Model::load(dir.0.join("nope.bin")).unwrap_err();
    assert!(matches!(e, ModelError::Missing(_)));
    assert_eq!(e.key(), "model_missing");
    assert!(e.to_string().starts_with("模型文件缺失"), "{e}");
    // Intake goes on without suggestions.
    let s = Suggester::load(dir.0.join("nope.bin"));
    assert!(s.model().is_none());
    assert!(s.suggest("路灯坏了", 3).is_empty());
    assert!(s.prefill("路灯坏了", 0.0).is_none());
    assert_eq!(s.problem().map(|p| p.0), Some("model_missing"));
    // A directory is not a model either.
    assert!(Model::load(&dir.0).is_err());
}

#[test]
fn truncated_or_damaged_model_files() {
    let m = train(&toy(), &small_options()).unwrap();
    let bytes = m.to_bytes();
    let dir = TempDir::new("damaged");
    let file = dir.0.join("m.bin");
    for cut in [
        0,
        1,
        7,
        8,
        11,
        12,
        30,
        52,
        53,
        bytes.len() / 2,
        bytes.len() - 1,
    ] {
        std::fs::write(&file, &bytes[..cut]).unwrap();
        let e = Model::load(&file).unwrap_err();
        assert_eq!(e.key(), "model_corrupt", "cut at {cut}: {e}");
        assert!(e.to_string().starts_with("模型文件已损坏或被截断"), "{e}");
    }
    // One flipped bit anywhere is caught (header fields or checksum).
    for pos in [8, 15, 20, 60, bytes.len() / 2, bytes.len() - 1] {
        let mut b = bytes.clone();
        b[pos] ^= 0x10;
        let e = Model::from_bytes(&b).unwrap_err();
        assert!(
            matches!(
                e,
                ModelError::Corrupt(_) | ModelError::UnsupportedVersion(_)
            ),
            "{pos}: {e}"
        );
    }
    // Extra bytes at the end.
    let mut b = bytes.clone();
    b.push(0);
    assert_eq!(Model::from_bytes(&b).unwrap_err().key(), "model_corrupt");
    // Not a model at all.
    let e = Model::from_bytes("text,label\n路灯,城建\n".as_bytes()).unwrap_err();
    assert!(e.to_string().contains("LINLICLS"), "{e}");
    // Intake goes on without suggestions.
    std::fs::write(&file, &bytes[..bytes.len() / 2]).unwrap();
    let s = Suggester::load(&file);
    assert!(s.suggest("路灯坏了", 3).is_empty());
    assert_eq!(s.problem().map(|p| p.0), Some("model_corrupt"));
}

#[test]
fn model_from_another_format_version() {
    let m = train(&toy(), &small_options()).unwrap();
    let mut bytes = m.to_bytes();
    bytes[8..12].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
    let e = Model::from_bytes(&bytes).unwrap_err();
    assert_eq!(e.key(), "model_version");
    assert_eq!(
        e.to_string(),
        format!("模型文件版本 {} 不受支持，请重新训练", FORMAT_VERSION + 1)
    );
}

/// A body that passes the checksum but says nonsense (a bug or a hand-made file) is refused
/// cleanly too: mutate bytes, fix the checksum, and decode must never panic.
#[test]
fn bodies_with_valid_checksums_but_bad_contents() {
    use sha2::{Digest, Sha256};
    let m = train(&toy(), &small_options()).unwrap();
    let bytes = m.to_bytes();
    let mut state = 0x1234_5678_9abc_def0u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut refused = 0;
    for round in 0..400 {
        let mut b = bytes.clone();
        let body_start = 52;
        // Early rounds hit the small header fields of the body, later ones anywhere.
        let span = if round < 200 {
            200
        } else {
            b.len() - body_start
        };
        for _ in 0..1 + next() % 3 {
            let pos = body_start + (next() as usize % span);
            b[pos] = next() as u8;
        }
        if round % 10 == 0 {
            let cut = body_start + (next() as usize % (b.len() - body_start));
            b.truncate(cut);
            let len = (b.len() - body_start) as u64;
            b[12..20].copy_from_slice(&len.to_le_bytes());
        }
        let sum = Sha256::digest(&b[body_start..]);
        b[20..52].copy_from_slice(&sum);
        match Model::from_bytes(&b) {
            Ok(m) => {
                let _ = m.predict("路灯不亮", 3);
            }
            Err(e) => {
                assert_eq!(e.key(), "model_corrupt", "{e}");
                refused += 1;
            }
        }
    }
    assert!(refused > 0);
}

#[test]
fn user_words_travel_with_the_model() {
    let mut opts = small_options();
    opts.user_words = vec![("多福巷社区".into(), 0), ("东华门街道".into(), 0)];
    let mut samples = toy();
    samples.push(Sample::new("多福巷社区路灯坏了", "城乡建设"));
    let m = train(&samples, &opts).unwrap();
    let loaded = Model::from_bytes(&m.to_bytes()).unwrap();
    assert!(loaded.segmenter().has_word("多福巷社区"));
    assert!(
        loaded
            .segmenter()
            .segment("东华门街道多福巷社区")
            .contains(&"多福巷社区".to_string())
    );
    assert_eq!(
        loaded.predict("多福巷社区路灯", 3),
        m.predict("多福巷社区路灯", 3)
    );
}

#[test]
fn training_refuses_unusable_input() {
    assert_eq!(
        train(&[], &Options::default()).unwrap_err().key(),
        "no_samples"
    );
    let one = vec![Sample::new("路灯", "城建"), Sample::new("道路", "城建")];
    assert_eq!(
        train(&one, &Options::default()).unwrap_err().key(),
        "too_few_labels"
    );
    let blank = vec![Sample::new("路灯", " "), Sample::new("学校", "")];
    assert_eq!(
        train(&blank, &Options::default()).unwrap_err().key(),
        "no_samples"
    );
    let mut bad = Options::default();
    bad.features.hash_bits = 30;
    assert_eq!(train(&toy(), &bad).unwrap_err().key(), "bad_option");
    // Texts without words train nothing but do not fail.
    let mut odd = toy();
    odd.push(Sample::new("😀😀", "城乡建设"));
    odd.push(Sample::new("", "教育文体"));
    assert!(train(&odd, &small_options()).is_ok());
}

#[test]
fn evaluate_counts_unknown_labels_and_empty_texts() {
    let m = train(&toy(), &small_options()).unwrap();
    let test = vec![
        Sample::new("路灯坏了", "城乡建设"),
        Sample::new("医院排队太久", "卫生计生"),
        Sample::new("", "教育文体"),
    ];
    let r = evaluate(&m, &test);
    assert_eq!(r.samples, 3);
    assert!(r.labels.contains(&"卫生计生".to_string()));
    let k = r.labels.len();
    // The empty text is in the "no suggestion" column.
    let edu = r.labels.iter().position(|l| l == "教育文体").unwrap();
    assert_eq!(r.confusion[edu][k], 1);
}

/// Intake keeps one model behind an `Arc` and uses it from every request thread.
#[test]
fn shared_types_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Model>();
    check::<Suggester>();
    check::<linli_text::Segmenter>();
    let m = std::sync::Arc::new(train(&toy(), &small_options()).unwrap());
    std::thread::scope(|scope| {
        for _ in 0..2 {
            let m = m.clone();
            scope.spawn(move || assert_eq!(m.predict("路灯不亮", 1)[0].label, "城乡建设"));
        }
    });
}
