//! The crate's errors. Messages are Chinese (operators read them); the variants carry the file
//! and line so a bad row in a 600,000-line file can be found.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum AddressError {
    #[error("无法读取 {}：{source}", file.display())]
    Io {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} 第 {line} 行：{message}", file.display())]
    Row {
        file: PathBuf,
        line: u64,
        message: String,
    },
    #[error("{} 缺少列 {column}（表头：{header}）", file.display())]
    MissingColumn {
        file: PathBuf,
        column: String,
        header: String,
    },
    #[error("区划数据目录 {} 中找不到 {name}", dir.display())]
    MissingFile { dir: PathBuf, name: String },
    #[error("第 {} 条区划数据：{message}", index + 1)]
    Invalid { index: usize, message: String },
    #[error("区划 {code} 的上级代码 {parent} 不存在")]
    UnknownParent { code: String, parent: String },
    #[error("区划代码 {0} 不存在")]
    UnknownCode(String),
    #[error("别名“{0}”无效：规范化后至少要有两个字")]
    BadAlias(String),
}
