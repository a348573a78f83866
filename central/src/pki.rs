//! The fleet PKI: the CA and server certificate created at first start, device
//! certificates signed from enrollment CSRs, and the rustls configuration that asks
//! terminals for a client certificate (optionally, enforced per route). The server
//! certificate is rotated before it expires (`rotation`): terminals trust the CA, not
//! the leaf, so a rotation needs nothing from them.

mod rotation;

pub use rotation::ServerCertificate;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CertificateSigningRequestParams, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, SerialNumber,
};
use rustls::pki_types::{CertificateDer, pem::PemObject};
use time::{Duration, OffsetDateTime};

/// Why the PKI could not be set up or a CSR could not be signed.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("cannot read or write {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{what} in {path} is not usable: {detail}")]
    BadMaterial { what: &'static str, path: String, detail: String },
    #[error("the CSR cannot be parsed or its signature does not match its public key ({0})")]
    CsrInvalid(String),
    #[error("certificate generation failed: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("TLS configuration failed: {0}")]
    Tls(String),
}

/// The fleet certificate authority plus the server's own certificate.
pub struct FleetCa {
    ca_cert_pem: String,
    ca_key: KeyPair,
    /// Where the server certificate and key are kept (the data directory).
    dir: PathBuf,
    /// Subject alternative names beyond the loopback ones, for a rotated certificate.
    server_names: Vec<String>,
    /// The life of a server certificate this CA issues.
    server_validity: std::time::Duration,
    server: Arc<ServerCertificate>,
}

/// The life of the server certificate unless configured: 825 days, the longest
/// browsers accept for a TLS server certificate.
pub const SERVER_CERTIFICATE_VALIDITY: std::time::Duration = std::time::Duration::from_secs(825 * 24 * 3600);

impl std::fmt::Debug for FleetCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FleetCa").finish_non_exhaustive()
    }
}

const CA_CERT: &str = "ca.pem";
const CA_KEY: &str = "ca.key.pem";
const SERVER_CERT: &str = "server.pem";
const SERVER_KEY: &str = "server.key.pem";

/// Whether `dir` holds a fleet CA certificate (one is made there on first start otherwise).
pub fn has_fleet_ca(dir: &Path) -> bool {
    dir.join(CA_CERT).exists()
}

/// SHA-256 (hex) of the DER certificate in `pem`: what the database is bound to.
pub fn ca_sha256_of_pem(pem: &str) -> Result<String, PkiError> {
    use rustls::pki_types::pem::PemObject as _;
    use sha2::Digest as _;
    let der = rustls::pki_types::CertificateDer::from_pem_slice(pem.as_bytes()).map_err(|e| PkiError::BadMaterial {
        what: "CA certificate",
        path: CA_CERT.to_owned(),
        detail: e.to_string(),
    })?;
    Ok(hex::encode(sha2::Sha256::digest(der.as_ref())))
}

fn read(path: &Path) -> Result<String, PkiError> {
    std::fs::read_to_string(path).map_err(|source| PkiError::Io { path: path.display().to_string(), source })
}

/// Reads a private key, refusing one that group or others may read: whoever can read
/// the CA key can enroll devices, and the server key can impersonate the service.
fn read_private(path: &Path) -> Result<String, PkiError> {
    use std::os::unix::fs::PermissionsExt as _;
    let text = read(path)?;
    let mode = std::fs::metadata(path)
        .map_err(|source| PkiError::Io { path: path.display().to_string(), source })?
        .permissions()
        .mode()
        & 0o777;
    if mode & 0o077 != 0 {
        return Err(PkiError::BadMaterial {
            what: "private key",
            path: path.display().to_string(),
            detail: format!("it is readable by group or others (mode {mode:o}); run `chmod 600 {}`", path.display()),
        });
    }
    Ok(text)
}

fn write_private(path: &Path, contents: &str) -> Result<(), PkiError> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let io = |source| PkiError::Io { path: path.display().to_string(), source };
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map_err(io)?;
    f.write_all(contents.as_bytes()).map_err(io)
}

