//! The maintenance screen's tools beyond the self-tests: printing the provisioning
//! receipt again and re-detecting the devices.

use super::*;
use crate::maintenance::{
    DetectError, Detection, LeftBy, Pin, Port, PortCheck, Redetect, Reprint, ReprintProblem, SelfTests, compare,
};

fn open() -> Kiosk {
    let mut k = Kiosk::new();
    k.state = State::new(SessionTiming::default()).with_maintenance();
    k.touch(Intent::Maintenance);
    k.touch(Intent::SubmitPin(Pin::new("246810")));
    let Some(Effect::CheckPin { ticket, .. }) = k.effects.last().cloned() else { panic!("no PIN check") };
    k.send(Event::PinChecked { ticket, accepted: true });
    k
}

fn shown(k: &Kiosk) -> &SelfTests {
    match k.screen() {
        Screen::Maintenance(t) => t,
        other => panic!("not the maintenance screen: {other:?}"),
    }
}

fn port(path: &str, baud: Option<u32>) -> Port {
    Port { path: path.into(), baud }
}

fn reprint_ticket(out: &[Effect]) -> Ticket {
    out.iter()
        .find_map(|e| if let Effect::PrintProvisioningReceipt { ticket } = e { Some(*ticket) } else { None })
        .expect("a reprint was asked for")
}

fn detect_ticket(out: &[Effect]) -> (Ticket, Vec<Device>) {
    out.iter()
        .find_map(|e| match e {
            Effect::DetectDevices { ticket, working } => Some((*ticket, working.clone())),
            _ => None,
        })
        .expect("a detection was asked for")
}

#[test]
fn the_receipt_is_printed_again_and_the_screen_says_so() {
    let mut k = open();
    let out = k.touch(Intent::ReprintProvisioningReceipt);
    let ticket = reprint_ticket(&out);
    assert_eq!(shown(&k).reprint, Some(Reprint::Printing));
    assert!(
        k.touch(Intent::ReprintProvisioningReceipt)
            .iter()
            .all(|e| !matches!(e, Effect::PrintProvisioningReceipt { .. })),
        "one at a time"
    );
    k.send(Event::ProvisioningReceiptPrinted { ticket, result: Ok(()) });
    assert_eq!(shown(&k).reprint, Some(Reprint::Printed));
    assert!(k.audits().contains(&&AuditRecord::ProvisioningReceiptReprinted { ok: true }));
}

#[test]
fn paper_out_during_the_reprint_is_the_printers_problem_and_a_retry_prints() {
    let mut k = open();
    let ticket = reprint_ticket(&k.touch(Intent::ReprintProvisioningReceipt));
    k.send(Event::ProvisioningReceiptPrinted { ticket, result: Err(ReprintProblem::Printer(Problem::PaperOut)) });
    assert_eq!(shown(&k).reprint, Some(Reprint::Failed(ReprintProblem::Printer(Problem::PaperOut))));
    assert!(k.audits().contains(&&AuditRecord::ProvisioningReceiptReprinted { ok: false }));
    // Paper loaded: the technician presses again.
    let again = reprint_ticket(&k.touch(Intent::ReprintProvisioningReceipt));
    assert_ne!(again, ticket);
    // A late answer to the first request changes nothing.
    k.send(Event::ProvisioningReceiptPrinted { ticket, result: Ok(()) });
    assert_eq!(shown(&k).reprint, Some(Reprint::Printing));
    k.send(Event::ProvisioningReceiptPrinted { ticket: again, result: Ok(()) });
    assert_eq!(shown(&k).reprint, Some(Reprint::Printed));
}

#[test]
fn a_terminal_without_an_install_record_says_so() {
    let mut k = open();
    let ticket = reprint_ticket(&k.touch(Intent::ReprintProvisioningReceipt));
    k.send(Event::ProvisioningReceiptPrinted { ticket, result: Err(ReprintProblem::NoInstallRecord) });
    assert_eq!(shown(&k).reprint, Some(Reprint::Failed(ReprintProblem::NoInstallRecord)));
}

