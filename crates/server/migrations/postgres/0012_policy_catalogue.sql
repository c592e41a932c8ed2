-- The household ledger's policy catalogue (issue 17): each county's catalogue
-- at every version, as daohu_domain::ledger::Catalogue in JSON, with the edit
-- that made it. Rows are only ever added: a stored visit names the version it
-- was made with, and history and downloads read old names from it.
CREATE TABLE policy_catalogues (
    county_id TEXT NOT NULL REFERENCES units(id),
    version   INTEGER NOT NULL CHECK (version >= 1),
    body      TEXT NOT NULL,
    -- daohu_domain::ledger::CatalogueChange in JSON; NULL for a county's first version.
    change    TEXT,
    made_by   TEXT REFERENCES members(id),
    made_at   TEXT NOT NULL,
    PRIMARY KEY (county_id, version)
);
