//! A submission's rows and its idempotency outcome are one transaction: when the step
//! after the insert fails (a crash there looks the same), nothing is left behind, and the
//! retry after the in-flight lease expires creates exactly one application. Faults are
//! injected with SQLite triggers on the real database file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use central::api::*;
use central::registry::*;
use central::store::{ApplicationRecord, IdempotencyBegin, NewRecord, SqliteStore, Store as _, StoredResponse};
use common::*;

/// Makes recording an idempotency outcome fail, as a crash right after the inserts would.
const FAIL_OUTCOME: &str = "CREATE TRIGGER fail_outcome BEFORE UPDATE OF state ON idempotency WHEN NEW.state = 'done'
     BEGIN SELECT RAISE(ABORT, 'injected fault: outcome not recorded'); END;";
/// Makes releasing a reservation fail, so it stays in flight as after a crash.
const KEEP_RESERVATION: &str = "CREATE TRIGGER keep_reservation BEFORE DELETE ON idempotency
     BEGIN SELECT RAISE(ABORT, 'injected fault: process died'); END;";

fn count(db: &rusqlite::Connection, table: &str) -> i64 {
    db.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0)).unwrap()
}

fn application(tracking: &str) -> NewRecord {
    NewRecord::Application(ApplicationRecord {
        tracking_number: tracking.into(),
        kind: "unemployment_registration".into(),
        status: "received".into(),
        id_number: WORKER_ID.into(),
        device_id: "KT-TEST".into(),
        submitted_at: 1_795_000_000,
        deadline: "2026-12-16".into(),
        client_reference: Some(client_reference("k")),
        reason: None,
    })
}

fn created(body: &str) -> StoredResponse {
    StoredResponse { status: 201, content_type: "application/json".into(), body: body.as_bytes().to_vec() }
}

#[test]
fn a_failure_after_the_insert_leaves_no_application_and_the_retry_after_the_lease_creates_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.db");
    let store = SqliteStore::open(&path).unwrap();
    let db = rusqlite::Connection::open(&path).unwrap();
    db.execute_batch(FAIL_OUTCOME).unwrap();

    assert_eq!(store.idempotency_begin("d", "k", "h", 1000, 880).unwrap(), IdempotencyBegin::Reserved);
    let first = [application("UR-20261126-000001")];
    assert!(store.idempotency_commit("d", "k", &first, &created("first")).is_err());
    assert_eq!(count(&db, "applications"), 0, "the insert was rolled back with the outcome");
    // The worker "died" holding the reservation: a retry within the lease is refused...
    assert_eq!(store.idempotency_begin("d", "k", "h", 1060, 940).unwrap(), IdempotencyBegin::InFlight);
    // ...and one after it takes over and runs again, this time to the end.
    db.execute_batch("DROP TRIGGER fail_outcome").unwrap();
    assert_eq!(store.idempotency_begin("d", "k", "h", 1200, 1080).unwrap(), IdempotencyBegin::Reserved);
    let retry = [application("UR-20261126-000002")];
    assert_eq!(store.idempotency_commit("d", "k", &retry, &created("retry")).unwrap(), None);
    assert_eq!(count(&db, "applications"), 1);
    assert!(store.application("UR-20261126-000002").unwrap().is_some());
    assert_eq!(store.idempotency_begin("d", "k", "h", 1300, 1180).unwrap(), IdempotencyBegin::Replay(created("retry")));
}

#[test]
fn a_slow_attempt_that_lost_its_lease_commits_nothing_and_gets_the_retrys_response() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.db");
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.idempotency_begin("d", "k", "h", 1000, 880).unwrap(), IdempotencyBegin::Reserved);
    // The first attempt stalls past its lease; a retry takes over and finishes.
    assert_eq!(store.idempotency_begin("d", "k", "h", 1200, 1080).unwrap(), IdempotencyBegin::Reserved);
    let retry = [application("UR-20261126-000002")];
    assert_eq!(store.idempotency_commit("d", "k", &retry, &created("retry")).unwrap(), None);
    // The stalled attempt wakes up: its rows are dropped, the retry's answer stands.
    let stalled = [application("UR-20261126-000001")];
    assert_eq!(store.idempotency_commit("d", "k", &stalled, &created("stalled")).unwrap(), Some(created("retry")));
    let db = rusqlite::Connection::open(&path).unwrap();
    assert_eq!(count(&db, "applications"), 1);
    assert!(store.application("UR-20261126-000001").unwrap().is_none());
}

