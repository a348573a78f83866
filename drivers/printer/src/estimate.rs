//! How much paper a document takes and how long it should take to print, from the shared
//! layout ([`crate::encode::blocks`]) without drawing a dot: for progress bars.

use std::time::Duration;

use crate::document::{Document, DocumentError};
use crate::encode::{Block, CUT_FEED_DOTS};
use crate::escpos::{Hri, QrEc};
use crate::paper::DEFAULT_LINE_SPACING;
use crate::profile::Profile;

/// Font A and Chinese characters are 24 dots tall at size 1 (the 12x24 / 24x24 cells).
const CELL_HEIGHT: u32 = 24;
/// Quiet zone around a QR symbol, in modules (as `paper::qr_bitmap` draws it).
const QR_QUIET_MODULES: u32 = 4;

/// The paper a document needs on one printer model, and the time it takes at the
/// model's print speed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PrintEstimate {
    /// Paper fed, in dots of the model's head (cut feeds included).
    pub dots: u32,
    pub mm: f64,
    /// `mm` at [`Profile::speed_mm_per_s`]: the time the paper moves, not the link time.
    pub duration: Duration,
}

/// Estimates the paper length and print time of `doc` on `profile`. The same for native
/// and raster mode: both print the same layout. Fails where encoding would.
pub fn estimate(doc: &Document, profile: &Profile) -> Result<PrintEstimate, DocumentError> {
    let blocks = crate::encode::blocks(doc, profile)?;
    let dots = blocks.iter().map(block_dots).sum::<u32>();
    let mm = f64::from(dots) / profile.dots_per_mm();
    let duration = Duration::from_secs_f64(mm / f64::from(profile.speed_mm_per_s.max(1)));
    Ok(PrintEstimate { dots, mm, duration })
}

/// Paper fed by one laid-out block, mirroring how `paper::Paper` advances.
fn block_dots(block: &Block) -> u32 {
    match block {
        // A line advances by the line spacing or its tallest character, if taller.
        Block::Line { style, .. } => DEFAULT_LINE_SPACING.max(CELL_HEIGHT * u32::from(style.height.max(1))),
        Block::Qr { data, module, ec, .. } => qr_side(data.as_bytes(), *module, *ec),
        Block::Code128 { height, hri, .. } => {
            let hri_lines = match hri {
                Hri::None => 0,
                Hri::Above | Hri::Below => 1,
                Hri::Both => 2,
            };
            u32::from((*height).max(1)) + hri_lines * DEFAULT_LINE_SPACING
        }
        Block::Picture { bitmap, .. } => bitmap.height(),
        Block::Feed(n) => DEFAULT_LINE_SPACING * u32::from(*n),
        Block::Cut(_) => u32::from(CUT_FEED_DOTS),
    }
}

/// Height of a QR symbol with its quiet zone; 0 when the data does not fit (nothing prints).
fn qr_side(data: &[u8], module: u8, ec: QrEc) -> u32 {
    let level = match ec {
        QrEc::L => qrcode::EcLevel::L,
        QrEc::M => qrcode::EcLevel::M,
        QrEc::Q => qrcode::EcLevel::Q,
        QrEc::H => qrcode::EcLevel::H,
    };
    qrcode::QrCode::with_error_correction_level(data, level).map_or(0, |code| {
        (u32::try_from(code.width()).unwrap_or(0) + 2 * QR_QUIET_MODULES) * u32::from(module.clamp(1, 16))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(json: &str) -> Document {
        Document::from_json(json).unwrap()
    }

    #[test]
    fn a_title_line_is_taller_than_a_body_line_and_a_cut_feeds_past_the_blade() {
        let body = estimate(&doc(r#"{"items":[{"text":"姓名"}]}"#), &Profile::KIOSK_80).unwrap();
        assert_eq!(body.dots, DEFAULT_LINE_SPACING);
        let title = estimate(&doc(r#"{"items":[{"text":"姓名","size":[2,2]}]}"#), &Profile::KIOSK_80).unwrap();
        assert_eq!(title.dots, 48);
        let cut = estimate(&doc(r#"{"items":[{"text":"姓名"},{"cut":"partial"}]}"#), &Profile::KIOSK_80).unwrap();
        assert_eq!(cut.dots, DEFAULT_LINE_SPACING + u32::from(CUT_FEED_DOTS));
    }

    #[test]
    fn the_time_is_the_paper_length_at_the_models_speed() {
        // 203 dots = 25.4 mm on a 203 dpi head.
        let d = doc(r#"{"items":[{"barcode":"12345678","height":203,"hri":"none"}]}"#);
        let kiosk = estimate(&d, &Profile::KIOSK_80).unwrap();
        assert!((kiosk.mm - 25.4).abs() < 1e-9, "{kiosk:?}");
        let want = 25.4 / f64::from(Profile::KIOSK_80.speed_mm_per_s);
        assert!((kiosk.duration.as_secs_f64() - want).abs() < 1e-6, "{kiosk:?}");
        let clone = estimate(&d, &Profile::CLONE_58).unwrap();
        assert!(clone.duration > kiosk.duration, "the 58 mm clone is the slower printer");
    }

    #[test]
    fn an_unprintable_document_has_no_estimate() {
        assert!(estimate(&doc(r#"{"items":[{"barcode":"编号1"}]}"#), &Profile::KIOSK_80).is_err());
    }
}
