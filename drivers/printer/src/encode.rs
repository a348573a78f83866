//! Turns a [`Document`] into ESC/POS bytes for a [`Profile`], in native or raster mode.
//! Both modes share one layout ([`blocks`]) so they wrap and align identically.

use crate::bitmap::Bitmap;
use crate::document::{Document, DocumentError, Item, row_lines, text_columns, wrap};
use crate::escpos::{self, Align, Cut, Hri, QrEc};
use crate::paper::{Paper, Style};
use crate::profile::{Mode, Profile};

/// Dots fed before a cut so the last line clears the cutter blade.
pub const CUT_FEED_DOTS: u8 = 48;

/// A laid-out piece of a receipt.
#[derive(Debug, Clone)]
pub enum Block {
    /// One line of text that fits the paper width.
    Line {
        text: String,
        style: Style,
        align: Align,
    },
    Qr {
        data: String,
        module: u8,
        ec: QrEc,
        align: Align,
    },
    Code128 {
        escpos_data: Vec<u8>,
        height: u8,
        module: u8,
        hri: Hri,
        align: Align,
    },
    Picture {
        bitmap: Bitmap,
        align: Align,
    },
    Feed(u8),
    Cut(Cut),
}

/// Lays out a document for a paper width: wraps text and rows, loads and dithers images,
/// checks barcodes. Errors name the item that cannot be printed.
pub fn blocks(doc: &Document, profile: &Profile) -> Result<Vec<Block>, DocumentError> {
    let cols = profile.columns();
    let mut out = Vec::new();
    for item in &doc.items {
        match item {
            Item::Text(t) => {
                let style = Style {
                    bold: t.bold,
                    underline: u8::from(t.underline),
                    font_b: false,
                    width: t.size[0].clamp(1, 8),
                    height: t.size[1].clamp(1, 8),
                };
                let width = (cols / usize::from(style.width)).max(2);
                for text in wrap(&t.text, width) {
                    out.push(Block::Line { text, style, align: t.align });
                }
            }
            Item::Row(r) => {
                let style = Style { bold: r.bold, ..Style::default() };
                for text in row_lines(&r.row[0], &r.row[1], cols) {
                    out.push(Block::Line { text, style, align: Align::Left });
                }
            }
            Item::Separator(s) => {
                let c = s.separator.chars().next().unwrap_or('-');
                let n = cols / text_columns(&c.to_string()).max(1);
                out.push(Block::Line { text: c.to_string().repeat(n), style: Style::default(), align: Align::Left });
            }
            Item::Qr(q) => {
                if qrcode::QrCode::with_error_correction_level(q.qr.as_bytes(), qrcode::EcLevel::L).is_err() {
                    return Err(DocumentError::Qr { len: q.qr.len(), reason: "too long".into() });
                }
                out.push(Block::Qr { data: q.qr.clone(), module: q.module.clamp(1, 16), ec: q.ec, align: q.align });
            }
            Item::Barcode(b) => {
                let escpos_data = crate::code128::to_escpos(&b.barcode)
                    .map_err(|source| DocumentError::Barcode { content: b.barcode.clone(), source })?;
                out.push(Block::Code128 {
                    escpos_data,
                    height: b.height,
                    module: b.module_width.clamp(2, 6),
                    hri: b.hri,
                    align: b.align,
                });
            }
            Item::Image(i) => {
                let img = doc.load_image(&i.image)?;
                out.push(Block::Picture { bitmap: Bitmap::dither(&img, profile.width_dots), align: i.align });
            }
            Item::Feed(f) => out.push(Block::Feed(f.feed)),
            Item::Cut(c) => out.push(Block::Cut(c.cut)),
        }
    }
    Ok(out)
}

/// Encodes a document for a printer model. `mode` None uses the profile's default.
pub fn encode(doc: &Document, profile: &Profile, mode: Option<Mode>) -> Result<Vec<u8>, DocumentError> {
    let blocks = blocks(doc, profile)?;
    Ok(match mode.unwrap_or(profile.default_mode) {
        Mode::Native => encode_native(&blocks, profile),
        Mode::Raster => encode_raster(&blocks, profile),
    })
}

