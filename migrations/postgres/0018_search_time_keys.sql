-- Time-ordered full-text keys (issue 6). SQLite rewrites its `doc` keys so that FTS5 can read
-- the matches of a time window (migrations/sqlite/0018_search_time_keys.sql). PostgreSQL keeps
-- its keys: a window there is a range of case_id (UUIDv7, time-ordered) on the existing
-- case_search_case index, ANDed with the GIN index. Nothing to change; the version is kept so
-- both trees stay in step.
SELECT 1;
