//! Time-based one-time passwords (RFC 6238, HMAC-SHA1, 6 digits, 30-second steps), the second
//! factor that administrators can require per role. Compatible with every authenticator app.

use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

pub const STEP_SECS: i64 = 30;
pub const DIGITS: u32 = 6;

/// The code for a given 30-second counter.
pub fn hotp(secret: &[u8], counter: u64) -> u32 {
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(secret) else {
        return 0;
    };
    mac.update(&counter.to_be_bytes());
    let h = mac.finalize().into_bytes();
    let off = usize::from(h[h.len() - 1] & 0x0f);
    let bin = (u32::from(h[off]) & 0x7f) << 24
        | u32::from(h[off + 1]) << 16
        | u32::from(h[off + 2]) << 8
        | u32::from(h[off + 3]);
    bin % 10u32.pow(DIGITS)
}

pub fn counter_at(unix_secs: i64) -> u64 {
    (unix_secs.max(0) / STEP_SECS) as u64
}

/// Verify `code` at `unix_secs`, accepting one step of clock drift either way. Returns the
/// counter that matched so the caller can refuse its reuse (a code works once).
pub fn verify(
    secret: &[u8],
    code: &str,
    unix_secs: i64,
    last_used_counter: Option<u64>,
) -> Option<u64> {
    let code = code.trim();
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let want: u32 = code.parse().ok()?;
    let now = counter_at(unix_secs);
    [now.saturating_sub(1), now, now + 1]
        .into_iter()
        .filter(|c| last_used_counter.is_none_or(|used| *c > used))
        .find(|c| hotp(secret, *c) == want)
}

pub fn format_code(code: u32) -> String {
    format!("{code:06}")
}

pub fn secret_base32(secret: &[u8]) -> String {
    data_encoding::BASE32_NOPAD.encode(secret)
}

/// The `otpauth://` URI authenticator apps import (usually from a QR code).
pub fn otpauth_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    fn enc(s: &str) -> String {
        let mut out = String::new();
        for b in s.bytes() {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                out.push(char::from(b));
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
        out
    }
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits=6&period=30",
        enc(issuer),
        enc(account),
        secret_base32(secret),
        enc(issuer)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 6238 Appendix B, SHA-1 seed, truncated to 6 digits.
    const SEED: &[u8] = b"12345678901234567890";

    #[test]
    fn rfc6238_vectors() {
        for (t, want) in [
            (59, 287082),
            (1111111109, 81804),
            (1111111111, 50471),
            (1234567890, 5924),
            (2000000000, 279037),
        ] {
            assert_eq!(hotp(SEED, counter_at(t)), want, "t={t}");
        }
    }

    #[test]
    fn verify_window_and_replay() {
        let t = 1_111_111_111;
        let code = format_code(hotp(SEED, counter_at(t)));
        let c = verify(SEED, &code, t, None);
        assert_eq!(c, Some(counter_at(t)));
        assert_eq!(
            verify(SEED, &code, t + 30, None),
            Some(counter_at(t)),
            "one step of drift"
        );
        assert_eq!(verify(SEED, &code, t + 90, None), None, "too old");
        assert_eq!(verify(SEED, &code, t, c), None, "a code works once");
        assert_eq!(verify(SEED, "12345", t, None), None);
        assert_eq!(verify(SEED, "abcdef", t, None), None);
    }

    #[test]
    fn uri() {
        let u = otpauth_uri("邻里", "admin", SEED);
        assert!(u.starts_with(
            "otpauth://totp/%E9%82%BB%E9%87%8C:admin?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
        ));
    }
}
