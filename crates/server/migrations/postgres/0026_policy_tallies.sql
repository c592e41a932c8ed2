-- 应享未享 and the applications in progress per unit (the grid and every unit
-- above it), policy field and application day, as on SQLite, so a county's
-- ledger panel and 应享未享 counts read a few hundred rows of its own instead
-- of every grid's (0017's `ledger_tallies`). Rows of changes like 0011's
-- (`fresh`, folded by store::upkeep::fold_tallies), so two uploads never wait
-- on one county's row. Checked against the rows by tests/ledger.rs.
CREATE TABLE policy_tallies (
    unit_id TEXT COLLATE "C" NOT NULL,
    state   TEXT COLLATE "C" NOT NULL,
    field   TEXT COLLATE "C" NOT NULL,
    -- An application's first day; '' for 应享未享.
    since   TEXT COLLATE "C" NOT NULL,
    n       BIGINT NOT NULL,
    fresh   BOOLEAN NOT NULL DEFAULT true
);
CREATE INDEX policy_tallies_key ON policy_tallies(unit_id, state, field, since);
CREATE INDEX policy_tallies_fresh ON policy_tallies(unit_id, state, field, since) WHERE fresh;

INSERT INTO policy_tallies (unit_id, state, field, since, n, fresh)
SELECT substr(t.unit_path, 2 + k * 37, 36), t.state, t.field, t.applying_since, SUM(t.n), false
FROM ledger_tallies t
CROSS JOIN generate_series(0, 3) AS k
WHERE length(t.unit_path) >= 1 + (k + 1) * 37
  AND t.field >= 'policy:' AND t.field < 'policy;' AND t.state IN ('entitled_not_receiving', 'applying')
GROUP BY 1, 2, 3, 4 HAVING SUM(t.n) <> 0;

-- One change of the counts: `n` (1 or -1) of a value at every unit of its
-- path, if it is a policy's 应享未享 or application (as SQLite's view does).
CREATE FUNCTION policy_change(path TEXT, f TEXT, st TEXT, since TEXT, n BIGINT) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF f >= 'policy:' AND f < 'policy;' AND st IN ('entitled_not_receiving', 'applying') THEN
        INSERT INTO policy_tallies (unit_id, state, field, since, n)
        SELECT substr(path, 2 + k * 37, 36), st, f, since, n
        FROM generate_series(0, 3) AS k
        WHERE length(path) >= 1 + (k + 1) * 37;
    END IF;
END;
$$;

CREATE FUNCTION policy_tallies_tally() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM policy_change(OLD.unit_path, OLD.field, OLD.state, COALESCE(OLD.applying_since, ''), -1);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM policy_change(NEW.unit_path, NEW.field, NEW.state, COALESCE(NEW.applying_since, ''), 1);
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER policy_tallies_tally AFTER INSERT OR DELETE ON ledger_current
    FOR EACH ROW EXECUTE FUNCTION policy_tallies_tally();
-- A change of state, of the application's day or of the household's grid.
CREATE TRIGGER policy_tallies_tally_update AFTER UPDATE ON ledger_current
    FOR EACH ROW
    WHEN (OLD.state IS DISTINCT FROM NEW.state OR OLD.applying_since IS DISTINCT FROM NEW.applying_since
          OR OLD.unit_path IS DISTINCT FROM NEW.unit_path OR OLD.field IS DISTINCT FROM NEW.field)
    EXECUTE FUNCTION policy_tallies_tally();
