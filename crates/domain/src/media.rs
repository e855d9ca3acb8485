//! What an uploaded file is, decided from its bytes alone.
//!
//! Case attachments (photos from patrols, residents' voice messages — 接诉即办条例 Art. 8) come
//! from outside and are later served to staff browsers, so the file name and the declared type
//! are never trusted: the leading bytes ("magic numbers") must match one of a short list of
//! image and audio formats, and the size must be within the limit for that kind. Everything else
//! is refused, including SVG (an image format that can carry scripts) and video for now.
//! The canonical MIME type returned here is the one to serve the file with.

use serde::{Deserialize, Serialize};

mod strip;
pub use strip::{Damaged, strip_metadata};

/// The broad kind of an accepted file; stored as `image` / `audio`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    Image,
    Audio,
}

impl MediaKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Image => "image",
            MediaKind::Audio => "audio",
        }
    }

    pub fn parse(s: &str) -> Option<MediaKind> {
        match s {
            "image" => Some(MediaKind::Image),
            "audio" => Some(MediaKind::Audio),
            _ => None,
        }
    }

    /// The word used in messages to people.
    pub fn label(self) -> &'static str {
        match self {
            MediaKind::Image => "图片",
            MediaKind::Audio => "音频",
        }
    }
}

/// An accepted format: its kind and the MIME type to store and serve it with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Media {
    pub kind: MediaKind,
    pub mime: &'static str,
}

const fn image(mime: &'static str) -> Option<Media> {
    Some(Media {
        kind: MediaKind::Image,
        mime,
    })
}

const fn audio(mime: &'static str) -> Option<Media> {
    Some(Media {
        kind: MediaKind::Audio,
        mime,
    })
}

/// Largest accepted file per kind, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaLimits {
    pub max_image_bytes: u64,
    pub max_audio_bytes: u64,
}

pub const MIB: u64 = 1024 * 1024;

impl Default for MediaLimits {
    fn default() -> Self {
        MediaLimits {
            max_image_bytes: 10 * MIB,
            max_audio_bytes: 20 * MIB,
        }
    }
}

impl MediaLimits {
    pub fn max_for(&self, kind: MediaKind) -> u64 {
        match kind {
            MediaKind::Image => self.max_image_bytes,
            MediaKind::Audio => self.max_audio_bytes,
        }
    }
}

/// Why a file was refused. [`MediaRefusal::key`] is the stable error key for API clients,
/// [`MediaRefusal::message`] the Chinese text for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaRefusal {
    Empty,
    Unsupported,
    /// The format is known but its structure does not parse.
    Damaged,
    TooLarge {
        kind: MediaKind,
        limit: u64,
    },
}

impl MediaRefusal {
    pub fn key(&self) -> &'static str {
        match self {
            MediaRefusal::Empty => "empty_file",
            MediaRefusal::Unsupported => "unsupported_media",
            MediaRefusal::Damaged => "damaged_media",
            MediaRefusal::TooLarge { .. } => "too_large",
        }
    }

    pub fn message(&self) -> String {
        match self {
            MediaRefusal::Empty => "文件为空，请重新选择".to_string(),
            MediaRefusal::Unsupported => {
                "文件格式不受支持：仅接受图片（JPEG、PNG、WebP、GIF、HEIC）\
                 和音频（MP3、WAV、AMR、M4A/AAC、OGG/Opus）"
                    .to_string()
            }
            MediaRefusal::Damaged => "文件已损坏或不完整，请重新拍摄或选择".to_string(),
            MediaRefusal::TooLarge { kind, limit } => {
                format!("{}不能超过 {}", kind.label(), human_size(*limit))
            }
        }
    }
}

/// `10 MB`, `512 KB`, `100 字节` — binary units, as people read file sizes.
pub fn human_size(bytes: u64) -> String {
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MB", bytes / MIB)
    } else if let Some(tenths) = bytes
        .checked_mul(10)
        .filter(|t| bytes >= MIB && t.is_multiple_of(MIB))
        .map(|t| t / MIB)
    {
        format!("{}.{} MB", tenths / 10, tenths % 10)
    } else if bytes >= 1024 {
        format!("{} KB", bytes / 1024)
    } else {
        format!("{bytes} 字节")
    }
}

