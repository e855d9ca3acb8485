//! 公民身份号码 (citizen identity number) per GB 11643-1999.
//!
//! Eighteen characters: a 6-digit address code (GB/T 2260, the county where the number was first
//! issued), the birth date `YYYYMMDD`, a 3-digit sequence (odd = male, even = female) and a check
//! character by ISO 7064 MOD 11-2 (weights `7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2` over the first 17
//! digits; the sum mod 11, 0..=10, maps to `1 0 X 9 8 7 6 5 4 3 2`). First-generation cards carry
//! 15 digits (2-digit year, no check character); they are converted by inserting `19` before the
//! year and computing the check character.
//!
//! The address code is **not** checked against the division table here: codes of abolished or
//! merged counties stay valid on cards already issued (110103 崇文区 merged into 东城区 in 2010),
//! so an unknown code is a warning the caller raises against its own division table, not an error.
//!
//! An [`IdNumber`] is personal data. Its `Debug` prints `IdNumber(***)` and it has no `Display`
//! and no serde implementation, so it cannot slip into a log line or a JSON body by accident:
//! callers write [`IdNumber::as_str`] (to store it) or [`IdNumber::masked`] (to show it) on purpose.

use std::fmt;

use time::{Date, Month};

crate::keyed! {
    /// 性别, as the parity of the sequence code gives it.
    Sex {
        Male = "male", "男";
        Female = "female", "女";
    }
}

/// ISO 7064 MOD 11-2 weights of the first 17 digits.
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// Check character for each remainder 0..=10 of the weighted sum.
const CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];
/// The earliest birth date accepted.
const EARLIEST_YEAR: i32 = 1890;

/// Why a string is not a valid 公民身份号码.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum IdError {
    /// Neither 18 characters nor a legacy 15-digit number.
    #[error("{}", self.message())]
    Length,
    /// Something other than digits (and a final `X` on 18-character numbers).
    #[error("{}", self.message())]
    Chars,
    /// The birth date is not a calendar date (`19900230`).
    #[error("{}", self.message())]
    BirthDate,
    /// The birth date lies after today.
    #[error("{}", self.message())]
    BirthFuture,
    /// The birth date lies before 1890-01-01.
    #[error("{}", self.message())]
    BirthTooEarly,
    /// The check character does not match the first 17 digits.
    #[error("{}", self.message())]
    Checksum,
    /// [`IdNumber::compose`]: the address code is not 6 ASCII digits.
    #[error("{}", self.message())]
    AddressCode,
    /// [`IdNumber::compose`]: the sequence is above 999.
    #[error("{}", self.message())]
    Sequence,
}

impl IdError {
    pub const ALL: &'static [IdError] = &[
        IdError::Length,
        IdError::Chars,
        IdError::BirthDate,
        IdError::BirthFuture,
        IdError::BirthTooEarly,
        IdError::Checksum,
        IdError::AddressCode,
        IdError::Sequence,
    ];

    /// Stable key for APIs and import reports.
    pub fn key(self) -> &'static str {
        match self {
            IdError::Length => "id_length",
            IdError::Chars => "id_chars",
            IdError::BirthDate => "id_birth_date",
            IdError::BirthFuture => "id_birth_future",
            IdError::BirthTooEarly => "id_birth_too_early",
            IdError::Checksum => "id_checksum",
            IdError::AddressCode => "id_address_code",
            IdError::Sequence => "id_sequence",
        }
    }

    /// What to tell the person who typed the number.
    pub fn message(self) -> &'static str {
        match self {
            IdError::Length => "身份证号码应为18位（旧版15位）",
            IdError::Chars => "身份证号码只能由数字组成，18位号码末位可为X",
            IdError::BirthDate => "身份证号码中的出生日期无效",
            IdError::BirthFuture => "身份证号码中的出生日期晚于今天",
            IdError::BirthTooEarly => "身份证号码中的出生日期早于1890年",
            IdError::Checksum => "身份证号码校验位不正确",
            IdError::AddressCode => "身份证号码地址码应为6位数字",
            IdError::Sequence => "身份证号码顺序码应在000至999之间",
        }
    }
}

