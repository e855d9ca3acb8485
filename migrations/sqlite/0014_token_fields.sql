-- Department API tokens limited to resident fields (issue 4, seed 000's shared resource library):
-- the granted field keys, comma-separated (see ResidentField); NULL means every field the
-- account's role shows. Keep in step with migrations/postgres/0014_token_fields.sql.
ALTER TABLE api_tokens ADD COLUMN registry_fields TEXT;
