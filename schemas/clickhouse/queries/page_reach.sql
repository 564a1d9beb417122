-- params: keys Array(String), tenant String, keys Array(String), from_hour UInt32, to_hour UInt32
-- Where the next statements of a page's filter keys are, for a page window that found none
-- (migration 019's statement_hours): each key's hours from_hour..=to_hour (hours since the epoch
-- of `stored`) that have statements, with where they begin and end (µs) and how many there are,
-- by key (its position in `keys`, from 1) and hour. Quiet hours have no rows, so the caller can
-- sum the hours in page order across any silence to where they hold what the page is missing.
-- Reads the keys' hours of the range (30 days: a few hundred rows a key), never statements.
SELECT toUInt32(indexOf(?, key)) AS key_index, hour_first AS first_us, hour_last AS last_us,
    hour_statements AS statements
FROM (
    SELECT key, hour, minMerge(first_us) AS hour_first, maxMerge(last_us) AS hour_last,
        countMerge(statements) AS hour_statements
    FROM statement_hours
    WHERE tenant = ? AND key IN (SELECT arrayJoin(?)) AND hour >= ? AND hour <= ?
    GROUP BY key, hour)
