-- Nothing on SQLite. PostgreSQL's 0023 makes its needs trigger write a
-- household's unmatched needs from the changed row instead of reading the
-- household back through a view, which was slow there on a whole county;
-- SQLite's triggers (0021) read the view and were not. The file keeps the two
-- dialects' migrations numbered alike.
SELECT 1;
