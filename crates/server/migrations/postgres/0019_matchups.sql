-- 产业对接 (issue 17): a coordinator answers a household's need (technique,
-- funds, market, jobs) with a help resource of the county's catalogue, on a
-- day, with an outcome. Rows are only added: a later matchup of the same need
-- stands in the place of earlier ones (daohu_domain::livelihood::unmatched),
-- and each keeps the resource's name and contact as the catalogue had them.
CREATE TABLE matchups (
    id            TEXT PRIMARY KEY NOT NULL,
    household_id  TEXT NOT NULL REFERENCES households(id),
    need          TEXT NOT NULL CHECK (need IN ('technique', 'funds', 'market', 'jobs')),
    list          TEXT NOT NULL CHECK (list IN ('technician', 'cooperative', 'buyer', 'fund')),
    resource      TEXT NOT NULL,
    resource_name TEXT NOT NULL,
    contact       TEXT NOT NULL DEFAULT '',
    matched_on    TEXT NOT NULL,
    outcome       TEXT NOT NULL CHECK (outcome IN ('underway', 'succeeded', 'failed')),
    note          TEXT NOT NULL DEFAULT '',
    made_by       TEXT NOT NULL REFERENCES members(id),
    made_at       TEXT NOT NULL,
    -- The order they were made in, for "the latest" (two in one millisecond included).
    n             BIGINT NOT NULL
);
CREATE INDEX matchups_household ON matchups(household_id, n);

-- The households of an area with a field set (their needs, say), without
-- reading every policy's row.
CREATE INDEX ledger_current_field ON ledger_current(field, unit_path);

-- A matchup, once made, is history: a change of outcome is a new row.
CREATE FUNCTION matchups_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'matchups are append-only' USING ERRCODE = 'check_violation';
END;
$$;
CREATE TRIGGER matchups_keep BEFORE UPDATE ON matchups
    FOR EACH ROW EXECUTE FUNCTION matchups_keep();
