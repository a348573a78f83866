//! Printouts on real (virtual) paper: the kiosk prints through the ESC/POS driver to the
//! virtual printer. Tests read the paper as a scanner would (QR with rqrr, CODE128 with
//! rxing) and the text the driver sent as the printer decodes it.
// Test helpers: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::panic)]

use central::registry::{
    APPROVED_PENSIONER_ID, APPROVED_PENSIONER_NAME, REVIEW_PENSIONER_ID, REVIEW_PENSIONER_NAME, WORKER_ID, WORKER_NAME,
};
use hardware_tests::Rig;
use kiosk::runtime::escpos_printer::DriverPrinter;
use printer::virtual_printer::parser::{Command, StreamParser};
use printer::virtual_printer::{PrinterControl, VirtualLink, VirtualPrinter};
use printer::{Link, LinkError, Printer, Profile};
use session::{
    CertificateKind, CertificatePeriod, CertificateStatus, Decision, Delivery, Intent, IssuedCertificate, ReceiptState,
    Screen, Service, YearMonth,
};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const TERMINAL_ID: &str = "NN-0107-E2E";

/// The virtual printer's link, keeping a copy of every byte the driver sent.
struct Wire {
    link: VirtualLink,
    sent: Arc<Mutex<Vec<u8>>>,
}

