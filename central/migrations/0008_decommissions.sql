-- Decommissioned terminals (issue 21). The device row stays (its history stays under
-- its id) with `revoked_at` set, so every certificate check refuses it; this table says
-- it was retired on purpose and what its outbox still held, by its last heartbeat,
-- when it was: those submissions never arrive and are listed as lost, not forgotten.
CREATE TABLE decommissions (
    device_id TEXT PRIMARY KEY REFERENCES devices(device_id),
    at INTEGER NOT NULL,
    -- NULL: the terminal never sent a heartbeat.
    backlog_depth INTEGER,
    backlog_oldest_age_s INTEGER,
    last_seen INTEGER
);
