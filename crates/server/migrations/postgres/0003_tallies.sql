-- Figures the dashboards and the visit log read at county scale, kept by triggers
-- so every way a visit is written (upload, file import, seed, benchmark) keeps them.
-- The same tables and rules as migrations/sqlite/0003_tallies.sql; checked against
-- the visits themselves by tests/tallies.rs.

ALTER TABLE households ADD COLUMN last_visit_on TEXT;
UPDATE households SET last_visit_on =
    (SELECT MAX(v.visited_on) FROM visits v WHERE v.household_id = households.id);
CREATE INDEX households_grid_last_visit ON households(grid_id, last_visit_on);
-- The same for each account's own latest visit: "members with no visit since D".
ALTER TABLE members ADD COLUMN last_visit_on TEXT;
UPDATE members SET last_visit_on =
    (SELECT MAX(v.visited_on) FROM visits v WHERE v.member_id = members.id);
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
    UPDATE members SET last_visit_on = NEW.visited_on
    WHERE id = NEW.member_id
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

-- What the log's filters read of each visit, taken from its JSON once, when the
-- visit is written, instead of from every visit's JSON at every search:
-- `section_bits` has bit 3 × section + state set for each section's state (in the
-- order of SectionKind::ALL and SectionState::ALL, as section_state_bits lists);
-- `search_text` is the summary and the section notes, one per line.
CREATE TABLE section_state_bits (
    kind  TEXT NOT NULL,
    state TEXT NOT NULL,
    bit   BIGINT NOT NULL,
    PRIMARY KEY (kind, state)
);
INSERT INTO section_state_bits (kind, state, bit) VALUES
    ('member_contact', 'done', 1),
    ('member_contact', 'not_applicable', 2),
    ('member_contact', 'next_time', 4),
    ('sentiment_visit', 'done', 8),
    ('sentiment_visit', 'not_applicable', 16),
    ('sentiment_visit', 'next_time', 32),
    ('policy_delivered', 'done', 64),
    ('policy_delivered', 'not_applicable', 128),
    ('policy_delivered', 'next_time', 256),
    ('industry_matchup', 'done', 512),
    ('industry_matchup', 'not_applicable', 1024),
    ('industry_matchup', 'next_time', 2048),
    ('precise_service', 'done', 4096),
    ('precise_service', 'not_applicable', 8192),
    ('precise_service', 'next_time', 16384);
ALTER TABLE visits ADD COLUMN section_bits BIGINT NOT NULL DEFAULT 0;
ALTER TABLE visits ADD COLUMN search_text TEXT NOT NULL DEFAULT '';

CREATE FUNCTION daohu_section_bits(body TEXT) RETURNS BIGINT LANGUAGE sql STABLE AS $$
    SELECT CAST(COALESCE(SUM(DISTINCT b.bit), 0) AS BIGINT)
    FROM json_array_elements(CAST(body AS json) -> 'sections') s
    JOIN section_state_bits b ON b.kind = s.value ->> 'kind' AND b.state = s.value ->> 'state'
$$;
CREATE FUNCTION daohu_search_text(body TEXT) RETURNS TEXT LANGUAGE sql IMMUTABLE AS $$
    SELECT COALESCE(CAST(body AS json) ->> 'summary', '') || chr(10) ||
           COALESCE((SELECT string_agg(s.value ->> 'notes', chr(10))
                     FROM json_array_elements(CAST(body AS json) -> 'sections') s), '')
$$;
-- Before the insert, so the row is written once. A body that is not JSON is left
-- to the CHECK on `body`, which refuses it as before.
CREATE FUNCTION visits_extract() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF daohu_json_valid(NEW.body) THEN
        NEW.section_bits := daohu_section_bits(NEW.body);
        NEW.search_text := daohu_search_text(NEW.body);
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER visits_extract BEFORE INSERT ON visits
    FOR EACH ROW EXECUTE FUNCTION visits_extract();

UPDATE visits SET section_bits = daohu_section_bits(body), search_text = daohu_search_text(body);

-- Households per unit (the unit and every unit above it) by the day of their
-- latest visit ('' for never visited): "households under the unit" and "visited
-- since D" for any unit are a sum over at most one row a day, not a pass over
-- its households. Kept by triggers on households, which the visits trigger
-- above sets off whenever a household's latest visit moves on.
CREATE TABLE household_last_visits (
    unit_id    TEXT NOT NULL REFERENCES units(id),
    day        TEXT NOT NULL,
    households BIGINT NOT NULL,
    PRIMARY KEY (unit_id, day)
);

INSERT INTO household_last_visits (unit_id, day, households)
SELECT substr(g.path, 2 + k.k * 37, 36), COALESCE(h.last_visit_on, ''), COUNT(*)
FROM households h
JOIN units g ON g.id = h.grid_id
JOIN (SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3) AS k
  ON length(g.path) >= 1 + (k.k + 1) * 37
GROUP BY 1, 2;

CREATE FUNCTION households_last_visit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
    UPDATE household_last_visits SET households = household_last_visits.households - 1
    WHERE day = COALESCE(OLD.last_visit_on, '')
      AND unit_id IN (
        SELECT substr(g.path, 2 + k.k * 37, 36)
        FROM units g
        JOIN (SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3) AS k
          ON length(g.path) >= 1 + (k.k + 1) * 37
        WHERE g.id = OLD.grid_id);
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
CREATE TRIGGER households_last_visit_added AFTER INSERT ON households
    FOR EACH ROW EXECUTE FUNCTION households_last_visit();
CREATE TRIGGER households_last_visit_changed AFTER UPDATE OF grid_id, last_visit_on ON households
    FOR EACH ROW WHEN (OLD.grid_id IS DISTINCT FROM NEW.grid_id
                       OR OLD.last_visit_on IS DISTINCT FROM NEW.last_visit_on)
    EXECUTE FUNCTION households_last_visit();
CREATE TRIGGER households_last_visit_removed AFTER DELETE ON households
    FOR EACH ROW EXECUTE FUNCTION households_last_visit();
