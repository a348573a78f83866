//! The items beyond the first six, end to end: the real terminal runtime, presenter and
//! printer driver on simulated devices, against the reference central service over
//! mutual TLS, for an eligible citizen and for one the registry refuses.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use central::registry::{
    APPROVED_PENSIONER_ID, APPROVED_PENSIONER_NAME, FLEXIBLE_CANDIDATE_ID, FLEXIBLE_CANDIDATE_NAME,
    SUBSIDY_CANDIDATE_ID, SUBSIDY_CANDIDATE_NAME, WORKER_ID, WORKER_NAME,
};
use hardware_tests::Rig;
use session::{Decision, Delivery, IneligibleReason, Intent, ReceiptState, Screen, Service};

/// Drives the screen shown last through the presenter, as the window would.
async fn through_presenter(rig: &Rig, screen: Screen, intents: &[ui::Intent]) {
    let mut presenter = kiosk::present::Presenter::new();
    presenter.show(screen);
    for intent in intents {
        for event in presenter.intent(*intent) {
            rig.terminal.events.send(event).await.unwrap();
        }
    }
}

/// Done, no rating, exit, card away: the next citizen's turn.
async fn leave(rig: &Rig) {
    rig.touch(Intent::Done).await;
    rig.touch(Intent::SkipRating).await;
    rig.touch(Intent::Exit).await;
    rig.reader.remove().await;
}

