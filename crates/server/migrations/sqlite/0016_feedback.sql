-- The 回访 (issue 17): the family's verdict on a resolved problem is a problem
-- event ({"kind": "feedback", "level": …}). Its level is kept beside the event
-- when it is stored, so the dashboard's 满意率 counts an area's verdicts of a
-- period from one index, without reading any event's JSON. Set at insert only.
ALTER TABLE problem_events ADD COLUMN feedback TEXT
    CHECK (feedback IN ('satisfied', 'basically_satisfied', 'dissatisfied'));
CREATE INDEX problem_events_feedback ON problem_events(at, problem_id) WHERE feedback IS NOT NULL;

CREATE TRIGGER problem_events_keep_feedback BEFORE UPDATE OF feedback ON problem_events
WHEN NEW.feedback IS NOT OLD.feedback
BEGIN
    SELECT RAISE(ABORT, 'problem_events are append-only');
END;
