-- The household ledger's counts per grid (issue 17: the county's 应享未享
-- counts and the dashboard's ledger panel under 200 ms). Counting a county's
-- ledger_current rows took about 200 ms for 350,000 gaps; summing one row per
-- grid, field, state (and application day) reads some 30,000. Kept by the
-- triggers below as each household's current values change, and when a
-- household moves to another grid (ledger_current.unit_path follows it, 0014).
-- SQLite's alone: its one writer keeps one row a key without waits. PostgreSQL
-- counts ledger_current itself (see docs/performance.md); its tallies would
-- need the append-and-fold rows of 0011 against concurrent uploads.
-- Checked against ledger_current by tests/ledger.rs.
CREATE TABLE ledger_tallies (
    state          TEXT NOT NULL,
    unit_path      TEXT NOT NULL,
    field          TEXT NOT NULL,
    -- An application's first day; '' for every other state.
    applying_since TEXT NOT NULL,
    n              INTEGER NOT NULL,
    PRIMARY KEY (state, unit_path, field, applying_since)
) WITHOUT ROWID;

INSERT INTO ledger_tallies (state, unit_path, field, applying_since, n)
SELECT state, unit_path, field, COALESCE(applying_since, ''), COUNT(*)
FROM ledger_current GROUP BY state, unit_path, field, COALESCE(applying_since, '');

CREATE TRIGGER ledger_current_tally_insert AFTER INSERT ON ledger_current
BEGIN
    INSERT INTO ledger_tallies (state, unit_path, field, applying_since, n)
    VALUES (NEW.state, NEW.unit_path, NEW.field, COALESCE(NEW.applying_since, ''), 1)
    ON CONFLICT (state, unit_path, field, applying_since) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER ledger_current_tally_update AFTER UPDATE ON ledger_current
WHEN OLD.state IS NOT NEW.state OR OLD.unit_path IS NOT NEW.unit_path
  OR OLD.field IS NOT NEW.field OR OLD.applying_since IS NOT NEW.applying_since
BEGIN
    UPDATE ledger_tallies SET n = n - 1
    WHERE state = OLD.state AND unit_path = OLD.unit_path AND field = OLD.field
      AND applying_since = COALESCE(OLD.applying_since, '');
    INSERT INTO ledger_tallies (state, unit_path, field, applying_since, n)
    VALUES (NEW.state, NEW.unit_path, NEW.field, COALESCE(NEW.applying_since, ''), 1)
    ON CONFLICT (state, unit_path, field, applying_since) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER ledger_current_tally_delete AFTER DELETE ON ledger_current
BEGIN
    UPDATE ledger_tallies SET n = n - 1
    WHERE state = OLD.state AND unit_path = OLD.unit_path AND field = OLD.field
      AND applying_since = COALESCE(OLD.applying_since, '');
END;
