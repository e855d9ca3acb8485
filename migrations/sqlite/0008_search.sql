-- Full-text search over cases (issue 6). The application segments the text (jieba with the
-- deployment's dictionary) and stores the terms, space-separated, in case_search; SQLite's FTS5
-- indexes them (case_search_fts, external content, kept in step by the triggers below),
-- PostgreSQL a GIN index over to_tsvector('simple', terms). The full-text structures are the
-- one engine-specific part of the schema (the migration tests list them). `doc` is a 63-bit
-- key the application derives from (tenant, case_id): FTS5 needs an integer row key that
-- VACUUM never renumbers (an INTEGER PRIMARY KEY). Rows are written in the transaction that
-- writes the case. Keep in step with migrations/postgres/0008_search.sql. Never personal data:
-- title, description (long digit runs masked), address, category and replies only.
CREATE TABLE case_search (
    doc     INTEGER PRIMARY KEY,
    tenant  TEXT    NOT NULL,
    case_id BLOB    NOT NULL,
    terms   TEXT    NOT NULL
);
CREATE UNIQUE INDEX case_search_case ON case_search (tenant, case_id);

CREATE VIRTUAL TABLE case_search_fts USING fts5(
    terms,
    content = 'case_search',
    content_rowid = 'doc',
    tokenize = 'unicode61 remove_diacritics 0'
);

CREATE TRIGGER case_search_ai AFTER INSERT ON case_search BEGIN
    INSERT INTO case_search_fts (rowid, terms) VALUES (new.doc, new.terms);
END;
CREATE TRIGGER case_search_ad AFTER DELETE ON case_search BEGIN
    INSERT INTO case_search_fts (case_search_fts, rowid, terms) VALUES ('delete', old.doc, old.terms);
END;
CREATE TRIGGER case_search_au AFTER UPDATE ON case_search BEGIN
    INSERT INTO case_search_fts (case_search_fts, rowid, terms) VALUES ('delete', old.doc, old.terms);
    INSERT INTO case_search_fts (rowid, terms) VALUES (new.doc, new.terms);
END;
