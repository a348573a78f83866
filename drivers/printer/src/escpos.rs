//! Sans-IO ESC/POS encoder: each function returns the exact bytes of one command.
//! Byte values come from `docs/protocols/escpos.md`; nothing here touches a port.

/// ESC, GS, FS, DLE control bytes.
pub const ESC: u8 = 0x1B;
pub const GS: u8 = 0x1D;
pub const FS: u8 = 0x1C;
pub const DLE: u8 = 0x10;
pub const EOT: u8 = 0x04;
pub const ENQ: u8 = 0x05;
pub const LF: u8 = 0x0A;

/// Epson's documented cap on the height of one `GS v 0` image.
pub const MAX_RASTER_BAND_ROWS: usize = 2303;

/// Justification of the following lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Align {
    #[default]
    Left,
    Center,
    Right,
}

/// Paper cut kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Cut {
    Full,
    #[default]
    Partial,
}

/// QR error correction level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum QrEc {
    L,
    #[default]
    M,
    Q,
    H,
}

/// Where the human readable text of a barcode goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Hri {
    None,
    Above,
    #[default]
    Below,
    Both,
}

/// `ESC @`: initialise (also resets the code page).
pub fn init() -> Vec<u8> {
    vec![ESC, b'@']
}

/// `LF`.
pub fn line_feed() -> Vec<u8> {
    vec![LF]
}

/// `ESC d n`: print and feed n lines.
pub fn feed_lines(n: u8) -> Vec<u8> {
    vec![ESC, b'd', n]
}

/// `ESC J n`: print and feed n dots.
pub fn feed_dots(n: u8) -> Vec<u8> {
    vec![ESC, b'J', n]
}

/// `ESC 2`: default line spacing.
pub fn line_spacing_default() -> Vec<u8> {
    vec![ESC, b'2']
}

/// `ESC 3 n`: line spacing of n dots.
pub fn line_spacing(n: u8) -> Vec<u8> {
    vec![ESC, b'3', n]
}

/// `ESC E n`: emphasised (bold) on/off.
pub fn bold(on: bool) -> Vec<u8> {
    vec![ESC, b'E', u8::from(on)]
}

/// `ESC - n`: underline 0 (off), 1 or 2 dots.
pub fn underline(n: u8) -> Vec<u8> {
    vec![ESC, b'-', n.min(2)]
}

/// `ESC M n`: font A (0) or B (1).
pub fn font(n: u8) -> Vec<u8> {
    vec![ESC, b'M', n]
}

/// `GS ! n`: character size, width and height multipliers 1..=8 (clamped).
pub fn char_size(width: u8, height: u8) -> Vec<u8> {
    let w = width.clamp(1, 8) - 1;
    let h = height.clamp(1, 8) - 1;
    vec![GS, b'!', (w << 4) | h]
}

/// `ESC a n`: justification.
pub fn align(a: Align) -> Vec<u8> {
    let n = match a {
        Align::Left => 0,
        Align::Center => 1,
        Align::Right => 2,
    };
    vec![ESC, b'a', n]
}

/// `ESC t n`: select a (model specific) code page.
pub fn code_page(n: u8) -> Vec<u8> {
    vec![ESC, b't', n]
}

/// `FS &`: Chinese (double byte) mode on.
pub fn chinese_on() -> Vec<u8> {
    vec![FS, b'&']
}

/// `FS .`: Chinese mode off.
pub fn chinese_off() -> Vec<u8> {
    vec![FS, b'.']
}

/// `FS ! n`: Chinese print mode (bit 2 double width, bit 3 double height, bit 7 underline).
pub fn chinese_print_mode(n: u8) -> Vec<u8> {
    vec![FS, b'!', n]
}

/// `GS V`: cut now.
pub fn cut(kind: Cut) -> Vec<u8> {
    match kind {
        Cut::Full => vec![GS, b'V', 0x00],
        Cut::Partial => vec![GS, b'V', 0x01],
    }
}

/// `GS V 41/42 n`: feed n dots, then cut.
pub fn feed_and_cut(kind: Cut, n: u8) -> Vec<u8> {
    match kind {
        Cut::Full => vec![GS, b'V', 0x41, n],
        Cut::Partial => vec![GS, b'V', 0x42, n],
    }
}

/// `GS v 0`: one raster image. `data` holds `height` rows of `width_bytes` bytes,
/// MSB = leftmost dot, 1 = black. Callers split tall images with [`raster_bands`].
pub fn raster_image(width_bytes: u16, height: u16, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + data.len());
    out.extend_from_slice(&[GS, b'v', b'0', 0]);
    out.extend_from_slice(&width_bytes.to_le_bytes());
    out.extend_from_slice(&height.to_le_bytes());
    out.extend_from_slice(data);
    out
}

