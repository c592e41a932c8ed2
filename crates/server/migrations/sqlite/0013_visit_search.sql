-- The visit log's text search (issue 21): what a visit found, in its own words,
-- kept apart from the visit so a search reads small rows, not visit bodies.
-- The text is the summary, each section's notes, each problem's description and
-- what was done, and the answers coordinators gave later (visit_search_texts).
-- * `visit_texts` is clustered by the visit's grid path: a search in a township
--   or village reads its own visits' rows, one range, with LIKE (any length, so
--   two-character words such as 饮水 are found).
-- * `visit_search`, FTS5 with the trigram tokenizer, finds text of three
--   characters or more across a whole county without reading every row.
-- Names (heads, doorplates, accounts) are looked up in their own tables at
-- search time, so a renamed household is found by its new name; each row holds
-- its visit's household and account to be matched against them.
-- PostgreSQL keeps the same text in visits.search_text (its 0013).

CREATE VIEW visit_search_texts AS
SELECT v.id, v.unit_path, v.household_id, v.member_id,
    COALESCE(json_extract(v.body, '$.summary'), '') || char(10) ||
    COALESCE((SELECT group_concat(json_extract(s.value, '$.notes'), char(10))
              FROM json_each(v.body, '$.sections') s), '') || char(10) ||
    COALESCE((SELECT group_concat(json_extract(p.value, '$.description') || char(10) ||
                                  json_extract(p.value, '$.action'), char(10))
              FROM json_each(v.body, '$.problems') p), '') || char(10) ||
    -- Answers at the door repeat the action above; later ones are new.
    COALESCE((SELECT group_concat(pr.answer, char(10)) FROM problems pr
              WHERE pr.visit_id = v.id AND pr.answer IS NOT NULL AND pr.answer <> pr.action), '')
    AS text
FROM visits v;

CREATE TABLE visit_texts (
    unit_path TEXT NOT NULL,
    visit_id  TEXT NOT NULL,
    household_id TEXT NOT NULL,
    member_id TEXT NOT NULL,
    -- The visit's row in visit_search (FTS5 needs an integer; a visit's own
    -- rowid may change on VACUUM).
    n         INTEGER NOT NULL,
    text      TEXT NOT NULL,
    PRIMARY KEY (unit_path, visit_id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX visit_texts_n ON visit_texts(n);

CREATE VIRTUAL TABLE visit_search USING fts5(
    text, content = '', contentless_delete = 1, tokenize = 'trigram'
);

INSERT INTO visit_texts (unit_path, visit_id, household_id, member_id, n, text)
SELECT unit_path, id, household_id, member_id, ROW_NUMBER() OVER (), text FROM visit_search_texts;
INSERT INTO visit_search (rowid, text) SELECT n, text FROM visit_texts;

CREATE TRIGGER visit_texts_indexed AFTER INSERT ON visit_texts
BEGIN
    INSERT INTO visit_search (rowid, text) VALUES (NEW.n, NEW.text);
END;
CREATE TRIGGER visit_texts_reindexed AFTER UPDATE OF text ON visit_texts
BEGIN
    DELETE FROM visit_search WHERE rowid = OLD.n;
    INSERT INTO visit_search (rowid, text) VALUES (NEW.n, NEW.text);
END;

-- 0005's trigger without search_text (read by nothing now), and the visit's text
-- row once its grid path is set.
DROP TRIGGER visits_extract;
CREATE TRIGGER visits_extract AFTER INSERT ON visits
BEGIN
    UPDATE visits SET
        section_bits = (SELECT COALESCE(SUM(DISTINCT b.bit), 0)
                        FROM json_each(NEW.body, '$.sections') s
                        JOIN section_state_bits b ON b.kind = json_extract(s.value, '$.kind')
                                                 AND b.state = json_extract(s.value, '$.state')),
        unit_path = COALESCE((SELECT g.path FROM households h JOIN units g ON g.id = h.grid_id
                              WHERE h.id = NEW.household_id), '')
    WHERE id = NEW.id;
    INSERT INTO visit_texts (unit_path, visit_id, household_id, member_id, n, text)
    SELECT t.unit_path, t.id, t.household_id, t.member_id, COALESCE((SELECT MAX(n) FROM visit_texts), 0) + 1, t.text
    FROM visit_search_texts t WHERE t.id = NEW.id;
END;
UPDATE visits SET search_text = '' WHERE search_text <> '';

-- A household's move (0005's households_move_visits) moves its visits' text rows.
CREATE TRIGGER visits_move_texts AFTER UPDATE OF unit_path ON visits
WHEN NEW.unit_path <> OLD.unit_path
BEGIN
    UPDATE visit_texts SET unit_path = NEW.unit_path
    WHERE unit_path = OLD.unit_path AND visit_id = NEW.id;
END;

-- A problem's answer, given at the door or later, is searched with its visit.
CREATE TRIGGER problems_answer_added AFTER INSERT ON problems
WHEN NEW.answer IS NOT NULL AND NEW.answer <> NEW.action
BEGIN
    UPDATE visit_texts SET text = (SELECT text FROM visit_search_texts WHERE id = NEW.visit_id)
    WHERE unit_path = (SELECT unit_path FROM visits WHERE id = NEW.visit_id)
      AND visit_id = NEW.visit_id;
END;
CREATE TRIGGER problems_answer_changed AFTER UPDATE OF answer ON problems
WHEN NEW.answer IS NOT OLD.answer
BEGIN
    UPDATE visit_texts SET text = (SELECT text FROM visit_search_texts WHERE id = NEW.visit_id)
    WHERE unit_path = (SELECT unit_path FROM visits WHERE id = NEW.visit_id)
      AND visit_id = NEW.visit_id;
END;
