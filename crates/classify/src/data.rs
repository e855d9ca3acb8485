//! The `text,label` CSV files of the command line (UTF-8, header row, RFC 4180 quoting), and
//! `prepare`, which makes one from any CSV by naming its text and label columns.

use std::io::{Read, Write};

use crate::error::DataError;
use crate::train::Sample;

/// Samples read from a `text,label` file.
#[derive(Debug, Clone, Default)]
pub struct Samples {
    pub samples: Vec<Sample>,
    /// Rows skipped because their label was empty.
    pub skipped_no_label: usize,
}

fn header_names(r: &mut csv::Reader<impl Read>) -> Result<Vec<String>, DataError> {
    let h = r.headers().map_err(|e| bad_row(1, &e))?;
    Ok(h.iter()
        .map(|s| s.trim_start_matches('\u{feff}').trim().to_string())
        .collect())
}

fn bad_row(line: u64, e: &csv::Error) -> DataError {
    match e.kind() {
        csv::ErrorKind::Io(io) => DataError::Io(std::io::Error::new(io.kind(), io.to_string())),
        csv::ErrorKind::Utf8 { .. } => DataError::BadRow {
            line,
            reason: "不是 UTF-8 编码".into(),
        },
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => DataError::BadRow {
            line,
            reason: format!("应有 {expected_len} 列，实际 {len} 列"),
        },
        _ => DataError::BadRow {
            line,
            reason: e.to_string(),
        },
    }
}

fn find(names: &[String], want: &str, all: &str) -> Result<usize, DataError> {
    names
        .iter()
        .position(|n| n == want)
        .ok_or_else(|| DataError::MissingColumn(want.to_string(), all.to_string()))
}

/// Read a CSV with columns `text` and `label` (others are ignored). Rows whose label is empty
/// are counted and skipped; an empty text is kept (it gets no suggestion).
pub fn read_samples(input: impl Read) -> Result<Samples, DataError> {
    let mut r = csv::ReaderBuilder::new().flexible(false).from_reader(input);
    let names = header_names(&mut r)?;
    let ti = find(&names, "text", "text,label")?;
    let li = find(&names, "label", "text,label")?;
    let mut out = Samples::default();
    for (n, rec) in r.records().enumerate() {
        let rec = rec.map_err(|e| bad_row(e.position().map_or(n as u64 + 2, |p| p.line()), &e))?;
        let label = rec.get(li).unwrap_or("").trim();
        if label.is_empty() {
            out.skipped_no_label += 1;
            continue;
        }
        out.samples
            .push(Sample::new(rec.get(ti).unwrap_or(""), label.to_string()));
    }
    Ok(out)
}

/// Write a `text,label` CSV from `input`: the text is the named columns joined with a space
/// (line breaks inside become spaces, so each sample is one line), the label the named column
/// trimmed. Rows with an empty label are skipped. Returns (written, skipped).
pub fn prepare(
    input: impl Read,
    output: impl Write,
    text_columns: &[String],
    label_column: &str,
) -> Result<(usize, usize), DataError> {
    let mut r = csv::ReaderBuilder::new().flexible(false).from_reader(input);
    let names = header_names(&mut r)?;
    let all = [text_columns.join(","), label_column.to_string()].join(",");
    let tis = text_columns
        .iter()
        .map(|c| find(&names, c.trim(), &all))
        .collect::<Result<Vec<_>, _>>()?;
    let li = find(&names, label_column.trim(), &all)?;
    let mut w = csv::Writer::from_writer(output);
    let io = |e: csv::Error| DataError::Io(std::io::Error::other(e.to_string()));
    w.write_record(["text", "label"]).map_err(io)?;
    let (mut written, mut skipped) = (0, 0);
    for (n, rec) in r.records().enumerate() {
        let rec = rec.map_err(|e| bad_row(e.position().map_or(n as u64 + 2, |p| p.line()), &e))?;
        let label = rec.get(li).unwrap_or("").trim();
        if label.is_empty() {
            skipped += 1;
            continue;
        }
        let text = tis
            .iter()
            .map(|&i| rec.get(i).unwrap_or("").trim())
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
            .replace(['\r', '\n'], " ");
        w.write_record([text.as_str(), label]).map_err(io)?;
        written += 1;
    }
    w.flush()?;
    Ok((written, skipped))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_text_label_in_any_column_order() {
        let csv = "\u{feff}label,id,text\n城建,1,\"路灯坏了，\n晚上很黑\"\n,2,没有类别\n教育,3,\n";
        let s = read_samples(csv.as_bytes()).unwrap();
        assert_eq!(s.samples.len(), 2);
        assert_eq!(s.samples[0].label, "城建");
        assert!(s.samples[0].text.contains("晚上很黑"));
        assert_eq!(s.samples[1].text, "");
        assert_eq!(s.skipped_no_label, 1);
    }

    #[test]
    fn missing_columns_and_bad_rows_are_clear() {
        let e = read_samples("txt,label\na,b\n".as_bytes()).unwrap_err();
        assert_eq!(e.key(), "csv_missing_column");
        assert!(e.to_string().contains("text"));
        let e = read_samples("text,label\na,b\nc,d,e\n".as_bytes()).unwrap_err();
        assert_eq!(e.key(), "csv_bad_row");
        assert!(e.to_string().contains("第 3 行"), "{e}");
        let e = read_samples(&b"text,label\n\xff\xfe,b\n"[..]).unwrap_err();
        assert_eq!(e.key(), "csv_bad_row");
    }

    #[test]
    fn prepare_joins_columns() {
        let csv = "id,主题,详情,类\n1,路灯坏了,\"晚上\n很黑\",城建\n2,无类别,x,\n";
        let mut out = Vec::new();
        let (w, s) = prepare(
            csv.as_bytes(),
            &mut out,
            &["主题".to_string(), "详情".to_string()],
            "类",
        )
        .unwrap();
        assert_eq!((w, s), (1, 1));
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "text,label\n路灯坏了 晚上 很黑,城建\n"
        );
        let e = prepare(csv.as_bytes(), Vec::new(), &["标题".to_string()], "类").unwrap_err();
        assert_eq!(e.key(), "csv_missing_column");
    }
}
