-- The household ledger's changes (issue 17); see migrations/sqlite/0014_ledger_changes.sql.
CREATE TABLE ledger_changes (
    id           TEXT PRIMARY KEY NOT NULL,
    household_id TEXT NOT NULL REFERENCES households(id),
    field        TEXT NOT NULL,
    value        TEXT NOT NULL CHECK (daohu_json_valid(value)),
    at           TEXT NOT NULL,
    received_at  TEXT NOT NULL,
    effective_at TEXT NOT NULL,
    visit_id     TEXT,
    member_id    TEXT NOT NULL REFERENCES members(id),
    device_id    TEXT NOT NULL,
    content_hash TEXT NOT NULL
);
CREATE INDEX ledger_changes_household ON ledger_changes(household_id, effective_at);

CREATE TABLE ledger_current (
    household_id   TEXT NOT NULL REFERENCES households(id),
    field          TEXT NOT NULL,
    change_id      TEXT NOT NULL REFERENCES ledger_changes(id),
    effective_at   TEXT NOT NULL,
    state          TEXT NOT NULL,
    applying_since TEXT,
    unit_path      TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (household_id, field)
);
CREATE INDEX ledger_current_state ON ledger_current(state, applying_since, unit_path, field);
-- The same by area first: the counts of a village or township read its own range.
CREATE INDEX ledger_current_area ON ledger_current(state, unit_path, field, applying_since);

CREATE FUNCTION households_move_ledger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE ledger_current SET unit_path = (SELECT path FROM units WHERE id = NEW.grid_id)
    WHERE household_id = NEW.id;
    RETURN NULL;
END;
$$;
CREATE TRIGGER households_move_ledger AFTER UPDATE OF grid_id ON households
    FOR EACH ROW WHEN (OLD.grid_id <> NEW.grid_id) EXECUTE FUNCTION households_move_ledger();

-- Ledger downloads share the one-time links (`dataset = 'ledger'`).
ALTER TABLE export_links DROP CONSTRAINT export_links_dataset_check;
ALTER TABLE export_links ADD CONSTRAINT export_links_dataset_check
    CHECK (dataset IN ('visits', 'activities', 'ledger'));
