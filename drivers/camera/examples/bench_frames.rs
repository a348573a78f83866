//! Benchmark helper for `bench/run`: writes the benchmark frames (real portraits and
//! derived cases at 640x480 and 1280x720) to a directory, then times our analyzer on
//! each and prints `file<TAB>ms_per_frame<TAB>faces<TAB>accepted` lines.

use std::time::Instant;

use camera::{FaceAnalyzer, Frame, QualityConfig};
use image::{Rgb, RgbImage, imageops};

fn canvas(src: &RgbImage, w: u32, h: u32, scale: f32, x: i64, y: i64) -> RgbImage {
    let mut c = RgbImage::from_pixel(w, h, Rgb([96, 104, 112]));
    let s = imageops::resize(
        src,
        (src.width() as f32 * scale) as u32,
        (src.height() as f32 * scale) as u32,
        imageops::FilterType::Triangle,
    );
    imageops::overlay(&mut c, &s, x, y);
    c
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let faces = args.get(1).ok_or_else(|| anyhow::anyhow!("usage: bench_frames FACES_DIR OUT_DIR [ITER]"))?;
    let out = args.get(2).ok_or_else(|| anyhow::anyhow!("usage: bench_frames FACES_DIR OUT_DIR [ITER]"))?;
    let iters: u32 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(20);
    std::fs::create_dir_all(out)?;
    let grace = image::open(format!("{faces}/grace_hopper_512x512.jpg"))?.to_rgb8();
    let astro = image::open(format!("{faces}/astronaut.png"))?.to_rgb8();
    let mut set: Vec<(String, RgbImage)> = Vec::new();
    for (name, img) in [("grace", &grace), ("astronaut", &astro)] {
        for (w, h, big, small) in [(640u32, 480u32, 0.9f32, 0.5f32), (1280, 720, 1.4, 0.6)] {
            let bw = (512.0 * big) as i64;
            set.push((format!("{w}x{h}-{name}-centred"), canvas(img, w, h, big, (i64::from(w) - bw) / 2, 0)));
            let sw = (512.0 * small) as i64;
            set.push((
                format!("{w}x{h}-{name}-small"),
                canvas(img, w, h, small, (i64::from(w) - sw) / 2, (i64::from(h) - sw) / 2),
            ));
            set.push((format!("{w}x{h}-{name}-dark"), {
                let mut c = canvas(img, w, h, big, (i64::from(w) - bw) / 2, 0);
                c.pixels_mut().for_each(|p| p.0.iter_mut().for_each(|v| *v = (f32::from(*v) * 0.35) as u8));
                c
            }));
            set.push((
                format!("{w}x{h}-{name}-blurred"),
                imageops::blur(&canvas(img, w, h, big, (i64::from(w) - bw) / 2, 0), 3.0),
            ));
        }
    }
    let background = imageops::crop_imm(&astro, 300, 330, 200, 150).to_image();
    for (w, h) in [(640u32, 480u32), (1280, 720)] {
        set.push((
            format!("{w}x{h}-noface-background"),
            imageops::resize(&background, w, h, imageops::FilterType::Triangle),
        ));
        set.push((format!("{w}x{h}-noface-grey"), RgbImage::from_pixel(w, h, Rgb([128, 128, 128]))));
        let two = {
            let mut c = canvas(&grace, w, h, 0.45 * h as f32 / 512.0 * 2.0, 0, 0);
            let s = imageops::resize(&grace, h * 9 / 10, h * 9 / 10, imageops::FilterType::Triangle);
            imageops::overlay(&mut c, &s, i64::from(w / 2), 0);
            c
        };
        set.push((format!("{w}x{h}-two-people"), two));
    }
    let mut analyzer = FaceAnalyzer::new(QualityConfig::default())?;
    for (name, img) in set {
        let path = format!("{out}/{name}.png");
        img.save(&path)?;
        let frame = Frame::from_rgb(img.width(), img.height(), img.into_raw())?;
        let a = analyzer.analyze(&frame);
        let start = Instant::now();
        for _ in 0..iters {
            std::hint::black_box(analyzer.analyze(&frame));
        }
        let ms = start.elapsed().as_secs_f64() * 1000.0 / f64::from(iters);
        println!("{path}\t{ms:.1}\t{}\t{}", a.faces, a.accepted);
    }
    Ok(())
}
