-- The case closed loop (issue 3): the working calendar, versioned dispatch and whistle
-- catalogues, cases with their timeline and parties, case numbers, notices (the outbox),
-- attachments, whistles, and job leases for the sweeper. Keep in step with
-- migrations/postgres/0003_cases.sql. Times are BIGINT microseconds (UTC); coordinates are
-- WGS84 degrees × 10^6 as BIGINT (exact and portable).

-- Official public holidays and make-up working days; days not listed follow the normal week.
CREATE TABLE calendar_days (
    day        TEXT   NOT NULL PRIMARY KEY,
    kind       TEXT   NOT NULL,
    name       TEXT   NOT NULL,
    loaded_by  BLOB,
    loaded_at  BIGINT NOT NULL
);

-- One published version of a catalogue (kind 'dispatch' or 'whistle'). Versions are immutable
-- once active; cases copy what they need from them, so a new version never changes a case.
CREATE TABLE catalogue_versions (
    tenant       TEXT   NOT NULL,
    id           BLOB   NOT NULL,
    kind         TEXT   NOT NULL,
    version      BIGINT NOT NULL,
    status       TEXT   NOT NULL,
    source       TEXT   NOT NULL,
    note         TEXT   NOT NULL DEFAULT '',
    item_count   BIGINT NOT NULL,
    created_by   BLOB,
    created_at   BIGINT NOT NULL,
    activated_at BIGINT,
    PRIMARY KEY (tenant, id)
);
CREATE UNIQUE INDEX catalogue_versions_number ON catalogue_versions (tenant, kind, version);

-- Dispatch catalogue rows: three levels; leaves carry the routing and the time limits
-- ('24h' natural hours, '5wd' working days).
CREATE TABLE catalogue_items (
    tenant          TEXT    NOT NULL,
    version_id      BLOB    NOT NULL,
    id              BLOB    NOT NULL,
    code            TEXT    NOT NULL,
    parent_code     TEXT    NOT NULL,
    level           BIGINT  NOT NULL,
    name            TEXT    NOT NULL,
    full_name       TEXT    NOT NULL,
    handler_kind    TEXT    NOT NULL DEFAULT '',
    handler_code    TEXT    NOT NULL DEFAULT '',
    urgency         TEXT    NOT NULL DEFAULT 'normal',
    sign_limit      TEXT    NOT NULL DEFAULT '',
    contact_limit   TEXT    NOT NULL DEFAULT '',
    limit_normal    TEXT    NOT NULL DEFAULT '',
    limit_urgent    TEXT    NOT NULL DEFAULT '',
    limit_critical  TEXT    NOT NULL DEFAULT '',
    community_may   BOOLEAN NOT NULL DEFAULT FALSE,
    keywords        TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (tenant, version_id, id)
);
CREATE UNIQUE INDEX catalogue_items_code ON catalogue_items (tenant, version_id, code);
-- Browsing a version's tree level by level.
CREATE INDEX catalogue_items_parent ON catalogue_items (tenant, version_id, parent_code, code);
-- A case keeps the id of the item it was dispatched with, in whatever version that was.
CREATE INDEX catalogue_items_id ON catalogue_items (tenant, id);

-- Whistle catalogue rows: category → item → level (1–3) → departments to summon (unit codes,
-- comma separated) with the response and report-in limits in minutes.
CREATE TABLE whistle_items (
    tenant          TEXT   NOT NULL,
    version_id      BLOB   NOT NULL,
    id              BLOB   NOT NULL,
    code            TEXT   NOT NULL,
    category        TEXT   NOT NULL,
    item            TEXT   NOT NULL,
    level           BIGINT NOT NULL,
    departments     TEXT   NOT NULL,
    respond_minutes BIGINT NOT NULL,
    report_minutes  BIGINT NOT NULL,
    PRIMARY KEY (tenant, version_id, id)
);
CREATE UNIQUE INDEX whistle_items_code ON whistle_items (tenant, version_id, code, level);

-- Case numbers are handed out in blocks per tenant and day (hi/lo), so intake does not
-- serialize on one counter row.
CREATE TABLE case_counters (
    tenant TEXT   NOT NULL,
    day    TEXT   NOT NULL,
    next   BIGINT NOT NULL,
    PRIMARY KEY (tenant, day)
);

