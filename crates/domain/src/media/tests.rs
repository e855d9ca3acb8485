//! Every accepted format from the leading bytes of a real file of that format, and files
//! disguised as images or audio that must be refused.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

/// The start of a JPEG from a phone camera (JFIF APP0), padded as real data would follow.
fn jpeg() -> Vec<u8> {
    let mut v = vec![
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00, 0x01, 0x01, 0x00, 0x00,
        0x01, 0x00, 0x01, 0x00, 0x00,
    ];
    v.extend_from_slice(&[0xFF, 0xD9]);
    v
}

/// A complete 1×1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0A, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE,
    0x42, 0x60, 0x82,
];

/// A complete 1×1 GIF.
const GIF: &[u8] = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;";

fn riff(form: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut v = b"RIFF".to_vec();
    v.extend_from_slice(&((4 + body.len()) as u32).to_le_bytes());
    v.extend_from_slice(form);
    v.extend_from_slice(body);
    v
}

/// A WebP (lossy VP8) header.
fn webp() -> Vec<u8> {
    riff(
        b"WEBP",
        b"VP8 \x0e\x00\x00\x00\x30\x01\x00\x9d\x01\x2a\x01\x00\x01\x00\x00\x00",
    )
}

/// A complete WAV: PCM 8 kHz mono 16-bit, four samples of silence.
fn wav() -> Vec<u8> {
    let mut body = b"fmt ".to_vec();
    body.extend_from_slice(&16u32.to_le_bytes());
    body.extend_from_slice(&1u16.to_le_bytes()); // PCM
    body.extend_from_slice(&1u16.to_le_bytes()); // mono
    body.extend_from_slice(&8000u32.to_le_bytes());
    body.extend_from_slice(&16000u32.to_le_bytes());
    body.extend_from_slice(&2u16.to_le_bytes());
    body.extend_from_slice(&16u16.to_le_bytes());
    body.extend_from_slice(b"data");
    body.extend_from_slice(&8u32.to_le_bytes());
    body.extend_from_slice(&[0; 8]);
    riff(b"WAVE", &body)
}

/// An `ftyp` box with the given major and compatible brands, then the start of a `meta`/`moov`.
fn ftyp(major: &[u8; 4], compatible: &[&[u8; 4]]) -> Vec<u8> {
    let size = 16 + 4 * compatible.len();
    let mut v = (size as u32).to_be_bytes().to_vec();
    v.extend_from_slice(b"ftyp");
    v.extend_from_slice(major);
    v.extend_from_slice(&0u32.to_be_bytes());
    for c in compatible {
        v.extend_from_slice(*c);
    }
    v.extend_from_slice(&[0, 0, 0, 8, b'f', b'r', b'e', b'e']);
    v
}

/// The first Ogg page (27-byte header, one segment) carrying `packet`.
fn ogg_page(packet: &[u8]) -> Vec<u8> {
    let mut v = b"OggS\x00\x02".to_vec();
    v.extend_from_slice(&[0; 8]); // granule position
    v.extend_from_slice(&[0x11, 0x22, 0x33, 0x44]); // serial
    v.extend_from_slice(&[0; 4]); // page sequence
    v.extend_from_slice(&[0; 4]); // checksum
    v.push(1);
    v.push(packet.len() as u8);
    v.extend_from_slice(packet);
    v
}

/// Two ADTS frames of AAC-LC, 44.1 kHz stereo, 16 bytes each (header without CRC).
fn adts() -> Vec<u8> {
    let frame = |len: u16| {
        let mut f = vec![
            0xFF,
            0xF1,
            0x50,
            0x80 | ((len >> 11) as u8 & 0x03),
            (len >> 3) as u8,
            (((len & 0x07) as u8) << 5) | 0x1F,
            0xFC,
        ];
        f.resize(usize::from(len), 0);
        f
    };
    let mut v = frame(16);
    v.extend(frame(16));
    v
}

fn ok(bytes: &[u8]) -> Media {
    check(bytes, &MediaLimits::default()).unwrap_or_else(|e| panic!("refused: {e:?}"))
}

fn refused(bytes: &[u8]) -> &'static str {
    check(bytes, &MediaLimits::default()).unwrap_err().key()
}

