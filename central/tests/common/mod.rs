//! Shared test rig: a real server on loopback with a fresh data directory, and real
//! rustls clients (with or without a device certificate).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use central::api::{EnrollRequest, EnrollResponse, HardwareInventory};
use central::{RunningServer, ServerConfig};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};

pub struct Rig {
    pub server: RunningServer,
    pub dir: tempfile::TempDir,
    pub base: String,
}

pub fn config(dir: &std::path::Path) -> ServerConfig {
    let mut c = ServerConfig::new(dir);
    c.listen = "127.0.0.1:0".parse().unwrap();
    c.registry_size = 40;
    c
}

pub async fn start() -> Rig {
    start_with(|_| {}).await
}

pub async fn start_with(adjust: impl FnOnce(&mut ServerConfig)) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path());
    adjust(&mut c);
    let server = central::start(c).await.unwrap();
    let base = format!("https://localhost:{}", server.local_addr().port());
    Rig { server, dir, base }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn roots(ca_pem: &str) -> rustls::RootCertStore {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from_pem_slice(ca_pem.as_bytes()).unwrap()).unwrap();
    roots
}

/// A client trusting `ca_pem`, presenting `identity` (cert PEM, key PEM) if given.
pub fn client(ca_pem: &str, identity: Option<(&str, &str)>) -> reqwest::Client {
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots(ca_pem));
    let tls = match identity {
        Some((cert, key)) => builder
            .with_client_auth_cert(
                CertificateDer::pem_slice_iter(cert.as_bytes()).collect::<Result<Vec<_>, _>>().unwrap(),
                PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap(),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    reqwest::Client::builder().use_preconfigured_tls(tls).timeout(Duration::from_secs(60)).build().unwrap()
}

/// A terminal's key pair and CSR, as a terminal would make them.
pub fn key_and_csr() -> (rcgen::KeyPair, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let csr =
        rcgen::CertificateParams::new(Vec::<String>::new()).unwrap().serialize_request(&key).unwrap().pem().unwrap();
    (key, csr)
}

pub fn enroll_request(token: Option<String>, csr_pem: String) -> EnrollRequest {
    EnrollRequest {
        token,
        csr_pem,
        inventory: HardwareInventory {
            hostname: "kiosk-test".into(),
            software_version: "0.1.0".into(),
            devices: vec![],
        },
    }
}

/// `text` with `instance="<instance>"` removed from every sample line; panics on a
/// sample line without it.
pub fn without_instance(text: &str, instance: &str) -> String {
    let with_more = format!("{{instance=\"{instance}\",");
    let alone = format!("{{instance=\"{instance}\"}}");
    let mut out = String::new();
    for line in text.lines() {
        if line.starts_with('#') || line.is_empty() {
            out.push_str(line);
        } else if line.contains(&with_more) {
            out.push_str(&line.replacen(&with_more, "{", 1));
        } else {
            assert!(line.contains(&alone), "a series without instance=\"{instance}\": {line}");
            out.push_str(&line.replacen(&alone, "", 1));
        }
        out.push('\n');
    }
    out
}

/// A logged-in dashboard session.
pub struct Ops {
    browser: reqwest::Client,
    cookie: String,
    base: String,
}

impl Ops {
    /// Submits a dashboard form (no fields) and returns the status and `Location`.
    pub async fn post(&self, path: &str) -> (u16, Option<String>) {
        let r = self.browser.post(format!("{}{path}", self.base)).header("cookie", &self.cookie).send().await.unwrap();
        let location = r.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_owned);
        (r.status().as_u16(), location)
    }

    /// Submits a dashboard form with `fields`; returns the status and `Location`.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> (u16, Option<String>) {
        let r = self
            .browser
            .post(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .form(fields)
            .send()
            .await
            .unwrap();
        let location = r.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_owned);
        (r.status().as_u16(), location)
    }

    /// A `GET` as this session, whatever its status.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.browser.get(format!("{}{path}", self.base)).header("cookie", &self.cookie).send().await.unwrap()
    }

    /// The same session (same cookie) at another instance, at `base`.
    pub fn at(&self, base: &str) -> Ops {
        Ops { browser: self.browser.clone(), cookie: self.cookie.clone(), base: base.to_owned() }
    }

    pub async fn page(&self, path: &str) -> String {
        let page =
            self.browser.get(format!("{}{path}", self.base)).header("cookie", &self.cookie).send().await.unwrap();
        assert_eq!(page.status(), 200, "{path}");
        page.text().await.unwrap()
    }
}

/// An enrolled terminal: its identity and an mTLS client.
pub struct Terminal {
    pub enrolled: EnrollResponse,
    pub key_pem: String,
    pub http: reqwest::Client,
}

