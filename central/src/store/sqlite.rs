//! The default store: one SQLite file in WAL mode with versioned migrations
//! (`PRAGMA user_version` counts the migrations applied).

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension, params};

mod audit;
mod enrollment;
mod idempotency;
mod releases;
mod retention;
mod review;

pub(super) use idempotency::tracking_digits;

use super::*;
use crate::api::{AuditRecord, TelemetryEvent};
use crate::audit::ChainHead;

/// Migrations in order; never edit one that has shipped, append a new one.
pub const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/0001_initial.sql"),
    include_str!("../../migrations/0002_application_client_reference.sql"),
    include_str!("../../migrations/0003_application_tracking_digits.sql"),
    include_str!("../../migrations/0004_application_reason.sql"),
    include_str!("../../migrations/0005_tracking_sequence_access_log_retention.sql"),
    include_str!("../../migrations/0006_audit_chains.sql"),
    include_str!("../../migrations/0007_terminal_mode.sql"),
    include_str!("../../migrations/0008_decommissions.sql"),
    include_str!("../../migrations/0009_fleet_ca.sql"),
    include_str!("../../migrations/0010_back_office.sql"),
    include_str!("../../migrations/0011_releases_rollouts.sql"),
];

pub struct SqliteStore {
    conn: Mutex<Connection>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// The most recent application matching `condition` (one `?1` parameter).
    fn newest_application(&self, condition: &str, value: &str) -> StoreResult<Option<ApplicationRecord>> {
        Ok(self.lock()?.query_row(&newest_application_sql(condition), [value], application_from_row).optional()?)
    }

    /// Opens (creating if needed) the database at `path` and applies migrations.
    pub fn open(path: &Path) -> StoreResult<Self> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let store = Self { conn: Mutex::new(conn) };
        store.migrate()?;
        Ok(store)
    }

    /// The schema version of the database at `path` without changing anything (no
    /// migration, no file created): `None` when there is no database there.
    pub fn inspect_version(path: &Path) -> StoreResult<Option<usize>> {
        if !path.exists() {
            return Ok(None);
        }
        let c = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        let v: i64 = c.pragma_query_value(None, "user_version", |r| r.get(0))?;
        Ok(Some(usize::try_from(v).unwrap_or(0)))
    }

    /// Schema version after migrations.
    pub fn schema_version(&self) -> StoreResult<usize> {
        let c = self.lock()?;
        let v: i64 = c.pragma_query_value(None, "user_version", |r| r.get(0))?;
        Ok(v as usize)
    }

    fn migrate(&self) -> StoreResult<()> {
        let mut c = self.lock()?;
        let current: i64 = c.pragma_query_value(None, "user_version", |r| r.get(0))?;
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(current.max(0) as usize) {
            let version = i + 1;
            let tx = c.transaction()?;
            tx.execute_batch(sql).map_err(|e| StoreError::Migration { version, detail: e.to_string() })?;
            tx.pragma_update(None, "user_version", version as i64)?;
            tx.commit()?;
            tracing::info!(version, "applied database migration");
        }
        Ok(())
    }

    fn lock(&self) -> StoreResult<MutexGuard<'_, Connection>> {
        self.conn.lock().map_err(|_| StoreError::Poisoned)
    }
}

fn device_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DeviceRecord> {
    Ok(DeviceRecord {
        device_id: r.get(0)?,
        hostname: r.get(1)?,
        software_version: r.get(2)?,
        inventory_json: r.get(3)?,
        enrolled_at: r.get(4)?,
        cert_serial: r.get(5)?,
        cert_not_after: r.get(6)?,
        revoked_at: r.get(7)?,
    })
}

const DEVICE_COLS: &str = "d.device_id, d.hostname, d.software_version, d.inventory, d.enrolled_at, d.cert_serial, d.cert_not_after, d.revoked_at";

fn terminal_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TerminalRow> {
    Ok(TerminalRow {
        device: device_from_row(r)?,
        last_seen: r.get(8)?,
        heartbeat_json: r.get(9)?,
        sessions_total: r.get::<_, Option<i64>>(10)?.unwrap_or(0),
        failures_total: r.get::<_, Option<i64>>(11)?.unwrap_or(0),
        heartbeats_total: r.get::<_, Option<i64>>(12)?.unwrap_or(0),
        events_total: r.get::<_, Option<i64>>(13)?.unwrap_or(0),
        mode: r.get(14)?,
        mode_since: r.get(15)?,
        decommissioned: match r.get::<_, Option<i64>>(16)? {
            Some(at) => Some(Decommission {
                at,
                backlog_depth: r.get(17)?,
                backlog_oldest_age_s: r.get(18)?,
                last_seen: r.get(19)?,
            }),
            None => None,
        },
    })
}

