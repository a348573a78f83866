//! The terminal's client of the central API: rustls with the device certificate
//! (mutual TLS), one pooled connection, timeouts, enrollment by CSR + one-time token,
//! and the certificate signature check before anything is printed.

use crate::outbox::OutboxItem;
use crate::outbox::sender::{Attempt, Deliver};
use contract as api;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum CentralError {
    #[error("TLS setup: {0}")]
    Tls(String),
    #[error("central service unreachable: {0}")]
    Unreachable(String),
    #[error("central service answered {status}: {title}")]
    Problem { status: u16, title: String, kind: Option<String> },
    #[error("central service answered with a body this terminal cannot read: {0}")]
    Malformed(String),
    #[error("certificate signature rejected: {0}")]
    BadSignature(#[from] api::SignatureError),
    #[error("enrollment: {0}")]
    Enrollment(String),
}

/// The terminal's TLS identity, as written at enrollment (`identity.json`).
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct DeviceIdentity {
    pub device_id: String,
    pub certificate_pem: String,
    pub key_pem: String,
    pub ca_pem: String,
    /// Ed25519 key (base64) that signs certificates, from the enrollment config.
    pub signing_key: String,
    pub verify_base_url: String,
}

impl std::fmt::Debug for DeviceIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DeviceIdentity({})", self.device_id)
    }
}

impl DeviceIdentity {
    const FILE: &'static str = "identity.json";

    /// Saves with mode 0600, atomically: the file holds the device's private key, which
    /// never exists on disk with wider permissions (the same protection as the outbox key).
    pub fn save(&self, dir: &std::path::Path) -> std::io::Result<()> {
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        let json = serde_json::to_vec(self).map_err(std::io::Error::other)?;
        let tmp = dir.join("identity.json.tmp");
        // A leftover from an interrupted save may have other permissions; start afresh.
        match std::fs::remove_file(&tmp) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp)?;
        f.write_all(&json)?;
        f.sync_all()?;
        std::fs::rename(tmp, dir.join(Self::FILE))?;
        // The rename itself must survive a power cut.
        std::fs::File::open(dir)?.sync_all()
    }

    /// Loads the identity saved in `dir`, if any. A file that group or others may read is
    /// refused: whoever copies the key can act as this terminal.
    pub fn load(dir: &std::path::Path) -> std::io::Result<Option<Self>> {
        use std::os::unix::fs::PermissionsExt as _;
        let path = dir.join(Self::FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let mode = std::fs::metadata(&path)?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                format!(
                    "{} holds the device's private key and is readable by group or others (mode {mode:o}): \
                     run `chmod 600 {}`; if anyone may have copied it, revoke the device \
                     (`central device revoke`) and enroll again",
                    path.display(),
                    path.display()
                ),
            ));
        }
        // serde names the missing or mistyped key in its message.
        let identity = serde_json::from_str(&text)
            .map_err(|e| std::io::Error::other(format!("{}: {e}", dir.join(Self::FILE).display())))?;
        Ok(Some(identity))
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    pub connect: Duration,
    pub request: Duration,
}

fn tls_config(ca_pem: &str, identity: Option<(&str, &str)>) -> Result<rustls::ClientConfig, CentralError> {
    let tls = |e: &dyn std::fmt::Display| CentralError::Tls(e.to_string());
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert.map_err(|e| tls(&e))?).map_err(|e| tls(&e))?;
    }
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| tls(&e))?
        .with_root_certificates(roots);
    match identity {
        Some((cert_pem, key_pem)) => {
            let chain: Vec<CertificateDer<'static>> =
                CertificateDer::pem_slice_iter(cert_pem.as_bytes()).collect::<Result<_, _>>().map_err(|e| tls(&e))?;
            let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(|e| tls(&e))?;
            builder.with_client_auth_cert(chain, key).map_err(|e| tls(&e))
        }
        None => Ok(builder.with_no_client_auth()),
    }
}

fn http_client(tls: rustls::ClientConfig, timeouts: Timeouts) -> Result<reqwest::Client, CentralError> {
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .connect_timeout(timeouts.connect)
        .timeout(timeouts.request)
        .pool_idle_timeout(Duration::from_secs(90))
        .pool_max_idle_per_host(2)
        .tcp_keepalive(Duration::from_secs(30))
        .build()
        .map_err(|e| CentralError::Tls(e.to_string()))
}

/// A connection to the central service with the device's identity.
#[derive(Clone)]
pub struct CentralClient {
    http: reqwest::Client,
    base: String,
    signing_key: Option<ed25519_dalek::VerifyingKey>,
}

