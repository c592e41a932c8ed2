-- Visits per unit per day by section state, beside `visits` in visit_days, so a
-- log filtered by section state is counted exactly from at most a row a day, as a
-- unit and dates alone already are. `s<n>`: visits whose bit n of section_bits is
-- set (n = 3 × section + state, as section_state_bits lists); `any<k>`: visits with
-- at least one section in state k (0 done, 1 not applicable, 2 next time).
-- Checked against the visits by tests/reports.rs (assert_tallies).

ALTER TABLE visit_days
    ADD COLUMN s0 BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN s1 BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN s2 BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN s3 BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN s4 BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN s5 BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN s6 BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN s7 BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN s8 BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN s9 BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN s10 BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN s11 BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN s12 BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN s13 BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN s14 BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN any0 BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN any1 BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN any2 BIGINT NOT NULL DEFAULT 0;

UPDATE visit_days d SET
        s0 = x.s0,
        s1 = x.s1,
        s2 = x.s2,
        s3 = x.s3,
        s4 = x.s4,
        s5 = x.s5,
        s6 = x.s6,
        s7 = x.s7,
        s8 = x.s8,
        s9 = x.s9,
        s10 = x.s10,
        s11 = x.s11,
        s12 = x.s12,
        s13 = x.s13,
        s14 = x.s14,
        any0 = x.any0,
        any1 = x.any1,
        any2 = x.any2
FROM (SELECT substr(g.path, 2 + k.k * 37, 36) AS unit_id, v.visited_on AS day,
        SUM(((v.section_bits >> 0) & 1)) AS s0,
        SUM(((v.section_bits >> 1) & 1)) AS s1,
        SUM(((v.section_bits >> 2) & 1)) AS s2,
        SUM(((v.section_bits >> 3) & 1)) AS s3,
        SUM(((v.section_bits >> 4) & 1)) AS s4,
        SUM(((v.section_bits >> 5) & 1)) AS s5,
        SUM(((v.section_bits >> 6) & 1)) AS s6,
        SUM(((v.section_bits >> 7) & 1)) AS s7,
        SUM(((v.section_bits >> 8) & 1)) AS s8,
        SUM(((v.section_bits >> 9) & 1)) AS s9,
        SUM(((v.section_bits >> 10) & 1)) AS s10,
        SUM(((v.section_bits >> 11) & 1)) AS s11,
        SUM(((v.section_bits >> 12) & 1)) AS s12,
        SUM(((v.section_bits >> 13) & 1)) AS s13,
        SUM(((v.section_bits >> 14) & 1)) AS s14,
        SUM((CASE WHEN (v.section_bits & 4681) <> 0 THEN 1 ELSE 0 END)) AS any0,
        SUM((CASE WHEN (v.section_bits & 9362) <> 0 THEN 1 ELSE 0 END)) AS any1,
        SUM((CASE WHEN (v.section_bits & 18724) <> 0 THEN 1 ELSE 0 END)) AS any2
      FROM visits v
      JOIN households h ON h.id = v.household_id
      JOIN units g ON g.id = h.grid_id
      JOIN (SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3) AS k
      ON length(g.path) >= 1 + (k.k + 1) * 37
      GROUP BY 1, 2) AS x
WHERE d.unit_id = x.unit_id AND d.day = x.day;

