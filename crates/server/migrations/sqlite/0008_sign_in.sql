-- Sign-in limits that hold under parallel guesses, and accounts that choose their own password.
--
-- One counter row per key (a phone and address together, a phone alone, an address
-- alone; each the sha256 of its text, so typed phone numbers are not kept). An
-- attempt is counted in one UPDATE before the password is checked, so parallel
-- guesses cannot all slip under the limit; the counter is given back on success.
CREATE TABLE login_throttle (
    key_hash         TEXT PRIMARY KEY NOT NULL,
    failures         INTEGER NOT NULL DEFAULT 0,
    last_failure_ms  INTEGER NOT NULL DEFAULT 0,   -- unix milliseconds
    blocked_until_ms INTEGER NOT NULL DEFAULT 0
);

-- A phone and address that signed in before: the owner's usual place. Guesses from
-- elsewhere, against the phone or from a shared address, do not throttle it.
CREATE TABLE login_known (
    pair_hash  TEXT PRIMARY KEY NOT NULL,
    last_ok_ms INTEGER NOT NULL
);

-- 1 when a coordinator set the password: the account must choose its own first.
ALTER TABLE members ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0
    CHECK (must_change_password IN (0, 1));

-- Replaced by login_throttle (one row per failure, checked before it was counted).
DROP TABLE login_failures;
