//! The technician screens in the view model: the PIN pad (only the number of digits
//! typed is drawn) and the device overview with each self-test's finding.

use super::mapping::{card_error, unavailable_reason};
use crate::config::PIN_DIGITS;
use session::maintenance::{Finding, Pin, PinRefusal, SelfTests, TestSubject};
use session::{Problem, Unavailable};
use ui::model::{DeviceHealth, PinError, Screen, SelfTest, UnavailableReason};

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
        software_version: env!("CARGO_PKG_VERSION").to_owned(),
        devices,
    }
}
