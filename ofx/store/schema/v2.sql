-- OFX store, schema version 2: client accounts, request-id reservations and the journal.
CREATE TABLE version (
    version INTEGER NOT NULL
);

CREATE TABLE users (
    name TEXT PRIMARY KEY NOT NULL,
    password_hash TEXT NOT NULL,          -- Argon2id (libsodium crypto_pwhash_str)
    disabled INTEGER NOT NULL DEFAULT 0,
    gateway TEXT,                         -- 'quote-host:port, trade-host:port'; NULL: this gateway
    created REAL NOT NULL,
    last_login REAL
);

-- Hi-lo reservations: a process takes a block of ids and writes its end here
-- before using any of it, so ids only grow, across restarts and crashes.
CREATE TABLE counters (
    name TEXT PRIMARY KEY NOT NULL,
    value INTEGER NOT NULL
);

-- The journal: append-only, one sequence per trading day. Every command that
-- changed something, every counter event, every login and logout.
CREATE TABLE journal (
    id INTEGER PRIMARY KEY,               -- day * 1000000000 + seq of the block's first entry
    last INTEGER NOT NULL,                -- seq of the block's last entry
    body BLOB NOT NULL                    -- Python marshal (version 4) of [(seq, ts, kind, user, reqid, body), ...]
);
