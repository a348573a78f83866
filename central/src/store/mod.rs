//! Persistence behind one trait: the default SQLite file ([`SqliteStore`]), or a
//! PostgreSQL database that several central processes share ([`PgStore`]), with the
//! same behaviour (one test suite runs on both: `tests/store.rs`). Times are Unix
//! seconds (UTC).

mod postgres;
mod sqlite;

pub use postgres::{
    MIGRATIONS as POSTGRES_MIGRATIONS, PgInspection, PgStore, check_connection_settings, mask_database_url,
};
use sqlite::tracking_digits;
pub use sqlite::{MIGRATIONS as SQLITE_MIGRATIONS, SqliteStore};

/// A storage failure; the request fails with 500 and may be retried.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database error: {}", postgres_detail(.0))]
    Postgres(tokio_postgres::Error),
    /// The PostgreSQL database cannot be reached, or the store's own threads stopped.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("database migration {version} failed: {detail}")]
    Migration { version: usize, detail: String },
    #[error("stored record is corrupt: {0}")]
    Corrupt(String),
    #[error("database lock poisoned by an earlier panic")]
    Poisoned,
    /// A write that was valid when checked no longer is (a race with another request).
    #[error("conflicting write: {0}")]
    Conflict(String),
    /// The enrollment token of a [`NewRecord::TokenUse`] was spent (or expired) after it
    /// was checked: another enrollment with it, perhaps at another instance, committed
    /// first. Nothing of the call is written.
    #[error("the enrollment token was used or expired meanwhile")]
    TokenSpent,
    /// The device was revoked, or its certificate replaced by a renewal, after the call
    /// was let in: nothing of the call is written (revocation wins every race).
    #[error("{0}")]
    DeviceNotCurrent(String),
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        Self::Postgres(e)
    }
}

/// What went wrong in PostgreSQL, for logs and messages. The driver's own message is
/// only its kind ("db error", "error connecting to server"); the cause follows. Of a
/// server error, the severity, message and code: never its DETAIL, which quotes the
/// row's values (an ID number, a verification code).
fn postgres_detail(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{}: {} (SQLSTATE {})", db.severity(), db.message(), db.code().code());
    }
    let mut out = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}

pub type StoreResult<T> = Result<T, StoreError>;

/// What happened when an enrollment token was presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenUse {
    Accepted,
    Unknown,
    Expired,
    AlreadyUsed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRecord {
    pub device_id: String,
    pub hostname: String,
    pub software_version: String,
    pub inventory_json: String,
    pub enrolled_at: i64,
    pub cert_serial: String,
    pub cert_not_after: i64,
    pub revoked_at: Option<i64>,
}

/// A response stored under an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

/// Outcome of reserving an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyBegin {
    /// First time: the caller processes the request and then finishes or abandons.
    Reserved,
    /// Done before with the same body: send this again.
    Replay(StoredResponse),
    /// Used before with a different body.
    DifferentRequest,
    /// The first request is still being processed.
    InFlight,
}

/// A person of the (synthetic) citizen registry.
#[derive(Clone, PartialEq, Eq)]
pub struct Person {
    pub id_number: String,
    pub name: String,
    /// `YYYY-MM-DD`
    pub birth_date: String,
    /// `contributing` | `receiving` | `suspended`
    pub pension_status: String,
    /// Monthly pension in fen (receiving only).
    pub pension_fen: i64,
    /// First month of pension (`YYYY-MM`, receiving only).
    pub pension_since: Option<String>,
}

