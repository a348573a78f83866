//! Paper as a print head sees it: a line buffer of styled characters and inline
//! pictures, printed line by line into a 1-bit bitmap. Shared by the raster encoder
//! (which draws a document) and the virtual printer (which draws an ESC/POS stream), so
//! both produce the same dots.

use embedded_graphics::pixelcolor::BinaryColor;
use embedded_graphics::prelude::*;
use u8g2_fonts::types::{FontColor, VerticalPosition};
use u8g2_fonts::{FontRenderer, fonts};

use crate::bitmap::{Bitmap, Scaled};
use crate::document::char_columns;
use crate::escpos::{Align, Hri, QrEc};

/// Character style in effect when a character entered the line buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    pub bold: bool,
    pub underline: u8,
    pub font_b: bool,
    /// Width and height multipliers 1..=8.
    pub width: u8,
    pub height: u8,
}

impl Default for Style {
    fn default() -> Self {
        Self { bold: false, underline: 0, font_b: false, width: 1, height: 1 }
    }
}

/// Default line spacing in dots (about 3.75 mm at 203 dpi).
pub const DEFAULT_LINE_SPACING: u32 = 30;

#[derive(Debug, Clone)]
enum LineItem {
    Glyph(char, Style),
    Picture(Bitmap),
}

impl LineItem {
    fn size(&self) -> (u32, u32) {
        match self {
            LineItem::Glyph(c, s) => {
                let (w, h) = cell(*c, s.font_b);
                (w * u32::from(s.width), h * u32::from(s.height))
            }
            LineItem::Picture(b) => (b.width(), b.height()),
        }
    }
}

/// Cell size of a character: font A is 12x24 (Chinese 24x24), font B 9x17 (Chinese 24x24).
fn cell(c: char, font_b: bool) -> (u32, u32) {
    match (char_columns(c), font_b) {
        (2, _) => (24, 24),
        (_, false) => (12, 24),
        (_, true) => (9, 17),
    }
}

/// A strip of paper being printed.
#[derive(Debug, Clone)]
pub struct Paper {
    bitmap: Bitmap,
    y: u32,
    line: Vec<LineItem>,
    line_width: u32,
    pub align: Align,
    pub line_spacing: u32,
}

impl Paper {
    /// Blank paper `width` dots wide.
    pub fn new(width: u32) -> Self {
        Self {
            bitmap: Bitmap::new(width, 0),
            y: 0,
            line: Vec::new(),
            line_width: 0,
            align: Align::Left,
            line_spacing: DEFAULT_LINE_SPACING,
        }
    }

    pub fn width(&self) -> u32 {
        self.bitmap.width()
    }

    /// Dots fed so far (the print position).
    pub fn position(&self) -> u32 {
        self.y
    }

    /// True when characters wait in the line buffer.
    pub fn has_pending_line(&self) -> bool {
        !self.line.is_empty()
    }

    fn ensure_rows(&mut self, bottom: u32) {
        if self.bitmap.height() < bottom {
            self.bitmap.set_height(bottom);
        }
    }

    fn aligned_x(&self, w: u32, align: Align) -> i64 {
        let slack = i64::from(self.width()) - i64::from(w);
        match align {
            Align::Left => 0,
            Align::Center => (slack / 2).max(0),
            Align::Right => slack.max(0),
        }
    }

    /// Adds a character; a full line is printed first, as a printer wraps.
    pub fn put_char(&mut self, c: char, style: Style) {
        self.put(LineItem::Glyph(c, style));
    }

    /// Adds a picture to the line buffer (`ESC *` column images).
    pub fn put_picture(&mut self, picture: Bitmap) {
        self.put(LineItem::Picture(picture));
    }

    fn put(&mut self, item: LineItem) {
        let (w, _) = item.size();
        if self.line_width + w > self.width() && !self.line.is_empty() {
            self.print_line();
        }
        self.line_width += w;
        self.line.push(item);
    }

