-- Audit continuity (issue 18). A terminal's records are checked against the last one
-- accepted from it, and records that break the chain are kept, not dropped: a record
-- at a seq already stored with another hash (a rewritten history, or a trail restarted
-- at 1) starts a new `chain` of that device, so the two versions of a seq sit side by
-- side. Chain 1 is the first; every record stored before this migration is in it.
-- SQLite cannot change a primary key in place, so the table is rebuilt.
CREATE TABLE audit_chained (
    device_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    chain INTEGER NOT NULL,
    at INTEGER NOT NULL,
    action TEXT NOT NULL,
    subject_masked TEXT,
    outcome TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    -- (device_id, seq) first: "every stored record at this seq" is a search of the key.
    PRIMARY KEY (device_id, seq, chain)
);
INSERT INTO audit_chained(device_id, seq, chain, at, action, subject_masked, outcome, prev_hash, hash)
    SELECT device_id, seq, 1, at, action, subject_masked, outcome, prev_hash, hash FROM audit;
DROP TABLE audit;
ALTER TABLE audit_chained RENAME TO audit;
CREATE INDEX audit_at ON audit(at);

-- The last record accepted from each device (its chain, seq and hash): what the next
-- record must link to. Kept in its own row rather than read from the audit table's
-- highest seq, because (1) the retention sweep deletes old audit rows, and a terminal
-- quiet for longer than that would otherwise look like one starting over, and (2)
-- after a fork or a reset the head is the new chain's last record, whose seq is lower
-- than the highest stored. One row per device, no personal data; never swept.
CREATE TABLE audit_heads (
    device_id TEXT PRIMARY KEY,
    chain INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL
);
-- Records stored before were never checked: each device's highest one is its head.
INSERT INTO audit_heads(device_id, chain, seq, hash)
    SELECT a.device_id, 1, a.seq, a.hash FROM audit a
    WHERE a.seq = (SELECT max(b.seq) FROM audit b WHERE b.device_id = a.device_id);
