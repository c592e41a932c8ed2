-- A narrow copy of each visit's day, grid, household and account, by the
-- tables' integer row numbers (`rowid`, identity columns that never change),
-- kept by triggers: at insert and when the household moves. A dashboard of a
-- past period reads its coverage and its idle accounts from one range of
-- `visit_numbers_day`: about 40 bytes an entry instead of the 250 of
-- `visits_day_unit` (whose 150-byte grid path and two 36-character ids made a
-- county's past month 114 ms of coverage and 48 ms of idle accounts), and
-- integers to tell apart instead of text.
-- PostgreSQL's alone: SQLite's rowids of tables without an integer key may be
-- renumbered by VACUUM, and SQLite serves a village or township, where
-- `visits_day_unit` is fast enough (migrations/sqlite/0007_visit_numbers.sql).
-- tests/reports.rs checks the rows against the visits after moves.
CREATE TABLE visit_numbers (
    visit_id     TEXT COLLATE "C" NOT NULL,
    day          TEXT COLLATE "C" NOT NULL,
    grid_no      BIGINT NOT NULL,
    household_no BIGINT NOT NULL,
    member_no    BIGINT NOT NULL
);
INSERT INTO visit_numbers
SELECT v.id, v.visited_on, g.rowid, h.rowid, m.rowid
FROM visits v JOIN households h ON h.id = v.household_id JOIN units g ON g.id = h.grid_id
JOIN members m ON m.id = v.member_id;
CREATE INDEX visit_numbers_day ON visit_numbers(day, grid_no, household_no, member_no);
-- For a household's move.
CREATE INDEX visit_numbers_household ON visit_numbers(household_no);

CREATE FUNCTION visits_numbers() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO visit_numbers
    SELECT NEW.id, NEW.visited_on, g.rowid, h.rowid, m.rowid
    FROM households h JOIN units g ON g.id = h.grid_id, members m
    WHERE h.id = NEW.household_id AND m.id = NEW.member_id;
    RETURN NULL;
END;
$$;
CREATE TRIGGER visits_numbers AFTER INSERT ON visits
    FOR EACH ROW EXECUTE FUNCTION visits_numbers();

-- A household moved to another grid takes its visits along (units never move).
CREATE FUNCTION households_move_numbers() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE visit_numbers SET grid_no = (SELECT rowid FROM units WHERE id = NEW.grid_id)
    WHERE household_no = NEW.rowid;
    RETURN NULL;
END;
$$;
CREATE TRIGGER households_move_numbers AFTER UPDATE OF grid_id ON households
    FOR EACH ROW WHEN (OLD.grid_id <> NEW.grid_id) EXECUTE FUNCTION households_move_numbers();