CREATE OR REPLACE FUNCTION visits_tally() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE households SET last_visit_on = NEW.visited_on
    WHERE id = NEW.household_id
      AND (last_visit_on IS NULL OR last_visit_on < NEW.visited_on);
    UPDATE members SET last_visit_on = NEW.visited_on
    WHERE id = NEW.member_id
      AND (last_visit_on IS NULL OR last_visit_on < NEW.visited_on);
    -- section_bits is set by visits_extract, before the insert.
    INSERT INTO visit_days (unit_id, day, visits, s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11, s12, s13, s14, any0, any1, any2)
    SELECT substr(g.path, 2 + k.k * 37, 36), NEW.visited_on, 1,
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
    FROM households h
    JOIN units g ON g.id = h.grid_id
    JOIN (SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3) AS k
      ON length(g.path) >= 1 + (k.k + 1) * 37
    WHERE h.id = NEW.household_id
    ON CONFLICT (unit_id, day) DO UPDATE SET visits = visit_days.visits + 1,
        s0 = visit_days.s0 + excluded.s0,
        s1 = visit_days.s1 + excluded.s1,
        s2 = visit_days.s2 + excluded.s2,
        s3 = visit_days.s3 + excluded.s3,
        s4 = visit_days.s4 + excluded.s4,
        s5 = visit_days.s5 + excluded.s5,
        s6 = visit_days.s6 + excluded.s6,
        s7 = visit_days.s7 + excluded.s7,
        s8 = visit_days.s8 + excluded.s8,
        s9 = visit_days.s9 + excluded.s9,
        s10 = visit_days.s10 + excluded.s10,
        s11 = visit_days.s11 + excluded.s11,
        s12 = visit_days.s12 + excluded.s12,
        s13 = visit_days.s13 + excluded.s13,
        s14 = visit_days.s14 + excluded.s14,
        any0 = visit_days.any0 + excluded.any0,
        any1 = visit_days.any1 + excluded.any1,
        any2 = visit_days.any2 + excluded.any2;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION households_move_tally() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE visit_days d SET visits = d.visits - x.visits,
        s0 = d.s0 - x.s0,
        s1 = d.s1 - x.s1,
        s2 = d.s2 - x.s2,
        s3 = d.s3 - x.s3,
        s4 = d.s4 - x.s4,
        s5 = d.s5 - x.s5,
        s6 = d.s6 - x.s6,
        s7 = d.s7 - x.s7,
        s8 = d.s8 - x.s8,
        s9 = d.s9 - x.s9,
        s10 = d.s10 - x.s10,
        s11 = d.s11 - x.s11,
        s12 = d.s12 - x.s12,
        s13 = d.s13 - x.s13,
        s14 = d.s14 - x.s14,
        any0 = d.any0 - x.any0,
        any1 = d.any1 - x.any1,
        any2 = d.any2 - x.any2
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
    WHERE d.day = x.day
      AND d.unit_id = ANY(ARRAY(
        SELECT substr(g.path, 2 + k.k * 37, 36) COLLATE "default"
        FROM units g
        JOIN (SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3) AS k
      ON length(g.path) >= 1 + (k.k + 1) * 37
        WHERE g.id = OLD.grid_id));
    INSERT INTO visit_days (unit_id, day, visits, s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11, s12, s13, s14, any0, any1, any2)
    SELECT substr(g.path, 2 + k.k * 37, 36), v.visited_on, COUNT(*),
        SUM(((v.section_bits >> 0) & 1)),
        SUM(((v.section_bits >> 1) & 1)),
        SUM(((v.section_bits >> 2) & 1)),
        SUM(((v.section_bits >> 3) & 1)),
        SUM(((v.section_bits >> 4) & 1)),
        SUM(((v.section_bits >> 5) & 1)),
        SUM(((v.section_bits >> 6) & 1)),
        SUM(((v.section_bits >> 7) & 1)),
        SUM(((v.section_bits >> 8) & 1)),
        SUM(((v.section_bits >> 9) & 1)),
        SUM(((v.section_bits >> 10) & 1)),
        SUM(((v.section_bits >> 11) & 1)),
        SUM(((v.section_bits >> 12) & 1)),
        SUM(((v.section_bits >> 13) & 1)),
        SUM(((v.section_bits >> 14) & 1)),
        SUM((CASE WHEN (v.section_bits & 4681) <> 0 THEN 1 ELSE 0 END)),
        SUM((CASE WHEN (v.section_bits & 9362) <> 0 THEN 1 ELSE 0 END)),
        SUM((CASE WHEN (v.section_bits & 18724) <> 0 THEN 1 ELSE 0 END))
    FROM visits v
    JOIN units g ON g.id = NEW.grid_id
    JOIN (SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3) AS k
      ON length(g.path) >= 1 + (k.k + 1) * 37
    WHERE v.household_id = NEW.id
    GROUP BY 1, 2
    ON CONFLICT (unit_id, day) DO UPDATE SET visits = visit_days.visits + excluded.visits,
        s0 = visit_days.s0 + excluded.s0,
        s1 = visit_days.s1 + excluded.s1,
        s2 = visit_days.s2 + excluded.s2,
        s3 = visit_days.s3 + excluded.s3,
        s4 = visit_days.s4 + excluded.s4,
        s5 = visit_days.s5 + excluded.s5,
        s6 = visit_days.s6 + excluded.s6,
        s7 = visit_days.s7 + excluded.s7,
        s8 = visit_days.s8 + excluded.s8,
        s9 = visit_days.s9 + excluded.s9,
        s10 = visit_days.s10 + excluded.s10,
        s11 = visit_days.s11 + excluded.s11,
        s12 = visit_days.s12 + excluded.s12,
        s13 = visit_days.s13 + excluded.s13,
        s14 = visit_days.s14 + excluded.s14,
        any0 = visit_days.any0 + excluded.any0,
        any1 = visit_days.any1 + excluded.any1,
        any2 = visit_days.any2 + excluded.any2;
    RETURN NULL;
