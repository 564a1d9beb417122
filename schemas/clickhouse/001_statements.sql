-- Every accepted statement, once per (tenant, statement_id): typed columns to filter and
-- aggregate on, and the normalized statement as the LRS returns it.
--
-- ReplacingMergeTree keyed on the statement id makes a re-delivered Kafka batch land as the same
-- row. The version column is `voided`: a voided statement is written again with voided = 1 and
-- that copy wins. Readers that must not see duplicates read with FINAL or LIMIT 1 BY.
--
-- Times are integers of microseconds since the Unix epoch: ClickHouse 18.16 has no DateTime64.
CREATE TABLE IF NOT EXISTS statements
(
    tenant String,
    statement_id UUID,
    stored_us UInt64,
    timestamp_us Int64,
    actor_ifi String,
    verb_id String,
    object_type String,
    object_id String,
    registration Nullable(UUID),
    result_success Nullable(UInt8),
    result_completion Nullable(UInt8),
    score_scaled Nullable(Float64),
    score_raw Nullable(Float64),
    score_min Nullable(Float64),
    score_max Nullable(Float64),
    duration_ms Nullable(UInt64),
    voided UInt8,
    version String,
    raw String
)
ENGINE = ReplacingMergeTree(voided)
PARTITION BY toYYYYMM(toDateTime(intDiv(stored_us, 1000000)))
ORDER BY (tenant, statement_id);
