//! Documents encoded for each model, printed by the virtual printer, read back off paper.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{CERT_BARCODE, CERT_QR, certificate, decode_code128, decode_qr};
use printer::virtual_printer::VirtualPrinter;
use printer::{Document, Mode, Profile, encode};

fn print(doc: &Document, profile: Profile, mode: Mode) -> Vec<image::GrayImage> {
    let vp = VirtualPrinter::new(profile.clone());
    vp.feed(&encode(doc, &profile, Some(mode)).unwrap());
    vp.control().receipts()
}

#[test]
fn native_certificate_qr_and_barcode_read_back_from_the_png() {
    let receipts = print(&certificate(), Profile::KIOSK_80, Mode::Native);
    assert_eq!(receipts.len(), 1);
    let paper = &receipts[0];
    assert_eq!(paper.width(), 576);
    assert_eq!(decode_qr(paper), [CERT_QR]);
    assert_eq!(decode_code128(paper).as_deref(), Some(CERT_BARCODE));
    let mm = f64::from(paper.height()) / Profile::KIOSK_80.dots_per_mm();
    assert!((120.0..200.0).contains(&mm), "certificate is {mm:.0} mm");
}

#[test]
fn raster_and_native_print_the_same_dots() {
    let native = print(&certificate(), Profile::KIOSK_80, Mode::Native);
    let raster = print(&certificate(), Profile::KIOSK_80, Mode::Raster);
    assert_eq!(native.len(), 1);
    assert_eq!(raster.len(), 1);
    assert_eq!(native[0].dimensions(), raster[0].dimensions());
    let differing = native[0].pixels().zip(raster[0].pixels()).filter(|(a, b)| a != b).count();
    assert_eq!(differing, 0);
    assert_eq!(decode_qr(&raster[0]), [CERT_QR]);
}

#[test]
fn the_58mm_clone_prints_its_qr_as_a_picture_that_still_scans() {
    let receipts = print(&certificate(), Profile::CLONE_58, Mode::Native);
    assert_eq!(receipts[0].width(), 384);
    assert_eq!(decode_qr(&receipts[0]), [CERT_QR]);
    assert_eq!(decode_code128(&receipts[0]).as_deref(), Some(CERT_BARCODE));
}

#[test]
fn epson_without_chinese_font_gets_chinese_lines_as_pictures() {
    let profile = Profile::EPSON_80;
    let bytes = encode(&certificate(), &profile, Some(Mode::Native)).unwrap();
    assert!(!bytes.windows(2).any(|w| w == [0x1C, 0x26]), "no Chinese mode on a model without the font");
    let receipts = print(&certificate(), profile.clone(), Mode::Native);
    assert_eq!(receipts[0].width(), 512);
    assert_eq!(decode_qr(&receipts[0]), [CERT_QR]);
    assert_eq!(decode_code128(&receipts[0]).as_deref(), Some(CERT_BARCODE));
    // The Chinese lines carry ink although they were not sent as text.
    let kiosk = print(&certificate(), Profile::KIOSK_80, Mode::Native);
    assert!(common::ink(&receipts[0]) > 0.5 * common::ink(&kiosk[0]));
}

#[test]
fn one_picture_per_cut() {
    let doc = Document::from_json(
        r#"{"items":[{"text":"one"},{"cut":"full"},{"text":"two"},{"cut":"partial"},{"text":"three"},{"cut":"full"}]}"#,
    )
    .unwrap();
    let receipts = print(&doc, Profile::KIOSK_80, Mode::Native);
    assert_eq!(receipts.len(), 3);
}

#[test]
fn chinese_kiosk_printers_power_up_in_chinese_mode() {
    // Raw GB18030 with no FS &: the kiosk model prints Chinese, the Epson model does not.
    let (gb, _, _) = encoding_rs::GB18030.encode("姓名：张伟明\n");
    let mut stream = gb.to_vec();
    stream.extend([0x1D, 0x56, 0x00]);
    let with_fs = {
        let mut s = vec![0x1C, 0x26];
        s.extend(gb.iter());
        s.extend([0x1C, 0x2E, 0x1D, 0x56, 0x00]);
        s
    };
    let kiosk = VirtualPrinter::new(Profile::KIOSK_80);
    kiosk.feed(&stream);
    kiosk.feed(&with_fs);
    let r = kiosk.control().receipts();
    assert_eq!(r[0], r[1]);
    let epson = VirtualPrinter::new(Profile::EPSON_80);
    epson.feed(&stream);
    epson.feed(&with_fs);
    let r = epson.control().receipts();
    assert_ne!(r[0], r[1], "code page text must differ from GB18030 text");
}

