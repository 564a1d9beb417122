-- The hours of the statements stored before migration 019's view existed, from statements
-- itself. Rows the view has already seen are counted twice, which bounds do not notice and the
-- counts, estimates of density, can bear; so is running this again. A district's activities
-- over years make millions of (key, hour) groups: past 1 GB the aggregation spills to disk
-- instead of failing on the server's memory limit.
INSERT INTO statement_hours (tenant, key, hour, first_us, last_us, statements)
SELECT tenant, key, toUInt32(intDiv(stored_us, 3600000000)) AS hour,
    minState(stored_us), maxState(stored_us), countState()
FROM statements
ARRAY JOIN arrayConcat(
    [''],
    arrayMap(value -> concat('verb ', value), match_verbs),
    arrayMap(value -> concat('activity ', value), match_activities),
    arrayMap(value -> concat('related_activity ', value), match_related_activities)
) AS key
WHERE voided = 0
GROUP BY tenant, key, hour
SETTINGS max_bytes_before_external_group_by = 1000000000;
