-- The household ledger's needs and the dashboard's counts by period (issue
-- 17), as they were written in 0023 and 0024 before those releases' texts
-- were restored: a release ran 0023 as a rewrite of the needs trigger and
-- 0024 as one index (`ledger_current_recorded`), and a migration that ran is
-- never changed. The index is read by nothing now (`ledger_days` below counts
-- the period): it goes.
DROP INDEX IF EXISTS ledger_current_recorded;

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

-- The dashboard's panels for a period (issue 17: every panel filters by area
-- and period), as on SQLite: beside the unsafe housing and water, 应享未享 and
-- the unmatched needs as they stand now, how many of those were recorded in
-- the period (the current value's change dated in it, by China's days).

-- China's day of a stored server time ('…Z').
CREATE FUNCTION china_day(t TEXT) RETURNS TEXT LANGUAGE sql STABLE AS $$
    SELECT to_char((CAST(t AS timestamptz) AT TIME ZONE 'UTC') + interval '8 hours', 'YYYY-MM-DD')
$$;

-- Whether a value is counted per day.
CREATE FUNCTION ledger_day_counted(field TEXT, state TEXT) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT (field = 'housing' AND state IN ('needs_repair', 'dangerous'))
        OR (field = 'water' AND state IN ('unsafe', 'seasonal_shortage'))
        OR (field >= 'policy:' AND field < 'policy;' AND state = 'entitled_not_receiving')
$$;

-- The counted values per unit (the grid and every unit above it), day, field
-- and state. Rows of changes like 0011's (`fresh`, folded by
-- store::upkeep::fold_tallies), so two uploads never wait on one county's row
-- of the day. Checked against the rows by tests/ledger.rs.
CREATE TABLE ledger_days (
    unit_id TEXT NOT NULL,
    day     TEXT NOT NULL,
    field   TEXT NOT NULL,
    state   TEXT NOT NULL,
    n       BIGINT NOT NULL,
    fresh   BOOLEAN NOT NULL DEFAULT true
);
CREATE INDEX ledger_days_key ON ledger_days(unit_id, day, field, state);
CREATE INDEX ledger_days_fresh ON ledger_days(unit_id, day, field, state) WHERE fresh;

INSERT INTO ledger_days (unit_id, day, field, state, n, fresh)
SELECT substr(lc.unit_path, 2 + k * 37, 36), china_day(lc.effective_at), lc.field, lc.state, COUNT(*), false
FROM ledger_current lc
CROSS JOIN generate_series(0, 3) AS k
WHERE length(lc.unit_path) >= 1 + (k + 1) * 37 AND ledger_day_counted(lc.field, lc.state)
GROUP BY 1, 2, 3, 4;

-- One change of the counts: `n` (1 or -1) of a value at every unit of its
-- path, if the value is one that is counted (as SQLite's view does).
CREATE FUNCTION ledger_day_change(path TEXT, at TEXT, f TEXT, st TEXT, n BIGINT) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF ledger_day_counted(f, st) THEN
        INSERT INTO ledger_days (unit_id, day, field, state, n)
        SELECT substr(path, 2 + k * 37, 36), china_day(at), f, st, n
        FROM generate_series(0, 3) AS k
        WHERE length(path) >= 1 + (k + 1) * 37;
    END IF;
END;
$$;

CREATE FUNCTION ledger_days_tally() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM ledger_day_change(OLD.unit_path, OLD.effective_at, OLD.field, OLD.state, -1);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM ledger_day_change(NEW.unit_path, NEW.effective_at, NEW.field, NEW.state, 1);
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER ledger_days_tally AFTER INSERT OR DELETE ON ledger_current
    FOR EACH ROW EXECUTE FUNCTION ledger_days_tally();
-- A change of value, of its time or of the household's grid (0014's move).
CREATE TRIGGER ledger_days_tally_update AFTER UPDATE ON ledger_current
    FOR EACH ROW
    WHEN (OLD.state IS DISTINCT FROM NEW.state OR OLD.effective_at IS DISTINCT FROM NEW.effective_at
          OR OLD.unit_path IS DISTINCT FROM NEW.unit_path)
    EXECUTE FUNCTION ledger_days_tally();

-- Each unmatched need (0021) carries China's day its household's needs were
-- recorded, set as its row is made, so an area's unmatched needs, now and of
-- a period, are counted in one range of the index by place.
ALTER TABLE unmatched_needs ADD COLUMN day TEXT;
UPDATE unmatched_needs un SET day = china_day(lc.effective_at)
FROM ledger_current lc WHERE lc.household_id = un.household_id AND lc.field = 'needs';
CREATE INDEX unmatched_needs_place_day ON unmatched_needs(unit_path, need, day);
CREATE FUNCTION unmatched_needs_day() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- By the household alone (needs_now, above), not also by the field.
    NEW.day := china_day((needs_now(NEW.household_id)).effective_at);
    RETURN NEW;
END;
$$;
CREATE TRIGGER unmatched_needs_day BEFORE INSERT ON unmatched_needs
    FOR EACH ROW EXECUTE FUNCTION unmatched_needs_day();
