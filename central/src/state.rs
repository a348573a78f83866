//! What every request handler shares: the store, the PKI, the signing and face
//! encryption keys, configuration, throttles, the login password pool, the connection
//! registry and process-wide counters.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chacha20poly1305::{ChaCha20Poly1305, KeyInit as _};

use crate::config::ServerConfig;
use crate::connections::Connections;
use crate::password::PasswordChecker;
use crate::pki::FleetCa;
use crate::store::Store;
use crate::telemetry::MetricsCache;
use crate::throttle::Throttle;
use std::net::IpAddr;

/// Process-lifetime counters exported as Prometheus `_total` counters.
#[derive(Debug, Default)]
pub struct Counters {
    pub heartbeats: AtomicU64,
    pub events: AtomicU64,
    pub audit_records: AtomicU64,
    pub certificates: AtomicU64,
    pub qualification_approved: AtomicU64,
    pub qualification_rejected: AtomicU64,
    pub qualification_pending: AtomicU64,
    pub registrations: AtomicU64,
    pub ratings: AtomicU64,
    pub idempotent_replays: AtomicU64,
    pub enrollments: AtomicU64,
    pub problems: AtomicU64,
    /// Calls refused with 429, by what was throttled.
    pub logins_throttled: AtomicU64,
    pub lookups_throttled: AtomicU64,
    pub enrollments_throttled: AtomicU64,
    pub metrics_renders: AtomicU64,
}

/// The counter a committed state-changing call adds one to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tally {
    Certificates,
    QualificationApproved,
    QualificationRejected,
    QualificationPending,
    Registrations,
    Ratings,
    Enrollments,
}

impl Counters {
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn counter(&self, tally: Tally) -> &AtomicU64 {
        match tally {
            Tally::Certificates => &self.certificates,
            Tally::QualificationApproved => &self.qualification_approved,
            Tally::QualificationRejected => &self.qualification_rejected,
            Tally::QualificationPending => &self.qualification_pending,
            Tally::Registrations => &self.registrations,
            Tally::Ratings => &self.ratings,
            Tally::Enrollments => &self.enrollments,
        }
    }
}

pub struct AppState {
    pub config: ServerConfig,
    pub store: Arc<dyn Store>,
    pub ca: FleetCa,
    pub signing_key: ed25519_dalek::SigningKey,
    pub face_cipher: ChaCha20Poly1305,
    pub verify_base_url: String,
    /// This instance's name (`ServerConfig::instance_name`), on metrics and pages.
    pub instance: String,
    pub counters: Counters,
    pub throttles: Throttles,
    pub passwords: PasswordChecker,
    pub connections: Arc<Connections>,
    /// SHA-256 of the bearer token `GET /metrics` needs (the token is in `metrics.token`).
    pub metrics_token_hash: [u8; 32],
    pub metrics: MetricsCache,
    /// Where the back office's decisions are sent (`crate::notify`).
    pub notifier: Arc<dyn crate::notify::Notifier>,
}

/// What clients are throttled by (see `ServerConfig` for the rates).
#[derive(Debug)]
pub struct Throttles {
    pub login_by_address: Throttle<IpAddr>,
    pub login_by_user: Throttle<String>,
    pub lookups_by_terminal: Throttle<String>,
    pub enrollments_by_address: Throttle<IpAddr>,
    /// One warning a minute per throttled client, so a flood does not flood the log too.
    warnings: Throttle<String>,
}

impl Throttles {
    pub fn new(config: &ServerConfig) -> Self {
        Self {
            login_by_address: Throttle::new(config.login.per_address),
            login_by_user: Throttle::new(config.login.per_user),
            lookups_by_terminal: Throttle::new(config.lookups_per_terminal),
            enrollments_by_address: Throttle::new(config.enrollments_per_address),
            warnings: Throttle::new(crate::config::Rate { per_minute: 1, burst: 1 }),
        }
    }

    /// Whether a warning about `what` (a throttled client) may be logged now.
    pub fn may_warn(&self, what: &str) -> bool {
        self.warnings.check(&what.to_owned()).is_ok()
    }

    /// Forgets keys whose allowance has filled up again (run by the sweeper).
    pub fn forget_rested(&self) {
        self.login_by_address.forget_rested();
        self.login_by_user.forget_rested();
        self.lookups_by_terminal.forget_rested();
        self.enrollments_by_address.forget_rested();
        self.warnings.forget_rested();
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").field("config", &self.config).finish_non_exhaustive()
    }
}

/// Reads a 32-byte key kept hex-encoded in `path`, creating it (mode 0600) on first
/// start. A key file that group or others may read is refused: whoever can read it can
/// sign certificates or decrypt faces.
pub fn load_or_create_key(path: &Path) -> std::io::Result<[u8; 32]> {
    use std::io::Write as _;
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let mode = std::fs::metadata(path)?.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::PermissionDenied,
                    format!(
                        "{} is readable by group or others (mode {mode:o}); it holds a secret key: run `chmod 600 {}`",
                        path.display(),
                        path.display()
                    ),
                ));
            }
            let raw = hex::decode(text.trim()).map_err(|e| {
                std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{}: {e}", path.display()))
            })?;
            raw.try_into().map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{}: not 32 bytes", path.display()))
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key: [u8; 32] = rand::random();
            let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
            f.write_all(hex::encode(key).as_bytes())?;
            f.sync_all()?;
            Ok(key)
        }
        Err(e) => Err(std::io::Error::new(e.kind(), format!("{}: {e}", path.display()))),
    }
}

pub fn face_cipher(key: &[u8; 32]) -> ChaCha20Poly1305 {
    ChaCha20Poly1305::new(key.into())
}
