-- Where each filter key's statements begin and end in `stored` (µs), per tenant, and about how
-- many there are: where a first page starts looking (the newest statement of its keys, or the
-- oldest when ascending) and how wide its first window is (the key's mean density), so that its
-- windows of statement_index neither walk through the silence since the last statement nor
-- overshoot from it into the burst before it, and a filter that matches nothing is answered
-- without reading the index at all.
--
-- A view of statements keeps it, with the keys of migration 010's view (a view of
-- statement_index would not fire on ClickHouse 18.16, which does not pass rows a view writes on
-- to the views of its target table): each insert adds the block's bounds, merges keep one row
-- per key. The bounds are bounds and the count an estimate: repeats and voided copies count
-- again, statements erased later leave bounds wider than the statements left; a page uses them
-- to look, never to leave anything out. Granules of 128 rows: it is read by key, a few at a time.
CREATE TABLE IF NOT EXISTS statement_index_bounds
(
    tenant String,
    key String,
    first_us AggregateFunction(min, UInt64),
    last_us AggregateFunction(max, UInt64),
    statements AggregateFunction(count)
)
ENGINE = AggregatingMergeTree()
ORDER BY (tenant, key)
SETTINGS index_granularity = 128;
CREATE MATERIALIZED VIEW IF NOT EXISTS statement_index_bounds_mv TO statement_index_bounds
AS SELECT tenant, key, minState(stored_us) AS first_us, maxState(stored_us) AS last_us,
    countState() AS statements
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
