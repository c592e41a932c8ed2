-- The visit log's text search (issue 21) finds what a visit found in its own
-- words: the summary and section notes as before, now also each problem's
-- description and what was done, and the answers coordinators gave later.
-- All of it goes into visits.search_text, which 0005's key index already reads,
-- so the search itself is unchanged. SQLite keeps the same text in its own
-- table (migrations/sqlite/0013_visit_search.sql).

CREATE OR REPLACE FUNCTION daohu_search_text(body TEXT) RETURNS TEXT LANGUAGE sql IMMUTABLE AS $$
    SELECT COALESCE(CAST(body AS json) ->> 'summary', '') || chr(10) ||
           COALESCE((SELECT string_agg(s.value ->> 'notes', chr(10))
                     FROM json_array_elements(CAST(body AS json) -> 'sections') s), '') || chr(10) ||
           COALESCE((SELECT string_agg(COALESCE(p.value ->> 'description', '') || chr(10) ||
                                       COALESCE(p.value ->> 'action', ''), chr(10))
                     FROM json_array_elements(CAST(body AS json) -> 'problems') p), '')
$$;

-- The visit's text with its problems' later answers (answers at the door repeat
-- the action already in the body).
CREATE FUNCTION daohu_visit_search_text(body TEXT, visit TEXT) RETURNS TEXT LANGUAGE sql STABLE AS $$
    SELECT daohu_search_text(body) || chr(10) ||
           COALESCE((SELECT string_agg(answer, chr(10) ORDER BY id) FROM problems
                     WHERE visit_id = visit AND answer IS NOT NULL AND answer <> action), '')
$$;

CREATE FUNCTION problems_answer_searched() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE visits SET search_text = daohu_visit_search_text(body, id) WHERE id = NEW.visit_id;
    RETURN NULL;
END;
$$;
CREATE TRIGGER problems_answer_added AFTER INSERT ON problems
    FOR EACH ROW WHEN (NEW.answer IS NOT NULL AND NEW.answer <> NEW.action)
    EXECUTE FUNCTION problems_answer_searched();
CREATE TRIGGER problems_answer_changed AFTER UPDATE OF answer ON problems
    FOR EACH ROW WHEN (NEW.answer IS DISTINCT FROM OLD.answer)
    EXECUTE FUNCTION problems_answer_searched();

-- Only visits with problems have new text.
UPDATE visits SET search_text = daohu_visit_search_text(body, id)
WHERE id IN (SELECT visit_id FROM problems);
