//! The model file. Little-endian throughout:
//!
//! ```text
//! "LINLICLS"            8 bytes magic
//! format version        u32 (FORMAT_VERSION)
//! body length           u64
//! SHA-256 of the body   32 bytes
//! body:
//!   method u8 · hash_bits u8 · max_chars u32 · char_ngram_max u8 · word_bigrams u8 · idf u8
//!   temperature f32 · unseen_idf f32
//!   samples u64 · epochs u32 · learning_rate f32 · l2 f32 · alpha f32 · seed u64
//!   labels: u32 count, then each u32 byte length + UTF-8
//!   user words: u32 count, then each u32 byte length + UTF-8 + u64 frequency
//!   bias: f32 × labels
//!   rows: u32 count, then u32 bucket × rows (strictly increasing), f32 idf × rows,
//!         f32 weight × rows × labels (row-major)
//! ```
//!
//! Loading checks everything before use (magic, version, length, checksum, every count against
//! the bytes left, ranges, finiteness) and never panics on any input.

use std::io::Write;
use std::path::Path;

use linli_text::Segmenter;
use sha2::{Digest, Sha256};

use crate::error::ModelError;
use crate::features::{Extractor, FeatureConfig, MAX_HASH_BITS, MIN_HASH_BITS};
use crate::model::{Method, Model, TrainInfo, build_table, row_index};

pub const MAGIC: &[u8; 8] = b"LINLICLS";
/// Bump when the body layout or the meaning of features changes; older files are then refused
/// with a message asking to retrain.
pub const FORMAT_VERSION: u32 = 1;
const HEADER_LEN: usize = 8 + 4 + 8 + 32;

pub(crate) fn encode(m: &Model) -> Vec<u8> {
    let mut b = Vec::with_capacity(64 + m.table.len() * 4 + m.rows.len() * 4);
    let f = m.extractor.config();
    b.push(m.method.code());
    b.push(f.hash_bits);
    put_u32(&mut b, f.max_chars);
    b.push(f.char_ngram_max);
    b.push(u8::from(f.word_bigrams));
    b.push(u8::from(m.idf_enabled));
    put_f32(&mut b, m.temperature);
    put_f32(&mut b, m.unseen_idf);
    put_u64(&mut b, m.info.samples);
    put_u32(&mut b, m.info.epochs);
    put_f32(&mut b, m.info.learning_rate);
    put_f32(&mut b, m.info.l2);
    put_f32(&mut b, m.info.alpha);
    put_u64(&mut b, m.info.seed);
    put_u32(&mut b, m.labels.len() as u32);
    for l in &m.labels {
        put_str(&mut b, l);
    }
    let words = m.extractor.segmenter().user_words();
    put_u32(&mut b, words.len() as u32);
    for (w, freq) in words {
        put_str(&mut b, w);
        put_u64(&mut b, *freq as u64);
    }
    for &x in &m.bias {
        put_f32(&mut b, x);
    }
    put_u32(&mut b, m.rows.len() as u32);
    for &r in &m.rows {
        put_u32(&mut b, r);
    }
    for r in 0..m.rows_len() {
        put_f32(&mut b, m.row(r)[0]);
    }
    for r in 0..m.rows_len() {
        for &x in &m.row(r)[1..] {
            put_f32(&mut b, x);
        }
    }

    let mut out = Vec::with_capacity(HEADER_LEN + b.len());
    out.extend_from_slice(MAGIC);
    put_u32(&mut out, FORMAT_VERSION);
    put_u64(&mut out, b.len() as u64);
    out.extend_from_slice(&Sha256::digest(&b));
    out.extend_from_slice(&b);
    out
}

pub(crate) fn save(m: &Model, path: &Path) -> Result<(), ModelError> {
    let io = |source| ModelError::Io {
        path: path.to_path_buf(),
        source,
    };
    let bytes = encode(m);
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model".into());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let tmp = dir.join(format!(".{name}.tmp.{}.{nanos}", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io(e)
    })
}

