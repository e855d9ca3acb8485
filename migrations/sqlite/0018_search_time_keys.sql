-- Time-ordered full-text keys on SQLite (issue 6): a case's `doc` becomes the millisecond its
-- id carries (the first 48 bits of the UUIDv7) times 2^14, plus a sequence within that
-- millisecond, so FTS5 — which keeps postings in rowid order — can read the matches of a time
-- window (the newest day, then older ones) without reading every match. New rows get their
-- key from the application (repo::search::doc_key; a clash within a millisecond moves to the
-- next free key). This rewrites every existing key and rebuilds the FTS5 index from
-- case_search (the terms themselves are unchanged). Keep in step with
-- migrations/postgres/0018_search_time_keys.sql (PostgreSQL keeps its keys: its windows are
-- ranges of case_id).
DROP TRIGGER case_search_ai;
DROP TRIGGER case_search_ad;
DROP TRIGGER case_search_au;

-- Out of the way first (old keys are non-negative), so no new key meets an old one.
UPDATE case_search SET doc = -1 - doc;
UPDATE case_search SET doc = r.doc
FROM (
    SELECT tenant, case_id,
           ms * 16384 + ROW_NUMBER() OVER (PARTITION BY ms ORDER BY tenant, case_id) - 1 AS doc
    FROM (
        SELECT tenant, case_id,
              (instr('0123456789ABCDEF', substr(h, 1, 1)) - 1) * 17592186044416
            + (instr('0123456789ABCDEF', substr(h, 2, 1)) - 1) * 1099511627776
            + (instr('0123456789ABCDEF', substr(h, 3, 1)) - 1) * 68719476736
            + (instr('0123456789ABCDEF', substr(h, 4, 1)) - 1) * 4294967296
            + (instr('0123456789ABCDEF', substr(h, 5, 1)) - 1) * 268435456
            + (instr('0123456789ABCDEF', substr(h, 6, 1)) - 1) * 16777216
            + (instr('0123456789ABCDEF', substr(h, 7, 1)) - 1) * 1048576
            + (instr('0123456789ABCDEF', substr(h, 8, 1)) - 1) * 65536
            + (instr('0123456789ABCDEF', substr(h, 9, 1)) - 1) * 4096
            + (instr('0123456789ABCDEF', substr(h, 10, 1)) - 1) * 256
            + (instr('0123456789ABCDEF', substr(h, 11, 1)) - 1) * 16
            + (instr('0123456789ABCDEF', substr(h, 12, 1)) - 1) * 1 AS ms
        FROM (SELECT tenant, case_id, hex(substr(case_id, 1, 6)) AS h FROM case_search) x
    ) y
) r
WHERE case_search.tenant = r.tenant AND case_search.case_id = r.case_id;

INSERT INTO case_search_fts (case_search_fts) VALUES ('rebuild');

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
