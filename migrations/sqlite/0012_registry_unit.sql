-- Residents by their exact unit (issue 4): a grid worker's scope is "unit_id IN (their grid)",
-- which the path index cannot serve; newest first within the unit without sorting.
-- Keep in step with migrations/postgres/0012_registry_unit.sql.
CREATE INDEX residents_unit ON residents (tenant, unit_id, id);