impl std::fmt::Debug for CentralClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CentralClient({})", self.base)
    }
}

async fn problem_of(resp: reqwest::Response) -> CentralError {
    let status = resp.status().as_u16();
    match resp.json::<api::Problem>().await {
        Ok(p) => CentralError::Problem { status, kind: p.kind().map(|k| k.slug().to_owned()), title: p.title },
        Err(_) => CentralError::Problem { status, title: "no problem document".into(), kind: None },
    }
}

fn unreachable(e: reqwest::Error) -> CentralError {
    CentralError::Unreachable(with_causes(&e))
}

/// An error with its causes (`error sending request: connection reset by peer`):
/// reqwest's own message alone reads the same for a timeout, a reset and a dead link,
/// and a technician needs to tell them apart.
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cause = c.source();
    }
    text
}

impl CentralClient {
    pub fn new(base_url: &str, identity: &DeviceIdentity, timeouts: Timeouts) -> Result<Self, CentralError> {
        let tls = tls_config(&identity.ca_pem, Some((&identity.certificate_pem, &identity.key_pem)))?;
        let signing_key = api::decode_signing_public_key(&identity.signing_key);
        Ok(Self { http: http_client(tls, timeouts)?, base: base_url.trim_end_matches('/').to_owned(), signing_key })
    }

