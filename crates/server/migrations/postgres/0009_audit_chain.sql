-- The audit log becomes a hash chain (security issue 20, item 11). Each new row
-- carries prev_hash (the row_hash of the row before it) and row_hash, worked out by
-- the server in the inserting transaction (crate::audit::record). The newest hash
-- lives in audit_chain_head, which every insert locks with SELECT ... FOR UPDATE
-- until its transaction ends, so instances sharing this database append in turn.
--
-- Rows written before this migration are NOT back-filled (the same rule as on
-- SQLite, which has no sha256 in SQL). The chain starts after them: since_id is
-- the last id before the chain, and `daohu-server audit verify` counts older rows
-- as unchained.
ALTER TABLE audit_log ADD COLUMN prev_hash TEXT, ADD COLUMN row_hash TEXT;

CREATE TABLE audit_chain_head (
    id        BIGINT PRIMARY KEY CHECK (id = 1),
    since_id  BIGINT NOT NULL,
    head_hash TEXT NOT NULL,
    head_id   BIGINT NOT NULL
);
INSERT INTO audit_chain_head (id, since_id, head_hash, head_id)
SELECT 1, COALESCE(MAX(id), 0),
       '0000000000000000000000000000000000000000000000000000000000000000',
       COALESCE(MAX(id), 0)
FROM audit_log;

-- UPDATE and DELETE were refused row by row (0001); TRUNCATE skips row triggers.
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION daohu_append_only('audit_log is append-only');
CREATE TRIGGER audit_chain_head_no_delete BEFORE DELETE ON audit_chain_head
    FOR EACH ROW EXECUTE FUNCTION daohu_append_only('audit_chain_head is kept');
CREATE TRIGGER audit_chain_head_no_truncate BEFORE TRUNCATE ON audit_chain_head
    FOR EACH STATEMENT EXECUTE FUNCTION daohu_append_only('audit_chain_head is kept');

-- Every new row is chained: an insert that bypasses the server's record() fails.
CREATE FUNCTION daohu_audit_chained() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.prev_hash IS NULL OR NEW.row_hash IS NULL THEN
        RAISE EXCEPTION 'audit_log rows must be chained' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER audit_log_chained BEFORE INSERT ON audit_log
    FOR EACH ROW EXECUTE FUNCTION daohu_audit_chained();
