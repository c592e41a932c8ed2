-- Each problem carries its household's grid path (`unit_path`), like each visit
-- since 0005, kept by triggers: at insert and when the household moves. The
-- dashboard's open and overdue problems per level are then one range of a
-- partial index of the open problems, with no join to households and units
-- (about 60 ms of a county's dashboard before). The same on SQLite
-- (migrations/sqlite/0006_problem_units.sql); tests/reports.rs checks the
-- column against the households after moves.
ALTER TABLE problems ADD COLUMN unit_path TEXT COLLATE "C" NOT NULL DEFAULT '';
UPDATE problems p SET unit_path = g.path
FROM households h JOIN units g ON g.id = h.grid_id
WHERE h.id = p.household_id;

CREATE FUNCTION problems_unit_path() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.unit_path := COALESCE((SELECT g.path FROM households h JOIN units g ON g.id = h.grid_id
                               WHERE h.id = NEW.household_id), '');
    RETURN NEW;
END;
$$;
CREATE TRIGGER problems_unit_path BEFORE INSERT ON problems
    FOR EACH ROW EXECUTE FUNCTION problems_unit_path();

-- A household moved to another grid takes its problems along, as its visits (0005).
CREATE FUNCTION households_move_problems() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE problems SET unit_path = (SELECT path FROM units WHERE id = NEW.grid_id)
    WHERE household_id = NEW.id;
    RETURN NULL;
END;
$$;
CREATE TRIGGER households_move_problems AFTER UPDATE OF grid_id ON households
    FOR EACH ROW WHEN (OLD.grid_id <> NEW.grid_id) EXECUTE FUNCTION households_move_problems();

-- Open problems by place, level and deadline: the dashboard reads it alone.
CREATE INDEX problems_open_unit ON problems(unit_path, level, due_at) WHERE state <> 'resolved';
