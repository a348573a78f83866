-- Why the applicant's last job ended (unemployment registrations): the snake_case code
-- of `contract::UnemploymentReason`, stored as the terminal sent it. Earlier rows have none.
ALTER TABLE applications ADD COLUMN reason TEXT;