#[test]
fn images_are_recognised() {
    assert_eq!(ok(&jpeg()), image("image/jpeg").unwrap());
    assert_eq!(ok(PNG), image("image/png").unwrap());
    assert_eq!(ok(GIF), image("image/gif").unwrap());
    assert_eq!(ok(&b"GIF87a\x01\x00\x01\x00"[..]).mime, "image/gif");
    assert_eq!(ok(&webp()), image("image/webp").unwrap());
    // iPhone photos: major brand heic, compatible mif1 + heic.
    assert_eq!(
        ok(&ftyp(b"heic", &[b"mif1", b"heic"])),
        image("image/heic").unwrap()
    );
    assert_eq!(
        ok(&ftyp(b"mif1", &[b"mif1", b"heic"])),
        image("image/heif").unwrap()
    );
}

#[test]
fn audio_is_recognised() {
    let mp3_id3 =
        b"ID3\x04\x00\x00\x00\x00\x00\x23TSSE\x00\x00\x00\x0f\x00\x00\x03Lavf58.76.100\x00";
    assert_eq!(ok(mp3_id3), audio("audio/mpeg").unwrap());
    // MPEG-1 Layer III, 128 kbit/s, 44.1 kHz, no ID3 tag.
    assert_eq!(
        ok(&[0xFF, 0xFB, 0x90, 0x64, 0x00, 0x00, 0x00, 0x00]),
        audio("audio/mpeg").unwrap()
    );
    // MPEG-2 Layer III, as phone recorders write at 16/22 kHz.
    assert_eq!(ok(&[0xFF, 0xF3, 0x48, 0xC4, 0, 0]).mime, "audio/mpeg");
    assert_eq!(ok(&wav()), audio("audio/wav").unwrap());
    assert_eq!(ok(b"#!AMR\n\x3c\x48\xf5\x1f"), audio("audio/amr").unwrap());
    assert_eq!(ok(b"#!AMR-WB\n\x04\x10").mime, "audio/amr-wb");
    // A voice memo from an iPhone (major M4A) and from Android recorders (isom + M4A).
    assert_eq!(
        ok(&ftyp(b"M4A ", &[b"M4A ", b"mp42", b"isom"])),
        audio("audio/mp4").unwrap()
    );
    assert_eq!(
        ok(&ftyp(b"isom", &[b"isom", b"iso2", b"M4A "])).mime,
        "audio/mp4"
    );
    assert_eq!(ok(&adts()), audio("audio/aac").unwrap());
    assert_eq!(
        ok(&ogg_page(
            b"OpusHead\x01\x01\x38\x01\x80\xbb\x00\x00\x00\x00\x00"
        )),
        audio("audio/ogg").unwrap()
    );
    assert_eq!(
        ok(&ogg_page(b"\x01vorbis\x00\x00\x00\x00\x01\x44\xac\x00\x00")).mime,
        "audio/ogg"
    );
}

