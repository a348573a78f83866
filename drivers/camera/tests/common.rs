//! Test portraits and the harder cases derived from them.
#![allow(dead_code, clippy::unwrap_used)]

use image::{Rgb, RgbImage, imageops};

pub fn faces_dir() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/faces").to_owned()
}

pub fn grace() -> RgbImage {
    image::open(format!("{}/grace_hopper_512x512.jpg", faces_dir())).unwrap().to_rgb8()
}

pub fn astronaut() -> RgbImage {
    image::open(format!("{}/astronaut.png", faces_dir())).unwrap().to_rgb8()
}

/// `src` scaled by `scale` and pasted at (x, y) on a plain canvas.
pub fn on_canvas(src: &RgbImage, w: u32, h: u32, scale: f32, x: i64, y: i64) -> RgbImage {
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

pub fn scale_brightness(src: &RgbImage, f: f32) -> RgbImage {
    let mut out = src.clone();
    for p in out.pixels_mut() {
        for c in p.0.iter_mut() {
            *c = (f32::from(*c) * f).clamp(0.0, 255.0) as u8;
        }
    }
    out
}

pub fn lift_brightness(src: &RgbImage, add: f32) -> RgbImage {
    let mut out = src.clone();
    for p in out.pixels_mut() {
        for c in p.0.iter_mut() {
            *c = (f32::from(*c) * 0.5 + add).clamp(0.0, 255.0) as u8;
        }
    }
    out
}

pub fn blurred(src: &RgbImage, sigma: f32) -> RgbImage {
    imageops::blur(src, sigma)
}

/// Deterministic noise (no face anywhere).
pub fn noise(w: u32, h: u32) -> RgbImage {
    let mut s: u32 = 12345;
    RgbImage::from_fn(w, h, |_, _| {
        s = s.wrapping_mul(1_103_515_245).wrapping_add(12345);
        let v = (s >> 16) as u8;
        Rgb([v, v / 2 + 60, 255 - v])
    })
}

/// Fakes a head turn on a flat portrait: pixels near the face centre (nose, eyes) slide
/// sideways by up to `shift` px while the face outline stays, as when a head rotates.
pub fn turned(src: &RgbImage, cx: f32, cy: f32, sigma: f32, shift: f32) -> RgbImage {
    let (w, h) = src.dimensions();
    RgbImage::from_fn(w, h, |x, y| {
        let (dx, dy) = (x as f32 - cx, y as f32 - cy);
        let d = shift * (-(dx * dx + dy * dy) / (2.0 * sigma * sigma)).exp();
        let sx = (x as f32 - d).round().clamp(0.0, (w - 1) as f32) as u32;
        *src.get_pixel(sx, y)
    })
}
