//! The second document (the social security card) and the receipt scanner.

use super::*;
use crate::maintenance::{Finding, Pin, TestSubject};

fn social_security_card() -> Event {
    Event::CardPlaced(Citizen::new(ID, NAME).with_document(IdentityDocument::SocialSecurityCard))
}

fn installed_social_security_reader(k: &mut Kiosk) {
    k.device(Device::SocialSecurityReader, None);
}

#[test]
fn a_social_security_card_starts_the_same_session_and_the_audit_says_which_card() {
    let mut k = Kiosk::new();
    installed_social_security_reader(&mut k);
    k.send(social_security_card());
    assert!(matches!(k.screen(), Screen::Menu { masked_id: Some(id), .. } if id == "1101**********002X"));
    assert!(k.audits().contains(&&AuditRecord::CardRead {
        session: 1,
        masked_id: "1101**********002X".into(),
        document: IdentityDocument::SocialSecurityCard,
    }));
    // The identity check and the flow are the ID card's.
    k.choose(Service::Certificate);
    assert!(matches!(k.screen(), Screen::CertificateChoice { .. }), "{:?}", k.screen());
    // The same person's ID card during their session is the same session.
    k.card();
    assert_eq!(k.count(|e| matches!(e, Effect::Audit(AuditRecord::SessionStarted { .. }))), 1);
}

#[test]
fn a_service_chosen_first_takes_either_card() {
    let mut k = Kiosk::new();
    installed_social_security_reader(&mut k);
    k.touch(Intent::Choose(Service::ContributionRecord));
    assert!(matches!(k.screen(), Screen::PlaceCard { .. }));
    k.send(social_security_card());
    assert!(matches!(k.screen(), Screen::Identity { service: Service::ContributionRecord, .. }), "{:?}", k.screen());
}

#[test]
fn card_services_stay_offered_while_either_reader_works() {
    let card_services = [
        Service::Certificate,
        Service::QualificationCheck,
        Service::ContributionRecord,
        Service::PensionPayments,
        Service::UnemploymentRegistration,
        Service::UnemploymentCheckIn,
        Service::FlexibleEmploymentRegistration,
        Service::EmploymentSubsidy,
        Service::JobSeekerRegistration,
    ];
    let down = |k: &Kiosk| -> Vec<Service> {
        let Screen::Welcome { tiles, .. } = k.screen() else { panic!("{:?}", k.screen()) };
        tiles.iter().filter(|t| t.unavailable.is_some()).map(|t| t.service).collect()
    };
    // Without a social security reader, the ID card reader is the only one.
    let mut k = Kiosk::new();
    k.device(Device::Reader, Some(Problem::Missing));
    assert_eq!(down(&k), card_services);
    // With one that works, every service stays.
    k.device(Device::SocialSecurityReader, None);
    assert_eq!(down(&k), []);
    // Both down: the ID card reader's problem is the one shown.
    k.device(Device::SocialSecurityReader, Some(Problem::Error("no service".into())));
    assert_eq!(down(&k), card_services);
    let Screen::Welcome { tiles, .. } = k.screen() else { unreachable!() };
    assert_eq!(tiles[0].unavailable.as_ref().map(|u| u.device), Some(Device::Reader));
}

#[test]
fn a_blocked_or_inconsistent_social_security_card_is_refused_with_the_reason() {
    for problem in [CardProblem::Blocked, CardProblem::Invalid, CardProblem::Unsupported, CardProblem::Expired] {
        let mut k = Kiosk::new();
        installed_social_security_reader(&mut k);
        k.send(Event::CardRefused { document: IdentityDocument::SocialSecurityCard, problem });
        assert_eq!(
            k.screen(),
            &Screen::Welcome { tiles: k.state.devices().tiles(), notice: Some(Notice::Card(problem)) }
        );
        assert!(
            k.audits().contains(&&AuditRecord::CardRefused { document: IdentityDocument::SocialSecurityCard, problem })
        );
        assert!(!k.state.in_session());
    }
}

