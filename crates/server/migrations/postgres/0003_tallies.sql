-- Figures the dashboards and the visit log read at county scale, kept by triggers
-- so every way a visit is written (upload, file import, seed, benchmark) keeps them.
-- The same tables and rules as migrations/sqlite/0003_tallies.sql; checked against
-- the visits themselves by tests/tallies.rs.

ALTER TABLE households ADD COLUMN last_visit_on TEXT;
UPDATE households SET last_visit_on =
    (SELECT MAX(v.visited_on) FROM visits v WHERE v.household_id = households.id);
CREATE INDEX households_grid_last_visit ON households(grid_id, last_visit_on);
CREATE INDEX households_special_last_visit ON households(last_visit_on NULLS FIRST)
    WHERE special_groups <> '[]';

CREATE TABLE visit_days (
    unit_id TEXT NOT NULL REFERENCES units(id),
    day     TEXT NOT NULL,
    visits  BIGINT NOT NULL,
    PRIMARY KEY (unit_id, day)
);

INSERT INTO visit_days (unit_id, day, visits)
SELECT substr(g.path, 2 + k.k * 37, 36), v.visited_on, COUNT(*)
FROM visits v
JOIN households h ON h.id = v.household_id
JOIN units g ON g.id = h.grid_id
JOIN (SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3) AS k
  ON length(g.path) >= 1 + (k.k + 1) * 37
GROUP BY 1, 2;

CREATE FUNCTION visits_tally() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE households SET last_visit_on = NEW.visited_on
    WHERE id = NEW.household_id
      AND (last_visit_on IS NULL OR last_visit_on < NEW.visited_on);
    INSERT INTO visit_days (unit_id, day, visits)
    SELECT substr(g.path, 2 + k.k * 37, 36), NEW.visited_on, 1
    FROM households h
    JOIN units g ON g.id = h.grid_id
    JOIN (SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3) AS k
      ON length(g.path) >= 1 + (k.k + 1) * 37
    WHERE h.id = NEW.household_id
    ON CONFLICT (unit_id, day) DO UPDATE SET visits = visit_days.visits + 1;
    RETURN NULL;
END;
$$;
CREATE TRIGGER visits_tally AFTER INSERT ON visits
    FOR EACH ROW EXECUTE FUNCTION visits_tally();

CREATE FUNCTION households_move_tally() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE visit_days SET visits = visit_days.visits -
        (SELECT COUNT(*) FROM visits v
         WHERE v.household_id = NEW.id AND v.visited_on = visit_days.day)
    WHERE day IN (SELECT visited_on FROM visits WHERE household_id = NEW.id)
      AND unit_id IN (
        SELECT substr(g.path, 2 + k.k * 37, 36)
        FROM units g
        JOIN (SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3) AS k
          ON length(g.path) >= 1 + (k.k + 1) * 37
        WHERE g.id = OLD.grid_id);
    INSERT INTO visit_days (unit_id, day, visits)
    SELECT substr(g.path, 2 + k.k * 37, 36), v.visited_on, COUNT(*)
    FROM visits v
    JOIN units g ON g.id = NEW.grid_id
    JOIN (SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3) AS k
      ON length(g.path) >= 1 + (k.k + 1) * 37
    WHERE v.household_id = NEW.id
    GROUP BY 1, 2
    ON CONFLICT (unit_id, day) DO UPDATE SET visits = visit_days.visits + excluded.visits;
    RETURN NULL;
END;
$$;
CREATE TRIGGER households_move_tally AFTER UPDATE OF grid_id ON households
    FOR EACH ROW WHEN (OLD.grid_id <> NEW.grid_id) EXECUTE FUNCTION households_move_tally();
