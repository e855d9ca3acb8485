-- Linli foundation schema (PostgreSQL). Keep in step with migrations/sqlite/0001_foundation.sql:
-- same tables, same columns (a test compares them). Times are BIGINT microseconds (UTC),
-- ids are app-made UUIDv7 (UUID here, BLOB there), tenant tables lead their keys with tenant.

CREATE TABLE org_units (
    tenant      TEXT    NOT NULL,
    id          UUID    NOT NULL,
    parent_id   UUID,
    kind        TEXT    NOT NULL,
    code        TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    path        TEXT    COLLATE "C" NOT NULL,
    depth       BIGINT  NOT NULL,
    subtype     TEXT    NOT NULL DEFAULT '',
    source      TEXT    NOT NULL,
    active      BOOLEAN NOT NULL DEFAULT TRUE,
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL,
    version     BIGINT  NOT NULL,
    PRIMARY KEY (tenant, id)
);
CREATE UNIQUE INDEX org_units_code ON org_units (tenant, code);
CREATE INDEX org_units_id ON org_units (id);
CREATE INDEX org_units_path ON org_units (path);
CREATE INDEX org_units_parent ON org_units (parent_id, kind, code);

CREATE TABLE roles (
    key          TEXT    NOT NULL PRIMARY KEY,
    name         TEXT    NOT NULL,
    description  TEXT    NOT NULL DEFAULT '',
    builtin      BOOLEAN NOT NULL,
    require_totp BOOLEAN NOT NULL DEFAULT FALSE,
    default_scope TEXT   NOT NULL,
    created_at   BIGINT  NOT NULL,
    updated_at   BIGINT  NOT NULL,
    version      BIGINT  NOT NULL
);

CREATE TABLE role_permissions (
    role_key   TEXT NOT NULL,
    permission TEXT NOT NULL,
    PRIMARY KEY (role_key, permission)
);

CREATE TABLE users (
    id                   UUID    NOT NULL PRIMARY KEY,
    username             TEXT    NOT NULL,
    display_name         TEXT    NOT NULL,
    kind                 TEXT    NOT NULL,
    unit_id              UUID    NOT NULL,
    unit_path            TEXT    COLLATE "C" NOT NULL,
    password_hash        TEXT    NOT NULL,
    must_change_password BOOLEAN NOT NULL DEFAULT FALSE,
    disabled             BOOLEAN NOT NULL DEFAULT FALSE,
    failed_count         BIGINT  NOT NULL DEFAULT 0,
    locked_until         BIGINT,
    totp_secret          BYTEA,
    totp_last_counter    BIGINT,
    created_by           UUID,
    created_at           BIGINT  NOT NULL,
    updated_at           BIGINT  NOT NULL,
    version              BIGINT  NOT NULL
);
CREATE UNIQUE INDEX users_username ON users (username);
CREATE INDEX users_unit_path ON users (unit_path, username);

CREATE TABLE user_roles (
    id          UUID   NOT NULL PRIMARY KEY,
    user_id     UUID   NOT NULL,
    role_key    TEXT   NOT NULL,
    unit_id     UUID   NOT NULL,
    unit_path   TEXT   COLLATE "C" NOT NULL,
    scope       TEXT   NOT NULL,
    granted_by  UUID,
    granted_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX user_roles_unique ON user_roles (user_id, role_key, unit_id);

CREATE TABLE sessions (
    id            UUID   NOT NULL PRIMARY KEY,
    token_hash    BYTEA  NOT NULL,
    user_id       UUID   NOT NULL,
    stage         TEXT   NOT NULL,
    csrf_token    TEXT   NOT NULL,
    pending_secret BYTEA,
    created_at    BIGINT NOT NULL,
    last_seen_at  BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    ip            TEXT   NOT NULL DEFAULT '',
    user_agent    TEXT   NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX sessions_token ON sessions (token_hash);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_tokens (
    id           UUID   NOT NULL PRIMARY KEY,
    name         TEXT   NOT NULL,
    token_hash   BYTEA  NOT NULL,
    prefix       TEXT   NOT NULL,
    user_id      UUID   NOT NULL,
    unit_id      UUID   NOT NULL,
    unit_path    TEXT   COLLATE "C" NOT NULL,
    created_by   UUID   NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT,
    revoked_at   BIGINT,
    last_used_at BIGINT
);
CREATE UNIQUE INDEX api_tokens_hash ON api_tokens (token_hash);

CREATE TABLE audit_heads (
    chain TEXT   NOT NULL PRIMARY KEY,
    seq   BIGINT NOT NULL,
    hash  TEXT   NOT NULL
);

CREATE TABLE audit_log (
    chain       TEXT   NOT NULL,
    seq         BIGINT NOT NULL,
    id          UUID   NOT NULL,
    at          BIGINT NOT NULL,
    user_id     UUID,
    username    TEXT   NOT NULL,
    unit_id     UUID,
    action      TEXT   NOT NULL,
    target_type TEXT   NOT NULL,
    target_id   TEXT   NOT NULL,
    result      TEXT   NOT NULL,
    reason      TEXT   NOT NULL,
    request_id  TEXT   NOT NULL,
    ip          TEXT   NOT NULL,
    detail      TEXT   NOT NULL,
    prev_hash   TEXT   NOT NULL,
    hash        TEXT   NOT NULL,
    PRIMARY KEY (chain, seq)
);
CREATE INDEX audit_log_at ON audit_log (at, id);
CREATE INDEX audit_log_user ON audit_log (user_id, at);

-- The trail is append-only: no code path updates or deletes it, operators REVOKE UPDATE,
-- DELETE on audit_log from the application role (docs/operations.md), and the hash chain
-- exposes any edit. (No triggers: they do not port to distributed PostgreSQL.)

CREATE TABLE settings (
    key        TEXT   NOT NULL PRIMARY KEY,
    value      TEXT   NOT NULL,
    updated_at BIGINT NOT NULL
);
