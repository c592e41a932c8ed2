-- A CSV download holds one sheet of its workbook (issue 17: "CSV with a BOM,
-- one file per sheet"): the link keeps which. NULL: the first sheet (走访记录
-- of a visit download, 政策台账 of a ledger download), as every link before.
ALTER TABLE export_links ADD COLUMN sheet TEXT
    CHECK (sheet IN ('visits', 'services', 'policies', 'living', 'matchups'));
