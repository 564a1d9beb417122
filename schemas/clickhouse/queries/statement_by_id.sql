-- params: tenant String, statement_id UUID
SELECT raw
FROM statements
WHERE tenant = ? AND statement_id = ?
ORDER BY voided DESC
LIMIT 1
