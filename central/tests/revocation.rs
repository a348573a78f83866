//! Revocation wins every race, and only a device's current certificate is accepted: a
//! renewal cannot undo a revocation committed while it was being signed, and the
//! certificate a renewal replaced is refused from then on.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use central::api::{EnrollResponse, ProblemType};
use central::store::{DeviceRecord, IdempotencyBegin, NewRecord, SqliteStore, Store as _, StoreError, StoredResponse};
use common::*;

fn device(serial: &str) -> DeviceRecord {
    DeviceRecord {
        device_id: "KT-RACE".into(),
        hostname: "kiosk".into(),
        software_version: "0.1.0".into(),
        inventory_json: "{}".into(),
        enrolled_at: 1_000,
        cert_serial: serial.into(),
        cert_not_after: 9_000_000_000,
        revoked_at: None,
    }
}

fn created() -> StoredResponse {
    StoredResponse { status: 201, content_type: "application/json".into(), body: b"{}".to_vec() }
}

/// The renewal's device record was read before `central device revoke` committed; its
/// commit comes after. The device must stay revoked.
#[test]
fn a_renewal_committed_after_a_revocation_does_not_undo_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("c.db")).unwrap();
    store.upsert_device(&device("01")).unwrap();
    let stale = DeviceRecord { cert_serial: "02".into(), ..store.device("KT-RACE").unwrap().unwrap() };
    assert_eq!(store.idempotency_begin("renew:KT-RACE", "k", "h", 2_000, 0).unwrap(), IdempotencyBegin::Reserved);
    assert!(store.revoke_device("KT-RACE", 2_001).unwrap());
    let _ = store.idempotency_commit("renew:KT-RACE", "k", &[NewRecord::Device(stale)], &created());
    let after = store.device("KT-RACE").unwrap().unwrap();
    assert_eq!(after.revoked_at, Some(2_001), "the renewal cleared the revocation");
}

#[test]
fn a_commit_needing_the_current_device_fails_once_it_is_revoked_or_renewed() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("c.db")).unwrap();
    store.upsert_device(&device("01")).unwrap();
    let current =
        |serial: &str| NewRecord::RequireCurrentDevice { device_id: "KT-RACE".into(), cert_serial: serial.into() };
    let commit = |key: &str, serial: &str| {
        assert_eq!(store.idempotency_begin("KT-RACE", key, "h", 2_000, 0).unwrap(), IdempotencyBegin::Reserved);
        store.idempotency_commit("KT-RACE", key, &[current(serial)], &created())
    };
    assert_eq!(commit("a", "01").unwrap(), None);
    // Renewed to serial 02: a call let in with certificate 01 commits nothing.
    store.upsert_device(&device("02")).unwrap();
    assert!(matches!(commit("b", "01"), Err(StoreError::DeviceNotCurrent(_))));
    assert_eq!(commit("c", "02").unwrap(), None);
    store.revoke_device("KT-RACE", 3_000).unwrap();
    assert!(matches!(commit("d", "02"), Err(StoreError::DeviceNotCurrent(_))));
}

async fn renew(rig: &Rig, t: &Terminal, key: &str) -> (reqwest::Response, rcgen::KeyPair) {
    let (new_key, csr) = key_and_csr();
    (t.post(rig, "/v1/enroll", key, &enroll_request(None, csr)).await, new_key)
}

async fn heartbeat_status(rig: &Rig, http: &reqwest::Client) -> u16 {
    let batch = central::api::TelemetryBatch {
        heartbeat: Some(heartbeat(central::api::PrinterHealth::Ok)),
        events: vec![],
        audit: vec![],
    };
    http.post(rig.url("/v1/telemetry"))
        .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
        .json(&batch)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_renewal_only_the_new_certificate_is_accepted() {
    let rig = start().await;
    let t = rig.enroll().await;
    let (resp, new_key) = renew(&rig, &t, "renew-1").await;
    assert_eq!(resp.status(), 201);
    let renewed: EnrollResponse = resp.json().await.unwrap();
    let new = client(&rig.server.ca_pem(), Some((&renewed.certificate_pem, &new_key.serialize_pem())));
    assert_eq!(heartbeat_status(&rig, &new).await, 200);
    let resp = t
        .http
        .post(rig.url("/v1/telemetry"))
        .header("Idempotency-Key", "old-cert")
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    let (status, p) = problem(resp).await;
    assert_eq!((status, p.kind()), (403, Some(ProblemType::DeviceNotAllowed)));
    assert!(p.detail.unwrap().contains("replaced by a renewal"));
    // Nor can the replaced certificate renew again.
    let (resp, _) = renew(&rig, &t, "renew-2").await;
    assert_eq!(resp.status(), 403);
    // Under the first renewal's key but with another request, it gets nothing either.
    let (_, csr) = key_and_csr();
    let again = t.post(&rig, "/v1/enroll", "renew-1", &enroll_request(None, csr)).await;
    assert_eq!(again.status(), 403, "a different request under the same key is refused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_renewal_answer_is_sent_again_to_the_certificate_it_replaced() {
    let rig = start().await;
    let t = rig.enroll().await;
    let (_, csr) = key_and_csr();
    let request = enroll_request(None, csr);
    let first = t.post(&rig, "/v1/enroll", "renew-1", &request).await;
    assert_eq!(first.status(), 201);
    let first: EnrollResponse = first.json().await.unwrap();
    let again = t.post(&rig, "/v1/enroll", "renew-1", &request).await;
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: EnrollResponse = again.json().await.unwrap();
    assert_eq!(again.certificate_pem, first.certificate_pem);
}

/// `central device revoke` runs in another process while a renewal is being handled:
/// the renewal has been let in (its certificate was current) and waits for the database,
/// which the revocation holds; it commits after the revocation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_racing_a_renewal_wins() {
    let rig = start().await;
    let t = rig.enroll().await;
    let device_id = t.enrolled.device_id.clone();
    let db = rusqlite::Connection::open(rig.dir.path().join("central.db")).unwrap();
    db.execute_batch("BEGIN IMMEDIATE").unwrap();
    let renewal = {
        let (_, csr) = key_and_csr();
        let http = t.http.clone();
        let url = rig.url("/v1/enroll");
        tokio::spawn(async move {
            http.post(url).header("Idempotency-Key", "racing").json(&enroll_request(None, csr)).send().await.unwrap()
        })
    };
    // Long enough for the renewal to pass the certificate check and wait for the lock.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    db.execute(
        "UPDATE devices SET revoked_at = ?2 WHERE device_id = ?1 AND revoked_at IS NULL",
        rusqlite::params![device_id, now],
    )
    .unwrap();
    db.execute_batch("COMMIT").unwrap();
    let answer = renewal.await.unwrap();
    let status = answer.status().as_u16();
    let body = answer.text().await.unwrap();
    let stored = rig.server.store().device(&device_id).unwrap().unwrap();
    eprintln!("renewal racing the revocation answered {status}; device revoked_at = {:?}", stored.revoked_at);
    assert_eq!(stored.revoked_at, Some(now), "the renewal undid the revocation (it answered {status}: {body})");
    assert_eq!(status, 403, "{body}");
    assert_eq!(heartbeat_status(&rig, &t.http).await, 403);
}
