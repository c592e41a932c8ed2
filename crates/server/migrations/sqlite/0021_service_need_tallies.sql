-- The dashboard's services-by-kind and unmatched-needs panels at county scale
-- (issue 17: every panel under 200 ms). Reading a county's year of
-- visit_services (196,000 rows, households counted distinct) took 239 ms, and
-- weighing every household's needs against its latest matchups 290 ms. Kept by
-- triggers, so every way a service, a need or a matchup is written keeps them;
-- checked against the rows by tests/ledger.rs.

-- Services per unit (the grid and every unit above it, cut from the path as
-- in 0003), day and kind. `households`: those whose latest service of the kind
-- is on that day, so "households given one from D" is a sum whenever no
-- service of the unit is dated after the period (else the rows are read).
CREATE TABLE service_days (
    unit_id    TEXT NOT NULL,
    day        TEXT NOT NULL,
    kind       TEXT NOT NULL,
    services   BIGINT NOT NULL,
    households BIGINT NOT NULL,
    PRIMARY KEY (unit_id, day, kind)
) WITHOUT ROWID;

-- Each household's latest day of each kind of service.
CREATE TABLE household_services (
    household_id TEXT NOT NULL,
    kind         TEXT NOT NULL,
    last_day     TEXT NOT NULL,
    PRIMARY KEY (household_id, kind)
) WITHOUT ROWID;

INSERT INTO household_services (household_id, kind, last_day)
SELECT household_id, kind, MAX(visited_on) FROM visit_services GROUP BY household_id, kind;

INSERT INTO service_days (unit_id, day, kind, services, households)
SELECT substr(s.unit_path, 2 + k.k * 37, 36), s.visited_on, s.kind, COUNT(*), 0
FROM visit_services s
JOIN (SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3) AS k
  ON length(s.unit_path) >= 1 + (k.k + 1) * 37
GROUP BY 1, 2, 3;

-- A household's rows share its grid's path (a move moves them all).
INSERT INTO service_days (unit_id, day, kind, services, households)
SELECT substr(p.unit_path, 2 + k.k * 37, 36), hs.last_day, hs.kind, 0, COUNT(*)
FROM household_services hs
JOIN (SELECT household_id, MAX(unit_path) AS unit_path FROM visit_services GROUP BY household_id) AS p
  ON p.household_id = hs.household_id
JOIN (SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3) AS k
  ON length(p.unit_path) >= 1 + (k.k + 1) * 37
WHERE true
GROUP BY 1, 2, 3
ON CONFLICT (unit_id, day, kind) DO UPDATE SET households = excluded.households;

CREATE TRIGGER visit_services_tally AFTER INSERT ON visit_services
BEGIN
    -- The household's latest service of the kind moves on to this day: it
    -- leaves the day it was on.
    UPDATE service_days SET households = households - 1
    WHERE kind = NEW.kind
      AND day = (SELECT last_day FROM household_services
                 WHERE household_id = NEW.household_id AND kind = NEW.kind AND last_day < NEW.visited_on)
      AND unit_id IN (SELECT substr(NEW.unit_path, 2 + k.k * 37, 36)
                      FROM (SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3) AS k
                      WHERE length(NEW.unit_path) >= 1 + (k.k + 1) * 37);
    INSERT INTO service_days (unit_id, day, kind, services, households)
    SELECT substr(NEW.unit_path, 2 + k.k * 37, 36), NEW.visited_on, NEW.kind, 1,
           NOT EXISTS (SELECT 1 FROM household_services
                       WHERE household_id = NEW.household_id AND kind = NEW.kind AND last_day >= NEW.visited_on)
    FROM (SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3) AS k
    WHERE length(NEW.unit_path) >= 1 + (k.k + 1) * 37
    ON CONFLICT (unit_id, day, kind) DO UPDATE SET
        services = services + 1, households = households + excluded.households;
    INSERT INTO household_services (household_id, kind, last_day)
    VALUES (NEW.household_id, NEW.kind, NEW.visited_on)
    ON CONFLICT (household_id, kind) DO UPDATE SET last_day = excluded.last_day
    WHERE excluded.last_day > household_services.last_day;
END;

