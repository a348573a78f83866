-- Staged software updates (issue 21). Packages signed offline by operations are
-- published here (the file itself lives in the releases directory as <sha256>.deb);
-- a rollout offers one version to part of the fleet of one architecture; what each
-- terminal reported about installing a version is its outcome, so a terminal that
-- rolled back (or refused a package) is not offered the same version again.
CREATE TABLE releases (
    package TEXT NOT NULL,
    version TEXT NOT NULL,
    architecture TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    -- The `SignedRelease` exactly as operations signed it: terminals verify this.
    signed_release_json TEXT NOT NULL,
    published_at INTEGER NOT NULL,
    PRIMARY KEY (package, version, architecture)
);
CREATE INDEX releases_sha256 ON releases(sha256);
CREATE TABLE rollouts (
    id INTEGER PRIMARY KEY,
    version TEXT NOT NULL,
    architecture TEXT NOT NULL,
    -- Exactly one of the two says whom it targets.
    percent INTEGER CHECK (percent BETWEEN 1 AND 100),
    devices TEXT,
    state TEXT NOT NULL CHECK (state IN ('active', 'paused', 'superseded')),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
-- One current rollout per architecture: starting one supersedes the one before.
CREATE UNIQUE INDEX rollouts_current ON rollouts(architecture) WHERE state IN ('active', 'paused');
CREATE TABLE update_outcomes (
    device_id TEXT NOT NULL,
    version TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('installed', 'rolled_back', 'refused')),
    reason TEXT,
    at INTEGER NOT NULL,
    PRIMARY KEY (device_id, version)
);
