-- params: tenant String, keys Array(String)
-- Where the statements of each of these keys of statement_index begin and end in `stored` (µs),
-- and about how many there are, one row for each key that has any (migration 012).
SELECT minMerge(first_us) AS first_us, maxMerge(last_us) AS last_us, countMerge(statements) AS statements
FROM statement_index_bounds
WHERE tenant = ? AND key IN (SELECT arrayJoin(?))
GROUP BY key