impl Rig {
    pub fn anonymous(&self) -> reqwest::Client {
        client(&self.server.ca_pem(), None)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `GET /metrics` with the bearer token, as Prometheus scrapes it.
    pub async fn metrics(&self) -> reqwest::Response {
        self.anonymous().get(self.url("/metrics")).bearer_auth(self.server.metrics_token()).send().await.unwrap()
    }

    /// The metrics text, with this instance's `instance="…"` label taken out of every
    /// series after checking each one carries it (so tests compare series as before).
    pub async fn metrics_text(&self) -> String {
        let resp = self.metrics().await;
        assert_eq!(resp.status(), 200);
        without_instance(&resp.text().await.unwrap(), self.server.instance_name())
    }

    /// A page of the ops dashboard as an operator sees it (one login per call).
    pub async fn ops_page(&self, path: &str) -> String {
        self.ops().await.page(path).await
    }

    /// An operator logged in to the dashboard: adds the user `ops` (once per rig).
    pub async fn ops(&self) -> Ops {
        let _ = self.server.add_user("ops", "correct horse battery");
        self.login("ops", "correct horse battery").await
    }

    /// `username` logged in to the dashboard with `password`.
    pub async fn login(&self, username: &str, password: &str) -> Ops {
        let browser = reqwest::Client::builder()
            .use_preconfigured_tls(
                rustls::ClientConfig::builder_with_provider(provider())
                    .with_safe_default_protocol_versions()
                    .unwrap()
                    .with_root_certificates(roots(&self.server.ca_pem()))
                    .with_no_client_auth(),
            )
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let r = browser
            .post(self.url("/ops/login"))
            .form(&[("username", username), ("password", password)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "login");
        let cookie = r.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
        Ops { browser, cookie, base: self.base.clone() }
    }

    pub async fn enroll(&self) -> Terminal {
        let token = self.server.create_enrollment_token(Duration::from_secs(600)).unwrap();
        let (key, csr) = key_and_csr();
        let resp = self
            .anonymous()
            .post(self.url("/v1/enroll"))
            .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
            .json(&enroll_request(Some(token), csr))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
        let enrolled: EnrollResponse = resp.json().await.unwrap();
        let key_pem = key.serialize_pem();
        let http = client(&enrolled.ca_pem, Some((&enrolled.certificate_pem, &key_pem)));
        Terminal { enrolled, key_pem, http }
    }
}

impl Terminal {
    pub async fn post<T: serde::Serialize>(&self, rig: &Rig, path: &str, key: &str, body: &T) -> reqwest::Response {
        self.http.post(rig.url(path)).header("Idempotency-Key", key).json(body).send().await.unwrap()
    }

    /// `GET /v1/contributions` for the card holder `id_number` named `name`, as a terminal
    /// that read both from the card asks for it.
    pub async fn contributions(&self, rig: &Rig, id_number: &str, name: &str) -> reqwest::Response {
        self.holder_get(rig, central::api::paths::CONTRIBUTIONS, id_number, name).await
    }

    /// A `GET` naming the card holder as the terminal does (contributions, pension
    /// payments, eligibility).
    pub async fn holder_get(&self, rig: &Rig, path: &str, id_number: &str, name: &str) -> reqwest::Response {
        self.http
            .get(rig.url(path))
            .header(central::api::CARD_HOLDER_HEADER, id_number)
            .header(central::api::CARD_HOLDER_NAME_HEADER, central::api::encode_header_text(name))
            .send()
            .await
            .unwrap()
    }
}

pub async fn problem(resp: reqwest::Response) -> (u16, central::api::Problem) {
    let status = resp.status().as_u16();
    assert_eq!(
        resp.headers().get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/problem+json"),
        "status {status}"
    );
    (status, resp.json().await.unwrap())
}

pub fn heartbeat(printer: central::api::PrinterHealth) -> central::api::Heartbeat {
    use central::api::*;
    Heartbeat {
        sent_at: time::OffsetDateTime::now_utc(),
        software_version: "0.1.0".into(),
        uptime_s: 100,
        devices: DeviceHealth { reader: ReaderHealth::Ok, printer, camera: CameraHealth::Ok },
        outbox: OutboxState { depth: 0, oldest_age_s: 0 },
        sessions: 2,
        failures: 0,
        disk_free_bytes: 5_000_000_000,
        clock_offset_ms: 12,
        config_hash: None,
    }
}
pub mod pg;

/// The worker's unemployment registration, as a terminal sends it (the request most
/// idempotency and multi-instance tests submit).
pub fn unemployment() -> central::api::RegistrationRequest {
    use central::api::*;
    RegistrationRequest {
        kind: RegistrationKind::Unemployment,
        id_number: central::registry::WORKER_ID.into(),
        name: central::registry::WORKER_NAME.into(),
        phone: Some("13800138000".into()),
        reason: Some(UnemploymentReason::ContractEnded),
        contribution_percent: None,
        job_kind: None,
        district: None,
    }
}

/// The value of the hidden `csrf` field of a dashboard page's form.
#[allow(clippy::panic)] // a test helper: the page is the evidence a failure needs
pub fn csrf_of(page: &str) -> String {
    let at = page.find(r#"name="csrf" value=""#).unwrap_or_else(|| panic!("no csrf field: {page}"));
    let rest = &page[at + r#"name="csrf" value=""#.len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

/// The synthetic test face (`testdata/faces`; source and licence in its README).
pub fn face_bytes() -> Vec<u8> {
    std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/faces/grace_hopper_512x512.jpg")).unwrap()
}

/// [`face_bytes`] as a request carries it (base64).
pub fn face_jpeg() -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(face_bytes())
}

/// A qualification check as a terminal sends it: `face_jpeg` (base64), and a blink
/// liveness check that `passed` or not.
pub fn qualification_check(
    id: &str,
    name: &str,
    face_jpeg: String,
    passed: bool,
) -> central::api::QualificationCheckRequest {
    central::api::QualificationCheckRequest {
        id_number: id.into(),
        name: name.into(),
        face_jpeg,
        liveness: central::api::LivenessEvidence {
            method: "blink".into(),
            score: if passed { 0.93 } else { 0.2 },
            passed,
            frames: 40,
            ..Default::default()
        },
        captured_at: time::OffsetDateTime::now_utc(),
    }
}
