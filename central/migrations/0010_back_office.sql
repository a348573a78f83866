-- The back office (受理—经办—反馈): reviewers decide qualification checks left pending
-- and employment subsidy applications. A role on ops users (operations staff are not
-- reviewers unless given the role); what a reviewer needs that the application row
-- does not hold (why it is pending, the liveness evidence, a phone to notify), kept
-- until the decision; and one row per item: who it is assigned to, and who decided
-- what, why and when.
ALTER TABLE ops_users ADD COLUMN role TEXT NOT NULL DEFAULT 'operations';
CREATE TABLE review_material (
    tracking_number TEXT PRIMARY KEY,
    pending_reason TEXT,
    liveness TEXT,
    phone TEXT
);
CREATE TABLE reviews (
    tracking_number TEXT PRIMARY KEY,
    reviewer TEXT NOT NULL,
    assigned_at INTEGER NOT NULL,
    decision TEXT,
    reason TEXT,
    decided_at INTEGER
);
CREATE INDEX reviews_open ON reviews(reviewer) WHERE decided_at IS NULL;
