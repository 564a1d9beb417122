-- params: tenant String, statement_ids Array(String)
-- The lookup table's side of voiding (see void_statements.sql).
INSERT INTO statement_lookup (tenant, statement_id, verb_id, voided, raw)
SELECT tenant, statement_id, verb_id, 1, raw
FROM statement_lookup
WHERE tenant = ? AND statement_id IN (SELECT toUUID(arrayJoin(?))) AND voided = 0
    AND verb_id != 'http://adlnet.gov/expapi/verbs/voided'
LIMIT 1 BY statement_id
