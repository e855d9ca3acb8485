-- Full-text search over cases (issue 6). The application segments the text (jieba with the
-- deployment's dictionary) and stores the terms, space-separated, in case_search; PostgreSQL
-- indexes them with GIN over to_tsvector('simple', terms) (SQLite: FTS5). The full-text
-- structures are the one engine-specific part of the schema (the migration tests list them).
-- `doc` is the 63-bit key the application derives from (tenant, case_id) (SQLite's FTS5 row
-- key). Rows are written in the transaction that writes the case. Keep in step with
-- migrations/sqlite/0008_search.sql. Never personal data: title, description (long digit runs
-- masked), address, category and replies only.
CREATE TABLE case_search (
    doc     BIGINT  NOT NULL PRIMARY KEY,
    tenant  TEXT    NOT NULL,
    case_id UUID    NOT NULL,
    terms   TEXT    NOT NULL
);
CREATE UNIQUE INDEX case_search_case ON case_search (tenant, case_id);
CREATE INDEX case_search_tsv ON case_search USING GIN (to_tsvector('simple', terms));