#[test]
fn disguised_and_unsupported_files_are_refused() {
    let pe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00";
    let elf = b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00";
    let html = b"<!DOCTYPE html><html><script>alert(1)</script></html>";
    let svg =
        b"<?xml version=\"1.0\"?><svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>";
    let svg_bare = b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>";
    let zip = b"PK\x03\x04\x14\x00\x00\x00\x08\x00";
    let pdf = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n";
    let shell = b"#!/bin/sh\nrm -rf /\n";
    let text = "这是一段文字，不是图片".as_bytes();
    for bad in [
        &pe[..],
        elf,
        html,
        svg,
        svg_bare,
        zip,
        pdf,
        shell,
        text,
        b"\xff\xd8", // a JPEG marker cut short
        b"RIFF\x04\x00\x00\x00AVI ",
    ] {
        assert_eq!(
            refused(bad),
            "unsupported_media",
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
    // MP4 video: generic brands without an audio-only brand.
    assert_eq!(
        refused(&ftyp(b"isom", &[b"isom", b"iso2", b"avc1", b"mp41"])),
        "unsupported_media"
    );
    assert_eq!(refused(&ftyp(b"qt  ", &[b"qt  "])), "unsupported_media");
    // AVIF is not on the list.
    assert_eq!(
        refused(&ftyp(b"avif", &[b"mif1", b"avif"])),
        "unsupported_media"
    );
    // An ftyp box claiming to be longer than the data.
    let mut cut = ftyp(b"heic", &[b"mif1"]);
    cut[3] = 0x40;
    cut.truncate(20);
    assert_eq!(refused(&cut), "unsupported_media");
    // Ogg Theora is video.
    assert_eq!(
        refused(&ogg_page(b"\x80theora\x03\x02\x01")),
        "unsupported_media"
    );
    // MPEG audio header with reserved fields, and ADTS whose next frame is out of sync.
    assert_eq!(refused(&[0xFF, 0xFB, 0xF0, 0x64]), "unsupported_media");
    assert_eq!(refused(&[0xFF, 0xEB, 0x90, 0x64]), "unsupported_media");
    let mut broken = adts();
    broken[16] = 0x00;
    assert_eq!(refused(&broken), "unsupported_media");
    assert_eq!(refused(b""), "empty_file");
}

#[test]
fn size_limits_depend_on_the_kind() {
    let limits = MediaLimits {
        max_image_bytes: 100,
        max_audio_bytes: 200,
    };
    let mut big_png = PNG.to_vec();
    big_png.resize(101, 0);
    let e = check(&big_png, &limits).unwrap_err();
    assert_eq!(e.key(), "too_large");
    assert_eq!(e.message(), "图片不能超过 100 字节");
    big_png.truncate(100);
    assert!(check(&big_png, &limits).is_ok());

    let mut long_wav = wav();
    long_wav.resize(200, 0);
    assert!(check(&long_wav, &limits).is_ok());
    long_wav.push(0);
    let e = check(&long_wav, &limits).unwrap_err();
    assert_eq!(
        e,
        MediaRefusal::TooLarge {
            kind: MediaKind::Audio,
            limit: 200
        }
    );
    assert_eq!(
        check(&long_wav, &MediaLimits::default()).unwrap().kind,
        MediaKind::Audio
    );
    assert_eq!(
        MediaRefusal::TooLarge {
            kind: MediaKind::Image,
            limit: 10 * MIB
        }
        .message(),
        "图片不能超过 10 MB"
    );
    assert_eq!(human_size(MIB + MIB / 2), "1.5 MB");
    assert_eq!(human_size(512 * 1024), "512 KB");
}

#[test]
fn every_refusal_has_a_key_and_a_chinese_message() {
    for r in [
        MediaRefusal::Empty,
        MediaRefusal::Unsupported,
        MediaRefusal::TooLarge {
            kind: MediaKind::Audio,
            limit: 20 * MIB,
        },
    ] {
        assert!(!r.key().is_empty());
        assert!(
            r.message()
                .chars()
                .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
        );
    }
    assert_eq!(MediaKind::parse("audio"), Some(MediaKind::Audio));
    assert_eq!(
        MediaKind::parse(MediaKind::Image.as_str()),
        Some(MediaKind::Image)
    );
    assert_eq!(MediaKind::parse("video"), None);
}

#[test]
fn file_names_are_made_safe_for_display() {
    assert_eq!(sanitize_filename("IMG_0001.JPG"), "IMG_0001.JPG");
    assert_eq!(
        sanitize_filename("井盖破损 现场照片.jpg"),
        "井盖破损 现场照片.jpg"
    );
    assert_eq!(
        sanitize_filename("C:\\Users\\张三\\Desktop\\录音.m4a"),
        "录音.m4a"
    );
    assert_eq!(sanitize_filename("../../etc/passwd"), "passwd");
    assert_eq!(sanitize_filename("a\u{0}b\r\nc\t.png"), "abc.png");
    // A right-to-left override (U+202E) makes "photo<RLO>gpj.exe" display as "photoexe.jpg".
    assert_eq!(sanitize_filename("photo\u{202E}gpj.exe"), "photogpj.exe");
    assert_eq!(sanitize_filename("<script>\"x\".jpg"), "scriptx.jpg");
    assert_eq!(sanitize_filename("  name.png.  "), "name.png");
    for empty in ["", "   ", "/", "..", "dir/", "\u{202E}"] {
        assert_eq!(sanitize_filename(empty), "未命名", "{empty:?}");
    }
    let long = format!("{}.jpeg", "长".repeat(300));
    let s = sanitize_filename(&long);
    assert_eq!(s.chars().count(), MAX_FILENAME_CHARS);
    assert!(s.ends_with("长.jpeg"));
    let long_no_ext = "x".repeat(300);
    assert_eq!(sanitize_filename(&long_no_ext).len(), MAX_FILENAME_CHARS);
}
