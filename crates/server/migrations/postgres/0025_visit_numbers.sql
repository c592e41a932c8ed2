-- Nothing on PostgreSQL: its 0007 keeps `visit_numbers` by the `rowid` identity
-- columns. SQLite's 0025 gives it the same table, numbered apart in `numbers`.
-- The file keeps the two dialects' migrations numbered alike.
SELECT 1;
