//! The durable outbox: everything that leaves the terminal (submissions, ratings,
//! audit batches, telemetry) is written here, sealed, with its idempotency key,
//! before the first network attempt; the [`sender`] drains it.

pub mod backoff;
pub mod sealing;
pub mod sender;

use rusqlite::{Connection, OptionalExtension as _, params};
use sealing::{SealError, Sealer};
use std::path::Path;

/// What an item is; decides what may be dropped when the disk budget runs out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ItemKind {
    /// A citizen's application or check-in: never dropped.
    Submission,
    Rating,
    Audit,
    /// Heartbeats and events: the oldest are dropped first when over budget.
    Telemetry,
}

impl ItemKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Submission => "submission",
            Self::Rating => "rating",
            Self::Audit => "audit",
            Self::Telemetry => "telemetry",
        }
    }
    fn parse(s: &str) -> Self {
        match s {
            "submission" => Self::Submission,
            "rating" => Self::Rating,
            "audit" => Self::Audit,
            _ => Self::Telemetry,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error("outbox database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error(transparent)]
    Seal(#[from] SealError),
    #[error("outbox is full: {used} of {limit} bytes used by unsent items; the network has been down too long")]
    Full { used: u64, limit: u64 },
    #[error("the outbox disk has {free} bytes free, {needed} are needed to take a submission")]
    DiskFull { free: u64, needed: u64 },
    #[error("outbox directory {path}: {source}")]
    Directory { path: String, source: std::io::Error },
    #[error("operations decommissioned this terminal: it takes nothing until it is enrolled again")]
    Retired,
}

/// Disk budget for unsent items.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Unsent bytes above which enqueue is refused.
    pub max_bytes: u64,
    /// Unsent bytes above which the alarm is raised (telemetry, metrics, log).
    pub alarm_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_bytes: 512 * 1024 * 1024, alarm_bytes: 384 * 1024 * 1024 }
    }
}

/// An item waiting to be sent, body already opened.
#[derive(Clone, PartialEq, Eq)]
pub struct OutboxItem {
    pub id: i64,
    pub key: String,
    pub kind: ItemKind,
    /// API path, e.g. `/v1/qualification-checks`.
    pub path: String,
    pub body: Vec<u8>,
    pub attempts: u32,
    pub created_ms: i64,
}

/// The body carries ID numbers and faces: wiped from memory when the item goes.
impl Drop for OutboxItem {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.body);
    }
}

impl std::fmt::Debug for OutboxItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "OutboxItem({} {:?} {} attempt {}, {} bytes)",
            self.id,
            self.kind,
            self.path,
            self.attempts,
            self.body.len()
        )
    }
}

/// Depth and age of the backlog, for telemetry and `/metrics`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OutboxStats {
    pub depth: u64,
    pub oldest_created_ms: Option<i64>,
    pub bytes: u64,
    pub alarm: bool,
    pub delivered_total: u64,
    pub rejected_total: u64,
    pub dropped_total: u64,
    /// Rows set aside because they could not be opened (kept for a technician).
    pub quarantined_total: u64,
    /// Submissions held for a technician: retried past the central service's
    /// idempotency window, where sending again could store them twice.
    pub held_total: u64,
}

/// A submission the terminal still holds, found by the reference on its "queued" receipt.
#[derive(Debug)]
pub struct HeldSubmission {
    /// The API path it goes to (which service).
    pub path: String,
    pub created_ms: i64,
    /// `false`: still waiting to be sent; `true`: the central service refused it.
    pub refused: bool,
    /// The request body, opened: the caller reads what it needs and drops it.
    pub body: Vec<u8>,
}

impl Drop for HeldSubmission {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.body);
    }
}

pub struct Outbox {
    conn: Connection,
    sealer: Sealer,
    limits: Limits,
    dir: std::path::PathBuf,
    /// Operations decommissioned the terminal ([`Outbox::retire`]).
    retired: bool,
    /// Rows quarantined or held since the sender last asked (it raises the alerts).
    set_aside: Vec<SetAside>,
}

