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
    -- By the household alone (0023's needs_now), not also by the field.
    NEW.day := china_day((needs_now(NEW.household_id)).effective_at);
    RETURN NEW;
END;
$$;
CREATE TRIGGER unmatched_needs_day BEFORE INSERT ON unmatched_needs
    FOR EACH ROW EXECUTE FUNCTION unmatched_needs_day();
