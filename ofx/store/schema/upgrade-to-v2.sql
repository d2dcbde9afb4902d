-- From version 1 to 2: add the journal.
CREATE TABLE journal (
    id INTEGER PRIMARY KEY,               -- day * 1000000000 + seq: day YYYYMMDD, seq 1, 2, 3 ... in the day
    ts REAL NOT NULL,                     -- Unix time it was appended
    kind TEXT NOT NULL,
    user TEXT,                            -- who sent the command, for commands
    reqid INTEGER,
    body BLOB NOT NULL                    -- Python marshal (version 4) of the entry's body
);
