//! Personal information shown and typed (个人信息保护法 Art. 51, GB/T 35273 §6.3): phone
//! numbers normalised at the edge, masked everywhere except to holders of the unmask permission,
//! and the list of columns that hold sealed values (see [`crate::keyring`] for the sealing and
//! [`crate::keys`] for the checks and rotation that walk [`SEALED`]).

use crate::keyring::Field;
use crate::{AppError, Result};

/// A case's requester phone (row: the case id).
pub const CASE_PHONE: Field = Field::new("cases", "requester_phone");
/// A resident portal account's phone (row: the account id).
pub const PORTAL_PHONE: Field = Field::new("portal_accounts", "phone");
/// A webhook's signing secret (row: the webhook id).
pub const WEBHOOK_SECRET: Field = Field::new("webhooks", "secret");

/// Every sealed column, each in a table keyed by a UUID `id`: key rotation re-encrypts these.
pub const SEALED: &[Field] = &[
    CASE_PHONE,
    PORTAL_PHONE,
    WEBHOOK_SECRET,
    crate::registry::RESIDENT_ID_NUMBER,
    crate::registry::RESIDENT_PHONE,
    crate::registry::ORGANISATION_PHONE,
];

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
