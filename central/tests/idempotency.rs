//! Idempotency exactly as the design doc says: replay, different body, in flight,
//! missing key, and a race of identical requests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use central::api::{Certificate, CertificateKind, CertificateRequest, Period, ProblemType};
use central::registry::{WORKER_ID, WORKER_NAME};
use common::*;

fn request(from: &str) -> CertificateRequest {
    CertificateRequest {
        kind: CertificateKind::AllInsurances,
        id_number: WORKER_ID.into(),
        name: WORKER_NAME.into(),
        period: Period { from: from.into(), to: "2024-12".into() },
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_request_returns_the_stored_response_and_records_nothing_new() {
    let rig = start().await;
    let t = rig.enroll().await;
    let first = t.post(&rig, "/v1/certificates", "cert-1", &request("2024-01")).await;
    assert_eq!(first.status(), 201);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first: Certificate = first.json().await.unwrap();
    let again = t.post(&rig, "/v1/certificates", "cert-1", &request("2024-01")).await;
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers().get("idempotent-replayed").unwrap(), "true");
    let again: Certificate = again.json().await.unwrap();
    assert_eq!(first, again);
    assert_eq!(rig.server.store().activity_counts().unwrap().certificates, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_key_with_a_different_body_is_422() {
    let rig = start().await;
    let t = rig.enroll().await;
    assert_eq!(t.post(&rig, "/v1/certificates", "cert-1", &request("2024-01")).await.status(), 201);
    let (status, p) = problem(t.post(&rig, "/v1/certificates", "cert-1", &request("2023-01")).await).await;
    assert_eq!((status, p.kind()), (422, Some(ProblemType::IdempotencyKeyReused)));
    // Same key on another call is a different request too.
    let rating = serde_json::json!({"session_id": "s1", "service": "certificate", "grade": 4});
    let (status, _) = problem(t.post(&rig, "/v1/ratings", "cert-1", &rating).await).await;
    assert_eq!(status, 422);
    assert_eq!(rig.server.store().activity_counts().unwrap().certificates, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_key_while_the_first_is_in_flight_is_409_then_succeeds() {
    let rig = start().await;
    let t = rig.enroll().await;
    let body = serde_json::to_vec(&request("2024-01")).unwrap();
    let hash = central::idempotency_request_hash("POST", "/v1/certificates", &body);
    let store = rig.server.store();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    // Another worker holds the key: exactly what a concurrent first attempt looks like.
    assert_eq!(
        store.idempotency_begin(&t.enrolled.device_id, "busy", &hash, now, now - 120).unwrap(),
        central::store::IdempotencyBegin::Reserved
    );
    let send = || {
        t.http
            .post(rig.url("/v1/certificates"))
            .header("Idempotency-Key", "busy")
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
    };
    let (status, p) = problem(send().await.unwrap()).await;
    assert_eq!((status, p.kind()), (409, Some(ProblemType::RequestInFlight)));
    // The holder gives up (as after a server fault): the retry now runs.
    store.idempotency_abandon(&t.enrolled.device_id, "busy").unwrap();
    assert_eq!(send().await.unwrap().status(), 201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_state_changing_call_without_a_key_is_400() {
    let rig = start().await;
    let t = rig.enroll().await;
    for path in [
        "/v1/certificates",
        "/v1/qualification-checks",
        "/v1/registrations",
        "/v1/ratings",
        "/v1/telemetry",
        "/v1/enroll",
    ] {
        let resp = t.http.post(rig.url(path)).json(&serde_json::json!({})).send().await.unwrap();
        let (status, p) = problem(resp).await;
        assert_eq!((status, p.kind()), (400, Some(ProblemType::IdempotencyKeyMissing)), "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_identical_requests_create_exactly_one_record() {
    let rig = start().await;
    let t = rig.enroll().await;
    let mut tasks = Vec::new();
    for _ in 0..12 {
        let http = t.http.clone();
        let url = rig.url("/v1/certificates");
        let body = request("2020-01");
        tasks.push(tokio::spawn(async move {
            let r = http.post(url).header("Idempotency-Key", "race").json(&body).send().await.unwrap();
            let status = r.status().as_u16();
            (status, r.text().await.unwrap())
        }));
    }
    let mut created = Vec::new();
    for task in tasks {
        let (status, text) = task.await.unwrap();
        match status {
            201 => created.push(text),
            409 => assert!(text.contains("request-in-flight")),
            other => panic!("unexpected {other}: {text}"),
        }
    }
    assert!(!created.is_empty());
    assert!(created.windows(2).all(|w| w[0] == w[1]), "every success is the same stored response");
    assert_eq!(rig.server.store().activity_counts().unwrap().certificates, 1);
}
