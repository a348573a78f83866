//! A 1-bit picture of paper (1 = black dot): an embedded-graphics draw target, packing to
//! `GS v 0` rows, and Floyd-Steinberg dithering for photos.

use embedded_graphics::pixelcolor::BinaryColor;
use embedded_graphics::prelude::*;
use image::GrayImage;

/// A 1-bit image, one byte per dot for simple drawing; packed only when sent.
#[derive(Clone, PartialEq, Eq)]
pub struct Bitmap {
    width: u32,
    height: u32,
    dots: Vec<u8>,
}

impl std::fmt::Debug for Bitmap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Bitmap({}x{})", self.width, self.height)
    }
}

impl Bitmap {
    /// A white bitmap.
    pub fn new(width: u32, height: u32) -> Self {
        Self { width, height, dots: vec![0; (width as usize) * (height as usize)] }
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    /// Grows (white) or shrinks to `height` rows.
    pub fn set_height(&mut self, height: u32) {
        self.height = height;
        self.dots.resize((self.width as usize) * (height as usize), 0);
    }

    pub fn get(&self, x: u32, y: u32) -> bool {
        x < self.width && y < self.height && self.dots[(y * self.width + x) as usize] != 0
    }

    /// Sets a dot; dots outside the bitmap are ignored (paper has edges).
    pub fn set(&mut self, x: i64, y: i64, black: bool) {
        if x >= 0 && y >= 0 && (x as u64) < u64::from(self.width) && (y as u64) < u64::from(self.height) {
            self.dots[(y as usize) * (self.width as usize) + x as usize] = u8::from(black);
        }
    }

    /// Fills a rectangle with black, clipped to the bitmap.
    pub fn fill(&mut self, x: i64, y: i64, w: u32, h: u32) {
        for yy in y..y + i64::from(h) {
            for xx in x..x + i64::from(w) {
                self.set(xx, yy, true);
            }
        }
    }

    /// Copies another bitmap's black dots onto this one at (x, y).
    pub fn blit(&mut self, src: &Bitmap, x: i64, y: i64) {
        for sy in 0..src.height {
            for sx in 0..src.width {
                if src.get(sx, sy) {
                    self.set(x + i64::from(sx), y + i64::from(sy), true);
                }
            }
        }
    }

    /// Index of the last row holding a black dot, plus one (0 when blank).
    pub fn used_height(&self) -> u32 {
        let w = self.width as usize;
        if w == 0 {
            return 0;
        }
        (0..self.height)
            .rev()
            .find(|&y| self.dots[y as usize * w..(y as usize + 1) * w].iter().any(|&d| d != 0))
            .map_or(0, |y| y + 1)
    }

    /// Bytes per packed row.
    pub fn width_bytes(&self) -> usize {
        (self.width as usize).div_ceil(8)
    }

    /// Rows packed MSB-first, 1 = black, as `GS v 0` wants them.
    pub fn pack_rows(&self) -> Vec<u8> {
        let wb = self.width_bytes();
        let mut out = vec![0u8; wb * self.height as usize];
        for y in 0..self.height as usize {
            for x in 0..self.width as usize {
                if self.dots[y * self.width as usize + x] != 0 {
                    out[y * wb + x / 8] |= 0x80 >> (x % 8);
                }
            }
        }
        out
    }

    /// Unpacks `GS v 0` style rows (`width_bytes` per row, MSB first).
    pub fn from_packed_rows(width_bytes: usize, height: usize, data: &[u8]) -> Self {
        Self::from_packed_rows_clipped(width_bytes, height, data, usize::MAX, usize::MAX)
    }

    /// Unpacks rows, keeping at most `max_width` x `max_height` dots: what lies beyond
    /// the paper never needs memory, whatever sizes a stream declares.
    pub fn from_packed_rows_clipped(
        width_bytes: usize,
        height: usize,
        data: &[u8],
        max_width: usize,
        max_height: usize,
    ) -> Self {
        let w = (width_bytes.saturating_mul(8)).min(max_width);
        let h = height.min(max_height);
        let mut bm = Self::new(w as u32, h as u32);
        for y in 0..h {
            for x in 0..w {
                let byte = data.get(y * width_bytes + x / 8).copied().unwrap_or(0);
                if byte & (0x80 >> (x % 8)) != 0 {
                    bm.dots[y * w + x] = 1;
                }
            }
        }
        bm
    }

    /// Paper as a grayscale picture: black dots 0, white paper 255.
    pub fn to_gray(&self) -> GrayImage {
        GrayImage::from_fn(self.width, self.height, |x, y| image::Luma([if self.get(x, y) { 0 } else { 255 }]))
    }

    /// A photo to dots with Floyd-Steinberg error diffusion, scaled down to fit `max_width`.
    pub fn dither(img: &GrayImage, max_width: u32) -> Self {
        let img = if img.width() > max_width && max_width > 0 {
            let h = (u64::from(img.height()) * u64::from(max_width) / u64::from(img.width().max(1))).max(1) as u32;
            image::imageops::resize(img, max_width, h, image::imageops::FilterType::Triangle)
        } else {
            img.clone()
        };
        let (w, h) = (img.width() as usize, img.height() as usize);
        let mut err: Vec<f32> = img.pixels().map(|p| f32::from(p.0[0])).collect();
        let mut bm = Self::new(w as u32, h as u32);
        for y in 0..h {
            for x in 0..w {
                let i = y * w + x;
                let old = err[i];
                let black = old < 128.0;
                let new = if black { 0.0 } else { 255.0 };
                bm.dots[i] = u8::from(black);
                let e = old - new;
                if x + 1 < w {
                    err[i + 1] += e * 7.0 / 16.0;
                }
                if y + 1 < h {
                    if x > 0 {
                        err[i + w - 1] += e * 3.0 / 16.0;
                    }
                    err[i + w] += e * 5.0 / 16.0;
                    if x + 1 < w {
                        err[i + w + 1] += e / 16.0;
                    }
                }
            }
        }
        bm
    }
}

impl OriginDimensions for Bitmap {
    fn size(&self) -> Size {
        Size::new(self.width, self.height)
    }
}

impl DrawTarget for Bitmap {
    type Color = BinaryColor;
    type Error = std::convert::Infallible;

