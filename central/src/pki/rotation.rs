//! The server certificate in use, swapped when it is rotated, and its two files
//! replaced so that a crash at any moment leaves a certificate and key that match.

use super::{PkiError, read, read_private};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::path::Path;
use std::sync::{Arc, PoisonError, RwLock};

/// What rustls serves on every handshake; a rotation swaps it for new connections while
/// open ones finish on the certificate they started with.
pub struct ServerCertificate {
    current: RwLock<Served>,
}

#[derive(Clone)]
struct Served {
    key: Arc<CertifiedKey>,
    /// (not_before, not_after), unix seconds.
    validity: (i64, i64),
}

impl std::fmt::Debug for ServerCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerCertificate").field("validity", &self.validity()).finish()
    }
}

impl ServerCertificate {
    pub(super) fn load(cert_path: &Path, key_path: &Path) -> Result<Self, PkiError> {
        let served = served(&read(cert_path)?, &read_private(key_path)?, cert_path)?;
        Ok(Self { current: RwLock::new(served) })
    }

    /// Serves `cert_pem` with `key_pem` from the next handshake on.
    pub(super) fn replace(&self, cert_pem: &str, key_pem: &str) -> Result<(), PkiError> {
        let served = served(cert_pem, key_pem, Path::new(super::SERVER_CERT))?;
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = served;
        Ok(())
    }

    /// (not_before, not_after) of the certificate served now, unix seconds.
    pub fn validity(&self) -> (i64, i64) {
        self.current.read().unwrap_or_else(PoisonError::into_inner).validity
    }
}

impl ResolvesServerCert for ServerCertificate {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.read().unwrap_or_else(PoisonError::into_inner).key.clone())
    }
}

fn served(cert_pem: &str, key_pem: &str, path: &Path) -> Result<Served, PkiError> {
    let bad =
        |detail: String| PkiError::BadMaterial { what: "server certificate", path: path.display().to_string(), detail };
    let chain = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(e.to_string()))?;
    let leaf = chain.first().ok_or_else(|| bad("no certificate in the file".into()))?;
    let (_, parsed) = x509_parser::parse_x509_certificate(leaf).map_err(|e| bad(e.to_string()))?;
    let validity = (parsed.validity().not_before.timestamp(), parsed.validity().not_after.timestamp());
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(|e| bad(e.to_string()))?;
    let provider = rustls::crypto::ring::default_provider();
    // Also checks that the key is the certificate's.
    let key = CertifiedKey::from_der(chain, key, &provider).map_err(|e| bad(e.to_string()))?;
    Ok(Served { key: Arc::new(key), validity })
}

fn new_path(path: &Path) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".new");
    name.into()
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> PkiError + '_ {
    move |source| PkiError::Io { path: path.display().to_string(), source }
}

/// Writes `contents` to `path`, mode 0600, flushed to disk, replacing any leftover.
fn write_synced(path: &Path, contents: &str) -> Result<(), PkiError> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(path)(e)),
        _ => {}
    }
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map_err(io(path))?;
    f.write_all(contents.as_bytes()).map_err(io(path))?;
    f.sync_all().map_err(io(path))
}

fn sync_dir(path: &Path) -> Result<(), PkiError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}

/// Replaces the certificate and key files: both written beside as `.new`, then the key
/// renamed, then the certificate. [`finish_interrupted`] completes or undoes a
/// replacement a crash cut short, by which of the `.new` files are left.
pub(super) fn save(cert_path: &Path, key_path: &Path, cert_pem: &str, key_pem: &str) -> Result<(), PkiError> {
    let (cert_new, key_new) = (new_path(cert_path), new_path(key_path));
    write_synced(&cert_new, cert_pem)?;
    write_synced(&key_new, key_pem)?;
    sync_dir(cert_path)?;
    std::fs::rename(&key_new, key_path).map_err(io(key_path))?;
    sync_dir(key_path)?;
    std::fs::rename(&cert_new, cert_path).map_err(io(cert_path))?;
    sync_dir(cert_path)
}

