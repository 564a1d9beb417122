-- The statements in the order GET /xapi/statements pages in: tenant, then `stored`, with their
-- JSON. A page's statements are found in statement_index (migration 010) and read from here by
-- (stored_us, statement_id), so the statements of one page sit in a few 64-row granules when
-- they were stored together (an unfiltered page, a dense filter) and each in one granule
-- otherwise; the lookup table, in id order, spreads any page over a granule per statement.
--
-- A view of statements keeps it, the voided = 1 copies that voiding writes included: they
-- replace the original (same key, higher version). A re-delivered batch lands on the same rows.
CREATE TABLE IF NOT EXISTS statement_pages
(
    tenant String,
    stored_us UInt64,
    statement_id UUID,
    voided UInt8,
    raw String
)
ENGINE = ReplacingMergeTree(voided)
PARTITION BY toYYYYMM(toDateTime(intDiv(stored_us, 1000000)))
ORDER BY (tenant, stored_us, statement_id)
SETTINGS index_granularity = 64;
CREATE MATERIALIZED VIEW IF NOT EXISTS statement_pages_mv TO statement_pages
AS SELECT tenant, stored_us, statement_id, voided, raw
FROM statements;