CREATE TABLE cases (
    tenant            TEXT    NOT NULL,
    id                BLOB    NOT NULL,
    number            TEXT    NOT NULL,
    channel           TEXT    NOT NULL,
    external_id       TEXT,
    request_type      TEXT    NOT NULL,
    urgency           TEXT    NOT NULL,
    state             TEXT    NOT NULL,
    title             TEXT    NOT NULL,
    description       TEXT    NOT NULL,
    category_id       BLOB,
    category_code     TEXT    NOT NULL DEFAULT '',
    category_name     TEXT    NOT NULL DEFAULT '',
    catalogue_version BIGINT,
    address           TEXT    NOT NULL DEFAULT '',
    lat_e6            BIGINT,
    lng_e6            BIGINT,
    grid_id           BLOB,
    community_id      BLOB,
    requester_name    TEXT    NOT NULL DEFAULT '',
    requester_phone   BLOB ,
    phone_masked      TEXT    NOT NULL DEFAULT '',
    phone_hash        TEXT,
    anonymous         BOOLEAN NOT NULL,
    owner_id          BLOB    NOT NULL,
    owner_path        TEXT    NOT NULL,
    handler_id        BLOB,
    handler_path      TEXT   ,
    co_handlers       TEXT    NOT NULL DEFAULT '',
    copy_to           BLOB,
    disposition       TEXT,
    duplicate_of      BLOB,
    limits            TEXT    NOT NULL DEFAULT '',
    received_at       BIGINT  NOT NULL,
    dispatched_at     BIGINT,
    signed_at         BIGINT,
    first_contact_at  BIGINT,
    replied_at        BIGINT,
    closed_at         BIGINT,
    visited_at        BIGINT,
    sign_due          BIGINT,
    contact_due       BIGINT,
    due_at            BIGINT,
    warn_at           BIGINT,
    paused_at         BIGINT,
    warned_at         BIGINT,
    overdue_at        BIGINT,
    alarm_at          BIGINT,
    extension_days    BIGINT,
    extension_at      BIGINT,
    objections        BIGINT  NOT NULL DEFAULT 0,
    extensions        BIGINT  NOT NULL DEFAULT 0,
    reworks           BIGINT  NOT NULL DEFAULT 0,
    reopens           BIGINT  NOT NULL DEFAULT 0,
    supervisions      BIGINT  NOT NULL DEFAULT 0,
    resolved          BOOLEAN,
    satisfaction      TEXT,
    closed_on_time    BOOLEAN,
    whistle_open      BOOLEAN NOT NULL DEFAULT FALSE,
    created_by        BLOB,
    created_at        BIGINT  NOT NULL,
    updated_at        BIGINT  NOT NULL,
    version           BIGINT  NOT NULL,
    PRIMARY KEY (tenant, id)
);
CREATE UNIQUE INDEX cases_number ON cases (number);
CREATE UNIQUE INDEX cases_external ON cases (tenant, channel, external_id);
CREATE INDEX cases_queue ON cases (tenant, state, id);
CREATE INDEX cases_handler ON cases (handler_path, state, id);
CREATE INDEX cases_owner ON cases (owner_path, state, id);
CREATE INDEX cases_received ON cases (tenant, received_at);
CREATE INDEX cases_phone ON cases (tenant, phone_hash);
CREATE INDEX cases_alarm ON cases (alarm_at) WHERE alarm_at IS NOT NULL;
-- The 即将超期/已超期 queues: running cases, newest first.
CREATE INDEX cases_running ON cases (tenant, id) WHERE state IN ('dispatched', 'objected', 'handling');

-- Every unit with a stake in a case (owner, handler, co-handler, copy, grid, community,
-- summoned department): what makes a case visible to people scoped to that unit.
CREATE TABLE case_parties (
    tenant    TEXT   NOT NULL,
    case_id   BLOB   NOT NULL,
    unit_id   BLOB   NOT NULL,
    role      TEXT   NOT NULL,
    unit_path TEXT   NOT NULL,
    since     BIGINT NOT NULL,
    PRIMARY KEY (tenant, case_id, unit_id, role)
);
CREATE INDEX case_parties_path ON case_parties (unit_path, case_id);
CREATE INDEX case_parties_unit ON case_parties (unit_id, case_id);

