-- params: tenant String
-- A tenant's current roster users (newest version of each, unless deleted).
SELECT user_id, actor_ifi, given_name, family_name, role
FROM
(
    SELECT user_id, actor_ifi, given_name, family_name, role, deleted
    FROM roster_users
    WHERE tenant = ?
    ORDER BY user_id, version DESC
    LIMIT 1 BY user_id
)
WHERE deleted = 0
ORDER BY user_id