    /// Enrolls: the key pair is generated here and never leaves the terminal; the CSR
    /// and the technician's one-time token go to `POST /v1/enroll`.
    pub async fn enroll(
        base_url: &str,
        ca_pem: &str,
        token: &str,
        inventory: api::HardwareInventory,
        timeouts: Timeouts,
    ) -> Result<DeviceIdentity, CentralError> {
        let enroll = |e: &dyn std::fmt::Display| CentralError::Enrollment(e.to_string());
        let key = rcgen::KeyPair::generate().map_err(|e| enroll(&e))?;
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(|e| enroll(&e))?;
        params.distinguished_name.push(rcgen::DnType::CommonName, inventory.hostname.clone());
        let csr = params.serialize_request(&key).map_err(|e| enroll(&e))?;
        let request = api::EnrollRequest {
            token: Some(token.to_owned()),
            csr_pem: csr.pem().map_err(|e| enroll(&e))?,
            inventory,
        };
        let http = http_client(tls_config(ca_pem, None)?, timeouts)?;
        let resp = http
            .post(format!("{}{}", base_url.trim_end_matches('/'), api::paths::ENROLL))
            .header(api::IDEMPOTENCY_KEY_HEADER, uuid::Uuid::new_v4().to_string())
            .json(&request)
            .send()
            .await
            .map_err(unreachable)?;
        if !resp.status().is_success() {
            return Err(problem_of(resp).await);
        }
        let answer: api::EnrollResponse = resp.json().await.map_err(|e| CentralError::Malformed(e.to_string()))?;
        Ok(DeviceIdentity {
            device_id: answer.device_id,
            certificate_pem: answer.certificate_pem,
            key_pem: key.serialize_pem(),
            ca_pem: answer.ca_pem,
            signing_key: answer.config.certificate_signing_key,
            verify_base_url: answer.config.verify_base_url,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// POSTs `body` as JSON under a fresh idempotency key (a call nobody retries with
    /// the same key); an answer other than 2xx becomes its problem document.
    async fn post_once(&self, path: &str, body: &impl serde::Serialize) -> Result<reqwest::Response, CentralError> {
        let resp = self
            .http
            .post(self.url(path))
            .header(api::IDEMPOTENCY_KEY_HEADER, uuid::Uuid::new_v4().to_string())
            .json(body)
            .send()
            .await
            .map_err(unreachable)?;
        if !resp.status().is_success() {
            return Err(problem_of(resp).await);
        }
        Ok(resp)
    }

    /// Issues a certificate and checks its server signature; an unsigned or forged
    /// certificate is an error, so it can never reach the printer.
    pub async fn issue_certificate(&self, request: &api::CertificateRequest) -> Result<api::Certificate, CentralError> {
        let resp = self.post_once(api::paths::CERTIFICATES, request).await?;
        let certificate: api::Certificate = resp.json().await.map_err(|e| CentralError::Malformed(e.to_string()))?;
        self.check_signature(&certificate)?;
        Ok(certificate)
    }

    pub fn check_signature(&self, certificate: &api::Certificate) -> Result<(), CentralError> {
        let key = self.signing_key.as_ref().ok_or(api::SignatureError::Malformed)?;
        api::verify_certificate_signature(certificate, key)?;
        Ok(())
    }

    /// The contribution history of the card holder: the ID number and the name read from
    /// the card, which together show central that the card is present.
    pub async fn contributions_of(
        &self,
        id_number: &str,
        name: &str,
    ) -> Result<api::ContributionHistory, CentralError> {
        let resp = self
            .http
            .get(self.url(api::paths::CONTRIBUTIONS))
            .header(api::CARD_HOLDER_HEADER, id_number)
            .header(api::CARD_HOLDER_NAME_HEADER, api::encode_header_text(name))
            .send()
            .await
            .map_err(unreachable)?;
        if !resp.status().is_success() {
            return Err(problem_of(resp).await);
        }
        resp.json().await.map_err(|e| CentralError::Malformed(e.to_string()))
    }

    /// `Ok(None)`: no application with that tracking number.
    pub async fn application(&self, tracking: &str) -> Result<Option<api::ApplicationProgress>, CentralError> {
        let resp = self
            .http
            .get(self.url(&format!("{}/{}", api::paths::APPLICATIONS, tracking)))
            .send()
            .await
            .map_err(unreachable)?;
        if resp.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !resp.status().is_success() {
            return Err(problem_of(resp).await);
        }
        resp.json().await.map(Some).map_err(|e| CentralError::Malformed(e.to_string()))
    }

    /// Sends a telemetry batch now, outside the outbox: the technician's network check
    /// (DNS, TLS with the device certificate, the service answering) in one request.
    pub async fn send_telemetry(&self, batch: &api::TelemetryBatch) -> Result<(), CentralError> {
        self.post_once(api::paths::TELEMETRY, batch).await.map(drop)
    }

    /// One attempt at an outbox item, classified for the sender.
    pub async fn post_item(&self, item: &OutboxItem) -> Attempt {
        let sent = self
            .http
            .post(self.url(&item.path))
            .header(api::IDEMPOTENCY_KEY_HEADER, &item.key)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(item.body.clone())
            .send()
            .await;
        match sent {
            Err(e) => Attempt::Retry { after: None, reason: with_causes(&e) },
            Ok(resp) => {
                let status = resp.status().as_u16();
                let retry_after = resp
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs);
                match resp.bytes().await {
                    Ok(body) => Attempt::from_status(status, retry_after, body.to_vec()),
                    Err(e) => Attempt::Retry { after: retry_after, reason: with_causes(&e) },
                }
            }
        }
    }
}

impl Deliver for CentralClient {
    async fn deliver(&self, item: &OutboxItem) -> Attempt {
        self.post_item(item).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_is_told_with_its_causes() {
        #[derive(Debug)]
        struct Outer(std::io::Error);
        impl std::fmt::Display for Outer {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("error sending request")
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let e = Outer(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "connection reset by peer"));
        assert_eq!(with_causes(&e), "error sending request: connection reset by peer");
    }
    use std::os::unix::fs::PermissionsExt as _;

    fn identity() -> DeviceIdentity {
        DeviceIdentity {
            device_id: "KT-TEST".into(),
            certificate_pem: "cert".into(),
            key_pem: "-----BEGIN PRIVATE KEY-----".into(),
            ca_pem: "ca".into(),
            signing_key: "key".into(),
            verify_base_url: "https://central/verify/".into(),
        }
    }

    fn mode(path: &std::path::Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn the_identity_is_saved_0600_and_loads_back() {
        let dir = tempfile::tempdir().unwrap();
        // A leftover of an interrupted save, readable by all, does not lend its mode.
        std::fs::write(dir.path().join("identity.json.tmp"), b"{}").unwrap();
        std::fs::set_permissions(dir.path().join("identity.json.tmp"), std::fs::Permissions::from_mode(0o644)).unwrap();
        identity().save(dir.path()).unwrap();
        assert_eq!(mode(&dir.path().join("identity.json")), 0o600);
        let loaded = DeviceIdentity::load(dir.path()).unwrap().unwrap();
        assert_eq!(loaded.key_pem, identity().key_pem);
    }

    #[test]
    fn an_identity_readable_by_others_is_refused_with_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        identity().save(dir.path()).unwrap();
        let path = dir.path().join("identity.json");
        for wide in [0o644, 0o640, 0o604] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(wide)).unwrap();
            let e = DeviceIdentity::load(dir.path()).unwrap_err();
            assert_eq!(e.kind(), std::io::ErrorKind::PermissionDenied);
            assert!(e.to_string().contains("chmod 600"), "{e}");
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
        assert!(DeviceIdentity::load(dir.path()).unwrap().is_some());
    }
}