/// The check character of the first 17 digits of an 18-character number; `None` unless `first17`
/// is exactly 17 ASCII digits.
pub fn check_char(first17: &str) -> Option<char> {
    let bytes = first17.as_bytes();
    if bytes.len() != 17 || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let sum: u32 = bytes
        .iter()
        .zip(WEIGHTS)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    CHECK.get((sum % 11) as usize).copied()
}

/// A valid 公民身份号码, always in the normalised 18-character form with an uppercase `X`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IdNumber(String);

impl fmt::Debug for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IdNumber(***)")
    }
}

impl IdNumber {
    /// Parse what a person typed or a spreadsheet holds.
    ///
    /// Surrounding whitespace is trimmed, full-width digits and `Ｘ`/`ｘ` become ASCII and a
    /// lowercase `x` becomes `X`. 18 characters: 17 digits and a digit or `X`, a calendar birth
    /// date from 1890-01-01 to `today`, and the right check character. 15 digits (first
    /// generation): converted to 18 by inserting `19` before the year and computing the check
    /// character. The address code is not looked up (see the module documentation).
    pub fn parse(raw: &str, today: Date) -> Result<IdNumber, IdError> {
        let s: String = raw.trim().chars().map(normalise_char).collect();
        let n = s.chars().count();
        let full = match n {
            18 => {
                let b = s.as_bytes();
                // 18 chars of which the first 17 are ASCII digits means the string is ASCII up to
                // the last char; the last must be a digit or X.
                if !b.iter().take(17).all(u8::is_ascii_digit)
                    || b.len() != 18
                    || !(b[17].is_ascii_digit() || b[17] == b'X')
                {
                    return Err(IdError::Chars);
                }
                s
            }
            15 => {
                if !s.bytes().all(|b| b.is_ascii_digit()) || s.len() != 15 {
                    return Err(IdError::Chars);
                }
                let first17 = format!("{}19{}", &s[..6], &s[6..]);
                let check = check_char(&first17).ok_or(IdError::Chars)?;
                let mut full = first17;
                full.push(check);
                full
            }
            _ => return Err(IdError::Length),
        };
        let birth = birth_of(&full)?;
        if birth > today {
            return Err(IdError::BirthFuture);
        }
        if check_char(&full[..17]) != full[17..].chars().next() {
            return Err(IdError::Checksum);
        }
        Ok(IdNumber(full))
    }

    /// Build a valid number from its parts (demo data, tests): `address` is any 6 ASCII digits
    /// (not looked up), `sequence` 0..=999 (odd = male). The birth date must not be before
    /// 1890-01-01; it is not compared with today, so a caller generating data picks sensible
    /// dates itself ([`IdNumber::parse`] rejects future ones).
    pub fn compose(address: &str, birth: Date, sequence: u16) -> Result<IdNumber, IdError> {
        if address.len() != 6 || !address.bytes().all(|b| b.is_ascii_digit()) {
            return Err(IdError::AddressCode);
        }
        if sequence > 999 {
            return Err(IdError::Sequence);
        }
        if birth.year() < EARLIEST_YEAR {
            return Err(IdError::BirthTooEarly);
        }
        let first17 = format!(
            "{address}{:04}{:02}{:02}{sequence:03}",
            birth.year(),
            u8::from(birth.month()),
            birth.day()
        );
        let check = check_char(&first17).ok_or(IdError::Chars)?;
        let mut full = first17;
        full.push(check);
        Ok(IdNumber(full))
    }

    /// The full 18-character number, for storage and for matching; never for logs.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 6-digit address code (the county of first issue; it may no longer exist).
    pub fn address_code(&self) -> &str {
        &self.0[..6]
    }

    pub fn birth_date(&self) -> Date {
        // Every IdNumber was built with a valid birth date; the fallback is unreachable.
        birth_of(&self.0).unwrap_or(Date::MIN)
    }

    /// The 3-digit sequence code, 0..=999.
    pub fn sequence(&self) -> u16 {
        self.0.as_bytes()[14..17]
            .iter()
            .fold(0u16, |acc, b| acc * 10 + u16::from(b - b'0'))
    }

