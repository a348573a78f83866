//! One captured picture (RGB8) and the decoders for what cameras send: YUYV and MJPEG.
//! Frame pixels are personal data: they are zeroed when a frame is dropped.

use std::fmt;
use std::time::Duration;

use crate::CaptureError;

/// One RGB8 picture from a camera or file. `Debug` shows only its shape.
#[derive(Clone)]
pub struct Frame {
    image: image::RgbImage,
    /// Monotonic position in the source's stream (0 for a single still).
    pub sequence: u64,
    /// When the source produced it, relative to the source's start.
    pub captured_at: Duration,
}

impl Frame {
    /// Wraps an RGB image.
    pub fn new(image: image::RgbImage, sequence: u64, captured_at: Duration) -> Self {
        Self { image, sequence, captured_at }
    }

    /// Builds a frame from packed RGB8 bytes (`width * height * 3`).
    pub fn from_rgb(width: u32, height: u32, rgb: Vec<u8>) -> Result<Self, CaptureError> {
        let image = image::RgbImage::from_raw(width, height, rgb)
            .ok_or(CaptureError::BadFrame { reason: "RGB buffer size does not match its dimensions" })?;
        Ok(Self::new(image, 0, Duration::ZERO))
    }

    pub fn width(&self) -> u32 {
        self.image.width()
    }

    pub fn height(&self) -> u32 {
        self.image.height()
    }

    pub fn image(&self) -> &image::RgbImage {
        &self.image
    }

    /// 8-bit luma (BT.601), what the detector and the quality gates work on.
    pub fn to_gray(&self) -> image::GrayImage {
        let (w, h) = self.image.dimensions();
        // Integer BT.601 weights (sum 256): cheap and exact enough for detection. Eight
        // pixels per step in 16-bit lanes (the sum fits: 255 x 256) lets the loop vectorise.
        let rgb = self.image.as_raw();
        let mut out = vec![0u8; rgb.len() / 3];
        let mut dst = out.chunks_exact_mut(8);
        let mut src = rgb.chunks_exact(24);
        for (d, s) in (&mut dst).zip(&mut src) {
            for (i, y) in d.iter_mut().enumerate() {
                let (r, g, b) = (u16::from(s[3 * i]), u16::from(s[3 * i + 1]), u16::from(s[3 * i + 2]));
                *y = ((77 * r + 150 * g + 29 * b) >> 8) as u8;
            }
        }
        for (y, p) in dst.into_remainder().iter_mut().zip(src.remainder().chunks_exact(3)) {
            *y = ((77 * u16::from(p[0]) + 150 * u16::from(p[1]) + 29 * u16::from(p[2])) >> 8) as u8;
        }
        image::GrayImage::from_raw(w, h, out).unwrap_or_default()
    }
}

impl fmt::Debug for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Frame")
            .field("width", &self.width())
            .field("height", &self.height())
            .field("sequence", &self.sequence)
            .field("captured_at", &self.captured_at)
            .finish_non_exhaustive()
    }
}

impl Drop for Frame {
    fn drop(&mut self) {
        // A face is personal data: do not leave it in freed memory.
        let mut buf = std::mem::take(&mut self.image).into_raw();
        buf.fill(0);
        std::hint::black_box(&buf);
    }
}

/// Decodes packed YUYV 4:2:2 (Y0 U Y1 V) into RGB8.
pub fn decode_yuyv(width: u32, height: u32, data: &[u8]) -> Result<image::RgbImage, CaptureError> {
    if width == 0 || height == 0 || width % 2 != 0 {
        return Err(CaptureError::BadFrame { reason: "YUYV needs a non-zero, even width" });
    }
    let need = (width as usize) * (height as usize) * 2;
    if data.len() < need {
        return Err(CaptureError::BadFrame { reason: "YUYV buffer shorter than width*height*2" });
    }
    let mut out = Vec::with_capacity(need / 2 * 3);
    for q in data[..need].chunks_exact(4) {
        let (u, v) = (i32::from(q[1]) - 128, i32::from(q[3]) - 128);
        for y in [q[0], q[2]] {
            // BT.601 limited range, fixed point (x256).
            let c = 298 * (i32::from(y) - 16);
            let r = (c + 409 * v + 128) >> 8;
            let g = (c - 100 * u - 208 * v + 128) >> 8;
            let b = (c + 516 * u + 128) >> 8;
            out.extend([r.clamp(0, 255) as u8, g.clamp(0, 255) as u8, b.clamp(0, 255) as u8]);
        }
    }
    image::RgbImage::from_raw(width, height, out).ok_or(CaptureError::BadFrame { reason: "YUYV size" })
}

/// Decodes one MJPEG frame (a baseline JPEG, possibly without Huffman tables) into RGB8.
pub fn decode_mjpeg(data: &[u8]) -> Result<image::RgbImage, CaptureError> {
    let img = image::load_from_memory_with_format(data, image::ImageFormat::Jpeg)
        .map_err(|e| CaptureError::Decode(e.to_string()))?;
    Ok(img.to_rgb8())
}
