-- The record of applied migrations. The runner applies this file before reading the record, so
-- it must stay idempotent.
CREATE TABLE IF NOT EXISTS schema_migrations
(
    version UInt32,
    name String,
    sql String,
    applied_at DateTime
)
ENGINE = MergeTree
ORDER BY version;
