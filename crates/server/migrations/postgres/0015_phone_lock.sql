-- The phone's app lock (issue 19). Each account's phone key wraps the data key
-- of that account's records on a phone, a second copy beside the PIN's: the
-- server hands it out only within minutes of a password sign-in, so a
-- forgotten PIN never loses a record and a stored session alone unlocks
-- nothing. Made on first ask, kept for good.
CREATE TABLE phone_keys (
    member_id  TEXT PRIMARY KEY NOT NULL REFERENCES members(id),
    phone_key  TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- A coordinator requires a PIN on every phone of the accounts in this unit and below.
ALTER TABLE units ADD COLUMN pin_required BIGINT NOT NULL DEFAULT 0 CHECK (pin_required IN (0, 1));