/// A row `due` took out of the queue instead of returning it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SetAside {
    /// Its sealed body would not open (corrupted on disk, or sealed with another key).
    Quarantined { id: i64, kind: ItemKind },
    /// A submission still undelivered after [`HOLD_AFTER_MS`] of attempts.
    Held { id: i64, kind: ItemKind },
}

/// How long an item that has already been attempted keeps being retried. The
/// central service keeps idempotency keys for 30 days (and refuses a shorter window),
/// so a re-send inside this horizon can never be stored twice; past it the item is
/// held for a technician instead of risking a double.
pub const HOLD_AFTER_MS: i64 = 28 * 24 * 3600 * 1000;

/// No retry is ever scheduled further ahead than this ([`backoff::MAX_DELAY`] plus a
/// margin). A row due later than `now + SCHEDULE_HORIZON_MS` was scheduled before the
/// wall clock stepped backwards, and is treated as due: a clock step cannot freeze
/// the queue.
pub const SCHEDULE_HORIZON_MS: i64 = backoff::MAX_DELAY.as_millis() as i64 + 5 * 60 * 1000;

/// In the outbox directory once operations decommissioned the terminal: when, and what
/// was lost.
pub const RETIRED_FILE: &str = "retired.json";

/// Undelivered items wiped when the terminal was decommissioned, by kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Lost {
    pub submissions: u64,
    pub ratings: u64,
    pub audit: u64,
    pub telemetry: u64,
}

/// Finished rows (delivered, refused, dropped) are forgotten after this long.
pub const KEEP_FINISHED_MS: i64 = 7 * 24 * 3600 * 1000;
/// Quarantined rows stay this long for a technician, then go (they cannot be opened).
pub const KEEP_QUARANTINED_MS: i64 = 30 * 24 * 3600 * 1000;

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Outbox({:?})", self.conn.path())
    }
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    idempotency_key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    path TEXT NOT NULL,
    sealed BLOB,                -- nonce || ciphertext; NULL once delivered
    size INTEGER NOT NULL,
    created_ms INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms INTEGER NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',   -- pending | delivered | rejected | dropped | quarantined | held
    status INTEGER,
    response BLOB,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox(state, next_attempt_ms);
";

impl Outbox {
    /// Opens (or creates) `dir/outbox.sqlite` with its key file `dir/outbox.key`.
    pub fn open(dir: &Path, limits: Limits) -> Result<Self, OutboxError> {
        std::fs::create_dir_all(dir)
            .map_err(|source| OutboxError::Directory { path: dir.display().to_string(), source })?;
        let sealer = Sealer::load_or_create(&dir.join("outbox.key"))?;
        let conn = Connection::open(dir.join("outbox.sqlite"))?;
        // WAL + FULL: a committed enqueue survives a crash and a power cut.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        let retired = dir.join(RETIRED_FILE).exists();
        let mut outbox = Self { conn, sealer, limits, dir: dir.to_owned(), retired, set_aside: Vec::new() };
        if retired {
            // Retired before a crash could finish the wipe: finish it now.
            outbox.wipe()?;
        }
        Ok(outbox)
    }

