-- The dashboard's ledger panel for a period (issue 17: every panel filters by
-- area and period): beside each unsafe housing or water condition and 应享未享
-- as they stand now, how many of those were recorded in the period. Read in
-- one range per state and period, the area and field checked in the index.
CREATE INDEX ledger_current_recorded ON ledger_current(state, effective_at, unit_path, field);
