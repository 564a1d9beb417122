-- params: tenant String, actors Array(String)
-- The mastery last published on the mastery topic for these learners, per competency.
SELECT actor_ifi, competency_id, method, value, mastered, evidence_count, last_evidence_us
FROM mastery_published
WHERE tenant = ? AND actor_ifi IN (SELECT arrayJoin(?))
ORDER BY actor_ifi, competency_id, version DESC
LIMIT 1 BY actor_ifi, competency_id