/// Masks the ID number and leaves out name and birth date.
impl std::fmt::Debug for Person {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Person")
            .field("id_number", &crate::api::mask_id_number(&self.id_number))
            .field("pension_status", &self.pension_status)
            .field("pension_fen", &self.pension_fen)
            .field("pension_since", &self.pension_since)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContributionRecord {
    pub month: String,
    pub employer: String,
    pub base_fen: i64,
    pub personal_fen: i64,
    pub employer_fen: i64,
}

#[derive(Clone, PartialEq, Eq)]
pub struct ApplicationRecord {
    pub tracking_number: String,
    /// snake_case of `api::ApplicationKind`
    pub kind: String,
    /// snake_case of `api::ApplicationStatus`
    pub status: String,
    pub id_number: String,
    pub device_id: String,
    pub submitted_at: i64,
    /// `YYYY-MM-DD`
    pub deadline: String,
    /// `api::client_reference` of the submission's Idempotency-Key (none before migration 2).
    pub client_reference: Option<String>,
    /// The one choice the citizen made on the form (none before migration 4): why the
    /// last job ended for an unemployment registration (snake_case of
    /// `api::UnemploymentReason`), the contribution band's percent for a flexible
    /// employment registration (`"100"`).
    pub reason: Option<String>,
}

/// Masks the applicant's ID number: records reach logs and test failure messages.
impl std::fmt::Debug for ApplicationRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApplicationRecord")
            .field("tracking_number", &self.tracking_number)
            .field("kind", &self.kind)
            .field("status", &self.status)
            .field("id_number", &crate::api::mask_id_number(&self.id_number))
            .field("device_id", &self.device_id)
            .field("submitted_at", &self.submitted_at)
            .field("deadline", &self.deadline)
            .field("client_reference", &self.client_reference)
            .field("reason", &self.reason)
            .finish()
    }
}

/// One registry lookup: which terminal looked up whom (masked), why, and the outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryAccess {
    pub at: i64,
    pub device_id: String,
    /// `api::mask_id_number` of the person looked up; never the full number.
    pub subject_masked: String,
    /// `contributions`, `certificate`, `pension_payments` or `eligibility_<kind>`.
    pub purpose: String,
    /// `shown`, `name_mismatch`, `unknown_person`, `refused` (malformed) or `failed`.
    pub outcome: String,
}

/// A row a state-changing call adds; see [`Store::idempotency_commit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NewRecord {
    /// Not a row: fails the commit with [`StoreError::DeviceNotCurrent`] unless the device
    /// is enrolled, not revoked and `cert_serial` is its current certificate's serial.
    /// Checked inside the commit's transaction, so a revocation or renewal committed while
    /// the call was being worked on wins.
    RequireCurrentDevice {
        device_id: String,
        cert_serial: String,
    },
    /// A signed certificate (JSON of `api::Certificate`) and its verification code.
    Certificate {
        number: String,
        code: String,
        device_id: String,
        json: String,
        issued_at: i64,
    },
    Application(ApplicationRecord),
    /// A face image, encrypted with the tracking number bound as associated data.
    FaceImage {
        tracking_number: String,
        nonce: Vec<u8>,
        ciphertext: Vec<u8>,
    },
    /// A rating (JSON of `api::RatingRequest`).
    Rating {
        rating_id: String,
        device_id: String,
        json: String,
        at: i64,
    },
    /// An enrollment token spent by `device_id`: fails the commit if it was used or
    /// expired since it was checked.
    TokenUse {
        token_hash: String,
        device_id: String,
        at: i64,
    },
    /// A device enrolled or renewed. A renewal never changes `revoked_at`: a stale record
    /// cannot undo a revocation.
    Device(DeviceRecord),
    /// A registry lookup to keep in the access log.
    RegistryAccess(RegistryAccess),
    /// What a reviewer needs of an application waiting for a decision that its row does
    /// not hold; deleted with the decision.
    ReviewMaterial(ReviewMaterial),
}

/// See [`NewRecord::ReviewMaterial`].
#[derive(Clone, PartialEq, Eq)]
pub struct ReviewMaterial {
    pub tracking_number: String,
    /// Why the check was left for a person (`age_review`, `liveness_not_passed`).
    pub pending_reason: Option<String>,
    /// JSON of `api::LivenessEvidence` (qualification checks).
    pub liveness_json: Option<String>,
    /// The citizen's phone, when they gave one: the decision is sent there.
    pub phone: Option<String>,
}

/// Masks the phone number: records reach logs and test failure messages.
impl std::fmt::Debug for ReviewMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReviewMaterial")
            .field("tracking_number", &self.tracking_number)
            .field("pending_reason", &self.pending_reason)
            .field("liveness_json", &self.liveness_json)
            .field("phone", &self.phone.as_deref().map(crate::notify::mask_phone))
            .finish()
    }
}

