-- A matchup, once made, is history: a change of outcome is a new row.
-- (A release put this trigger in 0019 itself; 0019 holds its first text
-- again, db::connect gives such a database 0019's checksum, and this makes
-- the trigger whether or not it is there.)
CREATE OR REPLACE FUNCTION matchups_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'matchups are append-only' USING ERRCODE = 'check_violation';
END;
$$;
DROP TRIGGER IF EXISTS matchups_keep ON matchups;
CREATE TRIGGER matchups_keep BEFORE UPDATE ON matchups
    FOR EACH ROW EXECUTE FUNCTION matchups_keep();