/// After a crash during [`save`]: both `.new` files left means nothing was renamed yet
/// (the old pair is whole; the new one is dropped); only the certificate's left means
/// the key was renamed and the certificate must follow it.
pub(super) fn finish_interrupted(dir: &Path) -> Result<(), PkiError> {
    let (cert_path, key_path) = (dir.join(super::SERVER_CERT), dir.join(super::SERVER_KEY));
    let (cert_new, key_new) = (new_path(&cert_path), new_path(&key_path));
    if !cert_new.exists() {
        return Ok(());
    }
    if key_new.exists() {
        tracing::warn!(
            "a server certificate rotation was interrupted before it took effect; the old certificate stays"
        );
        std::fs::remove_file(&key_new).map_err(io(&key_new))?;
        std::fs::remove_file(&cert_new).map_err(io(&cert_new))?;
    } else {
        tracing::warn!("a server certificate rotation was interrupted halfway; finishing it");
        std::fs::rename(&cert_new, &cert_path).map_err(io(&cert_path))?;
    }
    sync_dir(&cert_path)
}

#[cfg(test)]
mod tests {
    use super::super::{FleetCa, SERVER_CERT, SERVER_KEY};
    use super::*;
    use std::time::Duration;

    fn open_ca(dir: &Path) -> FleetCa {
        FleetCa::load_or_create_with(dir, &["central.example".into()], Duration::from_secs(7200)).unwrap()
    }

    #[test]
    fn rotates_after_two_thirds_of_the_life_and_the_files_follow() {
        let dir = tempfile::tempdir().unwrap();
        let ca = open_ca(dir.path());
        let (not_before, not_after) = ca.server_certificate().validity();
        // Issued an hour back-dated: 3 h of life, due at 2 h after not_before.
        assert_eq!(not_after - not_before, 3 * 3600);
        let at = |t: i64| time::OffsetDateTime::from_unix_timestamp(t).unwrap();
        assert_eq!(ca.rotate_server_certificate_if_due(at(not_before + 2 * 3600 - 1)).unwrap(), None);
        let before = std::fs::read_to_string(dir.path().join(SERVER_CERT)).unwrap();
        let rotated = ca.rotate_server_certificate_if_due(at(not_before + 2 * 3600)).unwrap();
        assert_eq!(rotated, Some(not_before + 2 * 3600 + 7200));
        assert_eq!(ca.server_certificate().validity().1, not_before + 2 * 3600 + 7200);
        let after = std::fs::read_to_string(dir.path().join(SERVER_CERT)).unwrap();
        assert_ne!(before, after, "saved");
        // A restart serves the rotated pair (load checks that key and certificate match).
        let again = open_ca(dir.path());
        assert_eq!(again.server_certificate().validity(), ca.server_certificate().validity());
        assert!(!new_path(&dir.path().join(SERVER_CERT)).exists());
    }

    #[test]
    fn a_rotation_cut_short_at_either_step_leaves_a_matching_pair() {
        for renamed_key in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let first = open_ca(dir.path());
            let old = first.server_certificate().validity();
            // What `save` leaves when cut short: both new files, or the key renamed.
            let (cert, key) = super::super::issue_server_certificate(
                &first.ca_cert_pem,
                &first.ca_key,
                &[],
                time::OffsetDateTime::now_utc() + Duration::from_secs(600),
                Duration::from_secs(7200),
            )
            .unwrap();
            let (cert_path, key_path) = (dir.path().join(SERVER_CERT), dir.path().join(SERVER_KEY));
            write_synced(&new_path(&cert_path), &cert).unwrap();
            write_synced(&new_path(&key_path), &key).unwrap();
            if renamed_key {
                std::fs::rename(new_path(&key_path), &key_path).unwrap();
            }
            let restarted = open_ca(dir.path());
            let served = restarted.server_certificate().validity();
            if renamed_key {
                assert_ne!(served, old, "the rotation was finished");
            } else {
                assert_eq!(served, old, "the old pair stays");
            }
            assert!(!new_path(&cert_path).exists() && !new_path(&key_path).exists());
        }
    }
}