fn person_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Person> {
    Ok(Person {
        id_number: r.get(0)?,
        name: r.get(1)?,
        birth_date: r.get(2)?,
        pension_status: r.get(3)?,
        pension_fen: r.get(4)?,
        pension_since: r.get(5)?,
    })
}

fn application_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ApplicationRecord> {
    Ok(ApplicationRecord {
        tracking_number: r.get(0)?,
        kind: r.get(1)?,
        status: r.get(2)?,
        id_number: r.get(3)?,
        device_id: r.get(4)?,
        submitted_at: r.get(5)?,
        deadline: r.get(6)?,
        client_reference: r.get(7)?,
        reason: r.get(8)?,
    })
}

fn alert_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AlertRow> {
    Ok(AlertRow {
        id: r.get(0)?,
        device_id: r.get(1)?,
        kind: r.get(2)?,
        detail: r.get(3)?,
        opened_at: r.get(4)?,
        cleared_at: r.get(5)?,
    })
}

fn newest_application_sql(condition: &str) -> String {
    newest_applications_sql(condition, 1)
}

fn newest_applications_sql(condition: &str, limit: u32) -> String {
    format!("SELECT {APPLICATION_COLS} FROM applications WHERE {condition} ORDER BY submitted_at DESC LIMIT {limit}")
}

/// Conditions of the three application lookups; each has its own index.
const BY_TRACKING_NUMBER: &str = "tracking_number = ?1";
const BY_TRACKING_DIGITS: &str = "tracking_digits = ?1";
const BY_CLIENT_REFERENCE: &str = "client_reference = ?1";

/// Columns read by [`application_from_row`], in its order.
const APPLICATION_COLS: &str =
    "tracking_number, kind, status, id_number, device_id, submitted_at, deadline, client_reference, reason";

/// [`Store::open_alert`] on `c`, which may be inside a transaction.
fn open_alert_in(c: &Connection, device_id: &str, kind: &str, detail: &str, now: i64) -> StoreResult<bool> {
    let n = c
        .prepare_cached("INSERT OR IGNORE INTO alerts(device_id, kind, detail, opened_at) VALUES (?1, ?2, ?3, ?4)")?
        .execute(params![device_id, kind, detail, now])?;
    Ok(n == 1)
}

fn rfc3339(t: &time::OffsetDateTime) -> i64 {
    t.unix_timestamp()
}

impl Store for SqliteStore {
    fn insert_token(&self, token_hash: &str, created_at: i64, expires_at: i64) -> StoreResult<()> {
        self.lock()?.execute(
            "INSERT INTO enrollment_tokens(token_hash, created_at, expires_at) VALUES (?1, ?2, ?3)",
            params![token_hash, created_at, expires_at],
        )?;
        Ok(())
    }

    fn consume_token(&self, token_hash: &str, now: i64, device_id: &str) -> StoreResult<TokenUse> {
        let c = self.lock()?;
        Ok(match enrollment::token_status(&c, token_hash, now)? {
            TokenUse::Accepted if !enrollment::spend_token(&c, token_hash, now, device_id)? => TokenUse::AlreadyUsed,
            status => status,
        })
    }

    fn token_status(&self, token_hash: &str, now: i64) -> StoreResult<TokenUse> {
        enrollment::token_status(&*self.lock()?, token_hash, now)
    }

    fn upsert_device(&self, d: &DeviceRecord) -> StoreResult<()> {
        enrollment::upsert_device(&*self.lock()?, d)
    }

    fn device(&self, device_id: &str) -> StoreResult<Option<DeviceRecord>> {
        Ok(self
            .lock()?
            .query_row(
                &format!("SELECT {DEVICE_COLS} FROM devices d WHERE d.device_id = ?1"),
                [device_id],
                device_from_row,
            )
            .optional()?)
    }

    fn revoke_device(&self, device_id: &str, now: i64) -> StoreResult<bool> {
        let n = self.lock()?.execute(
            "UPDATE devices SET revoked_at = ?2 WHERE device_id = ?1 AND revoked_at IS NULL",
            params![device_id, now],
        )?;
        Ok(n == 1)
    }

    fn fleet_ca(&self) -> StoreResult<Option<String>> {
        Ok(self.lock()?.query_row("SELECT ca_sha256 FROM fleet_ca WHERE id = 1", [], |r| r.get(0)).optional()?)
    }

    fn bind_fleet_ca(&self, ca_sha256: &str, now: i64) -> StoreResult<String> {
        let c = self.lock()?;
        c.execute(
            "INSERT INTO fleet_ca(id, ca_sha256, bound_at) VALUES (1, ?1, ?2) ON CONFLICT(id) DO NOTHING",
            params![ca_sha256, now],
        )?;
        Ok(c.query_row("SELECT ca_sha256 FROM fleet_ca WHERE id = 1", [], |r| r.get(0))?)
    }

