-- The audit log becomes a hash chain (security issue 20, item 11). Each new row
-- carries prev_hash (the row_hash of the row before it) and row_hash, worked out by
-- the server in the inserting transaction (crate::audit::record). The newest hash
-- lives in audit_chain_head, which every insert locks and moves.
--
-- Rows written before this migration are NOT back-filled: SQLite has no sha256 in
-- SQL, and both dialects keep the same rule. The chain starts after them: since_id
-- is the last id before the chain, and `daohu-server audit verify` counts older
-- rows as unchained.
ALTER TABLE audit_log ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_log ADD COLUMN row_hash TEXT;

CREATE TABLE audit_chain_head (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    since_id  INTEGER NOT NULL,
    head_hash TEXT NOT NULL,
    head_id   INTEGER NOT NULL
);
INSERT INTO audit_chain_head (id, since_id, head_hash, head_id)
SELECT 1, COALESCE(MAX(id), 0),
       '0000000000000000000000000000000000000000000000000000000000000000',
       COALESCE(MAX(id), 0)
FROM audit_log;

CREATE TRIGGER audit_chain_head_no_delete BEFORE DELETE ON audit_chain_head
BEGIN
    SELECT RAISE(ABORT, 'audit_chain_head is kept');
END;

-- Every new row is chained: an insert that bypasses the server's record() fails.
CREATE TRIGGER audit_log_chained BEFORE INSERT ON audit_log
WHEN NEW.prev_hash IS NULL OR NEW.row_hash IS NULL
BEGIN
    SELECT RAISE(ABORT, 'audit_log rows must be chained');
END;
