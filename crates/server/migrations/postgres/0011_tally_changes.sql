-- The tallies of migrations 0003 and 0004 without hot rows. Every visit added
-- one to its county's row of the day (and its township's, village's and grid's),
-- and every household's first visit of a day moved one between two rows, so two
-- uploads in one county waited on each other from their first visit to their
-- commit, and deadlocked when their visits came in other orders (the server
-- queued one county's uploads on its row instead). Now the triggers only append
-- rows of changes (`fresh`): a key (unit, day) may have several rows, readers sum
-- them, and the server folds each key's rows into one now and then
-- (store::upkeep::fold_tallies). Appending takes no lock another upload waits on.
-- PostgreSQL's alone: SQLite has one writer, and keeps one row a key.
-- Checked against the visits, before and after folding, by tests/reports.rs.

ALTER TABLE visit_days DROP CONSTRAINT visit_days_pkey;
ALTER TABLE visit_days ADD COLUMN fresh BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE visit_days ALTER COLUMN fresh SET DEFAULT true;
CREATE INDEX visit_days_unit_day ON visit_days(unit_id, day);
CREATE INDEX visit_days_fresh ON visit_days(unit_id, day) WHERE fresh;

ALTER TABLE household_last_visits DROP CONSTRAINT household_last_visits_pkey;
ALTER TABLE household_last_visits ADD COLUMN fresh BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE household_last_visits ALTER COLUMN fresh SET DEFAULT true;
CREATE INDEX household_last_visits_unit_day ON household_last_visits(unit_id, day);
CREATE INDEX household_last_visits_fresh ON household_last_visits(unit_id, day) WHERE fresh;

-- A visit locks its household's row before reading its grid, so a move of the
-- household (which updates that row) either comes first and is seen, or waits
-- for this visit and then counts it. The server locks a batch's households in
-- one order first (store::households::lock), so two uploads cannot deadlock here.
CREATE OR REPLACE FUNCTION visits_extract() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM households WHERE id = NEW.household_id FOR NO KEY UPDATE;
    IF daohu_json_valid(NEW.body) THEN
        NEW.section_bits := daohu_section_bits(NEW.body);
        NEW.search_text := daohu_search_text(NEW.body);
    END IF;
    NEW.unit_path := COALESCE((SELECT g.path FROM households h JOIN units g ON g.id = h.grid_id
                               WHERE h.id = NEW.household_id), '');
    RETURN NEW;
END;
$$;

CREATE OR REPLACE FUNCTION visits_tally() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE households SET last_visit_on = NEW.visited_on
    WHERE id = NEW.household_id
      AND (last_visit_on IS NULL OR last_visit_on < NEW.visited_on);
    UPDATE members SET last_visit_on = NEW.visited_on
    WHERE id = NEW.member_id
      AND (last_visit_on IS NULL OR last_visit_on < NEW.visited_on);
    -- unit_path and section_bits were set by visits_extract, before the insert.
    INSERT INTO visit_days (unit_id, day, visits, s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11, s12, s13, s14, any0, any1, any2)
    SELECT substr(NEW.unit_path, 2 + k.k * 37, 36), NEW.visited_on, 1,
        ((NEW.section_bits >> 0) & 1),
        ((NEW.section_bits >> 1) & 1),
        ((NEW.section_bits >> 2) & 1),
        ((NEW.section_bits >> 3) & 1),
        ((NEW.section_bits >> 4) & 1),
        ((NEW.section_bits >> 5) & 1),
        ((NEW.section_bits >> 6) & 1),
        ((NEW.section_bits >> 7) & 1),
        ((NEW.section_bits >> 8) & 1),
        ((NEW.section_bits >> 9) & 1),
        ((NEW.section_bits >> 10) & 1),
        ((NEW.section_bits >> 11) & 1),
        ((NEW.section_bits >> 12) & 1),
        ((NEW.section_bits >> 13) & 1),
        ((NEW.section_bits >> 14) & 1),
        (CASE WHEN (NEW.section_bits & 4681) <> 0 THEN 1 ELSE 0 END),
        (CASE WHEN (NEW.section_bits & 9362) <> 0 THEN 1 ELSE 0 END),
        (CASE WHEN (NEW.section_bits & 18724) <> 0 THEN 1 ELSE 0 END)
    FROM (SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3) AS k
    WHERE length(NEW.unit_path) >= 1 + (k.k + 1) * 37;
    RETURN NULL;
END;
$$;

-- A household's visits leave its old grid's units and join the new grid's: rows
-- of changes for the units that differ (a shared village's or township's nets 0).
CREATE OR REPLACE FUNCTION households_move_tally() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO visit_days (unit_id, day, visits, s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11, s12, s13, s14, any0, any1, any2)
    SELECT u.unit_id, x.day, u.sign * x.visits,
        u.sign * x.s0,
        u.sign * x.s1,
        u.sign * x.s2,
        u.sign * x.s3,
        u.sign * x.s4,
        u.sign * x.s5,
        u.sign * x.s6,
        u.sign * x.s7,
        u.sign * x.s8,
        u.sign * x.s9,
        u.sign * x.s10,
        u.sign * x.s11,
        u.sign * x.s12,
        u.sign * x.s13,
        u.sign * x.s14,
        u.sign * x.any0,
        u.sign * x.any1,
        u.sign * x.any2
    FROM (SELECT visited_on AS day, COUNT(*) AS visits,
            SUM(((section_bits >> 0) & 1)) AS s0,
            SUM(((section_bits >> 1) & 1)) AS s1,
            SUM(((section_bits >> 2) & 1)) AS s2,
            SUM(((section_bits >> 3) & 1)) AS s3,
            SUM(((section_bits >> 4) & 1)) AS s4,
            SUM(((section_bits >> 5) & 1)) AS s5,
            SUM(((section_bits >> 6) & 1)) AS s6,
            SUM(((section_bits >> 7) & 1)) AS s7,
            SUM(((section_bits >> 8) & 1)) AS s8,
            SUM(((section_bits >> 9) & 1)) AS s9,
            SUM(((section_bits >> 10) & 1)) AS s10,
            SUM(((section_bits >> 11) & 1)) AS s11,
            SUM(((section_bits >> 12) & 1)) AS s12,
            SUM(((section_bits >> 13) & 1)) AS s13,
            SUM(((section_bits >> 14) & 1)) AS s14,
            SUM((CASE WHEN (section_bits & 4681) <> 0 THEN 1 ELSE 0 END)) AS any0,
            SUM((CASE WHEN (section_bits & 9362) <> 0 THEN 1 ELSE 0 END)) AS any1,
            SUM((CASE WHEN (section_bits & 18724) <> 0 THEN 1 ELSE 0 END)) AS any2
          FROM visits WHERE household_id = NEW.id GROUP BY visited_on) AS x
    CROSS JOIN (SELECT substr(g.path, 2 + k.k * 37, 36) AS unit_id,
                       SUM(CASE WHEN g.id = NEW.grid_id THEN 1 ELSE -1 END) AS sign
                FROM units g
                JOIN (SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3) AS k
                  ON length(g.path) >= 1 + (k.k + 1) * 37
                WHERE g.id IN (OLD.grid_id, NEW.grid_id)
                GROUP BY 1
                HAVING SUM(CASE WHEN g.id = NEW.grid_id THEN 1 ELSE -1 END) <> 0) AS u;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION households_last_visit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
    INSERT INTO household_last_visits (unit_id, day, households)
    SELECT substr(g.path, 2 + k.k * 37, 36), COALESCE(OLD.last_visit_on, ''), -1
    FROM units g
    JOIN (SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3) AS k
      ON length(g.path) >= 1 + (k.k + 1) * 37
    WHERE g.id = OLD.grid_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
    INSERT INTO household_last_visits (unit_id, day, households)
    SELECT substr(g.path, 2 + k.k * 37, 36), COALESCE(NEW.last_visit_on, ''), 1
    FROM units g
    JOIN (SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3) AS k
      ON length(g.path) >= 1 + (k.k + 1) * 37
    WHERE g.id = NEW.grid_id;
    END IF;
    RETURN NULL;
END;
$$;