/// Text as text (GB18030 in Chinese mode), codes as native commands; whatever the model
/// cannot do natively goes as a picture.
pub fn encode_native(blocks: &[Block], profile: &Profile) -> Vec<u8> {
    let mut out = escpos::init();
    let mut align = Align::Left;
    let mut style = Style::default();
    let mut set_align = |out: &mut Vec<u8>, a: Align| {
        if a != align {
            out.extend(escpos::align(a));
            align = a;
        }
    };
    for block in blocks {
        match block {
            Block::Line { text, style: s, align: a } => {
                set_align(&mut out, *a);
                if text.is_ascii() || profile.chinese_font {
                    set_style(&mut out, &mut style, *s);
                    if text.is_ascii() {
                        out.extend_from_slice(text.as_bytes());
                    } else {
                        // GB18030 covers every Unicode character, so nothing is lost here.
                        let (gb, _, _) = encoding_rs::GB18030.encode(text);
                        out.extend(escpos::chinese_on());
                        out.extend_from_slice(&gb);
                        out.extend(escpos::chinese_off());
                    }
                    out.extend(escpos::line_feed());
                } else {
                    // No Chinese font in this model: this one line goes as a picture.
                    let mut paper = Paper::new(profile.width_dots);
                    paper.align = *a;
                    for c in text.chars() {
                        paper.put_char(c, *s);
                    }
                    paper.print_line();
                    push_picture(&mut out, &trim_width(&paper.take()), profile);
                }
            }
            Block::Qr { data, module, ec, align: a } => {
                set_align(&mut out, *a);
                if profile.native_qr {
                    out.extend(escpos::qr(data.as_bytes(), *module, *ec));
                } else if let Some(b) = crate::paper::qr_bitmap(data.as_bytes(), *module, *ec) {
                    push_picture(&mut out, &b, profile);
                }
            }
            Block::Code128 { escpos_data, height, module, hri, align: a } => {
                set_align(&mut out, *a);
                if profile.native_code128 {
                    out.extend(escpos::barcode_height(*height));
                    out.extend(escpos::barcode_module_width(*module));
                    out.extend(escpos::barcode_hri(*hri));
                    out.extend(escpos::code128(escpos_data));
                } else if let Some(sym) = crate::code128::parse_escpos(escpos_data) {
                    let mut paper = Paper::new(profile.width_dots);
                    paper.print_code128(&sym.values, &sym.text, *module, *height, *hri);
                    push_picture(&mut out, &paper.take(), profile);
                }
            }
            Block::Picture { bitmap, align: a } => {
                set_align(&mut out, *a);
                push_picture(&mut out, bitmap, profile);
            }
            Block::Feed(n) => out.extend(escpos::feed_lines(*n)),
            Block::Cut(kind) => out.extend(escpos::feed_and_cut(*kind, CUT_FEED_DOTS)),
        }
    }
    if align != Align::Left {
        out.extend(escpos::align(Align::Left));
    }
    set_style(&mut out, &mut style, Style::default());
    out
}

fn set_style(out: &mut Vec<u8>, current: &mut Style, want: Style) {
    if want.bold != current.bold {
        out.extend(escpos::bold(want.bold));
    }
    if want.underline != current.underline {
        out.extend(escpos::underline(want.underline));
    }
    if (want.width, want.height) != (current.width, current.height) {
        out.extend(escpos::char_size(want.width, want.height));
    }
    *current = want;
}

/// Cuts a bitmap down to the columns that carry ink (keeps bytes off the wire).
fn trim_width(b: &Bitmap) -> Bitmap {
    let right = (0..b.width()).rev().find(|&x| (0..b.height()).any(|y| b.get(x, y))).map_or(8, |x| x + 1);
    let mut out = Bitmap::new(right.min(b.width()), b.height());
    out.blit(b, 0, 0);
    out
}

fn push_picture(out: &mut Vec<u8>, b: &Bitmap, profile: &Profile) {
    let mut b = b.clone();
    if b.width() > profile.width_dots {
        let mut cropped = Bitmap::new(profile.width_dots, b.height());
        cropped.blit(&b, 0, 0);
        b = cropped;
    }
    out.extend(escpos::raster_bands(b.width_bytes(), &b.pack_rows()));
}

