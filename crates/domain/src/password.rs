//! Password rules (等保 2.0: 口令复杂度) and account lockout arithmetic.
//! Hashing itself (Argon2id) lives in the app crate: it is CPU work, run off the async runtime.

use crate::clock::Ts;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct PasswordPolicy {
    pub min_length: usize,
    /// How many of the four classes (lower, upper, digit, other) must appear.
    pub min_classes: usize,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        PasswordPolicy {
            min_length: 10,
            min_classes: 3,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("密码至少需要 {0} 个字符")]
    TooShort(usize),
    #[error("密码过长（最多 128 个字符）")]
    TooLong,
    #[error("密码不能包含用户名")]
    ContainsUsername,
    #[error("密码需包含小写字母、大写字母、数字、符号中的至少 {0} 类")]
    TooSimple(usize),
}

impl PasswordPolicy {
    pub fn check(&self, username: &str, password: &str) -> Result<(), PasswordError> {
        let n = password.chars().count();
        if n < self.min_length {
            return Err(PasswordError::TooShort(self.min_length));
        }
        if n > 128 {
            return Err(PasswordError::TooLong);
        }
        let u = username.trim().to_lowercase();
        if !u.is_empty() && password.to_lowercase().contains(&u) {
            return Err(PasswordError::ContainsUsername);
        }
        let classes = [
            password.chars().any(|c| c.is_lowercase()),
            password.chars().any(|c| c.is_uppercase()),
            password.chars().any(|c| c.is_ascii_digit()),
            password.chars().any(|c| !c.is_alphanumeric()),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if classes < self.min_classes {
            return Err(PasswordError::TooSimple(self.min_classes));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct LockoutPolicy {
    pub max_failures: i64,
    pub lock_secs: i64,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        LockoutPolicy {
            max_failures: 5,
            lock_secs: 15 * 60,
        }
    }
}

/// The account state after one more failed attempt: new failure count and, when the threshold is
/// reached, the instant the lock ends (the count then starts again from zero).
pub fn after_failure(policy: &LockoutPolicy, failures: i64, now: Ts) -> (i64, Option<Ts>) {
    let f = failures + 1;
    if f >= policy.max_failures {
        (0, Some(now.plus_secs(policy.lock_secs)))
    } else {
        (f, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy() {
        let p = PasswordPolicy::default();
        assert_eq!(
            p.check("zhangsan", "Short1!"),
            Err(PasswordError::TooShort(10))
        );
        assert_eq!(
            p.check("zhangsan", "xZhangSan2026!"),
            Err(PasswordError::ContainsUsername)
        );
        assert_eq!(
            p.check("zhangsan", "abcdefghijk"),
            Err(PasswordError::TooSimple(3))
        );
        assert!(p.check("zhangsan", "Linli-2026-ok").is_ok());
        assert!(
            p.check("zhangsan", "社区网格Grid2026").is_ok(),
            "CJK counts as other"
        );
    }

    #[test]
    fn lockout_after_five() {
        let p = LockoutPolicy::default();
        let mut f = 0;
        for _ in 0..4 {
            let (n, lock) = after_failure(&p, f, Ts(0));
            assert!(lock.is_none());
            f = n;
        }
        assert_eq!(after_failure(&p, f, Ts(0)), (0, Some(Ts(900_000_000))));
    }
}
