-- Tracking numbers are unique by construction: one sequence per China day, shared by
-- every kind, so `QC-20261121-0000017` and `UR-20261121-0000017` can never both exist
-- and the digits typed on a keypad name one application. `last` is the last number given.
CREATE TABLE tracking_days (
    day TEXT PRIMARY KEY,
    last INTEGER NOT NULL
);
-- Numbers of that form have 15 digits (date, sequence, check digit); the index makes a
-- second one with the same digits a constraint violation, not a wrong answer. Older
-- 14-digit numbers were random and may repeat across kinds, so they are left out.
CREATE UNIQUE INDEX applications_tracking_digits_unique ON applications(tracking_digits)
    WHERE length(tracking_digits) = 15;

-- Who looked up whom in the registry: the terminal, the person (masked ID number only),
-- what for (`contributions`, `certificate`) and what came of it (`shown`, `name_mismatch`,
-- `unknown_person`, `refused`). Shown to operations at /ops/access.
CREATE TABLE registry_access (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    device_id TEXT NOT NULL,
    subject_masked TEXT NOT NULL,
    purpose TEXT NOT NULL,
    outcome TEXT NOT NULL
);
CREATE INDEX registry_access_at ON registry_access(at);

-- The retention sweep finds old rows by time without scanning whole tables.
CREATE INDEX applications_submitted ON applications(submitted_at);
CREATE INDEX certificates_issued ON certificates(issued_at);
CREATE INDEX events_received ON events(received_at);
CREATE INDEX alerts_cleared ON alerts(cleared_at) WHERE cleared_at IS NOT NULL;
CREATE INDEX audit_at ON audit(at);
CREATE INDEX terminal_hourly_hour ON terminal_hourly(hour);
CREATE INDEX ops_sessions_expires ON ops_sessions(expires_at);
CREATE INDEX enrollment_tokens_expires ON enrollment_tokens(expires_at);
