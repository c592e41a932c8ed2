-- Volunteer activities (志愿服务): kinds, teams, activities with their households and
-- participants, check-ins (打卡), and photos uploaded in resumable chunks.
-- Same conventions as 0001: ids are UUID text, dates YYYY-MM-DD, times of day
-- HH:MM:SS (China time), server times fixed-width UTC text.

-- The kinds coordinators keep (county-wide). A retired kind (active = 0) stays
-- readable on old records but is not offered on phones.
CREATE TABLE activity_kinds (
    code       TEXT PRIMARY KEY NOT NULL
                   CHECK (length(code) BETWEEN 1 AND 40 AND code NOT GLOB '*[^a-z0-9_]*'),
    label_zh   TEXT NOT NULL CHECK (length(label_zh) BETWEEN 1 AND 50),
    label_en   TEXT NOT NULL CHECK (length(label_en) BETWEEN 1 AND 50),
    active     INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    sort_order INTEGER NOT NULL
);

-- daohu_domain::activity::DEFAULT_KINDS, in order (a test checks they match).
INSERT INTO activity_kinds (code, label_zh, label_en, active, sort_order) VALUES
    ('cleanup', '环境卫生整治', 'Environment clean-up', 1, 10),
    ('patrol', '治安巡逻', 'Security patrol', 1, 20),
    ('elderly_care', '关爱老人和五保户', 'Care for the elderly', 1, 30),
    ('policy_talk', '政策宣讲', 'Policy talk', 1, 40),
    ('free_clinic', '义诊', 'Free clinic', 1, 50),
    ('legal_awareness', '普法宣传', 'Legal awareness', 1, 60),
    ('sell_produce', '帮助销售农产品', 'Helping sell produce', 1, 70),
    ('epidemic_duty', '防疫值守', 'Epidemic duty', 1, 80),
    ('vaccination_ride', '接送群众接种疫苗', 'Driving people to vaccination', 1, 90),
    ('other', '其他', 'Other', 1, 100);

-- Volunteer teams (志愿服务队), each on a village or township.
CREATE TABLE teams (
    id         TEXT PRIMARY KEY NOT NULL,
    unit_id    TEXT NOT NULL REFERENCES units(id),
    name       TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 50),
    created_at TEXT NOT NULL,
    UNIQUE (unit_id, name)
);

CREATE TABLE team_members (
    team_id   TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    member_id TEXT NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    PRIMARY KEY (team_id, member_id)
);
CREATE INDEX team_members_member ON team_members(member_id);

-- One row per activity as first received (idempotent by id; content_hash is the
-- sha256 of the stored body, for duplicate / conflict). unit_id is what scope is
-- decided on: the team's unit, or the recorder's own unit without a team.
CREATE TABLE activities (
    id           TEXT PRIMARY KEY NOT NULL,
    recorder_id  TEXT NOT NULL REFERENCES members(id),
    team_id      TEXT REFERENCES teams(id),
    unit_id      TEXT NOT NULL REFERENCES units(id),
    kind         TEXT NOT NULL REFERENCES activity_kinds(code),
    date         TEXT NOT NULL,
    start_time   TEXT NOT NULL,
    end_time     TEXT NOT NULL,
    device_id    TEXT NOT NULL,
    recorded_at  TEXT NOT NULL,   -- the phone's clock
    received_at  TEXT NOT NULL,   -- the server's clock at first store
    content_hash TEXT NOT NULL,
    body         TEXT NOT NULL CHECK (json_valid(body))
);
-- Lists are newest first: walked backwards, this gives that order without sorting.
CREATE INDEX activities_day ON activities(date, start_time, id);
CREATE INDEX activities_unit ON activities(unit_id, date);
CREATE INDEX activities_team ON activities(team_id, date);
CREATE INDEX activities_recorder ON activities(recorder_id, date);

CREATE TABLE activity_households (
    activity_id  TEXT NOT NULL REFERENCES activities(id),
    household_id TEXT NOT NULL REFERENCES households(id),
    PRIMARY KEY (activity_id, household_id)
);
CREATE INDEX activity_households_household ON activity_households(household_id);

-- The listed participants (team members), for "who took part in what".
CREATE TABLE activity_participants (
    activity_id TEXT NOT NULL REFERENCES activities(id),
    member_id   TEXT NOT NULL REFERENCES members(id),
    PRIMARY KEY (activity_id, member_id)
);
CREATE INDEX activity_participants_member ON activity_participants(member_id);

-- One row per tap of check in / check out, idempotent by id like activities.
-- `at` is the phone's clock (fixed width, to the millisecond); the body keeps it exactly.
CREATE TABLE check_ins (
    id           TEXT PRIMARY KEY NOT NULL,
    activity_id  TEXT NOT NULL REFERENCES activities(id),
    volunteer_id TEXT NOT NULL REFERENCES members(id),
    kind         TEXT NOT NULL CHECK (kind IN ('in', 'out')),
    at           TEXT NOT NULL,
    lat          REAL,
    lon          REAL,
    accuracy     REAL,
    device_id    TEXT NOT NULL,
    received_at  TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    body         TEXT NOT NULL CHECK (json_valid(body))
);
CREATE INDEX check_ins_activity ON check_ins(activity_id, volunteer_id, at);
CREATE INDEX check_ins_volunteer ON check_ins(volunteer_id, at);

-- A photo named by an activity (PhotoRef), made when the activity is stored. The
-- bytes arrive in chunks (photo_chunks) at `received`; when they reach `bytes` and
-- their sha256 matches, they are joined into `data` and the photo is complete.
CREATE TABLE photos (
    id           TEXT PRIMARY KEY NOT NULL,
    activity_id  TEXT NOT NULL REFERENCES activities(id),
    bytes        INTEGER NOT NULL CHECK (bytes BETWEEN 1 AND 4194304),
    sha256       TEXT NOT NULL,
    received     INTEGER NOT NULL DEFAULT 0 CHECK (received BETWEEN 0 AND bytes),
    data         BLOB,
    complete     INTEGER NOT NULL DEFAULT 0 CHECK (complete IN (0, 1)),
    completed_at TEXT
);
CREATE INDEX photos_activity ON photos(activity_id, complete);

-- The chunks of a photo not yet complete, in order of `position`.
CREATE TABLE photo_chunks (
    photo_id TEXT NOT NULL REFERENCES photos(id),
    position INTEGER NOT NULL,   -- the byte offset of the chunk
    data     BLOB NOT NULL,
    PRIMARY KEY (photo_id, position)
);

-- Downloads of activities share the one-time links of visit exports; `dataset`
-- says which, and `filter` then holds an ActivityFilter.
ALTER TABLE export_links ADD COLUMN dataset TEXT NOT NULL DEFAULT 'visits'
    CHECK (dataset IN ('visits', 'activities'));
