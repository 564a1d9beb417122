-- Where each filter key's statements begin and end in `stored` (µs), per tenant: where a first
-- page starts looking (the newest statement of its keys, or the oldest when ascending), so that
-- its windows of statement_index neither walk through the silence since the last statement nor
-- overshoot from it into the burst before it, and a filter that matches nothing is answered
-- without reading the index at all.
--
-- A view of statements keeps it, with the keys of migration 010's view (a view of
-- statement_index would not fire on ClickHouse 18.16, which does not pass rows a view writes on
-- to the views of its target table): each insert adds the block's bounds, merges keep one row
-- per key. It is a bound, not a count: repeats, voided copies and statements erased later do
-- not make it wrong, only (for erasure) wider than the statements left.
CREATE TABLE IF NOT EXISTS statement_index_bounds
(
    tenant String,
    key String,
    first_us AggregateFunction(min, UInt64),
    last_us AggregateFunction(max, UInt64)
)
ENGINE = AggregatingMergeTree()
ORDER BY (tenant, key);
CREATE MATERIALIZED VIEW IF NOT EXISTS statement_index_bounds_mv TO statement_index_bounds
AS SELECT tenant, key, minState(stored_us) AS first_us, maxState(stored_us) AS last_us
FROM statements
ARRAY JOIN arrayConcat(
    [''],
    arrayMap(value -> concat('verb ', value), match_verbs),
    arrayMap(value -> concat('registration ', value), match_registrations),
    arrayMap(value -> concat('agent ', value), match_agents),
    arrayMap(value -> concat('related_agent ', value), match_related_agents),
    arrayMap(value -> concat('activity ', value), match_activities),
    arrayMap(value -> concat('related_activity ', value), match_related_activities)
) AS key
GROUP BY tenant, key;
