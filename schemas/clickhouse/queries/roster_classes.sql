-- params: tenant String
-- A tenant's current roster classes (newest version of each, unless deleted).
SELECT class_id, title
FROM
(
    SELECT class_id, title, deleted
    FROM roster_classes
    WHERE tenant = ?
    ORDER BY class_id, version DESC
    LIMIT 1 BY class_id
)
WHERE deleted = 0
ORDER BY class_id