-- The timeline: one row per accepted step; seq is the case version the step produced.
CREATE TABLE case_events (
    tenant      TEXT   NOT NULL,
    case_id     BLOB   NOT NULL,
    seq         BIGINT NOT NULL,
    at          BIGINT NOT NULL,
    action      TEXT   NOT NULL,
    from_state  TEXT   NOT NULL,
    to_state    TEXT   NOT NULL,
    actor_id    BLOB,
    actor_name  TEXT   NOT NULL,
    actor_unit  BLOB,
    note        TEXT   NOT NULL DEFAULT '',
    data        TEXT   NOT NULL DEFAULT '{}',
    PRIMARY KEY (tenant, case_id, seq)
);

-- Notices written in the same transaction as the step that raises them (the outbox).
CREATE TABLE notices (
    tenant       TEXT   NOT NULL,
    id           BLOB   NOT NULL,
    case_id      BLOB   NOT NULL,
    kind         TEXT   NOT NULL,
    unit_id      BLOB   NOT NULL,
    unit_path    TEXT   NOT NULL,
    title        TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    read_at      BIGINT,
    delivered_at BIGINT,
    PRIMARY KEY (tenant, id)
);
CREATE INDEX notices_unit ON notices (unit_path, created_at);
CREATE INDEX notices_case ON notices (tenant, case_id);

-- Files are stored outside the database; the row holds what was checked about them.
CREATE TABLE attachments (
    tenant      TEXT   NOT NULL,
    id          BLOB   NOT NULL,
    case_id     BLOB   NOT NULL,
    event_seq   BIGINT,
    kind        TEXT   NOT NULL,
    mime        TEXT   NOT NULL,
    size        BIGINT NOT NULL,
    sha256      TEXT   NOT NULL,
    storage_key TEXT   NOT NULL,
    filename    TEXT   NOT NULL,
    uploaded_by BLOB,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant, id)
);
CREATE INDEX attachments_case ON attachments (tenant, case_id);

CREATE TABLE whistles (
    tenant       TEXT   NOT NULL,
    id           BLOB   NOT NULL,
    case_id      BLOB   NOT NULL,
    street_id    BLOB   NOT NULL,
    item_id      BLOB   NOT NULL,
    item_name    TEXT   NOT NULL,
    level        BIGINT NOT NULL,
    situation    TEXT   NOT NULL,
    reason       TEXT   NOT NULL,
    state        TEXT   NOT NULL,
    blown_by     BLOB,
    blown_at     BIGINT NOT NULL,
    closed_by    BLOB,
    closed_at    BIGINT,
    close_note   TEXT   NOT NULL DEFAULT '',
    version      BIGINT NOT NULL,
    PRIMARY KEY (tenant, id)
);
CREATE INDEX whistles_case ON whistles (tenant, case_id);
CREATE INDEX whistles_state ON whistles (tenant, state, blown_at);

-- One row per department summoned by a whistle (一哨一考).
CREATE TABLE whistle_calls (
    tenant        TEXT    NOT NULL,
    whistle_id    BLOB    NOT NULL,
    dept_id       BLOB    NOT NULL,
    dept_path     TEXT    NOT NULL,
    respond_due   BIGINT  NOT NULL,
    report_due    BIGINT  NOT NULL,
    responded_at  BIGINT,
    responded_by  BLOB,
    response_note TEXT    NOT NULL DEFAULT '',
    reported_at   BIGINT,
    reported_by   BLOB,
    report_person TEXT    NOT NULL DEFAULT '',
    report_photo  BLOB,
    late_response BOOLEAN,
    late_report   BOOLEAN,
    rating        BIGINT,
    rating_note   TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (tenant, whistle_id, dept_id)
);
CREATE INDEX whistle_calls_dept ON whistle_calls (dept_path, whistle_id);

-- Background jobs hold a lease so that several servers on one database take turns.
CREATE TABLE job_leases (
    name        TEXT   NOT NULL PRIMARY KEY,
    owner       TEXT   NOT NULL,
    lease_until BIGINT NOT NULL,
    last_run_at BIGINT,
    last_result TEXT   NOT NULL DEFAULT '',
    runs        BIGINT NOT NULL DEFAULT 0
);
