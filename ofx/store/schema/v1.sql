-- OFX store, schema version 1: client accounts and request-id reservations.
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
