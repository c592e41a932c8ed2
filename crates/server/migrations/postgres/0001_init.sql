-- Daohu schema, first version, in PostgreSQL's dialect: migrations/sqlite/0001_init.sql
-- with the same tables, columns, constraints, indexes and rules (see the comments there).
-- Differences, all so that every query reads back the same values from either database:
-- integers are BIGINT (SQLite's INTEGER is 64-bit), flags stay 0/1 integers, paths are
-- compared byte by byte (COLLATE "C", so `LIKE '<prefix>%'` uses the path index), and
-- tables listed in insertion order carry a `rowid` identity column like SQLite's.

-- A text that parses as JSON (SQLite's json_valid).
CREATE FUNCTION daohu_json_valid(t TEXT) RETURNS BOOLEAN LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    PERFORM t::json;
    RETURN TRUE;
EXCEPTION WHEN others THEN
    RETURN FALSE;
END;
$$;

CREATE TABLE units (
    id         TEXT PRIMARY KEY NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('county', 'township', 'village', 'grid')),
    name       TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 50),
    parent_id  TEXT REFERENCES units(id),
    path       TEXT COLLATE "C" NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    rowid      BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    CHECK ((kind = 'county') = (parent_id IS NULL)),
    UNIQUE (parent_id, name)
);
CREATE INDEX units_parent ON units(parent_id);
CREATE UNIQUE INDEX units_county_name ON units(name) WHERE parent_id IS NULL;

CREATE TABLE members (
    id            TEXT PRIMARY KEY NOT NULL,
    phone         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('member', 'grid_leader', 'volunteer',
                      'village_coordinator', 'township_coordinator', 'county_coordinator')),
    unit_id       TEXT NOT NULL REFERENCES units(id),
    disabled      BIGINT NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at    TEXT NOT NULL,
    rowid         BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE
);
CREATE INDEX members_unit ON members(unit_id);

CREATE TABLE households (
    id             TEXT PRIMARY KEY NOT NULL,
    grid_id        TEXT NOT NULL REFERENCES units(id),
    head_name      TEXT NOT NULL,
    address        TEXT NOT NULL,
    people         BIGINT NOT NULL CHECK (people BETWEEN 0 AND 65535),
    phone          TEXT,
    special_groups TEXT NOT NULL DEFAULT '[]' CHECK (daohu_json_valid(special_groups)),
    rowid          BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE
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
    recorded_at  TEXT NOT NULL,
    received_at  TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    body         TEXT NOT NULL CHECK (daohu_json_valid(body))
);
CREATE INDEX visits_household ON visits(household_id, visited_on);
CREATE INDEX visits_member ON visits(member_id, visited_on);
CREATE INDEX visits_day ON visits(visited_on, recorded_at, id);

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
    raised_by    TEXT REFERENCES members(id),
    raised_at    TEXT,
    due_at       TEXT,
    level        TEXT NOT NULL DEFAULT 'village' CHECK (level IN ('village', 'township', 'county')),
    state        TEXT NOT NULL DEFAULT 'new'
                     CHECK (state IN ('new', 'assigned', 'in_progress', 'resolved')),
    assignee_id  TEXT REFERENCES members(id),
    answer       TEXT,
    family_told  BIGINT NOT NULL DEFAULT 0 CHECK (family_told IN (0, 1)),
    rowid        BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE
);
CREATE INDEX problems_visit ON problems(visit_id);
CREATE INDEX problems_household ON problems(household_id);
CREATE INDEX problems_raised_by ON problems(raised_by);
CREATE INDEX problems_assignee ON problems(assignee_id);
CREATE INDEX problems_raised_at ON problems(raised_at, id);

-- As problems_at_door in SQLite, filled in before the row is written.
CREATE FUNCTION problems_at_door() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v_member TEXT;
    v_first  TEXT;
BEGIN
    IF NEW.raised_by IS NULL OR NEW.raised_at IS NULL OR NEW.due_at IS NULL THEN
        SELECT member_id, LEAST(recorded_at, received_at) INTO v_member, v_first
            FROM visits WHERE id = NEW.visit_id;
        IF NEW.raised_by IS NULL AND NEW.outcome = 'resolved_on_spot' THEN
            NEW.state := 'resolved';
            NEW.answer := NEW.action;
            NEW.family_told := 1;
        END IF;
        NEW.raised_by := COALESCE(NEW.raised_by, v_member);
        NEW.raised_at := COALESCE(NEW.raised_at, v_first);
        NEW.due_at := COALESCE(NEW.due_at, to_char(
            (NEW.raised_at::timestamptz AT TIME ZONE 'UTC')
                + make_interval(days => CASE NEW.urgency WHEN 'high' THEN 3 WHEN 'low' THEN 30 ELSE 15 END),
            'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'));
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER problems_at_door BEFORE INSERT ON problems
    FOR EACH ROW EXECUTE FUNCTION problems_at_door();

