-- Each learner's statements in the order they happened: what mastery and engagement read.
--
-- The statements table is keyed by statement id, so a learner's history is spread over the whole
-- table. This copy of the typed columns is keyed by (tenant, actor, timestamp), so one learner's
-- history, or a class's, is a few contiguous ranges. A materialized view fills it from every
-- insert into statements, including the voided = 1 copies that voiding writes, which replace
-- the original here too (same key, higher version).
--
-- context_activities and competency_ids are what competency alignment reads besides the object:
-- the statement's parent, grouping and category activities, and the competencies its object's
-- definition names in the https://learnstream.dev/xapi/extensions/competency extension.
ALTER TABLE statements ADD COLUMN context_activities Array(String);
ALTER TABLE statements ADD COLUMN competency_ids Array(String);
CREATE TABLE IF NOT EXISTS learner_statements
(
    tenant String,
    actor_ifi String,
    timestamp_us Int64,
    statement_id UUID,
    stored_us UInt64,
    verb_id String,
    object_type String,
    object_id String,
    context_activities Array(String),
    competency_ids Array(String),
    result_success Nullable(UInt8),
    result_completion Nullable(UInt8),
    score_scaled Nullable(Float64),
    score_raw Nullable(Float64),
    score_min Nullable(Float64),
    score_max Nullable(Float64),
    duration_ms Nullable(UInt64),
    voided UInt8
)
ENGINE = ReplacingMergeTree(voided)
PARTITION BY toYYYYMM(toDateTime(intDiv(stored_us, 1000000)))
ORDER BY (tenant, actor_ifi, timestamp_us, statement_id);
CREATE MATERIALIZED VIEW IF NOT EXISTS learner_statements_mv TO learner_statements
AS SELECT tenant, actor_ifi, timestamp_us, statement_id, stored_us, verb_id, object_type,
    object_id, context_activities, competency_ids, result_success, result_completion,
    score_scaled, score_raw, score_min, score_max, duration_ms, voided
FROM statements;
