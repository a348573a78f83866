//! Tracking numbers are unique by construction (one sequence a day shared by every kind)
//! and typed digits name one application: a typo finds nothing, and digits that older
//! random numbers gave two applications answer neither, also in a database migrated
//! from schema version 4.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use central::api::*;
use central::registry::*;
use common::*;

async fn progress(rig: &Rig, t: &Terminal, typed: &str) -> reqwest::Response {
    t.http.get(rig.url(&format!("/v1/applications/{typed}"))).send().await.unwrap()
}

fn digits(tracking: &str) -> String {
    tracking.chars().filter(char::is_ascii_digit).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applications_of_every_kind_on_one_day_get_their_own_digits_and_a_typo_finds_nothing() {
    let rig = start().await;
    let t = rig.enroll().await;
    let check = qualification_check(APPROVED_PENSIONER_ID, APPROVED_PENSIONER_NAME, face_jpeg(), true);
    let qc: QualificationCheckResponse =
        t.post(&rig, paths::QUALIFICATION_CHECKS, "q", &check).await.json().await.unwrap();
    let mut registration = RegistrationRequest {
        kind: RegistrationKind::Unemployment,
        id_number: WORKER_ID.into(),
        name: WORKER_NAME.into(),
        phone: Some("13800138000".into()),
        reason: Some(UnemploymentReason::Dismissed),
        contribution_percent: None,
        job_kind: None,
        district: None,
    };
    let ur: RegistrationReceipt = t.post(&rig, paths::REGISTRATIONS, "u", &registration).await.json().await.unwrap();
    registration.kind = RegistrationKind::MonthlyCheckIn;
    let ci: RegistrationReceipt = t.post(&rig, paths::REGISTRATIONS, "c", &registration).await.json().await.unwrap();
    let numbers = [qc.tracking_number, ur.tracking_number, ci.tracking_number];
    let typed: Vec<String> = numbers.iter().map(|n| digits(n)).collect();
    for (number, typed) in numbers.iter().zip(&typed) {
        assert_eq!(typed.len(), 15, "{number}");
        assert!(!is_client_reference(typed));
        let found: ApplicationProgress = progress(&rig, &t, typed).await.json().await.unwrap();
        assert_eq!(&found.tracking_number, number);
    }
    // Numbered in order, whatever the kind.
    let sequence: Vec<u32> = typed.iter().map(|d| d[8..14].parse().unwrap()).collect();
    assert_eq!(sequence, [1, 2, 3], "{numbers:?}");
    // One digit mistyped: nobody's application.
    let mut typo = typed[1].clone().into_bytes();
    typo[13] = if typo[13] == b'9' { b'0' } else { typo[13] + 1 };
    let typo = String::from_utf8(typo).unwrap();
    let (status, p) = problem(progress(&rig, &t, &typo).await).await;
    assert_eq!((status, p.kind()), (404, Some(ProblemType::NotFound)), "{typo}");
    assert!(p.detail.unwrap().contains("check digit"));
}

/// `central.db` exactly as schema version 4 left it, holding two applications whose
/// random numbers share their digits (`QC-20261101-123456`, `UR-20261101-123456`) and
/// one whose digits are its own.
fn version_4_database(dir: &std::path::Path) {
    let db = rusqlite::Connection::open(dir.join("central.db")).unwrap();
    for sql in [
        include_str!("../migrations/0001_initial.sql"),
        include_str!("../migrations/0002_application_client_reference.sql"),
        include_str!("../migrations/0003_application_tracking_digits.sql"),
        include_str!("../migrations/0004_application_reason.sql"),
    ] {
        db.execute_batch(sql).unwrap();
    }
    db.pragma_update(None, "user_version", 4).unwrap();
    for (tracking, kind, id) in [
        ("QC-20261101-123456", "qualification_check", APPROVED_PENSIONER_ID),
        ("UR-20261101-123456", "unemployment_registration", WORKER_ID),
        ("UR-20261101-654321", "unemployment_registration", WORKER_ID),
    ] {
        db.execute(
            "INSERT INTO applications(tracking_number, kind, status, id_number, device_id, submitted_at, deadline, tracking_digits)
             VALUES (?1, ?2, 'received', ?3, 'old-terminal', 1793491200, '2026-11-16', replace(substr(?1, 4), '-', ''))",
            rusqlite::params![tracking, kind, id],
        )
        .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn digits_two_older_applications_share_answer_neither_after_migrating_from_version_4() {
    let rig = start_with(|c| {
        std::fs::create_dir_all(&c.data_dir).unwrap();
        version_4_database(&c.data_dir);
    })
    .await;
    let version: i64 = rusqlite::Connection::open(rig.dir.path().join("central.db"))
        .unwrap()
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version as usize, central::store::SQLITE_MIGRATIONS.len());
    let t = rig.enroll().await;
    // Either one could be the citizen's: showing the newer one may show someone else's.
    let (status, p) = problem(progress(&rig, &t, "20261101123456").await).await;
    assert_eq!(status, 404);
    assert!(p.detail.unwrap().contains("more than one"));
    // With its letters it is unambiguous, and unique digits still find theirs.
    assert_eq!(progress(&rig, &t, "UR-20261101-123456").await.status(), 200);
    let found: ApplicationProgress = progress(&rig, &t, "20261101654321").await.json().await.unwrap();
    assert_eq!(found.tracking_number, "UR-20261101-654321");
}
