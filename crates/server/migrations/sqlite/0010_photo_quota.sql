-- Photo uploads: a daily quota per account and a sweep of abandoned uploads.
-- Bytes of photo chunks each account sent per day (UTC), counted as they arrive
-- (a reset upload's bytes still count: they were sent and stored a while).
CREATE TABLE photo_upload_days (
    account_id TEXT NOT NULL,
    day        TEXT NOT NULL,   -- YYYY-MM-DD, UTC
    bytes      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, day)
);
-- When an unfinished photo last took a chunk (server time, as db::ts writes it);
-- uploads left alone for a week lose their chunks and start again at 0.
ALTER TABLE photos ADD COLUMN chunk_at TEXT;
UPDATE photos SET chunk_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE complete = 0 AND received > 0;
CREATE INDEX photos_unfinished ON photos(chunk_at) WHERE complete = 0 AND received > 0;
