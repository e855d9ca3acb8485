-- The retention rule (issue 4, PIPL Art. 47): residents who moved out or died are anonymised
-- once their record has not changed for the configured years; the sweeper finds them by
-- status and last change. Keep in step with migrations/postgres/0015_resident_retention.sql.
CREATE INDEX residents_retention ON residents (status, updated_at);
