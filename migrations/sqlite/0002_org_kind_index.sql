-- Per-level reads (the division importer's diff, counts by kind) scan by kind; without this
-- index each of them read the whole org_units table (620k+ rows with the national data).
CREATE INDEX org_units_kind ON org_units (kind, code);
