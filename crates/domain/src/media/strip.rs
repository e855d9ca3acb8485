//! Removing what a photo says besides its picture.
//!
//! A resident's phone writes the GPS position of their home, the camera's serial number and the
//! time into every photo (EXIF, XMP, IPTC). Such photos end up on a case that staff and, for
//! public cases, other residents see, so image metadata is taken out before a photo is stored
//! (个人信息保护法 Art. 6, collect no more than needed). The structures are walked, not
//! decoded: pixels and colour profiles are kept bit for bit.
//!
//! - JPEG: APP1 (EXIF, XMP), APP12/APP13 (Photoshop/IPTC) and COM segments are dropped; APP0
//!   (JFIF), APP2 (ICC profile) and APP14 (Adobe colour transform) stay.
//! - PNG: `eXIf`, `tEXt`, `zTXt`, `iTXt` and `tIME` chunks are dropped.
//! - WebP: `EXIF` and `XMP ` chunks are dropped, the VP8X flags and the RIFF size fixed.
//!
//! Other formats (GIF, HEIC) pass through unchanged. A file whose structure does not parse is
//! refused as damaged rather than stored with its metadata.

/// Why a photo's structure could not be walked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Damaged;

/// `bytes` without metadata, for the MIME type [`super::sniff`] found.
pub fn strip_metadata(bytes: &[u8], mime: &str) -> Result<Vec<u8>, Damaged> {
    match mime {
        "image/jpeg" => jpeg(bytes),
        "image/png" => png(bytes),
        "image/webp" => webp(bytes),
        _ => Ok(bytes.to_vec()),
    }
}

fn jpeg(b: &[u8]) -> Result<Vec<u8>, Damaged> {
    if !b.starts_with(&[0xFF, 0xD8]) {
        return Err(Damaged);
    }
    let mut out = Vec::with_capacity(b.len());
    out.extend_from_slice(&b[..2]);
    let mut i = 2;
    loop {
        // Fill bytes (0xFF runs) may precede a marker.
        while b.get(i) == Some(&0xFF) && b.get(i + 1) == Some(&0xFF) {
            i += 1;
        }
        if b.get(i) != Some(&0xFF) {
            return Err(Damaged);
        }
        let marker = *b.get(i + 1).ok_or(Damaged)?;
        match marker {
            // End of image, or standalone markers without a length.
            0xD9 => {
                out.extend_from_slice(&b[i..i + 2]);
                return Ok(out);
            }
            0x01 | 0xD0..=0xD7 => {
                out.extend_from_slice(&b[i..i + 2]);
                i += 2;
                continue;
            }
            _ => {}
        }
        let len = usize::from(u16::from_be_bytes([
            *b.get(i + 2).ok_or(Damaged)?,
            *b.get(i + 3).ok_or(Damaged)?,
        ]));
        if len < 2 || i + 2 + len > b.len() {
            return Err(Damaged);
        }
        let end = i + 2 + len;
        if marker == 0xDA {
            // Start of scan: entropy-coded data follows up to the end; keep all of it (any
            // segment after it is part of a progressive scan sequence, metadata never is).
            out.extend_from_slice(&b[i..]);
            return Ok(out);
        }
        let drop = matches!(marker, 0xE1 | 0xEC | 0xED | 0xFE);
        if !drop {
            out.extend_from_slice(&b[i..end]);
        }
        i = end;
    }
}

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

fn png(b: &[u8]) -> Result<Vec<u8>, Damaged> {
    if !b.starts_with(PNG_SIGNATURE) {
        return Err(Damaged);
    }
    let mut out = Vec::with_capacity(b.len());
    out.extend_from_slice(PNG_SIGNATURE);
    let mut i = PNG_SIGNATURE.len();
    while i < b.len() {
        let head = b.get(i..i + 8).ok_or(Damaged)?;
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let kind = &head[4..8];
        let end = i
            .checked_add(12)
            .and_then(|x| x.checked_add(len))
            .ok_or(Damaged)?;
        if end > b.len() {
            return Err(Damaged);
        }
        if !matches!(kind, b"eXIf" | b"tEXt" | b"zTXt" | b"iTXt" | b"tIME") {
            out.extend_from_slice(&b[i..end]);
        }
        i = end;
        if kind == b"IEND" {
            return Ok(out);
        }
    }
    Err(Damaged)
}