/// An item of the back office's queue as its reviewer sees it. Blind by construction:
/// no terminal, hall or device id is in it.
#[derive(Clone, PartialEq, Eq)]
pub struct ReviewItem {
    pub tracking_number: String,
    /// snake_case of `api::ApplicationKind`
    pub kind: String,
    /// snake_case of `api::ApplicationStatus`
    pub status: String,
    pub id_number: String,
    pub submitted_at: i64,
    pub deadline: String,
    pub reviewer: String,
    pub assigned_at: i64,
    pub pending_reason: Option<String>,
    pub liveness_json: Option<String>,
    /// `approved` or `rejected` once decided, with the reason's code and when.
    pub decision: Option<String>,
    pub reason: Option<String>,
    pub decided_at: Option<i64>,
}

impl std::fmt::Debug for ReviewItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReviewItem")
            .field("tracking_number", &self.tracking_number)
            .field("kind", &self.kind)
            .field("status", &self.status)
            .field("id_number", &crate::api::mask_id_number(&self.id_number))
            .field("reviewer", &self.reviewer)
            .field("decision", &self.decision)
            .field("reason", &self.reason)
            .finish_non_exhaustive()
    }
}

/// A reviewer's decision on one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewDecision {
    pub tracking_number: String,
    pub reviewer: String,
    /// `approved` or `rejected`: the application's new status.
    pub decision: String,
    /// The code of the reason chosen from the fixed list (`crate::review::REASONS`).
    pub reason: String,
    pub at: i64,
}

/// What [`Store::decide_review`] did.
#[derive(Clone, PartialEq, Eq)]
pub enum DecideOutcome {
    /// Recorded; the application's status changed and its face image and review
    /// material were deleted. `phone`: where to send the decision, if one was given.
    Decided { phone: Option<String> },
    /// The item is not assigned to this reviewer (or not at all).
    NotAssigned,
    /// Decided before (by this reviewer: a form sent twice).
    AlreadyDecided,
}

impl std::fmt::Debug for DecideOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Decided { phone } => {
                f.debug_struct("Decided").field("phone", &phone.as_deref().map(crate::notify::mask_phone)).finish()
            }
            Self::NotAssigned => f.write_str("NotAssigned"),
            Self::AlreadyDecided => f.write_str("AlreadyDecided"),
        }
    }
}

/// The applications the back office decides: a qualification check left for a person,
/// and a "4050" employment subsidy application (SQL condition on `applications a`).
pub(crate) const REVIEWABLE: &str = "((a.kind = 'qualification_check' AND a.status = 'under_review')
     OR (a.kind = 'employment_subsidy' AND a.status = 'received'))";

/// Roles of ops users.
pub const ROLE_OPERATIONS: &str = "operations";
pub const ROLE_REVIEWER: &str = "reviewer";

/// Latest known state of one terminal, joined with its enrollment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminalRow {
    pub device: DeviceRecord,
    pub last_seen: Option<i64>,
    /// Last heartbeat as received (JSON of `api::Heartbeat`).
    pub heartbeat_json: Option<String>,
    pub sessions_total: i64,
    pub failures_total: i64,
    pub heartbeats_total: i64,
    pub events_total: i64,
    /// What the terminal last said about itself: `maintenance`, `powered_off` or `updating`.
    pub mode: Option<String>,
    pub mode_since: Option<i64>,
    /// Set once operations retired it.
    pub decommissioned: Option<Decommission>,
}