#[test]
fn detection_leaves_the_working_devices_ports_alone() {
    let mut k = open();
    k.device(Device::Printer, Some(Problem::PaperOut));
    k.device(Device::Camera, Some(Problem::PaperNearEnd));
    let (_, working) = detect_ticket(&k.touch(Intent::RedetectDevices));
    // The reader answers (its status poll says so); the printer does not; a near-end
    // warning still means the device answers.
    assert_eq!(working, [Device::Reader, Device::Camera]);
    assert_eq!(shown(&k).redetect, Some(Redetect::Running));
}

#[test]
fn found_ports_are_compared_with_the_configured_ones() {
    let detection = Detection {
        configured: vec![(Device::Reader, "/dev/ttyUSB0".into()), (Device::Printer, "/dev/usb/lp0".into())],
        found: vec![
            (Device::Reader, port("/dev/ttyUSB1", Some(9600))),
            (Device::Printer, port("/dev/usb/lp1", None)),
            (Device::Printer, port("/dev/usb/lp0", None)),
            (Device::Camera, port("/dev/video0", None)),
        ],
    };
    assert_eq!(
        compare(&detection),
        [
            PortCheck::Moved {
                device: Device::Reader,
                from: "/dev/ttyUSB0".into(),
                to: port("/dev/ttyUSB1", Some(9600))
            },
            PortCheck::Same { device: Device::Printer, path: "/dev/usb/lp0".into() },
            PortCheck::New { device: Device::Camera, to: port("/dev/video0", None) },
        ]
    );
    let gone = Detection { configured: vec![(Device::Camera, "/dev/video0".into())], found: vec![] };
    assert_eq!(compare(&gone), [PortCheck::Missing { device: Device::Camera, from: "/dev/video0".into() }]);
}

#[test]
fn applying_writes_only_the_changes_then_restarts() {
    let mut k = open();
    let (ticket, _) = detect_ticket(&k.touch(Intent::RedetectDevices));
    let detection = Detection {
        configured: vec![(Device::Reader, "/dev/ttyUSB0".into()), (Device::Camera, "/dev/video0".into())],
        found: vec![
            (Device::Reader, port("/dev/ttyUSB1", Some(115_200))),
            (Device::Printer, port("/dev/usb/lp0", None)),
        ],
    };
    k.send(Event::DevicesDetected { ticket, result: Ok(detection) });
    let Some(Redetect::Found(checks)) = &shown(&k).redetect else { panic!("{:?}", shown(&k).redetect) };
    assert_eq!(checks.len(), 3, "reader moved, printer new, camera missing");
    let out = k.touch(Intent::ApplyDetectedPorts);
    let ports = out
        .iter()
        .find_map(|e| if let Effect::ApplyDevicePorts { ports, .. } = e { Some(ports.clone()) } else { None })
        .expect("the changes are applied");
    // The missing camera stays configured: an unplugged cable is no reason to forget it.
    assert_eq!(
        ports,
        [(Device::Reader, port("/dev/ttyUSB1", Some(115_200))), (Device::Printer, port("/dev/usb/lp0", None))]
    );
    assert!(matches!(shown(&k).redetect, Some(Redetect::Applying(_))));
    let Some(Effect::ApplyDevicePorts { ticket, .. }) =
        out.iter().find(|e| matches!(e, Effect::ApplyDevicePorts { .. }))
    else {
        unreachable!()
    };
    let done = k.send(Event::DevicePortsApplied { ticket: *ticket, result: Ok(()) });
    assert_eq!(shown(&k).redetect, Some(Redetect::Applied));
    assert_eq!(done.last(), Some(&Effect::Restart), "{done:?}");
    assert!(k.audits().contains(&&AuditRecord::DevicePortsChanged { devices: vec![Device::Reader, Device::Printer] }));
}

