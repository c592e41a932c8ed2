-- 0021's unmatched_needs_of made a household's unmatched needs again by asking
-- ledger_current for the household's row by its household and its field. After a bulk write of needs values (a roster
-- import, the generator's whole county) the planner's statistics, older than
-- those rows, took the index on fields as the better one and read every
-- household's needs value for each household: a whole county's needs took
-- over ten minutes and was stopped, and its matchups as long again. Here the
-- row is found by its household alone (the primary key is the only index that
-- starts with it), or taken from the trigger's own row.

-- A household's current needs value, or none.
CREATE FUNCTION needs_now(household TEXT) RETURNS ledger_current LANGUAGE plpgsql STABLE AS $$
DECLARE
    r ledger_current;
BEGIN
    FOR r IN SELECT * FROM ledger_current WHERE household_id = household LOOP
        IF r.field = 'needs' THEN
            RETURN r;
        END IF;
    END LOOP;
    RETURN NULL;
END;
$$;

-- A household's rows made again from its needs words and where it is: each
-- need recorded with no matchup, or a latest one that failed (the view's rule
-- for one household).
CREATE FUNCTION unmatched_needs_make(household TEXT, needs TEXT, path TEXT) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM unmatched_needs WHERE household_id = household;
    INSERT INTO unmatched_needs (household_id, need, unit_path)
    SELECT household, n.need, path
    FROM need_words n
    WHERE (',' || needs || ',') LIKE ('%,' || n.need || ',%')
      AND COALESCE((SELECT m.outcome FROM matchups m WHERE m.household_id = household AND m.need = n.need
                    ORDER BY m.n DESC LIMIT 1), 'failed') = 'failed';
END;
$$;

-- A matchup's trigger (0021) calls this.
CREATE OR REPLACE FUNCTION unmatched_needs_of(household TEXT) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    cur ledger_current := needs_now(household);
BEGIN
    IF cur.household_id IS NULL THEN
        DELETE FROM unmatched_needs WHERE household_id = household;
    ELSE
        PERFORM unmatched_needs_make(household, cur.state, cur.unit_path);
    END IF;
END;
$$;

CREATE OR REPLACE FUNCTION ledger_current_needs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        DELETE FROM unmatched_needs WHERE household_id = OLD.household_id;
    ELSE
        PERFORM unmatched_needs_make(NEW.household_id, NEW.state, NEW.unit_path);
    END IF;
    RETURN NULL;
END;
$$;