impl FleetCa {
    /// Loads the CA from `dir`, creating CA and server certificate on first start.
    /// `server_names` become the server certificate's subject alternative names.
    pub fn load_or_create(dir: &Path, server_names: &[String]) -> Result<Self, PkiError> {
        Self::load_or_create_with(dir, server_names, SERVER_CERTIFICATE_VALIDITY)
    }

    /// [`FleetCa::load_or_create`], issuing server certificates valid for `server_validity`.
    pub fn load_or_create_with(
        dir: &Path,
        server_names: &[String],
        server_validity: std::time::Duration,
    ) -> Result<Self, PkiError> {
        let ca_path = dir.join(CA_CERT);
        if !ca_path.exists() {
            let ca_key = KeyPair::generate()?;
            let mut params = CertificateParams::default();
            params.distinguished_name = dn("Kiosk fleet CA");
            params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
            params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
            params.not_before = OffsetDateTime::now_utc() - Duration::hours(1);
            params.not_after = OffsetDateTime::now_utc() + Duration::days(3650);
            let cert = params.self_signed(&ca_key)?;
            write_private(&dir.join(CA_KEY), &ca_key.serialize_pem())?;
            write_private(&ca_path, &cert.pem())?;
        }
        let ca_cert_pem = read(&ca_path)?;
        let ca_key_path = dir.join(CA_KEY);
        let ca_key = KeyPair::from_pem(&read_private(&ca_key_path)?).map_err(|e| PkiError::BadMaterial {
            what: "CA key",
            path: ca_key_path.display().to_string(),
            detail: e.to_string(),
        })?;
        rotation::finish_interrupted(dir)?;
        if !dir.join(SERVER_CERT).exists() {
            let (cert, key) = issue_server_certificate(
                &ca_cert_pem,
                &ca_key,
                server_names,
                OffsetDateTime::now_utc(),
                server_validity,
            )?;
            write_private(&dir.join(SERVER_KEY), &key)?;
            write_private(&dir.join(SERVER_CERT), &cert)?;
        }
        let server = ServerCertificate::load(&dir.join(SERVER_CERT), &dir.join(SERVER_KEY))?;
        Ok(Self {
            ca_cert_pem,
            ca_key,
            dir: dir.to_owned(),
            server_names: server_names.to_vec(),
            server_validity,
            server: Arc::new(server),
        })
    }

    /// The server certificate in use.
    pub fn server_certificate(&self) -> &ServerCertificate {
        &self.server
    }

    /// Replaces the server certificate with a new one (new key, same names) once two
    /// thirds of its life have passed at `now`: saved, then served to every new
    /// connection. Returns the new expiry (unix seconds) when it rotated.
    pub fn rotate_server_certificate_if_due(&self, now: OffsetDateTime) -> Result<Option<i64>, PkiError> {
        let (not_before, not_after) = self.server.validity();
        if now.unix_timestamp() < not_before + (not_after - not_before).max(0) / 3 * 2 {
            return Ok(None);
        }
        let (cert, key) =
            issue_server_certificate(&self.ca_cert_pem, &self.ca_key, &self.server_names, now, self.server_validity)?;
        rotation::save(&self.dir.join(SERVER_CERT), &self.dir.join(SERVER_KEY), &cert, &key)?;
        self.server.replace(&cert, &key)?;
        let (_, new_not_after) = self.server.validity();
        tracing::info!(
            old_not_after = not_after,
            new_not_after,
            "server certificate rotated; terminals trust the fleet CA and need no change"
        );
        Ok(Some(new_not_after))
    }

    /// The CA certificate in PEM, for the terminal's trust store.
    pub fn ca_sha256(&self) -> Result<String, PkiError> {
        ca_sha256_of_pem(self.ca_pem())
    }

    pub fn ca_pem(&self) -> &str {
        &self.ca_cert_pem
    }