    /// `LF`: prints the line buffer and feeds one line.
    pub fn print_line(&mut self) {
        let tallest = self.line.iter().map(|i| i.size().1).max().unwrap_or(0);
        let advance = self.line_spacing.max(tallest);
        self.ensure_rows(self.y + advance);
        let mut x = self.aligned_x(self.line_width, self.align);
        let items = std::mem::take(&mut self.line);
        for item in &items {
            let (w, h) = item.size();
            // Items share a baseline at the bottom of the tallest one.
            let top = i64::from(self.y + tallest - h);
            match item {
                LineItem::Glyph(c, s) => draw_glyph(&mut self.bitmap, *c, *s, x, top),
                LineItem::Picture(b) => self.bitmap.blit(b, x, top),
            }
            x += i64::from(w);
        }
        self.line_width = 0;
        self.y += advance;
    }

    /// Prints what is pending, then feeds `dots`.
    pub fn feed_dots(&mut self, dots: u32) {
        if self.has_pending_line() {
            self.print_line();
        }
        self.y += dots;
        self.ensure_rows(self.y);
    }

    /// Feeds `n` lines (`ESC d n`).
    pub fn feed_lines(&mut self, n: u32) {
        if self.has_pending_line() {
            self.print_line();
            if n == 0 {
                return;
            }
            self.feed_dots(self.line_spacing * n.saturating_sub(1));
        } else {
            self.feed_dots(self.line_spacing * n);
        }
    }

    /// Prints a picture at the print position (`GS v 0`, `GS ( L`), aligned.
    pub fn print_picture(&mut self, picture: &Bitmap) {
        if self.has_pending_line() {
            self.print_line();
        }
        let x = self.aligned_x(picture.width(), self.align);
        self.ensure_rows(self.y + picture.height());
        self.bitmap.blit(picture, x, i64::from(self.y));
        self.y += picture.height();
    }

    /// Prints a QR code with `module` dots per module and a 4-module quiet zone.
    /// Returns false (and prints nothing) when the data does not fit a QR code.
    pub fn print_qr(&mut self, data: &[u8], module: u8, ec: QrEc) -> bool {
        match qr_bitmap(data, module, ec) {
            Some(b) => {
                self.print_picture(&b);
                true
            }
            None => false,
        }
    }

    /// Prints a CODE128 symbol from its values, `module` dots per module, `height` dots
    /// tall, with human readable text.
    pub fn print_code128(&mut self, values: &[u8], text: &str, module: u8, height: u8, hri: Hri) {
        let module = u32::from(module.clamp(1, 6));
        let widths = crate::code128::element_widths(values);
        let modules: u32 = widths.iter().map(|&w| u32::from(w)).sum();
        // 10-module quiet zones on both sides, white paper.
        let total = (modules + 20) * module;
        let mut bars = Bitmap::new(total.min(self.width().max(1)), u32::from(height.max(1)));
        let mut x = 10 * module;
        for (i, &w) in widths.iter().enumerate() {
            let w = u32::from(w) * module;
            if i % 2 == 0 {
                bars.fill(i64::from(x), 0, w, bars.height());
            }
            x += w;
        }
        let saved = self.align;
        let hri_line = |paper: &mut Paper| {
            paper.align = Align::Center;
            for c in text.chars() {
                paper.put_char(c, Style::default());
            }
            paper.print_line();
            paper.align = saved;
        };
        if matches!(hri, Hri::Above | Hri::Both) {
            hri_line(self);
        }
        self.print_picture(&bars);
        if matches!(hri, Hri::Below | Hri::Both) {
            hri_line(self);
        }
    }

    /// Ends the page (a cut): prints what is pending and hands over the paper so far.
    pub fn take(&mut self) -> Bitmap {
        if self.has_pending_line() {
            self.print_line();
        }
        self.ensure_rows(self.y);
        let width = self.width();
        let mut out = std::mem::replace(&mut self.bitmap, Bitmap::new(width, 0));
        out.set_height(self.y);
        self.y = 0;
        out
    }
}

