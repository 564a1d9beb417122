-- params: direction Int64, tenant String, since_us UInt64, until_us UInt64, verb String, verb String, registration String, registration String, agent String, agent String, related_agent String, related_agent String, activity String, activity String, related_activity String, related_activity String, tenant String, after_key Int64, after_key Int64, after_id String, limit UInt64
-- One page of GET /xapi/statements (Communication 2.1.3). An empty filter value matches
-- everything. `direction` is 1 for ascending `stored`, -1 for descending; pages continue after
-- (after_key, after_id), the sort key and id of the previous page's last statement, so a page
-- boundary stays put while new statements arrive. Voided statements are left out (a row with
-- voided = 1 exists for them); a re-delivered row appears once (LIMIT 1 BY).
SELECT raw, stored_us, toInt64(stored_us) * ? AS sort_key, toString(statement_id) AS id
FROM statements
WHERE tenant = ?
  AND stored_us > ? AND stored_us <= ?
  AND (? = '' OR has(match_verbs, ?))
  AND (? = '' OR has(match_registrations, ?))
  AND (? = '' OR has(match_agents, ?))
  AND (? = '' OR has(match_related_agents, ?))
  AND (? = '' OR has(match_activities, ?))
  AND (? = '' OR has(match_related_activities, ?))
  AND statement_id NOT IN (SELECT statement_id FROM statements WHERE tenant = ? AND voided = 1)
  AND (sort_key > ? OR (sort_key = ? AND id > ?))
ORDER BY sort_key, id
LIMIT 1 BY id
LIMIT ?
