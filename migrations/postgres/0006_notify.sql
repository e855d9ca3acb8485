-- Notifications (issue 5): webhook subscriptions and the delivery outbox. Keep in step with
-- migrations/sqlite/0006_notify.sql. Times are BIGINT microseconds (UTC).

-- An outside system that wants a district's case events (unit_id: the district's unit), signed with its own secret (sealed
-- with the personal-data key, shown once at creation).
CREATE TABLE webhooks (
    tenant     TEXT    NOT NULL,
    id         UUID    NOT NULL,
    unit_id    UUID    NOT NULL,
    name       TEXT    NOT NULL,
    url        TEXT    NOT NULL,
    secret     BYTEA   NOT NULL,
    topics     TEXT    NOT NULL,
    active     BOOLEAN NOT NULL,
    created_by UUID    NOT NULL,
    created_at BIGINT  NOT NULL,
    PRIMARY KEY (tenant, id)
);

-- One row per event and destination, written in the transaction of the change it tells of.
-- event_id is the same for every destination of one event, and stays the same over retries:
-- a receiver that sees it twice knows it is a repeat. A worker claims a due row by moving
-- next_at past its lease; a worker that dies leaves the row to come due again.
CREATE TABLE outbox (
    tenant       TEXT   NOT NULL,
    id           UUID   NOT NULL,
    event_id     UUID   NOT NULL,
    topic        TEXT   NOT NULL,
    case_id      UUID,
    sink         TEXT   NOT NULL,
    webhook_id   UUID,
    payload      TEXT   NOT NULL,
    state        TEXT   NOT NULL,
    attempts     BIGINT NOT NULL,
    next_at      BIGINT NOT NULL,
    lease_owner  TEXT   NOT NULL DEFAULT '',
    last_error   TEXT   NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    delivered_at BIGINT,
    PRIMARY KEY (tenant, id)
);
CREATE INDEX outbox_due ON outbox (next_at) WHERE state = 'pending';
CREATE INDEX outbox_list ON outbox (tenant, state, id);
