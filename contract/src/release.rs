//! Signed software releases: what operations sign offline, what central offers a
//! terminal, and what the terminal reports back about installing it.
//!
//! Trust runs from a release key that operations hold offline: central stores and
//! serves packages but cannot sign one, so a compromised central cannot push code to
//! the fleet. The terminal (and again its root-side installer) checks the signature
//! over the manifest, then the package's bytes against the manifest, before anything
//! is installed.

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::{CertificateSignature, SignatureError, signing_key_id};

/// What one package is, signed by operations' release key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseManifest {
    /// Debian package name, `kiosk`.
    pub package: String,
    /// Debian version, e.g. `0.2.0`.
    pub version: String,
    /// Debian architecture: `amd64`, `arm64`.
    pub architecture: String,
    /// SHA-256 of the `.deb` file, 64 lower-case hex chars.
    pub sha256: String,
    /// Size of the `.deb` file in bytes.
    pub size: u64,
}

/// A manifest with operations' Ed25519 signature over [`canonical_release_manifest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedRelease {
    pub manifest: ReleaseManifest,
    pub signature: CertificateSignature,
}

/// Longest version, package or architecture text a manifest may carry.
const FIELD_MAX: usize = 64;

/// The bytes the release key signs: a fixed prefix (so a release signature can never
/// be replayed as any other kind of signed message) and the manifest's compact JSON,
/// fields in declaration order.
pub fn canonical_release_manifest(manifest: &ReleaseManifest) -> Vec<u8> {
    let mut out = b"kiosk-release-v1\n".to_vec();
    // Serialising strings and an integer cannot fail.
    out.extend(serde_json::to_vec(manifest).unwrap_or_default());
    out
}

/// Signs `manifest` with the release key (done offline by operations).
pub fn sign_release(manifest: ReleaseManifest, key: &ed25519_dalek::SigningKey) -> SignedRelease {
    use ed25519_dalek::Signer as _;
    let signature = key.sign(&canonical_release_manifest(&manifest));
    SignedRelease {
        signature: CertificateSignature {
            algorithm: "Ed25519".into(),
            key_id: signing_key_id(&key.verifying_key()),
            value: base64::engine::general_purpose::STANDARD.encode(signature.to_bytes()),
        },
        manifest,
    }
}

/// Why a release is not installed. Each says what a technician or operator can act on.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReleaseError {
    #[error("release signature refused: {0}")]
    Signature(#[from] SignatureError),
    #[error("manifest field {field} is not acceptable: {value:?}")]
    BadField { field: &'static str, value: String },
    #[error("release is for package {got:?}, this terminal runs {expected:?}")]
    WrongPackage { expected: String, got: String },
    #[error("release is for architecture {got}, this terminal is {expected}")]
    WrongArchitecture { expected: String, got: String },
    #[error(
        "package is {got_size} bytes with SHA-256 {got_sha256}, the signed manifest says {size} bytes with {sha256}"
    )]
    PackageMismatch { sha256: String, size: u64, got_sha256: String, got_size: u64 },
}

impl ReleaseManifest {
    /// Field-level sanity: what central stores and a terminal installs never carries a
    /// path, a shell character or an unbounded string.
    pub fn check_fields(&self) -> Result<(), ReleaseError> {
        let debian_text = |field: &'static str, value: &str, extra: &[char]| {
            let ok = !value.is_empty()
                && value.len() <= FIELD_MAX
                && value.starts_with(|c: char| c.is_ascii_alphanumeric())
                && value.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || extra.contains(&c));
            if ok { Ok(()) } else { Err(ReleaseError::BadField { field, value: value.to_owned() }) }
        };
        debian_text("package", &self.package, &['-', '+', '.'])?;
        debian_text("version", &self.version, &['.', '+', '~', '-'])?;
        debian_text("architecture", &self.architecture, &['-'])?;
        if self.sha256.len() != 64 || !self.sha256.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(ReleaseError::BadField { field: "sha256", value: self.sha256.clone() });
        }
        Ok(())
    }
}

/// Checks the signature (against the one key the terminal trusts), the fields, and
/// that the release is meant for `package` on `architecture`.
pub fn verify_release(
    release: &SignedRelease,
    key: &ed25519_dalek::VerifyingKey,
    package: &str,
    architecture: &str,
) -> Result<(), ReleaseError> {
    let sig = &release.signature;
    if sig.algorithm != "Ed25519" {
        return Err(SignatureError::UnsupportedAlgorithm(sig.algorithm.clone()).into());
    }
    let expected = signing_key_id(key);
    if sig.key_id != expected {
        return Err(SignatureError::WrongKey { expected, got: sig.key_id.clone() }.into());
    }
    let raw = base64::engine::general_purpose::STANDARD.decode(&sig.value).map_err(|_| SignatureError::Malformed)?;
    let bytes: [u8; 64] = raw.try_into().map_err(|_| SignatureError::Malformed)?;
    key.verify_strict(&canonical_release_manifest(&release.manifest), &ed25519_dalek::Signature::from_bytes(&bytes))
        .map_err(|_| SignatureError::Mismatch)?;
    let m = &release.manifest;
    m.check_fields()?;
    if m.package != package {
        return Err(ReleaseError::WrongPackage { expected: package.into(), got: m.package.clone() });
    }
    if m.architecture != architecture {
        return Err(ReleaseError::WrongArchitecture { expected: architecture.into(), got: m.architecture.clone() });
    }
    Ok(())
}

