-- params: tenant String, statement_ids Array(String)
-- Marks statements voided (Data 2.3.2) once the voiding statement is stored: a copy of each
-- with voided = 1, which the ReplacingMergeTree keeps over the original and readers prefer.
INSERT INTO statements (tenant, statement_id, stored_us, timestamp_us, actor_ifi, verb_id,
    object_type, object_id, registration, result_success, result_completion, score_scaled,
    score_raw, score_min, score_max, duration_ms, voided, version, raw, match_verbs,
    match_registrations, match_agents, match_related_agents, match_activities,
    match_related_activities, context_activities, competency_ids)
SELECT tenant, statement_id, stored_us, timestamp_us, actor_ifi, verb_id, object_type, object_id,
    registration, result_success, result_completion, score_scaled, score_raw, score_min,
    score_max, duration_ms, 1, version, raw, match_verbs, match_registrations, match_agents,
    match_related_agents, match_activities, match_related_activities, context_activities,
    competency_ids
FROM statements
WHERE tenant = ? AND statement_id IN (SELECT toUUID(arrayJoin(?))) AND voided = 0
    -- A voiding statement cannot be voided (Data 2.3.2).
    AND verb_id != 'http://adlnet.gov/expapi/verbs/voided'
LIMIT 1 BY statement_id
