-- params: direction Int64, tenant String, tenant String, keys Array(String), from_us UInt64, to_us UInt64, key_count UInt64, direction Int64, after_key Int64, direction Int64, after_key Int64, after_id String, direction Int64, limit UInt64
-- The statements of one page of GET /xapi/statements (Communication 2.1.3) within one window
-- of `stored` [from_us, to_us], in page order, in one query: which statements, from the rows of
-- the filters' keys in statement_keys (a statement matches when it has a row for each key,
-- `key_count` of them), and their JSON from statement_pages, whose order (tenant, stored_us,
-- statement_id) lets the page's pairs pick out its granules.
-- So a page reads the index rows of its window and keys and the statements it returns, never
-- the rest of the history: the caller picks a window that holds about a page. `direction` is 1
-- for ascending `stored`, -1 for descending; pages continue after (after_key, after_id), the
-- sort key and id of the previous page's last statement. A voided statement (a row with
-- voided = 1, which replaces the original's) is left out.
SELECT any(raw) AS raw, stored_us, toInt64(stored_us) * ? AS sort_key, toString(statement_id) AS id
FROM statement_pages
PREWHERE tenant = ? AND (stored_us, statement_id) IN (
    SELECT stored_us, statement_id
    FROM statement_keys
    WHERE tenant = ? AND key IN (SELECT arrayJoin(?)) AND stored_us >= ? AND stored_us <= ?
    GROUP BY stored_us, statement_id
    HAVING max(voided) = 0 AND uniqExact(key) = ?
        AND (toInt64(stored_us) * ? > ?
            OR (toInt64(stored_us) * ? = ? AND toString(statement_id) > ?))
    ORDER BY toInt64(stored_us) * ?, toString(statement_id)
    LIMIT ?)
GROUP BY stored_us, statement_id
HAVING max(voided) = 0
ORDER BY sort_key, id
