//! The receipt scanner under supervision: `scanner::watch` reads scans on its own thread
//! (a serial CDC-ACM scanner, or a keyboard-wedge scanner grabbed exclusively through
//! evdev so nothing is ever typed into a form); only codes this service issued reach the
//! session core, as the progress item's lookups.

use super::supervise::{forward, supervise};
use crate::outbox::backoff::Backoff;
use scanner::{Scan, ScannerConfig, ScannerEvent};
use session::{Device, Event, Health, Problem, ScannedCode};
use std::path::PathBuf;
use tokio::sync::mpsc;

/// Where the scanner is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScannerPort {
    /// A serial (CDC-ACM) scanner at this line speed.
    Serial { path: String, baud: u32 },
    /// A USB keyboard-wedge scanner's input device (`/dev/input/by-id/...-event-kbd`).
    Evdev(PathBuf),
}

/// What a scanner event means to the session core (`None`: nothing it needs to know).
pub fn session_event(event: ScannerEvent) -> Option<Event> {
    let health = |health| Event::DeviceHealth { device: Device::Scanner, health };
    Some(match event {
        ScannerEvent::Connected | ScannerEvent::Recovered => health(Health::Ok),
        ScannerEvent::Scanned(scan) => Event::Scanned(match scan {
            Scan::Tracking(number) | Scan::ClientReference(number) => ScannedCode::Application(number),
            Scan::VerifyUrl { code } => ScannedCode::Certificate { verification_code: code },
            // The driver never sends these; dropped here too, never typed anywhere.
            Scan::Rejected { why } => {
                tracing::info!(%why, "scan ignored");
                return None;
            }
        }),
        ScannerEvent::Fault { detail } => {
            tracing::warn!(%detail, check = "is the scanner plugged in, and is `devices.scanner` its device?", "receipt scanner fault");
            health(Health::Problem(Problem::Missing))
        }
    })
}

/// The scanner task under `supervise`. `verify_base_url` (from enrollment) lets a
/// certificate's QR be recognised.
pub fn spawn(
    port: ScannerPort,
    verify_base_url: Option<String>,
    events: mpsc::Sender<Event>,
    backoff: Backoff,
) -> tokio::task::JoinHandle<()> {
    let sink = events.clone();
    tokio::spawn(supervise(Device::Scanner, events, backoff, move || {
        let (sink, port) = (sink.clone(), port.clone());
        let config = ScannerConfig { verify_base_url: verify_base_url.clone(), ..ScannerConfig::default() };
        async move {
            match port {
                ScannerPort::Serial { path, baud } => {
                    let (handle, rx) = scanner::watch(move || scanner::SerialScanner::open(&path, baud), config);
                    forward(handle, rx, &sink, session_event, "receipt scanner").await
                }
                ScannerPort::Evdev(path) => {
                    let (handle, rx) = scanner::watch(move || scanner::EvdevScanner::open(&path), config);
                    forward(handle, rx, &sink, session_event, "receipt scanner").await
                }
            }
        }
    }))
}
