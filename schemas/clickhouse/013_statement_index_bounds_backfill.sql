-- The bounds of the statements indexed before migration 012's view existed. Rows the view has
-- already seen are counted twice, which a minimum and a maximum do not notice and the count,
-- an estimate of density, can bear; so is running this again.
INSERT INTO statement_index_bounds (tenant, key, first_us, last_us, statements)
SELECT tenant, key, minState(stored_us), maxState(stored_us), countState()
FROM statement_index
GROUP BY tenant, key;
