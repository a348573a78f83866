//! The terminal with the real card reader, printer and camera drivers on their
//! simulators against the real reference central service over mutual TLS.

use central::registry::{
    APPROVED_PENSIONER_ID, APPROVED_PENSIONER_NAME, REVIEW_PENSIONER_ID, REVIEW_PENSIONER_NAME, WORKER_ID, WORKER_NAME,
};
use hardware_tests::Rig;
use session::{
    CardProblem, CertificateKind, CertificatePeriod, Decision, Delivery, Device, Intent, Notice, Problem, ReceiptState,
    Screen, Service, ServiceTile,
};
use simulation::cards;
use std::time::Duration;

async fn qualification(rig: &Rig, id: &str, name: &str) -> Delivery {
    let mark = rig.begin(id, name, Service::QualificationCheck).await;
    let Screen::Receipt { delivery, .. } =
        rig.screens.wait_for(mark, |s| matches!(s, Screen::Receipt { receipt: ReceiptState::Printed, .. })).await
    else {
        unreachable!()
    };
    delivery
}

fn down(tiles: &[ServiceTile]) -> Vec<Service> {
    tiles.iter().filter(|t| t.unavailable.is_some()).map(|t| t.service).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qualification_check_approved_and_pending_review() {
    let rig = Rig::start().await.unwrap();
    let approved = qualification(&rig, APPROVED_PENSIONER_ID, APPROVED_PENSIONER_NAME).await;
    assert!(matches!(approved, Delivery::Submitted { decision: Decision::Approved, .. }), "{approved:?}");
    // The camera guided the citizen through the head turn on the way.
    let captures =
        rig.screens.wait_for(0, |s| matches!(s, Screen::Capture { hint: Some(h), .. } if h.liveness.is_some())).await;
    assert!(matches!(captures, Screen::Capture { service: Service::QualificationCheck, .. }));
    rig.touch(Intent::Done).await;
    rig.touch(Intent::Rate { grade: session::RatingGrade::VerySatisfied, reasons: vec![] }).await;
    rig.touch(Intent::Exit).await;
    rig.reader.remove().await;
    let review = qualification(&rig, REVIEW_PENSIONER_ID, REVIEW_PENSIONER_NAME).await;
    let Delivery::Submitted { decision: Decision::PendingReview, tracking } = review else { panic!("{review:?}") };
    let receipts = rig.printer.printed();
    assert!(receipts.iter().any(|r| r.contains(&tracking) && r.contains("4405**********0014")), "{receipts:?}");
    assert!(!receipts.iter().any(|r| r.contains(REVIEW_PENSIONER_ID)), "receipts carry masked ids only");
    assert_eq!(rig.paper.receipts().len(), 2, "both receipts came out of the virtual printer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_printed_with_the_name_and_a_verify_url_central_confirms() {
    let rig = Rig::start().await.unwrap();
    let mark = rig.begin(APPROVED_PENSIONER_ID, APPROVED_PENSIONER_NAME, Service::Certificate).await;
    rig.screens.wait_for(mark, |s| matches!(s, Screen::CertificateChoice { .. })).await;
    rig.touch(Intent::ChooseCertificate {
        kind: CertificateKind::AllInsurances,
        period: CertificatePeriod::LastMonths(12),
    })
    .await;
    let Screen::CertificatePreview { certificate } =
        rig.screens.wait_for(mark, |s| matches!(s, Screen::CertificatePreview { .. })).await
    else {
        unreachable!()
    };
    rig.touch(Intent::Print).await;
    rig.screens.wait_for(mark, |s| matches!(s, Screen::Printed { result: Ok(()), .. })).await;
    let printed = rig.printer.printed().join("\n");
    assert!(printed.contains(APPROVED_PENSIONER_NAME) && printed.contains(&certificate.verify_url), "{printed}");
    assert_eq!(rig.paper.receipts().len(), 1, "the certificate came out of the virtual printer");
    // The verify URL the paper carries is confirmed by the central service.
    let ca = reqwest::Certificate::from_pem(rig.central.ca_pem().as_bytes()).unwrap();
    let http = reqwest::Client::builder().add_root_certificate(ca).build().unwrap();
    let path = certificate.verify_url.split_once("/verify/").map(|(_, code)| code).unwrap();
    let url = format!("https://127.0.0.1:{}/verify/{path}", rig.central.local_addr().port());
    let page = http.get(url).send().await.unwrap();
    assert!(page.status().is_success());
    assert!(page.text().await.unwrap().contains(&certificate.number));
}

/// Nobody tells the terminal about the paper: the driver's status poll notices it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn printer_out_of_paper_disables_certificates_only_and_alerts_central() {
    let rig = Rig::start().await.unwrap();
    rig.paper.paper_out();
    let Screen::Welcome { tiles, .. } =
        rig.screens.wait_for(0, |s| matches!(s, Screen::Welcome { tiles, .. } if !down(tiles).is_empty())).await
    else {
        unreachable!()
    };
    assert_eq!(down(&tiles), [Service::Certificate]);
    assert_eq!(
        tiles[0].unavailable.as_ref().map(|u| (u.device, u.problem.clone())),
        Some((Device::Printer, Problem::PaperOut))
    );
    // Another service still works end to end; its receipt is the screen.
    let mark = rig.begin(WORKER_ID, WORKER_NAME, Service::UnemploymentRegistration).await;
    rig.screens.wait_for(mark, |s| matches!(s, Screen::RegistrationForm { .. })).await;
    rig.touch(Intent::SubmitRegistration {
        phone: "13812345678".into(),
        reason: Some(session::UnemploymentReason::Resigned),
    })
    .await;
    let receipt = rig.screens.wait_for(mark, |s| matches!(s, Screen::Receipt { .. })).await;
    assert!(
        matches!(
            receipt,
            Screen::Receipt {
                delivery: Delivery::Submitted { .. },
                receipt: ReceiptState::ScreenOnly(Some(Problem::PaperOut)),
                ..
            }
        ),
        "{receipt:?}"
    );
    assert!(rig.paper.receipts().is_empty(), "nothing was sent to a printer without paper");
    // The alert reaches the central service.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let alerts = rig.central.store().alerts(20).unwrap();
        if alerts.iter().any(|a| a.kind == "paper_out" && a.device_id == rig.device_id && a.cleared_at.is_none()) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no paper_out alert at central: {alerts:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_and_foreign_cards_are_refused_on_the_start_screen() {
    let rig = Rig::start().await.unwrap();
    for (label, problem) in [(cards::EXPIRED, CardProblem::Expired), (cards::FOREIGNER, CardProblem::WrongType)] {
        let mark = rig.screens.count();
        rig.reader.place_label(label);
        let refused = rig.screens.wait_for(mark, |s| matches!(s, Screen::Welcome { notice: Some(_), .. })).await;
        assert!(
            matches!(refused, Screen::Welcome { notice: Some(Notice::Card(p)), .. } if p == problem),
            "{refused:?}"
        );
        rig.reader.remove().await;
    }
}

/// The reader's USB cable pulled and put back: services that need a card are disabled
/// while it is gone, and the supervised driver finds it again by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unplugged_reader_disables_card_services_until_it_is_back() {
    let rig = Rig::start().await.unwrap();
    rig.reader.control.vanish();
    let Screen::Welcome { tiles, .. } =
        rig.screens.wait_for(0, |s| matches!(s, Screen::Welcome { tiles, .. } if down(tiles).len() > 1)).await
    else {
        unreachable!()
    };
    let needs_card: Vec<Service> = Service::ALL.into_iter().filter(|s| session::needs_card(*s)).collect();
    assert_eq!(down(&tiles), needs_card, "only progress lookup works without a reader");
    let mark = rig.screens.count();
    rig.reader.control.reappear();
    rig.screens.wait_for(mark, |s| matches!(s, Screen::Welcome { tiles, .. } if down(tiles).is_empty())).await;
    rig.begin(WORKER_ID, WORKER_NAME, Service::ContributionRecord).await;
    rig.screens.wait_for(0, |s| matches!(s, Screen::Contributions { .. })).await;
}

/// Every reason a citizen can pick on the registration form (through the presenter, as
/// the window sends it) is the reason central stores with the application.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_unemployment_reason_picked_on_screen_is_stored_by_central_unchanged() {
    let rig = Rig::start().await.unwrap();
    // People in work (a pensioner cannot register), one per reason.
    let workers: Vec<_> = central::registry::generate(20)
        .into_iter()
        .map(|(person, _)| person)
        .filter(|p| p.pension_status == "contributing")
        .collect();
    let reasons = session::UnemploymentReason::ALL;
    assert!(workers.len() >= reasons.len(), "{} people in work", workers.len());
    for (person, reason) in workers.iter().zip(reasons) {
        let mark = rig.begin(&person.id_number, &person.name, Service::UnemploymentRegistration).await;
        let form = rig.screens.wait_for(mark, |s| matches!(s, Screen::RegistrationForm { .. })).await;
        let mut presenter = kiosk::present::Presenter::new();
        presenter.show(form);
        for digit in [1, 3, 8, 1, 2, 3, 4, 5, 6, 7, 8] {
            presenter.intent(ui::Intent::KeypadDigit(digit));
        }
        presenter.intent(ui::Intent::PickUnemploymentReason(reason));
        for event in presenter.intent(ui::Intent::Confirm) {
            rig.terminal.events.send(event).await.unwrap();
        }
        let Screen::Receipt { delivery: Delivery::Submitted { tracking, .. }, .. } =
            rig.screens.wait_for(mark, |s| matches!(s, Screen::Receipt { receipt: ReceiptState::Printed, .. })).await
        else {
            panic!("{reason:?}: not submitted")
        };
        let stored = rig.central.store().application(&tracking).unwrap().unwrap();
        assert_eq!(stored.reason.as_deref(), Some(reason.code()), "{reason:?}");
        rig.touch(Intent::Done).await;
        rig.touch(Intent::SkipRating).await;
        rig.touch(Intent::Exit).await;
        rig.reader.remove().await;
    }
}
