-- The household ledger's counts per grid (issue 17: the county's 应享未享
-- counts and the dashboard's ledger panel under 200 ms), as on SQLite, but as
-- rows of changes like 0011's: each change to a household's current value
-- appends -1 for its old (state, grid, field, application day) and +1 for its
-- new one (`fresh`), so two uploads never wait on one hot row; readers sum a
-- key's rows, and the server folds each key's rows into one now and then
-- (store::upkeep::fold_tallies). Checked against ledger_current by tests/ledger.rs.
CREATE TABLE ledger_tallies (
    state          TEXT NOT NULL,
    unit_path      TEXT NOT NULL,
    field          TEXT NOT NULL,
    -- An application's first day; '' for every other state.
    applying_since TEXT NOT NULL,
    n              BIGINT NOT NULL,
    fresh          BOOLEAN NOT NULL DEFAULT true
);
CREATE INDEX ledger_tallies_key ON ledger_tallies(state, unit_path, field, applying_since);
CREATE INDEX ledger_tallies_fresh ON ledger_tallies(state, unit_path, field, applying_since) WHERE fresh;

INSERT INTO ledger_tallies (state, unit_path, field, applying_since, n, fresh)
SELECT state, unit_path, field, COALESCE(applying_since, ''), COUNT(*), false
FROM ledger_current GROUP BY state, unit_path, field, COALESCE(applying_since, '');

CREATE FUNCTION ledger_current_tally() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO ledger_tallies (state, unit_path, field, applying_since, n)
        VALUES (OLD.state, OLD.unit_path, OLD.field, COALESCE(OLD.applying_since, ''), -1);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO ledger_tallies (state, unit_path, field, applying_since, n)
        VALUES (NEW.state, NEW.unit_path, NEW.field, COALESCE(NEW.applying_since, ''), 1);
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER ledger_current_tally AFTER INSERT OR DELETE ON ledger_current
    FOR EACH ROW EXECUTE FUNCTION ledger_current_tally();
CREATE TRIGGER ledger_current_tally_update AFTER UPDATE ON ledger_current
    FOR EACH ROW
    WHEN (OLD.state IS DISTINCT FROM NEW.state OR OLD.unit_path IS DISTINCT FROM NEW.unit_path
          OR OLD.field IS DISTINCT FROM NEW.field OR OLD.applying_since IS DISTINCT FROM NEW.applying_since)
    EXECUTE FUNCTION ledger_current_tally();