    /// Operations decommissioned this terminal: records that (so it stays out of
    /// service across restarts), then wipes every row, delivered or not, and the key
    /// that sealed them, so nothing personal stays on the disk. Returns what was still
    /// undelivered: lost, as central lists it from the terminal's last heartbeat.
    pub fn retire(&mut self, now_ms: i64) -> Result<Lost, OutboxError> {
        let mut lost = Lost::default();
        {
            let mut rows = self.conn.prepare(
                "SELECT kind, COUNT(*) FROM outbox WHERE state IN ('pending', 'held', 'quarantined') GROUP BY kind",
            )?;
            let counts = rows.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64)))?;
            for row in counts {
                let (kind, n) = row?;
                match ItemKind::parse(&kind) {
                    ItemKind::Submission => lost.submissions += n,
                    ItemKind::Rating => lost.ratings += n,
                    ItemKind::Audit => lost.audit += n,
                    ItemKind::Telemetry => lost.telemetry += n,
                }
            }
        }
        #[derive(serde::Serialize)]
        struct Retired {
            retired_at_ms: i64,
            lost: Lost,
        }
        let record = serde_json::to_vec(&Retired { retired_at_ms: now_ms, lost }).unwrap_or_default();
        let marker = self.dir.join(RETIRED_FILE);
        let io = |source| OutboxError::Directory { path: marker.display().to_string(), source };
        let tmp = marker.with_extension("tmp");
        std::fs::write(&tmp, &record).map_err(io)?;
        std::fs::File::open(&tmp).and_then(|f| f.sync_all()).map_err(io)?;
        std::fs::rename(&tmp, &marker).map_err(io)?;
        self.retired = true;
        self.wipe()?;
        Ok(lost)
    }

    /// Whether operations decommissioned this terminal.
    pub fn is_retired(&self) -> bool {
        self.retired
    }

    /// Deletes every row and the sealing key; VACUUM rewrites the file so the deleted
    /// pages do not linger (and without the key they could not be opened anyway).
    fn wipe(&mut self) -> Result<(), OutboxError> {
        self.conn.execute("DELETE FROM outbox", [])?;
        self.conn.execute_batch("VACUUM; PRAGMA wal_checkpoint(TRUNCATE);")?;
        match std::fs::remove_file(self.dir.join("outbox.key")) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(OutboxError::Directory { path: self.dir.display().to_string(), source }),
        }
    }

    /// After a new enrollment (`kiosk enroll`): the terminal in `dir` is no longer
    /// retired; its outbox starts empty with a new key at the next start.
    pub fn clear_retired(dir: &Path) -> std::io::Result<()> {
        match std::fs::remove_file(dir.join(RETIRED_FILE)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Stores an item durably and returns its idempotency key. The key exists on disk
    /// before anything is sent, so every retry (after a crash too) reuses it.
    pub fn enqueue(&mut self, kind: ItemKind, path: &str, body: &[u8], now_ms: i64) -> Result<String, OutboxError> {
        if self.retired {
            return Err(OutboxError::Retired);
        }
        let key = uuid::Uuid::new_v4().to_string();
        let sealed = self.sealer.seal(body, key.as_bytes());
        let size = sealed.len() as u64;
        let tx = self.conn.transaction()?;
        let mut used = unsent_bytes(&tx)?;
        if used + size > self.limits.max_bytes {
            used -= drop_oldest_telemetry(&tx, used + size - self.limits.max_bytes)?;
        }
        if used + size > self.limits.max_bytes {
            return Err(OutboxError::Full { used, limit: self.limits.max_bytes });
        }
        tx.execute(
            "INSERT INTO outbox (idempotency_key, kind, path, sealed, size, created_ms, next_attempt_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
            params![key, kind.as_str(), path, sealed, size as i64, now_ms],
        )?;
        tx.commit()?;
        if used + size > self.limits.alarm_bytes {
            tracing::warn!(used = used + size, limit = self.limits.max_bytes, "outbox over its alarm threshold");
        }
        Ok(key)
    }

    /// Pending items whose next attempt is due, oldest first. A row that cannot be
    /// opened is quarantined (kept, sealed, for a technician) and a submission retried
    /// past [`HOLD_AFTER_MS`] is held; neither stops the rows behind it. What was set
    /// aside is reported by [`Outbox::take_set_aside`].
    pub fn due(&mut self, now_ms: i64, limit: usize) -> Result<Vec<OutboxItem>, OutboxError> {
        let rows: Vec<DueRow> = {
            let mut stmt = self.conn.prepare_cached(
                "SELECT id, idempotency_key, kind, path, sealed, attempts, created_ms FROM outbox
                 WHERE state = 'pending' AND (next_attempt_ms <= ?1 OR next_attempt_ms > ?1 + ?3)
                 ORDER BY id LIMIT ?2",
            )?;
            stmt.query_map(params![now_ms, limit as i64, SCHEDULE_HORIZON_MS], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?))
            })?
            .collect::<Result<_, _>>()?
        };
        let mut items = Vec::new();
        for (id, key, kind, path, sealed, attempts, created_ms) in rows {
            let kind = ItemKind::parse(&kind);
            if kind == ItemKind::Submission && attempts > 0 && created_ms < now_ms.saturating_sub(HOLD_AFTER_MS) {
                tracing::error!(
                    id,
                    attempts,
                    "a submission outlived the central service's idempotency window undelivered; \
                     held for a technician (sending it again could store it twice)"
                );
                self.set_state(id, "held", "retried past the idempotency window")?;
                self.set_aside.push(SetAside::Held { id, kind });
                continue;
            }
            let opened = match &sealed {
                Some(sealed) => self.sealer.open(sealed, key.as_bytes()),
                None => Err(SealError::Tampered),
            };
            match opened {
                Ok(body) => items.push(OutboxItem { id, key, kind, path, body, attempts, created_ms }),
                Err(e) => {
                    tracing::error!(
                        id,
                        ?kind,
                        error = %e,
                        "an outbox row cannot be opened; quarantined and kept for a technician, the rest goes on"
                    );
                    self.set_state(id, "quarantined", &e.to_string())?;
                    self.set_aside.push(SetAside::Quarantined { id, kind });
                }
            }
        }
        Ok(items)
    }

    fn set_state(&self, id: i64, state: &str, why: &str) -> Result<(), OutboxError> {
        self.conn.execute("UPDATE outbox SET state = ?2, last_error = ?3 WHERE id = ?1", params![id, state, why])?;
        Ok(())
    }

    /// The rows `due` set aside since the last call.
    pub fn take_set_aside(&mut self) -> Vec<SetAside> {
        std::mem::take(&mut self.set_aside)
    }

    /// Enqueues one telemetry event (an alert for operations), e.g. `outbox.quarantined`.
    /// `detail` is plain text without personal data.
    pub fn enqueue_event(
        &mut self,
        kind: &str,
        severity: contract::Severity,
        detail: Option<String>,
        now_ms: i64,
    ) -> Result<String, OutboxError> {
        let batch = contract::TelemetryBatch {
            heartbeat: None,
            events: vec![event(kind, severity, detail, now_ms)],
            audit: vec![],
        };
        let body = serde_json::to_vec(&batch).unwrap_or_default();
        self.enqueue(ItemKind::Telemetry, contract::paths::TELEMETRY, &body, now_ms)
    }

    /// Checks that the outbox can take `room` more bytes: within its budget, with that
    /// much free on its disk, and with a committed write going through.
    pub fn probe_writable(&mut self, room: u64) -> Result<(), OutboxError> {
        self.has_room(room)?;
        // A committed write (added and removed in one transaction): catches a disk
        // that is read-only or failing, not only one that is full.
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO outbox (idempotency_key, kind, path, sealed, size, created_ms, next_attempt_ms, state)
             VALUES ('probe', 'telemetry', '', zeroblob(4096), 0, 0, 0, 'dropped')",
            [],
        )?;
        tx.execute("DELETE FROM outbox WHERE idempotency_key = 'probe'", [])?;
        tx.commit()?;
        Ok(())
    }

    /// Whether `room` more bytes fit in the budget and on the disk, without writing.
    pub fn has_room(&self, room: u64) -> Result<(), OutboxError> {
        let used = unsent_bytes(&self.conn)?;
        if used + room > self.limits.max_bytes {
            return Err(OutboxError::Full { used, limit: self.limits.max_bytes });
        }
        if let Some(dir) = self.conn.path().and_then(|p| Path::new(p).parent())
            && let Ok(free) = disk_free_bytes(dir)
            && free < room
        {
            return Err(OutboxError::DiskFull { free, needed: room });
        }
        Ok(())
    }

    /// When the earliest pending item becomes due.
    pub fn next_due_ms(&self) -> Result<Option<i64>, OutboxError> {
        Ok(self.conn.query_row("SELECT MIN(next_attempt_ms) FROM outbox WHERE state = 'pending'", [], |r| r.get(0))?)
    }

    /// A failed attempt: counts it and schedules the next one.
    pub fn retry_later(&mut self, id: i64, next_attempt_ms: i64, error: &str) -> Result<(), OutboxError> {
        self.conn.execute(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_ms = ?2, last_error = ?3 WHERE id = ?1",
            params![id, next_attempt_ms, error],
        )?;
        Ok(())
    }

    /// The server accepted the item: the body (face images included) is deleted,
    /// the response kept so a queued receipt can later be matched.
    pub fn delivered(&mut self, id: i64, status: u16, response: &[u8]) -> Result<(), OutboxError> {
        self.finish(id, "delivered", status, response)
    }

    /// The server refused the item for good (4xx other than 408/409/429): kept as a
    /// tombstone for the technician, body deleted.
    pub fn rejected(&mut self, id: i64, status: u16, response: &[u8]) -> Result<(), OutboxError> {
        tracing::error!(id, status, "central service rejected an outbox item for good");
        self.finish(id, "rejected", status, response)
    }

    fn finish(&mut self, id: i64, state: &str, status: u16, response: &[u8]) -> Result<(), OutboxError> {
        self.conn.execute(
            "UPDATE outbox SET state = ?2, status = ?3, response = ?4, sealed = NULL, size = 0,
             attempts = attempts + 1 WHERE id = ?1",
            params![id, state, status, response],
        )?;
        Ok(())
    }

    /// The stored response for a delivered key.
    pub fn response(&self, key: &str) -> Result<Option<(u16, Vec<u8>)>, OutboxError> {
        Ok(self
            .conn
            .query_row(
                "SELECT status, response FROM outbox WHERE idempotency_key = ?1 AND state = 'delivered'",
                [key],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    /// Items ever enqueued (delivered ones included, until pruned).
    pub fn total_enqueued(&self) -> Result<u64, OutboxError> {
        Ok(self.conn.query_row("SELECT COUNT(*) FROM outbox", [], |r| r.get::<_, i64>(0))? as u64)
    }

    /// Forgets finished items (delivered, refused, dropped) created before
    /// `finished_before_ms`, and quarantined rows created before
    /// `quarantined_before_ms`. Pending and held items are never pruned.
    pub fn prune(&mut self, finished_before_ms: i64, quarantined_before_ms: i64) -> Result<usize, OutboxError> {
        let finished = self.conn.execute(
            "DELETE FROM outbox WHERE state IN ('delivered', 'rejected', 'dropped') AND created_ms < ?1",
            [finished_before_ms],
        )?;
        let quarantined = self
            .conn
            .execute("DELETE FROM outbox WHERE state = 'quarantined' AND created_ms < ?1", [quarantined_before_ms])?;
        Ok(finished + quarantined)
    }

    pub fn stats(&self) -> Result<OutboxStats, OutboxError> {
        let (depth, oldest, bytes): (i64, Option<i64>, i64) = self.conn.query_row(
            "SELECT COUNT(*), MIN(created_ms), COALESCE(SUM(size), 0) FROM outbox WHERE state = 'pending'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        let count = |state: &str| -> Result<u64, rusqlite::Error> {
            self.conn
                .query_row("SELECT COUNT(*) FROM outbox WHERE state = ?1", [state], |r| r.get::<_, i64>(0))
                .map(|n| n as u64)
        };
        Ok(OutboxStats {
            depth: depth as u64,
            oldest_created_ms: oldest,
            bytes: bytes as u64,
            alarm: bytes as u64 > self.limits.alarm_bytes,
            delivered_total: count("delivered")?,
            rejected_total: count("rejected")?,
            dropped_total: count("dropped")?,
            quarantined_total: count("quarantined")?,
            held_total: count("held")?,
        })
    }

    /// The submission whose "queued" receipt carries `reference` (`api::client_reference`
    /// of its key), while this terminal still holds it: waiting to be sent, or refused.
    /// Delivered ones are the central service's to answer for. Scans the held
    /// submissions, which an outage leaves at a few hundred at most.
    pub fn held_submission(&self, reference: &str) -> Result<Option<HeldSubmission>, OutboxError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT idempotency_key, path, created_ms, state, sealed FROM outbox
             WHERE kind = 'submission' AND state IN ('pending', 'held', 'rejected')",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let key: String = r.get(0)?;
            if contract::client_reference(&key) != reference {
                continue;
            }
            let state: String = r.get(3)?;
            // A refused item's body was deleted with its answer: nothing to open.
            let body = match r.get::<_, Option<Vec<u8>>>(4)? {
                Some(sealed) => self.sealer.open(&sealed, key.as_bytes())?,
                None => Vec::new(),
            };
            return Ok(Some(HeldSubmission {
                path: r.get(1)?,
                created_ms: r.get(2)?,
                refused: state == "rejected",
                body,
            }));
        }
        Ok(None)
    }

    /// The raw sealed bytes of an item, for tests that check encryption at rest.
    pub fn sealed_bytes(&self, key: &str) -> Result<Option<Vec<u8>>, OutboxError> {
        Ok(self
            .conn
            .query_row("SELECT sealed FROM outbox WHERE idempotency_key = ?1", [key], |r| r.get(0))
            .optional()?
            .flatten())
    }
}

