//! The technician screens through the presenter and the real core: the PIN is typed
//! on the window's keypad, never shown, and the self-test findings reach the view.

use super::*;
use session::maintenance::TestSubject;
use session::{Device as CoreDevice, Health, Problem};
use ui::model::{PinError, SelfTest, UnavailableReason};

fn technician_rig() -> Rig {
    let mut rig = Rig::new();
    rig.state = State::new(SessionTiming::default()).with_maintenance();
    rig.presenter.set_terminal_id("KSK-0042");
    rig
}

/// Answers the newest `CheckPin` and returns the PIN it carried.
fn answer_pin(rig: &mut Rig, accepted: bool) -> String {
    let (ticket, pin) = rig
        .effects
        .iter()
        .rev()
        .find_map(|e| match e {
            Effect::CheckPin { ticket, pin } => Some((*ticket, pin.expose().to_owned())),
            _ => None,
        })
        .expect("the PIN was sent for checking");
    rig.event(Event::PinChecked { ticket, accepted });
    pin
}

fn pin_pad(rig: &Rig) -> (u8, u8, Option<PinError>) {
    match rig.screen() {
        Screen::MaintenancePin { entered, length, error } => (entered, length, error),
        other => panic!("not the PIN pad: {other:?}"),
    }
}

fn devices(rig: &Rig) -> Vec<ui::model::DeviceHealth> {
    match rig.screen() {
        Screen::Maintenance { terminal_id, devices, .. } => {
            assert_eq!(terminal_id, "KSK-0042");
            devices
        }
        other => panic!("not the maintenance screen: {other:?}"),
    }
}

#[test]
fn the_pin_is_typed_on_the_keypad_shown_as_dots_and_sent_once_for_checking() {
    let mut rig = technician_rig();
    rig.tap(Intent::MaintenanceGesture);
    assert_eq!(pin_pad(&rig), (0, 6, None));
    rig.digits("2468109");
    assert_eq!(pin_pad(&rig).0, 6, "at most six digits");
    rig.tap(Intent::KeypadBackspace);
    rig.digits("0");
    assert!(!format!("{:?}", rig.presenter).contains("246810"), "the PIN never reaches a Debug line");
    rig.tap(Intent::Confirm);
    assert_eq!(answer_pin(&mut rig, false), "246810");
    // Refused: the pad is empty again and says how many tries are left.
    assert_eq!(pin_pad(&rig), (0, 6, Some(PinError::WrongPin { attempts_left: 4 })));
    rig.digits("13");
    rig.tap(Intent::KeypadClear);
    assert_eq!(pin_pad(&rig).0, 0);
}

#[test]
fn self_tests_are_started_from_the_device_rows_and_their_findings_drawn() {
    let mut rig = technician_rig();
    rig.event(Event::DeviceHealth { device: CoreDevice::Printer, health: Health::Problem(Problem::PaperOut) });
    rig.tap(Intent::MaintenanceGesture);
    rig.digits("246810");
    rig.tap(Intent::Confirm);
    answer_pin(&mut rig, true);
    let rows = devices(&rig);
    let order: Vec<TestSubject> = rows.iter().map(|d| d.device).collect();
    assert_eq!(order, [TestSubject::Reader, TestSubject::Printer, TestSubject::Camera, TestSubject::Central]);
    assert_eq!(rows[1].problem, Some(UnavailableReason::PrinterOutOfPaper));
    assert_eq!(rows[3].test, Some(SelfTest::Running), "the network check starts by itself");
    let central = rig
        .effects
        .iter()
        .find_map(|e| if let Effect::CheckCentral { ticket } = e { Some(*ticket) } else { None })
        .unwrap();
    rig.event(Event::CentralChecked { ticket: central, result: Err("refused".into()) });
    let rows = devices(&rig);
    assert_eq!(rows[3].problem, Some(UnavailableReason::CentralOffline));
    assert_eq!(rows[3].test, Some(SelfTest::Failed(UnavailableReason::CentralOffline)));

    rig.tap(Intent::SelfTest(TestSubject::Reader));
    assert_eq!(devices(&rig)[0].test, Some(SelfTest::PlaceCard));
    rig.card();
    assert_eq!(devices(&rig)[0].test, Some(SelfTest::CardRead { masked_id: "1101**********002X".into() }));
    rig.tap(Intent::SelfTest(TestSubject::Central));
    assert!(matches!(rig.effects.last(), Some(Effect::Show(_))));
    assert_eq!(
        rig.effects.iter().filter(|e| matches!(e, Effect::CheckCentral { .. })).count(),
        2,
        "the Network row's button checks the central service again"
    );
    rig.tap(Intent::ExitMaintenance);
    assert!(matches!(rig.screen(), Screen::Home { .. }));
    assert!(!rig.state.in_maintenance());
}

fn tools(rig: &Rig) -> ui::model::MaintenanceTools {
    match rig.screen() {
        Screen::Maintenance { tools, .. } => tools,
        other => panic!("not the maintenance screen: {other:?}"),
    }
}

#[test]
fn the_reprint_and_redetection_reach_the_view_in_the_screens_words() {
    use session::maintenance::{Detection, Port, ReprintProblem};
    use ui::model::{PortChange, ReceiptReprint, Redetection};
    let mut rig = technician_rig();
    rig.tap(Intent::MaintenanceGesture);
    rig.digits("246810");
    rig.tap(Intent::Confirm);
    answer_pin(&mut rig, true);

    rig.tap(Intent::ReprintProvisioningReceipt);
    assert_eq!(tools(&rig).reprint, Some(ReceiptReprint::Printing));
    let ticket = rig
        .effects
        .iter()
        .find_map(|e| if let Effect::PrintProvisioningReceipt { ticket } = e { Some(*ticket) } else { None })
        .expect("the reprint reached the runtime");
    rig.event(Event::ProvisioningReceiptPrinted { ticket, result: Err(ReprintProblem::Printer(Problem::PaperOut)) });
    assert_eq!(tools(&rig).reprint, Some(ReceiptReprint::PrinterFailed(UnavailableReason::PrinterOutOfPaper)));

    rig.tap(Intent::RedetectDevices);
    assert_eq!(tools(&rig).redetect, Some(Redetection::Running));
    let ticket = rig
        .effects
        .iter()
        .find_map(|e| if let Effect::DetectDevices { ticket, .. } = e { Some(*ticket) } else { None })
        .expect("detection reached the runtime");
    let found = Port { path: "/dev/ttyUSB1".into(), baud: Some(115_200) };
    let detection = Detection {
        configured: vec![(CoreDevice::Reader, "/dev/ttyUSB0".into())],
        found: vec![(CoreDevice::Reader, found)],
    };
    rig.event(Event::DevicesDetected { ticket, result: Ok(detection) });
    let Some(Redetection::Found { ports, can_apply: true }) = tools(&rig).redetect else {
        panic!("{:?}", tools(&rig).redetect)
    };
    assert_eq!(
        (ports[0].change, ports[0].configured.as_str(), ports[0].found.as_str()),
        (PortChange::Moved, "/dev/ttyUSB0", "/dev/ttyUSB1")
    );
    rig.tap(Intent::ApplyDetectedPorts);
    assert!(rig.effects.iter().any(|e| matches!(e, Effect::ApplyDevicePorts { .. })));
}
