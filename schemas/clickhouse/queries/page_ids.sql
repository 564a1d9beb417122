-- params: direction Int64, tenant String, key String, from_us UInt64, to_us UInt64, filtered UInt8, tenant String, key String, from_us UInt64, to_us UInt64, filtered UInt8, tenant String, key String, from_us UInt64, to_us UInt64, filtered UInt8, tenant String, key String, from_us UInt64, to_us UInt64, after_key Int64, after_key Int64, after_id String, limit UInt64
-- The statements of one page of GET /xapi/statements (Communication 2.1.3) within one window
-- of `stored` [from_us, to_us], in page order, from statement_index: the rows of the first
-- filter's key (or of every statement, key ''), each further filter (up to three, `filtered` 1)
-- matched by the ids of its own key in the same window. So a page reads the index rows of its
-- window and keys, never the statements: the caller picks a window that holds about a page and
-- reads `raw` by id from the lookup table. `direction` is 1 for ascending `stored`, -1 for
-- descending; pages continue after (after_key, after_id), the sort key and id of the previous
-- page's last statement. A voided statement (a row with voided = 1) is left out.
SELECT stored_us, toInt64(stored_us) * ? AS sort_key, toString(statement_id) AS id
FROM statement_index
WHERE tenant = ? AND key = ? AND stored_us >= ? AND stored_us <= ?
  AND (? = 0 OR statement_id IN (SELECT statement_id FROM statement_index
      WHERE tenant = ? AND key = ? AND stored_us >= ? AND stored_us <= ?))
  AND (? = 0 OR statement_id IN (SELECT statement_id FROM statement_index
      WHERE tenant = ? AND key = ? AND stored_us >= ? AND stored_us <= ?))
  AND (? = 0 OR statement_id IN (SELECT statement_id FROM statement_index
      WHERE tenant = ? AND key = ? AND stored_us >= ? AND stored_us <= ?))
GROUP BY stored_us, statement_id
HAVING max(voided) = 0 AND (sort_key > ? OR (sort_key = ? AND id > ?))
ORDER BY sort_key, id
LIMIT ?