/// Bytes an unprivileged writer can still use on the disk holding `dir`.
// The block counts are u32 on some 32-bit targets: the conversions are not useless there.
#[allow(clippy::useless_conversion)]
pub fn disk_free_bytes(dir: &Path) -> Result<u64, nix::Error> {
    let fs = nix::sys::statvfs::statvfs(dir)?;
    Ok(u64::from(fs.blocks_available()).saturating_mul(u64::from(fs.fragment_size())))
}

/// A row as `due` reads it: id, key, kind, path, sealed body, attempts, created.
type DueRow = (i64, String, String, String, Option<Vec<u8>>, u32, i64);

/// One telemetry event, as the central API takes it.
pub fn event(
    kind: &str,
    severity: contract::Severity,
    detail: Option<String>,
    now_ms: i64,
) -> contract::TelemetryEvent {
    let at =
        time::OffsetDateTime::from_unix_timestamp(now_ms.div_euclid(1000)).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    contract::TelemetryEvent { id: uuid::Uuid::new_v4().to_string(), at, kind: kind.to_owned(), severity, detail }
}

fn unsent_bytes(conn: &Connection) -> Result<u64, rusqlite::Error> {
    conn.query_row("SELECT COALESCE(SUM(size), 0) FROM outbox WHERE state = 'pending'", [], |r| r.get::<_, i64>(0))
        .map(|n| n as u64)
}

/// Drops the oldest unsent telemetry until `needed` bytes are freed; returns bytes freed.
fn drop_oldest_telemetry(conn: &Connection, needed: u64) -> Result<u64, rusqlite::Error> {
    let mut freed = 0u64;
    let mut stmt =
        conn.prepare("SELECT id, size FROM outbox WHERE state = 'pending' AND kind = 'telemetry' ORDER BY id")?;
    let victims: Vec<(i64, i64)> = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?;
    for (id, size) in victims {
        if freed >= needed {
            break;
        }
        conn.execute("UPDATE outbox SET state = 'dropped', sealed = NULL, size = 0 WHERE id = ?1", [id])?;
        freed += size as u64;
    }
    if freed > 0 {
        tracing::warn!(freed, "outbox over budget: dropped the oldest telemetry");
    }
    Ok(freed)
}

#[cfg(test)]
mod tests;
