-- What the filters of GET /xapi/statements match (Communication 2.1.3), one array per filter:
-- verb, registration, agent, agent with related_agents, activity, activity with
-- related_activities. Each holds the statement's own values and, when its object is a
-- StatementRef, those of the statement it targets, so a statement that targets a match matches
-- too ("Filter Conditions for StatementRefs"). The sink resolves the target when it stores the
-- statement; the target's arrays already hold its own target's, which makes the rule recursive.
--
-- ClickHouse 18.16 has no ADD COLUMN IF NOT EXISTS: the migration runner counts adding a column
-- that already exists as done, which keeps these statements safe to run twice.
ALTER TABLE statements ADD COLUMN match_verbs Array(String);
ALTER TABLE statements ADD COLUMN match_registrations Array(String);
ALTER TABLE statements ADD COLUMN match_agents Array(String);
ALTER TABLE statements ADD COLUMN match_related_agents Array(String);
ALTER TABLE statements ADD COLUMN match_activities Array(String);
ALTER TABLE statements ADD COLUMN match_related_activities Array(String);