/// Splits a packed 1-bit image into `GS v 0` commands of at most
/// [`MAX_RASTER_BAND_ROWS`] rows each (bands start at a row boundary).
pub fn raster_bands(width_bytes: usize, rows: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(rows.len() + 16);
    if width_bytes == 0 {
        return out;
    }
    let band_bytes = width_bytes * MAX_RASTER_BAND_ROWS;
    for band in rows.chunks(band_bytes) {
        let height = band.len() / width_bytes;
        if height == 0 {
            break;
        }
        let w = u16::try_from(width_bytes).unwrap_or(u16::MAX);
        let h = u16::try_from(height).unwrap_or(u16::MAX);
        out.extend(raster_image(w, h, &band[..height * width_bytes]));
    }
    out
}

/// `GS ( k`: model 2 QR symbol, module size, error correction, store and print.
pub fn qr(data: &[u8], module: u8, ec: QrEc) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 40);
    out.extend_from_slice(&[GS, b'(', b'k', 4, 0, 0x31, 0x41, 0x32, 0x00]);
    out.extend_from_slice(&[GS, b'(', b'k', 3, 0, 0x31, 0x43, module.clamp(1, 16)]);
    let e = match ec {
        QrEc::L => 0x30,
        QrEc::M => 0x31,
        QrEc::Q => 0x32,
        QrEc::H => 0x33,
    };
    out.extend_from_slice(&[GS, b'(', b'k', 3, 0, 0x31, 0x45, e]);
    // The store function carries at most 7089 bytes; longer input is cut, not wrapped.
    let data = &data[..data.len().min(7089)];
    let len = u16::try_from(data.len() + 3).unwrap_or(u16::MAX).to_le_bytes();
    out.extend_from_slice(&[GS, b'(', b'k', len[0], len[1], 0x31, 0x50, 0x30]);
    out.extend_from_slice(data);
    out.extend_from_slice(&[GS, b'(', b'k', 3, 0, 0x31, 0x51, 0x30]);
    out
}

/// `GS h n`: barcode height in dots.
pub fn barcode_height(n: u8) -> Vec<u8> {
    vec![GS, b'h', n.max(1)]
}

/// `GS w n`: barcode module width 2..=6.
pub fn barcode_module_width(n: u8) -> Vec<u8> {
    vec![GS, b'w', n.clamp(2, 6)]
}

/// `GS H n`: human readable text position.
pub fn barcode_hri(pos: Hri) -> Vec<u8> {
    let n = match pos {
        Hri::None => 0,
        Hri::Above => 1,
        Hri::Below => 2,
        Hri::Both => 3,
    };
    vec![GS, b'H', n]
}

/// `GS k 73 len data`: CODE128 with `data` already carrying its `{A`/`{B`/`{C` selectors
/// (see [`crate::code128::to_escpos`]). At most 255 bytes.
pub fn code128(data: &[u8]) -> Vec<u8> {
    let data = &data[..data.len().min(255)];
    let mut out = Vec::with_capacity(data.len() + 4);
    out.extend_from_slice(&[GS, b'k', 0x49, u8::try_from(data.len()).unwrap_or(255)]);
    out.extend_from_slice(data);
    out
}

/// `DLE EOT n`: real-time status request, n = 1..=4.
pub fn status_request(n: u8) -> Vec<u8> {
    vec![DLE, EOT, n]
}

/// `GS r 1`: paper sensor status, answered only after all earlier data was processed.
pub fn transmit_paper_status() -> Vec<u8> {
    vec![GS, b'r', 1]
}

/// `GS a n`: automatic status back; 0x0E = drawer/online/error/paper changes, 0 = off.
pub fn auto_status_back(n: u8) -> Vec<u8> {
    vec![GS, b'a', n]
}

