-- The digits of a tracking number as typed on a terminal's keypad (`QC-20261121-483920`
-- -> `20261121483920`), stored so that lookup is an index search, not a table scan.
-- Existing rows are backfilled with the same rule the store applies on insert.
ALTER TABLE applications ADD COLUMN tracking_digits TEXT;
UPDATE applications
   SET tracking_digits = replace(substr(tracking_number, instr(tracking_number, '-') + 1), '-', '');
CREATE INDEX applications_tracking_digits ON applications(tracking_digits, submitted_at);