/// A terminal retired by operations, with what its outbox held by its last heartbeat:
/// those items were never delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decommission {
    pub at: i64,
    /// Items waiting in its outbox (`None`: it never sent a heartbeat).
    pub backlog_depth: Option<i64>,
    pub backlog_oldest_age_s: Option<i64>,
    /// Its last heartbeat, which the backlog is from.
    pub last_seen: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRow {
    pub at: i64,
    pub kind: String,
    pub severity: String,
    pub detail: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HourBucket {
    /// Unix hour (seconds / 3600).
    pub hour: i64,
    pub sessions: i64,
    pub failures: i64,
    pub backlog_max: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertRow {
    pub id: i64,
    pub device_id: String,
    pub kind: String,
    pub detail: String,
    pub opened_at: i64,
    pub cleared_at: Option<i64>,
}

/// What storing one batch of audit records found (see `crate::audit`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditIngest {
    /// Records stored, breaks and late ones included.
    pub stored: u32,
    /// Records stored before with the same hash (a re-send), not stored again.
    pub duplicates: u32,
    /// Records below the head filling a seq nothing was stored at (no alert).
    pub late: u32,
    /// Where the batch broke the device's chain, in order.
    pub breaks: Vec<crate::audit::ChainBreak>,
    /// Alerts (kind, detail) the breaks opened; a kind already open stays as it was.
    pub alerts_opened: Vec<(&'static str, String)>,
}

/// One stored audit record and the chain of its device it belongs to (1 for the first;
/// a fork or reset starts the next).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAudit {
    pub chain: i64,
    pub record: crate::api::AuditRecord,
}

/// Heartbeat figures the store aggregates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeartbeatRecord {
    pub device_id: String,
    pub received_at: i64,
    pub json: String,
    pub sessions: i64,
    pub failures: i64,
    pub backlog_depth: i64,
    /// What this heartbeat says about each alert kind it decides: `Some(detail)` opens
    /// it (if not open), `None` clears it (if open). Settled in the heartbeat's own
    /// transaction: one clearing statement instead of a round trip per kind, which was
    /// most of a heartbeat's cost on PostgreSQL (central/bench/run).
    pub alerts: Vec<(String, Option<String>)>,
}

/// The alerts a heartbeat opened (kind, detail) and cleared (kind).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlertChanges {
    pub opened: Vec<(String, String)>,
    pub cleared: Vec<String>,
}

/// What the retention sweep removes: everything older than these times (Unix seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionCutoffs {
    /// Face images of decided qualification checks submitted before this.
    pub faces_decided_before: i64,
    /// Face images of any qualification check submitted before this.
    pub faces_any_before: i64,
    /// Certificate documents issued before this.
    pub certificates_before: i64,
    /// Raw ID numbers of decided or completed applications submitted before this.
    pub id_numbers_before: i64,
    pub registry_access_before: i64,
    /// Events received, alerts cleared and hourly figures before this.
    pub telemetry_before: i64,
    pub audit_before: i64,
    /// Now: expired ops sessions and enrollment tokens go.
    pub now: i64,
}

/// How many rows one retention sweep removed or masked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionReport {
    pub face_images: usize,
    pub certificates: usize,
    pub id_numbers_masked: usize,
    pub registry_access: usize,
    pub events: usize,
    pub alerts: usize,
    pub hourly: usize,
    pub audit: usize,
    pub sessions: usize,
    pub tokens: usize,
}

impl RetentionReport {
    pub fn total(&self) -> usize {
        self.face_images
            + self.certificates
            + self.id_numbers_masked
            + self.registry_access
            + self.events
            + self.alerts
            + self.hourly
            + self.audit
            + self.sessions
            + self.tokens
    }
}

/// Counts shown on the dashboard (never personal data).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ActivityCounts {
    pub people: i64,
    pub certificates: i64,
    pub applications: i64,
    pub ratings: i64,
}

/// A package published for the fleet (`central release publish`); the file is
/// `<releases dir>/<sha256>.deb`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseRecord {
    pub package: String,
    pub version: String,
    pub architecture: String,
    pub sha256: String,
    pub size: i64,
    /// JSON of the `api::SignedRelease` as operations signed it.
    pub signed_release_json: String,
    pub published_at: i64,
}

/// Rollout states: offered now, held by operations, or replaced by a later rollout for
/// the same architecture.
pub const ROLLOUT_ACTIVE: &str = "active";
pub const ROLLOUT_PAUSED: &str = "paused";
pub const ROLLOUT_SUPERSEDED: &str = "superseded";

/// One version offered to part of the fleet of one architecture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rollout {
    pub id: i64,
    pub version: String,
    pub architecture: String,
    /// 1..=100: the terminals whose bucket (`crate::release::bucket`) is below it.
    pub percent: Option<i64>,
    /// Or exactly these terminals.
    pub devices: Option<Vec<String>>,
    /// [`ROLLOUT_ACTIVE`], [`ROLLOUT_PAUSED`] or [`ROLLOUT_SUPERSEDED`].
    pub state: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// What a terminal last reported about installing one version: `installed`,
/// `rolled_back` or `refused`, with the reason it gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateOutcome {
    pub device_id: String,
    pub version: String,
    pub outcome: String,
    pub reason: Option<String>,
    pub at: i64,
}

