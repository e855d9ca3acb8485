//! The crate's error type for operations that are not a GeoJSON upload (reading a stored
//! geometry back, loading a district file). Messages are Chinese; [`GisError::key`] is stable.

use std::path::PathBuf;

use crate::parse::Problem;

#[derive(Debug, thiserror::Error)]
pub enum GisError {
    #[error("无法读取 {}：{source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The GeoJSON was refused; every problem found is listed, the message shows the first.
    #[error("{}", summary(.0))]
    Invalid(Vec<Problem>),
    #[error("文件中找不到编码为 {0} 的区划")]
    DistrictNotFound(String),
    #[error("应当只有一个几何图形，实际有 {0} 个")]
    NotSingle(usize),
}

impl GisError {
    /// Stable snake_case key for API clients and logs.
    pub fn key(&self) -> &'static str {
        match self {
            GisError::Io { .. } => "gis_file_unreadable",
            GisError::Invalid(_) => "geojson_invalid",
            GisError::DistrictNotFound(_) => "district_not_found",
            GisError::NotSingle(_) => "geometry_not_single",
        }
    }

    /// The problems behind [`GisError::Invalid`]; empty for the other variants.
    pub fn problems(&self) -> &[Problem] {
        match self {
            GisError::Invalid(p) => p,
            _ => &[],
        }
    }
}

fn summary(problems: &[Problem]) -> String {
    match problems {
        [] => "GeoJSON 无效".to_string(),
        [one] => one.message.clone(),
        [first, rest @ ..] => format!("{}（另有 {} 个问题）", first.message, rest.len()),
    }
}
