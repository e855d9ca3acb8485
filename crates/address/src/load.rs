//! Reading the national division files (`provinces.csv`, `cities.csv`, `areas.csv`,
//! `streets.csv`, `villages.csv[.gz]`, NBS layout with denormalised parent codes) into a
//! gazetteer. Every code is read as a string; a bad row stops the load with its file and line.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use crate::error::AddressError;
use crate::gazetteer::{Builder, Gazetteer, Level};

/// The files in load order, their level and the column holding the parent's code.
const FILES: &[(&str, Level, Option<&str>)] = &[
    ("provinces.csv", Level::Province, None),
    ("cities.csv", Level::City, Some("provinceCode")),
    ("areas.csv", Level::County, Some("cityCode")),
    ("streets.csv", Level::Town, Some("areaCode")),
    ("villages.csv", Level::Village, Some("streetCode")),
];

impl Gazetteer {
    /// Load the five division files from `dir`. `villages.csv` may be gzip-compressed as
    /// `villages.csv.gz`; the other four are required as plain CSV.
    pub fn load_dir(dir: impl AsRef<Path>) -> Result<Self, AddressError> {
        let dir = dir.as_ref();
        let mut b = Builder::new();
        for (name, level, parent_col) in FILES {
            let plain = dir.join(name);
            let gz = dir.join(format!("{name}.gz"));
            let (path, reader): (PathBuf, Box<dyn Read>) = if plain.is_file() {
                let f = open(&plain)?;
                (plain, Box::new(f))
            } else if gz.is_file() {
                let f = open(&gz)?;
                (gz, Box::new(flate2::read::MultiGzDecoder::new(f)))
            } else {
                return Err(AddressError::MissingFile {
                    dir: dir.to_path_buf(),
                    name: (*name).to_string(),
                });
            };
            read_file(&mut b, &path, reader, *level, *parent_col)?;
        }
        b.finish()
    }
}

fn open(path: &Path) -> Result<BufReader<File>, AddressError> {
    File::open(path)
        .map(|f| BufReader::with_capacity(1 << 16, f))
        .map_err(|source| AddressError::Io {
            file: path.to_path_buf(),
            source,
        })
}

fn read_file(
    b: &mut Builder,
    path: &Path,
    reader: impl Read,
    level: Level,
    parent_col: Option<&str>,
) -> Result<(), AddressError> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .buffer_capacity(1 << 16)
        .from_reader(reader);
    let row_err = |line: u64, message: String| AddressError::Row {
        file: path.to_path_buf(),
        line,
        message,
    };
    let headers = rdr
        .byte_headers()
        .map_err(|e| row_err(1, format!("表头无法读取：{e}")))?
        .clone();
    let col = |name: &str| -> Result<usize, AddressError> {
        headers
            .iter()
            .position(|h| trim_bom(h) == name.as_bytes())
            .ok_or_else(|| AddressError::MissingColumn {
                file: path.to_path_buf(),
                column: name.to_string(),
                header: headers
                    .iter()
                    .map(|h| String::from_utf8_lossy(h).into_owned())
                    .collect::<Vec<_>>()
                    .join(","),
            })
    };
    let code_i = col("code")?;
    let name_i = col("name")?;
    let parent_i = parent_col.map(col).transpose()?;
    let mut rec = csv::ByteRecord::new();
    loop {
        let line = rdr.position().line();
        match rdr.read_byte_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(row_err(line, format!("CSV 格式错误：{e}"))),
        }
        let line = rec.position().map_or(line, csv::Position::line);
        let field = |i: usize, what: &str| -> Result<&str, AddressError> {
            let raw = rec
                .get(i)
                .ok_or_else(|| row_err(line, format!("缺少 {what} 字段")))?;
            std::str::from_utf8(raw)
                .map(str::trim)
                .map_err(|_| row_err(line, format!("{what} 不是有效的 UTF-8")))
        };
        let code = field(code_i, "code")?;
        let name = field(name_i, "name")?;
        let parent = match (parent_i, parent_col) {
            (Some(i), Some(pc)) => {
                let p = field(i, pc)?;
                if p.is_empty() {
                    return Err(row_err(line, format!("{pc} 为空")));
                }
                if !b.contains(p) {
                    return Err(row_err(line, format!("上级代码 {p} 不存在")));
                }
                Some(p)
            }
            _ => None,
        };
        b.push(code, name, level, parent)
            .map_err(|m| row_err(line, m))?;
    }
    Ok(())
}

fn trim_bom(h: &[u8]) -> &[u8] {
    h.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) {
        std::fs::write(dir.join(name), text).unwrap();
    }

    fn tmpdir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("linli-address-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn small(dir: &Path) {
        write(dir, "provinces.csv", "code,name\n11,\"北京市\"\n");
        write(
            dir,
            "cities.csv",
            "code,name,provinceCode\n1101,\"市辖区\",11\n",
        );
        write(
            dir,
            "areas.csv",
            "code,name,cityCode,provinceCode\n110101,\"东城区\",1101,11\n",
        );
        write(
            dir,
            "streets.csv",
            "code,name,areaCode,provinceCode,cityCode\n110101001,\"东华门街道\",110101,11,1101\n",
        );
    }

    #[test]
    fn loads_plain_and_gzip() {
        use std::io::Write;
        let d = tmpdir("gz");
        small(&d);
        let mut gz = flate2::write::GzEncoder::new(
            File::create(d.join("villages.csv.gz")).unwrap(),
            flate2::Compression::fast(),
        );
        gz.write_all(
            "code,name,streetCode,provinceCode,cityCode,areaCode\n110101001001,\"多福巷社区居委会\",110101001,11,1101,110101\n"
                .as_bytes(),
        )
        .unwrap();
        gz.finish().unwrap();
        let g = Gazetteer::load_dir(&d).unwrap();
        assert_eq!(g.len(), 5);
        assert_eq!(g.unit("110101001001").unwrap().name, "多福巷社区居委会");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn reports_file_and_line() {
        let d = tmpdir("bad");
        small(&d);
        write(
            &d,
            "villages.csv",
            "code,name,streetCode\n110101001001,\"多福巷社区居委会\",110101001\n110101001002,\"银闸社区居委会\",999\n",
        );
        let e = Gazetteer::load_dir(&d).err().unwrap().to_string();
        assert!(e.contains("villages.csv 第 3 行"), "{e}");
        assert!(e.contains("999"), "{e}");
        write(&d, "villages.csv", "id,name\n");
        let e = Gazetteer::load_dir(&d).err().unwrap().to_string();
        assert!(e.contains("缺少列 code"), "{e}");
        std::fs::remove_file(d.join("villages.csv")).unwrap();
        let e = Gazetteer::load_dir(&d).err().unwrap().to_string();
        assert!(e.contains("找不到 villages.csv"), "{e}");
        let _ = std::fs::remove_dir_all(&d);
    }
}