impl Link for Wire {
    fn send(&mut self, bytes: &[u8]) -> Result<(), LinkError> {
        self.sent.lock().unwrap().extend_from_slice(bytes);
        self.link.send(bytes)
    }
    fn recv(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, LinkError> {
        self.link.recv(buf, timeout)
    }
}

/// What one cut of paper says, decoded from the bytes on the wire.
#[derive(Debug, Default)]
struct Printout {
    lines: Vec<String>,
    barcodes: Vec<String>,
    qrs: Vec<String>,
}

impl Printout {
    fn has(&self, s: &str) -> bool {
        self.lines.iter().any(|l| l.contains(s))
    }
    /// Fails on any ASCII letter left once the given codes are taken out. Lines are
    /// joined first because a long URL wraps across lines.
    fn assert_no_english(&self, codes: &[&str]) {
        let all: String = self.lines.concat();
        let rest = codes.iter().fold(all.clone(), |acc, code| acc.replace(code, ""));
        let letters: String = rest.chars().filter(char::is_ascii_alphabetic).collect();
        assert!(letters.is_empty(), "English on paper ({letters:?}) in {:#?}", self.lines);
    }
}

/// Splits the bytes the driver sent into printouts, one per cut.
fn printouts(wire: &[u8]) -> Vec<Printout> {
    let mut out = Vec::new();
    let mut current = Printout::default();
    let mut line = String::new();
    for cmd in StreamParser::new(true).push(wire) {
        match cmd {
            Command::Char(c) => line.push(c),
            Command::LineFeed => current.lines.push(std::mem::take(&mut line).trim().to_owned()),
            Command::Barcode { data, .. } => {
                current.barcodes.push(printer::code128::parse_escpos(&data).map(|s| s.text).unwrap_or_default());
            }
            Command::QrStore(data) => current.qrs.push(String::from_utf8_lossy(&data).into_owned()),
            Command::Cut { .. } => out.push(std::mem::take(&mut current)),
            _ => {}
        }
    }
    out
}

/// A terminal whose print jobs go through the real driver to a virtual printer.
struct PaperRig {
    rig: Rig,
    paper: PrinterControl,
    wire: Arc<Mutex<Vec<u8>>>,
}

impl PaperRig {
    async fn start() -> Self {
        let vp = VirtualPrinter::new(Profile::KIOSK_80);
        let paper = vp.control();
        let wire = Arc::new(Mutex::new(Vec::new()));
        let link = Wire { link: vp.link(), sent: wire.clone() };
        let driver = DriverPrinter::new(Printer::new(link, Profile::KIOSK_80)).with_terminal_id(TERMINAL_ID);
        let rig = Rig::start_with(Some(Arc::new(driver))).await.unwrap();
        Self { rig, paper, wire }
    }
}

/// From the menu with a card on the reader: the certificate preview, or the failure.
async fn preview(rig: &Rig, kind: CertificateKind, period: CertificatePeriod) -> Result<IssuedCertificate, Screen> {
    let mark = rig.screens.count();
    rig.touch(Intent::Choose(Service::Certificate)).await;
    rig.screens.wait_for(mark, |s| matches!(s, Screen::Identity { .. })).await;
    rig.touch(Intent::Confirm).await;
    rig.screens.wait_for(mark, |s| matches!(s, Screen::CertificateChoice { .. })).await;
    rig.touch(Intent::ChooseCertificate { kind, period }).await;
    match rig.screens.wait_for(mark, |s| matches!(s, Screen::CertificatePreview { .. } | Screen::Failed { .. })).await {
        Screen::CertificatePreview { certificate } => Ok(certificate),
        other => Err(other),
    }
}

/// Leaves a preview (or failure) back to the menu.
async fn back_to_menu(rig: &Rig) {
    let mark = rig.screens.count();
    rig.touch(Intent::Back).await;
    rig.screens.wait_for(mark, |s| matches!(s, Screen::Menu { .. })).await;
}

async fn place(rig: &Rig, id: &str, name: &str) {
    let mark = rig.screens.count();
    rig.reader.place(id, name).await;
    rig.screens.wait_for(mark, |s| matches!(s, Screen::Menu { .. })).await;
}

fn ym(s: &str) -> YearMonth {
    YearMonth::parse(s).unwrap()
}

/// Decodes the one CODE128 symbol on a receipt image.
fn code128_on(img: &image::GrayImage) -> String {
    let (w, h) = img.dimensions();
    let found = rxing::helpers::detect_in_luma(img.as_raw().clone(), w, h, Some(rxing::BarcodeFormat::CODE_128))
        .unwrap_or_else(|e| panic!("no CODE128 on the receipt: {e}"));
    found.getText().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pensioner_certificate_counts_contribution_years_and_its_png_qr_is_confirmed_by_central() {
    let PaperRig { rig, paper, wire } = PaperRig::start().await;
    place(&rig, APPROVED_PENSIONER_ID, APPROVED_PENSIONER_NAME).await;
    // She retired in 2009: the last 36 months hold no contribution, so the
    // certificate covers the years she paid rather than saying "0 months".
    let certificate = preview(&rig, CertificateKind::AllInsurances, CertificatePeriod::LastMonths(36)).await.unwrap();
    assert_eq!(certificate.months_covered, 180, "1995-01 .. 2009-12");
    assert_eq!((certificate.period.from, certificate.period.to), (ym("1995-01"), ym("2009-12")));
    assert_eq!(certificate.status, CertificateStatus::Retired { last: Some(ym("2009-12")) });
    rig.touch(Intent::Print).await;
    let printed = rig.screens.wait_for(0, |s| matches!(s, Screen::Printed { .. })).await;
    assert!(matches!(printed, Screen::Printed { result: Ok(()), .. }), "{printed:?}");

    let receipts = paper.receipts();
    assert_eq!(receipts.len(), 1, "one certificate came out");
    assert!(contains_glyphs(&receipts[0], &row_glyphs(APPROVED_PENSIONER_NAME)), "the holder's name is on the paper");
    assert!(contains_glyphs(&receipts[0], &row_glyphs("共 180 个月")), "the month count is on the paper");
    assert!(!contains_glyphs(&receipts[0], &row_glyphs("李福寿")), "the glyph check can fail");
    let mut prepared = rqrr::PreparedImage::prepare(receipts[0].clone());
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "exactly one QR code on the certificate");
    let (_, url) = grids[0].decode().unwrap();
    assert_eq!(url, certificate.verify_url);

    let text = printouts(&wire.lock().unwrap()).remove(0);
    assert!(text.has("1995年01月 至 2009年12月"), "{text:#?}");
    assert!(text.has("已退休"), "{text:#?}");
    assert!(text.has("1101**********002X") && !text.has(APPROVED_PENSIONER_ID), "{text:#?}");
    assert!(text.lines.len() < 60, "15 years are summarised, not 180 monthly lines: {}", text.lines.len());
    text.assert_no_english(&[
        // The URL first: it contains the verification code.
        &certificate.verify_url,
        &certificate.number,
        &certificate.verification_code,
        "1101**********002X",
        TERMINAL_ID,
    ]);

    let ca = reqwest::Certificate::from_pem(rig.central.ca_pem().as_bytes()).unwrap();
    let http = reqwest::Client::builder().add_root_certificate(ca).build().unwrap();
    let code = url.rsplit('/').next().unwrap();
    let page =
        http.get(format!("https://127.0.0.1:{}/verify/{code}", rig.central.local_addr().port())).send().await.unwrap();
    assert!(page.status().is_success());
    assert!(page.text().await.unwrap().contains(&certificate.number), "central confirms the certificate");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_certificate_kind_covers_what_each_person_expects() {
    let rig = Rig::start().await.unwrap();
    place(&rig, APPROVED_PENSIONER_ID, APPROVED_PENSIONER_NAME).await;
    let pension = preview(&rig, CertificateKind::PensionReceipt, CertificatePeriod::LastMonths(12)).await.unwrap();
    assert_eq!((pension.months_covered, pension.period.len()), (12, 12), "a payment every month of the last 12");
    assert_eq!(pension.status, CertificateStatus::ReceivingPension);
    assert!(pension.current_payer.is_some() && pension.total_fen > 0);
    back_to_menu(&rig).await;
    let full = preview(&rig, CertificateKind::AllInsurances, CertificatePeriod::FullHistory).await.unwrap();
    assert_eq!(full.period.from, ym("1965-12"), "from her 16th birthday");
    assert_eq!(full.months_covered, 180);
    back_to_menu(&rig).await;
    rig.touch(Intent::Exit).await;
    rig.reader.remove().await;

    place(&rig, WORKER_ID, WORKER_NAME).await;
    let worker = preview(&rig, CertificateKind::AllInsurances, CertificatePeriod::FullHistory).await.unwrap();
    assert_eq!((worker.period.from, worker.months_covered), (ym("2006-01"), 178), "2012-01 .. 2026-10");
    assert!(worker.current_payer.is_some());
    back_to_menu(&rig).await;
    let recent = preview(&rig, CertificateKind::AllInsurances, CertificatePeriod::LastMonths(6)).await.unwrap();
    assert!(recent.months_covered > 0 && recent.months_covered <= 6, "{recent:?}");
    back_to_menu(&rig).await;
    let refused = preview(&rig, CertificateKind::PensionReceipt, CertificatePeriod::LastMonths(6)).await;
    assert!(matches!(refused, Err(Screen::Failed { .. })), "a worker receives no pension: {refused:?}");
    back_to_menu(&rig).await;
    rig.touch(Intent::Exit).await;
    rig.reader.remove().await;

    place(&rig, REVIEW_PENSIONER_ID, REVIEW_PENSIONER_NAME).await;
    let centenarian = preview(&rig, CertificateKind::PensionReceipt, CertificatePeriod::LastMonths(6)).await.unwrap();
    assert_eq!(centenarian.months_covered, 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submitted_receipt_carries_the_tracking_number_as_code128_and_says_pending_review() {
    let PaperRig { rig, paper, wire } = PaperRig::start().await;
    rig.begin(REVIEW_PENSIONER_ID, REVIEW_PENSIONER_NAME, Service::QualificationCheck).await;
    let Screen::Receipt { delivery, .. } =
        rig.screens.wait_for(0, |s| matches!(s, Screen::Receipt { receipt: ReceiptState::Printed, .. })).await
    else {
        unreachable!()
    };
    let Delivery::Submitted { tracking, decision: Decision::PendingReview } = delivery else { panic!("{delivery:?}") };
    let receipts = paper.receipts();
    assert_eq!(receipts.len(), 1);
    assert_eq!(code128_on(&receipts[0]), tracking, "a scanner reads the tracking number");
    assert!(contains_glyphs(&receipts[0], &row_glyphs("待人工审核")));

    let text = printouts(&wire.lock().unwrap()).remove(0);
    assert_eq!(text.barcodes, std::slice::from_ref(&tracking));
    assert!(text.has(&tracking), "and as text: {text:#?}");
    assert!(text.has("已提交") && text.has("待人工审核"), "{text:#?}");
    assert!(text.has("4405**********0014") && !text.has(REVIEW_PENSIONER_ID), "{text:#?}");
    assert!(text.has(TERMINAL_ID) && text.has("打印时间"), "{text:#?}");
    text.assert_no_english(&[&tracking, "4405**********0014", TERMINAL_ID]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_receipt_says_saved_and_its_code128_carries_the_local_reference() {
    let PaperRig { rig, paper, wire } = PaperRig::start().await;
    rig.link.cut();
    rig.begin(WORKER_ID, WORKER_NAME, Service::UnemploymentRegistration).await;
    rig.screens.wait_for(0, |s| matches!(s, Screen::RegistrationForm { .. })).await;
    rig.touch(Intent::SubmitRegistration {
        phone: "13812345678".into(),
        reason: Some(session::UnemploymentReason::Resigned),
    })
    .await;
    let Screen::Receipt { delivery, .. } =
        rig.screens.wait_for(0, |s| matches!(s, Screen::Receipt { receipt: ReceiptState::Printed, .. })).await
    else {
        unreachable!()
    };
    let Delivery::Queued { reference } = delivery else { panic!("{delivery:?}") };
    let receipts = paper.receipts();
    assert_eq!(code128_on(&receipts[0]), reference, "a scanner reads the local reference");
    assert!(contains_glyphs(&receipts[0], &row_glyphs("已保存，网络恢复后自动提交")));
    let text = printouts(&wire.lock().unwrap()).remove(0);
    assert!(text.has(&reference) && !text.has("已提交"), "{text:#?}");
    text.assert_no_english(&[&reference, "4501**********0032", TERMINAL_ID]);
}

/// A row value as the same printer draws it: printed alone, cropped to its ink.
fn row_glyphs(value: &str) -> image::GrayImage {
    let vp = VirtualPrinter::new(Profile::KIOSK_80);
    let control = vp.control();
    let mut p = Printer::new(vp.link(), Profile::KIOSK_80);
    let doc = printer::Document::from_json(&format!(r#"{{"items":[{{"row":["", "{value}"]}},{{"cut":"partial"}}]}}"#))
        .unwrap();
    p.print_job(&[doc]).unwrap();
    let img = control.receipts().remove(0);
    let ink: Vec<(u32, u32)> =
        img.enumerate_pixels().filter(|(_, _, p)| p.0[0] < 128).map(|(x, y, _)| (x, y)).collect();
    assert!(!ink.is_empty());
    let (x0, x1) = (ink.iter().map(|p| p.0).min().unwrap(), ink.iter().map(|p| p.0).max().unwrap());
    let (y0, y1) = (ink.iter().map(|p| p.1).min().unwrap(), ink.iter().map(|p| p.1).max().unwrap());
    image::imageops::crop_imm(&img, x0, y0, x1 - x0 + 1, y1 - y0 + 1).to_image()
}

/// True if `needle`'s ink pattern appears somewhere in `hay` pixel for pixel.
fn contains_glyphs(hay: &image::GrayImage, needle: &image::GrayImage) -> bool {
    let dark = |v: u8| v < 128;
    let (w, h) = needle.dimensions();
    (0..=hay.height().saturating_sub(h)).any(|y| {
        (0..=hay.width().saturating_sub(w)).any(|x| {
            (0..h).all(|dy| {
                (0..w).all(|dx| dark(hay.get_pixel(x + dx, y + dy).0[0]) == dark(needle.get_pixel(dx, dy).0[0]))
            })
        })
    })
}

/// The citizen's pick on the choice screen, through the presenter as the window sends it.
async fn pick_on_screen(rig: &Rig, kind: CertificateKind, period: CertificatePeriod) {
    let mark = rig.screens.count();
    rig.touch(Intent::Choose(Service::Certificate)).await;
    rig.screens.wait_for(mark, |s| matches!(s, Screen::Identity { .. })).await;
    rig.touch(Intent::Confirm).await;
    let choice = rig.screens.wait_for(mark, |s| matches!(s, Screen::CertificateChoice { .. })).await;
    let mut presenter = kiosk::present::Presenter::new();
    presenter.show(choice);
    let offered = presenter.view(ui::LocalTime::default());
    let ui::model::Screen::CertificateChoice { kinds, .. } = &offered.screen else { panic!("{offered:?}") };
    assert!(kinds.contains(&kind), "{kind:?} is offered on screen: {kinds:?}");
    presenter.intent(ui::Intent::PickCertificateKind(kind));
    presenter.intent(ui::Intent::PickCertificatePeriod(period));
    for event in presenter.intent(ui::Intent::Confirm) {
        rig.terminal.events.send(event).await.unwrap();
    }
}

/// Picked on screen, the kind is what central signs and stores and what the paper's
/// title says, for every kind a citizen can pick.
async fn certificate_kind_reaches_central_and_paper(kind: CertificateKind) {
    let PaperRig { rig, paper: _, wire } = PaperRig::start().await;
    let (id, name) = if kind == CertificateKind::PensionReceipt {
        (APPROVED_PENSIONER_ID, APPROVED_PENSIONER_NAME)
    } else {
        (WORKER_ID, WORKER_NAME)
    };
    place(&rig, id, name).await;
    pick_on_screen(&rig, kind, CertificatePeriod::LastMonths(12)).await;
    let Screen::CertificatePreview { certificate } =
        rig.screens.wait_for(0, |s| matches!(s, Screen::CertificatePreview { .. } | Screen::Failed { .. })).await
    else {
        panic!("{kind:?} was not issued")
    };
    assert_eq!(certificate.kind, kind);
    let stored = rig.central.store().certificate_by_code(&certificate.verification_code).unwrap().unwrap();
    let stored: contract::Certificate = serde_json::from_str(&stored).unwrap();
    assert_eq!(stored.body.kind, kind, "central signed and stored the kind that was picked");
    rig.touch(Intent::Print).await;
    let printed = rig.screens.wait_for(0, |s| matches!(s, Screen::Printed { .. })).await;
    assert!(matches!(printed, Screen::Printed { result: Ok(()), .. }), "{printed:?}");
    let text = printouts(&wire.lock().unwrap()).remove(0);
    assert_eq!(text.lines.first().map(String::as_str), Some(kind.title_zh()), "{text:#?}");
}

macro_rules! certificate_kind_tests {
    ($($test:ident: $kind:ident,)*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $test() {
            certificate_kind_reaches_central_and_paper(CertificateKind::$kind).await;
        }
    )*};
}

certificate_kind_tests! {
    all_insurances_certificate_picked_on_screen_reaches_central_and_paper: AllInsurances,
    pension_insurance_certificate_picked_on_screen_reaches_central_and_paper: PensionInsurance,
    medical_insurance_certificate_picked_on_screen_reaches_central_and_paper: MedicalInsurance,
    unemployment_insurance_certificate_picked_on_screen_reaches_central_and_paper: UnemploymentInsurance,
    work_injury_insurance_certificate_picked_on_screen_reaches_central_and_paper: WorkInjuryInsurance,
    pension_receipt_picked_on_screen_reaches_central_and_paper: PensionReceipt,
}