    fn draw_iter<I>(&mut self, pixels: I) -> Result<(), Self::Error>
    where
        I: IntoIterator<Item = Pixel<Self::Color>>,
    {
        for Pixel(p, c) in pixels {
            self.set(i64::from(p.x), i64::from(p.y), c.is_on());
        }
        Ok(())
    }
}

/// Draws into a bitmap with every source pixel blown up to a `sx` x `sy` block: how a
/// printer makes double width / double height characters from its base font.
pub struct Scaled<'a> {
    pub target: &'a mut Bitmap,
    pub origin: (i64, i64),
    pub sx: u32,
    pub sy: u32,
}

impl OriginDimensions for Scaled<'_> {
    fn size(&self) -> Size {
        Size::new(self.target.width, self.target.height)
    }
}

impl DrawTarget for Scaled<'_> {
    type Color = BinaryColor;
    type Error = std::convert::Infallible;

    fn draw_iter<I>(&mut self, pixels: I) -> Result<(), Self::Error>
    where
        I: IntoIterator<Item = Pixel<Self::Color>>,
    {
        for Pixel(p, c) in pixels {
            if c.is_on() {
                let x = self.origin.0 + i64::from(p.x) * i64::from(self.sx);
                let y = self.origin.1 + i64::from(p.y) * i64::from(self.sy);
                self.target.fill(x, y, self.sx, self.sy);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packing_is_msb_first_and_round_trips() {
        let mut bm = Bitmap::new(10, 2);
        bm.set(0, 0, true);
        bm.set(9, 1, true);
        assert_eq!(bm.pack_rows(), [0x80, 0x00, 0x00, 0x40]);
        let back = Bitmap::from_packed_rows(2, 2, &bm.pack_rows());
        assert!(back.get(0, 0) && back.get(9, 1) && !back.get(1, 0));
    }

    #[test]
    fn mid_gray_dithers_to_about_half_black() {
        let img = GrayImage::from_pixel(64, 64, image::Luma([128]));
        let bm = Bitmap::dither(&img, 576);
        let black = (0..64).flat_map(|y| (0..64).map(move |x| (x, y))).filter(|&(x, y)| bm.get(x, y)).count();
        assert!((1800..2300).contains(&black), "{black} black dots of 4096");
    }
}
