-- Services given at a visit (精准服务, issue 17): one row a kind a visit, copied
-- out of the visit when it is first stored (its `services`, and the 精准服务
-- checklist's ticks, which are what older apps send), for the dashboard's count
-- by kind and the download's sheet. The visit's day and grid path ride along so
-- an area's period is one index range; a household's move moves them
-- (0005's households_move_visits updates visits.unit_path, and this follows).
CREATE TABLE visit_services (
    visit_id     TEXT NOT NULL REFERENCES visits(id),
    kind         TEXT NOT NULL,
    note         TEXT NOT NULL DEFAULT '',
    household_id TEXT NOT NULL REFERENCES households(id),
    visited_on   TEXT NOT NULL,
    unit_path    TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (visit_id, kind)
);
CREATE INDEX visit_services_day ON visit_services(visited_on, unit_path);

CREATE FUNCTION visits_move_services() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE visit_services SET unit_path = NEW.unit_path WHERE visit_id = NEW.id;
    RETURN NULL;
END;
$$;
CREATE TRIGGER visits_move_services AFTER UPDATE OF unit_path ON visits
    FOR EACH ROW WHEN (OLD.unit_path <> NEW.unit_path) EXECUTE FUNCTION visits_move_services();

-- The visits stored before: their 精准服务 ticks are their services.
INSERT INTO visit_services (visit_id, kind, note, household_id, visited_on, unit_path)
SELECT v.id, c.value, '', v.household_id, v.visited_on, v.unit_path
FROM visits v, jsonb_array_elements(v.body::jsonb -> 'sections') s, jsonb_array_elements_text(s.value -> 'checked') c
WHERE s.value ->> 'kind' = 'precise_service'
ON CONFLICT DO NOTHING;
