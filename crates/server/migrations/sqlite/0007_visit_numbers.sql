-- Nothing on SQLite. PostgreSQL's 0007 keeps a narrow copy of each visit's day,
-- grid, household and account by the tables' integer row numbers, so a county's
-- dashboard of a past period reads a small index. SQLite may renumber the rowids
-- of tables without an integer key (VACUUM), so it cannot keep such copies, and
-- it serves a village or a township, where `visits_day_unit` (0005) is fast
-- enough. The file keeps the two dialects' migrations numbered alike.
SELECT 1;
