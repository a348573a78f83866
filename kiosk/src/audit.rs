//! The audit trail: every operation appended to a hash-chained SQLite table, so that
//! an edited or deleted record is detected by [`AuditLog::verify`]; records are
//! shipped to the central service in batches through the outbox.
//!
//! The chain is keyed (HMAC-SHA256 with a device key kept beside the table, mode
//! 0600): whoever edits the table without the key cannot recompute a link. What a
//! thief with the whole disk could still do, wipe and restart the trail, the central
//! service sees, since it checks each terminal's chain for gaps, forks and resets on
//! ingest.

use hmac::{Hmac, Mac as _};
use rusqlite::{Connection, OptionalExtension as _, params};
use session::{AuditRecord, EndReason, Health, Problem, RatingGrade};
use sha2::Sha256;
use std::path::Path;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The hash before the first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("audit database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("audit key: {0}")]
    Key(#[from] crate::outbox::sealing::SealError),
}

/// One stored record, shaped like the central API's audit record.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Entry {
    pub seq: u64,
    /// RFC 3339, whole seconds, UTC.
    pub at: String,
    /// Dotted lower-case operation, e.g. `card.read`.
    pub action: String,
    pub subject_masked: Option<String>,
    pub outcome: String,
    pub prev_hash: String,
    pub hash: String,
}

/// What `verify` found wrong, first problem only.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Broken {
    #[error("record {seq} was edited: its hash does not match its content")]
    Edited { seq: u64 },
    #[error("record(s) before {seq} were deleted: expected seq {expected}")]
    Gap { seq: u64, expected: u64 },
    #[error("record {seq} does not chain to the record before it")]
    Unchained { seq: u64 },
    #[error("the newest record(s) were deleted: the head says {head_seq}, the table ends at {last_seq}")]
    Truncated { head_seq: u64, last_seq: u64 },
    #[error("the head record was deleted (the table holds {last_seq} records): the newest ones may be gone too")]
    HeadMissing { last_seq: u64 },
}

pub struct AuditLog {
    conn: Connection,
    key: zeroize::Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AuditLog({:?})", self.conn.path())
    }
}

fn digest(key: &[u8], prev: &str, seq: u64, at: &str, action: &str, subject: Option<&str>, outcome: &str) -> String {
    // Any key length is valid for HMAC: this cannot fail.
    let Ok(mut h) = Hmac::<Sha256>::new_from_slice(key) else { return String::new() };
    for part in [prev, &seq.to_string(), at, action, subject.unwrap_or(""), outcome] {
        h.update(part.as_bytes());
        h.update(&[0u8]);
    }
    hex::encode(h.finalize().into_bytes())
}

/// Maps a session-core record to (action, masked subject, outcome). Outcomes and
/// actions are lower-case codes (`[a-z0-9_.]`), as the central API requires.
pub fn describe(record: &AuditRecord) -> (String, Option<String>, String) {
    fn code<T: serde::Serialize>(v: &T) -> String {
        match serde_json::to_value(v) {
            Ok(serde_json::Value::String(s)) => s,
            Ok(serde_json::Value::Object(m)) => m.keys().next().cloned().unwrap_or_default(),
            _ => "unknown".into(),
        }
    }
    fn problem(p: &Option<Problem>) -> String {
        p.as_ref().map_or("ok".into(), code)
    }
    let grade = |g: &Option<RatingGrade>| g.as_ref().map_or("skipped".into(), code);
    let end = |r: &EndReason| code(r);
    match record {
        AuditRecord::SessionStarted { session } => ("session.started".into(), None, format!("s{session}")),
        // Which document was read is part of the action; the number only masked.
        AuditRecord::CardRead { masked_id, document, .. } => {
            (format!("card.read.{}", code(document)), Some(masked_id.clone()), "ok".into())
        }
        AuditRecord::CardRefused { document, problem } => {
            (format!("card.read.{}", code(document)), None, format!("refused.{}", code(problem)))
        }
        AuditRecord::ServiceChosen { service, .. } => ("service.chosen".into(), None, code(service)),
        AuditRecord::Submitted { service, delivered, .. } => {
            (format!("submission.{}", code(service)), None, if *delivered { "submitted" } else { "queued" }.into())
        }
        AuditRecord::SubmissionFailed { service, .. } => {
            (format!("submission.{}", code(service)), None, "failed".into())
        }
        AuditRecord::PrintResult { service, problem: p, .. } => (format!("print.{}", code(service)), None, problem(p)),
        AuditRecord::Rated { service, grade: g, .. } => (format!("rating.{}", code(service)), None, grade(g)),
        AuditRecord::DeviceFault { device, problem: p } => (format!("device.{}", code(device)), None, problem(p)),
        AuditRecord::CertificateRejected { .. } => ("certificate.rejected".into(), None, "bad_signature".into()),
        AuditRecord::SessionEnded { reason, .. } => ("session.ended".into(), None, end(reason)),
        AuditRecord::MaintenanceEntered => ("maintenance.entered".into(), None, "ok".into()),
        AuditRecord::MaintenancePinRefused { locked_out } => {
            ("maintenance.pin".into(), None, if *locked_out { "locked_out" } else { "refused" }.into())
        }
        AuditRecord::SelfTest { subject, passed } => {
            (format!("self_test.{}", code(subject)), None, if *passed { "passed" } else { "failed" }.into())
        }
        AuditRecord::MaintenanceLeft { by } => ("maintenance.left".into(), None, code(by)),
        AuditRecord::ProvisioningReceiptReprinted { ok } => {
            ("maintenance.receipt_reprint".into(), None, if *ok { "printed" } else { "failed" }.into())
        }
        AuditRecord::DevicePortsChanged { devices } => {
            let which: Vec<String> = devices.iter().map(code).collect();
            ("maintenance.device_ports".into(), None, which.join(","))
        }
    }
}

