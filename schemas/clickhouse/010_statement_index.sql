-- The order GET /xapi/statements pages in, per filter (Communication 2.1.3): one narrow row per
-- statement and key, ordered by (tenant, key, stored_us, statement_id), so a page reads the rows
-- of one key in one window of `stored` and no more, whatever the size of the history. The key ''
-- holds every statement (the unfiltered page); the others are a filter and its value:
-- 'verb <iri>', 'registration <uuid>', 'agent <ifi>', 'related_agent <ifi>', 'activity <iri>',
-- 'related_activity <iri>', from the filter arrays of migration 002 (which already hold what a
-- StatementRef's target matches).
--
-- A materialized view fills it from every insert into statements, the voided = 1 copies that
-- voiding writes included: they replace the original's rows (same key, higher version), so a
-- page leaves voided statements out without reading them. A re-delivered batch lands on the
-- same rows.
CREATE TABLE IF NOT EXISTS statement_index
(
    tenant String,
    key String,
    stored_us UInt64,
    statement_id UUID,
    voided UInt8
)
ENGINE = ReplacingMergeTree(voided)
PARTITION BY toYYYYMM(toDateTime(intDiv(stored_us, 1000000)))
ORDER BY (tenant, key, stored_us, statement_id);
CREATE MATERIALIZED VIEW IF NOT EXISTS statement_index_mv TO statement_index
AS SELECT tenant, key, stored_us, statement_id, voided
FROM statements
ARRAY JOIN arrayConcat(
    [''],
    arrayMap(value -> concat('verb ', value), match_verbs),
    arrayMap(value -> concat('registration ', value), match_registrations),
    arrayMap(value -> concat('agent ', value), match_agents),
    arrayMap(value -> concat('related_agent ', value), match_related_agents),
    arrayMap(value -> concat('activity ', value), match_activities),
    arrayMap(value -> concat('related_activity ', value), match_related_activities)
) AS key;