pub(crate) fn load(path: &Path) -> Result<Model, ModelError> {
    match std::fs::read(path) {
        Ok(bytes) => decode(&bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(ModelError::Missing(path.to_path_buf()))
        }
        Err(source) => Err(ModelError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn corrupt(why: impl Into<String>) -> ModelError {
    ModelError::Corrupt(why.into())
}

pub(crate) fn decode(bytes: &[u8]) -> Result<Model, ModelError> {
    if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
        return Err(corrupt("文件头不是 LINLICLS，可能不是分类模型文件"));
    }
    if bytes.len() < HEADER_LEN {
        return Err(corrupt("文件头不完整"));
    }
    let mut h = Reader::new(&bytes[MAGIC.len()..HEADER_LEN]);
    let version = h.u32()?;
    if version != FORMAT_VERSION {
        return Err(ModelError::UnsupportedVersion(version));
    }
    let body_len = h.u64()?;
    let sum = h.take(32)?;
    let body = &bytes[HEADER_LEN..];
    if body.len() as u64 != body_len {
        return Err(corrupt(format!(
            "内容应为 {body_len} 字节，实际 {} 字节",
            body.len()
        )));
    }
    if Sha256::digest(body).as_slice() != sum {
        return Err(corrupt("校验和不符"));
    }
    decode_body(body)
}

fn decode_body(body: &[u8]) -> Result<Model, ModelError> {
    let mut r = Reader::new(body);
    let method = Method::from_code(r.u8()?).ok_or_else(|| corrupt("未知的方法"))?;
    let hash_bits = r.u8()?;
    if !(MIN_HASH_BITS..=MAX_HASH_BITS).contains(&hash_bits) {
        return Err(corrupt("哈希空间大小无效"));
    }
    let max_chars = r.u32()?;
    let char_ngram_max = r.u8()?;
    let word_bigrams = r.bool()?;
    let idf_enabled = r.bool()?;
    if max_chars == 0 || char_ngram_max > 8 {
        return Err(corrupt("特征参数无效"));
    }
    let temperature = r.finite()?;
    let unseen_idf = r.finite()?;
    let info = TrainInfo {
        samples: r.u64()?,
        epochs: r.u32()?,
        learning_rate: r.f32()?,
        l2: r.f32()?,
        alpha: r.f32()?,
        seed: r.u64()?,
    };
    let n_labels = r.count(4)?;
    if n_labels < 2 || n_labels > usize::from(u16::MAX) {
        return Err(corrupt("类别数无效"));
    }
    let mut labels = Vec::with_capacity(n_labels);
    for _ in 0..n_labels {
        labels.push(r.string()?);
    }
    let n_words = r.count(12)?;
    let mut words = Vec::with_capacity(n_words);
    for _ in 0..n_words {
        let w = r.string()?;
        let freq = usize::try_from(r.u64()?).map_err(|_| corrupt("词频无效"))?;
        words.push((w, freq));
    }
    let bias = (0..n_labels)
        .map(|_| r.finite())
        .collect::<Result<Vec<_>, _>>()?;
    let n_rows = r.count(8)?;
    let n_weights = n_rows
        .checked_mul(n_labels)
        .filter(|&n| n.checked_mul(4).is_some_and(|b| b <= r.left()))
        .ok_or_else(|| corrupt("权重数量与文件长度不符"))?;
    let mut rows = Vec::with_capacity(n_rows);
    let mut prev: Option<u32> = None;
    for _ in 0..n_rows {
        let b = r.u32()?;
        if b >> hash_bits != 0 || prev.is_some_and(|p| p >= b) {
            return Err(corrupt("特征编号无效"));
        }
        prev = Some(b);
        rows.push(b);
    }
    let idf = (0..n_rows)
        .map(|_| r.finite())
        .collect::<Result<Vec<_>, _>>()?;
    let weights = (0..n_weights)
        .map(|_| r.finite())
        .collect::<Result<Vec<_>, _>>()?;
    if r.left() != 0 {
        return Err(corrupt("文件末尾有多余内容"));
    }

    let segmenter = if words.is_empty() {
        Segmenter::shared()
    } else {
        Segmenter::with_user_words(words)
    };
    let cfg = FeatureConfig {
        hash_bits,
        max_chars,
        char_ngram_max,
        word_bigrams,
    };
    Ok(Model {
        method,
        labels,
        extractor: Extractor::new(segmenter, cfg),
        idf_enabled,
        temperature,
        unseen_idf,
        info,
        bias,
        row_of: row_index(hash_bits, &rows),
        rows,
        table: build_table(&idf, &weights, n_labels),
    })
}

fn put_u32(b: &mut Vec<u8>, x: u32) {
    b.extend_from_slice(&x.to_le_bytes());
}
fn put_u64(b: &mut Vec<u8>, x: u64) {
    b.extend_from_slice(&x.to_le_bytes());
}
fn put_f32(b: &mut Vec<u8>, x: f32) {
    b.extend_from_slice(&x.to_le_bytes());
}
fn put_str(b: &mut Vec<u8>, s: &str) {
    put_u32(b, s.len() as u32);
    b.extend_from_slice(s.as_bytes());
}

/// A cursor whose every read fails cleanly at the end of the bytes.
struct Reader<'a> {
    b: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(b: &'a [u8]) -> Self {
        Reader { b }
    }
    fn left(&self) -> usize {
        self.b.len()
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], ModelError> {
        if n > self.b.len() {
            return Err(corrupt("内容提前结束"));
        }
        let (head, tail) = self.b.split_at(n);
        self.b = tail;
        Ok(head)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], ModelError> {
        let s = self.take(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }
    fn u8(&mut self) -> Result<u8, ModelError> {
        Ok(self.array::<1>()?[0])
    }
    fn bool(&mut self) -> Result<bool, ModelError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(corrupt("布尔值无效")),
        }
    }
    fn u32(&mut self) -> Result<u32, ModelError> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    fn u64(&mut self) -> Result<u64, ModelError> {
        Ok(u64::from_le_bytes(self.array()?))
    }
    fn f32(&mut self) -> Result<f32, ModelError> {
        Ok(f32::from_le_bytes(self.array()?))
    }
    fn finite(&mut self) -> Result<f32, ModelError> {
        let x = self.f32()?;
        if x.is_finite() {
            Ok(x)
        } else {
            Err(corrupt("数值无效"))
        }
    }
    /// A u32 count of items of at least `min_item_bytes` each, checked against what is left.
    fn count(&mut self, min_item_bytes: usize) -> Result<usize, ModelError> {
        let n = self.u32()? as usize;
        if n.saturating_mul(min_item_bytes) > self.left() {
            return Err(corrupt("数量与文件长度不符"));
        }
        Ok(n)
    }
    fn string(&mut self) -> Result<String, ModelError> {
        let n = self.count(1)?;
        let s = self.take(n)?;
        String::from_utf8(s.to_vec()).map_err(|_| corrupt("文本不是 UTF-8"))
    }
}
