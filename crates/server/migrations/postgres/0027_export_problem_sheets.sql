-- A visit download's 问题 and 办理经过 sheets as CSV files of their own
-- (`sheet = 'problems'`, `'trail'`), as its other sheets are.
ALTER TABLE export_links DROP CONSTRAINT export_links_sheet_check;
ALTER TABLE export_links ADD CONSTRAINT export_links_sheet_check
    CHECK (sheet IN ('visits', 'services', 'problems', 'trail', 'policies', 'living', 'matchups'));