    fn idempotency_begin(
        &self,
        scope: &str,
        key: &str,
        request_hash: &str,
        now: i64,
        stale_before: i64,
    ) -> StoreResult<IdempotencyBegin> {
        idempotency::begin(&*self.lock()?, scope, key, request_hash, now, stale_before)
    }

    fn idempotency_commit(
        &self,
        scope: &str,
        key: &str,
        records: &[NewRecord],
        response: &StoredResponse,
    ) -> StoreResult<Option<StoredResponse>> {
        idempotency::commit(&mut *self.lock()?, scope, key, records, response)
    }

    fn idempotency_abandon(&self, scope: &str, key: &str) -> StoreResult<()> {
        idempotency::abandon(&*self.lock()?, scope, key)
    }

    fn idempotency_purge(&self, created_before: i64) -> StoreResult<usize> {
        idempotency::purge(&*self.lock()?, created_before)
    }

    fn idempotency_abandon_all_in_flight(&self) -> StoreResult<usize> {
        Ok(self.lock()?.execute("DELETE FROM idempotency WHERE state = 'in_flight'", [])?)
    }

    fn registry_is_empty(&self) -> StoreResult<bool> {
        let n: i64 = self.lock()?.query_row("SELECT count(*) FROM people", [], |r| r.get(0))?;
        Ok(n == 0)
    }

