-- Workbench tab counts at a million cases (issue 3). Keep in step with
-- migrations/postgres/0005_queue_counts.sql.
--
-- 吹哨中: cases with an open whistle are a few in a thousand; without an index the count probed
-- every case of the district against the reader's scope (over 1 s at 1M cases).
CREATE INDEX cases_whistle ON cases (tenant, id) WHERE whistle_open = TRUE;
-- 即将超期: running cases not yet due are the recent ones, a small share of the running cases;
-- the count walks them by due time instead of probing every running case.
CREATE INDEX cases_due ON cases (tenant, due_at) WHERE state IN ('dispatched', 'objected', 'handling');
