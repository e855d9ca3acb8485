//! Personal information at rest (个人信息保护法 Art. 51, GB/T 35273 §6.3): a requester's phone
//! number is sealed with ChaCha20-Poly1305 before it reaches the database, found again through a
//! keyed blind index (HMAC-SHA256, so equal numbers match without the number being stored), and
//! shown masked everywhere except to holders of `case.personal`, each such reveal audited.
//!
//! One 32-byte platform secret gives both keys (domain-separated by HMAC). The server reads it
//! from `LINLI_PI_KEY` (base64) or `<data_dir>/pi.key` (created 0600 at first start); every
//! server sharing a database must use the same secret, and losing it loses the numbers.

use chacha20poly1305::ChaCha20Poly1305;
use chacha20poly1305::aead::{Aead, KeyInit as _};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::{AppError, Result};

const SEALED_V1: u8 = 1;

pub struct PiKey {
    cipher: ChaCha20Poly1305,
    index_key: [u8; 32],
}

impl std::fmt::Debug for PiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PiKey(..)")
    }
}

fn hmac(key: &[u8; 32], data: &[u8]) -> [u8; 32] {
    // HMAC takes keys of any length, so the error arm never runs.
    let Ok(mut m) = Hmac::<Sha256>::new_from_slice(key) else {
        return [0u8; 32];
    };
    m.update(data);
    m.finalize().into_bytes().into()
}

impl PiKey {
    pub fn from_secret(secret: &[u8; 32]) -> PiKey {
        let enc = hmac(secret, b"linli/pi/seal/v1");
        PiKey {
            cipher: ChaCha20Poly1305::new(&enc.into()),
            index_key: hmac(secret, b"linli/pi/index/v1"),
        }
    }

    /// A throw-away key for tests and benchmarks (data sealed with it dies with the process).
    pub fn ephemeral() -> PiKey {
        let mut s = [0u8; 32];
        rand::fill(&mut s);
        PiKey::from_secret(&s)
    }

    /// Parse the base64 form of a secret (`LINLI_PI_KEY`, the `pi.key` file).
    pub fn from_base64(text: &str) -> Result<PiKey> {
        use base64::Engine as _;
        let raw = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|_| AppError::Internal("pi key is not base64".into()))?;
        let secret: [u8; 32] = raw
            .try_into()
            .map_err(|_| AppError::Internal("pi key must be 32 bytes".into()))?;
        Ok(PiKey::from_secret(&secret))
    }

    /// A new random secret in base64, for `pi.key`.
    pub fn generate_base64() -> String {
        use base64::Engine as _;
        let mut s = [0u8; 32];
        rand::fill(&mut s);
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    pub fn seal(&self, plain: &str) -> Vec<u8> {
        let mut nonce = [0u8; 12];
        rand::fill(&mut nonce);
        let ct = self
            .cipher
            .encrypt(&nonce.into(), plain.as_bytes())
            .unwrap_or_default();
        let mut out = Vec::with_capacity(1 + 12 + ct.len());
        out.push(SEALED_V1);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        out
    }

    pub fn open(&self, sealed: &[u8]) -> Result<String> {
        let bad = || AppError::Internal("sealed personal data cannot be opened".into());
        if sealed.len() < 13 || sealed[0] != SEALED_V1 {
            return Err(bad());
        }
        let nonce: [u8; 12] = sealed[1..13].try_into().map_err(|_| bad())?;
        let plain = self
            .cipher
            .decrypt(&nonce.into(), &sealed[13..])
            .map_err(|_| bad())?;
        String::from_utf8(plain).map_err(|_| bad())
    }

    /// The blind index of a normalised value (hex, 128 bits).
    pub fn index(&self, value: &str) -> String {
        hex::encode(&hmac(&self.index_key, value.as_bytes())[..16])
    }
}

/// A phone number as typed → its digits, validated: a mainland mobile (11 digits from 1), a
/// landline with area code (10–12 digits from 0), or a local or service number (5–8 digits);
/// `+86`/`0086` prefixes, spaces and dashes are dropped.
pub fn normalize_phone(raw: &str) -> Result<String> {
    let digits: String = raw
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '(' | ')'))
        .collect();
    let d = digits
        .strip_prefix("+86")
        .or_else(|| digits.strip_prefix("0086"))
        .unwrap_or(&digits);
    let ok = d.chars().all(|c| c.is_ascii_digit())
        && matches!(
            (d.as_bytes().first(), d.len()),
            (_, 5..=8) | (Some(b'1'), 11) | (Some(b'0'), 10..=12)
        );
    if ok {
        Ok(d.to_string())
    } else {
        Err(AppError::invalid(
            "invalid_phone",
            "联系电话格式不正确（手机 11 位，座机带区号）",
        ))
    }
}

/// `13812345678` → `138****5678`; short numbers keep only their last two digits.
pub fn mask_phone(digits: &str) -> String {
    let n = digits.chars().count();
    if n >= 7 {
        let head: String = digits.chars().take(3).collect();
        let tail: String = digits.chars().skip(n - 4).collect();
        format!("{head}****{tail}")
    } else {
        let tail: String = digits.chars().skip(n.saturating_sub(2)).collect();
        format!("****{tail}")
    }
}

/// `张三丰` → `张**`: a name shown in lists.
pub fn mask_name(name: &str) -> String {
    let mut c = name.chars();
    match c.next() {
        Some(first) => format!("{first}{}", "*".repeat(c.count().min(3))),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn seal_open_and_index() {
        let k = PiKey::from_secret(&[7u8; 32]);
        let a = k.seal("13812345678");
        let b = k.seal("13812345678");
        assert_ne!(a, b, "random nonces");
        assert!(!String::from_utf8_lossy(&a).contains("1381234"));
        assert_eq!(k.open(&a).unwrap(), "13812345678");
        assert_eq!(k.index("13812345678"), k.index("13812345678"));
        assert_ne!(k.index("13812345678"), k.index("13812345679"));
        let other = PiKey::from_secret(&[8u8; 32]);
        assert!(other.open(&a).is_err(), "another key cannot open it");
        assert_ne!(other.index("13812345678"), k.index("13812345678"));
        let mut tampered = a.clone();
        if let Some(last) = tampered.last_mut() {
            *last ^= 1;
        }
        assert!(k.open(&tampered).is_err());
        let k2 = PiKey::from_base64(&PiKey::generate_base64()).unwrap();
        assert_eq!(k2.open(&k2.seal("x")).unwrap(), "x");
        assert!(PiKey::from_base64("c2hvcnQ=").is_err());
    }

    #[test]
    fn phones_normalise_and_mask() {
        assert_eq!(normalize_phone("+86 138-1234-5678").unwrap(), "13812345678");
        assert_eq!(normalize_phone("010-65123456").unwrap(), "01065123456");
        assert_eq!(normalize_phone("12345").unwrap(), "12345");
        for bad in ["", "1381234567", "abc", "138123456789", "+86"] {
            assert!(normalize_phone(bad).is_err(), "{bad}");
        }
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_phone("12345"), "****45");
        assert_eq!(mask_name("张三丰"), "张**");
        assert_eq!(mask_name("李"), "李");
    }
}
