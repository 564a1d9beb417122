-- Statements stored before learner_statements existed, copied once. Those the view already
-- copied are copied again; the table's replacing merges and readers' LIMIT 1 BY absorb the
-- repeat, as they absorb a sink's repeated batch.
INSERT INTO learner_statements (tenant, actor_ifi, timestamp_us, statement_id, stored_us, verb_id,
    object_type, object_id, context_activities, competency_ids, result_success, result_completion,
    score_scaled, score_raw, score_min, score_max, duration_ms, voided)
SELECT tenant, actor_ifi, timestamp_us, statement_id, stored_us, verb_id, object_type, object_id,
    context_activities, competency_ids, result_success, result_completion, score_scaled,
    score_raw, score_min, score_max, duration_ms, voided
FROM statements;
