-- Which statement each voiding statement voids, keyed by the target: the sink writes a row for
-- every voiding statement beside the statement itself, and after each insert looks up the new
-- statements here, so a voiding statement stored before its target (xAPI lets an LRS accept one
-- whose target it has not seen) voids the target when it arrives. Rows are small and ordered by
-- target, so the lookup reads the index ranges of the batch's ids and nothing else.
CREATE TABLE IF NOT EXISTS statement_voids
(
    tenant String,
    target_id UUID,
    voiding_id UUID
)
ENGINE = ReplacingMergeTree
ORDER BY (tenant, target_id, voiding_id)
SETTINGS index_granularity = 256;
-- Voiding statements stored before this migration, copied once: running it again copies nothing.
INSERT INTO statement_voids (tenant, target_id, voiding_id)
SELECT tenant, toUUID(object_id), statement_id
FROM statements
WHERE verb_id = 'http://adlnet.gov/expapi/verbs/voided' AND object_type = 'StatementRef'
    AND statement_id NOT IN (SELECT voiding_id FROM statement_voids);