/// Check an upload: not empty, a supported image or audio format by content, within the limit
/// for its kind.
pub fn check(bytes: &[u8], limits: &MediaLimits) -> Result<Media, MediaRefusal> {
    if bytes.is_empty() {
        return Err(MediaRefusal::Empty);
    }
    let media = sniff(bytes).ok_or(MediaRefusal::Unsupported)?;
    let limit = limits.max_for(media.kind);
    if bytes.len() as u64 > limit {
        return Err(MediaRefusal::TooLarge {
            kind: media.kind,
            limit,
        });
    }
    Ok(media)
}

/// [`check`] an upload and take the metadata out of a photo ([`strip_metadata`]): the bytes
/// to store.
pub fn accept(bytes: &[u8], limits: &MediaLimits) -> Result<(Media, Vec<u8>), MediaRefusal> {
    let media = check(bytes, limits)?;
    let clean = match media.kind {
        MediaKind::Image => strip_metadata(bytes, media.mime).map_err(|_| MediaRefusal::Damaged)?,
        MediaKind::Audio => bytes.to_vec(),
    };
    Ok((media, clean))
}

/// The format of `bytes` from its leading bytes, if it is one we accept.
pub fn sniff(b: &[u8]) -> Option<Media> {
    if b.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return image("image/jpeg");
    }
    if b.starts_with(b"\x89PNG\r\n\x1a\n") {
        return image("image/png");
    }
    if b.starts_with(b"GIF87a") || b.starts_with(b"GIF89a") {
        return image("image/gif");
    }
    if b.len() >= 12 && b.starts_with(b"RIFF") {
        return match &b[8..12] {
            b"WEBP" => image("image/webp"),
            b"WAVE" => audio("audio/wav"),
            _ => None,
        };
    }
    if b.len() >= 12 && &b[4..8] == b"ftyp" {
        return iso_bmff(b);
    }
    if b.starts_with(b"#!AMR-WB\n") {
        return audio("audio/amr-wb");
    }
    if b.starts_with(b"#!AMR\n") {
        return audio("audio/amr");
    }
    if b.starts_with(b"OggS") {
        return ogg(b);
    }
    if b.len() >= 10 && b.starts_with(b"ID3") && matches!(b[3], 2..=4) && b[4] != 0xFF {
        return audio("audio/mpeg");
    }
    if b.len() >= 7 && is_adts(b) {
        return audio("audio/aac");
    }
    if b.len() >= 4 && is_mpeg_audio_frame(b) {
        return audio("audio/mpeg");
    }
    None
}

/// HEIF stills and M4A audio share the ISO base media file format: the `ftyp` box names a
/// major brand and compatible brands. Plain MP4 brands (`isom`, `mp42`) without an audio-only
/// brand may be video, which is not accepted yet.
fn iso_bmff(b: &[u8]) -> Option<Media> {
    let size = u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
    if size < 16 || size > b.len() || !(size - 16).is_multiple_of(4) {
        return None;
    }
    let major = &b[8..12];
    match major {
        b"heic" | b"heix" | b"hevc" | b"hevx" | b"heim" | b"heis" => {
            return image("image/heic");
        }
        b"mif1" | b"msf1" => return image("image/heif"),
        b"M4A " | b"M4B " | b"F4A " => return audio("audio/mp4"),
        _ => {}
    }
    let compatible = b[16..size].chunks_exact(4);
    let mut audio_brand = false;
    for brand in compatible {
        if matches!(brand, b"M4A " | b"M4B " | b"F4A ") {
            audio_brand = true;
        }
    }
    if audio_brand && matches!(major, b"isom" | b"iso2" | b"mp41" | b"mp42") {
        return audio("audio/mp4");
    }
    None
}

