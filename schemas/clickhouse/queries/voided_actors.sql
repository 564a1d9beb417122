-- params: tenant String, statement_ids Array(String)
-- The learners whose statements these are: whose mastery a voiding statement changes.
SELECT DISTINCT actor_ifi
FROM statements
WHERE tenant = ? AND statement_id IN (SELECT toUUID(arrayJoin(?)))