async fn refused(rig: &Rig, id: &str, name: &str, service: Service) -> IneligibleReason {
    let mark = rig.begin(id, name, service).await;
    let Screen::NotEligible { service: shown, reason } =
        rig.screens.wait_for(mark, |s| matches!(s, Screen::NotEligible { .. })).await
    else {
        unreachable!()
    };
    assert_eq!(shown, service);
    leave(rig).await;
    reason
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pensioner_prints_twelve_months_of_payments_and_a_worker_is_told_why_not() {
    let rig = Rig::start().await.unwrap();
    let mark = rig.begin(APPROVED_PENSIONER_ID, APPROVED_PENSIONER_NAME, Service::PensionPayments).await;
    let Screen::PensionPayments { record, can_print: None, masked_id, .. } =
        rig.screens.wait_for(mark, |s| matches!(s, Screen::PensionPayments { .. })).await
    else {
        panic!("the record is shown and can be printed")
    };
    assert_eq!(record.payments.len(), 12);
    assert_eq!(masked_id, "1101**********002X");
    rig.touch(Intent::Print).await;
    rig.screens.wait_for(mark, |s| matches!(s, Screen::Printed { result: Ok(()), .. })).await;
    let paper = rig.printer.printed().pop().unwrap();
    assert!(paper.contains("养老金待遇发放记录") && paper.contains("12 个月合计"), "{paper}");
    assert!(paper.contains("1101**********002X") && !paper.contains(APPROVED_PENSIONER_ID), "{paper}");
    leave(&rig).await;

    assert_eq!(refused(&rig, WORKER_ID, WORKER_NAME, Service::PensionPayments).await, IneligibleReason::NotAPensioner);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flexible_worker_picks_a_band_and_takes_a_receipt_with_the_monthly_amount() {
    let rig = Rig::start().await.unwrap();
    let mark = rig.begin(FLEXIBLE_CANDIDATE_ID, FLEXIBLE_CANDIDATE_NAME, Service::FlexibleEmploymentRegistration).await;
    let offer = rig.screens.wait_for(mark, |s| matches!(s, Screen::FlexibleOffer { .. })).await;
    let Screen::FlexibleOffer { bands, first_payment_due: Some(due), .. } = &offer else { panic!("{offer:?}") };
    let chosen = bands.iter().find(|b| b.percent == 100).copied().unwrap();
    let due = *due;
    through_presenter(&rig, offer, &[ui::Intent::PickBand(100), ui::Intent::Confirm]).await;
    let Screen::Receipt { delivery: Delivery::Submitted { tracking, decision: Decision::Recorded }, terms, .. } =
        rig.screens.wait_for(mark, |s| matches!(s, Screen::Receipt { receipt: ReceiptState::Printed, .. })).await
    else {
        panic!("registered")
    };
    assert_eq!(terms.map(|t| (t.monthly_fen, t.first_payment_due)), Some((chosen.monthly_fen, Some(due))));
    let stored = rig.central.store().application(&tracking).unwrap().unwrap();
    assert_eq!((stored.kind.as_str(), stored.reason.as_deref()), ("flexible_employment_registration", Some("100")));
    let paper = rig.printer.printed().pop().unwrap();
    assert!(paper.contains(&tracking) && paper.contains("每月缴费") && paper.contains("首次缴费截止"), "{paper}");
    leave(&rig).await;

    // Registered now: the same person is told so, and a pensioner why not.
    assert_eq!(
        refused(&rig, FLEXIBLE_CANDIDATE_ID, FLEXIBLE_CANDIDATE_NAME, Service::FlexibleEmploymentRegistration).await,
        IneligibleReason::AlreadyRegistered
    );
    assert_eq!(
        refused(&rig, APPROVED_PENSIONER_ID, APPROVED_PENSIONER_NAME, Service::FlexibleEmploymentRegistration).await,
        IneligibleReason::ReceivingPension
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_4050_subsidy_is_refused_until_the_citizen_registers_as_unemployed_then_goes_to_review() {
    let rig = Rig::start().await.unwrap();
    let (id, name) = (SUBSIDY_CANDIDATE_ID, SUBSIDY_CANDIDATE_NAME);
    assert_eq!(refused(&rig, id, name, Service::EmploymentSubsidy).await, IneligibleReason::NotRegisteredUnemployed);
    assert_eq!(
        refused(&rig, WORKER_ID, WORKER_NAME, Service::EmploymentSubsidy).await,
        IneligibleReason::BelowSubsidyAge
    );

    // Unemployment registration at the same terminal, then the subsidy.
    let mark = rig.begin(id, name, Service::UnemploymentRegistration).await;
    rig.screens.wait_for(mark, |s| matches!(s, Screen::RegistrationForm { .. })).await;
    rig.touch(Intent::SubmitRegistration {
        phone: "13912345678".into(),
        reason: Some(session::UnemploymentReason::EmployerClosed),
    })
    .await;
    rig.screens.wait_for(mark, |s| matches!(s, Screen::Receipt { receipt: ReceiptState::Printed, .. })).await;
    leave(&rig).await;

    let mark = rig.begin(id, name, Service::EmploymentSubsidy).await;
    let Screen::SubsidyOffer { monthly_fen, months: 36 } =
        rig.screens.wait_for(mark, |s| matches!(s, Screen::SubsidyOffer { .. })).await
    else {
        panic!("offered for 36 months")
    };
    assert!(monthly_fen > 0);
    rig.touch(Intent::Confirm).await;
    let Screen::Receipt { delivery: Delivery::Submitted { tracking, decision: Decision::PendingReview }, .. } =
        rig.screens.wait_for(mark, |s| matches!(s, Screen::Receipt { receipt: ReceiptState::Printed, .. })).await
    else {
        panic!("applied, for staff to decide")
    };
    assert!(tracking.starts_with("ES-"), "{tracking}");
    let paper = rig.printer.printed().pop().unwrap();
    assert!(paper.contains("灵活就业社会保险补贴申领回执") && paper.contains("待人工审核"), "{paper}");
    leave(&rig).await;
    assert_eq!(refused(&rig, id, name, Service::EmploymentSubsidy).await, IneligibleReason::AlreadyApplied);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_seeker_sees_the_openings_that_match_and_takes_them_home_on_the_receipt() {
    let rig = Rig::start().await.unwrap();
    let mark = rig.begin(WORKER_ID, WORKER_NAME, Service::JobSeekerRegistration).await;
    let form = rig.screens.wait_for(mark, |s| matches!(s, Screen::JobSeekerForm { .. })).await;
    let mut intents: Vec<ui::Intent> = [1, 3, 7, 1, 2, 3, 4, 5, 6, 7, 8].map(ui::Intent::KeypadDigit).to_vec();
    intents.extend([
        ui::Intent::PickJobKind(session::JobKind::Retail),
        ui::Intent::PickDistrict(session::District::Qingxiu),
        ui::Intent::Confirm,
    ]);
    through_presenter(&rig, form, &intents).await;
    let Screen::Openings { openings, found: true, .. } =
        rig.screens.wait_for(mark, |s| matches!(s, Screen::Openings { .. })).await
    else {
        panic!("openings looked up at central")
    };
    assert!(!openings.is_empty());
    assert!(openings.iter().all(|o| o.kind == session::JobKind::Retail && o.district == session::District::Qingxiu));
    rig.touch(Intent::Confirm).await;
    let Screen::Receipt { delivery: Delivery::Submitted { tracking, .. }, .. } =
        rig.screens.wait_for(mark, |s| matches!(s, Screen::Receipt { receipt: ReceiptState::Printed, .. })).await
    else {
        panic!("registered")
    };
    assert!(tracking.starts_with("JS-"), "{tracking}");
    let stored = rig.central.store().application(&tracking).unwrap().unwrap();
    assert_eq!(stored.reason.as_deref(), Some("retail@qingxiu"));
    let paper = rig.printer.printed().pop().unwrap();
    assert!(paper.contains("求职登记回执") && paper.contains("推荐岗位"), "{paper}");
    assert!(openings.iter().all(|o| paper.contains(&o.contact_code)), "every opening's code is on paper: {paper}");
    leave(&rig).await;
    assert_eq!(
        refused(&rig, WORKER_ID, WORKER_NAME, Service::JobSeekerRegistration).await,
        IneligibleReason::AlreadySeekingWork
    );
    assert_eq!(
        refused(&rig, APPROVED_PENSIONER_ID, APPROVED_PENSIONER_NAME, Service::JobSeekerRegistration).await,
        IneligibleReason::ReceivingPension
    );
}
