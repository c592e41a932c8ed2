-- Every sheet of a download as a CSV file of its own: after 0027's 问题 and
-- 办理经过, an activity download's 打卡, 工时 and 队伍工时 (`sheet =
-- 'check_ins'`, `'hours'`, `'team_hours'`). SQLite cannot
-- change a CHECK: the table is made again with the same rows (as in 0014).
-- Links live ten minutes and nothing references them.
CREATE TABLE export_links_next (
    token_hash TEXT PRIMARY KEY NOT NULL,
    created_by TEXT NOT NULL REFERENCES members(id),
    format     TEXT NOT NULL CHECK (format IN ('xlsx', 'csv', 'jsonl')),
    filter     TEXT NOT NULL CHECK (json_valid(filter)),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT,
    dataset    TEXT NOT NULL DEFAULT 'visits' CHECK (dataset IN ('visits', 'activities', 'ledger')),
    sheet      TEXT CHECK (sheet IN ('visits', 'services', 'problems', 'trail', 'check_ins', 'hours', 'team_hours',
        'policies', 'living', 'matchups'))
);
INSERT INTO export_links_next (token_hash, created_by, format, filter, created_at, expires_at, used_at, dataset, sheet)
SELECT token_hash, created_by, format, filter, created_at, expires_at, used_at, dataset, sheet FROM export_links;
DROP TABLE export_links;
ALTER TABLE export_links_next RENAME TO export_links;
CREATE INDEX export_links_expires ON export_links(expires_at);
