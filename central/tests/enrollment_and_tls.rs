//! Enrollment tokens and CSR signing, and mutual TLS enforcement on terminal calls.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use central::api::{EnrollResponse, PrinterHealth, ProblemType};
use common::*;
use x509_parser::prelude::FromDer as _;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrollment_issues_a_fleet_certificate_that_opens_terminal_calls() {
    let rig = start().await;
    let t = rig.enroll().await;
    assert!(t.enrolled.device_id.starts_with("KT-"));
    assert_eq!(t.enrolled.ca_pem, rig.server.ca_pem());
    assert_eq!(t.enrolled.config.heartbeat_interval_s, 30);
    let key = central::api::decode_signing_public_key(&t.enrolled.config.certificate_signing_key).unwrap();
    assert_eq!(key, rig.server.certificate_signing_key());
    let resp = t.http.get(rig.url("/v1/applications/QC-NOPE")).send().await.unwrap();
    // Authenticated, so the answer is about the application, not the certificate.
    let (status, p) = problem(resp).await;
    assert_eq!((status, p.kind()), (404, Some(ProblemType::NotFound)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_used_token_fails_clearly_the_second_time() {
    let rig = start().await;
    let token = rig.server.create_enrollment_token(Duration::from_secs(600)).unwrap();
    let c = rig.anonymous();
    let send = |key: &'static str| {
        let (_, csr) = key_and_csr();
        c.post(rig.url("/v1/enroll"))
            .header("Idempotency-Key", key)
            .json(&enroll_request(Some(token.clone()), csr))
            .send()
    };
    assert_eq!(send("first").await.unwrap().status(), 201);
    let (status, p) = problem(send("second").await.unwrap()).await;
    assert_eq!((status, p.kind()), (401, Some(ProblemType::EnrollmentTokenUsed)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_or_unknown_token_is_refused() {
    let rig = start().await;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    rig.server.store().insert_token(&central::enroll::token_hash("OLD-TOKEN"), now - 700, now - 100).unwrap();
    let (_, csr) = key_and_csr();
    let resp = rig
        .anonymous()
        .post(rig.url("/v1/enroll"))
        .header("Idempotency-Key", "k1")
        .json(&enroll_request(Some("OLD-TOKEN".into()), csr.clone()))
        .send()
        .await
        .unwrap();
    let (status, p) = problem(resp).await;
    assert_eq!((status, p.kind()), (401, Some(ProblemType::EnrollmentTokenExpired)));
    let resp = rig
        .anonymous()
        .post(rig.url("/v1/enroll"))
        .header("Idempotency-Key", "k2")
        .json(&enroll_request(Some("NEVER-ISSUED".into()), csr))
        .send()
        .await
        .unwrap();
    let (_, p) = problem(resp).await;
    assert_eq!(p.kind(), Some(ProblemType::EnrollmentTokenInvalid));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_csr_not_signed_by_its_own_key_is_refused_without_burning_the_token() {
    let rig = start().await;
    let token = rig.server.create_enrollment_token(Duration::from_secs(600)).unwrap();
    // Swap in the public key of another pair: the CSR's signature no longer matches.
    let (_, csr_a) = key_and_csr();
    let (_, csr_b) = key_and_csr();
    let der_a = rustls::pki_types::pem::PemObject::from_pem_slice(csr_a.as_bytes())
        .map(|d: rustls::pki_types::CertificateSigningRequestDer<'static>| d.as_ref().to_vec())
        .unwrap();
    let der_b = rustls::pki_types::pem::PemObject::from_pem_slice(csr_b.as_bytes())
        .map(|d: rustls::pki_types::CertificateSigningRequestDer<'static>| d.as_ref().to_vec())
        .unwrap();
    let (_, parsed_a) = x509_parser::certification_request::X509CertificationRequest::from_der(&der_a).unwrap();
    let (_, parsed_b) = x509_parser::certification_request::X509CertificationRequest::from_der(&der_b).unwrap();
    let spki_a = parsed_a.certification_request_info.subject_pki.raw.to_vec();
    let spki_b = parsed_b.certification_request_info.subject_pki.raw.to_vec();
    let pos = der_a.windows(spki_a.len()).position(|w| w == spki_a.as_slice()).unwrap();
    let mut forged = der_a.clone();
    forged[pos..pos + spki_a.len()].copy_from_slice(&spki_b);
    let forged_pem = format!(
        "-----BEGIN CERTIFICATE REQUEST-----\n{}\n-----END CERTIFICATE REQUEST-----\n",
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &forged)
    );
    let c = rig.anonymous();
    let resp = c
        .post(rig.url("/v1/enroll"))
        .header("Idempotency-Key", "forged")
        .json(&enroll_request(Some(token.clone()), forged_pem))
        .send()
        .await
        .unwrap();
    let (status, p) = problem(resp).await;
    assert_eq!((status, p.kind(), p.field.as_deref()), (422, Some(ProblemType::CsrInvalid), Some("csr_pem")));
    let resp = c
        .post(rig.url("/v1/enroll"))
        .header("Idempotency-Key", "honest")
        .json(&enroll_request(Some(token), csr_a))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renewal_over_mutual_tls_keeps_the_device_id() {
    let rig = start().await;
    let t = rig.enroll().await;
    let (_, csr) = key_and_csr();
    let resp = t.post(&rig, "/v1/enroll", "renew-1", &enroll_request(None, csr)).await;
    assert_eq!(resp.status(), 201);
    let renewed: EnrollResponse = resp.json().await.unwrap();
    assert_eq!(renewed.device_id, t.enrolled.device_id);
    assert_ne!(renewed.certificate_pem, t.enrolled.certificate_pem);
    // Renewal without a certificate is not possible.
    let (_, csr) = key_and_csr();
    let resp = rig
        .anonymous()
        .post(rig.url("/v1/enroll"))
        .header("Idempotency-Key", "x")
        .json(&enroll_request(None, csr))
        .send()
        .await
        .unwrap();
    let (status, _) = problem(resp).await;
    assert_eq!(status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminal_calls_without_a_client_certificate_are_refused() {
    let rig = start().await;
    let resp = rig
        .anonymous()
        .post(rig.url("/v1/ratings"))
        .header("Idempotency-Key", "k")
        .json(&serde_json::json!({"session_id": "s", "service": "certificate", "grade": 5}))
        .send()
        .await
        .unwrap();
    let (status, p) = problem(resp).await;
    assert_eq!((status, p.kind()), (401, Some(ProblemType::ClientCertificateRequired)));
    // Public pages stay reachable without one.
    assert_eq!(rig.anonymous().get(rig.url("/verify/NOSUCHCODE")).send().await.unwrap().status(), 404);
    assert_eq!(rig.anonymous().get(rig.url("/ops/login")).send().await.unwrap().status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_from_another_ca_fails_the_handshake() {
    let rig = start().await;
    let other_dir = tempfile::tempdir().unwrap();
    let other = central::pki::FleetCa::load_or_create(other_dir.path(), &[]).unwrap();
    let (key, csr) = key_and_csr();
    let now = time::OffsetDateTime::now_utc();
    let (cert, _) = other
        .sign_device_csr(&csr, "KT-IMPOSTOR", now - time::Duration::hours(1), now + time::Duration::days(1))
        .unwrap();
    let c = client(&rig.server.ca_pem(), Some((&cert, &key.serialize_pem())));
    let r = c.get(rig.url("/v1/contributions")).header("X-Card-Holder-Id", "11010519491231002X").send().await;
    assert!(r.is_err(), "handshake should fail, got {:?}", r.map(|r| r.status()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_fleet_certificate_fails_the_handshake() {
    let rig = start().await;
    let t = rig.enroll().await;
    let (key, csr) = key_and_csr();
    let now = time::OffsetDateTime::now_utc();
    let (cert, _) = rig
        .server
        .fleet_ca()
        .sign_device_csr(&csr, &t.enrolled.device_id, now - time::Duration::days(30), now - time::Duration::days(1))
        .unwrap();
    let c = client(&rig.server.ca_pem(), Some((&cert, &key.serialize_pem())));
    let r = c.get(rig.url("/v1/contributions")).header("X-Card-Holder-Id", "11010519491231002X").send().await;
    assert!(r.is_err(), "handshake should fail, got {:?}", r.map(|r| r.status()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_or_unknown_device_is_refused() {
    let rig = start().await;
    let t = rig.enroll().await;
    let get = |c: &reqwest::Client| {
        c.get(rig.url("/v1/contributions"))
            .header("X-Card-Holder-Id", "11010519491231002X")
            .header("X-Card-Holder-Name", central::api::encode_header_text("张秀英"))
            .send()
    };
    assert_eq!(get(&t.http).await.unwrap().status(), 200);
    assert!(rig.server.revoke_device(&t.enrolled.device_id).unwrap());
    let (status, p) = problem(get(&t.http).await.unwrap()).await;
    assert_eq!((status, p.kind()), (403, Some(ProblemType::DeviceNotAllowed)));
    // Signed by the fleet CA but never enrolled.
    let (key, csr) = key_and_csr();
    let now = time::OffsetDateTime::now_utc();
    let (cert, _) = rig
        .server
        .fleet_ca()
        .sign_device_csr(&csr, "KT-GHOST", now - time::Duration::hours(1), now + time::Duration::days(1))
        .unwrap();
    let c = client(&rig.server.ca_pem(), Some((&cert, &key.serialize_pem())));
    let (status, _) = problem(get(&c).await.unwrap()).await;
    assert_eq!(status, 403);
}

/// The certificate a fresh TLS connection to the rig is served: (DER, not_after).
async fn served_certificate(rig: &Rig) -> (Vec<u8>, i64) {
    use rustls::pki_types::{CertificateDer, ServerName, pem::PemObject as _};
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from_pem_slice(rig.server.ca_pem().as_bytes()).unwrap()).unwrap();
    let config =
        rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(rig.server.local_addr()).await.unwrap();
    let tls = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .expect("the served certificate chains to the fleet CA");
    let leaf = tls.get_ref().1.peer_certificates().unwrap()[0].to_vec();
    let (_, parsed) = x509_parser::parse_x509_certificate(&leaf).unwrap();
    let not_after = parsed.validity().not_after.timestamp();
    (leaf, not_after)
}

/// Central replaces its own server certificate after two thirds of its life; terminals
/// trust the fleet CA, not the leaf, so they carry on with no change, over connections
/// they already had and new ones; a restart serves the rotated certificate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_certificate_rotates_with_no_change_at_the_terminal() {
    let mut rig = start_with(|c| c.server_certificate_validity = std::time::Duration::from_secs(2 * 3600)).await;
    let t = rig.enroll().await;
    let heartbeat =
        central::api::TelemetryBatch { heartbeat: Some(heartbeat(PrinterHealth::Ok)), events: vec![], audit: vec![] };
    assert_eq!(t.post(&rig, "/v1/telemetry", "before", &heartbeat).await.status(), 200);
    let (old, old_not_after) = served_certificate(&rig).await;
    let (not_before, not_after) = rig.server.server_certificate_validity();
    assert_eq!(not_after, old_not_after);

    let at = |t: i64| time::OffsetDateTime::from_unix_timestamp(t).unwrap();
    let due = not_before + (not_after - not_before) / 3 * 2;
    assert_eq!(rig.server.rotate_server_certificate_if_due(at(due - 60)).unwrap(), None, "not due yet");
    let rotated = rig.server.rotate_server_certificate_if_due(at(due)).unwrap().expect("due");
    assert_eq!(rotated, due + 2 * 3600);

    let (new, new_not_after) = served_certificate(&rig).await;
    assert_ne!(new, old, "new connections get the new certificate");
    assert_eq!(new_not_after, rotated);
    // The terminal's pooled connection and a fresh client with the same trust store both work.
    assert_eq!(t.post(&rig, "/v1/telemetry", "pooled", &heartbeat).await.status(), 200);
    let fresh = client(&t.enrolled.ca_pem, Some((&t.enrolled.certificate_pem, &t.key_pem)));
    let r = fresh.post(rig.url("/v1/telemetry")).header("Idempotency-Key", "fresh").json(&heartbeat).send().await;
    assert_eq!(r.unwrap().status(), 200);

    // Restarted on the same data: the rotated certificate, not the first one.
    let dir = rig.dir.path().to_owned();
    let addr = rig.server.local_addr();
    rig.server.shutdown().await;
    let mut again = config(&dir);
    again.listen = addr;
    again.server_certificate_validity = std::time::Duration::from_secs(2 * 3600);
    rig.server = central::start(again).await.unwrap();
    assert_eq!(served_certificate(&rig).await.0, new);
}
