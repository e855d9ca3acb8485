-- Duplicate detection (issue 6). Candidates for a case are the open cases of its district
-- received within the window before it, in its community when it has one: cases_community
-- serves that lookup. cases_duplicates lists the cases merged into an original. A dispatcher's
-- "not a duplicate" is kept per pair so the pair is not proposed again.
-- Keep in step with migrations/sqlite/0009_duplicates.sql.
CREATE INDEX cases_community ON cases (tenant, community_id, received_at);
CREATE INDEX cases_duplicates ON cases (tenant, duplicate_of) WHERE duplicate_of IS NOT NULL;

CREATE TABLE case_duplicate_dismissals (
    tenant       TEXT   NOT NULL,
    case_id      UUID   NOT NULL,
    other_id     UUID   NOT NULL,
    dismissed_by UUID,
    dismissed_at BIGINT NOT NULL,
    PRIMARY KEY (tenant, case_id, other_id)
);
