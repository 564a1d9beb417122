-- params: direction Int64, tenant String, tenant String, from_us UInt64, to_us UInt64, direction Int64, after_key Int64, direction Int64, after_key Int64, after_id String, direction Int64, limit UInt64
-- One page of GET /xapi/statements without filters, within one window of `stored` [from_us,
-- to_us], in page order: page.sql with statement_pages's own narrow columns for the index (it
-- is in `stored` order), so the page reads the ids of its window and the JSON of its
-- statements, a few 64-row granules of each.
SELECT any(raw) AS raw, stored_us, toInt64(stored_us) * ? AS sort_key, toString(statement_id) AS id
FROM statement_pages
PREWHERE tenant = ? AND (stored_us, statement_id) IN (
    SELECT stored_us, statement_id
    FROM statement_pages
    WHERE tenant = ? AND stored_us >= ? AND stored_us <= ?
    GROUP BY stored_us, statement_id
    HAVING max(voided) = 0
        AND (toInt64(stored_us) * ? > ?
            OR (toInt64(stored_us) * ? = ? AND toString(statement_id) > ?))
    ORDER BY toInt64(stored_us) * ?, toString(statement_id)
    LIMIT ?)
GROUP BY stored_us, statement_id
HAVING max(voided) = 0
ORDER BY sort_key, id
