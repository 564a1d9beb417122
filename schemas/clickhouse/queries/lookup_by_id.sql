-- params: tenant String, statement_id UUID
-- One stored statement and whether it is voided (the voided copy wins). PREWHERE reads `raw`
-- only of the granule that holds the id.
SELECT raw, voided
FROM statement_lookup
PREWHERE tenant = ? AND statement_id = ?
ORDER BY voided DESC
LIMIT 1
