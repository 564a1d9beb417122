-- params: tenant String, statement_ids Array(String)
-- Stored statements by id, for the checks a write makes before it is accepted: an id sent again
-- with other content (409), a voiding statement that targets a voiding statement.
SELECT toString(statement_id) AS id, verb_id, raw
FROM statements
WHERE tenant = ? AND statement_id IN (SELECT toUUID(arrayJoin(?)))
LIMIT 1 BY statement_id