/// `DLE ENQ n`: real-time recovery; 1 = resume after error, 2 = clear buffers and recover.
pub fn realtime_recover(clear_buffers: bool) -> Vec<u8> {
    vec![DLE, ENQ, if clear_buffers { 2 } else { 1 }]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_raster_one_black_dot() {
        assert_eq!(raster_image(1, 1, &[0x80]), [0x1D, 0x76, 0x30, 0x00, 0x01, 0x00, 0x01, 0x00, 0x80]);
    }

    #[test]
    fn golden_qr_1234_size3_level_l() {
        let want = [
            0x1D, 0x28, 0x6B, 0x04, 0x00, 0x31, 0x41, 0x32, 0x00, 0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x43, 0x03, 0x1D,
            0x28, 0x6B, 0x03, 0x00, 0x31, 0x45, 0x30, 0x1D, 0x28, 0x6B, 0x07, 0x00, 0x31, 0x50, 0x30, 0x31, 0x32, 0x33,
            0x34, 0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x51, 0x30,
        ];
        assert_eq!(qr(b"1234", 3, QrEc::L), want);
    }

    #[test]
    fn golden_code128_set_b() {
        let want =
            [0x1D, 0x6B, 0x49, 0x0D, 0x7B, 0x42, 0x30, 0x31, 0x32, 0x41, 0x42, 0x43, 0x44, 0x61, 0x62, 0x63, 0x64];
        assert_eq!(code128(b"{B012ABCDabcd"), want);
    }

    #[test]
    fn golden_core_commands() {
        assert_eq!(init(), [0x1B, 0x40]);
        assert_eq!(line_feed(), [0x0A]);
        assert_eq!(feed_lines(3), [0x1B, 0x64, 3]);
        assert_eq!(feed_dots(24), [0x1B, 0x4A, 24]);
        assert_eq!(line_spacing_default(), [0x1B, 0x32]);
        assert_eq!(line_spacing(30), [0x1B, 0x33, 30]);
        assert_eq!(bold(true), [0x1B, 0x45, 1]);
        assert_eq!(underline(1), [0x1B, 0x2D, 1]);
        assert_eq!(font(1), [0x1B, 0x4D, 1]);
        assert_eq!(char_size(2, 2), [0x1D, 0x21, 0x11]);
        assert_eq!(char_size(1, 3), [0x1D, 0x21, 0x02]);
        assert_eq!(char_size(8, 8), [0x1D, 0x21, 0x77]);
        assert_eq!(align(Align::Left), [0x1B, 0x61, 0]);
        assert_eq!(align(Align::Center), [0x1B, 0x61, 1]);
        assert_eq!(align(Align::Right), [0x1B, 0x61, 2]);
        assert_eq!(code_page(0), [0x1B, 0x74, 0]);
        assert_eq!(chinese_on(), [0x1C, 0x26]);
        assert_eq!(chinese_off(), [0x1C, 0x2E]);
        assert_eq!(chinese_print_mode(0x0C), [0x1C, 0x21, 0x0C]);
        assert_eq!(cut(Cut::Full), [0x1D, 0x56, 0x00]);
        assert_eq!(cut(Cut::Partial), [0x1D, 0x56, 0x01]);
        assert_eq!(feed_and_cut(Cut::Full, 5), [0x1D, 0x56, 0x41, 5]);
        assert_eq!(feed_and_cut(Cut::Partial, 5), [0x1D, 0x56, 0x42, 5]);
    }

    #[test]
    fn golden_status_and_barcode_setup() {
        assert_eq!(status_request(1), [0x10, 0x04, 0x01]);
        assert_eq!(status_request(4), [0x10, 0x04, 0x04]);
        assert_eq!(transmit_paper_status(), [0x1D, 0x72, 0x01]);
        assert_eq!(auto_status_back(0x0E), [0x1D, 0x61, 0x0E]);
        assert_eq!(realtime_recover(false), [0x10, 0x05, 1]);
        assert_eq!(realtime_recover(true), [0x10, 0x05, 2]);
        assert_eq!(barcode_height(80), [0x1D, 0x68, 80]);
        assert_eq!(barcode_module_width(2), [0x1D, 0x77, 2]);
        assert_eq!(barcode_hri(Hri::None), [0x1D, 0x48, 0]);
        assert_eq!(barcode_hri(Hri::Below), [0x1D, 0x48, 2]);
    }

    #[test]
    fn tall_images_are_split_into_bands_at_row_boundaries() {
        let rows = vec![0xFFu8; 2 * 5000];
        let out = raster_bands(2, &rows);
        // 2303 + 2303 + 394 rows, each band with an 8-byte header.
        assert_eq!(out.len(), 3 * 8 + rows.len());
        assert_eq!(&out[..8], &[0x1D, 0x76, 0x30, 0, 2, 0, 0xFF, 0x08]);
        let second = 8 + 2 * 2303;
        assert_eq!(&out[second..second + 8], &[0x1D, 0x76, 0x30, 0, 2, 0, 0xFF, 0x08]);
        let third = second + 8 + 2 * 2303;
        assert_eq!(&out[third..third + 8], &[0x1D, 0x76, 0x30, 0, 2, 0, 0x8A, 0x01]);
    }
}
