//! Errors, each with a stable key (for logs and the API) and a Chinese message (for people).

use std::path::PathBuf;

/// Why a model could not be loaded or saved. The caller at intake treats any of them as "no
/// suggestions" and goes on.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("模型文件缺失：{0}")]
    Missing(PathBuf),
    #[error("模型文件已损坏或被截断（{0}）")]
    Corrupt(String),
    #[error("模型文件版本 {0} 不受支持，请重新训练")]
    UnsupportedVersion(u32),
    #[error("无法读写模型文件 {path}：{source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl ModelError {
    pub fn key(&self) -> &'static str {
        match self {
            ModelError::Missing(_) => "model_missing",
            ModelError::Corrupt(_) => "model_corrupt",
            ModelError::UnsupportedVersion(_) => "model_version",
            ModelError::Io { .. } => "model_io",
        }
    }
}

/// Why a model could not be trained or evaluated.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("没有可用于训练的样本")]
    NoSamples,
    #[error("至少需要两个不同的类别才能训练，现在只有 {0} 个")]
    TooFewLabels(usize),
    #[error("类别过多（{0} 个，上限 65535）")]
    TooManyLabels(usize),
    #[error("交叉验证的折数须在 2 到样本数 {samples} 之间，现在是 {folds}")]
    BadFolds { folds: usize, samples: usize },
    #[error("参数无效：{0}")]
    BadOption(String),
}

impl TrainError {
    pub fn key(&self) -> &'static str {
        match self {
            TrainError::NoSamples => "no_samples",
            TrainError::TooFewLabels(_) => "too_few_labels",
            TrainError::TooManyLabels(_) => "too_many_labels",
            TrainError::BadFolds { .. } => "bad_folds",
            TrainError::BadOption(_) => "bad_option",
        }
    }
}

/// Why a `text,label` file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("CSV 缺少列 {0}（表头须含 {1}）")]
    MissingColumn(String, String),
    #[error("CSV 第 {line} 行无法读取：{reason}")]
    BadRow { line: u64, reason: String },
    #[error("读取输入失败：{0}")]
    Io(#[from] std::io::Error),
}

impl DataError {
    pub fn key(&self) -> &'static str {
        match self {
            DataError::MissingColumn(..) => "csv_missing_column",
            DataError::BadRow { .. } => "csv_bad_row",
            DataError::Io(_) => "io",
        }
    }
}
