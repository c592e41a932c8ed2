-- 0021's trigger on a household's needs made its unmatched rows again from the
-- view `unmatched_needs_now`, which reads ledger_current for the household: in
-- a statement that writes many needs values (a roster import, a back-fill) the
-- read cost about 2.5 ms a row on a whole county (measured; on a tenth, with
-- fresh statistics, it was 50 µs, as is this one).
-- The trigger has the row itself: the household's rows are made from NEW and
-- its latest matchups, the view's rule written out for one row, and a value
-- with no need word (`none`, most households) makes none. (SQLite's triggers
-- read the view; they were not slow there.)
CREATE OR REPLACE FUNCTION ledger_current_needs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        DELETE FROM unmatched_needs WHERE household_id = OLD.household_id;
        RETURN NULL;
    END IF;
    DELETE FROM unmatched_needs WHERE household_id = NEW.household_id;
    INSERT INTO unmatched_needs (household_id, need, unit_path)
    SELECT NEW.household_id, n.need, NEW.unit_path
    FROM need_words n
    WHERE (',' || NEW.state || ',') LIKE ('%,' || n.need || ',%')
      AND COALESCE((SELECT m.outcome FROM matchups m WHERE m.household_id = NEW.household_id AND m.need = n.need
                    ORDER BY m.n DESC LIMIT 1), 'failed') = 'failed';
    RETURN NULL;
END;
$$;
