-- Statements by id, for a GET by statementId and the checks a write makes. The statements table
-- reads a whole granule of 8,192 raw statements (about 10 MB) to return one; this copy of the
-- few columns a lookup needs uses granules of 64 rows, so a lookup reads tens of kilobytes.
-- The sink writes it beside the statements table; readers fall back to the statements table
-- for statements stored before this migration.
CREATE TABLE IF NOT EXISTS statement_lookup
(
    tenant String,
    statement_id UUID,
    verb_id String,
    voided UInt8,
    raw String
)
ENGINE = ReplacingMergeTree(voided)
ORDER BY (tenant, statement_id)
SETTINGS index_granularity = 64;
