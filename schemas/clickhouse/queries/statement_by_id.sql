-- params: tenant String, statement_id UUID
-- One stored statement and whether it is voided (the voided copy wins).
SELECT raw, voided
FROM statements
WHERE tenant = ? AND statement_id = ?
ORDER BY voided DESC
LIMIT 1
