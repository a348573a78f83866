-- Several central processes may share one PostgreSQL database, so "every reservation
-- still in flight at start-up belonged to a server that died" (true of SQLite's one
-- process) no longer holds: another live instance may be working on one. Each
-- reservation now names the store instance that owns it; an instance holds a
-- session-level advisory lock on its number while it runs, and start-up drops only
-- the reservations whose owner holds no such lock (it died). NULL: reserved before
-- this migration, by an instance that is gone.
ALTER TABLE idempotency ADD COLUMN owner INTEGER;
