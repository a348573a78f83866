-- The client reference a terminal printed on a "queued" receipt (`api::client_reference`
-- of the submission's Idempotency-Key), so the citizen can look the application up by it.
-- Nullable: applications stored before this migration have none.
ALTER TABLE applications ADD COLUMN client_reference TEXT;
CREATE INDEX applications_client_reference ON applications(client_reference) WHERE client_reference IS NOT NULL;
