-- From version 1 to 2: add the journal.
CREATE TABLE journal (
    id INTEGER PRIMARY KEY,               -- day * 1000000000 + seq of the block's first entry
    last INTEGER NOT NULL,                -- seq of the block's last entry
    body BLOB NOT NULL                    -- Python marshal (version 4) of [(seq, ts, kind, user, reqid, body), ...]
);