#[test]
fn a_scanned_receipt_on_the_start_screen_opens_its_status() {
    let mut k = Kiosk::new();
    k.send(Event::Scanned(ScannedCode::Application("QC-20261121-0004837".into())));
    let asked: Vec<_> = k
        .effects
        .iter()
        .filter_map(|e| if let Effect::LookUpApplication { tracking, .. } = e { Some(tracking.clone()) } else { None })
        .collect();
    assert_eq!(asked, ["QC-20261121-0004837"]);
    assert!(matches!(k.screen(), Screen::Waiting { what: Waiting::LookingUpApplication, .. }));
    let ticket = k.ticket();
    // A second scan while the first is on its way changes nothing.
    k.send(Event::Scanned(ScannedCode::Application("UR-20261121-000001".into())));
    assert_eq!(k.count(|e| matches!(e, Effect::LookUpApplication { .. })), 1);
    k.send(Event::ApplicationFound { ticket, result: Ok(Some(progress_of("QC-20261121-0004837"))) });
    assert!(matches!(k.screen(), Screen::Progress(p) if p.tracking == "QC-20261121-0004837"));
    // Another receipt scanned over the status shows that one.
    k.send(Event::Scanned(ScannedCode::Application("UR-20261121-000001".into())));
    assert_eq!(k.count(|e| matches!(e, Effect::LookUpApplication { .. })), 2);
    assert!(!k.state.holds_personal_data());
}

#[test]
fn a_scan_on_the_menu_keeps_the_card_holder_and_returns_to_their_menu() {
    let mut k = Kiosk::new();
    k.card();
    k.send(Event::Scanned(ScannedCode::Application("202611210004837".into())));
    let ticket = k.ticket();
    k.send(Event::ApplicationFound { ticket, result: Ok(Some(progress_of("QC-20261121-0004837"))) });
    k.touch(Intent::Done);
    k.touch(Intent::SkipRating);
    assert!(matches!(k.screen(), Screen::Menu { holder: Some(_), .. }), "{:?}", k.screen());
}

#[test]
fn a_scan_never_interrupts_a_service_under_way() {
    for service in [Service::Certificate, Service::UnemploymentRegistration, Service::QualificationCheck] {
        let mut k = Kiosk::start(service);
        let before = k.screen().clone();
        let out = k.send(Event::Scanned(ScannedCode::Application("QC-20261121-0004837".into())));
        assert!(out.is_empty(), "{service:?}: {out:?}");
        assert_eq!(k.screen(), &before, "{service:?}");
    }
}

#[test]
fn a_certificate_code_is_not_taken_for_an_application() {
    let mut k = Kiosk::new();
    k.send(Event::Scanned(ScannedCode::Certificate { verification_code: "K7Q29XPA4M3B".into() }));
    assert_eq!(k.screen(), &Screen::TrackingEntry { typed: String::new(), error: Some(FormError::NotAnApplication) });
    assert_eq!(k.count(|e| matches!(e, Effect::LookUpApplication { .. })), 0);
}

#[test]
fn a_scan_is_ignored_when_lookups_cannot_be_made() {
    // Lookups need no device: a broken printer or reader does not stop them.
    let mut k = Kiosk::new();
    k.device(Device::Reader, Some(Problem::Missing));
    k.device(Device::Printer, Some(Problem::PaperOut));
    k.send(Event::Scanned(ScannedCode::Application("QC-20261121-0004837".into())));
    assert_eq!(k.count(|e| matches!(e, Effect::LookUpApplication { .. })), 1);
}

fn maintenance_screen(k: &mut Kiosk) -> crate::maintenance::SelfTests {
    k.state = State::new(SessionTiming::default()).with_maintenance();
    k.device(Device::SocialSecurityReader, None);
    k.device(Device::Scanner, None);
    k.touch(Intent::Maintenance);
    k.touch(Intent::SubmitPin(Pin::new("246810")));
    let Some(Effect::CheckPin { ticket, .. }) = k.effects.last().cloned() else { panic!("{:?}", k.effects.last()) };
    k.send(Event::PinChecked { ticket, accepted: true });
    let Screen::Maintenance(tests) = k.screen().clone() else { panic!("{:?}", k.screen()) };
    tests
}

