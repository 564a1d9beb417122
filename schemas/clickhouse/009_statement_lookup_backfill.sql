-- Statements stored before statement_lookup existed (migration 004), copied into it once, so
-- that every read and check by id asks the lookup table alone: a new id (what nearly every POST
-- with client-set ids carries) then costs an index look-up in 64-row granules, not a read of
-- the statements table's 8,192-row granules of raw statements, which grew with history.
-- Those the sink has written there already are left out, so running it again copies nothing;
-- a copy made twice by two processes starting at once is one row after the replacing merge,
-- and readers take one row per id.
INSERT INTO statement_lookup (tenant, statement_id, verb_id, voided, raw)
SELECT tenant, statement_id, verb_id, voided, raw
FROM statements
WHERE (tenant, statement_id) NOT IN (SELECT tenant, statement_id FROM statement_lookup);
