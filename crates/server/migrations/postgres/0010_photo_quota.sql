-- Photo uploads: a daily quota per account and a sweep of abandoned uploads.
-- Bytes of photo chunks each account sent per day (UTC), counted as they arrive
-- (a reset upload's bytes still count: they were sent and stored a while).
CREATE TABLE photo_upload_days (
    account_id TEXT COLLATE "C" NOT NULL,
    day        TEXT COLLATE "C" NOT NULL,   -- YYYY-MM-DD, UTC
    bytes      BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, day)
);
-- When an unfinished photo last took a chunk (server time, as db::ts writes it);
-- uploads left alone for a week lose their chunks and start again at 0.
ALTER TABLE photos ADD COLUMN chunk_at TEXT COLLATE "C";
UPDATE photos SET chunk_at = to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
    WHERE complete = 0 AND received > 0;
CREATE INDEX photos_unfinished ON photos(chunk_at) WHERE complete = 0 AND received > 0;
