-- params: tenants Array(String)
-- Which of these tenants have a voiding statement still waiting for its target: only their
-- statements need looking up in pending_voids.
SELECT DISTINCT tenant
FROM pending_voids
WHERE tenant IN (SELECT arrayJoin(?))