/// An Ogg stream is audio when its first packet is an Opus, Vorbis or FLAC header; Theora
/// (video) and anything else is refused.
fn ogg(b: &[u8]) -> Option<Media> {
    if b.len() < 27 || b[4] != 0 {
        return None;
    }
    let segments = b[26] as usize;
    let start = 27 + segments;
    let packet = b.get(start..)?;
    if packet.starts_with(b"OpusHead")
        || packet.starts_with(b"\x01vorbis")
        || packet.starts_with(b"\x7fFLAC")
    {
        return audio("audio/ogg");
    }
    None
}

/// AAC in ADTS framing: 12-bit sync, layer 0, a valid sampling rate and a frame length that
/// covers the header. When the data holds more than one frame the next must also be in sync.
fn is_adts(b: &[u8]) -> bool {
    if b[0] != 0xFF || (b[1] & 0xF6) != 0xF0 {
        return false;
    }
    let freq = (b[2] >> 2) & 0x0F;
    if freq > 12 {
        return false;
    }
    let len =
        ((usize::from(b[3] & 0x03)) << 11) | (usize::from(b[4]) << 3) | usize::from(b[5] >> 5);
    let header = if b[1] & 0x01 == 0 { 9 } else { 7 };
    if len < header {
        return false;
    }
    match b.get(len..len + 2) {
        Some(next) => next[0] == 0xFF && (next[1] & 0xF6) == 0xF0,
        None => true,
    }
}

/// An MPEG audio frame header (MP3 without an ID3 tag): 11-bit sync, a defined version and
/// layer, and bitrate and sampling-rate indexes that are not reserved.
fn is_mpeg_audio_frame(b: &[u8]) -> bool {
    if b[0] != 0xFF || (b[1] & 0xE0) != 0xE0 {
        return false;
    }
    let version = (b[1] >> 3) & 0x03;
    let layer = (b[1] >> 1) & 0x03;
    let bitrate = b[2] >> 4;
    let rate = (b[2] >> 2) & 0x03;
    version != 0b01 && layer != 0b00 && bitrate != 0x0F && bitrate != 0 && rate != 0b11
}

/// Longest file name kept for display, in characters.
pub const MAX_FILENAME_CHARS: usize = 100;

/// The original file name made safe to show and to offer as a download name: only the last path
/// component, without control, bidirectional-override or Windows-reserved characters, trimmed,
/// and at most [`MAX_FILENAME_CHARS`] characters with the extension kept. Chinese and other
/// letters are kept. An empty result becomes `未命名`.
pub fn sanitize_filename(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = last
        .chars()
        .filter(|c| {
            !c.is_control()
                && !matches!(
                    c,
                    '\u{200B}'..='\u{200F}'
                        | '\u{202A}'..='\u{202E}'
                        | '\u{2060}'..='\u{2069}'
                        | '\u{FEFF}'
                        | '"'
                        | '<'
                        | '>'
                        | ':'
                        | '*'
                        | '?'
                        | '|'
                )
        })
        .collect();
    let trimmed = cleaned.trim().trim_end_matches(['.', ' ']).trim_start();
    if trimmed.is_empty() || trimmed.chars().all(|c| c == '.') {
        return "未命名".to_string();
    }
    if trimmed.chars().count() <= MAX_FILENAME_CHARS {
        return trimmed.to_string();
    }
    // Too long: keep a short extension and cut the stem.
    let ext = trimmed
        .rsplit_once('.')
        .map(|(_, e)| e)
        .filter(|e| !e.is_empty() && e.chars().count() <= 10);
    match ext {
        Some(ext) => {
            let keep = MAX_FILENAME_CHARS - ext.chars().count() - 1;
            let stem: String = trimmed.chars().take(keep).collect();
            format!("{}.{ext}", stem.trim_end())
        }
        None => trimmed
            .chars()
            .take(MAX_FILENAME_CHARS)
            .collect::<String>()
            .trim_end()
            .to_string(),
    }
}

#[cfg(test)]
mod tests;
