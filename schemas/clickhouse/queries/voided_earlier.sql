-- params: tenant String, statement_ids Array(String)
-- Those of these statements that a stored voiding statement targets: a void that arrived before
-- its target (see 008_statement_voids.sql).
SELECT DISTINCT target_id
FROM statement_voids
WHERE tenant = ? AND target_id IN (SELECT toUUID(arrayJoin(?)))
