-- params: tenant String
-- A tenant's current competency alignments: the newest version of each (activity, competency)
-- unless that version deleted it.
SELECT activity_id, competency_id, framework, weight
FROM
(
    SELECT activity_id, competency_id, framework, weight, deleted
    FROM competency_alignments
    WHERE tenant = ?
    ORDER BY activity_id, competency_id, version DESC
    LIMIT 1 BY activity_id, competency_id
)
WHERE deleted = 0
ORDER BY activity_id, competency_id
