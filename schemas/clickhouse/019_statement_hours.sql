-- How many statements each dense filter key has in each hour of `stored`, per tenant, with
-- where they begin and end within it (µs): where a page's next window must reach to hold what
-- the page is missing. Migration 012's bounds give a key's mean density only, and windows sized
-- by it grew blind through a quiet spell: after a few statements posted hours after a dense
-- history, they grew through the silence and overshot into the history, reading all of it
-- (100,000 rows for an unfiltered page at 100 k stored). Hours with statements have rows, quiet
-- hours none, so a window that finds too few sums the keys' hours from where it ended until
-- they hold what is missing, across any silence (queries/page_reach.sql).
--
-- The keys are '' (every statement), verbs, activities and related activities: the keys whose
-- pages read many statements, a few thousand hours a year each however many statements they
-- hold. A learner's (agent, related_agent) and a registration's have about an hour per
-- statement, so keeping them
-- would write nearly a row per statement and key again (inserts cost ClickHouse about a quarter
-- more CPU with them, 5% with these alone); their windows overshoot into their own few
-- statements at most, which is what a page of them reads anyway.
--
-- A view of statements keeps it; each insert adds its block's hours, merges keep one row per
-- key and hour. The copies that voiding writes (voided = 1) are left out. The bounds are bounds
-- and the counts estimates: repeats count again, statements erased later leave them wider; a
-- page uses them to look, never to leave anything out.
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
    arrayMap(value -> concat('activity ', value), match_activities),
    arrayMap(value -> concat('related_activity ', value), match_related_activities)
) AS key
WHERE voided = 0
GROUP BY tenant, key, hour;
