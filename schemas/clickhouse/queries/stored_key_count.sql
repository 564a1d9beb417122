-- About how many statements are stored (rows of the lookup table, counted before its parts
-- merge away repeats): what an intake sizes its filter of known ids by.
SELECT count() AS stored
FROM statement_lookup
