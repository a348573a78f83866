//! The technician's PIN pad and maintenance screen.

use super::*;
use crate::maintenance::{Finding, LeftBy, PIN_ATTEMPTS, Pin, PinRefusal, SelfTests, TestSubject};

fn technician_kiosk() -> Kiosk {
    let mut k = Kiosk::new();
    k.state = State::new(SessionTiming::default()).with_maintenance();
    k
}

/// The ticket of the most recent technician request (`CheckPin`, `TestCamera`, ...).
fn request(k: &Kiosk) -> Ticket {
    k.effects
        .iter()
        .rev()
        .find_map(|e| match e {
            Effect::CheckPin { ticket, .. }
            | Effect::TestCamera { ticket }
            | Effect::CheckCentral { ticket }
            | Effect::Print { ticket, .. } => Some(*ticket),
            _ => None,
        })
        .expect("a technician request was made")
}

fn pin(k: &mut Kiosk, accepted: bool) {
    k.touch(Intent::SubmitPin(Pin::new("246810")));
    let ticket = request(k);
    k.send(Event::PinChecked { ticket, accepted });
}

/// Gesture, correct PIN, and the network check that opening starts answered.
fn open(k: &mut Kiosk) {
    k.touch(Intent::Maintenance);
    pin(k, true);
    let ticket = request(k);
    k.send(Event::CentralChecked { ticket, result: Ok(42) });
}

fn tests(k: &Kiosk) -> &SelfTests {
    match k.screen() {
        Screen::Maintenance(t) => t,
        other => panic!("not the maintenance screen: {other:?}"),
    }
}

fn finding(k: &Kiosk, subject: TestSubject) -> Option<Finding> {
    tests(k).findings.iter().find(|(s, _)| *s == subject).and_then(|(_, f)| f.clone())
}

#[test]
fn the_gesture_does_nothing_without_a_configured_pin_or_during_a_session() {
    let mut k = Kiosk::new();
    assert!(k.touch(Intent::Maintenance).is_empty());
    let mut k = technician_kiosk();
    k.card();
    assert!(k.touch(Intent::Maintenance).is_empty());
    assert!(!k.state.in_maintenance());
}

#[test]
fn a_correct_pin_opens_the_maintenance_screen_and_checks_the_network_at_once() {
    let mut k = technician_kiosk();
    k.touch(Intent::Maintenance);
    assert_eq!(k.screen(), &Screen::MaintenancePin { error: None });
    let out = k.touch(Intent::SubmitPin(Pin::new("246810")));
    let [Effect::CheckPin { pin, .. }] = out.as_slice() else { panic!("{out:?}") };
    assert_eq!(pin.expose(), "246810");
    assert!(!format!("{out:?}").contains("246810"), "a PIN must never reach a log line");
    let ticket = request(&k);
    k.send(Event::PinChecked { ticket, accepted: true });
    assert!(k.audits().contains(&&AuditRecord::MaintenanceEntered));
    assert_eq!(finding(&k, TestSubject::Central), Some(Finding::Running));
    let ticket = request(&k);
    k.send(Event::CentralChecked { ticket, result: Ok(42) });
    assert_eq!(finding(&k, TestSubject::Central), Some(Finding::CentralAnswered { millis: 42 }));
    assert_eq!(finding(&k, TestSubject::Printer), None, "nothing else runs until asked");
}

#[test]
fn wrong_pins_count_down_then_lock_the_pad_even_across_reopening() {
    let mut k = technician_kiosk();
    k.touch(Intent::Maintenance);
    for left in (1..PIN_ATTEMPTS).rev() {
        pin(&mut k, false);
        assert_eq!(k.screen(), &Screen::MaintenancePin { error: Some(PinRefusal::Wrong { attempts_left: left }) });
        if left == 2 {
            // Closing and reopening the pad does not reset the count.
            k.touch(Intent::ExitMaintenance);
            k.touch(Intent::Maintenance);
        }
    }
    pin(&mut k, false);
    assert_eq!(k.screen(), &Screen::MaintenancePin { error: Some(PinRefusal::LockedOut) });
    assert!(k.audits().contains(&&AuditRecord::MaintenancePinRefused { locked_out: true }));
    // Locked: even the right PIN is not checked, and reopening shows the lock.
    let before = k.count(|e| matches!(e, Effect::CheckPin { .. }));
    k.touch(Intent::SubmitPin(Pin::new("246810")));
    k.touch(Intent::ExitMaintenance);
    k.touch(Intent::Maintenance);
    assert_eq!(k.screen(), &Screen::MaintenancePin { error: Some(PinRefusal::LockedOut) });
    assert_eq!(k.count(|e| matches!(e, Effect::CheckPin { .. })), before);
    // After the lockout the pad works again.
    k.touch(Intent::ExitMaintenance);
    k.advance(SessionTiming::default().pin_lockout);
    k.touch(Intent::Maintenance);
    assert_eq!(k.screen(), &Screen::MaintenancePin { error: None });
    pin(&mut k, true);
    assert!(matches!(k.screen(), Screen::Maintenance(_)));
}

