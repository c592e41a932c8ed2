-- The dashboard's services-by-kind and unmatched-needs panels at county scale
-- (issue 17: every panel under 200 ms), as on SQLite: services per unit, day
-- and kind with the households whose latest service of the kind is that day;
-- each household's unmatched needs. `service_days` takes rows of changes like
-- 0011's (`fresh`, folded by store::upkeep::fold_tallies), so two uploads never
-- wait on one county's row of the day. Checked against the rows by tests/ledger.rs.

CREATE TABLE service_days (
    unit_id    TEXT NOT NULL,
    day        TEXT NOT NULL,
    kind       TEXT NOT NULL,
    services   BIGINT NOT NULL,
    households BIGINT NOT NULL,
    fresh      BOOLEAN NOT NULL DEFAULT true
);
CREATE INDEX service_days_key ON service_days(unit_id, day, kind);
CREATE INDEX service_days_fresh ON service_days(unit_id, day, kind) WHERE fresh;

-- Each household's latest day of each kind of service.
CREATE TABLE household_services (
    household_id TEXT NOT NULL,
    kind         TEXT NOT NULL,
    last_day     TEXT NOT NULL,
    PRIMARY KEY (household_id, kind)
);

INSERT INTO household_services (household_id, kind, last_day)
SELECT household_id, kind, MAX(visited_on) FROM visit_services GROUP BY household_id, kind;

INSERT INTO service_days (unit_id, day, kind, services, households, fresh)
SELECT substr(s.unit_path, 2 + k.k * 37, 36), s.visited_on, s.kind, COUNT(*), 0, false
FROM visit_services s
JOIN (SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3) AS k
  ON length(s.unit_path) >= 1 + (k.k + 1) * 37
GROUP BY 1, 2, 3;

-- A household's rows share its grid's path (a move moves them all).
INSERT INTO service_days (unit_id, day, kind, services, households, fresh)
SELECT substr(p.unit_path, 2 + k.k * 37, 36), hs.last_day, hs.kind, 0, COUNT(*), true
FROM household_services hs
JOIN (SELECT household_id, MAX(unit_path) AS unit_path FROM visit_services GROUP BY household_id) AS p
  ON p.household_id = hs.household_id
JOIN (SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3) AS k
  ON length(p.unit_path) >= 1 + (k.k + 1) * 37
GROUP BY 1, 2, 3;

-- The visit's household row is locked by visits_extract (0011) in the same
-- transaction, so two uploads never read one household's latest day at once.
CREATE FUNCTION visit_services_tally() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    last TEXT;
BEGIN
    SELECT last_day INTO last FROM household_services
    WHERE household_id = NEW.household_id AND kind = NEW.kind;
    INSERT INTO service_days (unit_id, day, kind, services, households)
    SELECT substr(NEW.unit_path, 2 + k * 37, 36), NEW.visited_on, NEW.kind, 1,
           CASE WHEN last IS NULL OR last < NEW.visited_on THEN 1 ELSE 0 END
    FROM generate_series(0, 3) AS k
    WHERE length(NEW.unit_path) >= 1 + (k + 1) * 37;
    IF last < NEW.visited_on THEN
        -- Its latest service of the kind moves on: it leaves the day it was on.
        INSERT INTO service_days (unit_id, day, kind, services, households)
        SELECT substr(NEW.unit_path, 2 + k * 37, 36), last, NEW.kind, 0, -1
        FROM generate_series(0, 3) AS k
        WHERE length(NEW.unit_path) >= 1 + (k + 1) * 37;
    END IF;
    INSERT INTO household_services (household_id, kind, last_day)
    VALUES (NEW.household_id, NEW.kind, NEW.visited_on)
    ON CONFLICT (household_id, kind) DO UPDATE SET last_day = EXCLUDED.last_day
    WHERE household_services.last_day < EXCLUDED.last_day;
    RETURN NULL;
END;
$$;
CREATE TRIGGER visit_services_tally AFTER INSERT ON visit_services
    FOR EACH ROW EXECUTE FUNCTION visit_services_tally();

CREATE INDEX visit_services_household ON visit_services(household_id);

