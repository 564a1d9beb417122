-- params: tenant String, actor String, since_us Int64, until_us Int64, before_us Int64, before_us Int64, before_id String, limit UInt64
-- One page of a learner's statement ids, newest first, from since_us (inclusive) to until_us
-- (exclusive), continuing before the previous page's last (timestamp, id). Voided statements
-- are left out.
SELECT timestamp_us, id
FROM
(
    SELECT timestamp_us, toString(statement_id) AS id, voided
    FROM learner_statements
    WHERE tenant = ? AND actor_ifi = ? AND timestamp_us >= ? AND timestamp_us < ?
        AND timestamp_us <= ?
    ORDER BY timestamp_us DESC, id DESC, voided DESC
    LIMIT 1 BY timestamp_us, id
)
WHERE voided = 0 AND (timestamp_us < ? OR id < ?)
ORDER BY timestamp_us DESC, id DESC
LIMIT ?
