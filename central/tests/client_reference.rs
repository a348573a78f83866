//! The reference on a terminal's "queued" receipt (`api::client_reference` of the
//! submission's Idempotency-Key) finds the application once it has been delivered,
//! also in a database created before the reference was stored (migration 2) and migrated
//! through every later migration.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use central::api::*;
use central::registry::*;
use common::*;

async fn look_up(rig: &Rig, t: &Terminal, what: &str) -> reqwest::Response {
    t.http.get(rig.url(&format!("/v1/applications/{what}"))).send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivered_submission_is_found_by_the_client_reference_of_its_idempotency_key() {
    let rig = start().await;
    let t = rig.enroll().await;
    let check_key = uuid::Uuid::new_v4().to_string();
    let resp = t
        .post(
            &rig,
            paths::QUALIFICATION_CHECKS,
            &check_key,
            &qualification_check(APPROVED_PENSIONER_ID, APPROVED_PENSIONER_NAME, face_jpeg(), true),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let check: QualificationCheckResponse = resp.json().await.unwrap();
    let register_key = uuid::Uuid::new_v4().to_string();
    let resp = t.post(&rig, paths::REGISTRATIONS, &register_key, &unemployment()).await;
    assert_eq!(resp.status(), 201);
    let registration: RegistrationReceipt = resp.json().await.unwrap();

    for (key, tracking, kind) in [
        (&check_key, &check.tracking_number, ApplicationKind::QualificationCheck),
        (&register_key, &registration.tracking_number, ApplicationKind::UnemploymentRegistration),
    ] {
        let reference = client_reference(key);
        assert!(reference.bytes().all(|b| b.is_ascii_digit()) && reference.len() == 16, "{reference}");
        let resp = look_up(&rig, &t, &reference).await;
        assert_eq!(resp.status(), 200, "{reference}");
        let progress: ApplicationProgress = resp.json().await.unwrap();
        assert_eq!((&progress.tracking_number, progress.kind), (tracking, kind));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_client_reference_is_not_found() {
    let rig = start().await;
    let t = rig.enroll().await;
    let resp = t.post(&rig, paths::REGISTRATIONS, "delivered-key", &unemployment()).await;
    assert_eq!(resp.status(), 201);
    // A well-formed reference of a key that was never submitted.
    let (status, p) = problem(look_up(&rig, &t, &client_reference("never-submitted")).await).await;
    assert_eq!((status, p.kind()), (404, Some(ProblemType::NotFound)));
    // The Idempotency-Key itself is not a reference.
    let (status, _) = problem(look_up(&rig, &t, "delivered-key").await).await;
    assert_eq!(status, 404);
}

/// Writes `central.db` in `dir` exactly as a server before migration 2 left it, with one
/// application in it; returns that application's tracking number.
fn version_1_database(dir: &std::path::Path) -> String {
    let db = rusqlite::Connection::open(dir.join("central.db")).unwrap();
    db.execute_batch(include_str!("../migrations/0001_initial.sql")).unwrap();
    db.pragma_update(None, "user_version", 1).unwrap();
    let tracking = "UR-20261101-123456";
    db.execute(
        "INSERT INTO applications(tracking_number, kind, status, id_number, device_id, submitted_at, deadline)
         VALUES (?1, 'unemployment_registration', 'received', ?2, 'old-terminal', 1793491200, '2026-11-16')",
        rusqlite::params![tracking, WORKER_ID],
    )
    .unwrap();
    tracking.to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_1_database_is_migrated_in_place_and_keeps_its_applications() {
    let mut tracking = String::new();
    let rig = start_with(|c| {
        std::fs::create_dir_all(&c.data_dir).unwrap();
        tracking = version_1_database(&c.data_dir);
    })
    .await;
    let version: i64 = rusqlite::Connection::open(rig.dir.path().join("central.db"))
        .unwrap()
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version as usize, central::store::SQLITE_MIGRATIONS.len(), "every migration since version 1 applied");

    let t = rig.enroll().await;
    // The old row is still there, by tracking number and by its digits (backfilled by
    // migration 3); it has no reference.
    let digits: String = tracking.chars().filter(char::is_ascii_digit).collect();
    for typed in [tracking.as_str(), digits.as_str()] {
        let resp = look_up(&rig, &t, typed).await;
        assert_eq!(resp.status(), 200, "{typed}");
        let progress: ApplicationProgress = resp.json().await.unwrap();
        assert_eq!(progress.tracking_number, tracking);
    }
    assert_eq!(rig.server.store().application(&tracking).unwrap().unwrap().client_reference, None);

    // New applications in the migrated database carry their reference. The old row is
    // an open unemployment registration for the worker, so a monthly check-in is allowed.
    let key = uuid::Uuid::new_v4().to_string();
    let check_in =
        RegistrationRequest { kind: RegistrationKind::MonthlyCheckIn, phone: None, reason: None, ..unemployment() };
    let resp = t.post(&rig, paths::REGISTRATIONS, &key, &check_in).await;
    assert_eq!(resp.status(), 201);
    let receipt: RegistrationReceipt = resp.json().await.unwrap();
    let progress: ApplicationProgress = look_up(&rig, &t, &client_reference(&key)).await.json().await.unwrap();
    assert_eq!(progress.tracking_number, receipt.tracking_number);
}