CREATE FUNCTION problems_keep_what_was_raised() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id IS DISTINCT FROM OLD.id OR NEW.visit_id IS DISTINCT FROM OLD.visit_id
      OR NEW.household_id IS DISTINCT FROM OLD.household_id OR NEW.category IS DISTINCT FROM OLD.category
      OR NEW.urgency IS DISTINCT FROM OLD.urgency OR NEW.description IS DISTINCT FROM OLD.description
      OR NEW.outcome IS DISTINCT FROM OLD.outcome OR NEW.action IS DISTINCT FROM OLD.action
      OR NEW.created_at IS DISTINCT FROM OLD.created_at
      OR (OLD.raised_by IS NOT NULL AND NEW.raised_by IS DISTINCT FROM OLD.raised_by)
      OR (OLD.raised_at IS NOT NULL AND NEW.raised_at IS DISTINCT FROM OLD.raised_at)
      OR (OLD.due_at IS NOT NULL AND NEW.due_at IS DISTINCT FROM OLD.due_at) THEN
        RAISE EXCEPTION 'problems: only the status columns change' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER problems_keep_what_was_raised BEFORE UPDATE ON problems
    FOR EACH ROW EXECUTE FUNCTION problems_keep_what_was_raised();

CREATE TABLE problem_events (
    id           TEXT PRIMARY KEY NOT NULL,
    problem_id   TEXT NOT NULL REFERENCES problems(id),
    actor_id     TEXT NOT NULL REFERENCES members(id),
    device_id    TEXT NOT NULL,
    at           TEXT NOT NULL,
    received_at  TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    change       TEXT NOT NULL CHECK (daohu_json_valid(change)),
    flagged      BIGINT NOT NULL DEFAULT 0 CHECK (flagged IN (0, 1))
);
CREATE INDEX problem_events_problem ON problem_events(problem_id, at, id);
CREATE INDEX problem_events_actor ON problem_events(actor_id);

CREATE FUNCTION problem_events_only_flag_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id IS DISTINCT FROM OLD.id OR NEW.problem_id IS DISTINCT FROM OLD.problem_id
      OR NEW.actor_id IS DISTINCT FROM OLD.actor_id OR NEW.device_id IS DISTINCT FROM OLD.device_id
      OR NEW.at IS DISTINCT FROM OLD.at OR NEW.received_at IS DISTINCT FROM OLD.received_at
      OR NEW.content_hash IS DISTINCT FROM OLD.content_hash OR NEW.change IS DISTINCT FROM OLD.change THEN
        RAISE EXCEPTION 'problem_events are append-only' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER problem_events_only_flag_changes BEFORE UPDATE ON problem_events
    FOR EACH ROW EXECUTE FUNCTION problem_events_only_flag_changes();

CREATE FUNCTION daohu_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%', TG_ARGV[0] USING ERRCODE = 'check_violation';
END;
$$;
CREATE TRIGGER problem_events_no_delete BEFORE DELETE ON problem_events
    FOR EACH ROW EXECUTE FUNCTION daohu_append_only('problem_events are append-only');

CREATE TABLE export_links (
    token_hash TEXT PRIMARY KEY NOT NULL,
    created_by TEXT NOT NULL REFERENCES members(id),
    format     TEXT NOT NULL CHECK (format IN ('xlsx', 'csv', 'jsonl')),
    filter     TEXT NOT NULL CHECK (daohu_json_valid(filter)),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT
);
CREATE INDEX export_links_expires ON export_links(expires_at);

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

CREATE TABLE login_failures (
    id        BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    key_hash  TEXT NOT NULL,
    failed_at BIGINT NOT NULL
);
CREATE INDEX login_failures_key ON login_failures(key_hash, failed_at);

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
    id              BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    at              TEXT NOT NULL,
    actor_member_id TEXT,
    action          TEXT NOT NULL,
    detail          TEXT NOT NULL DEFAULT '{}' CHECK (daohu_json_valid(detail))
);
CREATE INDEX audit_log_actor ON audit_log(actor_member_id);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION daohu_append_only('audit_log is append-only');
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION daohu_append_only('audit_log is append-only');
