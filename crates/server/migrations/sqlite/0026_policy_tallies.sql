-- 应享未享 and the applications in progress per unit (the grid and every unit
-- above it, cut from the path as in 0024), policy field and application day,
-- so a county's ledger panel and 应享未享 counts read a few hundred rows of its
-- own instead of every grid's (0017's `ledger_tallies`: 74,000 rows of
-- applications and 29,000 of 应享未享 for a county, 63 ms of its dashboard).
-- Kept by the triggers below as ledger_current changes (a household's move
-- updates its unit_path: 0014); checked against the rows by tests/ledger.rs.
CREATE TABLE policy_tallies (
    unit_id TEXT NOT NULL,
    state   TEXT NOT NULL,
    field   TEXT NOT NULL,
    -- An application's first day; '' for 应享未享.
    since   TEXT NOT NULL,
    n       BIGINT NOT NULL,
    PRIMARY KEY (unit_id, state, field, since)
) WITHOUT ROWID;

INSERT INTO policy_tallies (unit_id, state, field, since, n)
SELECT substr(t.unit_path, 2 + k.k * 37, 36), t.state, t.field, t.applying_since, SUM(t.n)
FROM ledger_tallies t
JOIN (SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3) AS k
  ON length(t.unit_path) >= 1 + (k.k + 1) * 37
WHERE t.field >= 'policy:' AND t.field < 'policy;' AND t.state IN ('entitled_not_receiving', 'applying')
GROUP BY 1, 2, 3, 4 HAVING SUM(t.n) <> 0;

-- One change of the counts: `n` (1 or -1) of a value at every unit of its
-- path, if it is a policy's 应享未享 or application (written once, as 0024's).
CREATE VIEW policy_change AS
SELECT '' AS unit_path, '' AS field, '' AS state, '' AS since, 0 AS n WHERE 0;
CREATE TRIGGER policy_change INSTEAD OF INSERT ON policy_change
WHEN NEW.field >= 'policy:' AND NEW.field < 'policy;' AND NEW.state IN ('entitled_not_receiving', 'applying')
BEGIN
    INSERT INTO policy_tallies (unit_id, state, field, since, n)
    SELECT substr(NEW.unit_path, 2 + k.k * 37, 36), NEW.state, NEW.field, NEW.since, NEW.n
    FROM (SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3) AS k
    WHERE length(NEW.unit_path) >= 1 + (k.k + 1) * 37
    ON CONFLICT (unit_id, state, field, since) DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER policy_tallies_added AFTER INSERT ON ledger_current
BEGIN
    INSERT INTO policy_change VALUES (NEW.unit_path, NEW.field, NEW.state, COALESCE(NEW.applying_since, ''), 1);
END;
CREATE TRIGGER policy_tallies_removed AFTER DELETE ON ledger_current
BEGIN
    INSERT INTO policy_change VALUES (OLD.unit_path, OLD.field, OLD.state, COALESCE(OLD.applying_since, ''), -1);
END;
-- A change of state, of the application's day or of the household's grid.
CREATE TRIGGER policy_tallies_changed AFTER UPDATE ON ledger_current
WHEN OLD.state IS NOT NEW.state OR OLD.applying_since IS NOT NEW.applying_since
  OR OLD.unit_path IS NOT NEW.unit_path OR OLD.field IS NOT NEW.field
BEGIN
    INSERT INTO policy_change VALUES (OLD.unit_path, OLD.field, OLD.state, COALESCE(OLD.applying_since, ''), -1);
    INSERT INTO policy_change VALUES (NEW.unit_path, NEW.field, NEW.state, COALESCE(NEW.applying_since, ''), 1);
END;
