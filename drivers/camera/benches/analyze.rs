//! Face analysis time per frame at 640x480 and 1280x720 (the kiosk's camera modes).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use camera::{FaceAnalyzer, Frame, QualityConfig};
use criterion::{Criterion, criterion_group, criterion_main};
use image::{Rgb, RgbImage, imageops};

fn frame(w: u32, h: u32) -> Frame {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/faces");
    let face = image::open(format!("{dir}/grace_hopper_512x512.jpg")).unwrap().to_rgb8();
    let s = imageops::resize(&face, h * 9 / 10, h * 9 / 10, imageops::FilterType::Triangle);
    let mut c = RgbImage::from_pixel(w, h, Rgb([96, 104, 112]));
    imageops::overlay(&mut c, &s, i64::from((w - s.width()) / 2), 0);
    Frame::from_rgb(w, h, c.into_raw()).unwrap()
}

fn analyze(c: &mut Criterion) {
    let mut analyzer = FaceAnalyzer::new(QualityConfig::default()).unwrap();
    for (w, h) in [(640, 480), (1280, 720)] {
        let f = frame(w, h);
        c.bench_function(&format!("analyze {w}x{h}"), |b| b.iter(|| analyzer.analyze(&f)));
    }
}

criterion_group!(benches, analyze);
criterion_main!(benches);
