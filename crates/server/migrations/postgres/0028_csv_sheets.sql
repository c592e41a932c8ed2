-- Every sheet of a download as a CSV file of its own: after 0027's 问题 and
-- 办理经过, an activity download's 打卡, 工时 and 队伍工时 (`sheet =
-- 'check_ins'`, `'hours'`, `'team_hours'`).
ALTER TABLE export_links DROP CONSTRAINT export_links_sheet_check;
ALTER TABLE export_links ADD CONSTRAINT export_links_sheet_check
    CHECK (sheet IN ('visits', 'services', 'problems', 'trail', 'check_ins', 'hours', 'team_hours',
        'policies', 'living', 'matchups'));