-- A household moved to another grid takes its services with it, as its visits (0003).
CREATE TRIGGER households_move_services AFTER UPDATE OF grid_id ON households
WHEN OLD.grid_id <> NEW.grid_id
BEGIN
    UPDATE service_days SET
        services = services - (SELECT COUNT(*) FROM visit_services s
                               WHERE s.household_id = NEW.id AND s.visited_on = service_days.day AND s.kind = service_days.kind),
        households = households - (SELECT COUNT(*) FROM household_services hs
                                   WHERE hs.household_id = NEW.id AND hs.kind = service_days.kind AND hs.last_day = service_days.day)
    WHERE (day, kind) IN (SELECT visited_on, kind FROM visit_services WHERE household_id = NEW.id)
      AND unit_id IN (
        SELECT substr(g.path, 2 + k.k * 37, 36)
        FROM units g
        JOIN (SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3) AS k
          ON length(g.path) >= 1 + (k.k + 1) * 37
        WHERE g.id = OLD.grid_id);
    INSERT INTO service_days (unit_id, day, kind, services, households)
    SELECT substr(g.path, 2 + k.k * 37, 36), s.visited_on, s.kind, COUNT(*),
           (SELECT COUNT(*) FROM household_services hs
            WHERE hs.household_id = NEW.id AND hs.kind = s.kind AND hs.last_day = s.visited_on)
    FROM visit_services s
    JOIN units g ON g.id = NEW.grid_id
    JOIN (SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3) AS k
      ON length(g.path) >= 1 + (k.k + 1) * 37
    WHERE s.household_id = NEW.id
    GROUP BY 1, 2, 3
    ON CONFLICT (unit_id, day, kind) DO UPDATE SET
        services = services + excluded.services, households = households + excluded.households;
END;
CREATE INDEX visit_services_household ON visit_services(household_id);

-- Each household's needs not yet matched (技术、资金、销路、就业): recorded in
-- its `needs` (ledger_current), with no matchup, or a latest one that failed
-- (daohu_domain::livelihood::unmatched). A need's row goes when a matchup
-- under way or succeeded comes, or the need is no longer recorded.
CREATE TABLE unmatched_needs (
    household_id TEXT NOT NULL,
    need         TEXT NOT NULL,
    unit_path    TEXT NOT NULL,
    PRIMARY KEY (household_id, need)
) WITHOUT ROWID;
CREATE INDEX unmatched_needs_area ON unmatched_needs(unit_path, need);

CREATE TABLE need_words (need TEXT PRIMARY KEY NOT NULL) WITHOUT ROWID;
INSERT INTO need_words (need) VALUES ('technique'), ('funds'), ('market'), ('jobs');

INSERT INTO unmatched_needs (household_id, need, unit_path)
SELECT lc.household_id, n.need, lc.unit_path
FROM ledger_current lc
JOIN need_words n ON (',' || lc.state || ',') LIKE ('%,' || n.need || ',%')
WHERE lc.field = 'needs'
  AND COALESCE((SELECT m.outcome FROM matchups m WHERE m.household_id = lc.household_id AND m.need = n.need
                ORDER BY m.n DESC LIMIT 1), 'failed') = 'failed';

CREATE TRIGGER ledger_current_needs_added AFTER INSERT ON ledger_current
WHEN NEW.field = 'needs'
BEGIN
    INSERT INTO unmatched_needs (household_id, need, unit_path)
    SELECT NEW.household_id, n.need, NEW.unit_path
    FROM need_words n
    WHERE (',' || NEW.state || ',') LIKE ('%,' || n.need || ',%')
      AND COALESCE((SELECT m.outcome FROM matchups m WHERE m.household_id = NEW.household_id AND m.need = n.need
                    ORDER BY m.n DESC LIMIT 1), 'failed') = 'failed';
END;
CREATE TRIGGER ledger_current_needs_changed AFTER UPDATE ON ledger_current
WHEN NEW.field = 'needs' AND (OLD.state IS NOT NEW.state OR OLD.unit_path IS NOT NEW.unit_path)
BEGIN
    DELETE FROM unmatched_needs WHERE household_id = NEW.household_id;
    INSERT INTO unmatched_needs (household_id, need, unit_path)
    SELECT NEW.household_id, n.need, NEW.unit_path
    FROM need_words n
    WHERE (',' || NEW.state || ',') LIKE ('%,' || n.need || ',%')
      AND COALESCE((SELECT m.outcome FROM matchups m WHERE m.household_id = NEW.household_id AND m.need = n.need
                    ORDER BY m.n DESC LIMIT 1), 'failed') = 'failed';
END;
CREATE TRIGGER ledger_current_needs_removed AFTER DELETE ON ledger_current
WHEN OLD.field = 'needs'
BEGIN
    DELETE FROM unmatched_needs WHERE household_id = OLD.household_id;
END;
CREATE TRIGGER matchups_unmatched AFTER INSERT ON matchups
BEGIN
    DELETE FROM unmatched_needs WHERE household_id = NEW.household_id AND need = NEW.need;
    INSERT INTO unmatched_needs (household_id, need, unit_path)
    SELECT lc.household_id, NEW.need, lc.unit_path
    FROM ledger_current lc
    WHERE lc.household_id = NEW.household_id AND lc.field = 'needs'
      AND (',' || lc.state || ',') LIKE ('%,' || NEW.need || ',%')
      AND (SELECT m.outcome FROM matchups m WHERE m.household_id = NEW.household_id AND m.need = NEW.need
           ORDER BY m.n DESC LIMIT 1) = 'failed';
END;
