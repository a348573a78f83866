//! The certificate on real (virtual) paper: the ESC/POS driver prints to the virtual
//! printer, whose PNG carries a QR code that decodes to a verify URL central confirms.

use central::registry::{APPROVED_PENSIONER_ID, APPROVED_PENSIONER_NAME};
use hardware_tests::Rig;
use kiosk::runtime::escpos_printer::DriverPrinter;
use kiosk::session::{CertificateKind, Intent, Screen, Service};
use printer::virtual_printer::VirtualPrinter;
use printer::{Printer, Profile};
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_png_carries_a_qr_of_the_verify_url_that_central_confirms() {
    let vp = VirtualPrinter::new(Profile::KIOSK_80);
    let paper = vp.control();
    let driver = DriverPrinter::new(Printer::new(vp.link(), Profile::KIOSK_80));
    let rig = Rig::start_with(Some(Arc::new(driver))).await.unwrap();
    rig.reader.place(APPROVED_PENSIONER_ID, APPROVED_PENSIONER_NAME).await;
    rig.touch(Intent::Choose(Service::Certificate)).await;
    rig.touch(Intent::ChooseCertificate(CertificateKind::Participation)).await;
    let Screen::CertificatePreview { certificate } =
        rig.screens.wait_for(0, |s| matches!(s, Screen::CertificatePreview { .. })).await
    else {
        unreachable!()
    };
    rig.touch(Intent::Print).await;
    let printed = rig.screens.wait_for(0, |s| matches!(s, Screen::Printed { .. })).await;
    assert!(matches!(printed, Screen::Printed { result: Ok(()), .. }), "{printed:?}");

    let receipts = paper.receipts();
    assert_eq!(receipts.len(), 1, "one certificate came out");
    assert!(contains_glyphs(&receipts[0], &name_glyphs(APPROVED_PENSIONER_NAME)), "the holder's name is on the paper");
    assert!(!contains_glyphs(&receipts[0], &name_glyphs("李福寿")), "the glyph check can fail");
    let mut prepared = rqrr::PreparedImage::prepare(receipts[0].clone());
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "exactly one QR code on the certificate");
    let (_, url) = grids[0].decode().unwrap();
    assert_eq!(url, certificate.verify_url);

    let ca = reqwest::Certificate::from_pem(rig.central.ca_pem().as_bytes()).unwrap();
    let http = reqwest::Client::builder().add_root_certificate(ca).build().unwrap();
    let code = url.rsplit('/').next().unwrap();
    let page =
        http.get(format!("https://127.0.0.1:{}/verify/{code}", rig.central.local_addr().port())).send().await.unwrap();
    assert!(page.status().is_success());
    assert!(page.text().await.unwrap().contains(&certificate.number), "central confirms the certificate");
}

/// The name as the same printer draws it: a row printed alone, cropped to its ink.
#[allow(clippy::unwrap_used)] // test helper: a failure here is a failed test
fn name_glyphs(name: &str) -> image::GrayImage {
    let vp = VirtualPrinter::new(Profile::KIOSK_80);
    let control = vp.control();
    let mut p = Printer::new(vp.link(), Profile::KIOSK_80);
    let doc = printer::Document::from_json(&format!(r#"{{"items":[{{"row":["", "{name}"]}},{{"cut":"partial"}}]}}"#))
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
