//! The terminal with simulated reader, printer and camera against the real reference
//! central service over mutual TLS.

use central::registry::{
    APPROVED_PENSIONER_ID, APPROVED_PENSIONER_NAME, REVIEW_PENSIONER_ID, REVIEW_PENSIONER_NAME, WORKER_ID, WORKER_NAME,
};
use hardware_tests::Rig;
use kiosk::session::{CertificateKind, Decision, Delivery, Device, Intent, Problem, ReceiptState, Screen, Service};
use std::time::Duration;

async fn qualification(rig: &Rig, id: &str, name: &str) -> Delivery {
    let mark = rig.screens.count();
    rig.reader.place(id, name).await;
    rig.screens.wait_for(mark, |s| matches!(s, Screen::Menu { .. })).await;
    rig.touch(Intent::Choose(Service::Qualification)).await;
    let Screen::Receipt { delivery, .. } =
        rig.screens.wait_for(mark, |s| matches!(s, Screen::Receipt { receipt: ReceiptState::Printed, .. })).await
    else {
        unreachable!()
    };
    delivery
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qualification_check_approved_and_pending_review() {
    let rig = Rig::start().await.unwrap();
    let approved = qualification(&rig, APPROVED_PENSIONER_ID, APPROVED_PENSIONER_NAME).await;
    assert!(matches!(approved, Delivery::Submitted { decision: Decision::Approved, .. }), "{approved:?}");
    rig.touch(Intent::Done).await;
    rig.touch(Intent::Rate { grade: kiosk::session::Grade::VerySatisfied, reasons: vec![] }).await;
    rig.touch(Intent::Exit).await;
    rig.reader.remove().await;
    let review = qualification(&rig, REVIEW_PENSIONER_ID, REVIEW_PENSIONER_NAME).await;
    let Delivery::Submitted { decision: Decision::PendingReview, tracking } = review else { panic!("{review:?}") };
    let receipts = rig.printer.printed();
    assert!(receipts.iter().any(|r| r.contains(&tracking) && r.contains("4405**********0014")), "{receipts:?}");
    assert!(!receipts.iter().any(|r| r.contains(REVIEW_PENSIONER_ID)), "receipts carry masked ids only");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_printed_with_the_name_and_a_verify_url_central_confirms() {
    let rig = Rig::start().await.unwrap();
    rig.reader.place(APPROVED_PENSIONER_ID, APPROVED_PENSIONER_NAME).await;
    rig.touch(Intent::Choose(Service::Certificate)).await;
    rig.touch(Intent::ChooseCertificate(CertificateKind::Participation)).await;
    let Screen::CertificatePreview { certificate } =
        rig.screens.wait_for(0, |s| matches!(s, Screen::CertificatePreview { .. })).await
    else {
        unreachable!()
    };
    rig.touch(Intent::Print).await;
    rig.screens.wait_for(0, |s| matches!(s, Screen::Printed { result: Ok(()), .. })).await;
    let printed = rig.printer.printed().join("\n");
    assert!(printed.contains(APPROVED_PENSIONER_NAME) && printed.contains(&certificate.verify_url), "{printed}");
    // The verify URL the paper carries is confirmed by the central service.
    let ca = reqwest::Certificate::from_pem(rig.central.ca_pem().as_bytes()).unwrap();
    let http = reqwest::Client::builder().add_root_certificate(ca).build().unwrap();
    let path = certificate.verify_url.split_once("/verify/").map(|(_, code)| code).unwrap();
    let url = format!("https://127.0.0.1:{}/verify/{path}", rig.central.local_addr().port());
    let page = http.get(url).send().await.unwrap();
    assert!(page.status().is_success());
    assert!(page.text().await.unwrap().contains(&certificate.number));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_cut_mid_submission_gives_a_queued_receipt_then_delivers_once() {
    let rig = Rig::start().await.unwrap();
    rig.reader.place(APPROVED_PENSIONER_ID, APPROVED_PENSIONER_NAME).await;
    rig.screens.wait_for(0, |s| matches!(s, Screen::Menu { .. })).await;
    rig.link.cut();
    let before = rig.central.store().activity_counts().unwrap().applications;
    rig.touch(Intent::Choose(Service::Qualification)).await;
    let Screen::Receipt { delivery, .. } =
        rig.screens.wait_for(0, |s| matches!(s, Screen::Receipt { receipt: ReceiptState::Printed, .. })).await
    else {
        unreachable!()
    };
    let Delivery::Queued { reference } = delivery else { panic!("{delivery:?}") };
    assert!(rig.printer.printed().iter().any(|r| r.contains("QUEUED") && r.contains(&reference)));
    rig.link.restore();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while rig.terminal.outbox.lock().stats().unwrap().depth > 0 {
        assert!(tokio::time::Instant::now() < deadline, "outbox never drained after the network returned");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let after = rig.central.store().activity_counts().unwrap().applications;
    assert_eq!(after - before, 1, "delivered exactly once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn printer_out_of_paper_disables_certificates_only_and_alerts_central() {
    let rig = Rig::start().await.unwrap();
    rig.printer.set_fault(Some(Problem::PaperOut), &rig.terminal.events).await;
    let Screen::Welcome { tiles, .. } = rig.screens.wait_for(1, |s| matches!(s, Screen::Welcome { .. })).await else {
        unreachable!()
    };
    let down: Vec<_> = tiles.iter().filter(|t| t.unavailable.is_some()).map(|t| t.service).collect();
    assert_eq!(down, [Service::Certificate]);
    assert_eq!(
        tiles[0].unavailable.as_ref().map(|u| (u.device, u.problem.clone())),
        Some((Device::Printer, Problem::PaperOut))
    );
    // Another service still works end to end; its receipt is the screen.
    rig.reader.place(WORKER_ID, WORKER_NAME).await;
    rig.touch(Intent::Choose(Service::Unemployment)).await;
    rig.touch(Intent::StartRegistration).await;
    rig.touch(Intent::SubmitRegistration {
        phone: "13812345678".into(),
        reason: Some(kiosk::session::RegistrationReason::Resigned),
    })
    .await;
    let receipt = rig.screens.wait_for(0, |s| matches!(s, Screen::Receipt { .. })).await;
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
