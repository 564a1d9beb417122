-- params: tenant String, statement_ids Array(String)
-- Stored statements by id from the lookup table, for the checks a write makes.
SELECT toString(statement_id) AS id, verb_id, raw
FROM statement_lookup
WHERE tenant = ? AND statement_id IN (SELECT toUUID(arrayJoin(?)))
LIMIT 1 BY statement_id