/// Health as an audit/telemetry outcome code.
pub fn health_code(h: &Health) -> String {
    match h {
        Health::Ok => "ok".into(),
        Health::Problem(p) => {
            describe(&AuditRecord::DeviceFault { device: session::Device::Reader, problem: Some(p.clone()) }).2
        }
    }
}

impl AuditLog {
    /// Opens (or creates) the table at `path`, keyed by `path` with the extension
    /// `key` (created on first use).
    pub fn open(path: &Path) -> Result<Self, AuditError> {
        let key = crate::outbox::sealing::load_or_create_key(&path.with_extension("key"))?;
        let conn = Connection::open(path)?;
        // FULL: a record the session went on after is on disk, power cut or not.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS audit (
                seq INTEGER PRIMARY KEY,
                at TEXT NOT NULL,
                action TEXT NOT NULL,
                subject_masked TEXT,
                outcome TEXT NOT NULL,
                prev_hash TEXT NOT NULL,
                hash TEXT NOT NULL,
                shipped INTEGER NOT NULL DEFAULT 0
            );
            -- The newest (seq, hash): deleting the last records leaves it pointing past the end.
            CREATE TABLE IF NOT EXISTS audit_head (one INTEGER PRIMARY KEY CHECK (one = 1), seq INTEGER NOT NULL, hash TEXT NOT NULL);",
        )?;
        Ok(Self { conn, key })
    }

    /// Appends one record at wall time `at` and returns it.
    pub fn append(&mut self, record: &AuditRecord, at: OffsetDateTime) -> Result<Entry, AuditError> {
        let (action, subject, outcome) = describe(record);
        self.append_raw(&action, subject.as_deref(), &outcome, at)
    }

    pub fn append_raw(
        &mut self,
        action: &str,
        subject: Option<&str>,
        outcome: &str,
        at: OffsetDateTime,
    ) -> Result<Entry, AuditError> {
        let at = at.replace_nanosecond(0).unwrap_or(at).to_offset(time::UtcOffset::UTC);
        let at = at.format(&Rfc3339).unwrap_or_default();
        let tx = self.conn.transaction()?;
        let (prev_seq, prev_hash): (u64, String) = tx
            .query_row("SELECT seq, hash FROM audit_head WHERE one = 1", [], |r| {
                Ok((r.get::<_, i64>(0)? as u64, r.get(1)?))
            })
            .optional()?
            .unwrap_or((0, GENESIS.into()));
        let seq = prev_seq + 1;
        let hash = digest(&self.key, &prev_hash, seq, &at, action, subject, outcome);
        tx.execute(
            "INSERT INTO audit (seq, at, action, subject_masked, outcome, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![seq as i64, at, action, subject, outcome, prev_hash, hash],
        )?;
        tx.execute("INSERT OR REPLACE INTO audit_head (one, seq, hash) VALUES (1, ?1, ?2)", params![seq as i64, hash])?;
        tx.commit()?;
        Ok(Entry {
            seq,
            at,
            action: action.into(),
            subject_masked: subject.map(str::to_owned),
            outcome: outcome.into(),
            prev_hash,
            hash,
        })
    }

    fn entries(&self, sql: &str, arg: i64) -> Result<Vec<Entry>, AuditError> {
        let mut stmt = self.conn.prepare(sql)?;
        let rows = stmt.query_map([arg], |r| {
            Ok(Entry {
                seq: r.get::<_, i64>(0)? as u64,
                at: r.get(1)?,
                action: r.get(2)?,
                subject_masked: r.get(3)?,
                outcome: r.get(4)?,
                prev_hash: r.get(5)?,
                hash: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Walks the whole chain; `Ok(Err(broken))` names the first record that is wrong.
    pub fn verify(&self) -> Result<Result<u64, Broken>, AuditError> {
        let all = self.entries(
            "SELECT seq, at, action, subject_masked, outcome, prev_hash, hash FROM audit WHERE seq > ?1 ORDER BY seq",
            0,
        )?;
        let mut expected_seq = 1;
        let mut prev = GENESIS.to_string();
        for e in &all {
            if e.seq != expected_seq {
                return Ok(Err(Broken::Gap { seq: e.seq, expected: expected_seq }));
            }
            if e.prev_hash != prev {
                return Ok(Err(Broken::Unchained { seq: e.seq }));
            }
            if digest(&self.key, &e.prev_hash, e.seq, &e.at, &e.action, e.subject_masked.as_deref(), &e.outcome)
                != e.hash
            {
                return Ok(Err(Broken::Edited { seq: e.seq }));
            }
            prev = e.hash.clone();
            expected_seq += 1;
        }
        let last_seq = expected_seq - 1;
        let head: Option<(i64, String)> = self
            .conn
            .query_row("SELECT seq, hash FROM audit_head WHERE one = 1", [], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        match head {
            Some((head_seq, head_hash)) if head_seq as u64 != last_seq || head_hash != prev => {
                Ok(Err(Broken::Truncated { head_seq: head_seq as u64, last_seq }))
            }
            // The head is written with the first record: no head, yet records.
            None if last_seq > 0 => Ok(Err(Broken::HeadMissing { last_seq })),
            _ => Ok(Ok(last_seq)),
        }
    }

    /// Records not yet handed to the outbox, oldest first.
    pub fn unshipped(&self, limit: usize) -> Result<Vec<Entry>, AuditError> {
        let mut v = self.entries(
            "SELECT seq, at, action, subject_masked, outcome, prev_hash, hash FROM audit WHERE shipped = 0 ORDER BY seq LIMIT ?1",
            limit as i64,
        )?;
        v.truncate(limit);
        Ok(v)
    }

    /// Marks records up to `seq` as handed to the outbox (which then owns delivery).
    pub fn mark_shipped(&mut self, up_to: u64) -> Result<(), AuditError> {
        self.conn.execute("UPDATE audit SET shipped = 1 WHERE seq <= ?1 AND shipped = 0", [up_to as i64])?;
        Ok(())
    }

    /// Direct access for tests that tamper with the table.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }
}

/// Moves the trail at `path` (its database, WAL files and key) into `into`, for a
/// terminal enrolled again after it was decommissioned: the new terminal starts its
/// own chain from the genesis, as central expects of a new device id (the old chain,
/// everything of it that was shipped, stays at central under the old id). Returns how
/// many files were moved.
pub fn set_aside(path: &Path, into: &Path) -> std::io::Result<usize> {
    let mut moved = 0;
    let name = |p: &Path| p.file_name().map(std::ffi::OsStr::to_os_string).unwrap_or_default();
    let wal = |suffix: &str| {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        std::path::PathBuf::from(p)
    };
    for file in [path.to_owned(), wal("-wal"), wal("-shm"), path.with_extension("key")] {
        if file.exists() {
            std::fs::create_dir_all(into)?;
            std::fs::rename(&file, into.join(name(&file)))?;
            moved += 1;
        }
    }
    Ok(moved)
}

#[cfg(test)]
mod tests {
    use super::*;
    use session::{Device, IdentityDocument, Service};

    fn log_with(n: u64) -> (tempfile::TempDir, AuditLog) {
        let dir = tempfile::tempdir().unwrap();
        let mut log = AuditLog::open(&dir.path().join("audit.sqlite")).unwrap();
        let at = OffsetDateTime::from_unix_timestamp(1_790_000_000).unwrap();
        for i in 0..n {
            let record = match i % 4 {
                0 => AuditRecord::SessionStarted { session: i },
                1 => AuditRecord::CardRead {
                    session: i,
                    masked_id: "1101**********002X".into(),
                    document: IdentityDocument::IdCard,
                },
                2 => AuditRecord::ServiceChosen { session: i, service: Service::Certificate },
                _ => AuditRecord::DeviceFault { device: Device::Printer, problem: Some(Problem::PaperOut) },
            };
            log.append(&record, at).unwrap();
        }
        (dir, log)
    }

    #[test]
    fn intact_chain_verifies() {
        let (_d, log) = log_with(20);
        assert_eq!(log.verify().unwrap(), Ok(20));
        let e = &log.unshipped(100).unwrap()[1];
        assert_eq!(
            (e.action.as_str(), e.subject_masked.as_deref(), e.outcome.as_str()),
            // which card was read is recorded: an ID card here
            ("card.read.id_card", Some("1101**********002X"), "ok")
        );
        assert_eq!(log.unshipped(100).unwrap()[3].outcome, "paper_out");
    }

    #[test]
    fn edited_record_is_detected() {
        let table = [
            ("outcome", "UPDATE audit SET outcome = 'ok' WHERE seq = 4"),
            ("subject", "UPDATE audit SET subject_masked = '4401**********0014' WHERE seq = 2"),
            ("time", "UPDATE audit SET at = '2020-01-01T00:00:00Z' WHERE seq = 7"),
        ];
        for (what, sql) in table {
            let (_d, log) = log_with(10);
            log.connection().execute(sql, []).unwrap();
            assert!(matches!(log.verify().unwrap(), Err(Broken::Edited { .. })), "{what}");
        }
    }

    #[test]
    fn edited_record_with_recomputed_hash_breaks_the_next_link() {
        let (_d, log) = log_with(10);
        let e = &log.unshipped(10).unwrap()[4];
        // Even with the key (a thief who has the whole disk), a rewritten record
        // breaks the link to the next one.
        let forged = digest(&log.key, &e.prev_hash, e.seq, &e.at, &e.action, None, "forged");
        log.connection()
            .execute("UPDATE audit SET outcome = 'forged', subject_masked = NULL, hash = ?1 WHERE seq = 5", [forged])
            .unwrap();
        assert_eq!(log.verify().unwrap(), Err(Broken::Unchained { seq: 6 }));
    }

    #[test]
    fn deleted_records_are_detected() {
        let table = [
            ("middle", "DELETE FROM audit WHERE seq = 5", Broken::Gap { seq: 6, expected: 5 }),
            ("first", "DELETE FROM audit WHERE seq = 1", Broken::Gap { seq: 2, expected: 1 }),
            ("newest", "DELETE FROM audit WHERE seq >= 9", Broken::Truncated { head_seq: 10, last_seq: 8 }),
            (
                "newest and the head",
                "DELETE FROM audit WHERE seq >= 9; DELETE FROM audit_head",
                Broken::HeadMissing { last_seq: 8 },
            ),
        ];
        for (what, sql, want) in table {
            let (_d, log) = log_with(10);
            log.connection().execute_batch(sql).unwrap();
            assert_eq!(log.verify().unwrap(), Err(want), "{what}");
        }
    }

    #[test]
    fn a_record_rewritten_without_the_device_key_is_detected() {
        let (_d, log) = log_with(10);
        // A plain SHA-256 chain could be recomputed by anyone; the keyed one cannot.
        let e = &log.unshipped(10).unwrap()[9];
        let unkeyed = digest(b"", &e.prev_hash, e.seq, &e.at, &e.action, None, "forged");
        log.connection()
            .execute_batch(&format!(
                "UPDATE audit SET outcome = 'forged', subject_masked = NULL, hash = '{unkeyed}' WHERE seq = 10;
                 UPDATE audit_head SET hash = '{unkeyed}'"
            ))
            .unwrap();
        assert_eq!(log.verify().unwrap(), Err(Broken::Edited { seq: 10 }));
    }

    #[test]
    fn the_key_file_is_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let (d, _log) = log_with(1);
        let mode = std::fs::metadata(d.path().join("audit.key")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn shipping_hands_each_record_out_once() {
        let (_d, mut log) = log_with(7);
        let batch = log.unshipped(5).unwrap();
        assert_eq!(batch.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2, 3, 4, 5]);
        log.mark_shipped(5).unwrap();
        assert_eq!(log.unshipped(5).unwrap().iter().map(|e| e.seq).collect::<Vec<_>>(), [6, 7]);
        assert_eq!(log.verify().unwrap(), Ok(7), "shipping does not touch the chain");
    }

    /// A record the central service refuses would sink its whole batch: every kind of
    /// record, with every code it can carry, must pass the API's own validation.
    #[test]
    fn every_record_passes_the_central_services_validation() {
        use session::CardProblem;
        let mut records = vec![
            AuditRecord::SessionStarted { session: 1 },
            AuditRecord::CardRead {
                session: 1,
                masked_id: "1101**********002X".into(),
                document: IdentityDocument::IdCard,
            },
            AuditRecord::CertificateRejected { session: 1, reason: "bad signature".into() },
            AuditRecord::SubmissionFailed { session: 1, service: Service::UnemploymentCheckIn, reason: "x".into() },
        ];
        for document in [IdentityDocument::IdCard, IdentityDocument::SocialSecurityCard] {
            records.push(AuditRecord::CardRead { session: 1, masked_id: "1101**********002X".into(), document });
            for problem in [
                CardProblem::Unreadable,
                CardProblem::Expired,
                CardProblem::WrongType,
                CardProblem::Blocked,
                CardProblem::Invalid,
                CardProblem::Unsupported,
            ] {
                records.push(AuditRecord::CardRefused { document, problem });
            }
        }
        for service in Service::ALL {
            records.push(AuditRecord::ServiceChosen { session: 1, service });
            for delivered in [true, false] {
                records.push(AuditRecord::Submitted { session: 1, service, delivered, reference: "QC-1".into() });
            }
            for grade in [None, Some(RatingGrade::VerySatisfied), Some(RatingGrade::VeryDissatisfied)] {
                records.push(AuditRecord::Rated { session: 1, service, grade });
            }
        }
        let problems = [
            None,
            Some(Problem::PaperNearEnd),
            Some(Problem::PaperOut),
            Some(Problem::CoverOpen),
            Some(Problem::CutterError),
            Some(Problem::Missing),
            Some(Problem::Error("SAM timeout: no answer".into())),
        ];
        for problem in problems {
            for device in [
                Device::Reader,
                Device::Camera,
                Device::Printer,
                Device::SocialSecurityReader,
                Device::Scanner,
                Device::Storage,
                Device::Enrollment,
            ] {
                records.push(AuditRecord::DeviceFault { device, problem: problem.clone() });
            }
            records.push(AuditRecord::PrintResult { session: 1, service: Service::Certificate, ok: false, problem });
        }
        for reason in [EndReason::Finished, EndReason::IdleTimeout, EndReason::CardRemoved, EndReason::OtherCard] {
            records.push(AuditRecord::SessionEnded { session: 1, reason });
        }
        use session::maintenance::{LeftBy, TestSubject};
        records.push(AuditRecord::MaintenanceEntered);
        for locked_out in [false, true] {
            records.push(AuditRecord::MaintenancePinRefused { locked_out });
        }
        for subject in TestSubject::ALL {
            for passed in [false, true] {
                records.push(AuditRecord::SelfTest { subject, passed });
            }
        }
        for by in [LeftBy::Technician, LeftBy::IdleTimeout, LeftBy::Citizen] {
            records.push(AuditRecord::MaintenanceLeft { by });
        }
        let at = OffsetDateTime::from_unix_timestamp(1_790_000_000).unwrap();
        for record in &records {
            let (action, subject_masked, outcome) = describe(record);
            let batch = contract::TelemetryBatch {
                heartbeat: None,
                events: vec![],
                audit: vec![contract::AuditRecord {
                    seq: 1,
                    at,
                    action,
                    subject_masked,
                    outcome,
                    prev_hash: "0".repeat(64),
                    hash: "0".repeat(64),
                }],
            };
            assert_eq!(batch.validate(), Ok(()), "{record:?}");
        }
    }

    #[test]
    fn a_trail_set_aside_leaves_room_for_a_new_chain_from_the_genesis() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("audit.sqlite");
        {
            let mut log = AuditLog::open(&path).unwrap();
            log.append(&AuditRecord::SessionStarted { session: 1 }, OffsetDateTime::now_utc()).unwrap();
            log.append(&AuditRecord::SessionStarted { session: 2 }, OffsetDateTime::now_utc()).unwrap();
        }
        let aside = d.path().join("retired-1");
        assert!(set_aside(&path, &aside).unwrap() >= 2, "the database and its key");
        assert!(aside.join("audit.sqlite").exists() && aside.join("audit.key").exists());
        let mut log = AuditLog::open(&path).unwrap();
        log.append(&AuditRecord::SessionStarted { session: 3 }, OffsetDateTime::now_utc()).unwrap();
        let first = log.unshipped(10).unwrap();
        assert_eq!(first.len(), 1);
        assert_eq!((first[0].seq, first[0].prev_hash.as_str()), (1, "0".repeat(64).as_str()));
        assert_eq!(set_aside(&d.path().join("none.sqlite"), &aside).unwrap(), 0, "nothing to move");
    }
}
