-- The fleet view's states (issue 21): what a terminal said about itself beyond its
-- heartbeats. `mode` is 'maintenance' (a technician is on it) or 'powered_off' (it
-- said so on a clean shutdown; its next heartbeat clears it), since `mode_since`.
ALTER TABLE terminal_state ADD COLUMN mode TEXT;
ALTER TABLE terminal_state ADD COLUMN mode_since INTEGER;
