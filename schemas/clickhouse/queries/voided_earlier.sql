-- params: tenant String, statement_ids Array(String)
-- Those of these statements that a stored voiding statement targets, which was stored before
-- them (see 008_pending_voids.sql).
SELECT DISTINCT target_id
FROM pending_voids
WHERE tenant = ? AND target_id IN (SELECT toUUID(arrayJoin(?)))
