-- params: tenant String
-- A tenant's current roster enrollments (newest version of each, unless deleted).
SELECT class_id, user_id, role
FROM
(
    SELECT class_id, user_id, role, deleted
    FROM roster_enrollments
    WHERE tenant = ?
    ORDER BY class_id, user_id, version DESC
    LIMIT 1 BY class_id, user_id
)
WHERE deleted = 0
ORDER BY class_id, user_id