/// Everything the service persists.
pub trait Store: Send + Sync + 'static {
    // enrollment and devices
    fn insert_token(&self, token_hash: &str, created_at: i64, expires_at: i64) -> StoreResult<()>;
    /// Marks the token used by `device_id` if it is known, unexpired and unused.
    fn consume_token(&self, token_hash: &str, now: i64, device_id: &str) -> StoreResult<TokenUse>;
    /// What `consume_token` would answer, without using the token (enrollment uses it in
    /// its commit, [`NewRecord::TokenUse`], together with the device record).
    fn token_status(&self, token_hash: &str, now: i64) -> StoreResult<TokenUse>;
    fn upsert_device(&self, device: &DeviceRecord) -> StoreResult<()>;
    fn device(&self, device_id: &str) -> StoreResult<Option<DeviceRecord>>;
    fn revoke_device(&self, device_id: &str, now: i64) -> StoreResult<bool>;
    /// The fleet CA (SHA-256 of its DER certificate, hex) the database is bound to, if any.
    fn fleet_ca(&self) -> StoreResult<Option<String>>;
    /// Binds the database to the fleet CA `ca_sha256` unless it is bound already, and
    /// returns the CA it is bound to: `ca_sha256` itself, or the one bound first (by
    /// another instance, if several start together: one statement, the first wins).
    fn bind_fleet_ca(&self, ca_sha256: &str, now: i64) -> StoreResult<String>;

    // idempotency
    /// Reserves `(scope, key)` for a request whose hash is `request_hash`. An
    /// in-flight reservation older than `stale_before` is taken over (its owner died).
    fn idempotency_begin(
        &self,
        scope: &str,
        key: &str,
        request_hash: &str,
        now: i64,
        stale_before: i64,
    ) -> StoreResult<IdempotencyBegin>;
    /// Writes `records` and marks the in-flight `(scope, key)` done with `response`, all
    /// in one transaction: after a crash either both happened or neither did. When
    /// another attempt under the same key already finished (it took over a stale
    /// reservation), nothing is written and its stored response is returned instead.
    fn idempotency_commit(
        &self,
        scope: &str,
        key: &str,
        records: &[NewRecord],
        response: &StoredResponse,
    ) -> StoreResult<Option<StoredResponse>>;
    fn idempotency_abandon(&self, scope: &str, key: &str) -> StoreResult<()>;
    /// Drops every in-flight reservation: at start-up, when no worker of this store
    /// can still own one (the one process that could was killed mid-request). Without
    /// this, a retry would be answered 409 until the reservation went stale (minutes),
    /// holding up the terminal's whole queue. Returns how many were dropped. On
    /// PostgreSQL, shared by several processes, only this store's own and those of
    /// processes that are gone.
    fn idempotency_abandon_all_in_flight(&self) -> StoreResult<usize>;
    fn idempotency_purge(&self, created_before: i64) -> StoreResult<usize>;

    // registry
    fn registry_is_empty(&self) -> StoreResult<bool>;
    fn insert_registry(&self, people: &[(Person, Vec<ContributionRecord>)]) -> StoreResult<()>;
    fn person(&self, id_number: &str) -> StoreResult<Option<Person>>;
    fn contributions(&self, id_number: &str) -> StoreResult<Vec<ContributionRecord>>;
    /// Any people matching `pension_status`, for tests and demos.
    fn sample_people(&self, pension_status: &str, limit: u32) -> StoreResult<Vec<Person>>;

    // documents (written through `idempotency_commit`)
    fn certificate_by_code(&self, code: &str) -> StoreResult<Option<String>>;
    fn application(&self, tracking_number: &str) -> StoreResult<Option<ApplicationRecord>>;
    /// Applications whose tracking number, without its prefix and dashes, is `digits`:
    /// at most two, newest first (two mean the digits alone do not say which one).
    fn applications_by_digits(&self, digits: &str) -> StoreResult<Vec<ApplicationRecord>>;
    /// The next number of `day`'s (`YYYYMMDD`) tracking sequence, shared by every kind:
    /// 1 for the first application of the day.
    fn next_tracking_sequence(&self, day: &str) -> StoreResult<u64>;
    /// The latest application whose submission had `api::client_reference` = `reference`.
    fn application_by_client_reference(&self, reference: &str) -> StoreResult<Option<ApplicationRecord>>;
    /// The person's newest application of `kind` (snake_case of `api::ApplicationKind`)
    /// that is still open or was approved: received, under review or approved.
    fn open_application(&self, id_number: &str, kind: &str) -> StoreResult<Option<ApplicationRecord>>;
    fn face_image(&self, tracking_number: &str) -> StoreResult<Option<(Vec<u8>, Vec<u8>)>>;
    fn activity_counts(&self) -> StoreResult<ActivityCounts>;

    // telemetry
    fn record_heartbeat(&self, hb: &HeartbeatRecord) -> StoreResult<AlertChanges>;
    /// A telemetry call that carries only a heartbeat, the fleet's most frequent request,
    /// in one transaction: when `(scope, key)` is new, the heartbeat and `reply` are
    /// recorded together as a finished call (as [`Store::idempotency_begin`],
    /// [`Store::record_heartbeat`] and [`Store::idempotency_commit`] would in three).
    /// `None` when the key is already known: nothing is written, and the caller takes the
    /// general path, which replays, refuses or takes over. A concurrent first attempt
    /// under the same key waits for this one and then finds it done.
    fn record_heartbeat_once(
        &self,
        scope: &str,
        key: &str,
        request_hash: &str,
        hb: &HeartbeatRecord,
        reply: &StoredResponse,
    ) -> StoreResult<Option<AlertChanges>>;
    /// Stores events, ignoring ids already stored; returns how many were new.
    fn insert_events(&self, device_id: &str, events: &[crate::api::TelemetryEvent], now: i64) -> StoreResult<u32>;
    /// Stores audit records in order, checking each against the device's chain head
    /// (`crate::audit::classify`): re-sent records are skipped, records that break the
    /// chain are kept (a fork's or reset's in a new chain), and each kind of break opens
    /// its alert, all in one transaction.
    fn insert_audit(&self, device_id: &str, records: &[crate::api::AuditRecord], now: i64) -> StoreResult<AuditIngest>;
    /// The last audit record accepted from `device_id`, which the next must link to.
    fn audit_head(&self, device_id: &str) -> StoreResult<Option<crate::audit::ChainHead>>;
    /// Every stored audit record of `device_id` at `seq`, one per chain, oldest chain first.
    fn audit_versions(&self, device_id: &str, seq: u64) -> StoreResult<Vec<StoredAudit>>;
    /// Opens an alert unless one of that kind is already open. True if newly opened.
    fn open_alert(&self, device_id: &str, kind: &str, detail: &str, now: i64) -> StoreResult<bool>;
    fn clear_alert(&self, device_id: &str, kind: &str, now: i64) -> StoreResult<bool>;
    /// Retires an active device: refused from now on (as if revoked), its backlog at its
    /// last heartbeat recorded. `None` when there is no such active device.
    fn decommission_device(&self, device_id: &str, now: i64) -> StoreResult<Option<Decommission>>;
    /// Records what the terminal said about itself (`None`: back to serving) since `since`.
    fn set_terminal_mode(&self, device_id: &str, mode: Option<&str>, since: i64) -> StoreResult<()>;
    fn terminals(&self) -> StoreResult<Vec<TerminalRow>>;
    fn terminal(&self, device_id: &str) -> StoreResult<Option<TerminalRow>>;
    fn recent_events(&self, device_id: &str, limit: u32) -> StoreResult<Vec<EventRow>>;
    fn hourly(&self, device_id: &str, from_hour: i64) -> StoreResult<Vec<HourBucket>>;
    /// Open alerts first, then the most recently cleared, newest first.
    fn alerts(&self, limit: u32) -> StoreResult<Vec<AlertRow>>;
    /// Every open alert (at most one per device and kind).
    fn open_alerts(&self) -> StoreResult<Vec<AlertRow>>;
    /// Opens a `kind` alert for every active device whose last heartbeat is older than
    /// `seen_before` (or who never sent one and enrolled before it) and has none open;
    /// returns the devices it opened one for. One statement, whatever the fleet's size:
    /// a city-wide network outage silences every terminal at once, and a round trip per
    /// terminal per sweep kept a 50,000-terminal PostgreSQL store busy for the whole
    /// sweep interval (measured with central/bench/run).
    fn open_silence_alerts(&self, seen_before: i64, kind: &str, detail: &str, now: i64) -> StoreResult<Vec<String>>;

    // ops users and sessions
    fn upsert_user(&self, username: &str, password_hash: &str, now: i64) -> StoreResult<()>;
    fn user_password_hash(&self, username: &str) -> StoreResult<Option<String>>;
    fn insert_session(&self, token_hash: &str, username: &str, expires_at: i64) -> StoreResult<()>;
    fn session_user(&self, token_hash: &str, now: i64) -> StoreResult<Option<String>>;
    fn delete_session(&self, token_hash: &str) -> StoreResult<()>;
    /// Sets an existing user's role ([`ROLE_OPERATIONS`] or [`ROLE_REVIEWER`]); false
    /// when there is no such user.
    fn set_user_role(&self, username: &str, role: &str) -> StoreResult<bool>;
    fn user_role(&self, username: &str) -> StoreResult<Option<String>>;

    // the back office
    /// The reviewer's undecided item if there is one, else one picked at random among
    /// the reviewable applications assigned to nobody, now assigned to them (once: of
    /// two reviewers picking the same item at once, one gets it and the other another).
    fn assign_review(&self, reviewer: &str, now: i64) -> StoreResult<Option<ReviewItem>>;
    /// An item that has been assigned, decided or not.
    fn review_item(&self, tracking_number: &str) -> StoreResult<Option<ReviewItem>>;
    /// Records the decision, sets the application's status to it and deletes its face
    /// image and review material, in one transaction: a decision either happened whole
    /// or not at all, and a decided item keeps no face.
    fn decide_review(&self, decision: &ReviewDecision) -> StoreResult<DecideOutcome>;
    /// Reviewable applications not yet assigned, and those assigned but undecided.
    fn review_counts(&self) -> StoreResult<(i64, i64)>;

    // software releases and rollouts
    /// Stores a published release; false (nothing written) when its package, version
    /// and architecture were published before.
    fn insert_release(&self, release: &ReleaseRecord) -> StoreResult<bool>;
    /// The release of `version` for `architecture` (the newest published, should two
    /// packages share them).
    fn release(&self, version: &str, architecture: &str) -> StoreResult<Option<ReleaseRecord>>;
    fn release_by_sha256(&self, sha256: &str) -> StoreResult<Option<ReleaseRecord>>;
    /// Starts a rollout and supersedes the architecture's active or paused one, in one
    /// transaction; returns the new rollout's id.
    fn start_rollout(
        &self,
        version: &str,
        architecture: &str,
        percent: Option<i64>,
        devices: Option<&[String]>,
        now: i64,
    ) -> StoreResult<i64>;
    /// Moves rollout `id` from state `from` to `to`; false when it is not in `from`.
    fn set_rollout_state(&self, id: i64, from: &str, to: &str, now: i64) -> StoreResult<bool>;
    /// Raises the percentage of a percentage rollout that is active or paused to
    /// `percent`; false when there is no such rollout or it is at least that already.
    fn widen_rollout(&self, id: i64, percent: i64, now: i64) -> StoreResult<bool>;
    fn rollout(&self, id: i64) -> StoreResult<Option<Rollout>>;
    /// Every rollout, newest first.
    fn rollouts(&self) -> StoreResult<Vec<Rollout>>;
    /// The active rollout for `architecture`, if any.
    fn active_rollout(&self, architecture: &str) -> StoreResult<Option<Rollout>>;
    /// Records an outcome, replacing an earlier one of the same device and version (one
    /// reported at an earlier time, re-sent late, changes nothing).
    fn record_update_outcome(&self, outcome: &UpdateOutcome) -> StoreResult<()>;
    fn update_outcome(&self, device_id: &str, version: &str) -> StoreResult<Option<UpdateOutcome>>;
    /// Every outcome reported for `version`, newest first.
    fn update_outcomes(&self, version: &str) -> StoreResult<Vec<UpdateOutcome>>;

    // registry access log and retention
    fn record_registry_access(&self, access: &RegistryAccess) -> StoreResult<()>;
    /// The latest lookups, newest first.
    fn recent_registry_access(&self, limit: u32) -> StoreResult<Vec<RegistryAccess>>;
    /// Deletes or masks everything older than the cutoffs, in one transaction.
    fn enforce_retention(&self, cutoffs: &RetentionCutoffs) -> StoreResult<RetentionReport>;
}
