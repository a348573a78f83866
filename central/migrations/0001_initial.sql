-- Initial schema of the reference central service.
CREATE TABLE enrollment_tokens (
    token_hash TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER,
    device_id TEXT
);
CREATE TABLE devices (
    device_id TEXT PRIMARY KEY,
    hostname TEXT NOT NULL,
    software_version TEXT NOT NULL,
    inventory TEXT NOT NULL,
    enrolled_at INTEGER NOT NULL,
    cert_serial TEXT NOT NULL,
    cert_not_after INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE TABLE idempotency (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    state TEXT NOT NULL,
    status INTEGER,
    content_type TEXT,
    body BLOB,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_created ON idempotency(created_at);
CREATE TABLE people (
    id_number TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    birth_date TEXT NOT NULL,
    pension_status TEXT NOT NULL,
    pension_fen INTEGER NOT NULL,
    pension_since TEXT
);
CREATE TABLE contributions (
    id_number TEXT NOT NULL REFERENCES people(id_number),
    month TEXT NOT NULL,
    employer TEXT NOT NULL,
    base_fen INTEGER NOT NULL,
    personal_fen INTEGER NOT NULL,
    employer_fen INTEGER NOT NULL,
    PRIMARY KEY (id_number, month)
);
CREATE TABLE certificates (
    number TEXT PRIMARY KEY,
    verification_code TEXT NOT NULL UNIQUE,
    device_id TEXT NOT NULL,
    document TEXT NOT NULL,
    issued_at INTEGER NOT NULL
);
CREATE TABLE applications (
    tracking_number TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    id_number TEXT NOT NULL,
    device_id TEXT NOT NULL,
    submitted_at INTEGER NOT NULL,
    deadline TEXT NOT NULL
);
CREATE INDEX applications_person ON applications(id_number, kind);
CREATE TABLE face_images (
    tracking_number TEXT PRIMARY KEY,
    nonce BLOB NOT NULL,
    ciphertext BLOB NOT NULL
);
CREATE TABLE ratings (
    rating_id TEXT PRIMARY KEY,
    device_id TEXT NOT NULL,
    document TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE terminal_state (
    device_id TEXT PRIMARY KEY,
    last_seen INTEGER,
    heartbeat TEXT,
    sessions_total INTEGER NOT NULL DEFAULT 0,
    failures_total INTEGER NOT NULL DEFAULT 0,
    heartbeats_total INTEGER NOT NULL DEFAULT 0,
    events_total INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE terminal_hourly (
    device_id TEXT NOT NULL,
    hour INTEGER NOT NULL,
    sessions INTEGER NOT NULL,
    failures INTEGER NOT NULL,
    backlog_max INTEGER NOT NULL,
    PRIMARY KEY (device_id, hour)
);
CREATE TABLE events (
    device_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    severity TEXT NOT NULL,
    detail TEXT,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (device_id, event_id)
);
CREATE INDEX events_recent ON events(device_id, at);
CREATE TABLE audit (
    device_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    at INTEGER NOT NULL,
    action TEXT NOT NULL,
    subject_masked TEXT,
    outcome TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (device_id, seq)
);
CREATE TABLE alerts (
    id INTEGER PRIMARY KEY,
    device_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL,
    opened_at INTEGER NOT NULL,
    cleared_at INTEGER
);
CREATE UNIQUE INDEX alerts_one_open ON alerts(device_id, kind) WHERE cleared_at IS NULL;
CREATE TABLE ops_users (
    username TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE ops_sessions (
    token_hash TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