fn finding(k: &Kiosk, subject: TestSubject) -> Option<Finding> {
    let Screen::Maintenance(tests) = k.screen() else { return None };
    tests.findings.iter().find(|(s, _)| *s == subject).and_then(|(_, f)| f.clone())
}

#[test]
fn the_maintenance_screen_tests_the_social_security_reader_and_the_scanner_where_installed() {
    let mut k = Kiosk::new();
    let tests = maintenance_screen(&mut k);
    let subjects: Vec<_> = tests.findings.iter().map(|(s, _)| *s).collect();
    assert_eq!(subjects, TestSubject::ALL, "a line for every installed device");

    k.touch(Intent::SelfTest(TestSubject::SocialSecurityReader));
    assert_eq!(finding(&k, TestSubject::SocialSecurityReader), Some(Finding::PlaceCard));
    k.send(social_security_card());
    assert_eq!(
        finding(&k, TestSubject::SocialSecurityReader),
        Some(Finding::CardRead { masked_id: "1101**********002X".into() })
    );
    assert_eq!(finding(&k, TestSubject::Reader), None, "the ID card reader's line is untouched");

    k.touch(Intent::SelfTest(TestSubject::Scanner));
    assert_eq!(finding(&k, TestSubject::Scanner), Some(Finding::ScanCode));
    k.send(Event::Scanned(ScannedCode::Application("QC-20261121-0004837".into())));
    assert_eq!(finding(&k, TestSubject::Scanner), Some(Finding::Scanned { code: "QC-20261121-0004837".into() }));
    assert!(k.audits().contains(&&AuditRecord::SelfTest { subject: TestSubject::Scanner, passed: true }));
    assert!(!k.state.in_session(), "a scan on the maintenance screen opens no session");
}

#[test]
fn without_those_devices_the_maintenance_screen_has_no_lines_for_them() {
    let mut k = Kiosk::new();
    k.state = State::new(SessionTiming::default()).with_maintenance();
    k.touch(Intent::Maintenance);
    k.touch(Intent::SubmitPin(Pin::new("246810")));
    let Some(Effect::CheckPin { ticket, .. }) = k.effects.last().cloned() else { panic!() };
    k.send(Event::PinChecked { ticket, accepted: true });
    let Screen::Maintenance(tests) = k.screen() else { panic!() };
    let subjects: Vec<_> = tests.findings.iter().map(|(s, _)| *s).collect();
    assert_eq!(subjects, [TestSubject::Reader, TestSubject::Printer, TestSubject::Camera, TestSubject::Central]);
}

#[test]
fn device_codes_are_their_serde_names() {
    for device in [
        Device::Reader,
        Device::Camera,
        Device::Printer,
        Device::SocialSecurityReader,
        Device::Scanner,
        Device::Storage,
        Device::Enrollment,
    ] {
        let json = serde_json::to_value(device).unwrap();
        assert_eq!(json.as_str(), Some(device.code()));
    }
}

#[test]
fn only_the_holders_own_card_ends_their_session() {
    let mut k = Kiosk::new();
    installed_social_security_reader(&mut k);
    k.card();
    k.choose(Service::Certificate);
    // Someone takes a card out of the other reader: not this holder's.
    let out = k.send(Event::CardRemoved(IdentityDocument::SocialSecurityCard));
    assert!(out.is_empty(), "{out:?}");
    assert!(k.state.in_session() && matches!(k.screen(), Screen::CertificateChoice { .. }));
    k.send(Event::CardRemoved(IdentityDocument::IdCard));
    assert!(!k.state.in_session());
    assert!(k.ended_with(EndReason::CardRemoved));
}