#[test]
fn a_configuration_that_cannot_be_written_is_said_and_nothing_restarts() {
    let mut k = open();
    let (ticket, _) = detect_ticket(&k.touch(Intent::RedetectDevices));
    let detection = Detection { configured: vec![], found: vec![(Device::Camera, port("/dev/video0", None))] };
    k.send(Event::DevicesDetected { ticket, result: Ok(detection) });
    k.touch(Intent::ApplyDetectedPorts);
    let Some(Effect::ApplyDevicePorts { ticket, .. }) =
        k.effects.iter().rev().find(|e| matches!(e, Effect::ApplyDevicePorts { .. })).cloned()
    else {
        panic!("not applied")
    };
    let out = k.send(Event::DevicePortsApplied { ticket, result: Err("read-only file system".into()) });
    assert!(!out.contains(&Effect::Restart));
    assert_eq!(shown(&k).redetect, Some(Redetect::ApplyFailed("read-only file system".into())));
}

#[test]
fn nothing_to_change_offers_nothing_to_apply() {
    let mut k = open();
    let (ticket, _) = detect_ticket(&k.touch(Intent::RedetectDevices));
    let detection = Detection {
        configured: vec![(Device::Reader, "/dev/ttyUSB0".into())],
        found: vec![(Device::Reader, port("/dev/ttyUSB0", Some(115_200)))],
    };
    k.send(Event::DevicesDetected { ticket, result: Ok(detection) });
    assert!(shown(&k).redetect.as_ref().is_some_and(|r| r.changes().is_empty()));
    assert!(k.touch(Intent::ApplyDetectedPorts).iter().all(|e| !matches!(e, Effect::ApplyDevicePorts { .. })));
    k.touch(Intent::CloseDetection);
    assert_eq!(shown(&k).redetect, None, "back to the device list");
}

#[test]
fn detection_that_finds_nothing_or_fails_is_a_typed_error() {
    let mut k = open();
    let (ticket, _) = detect_ticket(&k.touch(Intent::RedetectDevices));
    let nothing = Detection { configured: vec![(Device::Reader, "/dev/ttyUSB0".into())], found: vec![] };
    k.send(Event::DevicesDetected { ticket, result: Ok(nothing) });
    assert_eq!(shown(&k).redetect, Some(Redetect::Failed(DetectError::NothingFound)));
    for error in [
        DetectError::ToolMissing,
        DetectError::ToolFailed("exit status 2: bad usage".into()),
        DetectError::Unreadable("expected value at line 1 column 1".into()),
        DetectError::TimedOut,
    ] {
        let (ticket, _) = detect_ticket(&k.touch(Intent::RedetectDevices));
        k.send(Event::DevicesDetected { ticket, result: Err(error.clone()) });
        assert_eq!(shown(&k).redetect, Some(Redetect::Failed(error)));
        assert!(k.touch(Intent::ApplyDetectedPorts).iter().all(|e| !matches!(e, Effect::ApplyDevicePorts { .. })));
    }
}

#[test]
fn a_technician_who_walks_away_during_detection_or_a_reprint_is_timed_out() {
    let mut k = open();
    let (ticket, _) = detect_ticket(&k.touch(Intent::RedetectDevices));
    let printing = reprint_ticket(&k.touch(Intent::ReprintProvisioningReceipt));
    k.advance(SessionTiming::default().maintenance_idle);
    assert!(!k.state.in_maintenance());
    assert!(k.audits().contains(&&AuditRecord::MaintenanceLeft { by: LeftBy::IdleTimeout }));
    assert!(matches!(k.screen(), Screen::Welcome { .. }));
    // Their answers arrive late and change nothing on the start screen.
    let late = k.send(Event::DevicesDetected { ticket, result: Err(DetectError::TimedOut) });
    assert!(late.is_empty(), "{late:?}");
    let late = k.send(Event::ProvisioningReceiptPrinted { ticket: printing, result: Ok(()) });
    assert!(late.is_empty(), "{late:?}");
}