#[test]
fn the_pin_guard_survives_a_restart() {
    let mut k = technician_kiosk();
    k.touch(Intent::Maintenance);
    let remembered = |k: &Kiosk| {
        k.effects.iter().rev().find_map(|e| match e {
            Effect::RememberPinGuard(g) => Some(*g),
            _ => None,
        })
    };
    pin(&mut k, false);
    pin(&mut k, false);
    assert_eq!(remembered(&k), Some(PinGuardState { failures: 2, locked_for: None }));
    // Power cycle: a new core, the guard given back. Three more wrong PINs lock it.
    let restart = |saved: PinGuardState| {
        let mut k = technician_kiosk();
        k.state = State::new(SessionTiming::default()).with_maintenance().with_pin_guard(saved);
        k
    };
    let mut k = restart(remembered(&k).unwrap());
    k.touch(Intent::Maintenance);
    for _ in 0..PIN_ATTEMPTS - 2 {
        pin(&mut k, false);
    }
    assert_eq!(k.screen(), &Screen::MaintenancePin { error: Some(PinRefusal::LockedOut) });
    let lockout = SessionTiming::default().pin_lockout;
    assert_eq!(remembered(&k), Some(PinGuardState { failures: 0, locked_for: Some(lockout) }));
    // Unplugged five minutes into the lockout: still locked after the restart.
    k.advance(5 * 60_000);
    k.touch(Intent::ExitMaintenance);
    let saved = PinGuardState { failures: 0, locked_for: Some(lockout - 5 * 60_000) };
    let mut k = restart(saved);
    k.touch(Intent::Maintenance);
    assert_eq!(k.screen(), &Screen::MaintenancePin { error: Some(PinRefusal::LockedOut) });
    k.touch(Intent::ExitMaintenance);
    k.advance(lockout - 5 * 60_000);
    k.touch(Intent::Maintenance);
    assert_eq!(k.screen(), &Screen::MaintenancePin { error: None }, "the rest of the lockout, not more");
    // A saved lockout longer than the configured one (a clock stepped back) is capped.
    let mut k = restart(PinGuardState { failures: 0, locked_for: Some(100 * lockout) });
    k.advance(lockout);
    k.touch(Intent::Maintenance);
    assert_eq!(k.screen(), &Screen::MaintenancePin { error: None });
}

#[test]
fn a_citizens_card_on_the_pin_pad_gives_them_the_terminal() {
    let mut k = technician_kiosk();
    k.touch(Intent::Maintenance);
    k.card();
    assert!(!k.state.in_maintenance());
    assert!(matches!(k.screen(), Screen::Menu { .. }));
    assert!(k.state.in_session());
}

#[test]
fn a_card_on_the_maintenance_screen_is_the_readers_test_and_only_its_masked_number_stays() {
    let mut k = technician_kiosk();
    open(&mut k);
    k.touch(Intent::SelfTest(TestSubject::Reader));
    assert_eq!(finding(&k, TestSubject::Reader), Some(Finding::PlaceCard));
    k.card();
    assert_eq!(finding(&k, TestSubject::Reader), Some(Finding::CardRead { masked_id: "1101**********002X".into() }));
    assert!(!k.state.in_session(), "a test card starts no session");
    assert!(!k.state.holds_personal_data());
    assert!(!format!("{:?}", k.state).contains(ID) && !format!("{:?}", k.state).contains(NAME));
    k.send(Event::CardRefused { document: IdentityDocument::IdCard, problem: CardProblem::Expired });
    assert_eq!(finding(&k, TestSubject::Reader), Some(Finding::CardRefused(CardProblem::Expired)));
    assert!(k.audits().contains(&&AuditRecord::SelfTest { subject: TestSubject::Reader, passed: true }));
}