-- A household moved to another grid takes its services with it, as its visits (0011).
CREATE FUNCTION households_move_services() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO service_days (unit_id, day, kind, services, households)
    SELECT u.unit_id, x.day, x.kind, u.sign * x.services,
           u.sign * (SELECT COUNT(*) FROM household_services hs
                     WHERE hs.household_id = NEW.id AND hs.kind = x.kind AND hs.last_day = x.day)
    FROM (SELECT visited_on AS day, kind, COUNT(*) AS services
          FROM visit_services WHERE household_id = NEW.id GROUP BY visited_on, kind) AS x
    CROSS JOIN (SELECT substr(g.path, 2 + k.k * 37, 36) AS unit_id,
                       SUM(CASE WHEN g.id = NEW.grid_id THEN 1 ELSE -1 END) AS sign
                FROM units g
                JOIN (SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3) AS k
                  ON length(g.path) >= 1 + (k.k + 1) * 37
                WHERE g.id IN (OLD.grid_id, NEW.grid_id)
                GROUP BY 1
                HAVING SUM(CASE WHEN g.id = NEW.grid_id THEN 1 ELSE -1 END) <> 0) AS u;
    RETURN NULL;
END;
$$;
CREATE TRIGGER households_move_services AFTER UPDATE OF grid_id ON households
    FOR EACH ROW WHEN (OLD.grid_id IS DISTINCT FROM NEW.grid_id)
    EXECUTE FUNCTION households_move_services();

-- Each household's needs not yet matched (技术、资金、销路、就业): recorded in
-- its `needs` (ledger_current), with no matchup, or a latest one that failed
-- (daohu_domain::livelihood::unmatched).
CREATE TABLE unmatched_needs (
    household_id TEXT NOT NULL,
    need         TEXT NOT NULL,
    unit_path    TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (household_id, need)
);
CREATE INDEX unmatched_needs_area ON unmatched_needs(unit_path, need);

CREATE TABLE need_words (need TEXT PRIMARY KEY);
INSERT INTO need_words (need) VALUES ('technique'), ('funds'), ('market'), ('jobs');

INSERT INTO unmatched_needs (household_id, need, unit_path)
SELECT lc.household_id, n.need, lc.unit_path
FROM ledger_current lc
JOIN need_words n ON (',' || lc.state || ',') LIKE ('%,' || n.need || ',%')
WHERE lc.field = 'needs'
  AND COALESCE((SELECT m.outcome FROM matchups m WHERE m.household_id = lc.household_id AND m.need = n.need
                ORDER BY m.n DESC LIMIT 1), 'failed') = 'failed';

-- A household's rows, made again from its current needs and latest matchups.
CREATE FUNCTION unmatched_needs_of(household TEXT) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM unmatched_needs WHERE household_id = household;
    INSERT INTO unmatched_needs (household_id, need, unit_path)
    SELECT lc.household_id, n.need, lc.unit_path
    FROM ledger_current lc
    JOIN need_words n ON (',' || lc.state || ',') LIKE ('%,' || n.need || ',%')
    WHERE lc.household_id = household AND lc.field = 'needs'
      AND COALESCE((SELECT m.outcome FROM matchups m WHERE m.household_id = household AND m.need = n.need
                    ORDER BY m.n DESC LIMIT 1), 'failed') = 'failed';
END;
$$;
CREATE FUNCTION ledger_current_needs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM unmatched_needs_of(OLD.household_id);
    ELSE
        PERFORM unmatched_needs_of(NEW.household_id);
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER ledger_current_needs AFTER INSERT ON ledger_current
    FOR EACH ROW WHEN (NEW.field = 'needs') EXECUTE FUNCTION ledger_current_needs();
CREATE TRIGGER ledger_current_needs_delete AFTER DELETE ON ledger_current
    FOR EACH ROW WHEN (OLD.field = 'needs') EXECUTE FUNCTION ledger_current_needs();
CREATE TRIGGER ledger_current_needs_update AFTER UPDATE ON ledger_current
    FOR EACH ROW
    WHEN (NEW.field = 'needs' AND (OLD.state IS DISTINCT FROM NEW.state OR OLD.unit_path IS DISTINCT FROM NEW.unit_path))
    EXECUTE FUNCTION ledger_current_needs();
CREATE FUNCTION matchups_unmatched() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM unmatched_needs_of(NEW.household_id);
    RETURN NULL;
END;
$$;
CREATE TRIGGER matchups_unmatched AFTER INSERT ON matchups
    FOR EACH ROW EXECUTE FUNCTION matchups_unmatched();
