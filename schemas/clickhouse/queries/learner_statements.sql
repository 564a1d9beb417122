-- params: tenant String, actors Array(String), since_us Int64, until_us Int64
-- Learners' statements in the order they happened (timestamp, then id), from since_us
-- (inclusive) to until_us (exclusive): what mastery and engagement read. One row per statement:
-- a statement written twice reads once, and a voided one (its voided = 1 copy) not at all.
SELECT actor_ifi, timestamp_us, toString(statement_id) AS id, verb_id, object_type, object_id,
    context_activities, competency_ids, result_success, result_completion, score_scaled,
    score_raw, score_min, score_max, duration_ms
FROM
(
    SELECT actor_ifi, timestamp_us, statement_id, verb_id, object_type, object_id,
        context_activities, competency_ids, result_success, result_completion, score_scaled,
        score_raw, score_min, score_max, duration_ms, voided
    FROM learner_statements
    WHERE tenant = ? AND actor_ifi IN (SELECT arrayJoin(?))
        AND timestamp_us >= ? AND timestamp_us < ?
    ORDER BY actor_ifi, timestamp_us, statement_id, voided DESC
    LIMIT 1 BY actor_ifi, timestamp_us, statement_id
)
WHERE voided = 0
ORDER BY actor_ifi, timestamp_us, id
