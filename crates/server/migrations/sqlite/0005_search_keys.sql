-- Each visit carries its household's grid path (`unit_path`, kept by triggers: at
-- insert and when the household moves), so a dashboard of a past period counts the
-- households visited per child unit from one index range, `visits_day_unit`,
-- without joining households and units for every visit. The same column and index
-- as migrations/postgres/0005_search_keys.sql; PostgreSQL also indexes the text
-- search keys there (SQLite's log keeps its LIKE). tests/reports.rs checks
-- `unit_path` against the households after moves.

-- The index this replaces goes first, so the back-fill does not keep it up.
DROP INDEX visits_day_household;
ALTER TABLE visits ADD COLUMN unit_path TEXT NOT NULL DEFAULT '';
UPDATE visits SET unit_path = COALESCE(
    (SELECT g.path FROM households h JOIN units g ON g.id = h.grid_id
     WHERE h.id = visits.household_id), '');

-- The same UPDATE as 0003's, which sets unit_path too (one write, not two).
DROP TRIGGER visits_extract;
CREATE TRIGGER visits_extract AFTER INSERT ON visits
BEGIN
    UPDATE visits SET
        section_bits = (SELECT COALESCE(SUM(DISTINCT b.bit), 0)
                        FROM json_each(NEW.body, '$.sections') s
                        JOIN section_state_bits b ON b.kind = json_extract(s.value, '$.kind')
                                                 AND b.state = json_extract(s.value, '$.state')),
        search_text = COALESCE(json_extract(NEW.body, '$.summary'), '') || char(10) ||
                      COALESCE((SELECT group_concat(json_extract(s.value, '$.notes'), char(10))
                                FROM json_each(NEW.body, '$.sections') s), ''),
        unit_path = COALESCE((SELECT g.path FROM households h JOIN units g ON g.id = h.grid_id
                              WHERE h.id = NEW.household_id), '')
    WHERE id = NEW.id;
END;

-- A household moved to another grid takes its visits along (units never move).
CREATE TRIGGER households_move_visits AFTER UPDATE OF grid_id ON households
WHEN OLD.grid_id <> NEW.grid_id
BEGIN
    UPDATE visits SET unit_path = (SELECT path FROM units WHERE id = NEW.grid_id)
    WHERE household_id = NEW.id;
END;

-- The period's visits with their units (replaces 0004's index without them).
CREATE INDEX visits_day_unit ON visits(visited_on, unit_path, household_id, member_id);