END;
$$;

-- The rows of a household's old latest-visit day, looked up by their keys. In
-- migration 0003 the unit ids cut from `units.path` kept its "C" collation, which
-- the key of household_last_visits does not have, so the planner read every
-- unit's row of that day instead: the never-visited day '' has a row for every
-- unit, and each first visit of a household cost 4–7 ms on a county.
CREATE OR REPLACE FUNCTION households_last_visit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
    UPDATE household_last_visits SET households = household_last_visits.households - 1
    WHERE day = COALESCE(OLD.last_visit_on, '')
      AND unit_id = ANY(ARRAY(
        SELECT substr(g.path, 2 + k.k * 37, 36) COLLATE "default"
        FROM units g
        JOIN (SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3) AS k
      ON length(g.path) >= 1 + (k.k + 1) * 37
        WHERE g.id = OLD.grid_id));
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
    INSERT INTO household_last_visits (unit_id, day, households)
    SELECT substr(g.path, 2 + k.k * 37, 36), COALESCE(NEW.last_visit_on, ''), 1
    FROM units g
    JOIN (SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3) AS k
      ON length(g.path) >= 1 + (k.k + 1) * 37
    WHERE g.id = NEW.grid_id
    ON CONFLICT (unit_id, day) DO UPDATE SET households = household_last_visits.households + 1;
    END IF;
    RETURN NULL;
END;
$$;

-- Text search in the log: a GIN index on the distinct two-character pieces of
-- each visit's summary and notes. Chinese words are mostly two characters, which
-- trigram indexes cannot serve; the log asks for the pieces of the searched text
-- and still checks `LIKE`, so the index only narrows which visits are read.
CREATE FUNCTION daohu_bigrams(t TEXT) RETURNS TEXT[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT COALESCE(array_agg(DISTINCT substr(t, i, 2)), '{}')
    FROM generate_series(1, length(t) - 1) AS i
$$;
CREATE INDEX visits_search_bigrams ON visits USING gin (daohu_bigrams(search_text));

-- A dashboard of a past period reads that period's visits: which households and
-- which accounts. This index holds both, in date order, so the period is one
-- range read from the index alone (the household index, led by household_id,
-- was read whole: 590 ms of a county's 760 ms past month on PostgreSQL).
CREATE INDEX visits_day_household ON visits(visited_on, household_id, member_id);