    fn insert_registry(&self, people: &[(Person, Vec<ContributionRecord>)]) -> StoreResult<()> {
        let mut c = self.lock()?;
        let tx = c.transaction()?;
        {
            let mut p = tx.prepare(
                "INSERT INTO people(id_number, name, birth_date, pension_status, pension_fen, pension_since) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            let mut m = tx.prepare(
                "INSERT INTO contributions(id_number, month, employer, base_fen, personal_fen, employer_fen) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for (person, months) in people {
                p.execute(params![
                    person.id_number,
                    person.name,
                    person.birth_date,
                    person.pension_status,
                    person.pension_fen,
                    person.pension_since
                ])?;
                for r in months {
                    m.execute(params![
                        person.id_number,
                        r.month,
                        r.employer,
                        r.base_fen,
                        r.personal_fen,
                        r.employer_fen
                    ])?;
                }
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn person(&self, id_number: &str) -> StoreResult<Option<Person>> {
        Ok(self
            .lock()?
            .query_row(
                "SELECT id_number, name, birth_date, pension_status, pension_fen, pension_since FROM people WHERE id_number = ?1",
                [id_number],
                person_from_row,
            )
            .optional()?)
    }

    fn contributions(&self, id_number: &str) -> StoreResult<Vec<ContributionRecord>> {
        let c = self.lock()?;
        let mut s = c.prepare_cached(
            "SELECT month, employer, base_fen, personal_fen, employer_fen FROM contributions WHERE id_number = ?1 ORDER BY month",
        )?;
        let rows = s.query_map([id_number], |r| {
            Ok(ContributionRecord {
                month: r.get(0)?,
                employer: r.get(1)?,
                base_fen: r.get(2)?,
                personal_fen: r.get(3)?,
                employer_fen: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn sample_people(&self, pension_status: &str, limit: u32) -> StoreResult<Vec<Person>> {
        let c = self.lock()?;
        let mut s = c.prepare(
            "SELECT id_number, name, birth_date, pension_status, pension_fen, pension_since FROM people WHERE pension_status = ?1 ORDER BY id_number LIMIT ?2",
        )?;
        let rows = s.query_map(params![pension_status, limit], person_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn certificate_by_code(&self, code: &str) -> StoreResult<Option<String>> {
        Ok(self
            .lock()?
            .query_row("SELECT document FROM certificates WHERE verification_code = ?1", [code], |r| r.get(0))
            .optional()?)
    }

    fn application(&self, tracking_number: &str) -> StoreResult<Option<ApplicationRecord>> {
        self.newest_application(BY_TRACKING_NUMBER, tracking_number)
    }

    fn applications_by_digits(&self, digits: &str) -> StoreResult<Vec<ApplicationRecord>> {
        let c = self.lock()?;
        let mut s = c.prepare_cached(&newest_applications_sql(BY_TRACKING_DIGITS, 2))?;
        let rows = s.query_map([digits], application_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn next_tracking_sequence(&self, day: &str) -> StoreResult<u64> {
        let last: i64 = self.lock()?.query_row(
            "INSERT INTO tracking_days(day, last) VALUES (?1, 1)
             ON CONFLICT(day) DO UPDATE SET last = last + 1 RETURNING last",
            [day],
            |r| r.get(0),
        )?;
        u64::try_from(last).map_err(|_| StoreError::Corrupt(format!("tracking sequence of {day} is {last}")))
    }

    fn application_by_client_reference(&self, reference: &str) -> StoreResult<Option<ApplicationRecord>> {
        self.newest_application(BY_CLIENT_REFERENCE, reference)
    }

    fn open_application(&self, id_number: &str, kind: &str) -> StoreResult<Option<ApplicationRecord>> {
        Ok(self
            .lock()?
            .query_row(
                &format!(
                    "SELECT {APPLICATION_COLS} FROM applications
                 WHERE id_number = ?1 AND kind = ?2 AND status IN ('received', 'under_review', 'approved')
                 ORDER BY submitted_at DESC LIMIT 1"
                ),
                [id_number, kind],
                application_from_row,
            )
            .optional()?)
    }

    fn face_image(&self, tracking_number: &str) -> StoreResult<Option<(Vec<u8>, Vec<u8>)>> {
        Ok(self
            .lock()?
            .query_row("SELECT nonce, ciphertext FROM face_images WHERE tracking_number = ?1", [tracking_number], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?)
    }

    fn activity_counts(&self) -> StoreResult<ActivityCounts> {
        Ok(self.lock()?.query_row(
            "SELECT (SELECT count(*) FROM people), (SELECT count(*) FROM certificates),
                    (SELECT count(*) FROM applications), (SELECT count(*) FROM ratings)",
            [],
            |r| {
                Ok(ActivityCounts {
                    people: r.get(0)?,
                    certificates: r.get(1)?,
                    applications: r.get(2)?,
                    ratings: r.get(3)?,
                })
            },
        )?)
    }

    fn record_heartbeat(&self, hb: &HeartbeatRecord) -> StoreResult<AlertChanges> {
        let mut c = self.lock()?;
        let tx = c.transaction()?;
        let changes = heartbeat_in(&tx, hb)?;
        tx.commit()?;
        Ok(changes)
    }

    fn record_heartbeat_once(
        &self,
        scope: &str,
        key: &str,
        request_hash: &str,
        hb: &HeartbeatRecord,
        reply: &StoredResponse,
    ) -> StoreResult<Option<AlertChanges>> {
        let mut c = self.lock()?;
        let tx = c.transaction()?;
        if !idempotency::insert_done(&tx, scope, key, request_hash, hb.received_at, reply)? {
            return Ok(None);
        }
        let changes = heartbeat_in(&tx, hb)?;
        tx.commit()?;
        Ok(Some(changes))
    }

    fn insert_events(&self, device_id: &str, events: &[TelemetryEvent], now: i64) -> StoreResult<u32> {
        let mut c = self.lock()?;
        let tx = c.transaction()?;
        let mut n = 0u32;
        {
            let mut s = tx.prepare_cached(
                "INSERT OR IGNORE INTO events(device_id, event_id, at, kind, severity, detail, received_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            for e in events {
                let severity = serde_json::to_value(e.severity)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                n += s.execute(params![device_id, e.id, rfc3339(&e.at), e.kind, severity, e.detail, now])? as u32;
            }
        }
        tx.execute(
            "INSERT INTO terminal_state(device_id, events_total, sessions_total, failures_total, heartbeats_total) VALUES (?1, ?2, 0, 0, 0)
             ON CONFLICT(device_id) DO UPDATE SET events_total = events_total + ?2",
            params![device_id, n],
        )?;
        tx.commit()?;
        Ok(n)
    }

    fn insert_audit(&self, device_id: &str, records: &[AuditRecord], now: i64) -> StoreResult<AuditIngest> {
        audit::insert(&mut *self.lock()?, device_id, records, now)
    }

    fn audit_head(&self, device_id: &str) -> StoreResult<Option<ChainHead>> {
        audit::head(&*self.lock()?, device_id)
    }

    fn audit_versions(&self, device_id: &str, seq: u64) -> StoreResult<Vec<StoredAudit>> {
        audit::versions(&*self.lock()?, device_id, seq)
    }

    fn open_alert(&self, device_id: &str, kind: &str, detail: &str, now: i64) -> StoreResult<bool> {
        open_alert_in(&*self.lock()?, device_id, kind, detail, now)
    }

    fn clear_alert(&self, device_id: &str, kind: &str, now: i64) -> StoreResult<bool> {
        let n = self
            .lock()?
            .prepare_cached(
                "UPDATE alerts SET cleared_at = ?3 WHERE device_id = ?1 AND kind = ?2 AND cleared_at IS NULL",
            )?
            .execute(params![device_id, kind, now])?;
        Ok(n > 0)
    }

    fn decommission_device(&self, device_id: &str, now: i64) -> StoreResult<Option<Decommission>> {
        let mut c = self.lock()?;
        let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let refused = tx.execute(
            "UPDATE devices SET revoked_at = ?2 WHERE device_id = ?1 AND revoked_at IS NULL",
            params![device_id, now],
        )?;
        if refused != 1 {
            return Ok(None);
        }
        let last: Option<(Option<i64>, Option<String>)> = tx
            .query_row("SELECT last_seen, heartbeat FROM terminal_state WHERE device_id = ?1", [device_id], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?;
        let (last_seen, heartbeat) = last.unwrap_or_default();
        let outbox =
            heartbeat.as_deref().and_then(|j| serde_json::from_str::<crate::api::Heartbeat>(j).ok()).map(|h| h.outbox);
        let record = Decommission {
            at: now,
            backlog_depth: outbox.map(|o| i64::from(o.depth)),
            backlog_oldest_age_s: outbox.map(|o| i64::try_from(o.oldest_age_s).unwrap_or(i64::MAX)),
            last_seen,
        };
        tx.execute(
            "INSERT INTO decommissions(device_id, at, backlog_depth, backlog_oldest_age_s, last_seen) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![device_id, record.at, record.backlog_depth, record.backlog_oldest_age_s, record.last_seen],
        )?;
        tx.commit()?;
        Ok(Some(record))
    }

    fn set_terminal_mode(&self, device_id: &str, mode: Option<&str>, since: i64) -> StoreResult<()> {
        self.lock()?
            .prepare_cached(
                "INSERT INTO terminal_state(device_id, sessions_total, failures_total, heartbeats_total, events_total, mode, mode_since)
                 VALUES (?1, 0, 0, 0, 0, ?2, ?3)
                 ON CONFLICT(device_id) DO UPDATE SET mode = ?2, mode_since = ?3",
            )?
            .execute(params![device_id, mode, since])?;
        Ok(())
    }

    fn terminals(&self) -> StoreResult<Vec<TerminalRow>> {
        let c = self.lock()?;
        let mut s = c.prepare(&format!(
            "SELECT {DEVICE_COLS}, t.last_seen, t.heartbeat, t.sessions_total, t.failures_total, t.heartbeats_total, t.events_total,
               t.mode, t.mode_since, x.at, x.backlog_depth, x.backlog_oldest_age_s, x.last_seen
             FROM devices d LEFT JOIN terminal_state t ON t.device_id = d.device_id
               LEFT JOIN decommissions x ON x.device_id = d.device_id ORDER BY d.device_id"
        ))?;
        let rows = s.query_map([], terminal_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn terminal(&self, device_id: &str) -> StoreResult<Option<TerminalRow>> {
        Ok(self
            .lock()?
            .query_row(
                &format!(
                    "SELECT {DEVICE_COLS}, t.last_seen, t.heartbeat, t.sessions_total, t.failures_total, t.heartbeats_total, t.events_total,
                       t.mode, t.mode_since, x.at, x.backlog_depth, x.backlog_oldest_age_s, x.last_seen
                     FROM devices d LEFT JOIN terminal_state t ON t.device_id = d.device_id
                       LEFT JOIN decommissions x ON x.device_id = d.device_id WHERE d.device_id = ?1"
                ),
                [device_id],
                terminal_from_row,
            )
            .optional()?)
    }

    fn recent_events(&self, device_id: &str, limit: u32) -> StoreResult<Vec<EventRow>> {
        let c = self.lock()?;
        let mut s = c.prepare(
            "SELECT at, kind, severity, detail FROM events WHERE device_id = ?1 ORDER BY at DESC, received_at DESC LIMIT ?2",
        )?;
        let rows = s.query_map(params![device_id, limit], |r| {
            Ok(EventRow { at: r.get(0)?, kind: r.get(1)?, severity: r.get(2)?, detail: r.get(3)? })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn hourly(&self, device_id: &str, from_hour: i64) -> StoreResult<Vec<HourBucket>> {
        let c = self.lock()?;
        let mut s = c.prepare(
            "SELECT hour, sessions, failures, backlog_max FROM terminal_hourly WHERE device_id = ?1 AND hour >= ?2 ORDER BY hour",
        )?;
        let rows = s.query_map(params![device_id, from_hour], |r| {
            Ok(HourBucket { hour: r.get(0)?, sessions: r.get(1)?, failures: r.get(2)?, backlog_max: r.get(3)? })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn alerts(&self, limit: u32) -> StoreResult<Vec<AlertRow>> {
        let c = self.lock()?;
        let mut s = c.prepare(
            "SELECT id, device_id, kind, detail, opened_at, cleared_at FROM alerts
             ORDER BY cleared_at IS NOT NULL, coalesce(cleared_at, opened_at) DESC LIMIT ?1",
        )?;
        let rows = s.query_map([limit], alert_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn open_silence_alerts(&self, seen_before: i64, kind: &str, detail: &str, now: i64) -> StoreResult<Vec<String>> {
        let c = self.lock()?;
        let mut s = c.prepare_cached(
            "INSERT OR IGNORE INTO alerts(device_id, kind, detail, opened_at)
             SELECT d.device_id, ?2, ?3, ?4 FROM devices d LEFT JOIN terminal_state t ON t.device_id = d.device_id
             WHERE d.revoked_at IS NULL AND coalesce(t.last_seen, d.enrolled_at) < ?1
               AND NOT EXISTS (SELECT 1 FROM alerts a WHERE a.device_id = d.device_id AND a.kind = ?2 AND a.cleared_at IS NULL)
             RETURNING device_id",
        )?;
        let rows = s.query_map(params![seen_before, kind, detail, now], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn open_alerts(&self) -> StoreResult<Vec<AlertRow>> {
        let c = self.lock()?;
        let mut s = c.prepare_cached(
            "SELECT id, device_id, kind, detail, opened_at, cleared_at FROM alerts WHERE cleared_at IS NULL
             ORDER BY opened_at DESC",
        )?;
        let rows = s.query_map([], alert_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn upsert_user(&self, username: &str, password_hash: &str, now: i64) -> StoreResult<()> {
        self.lock()?.execute(
            "INSERT INTO ops_users(username, password_hash, created_at) VALUES (?1, ?2, ?3)
             ON CONFLICT(username) DO UPDATE SET password_hash = ?2",
            params![username, password_hash, now],
        )?;
        Ok(())
    }

    fn user_password_hash(&self, username: &str) -> StoreResult<Option<String>> {
        Ok(self
            .lock()?
            .query_row("SELECT password_hash FROM ops_users WHERE username = ?1", [username], |r| r.get(0))
            .optional()?)
    }

    fn insert_session(&self, token_hash: &str, username: &str, expires_at: i64) -> StoreResult<()> {
        self.lock()?.execute(
            "INSERT INTO ops_sessions(token_hash, username, expires_at) VALUES (?1, ?2, ?3)",
            params![token_hash, username, expires_at],
        )?;
        Ok(())
    }

    fn session_user(&self, token_hash: &str, now: i64) -> StoreResult<Option<String>> {
        Ok(self
            .lock()?
            .query_row(
                "SELECT username FROM ops_sessions WHERE token_hash = ?1 AND expires_at > ?2",
                params![token_hash, now],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        self.lock()?.execute("DELETE FROM ops_sessions WHERE token_hash = ?1", [token_hash])?;
        Ok(())
    }

    fn set_user_role(&self, username: &str, role: &str) -> StoreResult<bool> {
        Ok(self.lock()?.execute("UPDATE ops_users SET role = ?2 WHERE username = ?1", params![username, role])? == 1)
    }

    fn user_role(&self, username: &str) -> StoreResult<Option<String>> {
        Ok(self
            .lock()?
            .query_row("SELECT role FROM ops_users WHERE username = ?1", [username], |r| r.get(0))
            .optional()?)
    }

    fn assign_review(&self, reviewer: &str, now: i64) -> StoreResult<Option<ReviewItem>> {
        review::assign(&mut *self.lock()?, reviewer, now)
    }

    fn review_item(&self, tracking_number: &str) -> StoreResult<Option<ReviewItem>> {
        review::item(&*self.lock()?, tracking_number)
    }

    fn decide_review(&self, decision: &ReviewDecision) -> StoreResult<DecideOutcome> {
        review::decide(&mut *self.lock()?, decision)
    }

    fn review_counts(&self) -> StoreResult<(i64, i64)> {
        review::counts(&*self.lock()?)
    }

    fn insert_release(&self, release: &ReleaseRecord) -> StoreResult<bool> {
        releases::insert_release(&*self.lock()?, release)
    }

    fn release(&self, version: &str, architecture: &str) -> StoreResult<Option<ReleaseRecord>> {
        releases::release(&*self.lock()?, version, architecture)
    }

    fn release_by_sha256(&self, sha256: &str) -> StoreResult<Option<ReleaseRecord>> {
        releases::release_by_sha256(&*self.lock()?, sha256)
    }

    fn start_rollout(
        &self,
        version: &str,
        architecture: &str,
        percent: Option<i64>,
        devices: Option<&[String]>,
        now: i64,
    ) -> StoreResult<i64> {
        releases::start_rollout(&mut *self.lock()?, version, architecture, percent, devices, now)
    }

    fn set_rollout_state(&self, id: i64, from: &str, to: &str, now: i64) -> StoreResult<bool> {
        releases::set_rollout_state(&*self.lock()?, id, from, to, now)
    }

    fn widen_rollout(&self, id: i64, percent: i64, now: i64) -> StoreResult<bool> {
        releases::widen_rollout(&*self.lock()?, id, percent, now)
    }

    fn rollout(&self, id: i64) -> StoreResult<Option<Rollout>> {
        releases::rollout_by_id(&*self.lock()?, id)
    }

    fn rollouts(&self) -> StoreResult<Vec<Rollout>> {
        releases::rollouts(&*self.lock()?)
    }

    fn active_rollout(&self, architecture: &str) -> StoreResult<Option<Rollout>> {
        releases::active_rollout(&*self.lock()?, architecture)
    }

    fn record_update_outcome(&self, outcome: &UpdateOutcome) -> StoreResult<()> {
        releases::record_outcome(&*self.lock()?, outcome)
    }

    fn update_outcome(&self, device_id: &str, version: &str) -> StoreResult<Option<UpdateOutcome>> {
        releases::outcome(&*self.lock()?, device_id, version)
    }

    fn update_outcomes(&self, version: &str) -> StoreResult<Vec<UpdateOutcome>> {
        releases::outcomes(&*self.lock()?, version)
    }

    fn record_registry_access(&self, access: &RegistryAccess) -> StoreResult<()> {
        retention::insert_access(&*self.lock()?, access)
    }

    fn recent_registry_access(&self, limit: u32) -> StoreResult<Vec<RegistryAccess>> {
        retention::recent_access(&*self.lock()?, limit)
    }

    fn enforce_retention(&self, cutoffs: &RetentionCutoffs) -> StoreResult<RetentionReport> {
        retention::enforce(&mut *self.lock()?, cutoffs)
    }
}

/// A heartbeat's rows and alerts, inside the caller's transaction.
fn heartbeat_in(tx: &rusqlite::Transaction<'_>, hb: &HeartbeatRecord) -> StoreResult<AlertChanges> {
    tx.prepare_cached(
        "INSERT INTO terminal_state(device_id, last_seen, heartbeat, sessions_total, failures_total, heartbeats_total, events_total)
         VALUES (?1, ?2, ?3, ?4, ?5, 1, 0)
         ON CONFLICT(device_id) DO UPDATE SET last_seen = ?2, heartbeat = ?3,
           sessions_total = sessions_total + ?4, failures_total = failures_total + ?5,
           heartbeats_total = heartbeats_total + 1,
           -- A heartbeat says it is on again.
           mode = CASE WHEN mode = 'powered_off' THEN NULL ELSE mode END",
    )?
    .execute(params![hb.device_id, hb.received_at, hb.json, hb.sessions, hb.failures])?;
    tx.prepare_cached(
        "INSERT INTO terminal_hourly(device_id, hour, sessions, failures, backlog_max) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(device_id, hour) DO UPDATE SET sessions = sessions + ?3, failures = failures + ?4,
           backlog_max = max(backlog_max, ?5)",
    )?
    .execute(params![
        hb.device_id,
        hb.received_at.div_euclid(3600),
        hb.sessions,
        hb.failures,
        hb.backlog_depth
    ])?;
    let mut changes = AlertChanges::default();
    for (kind, detail) in &hb.alerts {
        match detail {
            Some(detail) => {
                if open_alert_in(tx, &hb.device_id, kind, detail, hb.received_at)? {
                    changes.opened.push((kind.clone(), detail.clone()));
                }
            }
            None => {
                let n = tx
                    .prepare_cached(
                        "UPDATE alerts SET cleared_at = ?3 WHERE device_id = ?1 AND kind = ?2 AND cleared_at IS NULL",
                    )?
                    .execute(params![hb.device_id, kind, hb.received_at])?;
                if n > 0 {
                    changes.cleared.push(kind.clone());
                }
            }
        }
    }
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_run_once_and_record_the_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let s = SqliteStore::open(&path).unwrap();
        assert_eq!(s.schema_version().unwrap(), MIGRATIONS.len());
        drop(s);
        let s = SqliteStore::open(&path).unwrap();
        assert_eq!(s.schema_version().unwrap(), MIGRATIONS.len());
    }

    #[test]
    fn the_releases_migration_applies_to_a_database_of_the_previous_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let previous = MIGRATIONS.len() - 1;
        {
            let mut c = Connection::open(&path).unwrap();
            let tx = c.transaction().unwrap();
            for sql in &MIGRATIONS[..previous] {
                tx.execute_batch(sql).unwrap();
            }
            tx.pragma_update(None, "user_version", previous as i64).unwrap();
            tx.commit().unwrap();
        }
        let s = SqliteStore::open(&path).unwrap();
        assert_eq!(s.schema_version().unwrap(), MIGRATIONS.len());
        let id = s.start_rollout("0.2.0", "arm64", Some(5), None, 1).unwrap();
        assert_eq!(s.active_rollout("arm64").unwrap().map(|r| r.id), Some(id));
    }

    #[test]
    fn the_audit_chain_migration_keeps_every_record_and_makes_the_highest_the_head() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        {
            let mut c = Connection::open(&path).unwrap();
            let tx = c.transaction().unwrap();
            for sql in &MIGRATIONS[..5] {
                tx.execute_batch(sql).unwrap();
            }
            tx.pragma_update(None, "user_version", 5).unwrap();
            for (device, seq) in [("KT-1", 1), ("KT-1", 2), ("KT-1", 3), ("KT-2", 1)] {
                tx.execute(
                    "INSERT INTO audit(device_id, seq, at, action, subject_masked, outcome, prev_hash, hash)
                     VALUES (?1, ?2, 100, 'session.started', NULL, 'ok', ?3, ?4)",
                    params![device, seq, format!("{:064}", seq - 1), format!("{:064}", seq)],
                )
                .unwrap();
            }
            tx.commit().unwrap();
        }
        let s = SqliteStore::open(&path).unwrap();
        let head = s.audit_head("KT-1").unwrap().unwrap();
        assert_eq!((head.chain, head.seq, head.hash), (1, 3, format!("{:064}", 3)));
        assert_eq!(s.audit_head("KT-2").unwrap().unwrap().seq, 1);
        assert_eq!(s.audit_head("KT-3").unwrap(), None);
        assert_eq!(s.audit_versions("KT-1", 2).unwrap().len(), 1);
        // The next record links to the migrated head: no break.
        let next = AuditRecord {
            seq: 4,
            at: time::OffsetDateTime::from_unix_timestamp(200).unwrap(),
            action: "session.finished".into(),
            subject_masked: None,
            outcome: "ok".into(),
            prev_hash: format!("{:064}", 3),
            hash: format!("{:064}", 4),
        };
        let got = s.insert_audit("KT-1", &[next], 300).unwrap();
        assert_eq!((got.stored, got.breaks.len()), (1, 0));
        // The retention sweep finds old records by time through the rebuilt index.
        let c = s.lock().unwrap();
        let plan: String =
            c.query_row("EXPLAIN QUERY PLAN DELETE FROM audit WHERE at < 150", [], |r| r.get(3)).unwrap();
        assert!(plan.contains("audit_at"), "{plan}");
    }

    #[test]
    fn debug_of_stored_people_and_applications_masks_personal_data() {
        let app = ApplicationRecord {
            tracking_number: "UR-20261126-000001".into(),
            kind: "unemployment_registration".into(),
            status: "received".into(),
            id_number: "450103199001010032".into(),
            device_id: "KT-1".into(),
            submitted_at: 0,
            deadline: "2026-12-11".into(),
            client_reference: None,
            reason: None,
        };
        let shown = format!("{:?}", NewRecord::Application(app));
        assert!(shown.contains("4501**********0032") && !shown.contains("450103199001010032"), "{shown}");
        let (person, _) = crate::registry::generate(3).remove(2);
        let shown = format!("{person:?}");
        assert!(shown.contains("4501**********0032") && !shown.contains(&person.name), "{shown}");
        assert!(!shown.contains("450103199001010032") && !shown.contains(&person.birth_date), "{shown}");
    }

    /// The query plan of one application lookup, all detail lines joined.
    fn plan(s: &SqliteStore, condition: &str) -> String {
        let c = s.lock().unwrap();
        let mut q = c.prepare(&format!("EXPLAIN QUERY PLAN {}", newest_application_sql(condition))).unwrap();
        let rows = q.query_map(["20261121483920"], |r| r.get::<_, String>(3)).unwrap();
        rows.collect::<Result<Vec<_>, _>>().unwrap().join("; ")
    }

    #[test]
    fn every_application_lookup_searches_an_index_instead_of_scanning() {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStore::open(&dir.path().join("c.db")).unwrap();
        for (condition, index) in [
            (BY_TRACKING_NUMBER, "sqlite_autoindex_applications_1"),
            (BY_TRACKING_DIGITS, "applications_tracking_digits"),
            (BY_CLIENT_REFERENCE, "applications_client_reference"),
        ] {
            let plan = plan(&s, condition);
            assert!(plan.contains(&format!("SEARCH applications USING INDEX {index}")), "{condition}: {plan}");
            assert!(!plan.contains("SCAN applications"), "{condition}: {plan}");
        }
    }

    #[test]
    fn tracking_digits_agree_with_the_migration_backfill() {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStore::open(&dir.path().join("c.db")).unwrap();
        let c = s.lock().unwrap();
        for tracking in ["QC-20261121-483920", "UR-20261101-000001", "20261121483920", "X-1-2-3"] {
            let backfill: String = c
                .query_row("SELECT replace(substr(?1, instr(?1, '-') + 1), '-', '')", [tracking], |r| r.get(0))
                .unwrap();
            assert_eq!(idempotency::tracking_digits(tracking), backfill, "{tracking}");
        }
        assert_eq!(idempotency::tracking_digits("QC-20261121-483920"), "20261121483920");
    }
}
