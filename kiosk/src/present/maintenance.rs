//! The technician screens in the view model: the PIN pad (only the number of digits
//! typed is drawn) and the device overview with each self-test's finding.

use super::mapping::{card_error, unavailable_reason};
use crate::config::PIN_DIGITS;
use session::maintenance::{
    DetectError, Finding, Pin, PinRefusal, PortCheck, Redetect, Reprint, ReprintProblem, SelfTests, TestSubject,
};
use session::{Device, Problem, Unavailable};
use ui::model::{
    DetectFailure, DeviceHealth, MaintenanceTools, PinError, PortChange, PortLine, ReceiptReprint, Redetection, Screen,
    SelfTest, UnavailableReason,
};

pub(super) fn pin_pad(error: Option<PinRefusal>, typed: &Pin) -> Screen {
    Screen::MaintenancePin {
        entered: u8::try_from(typed.len()).unwrap_or(u8::MAX),
        length: PIN_DIGITS as u8,
        error: error.map(|e| match e {
            PinRefusal::Wrong { attempts_left } => PinError::WrongPin { attempts_left },
            PinRefusal::LockedOut => PinError::LockedOut,
        }),
    }
}

fn device_reason(subject: TestSubject, problem: &Problem) -> UnavailableReason {
    match subject.device() {
        Some(device) => unavailable_reason(&Unavailable { device, problem: problem.clone() }),
        None => UnavailableReason::CentralOffline,
    }
}

fn self_test(subject: TestSubject, f: &Finding) -> SelfTest {
    match f {
        Finding::Running => SelfTest::Running,
        Finding::PlaceCard => SelfTest::PlaceCard,
        Finding::CardRead { masked_id } => SelfTest::CardRead { masked_id: masked_id.clone() },
        Finding::CardRefused(p) => SelfTest::CardRefused(card_error(*p)),
        Finding::TestPagePrinted => SelfTest::TestPagePrinted,
        Finding::CameraWorks => SelfTest::CameraWorks,
        Finding::CentralAnswered { millis } => SelfTest::CentralAnswered { millis: *millis },
        Finding::ScanCode => SelfTest::ScanCode,
        Finding::Scanned { code } => SelfTest::Scanned { code: code.clone() },
        Finding::DeviceFailed(p) => SelfTest::Failed(device_reason(subject, p)),
        Finding::CentralUnreachable => SelfTest::Failed(UnavailableReason::CentralOffline),
    }
}

pub(super) fn overview(tests: &SelfTests, terminal_id: &str) -> Screen {
    let devices = tests
        .findings
        .iter()
        .map(|(subject, finding)| {
            let problem = match subject.device() {
                Some(d) => tests.devices.unusable(d).map(|u| unavailable_reason(&u)),
                // The network has no status poll: its state is the last check's.
                None => {
                    matches!(finding, Some(Finding::CentralUnreachable)).then_some(UnavailableReason::CentralOffline)
                }
            };
            DeviceHealth { device: *subject, problem, test: finding.as_ref().map(|f| self_test(*subject, f)) }
        })
        .collect();
    Screen::Maintenance {
        terminal_id: terminal_id.to_owned(),
        software_version: crate::update::running_version().to_owned(),
        devices,
        tools: MaintenanceTools {
            reprint: tests.reprint.as_ref().map(reprint),
            redetect: tests.redetect.as_ref().map(redetection),
        },
    }
}

fn reprint(r: &Reprint) -> ReceiptReprint {
    match r {
        Reprint::Printing => ReceiptReprint::Printing,
        Reprint::Printed => ReceiptReprint::Printed,
        Reprint::Failed(ReprintProblem::NoInstallRecord) => ReceiptReprint::NoInstallRecord,
        Reprint::Failed(ReprintProblem::RecordUnreadable) => ReceiptReprint::RecordUnreadable,
        Reprint::Failed(ReprintProblem::Printer(p)) => {
            ReceiptReprint::PrinterFailed(unavailable_reason(&Unavailable {
                device: Device::Printer,
                problem: p.clone(),
            }))
        }
    }
}

/// The device's name on screen: the maintenance screen names devices as their self-tests do.
fn subject(device: Device) -> TestSubject {
    match device {
        Device::Printer => TestSubject::Printer,
        Device::Camera => TestSubject::Camera,
        Device::SocialSecurityReader => TestSubject::SocialSecurityReader,
        Device::Scanner => TestSubject::Scanner,
        _ => TestSubject::Reader,
    }
}

fn port_line(c: &PortCheck) -> PortLine {
    let (change, configured, found) = match c {
        PortCheck::Same { path, .. } => (PortChange::Same, path.clone(), path.clone()),
        PortCheck::Moved { from, to, .. } => (PortChange::Moved, from.clone(), to.path.clone()),
        PortCheck::Missing { from, .. } => (PortChange::Missing, from.clone(), String::new()),
        PortCheck::New { to, .. } => (PortChange::New, String::new(), to.path.clone()),
    };
    PortLine { device: subject(c.device()), change, configured, found }
}

fn redetection(r: &Redetect) -> Redetection {
    let lines = |checks: &[PortCheck]| checks.iter().map(port_line).collect();
    match r {
        Redetect::Running => Redetection::Running,
        Redetect::Found(checks) => Redetection::Found { ports: lines(checks), can_apply: !r.changes().is_empty() },
        Redetect::Failed(e) => {
            let (why, detail) = match e {
                DetectError::ToolMissing => (DetectFailure::ToolMissing, String::new()),
                DetectError::ToolFailed(d) => (DetectFailure::ToolFailed, d.clone()),
                DetectError::Unreadable(d) => (DetectFailure::Unreadable, d.clone()),
                DetectError::TimedOut => (DetectFailure::TimedOut, String::new()),
                DetectError::NothingFound => (DetectFailure::NothingFound, String::new()),
            };
            Redetection::Failed { why, detail }
        }
        Redetect::Applying(checks) => Redetection::Applying { ports: lines(checks) },
        Redetect::Applied => Redetection::Applied,
        Redetect::ApplyFailed(detail) => Redetection::ApplyFailed { detail: detail.clone() },
    }
}
