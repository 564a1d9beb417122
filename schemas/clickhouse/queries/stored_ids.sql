-- params: tenant String, statement_ids Array(String)
-- Which of these statements are stored (the lookup table; a statement stored before it existed
-- is not seen, which costs a needless row in pending_voids and nothing else).
SELECT DISTINCT statement_id
FROM statement_lookup
WHERE tenant = ? AND statement_id IN (SELECT toUUID(arrayJoin(?)))