    /// Odd sequence = male, even = female.
    pub fn sex(&self) -> Sex {
        if self.sequence() % 2 == 1 {
            Sex::Male
        } else {
            Sex::Female
        }
    }

    /// Age in completed years on `date` (0 before the birth date).
    pub fn age_on(&self, date: Date) -> u32 {
        age_between(self.birth_date(), date)
    }

    /// `110105********002X`: the address code, eight `*`, the last four characters. For screens,
    /// exports to people without the right to see the number, and logs.
    pub fn masked(&self) -> String {
        format!("{}********{}", &self.0[..6], &self.0[14..])
    }
}

/// Completed years between `birth` and `date` (0 if `date` is before `birth`).
pub fn age_between(birth: Date, date: Date) -> u32 {
    if date < birth {
        return 0;
    }
    let mut years = date.year() - birth.year();
    if (u8::from(date.month()), date.day()) < (u8::from(birth.month()), birth.day()) {
        years -= 1;
    }
    u32::try_from(years.max(0)).unwrap_or(0)
}

fn normalise_char(c: char) -> char {
    match c {
        '０'..='９' => {
            char::from_u32(u32::from(c) - u32::from('０') + u32::from('0')).unwrap_or(c)
        }
        'x' | 'Ｘ' | 'ｘ' => 'X',
        _ => c,
    }
}

