-- params: tenant String, statement_ids Array(String)
-- Stored statements by id, for the checks a write makes before it is accepted: an id sent again
-- with other content (409), a voiding statement that targets a voiding statement. PREWHERE
-- reads the ids first and `raw` only of the 64-row granules where one matched, so a new id (the
-- common case) reads no statement at all, whatever the size of the history.
SELECT toString(statement_id) AS id, verb_id, raw
FROM statement_lookup
PREWHERE tenant = ? AND statement_id IN (SELECT toUUID(arrayJoin(?)))
LIMIT 1 BY statement_id