/// Draws the whole receipt into pictures (one per stretch between feeds and cuts) and
/// sends them as `GS v 0` bands; feeds and cuts stay commands.
pub fn encode_raster(blocks: &[Block], profile: &Profile) -> Vec<u8> {
    let mut out = escpos::init();
    let mut paper = Paper::new(profile.width_dots);
    let flush = |out: &mut Vec<u8>, paper: &mut Paper| {
        let page = paper.take();
        if page.height() > 0 {
            out.extend(escpos::raster_bands(page.width_bytes(), &page.pack_rows()));
        }
    };
    for block in blocks {
        match block {
            Block::Line { text, style, align } => {
                paper.align = *align;
                for c in text.chars() {
                    paper.put_char(c, *style);
                }
                paper.print_line();
            }
            Block::Qr { data, module, ec, align } => {
                paper.align = *align;
                paper.print_qr(data.as_bytes(), *module, *ec);
            }
            Block::Code128 { escpos_data, height, module, hri, align } => {
                paper.align = *align;
                if let Some(sym) = crate::code128::parse_escpos(escpos_data) {
                    paper.print_code128(&sym.values, &sym.text, *module, *height, *hri);
                }
            }
            Block::Picture { bitmap, align } => {
                paper.align = *align;
                paper.print_picture(bitmap);
            }
            Block::Feed(n) => {
                flush(&mut out, &mut paper);
                out.extend(escpos::feed_lines(*n));
            }
            Block::Cut(kind) => {
                flush(&mut out, &mut paper);
                out.extend(escpos::feed_and_cut(*kind, CUT_FEED_DOTS));
            }
        }
    }
    flush(&mut out, &mut paper);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(json: &str) -> Document {
        Document::from_json(json).unwrap()
    }

    #[test]
    fn chinese_text_goes_as_gb18030_inside_chinese_mode() {
        let bytes = encode(&doc(r#"{"items":[{"text":"姓名"}]}"#), &Profile::KIOSK_80, Some(Mode::Native)).unwrap();
        assert_eq!(bytes, [0x1B, 0x40, 0x1C, 0x26, 0xD0, 0xD5, 0xC3, 0xFB, 0x1C, 0x2E, 0x0A]);
    }

    #[test]
    fn styles_are_set_and_reset_around_a_title() {
        let bytes = encode(
            &doc(r#"{"items":[{"text":"OK","align":"center","bold":true,"size":[2,2]}]}"#),
            &Profile::KIOSK_80,
            None,
        )
        .unwrap();
        let want: Vec<u8> = [
            &[0x1B, 0x40][..],
            &[0x1B, 0x61, 1],
            &[0x1B, 0x45, 1],
            &[0x1D, 0x21, 0x11],
            b"OK\n",
            &[0x1B, 0x61, 0],
            &[0x1B, 0x45, 0],
            &[0x1D, 0x21, 0x00],
        ]
        .concat();
        assert_eq!(bytes, want);
    }

    #[test]
    fn tracking_numbers_use_code_set_c_natively() {
        let bytes = encode(
            &doc(r#"{"items":[{"barcode":"202611210001","height":80,"hri":"below"}]}"#),
            &Profile::KIOSK_80,
            None,
        )
        .unwrap();
        let tail = [0x1D, 0x6B, 0x49, 8, b'{', b'C', 0x14, 0x1A, 0x0B, 0x15, 0x00, 0x01];
        assert!(bytes.windows(tail.len()).any(|w| w == tail));
    }

    #[test]
    fn the_58mm_clone_gets_its_qr_as_a_picture() {
        let d = doc(r#"{"items":[{"qr":"https://example.gov.cn/v/1"}]}"#);
        let clone = encode(&d, &Profile::CLONE_58, None).unwrap();
        assert!(!clone.windows(3).any(|w| w == [0x1D, 0x28, 0x6B]));
        assert!(clone.windows(4).any(|w| w == [0x1D, 0x76, 0x30, 0]));
        let kiosk = encode(&d, &Profile::KIOSK_80, None).unwrap();
        assert!(kiosk.windows(3).any(|w| w == [0x1D, 0x28, 0x6B]));
    }

    #[test]
    fn raster_mode_sends_no_text_bytes() {
        let bytes =
            encode(&doc(r#"{"items":[{"text":"姓名"},{"cut":"full"}]}"#), &Profile::KIOSK_80, Some(Mode::Raster))
                .unwrap();
        assert!(!bytes.windows(2).any(|w| w == [0x1C, 0x26]));
        assert_eq!(&bytes[2..6], &[0x1D, 0x76, 0x30, 0]);
        assert_eq!(&bytes[bytes.len() - 4..], &[0x1D, 0x56, 0x41, CUT_FEED_DOTS]);
    }

    #[test]
    fn bad_barcodes_are_refused_with_the_content_named() {
        let err = encode(&doc(r#"{"items":[{"barcode":"编号1"}]}"#), &Profile::KIOSK_80, None).unwrap_err();
        assert!(err.to_string().contains("编号1"), "{err}");
    }
}
