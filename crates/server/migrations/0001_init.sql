-- Daohu schema, first version.
-- Ids are hyphenated lowercase UUID text; dates YYYY-MM-DD; server times
-- fixed-width UTC text (2026-01-02T03:04:05.678Z) so text order is time order.

CREATE TABLE villages (
    id       TEXT PRIMARY KEY NOT NULL,
    name     TEXT NOT NULL,
    township TEXT NOT NULL,
    county   TEXT NOT NULL
);

CREATE TABLE grids (
    id         TEXT PRIMARY KEY NOT NULL,
    village_id TEXT NOT NULL REFERENCES villages(id),
    name       TEXT NOT NULL,
    UNIQUE (village_id, name)
);

CREATE TABLE members (
    id            TEXT PRIMARY KEY NOT NULL,
    phone         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('member', 'grid_leader', 'volunteer',
                      'village_coordinator', 'township_coordinator', 'county_coordinator')),
    village_id    TEXT NOT NULL REFERENCES villages(id),
    grid_id       TEXT REFERENCES grids(id),
    disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at    TEXT NOT NULL
);
CREATE INDEX members_grid ON members(grid_id);

CREATE TABLE households (
    id             TEXT PRIMARY KEY NOT NULL,
    grid_id        TEXT NOT NULL REFERENCES grids(id),
    head_name      TEXT NOT NULL,
    address        TEXT NOT NULL,
    people         INTEGER NOT NULL CHECK (people BETWEEN 0 AND 65535),
    phone          TEXT,
    special_groups TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(special_groups))
);
CREATE INDEX households_grid ON households(grid_id);

CREATE TABLE member_households (
    member_id    TEXT NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    household_id TEXT NOT NULL REFERENCES households(id) ON DELETE CASCADE,
    PRIMARY KEY (member_id, household_id)
);
CREATE INDEX member_households_household ON member_households(household_id);

CREATE TABLE visits (
    id           TEXT PRIMARY KEY NOT NULL,
    household_id TEXT NOT NULL REFERENCES households(id),
    member_id    TEXT NOT NULL REFERENCES members(id),
    device_id    TEXT NOT NULL,
    visited_on   TEXT NOT NULL,
    recorded_at  TEXT NOT NULL,   -- the phone's clock
    received_at  TEXT NOT NULL,   -- the server's clock at first store
    content_hash TEXT NOT NULL,   -- sha256 hex of the visit's JSON, for duplicate / conflict
    body         TEXT NOT NULL CHECK (json_valid(body))
);
CREATE INDEX visits_household ON visits(household_id, visited_on);
CREATE INDEX visits_member ON visits(member_id, visited_on);

-- Problems copied out of each visit when it is first stored, for the coordinators' lists.
CREATE TABLE problems (
    id           TEXT PRIMARY KEY NOT NULL,
    visit_id     TEXT NOT NULL REFERENCES visits(id),
    household_id TEXT NOT NULL REFERENCES households(id),
    category     TEXT NOT NULL,
    urgency      TEXT NOT NULL,
    description  TEXT NOT NULL,
    outcome      TEXT NOT NULL,
    action       TEXT NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE INDEX problems_visit ON problems(visit_id);
CREATE INDEX problems_household ON problems(household_id);

-- Only the sha256 of a session token is kept: a copy of the database signs nobody in.
CREATE TABLE sessions (
    token_hash   TEXT PRIMARY KEY NOT NULL,
    member_id    TEXT NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    created_at   TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    expires_at   TEXT NOT NULL
);
CREATE INDEX sessions_member ON sessions(member_id);

CREATE TABLE devices (
    device_id    TEXT PRIMARY KEY NOT NULL,
    member_id    TEXT NOT NULL REFERENCES members(id),
    last_sync_at TEXT NOT NULL
);

-- Failed sign-ins, one row each, keyed by the sha256 of "phone:..." or "ip:...";
-- kept in the database so several server instances could share the limits.
CREATE TABLE login_failures (
    id        INTEGER PRIMARY KEY,
    key_hash  TEXT NOT NULL,
    failed_at INTEGER NOT NULL   -- unix milliseconds
);
CREATE INDEX login_failures_key ON login_failures(key_hash, failed_at);

CREATE TABLE audit_log (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    at              TEXT NOT NULL,
    actor_member_id TEXT,
    action          TEXT NOT NULL,
    detail          TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(detail))
);

-- The audit log is append-only: nobody, not even the server, rewrites history.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