async fn approved_count(rig: &Rig) -> String {
    let metrics = rig.metrics_text().await;
    let line = metrics.lines().find(|l| l.starts_with("central_qualification_checks_total{outcome=\"approved\"}"));
    line.unwrap().rsplit(' ').next().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_qualification_check_whose_outcome_was_not_recorded_is_neither_stored_nor_counted_until_retried() {
    let rig = start().await;
    let t = rig.enroll().await;
    let db = rusqlite::Connection::open(rig.dir.path().join("central.db")).unwrap();
    db.execute_batch(FAIL_OUTCOME).unwrap();
    db.execute_batch(KEEP_RESERVATION).unwrap();
    let request = qualification_check(APPROVED_PENSIONER_ID, APPROVED_PENSIONER_NAME, face_jpeg(), true);
    let key = uuid::Uuid::new_v4().to_string();

    let (status, p) = problem(t.post(&rig, paths::QUALIFICATION_CHECKS, &key, &request).await).await;
    assert_eq!((status, p.kind()), (500, Some(ProblemType::Internal)));
    assert_eq!(count(&db, "applications"), 0);
    assert_eq!(count(&db, "face_images"), 0, "no orphaned face image either");
    assert_eq!(approved_count(&rig).await, "0", "nothing committed, nothing counted");
    let (status, _) = problem(t.post(&rig, paths::QUALIFICATION_CHECKS, &key, &request).await).await;
    assert_eq!(status, 409, "the dead attempt still holds its lease");

    // The lease runs out (its clock is moved back rather than waited for).
    db.execute_batch("DROP TRIGGER fail_outcome; DROP TRIGGER keep_reservation;").unwrap();
    db.execute("UPDATE idempotency SET created_at = created_at - 121 WHERE key = ?1", [&key]).unwrap();
    let resp = t.post(&rig, paths::QUALIFICATION_CHECKS, &key, &request).await;
    assert_eq!(resp.status(), 201);
    let first: QualificationCheckResponse = resp.json().await.unwrap();
    assert_eq!(first.outcome, QualificationOutcome::Approved);
    assert_eq!((count(&db, "applications"), count(&db, "face_images")), (1, 1));
    assert_eq!(approved_count(&rig).await, "1");

    let again = t.post(&rig, paths::QUALIFICATION_CHECKS, &key, &request).await;
    assert_eq!(again.headers().get("idempotent-replayed").unwrap(), "true");
    let again: QualificationCheckResponse = again.json().await.unwrap();
    assert_eq!(again, first);
    assert_eq!(count(&db, "applications"), 1);
    assert_eq!(approved_count(&rig).await, "1");
}

/// A technician's enrollment whose device record cannot be written (a crash there looks
/// the same) leaves the one-time token unspent, so the same request enrolls on retry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enrollment_whose_device_was_not_recorded_keeps_the_token_for_the_retry() {
    let rig = start().await;
    let db = rusqlite::Connection::open(rig.dir.path().join("central.db")).unwrap();
    db.execute_batch(
        "CREATE TRIGGER fail_device BEFORE INSERT ON devices
         BEGIN SELECT RAISE(ABORT, 'injected fault: device not recorded'); END;",
    )
    .unwrap();
    let token = rig.server.create_enrollment_token(std::time::Duration::from_secs(600)).unwrap();
    let (_, csr) = key_and_csr();
    let request = enroll_request(Some(token.clone()), csr);
    let send = |key: String| {
        let (http, url, request) = (rig.anonymous(), rig.url(paths::ENROLL), request.clone());
        async move { http.post(url).header("Idempotency-Key", key).json(&request).send().await.unwrap() }
    };
    let used_by = || -> Option<String> {
        db.query_row("SELECT device_id FROM enrollment_tokens", [], |r| r.get::<_, Option<String>>(0)).unwrap()
    };
    let key = uuid::Uuid::new_v4().to_string();

    let (status, p) = problem(send(key.clone()).await).await;
    assert_eq!((status, p.kind()), (500, Some(ProblemType::Internal)));
    assert_eq!(count(&db, "devices"), 0);
    assert_eq!(used_by(), None, "the token is still the technician's");

    db.execute_batch("DROP TRIGGER fail_device").unwrap();
    let resp = send(key).await;
    assert_eq!(resp.status(), 201);
    let enrolled: EnrollResponse = resp.json().await.unwrap();
    assert_eq!(count(&db, "devices"), 1);
    assert_eq!(used_by(), Some(enrolled.device_id), "spent by the device it enrolled");
    // Spent now: any other request with it is refused.
    let (status, p) = problem(send(uuid::Uuid::new_v4().to_string()).await).await;
    assert_eq!((status, p.kind()), (401, Some(ProblemType::EnrollmentTokenUsed)), "{p:?}");
}
