//! The serial transport and the task against the simulated CDC-ACM scanner on a pty:
//! scans become events, garbage and foreign codes are ignored, a line cut off is dropped,
//! an unplugged scanner is a fault and comes back.

#![allow(clippy::unwrap_used, clippy::panic)] // test helpers may fail loudly

use std::time::{Duration, Instant};

use scanner::sim::{ScannerSim, Terminator};
use scanner::{Scan, ScannerConfig, ScannerEvent, ScannerHandle, SerialScanner};
use tokio::sync::mpsc::Receiver;

fn start(sim: &ScannerSim) -> (ScannerHandle, Receiver<ScannerEvent>) {
    let path = sim.path().to_str().unwrap().to_owned();
    let config = ScannerConfig {
        verify_base_url: Some("https://central.example/verify/".into()),
        reopen_interval: Duration::from_millis(50),
        poll_interval: Duration::from_millis(20),
        ..ScannerConfig::default()
    };
    let (handle, mut rx) = scanner::watch(move || SerialScanner::open(&path, 9600), config);
    assert_eq!(next(&mut rx), ScannerEvent::Connected);
    (handle, rx)
}

fn next(rx: &mut Receiver<ScannerEvent>) -> ScannerEvent {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match rx.try_recv() {
            Ok(e) => return e,
            Err(tokio::sync::mpsc::error::TryRecvError::Empty) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(5))
            }
            Err(e) => panic!("no event: {e:?}"),
        }
    }
}

#[test]
fn scans_in_every_terminator_become_events() {
    let dir = tempfile::tempdir().unwrap();
    let sim = ScannerSim::start(&dir.path().join("ttyACM")).unwrap();
    let (_handle, mut rx) = start(&sim);
    for terminator in [Terminator::Cr, Terminator::Lf, Terminator::CrLf] {
        sim.control().with_terminator(terminator).scan("QC-20261121-0004837");
        assert_eq!(next(&mut rx), ScannerEvent::Scanned(Scan::Tracking("QC-20261121-0004837".into())));
    }
    sim.control().scan("https://central.example/verify/ABCD2345");
    assert_eq!(next(&mut rx), ScannerEvent::Scanned(Scan::VerifyUrl { code: "ABCD2345".into() }));
}

#[test]
fn garbage_and_foreign_codes_are_ignored_and_the_next_scan_still_counts() {
    let dir = tempfile::tempdir().unwrap();
    let sim = ScannerSim::start(&dir.path().join("ttyACM")).unwrap();
    let control = sim.control();
    let (_handle, mut rx) = start(&sim);
    control.send_raw(b"\x00\xff\x1b[2J\r");
    control.scan("6901234567892");
    control.scan("https://evil.example/verify/ABCD");
    control.scan("1234567890123456");
    assert_eq!(next(&mut rx), ScannerEvent::Scanned(Scan::ClientReference("1234567890123456".into())));
}

#[test]
fn a_line_cut_off_mid_scan_is_dropped_not_joined_to_the_next() {
    let dir = tempfile::tempdir().unwrap();
    let sim = ScannerSim::start(&dir.path().join("ttyACM")).unwrap();
    let control = sim.control();
    let (_handle, mut rx) = start(&sim);
    control.send_raw(b"QC-2026");
    std::thread::sleep(scanner::source::PARTIAL_LINE_TIMEOUT + Duration::from_millis(300));
    control.scan("202611210004837");
    assert_eq!(next(&mut rx), ScannerEvent::Scanned(Scan::Tracking("202611210004837".into())));
}

#[test]
fn a_slow_scanner_sending_byte_by_byte_still_scans() {
    let dir = tempfile::tempdir().unwrap();
    let sim = ScannerSim::start(&dir.path().join("ttyACM")).unwrap();
    let control = sim.control();
    let (_handle, mut rx) = start(&sim);
    control.set_byte_delay(Duration::from_millis(3));
    control.scan("QC-20261121-0004837");
    assert_eq!(next(&mut rx), ScannerEvent::Scanned(Scan::Tracking("QC-20261121-0004837".into())));
}

#[test]
fn an_unplugged_scanner_is_a_fault_and_is_reopened_when_it_returns() {
    let dir = tempfile::tempdir().unwrap();
    let sim = ScannerSim::start(&dir.path().join("ttyACM")).unwrap();
    let control = sim.control();
    let (_handle, mut rx) = start(&sim);
    control.unplug();
    assert!(matches!(next(&mut rx), ScannerEvent::Fault { .. }));
    std::thread::sleep(Duration::from_millis(200));
    control.plug();
    assert_eq!(next(&mut rx), ScannerEvent::Recovered);
    control.scan("QC-20261121-0004837");
    assert_eq!(next(&mut rx), ScannerEvent::Scanned(Scan::Tracking("QC-20261121-0004837".into())));
}

#[test]
fn a_scanner_missing_at_start_is_a_fault_until_it_appears() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ttyACM");
    let p = path.to_str().unwrap().to_owned();
    let config = ScannerConfig { reopen_interval: Duration::from_millis(50), ..ScannerConfig::default() };
    let (_handle, mut rx) = scanner::watch(move || SerialScanner::open(&p, 9600), config);
    assert!(matches!(next(&mut rx), ScannerEvent::Fault { .. }));
    let sim = ScannerSim::start(&path).unwrap();
    assert_eq!(next(&mut rx), ScannerEvent::Recovered);
    sim.control().scan("202611210004837");
    assert!(matches!(next(&mut rx), ScannerEvent::Scanned(Scan::Tracking(_))));
}
