//! Reference business logic over HTTPS: signed certificates and the public verify
//! page, qualification outcomes, contributions, registrations, applications, ratings.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use base64::Engine as _;
use central::api::*;
use central::registry::*;
use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_is_signed_over_its_canonical_body_and_verifiable_in_public() {
    let rig = start().await;
    let t = rig.enroll().await;
    let req = CertificateRequest {
        kind: CertificateKind::AllInsurances,
        id_number: WORKER_ID.into(),
        name: WORKER_NAME.into(),
        period: Period { from: "2024-01".into(), to: "2024-06".into() },
    };
    let resp = t.post(&rig, "/v1/certificates", "c1", &req).await;
    assert_eq!(resp.status(), 201);
    let cert: Certificate = resp.json().await.unwrap();
    let key = decode_signing_public_key(&t.enrolled.config.certificate_signing_key).unwrap();
    assert_eq!(verify_certificate_signature(&cert, &key), Ok(()));
    assert_eq!(cert.body.rows.len(), 6);
    assert_eq!(cert.body.holder.id_number_masked, "4501**********0032");
    let mut tampered = cert.clone();
    tampered.body.rows[0].amount_fen += 1;
    assert_eq!(verify_certificate_signature(&tampered, &key), Err(SignatureError::Mismatch));
    assert!(cert.body.verify_url.ends_with(&format!("/verify/{}", cert.body.verification_code)));
    let page = rig.anonymous().get(rig.url(&format!("/verify/{}", cert.body.verification_code))).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"data-valid="true""#));
    assert!(html.contains("4501**********0032"));
    assert!(!html.contains(WORKER_ID), "the public page must not show the full ID number");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pension_receipt_for_a_contributor_is_refused_with_the_field_named() {
    let rig = start().await;
    let t = rig.enroll().await;
    let req = CertificateRequest {
        kind: CertificateKind::PensionReceipt,
        id_number: WORKER_ID.into(),
        name: WORKER_NAME.into(),
        period: Period { from: "2024-01".into(), to: "2024-06".into() },
    };
    let (status, p) = problem(t.post(&rig, "/v1/certificates", "c1", &req).await).await;
    assert_eq!((status, p.field.as_deref()), (422, Some("kind")));
    let mut bad = req.clone();
    bad.id_number = "110105194912310021".into();
    let (status, p) = problem(t.post(&rig, "/v1/certificates", "c2", &bad).await).await;
    assert_eq!((status, p.field.as_deref()), (422, Some("id_number")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qualification_outcomes_follow_the_documented_rules() {
    let rig = start().await;
    let t = rig.enroll().await;
    let cases = [
        (APPROVED_PENSIONER_ID, APPROVED_PENSIONER_NAME, true, QualificationOutcome::Approved, None),
        (REVIEW_PENSIONER_ID, REVIEW_PENSIONER_NAME, true, QualificationOutcome::PendingReview, Some("age_review")),
        (
            APPROVED_PENSIONER_ID,
            APPROVED_PENSIONER_NAME,
            false,
            QualificationOutcome::PendingReview,
            Some("liveness_not_passed"),
        ),
        (WORKER_ID, WORKER_NAME, true, QualificationOutcome::Rejected, Some("not_a_pensioner")),
        (APPROVED_PENSIONER_ID, "李四", true, QualificationOutcome::Rejected, Some("name_mismatch")),
    ];
    for (i, (id, name, passed, outcome, reason)) in cases.into_iter().enumerate() {
        let resp = t
            .post(
                &rig,
                "/v1/qualification-checks",
                &format!("q{i}"),
                &qualification_check(id, name, face_jpeg(), passed),
            )
            .await;
        assert_eq!(resp.status(), 201, "case {i}");
        let r: QualificationCheckResponse = resp.json().await.unwrap();
        assert_eq!((r.outcome, r.reason.as_deref()), (outcome, reason), "case {i}");
        // Every check is trackable; a pending one is under review with a deadline.
        let progress: ApplicationProgress = t
            .http
            .get(rig.url(&format!("/v1/applications/{}", r.tracking_number)))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(progress.kind, ApplicationKind::QualificationCheck);
        if outcome == QualificationOutcome::PendingReview {
            assert_eq!(progress.status, ApplicationStatus::UnderReview);
            assert!(!progress.overdue);
        }
        // The face is stored, but only encrypted.
        let (_, ciphertext) = rig.server.store().face_image(&r.tracking_number).unwrap().unwrap();
        let plain = base64::engine::general_purpose::STANDARD.decode(face_jpeg()).unwrap();
        assert_ne!(ciphertext[..64], plain[..64]);
        assert_eq!(ciphertext.len(), plain.len() + 16);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_face_that_is_not_a_jpeg_is_refused() {
    let rig = start().await;
    let t = rig.enroll().await;
    let png = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/faces/astronaut.png")).unwrap();
    let mut fake = vec![0xFF, 0xD8, 0xFF, 0xE0];
    fake.extend_from_slice(b"not really a jpeg at all");
    for (i, bytes) in [png, fake].into_iter().enumerate() {
        let req = qualification_check(
            APPROVED_PENSIONER_ID,
            APPROVED_PENSIONER_NAME,
            base64::engine::general_purpose::STANDARD.encode(bytes),
            true,
        );
        let (status, p) = problem(t.post(&rig, "/v1/qualification-checks", &format!("bad{i}"), &req).await).await;
        assert_eq!((status, p.kind()), (422, Some(ProblemType::InvalidJpeg)));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contributions_come_from_the_registry_for_the_named_holder() {
    let rig = start().await;
    let t = rig.enroll().await;
    let resp = t.contributions(&rig, WORKER_ID, WORKER_NAME).await;
    assert_eq!(resp.status(), 200);
    let h: ContributionHistory = resp.json().await.unwrap();
    assert_eq!(h.pension_status, PensionStatus::Contributing);
    assert_eq!(h.total_months as usize, h.months.len());
    assert!(h.months.iter().all(|m| is_year_month(&m.month)));
    let unknown = make_id_number("450103", 1999, 9, 9, 999);
    let (status, p) = problem(t.contributions(&rig, &unknown, WORKER_NAME).await).await;
    assert_eq!((status, p.kind()), (404, Some(ProblemType::PersonUnknown)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unemployment_registration_then_monthly_check_in() {
    let rig = start().await;
    let t = rig.enroll().await;
    let mut req = RegistrationRequest {
        kind: RegistrationKind::MonthlyCheckIn,
        id_number: WORKER_ID.into(),
        name: WORKER_NAME.into(),
        phone: None,
        reason: None,
        contribution_percent: None,
        job_kind: None,
        district: None,
    };
    let (status, p) = problem(t.post(&rig, "/v1/registrations", "r0", &req).await).await;
    assert_eq!((status, p.kind()), (422, Some(ProblemType::NoOpenRegistration)));
    req.kind = RegistrationKind::Unemployment;
    req.phone = Some("13800138000".into());
    req.reason = Some(UnemploymentReason::EmployerClosed);
    let resp = t.post(&rig, "/v1/registrations", "r1", &req).await;
    assert_eq!(resp.status(), 201);
    let receipt: RegistrationReceipt = resp.json().await.unwrap();
    let progress: ApplicationProgress = t
        .http
        .get(rig.url(&format!("/v1/applications/{}", receipt.tracking_number)))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (progress.kind, progress.status),
        (ApplicationKind::UnemploymentRegistration, ApplicationStatus::Received)
    );
    // The reason chosen on the form is stored as the citizen chose it.
    let stored = rig.server.store().application(&receipt.tracking_number).unwrap().unwrap();
    assert_eq!(stored.reason.as_deref(), Some("employer_closed"));
    assert!(progress.deadline > time::OffsetDateTime::now_utc().date().to_string());
    // Typed on a numeric keypad: the digits alone find the same application.
    let digits: String = receipt.tracking_number.chars().filter(char::is_ascii_digit).collect();
    assert_eq!(digits.len(), 15, "{}", receipt.tracking_number);
    let typed: ApplicationProgress =
        t.http.get(rig.url(&format!("/v1/applications/{digits}"))).send().await.unwrap().json().await.unwrap();
    assert_eq!(typed.tracking_number, receipt.tracking_number);
    req.kind = RegistrationKind::MonthlyCheckIn;
    let resp = t.post(&rig, "/v1/registrations", "r2", &req).await;
    assert_eq!(resp.status(), 201);
    let check_in: RegistrationReceipt = resp.json().await.unwrap();
    assert_eq!(check_in.kind, RegistrationKind::MonthlyCheckIn);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ratings_are_validated_and_recorded() {
    let rig = start().await;
    let t = rig.enroll().await;
    let mut r = RatingRequest {
        session_id: "sess-1".into(),
        service: Service::Certificate,
        grade: 6,
        reasons: vec![RatingReason::Fast],
    };
    let (status, p) = problem(t.post(&rig, "/v1/ratings", "g1", &r).await).await;
    assert_eq!((status, p.field.as_deref()), (422, Some("grade")));
    r.grade = 5;
    let resp = t.post(&rig, "/v1/ratings", "g2", &r).await;
    assert_eq!(resp.status(), 201);
    let receipt: RatingReceipt = resp.json().await.unwrap();
    assert!(receipt.rating_id.starts_with("R-"));
    assert_eq!(rig.server.store().activity_counts().unwrap().ratings, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_bodies_get_problem_documents_not_server_errors() {
    let rig = start().await;
    let t = rig.enroll().await;
    let send = |ct: &'static str, body: Vec<u8>| {
        t.http
            .post(rig.url("/v1/ratings"))
            .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
            .header("content-type", ct)
            .body(body)
            .send()
    };
    let (s, p) = problem(send("application/json", b"{not json".to_vec()).await.unwrap()).await;
    assert_eq!((s, p.kind()), (400, Some(ProblemType::MalformedRequest)));
    let (s, p) = problem(send("application/json", br#"{"grade":"five"}"#.to_vec()).await.unwrap()).await;
    assert_eq!((s, p.kind()), (422, Some(ProblemType::ValidationFailed)));
    let (s, _) = problem(send("text/plain", b"{}".to_vec()).await.unwrap()).await;
    assert_eq!(s, 415);
    let (s, _) = problem(send("application/json", vec![b' '; 300 * 1024]).await.unwrap()).await;
    assert_eq!(s, 413);
}
