-- Migration 010's statement_index, replaced by statement_keys (migration 016): its view first,
-- so that no insert into statements writes to it meanwhile. A process of a release before 016
-- still running when this runs fails its filtered pages until it is upgraded too (a release
-- applies all its migrations when it starts).
DROP TABLE IF EXISTS statement_index_mv;
DROP TABLE IF EXISTS statement_index;
