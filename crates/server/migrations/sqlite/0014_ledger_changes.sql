-- The household ledger's changes (issue 17): every change to a household's
-- policy states and profile facts, from a phone's outbox or a coordinator's
-- correction, kept for good as the history (daohu_domain::ledger). Uploaded
-- like visits: the id is the device's, a retry with the same content is a
-- duplicate (content_hash), received_at is the server's.
CREATE TABLE ledger_changes (
    id           TEXT PRIMARY KEY NOT NULL,
    household_id TEXT NOT NULL REFERENCES households(id),
    -- LedgerField::word: policy:<key>, people_at_home, housing, water.
    field        TEXT NOT NULL,
    -- LedgerValue in JSON.
    value        TEXT NOT NULL CHECK (json_valid(value)),
    at           TEXT NOT NULL,   -- the device's clock
    received_at  TEXT NOT NULL,   -- the server's clock at first store
    -- LedgerChange::effective_at: the merge's order (the device's time, never
    -- later than received_at).
    effective_at TEXT NOT NULL,
    visit_id     TEXT,
    member_id    TEXT NOT NULL REFERENCES members(id),
    device_id    TEXT NOT NULL,
    content_hash TEXT NOT NULL
);
CREATE INDEX ledger_changes_household ON ledger_changes(household_id, effective_at);

-- Each household's current value per field (daohu_domain::ledger::current,
-- kept as changes arrive), with its grid path for the lists by area.
CREATE TABLE ledger_current (
    household_id   TEXT NOT NULL REFERENCES households(id),
    field          TEXT NOT NULL,
    change_id      TEXT NOT NULL REFERENCES ledger_changes(id),
    effective_at   TEXT NOT NULL,
    -- LedgerValue::word: a policy's state, housing's or water's condition, a count.
    state          TEXT NOT NULL,
    applying_since TEXT,
    unit_path      TEXT NOT NULL,
    PRIMARY KEY (household_id, field)
);
-- 应享未享 and applications by policy and area, applications oldest first
-- (the list reads them in this order and stops at its page); conditions by area.
CREATE INDEX ledger_current_state ON ledger_current(state, applying_since, unit_path, field);
-- The same by area first: the counts of a village or township read its own range.
CREATE INDEX ledger_current_area ON ledger_current(state, unit_path, field, applying_since);

CREATE TRIGGER households_move_ledger AFTER UPDATE OF grid_id ON households
WHEN OLD.grid_id <> NEW.grid_id
BEGIN
    UPDATE ledger_current SET unit_path = (SELECT path FROM units WHERE id = NEW.grid_id)
    WHERE household_id = NEW.id;
END;

-- Ledger downloads share the one-time links (`dataset = 'ledger'`). SQLite
-- cannot change a CHECK: the table is made again with the same rows. Links live
-- ten minutes and nothing references them.
CREATE TABLE export_links_next (
    token_hash TEXT PRIMARY KEY NOT NULL,
    created_by TEXT NOT NULL REFERENCES members(id),
    format     TEXT NOT NULL CHECK (format IN ('xlsx', 'csv', 'jsonl')),
    filter     TEXT NOT NULL CHECK (json_valid(filter)),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT,
    dataset    TEXT NOT NULL DEFAULT 'visits' CHECK (dataset IN ('visits', 'activities', 'ledger'))
);
INSERT INTO export_links_next (token_hash, created_by, format, filter, created_at, expires_at, used_at, dataset)
SELECT token_hash, created_by, format, filter, created_at, expires_at, used_at, dataset FROM export_links;
DROP TABLE export_links;
ALTER TABLE export_links_next RENAME TO export_links;
CREATE INDEX export_links_expires ON export_links(expires_at);
