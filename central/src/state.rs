//! What every request handler shares: the store, the PKI, the signing and face
//! encryption keys, configuration and process-wide counters.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chacha20poly1305::{ChaCha20Poly1305, KeyInit as _};

use crate::config::ServerConfig;
use crate::pki::FleetCa;
use crate::store::Store;

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
    pub counters: Counters,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").field("config", &self.config).finish_non_exhaustive()
    }
}

/// Reads a 32-byte key kept hex-encoded in `path`, creating it on first start.
pub fn load_or_create_key(path: &Path) -> std::io::Result<[u8; 32]> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    if let Ok(text) = std::fs::read_to_string(path) {
        let raw = hex::decode(text.trim())
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{}: {e}", path.display())))?;
        return raw.try_into().map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{}: not 32 bytes", path.display()))
        });
    }
    let key: [u8; 32] = rand::random();
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    f.write_all(hex::encode(key).as_bytes())?;
    Ok(key)
}

pub fn face_cipher(key: &[u8; 32]) -> ChaCha20Poly1305 {
    ChaCha20Poly1305::new(key.into())
}