#[test]
fn images_are_dithered_and_centred() {
    let dir = tempfile::tempdir().unwrap();
    let gradient = image::GrayImage::from_fn(200, 60, |x, _| image::Luma([(x * 255 / 199) as u8]));
    gradient.save(dir.path().join("logo.png")).unwrap();
    std::fs::write(dir.path().join("doc.json"), r#"{"items":[{"image":"logo.png"},{"cut":"full"}]}"#).unwrap();
    let doc = Document::from_file(&dir.path().join("doc.json")).unwrap();
    let paper = &print(&doc, Profile::KIOSK_80, Mode::Native)[0];
    let black = |x0: u32, x1: u32| {
        (x0..x1).flat_map(|x| (0..60).map(move |y| (x, y))).filter(|&(x, y)| paper.get_pixel(x, y).0[0] == 0).count()
    };
    // Centred 200-dot picture: columns 188..388; dark on the left, light on the right,
    // and mid-gray is a mix (dithered, not thresholded).
    assert_eq!(black(0, 188), 0);
    assert!(black(188, 228) > black(348, 388) * 3);
    let mid = black(278, 298) as f64 / (20.0 * 60.0);
    assert!((0.3..0.7).contains(&mid), "mid-gray density {mid}");
}

#[test]
fn missing_image_is_a_typed_error_naming_the_file() {
    let doc = Document::from_json(r#"{"items":[{"image":"/nonexistent/logo.png"}]}"#).unwrap();
    let err = encode(&doc, &Profile::KIOSK_80, None).unwrap_err();
    assert!(matches!(err, printer::DocumentError::Image { .. }));
    assert!(err.to_string().contains("/nonexistent/logo.png"));
}

#[test]
fn peer_library_commands_render() {
    // What python-escpos / escpos-php send: ESC ! modes, ESC * column images with
    // ESC 3 spacing, GS ( L graphics, GS V with feed, code page text.
    let mut s = vec![0x1B, 0x40, 0x1B, 0x74, 16, 0x1B, 0x21, 0x30];
    s.extend(b"Caf\xE9\n");
    s.extend([0x1B, 0x21, 0x00, 0x1B, 0x33, 24]);
    // ESC * 33: 24-dot double density, 16 columns all black.
    s.extend([0x1B, 0x2A, 33, 16, 0]);
    s.extend(std::iter::repeat_n(0xFF, 48));
    s.extend([0x0A, 0x1B, 0x32]);
    // GS ( L store 16x8 black, then print.
    let data = [0xFFu8; 16];
    let len = 10 + data.len();
    s.extend([0x1D, 0x28, 0x4C, len as u8, 0, 0x30, 0x70, 0x30, 1, 1, 0x31, 16, 0, 8, 0]);
    s.extend(data);
    s.extend([0x1D, 0x28, 0x4C, 2, 0, 0x30, 0x32]);
    s.extend([0x1D, 0x56, 0x41, 0x10]);
    let vp = VirtualPrinter::new(Profile::EPSON_80);
    vp.feed(&s);
    let r = vp.control().receipts();
    assert_eq!(r.len(), 1);
    let paper = &r[0];
    let black_rect = |x0, y0, w, h| (x0..x0 + w).all(|x| (y0..y0 + h).all(|y| paper.get_pixel(x, y).0[0] == 0));
    // Double height/width text line is 48 dots tall; column image follows at x 0..16.
    assert!(black_rect(0, 48, 16, 24), "ESC * image");
    assert!(black_rect(0, 72, 16, 8), "GS ( L image");
}

#[test]
fn tall_raster_receipts_go_in_bands_that_join_without_a_seam() {
    let dir = tempfile::tempdir().unwrap();
    // A 3000-row black bar: more than one 2303-row band.
    image::GrayImage::from_pixel(64, 3000, image::Luma([0])).save(dir.path().join("bar.png")).unwrap();
    std::fs::write(dir.path().join("doc.json"), r#"{"items":[{"image":"bar.png","align":"left"},{"cut":"full"}]}"#)
        .unwrap();
    let doc = Document::from_file(&dir.path().join("doc.json")).unwrap();
    let bytes = encode(&doc, &Profile::KIOSK_80, Some(Mode::Raster)).unwrap();
    let headers: Vec<usize> =
        bytes.windows(4).enumerate().filter(|(_, w)| *w == [0x1D, 0x76, 0x30, 0]).map(|(i, _)| i).collect();
    assert_eq!(headers.len(), 2);
    let rows = |at: usize| usize::from(bytes[at + 6]) | usize::from(bytes[at + 7]) << 8;
    assert_eq!(rows(headers[0]), 2303);
    let paper = &print(&doc, Profile::KIOSK_80, Mode::Raster)[0];
    assert!((0..3000).all(|y| paper.get_pixel(10, y).0[0] == 0), "every row of the bar is black");
    assert_eq!(paper.get_pixel(10, 3000).0[0], 255);
}

/// The estimate may be off by this share of the printed length (it mirrors the layout,
/// so in practice it is exact; the slack is for rounding in future layout changes).
const ESTIMATE_TOLERANCE: f64 = 0.02;

#[test]
fn the_paper_length_estimate_matches_what_the_virtual_printer_prints_on_every_model() {
    let doc = certificate();
    for profile in Profile::ALL {
        let estimate = printer::estimate(&doc, &profile).unwrap();
        for mode in [Mode::Native, Mode::Raster] {
            let printed: u32 = print(&doc, profile.clone(), mode).iter().map(image::GrayImage::height).sum();
            let off = (f64::from(estimate.dots) - f64::from(printed)).abs() / f64::from(printed);
            eprintln!(
                "{} {mode:?}: estimate {} dots ({:.1} mm, {:.2} s), printed {printed} dots ({:.1} mm)",
                profile.name,
                estimate.dots,
                estimate.mm,
                estimate.duration.as_secs_f64(),
                f64::from(printed) / profile.dots_per_mm()
            );
            assert!(off <= ESTIMATE_TOLERANCE, "{} {mode:?}: {estimate:?} vs {printed} dots printed", profile.name);
        }
    }
    // The estimate follows the document: ten more blank lines, ten more lines of paper.
    let mut longer = doc.clone();
    longer.items.insert(0, printer::Item::Feed(printer::document::Feed { feed: 10 }));
    let (long, short) = (printer::estimate(&longer, &Profile::KIOSK_80), printer::estimate(&doc, &Profile::KIOSK_80));
    assert_eq!(long.unwrap().dots, short.unwrap().dots + 10 * 30, "ten blank lines of 30 dots");
}
