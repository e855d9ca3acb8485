//! Tables from staff's files: CSV (UTF-8, with or without BOM) and Excel workbooks (the first
//! worksheet), as numbered rows of text cells. Shared by every importer.
//!
//! CSV is streamed, so a file of a million rows never sits in memory as cells; an xlsx is
//! checked against a zip bomb (the sizes its directory states) before calamine unpacks it.

use std::io::{Cursor, Read};

use calamine::{Data, Reader, Xlsx};

use crate::{AppError, Result};

/// The most an uploaded workbook may unpack to.
pub const MAX_UNPACKED_BYTES: u128 = 256 << 20;
/// The longest cell accepted: longer is a broken or hostile file, not data.
pub const MAX_CELL_CHARS: usize = 4000;

/// One row: its line number in the file (1 = the header) and its cells.
pub type Row = (u64, Vec<String>);

/// The file's format, from its name or content type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
}

impl Format {
    pub fn of(name: &str, bytes_start: &[u8]) -> Format {
        if bytes_start.starts_with(b"PK\x03\x04") || name.to_ascii_lowercase().ends_with(".xlsx") {
            Format::Xlsx
        } else {
            Format::Csv
        }
    }
}

fn unreadable() -> AppError {
    AppError::invalid(
        "unreadable_file",
        "无法读取 xlsx 文件：文件已损坏或不是 Excel 工作簿",
    )
}

/// Spreadsheet cells as the text a CSV would carry: whole numbers lose their `.0` (an ID
/// number or code typed as a number keeps its digits only up to 15 — Excel's own limit — so
/// templates format those columns as text).
pub fn cell_text(d: &Data) -> String {
    match d {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        other => other.to_string(),
    }
}

/// The rows of the first worksheet of an xlsx held in memory.
pub fn xlsx_rows(bytes: &[u8]) -> Result<Vec<Row>> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|_| unreadable())?;
    let mut unpacked: u128 = 0;
    for i in 0..archive.len() {
        let f = archive.by_index_raw(i).map_err(|_| unreadable())?;
        unpacked += u128::from(f.size());
    }
    if unpacked > MAX_UNPACKED_BYTES {
        return Err(AppError::invalid("file_too_large", "xlsx 文件解压后过大"));
    }
    let mut wb: Xlsx<_> =
        calamine::open_workbook_from_rs(Cursor::new(bytes)).map_err(|_| unreadable())?;
    let range = match wb.worksheet_range_at(0) {
        Some(Ok(r)) => r,
        Some(Err(_)) => return Err(unreadable()),
        None => {
            return Err(AppError::invalid(
                "unreadable_file",
                "xlsx 文件中没有工作表",
            ));
        }
    };
    let first_row = u64::from(range.start().map(|(r, _)| r).unwrap_or(0));
    let mut out = Vec::with_capacity(range.height());
    for (i, cells) in range.rows().enumerate() {
        let row: Vec<String> = cells.iter().map(cell_text).collect();
        check_cells(first_row + i as u64 + 1, &row)?;
        out.push((first_row + i as u64 + 1, row));
    }
    Ok(out)
}

fn check_cells(line: u64, row: &[String]) -> Result<()> {
    if row.iter().any(|c| c.chars().count() > MAX_CELL_CHARS) {
        return Err(AppError::invalid(
            "cell_too_long",
            format!("第 {line} 行有超过 {MAX_CELL_CHARS} 个字符的单元格，文件不像是正常的数据表"),
        ));
    }
    Ok(())
}

/// A streaming CSV table: rows in order, each checked for encoding and cell size.
pub struct CsvRows<R: Read> {
    reader: csv::Reader<R>,
    record: csv::ByteRecord,
}

impl<R: Read> CsvRows<R> {
    pub fn new(inner: R) -> CsvRows<R> {
        CsvRows {
            reader: csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(inner),
            record: csv::ByteRecord::new(),
        }
    }
}

impl<R: Read> Iterator for CsvRows<R> {
    type Item = Result<Row>;

    fn next(&mut self) -> Option<Result<Row>> {
        match self.reader.read_byte_record(&mut self.record) {
            Ok(false) => None,
            Ok(true) => {
                let line = self.record.position().map(|p| p.line()).unwrap_or(0);
                let mut cells = Vec::with_capacity(self.record.len());
                for (i, f) in self.record.iter().enumerate() {
                    let f = if line == 1 && i == 0 {
                        f.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(f)
                    } else {
                        f
                    };
                    match std::str::from_utf8(f) {
                        Ok(s) => cells.push(s.to_string()),
                        Err(_) => {
                            return Some(Err(AppError::invalid(
                                "not_utf8",
                                format!(
                                    "第 {line} 行不是 UTF-8 编码：请在 Excel 中“另存为 CSV UTF-8”，或直接上传 xlsx"
                                ),
                            )));
                        }
                    }
                }
                Some(check_cells(line, &cells).map(|_| (line, cells)))
            }
            Err(e) => Some(Err(AppError::invalid(
                "unreadable_file",
                format!("CSV 文件格式错误：{e}"),
            ))),
        }
    }
}

/// Rows from a file held in memory, whichever its format.
pub fn rows(name: &str, bytes: Vec<u8>) -> Result<Box<dyn Iterator<Item = Result<Row>> + Send>> {
    match Format::of(name, &bytes) {
        Format::Xlsx => Ok(Box::new(xlsx_rows(&bytes)?.into_iter().map(Ok))),
        Format::Csv => Ok(Box::new(CsvRows::new(Cursor::new(bytes)))),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn csv_rows_strip_the_bom_and_refuse_other_encodings() {
        let rows: Vec<Row> = CsvRows::new(&b"\xEF\xBB\xBF\xE5\xA7\x93\xE5\x90\x8D,b\nx,y\n"[..])
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(rows[0], (1, vec!["姓名".to_string(), "b".to_string()]));
        assert_eq!(rows[1].0, 2);
        // GBK bytes for 姓名.
        let bad: Vec<_> = CsvRows::new(&b"\xD0\xD5\xC3\xFB,b\n"[..]).collect();
        assert_eq!(bad[0].as_ref().unwrap_err().key(), "not_utf8");
        let long = format!("a,{}\n", "x".repeat(MAX_CELL_CHARS + 1));
        let r: Vec<_> = CsvRows::new(long.as_bytes()).collect();
        assert_eq!(r[0].as_ref().unwrap_err().key(), "cell_too_long");
    }

    #[test]
    fn a_zip_that_is_not_a_workbook_is_refused() {
        assert_eq!(
            xlsx_rows(b"PK\x03\x04garbage").unwrap_err().key(),
            "unreadable_file"
        );
        assert_eq!(Format::of("a.csv", b"PK\x03\x04"), Format::Xlsx);
        assert_eq!(Format::of("a.csv", b"x,y"), Format::Csv);
    }
}
