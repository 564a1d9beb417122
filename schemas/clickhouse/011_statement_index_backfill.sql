-- Fills statement_index with the statements stored before it existed: those it has no row of
-- (the view of migration 010 indexes every statement stored since), so running it again copies
-- nothing. The set it compares with holds only what was stored since migration 010.
INSERT INTO statement_index (tenant, key, stored_us, statement_id, voided)
SELECT tenant, key, stored_us, statement_id, voided
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
WHERE (tenant, statement_id) NOT IN (SELECT tenant, statement_id FROM statement_index);
