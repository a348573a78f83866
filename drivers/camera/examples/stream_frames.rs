//! Measures what following a stream saves: each scenario is a sequence of frames (a
//! portrait with sensor noise, standing still, drifting, turning its head, someone
//! entering, an empty scene), analysed once frame by frame with `analyze` (a full
//! detection each) and once as a stream with `analyze_next`. Prints ms per frame for
//! both, how many stream frames took each path, and in how many frames the two differ
//! on the face count or the verdict.
//!
//!   stream_frames FACES_DIR [FRAMES_PER_SCENARIO]

use std::time::Instant;

use camera::{FaceAnalyzer, Frame, FrameAnalysis, QualityConfig};
use image::{Rgb, RgbImage, imageops};

/// Sensor noise: every channel moved by up to +-4 levels, different in every frame.
fn noisy(img: &RgbImage, seed: u32) -> RgbImage {
    let mut s = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    let mut out = img.clone();
    for v in out.iter_mut() {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        *v = (i32::from(*v) + (s % 9) as i32 - 4).clamp(0, 255) as u8;
    }
    out
}

/// A head turn on a flat portrait: the inner face slides sideways against its outline.
fn turned(src: &RgbImage, (cx, cy): (f32, f32), shift: f32) -> RgbImage {
    let (w, h) = src.dimensions();
    RgbImage::from_fn(w, h, |x, y| {
        let (dx, dy) = (x as f32 - cx, y as f32 - cy);
        let d = shift * (-(dx * dx + dy * dy) / (2.0 * 40.0 * 40.0)).exp();
        *src.get_pixel((x as f32 - d).round().clamp(0.0, (w - 1) as f32) as u32, y)
    })
}

fn canvas(w: u32, h: u32) -> RgbImage {
    RgbImage::from_pixel(w, h, Rgb([96, 104, 112]))
}

fn with(portrait: &RgbImage, w: u32, h: u32, size: u32, x: i64, y: i64) -> RgbImage {
    let mut c = canvas(w, h);
    imageops::overlay(&mut c, &imageops::resize(portrait, size, size, imageops::FilterType::Triangle), x, y);
    c
}

/// Frame number -> that frame of the scenario.
type Scenario<'a> = Box<dyn Fn(u32) -> RgbImage + 'a>;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let faces = args.get(1).ok_or_else(|| anyhow::anyhow!("usage: stream_frames FACES_DIR [FRAMES]"))?;
    let n: u32 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(30);
    let grace = image::open(format!("{faces}/grace_hopper_512x512.jpg"))?.to_rgb8();
    println!(
        "{:28} {:>9} {:>9} {:>5} {:>6} {:>5} {:>6} {:>8}",
        "scenario", "full ms", "stream ms", "full", "follow", "same", "faces", "verdict"
    );
    for (w, h) in [(640u32, 480u32), (1280, 720)] {
        let size = h * 9 / 10;
        let x0 = i64::from((w - size) / 2);
        let still = with(&grace, w, h, size, x0, 0);
        let scale = size as f32 / 512.0;
        let nose = (273.0 * scale, 206.0 * scale);
        let scenarios: Vec<(&str, Scenario)> = vec![
            ("still", Box::new(|_| still.clone())),
            ("drifting 1 px/frame", Box::new(|i| with(&grace, w, h, size, x0 + i64::from(i), 0))),
            (
                "turning head",
                Box::new(|i| {
                    let shift = 70.0 * (i as f32 / 6.0).sin();
                    let mut c = canvas(w, h);
                    let p = imageops::resize(&grace, size, size, imageops::FilterType::Triangle);
                    imageops::overlay(&mut c, &turned(&p, nose, shift), x0, 0);
                    c
                }),
            ),
            (
                "second person enters",
                Box::new(|i| {
                    let mut c = still.clone();
                    if i >= n / 2 {
                        let s = size * 2 / 3;
                        imageops::overlay(
                            &mut c,
                            &imageops::resize(&grace, s, s, imageops::FilterType::Triangle),
                            0,
                            i64::from(h - s),
                        );
                    }
                    c
                }),
            ),
            ("empty scene", Box::new(|_| canvas(w, h))),
        ];
        for (name, make) in &scenarios {
            let frames: Vec<Frame> = (0..n)
                .map(|i| {
                    let img = noisy(&make(i), i);
                    Frame::from_rgb(img.width(), img.height(), img.into_raw())
                })
                .collect::<Result<_, _>>()?;
            let mut full = FaceAnalyzer::new(QualityConfig::default())?;
            let t = Instant::now();
            let expected: Vec<FrameAnalysis> = frames.iter().map(|f| full.analyze(f)).collect();
            let full_ms = t.elapsed().as_secs_f64() * 1000.0 / f64::from(n);
            let mut stream = FaceAnalyzer::new(QualityConfig::default())?;
            let t = Instant::now();
            let got: Vec<FrameAnalysis> = frames.iter().map(|f| stream.analyze_next(f)).collect();
            let stream_ms = t.elapsed().as_secs_f64() * 1000.0 / f64::from(n);
            let pairs = || expected.iter().zip(&got);
            let faces_differ = pairs().filter(|(a, b)| a.faces != b.faces).count();
            let verdict_differs = pairs().filter(|(a, b)| a.accepted != b.accepted).count();

            let c = stream.stream_counts();
            let label = format!("{w}x{h} {name}");
            println!(
                "{label:28} {full_ms:9.1} {stream_ms:9.1} {:>5} {:>6} {:>5} {faces_differ:>6} {verdict_differs:>8}",
                c.full, c.followed, c.unchanged
            );
        }
    }
    Ok(())
}
