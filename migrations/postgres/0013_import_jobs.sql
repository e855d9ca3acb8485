-- Registry imports as jobs (issue 4): the upload returns at once, the work runs in one server,
-- and any server answers "how far is it" from this row. A running job's server refreshes
-- heartbeat_at every few seconds; a running job whose heartbeat has gone stale (its server
-- stopped or restarted) is marked failed at the next start or read. report is the JSON report
-- (counts and per-row errors by line, column and key — never the file's values).
-- Keep in step with migrations/sqlite/0013_import_jobs.sql.
CREATE TABLE import_jobs (
    tenant       TEXT   NOT NULL,
    id           UUID   NOT NULL,
    user_id      UUID   NOT NULL,
    kind         TEXT   NOT NULL,
    mode         TEXT   NOT NULL,
    filename     TEXT   NOT NULL,
    state        TEXT   NOT NULL,
    rows_done    BIGINT NOT NULL,
    rows_total   BIGINT NOT NULL,
    report       TEXT,
    error_key    TEXT,
    error        TEXT,
    created_at   BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL,
    finished_at  BIGINT,
    PRIMARY KEY (tenant, id)
);
CREATE INDEX import_jobs_user ON import_jobs (tenant, user_id, id);
CREATE INDEX import_jobs_state ON import_jobs (state, heartbeat_at);
