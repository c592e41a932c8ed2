-- Each visit carries its household's grid path (`unit_path`, kept by triggers:
-- at insert and when the household moves), so a visit's units are read from the
-- visit itself, without joining households and units. Two readers:
-- * a dashboard of a past period counts the households visited per child unit from
--   one index range, `visits_day_unit`, with no join;
-- * the visit log's text search looks everything up in one GIN index of
--   `daohu_search_keys`: the text's two- and three-character pieces, the visit's
--   units ('@' id), household ('%' id) and account ('$' id), and its month ('#YYYY-MM')
--   and year ('#YYYY'). A search in a township for a word is then one index scan
--   whose keys are all exact (no visit row read to count it), and a page newest
--   first asks for the latest months first instead of sorting every match.
-- The same column and index on SQLite (migrations/sqlite/0005_search_keys.sql);
-- the key index is PostgreSQL's alone. tests/reports.rs checks `unit_path`
-- against the households after moves.

-- The indexes this replaces go first, so the back-fill does not keep them up.
DROP INDEX visits_day_household;
DROP INDEX visits_search_bigrams;
ALTER TABLE visits ADD COLUMN unit_path TEXT COLLATE "C" NOT NULL DEFAULT '';
UPDATE visits v SET unit_path = g.path
FROM households h JOIN units g ON g.id = h.grid_id
WHERE h.id = v.household_id;

CREATE OR REPLACE FUNCTION visits_extract() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF daohu_json_valid(NEW.body) THEN
        NEW.section_bits := daohu_section_bits(NEW.body);
        NEW.search_text := daohu_search_text(NEW.body);
    END IF;
    NEW.unit_path := COALESCE((SELECT g.path FROM households h JOIN units g ON g.id = h.grid_id
                               WHERE h.id = NEW.household_id), '');
    RETURN NEW;
END;
$$;

-- A household moved to another grid takes its visits along (units never move).
CREATE FUNCTION households_move_visits() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE visits SET unit_path = (SELECT path FROM units WHERE id = NEW.grid_id)
    WHERE household_id = NEW.id;
    RETURN NULL;
END;
$$;
CREATE TRIGGER households_move_visits AFTER UPDATE OF grid_id ON households
    FOR EACH ROW WHEN (OLD.grid_id <> NEW.grid_id) EXECUTE FUNCTION households_move_visits();

-- The period's visits with their units, for a past period's coverage (replaces
-- 0004's (visited_on, household_id, member_id), which needed a join per visit).
CREATE INDEX visits_day_unit ON visits(visited_on, unit_path, household_id, member_id);

-- The keys of one visit. IMMUTABLE: a function of the row's own columns.
CREATE FUNCTION daohu_search_keys(t TEXT, unit_path TEXT, day TEXT, household TEXT, member TEXT)
RETURNS TEXT[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ARRAY(
        SELECT DISTINCT substr(t, i, n)
        FROM generate_series(1, length(t) - 1) AS i, (VALUES (2), (3)) AS k(n)
        WHERE i + n - 1 <= length(t)
    ) || ARRAY(
        SELECT '@' || u FROM unnest(string_to_array(trim(BOTH '/' FROM unit_path), '/')) AS u
        WHERE u <> ''
    ) || ARRAY['#' || substr(day, 1, 7), '#' || substr(day, 1, 4), '%' || household, '$' || member]
$$;
-- Replaces 0004's index of the text's pieces alone (dropped above).
CREATE INDEX visits_search_keys ON visits
    USING gin (daohu_search_keys(search_text, unit_path, visited_on, household_id, member_id));

-- The households and accounts a search names, by the two-character pieces of
-- their names and doorplates (0004's daohu_bigrams): a pass over every
-- household took 30–45 ms of each search at county size.
CREATE INDEX households_name_bigrams ON households
    USING gin (daohu_bigrams(head_name || chr(10) || address));
CREATE INDEX members_name_bigrams ON members USING gin (daohu_bigrams(name));
