-- params: tenant String, actor String, from_us Int64, to_us Int64, before_us Int64, before_id String, limit UInt64
-- One page of a learner's statement ids within one window of `timestamp` [from_us, to_us],
-- newest first, continuing before the previous page's last (timestamp, id); the caller picks
-- a window that holds about a page, so a page reads about a page of rows however long the
-- learner's history. Voided statements are left out.
SELECT timestamp_us, id
FROM
(
    SELECT timestamp_us, toString(statement_id) AS id, voided
    FROM learner_statements
    WHERE tenant = ? AND actor_ifi = ? AND timestamp_us >= ? AND timestamp_us <= ?
    ORDER BY timestamp_us DESC, id DESC, voided DESC
    LIMIT 1 BY timestamp_us, id
)
WHERE voided = 0 AND (timestamp_us < ? OR id < ?)
ORDER BY timestamp_us DESC, id DESC
LIMIT ?
