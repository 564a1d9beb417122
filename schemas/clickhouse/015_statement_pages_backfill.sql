-- Fills statement_pages with the statements stored before it existed: those it has no row of
-- (the view of migration 014 copies every statement stored since), so running it again copies
-- nothing. The set it compares with holds only what was stored since migration 014.
INSERT INTO statement_pages (tenant, stored_us, statement_id, voided, raw)
SELECT tenant, stored_us, statement_id, voided, raw
FROM statements
WHERE (tenant, statement_id) NOT IN (SELECT tenant, statement_id FROM statement_pages);
