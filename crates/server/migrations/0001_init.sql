-- Daohu schema, first version.
-- Ids are hyphenated lowercase UUID text; dates YYYY-MM-DD; server times
-- fixed-width UTC text (2026-01-02T03:04:05.678Z) so text order is time order.

-- The organisation: county → township → village → grid, one table.
-- `path` lists the ids from the county down to the unit itself, each followed by
-- '/': '/<county>/<township>/<village>/<grid>/'. Unit X is inside unit Y (or is Y)
-- exactly when X.path starts with Y.path, tested as `path GLOB '<Y.path>*'`, which
-- SQLite answers from the path index (ids hold no GLOB wildcards).
CREATE TABLE units (
    id         TEXT PRIMARY KEY NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('county', 'township', 'village', 'grid')),
    name       TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 50),
    parent_id  TEXT REFERENCES units(id),
    path       TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    CHECK ((kind = 'county') = (parent_id IS NULL)),
    UNIQUE (parent_id, name)
);
CREATE INDEX units_parent ON units(parent_id);
-- NULL parents are distinct to UNIQUE, so counties get their own rule.
CREATE UNIQUE INDEX units_county_name ON units(name) WHERE parent_id IS NULL;

-- An account sits on the unit its role attaches to (Role::unit_kind): members and
-- grid leaders on a grid, volunteers and village coordinators on a village,
-- township and county coordinators on theirs. The server keeps role and unit kind in step.
CREATE TABLE members (
    id            TEXT PRIMARY KEY NOT NULL,
    phone         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    password_hash TEXT NOT NULL,   -- '!' for an account that signs in only by enrolment
    role          TEXT NOT NULL CHECK (role IN ('member', 'grid_leader', 'volunteer',
                      'village_coordinator', 'township_coordinator', 'county_coordinator')),
    unit_id       TEXT NOT NULL REFERENCES units(id),
    disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at    TEXT NOT NULL
);
CREATE INDEX members_unit ON members(unit_id);

CREATE TABLE households (
    id             TEXT PRIMARY KEY NOT NULL,
    grid_id        TEXT NOT NULL REFERENCES units(id),   -- a unit of kind grid
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
-- The visit log lists newest first: walked backwards, this index gives that order
-- without sorting (and serves date ranges across a whole subtree).
CREATE INDEX visits_day ON visits(visited_on, recorded_at, id);

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

-- One-time download links of exports (POST /api/exports). Only the sha256 of the
-- token is kept; `filter` is the VisitFilter JSON, re-applied with the creator's
-- scope at download. A link is used once (used_at set atomically) and lives 10 minutes.
CREATE TABLE export_links (
    token_hash TEXT PRIMARY KEY NOT NULL,
    created_by TEXT NOT NULL REFERENCES members(id),
    format     TEXT NOT NULL CHECK (format IN ('xlsx', 'csv', 'jsonl')),
    filter     TEXT NOT NULL CHECK (json_valid(filter)),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT
);
CREATE INDEX export_links_expires ON export_links(expires_at);

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

-- One-time codes that sign a phone in (QR enrolment); only the sha256 is kept.
CREATE TABLE enrollment_codes (
    code_hash  TEXT PRIMARY KEY NOT NULL,
    member_id  TEXT NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    created_by TEXT NOT NULL REFERENCES members(id),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT
);
CREATE INDEX enrollment_codes_member ON enrollment_codes(member_id);

CREATE TABLE audit_log (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    at              TEXT NOT NULL,
    actor_member_id TEXT,
    action          TEXT NOT NULL,
    detail          TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(detail))
);
CREATE INDEX audit_log_actor ON audit_log(actor_member_id);

-- The audit log is append-only: nobody, not even the server, rewrites history.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
