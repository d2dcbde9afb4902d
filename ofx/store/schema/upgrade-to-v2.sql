-- From version 1 to 2: add the journal.
CREATE TABLE journal (
    day TEXT NOT NULL,                    -- trading day, YYYYMMDD
    seq INTEGER NOT NULL,                 -- 1, 2, 3 ... within the day
    ts REAL NOT NULL,                     -- Unix time it was appended
    kind TEXT NOT NULL,
    user TEXT,                            -- who sent the command, for commands
    reqid INTEGER,
    body TEXT NOT NULL,                   -- JSON
    PRIMARY KEY (day, seq)
) WITHOUT ROWID;
