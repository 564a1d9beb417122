-- Statements stored before learner_statements existed, copied once: those the view copied
-- already (stored since migration 005) are left out, so running it again copies nothing.
INSERT INTO learner_statements (tenant, actor_ifi, timestamp_us, statement_id, stored_us, verb_id,
    object_type, object_id, context_activities, competency_ids, result_success, result_completion,
    score_scaled, score_raw, score_min, score_max, duration_ms, voided)
SELECT tenant, actor_ifi, timestamp_us, statement_id, stored_us, verb_id, object_type, object_id,
    context_activities, competency_ids, result_success, result_completion, score_scaled,
    score_raw, score_min, score_max, duration_ms, voided
FROM statements
WHERE statement_id NOT IN (SELECT statement_id FROM learner_statements);
