//! The driver against the virtual printer: preflight, jobs, faults mid-job, recovery.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{CERT_QR, certificate, decode_qr};
use printer::virtual_printer::{VirtualLink, VirtualPrinter};
use printer::{Document, Health, Link, LinkError, Printer, PrinterError, PrinterOptions, Profile};

fn fast() -> PrinterOptions {
    PrinterOptions {
        status_timeout: Duration::from_millis(300),
        confirm_base: Duration::from_secs(3),
        ..PrinterOptions::default()
    }
}

fn kiosk() -> (VirtualPrinter, Printer<VirtualLink>) {
    let vp = VirtualPrinter::new(Profile::KIOSK_80);
    let printer = Printer::new(vp.link(), Profile::KIOSK_80).with_options(fast());
    (vp, printer)
}

fn numbered(n: usize) -> Vec<Document> {
    (1..=n)
        .map(|i| Document::from_json(&format!(r#"{{"items":[{{"text":"第{i}张 receipt {i}"}},{{"qr":"https://example.gov.cn/r/{i}"}},{{"feed":2}},{{"cut":"partial"}}]}}"#)).unwrap())
        .collect()
}

/// A link that counts how often stale input was discarded.
struct Counting {
    link: VirtualLink,
    discards: usize,
}

impl Link for Counting {
    fn send(&mut self, bytes: &[u8]) -> Result<(), LinkError> {
        self.link.send(bytes)
    }
    fn recv(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, LinkError> {
        self.link.recv(buf, timeout)
    }
    fn discard_input(&mut self) -> Result<(), LinkError> {
        self.discards += 1;
        self.link.discard_input()
    }
}

#[test]
fn stale_input_is_discarded_only_when_something_may_still_be_in_flight() {
    let vp = VirtualPrinter::new(Profile::KIOSK_80);
    let link = Counting { link: vp.link(), discards: 0 };
    let mut p = Printer::new(link, Profile::KIOSK_80).with_options(fast());
    let discards = |p: &mut Printer<Counting>| p.link_mut().discards;
    assert_eq!(p.health(), Health::Ok);
    assert_eq!(discards(&mut p), 1, "a new link is cleared before its first request");
    assert_eq!(p.health(), Health::Ok);
    assert_eq!(p.health(), Health::Ok);
    assert_eq!(discards(&mut p), 1, "nothing in flight after four answers: no 10 ms quiet-line wait");
    p.print(&certificate()).unwrap();
    assert_eq!(discards(&mut p), 1, "the preflight of a print on a settled line does not wait either");
    assert_eq!(p.health(), Health::Ok);
    assert_eq!(discards(&mut p), 2, "after a job (status back was on) the next request clears the line");
    // A request that timed out may still be answered: the next one discards first.
    vp.control().vanish();
    assert_eq!(p.health(), Health::Unknown);
    vp.control().reappear();
    p.link_mut().link = vp.control().connect().unwrap();
    let before = discards(&mut p);
    assert_eq!(p.health(), Health::Ok);
    assert_eq!(discards(&mut p), before + 1, "after a failed exchange the line is cleared");
    assert_eq!(vp.control().receipt_count(), 1);
}

#[test]
fn healthy_printer_passes_preflight_and_prints_a_confirmed_receipt() {
    let (vp, mut p) = kiosk();
    let report = p.preflight().unwrap();
    assert_eq!(report.health(), Health::Ok);
    assert_eq!(report.raw, [0x12; 4]);
    let job = p.print(&certificate()).unwrap();
    assert_eq!(job.receipts, 1);
    assert!(!job.near_end);
    let receipts = vp.control().receipts();
    assert_eq!(receipts.len(), 1);
    assert_eq!(decode_qr(&receipts[0]), [CERT_QR]);
}

#[test]
fn preflight_refuses_paper_end_cover_open_and_cutter_error() {
    let (vp, mut p) = kiosk();
    let c = vp.control();
    c.paper_out();
    assert!(matches!(p.preflight(), Err(PrinterError::PaperEnd)));
    assert!(matches!(p.print(&certificate()), Err(PrinterError::PaperEnd)));
    assert_eq!(c.receipt_count(), 0);
    c.refill_paper();
    c.set_cover_open(true);
    assert!(matches!(p.preflight(), Err(PrinterError::CoverOpen)));
    c.set_cover_open(false);
    c.jam_next_cut();
    vp.feed(b"x\n\x1d\x56\x01");
    assert!(matches!(p.preflight(), Err(PrinterError::CutterJam)));
    assert_eq!(p.health(), Health::CutterError);
}

#[test]
fn near_end_is_a_warning_not_a_refusal() {
    let (vp, mut p) = kiosk();
    vp.control().set_near_end(true);
    assert_eq!(p.preflight().unwrap().health(), Health::NearEnd);
    let job = p.print(&certificate()).unwrap();
    assert!(job.near_end);
    assert_eq!(vp.control().receipt_count(), 1);
}

/// A link to a printer that is switched off: bytes go nowhere, nothing comes back.
struct DeadLink;

impl Link for DeadLink {
    fn send(&mut self, _: &[u8]) -> Result<(), LinkError> {
        Ok(())
    }
    fn recv(&mut self, _: &mut [u8], timeout: Duration) -> Result<usize, LinkError> {
        std::thread::sleep(timeout.min(Duration::from_millis(50)));
        Ok(0)
    }
}

#[test]
fn silent_printer_is_unknown_never_ok() {
    let mut p = Printer::new(DeadLink, Profile::KIOSK_80).with_options(fast());
    let report = p.status().unwrap();
    assert_eq!(report.answered, [false; 4]);
    assert_eq!(report.health(), Health::Unknown);
    assert!(matches!(p.preflight(), Err(PrinterError::NoAnswer)));
    assert!(matches!(p.print(&certificate()), Err(PrinterError::NoAnswer)));
}

#[test]
fn paper_out_mid_job_keeps_the_receipt() {
    let (vp, mut p) = kiosk();
    let c = vp.control();
    let docs = numbered(3);
    // Each receipt is ~50 mm: paper runs out inside the second one.
    c.paper_out_after_mm(70.0);
    let err = p.print_job(&docs).unwrap_err();
    assert!(matches!(err, PrinterError::PaperOutMidJob { unfinished_receipt: 1 }), "{err}");
    assert_eq!(c.receipt_count(), 1);
    assert_eq!(c.torn().len(), 1, "the stub of receipt 2 stays on the torn pile");
    assert_eq!(p.health(), Health::PaperOut);
    // New roll; without recovery the printer still holds the old job.
    c.refill_paper();
    assert!(matches!(p.preflight(), Err(PrinterError::Offline)));
    p.recover().unwrap();
    let job = p.print_job(&docs[1..]).unwrap();
    assert_eq!(job.receipts, 2);
    let receipts = c.receipts();
    assert_eq!(receipts.len(), 3, "no receipt lost, none doubled");
    for (i, r) in receipts.iter().enumerate() {
        assert_eq!(decode_qr(r), [format!("https://example.gov.cn/r/{}", i + 1)]);
    }
}

#[test]
fn cutter_jam_mid_job_is_recovered_with_dle_enq() {
    let (vp, mut p) = kiosk();
    let c = vp.control();
    let docs = numbered(2);
    c.jam_next_cut();
    let err = p.print_job(&docs).unwrap_err();
    assert!(matches!(err, PrinterError::CutterJamMidJob { unfinished_receipt: 0 }), "{err}");
    assert_eq!(err.unfinished_receipt(), Some(0));
    assert_eq!(c.receipt_count(), 0);
    let report = p.recover().unwrap();
    assert_eq!(report.health(), Health::Ok);
    p.print_job(&docs).unwrap();
    assert_eq!(c.receipt_count(), 2);
}

#[test]
fn cover_opened_mid_job_names_the_receipt() {
    let (vp, mut p) = kiosk();
    let c = vp.control();
    let docs = vec![certificate(), certificate(), certificate()];
    let len = printer::encode(&docs[0], &Profile::KIOSK_80, None).unwrap().len() as u64;
    // The cover opens halfway through the second receipt (after status requests).
    c.open_cover_at_byte(20 + len + len / 2);
    let result = p.print_job(&docs);
    let err = result.unwrap_err();
    assert!(matches!(err, PrinterError::CoverOpenMidJob { unfinished_receipt: 1 }), "{err}");
    assert_eq!(c.receipt_count(), 1);
    c.set_cover_open(false);
    p.recover().unwrap();
    p.print_job(&docs[1..]).unwrap();
    assert_eq!(c.receipt_count(), 3);
}

/// A real link with line noise and late replies mixed into what the printer sends.
struct NoisyLink {
    inner: VirtualLink,
    noise: Vec<u8>,
}

impl Link for NoisyLink {
    fn send(&mut self, bytes: &[u8]) -> Result<(), LinkError> {
        self.inner.send(bytes)
    }
    fn recv(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, LinkError> {
        let n = self.inner.recv(buf, timeout)?;
        if n > 0 && !self.noise.is_empty() && buf.len() > n {
            // Stray bytes in front of every reply (0xFF noise, a stray 0x16 status byte).
            let stray = self.noise.remove(0);
            buf.copy_within(0..n, 1);
            buf[0] = stray;
            return Ok(n + 1);
        }
        Ok(n)
    }
    fn discard_input(&mut self) -> Result<(), LinkError> {
        Ok(()) // keep the noise in the stream so the reader has to cope with it
    }
}

#[test]
fn stray_status_bytes_are_tolerated() {
    let vp = VirtualPrinter::new(Profile::KIOSK_80);
    let link = NoisyLink { inner: vp.link(), noise: vec![0xFF, 0x80, 0xC4, 0x90, 0xFF, 0xFF, 0x80, 0xC4] };
    let mut p = Printer::new(link, Profile::KIOSK_80).with_options(fast());
    assert_eq!(p.preflight().unwrap().health(), Health::Ok);
    p.print(&certificate()).unwrap();
    assert_eq!(vp.control().receipt_count(), 1);
}

#[test]
fn stale_replies_are_drained_before_asking() {
    let (vp, mut p) = kiosk();
    // An earlier program asked for status and left: its paper-end answer is stale.
    vp.control().paper_out();
    p.link_mut().send(&[0x10, 0x04, 0x04, 0x10, 0x04, 0x02]).unwrap();
    vp.control().refill_paper();
    assert_eq!(p.preflight().unwrap().health(), Health::Ok);
}

#[test]
fn confirmation_wait_stretches_with_a_slow_link() {
    let vp = VirtualPrinter::new(Profile::KIOSK_80);
    vp.control().set_baud(Some(19_200));
    let options = PrinterOptions { confirm_base: Duration::from_millis(300), link_bytes_per_s: 1_920.0, ..fast() };
    let mut p = Printer::new(vp.link(), Profile::KIOSK_80).with_options(options);
    // ~1 KB at 19200 baud takes ~0.5 s, longer than the fixed wait alone.
    p.print(&certificate()).unwrap();
    assert_eq!(vp.control().receipt_count(), 1);
}

#[test]
fn resume_after_a_jam_finishes_the_jammed_receipt_without_reprinting() {
    let (vp, mut p) = kiosk();
    let c = vp.control();
    c.jam_next_cut();
    let docs = numbered(2);
    let err = p.print_job(&docs).unwrap_err();
    assert!(matches!(err, PrinterError::CutterJamMidJob { unfinished_receipt: 0 }), "{err}");
    // DLE ENQ 1: the printed receipt gets its cut; the job goes on from the next one.
    p.resume().unwrap();
    assert_eq!(c.receipt_count(), 1);
    p.print_job(&docs[1..]).unwrap();
    let receipts = c.receipts();
    assert_eq!(receipts.len(), 2);
    assert_eq!(decode_qr(&receipts[0]), ["https://example.gov.cn/r/1"]);
    assert_eq!(decode_qr(&receipts[1]), ["https://example.gov.cn/r/2"]);
}
