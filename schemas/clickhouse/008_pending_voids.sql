-- Voiding statements whose target was not stored when they were (xAPI lets an LRS accept a void
-- whose target it has not seen): the sink writes a row here for each such void, and after each
-- insert looks up the new statements here, so the target is voided when it arrives. Normally
-- empty or nearly so: the sink asks first which of a batch's tenants have a row here at all, and
-- only for those looks up the batch's ids (the index ranges of those ids, nothing else).
CREATE TABLE IF NOT EXISTS pending_voids
(
    tenant String,
    target_id UUID,
    voiding_id UUID
)
ENGINE = ReplacingMergeTree
ORDER BY (tenant, target_id, voiding_id)
SETTINGS index_granularity = 256;
-- Voids stored before this migration whose target is not stored, copied once: running it again
-- copies nothing.
INSERT INTO pending_voids (tenant, target_id, voiding_id)
SELECT tenant, toUUID(object_id), statement_id
FROM statements
WHERE verb_id = 'http://adlnet.gov/expapi/verbs/voided' AND object_type = 'StatementRef'
    AND (tenant, toUUID(object_id)) NOT IN (SELECT tenant, statement_id FROM statements)
    AND statement_id NOT IN (SELECT voiding_id FROM pending_voids);
