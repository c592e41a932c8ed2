-- Each problem carries its household's grid path (`unit_path`), like each visit
-- since 0005, kept by triggers: at insert and when the household moves. The
-- dashboard's open and overdue problems per level are then one range of a
-- partial index of the open problems, with no join to households and units.
-- The same on PostgreSQL (migrations/postgres/0006_problem_units.sql).
ALTER TABLE problems ADD COLUMN unit_path TEXT NOT NULL DEFAULT '';
UPDATE problems SET unit_path = COALESCE(
    (SELECT g.path FROM households h JOIN units g ON g.id = h.grid_id
     WHERE h.id = problems.household_id), '');

CREATE TRIGGER problems_unit_path AFTER INSERT ON problems
BEGIN
    UPDATE problems SET unit_path = COALESCE((SELECT g.path FROM households h
                                              JOIN units g ON g.id = h.grid_id
                                              WHERE h.id = NEW.household_id), '')
    WHERE id = NEW.id;
END;

-- A household moved to another grid takes its problems along, as its visits (0005).
CREATE TRIGGER households_move_problems AFTER UPDATE OF grid_id ON households
WHEN OLD.grid_id <> NEW.grid_id
BEGIN
    UPDATE problems SET unit_path = (SELECT path FROM units WHERE id = NEW.grid_id)
    WHERE household_id = NEW.id;
END;

-- Open problems by place, level and deadline: the dashboard reads it alone.
CREATE INDEX problems_open_unit ON problems(unit_path, level, due_at) WHERE state <> 'resolved';
