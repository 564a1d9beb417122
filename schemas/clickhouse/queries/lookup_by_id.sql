-- params: tenant String, statement_id UUID
-- One stored statement and whether it is voided, from the lookup table (the voided copy wins).
SELECT raw, voided
FROM statement_lookup
WHERE tenant = ? AND statement_id = ?
ORDER BY voided DESC
LIMIT 1
