//! The technician at the terminal: the hidden entry's PIN checked against the argon2
//! hash, then each device tested through its real driver and simulator, and the
//! network through a real mutual-TLS request to the central service.
// Test helpers: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::panic)]

use central::registry::{WORKER_ID, WORKER_NAME};
use hardware_tests::{RIG_PIN, Rig};
use session::maintenance::{Finding, Pin, PinRefusal, TestSubject};
use session::{Intent, Screen};
use std::time::Duration;

/// The finding for `subject` on a maintenance screen.
fn finding(screen: &Screen, subject: TestSubject) -> Option<Finding> {
    let Screen::Maintenance(tests) = screen else { return None };
    tests.findings.iter().find(|(s, _)| *s == subject).and_then(|(_, f)| f.clone())
}

async fn wait_finding(rig: &Rig, subject: TestSubject, pred: impl Fn(&Finding) -> bool) -> Finding {
    let screen = rig.screens.wait_for(0, |s| finding(s, subject).is_some_and(|f| pred(&f))).await;
    finding(&screen, subject).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_technician_tests_every_device_and_the_network_from_the_maintenance_screen() {
    let rig = Rig::start().await.unwrap();
    rig.touch(Intent::Maintenance).await;
    rig.screens.wait_for(0, |s| matches!(s, Screen::MaintenancePin { error: None })).await;
    rig.touch(Intent::SubmitPin(Pin::new("000000"))).await;
    let wrong = PinRefusal::Wrong { attempts_left: 4 };
    rig.screens.wait_for(0, |s| *s == Screen::MaintenancePin { error: Some(wrong) }).await;
    rig.touch(Intent::SubmitPin(Pin::new(RIG_PIN))).await;

    // Opening checks the network at once: a heartbeat over mutual TLS, timed.
    let central = wait_finding(&rig, TestSubject::Central, |f| *f != Finding::Running).await;
    assert!(matches!(central, Finding::CentralAnswered { .. }), "{central:?}");

    rig.touch(Intent::SelfTest(TestSubject::Printer)).await;
    let printer = wait_finding(&rig, TestSubject::Printer, |f| *f != Finding::Running).await;
    assert_eq!(printer, Finding::TestPagePrinted);
    let printed = rig.printer.printed();
    assert!(matches!(printed.as_slice(), [page] if page.starts_with("打印机自检\n")), "one test page: {printed:?}");
    assert_eq!(rig.paper.receipts().len(), 1, "the test page came out of the (virtual) printer");

    rig.touch(Intent::SelfTest(TestSubject::Camera)).await;
    let camera = wait_finding(&rig, TestSubject::Camera, |f| *f != Finding::Running).await;
    assert_eq!(camera, Finding::CameraWorks);

    rig.touch(Intent::SelfTest(TestSubject::Reader)).await;
    wait_finding(&rig, TestSubject::Reader, |f| *f == Finding::PlaceCard).await;
    let mark = rig.screens.count();
    rig.reader.place(WORKER_ID, WORKER_NAME).await;
    let read = wait_finding(&rig, TestSubject::Reader, |f| matches!(f, Finding::CardRead { .. })).await;
    assert_eq!(read, Finding::CardRead { masked_id: "4501**********0032".into() });
    rig.reader.remove().await;
    rig.touch(Intent::ExitMaintenance).await;
    rig.screens.wait_for(mark, |s| matches!(s, Screen::Welcome { .. })).await;
    let shown = rig.screens.wait_for(mark, |s| matches!(s, Screen::Welcome { .. } | Screen::Menu { .. })).await;
    assert!(matches!(shown, Screen::Welcome { .. }), "a test card starts no citizen session: {shown:?}");

    // Operations see who was at the terminal: the visit reaches the central service.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let events = rig.central.store().recent_events(&rig.device_id, 50).unwrap();
        let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
        if kinds.contains(&"maintenance.entered") && kinds.contains(&"maintenance.left") {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the visit never reached central: {kinds:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A terminal with both card readers and the scanner: the technician tests the social
/// security card reader with a card and the scanner with a receipt's code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_social_security_card_reader_and_the_scanner_are_tested_too() {
    use simulation::{DeviceSettings, Want, social_security_cards};
    let rig = Rig::start_with_devices(DeviceSettings {
        social_security_card: Want::Yes,
        scanner: true,
        ..DeviceSettings::default()
    })
    .await
    .unwrap();
    rig.touch(Intent::Maintenance).await;
    rig.screens.wait_for(0, |s| matches!(s, Screen::MaintenancePin { error: None })).await;
    rig.touch(Intent::SubmitPin(Pin::new(RIG_PIN))).await;
    let Screen::Maintenance(tests) = rig.screens.wait_for(0, |s| matches!(s, Screen::Maintenance(_))).await else {
        unreachable!()
    };
    // Both optional devices reported in, so both have their line.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut subjects: Vec<TestSubject> = tests.findings.iter().map(|(s, _)| *s).collect();
    while subjects != TestSubject::ALL && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if let Some(Screen::Maintenance(t)) = rig.screens.all().last() {
            subjects = t.findings.iter().map(|(s, _)| *s).collect();
        }
    }
    assert_eq!(subjects, TestSubject::ALL);

    rig.touch(Intent::SelfTest(TestSubject::SocialSecurityReader)).await;
    wait_finding(&rig, TestSubject::SocialSecurityReader, |f| *f == Finding::PlaceCard).await;
    let card = rig.social_security.clone().unwrap();
    assert!(card.insert(social_security_cards::WORKER));
    let read = wait_finding(&rig, TestSubject::SocialSecurityReader, |f| matches!(f, Finding::CardRead { .. })).await;
    assert_eq!(read, Finding::CardRead { masked_id: "4501**********0032".into() });
    card.remove();

    rig.touch(Intent::SelfTest(TestSubject::Scanner)).await;
    wait_finding(&rig, TestSubject::Scanner, |f| *f == Finding::ScanCode).await;
    rig.scanner.clone().unwrap().scan("QC-20261121-0004837");
    let scanned = wait_finding(&rig, TestSubject::Scanner, |f| matches!(f, Finding::Scanned { .. })).await;
    assert_eq!(scanned, Finding::Scanned { code: "QC-20261121-0004837".into() });
}
