-- The dashboard's panels for a period (issue 17: every panel filters by area
-- and period): beside each unsafe housing or water condition, 应享未享 and the
-- unmatched needs as they stand now, how many of those were recorded in the
-- period. Read in one range per state and period, the area and field checked
-- in the index; the needs (a word list, not one state) by their own.
CREATE INDEX ledger_current_recorded ON ledger_current(state, effective_at, unit_path, field);
CREATE INDEX ledger_current_needs_recorded ON ledger_current(effective_at, unit_path) WHERE field = 'needs';
