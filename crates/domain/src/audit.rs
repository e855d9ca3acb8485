//! The audit trail's tamper evidence: each record's hash covers its own fields and the hash of
//! the record before it in the same chain, so altering, inserting or deleting any row breaks
//! every later link. Chains are per tenant, so districts never contend for one chain head.

use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::clock::Ts;

/// The hash that starts every chain.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    pub chain: String,
    pub seq: i64,
    pub id: Uuid,
    pub at: Ts,
    pub user_id: Option<Uuid>,
    pub username: String,
    pub unit_id: Option<Uuid>,
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    pub result: String,
    pub reason: String,
    pub request_id: String,
    pub ip: String,
    pub detail: String,
    pub prev_hash: String,
}

impl AuditRecord {
    /// SHA-256 over a length-prefixed encoding of every field (so no field can bleed into the
    /// next), hex encoded.
    pub fn compute_hash(&self) -> String {
        let mut h = Sha256::new();
        let mut field = |s: &str| {
            h.update((s.len() as u64).to_be_bytes());
            h.update(s.as_bytes());
        };
        field(&self.chain);
        field(&self.seq.to_string());
        field(&self.id.to_string());
        field(&self.at.0.to_string());
        field(&self.user_id.map(|u| u.to_string()).unwrap_or_default());
        field(&self.username);
        field(&self.unit_id.map(|u| u.to_string()).unwrap_or_default());
        field(&self.action);
        field(&self.target_type);
        field(&self.target_id);
        field(&self.result);
        field(&self.reason);
        field(&self.request_id);
        field(&self.ip);
        field(&self.detail);
        field(&self.prev_hash);
        hex::encode(h.finalize())
    }
}

/// Where a chain first fails verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Break {
    /// The row's stored hash does not match its contents.
    Altered { seq: i64 },
    /// The row does not point at the previous row's hash (a row was removed or reordered).
    Unlinked { seq: i64 },
    /// Sequence numbers skip (a row was deleted).
    Gap { expected: i64, found: i64 },
}

impl std::fmt::Display for Break {
    /// In Chinese: shown by the console, the API and `linli audit verify`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Break::Altered { seq } => write!(f, "第 {seq} 条记录内容被篡改"),
            Break::Unlinked { seq } => write!(f, "第 {seq} 条记录与前一条的链接断开"),
            Break::Gap { expected, found } => write!(
                f,
                "序号不连续：应为 {expected}，实为 {found}（记录被删除或截断）"
            ),
        }
    }
}

/// Walks records of one chain in `seq` order. Feed rows one at a time so a chain of millions
/// of rows verifies in constant memory.
#[derive(Debug)]
pub struct ChainVerifier {
    prev_hash: String,
    next_seq: i64,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        ChainVerifier {
            prev_hash: GENESIS.to_string(),
            next_seq: 1,
        }
    }
}

impl ChainVerifier {
    pub fn check(&mut self, rec: &AuditRecord, stored_hash: &str) -> Result<(), Break> {
        if rec.seq != self.next_seq {
            return Err(Break::Gap {
                expected: self.next_seq,
                found: rec.seq,
            });
        }
        if rec.prev_hash != self.prev_hash {
            return Err(Break::Unlinked { seq: rec.seq });
        }
        if rec.compute_hash() != stored_hash {
            return Err(Break::Altered { seq: rec.seq });
        }
        self.prev_hash = stored_hash.to_string();
        self.next_seq += 1;
        Ok(())
    }
    pub fn verified(&self) -> i64 {
        self.next_seq - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(seq: i64, prev: &str) -> AuditRecord {
        AuditRecord {
            chain: "110101".into(),
            seq,
            id: Uuid::from_u128(seq as u128),
            at: Ts(seq * 1000),
            user_id: None,
            username: "admin".into(),
            unit_id: None,
            action: "login".into(),
            target_type: "user".into(),
            target_id: "x".into(),
            result: "ok".into(),
            reason: String::new(),
            request_id: "r".into(),
            ip: "127.0.0.1".into(),
            detail: "{}".into(),
            prev_hash: prev.into(),
        }
    }

    fn chain(n: i64) -> Vec<(AuditRecord, String)> {
        let mut out = Vec::new();
        let mut prev = GENESIS.to_string();
        for s in 1..=n {
            let r = rec(s, &prev);
            let h = r.compute_hash();
            prev = h.clone();
            out.push((r, h));
        }
        out
    }

    fn verify(rows: &[(AuditRecord, String)]) -> Result<i64, Break> {
        let mut v = ChainVerifier::default();
        for (r, h) in rows {
            v.check(r, h)?;
        }
        Ok(v.verified())
    }

    #[test]
    fn intact_chain_verifies() {
        assert_eq!(verify(&chain(5)), Ok(5));
    }

    #[test]
    fn any_alteration_is_found_at_its_row() {
        let mut c = chain(5);
        c[2].0.reason = "edited".into();
        assert_eq!(verify(&c), Err(Break::Altered { seq: 3 }));
        let mut c = chain(5);
        c.remove(1);
        assert_eq!(
            verify(&c),
            Err(Break::Gap {
                expected: 2,
                found: 3
            })
        );
        // Rewriting a row and its hash still breaks the next link.
        let mut c = chain(5);
        c[1].0.username = "mallory".into();
        c[1].1 = c[1].0.compute_hash();
        assert_eq!(verify(&c), Err(Break::Unlinked { seq: 3 }));
    }
}