/// A QR symbol as dots (with quiet zone), or None when the data cannot be encoded.
pub fn qr_bitmap(data: &[u8], module: u8, ec: QrEc) -> Option<Bitmap> {
    let level = match ec {
        QrEc::L => qrcode::EcLevel::L,
        QrEc::M => qrcode::EcLevel::M,
        QrEc::Q => qrcode::EcLevel::Q,
        QrEc::H => qrcode::EcLevel::H,
    };
    let code = qrcode::QrCode::with_error_correction_level(data, level).ok()?;
    let n = code.width() as u32;
    let m = u32::from(module.clamp(1, 16));
    let quiet = 4;
    let side = (n + 2 * quiet) * m;
    let mut b = Bitmap::new(side, side);
    for (i, color) in code.to_colors().iter().enumerate() {
        if *color == qrcode::Color::Dark {
            let (x, y) = (i as u32 % n, i as u32 / n);
            b.fill(i64::from((x + quiet) * m), i64::from((y + quiet) * m), m, m);
        }
    }
    Some(b)
}

fn draw_glyph(bitmap: &mut Bitmap, c: char, s: Style, x: i64, top: i64) {
    let (sx, sy) = (u32::from(s.width.max(1)), u32::from(s.height.max(1)));
    let strokes: &[i64] = if s.bold { &[0, 1] } else { &[0] };
    let wide = char_columns(c) == 2;
    for &dx in strokes {
        let origin = (x + dx * i64::from(sx), top);
        let mut target = Scaled { target: &mut *bitmap, origin, sx, sy };
        let color = FontColor::Transparent(BinaryColor::On);
        // Glyph coordinates are in base-font dots; Scaled multiplies them out.
        let result = if wide {
            CJK.render(c, Point::new(4, 20), VerticalPosition::Baseline, color, &mut target)
        } else if s.font_b {
            FONT_B.render(c, Point::new(1, 13), VerticalPosition::Baseline, color, &mut target)
        } else {
            // Chinese fonts carry ASCII too; the 10x20 font covers Latin-1.
            FONT_A
                .render(c, Point::new(1, 19), VerticalPosition::Baseline, color, &mut target)
                .or_else(|_| CJK.render(c, Point::new(2, 20), VerticalPosition::Baseline, color, &mut target))
        };
        if result.is_err() {
            tracing::trace!(?c, "no glyph for character");
        }
    }
    if s.underline > 0 {
        let (w, h) = cell(c, s.font_b);
        let thickness = u32::from(s.underline) * sy;
        bitmap.fill(x, top + i64::from(h * sy - thickness), w * sx, thickness);
    }
}

const CJK: FontRenderer = FontRenderer::new::<fonts::u8g2_font_unifont_t_gb2312>().with_ignore_unknown_chars(true);
const FONT_A: FontRenderer = FontRenderer::new::<fonts::u8g2_font_10x20_tf>();
const FONT_B: FontRenderer = FontRenderer::new::<fonts::u8g2_font_7x13_tf>().with_ignore_unknown_chars(true);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_of_text_leaves_ink_and_advances_by_line_spacing() {
        let mut p = Paper::new(576);
        for c in "姓名 ABC".chars() {
            p.put_char(c, Style::default());
        }
        p.print_line();
        assert_eq!(p.position(), DEFAULT_LINE_SPACING);
        let page = p.take();
        assert!(page.used_height() > 10);
    }

    #[test]
    fn long_lines_wrap_like_a_printer() {
        let mut p = Paper::new(384);
        for _ in 0..40 {
            p.put_char('x', Style::default());
        }
        p.print_line();
        assert_eq!(p.position(), 2 * DEFAULT_LINE_SPACING);
    }

    #[test]
    fn centred_text_starts_in_the_middle() {
        let mut p = Paper::new(576);
        p.align = Align::Center;
        p.put_char('W', Style::default());
        p.print_line();
        let page = p.take();
        let xs: Vec<u32> = (0..576).filter(|&x| (0..30).any(|y| page.get(x, y))).collect();
        assert!(xs.first().is_some_and(|&x| x >= 282) && xs.last().is_some_and(|&x| x < 294), "{xs:?}");
    }
}
