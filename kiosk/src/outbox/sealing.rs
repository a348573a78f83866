//! Encryption at rest for outbox bodies (they carry ID numbers and face images):
//! ChaCha20-Poly1305 with a per-device key file created with mode 0600.

use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use std::io::Write as _;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("key file {path}: {source}")]
    KeyFile { path: String, source: std::io::Error },
    #[error("key file {path} must hold exactly 32 bytes, found {len}")]
    KeyLength { path: String, len: usize },
    #[error("key file {path} is readable by others (mode {mode:o}); it must be 0600")]
    KeyMode { path: String, mode: u32 },
    #[error("an outbox body failed authentication (edited on disk, or sealed with another key)")]
    Tampered,
}

/// A 32-byte device key in `path`, created (mode 0600, fresh random bytes) when
/// absent; refused when others could read it. The outbox and the audit trail each
/// keep one.
pub fn load_or_create_key(path: &Path) -> Result<zeroize::Zeroizing<Vec<u8>>, SealError> {
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    let shown = path.display().to_string();
    let io = |source| SealError::KeyFile { path: shown.clone(), source };
    let bytes = match std::fs::read(path) {
        Ok(bytes) => {
            let mode = std::fs::metadata(path).map_err(io)?.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(SealError::KeyMode { path: shown, mode });
            }
            bytes
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = ChaCha20Poly1305::generate_key(&mut chacha20poly1305::aead::OsRng);
            // create_new + mode: the key never exists on disk with wider permissions.
            let mut file =
                std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map_err(io)?;
            file.write_all(&key).map_err(io)?;
            file.sync_all().map_err(io)?;
            key.to_vec()
        }
        Err(e) => return Err(io(e)),
    };
    if bytes.len() != 32 {
        return Err(SealError::KeyLength { path: shown, len: bytes.len() });
    }
    Ok(zeroize::Zeroizing::new(bytes))
}

/// Seals and opens outbox bodies with the device's key.
pub struct Sealer {
    cipher: ChaCha20Poly1305,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(<key>)")
    }
}

impl Sealer {
    /// Loads the key file, creating it (mode 0600, fresh random key) when absent.
    pub fn load_or_create(path: &Path) -> Result<Self, SealError> {
        let bytes = load_or_create_key(path)?;
        Ok(Self { cipher: ChaCha20Poly1305::new(Key::from_slice(&bytes)) })
    }

    /// Returns `nonce || ciphertext`; `aad` binds the body to its outbox row.
    pub fn seal(&self, plain: &[u8], aad: &[u8]) -> Vec<u8> {
        let nonce = ChaCha20Poly1305::generate_nonce(&mut chacha20poly1305::aead::OsRng);
        let mut out = nonce.to_vec();
        // Encryption with a valid key and nonce cannot fail for in-memory buffers.
        let sealed = self.cipher.encrypt(&nonce, Payload { msg: plain, aad }).unwrap_or_default();
        out.extend(sealed);
        out
    }

    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, SealError> {
        if sealed.len() < 12 {
            return Err(SealError::Tampered);
        }
        let (nonce, body) = sealed.split_at(12);
        self.cipher.decrypt(Nonce::from_slice(nonce), Payload { msg: body, aad }).map_err(|_| SealError::Tampered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn key_file_is_created_0600_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outbox.key");
        let a = Sealer::load_or_create(&path).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        let sealed = a.seal(b"face jpeg", b"key-1");
        assert!(!sealed.windows(9).any(|w| w == b"face jpeg"), "ciphertext hides the body");
        let b = Sealer::load_or_create(&path).unwrap();
        assert_eq!(b.open(&sealed, b"key-1").unwrap(), b"face jpeg");
        assert!(matches!(b.open(&sealed, b"key-2"), Err(SealError::Tampered)), "bound to its row");
    }

    #[test]
    fn world_readable_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outbox.key");
        std::fs::write(&path, [7u8; 32]).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(Sealer::load_or_create(&path), Err(SealError::KeyMode { mode: 0o644, .. })));
    }

    #[test]
    fn flipped_byte_is_detected() {
        let dir = tempfile::tempdir().unwrap();
        let s = Sealer::load_or_create(&dir.path().join("k")).unwrap();
        let mut sealed = s.seal(b"hello", b"");
        sealed[14] ^= 1;
        assert!(s.open(&sealed, b"").is_err());
    }
}
