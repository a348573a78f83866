//! The printing bar of a real printout: the kiosk prints a certificate through the ESC/POS
//! driver to a virtual printer on a slow serial line, and the bar the screen was given
//! moves, ends at 100 only when the printer confirmed, and stops short when it failed.
// Test helpers: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::panic)]

use central::registry::{WORKER_ID, WORKER_NAME};
use hardware_tests::Rig;
use kiosk::runtime::escpos_printer::DriverPrinter;
use printer::virtual_printer::{PrinterControl, VirtualPrinter};
use printer::{Printer, Profile};
use session::{CertificateKind, CertificatePeriod, Intent, Problem, Screen, Service};
use std::sync::Arc;

/// Slow enough that the certificate takes over a second on the wire, so the bar has time
/// to move before the printer confirms (the shape is asserted, never the timing).
const SLOW_SERIAL_BAUD: u32 = 9_600;

/// A terminal printing through the real driver to a virtual kiosk-80 on a slow line.
async fn slow_printer_rig() -> (Rig, PrinterControl) {
    let vp = VirtualPrinter::new(Profile::KIOSK_80);
    let paper = vp.control();
    paper.set_baud(Some(SLOW_SERIAL_BAUD));
    let driver = DriverPrinter::new(Printer::new(vp.link(), Profile::KIOSK_80));
    (Rig::start_with(Some(Arc::new(driver))).await.unwrap(), paper)
}

/// Card placed, certificate chosen and previewed, then printed: the screen it ends on.
async fn print_certificate(rig: &Rig) -> Screen {
    rig.reader.place(WORKER_ID, WORKER_NAME).await;
    rig.screens.wait_for(0, |s| matches!(s, Screen::Menu { .. })).await;
    rig.touch(Intent::Choose(Service::Certificate)).await;
    rig.screens.wait_for(0, |s| matches!(s, Screen::Identity { .. })).await;
    rig.touch(Intent::Confirm).await;
    rig.screens.wait_for(0, |s| matches!(s, Screen::CertificateChoice { .. })).await;
    let (kind, period) = (CertificateKind::AllInsurances, CertificatePeriod::LastMonths(12));
    rig.touch(Intent::ChooseCertificate { kind, period }).await;
    rig.screens.wait_for(0, |s| matches!(s, Screen::CertificatePreview { .. })).await;
    rig.touch(Intent::Print).await;
    rig.screens.wait_for(0, |s| matches!(s, Screen::Printed { .. })).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_printing_bar_moves_while_the_certificate_prints_and_ends_at_100_when_confirmed() {
    let (rig, paper) = slow_printer_rig().await;
    let printed = print_certificate(&rig).await;
    assert!(matches!(printed, Screen::Printed { result: Ok(()), .. }), "{printed:?}");
    assert_eq!(paper.receipt_count(), 1, "the certificate came out");
    let bar = rig.screens.printing_percents();
    eprintln!("printing bar: {bar:?}");
    assert!(bar.windows(2).all(|w| w[0] <= w[1]), "the bar never goes back: {bar:?}");
    assert_eq!(bar.last(), Some(&100), "it ends full once the printer confirmed: {bar:?}");
    assert_eq!(bar.iter().filter(|p| **p == 100).count(), 1, "{bar:?}");
    assert!(bar.iter().any(|p| (1..100).contains(p)), "it moved before the end: {bar:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_printing_bar_stops_short_of_100_when_the_paper_runs_out() {
    let (rig, paper) = slow_printer_rig().await;
    paper.paper_out_after_mm(40.0);
    let printed = print_certificate(&rig).await;
    assert!(matches!(printed, Screen::Printed { result: Err(Problem::PaperOut), .. }), "{printed:?}");
    assert_eq!(paper.receipt_count(), 0, "nothing was cut");
    let bar = rig.screens.printing_percents();
    eprintln!("printing bar: {bar:?}");
    assert!(!bar.contains(&100), "a failed printout is never shown as done: {bar:?}");
    assert!(bar.windows(2).all(|w| w[0] <= w[1]), "{bar:?}");
}
