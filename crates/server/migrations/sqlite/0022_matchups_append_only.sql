-- A matchup, once made, is history: a change of outcome is a new row.
-- (A release put this trigger in 0019 itself; 0019 holds its first text
-- again, db::connect gives such a database 0019's checksum, and this makes
-- the trigger whether or not it is there.)
CREATE TRIGGER IF NOT EXISTS matchups_keep BEFORE UPDATE ON matchups
BEGIN
    SELECT RAISE(ABORT, 'matchups are append-only');
END;
