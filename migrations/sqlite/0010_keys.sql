-- The keyring's check values (issue 4): one constant sealed under each data key, and under
-- key_id 0 the blind index of a constant, so that a server given a missing or wrong key file
-- stops at start instead of sealing personal data under a new key. No key material is stored.
-- Keep in step with migrations/postgres/0010_keys.sql.
CREATE TABLE key_checks (
    key_id      BIGINT NOT NULL PRIMARY KEY,
    check_value BLOB   NOT NULL,
    created_at  BIGINT NOT NULL
);
