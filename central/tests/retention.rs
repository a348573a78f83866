//! Retention: face images go once a decision is final (or after a maximum age), issued
//! certificate documents, the access log and old telemetry after theirs, and finished
//! applications keep only a masked ID number. Keys are refused when others may read
//! them, and the face key can live away from the database.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::os::unix::fs::PermissionsExt as _;

use central::api::*;
use central::registry::*;
use common::*;

const DAY: i64 = 86_400;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_retention_sweep_removes_personal_data_past_its_time() {
    let rig = start().await;
    let t = rig.enroll().await;
    let store = rig.server.store();
    let decided: QualificationCheckResponse = t
        .post(
            &rig,
            paths::QUALIFICATION_CHECKS,
            "q1",
            &qualification_check(APPROVED_PENSIONER_ID, APPROVED_PENSIONER_NAME, face_jpeg(), true),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(decided.outcome, QualificationOutcome::Approved);
    let pending: QualificationCheckResponse = t
        .post(
            &rig,
            paths::QUALIFICATION_CHECKS,
            "q2",
            &qualification_check(APPROVED_PENSIONER_ID, APPROVED_PENSIONER_NAME, face_jpeg(), false),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(pending.outcome, QualificationOutcome::PendingReview);
    let cert = CertificateRequest {
        kind: CertificateKind::AllInsurances,
        id_number: WORKER_ID.into(),
        name: WORKER_NAME.into(),
        period: Period { from: "2024-01".into(), to: "2024-02".into() },
    };
    let cert: Certificate = t.post(&rig, paths::CERTIFICATES, "c1", &cert).await.json().await.unwrap();
    let mut registration = RegistrationRequest {
        kind: RegistrationKind::Unemployment,
        id_number: WORKER_ID.into(),
        name: WORKER_NAME.into(),
        phone: Some("13800138000".into()),
        reason: Some(UnemploymentReason::ContractEnded),
        contribution_percent: None,
        job_kind: None,
        district: None,
    };
    let open: RegistrationReceipt = t.post(&rig, paths::REGISTRATIONS, "r1", &registration).await.json().await.unwrap();
    registration.kind = RegistrationKind::MonthlyCheckIn;
    let check_in: RegistrationReceipt =
        t.post(&rig, paths::REGISTRATIONS, "r2", &registration).await.json().await.unwrap();
    assert_eq!(t.contributions(&rig, WORKER_ID, WORKER_NAME).await.status(), 200);
    let events = TelemetryBatch {
        heartbeat: Some(heartbeat(PrinterHealth::PaperOut)),
        events: vec![TelemetryEvent {
            id: "e1".into(),
            at: time::OffsetDateTime::now_utc(),
            kind: "session.finished".into(),
            severity: Severity::Info,
            detail: None,
        }],
        audit: vec![],
    };
    assert_eq!(t.post(&rig, paths::TELEMETRY, "t1", &events).await.status(), 200);
    let ok = TelemetryBatch { heartbeat: Some(heartbeat(PrinterHealth::Ok)), events: vec![], audit: vec![] };
    assert_eq!(t.post(&rig, paths::TELEMETRY, "t2", &ok).await.status(), 200);

    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    // The next sweep: the decided check's face goes, the one under review stays.
    let report = rig.server.enforce_retention_at(now + 1).unwrap();
    eprintln!("sweep at once: {report:?}");
    assert!(store.face_image(&decided.tracking_number).unwrap().is_none(), "decided face kept");
    assert!(store.face_image(&pending.tracking_number).unwrap().is_some(), "a face under review is needed");
    assert_eq!(report.face_images, 1);
    assert!(store.certificate_by_code(&cert.body.verification_code).unwrap().is_some());

    // 400 days on (defaults: faces under review 90, certificates and ID numbers 365,
    // access log 180, telemetry 90 days).
    let report = rig.server.enforce_retention_at(now + 400 * DAY).unwrap();
    eprintln!("sweep 400 days on: {report:?}");
    assert!(store.face_image(&pending.tracking_number).unwrap().is_none(), "a face kept past its maximum age");
    assert!(store.certificate_by_code(&cert.body.verification_code).unwrap().is_none());
    let page = rig.anonymous().get(rig.url(&format!("/verify/{}", cert.body.verification_code))).send().await.unwrap();
    assert_eq!(page.status(), 404);
    let finished = store.application(&check_in.tracking_number).unwrap().unwrap();
    assert_eq!(finished.id_number, "4501**********0032", "a finished application keeps the masked number only");
    let decided_row = store.application(&decided.tracking_number).unwrap().unwrap();
    assert_eq!(decided_row.id_number, "1101**********002X");
    // The open registration still needs the number for the monthly check-ins.
    assert_eq!(store.application(&open.tracking_number).unwrap().unwrap().id_number, WORKER_ID);
    assert!(store.recent_registry_access(10).unwrap().is_empty());
    assert!(store.recent_events(&t.enrolled.device_id, 10).unwrap().is_empty());
    assert!(store.alerts(10).unwrap().iter().all(|a| a.cleared_at.is_none()), "cleared alerts past retention");
    assert!(report.tokens >= 1, "the enrollment token, long expired, is gone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_face_key_may_live_away_from_the_database_and_a_moved_key_is_not_replaced() {
    let keys = tempfile::tempdir().unwrap();
    let face_key = keys.path().join("face-images.key");
    let rig = start_with(|c| c.face_key = Some(face_key.clone())).await;
    assert!(face_key.exists());
    assert!(!rig.dir.path().join("face-images.key").exists(), "no key beside the database");
    assert_eq!(std::fs::metadata(&face_key).unwrap().permissions().mode() & 0o777, 0o600);
    let data_dir = rig.dir.path().to_owned();
    let dir = rig.dir;
    rig.server.shutdown().await;

    // The key left beside the database by an earlier start, and --face-key now names a
    // path where nothing is yet: starting would make a new key that decrypts nothing.
    std::fs::copy(&face_key, data_dir.join("face-images.key")).unwrap();
    let elsewhere = keys.path().join("not-there.key");
    let mut c = config(&data_dir);
    c.face_key = Some(elsewhere.clone());
    let err = central::start(c).await.unwrap_err().to_string();
    assert!(err.contains("`face_key`") && err.contains("move"), "{err}");
    assert!(!elsewhere.exists());
    drop(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_file_others_may_read_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let rig = central::start(config(dir.path())).await.unwrap();
    rig.shutdown().await;
    let key = dir.path().join("certificate-signing.key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = central::start(config(dir.path())).await.unwrap_err().to_string();
    assert!(err.contains("chmod 600") && err.contains("certificate-signing.key"), "{err}");
}
