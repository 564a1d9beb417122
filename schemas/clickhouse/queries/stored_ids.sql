-- params: tenant String, statement_ids Array(String)
-- Which of these statements are stored (the lookup table, which holds every stored statement
-- since migration 009).
SELECT DISTINCT statement_id
FROM statement_lookup
WHERE tenant = ? AND statement_id IN (SELECT toUUID(arrayJoin(?)))
