-- The dashboard's panels for a period (issue 17: every panel filters by area
-- and period): beside the unsafe housing and water, 应享未享 and the unmatched
-- needs as they stand now, how many of those were recorded in the period (the
-- current value's change dated in it, by China's days). Counting a county's
-- 300,000 such values row by row took half a second, so:

-- The counted values per unit (the grid and every unit above it, cut from the
-- path as in 0003 and 0021), China's day of their change, field and state.
-- Kept by the triggers below as ledger_current changes (a household's move
-- updates its unit_path: 0014), checked against the rows by tests/ledger.rs.
CREATE TABLE ledger_days (
    unit_id TEXT NOT NULL,
    day     TEXT NOT NULL,
    field   TEXT NOT NULL,
    state   TEXT NOT NULL,
    n       BIGINT NOT NULL,
    PRIMARY KEY (unit_id, day, field, state)
) WITHOUT ROWID;

INSERT INTO ledger_days (unit_id, day, field, state, n)
SELECT substr(lc.unit_path, 2 + k.k * 37, 36), date(lc.effective_at, '+8 hours'), lc.field, lc.state, COUNT(*)
FROM ledger_current lc
JOIN (SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3) AS k
  ON length(lc.unit_path) >= 1 + (k.k + 1) * 37
WHERE (lc.field = 'housing' AND lc.state IN ('needs_repair', 'dangerous'))
   OR (lc.field = 'water' AND lc.state IN ('unsafe', 'seasonal_shortage'))
   OR (lc.field >= 'policy:' AND lc.field < 'policy;' AND lc.state = 'entitled_not_receiving')
GROUP BY 1, 2, 3, 4;

-- One change of the counts: `n` (1 or -1) of a value at every unit of its
-- path, if the value is one that is counted. The triggers below write it here
-- (a view that holds nothing), so the cutting and counting is written once.
CREATE VIEW ledger_day_change AS
SELECT '' AS unit_path, '' AS effective_at, '' AS field, '' AS state, 0 AS n WHERE 0;
CREATE TRIGGER ledger_day_change INSTEAD OF INSERT ON ledger_day_change
WHEN (NEW.field = 'housing' AND NEW.state IN ('needs_repair', 'dangerous'))
  OR (NEW.field = 'water' AND NEW.state IN ('unsafe', 'seasonal_shortage'))
  OR (NEW.field >= 'policy:' AND NEW.field < 'policy;' AND NEW.state = 'entitled_not_receiving')
BEGIN
    INSERT INTO ledger_days (unit_id, day, field, state, n)
    SELECT substr(NEW.unit_path, 2 + k.k * 37, 36), date(NEW.effective_at, '+8 hours'), NEW.field, NEW.state, NEW.n
    FROM (SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3) AS k
    WHERE length(NEW.unit_path) >= 1 + (k.k + 1) * 37
    ON CONFLICT (unit_id, day, field, state) DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER ledger_days_added AFTER INSERT ON ledger_current
BEGIN
    INSERT INTO ledger_day_change VALUES (NEW.unit_path, NEW.effective_at, NEW.field, NEW.state, 1);
END;
CREATE TRIGGER ledger_days_removed AFTER DELETE ON ledger_current
BEGIN
    INSERT INTO ledger_day_change VALUES (OLD.unit_path, OLD.effective_at, OLD.field, OLD.state, -1);
END;
-- A change of value, of its time or of the household's grid (0014's move):
-- out of the old row's counts, into the new one's.
CREATE TRIGGER ledger_days_changed AFTER UPDATE ON ledger_current
WHEN OLD.state IS NOT NEW.state OR OLD.effective_at IS NOT NEW.effective_at OR OLD.unit_path IS NOT NEW.unit_path
BEGIN
    INSERT INTO ledger_day_change VALUES (OLD.unit_path, OLD.effective_at, OLD.field, OLD.state, -1);
    INSERT INTO ledger_day_change VALUES (NEW.unit_path, NEW.effective_at, NEW.field, NEW.state, 1);
END;

-- Each unmatched need (0021) carries China's day its household's needs were
-- recorded, set as its row is made (by 0021's triggers or a matchup's), so an
-- area's unmatched needs, now and of a period, are counted in one range of the
-- index by place: at most the county's 67,000 such rows, not its 245,000
-- needs values joined to them.
ALTER TABLE unmatched_needs ADD COLUMN day TEXT;
UPDATE unmatched_needs SET day = (SELECT date(lc.effective_at, '+8 hours') FROM ledger_current lc
                                  WHERE lc.household_id = unmatched_needs.household_id AND lc.field = 'needs');
CREATE INDEX unmatched_needs_place_day ON unmatched_needs(unit_path, need, day);
CREATE TRIGGER unmatched_needs_day AFTER INSERT ON unmatched_needs
BEGIN
    UPDATE unmatched_needs
    SET day = (SELECT date(lc.effective_at, '+8 hours') FROM ledger_current lc
               WHERE lc.household_id = NEW.household_id AND lc.field = 'needs')
    WHERE household_id = NEW.household_id AND need = NEW.need;
END;
