-- params: tenant String, statement_ids Array(String)
-- The filter arrays of stored statements, for statements that target them (StatementRef).
SELECT statement_id, match_verbs, match_registrations, match_agents, match_related_agents,
       match_activities, match_related_activities
FROM statements
WHERE tenant = ? AND statement_id IN (SELECT toUUID(arrayJoin(?)))
LIMIT 1 BY statement_id
