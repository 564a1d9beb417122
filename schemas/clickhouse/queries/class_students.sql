-- params: tenant String, class_id String, tenant String
-- The students enrolled in a class, with the xAPI actor each one's statements carry.
SELECT user_id, actor_ifi, given_name, family_name
FROM
(
    SELECT user_id, actor_ifi, given_name, family_name, deleted
    FROM roster_users
    WHERE tenant = ?
    ORDER BY user_id, version DESC
    LIMIT 1 BY user_id
)
WHERE deleted = 0 AND user_id IN
(
    SELECT user_id
    FROM
    (
        SELECT user_id, role, deleted
        FROM roster_enrollments
        WHERE class_id = ? AND tenant = ?
        ORDER BY user_id, version DESC
        LIMIT 1 BY user_id
    )
    WHERE deleted = 0 AND role = 'student'
)
ORDER BY user_id
