-- Every stored statement's tenant and id, read once when an intake starts: it keeps them in
-- memory (a Bloom filter) so that a client-set id it has never seen needs no query at all.
-- Reads the two narrow columns of the lookup table, never `raw`; a statement stored twice
-- before the table's parts merge comes twice, which the filter does not mind.
SELECT tenant, statement_id
FROM statement_lookup
