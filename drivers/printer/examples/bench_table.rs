//! Prints the benchmark table for `bench/run`: encode time, bytes on the wire, wire time
//! and paper time for the certificate receipt, next to a peer library's bytes.
//!
//! Usage: `cargo run --release --example bench_table -- [PEER.bin ...]`

use std::time::{Duration, Instant};

use printer::virtual_printer::VirtualPrinter;
use printer::{Document, Mode, Profile};

const SERIAL_BYTES_PER_S: f64 = 115_200.0 / 10.0;
/// USB full speed bulk: 19 packets of 64 bytes per 1 ms frame at best.
const USB_FS_BYTES_PER_S: f64 = 19.0 * 64.0 * 1000.0;

fn encode_time(doc: &Document, profile: &Profile, mode: Mode) -> Duration {
    let runs = 50;
    let start = Instant::now();
    for _ in 0..runs {
        std::hint::black_box(printer::encode(doc, profile, Some(mode)).unwrap_or_default());
    }
    start.elapsed() / runs
}

struct Printed {
    mm: f64,
    qr: Vec<String>,
}

fn print_on(bytes: &[u8], profile: &Profile) -> Printed {
    let vp = VirtualPrinter::new(profile.clone());
    vp.feed(bytes);
    vp.control().finish();
    let receipts = vp.control().receipts();
    let mm = receipts.iter().map(|r| f64::from(r.height())).sum::<f64>() / profile.dots_per_mm();
    let qr = receipts
        .iter()
        .flat_map(|r| {
            let mut img = rqrr::PreparedImage::prepare(r.clone());
            img.detect_grids().into_iter().filter_map(|g| g.decode().ok().map(|(_, s)| s)).collect::<Vec<_>>()
        })
        .collect();
    Printed { mm, qr }
}

fn row(name: &str, encode: Option<Duration>, bytes: usize, printed: &Printed, profile: &Profile) {
    let serial = bytes as f64 / SERIAL_BYTES_PER_S;
    let usb = bytes as f64 / USB_FS_BYTES_PER_S;
    let paper = printed.mm / f64::from(profile.speed_mm_per_s);
    let enc = encode.map_or("-".to_owned(), |d| format!("{:.2} ms", d.as_secs_f64() * 1e3));
    let verdict = if serial <= paper { "paper speed" } else { "link-bound" };
    println!(
        "| {name:<28} | {enc:>9} | {bytes:>7} | {:>8.3} s | {:>8.1} ms | {:>5.0} mm | {:>6.2} s | {verdict:<11} | {:<3} |",
        serial,
        usb * 1e3,
        printed.mm,
        paper,
        if printed.qr.is_empty() { "no" } else { "yes" },
    );
}

fn main() {
    let doc_path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/certificate.json");
    let doc = Document::from_file(std::path::Path::new(doc_path)).unwrap_or_default();
    println!("certificate receipt: {doc_path}");
    println!(
        "serial 115200 baud = {SERIAL_BYTES_PER_S:.0} B/s; USB full speed bulk = {:.0} KB/s\n",
        USB_FS_BYTES_PER_S / 1000.0
    );
    println!(
        "| encoder / mode               |    encode |   bytes | 115200 wire | USB FS wire | paper | at speed | over serial | QR? |"
    );
    println!(
        "|------------------------------|-----------|---------|-------------|-------------|-------|----------|-------------|-----|"
    );
    let mut ratios = Vec::new();
    for profile in [Profile::KIOSK_80, Profile::CLONE_58, Profile::EPSON_80] {
        let mut sizes = [0usize; 2];
        for (k, mode) in [Mode::Native, Mode::Raster].into_iter().enumerate() {
            let bytes = printer::encode(&doc, &profile, Some(mode)).unwrap_or_default();
            sizes[k] = bytes.len();
            let t = encode_time(&doc, &profile, mode);
            row(
                &format!("ours {} {:?}", profile.name, mode).to_lowercase(),
                Some(t),
                bytes.len(),
                &print_on(&bytes, &profile),
                &profile,
            );
        }
        ratios.push((profile.name, sizes[1] as f64 / sizes[0].max(1) as f64));
    }
    for peer in std::env::args().skip(1) {
        let Ok(bytes) = std::fs::read(&peer) else { continue };
        let name =
            std::path::Path::new(&peer).file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        row(&name, None, bytes.len(), &print_on(&bytes, &Profile::KIOSK_80), &Profile::KIOSK_80);
    }
    println!();
    for (name, r) in ratios {
        println!("{name}: raster / native bytes = {r:.1}x (goal >= 20x)");
    }
}
