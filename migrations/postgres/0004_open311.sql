-- Open311 GeoReport v2 (issue 5): API keys that administrators create for outside 311 clients,
-- the units each key may report for, and what Linli keeps of a request filed through Open311
-- beyond the case itself. Keep in step with migrations/sqlite/0004_open311.sql. Times are
-- BIGINT microseconds (UTC).

-- A key is shown once at creation; only its SHA-256 is stored. The district code is part of
-- the key (o311_<tenant>_<secret>), so a lookup never leaves the tenant.
CREATE TABLE open311_keys (
    tenant       TEXT   NOT NULL,
    id           UUID   NOT NULL,
    name         TEXT   NOT NULL,
    key_hash     BYTEA  NOT NULL,
    prefix       TEXT   NOT NULL,
    created_by   UUID   NOT NULL,
    created_at   BIGINT NOT NULL,
    revoked_at   BIGINT,
    last_used_at BIGINT,
    PRIMARY KEY (tenant, id)
);
CREATE UNIQUE INDEX open311_keys_hash ON open311_keys (tenant, key_hash);

-- The receiving units (district or street) a key files cases at; ord 0 is the default.
CREATE TABLE open311_key_units (
    tenant    TEXT   NOT NULL,
    key_id    UUID   NOT NULL,
    unit_id   UUID   NOT NULL,
    unit_path TEXT   COLLATE "C" NOT NULL,
    ord       BIGINT NOT NULL,
    PRIMARY KEY (tenant, key_id, unit_id)
);

-- The media URL an Open311 client sent with a request, beside its case, with the key that
-- filed it (the photo stays where the client put it; Linli never fetches it). Requests without
-- one have no row: the case itself records the key as its creator.
CREATE TABLE open311_requests (
    tenant     TEXT   NOT NULL,
    case_id    UUID   NOT NULL,
    key_id     UUID   NOT NULL,
    media_url  TEXT   NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant, case_id)
);
