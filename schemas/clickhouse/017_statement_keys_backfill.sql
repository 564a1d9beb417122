-- Fills statement_keys with the statements stored before it existed: those it has no row of
-- (the view of migration 016 indexes every statement stored since), so running it again copies
-- nothing. It reads statements, not migration 010's statement_index, so that it still runs
-- when another process has already applied migration 018, which drops that table.
INSERT INTO statement_keys (tenant, key, stored_us, statement_id, voided)
SELECT tenant, key, stored_us, statement_id, voided
FROM statements
ARRAY JOIN arrayConcat(
    arrayMap(value -> concat('verb ', value), match_verbs),
    arrayMap(value -> concat('registration ', value), match_registrations),
    arrayMap(value -> concat('agent ', value), match_agents),
    arrayMap(value -> concat('related_agent ', value), match_related_agents),
    arrayMap(value -> concat('activity ', value), match_activities),
    arrayMap(value -> concat('related_activity ', value), match_related_activities)
) AS key
WHERE (tenant, statement_id) NOT IN (SELECT tenant, statement_id FROM statement_keys);
