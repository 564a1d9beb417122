-- Where the first month statement_index holds any statement of begins (µs since the epoch), from
-- the parts' partition names alone (toYYYYMM of `stored`, in the server's time zone, as the
-- month below): where an ascending page without `since` starts looking, so that its windows do
-- not probe the empty years before the first statement. 0 when nothing is stored.
SELECT if(month = 0, toUInt64(0),
    toUInt64(toUnixTimestamp(toDateTime(toDate(concat(substring(toString(month), 1, 4), '-',
        substring(toString(month), 5, 2), '-01'))))) * 1000000) AS start_us
FROM
(
    SELECT min(toUInt32OrZero(partition)) AS month
    FROM system.parts
    WHERE database = currentDatabase() AND table = 'statement_index' AND active
)