#[test]
fn a_faulted_reader_fails_its_test_at_once_with_the_reason() {
    let mut k = technician_kiosk();
    k.device(Device::Reader, Some(Problem::Missing));
    open(&mut k);
    k.touch(Intent::SelfTest(TestSubject::Reader));
    assert_eq!(finding(&k, TestSubject::Reader), Some(Finding::DeviceFailed(Problem::Missing)));
    assert!(k.audits().contains(&&AuditRecord::SelfTest { subject: TestSubject::Reader, passed: false }));
}

#[test]
fn printer_and_camera_tests_run_on_the_devices_and_report_what_they_found() {
    let mut k = technician_kiosk();
    open(&mut k);
    let out = k.touch(Intent::SelfTest(TestSubject::Printer));
    assert!(out.iter().any(|e| matches!(e, Effect::Print { job: PrintJob::TestPage, .. })), "{out:?}");
    assert_eq!(finding(&k, TestSubject::Printer), Some(Finding::Running));
    // A second touch while it runs does not print twice.
    assert!(!k.touch(Intent::SelfTest(TestSubject::Printer)).iter().any(|e| matches!(e, Effect::Print { .. })));
    let ticket = request(&k);
    k.send(Event::Printed { ticket, result: Err(Problem::PaperOut) });
    assert_eq!(finding(&k, TestSubject::Printer), Some(Finding::DeviceFailed(Problem::PaperOut)));
    assert!(k.audits().contains(&&AuditRecord::SelfTest { subject: TestSubject::Printer, passed: false }));

    k.touch(Intent::SelfTest(TestSubject::Camera));
    let ticket = request(&k);
    // A reply for an older ticket changes nothing.
    k.send(Event::CameraTested { ticket: Ticket(ticket.0 - 1), result: Err(Problem::Missing) });
    assert_eq!(finding(&k, TestSubject::Camera), Some(Finding::Running));
    k.send(Event::CameraTested { ticket, result: Ok(()) });
    assert_eq!(finding(&k, TestSubject::Camera), Some(Finding::CameraWorks));
}

#[test]
fn an_unreachable_central_service_shows_as_the_networks_failure() {
    let mut k = technician_kiosk();
    k.touch(Intent::Maintenance);
    pin(&mut k, true);
    let ticket = request(&k);
    k.send(Event::CentralChecked { ticket, result: Err("connection refused".into()) });
    assert_eq!(finding(&k, TestSubject::Central), Some(Finding::CentralUnreachable));
}

#[test]
fn device_changes_redraw_the_maintenance_screen_instead_of_the_start_screen() {
    let mut k = technician_kiosk();
    open(&mut k);
    k.device(Device::Printer, Some(Problem::CoverOpen));
    assert_eq!(tests(&k).devices.printer, Health::Problem(Problem::CoverOpen));
    assert!(
        k.audits().contains(&&AuditRecord::DeviceFault { device: Device::Printer, problem: Some(Problem::CoverOpen) })
    );
}

#[test]
fn left_alone_the_technician_screens_return_to_the_start_screen_and_stop_the_camera() {
    let mut k = technician_kiosk();
    open(&mut k);
    k.touch(Intent::SelfTest(TestSubject::Camera));
    k.advance(SessionTiming::default().maintenance_idle - 1);
    assert!(k.state.in_maintenance());
    let out = k.advance(1);
    assert!(out.contains(&Effect::StopCapture), "{out:?}");
    assert!(k.audits().contains(&&AuditRecord::MaintenanceLeft { by: LeftBy::IdleTimeout }));
    assert!(matches!(k.screen(), Screen::Welcome { notice: None, .. }));
    // The PIN pad alone also times out, without a "left" record (nobody got in).
    k.touch(Intent::Maintenance);
    k.advance(SessionTiming::default().maintenance_idle);
    assert!(!k.state.in_maintenance());
}

#[test]
fn exit_returns_to_the_start_screen_with_the_service_tiles_as_the_devices_are() {
    let mut k = technician_kiosk();
    open(&mut k);
    k.device(Device::Printer, Some(Problem::PaperOut));
    k.touch(Intent::ExitMaintenance);
    assert!(k.audits().contains(&&AuditRecord::MaintenanceLeft { by: LeftBy::Technician }));
    let Screen::Welcome { tiles, .. } = k.screen() else { panic!("{:?}", k.screen()) };
    let certificate = tiles.iter().find(|t| t.service == Service::Certificate).unwrap();
    assert!(certificate.unavailable.is_some());
}