fn webp(b: &[u8]) -> Result<Vec<u8>, Damaged> {
    if b.len() < 12 || &b[..4] != b"RIFF" || &b[8..12] != b"WEBP" {
        return Err(Damaged);
    }
    let declared = u32::from_le_bytes([b[4], b[5], b[6], b[7]]) as usize;
    let total = declared.checked_add(8).ok_or(Damaged)?;
    if total > b.len() {
        return Err(Damaged);
    }
    let mut body = Vec::with_capacity(total);
    body.extend_from_slice(b"WEBP");
    let mut i = 12;
    let mut vp8x_at = None;
    while i < total {
        let head = b.get(i..i + 8).ok_or(Damaged)?;
        let len = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as usize;
        let padded = len + (len & 1);
        let end = i
            .checked_add(8)
            .and_then(|x| x.checked_add(padded))
            .ok_or(Damaged)?;
        if end > total {
            return Err(Damaged);
        }
        match &head[..4] {
            b"EXIF" | b"XMP " => {}
            kind => {
                if kind == b"VP8X" {
                    vp8x_at = Some(body.len());
                }
                body.extend_from_slice(&b[i..end]);
            }
        }
        i = end;
    }
    // VP8X flags: bit 3 says EXIF follows, bit 2 XMP; neither does any more.
    if let Some(at) = vp8x_at
        && let Some(flags) = body.get_mut(at + 8)
    {
        *flags &= !0b0000_1100;
    }
    let size = u32::try_from(body.len()).map_err(|_| Damaged)?;
    let mut out = Vec::with_capacity(body.len() + 8);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&size.to_le_bytes());
    out.extend_from_slice(&body);
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn seg(marker: u8, payload: &[u8]) -> Vec<u8> {
        let mut v = vec![0xFF, marker];
        v.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
        v.extend_from_slice(payload);
        v
    }

    fn jpeg_with(meta: bool) -> Vec<u8> {
        let mut v = vec![0xFF, 0xD8];
        v.extend(seg(0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0"));
        if meta {
            v.extend(seg(0xE1, b"Exif\0\0GPS 39.9N 116.4E serial 1234"));
            v.extend(seg(0xE1, b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta/>"));
            v.extend(seg(0xED, b"Photoshop 3.0\0IPTC"));
            v.extend(seg(0xFE, b"comment: home of Zhang"));
        }
        v.extend(seg(0xE2, b"ICC_PROFILE\0\x01\x01icc"));
        v.extend(seg(0xDB, &[0u8; 65]));
        v.extend(seg(0xC0, &[8, 0, 1, 0, 1, 1, 1, 0x11, 0]));
        v.extend(seg(0xDA, &[1, 1, 0, 0, 0x3F, 0]));
        v.extend_from_slice(&[0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56]);
        v.extend_from_slice(&[0xFF, 0xD9]);
        v
    }

    #[test]
    fn jpeg_loses_exif_xmp_iptc_and_comments_and_keeps_the_rest() {
        let out = strip_metadata(&jpeg_with(true), "image/jpeg").unwrap();
        assert_eq!(out, jpeg_with(false));
        let text = String::from_utf8_lossy(&out);
        assert!(!text.contains("GPS") && !text.contains("Zhang") && !text.contains("xmpmeta"));
        assert!(text.contains("ICC_PROFILE") && text.contains("JFIF"));
        // Already clean: unchanged.
        assert_eq!(
            strip_metadata(&jpeg_with(false), "image/jpeg").unwrap(),
            jpeg_with(false)
        );
    }

    #[test]
    fn damaged_jpegs_are_refused() {
        let good = jpeg_with(true);
        for cut in [3, 5, 9, 30] {
            assert_eq!(strip_metadata(&good[..cut], "image/jpeg"), Err(Damaged));
        }
        let mut bad_len = good.clone();
        bad_len[4] = 0xFF;
        bad_len[5] = 0xFF;
        assert_eq!(strip_metadata(&bad_len, "image/jpeg"), Err(Damaged));
        assert_eq!(strip_metadata(b"\xFF\xD8\x00", "image/jpeg"), Err(Damaged));
    }

    fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut v = (data.len() as u32).to_be_bytes().to_vec();
        v.extend_from_slice(kind);
        v.extend_from_slice(data);
        v.extend_from_slice(&[0, 0, 0, 0]);
        v
    }

    fn png_with(meta: bool) -> Vec<u8> {
        let mut v = PNG_SIGNATURE.to_vec();
        v.extend(chunk(b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0]));
        if meta {
            v.extend(chunk(b"tEXt", b"Author\0Zhang San"));
            v.extend(chunk(b"eXIf", b"MM\0*GPS"));
            v.extend(chunk(b"tIME", &[7, 234, 12, 3, 8, 0, 0]));
            v.extend(chunk(b"iTXt", b"XML:com.adobe.xmp\0\0\0\0\0<x/>"));
        }
        v.extend(chunk(b"IDAT", b"pixels"));
        v.extend(chunk(b"IEND", b""));
        v
    }

    #[test]
    fn png_loses_text_exif_and_time_chunks() {
        assert_eq!(
            strip_metadata(&png_with(true), "image/png").unwrap(),
            png_with(false)
        );
        let good = png_with(true);
        assert_eq!(
            strip_metadata(&good[..good.len() - 3], "image/png"),
            Err(Damaged)
        );
        // No IEND at all.
        let no_end = &good[..good.len() - 12];
        assert_eq!(strip_metadata(no_end, "image/png"), Err(Damaged));
    }

    fn riff_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut v = kind.to_vec();
        v.extend_from_slice(&(data.len() as u32).to_le_bytes());
        v.extend_from_slice(data);
        if data.len() % 2 == 1 {
            v.push(0);
        }
        v
    }

    fn webp_with(meta: bool) -> Vec<u8> {
        let flags: u8 = if meta { 0b0000_1100 } else { 0 };
        let mut body = b"WEBP".to_vec();
        body.extend(riff_chunk(b"VP8X", &[flags, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
        body.extend(riff_chunk(b"VP8 ", b"frame"));
        if meta {
            body.extend(riff_chunk(b"EXIF", b"MM\0*GPS"));
            body.extend(riff_chunk(b"XMP ", b"<x:xmpmeta/>"));
        }
        let mut v = b"RIFF".to_vec();
        v.extend_from_slice(&(body.len() as u32).to_le_bytes());
        v.extend(body);
        v
    }

    #[test]
    fn webp_loses_exif_and_xmp_and_says_so_in_its_header() {
        assert_eq!(
            strip_metadata(&webp_with(true), "image/webp").unwrap(),
            webp_with(false)
        );
        let good = webp_with(true);
        assert_eq!(strip_metadata(&good[..20], "image/webp"), Err(Damaged));
    }

    #[test]
    fn other_formats_pass_through() {
        assert_eq!(
            strip_metadata(b"GIF89a....", "image/gif").unwrap(),
            b"GIF89a...."
        );
    }
}