    /// Signs `csr_pem` (whose signature must verify against its own key) into a
    /// client certificate with CN = `device_id`, valid from `not_before` to `not_after`.
    /// Returns the PEM and the serial number (hex).
    pub fn sign_device_csr(
        &self,
        csr_pem: &str,
        device_id: &str,
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
    ) -> Result<(String, String), PkiError> {
        let csr =
            CertificateSigningRequestParams::from_pem(csr_pem).map_err(|e| PkiError::CsrInvalid(e.to_string()))?;
        let mut params = CertificateParams::default();
        params.distinguished_name = dn(device_id);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.not_before = not_before;
        params.not_after = not_after;
        let serial: [u8; 16] = rand::random();
        let mut serial = serial.to_vec();
        // High bit clear (positive INTEGER) and never zero (no DER padding games).
        serial[0] = (serial[0] & 0x7f) | 0x40;
        params.serial_number = Some(SerialNumber::from_slice(&serial));
        let signer = CertificateSigningRequestParams { params, public_key: csr.public_key };
        let issuer = issuer(&self.ca_cert_pem, &self.ca_key, Path::new(CA_CERT))?;
        let cert = signer.signed_by(&issuer)?;
        Ok((cert.pem(), hex::encode(serial)))
    }

    /// rustls server config: our server certificate, client certificates from the
    /// fleet CA accepted but not required (routes enforce them).
    pub fn tls_server_config(&self) -> Result<rustls::ServerConfig, PkiError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let ca =
            CertificateDer::from_pem_slice(self.ca_cert_pem.as_bytes()).map_err(|e| PkiError::Tls(e.to_string()))?;
        let mut roots = rustls::RootCertStore::empty();
        roots.add(ca).map_err(|e| PkiError::Tls(e.to_string()))?;
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .allow_unauthenticated()
            .build()
            .map_err(|e| PkiError::Tls(e.to_string()))?;
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| PkiError::Tls(e.to_string()))?
            .with_client_cert_verifier(verifier)
            .with_cert_resolver(self.server.clone());
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(config)
    }
}

/// A server certificate (PEM) and its new key (PEM) signed by the CA, valid from an
/// hour before `now` (clock skew) for `validity`, naming loopback and `server_names`.
fn issue_server_certificate(
    ca_cert_pem: &str,
    ca_key: &KeyPair,
    server_names: &[String],
    now: OffsetDateTime,
    validity: std::time::Duration,
) -> Result<(String, String), PkiError> {
    let issuer = issuer(ca_cert_pem, ca_key, Path::new(CA_CERT))?;
    let key = KeyPair::generate()?;
    let mut names = vec!["localhost".to_owned(), "127.0.0.1".to_owned(), "::1".to_owned()];
    names.extend(server_names.iter().cloned());
    let mut params = CertificateParams::new(names)?;
    params.distinguished_name = dn("central");
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.not_before = now - Duration::hours(1);
    params.not_after = now + validity;
    let mut serial: [u8; 16] = rand::random();
    // High bit clear (positive INTEGER) and never zero, as for device certificates.
    serial[0] = (serial[0] & 0x7f) | 0x40;
    params.serial_number = Some(SerialNumber::from_slice(&serial));
    let cert = params.signed_by(&key, &issuer)?;
    Ok((cert.pem(), key.serialize_pem()))
}

fn dn(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    dn
}

fn issuer<'a>(ca_pem: &str, key: &'a KeyPair, path: &Path) -> Result<Issuer<'static, &'a KeyPair>, PkiError> {
    Issuer::from_ca_cert_pem(ca_pem, key).map_err(|e| PkiError::BadMaterial {
        what: "CA certificate",
        path: path.display().to_string(),
        detail: e.to_string(),
    })
}

/// Who is on the other end of a TLS connection, taken from its verified certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeerIdentity {
    /// CN of the verified client certificate (the device id); `None` without one.
    pub device_id: Option<String>,
    /// Serial number (hex) of that certificate.
    pub serial: Option<String>,
}

impl PeerIdentity {
    /// Reads the device id from the leaf certificate rustls already verified.
    pub fn from_certificates(certs: Option<&[CertificateDer<'_>]>) -> Self {
        let Some(leaf) = certs.and_then(|c| c.first()) else {
            return Self::default();
        };
        let Ok((_, cert)) = x509_parser::parse_x509_certificate(leaf.as_ref()) else {
            return Self::default();
        };
        let device_id = cert.subject().iter_common_name().next().and_then(|cn| cn.as_str().ok()).map(str::to_owned);
        let serial = Some(hex::encode(cert.raw_serial()));
        Self { device_id, serial }
    }
}
