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
    Problem { status: u16, title: String, kind: Option<String>, detail: Option<String> },
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
        write_private(dir, Self::FILE, &serde_json::to_vec(self).map_err(std::io::Error::other)?)
    }

    /// Loads the identity saved in `dir`, if any. A file that group or others may read is
    /// refused: whoever copies the key can act as this terminal.
    pub fn load(dir: &std::path::Path) -> std::io::Result<Option<Self>> {
        read_private(dir, Self::FILE)
    }

    /// This identity with the certificate a renewal issued for `key_pem`.
    pub fn renewed(&self, key_pem: &str, answer: &api::EnrollResponse) -> Self {
        Self {
            device_id: self.device_id.clone(),
            certificate_pem: answer.certificate_pem.clone(),
            key_pem: key_pem.to_owned(),
            ca_pem: answer.ca_pem.clone(),
            signing_key: answer.config.certificate_signing_key.clone(),
            verify_base_url: answer.config.verify_base_url.clone(),
        }
    }
}

/// Writes `bytes` to `dir/name` with mode 0600, atomically and durably: the files
/// written this way hold private keys, which never exist on disk with wider permissions.
fn write_private(dir: &std::path::Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let tmp = dir.join(format!("{name}.tmp"));
    // A leftover from an interrupted save may have other permissions; start afresh.
    match std::fs::remove_file(&tmp) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(tmp, dir.join(name))?;
    // The rename itself must survive a power cut.
    std::fs::File::open(dir)?.sync_all()
}

/// Reads the JSON `dir/name` written by [`write_private`], if any, refusing a file that
/// group or others may read.
fn read_private<T: serde::de::DeserializeOwned>(dir: &std::path::Path, name: &str) -> std::io::Result<Option<T>> {
    use std::os::unix::fs::PermissionsExt as _;
    let path = dir.join(name);
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
    let value = serde_json::from_str(&text).map_err(|e| std::io::Error::other(format!("{}: {e}", path.display())))?;
    Ok(Some(value))
}

/// A renewal asked for and not yet answered (`renewal.json`, mode 0600: it holds the new
/// private key). Kept across restarts so the request can be sent again exactly.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct PendingRenewal {
    pub idempotency_key: String,
    pub key_pem: String,
    /// The `POST /v1/enroll` body as sent: a CSR for `key_pem`, no token.
    pub request_json: Vec<u8>,
}

impl std::fmt::Debug for PendingRenewal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PendingRenewal({})", self.idempotency_key)
    }
}

impl PendingRenewal {
    const FILE: &'static str = "renewal.json";

    /// A new key pair (made here, never sent) and the renewal request for it.
    pub fn new(inventory: api::HardwareInventory) -> Result<Self, CentralError> {
        let (key, csr_pem) = key_and_csr(&inventory.hostname)?;
        let request = api::EnrollRequest { token: None, csr_pem, inventory };
        let request_json = serde_json::to_vec(&request).map_err(|e| CentralError::Enrollment(e.to_string()))?;
        Ok(Self { idempotency_key: uuid::Uuid::new_v4().to_string(), key_pem: key.serialize_pem(), request_json })
    }

    pub fn save(&self, dir: &std::path::Path) -> std::io::Result<()> {
        write_private(dir, Self::FILE, &serde_json::to_vec(self).map_err(std::io::Error::other)?)
    }

    pub fn load(dir: &std::path::Path) -> std::io::Result<Option<Self>> {
        read_private(dir, Self::FILE)
    }