/// The birth date in positions 6..14 of a string whose first 17 bytes are ASCII digits.
fn birth_of(full: &str) -> Result<Date, IdError> {
    let num = |range: std::ops::Range<usize>| -> u32 {
        full.as_bytes()[range]
            .iter()
            .fold(0u32, |acc, b| acc * 10 + u32::from(b.wrapping_sub(b'0')))
    };
    let year = num(6..10) as i32;
    let month = Month::try_from(num(10..12) as u8).map_err(|_| IdError::BirthDate)?;
    let day = num(12..14) as u8;
    let date = Date::from_calendar_date(year, month, day).map_err(|_| IdError::BirthDate)?;
    if year < EARLIEST_YEAR {
        return Err(IdError::BirthTooEarly);
    }
    Ok(date)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use proptest::prelude::*;
    use time::macros::date;

    const TODAY: Date = date!(2026 - 05 - 01);

    fn ok(s: &str) -> IdNumber {
        IdNumber::parse(s, TODAY).unwrap()
    }

    fn err(s: &str) -> IdError {
        IdNumber::parse(s, TODAY).unwrap_err()
    }

    /// The weighted sum worked by hand for the known numbers, so the tests do not just repeat the
    /// implementation.
    #[test]
    fn known_numbers_checked_by_hand() {
        // 1*7+1*9+0*10+1*5+0*8+5*4+1*2+9*1+4*6+9*3+1*7+2*9+3*10+1*5+0*8+0*4+2*2 = 167;
        // 167 mod 11 = 2 → X.
        assert_eq!(check_char("11010519491231002"), Some('X'));
        // 4*7+4*9+0*10+5*5+2*8+4*4+1*2+8*1+8*6+0*3+0*7+1*9+0*10+1*5+0*8+0*4+1*2 = 195;
        // 195 mod 11 = 8 → 4.
        assert_eq!(check_char("44052418800101001"), Some('4'));
        // 1*7+1*9+0*10+1*5+0*8+1*4+1*2+9*1+9*6+0*3+0*7+3*9+0*10+7*5+4*8+4*4+7*2 = 214;
        // 214 mod 11 = 5 → 7.
        assert_eq!(check_char("11010119900307447"), Some('7'));
        assert_eq!(check_char("1101011990030744"), None);
        assert_eq!(check_char("1101011990030744a"), None);
    }

    #[test]
    fn valid_numbers() {
        let a = ok("11010519491231002X");
        assert_eq!(a.as_str(), "11010519491231002X");
        assert_eq!(a.address_code(), "110105");
        assert_eq!(a.birth_date(), date!(1949 - 12 - 31));
        assert_eq!(a.sequence(), 2);
        assert_eq!(a.sex(), Sex::Female);
        assert_eq!(a.masked(), "110105********002X");
        assert_eq!(a.age_on(TODAY), 76);

        // 440524188001010014 has a correct check character, but a birth date in 1880 is before
        // the earliest accepted date: it is refused as too early, not as a bad checksum.
        assert_eq!(check_char("44052418800101001"), Some('4'));
        assert_eq!(err("440524188001010014"), IdError::BirthTooEarly);

        let c = ok("110101199003074477");
        assert_eq!(c.sex(), Sex::Male);
        assert_eq!(c.age_on(date!(2026 - 03 - 06)), 35);
        assert_eq!(c.age_on(date!(2026 - 03 - 07)), 36);
        assert_eq!(c.age_on(date!(1980 - 01 - 01)), 0);
    }

    #[test]
    fn normalises_input() {
        assert_eq!(ok("11010519491231002x").as_str(), "11010519491231002X");
        assert_eq!(
            ok("  11010519491231002X\t\n").as_str(),
            "11010519491231002X"
        );
        assert_eq!(
            ok("１１０１０５１９４９１２３１００２Ｘ").as_str(),
            "11010519491231002X"
        );
        assert_eq!(
            ok("１１０１０５１９４９１２３１００２ｘ").as_str(),
            "11010519491231002X"
        );
        assert_eq!(ok("11010519491231002X"), ok("11010519491231002x"));
    }

    #[test]
    fn converts_first_generation_numbers() {
        let a = ok("110105491231002");
        assert_eq!(a.as_str(), "11010519491231002X");
        assert_eq!(a.birth_date(), date!(1949 - 12 - 31));
        assert_eq!(ok("110101900307447").as_str(), "110101199003074477");
        assert_eq!(
            ok("１１０１０５４９１２３１００２").as_str(),
            "11010519491231002X"
        );
        // A 15-digit number has no check character and no X.
        assert_eq!(err("11010549123100X"), IdError::Chars);
        assert_eq!(err("110105490230002"), IdError::BirthDate);
    }

    #[test]
    fn rejects_bad_numbers() {
        assert_eq!(err("110105194912310021"), IdError::Checksum);
        assert_eq!(err("11010519491231002Y"), IdError::Chars);
        assert_eq!(err("1101051949123A002X"), IdError::Chars);
        assert_eq!(err("X10105194912310021"), IdError::Chars);
        assert_eq!(err("11010519491231002X1"), IdError::Length);
        assert_eq!(err("1101051949123100"), IdError::Length);
        assert_eq!(err(""), IdError::Length);
        assert_eq!(err("   "), IdError::Length);
        // 18 chars but not ASCII.
        assert_eq!(err("11010519491231002甲"), IdError::Chars);
        assert_eq!(err("110105 19491231 002X"), IdError::Length);
        // 1990-02-30, month 13 and month 0 do not exist; the date is rejected before the check
        // character is looked at.
        assert_eq!(err("110101199002300011"), IdError::BirthDate);
        assert_eq!(err("110101199013010011"), IdError::BirthDate);
        assert_eq!(err("110101199000010011"), IdError::BirthDate);
        // Leap days.
        let leap = IdNumber::compose("110101", date!(2000 - 02 - 29), 11).unwrap();
        assert_eq!(ok(leap.as_str()).birth_date(), date!(2000 - 02 - 29));
        let mut not_leap = leap.as_str().to_string();
        not_leap.replace_range(6..10, "1999");
        assert_eq!(err(&not_leap), IdError::BirthDate);
        // Born tomorrow, and before 1890.
        let tomorrow = IdNumber::compose("110101", date!(2026 - 05 - 02), 11).unwrap();
        assert_eq!(err(tomorrow.as_str()), IdError::BirthFuture);
        let today = IdNumber::compose("110101", TODAY, 11).unwrap();
        assert_eq!(ok(today.as_str()).age_on(TODAY), 0);
        let mut old = today.as_str().to_string();
        old.replace_range(6..10, "1889");
        assert_eq!(err(&old), IdError::BirthTooEarly);
    }

    #[test]
    fn compose_checks_its_parts() {
        let d = date!(1990 - 03 - 07);
        assert_eq!(
            IdNumber::compose("110101", d, 447).unwrap().as_str(),
            "110101199003074477"
        );
        assert_eq!(
            IdNumber::compose("11010", d, 1).unwrap_err(),
            IdError::AddressCode
        );
        assert_eq!(
            IdNumber::compose("11010a", d, 1).unwrap_err(),
            IdError::AddressCode
        );
        assert_eq!(
            IdNumber::compose("110101", d, 1000).unwrap_err(),
            IdError::Sequence
        );
        assert_eq!(
            IdNumber::compose("110101", date!(1889 - 12 - 31), 1).unwrap_err(),
            IdError::BirthTooEarly
        );
        assert_eq!(IdNumber::compose("110101", d, 0).unwrap().sequence(), 0);
        assert_eq!(
            IdNumber::compose("110101", d, 999).unwrap().sex(),
            Sex::Male
        );
    }

    #[test]
    fn never_shows_itself() {
        let a = ok("11010519491231002X");
        assert_eq!(format!("{a:?}"), "IdNumber(***)");
        assert_eq!(format!("{:?}", Some(&a)), "Some(IdNumber(***))");
    }

    #[test]
    fn errors_have_keys_and_messages() {
        let mut keys: Vec<_> = IdError::ALL.iter().map(|e| e.key()).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), IdError::ALL.len());
        for e in IdError::ALL {
            assert!(e.key().starts_with("id_"));
            assert_eq!(e.to_string(), e.message());
        }
        assert_eq!(IdError::Checksum.to_string(), "身份证号码校验位不正确");
        assert_eq!(Sex::parse("female"), Some(Sex::Female));
        assert_eq!(Sex::Male.label(), "男");
    }

    fn any_date() -> impl Strategy<Value = Date> {
        (1890i32..=2026, 1u8..=12, 1u8..=31).prop_filter_map("calendar date", |(y, m, d)| {
            let date = Date::from_calendar_date(y, Month::try_from(m).ok()?, d).ok()?;
            (date <= TODAY).then_some(date)
        })
    }

    proptest! {
        #[test]
        fn composed_numbers_round_trip(
            addr in "[0-9]{6}",
            birth in any_date(),
            seq in 0u16..=999,
        ) {
            let id = IdNumber::compose(&addr, birth, seq).unwrap();
            let back = IdNumber::parse(id.as_str(), TODAY).unwrap();
            prop_assert_eq!(&back, &id);
            prop_assert_eq!(back.address_code(), addr.as_str());
            prop_assert_eq!(back.birth_date(), birth);
            prop_assert_eq!(back.sequence(), seq);
            prop_assert_eq!(back.sex() == Sex::Male, seq % 2 == 1);
            prop_assert_eq!(back.as_str().len(), 18);
            // The lowercase form parses to the same number.
            let lower = id.as_str().to_lowercase();
            prop_assert_eq!(IdNumber::parse(&lower, TODAY).unwrap(), id.clone());
            // A number born in the 1900s survives the trip through the first-generation form.
            if (1900..=1999).contains(&birth.year()) {
                let short = format!("{}{}", &id.as_str()[..6], &id.as_str()[8..17]);
                prop_assert_eq!(IdNumber::parse(&short, TODAY).unwrap(), id);
            }
        }

        /// MOD 11-2 detects every single substitution; where the changed digit lies in the birth
        /// date the number may already fail as a date, but it never passes.
        #[test]
        fn every_single_substitution_fails(
            addr in "[0-9]{6}",
            birth in any_date(),
            seq in 0u16..=999,
        ) {
            let id = IdNumber::compose(&addr, birth, seq).unwrap();
            let original: Vec<char> = id.as_str().chars().collect();
            for pos in 0..18 {
                let alphabet: &[char] = if pos == 17 { &CHECK } else {
                    &['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']
                };
                for &c in alphabet {
                    if c == original[pos] {
                        continue;
                    }
                    let mut changed = original.clone();
                    changed[pos] = c;
                    let s: String = changed.into_iter().collect();
                    prop_assert!(IdNumber::parse(&s, TODAY).is_err(), "{} passed", s);
                }
            }
        }
    }
}