/// Checks downloaded bytes (their SHA-256, hex, and length) against the manifest.
pub fn check_package(manifest: &ReleaseManifest, sha256_hex: &str, size: u64) -> Result<(), ReleaseError> {
    if manifest.sha256 == sha256_hex && manifest.size == size {
        Ok(())
    } else {
        Err(ReleaseError::PackageMismatch {
            sha256: manifest.sha256.clone(),
            size: manifest.size,
            got_sha256: sha256_hex.to_owned(),
            got_size: size,
        })
    }
}

/// `GET /v1/updates/offer?architecture=…`: the release central's rollouts offer this
/// terminal (200), or nothing (204).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateOffer {
    pub rollout_id: i64,
    pub release: SignedRelease,
    /// Where to download the package: [`crate::paths::UPDATE_PACKAGES`]`/{sha256}`.
    pub download_path: String,
}

/// Telemetry event kinds the terminal reports an update's progress with. The detail is
/// [`update_detail`]: the version, then the reason when there is one.
pub mod update_event {
    /// The package or its signature was refused before anything was installed.
    pub const REFUSED: &str = "update.refused";
    /// Installation begins (the fleet view shows the terminal as updating).
    pub const STARTED: &str = "update.started";
    /// The new version passed its self-test and serves.
    pub const INSTALLED: &str = "update.installed";
    /// The new version failed or never came back; the previous one was restored.
    pub const ROLLED_BACK: &str = "update.rolled_back";
}

/// `0.2.0` or `0.2.0: self-test failed: printer did not answer`.
pub fn update_detail(version: &str, reason: Option<&str>) -> String {
    match reason {
        Some(r) => format!("{version}: {r}"),
        None => version.to_owned(),
    }
}

/// Splits an [`update_detail`] back into the version and the reason.
pub fn parse_update_detail(detail: &str) -> (&str, Option<&str>) {
    match detail.split_once(": ") {
        Some((v, r)) => (v, Some(r)),
        None => (detail, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> ed25519_dalek::SigningKey {
        ed25519_dalek::SigningKey::from_bytes(&[7; 32])
    }

    fn manifest() -> ReleaseManifest {
        ReleaseManifest {
            package: "kiosk".into(),
            version: "0.2.0".into(),
            architecture: "arm64".into(),
            sha256: "ab".repeat(32),
            size: 1234,
        }
    }

    #[test]
    fn the_signed_bytes_are_pinned() {
        let bytes = canonical_release_manifest(&manifest());
        let expected = format!(
            "kiosk-release-v1\n{{\"package\":\"kiosk\",\"version\":\"0.2.0\",\"architecture\":\"arm64\",\"sha256\":\"{}\",\"size\":1234}}",
            "ab".repeat(32)
        );
        assert_eq!(String::from_utf8(bytes).unwrap(), expected);
    }

    #[test]
    fn a_signed_release_verifies_and_any_change_is_refused() {
        let k = key();
        let signed = sign_release(manifest(), &k);
        assert_eq!(verify_release(&signed, &k.verifying_key(), "kiosk", "arm64"), Ok(()));

        let mut tampered = signed.clone();
        tampered.manifest.sha256 = "cd".repeat(32);
        assert_eq!(
            verify_release(&tampered, &k.verifying_key(), "kiosk", "arm64"),
            Err(ReleaseError::Signature(SignatureError::Mismatch))
        );
        let other = ed25519_dalek::SigningKey::from_bytes(&[8; 32]);
        assert!(matches!(
            verify_release(&sign_release(manifest(), &other), &k.verifying_key(), "kiosk", "arm64"),
            Err(ReleaseError::Signature(SignatureError::WrongKey { .. }))
        ));
        assert!(matches!(
            verify_release(&signed, &k.verifying_key(), "kiosk", "amd64"),
            Err(ReleaseError::WrongArchitecture { .. })
        ));
        assert!(matches!(
            verify_release(&signed, &k.verifying_key(), "kiosk-central", "arm64"),
            Err(ReleaseError::WrongPackage { .. })
        ));
        let mut garbled = signed;
        garbled.signature.value = "not base64".into();
        assert_eq!(
            verify_release(&garbled, &k.verifying_key(), "kiosk", "arm64"),
            Err(ReleaseError::Signature(SignatureError::Malformed))
        );
    }

    #[test]
    fn a_validly_signed_manifest_with_a_hostile_field_is_still_refused() {
        let k = key();
        for (field, value) in
            [("version", "../../etc"), ("version", "1.0 ; rm"), ("package", ""), ("architecture", "ARM64")]
        {
            let mut m = manifest();
            match field {
                "version" => m.version = value.into(),
                "package" => m.package = value.into(),
                _ => m.architecture = value.into(),
            }
            let r = verify_release(&sign_release(m, &k), &k.verifying_key(), "kiosk", "arm64");
            assert!(matches!(r, Err(ReleaseError::BadField { .. })), "{field}={value:?}: {r:?}");
        }
        let mut m = manifest();
        m.sha256 = "AB".repeat(32);
        assert!(matches!(m.check_fields(), Err(ReleaseError::BadField { field: "sha256", .. })));
    }

    #[test]
    fn package_bytes_must_match_the_manifest() {
        let m = manifest();
        assert_eq!(check_package(&m, &"ab".repeat(32), 1234), Ok(()));
        assert!(check_package(&m, &"ab".repeat(32), 1235).is_err());
        assert!(check_package(&m, &"cd".repeat(32), 1234).is_err());
    }

    #[test]
    fn update_details_round_trip() {
        assert_eq!(parse_update_detail(&update_detail("0.2.0", None)), ("0.2.0", None));
        let d = update_detail("0.2.0", Some("self-test failed: printer: no answer"));
        assert_eq!(parse_update_detail(&d), ("0.2.0", Some("self-test failed: printer: no answer")));
    }
}
