-- How many statements each filter key has in each hour of `stored`, per tenant, with where they
-- begin and end within it (µs): where a page's window reaches to hold a page. Migration 012's
-- bounds gave a key's mean density only, and a window sized by it walked blind through a quiet
-- spell: after a few statements posted hours after a dense history, windows grew through the
-- silence and overshot into the history, reading all of it (100,000 rows for an unfiltered
-- page at 100 k stored). Hours with statements have rows, quiet hours none, so a page sums the
-- hours of its keys from its near end until they hold a page and starts with a window that
-- reaches there, across any silence (queries/page_reach.sql); bounds and counts are the hours'.
-- A key's hours are a few thousand rows a year at most, however many statements they hold.
--
-- A view of statements keeps it, with the keys of statement_keys (migration 016) and '' for
-- every statement; each insert adds its block's hours, merges keep one row per key and hour.
-- The copies that voiding writes (voided = 1) are left out. The bounds are bounds and the
-- counts estimates: repeats count again, statements erased later leave them wider; a page uses
-- them to look, never to leave anything out.
CREATE TABLE IF NOT EXISTS statement_hours
(
    tenant String,
    key String,
    hour UInt32,
    first_us AggregateFunction(min, UInt64),
    last_us AggregateFunction(max, UInt64),
    statements AggregateFunction(count)
)
ENGINE = AggregatingMergeTree()
ORDER BY (tenant, key, hour)
SETTINGS index_granularity = 256;
CREATE MATERIALIZED VIEW IF NOT EXISTS statement_hours_mv TO statement_hours
AS SELECT tenant, key, toUInt32(intDiv(stored_us, 3600000000)) AS hour,
    minState(stored_us) AS first_us, maxState(stored_us) AS last_us, countState() AS statements
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
WHERE voided = 0
GROUP BY tenant, key, hour;
