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
-- raised_by / raised_at / due_at are fixed when the row is made. level … family_told
-- cache where the problem stands: ProblemStatus::replay(ProblemStatus::at_door(outcome,
-- action), every event in problem_events), rewritten in the transaction that adds
-- events. Nothing else of a row ever changes (trigger below).
CREATE TABLE problems (
    id           TEXT PRIMARY KEY NOT NULL,
    visit_id     TEXT NOT NULL REFERENCES visits(id),
    household_id TEXT NOT NULL REFERENCES households(id),
    category     TEXT NOT NULL,
    urgency      TEXT NOT NULL,
    description  TEXT NOT NULL,
    outcome      TEXT NOT NULL,
    action       TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    raised_by    TEXT REFERENCES members(id),   -- the visit's member
    raised_at    TEXT,   -- the visit's recorded_at, never later than its received_at
    due_at       TEXT,   -- raised_at + Urgency::due_days
    level        TEXT NOT NULL DEFAULT 'village' CHECK (level IN ('village', 'township', 'county')),
    state        TEXT NOT NULL DEFAULT 'new'
                     CHECK (state IN ('new', 'assigned', 'in_progress', 'resolved')),
    assignee_id  TEXT REFERENCES members(id),
    answer       TEXT,
    family_told  INTEGER NOT NULL DEFAULT 0 CHECK (family_told IN (0, 1))
);
CREATE INDEX problems_visit ON problems(visit_id);
CREATE INDEX problems_household ON problems(household_id);
CREATE INDEX problems_raised_by ON problems(raised_by);
CREATE INDEX problems_assignee ON problems(assignee_id);
CREATE INDEX problems_raised_at ON problems(raised_at, id);

-- The server writes every column; a row inserted with only the visit's columns (older
-- code, tests, tools) gets the same values here: raised by the visit's member, the
-- status ProblemStatus::at_door gives (village level; resolved on the spot → resolved,
-- answered with the action, family told), due by Urgency::due_days (high 3, normal 15,
-- low 30 days).
CREATE TRIGGER problems_at_door AFTER INSERT ON problems
WHEN NEW.raised_by IS NULL OR NEW.raised_at IS NULL OR NEW.due_at IS NULL
BEGIN
    UPDATE problems SET
        raised_by = COALESCE(NEW.raised_by, (SELECT member_id FROM visits WHERE id = NEW.visit_id)),
        raised_at = COALESCE(NEW.raised_at,
            (SELECT MIN(recorded_at, received_at) FROM visits WHERE id = NEW.visit_id)),
        due_at = COALESCE(NEW.due_at, strftime('%Y-%m-%dT%H:%M:%fZ',
            COALESCE(NEW.raised_at,
                (SELECT MIN(recorded_at, received_at) FROM visits WHERE id = NEW.visit_id)),
            '+' || CASE NEW.urgency WHEN 'high' THEN 3 WHEN 'low' THEN 30 ELSE 15 END || ' days')),
        state = CASE WHEN NEW.raised_by IS NULL AND NEW.outcome = 'resolved_on_spot'
                     THEN 'resolved' ELSE NEW.state END,
        answer = CASE WHEN NEW.raised_by IS NULL AND NEW.outcome = 'resolved_on_spot'
                      THEN NEW.action ELSE NEW.answer END,
        family_told = CASE WHEN NEW.raised_by IS NULL AND NEW.outcome = 'resolved_on_spot'
                           THEN 1 ELSE NEW.family_told END
    WHERE id = NEW.id;
END;

-- What was raised at the door stays as raised; only the cached status changes.
CREATE TRIGGER problems_keep_what_was_raised BEFORE UPDATE ON problems
WHEN NEW.id IS NOT OLD.id OR NEW.visit_id IS NOT OLD.visit_id
  OR NEW.household_id IS NOT OLD.household_id OR NEW.category IS NOT OLD.category
  OR NEW.urgency IS NOT OLD.urgency OR NEW.description IS NOT OLD.description
  OR NEW.outcome IS NOT OLD.outcome OR NEW.action IS NOT OLD.action
  OR NEW.created_at IS NOT OLD.created_at
  OR (OLD.raised_by IS NOT NULL AND NEW.raised_by IS NOT OLD.raised_by)
  OR (OLD.raised_at IS NOT NULL AND NEW.raised_at IS NOT OLD.raised_at)
  OR (OLD.due_at IS NOT NULL AND NEW.due_at IS NOT OLD.due_at)
BEGIN
    SELECT RAISE(ABORT, 'problems: only the status columns change');
END;

-- Every change of a problem, as sent (POST /api/problems/events): kept for good, each
-- under the id the phone or console gave it. `at` is the sender's clock (fixed width to
-- the nanosecond, so text order is time order), `change` the EventKind JSON,
-- content_hash the sha256 of the sender's id and the event JSON (duplicate / conflict).
-- `flagged` caches whether the event fit the problem's state when all events are
-- replayed in time order; it is the only column that ever changes.
CREATE TABLE problem_events (
    id           TEXT PRIMARY KEY NOT NULL,
    problem_id   TEXT NOT NULL REFERENCES problems(id),
    actor_id     TEXT NOT NULL REFERENCES members(id),
    device_id    TEXT NOT NULL,
    at           TEXT NOT NULL,
    received_at  TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    change       TEXT NOT NULL CHECK (json_valid(change)),
    flagged      INTEGER NOT NULL DEFAULT 0 CHECK (flagged IN (0, 1))
);
CREATE INDEX problem_events_problem ON problem_events(problem_id, at, id);
CREATE INDEX problem_events_actor ON problem_events(actor_id);

CREATE TRIGGER problem_events_only_flag_changes BEFORE UPDATE ON problem_events
WHEN NEW.id IS NOT OLD.id OR NEW.problem_id IS NOT OLD.problem_id
  OR NEW.actor_id IS NOT OLD.actor_id OR NEW.device_id IS NOT OLD.device_id
  OR NEW.at IS NOT OLD.at OR NEW.received_at IS NOT OLD.received_at
  OR NEW.content_hash IS NOT OLD.content_hash OR NEW.change IS NOT OLD.change
BEGIN
    SELECT RAISE(ABORT, 'problem_events are append-only');
END;

CREATE TRIGGER problem_events_no_delete BEFORE DELETE ON problem_events
BEGIN
    SELECT RAISE(ABORT, 'problem_events are append-only');
END;

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
