-- Linli foundation schema (SQLite). Keep in step with migrations/postgres/0001_foundation.sql:
-- same tables, same columns (a test compares them). Times are BIGINT microseconds (UTC),
-- ids are app-made UUIDv7 (BLOB here, UUID there), tenant tables lead their keys with tenant.

CREATE TABLE org_units (
    tenant      TEXT    NOT NULL,
    id          BLOB    NOT NULL,
    parent_id   BLOB,
    kind        TEXT    NOT NULL,
    code        TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    path        TEXT    NOT NULL,
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
    id                   BLOB    NOT NULL PRIMARY KEY,
    username             TEXT    NOT NULL,
    display_name         TEXT    NOT NULL,
    kind                 TEXT    NOT NULL,
    unit_id              BLOB    NOT NULL,
    unit_path            TEXT    NOT NULL,
    password_hash        TEXT    NOT NULL,
    must_change_password BOOLEAN NOT NULL DEFAULT FALSE,
    disabled             BOOLEAN NOT NULL DEFAULT FALSE,
    failed_count         BIGINT  NOT NULL DEFAULT 0,
    locked_until         BIGINT,
    totp_secret          BLOB,
    totp_last_counter    BIGINT,
    created_by           BLOB,
    created_at           BIGINT  NOT NULL,
    updated_at           BIGINT  NOT NULL,
    version              BIGINT  NOT NULL
);
CREATE UNIQUE INDEX users_username ON users (username);
CREATE INDEX users_unit_path ON users (unit_path, username);

CREATE TABLE user_roles (
    id          BLOB   NOT NULL PRIMARY KEY,
    user_id     BLOB   NOT NULL,
    role_key    TEXT   NOT NULL,
    unit_id     BLOB   NOT NULL,
    unit_path   TEXT   NOT NULL,
    scope       TEXT   NOT NULL,
    granted_by  BLOB,
    granted_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX user_roles_unique ON user_roles (user_id, role_key, unit_id);

CREATE TABLE sessions (
    id            BLOB   NOT NULL PRIMARY KEY,
    token_hash    BLOB   NOT NULL,
    user_id       BLOB   NOT NULL,
    stage         TEXT   NOT NULL,
    csrf_token    TEXT   NOT NULL,
    pending_secret BLOB,
    created_at    BIGINT NOT NULL,
    last_seen_at  BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    ip            TEXT   NOT NULL DEFAULT '',
    user_agent    TEXT   NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX sessions_token ON sessions (token_hash);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_tokens (
    id           BLOB   NOT NULL PRIMARY KEY,
    name         TEXT   NOT NULL,
    token_hash   BLOB   NOT NULL,
    prefix       TEXT   NOT NULL,
    user_id      BLOB   NOT NULL,
    unit_id      BLOB   NOT NULL,
    unit_path    TEXT   NOT NULL,
    created_by   BLOB   NOT NULL,
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
    id          BLOB   NOT NULL,
    at          BIGINT NOT NULL,
    user_id     BLOB,
    username    TEXT   NOT NULL,
    unit_id     BLOB,
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

-- The trail is append-only. PostgreSQL relies on grants and the hash chain (no triggers there,
-- for portability); SQLite can afford to refuse edits outright.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

CREATE TABLE settings (
    key        TEXT   NOT NULL PRIMARY KEY,
    value      TEXT   NOT NULL,
    updated_at BIGINT NOT NULL
);
