//! Catalogue files as Excel workbooks: the first worksheet holds the same columns as the CSV
//! layout (read with calamine, written with rust_xlsxwriter).

use linli_domain::catalogue::{self as dom, Catalogue, CatalogueError, Item};
use rust_xlsxwriter::{Format, Workbook};

use crate::{AppError, Result};

fn unreadable() -> AppError {
    AppError::invalid(
        "invalid_catalogue_file",
        "无法读取 xlsx 文件：文件已损坏或不是 Excel 工作簿",
    )
}

/// Read the first worksheet ([`crate::sheet::xlsx_rows`], which refuses zip bombs). `Err` is a
/// file that is not a readable workbook; `Ok(Err(..))` a workbook whose content is not a valid
/// catalogue (with the row number).
pub fn read(bytes: &[u8]) -> Result<std::result::Result<Catalogue, CatalogueError>> {
    let rows = crate::sheet::xlsx_rows(bytes).map_err(|e| match e.key() {
        "unreadable_file" => unreadable(),
        _ => e,
    })?;
    Ok(dom::parse_table(rows))
}

/// The full layout as a workbook: one sheet, bold frozen header, every cell text (codes such
/// as `01` must not become numbers).
pub fn write(items: &[Item]) -> Result<Vec<u8>> {
    let fail = |e: rust_xlsxwriter::XlsxError| AppError::Internal(format!("xlsx export: {e}"));
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("派单目录").map_err(fail)?;
    let bold = Format::new().set_bold();
    let text = Format::new().set_num_format("@");
    let widths = [
        12.0, 14.0, 20.0, 20.0, 12.0, 14.0, 12.0, 10.0, 12.0, 12.0, 12.0, 12.0, 10.0, 30.0,
    ];
    for (c, w) in widths.iter().enumerate() {
        let c = c as u16;
        ws.set_column_width(c, *w).map_err(fail)?;
    }
    for (r, row) in dom::export_rows(items).iter().enumerate() {
        let r = u32::try_from(r).map_err(|_| AppError::Internal("too many rows".into()))?;
        for (c, v) in row.iter().enumerate() {
            let f = if r == 0 { &bold } else { &text };
            ws.write_string_with_format(r, c as u16, v, f)
                .map_err(fail)?;
        }
    }
    ws.set_freeze_panes(1, 0).map_err(fail)?;
    wb.save_to_buffer().map_err(fail)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn a_workbook_round_trips() {
        let text = "代码,一级分类,二级分类,三级分类,默认紧急程度,一般办理时限,社区可承办,关键词\n\
                    01.01.001,市容,道路,井盖缺失,特急,2wd,否,井盖\n\
                    ,市容,道路,路灯不亮,,,是,\n";
        let c = dom::parse_csv(text.as_bytes()).unwrap();
        let bytes = write(&c.items).unwrap();
        assert!(bytes.starts_with(b"PK\x03\x04"));
        let again = read(&bytes).unwrap().unwrap();
        let key = |c: &Catalogue| -> Vec<(String, String)> {
            c.items
                .iter()
                .map(|i| (i.code.clone(), i.full_name.clone()))
                .collect()
        };
        assert_eq!(key(&again), key(&c));
        let leaf = again.leaves().next().unwrap();
        assert_eq!(
            leaf.routing.urgency,
            Some(linli_domain::case::Urgency::Critical)
        );
        assert_eq!(leaf.line, 2);
    }

    #[test]
    fn numbers_and_bad_rows_in_a_workbook() {
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet();
        for (c, h) in ["一级分类", "二级分类", "三级分类", "一般办理时限"]
            .iter()
            .enumerate()
        {
            ws.write_string(0, c as u16, *h).unwrap();
        }
        ws.write_string(1, 0, "a").unwrap();
        ws.write_number(1, 1, 12.0).unwrap();
        ws.write_string(1, 2, "c").unwrap();
        ws.write_string(2, 0, "a").unwrap();
        ws.write_string(2, 1, "b").unwrap();
        ws.write_string(2, 2, "c").unwrap();
        ws.write_string(2, 3, "五天").unwrap();
        let bytes = wb.save_to_buffer().unwrap();
        let e = read(&bytes).unwrap().unwrap_err();
        assert_eq!(e.line, 3, "{e}");
        assert!(e.message.contains("一般办理时限"), "{e}");
        assert!(read(b"PK\x03\x04not a zip").is_err());
    }
}
