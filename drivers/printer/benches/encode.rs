//! Criterion benchmarks: encoding the certificate receipt, and printing it on the
//! virtual printer.

use criterion::{Criterion, criterion_group, criterion_main};
use printer::virtual_printer::VirtualPrinter;
use printer::{Document, Mode, Profile};

fn certificate() -> Document {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/certificate.json");
    Document::from_file(std::path::Path::new(path)).unwrap_or_default()
}

fn bench(c: &mut Criterion) {
    let doc = certificate();
    let profile = Profile::KIOSK_80;
    c.bench_function("encode certificate native kiosk-80", |b| {
        b.iter(|| printer::encode(&doc, &profile, Some(Mode::Native)))
    });
    c.bench_function("encode certificate raster kiosk-80", |b| {
        b.iter(|| printer::encode(&doc, &profile, Some(Mode::Raster)))
    });
    let bytes = printer::encode(&doc, &profile, Some(Mode::Native)).unwrap_or_default();
    c.bench_function("virtual printer renders certificate", |b| {
        b.iter(|| {
            let vp = VirtualPrinter::new(profile.clone());
            vp.feed(&bytes);
            vp.control().receipt_count()
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
