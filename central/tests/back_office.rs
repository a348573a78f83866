//! The back office (受理—经办—反馈, issue 16 item 4) over HTTPS: a qualification check
//! left for review and a "4050" subsidy application are handed to a reviewer, blind
//! (the page never names the terminal), decided with a reason from the list behind a
//! CSRF check; the terminal's progress lookup then shows the decision, the face is gone,
//! and a citizen who gave a phone is notified. Non-reviewers are refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::{Arc, Mutex};

use central::api::*;
use central::notify::{DecisionNotice, Notifier, NotifyError};
use central::registry::*;
use common::*;

/// A gateway that keeps what it was asked to send.
#[derive(Default)]
struct Recorder(Mutex<Vec<DecisionNotice>>);

impl Notifier for Recorder {
    fn decision(&self, notice: &DecisionNotice) -> Result<(), NotifyError> {
        self.0.lock().unwrap().push(notice.clone());
        Ok(())
    }
}

async fn rig_with(recorder: Arc<Recorder>) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let server = central::start_with_notifier(config(dir.path()), recorder).await.unwrap();
    let base = format!("https://localhost:{}", server.local_addr().port());
    Rig { server, dir, base }
}

async fn progress(t: &Terminal, rig: &Rig, tracking: &str) -> ApplicationProgress {
    let resp = t.http.get(rig.url(&format!("/v1/applications/{tracking}"))).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reviewer_decides_a_pending_check_blind_and_every_terminal_sees_the_decision() {
    let recorder = Arc::new(Recorder::default());
    let rig = rig_with(recorder.clone()).await;
    let (t, other) = (rig.enroll().await, rig.enroll().await);
    let resp = t
        .post(
            &rig,
            paths::QUALIFICATION_CHECKS,
            "qc1",
            &qualification_check(REVIEW_PENSIONER_ID, REVIEW_PENSIONER_NAME, face_jpeg(), true),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let answer: QualificationCheckResponse = resp.json().await.unwrap();
    assert_eq!(answer.outcome, QualificationOutcome::PendingReview);
    let tracking = answer.tracking_number;
    assert_eq!(progress(&t, &rig, &tracking).await.status, ApplicationStatus::UnderReview);

    rig.server.add_user_with_role("rev", "reviewer password", "reviewer").unwrap();
    rig.server.add_user_with_role("rev2", "reviewer password", "reviewer").unwrap();
    let (rev, rev2, ops) =
        (rig.login("rev", "reviewer password").await, rig.login("rev2", "reviewer password").await, rig.ops().await);

    // Operations staff are not reviewers.
    assert_eq!(ops.get("/ops/review").await.status(), 403);
    assert_eq!(ops.get(&format!("/ops/review/{tracking}/face")).await.status(), 403);

    let page = rev.page("/ops/review").await;
    assert!(page.contains(&format!(r#"data-tracking="{tracking}""#)), "{page}");
    assert!(page.contains(REVIEW_PENSIONER_NAME) && page.contains(&mask_id_number(REVIEW_PENSIONER_ID)), "{page}");
    assert!(!page.contains(REVIEW_PENSIONER_ID), "the ID number is masked");
    assert!(page.contains("receiving") && page.contains("age_review") && page.contains("blink"), "{page}");
    // Blind: nothing names the terminal it came from.
    for id in [&t.enrolled.device_id, &other.enrolled.device_id] {
        assert!(!page.contains(id.as_str()), "the review page names a terminal: {page}");
    }
    assert!(!page.contains("kiosk-test"), "nor its host name");
    // The form is not replaced under the reviewer's hands by the in-place refresh.
    assert!(page.contains("if (false) setInterval"), "{page}");
    assert!(ops.page("/ops").await.contains("if (true) setInterval"));
    // The same item again (until decided); the other reviewer has nothing.
    assert!(rev.page("/ops/review").await.contains(&format!(r#"data-tracking="{tracking}""#)));
    assert!(rev2.page("/ops/review").await.contains(r#"id="review-empty""#));

    let face = rev.get(&format!("/ops/review/{tracking}/face")).await;
    assert_eq!(face.status(), 200);
    assert_eq!(face.headers()["content-type"], "image/jpeg");
    assert_eq!(face.headers()["cache-control"], "no-store");
    assert_eq!(face.bytes().await.unwrap().as_ref(), face_bytes().as_slice(), "decrypted");
    assert_eq!(rev2.get(&format!("/ops/review/{tracking}/face")).await.status(), 404, "only to its reviewer");

    let decision = format!("/ops/review/{tracking}/decision");
    let csrf = csrf_of(&page);
    // Without the form's token, or with another session's: refused, nothing changes.
    assert_eq!(rev.post_form(&decision, &[("csrf", ""), ("reason", "identity_confirmed")]).await.0, 403);
    let forged = "0".repeat(64);
    assert_eq!(rev.post_form(&decision, &[("csrf", &forged), ("reason", "identity_confirmed")]).await.0, 403);
    // Another reviewer with this page's token: not their item.
    assert_eq!(rev2.post_form(&decision, &[("csrf", &csrf), ("reason", "identity_confirmed")]).await.0, 403);
    assert_eq!(rev.post_form(&decision, &[("csrf", &csrf), ("reason", "because")]).await.0, 422, "a listed reason");
    assert_eq!(ops.post_form(&decision, &[("csrf", &csrf), ("reason", "identity_confirmed")]).await.0, 403);
    assert_eq!(progress(&t, &rig, &tracking).await.status, ApplicationStatus::UnderReview);
    assert!(rig.server.store().face_image(&tracking).unwrap().is_some());

    let (status, location) = rev.post_form(&decision, &[("csrf", &csrf), ("reason", "identity_confirmed")]).await;
    assert_eq!((status, location.as_deref()), (303, Some("/ops/review")));
    // Every terminal shows the decision by the tracking number.
    assert_eq!(progress(&t, &rig, &tracking).await.status, ApplicationStatus::Approved);
    assert_eq!(progress(&other, &rig, &tracking).await.status, ApplicationStatus::Approved);
    // The face went with the decision.
    assert_eq!(rig.server.store().face_image(&tracking).unwrap(), None);
    assert_eq!(rev.get(&format!("/ops/review/{tracking}/face")).await.status(), 404);
    let recorded = rig.server.store().review_item(&tracking).unwrap().unwrap();
    assert_eq!((recorded.reviewer.as_str(), recorded.decision.as_deref()), ("rev", Some("approved")));
    assert!(recorded.decided_at.is_some());
    // A qualification check asks for no phone: nobody to notify.
    assert!(recorder.0.lock().unwrap().is_empty());
    assert!(rev.page("/ops/review").await.contains(r#"id="review-empty""#));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subsidy_decision_is_sent_to_the_phone_the_citizen_gave() {
    let recorder = Arc::new(Recorder::default());
    let rig = rig_with(recorder.clone()).await;
    let t = rig.enroll().await;
    let registration = |kind, phone: Option<&str>, reason| RegistrationRequest {
        kind,
        id_number: SUBSIDY_CANDIDATE_ID.into(),
        name: SUBSIDY_CANDIDATE_NAME.into(),
        phone: phone.map(str::to_owned),
        reason,
        contribution_percent: None,
        job_kind: None,
        district: None,
    };
    let unemployed =
        registration(RegistrationKind::Unemployment, Some("13900139000"), Some(UnemploymentReason::Dismissed));
    assert_eq!(t.post(&rig, paths::REGISTRATIONS, "u1", &unemployed).await.status(), 201);
    let subsidy = registration(RegistrationKind::EmploymentSubsidy, Some("13812345678"), None);
    let resp = t.post(&rig, paths::REGISTRATIONS, "s1", &subsidy).await;
    assert_eq!(resp.status(), 201);
    let tracking = resp.json::<RegistrationReceipt>().await.unwrap().tracking_number;
    assert_eq!(progress(&t, &rig, &tracking).await.status, ApplicationStatus::Received);

    rig.server.add_user_with_role("rev", "reviewer password", "reviewer").unwrap();
    let rev = rig.login("rev", "reviewer password").await;
    let page = rev.page("/ops/review").await;
    assert!(page.contains(&format!(r#"data-tracking="{tracking}""#)) && page.contains("employment_subsidy"), "{page}");
    assert!(!page.contains(&t.enrolled.device_id));
    assert!(!page.contains("13812345678"), "the phone is not shown");
    let (status, _) = rev
        .post_form(
            &format!("/ops/review/{tracking}/decision"),
            &[("csrf", &csrf_of(&page)), ("reason", "not_eligible")],
        )
        .await;
    assert_eq!(status, 303);
    assert_eq!(progress(&t, &rig, &tracking).await.status, ApplicationStatus::Rejected);
    let sent = recorder.0.lock().unwrap().clone();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        (sent[0].tracking_number.as_str(), sent[0].decision.as_str(), sent[0].reason.as_str(), sent[0].phone.as_str()),
        (tracking.as_str(), "rejected", "not_eligible", "13812345678")
    );
    assert!(!format!("{:?}", sent[0]).contains("13812345678"), "masked wherever it is printed");
}