    pub fn remove(dir: &std::path::Path) -> std::io::Result<()> {
        match std::fs::remove_file(dir.join(Self::FILE)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

/// A P-256 key pair and a CSR for it naming `hostname`.
fn key_and_csr(hostname: &str) -> Result<(rcgen::KeyPair, String), CentralError> {
    let enroll = |e: &dyn std::fmt::Display| CentralError::Enrollment(e.to_string());
    let key = rcgen::KeyPair::generate().map_err(|e| enroll(&e))?;
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(|e| enroll(&e))?;
    params.distinguished_name.push(rcgen::DnType::CommonName, hostname);
    let csr = params.serialize_request(&key).map_err(|e| enroll(&e))?;
    let pem = csr.pem().map_err(|e| enroll(&e))?;
    Ok((key, pem))
}

/// The longest a package download may take.
const DOWNLOAD_LIMIT: Duration = Duration::from_secs(30 * 60);

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

/// Whether a renewal ran while a request was on its way. Once central has committed a
/// renewal it refuses the old certificate, so a delivery sent with it just before the
/// switch is answered 403: that answer says nothing about the terminal's standing.
#[derive(Debug, Default)]
struct RenewalMarks {
    /// Bumped when a renewal starts and when its certificate is switched to.
    generation: std::sync::atomic::AtomicU64,
    in_progress: std::sync::atomic::AtomicBool,
}

/// A connection to the central service with the device's identity.
#[derive(Clone)]
pub struct CentralClient {
    /// Shared by every clone (the sender, telemetry, the session runtime), so a renewed
    /// certificate is used by all of them from the next request on.
    http: Arc<std::sync::RwLock<reqwest::Client>>,
    /// Renewals started and finished; see [`CentralClient::post_item`].
    renewals: Arc<RenewalMarks>,
    base: String,
    signing_key: Option<ed25519_dalek::VerifyingKey>,
    timeouts: Timeouts,
}

impl std::fmt::Debug for CentralClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CentralClient({})", self.base)
    }
}

/// The JSON body of a successful answer; otherwise what went wrong, typed.
async fn json_answer<T: serde::de::DeserializeOwned>(
    sent: reqwest::Result<reqwest::Response>,
) -> Result<T, CentralError> {
    let resp = sent.map_err(unreachable)?;
    if !resp.status().is_success() {
        return Err(problem_of(resp).await);
    }
    resp.json().await.map_err(|e| CentralError::Malformed(e.to_string()))
}

async fn problem_of(resp: reqwest::Response) -> CentralError {
    let status = resp.status().as_u16();
    match resp.json::<api::Problem>().await {
        Ok(p) => CentralError::Problem {
            status,
            kind: p.kind().map(|k| k.slug().to_owned()),
            title: p.title,
            detail: p.detail,
        },
        Err(_) => CentralError::Problem { status, title: "no problem document".into(), kind: None, detail: None },
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
        Ok(Self {
            http: Arc::new(std::sync::RwLock::new(http_client(tls, timeouts)?)),
            renewals: Arc::default(),
            base: base_url.trim_end_matches('/').to_owned(),
            signing_key,
            timeouts,
        })
    }

    /// The HTTP client with the current identity (a cheap handle onto its pool).
    fn http(&self) -> reqwest::Client {
        // A poisoned lock only means a writer panicked mid-swap; the client inside is whole.
        self.http.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// From the next request on, every clone of this client presents `identity`'s
    /// certificate (after a renewal).
    pub fn use_identity(&self, identity: &DeviceIdentity) -> Result<(), CentralError> {
        let tls = tls_config(&identity.ca_pem, Some((&identity.certificate_pem, &identity.key_pem)))?;
        let client = http_client(tls, self.timeouts)?;
        *self.http.write().unwrap_or_else(std::sync::PoisonError::into_inner) = client;
        self.renewals.generation.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }

    /// Asks for a new certificate for `pending`'s key, proving who asks with the current
    /// one. The same pending request is sent again, byte for byte and under the same
    /// idempotency key, until it is answered: if central committed the renewal and the
    /// answer was lost, the old certificate is no longer accepted, and only this exact
    /// request still gets the stored answer.
    pub async fn renew(&self, pending: &PendingRenewal) -> Result<api::EnrollResponse, CentralError> {
        use std::sync::atomic::Ordering::SeqCst;
        self.renewals.generation.fetch_add(1, SeqCst);
        self.renewals.in_progress.store(true, SeqCst);
        let answer = self.send_renewal(pending).await;
        self.renewals.in_progress.store(false, SeqCst);
        answer
    }

    async fn send_renewal(&self, pending: &PendingRenewal) -> Result<api::EnrollResponse, CentralError> {
        let resp = self
            .http()
            .post(self.url(api::paths::ENROLL))
            .header(api::IDEMPOTENCY_KEY_HEADER, &pending.idempotency_key)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(pending.request_json.clone())
            .send()
            .await;
        json_answer(resp).await
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
        let (key, csr_pem) = key_and_csr(&inventory.hostname)?;
        let request = api::EnrollRequest { token: Some(token.to_owned()), csr_pem, inventory };
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
            .http()
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
        self.holder_get(api::paths::CONTRIBUTIONS, id_number, name).await
    }

    /// The card holder's last 12 months of pension payments (holder named as for
    /// [`Self::contributions_of`]).
    pub async fn pension_payments_of(&self, id_number: &str, name: &str) -> Result<api::PensionPayments, CentralError> {
        self.holder_get(api::paths::PENSION_PAYMENTS, id_number, name).await
    }

    /// Whether the card holder may register for `kind`, and on what terms.
    pub async fn eligibility_of(
        &self,
        kind: api::RegistrationKind,
        id_number: &str,
        name: &str,
    ) -> Result<api::Eligibility, CentralError> {
        self.holder_get(&format!("{}/{}", api::paths::ELIGIBILITY, kind.code()), id_number, name).await
    }

    /// The city's openings of `kind` in `district` (no personal data is sent).
    pub async fn job_openings(
        &self,
        kind: api::JobKind,
        district: api::District,
    ) -> Result<api::JobOpenings, CentralError> {
        let path = format!("{}?kind={}&district={}", api::paths::JOB_OPENINGS, kind.code(), district.code());
        let resp = self.http().get(self.url(&path)).send().await;
        json_answer(resp).await
    }

    async fn holder_get<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        id_number: &str,
        name: &str,
    ) -> Result<T, CentralError> {
        let resp = self
            .http()
            .get(self.url(path))
            .header(api::CARD_HOLDER_HEADER, id_number)
            .header(api::CARD_HOLDER_NAME_HEADER, api::encode_header_text(name))
            .send()
            .await;
        json_answer(resp).await
    }

    /// `Ok(None)`: no application with that tracking number.
    pub async fn application(&self, tracking: &str) -> Result<Option<api::ApplicationProgress>, CentralError> {
        let resp = self
            .http()
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

    /// The release central's rollouts offer this terminal, if any.
    pub async fn update_offer(&self, architecture: &str) -> Result<Option<api::UpdateOffer>, CentralError> {
        let path = format!("{}?architecture={architecture}", api::paths::UPDATE_OFFER);
        let resp = self.http().get(self.url(&path)).send().await.map_err(unreachable)?;
        if resp.status() == reqwest::StatusCode::NO_CONTENT {
            return Ok(None);
        }
        if !resp.status().is_success() {
            return Err(problem_of(resp).await);
        }
        resp.json().await.map(Some).map_err(|e| CentralError::Malformed(e.to_string()))
    }

    /// Downloads a package to `dest` (through `dest.part`, renamed when complete),
    /// hashing as it goes; stops one chunk past `max_size` bytes so a wrong answer cannot
    /// fill the disk. Returns the SHA-256 (hex) and the size received, for the caller to
    /// hold against the signed manifest (a size over `max_size` is a package refused).
    pub async fn download_package(
        &self,
        path: &str,
        dest: &std::path::Path,
        max_size: u64,
    ) -> Result<(String, u64), CentralError> {
        use sha2::Digest as _;
        use tokio::io::AsyncWriteExt as _;
        let local = |e: std::io::Error| CentralError::Malformed(format!("{}: {e}", dest.display()));
        // A package on a slow village line takes minutes: its own, longer limit.
        let resp = self.http().get(self.url(path)).timeout(DOWNLOAD_LIMIT).send().await.map_err(unreachable)?;
        if !resp.status().is_success() {
            return Err(problem_of(resp).await);
        }
        if let Some(dir) = dest.parent() {
            tokio::fs::create_dir_all(dir).await.map_err(local)?;
        }
        let part = dest.with_extension("part");
        let (mut hasher, mut size) = (sha2::Sha256::new(), 0u64);
        let mut resp = resp;
        let received = async {
            let mut file = tokio::fs::File::create(&part).await.map_err(local)?;
            while let Some(chunk) = resp.chunk().await.map_err(unreachable)? {
                size += chunk.len() as u64;
                hasher.update(&chunk);
                file.write_all(&chunk).await.map_err(local)?;
                if size > max_size {
                    // More than was signed is not the package: reading on would let a
                    // hostile answer fill the disk. The size tells the caller.
                    break;
                }
            }
            file.sync_all().await.map_err(local)
        }
        .await;
        // A download cut short leaves nothing behind: the next attempt starts afresh.
        if let Err(e) = received {
            let _ = tokio::fs::remove_file(&part).await;
            return Err(e);
        }
        tokio::fs::rename(&part, dest).await.map_err(local)?;
        Ok((hex::encode(hasher.finalize()), size))
    }

    /// Sends a telemetry batch now, outside the outbox: the technician's network check
    /// (DNS, TLS with the device certificate, the service answering) in one request.
    pub async fn send_telemetry(&self, batch: &api::TelemetryBatch) -> Result<(), CentralError> {
        self.post_once(api::paths::TELEMETRY, batch).await.map(drop)
    }

    /// One attempt at an outbox item, classified for the sender.
    /// A 401/403 that may come from a renewal switching certificates meanwhile is tried
    /// again shortly rather than taken as this terminal being refused (which pauses the
    /// queue and alerts operations).
    pub async fn post_item(&self, item: &OutboxItem) -> Attempt {
        use std::sync::atomic::Ordering::SeqCst;
        let generation = self.renewals.generation.load(SeqCst);
        let attempt = self.send_item(item).await;
        let renewal_meanwhile =
            self.renewals.in_progress.load(SeqCst) || self.renewals.generation.load(SeqCst) != generation;
        match attempt {
            Attempt::Unauthorized { status } if renewal_meanwhile => Attempt::Retry {
                after: Some(Duration::from_secs(1)),
                reason: format!(
                    "HTTP {status} while the client certificate was being renewed; sent again with the new one"
                ),
            },
            other => other,
        }
    }

    async fn send_item(&self, item: &OutboxItem) -> Attempt {
        let sent = self
            .http()
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
