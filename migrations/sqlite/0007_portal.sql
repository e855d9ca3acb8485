-- The resident portal (issue 5): residents' accounts (a phone number, sealed, found by its
-- blind index), one-time sign-in codes, portal sessions, and the community notices (阳光社区).
-- Keep in step with migrations/postgres/0007_portal.sql. Times are BIGINT microseconds (UTC).

-- A resident is a phone number they proved they hold; nothing else is asked of them.
CREATE TABLE portal_accounts (
    id           BLOB   NOT NULL PRIMARY KEY,
    phone_hash   TEXT   NOT NULL,
    phone        BLOB   NOT NULL,
    phone_masked TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX portal_accounts_phone ON portal_accounts (phone_hash);

-- One code sent by SMS. code_hash binds the code to the phone (keyed HMAC); ip_hash lets the
-- per-address rate limit count without keeping the address. Rows older than a day are purged.
CREATE TABLE portal_codes (
    id          BLOB   NOT NULL PRIMARY KEY,
    phone_hash  TEXT   NOT NULL,
    ip_hash     TEXT   NOT NULL,
    code_hash   TEXT   NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    attempts    BIGINT NOT NULL DEFAULT 0,
    used_at     BIGINT
);
CREATE INDEX portal_codes_phone ON portal_codes (phone_hash, created_at);
CREATE INDEX portal_codes_ip ON portal_codes (ip_hash, created_at);

CREATE TABLE portal_sessions (
    token_hash   BLOB   NOT NULL PRIMARY KEY,
    account_id   BLOB   NOT NULL,
    csrf         TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX portal_sessions_account ON portal_sessions (account_id);

-- 阳光社区: what a community (or street) publishes for its residents.
CREATE TABLE portal_notices (
    tenant       TEXT   NOT NULL,
    id           BLOB   NOT NULL,
    unit_id      BLOB   NOT NULL,
    unit_path    TEXT   NOT NULL,
    title        TEXT   NOT NULL,
    body         TEXT   NOT NULL,
    author_id    BLOB   NOT NULL,
    published_at BIGINT NOT NULL,
    withdrawn_at BIGINT,
    PRIMARY KEY (tenant, id)
);
CREATE INDEX portal_notices_unit ON portal_notices (unit_id, published_at);

-- "我的诉求" looks a resident's cases up by phone across districts.
CREATE INDEX cases_phone_any ON cases (phone_hash, received_at) WHERE phone_hash IS NOT NULL;
